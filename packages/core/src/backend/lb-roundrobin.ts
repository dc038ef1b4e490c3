/**
 * Weighted round-robin (`roundrobin`, `static-rr`). Smooth weighted
 * interleaving (each pick adds every server's weight to its credit and takes
 * the server with the most credit, which then pays the total): a 5:1:1 set
 * yields a a b a c a a rather than a a a a a b c, so a heavy server never
 * gets a burst. O(servers) per pick; the tree-based variant for very large
 * farms comes with the balancing issue.
 */
export interface WeightedServer {
  /** Effective weight now (0 = not eligible). */
  weight(): number;
}

export class SmoothRoundRobin<S extends WeightedServer> {
  private credit: Float64Array;

  constructor(private readonly servers: readonly S[]) {
    this.credit = new Float64Array(servers.length);
  }

  /** Next server among those with a positive weight, or undefined. */
  pick(): S | undefined {
    const servers = this.servers;
    const credit = this.credit;
    let total = 0;
    let best = -1;
    for (let i = 0; i < servers.length; i++) {
      const w = servers[i].weight();
      if (w <= 0) { credit[i] = 0; continue; }
      credit[i] += w;
      total += w;
      if (best < 0 || credit[i] > credit[best]) best = i;
    }
    if (best < 0) return undefined;
    credit[best] -= total;
    return servers[best];
  }
}
