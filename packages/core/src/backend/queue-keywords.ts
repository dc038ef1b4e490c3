/**
 * Keywords of queues and dynamic server limits: server `maxqueue`,
 * `minconn`, `slowstart`; proxy `fullconn`, `timeout queue`.
 */
import { registerKeywords, registerLineKeywords, type KeywordContext } from '../registry';
import type { ServerOptions } from '../config/compiled';
import { parseInteger, parseTime } from '../config/args';

const BE = ['defaults', 'backend', 'listen'] as const;

registerLineKeywords<ServerOptions>('server', [
  {
    name: 'maxqueue', args: 1, defaultServer: true,
    usage: 'maxqueue <n>  requests waiting for this server beyond which they go to another one (option redispatch) or get a 503 (0: no limit)',
    parse(o, [v]) { const n = parseInteger(v, 'maxqueue', 0, 10_000_000); if (!n.ok) return n.error; o.maxqueue = n.value; },
  },
  {
    name: 'minconn', args: 1, defaultServer: true,
    usage: 'minconn <n>  with fullconn: the server\'s limit grows from minconn to maxconn as the backend gets busier',
    parse(o, [v]) { const n = parseInteger(v, 'minconn', 0, 10_000_000); if (!n.ok) return n.error; o.minconn = n.value; },
  },
  {
    name: 'slowstart', args: 1, defaultServer: true,
    usage: 'slowstart <time>  after the server comes back up, its weight and maxconn grow to full over this time',
    parse(o, [v]) { const t = parseTime(v); if (!t.ok) return t.error; o.slowstart = t.value; },
  },
]);

registerKeywords([
  {
    name: 'fullconn',
    sections: [...BE],
    usage: 'fullconn <n>  backend load at which servers with minconn reach their maxconn (default: 10% of the maxconn of the frontends using it)',
    parse(ctx: KeywordContext) {
      if (ctx.args.length !== 1) return ctx.error('expects exactly one argument; usage: fullconn <n>');
      const v = parseInteger(ctx.args[0], 'fullconn', 0, 10_000_000);
      if (!v.ok) return ctx.error(v.error);
      ctx.proxy!.fullconn = v.value;
    },
  },
  {
    name: 'timeout queue',
    sections: [...BE],
    usage: 'timeout queue <time>  how long a request may wait for a server slot (default: timeout connect)',
    parse(ctx: KeywordContext) {
      if (ctx.args.length !== 1) return ctx.error('expects exactly one argument; usage: timeout queue <time>');
      const t = parseTime(ctx.args[0]);
      if (!t.ok) return ctx.error(t.error);
      ctx.proxy!.timeouts.queue = t.value;
    },
  },
]);

/**
 * A server's limit now (HAProxy's srv_dynamic_maxconn): maxconn, or between
 * minconn and maxconn in proportion to the backend's connections over
 * fullconn; during slowstart, the part of it the warm-up has reached.
 * `beconn` counts the whole node.
 */
export function dynamicMaxconn(maxconn: number, minconn: number, fullconn: number, beconn: number, warm: number): number {
  let max: number;
  const min = minconn > 0 ? Math.min(minconn, maxconn) : maxconn;
  if (beconn >= fullconn || min === maxconn) max = maxconn;
  else max = Math.max(min, Math.floor(beconn * maxconn / fullconn));
  if (warm < 1) max = Math.max(1, Math.floor(max * warm));
  return max;
}
