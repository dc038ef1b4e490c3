/**
 * `dispatch <address>:<port>` (configuration.txt 4.2): the address a
 * backend sends its connections to when it has no server.
 *
 * HAProxy 2.6 connects the stream to the backend itself rather than to a
 * server (assign_server: target = the proxy), so the log shows
 * `<backend>/<NOSRV>` and no server row exists in the stats (verified with
 * haproxy 2.6.12). Here the address becomes a ServerConfig named `<NOSRV>`
 * held apart from the backend's server list (ProxyRuntime.dispatch), so the
 * connect, pool and log paths are the servers' ones and it never appears
 * among the servers.
 *
 * When the backend also declares servers, they are used and the dispatch
 * address is ignored, with HAProxy's warning for "balance mode". (HAProxy
 * decides on whether an algorithm was configured, not on the servers: a
 * backend with servers, a dispatch and no `balance` line ignores its servers
 * there; such a configuration is contradictory and is given the servers here.)
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { registerKeywords, type ParseState } from '../registry';
import type { ServerConfig } from '../config/compiled';
import { parseHostPort } from '../config/args';
import { newProxyConfig } from './sections';

/** What HAProxy logs as the server of a dispatched stream. */
export const DISPATCH_NAME = '<NOSRV>';

function parseDispatchAddress(text: string): { host: string; port: number; family: 4 | 6 } | string {
  let rest = text;
  let family: 4 | 6 | undefined;
  const at = text.indexOf('@');
  if (at > 0 && !text.startsWith('[')) {
    const prefix = text.slice(0, at);
    rest = text.slice(at + 1);
    if (prefix === 'ipv4' || prefix === 'tcp4') family = 4;
    else if (prefix === 'ipv6' || prefix === 'tcp6') family = 6;
    else if (prefix !== 'tcp') return `address family '${prefix}@' is not supported for dispatch`;
  }
  if (rest === '') return `'' resolves to an empty address (environment variable missing?)`;
  if (/:[+-]\d+$/.test(rest)) return `port offset not permitted here in '${text}'`;
  if (/:\d+-\d+$/.test(rest)) return `port range not permitted here in '${text}'`;
  const hp = parseHostPort(rest, { allowRange: false, requirePort: false, family });
  if (!hp.ok) return hp.error;
  if (hp.value.host === '') return `missing address in '${text}'`;
  if (!hp.value.hasPort) return `missing port specification in '${text}'`;
  return { host: hp.value.host, port: hp.value.port, family: hp.value.family === 0 ? (family ?? 4) : hp.value.family };
}

registerKeywords([
  {
    name: 'dispatch',
    sections: ['backend', 'listen'],
    usage: 'dispatch <address>:<port>  where a backend without servers sends its connections (logged as <NOSRV>)',
    parse(ctx) {
      if (ctx.args.length === 0) return ctx.error(`'' resolves to an empty address (environment variable missing?)`);
      if (ctx.args.length > 1) return ctx.error(`'dispatch' cannot handle unexpected argument '${ctx.args[1]}'.`);
      const a = parseDispatchAddress(ctx.args[0]);
      if (typeof a === 'string') return ctx.error(a);
      // Server options keep their built-in defaults: `default-server` does not
      // apply to it. No idle pool: a connection without a server is at most
      // private to its session in HAProxy, never shared; here it is closed
      // after each transaction (and a stopping worker only purges the pools
      // of the backends' servers).
      const srv: ServerConfig = {
        ...newProxyConfig('', ctx.file, ctx.line).defaultServer,
        poolMaxConn: 0,
        file: ctx.file, line: ctx.line, name: DISPATCH_NAME, id: 0, forcedId: false,
        addrText: ctx.args[0], host: a.host, ip: a.host, port: a.port, family: a.family,
      };
      ctx.proxy!.dispatch = srv;
    },
  },
]);

/**
 * After parsing: a backend with servers ignores its dispatch address
 * (warning); a dispatch host name is resolved once, as servers' are.
 */
export async function finalizeDispatch(state: ParseState): Promise<void> {
  const jobs: Promise<void>[] = [];
  for (const p of state.proxies) {
    const d = p.dispatch;
    if (d === null) continue;
    if (!p.cap.be) { p.dispatch = null; continue; }
    if (p.servers.length > 0) {
      state.diag.warn(d.file, d.line, '', `dispatch address of ${p.cap.fe ? 'listen' : 'backend'} '${p.name}' will be ignored in balance mode.`);
      p.dispatch = null;
      continue;
    }
    if (isIP(d.host)) continue;
    jobs.push(lookup(d.host, { family: d.family }).then(
      r => { d.ip = r.address; d.family = r.family === 6 ? 6 : 4; },
      () => state.diag.error(d.file, d.line, 'dispatch', `invalid address: '${d.host}' in '${d.addrText}'`),
    ));
  }
  await Promise.all(jobs);
}
