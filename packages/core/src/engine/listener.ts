/**
 * One listening socket in a worker. The master binds every socket and hands
 * the handle over IPC; the worker listens on it and receives accepted
 * connections as raw handles (raw-handle.ts). At maxconn the worker stops
 * accepting by closing its own copy of the handle (the socket stays open in
 * the master and in the other workers, so excess connections wait in the
 * kernel's accept backlog) and asks the master for the handle again once it
 * has room: a libuv listener cannot be paused otherwise.
 *
 * With `accept-proxy`, an accepted connection first goes through the PROXY
 * protocol handshake here (readProxyHeader): the header is read and
 * validated (proxy-protocol.ts) before any stream exists, under `timeout
 * client` as HAProxy bounds its embryonic sessions (session_accept_fd), so a
 * bad, slow or truncated header closes the connection having reached nobody.
 */
import type { ListenerConfig } from '../config/compiled';
import { TlsAcceptor } from '../tls/accept';
import type { ProxyRuntime } from './proxy-runtime';
import { errname, readResult, readBytes, peerAddress, localAddress, UV_EOF, type RawStream } from './raw-handle';
import {
  ProxyHeaderReader, PP_ERR_ABORT, PP_ERR_EMPTY, PP_ERR_TIMEOUT, PP_ERR_TRUNCATED, type ProxyHeader, type ProxyEndpoints,
} from './proxy-protocol';

export interface ListenerHost {
  onConnection(l: ListenerRuntime, handle: RawStream): void;
  requestHandle(key: string): void;
  onListenError(l: ListenerRuntime, err: Error): void;
  /** accept-proxy: the header is in; `rest` holds the bytes that came after it in the same read. */
  onProxyHeader(l: ListenerRuntime, handle: RawStream, header: ProxyHeader, rest: Buffer | null): void;
  /**
   * accept-proxy: the handshake failed (PP_ERR_* code; `received` header
   * bytes had arrived). The handle is still open (its peer address can be
   * read) and is closed right after.
   */
  onProxyFailed(l: ListenerRuntime, handle: RawStream, code: number, received: number, acceptTime: number): void;
}

/** Raw libuv handle as received over IPC (TCP or Pipe wrap). */
export type RawHandle = object;

const kListener = Symbol('switchyard.listener');
const kHandshake = Symbol('switchyard.listener.handshake');
const kProxyHeader = Symbol('switchyard.listener.proxyHeader');

/** One connection waiting for its PROXY header. */
class Handshake {
  readonly reader = new ProxyHeaderReader();
  readonly acceptTime = Date.now();
  timer: NodeJS.Timeout | null = null;
  constructor(readonly l: ListenerRuntime, readonly handle: RawStream) {}
}

export class ListenerRuntime {
  private handle: RawStream | null = null;
  /** Connections accepted here and still open. */
  conns = 0;
  /** This worker's share of the listener maxconn (0 = unlimited). */
  maxconn = 0;
  private waitingForHandle = false;
  private stopped = false;
  /** Connections still in the PROXY handshake. */
  private readonly handshakes = new Set<Handshake>();

  /** `bind ... ssl`: the TLS acceptor (certificates built once per worker). */
  readonly tls: TlsAcceptor | null;

  constructor(readonly cfg: ListenerConfig, readonly proxy: ProxyRuntime, private readonly host: ListenerHost) {
    this.tls = cfg.options.ssl && cfg.options.tlsCerts ? new TlsAcceptor(cfg.options) : null;
  }

  get listening(): boolean {
    return this.handle !== null;
  }

  /** Listen on a handle from the master. */
  attach(raw: RawHandle, backlog: number): Promise<void> {
    this.waitingForHandle = false;
    const handle = raw as RawStream;
    if (this.stopped || this.handle) {
      handle.close();
      return Promise.resolve();
    }
    handle[kListener] = this;
    handle.onconnection = onConnection;
    const err = handle.listen!(backlog);
    if (err) {
      handle.close();
      return Promise.reject(new Error(`listen() failed: ${errname(err)}`));
    }
    this.handle = handle;
    return Promise.resolve();
  }

  accepted(err: number, client: RawStream | undefined): void {
    if (err || !client) {
      // accept() errors (EMFILE...) must never kill the worker.
      this.host.onListenError(this, new Error(`accept() failed: ${errname(err)}`));
      return;
    }
    this.host.onConnection(this, client);
  }

  /** Stop accepting (maxconn reached or shutting down). */
  pause(): void {
    const h = this.handle;
    if (!h) return;
    this.handle = null;
    h.close();
  }

  /** Room again: get a fresh handle from the master. */
  resume(): void {
    if (this.handle || this.waitingForHandle || this.stopped) return;
    this.waitingForHandle = true;
    this.host.requestHandle(this.cfg.key);
  }

  stop(): void {
    this.stopped = true;
    this.pause();
    // A connection still in its handshake has sent no request: it is closed
    // like an idle one, without a log line.
    for (const hs of this.handshakes) this.endHandshake(hs, 0);
  }

  /**
   * accept-proxy: read the PROXY header of an accepted connection, then
   * hand it to the host (onProxyHeader / onProxyFailed). `timeoutMs` 0: no
   * limit, as HAProxy without `timeout client`.
   */
  readProxyHeader(handle: RawStream, timeoutMs: number): void {
    const hs = new Handshake(this, handle);
    this.handshakes.add(hs);
    handle[kHandshake] = hs;
    handle.onread = onHeaderRead;
    if (timeoutMs > 0) hs.timer = setTimeout(onHandshakeTimeout, timeoutMs, hs);
    if (handle.readStart() !== 0) this.endHandshake(hs, PP_ERR_ABORT);
  }

  headerData(hs: Handshake, buf: Buffer): void {
    const n = hs.reader.feed(buf);
    if (n === 0) return;
    if (n < 0) return this.endHandshake(hs, -n);
    const rest = n < buf.length ? buf.subarray(n) : null;
    const h = hs.handle;
    // The stream takes the handle over: reading stops until it starts it again.
    h.readStop();
    h.onread = ignoreRead;
    h[kHandshake] = undefined;
    h[kProxyHeader] = hs.reader.header!;
    this.handshakes.delete(hs);
    if (hs.timer) { clearTimeout(hs.timer); hs.timer = null; }
    this.host.onProxyHeader(this, h, hs.reader.header!, rest);
  }

  headerEnd(hs: Handshake, status: number): void {
    const code = status === UV_EOF ? (hs.reader.received === 0 ? PP_ERR_EMPTY : PP_ERR_TRUNCATED) : PP_ERR_ABORT;
    this.endHandshake(hs, code);
  }

  headerTimeout(hs: Handshake): void {
    hs.timer = null;
    this.endHandshake(hs, PP_ERR_TIMEOUT);
  }

  /** Close a connection whose handshake failed (code 0: stopping, nothing to report but the end). */
  private endHandshake(hs: Handshake, code: number): void {
    if (!this.handshakes.delete(hs)) return;
    if (hs.timer) { clearTimeout(hs.timer); hs.timer = null; }
    const h = hs.handle;
    h.onread = ignoreRead;
    h[kHandshake] = undefined;
    this.host.onProxyFailed(this, h, code, hs.reader.received, hs.acceptTime);
    h.close();
  }
}

/**
 * The stream's client and the address it connected to, as a PROXY header
 * sent to a server (server-connect.ts) describes them: the addresses of the
 * client's own PROXY header when it carried some (HAProxy: "for connections
 * accepted by an accept-proxy listener, the advertised address will be
 * used"), else the connection's. Null for a UNIX socket client.
 */
export function clientEndpoints(client: RawStream): ProxyEndpoints | null {
  const h = client[kProxyHeader] as ProxyHeader | undefined;
  if (h !== undefined && h.proxied) return h;
  const p = peerAddress(client);
  if (p.address === 'unix') return null;
  const d = localAddress(client);
  return { srcIp: p.address, srcPort: p.port, dstIp: d.address, dstPort: d.port };
}

/** accept-proxy + ssl: the decrypted handle carries the raw connection's PROXY header. */
export function attachProxyHeader(client: RawStream, h: ProxyHeader): void {
  client[kProxyHeader] = h;
}

/** The PROXY header the client connection started with (accept-proxy), null without one. */
export function proxyHeaderOf(client: RawStream): ProxyHeader | null {
  return (client[kProxyHeader] as ProxyHeader | undefined) ?? null;
}

/** onread must stay a function (a native accessor asserts it). */
function ignoreRead(): void { /* handed over or closing */ }

function onHeaderRead(this: RawStream, ab: ArrayBuffer | undefined): void {
  const hs = this[kHandshake] as Handshake | undefined;
  if (!hs) return;
  const n = readResult();
  if (n > 0) return hs.l.headerData(hs, readBytes(ab!, n));
  if (n < 0) hs.l.headerEnd(hs, n);
}

function onHandshakeTimeout(hs: Handshake): void { hs.l.headerTimeout(hs); }

function onConnection(this: RawStream, err: number, client: RawStream | undefined): void {
  (this[kListener] as ListenerRuntime).accepted(err, client);
}
