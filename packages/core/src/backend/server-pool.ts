/**
 * Idle server connections of one server in one worker (HAProxy's per-server
 * idle/safe lists, src/server.c + src/backend.c's reuse decision), and the
 * keywords that drive them: `http-reuse` (backend), `pool-max-conn` and
 * `pool-purge-delay` (server, default-server).
 *
 * An idle connection keeps being read: the server may close it at any time
 * (its keep-alive timeout) and must not send anything between two
 * responses, so any read event (data, EOF, error) drops it (HAProxy's
 * idle-conn "xprt" wake-up does the same). That narrows, but cannot close,
 * the race where the server closes a connection just as a request is
 * written to it; http-stream.ts retries idempotent requests once for that.
 *
 * `pool-max-conn` counts this worker's idle connections to the server (HAProxy
 * counts per process across threads; a worker is our thread). Connections
 * owned by a session with `http-reuse never` are private: only that session
 * takes them back, but they are still watched, counted and purged here.
 */
import { registerKeywords, registerLineKeywords, type KeywordContext } from '../registry';
import type { ServerOptions } from '../config/compiled';
import { parseInteger, parseTime } from '../config/args';
import { type RawStream, readResult } from '../engine/raw-handle';

export const REUSE_NEVER = 0;
export const REUSE_SAFE = 1;
export const REUSE_AGGRESSIVE = 2;
export const REUSE_ALWAYS = 3;
const REUSE_NAMES: Record<string, number> = { never: REUSE_NEVER, safe: REUSE_SAFE, aggressive: REUSE_AGGRESSIVE, always: REUSE_ALWAYS };

/** `http-reuse` as written → REUSE_*. */
export function reuseMode(name: string): number {
  return REUSE_NAMES[name] ?? REUSE_SAFE;
}

const kIdle = Symbol('switchyard.pool.idle');

/** One idle connection; a new one each time a connection is parked. */
export class IdleConn {
  /** Still parked (not taken, not closed). */
  inPool = true;
  constructor(
    readonly pool: ServerPool,
    readonly handle: RawStream,
    /** Transactions completed on the connection (aggressive wants ≥ 2). */
    readonly uses: number,
    /** false: private to `owner` (http-reuse never). */
    readonly shared: boolean,
    /** The session that parked it, until another one takes it. */
    public owner: object | null,
    readonly since: number,
  ) {}
}

export class ServerPool {
  /** Most recently parked last: taken first (least likely to be timed out by the server). */
  private readonly idle: IdleConn[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** Connections parked / taken back since start (for tests and stats). */
  parked = 0;
  reused = 0;

  /** maxConn: -1 unlimited, 0 none; purgeDelay: ms, 0 = keep none. */
  constructor(readonly maxConn: number, readonly purgeDelay: number) {}

  get size(): number { return this.idle.length; }

  /**
   * Park `h` after a complete transaction; null when refused (the caller
   * closes it). `reading`: the handle is being read already (it stays so:
   * a readStop/readStart pair costs two epoll_ctl calls). The handle keeps
   * its onread, which must hand what arrives while it is parked to
   * idleRead(): setting a handle's onread is a native call, and a parked
   * connection would pay two of them per transaction.
   */
  put(h: RawStream, uses: number, shared: boolean, owner: object | null, reading: boolean, now: number): IdleConn | null {
    if (this.purgeDelay === 0 || this.maxConn === 0) return null;
    if (this.maxConn > 0 && this.idle.length >= this.maxConn) return null;
    const ic = new IdleConn(this, h, uses, shared, owner, now);
    h[kIdle] = ic;
    if (!reading && h.readStart() !== 0) { h[kIdle] = undefined; return null; }
    this.idle.push(ic);
    this.parked++;
    if (this.timer === null) this.armPurge();
    return ic;
  }

  /** Take back a specific connection (the session's own one, still reading); null when gone. */
  takeEntry(ic: IdleConn): IdleConn | null {
    if (!ic.inPool) return null;
    const idle = this.idle;
    const i = idle.lastIndexOf(ic);
    if (i < 0) return null;
    // Mostly the one parked last (the session's own, a moment ago).
    if (i === idle.length - 1) idle.pop();
    else idle.splice(i, 1);
    return this.detach(ic);
  }

  /** Take the most recent shared connection with at least `minUses` transactions. */
  takeShared(minUses: number): IdleConn | null {
    for (let i = this.idle.length - 1; i >= 0; i--) {
      const ic = this.idle[i];
      if (!ic.shared || ic.uses < minUses) continue;
      this.idle.splice(i, 1);
      return this.detach(ic);
    }
    return null;
  }

  /** Close a parked connection (a private one whose session ended, or a dead one). */
  drop(ic: IdleConn): void {
    if (!ic.inPool) return;
    const i = this.idle.lastIndexOf(ic);
    if (i >= 0) this.idle.splice(i, 1);
    ic.inPool = false;
    ic.owner = null;
    closeIdle(ic.handle);
  }

  /** Close every idle connection (stop, server down). */
  closeAll(): void {
    for (const ic of this.idle.splice(0)) { ic.inPool = false; ic.owner = null; closeIdle(ic.handle); }
    if (this.timer !== null) { clearTimeout(this.timer); this.timer = null; }
  }

  /** The handle is handed over still reading, its onread unchanged: the taker owns its reads at once. */
  private detach(ic: IdleConn): IdleConn {
    ic.inPool = false;
    ic.owner = null;
    ic.handle[kIdle] = undefined;
    this.reused++;
    return ic;
  }

  private armPurge(): void {
    this.timer = setTimeout(onPurge, this.purgeDelay, this);
    // Idle connections never keep a stopping worker alive.
    this.timer.unref();
  }

  /**
   * Close connections idle for pool-purge-delay or more. HAProxy closes half
   * of the idle connections each interval; closing the expired ones gives the
   * same bound (nothing idles much past twice the delay) and never closes a
   * connection parked a moment ago.
   */
  purge(): void {
    this.timer = null;
    const limit = Date.now() - this.purgeDelay;
    let w = 0;
    for (let r = 0; r < this.idle.length; r++) {
      const ic = this.idle[r];
      if (ic.since <= limit) { ic.inPool = false; ic.owner = null; closeIdle(ic.handle); } else this.idle[w++] = ic;
    }
    this.idle.length = w;
    if (w > 0) this.armPurge();
  }

  /** The server closed (or wrote to) an idle connection. */
  lost(ic: IdleConn): void {
    this.drop(ic);
  }
}

function closeIdle(h: RawStream): void {
  h[kIdle] = undefined;
  h.onread = ignoreRead;
  h.close();
}

function ignoreRead(): void { /* closing */ }

/**
 * A read on a parked connection (from its onread, see put()): any read event
 * ends it, EOF, an error, or bytes nobody asked for.
 */
export function idleRead(h: RawStream): void {
  const ic = h[kIdle] as IdleConn | undefined;
  if (ic === undefined || readResult() === 0) return;
  ic.pool.lost(ic);
}

function onPurge(pool: ServerPool): void { pool.purge(); }

/* ---------------- keywords ---------------- */

registerLineKeywords<ServerOptions>('server', [
  {
    name: 'pool-max-conn', args: 1, defaultServer: true,
    usage: 'pool-max-conn <max>  idle connections kept to the server per worker (-1 = unlimited, 0 = none)',
    parse(o, [v]) {
      const n = parseInteger(v, 'pool-max-conn', -1, 0x7fffffff);
      if (!n.ok) return n.error;
      o.poolMaxConn = n.value;
    },
  },
  {
    name: 'pool-purge-delay', args: 1, defaultServer: true,
    usage: 'pool-purge-delay <time>  idle server connections are closed after this (default 5s, 0 = keep none)',
    parse(o, [v]) {
      const t = parseTime(v);
      if (!t.ok) return t.error;
      o.poolPurgeDelay = t.value;
    },
  },
]);

registerKeywords([
  {
    name: 'http-reuse',
    sections: ['defaults', 'backend', 'listen'],
    usage: 'http-reuse { never | safe | aggressive | always }  how idle server connections are shared between requests',
    parse(ctx: KeywordContext) {
      const usage = 'http-reuse { never | safe | aggressive | always }';
      if (ctx.args.length !== 1) return ctx.error(`expects exactly one argument; usage: ${usage}`);
      const m = ctx.args[0];
      if (!(m in REUSE_NAMES)) return ctx.error(`unknown mode '${m}'; usage: ${usage}`);
      ctx.proxy!.options.httpReuse = m as 'never' | 'safe' | 'aggressive' | 'always';
    },
  },
]);
