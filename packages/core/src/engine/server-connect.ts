/**
 * Opening a connection to a server, shared by the TCP and HTTP streams:
 * a raw TCP handle with TCP_NODELAY, the connect request, and the connect
 * timeout. The stream is told the outcome through connectDone/connectFailed
 * with the attempt number it passed, so a late completion of an abandoned
 * attempt is recognised and ignored.
 *
 * `send-proxy` / `send-proxy-v2`: once connected, the PROXY header is the
 * first thing written, before the owner hears of the connection (so before
 * any byte of its own), describing the stream's client: the addresses of
 * the client's PROXY header if it came with one, else the connection's
 * (listener.ts clientEndpoints). The header is built at connect time, once
 * per connection; every attempt (retry, redispatch) gets its own.
 */
import type { ProxyRuntime, ServerRuntime } from './proxy-runtime';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { type RawStream, type ConnectReq, type WriteReq, WriteWrap, newTcpSocket, newConnectReq, localAddress, lastWriteWasAsync } from './raw-handle';
import { adoptTlsHandle } from '../tls/accept';
import { serverTlsOptions, dynamicSniOptions } from '../tls/server-ssl';
import type { SampleContext } from '../rules/sample';
import { buildProxyV1, buildProxyV2, type ProxyV2Extras } from './proxy-protocol';
import { clientEndpoints, proxyHeaderOf } from './listener';

export interface ConnectOwner {
  /**
   * The connection is up (status 0) or failed (status < 0). With `ssl`, this
   * comes after the TLS handshake and `tlsHandle` is the stream to use from
   * now on (a TLSWrap over the TCP handle returned by connectToServer).
   */
  connectDone(attempt: number, status: number, tlsHandle?: RawStream): void;
  connectFailed(attempt: number, timedOut: boolean): void;
}

export interface ServerConnect {
  handle: RawStream;
  /** The `timeout connect` timer, null when none is set. */
  timer: NodeJS.Timeout | null;
  /** The connect is under way (false: it failed at once, connectFailed follows). */
  pending: boolean;
}

const kOwner = Symbol('switchyard.connect.owner');
const kAttempt = Symbol('switchyard.connect.attempt');
const kServer = Symbol('switchyard.connect.server');
const kClient = Symbol('switchyard.connect.client');
const kHandle = Symbol('switchyard.connect.handle');
const kSni = Symbol('switchyard.connect.sni');

/** The SNI a server connection was made with (`sni <expr>`), undefined otherwise. */
export function connectionSni(h: RawStream): string | null | undefined {
  return h[kSni] as string | null | undefined;
}

/** What the owner's `sni <expr>` gives now (null: no SNI sent). */
export function evalSni(srv: ServerRuntime, owner: unknown): string | null {
  const v = srv.sniExpr!.evalText(owner as SampleContext);
  return v === null || v === '' ? null : v;
}

/**
 * Connect to `srv` (to the port the client connected to when the server has
 * none). An immediate error is reported on the next tick, like a late one.
 */
export function connectToServer(srv: ServerRuntime, client: RawStream, owner: ConnectOwner, attempt: number, timeoutMs: number): ServerConnect {
  const cfg = srv.cfg;
  srv.counters.connect++;
  const h = newTcpSocket();
  h.setNoDelay?.(true);
  const req = newConnectReq();
  req.oncomplete = onConnect;
  req[kOwner] = owner;
  req[kAttempt] = attempt;
  if (cfg.sendProxy || cfg.sendProxyV2 || cfg.tls) {
    req[kServer] = srv;
    req[kClient] = client;
    req[kHandle] = h;
  }
  const port = cfg.port || clientDstPort(client);
  const err = cfg.family === 6 ? h.connect6!(req, cfg.ip, port) : h.connect!(req, cfg.ip, port);
  if (err) {
    process.nextTick(connectFailedNT, owner, attempt);
    return { handle: h, timer: null, pending: false };
  }
  return { handle: h, timer: timeoutMs > 0 ? setTimeout(onConnectTimeout, timeoutMs, owner, attempt) : null, pending: true };
}

/**
 * The port the client connected to, for a server without one: the PROXY
 * header's destination when the client came with one (HAProxy uses the
 * session's destination address, which the header sets).
 */
function clientDstPort(client: RawStream): number {
  const pp = proxyHeaderOf(client);
  return pp !== null && pp.proxied ? pp.dstPort : localAddress(client).port;
}

function onConnect(this: ConnectReq, status: number): void {
  const srv = this[kServer] as ServerRuntime | undefined;
  const owner = this[kOwner] as ConnectOwner, attempt = this[kAttempt] as number;
  if (srv !== undefined && status === 0) {
    const client = this[kClient] as RawStream, h = this[kHandle] as RawStream;
    this[kClient] = this[kHandle] = this[kServer] = undefined;
    if (srv.cfg.sendProxy || srv.cfg.sendProxyV2) sendProxyHeader(srv, client, h);
    // TLS after the PROXY header, as HAProxy sends it; `timeout connect` covers the handshake.
    if (srv.cfg.tls) return startTls(srv, h, owner, attempt);
  }
  owner.connectDone(attempt, status);
}

/**
 * The TLS handshake on a connected TCP handle (node:tls); then the owner
 * gets the TLSWrap, driven like a TCP handle (tls/accept.ts explains why).
 * A failed handshake or verification is a failed connect (retries, `sC`).
 */
function startTls(srv: ServerRuntime, h: RawStream, owner: ConnectOwner, attempt: number): void {
  const sock = new net.Socket({ handle: h } as unknown as net.SocketConstructorOpts);
  const sni = srv.sniExpr !== null ? evalSni(srv, owner) : undefined;
  const t = tls.connect({ ...(sni !== undefined ? dynamicSniOptions(srv.cfg, sni) : serverTlsOptions(srv.cfg)), socket: sock });
  let done = false;
  t.on('error', () => {
    if (done) return;
    done = true;
    owner.connectFailed(attempt, false);
  });
  t.once('secureConnect', () => {
    if (done) return;
    done = true;
    const th = adoptTlsHandle(t);
    if (sni !== undefined) th[kSni] = sni;
    owner.connectDone(attempt, 0, th);
  });
}

/**
 * Write the PROXY header on a new server connection. A write error is left
 * to the owner, whose own first write or read on the handle fails the same
 * way.
 */
function sendProxyHeader(srv: ServerRuntime, client: RawStream, h: RawStream): void {
  const cfg = srv.cfg;
  const ends = clientEndpoints(client);
  let buf: Buffer;
  if (cfg.sendProxyV2) {
    const pp = proxyHeaderOf(client);
    const extras: ProxyV2Extras = { authority: pp !== null ? pp.authority : null, uniqueId: null };
    buf = buildProxyV2(ends, cfg.proxyV2Options ?? 0, extras);
  } else {
    buf = buildProxyV1(ends);
  }
  const req = new WriteWrap() as WriteReq;
  req.handle = h;
  req.oncomplete = onHeaderWritten;
  req.async = false;
  if (h.writeBuffer(req, buf) === 0 && lastWriteWasAsync()) req.buffer = buf;
}

function onHeaderWritten(this: WriteReq): void { this.buffer = null; }

function connectFailedNT(owner: ConnectOwner, attempt: number): void { owner.connectFailed(attempt, false); }
function onConnectTimeout(owner: ConnectOwner, attempt: number): void { owner.connectFailed(attempt, true); }

/** HAProxy's connect "turn-around" delay after an immediate connection error. */
const TURNAROUND_MS = 1000;

/** What to do after a failed connect attempt (planRetry). */
export interface RetryPlan {
  /** The server of the next attempt: the same, or another one on the last attempt. */
  srv: ServerRuntime;
  redispatched: boolean;
  /** Wait before the attempt (turn-around after an immediate error), 0 after a timeout. */
  delay: number;
}

/**
 * The connect-retry policy shared by the TCP and HTTP streams: count the
 * failure (econ), then, while attempts are left (`retries`), count a retry
 * (wretr) and send the last attempt to another server when there is one
 * (wredis: the redispatch the issue asks for). Null: no attempt left.
 */
export function planRetry(be: ProxyRuntime, srv: ServerRuntime, attemptsLeft: number, timedOut: boolean): RetryPlan | null {
  const c = be.be!;
  srv.counters.econ++;
  c.econ++;
  if (attemptsLeft <= 0) return null;
  srv.counters.wretr++;
  c.wretr++;
  let next = srv;
  if (attemptsLeft === 1) {
    const other = be.pickServer(null, srv);
    if (other && other !== srv) {
      next = other;
      srv.counters.wredis++;
      c.wredis++;
    }
  }
  return { srv: next, redispatched: next !== srv, delay: timedOut ? 0 : Math.min(TURNAROUND_MS, be.cfg.timeouts.connect || TURNAROUND_MS) };
}
