/**
 * The load balancer of a backend: which servers its algorithm (`balance`,
 * backend/lb-config.ts) runs over, and that algorithm.
 *
 * As HAProxy's recount_servers()/update_backend_weight() (src/backend.c):
 * the algorithm runs over the usable active servers; when there is none,
 * over the first usable backup only, or over every usable backup with
 * `option allbackups`. ProxyRuntime calls update() whenever a server's state
 * or weight changes (HAProxy's set_server_status_up/down and
 * update_server_eweight callbacks); the group is recounted and the
 * algorithm's tables rebuilt before the next pick. pick() allocates nothing.
 *
 * pick() returns null when no server of the group can take the stream: the
 * group is empty, or every server is at its maxconn (HAProxy's
 * SRV_STATUS_FULL, where the stream waits in the backend queue). Hash-based
 * algorithms return the hashed server even when it is full (HAProxy then
 * queues on that server), except `random`, which returns null.
 *
 * Families, one file each as HAProxy's lb_*.c: lb-roundrobin.ts (fwrr),
 * lb-map.ts (static-rr and map-based hashing), lb-leastconn.ts (fwlc),
 * lb-first.ts (fas), lb-chash.ts (consistent hashing and random),
 * lb-hash.ts (the hash keys: source, uri, url_param, hdr, rdp-cookie, hash).
 */
import type { SampleContext, SampleExpr } from '../rules/sample';
import type { BalanceConfig } from './lb-config';
import type { LbAlgorithm, LbServer } from './lb-server';
import { SmoothRoundRobin } from './lb-roundrobin';
import { StaticRoundRobin } from './lb-map';
import { LeastConn } from './lb-leastconn';
import { FirstAvailable } from './lb-first';
import { RandomDraws } from './lb-chash';
import { HashBalancer } from './lb-hash';

export class Balancer<S extends LbServer> {
  private readonly active: S[];
  private readonly backups: S[];
  private readonly algo: LbAlgorithm<S>;
  private current: readonly S[] = [];
  /** A state or weight changed since the tables were built. */
  private dirty = true;

  /** `hashExpr`: the compiled expression of `balance hash` (null otherwise). */
  constructor(readonly cfg: BalanceConfig, servers: readonly S[], hashExpr: SampleExpr | null = null) {
    this.active = servers.filter(s => !s.cfg.backup);
    this.backups = servers.filter(s => s.cfg.backup);
    this.algo = newAlgorithm(cfg, servers, hashExpr);
    this.refresh();
  }

  /**
   * A server's state or weight changed. The tables are rebuilt at the next
   * pick, so that a burst of changes (a health check marking many servers
   * down, a state table replayed) costs one rebuild.
   */
  update(): void {
    this.dirty = true;
  }

  /** The servers the algorithm runs over now. */
  get members(): readonly S[] {
    if (this.dirty) this.refresh();
    return this.current;
  }

  pick(ctx: SampleContext | null, exclude: S | null): S | null {
    if (this.dirty) this.refresh();
    return this.algo.pick(ctx, exclude);
  }

  /** Recount the usable servers, rebuild the algorithm's tables. */
  private refresh(): void {
    this.dirty = false;
    const m: S[] = [];
    for (const s of this.active) if (s.weight() > 0) m.push(s);
    if (m.length === 0) {
      for (const s of this.backups) {
        if (s.weight() <= 0) continue;
        m.push(s);
        if (!this.cfg.allBackups) break;
      }
    }
    this.current = m;
    this.algo.rebuild(m);
  }
}

function newAlgorithm<S extends LbServer>(cfg: BalanceConfig, servers: readonly S[], hashExpr: SampleExpr | null): LbAlgorithm<S> {
  switch (cfg.algo) {
    case 'roundrobin': return new SmoothRoundRobin<S>();
    case 'static-rr': return new StaticRoundRobin<S>(servers);
    case 'leastconn': return new LeastConn<S>();
    case 'first': return new FirstAvailable<S>();
    case 'random': return new RandomDraws<S>(cfg.draws, cfg.balanceFactor);
    default: return new HashBalancer<S>(cfg, servers, hashExpr);
  }
}
