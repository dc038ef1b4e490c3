/**
 * The server map (HAProxy's src/lb_map.c): a table with one slot per unit
 * of weight, filled in a smooth order. It serves `balance static-rr` (a
 * walk over the table) and `hash-type map-based` (slot = hash % total
 * weight).
 *
 * The table is HAProxy's recalc_server_map() exactly: weights are divided
 * by the greatest common divisor of the configured weights (init_server_map),
 * and the fill order gives declaration order the priority among equals, so a
 * key hashes to the same server as it would in HAProxy 2.6 with the same
 * servers and weights. That fill is O(total weight × servers); above
 * EXACT_FILL_LIMIT steps (huge farms with big weights) the slots are placed
 * by earliest deadline instead (O(total log total)), equally smooth but no
 * longer HAProxy's order.
 *
 * The table only depends on the servers' weights and states, so every
 * worker builds the same one: a key maps to the same server whichever
 * worker serves it. Weights are read when the table is rebuilt (server
 * state or weight change), as HAProxy's static algorithms ignore weight
 * changes of a running server otherwise.
 */
import type { SampleContext } from '../rules/sample';
import { isFull, type LbAlgorithm, type LbServer } from './lb-server';

/** recalc_server_map()'s cost limit (inner steps) before the deadline fill. */
const EXACT_FILL_LIMIT = 1 << 22;

export class ServerMap<S extends LbServer> {
  private map: S[] = [];
  /** Total effective weight: the table's length. */
  tot = 0;
  /** static-rr's position; this worker's own. */
  private rrIdx = 0;
  /** init_server_map(): the GCD of the configured weights (lbprm.wmult). */
  private readonly wmult: number;

  constructor(servers: readonly LbServer[]) {
    let g = 0;
    for (const s of servers) if (s.cfg.weight > 0) g = g === 0 ? s.cfg.weight : gcd(g, s.cfg.weight);
    this.wmult = g || 1;
  }

  rebuild(members: readonly S[]): void {
    const n = members.length;
    const ew = new Float64Array(n);
    let tot = 0;
    for (let i = 0; i < n; i++) {
      // (uweight * wdiv + wmult - 1) / wmult, wdiv = 1
      ew[i] = Math.ceil(members[i].weight() / this.wmult);
      tot += ew[i];
    }
    this.tot = tot;
    this.rrIdx = 0;
    const map = new Array<S>(tot);
    if (tot * n <= EXACT_FILL_LIMIT) fillExact(members, ew, tot, map);
    else fillByDeadline(members, ew, tot, map);
    this.map = map;
  }

  /** map_get_server_hash(): the slot of the hash in hash[0] (unboxed in a typed array: backend/hash.ts says why). */
  byHash(hash: Uint32Array): S | null {
    return this.tot === 0 ? null : this.map[hash[0] % this.tot];
  }

  /**
   * map_get_server_rr(): the next slot whose server has room, not
   * `exclude` unless nothing else has room.
   */
  nextRR(exclude: S | null): S | null {
    const tot = this.tot;
    if (tot === 0) return null;
    const map = this.map;
    if (this.rrIdx >= tot) this.rrIdx = 0;
    const start = this.rrIdx;
    let idx = start;
    let avoided: S | null = null;
    let avoidedIdx = 0;
    do {
      const s = map[idx++];
      if (!isFull(s)) {
        avoided = s;
        avoidedIdx = idx;
        if (s !== exclude) { this.rrIdx = idx; return s; }
      }
      if (idx === tot) idx = 0;
    } while (idx !== start);
    if (avoided !== null) this.rrIdx = avoidedIdx;
    return avoided;
  }
}

/** recalc_server_map(): slot by slot, the server whose accumulated score is highest, the first declared among equals. */
function fillExact<S>(members: readonly S[], ew: Float64Array, tot: number, map: S[]): void {
  const n = members.length;
  const score = new Float64Array(n);
  for (let o = 0; o < tot; o++) {
    let best = -1, max = 0;
    for (let i = 0; i < n; i++) {
      // HAProxy's divide-overflow guard: a total of 1 is the first server.
      if (tot === 1) { best = i; break; }
      const x = (score[i] += ew[i]) + tot;
      // (wscore + tot) / tot in integers, 0 to 3; x > 0.
      const v = x < tot ? 0 : x < 2 * tot ? 1 : Math.trunc(x / tot);
      if (best < 0 || v > max) { max = v; best = i; }
    }
    map[o] = members[best];
    score[best] -= tot;
  }
}

/** Server i's k-th slot is due at (k + ½) / weight; slots in due order, declaration order among equals. */
function fillByDeadline<S>(members: readonly S[], ew: Float64Array, tot: number, map: S[]): void {
  const due = new Float64Array(tot);
  const owner = new Int32Array(tot);
  let p = 0;
  for (let i = 0; i < members.length; i++) {
    for (let k = 0; k < ew[i]; k++) { due[p] = (k + 0.5) / ew[i]; owner[p] = i; p++; }
  }
  const order = Array.from({ length: tot }, (_, j) => j);
  order.sort((a, b) => due[a] - due[b] || owner[a] - owner[b]);
  for (let o = 0; o < tot; o++) map[o] = members[owner[order[o]]];
}

function gcd(a: number, b: number): number {
  while (b) { const t = a % b; a = b; b = t; }
  return a;
}

/** `balance static-rr`: a walk over the server map. */
export class StaticRoundRobin<S extends LbServer> implements LbAlgorithm<S> {
  private readonly map: ServerMap<S>;

  constructor(servers: readonly S[]) {
    this.map = new ServerMap<S>(servers);
  }

  rebuild(members: readonly S[]): void {
    this.map.rebuild(members);
  }

  pick(_ctx: SampleContext | null, exclude: S | null): S | null {
    return this.map.nextRR(exclude);
  }
}
