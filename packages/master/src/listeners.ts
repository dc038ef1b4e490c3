/**
 * The master binds every listening socket before any worker exists, keeps
 * them open for its whole life (reloads hand the same sockets to the new
 * workers, so nothing is ever re-bound) and closes those a reload removed.
 *
 * The master only binds: workers call listen() on their copy of the handle.
 * A listening socket in the master would be polled by the master's event
 * loop, which would then accept connections itself; a bound socket passed
 * over IPC is not. Once a worker has called listen(), the socket stays in the
 * LISTEN state as long as the master holds it, so connections that arrive
 * while no worker accepts (a reload, a respawn) wait in the backlog.
 */
import * as net from 'node:net';
import { chmodSync, chownSync, renameSync, unlinkSync, lstatSync, fstatSync } from 'node:fs';
import { getSystemErrorName } from 'node:util';
import type { ListenAddress, ListenerConfig } from '@switchyard/core/config/compiled';
import { formatListenAddress } from '@switchyard/core/config/compiled';

/** A libuv TCP or Pipe wrap, as net._createServerHandle returns it. */
export interface RawServerHandle {
  close(cb?: () => void): void;
  fd?: number;
  /** TCP wraps: 0, or a negative errno (including libuv's deferred bind error). */
  getsockname?(out: object): number;
}

type CreateServerHandle = (address: string | null, port: number | null, addressType: number | null, fd?: number, flags?: number) => RawServerHandle | number;
// node:net's internal binder, the one node:cluster uses to share sockets.
const createServerHandle = (net as unknown as { _createServerHandle: CreateServerHandle })._createServerHandle;
const UV_TCP_IPV6ONLY = 1;

export interface BoundSocket {
  key: string;
  address: ListenAddress;
  handle: RawServerHandle;
  /** For UNIX sockets: the path to remove when closing. */
  path?: string;
}

export class BindError extends Error {
  constructor(readonly address: string, readonly code: string, file: string, line: number) {
    super(`${file}:${line}: cannot bind socket ${address}: ${describeErrno(code)}`);
  }
}

function describeErrno(code: string): string {
  const text: Record<string, string> = {
    EADDRINUSE: 'address already in use',
    EACCES: 'permission denied',
    EADDRNOTAVAIL: 'address not available on this host',
    EBADF: 'not an open file descriptor',
    ENOTSOCK: 'not a socket',
    EINVAL: 'invalid argument',
    ENOENT: 'no such file or directory',
  };
  return `${code} (${text[code] ?? 'system error'})`;
}

/** Bind one address; throws BindError. */
export function bindAddress(address: ListenAddress, opts: { v6only?: boolean }, where: { file: string; line: number }): BoundSocket {
  const text = formatListenAddress(address);
  const fail = (err: number | string): never => {
    throw new BindError(text, typeof err === 'number' ? getSystemErrorName(err) : err, where.file, where.line);
  };
  switch (address.kind) {
    case 'tcp': {
      const h = createServerHandle(address.host, address.port, address.family, undefined, address.family === 6 && opts.v6only ? UV_TCP_IPV6ONLY : 0);
      if (typeof h === 'number') return fail(h);
      // libuv defers a bind()'s EADDRINUSE to listen() (uv_tcp_bind keeps it
      // as delayed_error), and the master never listens: the workers would get
      // an unbound fd, and their listen() would bind a random port on every
      // address. getsockname() reports the deferred error, so ask now.
      const err = h.getsockname?.({}) ?? 0;
      if (err) { h.close(); return fail(err); }
      return { key: '', address, handle: h };
    }
    case 'fd': {
      // Node cannot tell the kind of a closed descriptor (it says EINVAL): ask the kernel first.
      let st;
      try { st = fstatSync(address.fd); } catch { return fail('EBADF'); }
      if (!st.isSocket()) return fail('ENOTSOCK');
      let h: RawServerHandle | number;
      try { h = createServerHandle(null, null, null, address.fd); } catch { return fail('EBADF'); }
      if (typeof h === 'number') return fail(h);
      return { key: '', address, handle: h };
    }
    case 'unix': {
      // As HAProxy does: bind a temporary name, set owner and mode, then
      // rename it over the final path, which also replaces a stale socket.
      const tmp = `${address.path}.${process.pid}.tmp`;
      try { unlinkSync(tmp); } catch { /* none */ }
      const h = createServerHandle(tmp, -1, -1);
      if (typeof h === 'number') return fail(h);
      try {
        if (address.mode !== undefined) chmodSync(tmp, address.mode);
        if (address.uid !== undefined || address.gid !== undefined) chownSync(tmp, address.uid ?? -1, address.gid ?? -1);
        try {
          if (lstatSync(address.path).isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
        } catch (e) { if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; }
        renameSync(tmp, address.path);
      } catch (e) {
        h.close();
        try { unlinkSync(tmp); } catch { /* already gone */ }
        return fail((e as NodeJS.ErrnoException).code ?? 'EINVAL');
      }
      return { key: '', address, handle: h, path: address.path };
    }
  }
}

export function closeBound(b: BoundSocket): void {
  b.handle.close();
  if (b.path) {
    try { unlinkSync(b.path); } catch { /* already gone */ }
  }
}

export class ListenerSet {
  private readonly bound = new Map<string, BoundSocket>();

  get(key: string): BoundSocket | undefined {
    return this.bound.get(key);
  }

  /**
   * Bind every listener not bound yet. All or nothing: on the first failure
   * the sockets bound by this call are closed again and the error thrown.
   */
  bindAll(listeners: ListenerConfig[]): void {
    const added: BoundSocket[] = [];
    try {
      for (const l of listeners) {
        if (this.bound.has(l.key)) continue;
        const b = bindAddress(l.address, { v6only: l.options.v6only }, l);
        b.key = l.key;
        this.bound.set(l.key, b);
        added.push(b);
      }
    } catch (e) {
      for (const b of added) { this.bound.delete(b.key); closeBound(b); }
      throw e;
    }
  }

  /** Close the sockets whose key is not in `keep`. */
  retain(keep: Set<string>): void {
    for (const [key, b] of this.bound) {
      if (keep.has(key)) continue;
      this.bound.delete(key);
      closeBound(b);
    }
  }

  closeAll(): void {
    this.retain(new Set());
  }
}
