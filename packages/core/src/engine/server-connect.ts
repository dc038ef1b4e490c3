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
import { redispatchOnRetry } from '../backend/retry';
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

/**
 * The server a retry goes to instead of `srv` (HAProxy's
 * stream_choose_redispatch), null to stay: only with `option redispatch`,
 * never for a force-persist match; when `srv` is no longer up, when the
 * redispatch interval names this retry (by default the last), or on every
 * retry of a balanced request (not a use-server/cookie one) under a
 * round-robin algorithm with another server up.
 */
export function redispatchTarget(be: ProxyRuntime, srv: ServerRuntime, attemptsLeft: number, ctx: SampleContext | null,
  direct: boolean, forcePersist: boolean): ServerRuntime | null {
  const cfg = be.cfg;
  if (cfg.redispatch === 0 || forcePersist || srv === be.dispatch) return null;
  const retryNo = cfg.retries - attemptsLeft + 1;
  if (srv.weight() !== 0 && !redispatchOnRetry(cfg.redispatch, retryNo, cfg.retries) &&
    (direct || !be.roundRobin || be.usableServers() <= 1)) return null;
  const other = be.pickWithRoom(ctx, srv);
  return other && other !== srv && !be.allFull ? other : null;
}

/** What to do after a failed connect attempt (planRetry). */
export interface RetryPlan {
  /** The server of the next attempt: the same, or another one (redispatch). */
  srv: ServerRuntime;
  redispatched: boolean;
  /** Wait before the attempt (turn-around after an immediate error), 0 after a timeout. */
  delay: number;
}

/**
 * The connect-retry policy shared by the TCP and HTTP streams (HAProxy's
 * back_handle_st_cer): count the failure (econ); while attempts are left
 * (`retries`), count a retry (wretr), maybe to another server (wredis,
 * redispatchTarget). Null: no attempt left.
 */
export function planRetry(be: ProxyRuntime, srv: ServerRuntime, attemptsLeft: number, timedOut: boolean,
  ctx: SampleContext | null, direct: boolean, forcePersist = false): RetryPlan | null {
  const c = be.be!;
  srv.counters.econ++;
  c.econ++;
  if (attemptsLeft <= 0) return null;
  srv.counters.wretr++;
  c.wretr++;
  const cfg = be.cfg;
  const next = redispatchTarget(be, srv, attemptsLeft, ctx, direct, forcePersist) ?? srv;
  if (next !== srv) {
    srv.counters.wredis++;
    c.wredis++;
  }
  // The turn-around delay is only for a retry on the same server (HAProxy waits
  // when it stays assigned, or balances by hash or connections, or has one server).
  const wait = !timedOut && (next === srv || !be.roundRobin || be.usableServers() <= 1);
  return { srv: next, redispatched: next !== srv, delay: wait ? Math.min(TURNAROUND_MS, cfg.timeouts.connect || TURNAROUND_MS) : 0 };
}
