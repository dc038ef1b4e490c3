/**
 * What a worker shares with the others through the master: connection
 * counts per server and backend (leastconn, first, random, fullconn and
 * hash-balance-factor see the whole node, not one worker), and the credits
 * of node-wide server maxconn (backend/queue.ts).
 *
 * Counts (connections, and queue lengths for maxqueue) go out at most every LOAD_SYNC_MS, only those that changed; the
 * master sends each worker the sum of the others' counts. Between two
 * reports a worker sees its own count exactly and the others' as they were
 * up to one interval plus one IPC hop ago.
 */
import type { WorkerMessage } from '../ipc/messages';
import type { ProxyRuntime, ServerRuntime } from './proxy-runtime';
import { applySlotMessage, setLoadSink, type SlotLink } from '../backend/queue';

export const LOAD_SYNC_MS = 20;

export class NodeSync implements SlotLink {
  private dirty: ServerRuntime[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** Backend connection counts last reported, per proxy (-1: never). */
  private readonly sentBeconn: number[];

  constructor(private readonly proxies: ProxyRuntime[], private readonly send: (m: WorkerMessage) => void, workerCount: number) {
    this.sentBeconn = proxies.map(() => -1);
    setLoadSink(srv => this.mark(srv));
    for (const p of proxies) {
      if (!p.cfg.cap.be) continue;
      p.attachSlots(this);
      // Counts are only reported for backends that use them: a server never
      // reported keeps loadDirty set, so acquire/release skip it for nothing.
      if (!needsCounts(p, workerCount)) for (const s of p.servers) s.loadDirty = true;
    }
  }

  close(): void {
    setLoadSink(null);
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
  }

  private mark(srv: ServerRuntime): void {
    this.dirty.push(srv);
    if (this.timer === null) this.timer = setTimeout(flushNT, LOAD_SYNC_MS, this);
  }

  flush(): void {
    this.timer = null;
    const v: number[] = [];
    const seen = new Set<ProxyRuntime>();
    for (const srv of this.dirty) {
      srv.loadDirty = false;
      const be = this.proxies[srv.proxyIndex];
      v.push(srv.proxyIndex, srv.index, srv.cur, srv.slots !== null ? srv.slots.queue.count : 0);
      if (!seen.has(be)) {
        seen.add(be);
        if (be.beconn !== this.sentBeconn[be.index]) { this.sentBeconn[be.index] = be.beconn; v.push(be.index, -1, be.beconn, 0); }
      }
    }
    this.dirty.length = 0;
    if (v.length > 0) this.send({ t: 'load', v });
  }

  /** The other workers' counts. */
  applyLoad(v: number[]): void {
    for (let i = 0; i + 3 < v.length; i += 4) {
      const be = this.proxies[v[i]];
      if (!be) continue;
      if (v[i + 1] < 0) { be.remoteConn = v[i + 2]; continue; }
      const srv = be.servers[v[i + 1]];
      if (srv) { srv.remoteCur = v[i + 2]; srv.remoteQueued = v[i + 3]; }
    }
  }


  applySlot(p: number, s: number, grant: number, cap: number, share = false): void {
    const be = this.proxies[p];
    const srv = be?.servers[s];
    if (!srv) return;
    if (srv.slots === null) {
      // No maxconn here (cannot happen with one config per worker): hand credits back.
      if (grant > 0) this.give(p, s, grant);
      return;
    }
    applySlotMessage(be, srv, grant, cap, share);
  }

  want(p: number, s: number, n: number): void { this.send({ t: 'slot-want', p, s, n }); }
  give(p: number, s: number, n: number): void { this.send({ t: 'slot-give', p, s, n }); }
}

function flushNT(sync: NodeSync): void { sync.flush(); }

/**
 * Whether a backend's counts must travel: the other workers' connection
 * counts matter to leastconn, random and hash-balance-factor, their queue
 * lengths to maxqueue; the master needs the backend's connections for the
 * dynamic limit of servers with minconn (even with one worker).
 */
function needsCounts(p: ProxyRuntime, workerCount: number): boolean {
  let minconn = false, maxqueue = false;
  for (const s of p.servers) {
    if ((s.cfg.minconn ?? 0) > 0 && s.cfg.maxconn > 0) minconn = true;
    if ((s.cfg.maxqueue ?? 0) > 0) maxqueue = true;
  }
  if (minconn) return true;
  if (workerCount <= 1) return false;
  const b = p.cfg.balance;
  return b.algo === 'leastconn' || b.algo === 'random' || b.balanceFactor > 0 || maxqueue;
}
