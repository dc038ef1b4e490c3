/**
 * `balance roundrobin` (HAProxy's src/lb_fwrr.c): each server in turn, in
 * proportion to its weight, interleaved. Earliest deadline first: server i
 * has a turn every 1/weight of virtual time, the pick is the server whose
 * next turn comes first (a binary heap: O(log n) per pick, as fwrr's
 * trees), and the first turns are staggered across the servers so that a
 * light server's turn never lands on a heavy one's: a 5:1:1 set yields
 * a a a b a c a rather than a a a a a b c, never more than 4 a in a row.
 *
 * Weights are read at each pick: a server whose weight changed gets its new
 * period from its next turn on (a weight change takes effect within one
 * turn of that server, without a rebuild); a state change rebuilds the heap
 * (Balancer.update()). A server at its maxconn, or of weight 0, loses its
 * turn, so it gets no burst when it frees up (fwrr takes it out of the tree
 * meanwhile). The server that just failed (`exclude`) keeps its turn for the
 * next stream. The schedule is the worker's own: round-robin needs no
 * agreement between workers, each interleaves its share.
 */
import type { SampleContext } from '../rules/sample';
import { isFull, type LbAlgorithm, type LbServer } from './lb-server';

export class SmoothRoundRobin<S extends LbServer> implements LbAlgorithm<S> {
  private servers: readonly S[] = [];
  /** Next turn (virtual time), period (1 / weight), the weight the period was computed from; by member index. */
  private pass = new Float64Array(0);
  private period = new Float64Array(0);
  private seen = new Float64Array(0);
  /** Member indexes, a min-heap on (pass, index). */
  private heap = new Int32Array(0);
  private size = 0;
  /** Servers passed over during a pick, put back after it. */
  private aside = new Int32Array(0);
  /** Virtual time: the turn last taken. */
  private now = 0;

  rebuild(members: readonly S[]): void {
    const n = members.length;
    this.servers = members;
    this.pass = new Float64Array(n);
    this.period = new Float64Array(n);
    this.seen = new Float64Array(n);
    this.heap = new Int32Array(n);
    this.aside = new Int32Array(n);
    this.now = 0;
    for (let i = 0; i < n; i++) {
      const w = members[i].weight();
      this.seen[i] = w;
      this.period[i] = w > 0 ? 1 / w : 1;
      // Staggered first turns: server i at (i + 1) / (n + 1) of its period.
      this.pass[i] = this.period[i] * (i + 1) / (n + 1);
      this.heap[i] = i;
    }
    this.size = n;
    for (let k = (n >> 1) - 1; k >= 0; k--) this.down(k);
  }

  pick(_ctx: SampleContext | null, exclude: S | null): S | null {
    const servers = this.servers;
    const pass = this.pass, period = this.period, seen = this.seen, heap = this.heap, aside = this.aside;
    let nAside = 0;
    let chosen = -1;
    let top = false;
    while (this.size > 0) {
      const i = heap[0];
      const s = servers[i];
      const w = s.weight();
      if (w > 0 && w !== seen[i]) {
        // New weight: its period from now on (no later than its old turn).
        seen[i] = w;
        period[i] = 1 / w;
        pass[i] = Math.min(pass[i], this.now + period[i]);
        this.down(0);
        continue;
      }
      if (w <= 0 || isFull(s) || s === exclude) {
        aside[nAside++] = this.popTop();
        continue;
      }
      chosen = i;
      top = true;
      break;
    }
    if (chosen < 0 && exclude !== null) {
      // Nothing else can take it: the failed server again (fwrr's srvtoavoid).
      for (let k = 0; k < nAside; k++) {
        const j = aside[k];
        if (servers[j] !== exclude) continue;
        if (exclude.weight() > 0 && !isFull(exclude)) chosen = j;
        break;
      }
    }
    if (chosen >= 0) {
      if (pass[chosen] > this.now) this.now = pass[chosen];
      pass[chosen] += period[chosen];
      if (top) this.down(0);
    }
    for (let k = 0; k < nAside; k++) {
      const j = aside[k];
      // A full or weight-0 server loses this turn; the excluded one keeps it.
      if (j !== chosen && servers[j] !== exclude) pass[j] = Math.max(pass[j], this.now) + period[j];
      this.push(j);
    }
    return chosen < 0 ? null : servers[chosen];
  }

  private before(a: number, b: number): boolean {
    const pa = this.pass[a], pb = this.pass[b];
    return pa < pb || (pa === pb && a < b);
  }

  private down(k: number): void {
    const heap = this.heap, n = this.size;
    const x = heap[k];
    for (;;) {
      let c = 2 * k + 1;
      if (c >= n) break;
      if (c + 1 < n && this.before(heap[c + 1], heap[c])) c++;
      if (!this.before(heap[c], x)) break;
      heap[k] = heap[c];
      k = c;
    }
    heap[k] = x;
  }

  private up(k: number): void {
    const heap = this.heap;
    const x = heap[k];
    while (k > 0) {
      const p = (k - 1) >> 1;
      if (!this.before(x, heap[p])) break;
      heap[k] = heap[p];
      k = p;
    }
    heap[k] = x;
  }

  private popTop(): number {
    const heap = this.heap;
    const top = heap[0];
    heap[0] = heap[--this.size];
    if (this.size > 0) this.down(0);
    return top;
  }

  private push(j: number): void {
    this.heap[this.size] = j;
    this.up(this.size++);
  }
}
