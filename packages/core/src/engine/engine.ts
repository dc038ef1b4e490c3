/**
 * The proxy engine of one worker: runtime proxies, listeners, streams,
 * connection limits, logs and counters. Single-threaded and event-driven; it
 * never reads configuration files, it only gets a CompiledConfig.
 */
import type { CompiledConfig } from '../config/compiled';
import { formatListenAddress } from '../config/compiled';
import { SRV_ST_STARTING, type ServerRuntimeState, type ServerStateTable } from '../proxy/server-state';
import type { WorkerStats } from '../stats/counters';
import { buildRuntime, shareOf, type ProxyRuntime } from './proxy-runtime';
import { ListenerRuntime, attachProxyHeader, type ListenerHost, type RawHandle } from './listener';
import { TcpStream } from './tcp-relay';
import { HttpStream } from './http-stream';
import { peerAddress, type RawStream } from './raw-handle';
import { PP_ERR_ABORT, PP_ERR_EMPTY, PP_ERR_TIMEOUT, PP_ERROR_MESSAGES, type ProxyHeader } from './proxy-protocol';
import { formatAcceptDate } from '../log/tcplog';
import type { TlsAccepted, TlsAcceptOwner } from '../tls/accept';
import { acceptConnection } from './conn-rules';
import { AT_LOG } from '../rules/sample';
import { LogSinks } from '../log/sinks';
import { compileLogFormat, renderLogFormat, type CompiledLogFormat, type LogRecord } from '../log/log-format';
import type { H1Limits } from '../http/h1';
import type { WorkerMessage } from '../ipc/messages';
import { NodeSync } from './node-sync';
import { creditFreed } from '../backend/queue';

export interface EngineOptions {
  workerIndex: number;
  workerCount: number;
  masterPid: number;
  states: ServerStateTable | undefined;
  requestHandle(key: string): void;
  /** Lifecycle messages for the master's logger. */
  report(level: 'info' | 'warn' | 'error', msg: string): void;
  /** Messages to the master (connection counts, maxconn credits); absent: a lone engine. */
  send?(m: WorkerMessage): void;
}

/** syslog severities */
const LOG_INFO = 6;

export class Engine implements ListenerHost {
  readonly proxies: ProxyRuntime[];
  readonly listeners = new Map<string, ListenerRuntime>();
  readonly streams = new Set<TcpStream | HttpStream>();
  /** Sessions in this worker (HAProxy's actconn), and our share of global maxconn. */
  actconn = 0;
  cumConns = 0;
  maxConnReached = 0;
  readonly maxconn: number;
  /** HTTP/1 head limits (tune.bufsize, tune.http.maxhdr), computed at compile. */
  readonly h1Limits: Readonly<H1Limits>;
  private readonly startedAt = Date.now();
  private globalLog: LogSinks | null;
  private proxyLogs: Array<LogSinks | null>;
  /** Each frontend's log-format, compiled once (null: no end-of-stream line). */
  private readonly logFormats: Array<CompiledLogFormat | null>;
  private stopping = false;
  /** Stopping: server connections are no longer parked. */
  get isStopping(): boolean { return this.stopping; }
  private onIdle: (() => void) | null = null;
  private pausedForGlobal = false;
  /** Counts and maxconn credits shared with the other workers; null without a master. */
  readonly sync: NodeSync | null;

  constructor(readonly cfg: CompiledConfig, private readonly opts: EngineOptions) {
    this.proxies = buildRuntime(cfg, opts.states);
    this.sync = opts.send ? new NodeSync(this.proxies, opts.send, opts.workerCount) : null;
    // Without a master (unit tests), each server's maxconn is this engine's alone.
    if (this.sync === null) for (const p of this.proxies) if (p.cfg.cap.be) { p.attachSlots(null); for (const s of p.servers) if (s.slots) s.slots.held = s.cfg.maxconn; }
    const { workerIndex: wi, workerCount: wc } = opts;
    this.maxconn = shareOf(cfg.global.maxconn, wi, wc);
    this.h1Limits = cfg.global.h1Limits;
    for (const p of this.proxies) if (p.cfg.cap.fe) p.maxconn = shareOf(p.cfg.maxconn || cfg.global.maxconn, wi, wc);
    const ctx = { tag: cfg.global.logTag, pid: opts.masterPid, hostname: cfg.global.logSendHostname };
    this.globalLog = cfg.global.logTargets.length ? new LogSinks(cfg.global.logTargets, ctx) : null;
    this.proxyLogs = this.proxies.map(p => (p.cfg.logTargets.length ? new LogSinks(p.cfg.logTargets, ctx) : null));
    this.logFormats = this.proxies.map(p => {
      if (!p.cfg.logFormat) return null;
      // Validated by the master at load: a failure here cannot happen.
      const c = compileLogFormat(p.cfg.logFormat, { http: p.cfg.mode === 'http', env: p.env(AT_LOG, 'log-format') });
      return c.ok ? c.fmt : null;
    });
    for (const l of cfg.listeners) {
      const lr = new ListenerRuntime(l, this.proxies[l.proxy], this);
      lr.maxconn = l.options.maxconn ? shareOf(l.options.maxconn, wi, wc) : 0;
      this.listeners.set(l.key, lr);
    }
  }

  /** Listen on a handle the master sent. */
  async attach(key: string, handle: RawHandle): Promise<void> {
    const l = this.listeners.get(key);
    if (!l) { (handle as { close?: () => void }).close?.(); return; }
    const backlog = l.cfg.options.backlog ?? Math.max(511, l.proxy.maxconn || 0);
    await l.attach(handle, backlog);
    // A handle can arrive while the worker is at a limit: re-check.
    if (this.atLimit(l)) l.pause();
  }

  private atLimit(l: ListenerRuntime): boolean {
    return (this.maxconn > 0 && this.actconn >= this.maxconn)
      || (l.proxy.maxconn > 0 && l.proxy.feconn >= l.proxy.maxconn)
      || (l.maxconn > 0 && l.conns >= l.maxconn)
      || (this.cfg.global.maxconn > 0 && this.maxconn === 0);
  }

  onConnection(l: ListenerRuntime, handle: RawStream): void {
    const fe = l.proxy;
    this.actconn++;
    this.cumConns++;
    fe.feconn++;
    l.conns++;
    const c = fe.fe!;
    c.stot++; c.connTot++;
    c.scur = fe.feconn;
    if (fe.feconn > c.smax) c.smax = fe.feconn;
    if (this.atLimit(l)) {
      if (this.maxconn > 0 && this.actconn >= this.maxconn) {
        this.maxConnReached++;
        this.pausedForGlobal = true;
        for (const other of this.listeners.values()) other.pause();
      } else if (fe.maxconn > 0 && fe.feconn >= fe.maxconn) {
        for (const other of this.listeners.values()) if (other.proxy === fe) other.pause();
      } else {
        l.pause();
      }
    }
    // tcp-request connection rules come first: a rejected client costs no
    // handshake and no stream (engine/conn-rules.ts).
    const rules = fe.rules;
    if (rules !== null && rules.tcpReqConn.length > 0 && !acceptConnection(fe, this, handle)) return this.sessionEnded(fe, l);
    // accept-proxy: no stream before the PROXY header is in (listener.ts).
    if (l.cfg.options.acceptProxy) return l.readProxyHeader(handle, fe.cfg.timeouts.client);
    // ssl: no stream before the TLS handshake is done (tls/accept.ts).
    if (l.tls !== null) return l.tls.accept(handle, fe.cfg.timeouts.client, new TlsHandshake(this, l, Date.now()));
    this.startStream(l, handle, null, null);
  }

  /** ssl: the handshake is done; the stream runs on the decrypted handle. */
  tlsReady(l: ListenerRuntime, a: TlsAccepted, h: ProxyHeader | null): void {
    const fe = l.proxy;
    const st = fe.cfg.mode === 'http' ? new HttpStream(this, fe, l, a.handle, false) : new TcpStream(this, fe, l, a.handle, false);
    if (h !== null) attachProxyHeader(a.handle, h);
    const proxied = h !== null && h.proxied;
    st.proxied(proxied ? h.srcIp : a.clientIp, proxied ? h.srcPort : a.clientPort, a.first);
    st.tls = a.info;
    this.streams.add(st);
    if (this.hasLog(fe) && this.logFormats[fe.index] === null) this.log(fe, LOG_INFO, st.describeConnect());
    st.start();
  }

  /** ssl: the handshake failed (HAProxy logs `<ci>:<cp> [date] fe/bind: SSL handshake failure`). */
  tlsFailed(l: ListenerRuntime, reason: string, ip: string, port: number, acceptTime: number): void {
    const fe = l.proxy;
    if (this.logFormats[fe.index] !== null && this.hasLog(fe)) this.logHandshakeFailure(l, `${ip}:${port}`, acceptTime, reason);
    this.sessionEnded(fe, l);
  }

  /** accept-proxy: the header is in; the stream starts with the bytes that followed it. */
  onProxyHeader(l: ListenerRuntime, handle: RawStream, h: ProxyHeader, rest: Buffer | null): void {
    // accept-proxy + ssl: the TLS handshake follows the header (HAProxy's order).
    if (l.tls !== null) return l.tls.accept(handle, l.proxy.cfg.timeouts.client, new TlsHandshake(this, l, Date.now(), h), rest);
    this.startStream(l, handle, h, rest);
  }

  /**
   * `h`: the connection's PROXY header (accept-proxy), whose source is then
   * the client for logs and for servers (HAProxy: "the PROXY protocol
   * dictates the layer 3/4 addresses of the incoming connection to be used
   * everywhere an address is used"); LOCAL and UNKNOWN keep the real ones.
   */
  private startStream(l: ListenerRuntime, handle: RawStream, h: ProxyHeader | null, rest: Buffer | null): void {
    const fe = l.proxy;
    const proxied = h !== null && h.proxied;
    // The peer address costs a syscall: only fetched when something logs it.
    const logs = this.hasLog(fe);
    const wantAddress = logs && !proxied;
    const st = fe.cfg.mode === 'http' ? new HttpStream(this, fe, l, handle, wantAddress) : new TcpStream(this, fe, l, handle, wantAddress);
    if (h !== null) st.proxied(proxied ? h.srcIp : null, h.srcPort, rest);
    this.streams.add(st);
    // HAProxy's default (no log option) line, emitted at accept time
    // (frontend_accept(), once the handshake is done: the header's addresses).
    if (logs && this.logFormats[fe.index] === null) {
      this.log(fe, LOG_INFO, proxied
        ? `Connect from ${h.srcIp}:${h.srcPort} to ${h.dstIp}:${h.dstPort} (${fe.cfg.name}/${fe.cfg.mode === 'http' ? 'HTTP' : 'TCP'})`
        : st.describeConnect());
    }
    st.start();
  }

  /**
   * accept-proxy: the handshake failed and the connection is being closed
   * (code 0: stopping). HAProxy's session_kill_embryonic(): a line
   * `<ci>:<cp> [<accept date>] <frontend>/<bind name or id>: <reason>` at
   * info level when the frontend has a log format, except, with `option
   * dontlognull`, for a connection that sent nothing (closed, reset or timed
   * out before any byte).
   */
  onProxyFailed(l: ListenerRuntime, handle: RawStream, code: number, received: number, acceptTime: number): void {
    const fe = l.proxy;
    let log = code !== 0 && this.logFormats[fe.index] !== null && this.hasLog(fe);
    if (log && fe.cfg.options.dontlognull && (code === PP_ERR_EMPTY || code === PP_ERR_ABORT || (code === PP_ERR_TIMEOUT && received === 0))) log = false;
    if (log) {
      const a = peerAddress(handle);
      this.logHandshakeFailure(l, a.address === 'unix' ? null : `${a.address}:${a.port}`, acceptTime, PP_ERROR_MESSAGES[code]);
    }
    this.sessionEnded(fe, l);
  }

  /** HAProxy's session_kill_embryonic() line: `<ci>:<cp> [<accept date>] <frontend>/<bind name or id>: <reason>`. */
  private logHandshakeFailure(l: ListenerRuntime, who: string | null, acceptTime: number, reason: string): void {
    const fe = l.proxy;
    let luid = 0;
    for (const x of this.cfg.listeners) {
      if (x.proxy === l.cfg.proxy) luid++;
      if (x === l.cfg) break;
    }
    this.log(fe, LOG_INFO, `${who ?? `unix:${luid}`} [${formatAcceptDate(acceptTime)}] ${fe.cfg.name}/${l.cfg.options.name ?? luid}: ${reason}`);
  }

  private hasLog(p: ProxyRuntime): boolean {
    return (p.cfg.logGlobal && this.globalLog !== null) || this.proxyLogs[p.index] !== null;
  }

  private log(p: ProxyRuntime, level: number, msg: string): void {
    if (p.cfg.logGlobal) this.globalLog?.log(level, msg);
    this.proxyLogs[p.index]?.log(level, msg);
  }

  /** Whether `fe` logs a line per HTTP transaction (else the stream builds no log record). */
  logsHttp(fe: ProxyRuntime): boolean {
    return this.logFormats[fe.index] !== null && this.hasLog(fe);
  }

  /** One line per HTTP transaction (HttpStream logs each one itself, when logsHttp()). */
  logHttp(st: HttpStream, rec: LogRecord): void {
    const fe = st.fe;
    const fmt = this.logFormats[fe.index];
    // set-log-level: silent drops the line, another level replaces info.
    const lvl = st.logLevel;
    if (fmt !== null && this.hasLog(fe) && lvl !== -1) this.log(fe, lvl >= 0 ? lvl : LOG_INFO, renderLogFormat(fmt, rec, st));
  }

  streamEnded(st: TcpStream | HttpStream): void {
    if (!this.streams.delete(st)) return;
    const fe = st.fe;
    const l = st.listener;
    if (st instanceof HttpStream) return this.sessionEnded(fe, l);
    // Logged before the counters drop: HAProxy's actconn/feconn include the stream itself.
    // dontlognull: HAProxy 2.6 skips a stream whose client sent nothing
    // (req.total == 0), even when the server sent a banner.
    const fmt = this.logFormats[fe.index];
    if (fmt !== null && this.hasLog(fe) && !st.silent && st.logLevel !== -1 && !(fe.cfg.options.dontlognull && st.bytesIn === 0)) {
      this.log(fe, st.logLevel >= 0 ? st.logLevel : LOG_INFO, renderLogFormat(fmt, this.streamRecord(st), st));
    }
    this.sessionEnded(fe, l);
  }

  private sessionEnded(fe: ProxyRuntime, l: ListenerRuntime): void {
    this.actconn--;
    fe.feconn--;
    l.conns--;
    fe.fe!.scur = fe.feconn;
    if (this.stopping) {
      if (this.streams.size === 0) this.onIdle?.();
      return;
    }
    this.resumeListeners(l);
  }

  private resumeListeners(l: ListenerRuntime): void {
    if (this.pausedForGlobal) {
      if (this.actconn >= this.maxconn) return;
      this.pausedForGlobal = false;
      for (const other of this.listeners.values()) if (!other.listening && !this.atLimit(other)) other.resume();
      return;
    }
    if (!l.listening && !this.atLimit(l)) {
      for (const other of this.listeners.values()) if (other.proxy === l.proxy && !other.listening && !this.atLimit(other)) other.resume();
    }
  }

  /** A TCP stream's log record as of now (the end-of-stream line, lf-strings of rules). */
  streamRecord(st: TcpStream): LogRecord {
    const now = Date.now();
    return {
      clientIp: st.clientIp, clientPort: st.clientPort,
      acceptTime: st.acceptTime,
      frontend: st.fe.cfg.name,
      backend: st.be?.cfg.name ?? st.fe.cfg.name,
      server: st.srv?.cfg.name ?? '<NOSRV>',
      tw: st.be ? st.tw : -1, tc: st.tc, tt: now - st.acceptTime,
      bytesOut: st.bytesOut,
      termState: st.term1 + st.term2,
      actconn: this.actconn, feconn: st.fe.feconn, beconn: st.be?.beconn ?? 0, srvConn: st.srv?.cur ?? 0,
      retries: st.retries, redispatched: st.redispatched,
      srvQueue: st.srvQueue, backendQueue: st.backendQueue,
      ssl: st.tls !== null, sslVersion: st.tls?.version, sslCipher: st.tls?.cipher,
    };
  }

  requestHandle(key: string): void {
    this.opts.requestHandle(key);
  }

  onListenError(l: ListenerRuntime, err: Error): void {
    this.opts.report('warn', `accept error on ${formatListenAddress(l.cfg.address)}: ${err.message}`);
  }

  setServerState(p: number, s: number, st: ServerRuntimeState): void {
    const srv = this.proxies[p]?.servers[s];
    if (!srv) return;
    srv.state = st;
    const px = this.proxies[p];
    px.serverChanged();
    // A server leaving service keeps no idle connections (HAProxy purges them too).
    if (srv.weight() === 0) srv.pool.closeAll();
    // One coming back takes requests waiting in its backend's queue at once.
    else if (srv.slots !== null && px.queue.count > 0) creditFreed(px, srv);
    // Requests waiting for a server that went down are balanced again with
    // `option redispatch` (not with `option persist`), as HAProxy's
    // pendconn_redistribute does; force-persist ones stay.
    if (srv.weight() === 0 && srv.slots !== null && srv.slots.queue.count > 0 &&
      px.cfg.redispatch !== 0 && !(px.cfg.options.persist ?? false)) {
      for (const w of srv.slots.queue.waiters()) w.requeue();
    }
    // slowstart: roundrobin and leastconn read the ramping weight at each pick;
    // the tables of hashing, random and static-rr are rebuilt each second of it.
    const ss = srv.cfg.slowstart ?? 0;
    if (st.op === SRV_ST_STARTING && ss > 0) {
      const since = st.lastChange;
      const t = setInterval(() => {
        px.serverChanged();
        if (srv.state.op !== SRV_ST_STARTING || srv.state.lastChange !== since || Date.now() - since >= ss) clearInterval(t);
      }, 1000);
      t.unref();
    }
  }

  /**
   * Close every stream of this worker using server `s` of proxy `p`:
   * `on-marked-down shutdown-sessions` ('D'), `on-marked-up
   * shutdown-backup-sessions` ('U'), the CLI's `shutdown sessions server` ('K').
   */
  shutdownServerSessions(p: number, s: number, why: string): void {
    const srv = this.proxies[p]?.servers[s];
    if (!srv) return;
    for (const st of [...this.streams]) if (st.srv === srv) st.kill(why);
  }

  stats(): WorkerStats {
    return {
      pid: process.pid,
      startedAt: this.startedAt,
      currConns: this.actconn,
      cumConns: this.cumConns,
      maxConnReached: this.maxConnReached,
      proxies: this.proxies.map(p => p.stats()),
    };
  }

  /**
   * Stop accepting; resolve once every stream has ended. With a positive
   * `hardStopAfter`, streams still open then are killed.
   */
  stop(graceful: boolean, hardStopAfter: number): Promise<void> {
    this.stopping = true;
    for (const l of this.listeners.values()) { l.stop(); l.tls?.closeAll(); }
    for (const p of this.proxies) for (const s of p.servers) s.pool.closeAll();
    if (!graceful) for (const st of this.streams) st.kill();
    return new Promise<void>(resolve => {
      let timer: NodeJS.Timeout | null = null;
      const done = (): void => {
        if (timer) clearTimeout(timer);
        Promise.all([this.globalLog?.close(), ...this.proxyLogs.map(l => l?.close())]).finally(resolve);
      };
      if (this.streams.size === 0) return done();
      this.onIdle = done;
      if (hardStopAfter > 0) {
        timer = setTimeout(() => { for (const st of this.streams) st.kill(); }, hardStopAfter);
        timer.unref();
      }
    });
  }
}

/** One TLS handshake's way back to the engine (tls/accept.ts). */
class TlsHandshake implements TlsAcceptOwner {
  constructor(private readonly engine: Engine, private readonly l: ListenerRuntime, private readonly acceptTime: number, private readonly header: ProxyHeader | null = null) {}
  tlsReady(a: TlsAccepted): void { this.engine.tlsReady(this.l, a, this.header); }
  tlsFailed(reason: string, ip: string, port: number): void {
    const h = this.header;
    if (h !== null && h.proxied) { ip = h.srcIp; port = h.srcPort; }
    this.engine.tlsFailed(this.l, reason, ip, port, this.acceptTime);
  }
}
