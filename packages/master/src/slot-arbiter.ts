/**
 * The master's side of node-wide server limits and connection counts, for
 * one generation of workers (a reload starts a new one, as HAProxy's new
 * process starts with its own counts).
 *
 * maxconn credits (core backend/queue.ts explains the worker side): the
 * master holds a server's limit as credits, gives each worker an even share
 * at start, and keeps the rest in a pool. A worker that queues asks for more
 * (`slot-want`); the master grants from the pool in order of asking, and when
 * the pool is empty, asks holders to give credits back as they come free
 * (a `cap` on what it keeps): nothing for a worker that is not waiting
 * itself, an even split among the waiting workers for the others. A credit is
 * always in exactly one place (the pool, or one worker), so the server never
 * gets more than its limit from the node.
 *
 * The limit of a server with `minconn`/`fullconn` or in `slowstart` moves
 * with the backend's node-wide connection count and the warm-up
 * (dynamicMaxconn); the pool grows or shrinks (below zero: caps take it back) with it.
 *
 * Connection counts: each worker reports the counts that changed; each gets
 * back, for those, the sum of the other workers' counts.
 */
import type { CompiledConfig, ProxyConfig } from '@switchyard/core/config/compiled';
import type { MasterMessage } from '@switchyard/core/ipc/messages';
import { SRV_ST_STARTING, type ServerStateTable } from '@switchyard/core/proxy/server-state';
import { dynamicMaxconn } from '@switchyard/core/backend/queue-keywords';
import { shareOf } from '@switchyard/core/engine/proxy-runtime';

export interface ArbiterWorker {
  index: number;
  send(m: MasterMessage): void;
}

interface Wait { w: ArbiterWorker; n: number }

interface ServerSlots {
  p: number;
  s: number;
  maxconn: number;
  minconn: number;
  slowstart: number;
  /** The limit now (dynamicMaxconn). */
  limit: number;
  /** Credits with no worker (negative: owed after the limit shrank). */
  pool: number;
  held: Map<ArbiterWorker, number>;
  /** Requests withdrawn after their grant was sent: the worker's next requests are already granted. */
  debt: Map<ArbiterWorker, number>;
  /** The cap last sent to each worker (-1: none). */
  cap: Map<ArbiterWorker, number>;
  waits: Wait[];
}

const WARMUP_TICK_MS = 100;
const ZERO: readonly [number, number] = [0, 0];

export class SlotArbiter {
  private readonly servers = new Map<number, ServerSlots>();
  private readonly workers: ArbiterWorker[] = [];
  /** Per worker: [connections, queued] per key (proxy << 16 | server + 1; server -1 = the backend). */
  private readonly counts = new Map<ArbiterWorker, Map<number, [number, number]>>();
  private readonly totals = new Map<number, [number, number]>();
  /** Node-wide fullconn per proxy (configured or HAProxy's default). */
  private readonly fullconn: number[];
  private warmTimer: NodeJS.Timeout | null = null;

  constructor(private readonly cfg: CompiledConfig, private readonly states: () => ServerStateTable) {
    this.fullconn = cfg.proxies.map(p => effectiveFullconn(cfg, p));
    cfg.proxies.forEach((px, p) => {
      if (!px.cap.be) return;
      px.servers.forEach((sv, s) => {
        if (sv.maxconn <= 0) return;
        const sl: ServerSlots = {
          p, s, maxconn: sv.maxconn, minconn: sv.minconn ?? 0, slowstart: sv.slowstart ?? 0,
          limit: 0, pool: 0, held: new Map(), debt: new Map(), cap: new Map(), waits: [],
        };
        sl.limit = this.limitOf(sl);
        sl.pool = sl.limit;
        this.servers.set(key(p, s), sl);
      });
    });
  }

  /** A worker of this generation started: its share of every limit. */
  add(w: ArbiterWorker): void {
    this.workers.push(w);
    this.counts.set(w, new Map());
    const n = this.cfg.global.nbthread;
    for (const sl of this.servers.values()) {
      const g = Math.min(Math.max(0, sl.pool), shareOf(sl.limit, w.index, n));
      sl.held.set(w, g);
      sl.cap.set(w, -1);
      sl.pool -= g;
      if (g > 0) w.send({ t: 'slot', p: sl.p, s: sl.s, grant: g, cap: -1, share: true });
    }
  }

  /** A worker exited: its credits are free again, its counts gone. */
  remove(w: ArbiterWorker): void {
    const i = this.workers.indexOf(w);
    if (i < 0) return;
    this.workers.splice(i, 1);
    for (const sl of this.servers.values()) {
      sl.pool += sl.held.get(w) ?? 0;
      sl.held.delete(w);
      sl.cap.delete(w);
      sl.debt.delete(w);
      sl.waits = sl.waits.filter(x => x.w !== w);
      this.rebalance(sl);
    }
    const mine = this.counts.get(w);
    this.counts.delete(w);
    if (mine) {
      const v: number[] = [];
      for (const [k, n] of mine) {
        if (n[0] === 0 && n[1] === 0) continue;
        const t = this.totals.get(k)!;
        t[0] -= n[0]; t[1] -= n[1];
        v.push(k);
      }
      this.broadcastCounts(null, v);
    }
  }

  want(w: ArbiterWorker, p: number, s: number, n: number): void {
    const sl = this.servers.get(key(p, s));
    if (!sl || !sl.held.has(w)) return;
    if (n > 0) {
      const debt = sl.debt.get(w) ?? 0;
      const k = Math.min(debt, n);
      if (k > 0) { sl.debt.set(w, debt - k); n -= k; }
      if (n === 0) return;
      const last = sl.waits[sl.waits.length - 1];
      if (last && last.w === w) last.n += n; else sl.waits.push({ w, n });
    } else {
      // Waiters left: withdraw the latest requests of that worker; those
      // already granted (the grant is on its way) become debt.
      let left = -n;
      for (let i = sl.waits.length - 1; i >= 0 && left > 0; i--) {
        const x = sl.waits[i];
        if (x.w !== w) continue;
        const d = Math.min(x.n, left);
        x.n -= d; left -= d;
        if (x.n === 0) sl.waits.splice(i, 1);
      }
      if (left > 0) sl.debt.set(w, (sl.debt.get(w) ?? 0) + left);
    }
    this.rebalance(sl);
  }

  give(w: ArbiterWorker, p: number, s: number, n: number): void {
    const sl = this.servers.get(key(p, s));
    if (!sl || !sl.held.has(w) || n <= 0) return;
    const h = sl.held.get(w)!;
    const back = Math.min(n, h);
    sl.held.set(w, h - back);
    sl.pool += back;
    this.rebalance(sl);
  }

  /** A worker's changed counts: [proxy, server or -1, connections, queued]... */
  load(w: ArbiterWorker, v: number[]): void {
    const mine = this.counts.get(w);
    if (!mine) return;
    const changed: number[] = [];
    let backends: Set<number> | null = null;
    for (let i = 0; i + 3 < v.length; i += 4) {
      const k = key(v[i], v[i + 1]);
      let m = mine.get(k);
      if (m === undefined) mine.set(k, m = [0, 0]);
      const d0 = v[i + 2] - m[0], d1 = v[i + 3] - m[1];
      if (d0 === 0 && d1 === 0) continue;
      m[0] = v[i + 2]; m[1] = v[i + 3];
      let t = this.totals.get(k);
      if (t === undefined) this.totals.set(k, t = [0, 0]);
      t[0] += d0; t[1] += d1;
      changed.push(k);
      if (v[i + 1] < 0 && d0 !== 0) (backends ??= new Set()).add(v[i]);
    }
    this.broadcastCounts(w, changed);
    if (backends) for (const sl of this.servers.values()) if (backends.has(sl.p) && sl.minconn > 0) this.relimit(sl);
  }

  /** A server's state changed: slowstart may begin or end. */
  stateChanged(p: number, s: number): void {
    const sl = this.servers.get(key(p, s));
    if (sl) this.relimit(sl);
  }

  /** Credits each worker holds and the pool, for tests and `show servers conn`-like views. */
  view(p: number, s: number): { limit: number; pool: number; held: number[]; waiting: number } | null {
    const sl = this.servers.get(key(p, s));
    if (!sl) return null;
    return { limit: sl.limit, pool: sl.pool, held: this.workers.map(w => sl.held.get(w) ?? 0), waiting: sl.waits.reduce((a, x) => a + x.n, 0) };
  }

  close(): void {
    if (this.warmTimer) { clearInterval(this.warmTimer); this.warmTimer = null; }
  }

  private broadcastCounts(from: ArbiterWorker | null, keys: number[]): void {
    if (keys.length === 0) return;
    for (const w of this.workers) {
      if (w === from) continue;
      const mine = this.counts.get(w)!;
      const v: number[] = [];
      for (const k of keys) {
        const t = this.totals.get(k) ?? ZERO, m = mine.get(k) ?? ZERO;
        v.push(k >> 16, (k & 0xffff) - 1, t[0] - m[0], t[1] - m[1]);
      }
      w.send({ t: 'load', v });
    }
  }

  private limitOf(sl: ServerSlots): number {
    const st = this.states()[sl.p]?.[sl.s];
    let warm = 1;
    if (st && st.op === SRV_ST_STARTING && sl.slowstart > 0) {
      const el = Date.now() - st.lastChange;
      if (el >= 0 && el < sl.slowstart) {
        warm = el / sl.slowstart;
        this.armWarmTimer();
      }
    }
    const beconn = (this.totals.get(key(sl.p, -1)) ?? ZERO)[0];
    return dynamicMaxconn(sl.maxconn, sl.minconn, this.fullconn[sl.p], beconn, warm);
  }

  private armWarmTimer(): void {
    if (this.warmTimer) return;
    this.warmTimer = setInterval(() => {
      let warming = false;
      for (const sl of this.servers.values()) {
        if (sl.slowstart <= 0) continue;
        this.relimit(sl);
        const st = this.states()[sl.p]?.[sl.s];
        if (st && st.op === SRV_ST_STARTING && Date.now() - st.lastChange < sl.slowstart) warming = true;
      }
      if (!warming && this.warmTimer) { clearInterval(this.warmTimer); this.warmTimer = null; }
    }, WARMUP_TICK_MS);
    this.warmTimer.unref();
  }

  private relimit(sl: ServerSlots): void {
    const next = this.limitOf(sl);
    if (next === sl.limit) return;
    sl.pool += next - sl.limit;
    sl.limit = next;
    this.rebalance(sl);
  }

  /**
   * Grant from the pool in order of asking, first to the waiting workers
   * below an even split of the limit, then to any; cap what each worker may
   * keep: nothing when it is not waiting, the even split (rounded up) when it
   * is and another waiting worker is below it. A cap is absolute (not a
   * count of credits owed), so it stays right whatever gives are in flight.
   */
  private rebalance(sl: ServerSlots): void {
    const grants = new Map<ArbiterWorker, number>();
    const waiting = new Set<ArbiterWorker>();
    for (const x of sl.waits) waiting.add(x.w);
    // At least one each: with more waiting workers than credits, they take turns.
    const floorShare = waiting.size > 0 ? Math.max(1, Math.floor(sl.limit / waiting.size)) : 0;
    const ceilShare = waiting.size > 0 ? Math.max(1, Math.ceil(sl.limit / waiting.size)) : 0;
    for (let pass = 0; pass < 2 && sl.pool > 0 && sl.waits.length > 0; pass++) {
      for (let i = 0; i < sl.waits.length && sl.pool > 0;) {
        const x = sl.waits[i];
        const h = sl.held.get(x.w) ?? 0;
        if (pass === 0 && h >= floorShare) { i++; continue; }
        const g = Math.min(x.n, sl.pool, pass === 0 ? floorShare - h : Infinity);
        x.n -= g;
        sl.pool -= g;
        sl.held.set(x.w, h + g);
        grants.set(x.w, (grants.get(x.w) ?? 0) + g);
        if (x.n === 0) sl.waits.splice(i, 1); else i++;
      }
    }
    // Caps: how many credits each worker may keep (-1: no cap).
    const cap = new Map<ArbiterWorker, number>();
    for (const w of this.workers) cap.set(w, -1);
    if (sl.waits.length > 0) {
      const still = new Set<ArbiterWorker>();
      for (const x of sl.waits) still.add(x.w);
      const starved = [...still].some(w => (sl.held.get(w) ?? 0) < floorShare);
      for (const w of this.workers) {
        if (!still.has(w)) cap.set(w, 0);
        else if (starved) cap.set(w, ceilShare);
      }
    }
    if (sl.pool < 0) {
      // The limit shrank: the largest holders keep less.
      let need = -sl.pool;
      const keep = (w: ArbiterWorker): number => { const c = cap.get(w)!, h = sl.held.get(w) ?? 0; return c < 0 ? h : Math.min(h, c); };
      for (const w of this.workers) need -= (sl.held.get(w) ?? 0) - keep(w);
      const order = [...this.workers].sort((x, y) => keep(y) - keep(x));
      for (const w of order) {
        if (need <= 0) break;
        const k = keep(w);
        const d = Math.min(k, need);
        cap.set(w, k - d);
        need -= d;
      }
    }
    for (const w of this.workers) {
      const g = grants.get(w) ?? 0;
      const c = cap.get(w)!;
      if (g === 0 && c === (sl.cap.get(w) ?? -1)) continue;
      sl.cap.set(w, c);
      w.send({ t: 'slot', p: sl.p, s: sl.s, grant: g, cap: c });
    }
  }
}

function key(p: number, s: number): number {
  return (p << 16) | (s + 1);
}

/**
 * `fullconn`, or HAProxy's default: 10% of the sum of the maxconn of the
 * frontends that can use the backend (default_backend, use_backend with a
 * static name; its own frontend for a listen), at least 1.
 */
export function effectiveFullconn(cfg: CompiledConfig, be: ProxyConfig): number {
  if (be.fullconn > 0) return be.fullconn;
  let sum = 0;
  for (const fe of cfg.proxies) {
    if (!fe.cap.fe) continue;
    const uses = fe === be || fe.defaultBackend === be.name || fe.useBackends.some(u => u.backend === be.name);
    if (uses) sum += fe.maxconn || cfg.global.maxconn;
  }
  return Math.max(1, Math.floor(sum / 10));
}
