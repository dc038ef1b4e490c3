/**
 * `balance leastconn` (HAProxy's src/lb_fwlc.c): the server with the fewest
 * connections relative to its weight. The count is the node's (load(): this
 * worker's connections plus the other workers' as last reported), so two
 * workers do not both pile onto the server that looks idle to each.
 *
 * The key is fwlc's: 0 for an idle server whatever its weight, else
 * (connections + 1) × SRV_EWGHT_MAX / effective weight, in integers, so
 * servers tie exactly as in HAProxy. Among tied servers the choice rotates
 * (fwlc re-inserts a server after its equals when its count changes): the
 * scan starts after the last server chosen. A server at its maxconn is
 * skipped. This rotation is the worker's own; leastconn does not need the
 * workers to agree.
 *
 * O(servers) per pick, as the counts of the other workers change without
 * notice (no tree to keep ordered).
 */
import type { SampleContext } from '../rules/sample';
import { isFull, type LbAlgorithm, type LbServer } from './lb-server';

/** SRV_EWGHT_MAX: SRV_UWGHT_MAX (256) × BE_WEIGHT_SCALE (16). */
const EWGHT_MAX = 4096;
/** BE_WEIGHT_SCALE: effective weight = user weight × 16. */
const WEIGHT_SCALE = 16;

export class LeastConn<S extends LbServer> implements LbAlgorithm<S> {
  private servers: readonly S[] = [];
  /** Where the next scan starts: after the last server chosen. */
  private next = 0;

  rebuild(members: readonly S[]): void {
    this.servers = members;
    this.next = 0;
  }

  pick(_ctx: SampleContext | null, exclude: S | null): S | null {
    const servers = this.servers;
    const n = servers.length;
    if (n === 0) return null;
    let best = -1, bestKey = 0, avoided = -1;
    let i = this.next < n ? this.next : 0;
    for (let k = 0; k < n; k++) {
      const s = servers[i];
      const w = s.weight();
      const load = s.load();
      if (w > 0 && !isFull(s)) {
        if (s === exclude) avoided = i;
        else {
          // Integer key as fwlc's (unsigned division; ties as in HAProxy).
          const ew = w >= 1 ? w * WEIGHT_SCALE : Math.max(1, Math.round(w * WEIGHT_SCALE));
          const key = load === 0 ? 0 : Math.floor((load + 1) * EWGHT_MAX / ew);
          if (best < 0 || key < bestKey) { best = i; bestKey = key; if (key === 0) break; }
        }
      }
      if (++i === n) i = 0;
    }
    if (best < 0) best = avoided;
    if (best < 0) return null;
    this.next = best + 1;
    return servers[best];
  }
}
