/**
 * A TCP-mode stream: one client connection relayed to one server connection
 * with backpressure in both directions, half-close propagation, HAProxy's
 * timeouts (connect, client, server, client-fin, server-fin, tunnel), connect
 * retries with a final redispatch, and termination flags for the log.
 *
 * Socket event handlers are module-level functions that find their stream
 * through a symbol on the socket, so a connection costs no closures.
 */
import * as net from 'node:net';
import type { ProxyRuntime, ServerRuntime } from './proxy-runtime';
import type { Engine } from './engine';
import type { ListenerRuntime } from './listener';

const kStream = Symbol('switchyard.stream');
type TaggedSocket = net.Socket & { [kStream]: TcpStream };

/** HAProxy's connect "turn-around" delay after an immediate connection error. */
const TURNAROUND_MS = 1000;

export class TcpStream {
  readonly acceptTime = Date.now();
  /** Captured at accept: a closed socket no longer knows its peer. */
  readonly clientIp: string;
  readonly clientPort: number;
  server: net.Socket | null = null;
  be: ProxyRuntime | null;
  srv: ServerRuntime | null = null;
  /** Bytes received from the client / sent to the client. */
  bytesIn = 0;
  bytesOut = 0;
  retries = 0;
  redispatched = false;
  /** ms from accept to the connect attempt that succeeded started; -1 if never. */
  tw = 0;
  tc = -1;
  private connectStart = 0;
  private attemptsLeft: number;
  private connected = false;
  private clientClosed = false;
  private serverClosed = false;
  private clientInEnded = false;
  private clientOutEnded = false;
  private serverInEnded = false;
  private serverOutEnded = false;
  /** Termination state: who ended it (C, S, c, s, K, -) and when (C, D, -). */
  term1 = '-';
  term2 = '-';
  private finished = false;
  private turnaround: NodeJS.Timeout | null = null;

  constructor(readonly engine: Engine, readonly fe: ProxyRuntime, readonly listener: ListenerRuntime, readonly client: net.Socket) {
    this.be = fe.defaultBackend;
    this.attemptsLeft = (this.be?.cfg.retries ?? 0) + 1;
    this.clientIp = client.remoteAddress ?? '-';
    this.clientPort = client.remotePort ?? 0;
    (client as TaggedSocket)[kStream] = this;
    client.on('data', onClientData);
    client.on('end', onClientEnd);
    client.on('error', onClientError);
    client.on('close', onClientClose);
    client.on('timeout', onClientTimeout);
    client.on('drain', onClientDrain);
  }

  start(): void {
    const be = this.be;
    if (!be) return this.abort('S', 'C', 'no backend');
    be.beconn++;
    const c = be.be!;
    c.stot++; c.connTot++; c.lastSess = this.acceptTime;
    if (be.beconn > c.smax) c.smax = be.beconn;
    c.scur = be.beconn;
    this.tw = Date.now() - this.acceptTime;
    const srv = be.pickServer();
    if (!srv) return this.abort('S', 'C', 'no server available');
    this.assign(srv);
    this.connectServer();
  }

  private assign(srv: ServerRuntime): void {
    if (this.srv) this.release();
    this.srv = srv;
    srv.cur++;
    const c = srv.counters;
    c.stot++; c.lbtot++; c.lastSess = Date.now();
    if (srv.cur > c.smax) c.smax = srv.cur;
    c.scur = srv.cur;
    this.be!.be!.lbtot++;
  }

  private release(): void {
    const srv = this.srv;
    if (!srv) return;
    srv.cur--;
    srv.counters.scur = srv.cur;
  }

  private connectServer(): void {
    const srv = this.srv!;
    const cfg = srv.cfg;
    this.attemptsLeft--;
    this.connectStart = Date.now();
    const sock = net.connect({
      host: cfg.ip,
      port: cfg.port || this.client.localPort!,
      family: cfg.family,
      allowHalfOpen: true,
      noDelay: true,
    });
    (sock as TaggedSocket)[kStream] = this;
    this.server = sock;
    srv.counters.connect++;
    const t = this.be!.cfg.timeouts.connect;
    if (t > 0) sock.setTimeout(t);
    sock.once('connect', onServerConnect);
    sock.on('error', onServerError);
    sock.on('close', onServerClose);
    sock.on('timeout', onServerTimeout);
  }

  /** A connection attempt failed: retry, redispatch on the last retry, or give up. */
  connectFailed(timedOut: boolean): void {
    const srv = this.srv!;
    const sock = this.server!;
    sock.removeAllListeners();
    sock.on('error', noop);
    sock.destroy();
    this.server = null;
    srv.counters.econ++;
    this.be!.be!.econ++;
    if (this.clientClosed) return this.finish();
    if (this.attemptsLeft <= 0) return this.abort(timedOut ? 's' : 'S', 'C', 'connect failed');
    this.retries++;
    srv.counters.wretr++;
    this.be!.be!.wretr++;
    // HAProxy's default `option redispatch`-like behaviour asked for here: the
    // last attempt goes to another server when there is one.
    if (this.attemptsLeft === 1) {
      const other = this.be!.pickServer(srv);
      if (other && other !== srv) {
        this.redispatched = true;
        srv.counters.wredis++;
        this.be!.be!.wredis++;
        this.assign(other);
      }
    }
    if (timedOut) return this.connectServer();
    const delay = Math.min(TURNAROUND_MS, this.be!.cfg.timeouts.connect || TURNAROUND_MS);
    this.turnaround = setTimeout(onTurnaround, delay, this);
  }

  retryNow(): void {
    this.turnaround = null;
    if (this.clientClosed) return this.finish();
    this.connectServer();
  }

  connectedToServer(): void {
    const sock = this.server!;
    this.connected = true;
    this.tc = Date.now() - this.connectStart;
    const fe = this.fe.cfg.timeouts, be = this.be!.cfg.timeouts;
    // Once both sides are up, `timeout tunnel` supersedes client and server timeouts.
    const tunnel = be.tunnel;
    sock.setTimeout(tunnel || be.server);
    this.client.setTimeout(tunnel || fe.client);
    sock.on('data', onServerData);
    sock.on('end', onServerEnd);
    sock.on('drain', onServerDrain);
    if (this.clientInEnded) this.shutServerOut();
    this.client.resume();
  }

  clientData(chunk: Buffer): void {
    const n = chunk.length;
    this.bytesIn += n;
    this.fe.fe!.bin += n;
    const be = this.be!;
    be.be!.bin += n;
    this.srv!.counters.bin += n;
    if (!this.server!.write(chunk)) this.client.pause();
  }

  serverData(chunk: Buffer): void {
    const n = chunk.length;
    this.bytesOut += n;
    this.fe.fe!.bout += n;
    this.be!.be!.bout += n;
    this.srv!.counters.bout += n;
    if (!this.client.write(chunk)) this.server!.pause();
  }

  clientEnd(): void {
    this.clientInEnded = true;
    this.applyFinTimeouts();
    if (this.connected) this.shutServerOut();
  }

  serverEnd(): void {
    this.serverInEnded = true;
    this.applyFinTimeouts();
    if (!this.clientOutEnded) { this.clientOutEnded = true; this.client.end(); }
  }

  private shutServerOut(): void {
    if (this.serverOutEnded || !this.server) return;
    this.serverOutEnded = true;
    this.server.end();
  }

  /** client-fin / server-fin apply once one direction of that side is shut. */
  private applyFinTimeouts(): void {
    const fin = this.fe.cfg.timeouts.clientFin;
    if (fin > 0 && (this.clientInEnded || this.clientOutEnded)) this.client.setTimeout(fin);
    const sfin = this.be?.cfg.timeouts.serverFin ?? 0;
    if (sfin > 0 && this.server && this.connected && (this.serverInEnded || this.serverOutEnded)) this.server.setTimeout(sfin);
  }

  clientError(): void {
    // A reset from the client: client abort, during connect or during data.
    this.setTerm('C', this.connected ? 'D' : 'C');
    if (this.connected) { this.be!.be!.cliAbrt++; this.srv!.counters.cliAbrt++; }
  }

  serverError(): void {
    this.setTerm('S', 'D');
    this.be!.be!.srvAbrt++;
    this.srv!.counters.srvAbrt++;
  }

  clientTimeout(): void {
    this.setTerm('c', this.connected ? 'D' : 'C');
    this.client.destroy();
    this.server?.destroy();
  }

  serverTimeout(): void {
    this.setTerm('s', 'D');
    this.server!.destroy();
    this.client.destroy();
  }

  private setTerm(a: string, b: string): void {
    if (this.term1 === '-') { this.term1 = a; this.term2 = b; }
  }

  clientClose(): void {
    this.clientClosed = true;
    if (!this.clientInEnded && this.term1 === '-' && !this.serverInEnded) this.setTerm('C', this.connected ? 'D' : 'C');
    if (this.turnaround) { clearTimeout(this.turnaround); this.turnaround = null; }
    if (this.server && !this.connected) {
      // Still connecting: the attempt is abandoned.
      this.server.removeAllListeners();
      this.server.on('error', noop);
      this.server.destroy();
      this.server = null;
    } else if (this.server && !this.serverClosed) {
      // Pending data to the server is flushed when the client closed cleanly.
      if (this.term1 === '-') this.shutServerOut(); else this.server.destroy();
    }
    this.maybeFinish();
  }

  serverClose(): void {
    this.serverClosed = true;
    if (this.connected && !this.serverInEnded && this.term1 === '-') this.setTerm('S', 'D');
    if (!this.clientClosed) {
      if (this.term1 === '-') { if (!this.clientOutEnded) { this.clientOutEnded = true; this.client.end(); } }
      else this.client.destroy();
    }
    this.maybeFinish();
  }

  private maybeFinish(): void {
    if (this.clientClosed && (this.serverClosed || !this.server) && !this.turnaround) this.finish();
  }

  /** End the stream without a server connection (no backend, no server, connect failed). */
  abort(t1: string, t2: string, _why: string): void {
    this.setTerm(t1, t2);
    this.client.destroy();
    if (this.clientClosed) this.finish();
  }

  /** Hard stop (hard-stop-after, shutdown sessions). */
  kill(): void {
    this.setTerm('K', this.connected ? 'D' : 'C');
    this.client.destroy();
    this.server?.destroy();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    // The engine logs first: HAProxy's beconn/srv_conn include the stream itself.
    this.engine.streamEnded(this);
    if (this.be) {
      this.be.beconn--;
      this.be.be!.scur = this.be.beconn;
    }
    this.release();
  }
}

function noop(): void { /* swallow late errors on a discarded socket */ }
function streamOf(s: net.Socket): TcpStream { return (s as TaggedSocket)[kStream]; }

function onClientData(this: net.Socket, chunk: Buffer): void { streamOf(this).clientData(chunk); }
function onClientEnd(this: net.Socket): void { streamOf(this).clientEnd(); }
function onClientError(this: net.Socket): void { streamOf(this).clientError(); }
function onClientClose(this: net.Socket): void { streamOf(this).clientClose(); }
function onClientTimeout(this: net.Socket): void { streamOf(this).clientTimeout(); }
function onClientDrain(this: net.Socket): void { streamOf(this).server?.resume(); }
function onServerConnect(this: net.Socket): void { streamOf(this).connectedToServer(); }
function onServerData(this: net.Socket, chunk: Buffer): void { streamOf(this).serverData(chunk); }
function onServerEnd(this: net.Socket): void { streamOf(this).serverEnd(); }
function onServerDrain(this: net.Socket): void { streamOf(this).client.resume(); }
function onServerError(this: net.Socket): void {
  const st = streamOf(this);
  if (st.server !== this) return;
  if (st.tc < 0) st.connectFailed(false); else st.serverError();
}
function onServerClose(this: net.Socket): void {
  const st = streamOf(this);
  if (st.server === this && st.tc >= 0) st.serverClose();
}
function onServerTimeout(this: net.Socket): void {
  const st = streamOf(this);
  if (st.server !== this) return;
  if (st.tc < 0) st.connectFailed(true); else st.serverTimeout();
}
function onTurnaround(st: TcpStream): void { st.retryNow(); }
