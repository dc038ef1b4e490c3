/**
 * One listening socket in a worker. The master binds every socket and hands
 * the handle over IPC; the worker listens on it. At maxconn the worker stops
 * accepting by closing its own copy of the handle (the socket stays open in
 * the master and in the other workers, so excess connections wait in the
 * kernel's accept backlog) and asks the master for the handle again once it
 * has room: Node has no way to pause an accepting server otherwise.
 */
import * as net from 'node:net';
import type { ListenerConfig } from '../config/compiled';
import type { ProxyRuntime } from './proxy-runtime';

export interface ListenerHost {
  onConnection(l: ListenerRuntime, socket: net.Socket): void;
  requestHandle(key: string): void;
  onListenError(l: ListenerRuntime, err: Error): void;
}

/** Raw libuv handle as received over IPC (TCP or Pipe wrap). */
export type RawHandle = object;

interface ListenableServer extends net.Server {
  _handle: RawHandle | null;
  _listen2(address: string | null, port: number, addressType: number, backlog: number): void;
}

export class ListenerRuntime {
  private server: ListenableServer | null = null;
  /** Connections accepted here and still open. */
  conns = 0;
  /** This worker's share of the listener maxconn (0 = unlimited). */
  maxconn = 0;
  private waitingForHandle = false;
  private stopped = false;
  private readonly onConnectionBound = (s: net.Socket): void => this.host.onConnection(this, s);

  constructor(readonly cfg: ListenerConfig, readonly proxy: ProxyRuntime, private readonly host: ListenerHost) {}

  get listening(): boolean {
    return this.server !== null;
  }

  /**
   * Listen on a handle from the master. net.Server.listen(handle) only takes
   * TCP wraps in a cluster worker (a Pipe is routed to the cluster primary),
   * so the handle is installed the way Node's own IPC server hand-over does.
   */
  attach(handle: RawHandle, backlog: number): Promise<void> {
    this.waitingForHandle = false;
    if (this.stopped || this.server) {
      (handle as { close?: () => void }).close?.();
      return Promise.resolve();
    }
    const srv = net.createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }) as ListenableServer;
    srv.on('connection', this.onConnectionBound);
    this.server = srv;
    return new Promise<void>((resolve, reject) => {
      srv.once('listening', () => resolve());
      srv.on('error', (err: Error) => {
        if (!srv.listening) { this.server = null; reject(err); return; }
        // accept() errors (EMFILE...) must never kill the worker.
        this.host.onListenError(this, err);
      });
      srv._handle = handle;
      srv._listen2(null, -1, -1, backlog);
    });
  }

  /** Stop accepting (maxconn reached or shutting down). */
  pause(): void {
    const srv = this.server;
    if (!srv) return;
    this.server = null;
    srv.close();
  }

  /** Room again: get a fresh handle from the master. */
  resume(): void {
    if (this.server || this.waitingForHandle || this.stopped) return;
    this.waitingForHandle = true;
    this.host.requestHandle(this.cfg.key);
  }

  stop(): void {
    this.stopped = true;
    this.pause();
  }
}
