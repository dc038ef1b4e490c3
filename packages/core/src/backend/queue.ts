/**
 * Server queues and the node-wide `maxconn` of a server (HAProxy's
 * src/queue.c, with the node's workers standing in for its threads).
 *
 * A server's maxconn is a limit for the whole node, not per worker. The
 * master holds it as credits (packages/master/src/slot-arbiter.ts): each
 * worker holds some, starts a stream on the server only with a free credit,
 * and keeps credits it does not use until the master asks for them back
 * (a `cap` on what it keeps) because another worker is waiting. So the common case needs no IPC
 * at all, and the limit is never exceeded: a credit is in one place at a time.
 *
 * A stream that finds no free credit waits in this worker's queue of the
 * server (or of the backend, when the balancer found every server full),
 * first in first out, for at most `timeout queue`; the worker asks the master
 * for one more credit per waiter. A credit coming free (a stream ends, the
 * master grants one) goes to the oldest waiter of the server's queue or of
 * its backend's queue, unless the master asked for it back.
 */
import type { ServerRuntime, ProxyRuntime } from '../engine/proxy-runtime';

export interface QueueWaiter {
  /** When it was queued (ms), for Tw and to serve the older of two queues first. */
  queuedAt: number;
  /** The queue it waits in (null once dequeued or gone). */
  waitQueue: WaitQueue | null;
  /** The server whose credit was asked of the master for this waiter. */
  askedOf: ServerRuntime | null;
  /** The server's credit is this waiter's now: it must assign() the server at once. */
  dequeued(srv: ServerRuntime): void;
  /**
   * The server it waits for went down (HAProxy's pendconn_redistribute):
   * leave that queue and be balanced again, unless force-persist holds it.
   */
  requeue(): void;
}

/** Set by the engine (engine/node-sync.ts): servers whose counts changed since the last report. */
let loadSink: ((srv: ServerRuntime) => void) | null = null;
export function setLoadSink(fn: ((srv: ServerRuntime) => void) | null): void { loadSink = fn; }

/** A server's connection count or queue length changed: report it (the caller checks srv.loadDirty). */
export function markLoad(srv: ServerRuntime): void {
  if (loadSink === null) return;
  srv.loadDirty = true;
  loadSink(srv);
}

/** A FIFO whose waiters may leave from anywhere (left entries are skipped when reached). */
export class WaitQueue {
  private items: QueueWaiter[] = [];
  private head = 0;
  /** Waiters still queued. */
  count = 0;

  push(w: QueueWaiter): void {
    w.waitQueue = this;
    this.items.push(w);
    this.count++;
  }

  /** The oldest waiter still queued, without removing it. */
  peek(): QueueWaiter | null {
    const items = this.items;
    while (this.head < items.length && items[this.head].waitQueue !== this) this.head++;
    if (this.head === items.length) {
      if (this.head > 0) { items.length = 0; this.head = 0; }
      return null;
    }
    return items[this.head];
  }

  shift(): QueueWaiter | null {
    const w = this.peek();
    if (w === null) return null;
    this.items[this.head++] = undefined as unknown as QueueWaiter;
    if (this.head > 1024 && this.head * 2 > this.items.length) { this.items = this.items.slice(this.head); this.head = 0; }
    w.waitQueue = null;
    this.count--;
    return w;
  }

  /** The waiters still queued, oldest first (a copy: they may leave while it is walked). */
  waiters(): QueueWaiter[] {
    const out: QueueWaiter[] = [];
    for (let i = this.head; i < this.items.length; i++) {
      const w = this.items[i];
      if (w !== undefined && w.waitQueue === this) out.push(w);
    }
    return out;
  }

  /** A waiter leaves (timeout, client gone). */
  remove(w: QueueWaiter): void {
    if (w.waitQueue !== this) return;
    w.waitQueue = null;
    this.count--;
  }
}

/** What goes to the master (set by the engine; null: a lone engine in a test, no master). */
export interface SlotLink {
  /** One more credit of server s of proxy p is wanted (n = 1), or one less (n = -1: a waiter left). */
  want(p: number, s: number, n: number): void;
  /** n credits go back to the master. */
  give(p: number, s: number, n: number): void;
}

/** This worker's side of a server's node-wide maxconn (null on ServerRuntime when it has none). */
export class SlotState {
  /** Credits held by this worker (in use: srv.cur). */
  held = 0;
  /** Credits asked for and not yet granted. */
  asked = 0;
  /** Waiters (in this server's or its backend's queue) that asked for this server's credit. */
  waiting = 0;
  /** The most credits the master lets this worker keep now (-1: no cap). */
  cap = -1;
  readonly queue = new WaitQueue();
  constructor(readonly p: number, readonly s: number, private readonly link: SlotLink | null) {}

  /** Credits that can start a stream now. */
  free(cur: number): number {
    return (this.cap < 0 ? this.held : Math.min(this.held, this.cap)) - cur;
  }

  /**
   * As many credits asked of the master as there are waiters for them.
   * `asked` is wants sent minus grants received, and may go below zero when
   * a grant crossed a withdrawn request: the master keeps the same count
   * (slot-arbiter.ts), so the two never drift apart.
   */
  reconcile(): void {
    const d = this.waiting - this.asked;
    if (d === 0) return;
    this.asked += d;
    this.link?.want(this.p, this.s, d);
  }

  give(n: number): void {
    if (n <= 0) return;
    this.held -= n;
    this.link?.give(this.p, this.s, n);
  }
}

/**
 * May `srv` take a new stream now without queueing? No one is waiting for it
 * in this worker and a credit is free (servers without maxconn always can).
 */
export function serverHasRoom(srv: ServerRuntime): boolean {
  const sl = srv.slots;
  return sl === null || (sl.queue.count === 0 && sl.free(srv.cur) > 0);
}

/** The node's queue for `srv` is at its maxqueue (this worker's waiters plus the others' as last reported). */
export function queueFull(srv: ServerRuntime): boolean {
  const mq = srv.cfg.maxqueue ?? 0;
  return mq > 0 && srv.slots !== null && srv.slots.queue.count + srv.remoteQueued >= mq;
}

export const SLOT_TAKEN = 0;
export const SLOT_QUEUED = 1;
export const SLOT_QUEUE_FULL = 2;

/**
 * The slot decision of the TCP and HTTP streams (HAProxy's
 * assign_server_and_queue): SLOT_TAKEN when `srv` has room (the caller
 * assigns it now); SLOT_QUEUE_FULL when the request must wait for `srv`
 * itself and its queue is at maxqueue; else the waiter is queued (the
 * backend's queue with `anyServer`) and SLOT_QUEUED comes back.
 */
export function takeOrQueue(be: ProxyRuntime, srv: ServerRuntime, w: QueueWaiter & QueuePlace, anyServer: boolean): number {
  if (serverHasRoom(srv)) return SLOT_TAKEN;
  if (!anyServer && queueFull(srv)) return SLOT_QUEUE_FULL;
  enqueue(be, srv, w, anyServer, Date.now(), w);
  return SLOT_QUEUED;
}

/** Queue positions at the time a waiter was queued (logged as srv_queue/backend_queue). */
export interface QueuePlace {
  srvQueue: number;
  backendQueue: number;
}

/**
 * Queue `w` for `srv` (server queue: the request must go to that server) or,
 * with `anyServer`, in the backend's queue (the balancer found every server
 * full; the first credit of any of them will do). `srv` is then the server
 * the balancer would have picked: the worker asks the master for its credit.
 */
export function enqueue(be: ProxyRuntime, srv: ServerRuntime, w: QueueWaiter, anyServer: boolean, now: number, place: QueuePlace): void {
  const sl = srv.slots!;
  w.queuedAt = now;
  place.srvQueue = sl.queue.count;
  place.backendQueue = be.queue.count;
  if (anyServer) be.queue.push(w); else sl.queue.push(w);
  be.queuedTotal++;
  w.askedOf = srv;
  sl.waiting++;
  sl.reconcile();
  countQueue(be, srv, anyServer);
  if (!anyServer && !srv.loadDirty) markLoad(srv);
}

/** qcur/qmax of the backend (its own queue) and of the server (its queue), as HAProxy shows them. */
function countQueue(be: ProxyRuntime, srv: ServerRuntime, anyServer: boolean): void {
  const c = be.be;
  if (c !== null) { c.qcur = be.queue.count; if (c.qcur > c.qmax) c.qmax = c.qcur; }
  if (!anyServer) {
    const sc = srv.counters;
    sc.qcur = srv.slots!.queue.count;
    if (sc.qcur > sc.qmax) sc.qmax = sc.qcur;
  }
}

/** `w` leaves the queue without a credit (timeout, client gone). */
export function leaveQueue(be: ProxyRuntime, w: QueueWaiter): void {
  const q = w.waitQueue;
  if (q === null) return;
  q.remove(w);
  be.queuedTotal--;
  const srv = w.askedOf;
  unwait(w);
  if (be.be !== null) be.be.qcur = be.queue.count;
  if (srv !== null && q === srv.slots!.queue) {
    srv.counters.qcur = q.count;
    if (!srv.loadDirty) markLoad(srv);
  }
}

function unwait(w: QueueWaiter): void {
  const a = w.askedOf;
  if (a === null) return;
  w.askedOf = null;
  const sl = a.slots!;
  sl.waiting--;
  sl.reconcile();
}

/**
 * A credit of `srv` may be free (a stream released it, the master granted
 * one, a waiter left): give it back when above the cap, else to the oldest waiter of
 * the server's or the backend's queue.
 */
export function creditFreed(be: ProxyRuntime, srv: ServerRuntime): void {
  const sl = srv.slots;
  if (sl === null) return;
  // Idle credits above the cap go back first.
  const idle = sl.held - srv.cur;
  if (sl.cap >= 0 && sl.held > sl.cap && idle > 0) sl.give(Math.min(sl.held - sl.cap, idle));
  while (sl.free(srv.cur) > 0) {
    const a = sl.queue.peek(), b = be.queue.peek();
    let w: QueueWaiter | null;
    if (a === null) w = b === null ? null : be.queue.shift();
    else if (b === null || a.queuedAt <= b.queuedAt) w = sl.queue.shift();
    else w = be.queue.shift();
    if (w === null) break;
    be.queuedTotal--;
    unwait(w);
    if (be.be !== null) be.be.qcur = be.queue.count;
    srv.counters.qcur = sl.queue.count;
    w.dequeued(srv);
    if (!srv.loadDirty) markLoad(srv);
  }
}

/** The master granted credits and/or changed the cap. */
export function applySlotMessage(be: ProxyRuntime, srv: ServerRuntime, grant: number, cap: number, share = false): void {
  const sl = srv.slots;
  if (sl === null) return;
  if (grant > 0) {
    sl.held += grant;
    if (!share) sl.asked -= grant;
  }
  sl.cap = cap;
  creditFreed(be, srv);
}
