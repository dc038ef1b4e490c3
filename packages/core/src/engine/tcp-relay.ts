/**
 * A TCP-mode stream on raw libuv handles (see raw-handle.ts for why): one
 * client connection relayed to one server connection with backpressure in
 * both directions (a side stops being read while a write toward the other
 * side is pending), half-close propagation (EOF from one side becomes a
 * shutdown of the other), HAProxy's timeouts (connect, client, server,
 * client-fin, server-fin, tunnel), connect retries with a final redispatch,
 * and termination flags for the log.
 *
 * Handlers are module-level functions; a handle or request finds its side
 * through a symbol, so a connection allocates no closures.
 */
import type { ProxyRuntime, ServerRuntime } from './proxy-runtime';
import type { Engine } from './engine';
import type { ListenerRuntime } from './listener';
import {
  type RawStream, type WriteReq, type ShutdownReq,
  WriteWrap, ShutdownWrap, UV_EOF, readResult, readBytes, lastWriteWasAsync,
  peerAddress, localAddress,
} from './raw-handle';
import { connectToServer, planRetry } from './server-connect';
import type { TlsInfo } from '../tls/accept';
import { proxyHeaderOf } from './listener';
import type { RuleHost } from '../rules/rule-set';
import { acceptSession } from './conn-rules';
import { runRules, pickBackend, pickUseServer, yieldAt, ACT_CONTINUE, ACT_STOP, ACT_YIELD } from '../rules/rule-set';
import { type PersistTxn, persistSelect, redispatchForbidden } from '../http/cookie-persist';
import type { VarScopes, TlsView } from '../rules/sample';
import type { RequestHead, ResponseHead } from '../http/h1';
import type { LogRecord } from '../log/log-format';
import { leaveQueue, takeOrQueue, SLOT_TAKEN, SLOT_QUEUE_FULL, type WaitQueue } from '../backend/queue';
import { observeConnected, observeConnectFailed } from '../checks/observe';

const kSide = Symbol('switchyard.side');

/** One end of the relay. */
class Side {
  handle: RawStream | null = null;
  /** EOF received from this end. */
  eof = false;
  /** Our write side toward this end is shut (shutdown requested / done). */
  shut = false;
  shutDone = false;
  /** Async writes toward this end still in flight. */
  pending = 0;
  /** Reading from this end is stopped because the other end is congested. */
  paused = false;
  /** Inactivity timeout and the last activity (read from or write to this end). */
  timeoutMs = 0;
  last = 0;
  timer: NodeJS.Timeout | null = null;
  other!: Side;

  constructor(readonly stream: TcpStream, readonly isClient: boolean) {}
}

export class TcpStream implements RuleHost {
  readonly acceptTime = Date.now();
  clientIp = '-';
  clientPort = 0;
  be: ProxyRuntime | null;
  srv: ServerRuntime | null = null;
  /** This stream counts in srv.cur (assign() until release()). */
  private srvHeld = false;
  /** Bytes received from the client / sent to the client. */
  bytesIn = 0;
  bytesOut = 0;
  /** The server reset its connection: close once the client has what it sent. */
  private serverReset = false;
  retries = 0;
  redispatched = false;
  /** ms from accept to a server being assigned (HAProxy's Tw); -1 if never. */
  tw = -1;
  tc = -1;
  /** Termination state: who ended it (C, S, c, s, K, -) and when (C, D, -). */
  term1 = '-';
  term2 = '-';
  readonly client: Side;
  readonly server: Side;
  private connectStart = 0;
  private attemptsLeft: number;
  private attempt = 0;
  private connected = false;
  private finished = false;
  /** start() counted this stream in its backend's beconn. */
  private beCounted = false;
  private connectTimer: NodeJS.Timeout | null = null;
  private turnaround: NodeJS.Timeout | null = null;
  /** Client bytes read with the PROXY header (accept-proxy), forwarded once connected. */
  private early: Buffer | null = null;

  constructor(readonly engine: Engine, readonly fe: ProxyRuntime, readonly listener: ListenerRuntime, handle: RawStream, wantAddress: boolean) {
    this.be = null;
    this.attemptsLeft = 1;
    this.client = new Side(this, true);
    this.server = new Side(this, false);
    this.client.other = this.server;
    this.server.other = this.client;
    this.client.handle = handle;
    // Without TCP_NODELAY the tail of a response waits for the client's
    // delayed ACK (40 ms stalls on large transfers).
    handle.setNoDelay?.(true);
    handle[kSide] = this.client;
    handle.onread = onRead;
    if (wantAddress) {
      const a = peerAddress(handle);
      this.clientIp = a.address;
      this.clientPort = a.port;
    }
  }

  /**
   * accept-proxy (engine.ts), before start(): the client address of the
   * connection's PROXY header (null: the real one stays, LOCAL/UNKNOWN) and
   * the bytes that followed the header, sent to the server once connected.
   */
  /** The client connection's TLS (bind ... ssl), null in clear: %sslv, %sslc, the '~' of %ft. */
  tls: TlsInfo | null = null;

  proxied(ip: string | null, port: number, first: Buffer | null): void {
    if (ip !== null) { this.clientIp = ip; this.clientPort = port; }
    this.early = first;
    if (first !== null) { this.bytesIn += first.length; this.fe.fe!.bin += first.length; }
  }

  /** `Connect from <ci>:<cp> to <fi>:<fp>` of HAProxy's default log. */
  describeConnect(): string {
    const l = localAddress(this.client.handle!);
    return `Connect from ${this.clientIp}:${this.clientPort} to ${l.address}:${l.port} (${this.fe.cfg.name}/${this.fe.cfg.mode.toUpperCase()})`;
  }

  start(): void {
    const r = this.fe.rules;
    if (r !== null && r.tcpReqSess.length > 0 && !acceptSession(this)) {
      // Rejected session: closed without a log line (HAProxy's denied_sess).
      this.silent = true;
      return this.close();
    }
    // tcp-request content rules read the client's first bytes before a
    // backend is chosen (HAProxy's tcp_inspect_request analyser).
    if (r !== null && r.tcpReqCnt.length > 0) return this.inspectStart();
    this.route();
  }

  /* ---------------- content inspection and switching ---------------- */

  /** Not logged (a tcp-request session reject). */
  silent = false;
  /** Waiting for client bytes under `tcp-request inspect-delay`. */
  private inspecting = false;
  /** The inspect delay expired: rules decide with what is there. */
  private inspectExpired = false;
  private inspectTimer: NodeJS.Timeout | null = null;
  /** Rule to resume at, and which proxy's rules run (frontend, then backend). */
  private ruleAt = 0;
  private ruleBe = false;

  private inspectStart(): void {
    this.inspecting = true;
    const delay = this.fe.cfg.inspectDelay;
    if (delay > 0) this.inspectTimer = setTimeout(onInspectTimer, delay, this);
    else this.inspectExpired = true;
    this.client.last = Date.now();
    this.setTimeout(this.client, this.fe.cfg.timeouts.client);
    this.client.handle!.readStart();
    this.inspect();
  }

  inspectTimeout(): void {
    this.inspectTimer = null;
    if (this.finished || !this.inspecting) return;
    this.inspectExpired = true;
    this.inspect();
  }

  /** True once no more client bytes can change a rule's result. */
  get reqFinal(): boolean {
    return this.inspectExpired || this.client.eof || (this.early !== null && this.early.length >= this.engine.cfg.global.bufsize);
  }

  /** Runs the frontend's then the backend's tcp-request content rules, then routes. */
  private inspect(): void {
    const final = this.reqFinal;
    if (!this.ruleBe) {
      const v = runRules(this.fe.rules!.tcpReqCnt, this, final, this.ruleAt);
      if (v === ACT_YIELD) { this.ruleAt = yieldAt; return; }
      if (v !== ACT_CONTINUE && v !== ACT_STOP) return this.reject(false);
      this.ruleBe = true;
      this.ruleAt = 0;
      this.be = this.switchBackend();
    }
    const be = this.be;
    if (be !== null && be !== this.fe && be.rules !== null && be.rules.tcpReqCnt.length > 0) {
      const v = runRules(be.rules.tcpReqCnt, this, final, this.ruleAt);
      if (v === ACT_YIELD) { this.ruleAt = yieldAt; return; }
      if (v !== ACT_CONTINUE && v !== ACT_STOP) return this.reject(true);
    }
    this.inspecting = false;
    if (this.inspectTimer) { clearTimeout(this.inspectTimer); this.inspectTimer = null; }
    // Reading resumes once the server is connected (connectDone).
    if (!this.client.eof) this.client.handle!.readStop();
    this.route(true);
  }

  /** `use_backend` rules (always final, as HAProxy's process_switching_rules), else default_backend. */
  private switchBackend(): ProxyRuntime | null {
    const r = this.fe.rules;
    if (r === null || r.switching.length === 0) return this.fe.defaultBackend;
    return pickBackend(r, this, true) ?? this.fe.defaultBackend;
  }

  /** tcp-request content reject (frontend's or backend's): closed, logged `PR`. */
  private reject(byBackend: boolean): void {
    this.inspecting = false;
    if (this.inspectTimer) { clearTimeout(this.inspectTimer); this.inspectTimer = null; }
    this.fe.fe!.dreq++;
    if (byBackend && this.be !== null && this.be.be !== null) this.be.be.dreq++;
    this.setTerm('P', 'R');
    this.close();
  }

  private route(switched = false): void {
    if (!switched) this.be = this.switchBackend();
    const be = this.be;
    this.attemptsLeft = (be?.cfg.retries ?? 0) + 1;
    if (!be) return this.abort('S', 'C');
    be.beconn++;
    this.beCounted = true;
    const c = be.be!;
    c.stot++; c.connTot++; c.lastSess = this.acceptTime;
    if (be.beconn > c.smax) c.smax = be.beconn;
    c.scur = be.beconn;
    if (this.early !== null) { c.bin += this.early.length; }
    const br = be.rules;
    // option persist / force-persist let use-server pick a down server (http/cookie-persist.ts).
    const direct = be.persist !== null ? persistSelect(this, be) : br !== null && br.useServers.length > 0 ? pickUseServer(be, this) : null;
    if (direct !== null) return this.serverOrQueue(direct, false, true);
    const srv = be.pickWithRoom(this);
    // No usable server: Tw stays -1, as HAProxy logs `<NOSRV> -1/-1/Tt … SC`.
    if (!srv) return this.abort('S', 'C');
    this.serverOrQueue(srv, be.allFull, false);
  }

  /* Waiting for a server slot (backend/queue.ts QueueWaiter; HttpStream has the same). */
  queuedAt = 0;
  waitQueue: WaitQueue | null = null;
  askedOf: ServerRuntime | null = null;
  srvQueue = 0;
  backendQueue = 0;
  private queueTimer: NodeJS.Timeout | null = null;
  private direct = false;

  private serverOrQueue(srv: ServerRuntime, anyServer: boolean, direct: boolean): void {
    const be = this.be!;
    this.direct = direct;
    const r = takeOrQueue(be, srv, this, anyServer);
    if (r === SLOT_TAKEN) return this.dequeued(srv);
    if (r === SLOT_QUEUE_FULL) {
      const other = direct && be.cfg.redispatch !== 0 ? be.pickWithRoom(this) : undefined;
      if (other) return this.serverOrQueue(other, be.allFull, false);
      this.srv = srv;
      this.tw = Date.now() - this.acceptTime;
      srv.counters.econ++;
      be.be!.econ++;
      return this.abort('S', 'Q');
    }
    if (!anyServer) this.srv = srv;
    const t = be.cfg.timeouts.queue || be.cfg.timeouts.connect;
    if (t > 0) this.queueTimer = setTimeout(onQueueTimeout, t, this);
  }

  /** The server this request waits for went down (backend/queue.ts QueueWaiter.requeue). */
  requeue(): void {
    if (this.waitQueue === null || this.finished || redispatchForbidden(this.persist)) return;
    const be = this.be!;
    leaveQueue(be, this);
    if (this.queueTimer !== null) { clearTimeout(this.queueTimer); this.queueTimer = null; }
    this.srv = null;
    this.redispatched = true;
    const srv = be.pickWithRoom(this);
    if (!srv) return this.abort('S', 'C');
    this.serverOrQueue(srv, be.allFull, false);
  }

  /** A slot of `srv` is this stream's (now, or from the queue). */
  dequeued(srv: ServerRuntime): void {
    if (this.queueTimer !== null) { clearTimeout(this.queueTimer); this.queueTimer = null; }
    this.tw = Date.now() - this.acceptTime;
    this.assign(srv);
    if (this.early !== null) srv.counters.bin += this.early.length;
    this.connectServer();
  }

  queueTimedOut(): void {
    this.queueTimer = null;
    if (this.waitQueue === null || this.finished) return;
    const be = this.be!;
    leaveQueue(be, this);
    this.tw = Date.now() - this.acceptTime;
    if (this.srv !== null) this.srv.counters.econ++;
    be.be!.econ++;
    this.abort('s', 'Q');
  }

  private leaveQueues(): void {
    if (this.queueTimer !== null) { clearTimeout(this.queueTimer); this.queueTimer = null; }
    if (this.waitQueue !== null) {
      leaveQueue(this.be!, this);
      this.tw = Date.now() - this.acceptTime;
    }
  }

  /* ---------------- what rules see (rules/sample.ts SampleContext) ---------------- */

  reply: unknown = null;
  /** force-persist of this connection (http/cookie-persist.ts), made on first use. */
  persist: PersistTxn | null = null;
  /** set-log-level (-2: not set, -1: silent). */
  logLevel = -2;
  private tunnelTimeoutSet = 0;
  private srvTimeoutSet = 0;

  timeoutOverride(which: 'server' | 'tunnel', ms: number): void {
    if (which === 'server') this.srvTimeoutSet = ms; else this.tunnelTimeoutSet = ms;
  }

  overrideAddress(which: 'src' | 'dst', ip: string, port: number | null): void {
    if (which === 'src') { this.clientIp = ip; if (port !== null) this.clientPort = port; return; }
    this.dst = { address: ip, port: port ?? this.destination().port };
  }

  readonly httpReq: RequestHead | null = null;
  readonly httpRes: ResponseHead | null = null;
  readonly status = -1;
  private varScopes: VarScopes | null = null;
  private dst: { address: string; port: number } | null = null;

  get vars(): VarScopes {
    return this.varScopes ??= { sess: new Map(), txn: new Map(), req: new Map(), res: new Map() };
  }

  srcIp(): string {
    if (this.clientIp === '-' && this.client.handle) {
      const a = peerAddress(this.client.handle);
      this.clientIp = a.address; this.clientPort = a.port;
    }
    return this.clientIp;
  }
  srcPort(): number { this.srcIp(); return this.clientPort; }
  private destination(): { address: string; port: number } {
    if (this.dst === null) {
      const h = this.client.handle;
      const ph = h ? proxyHeaderOf(h) : null;
      this.dst = ph !== null && ph.proxied ? { address: ph.dstIp, port: ph.dstPort } : h ? localAddress(h) : { address: '-', port: 0 };
    }
    return this.dst;
  }
  dstIp(): string { return this.destination().address; }
  dstPort(): number { return this.destination().port; }
  reqPayload(): Buffer | null { return this.early; }
  resPayload(): Buffer | null { return this.resHeld; }
  tlsView(): TlsView | null { return this.tls; }
  reqBody(): Buffer | null { return null; }
  logRecord(): LogRecord { return this.engine.streamRecord(this); }

  private assign(srv: ServerRuntime): void {
    this.release();
    this.srv = srv;
    srv.acquire();
    this.srvHeld = true;
    this.be!.be!.lbtot++;
  }

  /** Give the server slot back, once (the server stays known for the log). */
  private release(): void {
    if (!this.srvHeld) return;
    this.srvHeld = false;
    this.srv!.release();
  }

  private connectServer(): void {
    this.attemptsLeft--;
    this.attempt++;
    this.connectStart = Date.now();
    const c = connectToServer(this.srv!, this.client.handle!, this, this.attempt, this.be!.cfg.timeouts.connect);
    c.handle[kSide] = this.server;
    this.server.handle = c.handle;
    this.connectTimer = c.timer;
  }

  /** The connect request completed (status 0) or failed. */
  connectDone(attempt: number, status: number, tlsHandle?: RawStream): void {
    if (attempt !== this.attempt || this.finished) return;
    if (status < 0) return this.connectFailed(attempt, false);
    if (this.connectTimer) { clearTimeout(this.connectTimer); this.connectTimer = null; }
    if (tlsHandle !== undefined) {
      // `ssl` server: from now on the TLSWrap is the server connection.
      tlsHandle[kSide] = this.server;
      this.server.handle = tlsHandle;
    }
    this.connected = true;
    observeConnected(this.srv!);
    const now = Date.now();
    this.tc = now - this.connectStart;
    const fe = this.fe.cfg.timeouts, be = this.be!.cfg.timeouts;
    // Once both sides are up, `timeout tunnel` supersedes client and server timeouts.
    // When both sides idle out together the log says `cD` like HAProxy's
    // (process_stream checks the client side first; sideTimer).
    const tunnel = this.tunnelTimeoutSet || be.tunnel;
    const srvH = this.server.handle!;
    srvH.onread = onRead;
    this.client.last = this.server.last = now;
    this.setTimeout(this.client, tunnel || fe.client);
    this.setTimeout(this.server, tunnel || this.srvTimeoutSet || be.server);
    const br = this.be!.rules;
    if (br !== null && br.tcpResCnt.length > 0) this.resInspectStart();
    srvH.readStart();
    const cli = this.client;
    if (!cli.eof) cli.handle!.readStart();
    if (this.early !== null) {
      // Bytes read before the connection (PROXY header tail, inspected
      // content) were counted on arrival: send them as they are.
      const b = this.early;
      this.early = null;
      this.forwardEarly(b);
    }
    if (cli.eof && !this.finished) { cli.eof = false; this.eof(cli); }
  }

  connectFailed(attempt: number, timedOut: boolean): void {
    if (attempt !== this.attempt || this.finished) return;
    if (this.connectTimer) { clearTimeout(this.connectTimer); this.connectTimer = null; }
    const srv = this.srv!;
    observeConnectFailed(srv);
    const h = this.server.handle;
    if (h) { h.onread = ignoreRead; h.close(); this.server.handle = null; }
    const plan = planRetry(this.be!, srv, this.attemptsLeft, timedOut, this, this.direct, redispatchForbidden(this.persist));
    if (plan === null) return this.abort(timedOut ? 's' : 'S', 'C');
    this.retries++;
    if (plan.redispatched) { this.redispatched = true; this.assign(plan.srv); }
    if (plan.delay === 0) return this.connectServer();
    this.turnaround = setTimeout(onTurnaround, plan.delay, this);
  }

  retryNow(): void {
    this.turnaround = null;
    if (!this.finished) this.connectServer();
  }

  /* ---------------- data ---------------- */

  /** Client bytes held before the server connection existed. */
  private forwardEarly(buf: Buffer): void { this.forwardHeld(this.server, buf); }

  /** Bytes held for inspection (tcp-request / tcp-response content), counted on arrival: sent as they are. */
  private forwardHeld(to: Side, buf: Buffer): void {
    const h = to.handle;
    if (!h || to.shut) return;
    const req = new WriteWrap() as WriteReq;
    req.handle = h;
    req.oncomplete = onWriteDone;
    req.async = false;
    req[kSide] = to;
    if (h.writeBuffer(req, buf)) return this.writeError(to);
    to.last = Date.now();
    if (lastWriteWasAsync()) {
      req.buffer = buf;
      to.pending++;
      const from = to.other;
      if (!from.paused) { from.paused = true; from.handle?.readStop(); }
    }
  }

  /* ---------------- tcp-response content ---------------- */

  /** Holding server bytes for the backend's tcp-response content rules. */
  private resInspecting = false;
  private resHeld: Buffer | null = null;
  private resExpired = false;
  private resTimer: NodeJS.Timeout | null = null;
  private resRuleAt = 0;

  private resInspectStart(): void {
    this.resInspecting = true;
    const d = this.be!.cfg.resInspectDelay;
    if (d > 0) this.resTimer = setTimeout(onResInspectTimer, d, this);
    else this.resExpired = true;
  }

  resInspectTimeout(): void {
    this.resTimer = null;
    if (this.finished || !this.resInspecting) return;
    this.resExpired = true;
    this.resInspect();
  }

  /** Runs the rules on what the server sent so far; forwards it once accepted. */
  private resInspect(): void {
    const final = this.resExpired || this.server.eof || (this.resHeld !== null && this.resHeld.length >= this.engine.cfg.global.bufsize);
    const v = runRules(this.be!.rules!.tcpResCnt, this, final, this.resRuleAt);
    if (v === ACT_YIELD) { this.resRuleAt = yieldAt; return; }
    this.resInspecting = false;
    if (this.resTimer) { clearTimeout(this.resTimer); this.resTimer = null; }
    if (v !== ACT_CONTINUE && v !== ACT_STOP) {
      // tcp-response content reject: both sides closed, logged `PD`.
      this.be!.be!.dresp++;
      this.fe.fe!.dresp++;
      this.setTerm('P', 'D');
      return this.close();
    }
    const b = this.resHeld;
    this.resHeld = null;
    if (b !== null) this.forwardHeld(this.client, b);
  }

  /** Bytes read from `from`: forward them to the other side. */
  data(from: Side, buf: Buffer): void {
    const n = buf.length;
    if (this.inspecting) {
      // Held for the rules, forwarded once connected (connectDone).
      from.last = Date.now();
      this.bytesIn += n;
      this.fe.fe!.bin += n;
      this.early = this.early === null ? buf : Buffer.concat([this.early, buf]);
      return this.inspect();
    }
    const to = from.other;
    const now = Date.now();
    from.last = now;
    if (from.isClient) {
      this.bytesIn += n;
      this.fe.fe!.bin += n;
      this.be!.be!.bin += n;
      this.srv!.counters.bin += n;
    } else {
      this.bytesOut += n;
      this.fe.fe!.bout += n;
      this.be!.be!.bout += n;
      this.srv!.counters.bout += n;
    }
    if (this.resInspecting && !from.isClient) {
      this.resHeld = this.resHeld === null ? buf : Buffer.concat([this.resHeld, buf]);
      return this.resInspect();
    }
    const h = to.handle;
    if (!h || to.shut) return;
    const req = new WriteWrap() as WriteReq;
    req.handle = h;
    req.oncomplete = onWriteDone;
    req.async = false;
    req[kSide] = to;
    const err = h.writeBuffer(req, buf);
    if (err) return this.writeError(to);
    to.last = now;
    if (lastWriteWasAsync()) {
      // Keep the bytes alive until written; stop reading until then.
      req.buffer = buf;
      to.pending++;
      if (!from.paused) { from.paused = true; from.handle?.readStop(); }
    }
  }

  writeDone(to: Side, status: number): void {
    if (this.finished) return;
    to.pending--;
    if (status < 0) return this.writeError(to);
    to.last = Date.now();
    const from = to.other;
    if (to.pending === 0 && from.paused && !from.eof && from.handle) {
      from.paused = false;
      from.handle.readStart();
    }
  }

  private writeError(to: Side): void {
    // The peer we were writing to went away.
    if (to.isClient) this.clientAbort(); else this.serverAbort();
    this.close();
  }

  /** EOF from `from`: shut the other side's write direction (after pending writes). */
  eof(from: Side): void {
    if (this.inspecting || (from.isClient && !this.connected)) {
      // The client's FIN before a server is connected: decided on what
      // came; the FIN is passed on once connected (connectDone).
      from.eof = true;
      from.handle?.readStop();
      if (this.inspecting) this.inspect();
      return;
    }
    if (this.resInspecting && !from.isClient) {
      from.eof = true;
      from.handle?.readStop();
      this.resInspect();
      if (this.resInspecting || this.finished) return;
      from.eof = false; // decided: pass the FIN on below
    }
    from.eof = true;
    from.handle?.readStop();
    const to = from.other;
    if (!to.shut && to.handle) {
      to.shut = true;
      const req = new ShutdownWrap() as ShutdownReq;
      req.handle = to.handle;
      req.oncomplete = onShutdown;
      req[kSide] = to;
      if (to.handle.shutdown(req) !== 0) to.shutDone = true;
    }
    this.applyFinTimeouts();
    this.maybeDone();
  }

  shutdownDone(to: Side): void {
    to.shutDone = true;
    // A reset server: what it sent before is now with the client; done.
    if (this.serverReset && to.isClient) return this.close();
    this.applyFinTimeouts();
    this.maybeDone();
  }

  private maybeDone(): void {
    const c = this.client, s = this.server;
    if (c.eof && s.eof && c.shutDone && s.shutDone) this.close();
  }

  readError(from: Side): void {
    if (from.isClient) {
      this.clientAbort();
      return this.close();
    }
    // The server reset the connection: the bytes it sent before still reach
    // the client (pending writes flush, then our FIN), as HAProxy forwards
    // what its buffer holds before closing; the log says SD.
    this.serverAbort();
    this.serverReset = true;
    const h = from.handle;
    if (h) { h.onread = ignoreRead; h.close(); from.handle = null; }
    from.eof = true;
    const c = this.client;
    if (c.shut || !c.handle) return this.close();
    this.eof(from);
    if (c.shutDone && !this.finished) this.close();
  }

  private clientAbort(): void {
    this.setTerm('C', this.waitQueue !== null ? 'Q' : this.connected ? 'D' : 'C');
    if (this.connected && this.term1 === 'C') { this.be!.be!.cliAbrt++; this.srv!.counters.cliAbrt++; }
  }

  private serverAbort(): void {
    this.setTerm('S', 'D');
    if (this.term1 === 'S') { this.be!.be!.srvAbrt++; this.srv!.counters.srvAbrt++; }
  }

  /* ---------------- timeouts ---------------- */

  private setTimeout(side: Side, ms: number): void {
    if (side.timeoutMs === ms) return;
    side.timeoutMs = ms;
    if (side.timer) { clearTimeout(side.timer); side.timer = null; }
    if (ms > 0 && !this.finished) side.timer = setTimeout(onSideTimer, Math.max(1, ms - (Date.now() - side.last)), side);
  }

  /**
   * client-fin / server-fin apply to a side once we have shut our write
   * direction toward it (the other peer ended first), as HAProxy 2.6's
   * process_stream() arms them on shutw: that peer is then only expected to
   * finish. A peer that half-closed itself may still be waiting for a reply
   * (request + FIN, slow server): its ordinary timeout keeps applying.
   */
  private applyFinTimeouts(): void {
    const cfin = this.fe.cfg.timeouts.clientFin;
    if (cfin > 0 && this.client.shut) this.setTimeout(this.client, cfin);
    const sfin = this.be?.cfg.timeouts.serverFin ?? 0;
    if (sfin > 0 && this.connected && this.server.shut) this.setTimeout(this.server, sfin);
  }

  sideTimer(side: Side): void {
    side.timer = null;
    if (this.finished || side.timeoutMs <= 0) return;
    const idle = Date.now() - side.last;
    if (idle < side.timeoutMs) {
      side.timer = setTimeout(onSideTimer, side.timeoutMs - idle, side);
      return;
    }
    // Both sides idle out together (the two timers fire in either order when
    // the clock ticks between their arming): HAProxy's process_stream looks
    // at the client side first.
    const cli = this.client;
    const clientToo = !side.isClient && cli.timeoutMs > 0 && Date.now() - cli.last >= cli.timeoutMs;
    this.setTerm(side.isClient || clientToo ? 'c' : 's', this.inspecting ? 'R' : this.connected ? 'D' : 'C');
    this.close();
  }

  /* ---------------- end ---------------- */

  private setTerm(a: string, b: string): void {
    if (this.term1 === '-') { this.term1 = a; this.term2 = b; }
  }

  /** End without a server connection (no backend, no server, connect failed). */
  private abort(t1: string, t2: string): void {
    this.setTerm(t1, t2);
    this.close();
  }

  /** Hard stop ('K'), or killed because of a server state change ('D', 'U'): see HttpStream.kill. */
  kill(why = 'K'): void {
    this.setTerm(why, this.connected ? 'D' : 'C');
    this.close();
  }

  private close(): void {
    if (this.finished) return;
    this.finished = true;
    for (const side of [this.client, this.server]) {
      if (side.timer) { clearTimeout(side.timer); side.timer = null; }
      const h = side.handle;
      if (h) { h.onread = ignoreRead; h.close(); side.handle = null; }
    }
    if (this.connectTimer) { clearTimeout(this.connectTimer); this.connectTimer = null; }
    if (this.turnaround) { clearTimeout(this.turnaround); this.turnaround = null; }
    if (this.inspectTimer) { clearTimeout(this.inspectTimer); this.inspectTimer = null; }
    if (this.resTimer) { clearTimeout(this.resTimer); this.resTimer = null; }
    if (this.queueTimer !== null || this.waitQueue !== null) this.leaveQueues();
    // Backend and server slots are released before the log line, frontend
    // ones after it (engine.streamEnded): HAProxy 2.6 logs a lone stream as
    // `1/1/0/0/0` (%ac and %fc count it, %bc and %sc no longer do).
    if (this.beCounted) {
      this.be!.beconn--;
      this.be!.be!.scur = this.be!.beconn;
    }
    this.release();
    this.engine.streamEnded(this);
  }
}

function onQueueTimeout(st: TcpStream): void { st.queueTimedOut(); }

/** onread must stay a function (a native accessor asserts it). */
function ignoreRead(): void { /* closing */ }

function sideOf(h: RawStream): Side | undefined { return h[kSide] as Side | undefined; }

function onRead(this: RawStream, ab: ArrayBuffer | undefined): void {
  const side = sideOf(this);
  if (!side) return;
  const n = readResult();
  if (n > 0) return side.stream.data(side, readBytes(ab!, n));
  if (n === UV_EOF) return side.stream.eof(side);
  if (n < 0) side.stream.readError(side);
}

function onWriteDone(this: WriteReq, status: number): void {
  const to = this[kSide] as Side;
  this.buffer = null;
  to.stream.writeDone(to, status);
}

function onShutdown(this: ShutdownReq, _status: number): void {
  const to = this[kSide] as Side;
  to.stream.shutdownDone(to);
}

function onTurnaround(st: TcpStream): void { st.retryNow(); }
function onInspectTimer(st: TcpStream): void { st.inspectTimeout(); }
function onResInspectTimer(st: TcpStream): void { st.resInspectTimeout(); }
function onSideTimer(side: Side): void { side.stream.sideTimer(side); }
