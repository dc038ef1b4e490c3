/**
 * `balance roundrobin` (HAProxy's src/lb_fwrr.c): each server in turn, in
 * proportion to its weight, with smooth interleaving: each pick adds every
 * server's weight to its credit and takes the server with the most credit,
 * which then pays the total. A 5:1:1 set yields a a b a c a a rather than
 * a a a a a b c, so a heavy server never gets a burst.
 *
 * Weights are read at each pick, so a weight change (runtime API, slowstart)
 * takes effect at once, as HAProxy's dynamic algorithm. A server at its
 * maxconn is skipped and earns no credit meanwhile (fwrr takes it out of
 * the tree until a connection leaves), so it gets no burst when it frees up.
 * The credit is this worker's own: round-robin needs no agreement between
 * workers, each one interleaves its share.
 *
 * O(servers) per pick: 1,000 servers cost a few microseconds (bench/lb-pick.mjs);
 * HAProxy's fwrr trees are O(log n) but limited to 4095 servers.
 */
import type { SampleContext } from '../rules/sample';
import { isFull, type LbAlgorithm, type LbServer } from './lb-server';

export class SmoothRoundRobin<S extends LbServer> implements LbAlgorithm<S> {
  private servers: readonly S[] = [];
  private credit = new Float64Array(0);

  rebuild(members: readonly S[]): void {
    this.servers = members;
    this.credit = new Float64Array(members.length);
  }

  pick(_ctx: SampleContext | null, exclude: S | null): S | null {
    const servers = this.servers;
    const credit = this.credit;
    let total = 0;
    let best = -1;
    let avoided = -1;
    for (let i = 0; i < servers.length; i++) {
      const s = servers[i];
      const w = s.weight();
      if (w <= 0) { credit[i] = 0; continue; }
      if (isFull(s)) continue;
      credit[i] += w;
      total += w;
      // The server that just failed keeps its turn but is chosen only when
      // it is the only one left (fwrr's srvtoavoid).
      if (s === exclude) { avoided = i; continue; }
      if (best < 0 || credit[i] > credit[best]) best = i;
    }
    if (best < 0) best = avoided;
    if (best < 0) return null;
    credit[best] -= total;
    return servers[best];
  }
}
