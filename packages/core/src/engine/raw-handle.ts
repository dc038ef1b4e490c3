/**
 * Direct use of libuv stream handles (the TCP/Pipe wraps under net.Socket).
 *
 * Why: a net.Socket costs two stream state machines, event emitters and
 * several ticks per connection. Measured on the TCP bench (new connection per
 * request, proxy pinned to one core): a plain `net.Socket` pipe proxy spends
 * 168 µs of CPU per connection (70 µs in user space), HAProxy 70 µs (6 µs
 * user); the same relay written on the handles spends 100 µs (18 µs user).
 * The handles are Node's own (`process.binding('tcp_wrap')`, the allow-listed
 * legacy binding that node:net itself is built on); nothing here touches
 * sockets or memory by hand. TLS streams (later) go through node:tls.
 *
 * Conventions of these bindings (Node 20/22):
 * - `handle.onread(arrayBuffer)` is called with `this` = handle; the byte
 *   count (or a negative libuv error, UV_EOF at end of stream) and the offset
 *   are in `streamBaseState`.
 * - `writeBuffer(req, buf)` either completes synchronously or leaves
 *   `streamBaseState[kLastWriteWasAsync]` set and calls `req.oncomplete(status)`
 *   later; the buffer must stay referenced until then.
 * - `connect(req, ip, port)` calls `req.oncomplete(status, handle, req)`.
 */
/* eslint-disable @typescript-eslint/no-explicit-any */

interface StreamBindings {
  WriteWrap: new () => WriteReq;
  ShutdownWrap: new () => ShutdownReq;
  streamBaseState: Int32Array;
  kReadBytesOrError: number;
  kArrayBufferOffset: number;
  kLastWriteWasAsync: number;
}

interface TcpBindings {
  TCP: new (type: number) => RawStream;
  TCPConnectWrap: new () => ConnectReq;
  constants: { SOCKET: number; SERVER: number };
}

export interface RawStream {
  /** Must always be a function: the native setter asserts it. */
  onread: (this: RawStream, ab: ArrayBuffer | undefined) => void;
  readStart(): number;
  readStop(): number;
  writeBuffer(req: WriteReq, buf: Uint8Array): number;
  writev(req: WriteReq, chunks: Uint8Array[], allBuffers: boolean): number;
  shutdown(req: ShutdownReq): number;
  close(cb?: () => void): void;
  getpeername?(out: Record<string, unknown>): number;
  getsockname?(out: Record<string, unknown>): number;
  setNoDelay?(on: boolean): number;
  connect?(req: ConnectReq, ip: string, port: number): number;
  connect6?(req: ConnectReq, ip: string, port: number): number;
  reset?(cb?: () => void): number;
  readonly writeQueueSize: number;
  /** Listening handles only. */
  listen?(backlog: number): number;
  onconnection?: ((err: number, client: RawStream | undefined) => void) | null;
  [key: symbol]: unknown;
}

export interface WriteReq {
  handle: RawStream;
  oncomplete: ((this: WriteReq, status: number) => void) | null;
  async: boolean;
  buffer: unknown;
  [key: symbol]: unknown;
}

export interface ShutdownReq {
  handle: RawStream;
  oncomplete: ((this: ShutdownReq, status: number) => void) | null;
  [key: symbol]: unknown;
}

export interface ConnectReq {
  oncomplete: ((this: ConnectReq, status: number, handle: RawStream) => void) | null;
  address?: string;
  port?: number;
  [key: symbol]: unknown;
}

const legacy = (process as unknown as { binding(name: string): any }).binding;
const tcp = legacy('tcp_wrap') as TcpBindings;
const stream = legacy('stream_wrap') as StreamBindings;
const uv = legacy('uv') as { UV_EOF: number; UV_ECANCELED: number; errname(code: number): string };

export const UV_EOF = uv.UV_EOF;
export const UV_ECANCELED = uv.UV_ECANCELED;
export const WriteWrap = stream.WriteWrap;
export const ShutdownWrap = stream.ShutdownWrap;
const state = stream.streamBaseState;
const kReadBytesOrError = stream.kReadBytesOrError;
const kArrayBufferOffset = stream.kArrayBufferOffset;
const kLastWriteWasAsync = stream.kLastWriteWasAsync;

export function errname(code: number): string {
  try { return uv.errname(code); } catch { return `E${-code}`; }
}

/** Byte count (or negative error) of the read being delivered to onread. */
export function readResult(): number {
  return state[kReadBytesOrError];
}

/**
 * Deliver an error to a handle's onread as a failed read would (`code` < 0):
 * for errors that come another way (a TLS alert on a TLSWrap, tls/accept.ts).
 */
export function emitReadError(h: RawStream, code: number): void {
  state[kReadBytesOrError] = code;
  (h.onread as (ab: ArrayBuffer | undefined) => void).call(h, undefined);
}

/** The bytes of the read being delivered to onread. */
export function readBytes(ab: ArrayBuffer, n: number): Buffer {
  return Buffer.from(ab, state[kArrayBufferOffset], n);
}

/** After writeBuffer/writev: did the write stay pending (backpressure)? */
export function lastWriteWasAsync(): boolean {
  return state[kLastWriteWasAsync] !== 0;
}

export function newTcpSocket(): RawStream {
  return new tcp.TCP(tcp.constants.SOCKET);
}

export function newConnectReq(): ConnectReq {
  return new tcp.TCPConnectWrap();
}

const peerOut: Record<string, unknown> = {};

/** The remote address of a connected handle (getpeername). */
export function peerAddress(h: RawStream): { address: string; port: number } {
  if (h.getpeername && h.getpeername(peerOut) === 0) {
    return { address: String(peerOut.address), port: Number(peerOut.port) };
  }
  return { address: 'unix', port: 0 };
}

/** The local address of a connected handle (getsockname). */
export function localAddress(h: RawStream): { address: string; port: number } {
  if (h.getsockname && h.getsockname(peerOut) === 0) {
    return { address: String(peerOut.address), port: Number(peerOut.port) };
  }
  return { address: 'unix', port: 0 };
}
