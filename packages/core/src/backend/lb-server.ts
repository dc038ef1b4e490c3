/**
 * What every balancing algorithm needs of a server and offers to the
 * Balancer (backend/balancer.ts). ServerRuntime (engine/proxy-runtime.ts)
 * is an LbServer; the unit tests use plain objects.
 */
import type { SampleContext } from '../rules/sample';

export interface LbServer {
  /** `id` orders `balance first` and places consistent-hash points; `weight` is the configured one. */
  readonly cfg: { readonly id: number; readonly backup: boolean; readonly weight: number };
  /** Effective weight now; 0 = not usable. */
  weight(): number;
  /** Connections of the whole node (every worker) on this server. */
  load(): number;
  /** Its maxconn now; 0 = unlimited. */
  maxconnNow(): number;
  /**
   * At its limit for a new stream here (ServerRuntime: no free credit of the
   * node-wide maxconn, backend/queue.ts); absent: load() against maxconnNow().
   */
  full?(): boolean;
}

/** At its maxconn: HAProxy's `srv->maxconn && srv->served >= srv_dynamic_maxconn(srv)`. */
export function isFull(s: LbServer): boolean {
  if (s.full !== undefined) return s.full();
  const m = s.maxconnNow();
  return m > 0 && s.load() >= m;
}

/** One family of algorithms, run over the Balancer's current group. */
export interface LbAlgorithm<S extends LbServer> {
  /** The group changed (a state or a weight): its usable members, in declaration order. */
  rebuild(members: readonly S[]): void;
  /** A server for this stream (`exclude`: the one that just failed, avoided when another can take it), or null. */
  pick(ctx: SampleContext | null, exclude: S | null): S | null;
}
