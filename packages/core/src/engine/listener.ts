/**
 * One listening socket in a worker. The master binds every socket and hands
 * the handle over IPC; the worker listens on it and receives accepted
 * connections as raw handles (raw-handle.ts). At maxconn the worker stops
 * accepting by closing its own copy of the handle (the socket stays open in
 * the master and in the other workers, so excess connections wait in the
 * kernel's accept backlog) and asks the master for the handle again once it
 * has room: a libuv listener cannot be paused otherwise.
 */
import type { ListenerConfig } from '../config/compiled';
import type { ProxyRuntime } from './proxy-runtime';
import { errname, type RawStream } from './raw-handle';

export interface ListenerHost {
  onConnection(l: ListenerRuntime, handle: RawStream): void;
  requestHandle(key: string): void;
  onListenError(l: ListenerRuntime, err: Error): void;
}

/** Raw libuv handle as received over IPC (TCP or Pipe wrap). */
export type RawHandle = object;

const kListener = Symbol('switchyard.listener');

export class ListenerRuntime {
  private handle: RawStream | null = null;
  /** Connections accepted here and still open. */
  conns = 0;
  /** This worker's share of the listener maxconn (0 = unlimited). */
  maxconn = 0;
  private waitingForHandle = false;
  private stopped = false;

  constructor(readonly cfg: ListenerConfig, readonly proxy: ProxyRuntime, private readonly host: ListenerHost) {}

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
  }
}

function onConnection(this: RawStream, err: number, client: RawStream | undefined): void {
  (this[kListener] as ListenerRuntime).accepted(err, client);
}
