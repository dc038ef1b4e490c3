/**
 * `balance first` (HAProxy's src/lb_fas.c): the first server, by ascending
 * server id (the `id` keyword, else the position in the backend), that has
 * room below its maxconn; weights are ignored. The aim is to use as few
 * servers as possible, so extra ones can be powered off.
 *
 * Room is the server's free slots (isFull: in Switchyard the worker's
 * credits of the node-wide maxconn, backend/queue.ts), so servers fill in
 * id order in every worker. A server without maxconn always has room:
 * everything goes to it.
 */
import type { SampleContext } from '../rules/sample';
import { isFull, type LbAlgorithm, type LbServer } from './lb-server';

export class FirstAvailable<S extends LbServer> implements LbAlgorithm<S> {
  /** The group by ascending id. */
  private servers: S[] = [];

  rebuild(members: readonly S[]): void {
    this.servers = [...members].sort((a, b) => a.cfg.id - b.cfg.id);
  }

  pick(_ctx: SampleContext | null, exclude: S | null): S | null {
    const servers = this.servers;
    let avoided: S | null = null;
    for (let i = 0; i < servers.length; i++) {
      const s = servers[i];
      if (isFull(s)) continue;
      if (s !== exclude) return s;
      avoided = s;
    }
    return avoided;
  }
}
