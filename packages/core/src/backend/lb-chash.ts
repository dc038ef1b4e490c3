/**
 * Consistent hashing (HAProxy's src/lb_chash.c): `hash-type consistent` and
 * `balance random`.
 *
 * Each server owns weight × 16 (BE_WEIGHT_SCALE) points on a 32-bit ring,
 * at full_hash(id × 4096 + j) as in chash_init_server_tree(): the points
 * depend only on the server's id and weight, so every worker builds the
 * same ring, a ring rebuilt after a change differs only by the points of
 * the server that changed, and a key maps to the server HAProxy 2.6 would
 * pick given the same ids and weights. A key goes to the server of the
 * nearest point (the previous one on a tie, as chash_get_server_hash()); when
 * one of N servers leaves, only its keys (about 1/N) move, and they come
 * back when it returns.
 *
 * The ring is two sorted typed arrays (point keys, owner index) searched by
 * bisection; a rebuild sorts them with a two-pass radix sort, stable so that
 * equal keys keep HAProxy's insertion order. pick() allocates nothing.
 *
 * `hash-balance-factor` (bounded loads, chash_server_is_eligible()): a
 * server whose load is above factor% of its weight's share of the node's
 * connections is passed over for the next point's server.
 */
import { randomBytes } from 'node:crypto';
import type { SampleContext } from '../rules/sample';
import { fullHash } from './hash';
import { isFull, type LbAlgorithm, type LbServer } from './lb-server';

/** BE_WEIGHT_SCALE. */
const WEIGHT_SCALE = 16;
/** SRV_EWGHT_RANGE: SRV_UWGHT_RANGE (256) × BE_WEIGHT_SCALE. */
const EWGHT_RANGE = 4096;

export class ConsistentRing<S extends LbServer> {
  private servers: readonly S[] = [];
  /** Point keys, ascending, and the member index owning each. */
  private keys = new Uint32Array(0);
  private owners = new Int32Array(0);
  /** Effective weight (points) and cumulative weight of each member, in declaration order (recount_servers()). */
  private ew = new Float64Array(0);
  private cum = new Float64Array(0);
  private totWeight = 0;
  /** Round-robin position on the ring (fallback when a hash key is absent); this worker's own. */
  private last = -1;

  /** `factor`: hash-balance-factor in percent, 0 = off. */
  constructor(private readonly factor: number) {}

  get size(): number {
    return this.servers.length;
  }

  rebuild(members: readonly S[]): void {
    const n = members.length;
    const ew = new Float64Array(n);
    const cum = new Float64Array(n);
    let tot = 0;
    for (let i = 0; i < n; i++) {
      // uweight × BE_WEIGHT_SCALE; a fractional (slowstart) weight keeps at least one point.
      ew[i] = Math.max(1, Math.ceil(members[i].weight() * WEIGHT_SCALE));
      cum[i] = tot;
      tot += ew[i];
    }
    const keys = new Uint32Array(tot);
    const owners = new Int32Array(tot);
    let p = 0;
    for (let i = 0; i < n; i++) {
      const base = Math.imul(members[i].cfg.id, EWGHT_RANGE);
      for (let j = 0; j < ew[i]; j++) { keys[p] = fullHash((base + j) >>> 0); owners[p] = i; p++; }
    }
    radixSort(keys, owners);
    this.servers = members;
    this.keys = keys;
    this.owners = owners;
    this.ew = ew;
    this.cum = cum;
    this.totWeight = tot;
    this.last = -1;
  }

  member(i: number): S {
    return this.servers[i];
  }

  effectiveWeight(i: number): number {
    return this.ew[i];
  }

  /**
   * chash_get_server_hash(): the member index for the hash in hash[0] (a
   * typed array keeps a uint32 unboxed: backend/hash.ts says why), the nearest
   * point's server, walking on past `exclude` and past servers over their
   * bounded load; -1 when the ring is empty.
   */
  byHash(hashIn: Uint32Array, exclude: S | null): number {
    const hash = hashIn[0];
    const keys = this.keys;
    const P = keys.length;
    if (P === 0) return -1;
    let lo = 0, hi = P;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (keys[mid] < hash) lo = mid + 1; else hi = mid;
    }
    const next = lo === P ? 0 : lo;
    const prev = next === 0 ? P - 1 : next - 1;
    const dp = (hash - keys[prev]) >>> 0;
    const dn = (keys[next] - hash) >>> 0;
    let idx = dp <= dn ? prev : next;
    const owners = this.owners;
    const servers = this.servers;
    const served = this.factor > 0 ? this.totalLoad() : 0;
    let loop = 0;
    while (servers[owners[idx]] === exclude || (this.factor > 0 && !this.eligible(owners[idx], served))) {
      if (++idx === P) {
        idx = 0;
        // As HAProxy: at most about two turns, then the last one seen.
        if (++loop > 1) break;
      }
    }
    return owners[idx];
  }

  /**
   * chash_get_next_server(): the next point's server that has room, not
   * `exclude` unless nothing else has; -1 when none.
   */
  nextRR(exclude: S | null): number {
    const P = this.keys.length;
    if (P === 0) return -1;
    const owners = this.owners;
    const servers = this.servers;
    // Without a position yet, a whole turn from the first point (HAProxy looks at one point only then).
    const stop = this.last < 0 ? P - 1 : this.last;
    let node = stop;
    let avoided = -1, avoidedNode = -1;
    do {
      node = node + 1 === P ? 0 : node + 1;
      this.last = node;
      const i = owners[node];
      const s = servers[i];
      if (!isFull(s)) {
        if (s !== exclude) return i;
        avoided = i;
        avoidedNode = node;
      }
    } while (node !== stop);
    if (avoided >= 0) this.last = avoidedNode;
    return avoided;
  }

  /** The node's connections on the group (the backend's `served`). */
  private totalLoad(): number {
    let t = 0;
    const servers = this.servers;
    for (let i = 0; i < servers.length; i++) t += servers[i].load();
    return t;
  }

  /**
   * chash_server_is_eligible(): the slots for all connections (this one
   * included) times the factor, shared by weight, the remainder spread by
   * cumulative weight; never less than one.
   */
  private eligible(i: number, served: number): boolean {
    const tw = this.totWeight;
    const totSlots = Math.floor(((served + 1) * this.factor + 99) / 100);
    const perWeight = Math.floor(totSlots / tw);
    const rem = totSlots % tw;
    const ew = this.ew[i], cum = this.cum[i];
    let slots = ew * perWeight + Math.floor((cum + ew) * rem / tw) - Math.floor(cum * rem / tw);
    if (slots === 0) slots = 1;
    return this.servers[i].load() < slots;
  }
}

/** Stable LSD radix sort of `keys` (two 16-bit digits), `owners` moved along. */
function radixSort(keys: Uint32Array, owners: Int32Array): void {
  const k2 = new Uint32Array(keys.length);
  const o2 = new Int32Array(keys.length);
  const count = new Uint32Array(65536);
  radixPass(keys, owners, k2, o2, 0, count);
  radixPass(k2, o2, keys, owners, 16, count);
}

function radixPass(fromK: Uint32Array, fromO: Int32Array, toK: Uint32Array, toO: Int32Array, shift: number, count: Uint32Array): void {
  const n = fromK.length;
  count.fill(0);
  for (let i = 0; i < n; i++) count[(fromK[i] >>> shift) & 0xffff]++;
  let sum = 0;
  for (let d = 0; d < 65536; d++) { const c = count[d]; count[d] = sum; sum += c; }
  for (let i = 0; i < n; i++) {
    const pos = count[(fromK[i] >>> shift) & 0xffff]++;
    toK[pos] = fromK[i];
    toO[pos] = fromO[i];
  }
}

/**
 * `balance random[(<draws>)]` (get_server_rnd()): a random point of the
 * consistent ring, drawn `draws` times, keeping the least loaded server
 * relative to its weight (the power of two choices with the default 2). A
 * server at its maxconn is not returned (the stream would queue).
 */
export class RandomDraws<S extends LbServer> implements LbAlgorithm<S> {
  private readonly ring: ConsistentRing<S>;

  constructor(private readonly draws: number, factor: number) {
    this.ring = new ConsistentRing<S>(factor);
  }

  rebuild(members: readonly S[]): void {
    this.ring.rebuild(members);
  }

  pick(_ctx: SampleContext | null, exclude: S | null): S | null {
    const ring = this.ring;
    let cur = -1;
    let draws = this.draws;
    do {
      const prev = cur;
      cur = ring.byHash(nextRandom(), exclude);
      if (cur < 0) break;
      if (prev >= 0 && prev !== cur &&
        ring.member(cur).load() * ring.effectiveWeight(prev) > ring.member(prev).load() * ring.effectiveWeight(cur)) cur = prev;
    } while (--draws > 0);
    if (cur < 0) return null;
    const s = ring.member(cur);
    return isFull(s) ? null : s;
  }
}

/**
 * HAProxy's statistical_prng() (xorshift32), seeded per worker: cheap, and
 * unlike Math.random() (whose result V8 boxes) it allocates nothing. The
 * value is left in PRNG[0], unboxed.
 */
const PRNG = new Uint32Array(1);
PRNG[0] = randomBytes(4).readUInt32LE(0) | 1;

function nextRandom(): Uint32Array {
  let x = PRNG[0];
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  PRNG[0] = x;
  return PRNG;
}
