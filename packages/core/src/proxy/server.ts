/**
 * `server` and `default-server` lines and their keywords (HAProxy's
 * srv_kw_list). Health checks, TLS and persistence register more server
 * keywords into the same table in their own modules.
 */
import { registerKeywords, registerLineKeywords, parseLineKeywords, registerUnsupportedLine, type KeywordContext } from '../registry';
import type { ServerConfig, ServerOptions } from '../config/compiled';
import { parseHostPort, parseInteger } from '../config/args';
import { PP2_OPTION_NAMES, PP2_OPT_SSL, PP2_OPT_CERT_CN } from '../engine/proxy-protocol';

const NAME_RE = /^[A-Za-z0-9_.:-]+$/;

/** Scratch during parsing: the forced id, applied after the line is parsed. */
interface ServerDraft extends ServerOptions {
  id?: number;
}

registerKeywords([
  {
    name: 'server',
    sections: ['backend', 'listen'],
    usage: 'server <name> <addr>[:port] [weight <n>] [maxconn <n>] [backup] [disabled] [id <n>]',
    parse(ctx) {
      const [name, addr, ...opts] = ctx.args;
      if (!name || !addr) return ctx.error(`expects <name> and <addr> as arguments; usage: ${this.usage}`);
      if (!NAME_RE.test(name)) return ctx.error(`invalid character in server name '${name}'`);
      const p = ctx.proxy!;
      const dup = p.servers.find(s => s.name === name);
      if (dup) return ctx.error(`server '${name}' is already declared at ${dup.file}:${dup.line}`);
      const a = parseServerAddress(addr, ctx);
      if (!a) return;
      const draft: ServerDraft = { ...p.defaultServer };
      parseLineKeywords<ServerDraft>('server', opts, draft, ctx, `server '${name}'`);
      const srv: ServerConfig = {
        file: ctx.file, line: ctx.line, name,
        id: draft.id ?? 0, forcedId: draft.id !== undefined,
        addrText: addr, host: a.host, ip: a.host, port: a.port, family: a.family,
        weight: draft.weight, maxconn: draft.maxconn, backup: draft.backup, disabled: draft.disabled,
        poolMaxConn: draft.poolMaxConn, poolPurgeDelay: draft.poolPurgeDelay,
        cookie: draft.cookie,
        sendProxy: draft.sendProxy ?? false, sendProxyV2: draft.sendProxyV2 ?? false, proxyV2Options: draft.proxyV2Options ?? 0,
        // TLS toward the server (tls/server-ssl.ts reads the files at compile).
        ssl: draft.ssl, sslVerify: draft.sslVerify, sslCaFile: draft.sslCaFile, sslCrt: draft.sslCrt, sslSni: draft.sslSni, sslSniExpr: draft.sslSniExpr,
        sslVerifyHost: draft.sslVerifyHost, sslAlpn: draft.sslAlpn, sslCiphers: draft.sslCiphers, sslCiphersuites: draft.sslCiphersuites,
        sslMinVer: draft.sslMinVer, sslMaxVer: draft.sslMaxVer,
        minconn: draft.minconn, maxqueue: draft.maxqueue, slowstart: draft.slowstart,
        checkOpts: draft.checkOpts,
      };
      p.servers.push(srv);
    },
  },
  {
    name: 'default-server',
    sections: ['defaults', 'backend', 'listen'],
    usage: 'default-server [weight <n>] [maxconn <n>] [backup] [disabled]  defaults for the servers declared after it',
    parse(ctx) {
      const draft: ServerDraft = { ...ctx.proxy!.defaultServer };
      parseLineKeywords<ServerDraft>('server', ctx.args, draft, ctx, 'default-server', true);
      const { id: _ignored, ...opts } = draft;
      ctx.proxy!.defaultServer = opts;
    },
  },
]);

function parseServerAddress(text: string, ctx: KeywordContext): { host: string; port: number; family: 4 | 6 } | undefined {
  const at = text.indexOf('@');
  let rest = text;
  let family: 4 | 6 | undefined;
  if (at > 0 && !text.startsWith('[')) {
    const prefix = text.slice(0, at);
    rest = text.slice(at + 1);
    if (prefix === 'ipv4' || prefix === 'tcp4') family = 4;
    else if (prefix === 'ipv6' || prefix === 'tcp6') family = 6;
    else if (prefix !== 'tcp') { ctx.error(`server address family '${prefix}@' is not supported by Switchyard yet`); return undefined; }
  }
  if (/:[+-]\d+$/.test(rest)) { ctx.error(`relative server ports ('${text}') are not supported by Switchyard yet`); return undefined; }
  const hp = parseHostPort(rest, { allowRange: false, requirePort: false, family });
  if (!hp.ok) { ctx.error(hp.error); return undefined; }
  if (hp.value.host === '') { ctx.error(`missing address in '${text}'`); return undefined; }
  // Host names are resolved after parsing (compile.ts); the family is then known.
  return { host: hp.value.host, port: hp.value.port, family: hp.value.family === 0 ? (family ?? 4) : hp.value.family };
}

registerLineKeywords<ServerDraft>('server', [
  {
    name: 'weight', args: 1, defaultServer: true, usage: 'weight <0-256>  relative share of the load',
    parse(o, [v]) { const n = parseInteger(v, 'weight', 0, 256); if (!n.ok) return n.error; o.weight = n.value; },
  },
  {
    name: 'maxconn', args: 1, defaultServer: true, usage: 'maxconn <n>  concurrent connections to the server (0 = unlimited)',
    parse(o, [v]) { const n = parseInteger(v, 'maxconn', 0, 10_000_000); if (!n.ok) return n.error; o.maxconn = n.value; },
  },
  { name: 'backup', args: 0, defaultServer: true, usage: 'backup  only used when no active server is usable', parse(o) { o.backup = true; } },
  { name: 'no-backup', args: 0, defaultServer: true, usage: 'no-backup  cancels backup', parse(o) { o.backup = false; } },
  { name: 'disabled', args: 0, defaultServer: true, usage: 'disabled  start in maintenance', parse(o) { o.disabled = true; } },
  { name: 'enabled', args: 0, defaultServer: true, usage: 'enabled  cancels disabled', parse(o) { o.disabled = false; } },
  {
    name: 'send-proxy', args: 0, defaultServer: true,
    usage: 'send-proxy  open each connection with a PROXY protocol v1 line carrying the client\'s addresses',
    parse(o) { o.sendProxy = true; },
  },
  {
    name: 'send-proxy-v2', args: 0, defaultServer: true,
    usage: 'send-proxy-v2  open each connection with a PROXY protocol v2 header (wins over send-proxy)',
    parse(o) { o.sendProxyV2 = true; },
  },
  {
    name: 'send-proxy-v2-ssl', args: 0, defaultServer: true,
    usage: 'send-proxy-v2-ssl  send-proxy-v2 with the SSL TLV (proxy-v2-options ssl)',
    parse(o) { o.sendProxyV2 = true; o.proxyV2Options = (o.proxyV2Options ?? 0) | PP2_OPT_SSL; },
  },
  {
    name: 'send-proxy-v2-ssl-cn', args: 0, defaultServer: true,
    usage: 'send-proxy-v2-ssl-cn  send-proxy-v2 with the SSL TLV and the client certificate CN (proxy-v2-options ssl,cert-cn)',
    parse(o) { o.sendProxyV2 = true; o.proxyV2Options = (o.proxyV2Options ?? 0) | PP2_OPT_SSL | PP2_OPT_CERT_CN; },
  },
  { name: 'no-send-proxy', args: 0, defaultServer: true, usage: 'no-send-proxy  cancels send-proxy', parse(o) { o.sendProxy = false; } },
  { name: 'no-send-proxy-v2', args: 0, defaultServer: true, usage: 'no-send-proxy-v2  cancels send-proxy-v2', parse(o) { o.sendProxyV2 = false; } },
  // As HAProxy's srv_disable_pp_flags(): they clear the flags the positive keywords set.
  {
    name: 'no-send-proxy-v2-ssl', args: 0, defaultServer: true, usage: 'no-send-proxy-v2-ssl  cancels send-proxy-v2-ssl',
    parse(o) { o.sendProxyV2 = false; o.proxyV2Options = (o.proxyV2Options ?? 0) & ~PP2_OPT_SSL; },
  },
  {
    name: 'no-send-proxy-v2-ssl-cn', args: 0, defaultServer: true, usage: 'no-send-proxy-v2-ssl-cn  cancels send-proxy-v2-ssl-cn',
    parse(o) { o.sendProxyV2 = false; o.proxyV2Options = (o.proxyV2Options ?? 0) & ~(PP2_OPT_SSL | PP2_OPT_CERT_CN); },
  },
  {
    name: 'proxy-v2-options', args: 1, defaultServer: true,
    usage: `proxy-v2-options <opt>[,<opt>]*  TLVs added by send-proxy-v2: ${Object.keys(PP2_OPTION_NAMES).join(', ')}`,
    parse(o, [v]) {
      // HAProxy adds to the options already set (srv_parse_proxy_v2_options ORs them in).
      let bits = o.proxyV2Options ?? 0;
      for (const name of v.split(',')) {
        if (!Object.hasOwn(PP2_OPTION_NAMES, name)) {
          return `unknown proxy v2 option '${name}' (expected one of ${Object.keys(PP2_OPTION_NAMES).join(', ')})`;
        }
        bits |= PP2_OPTION_NAMES[name];
      }
      o.proxyV2Options = bits;
    },
  },
  {
    name: 'id', args: 1, usage: 'id <n>  force the server id (sid)',
    parse(o, [v]) { const n = parseInteger(v, 'id', 1, 0x7fffffff); if (!n.ok) return n.error; o.id = n.value; },
  },
]);

registerUnsupportedLine('server', [
  'track', 'redir', 'resolvers', 'init-addr', 'resolve-prefer',
  'source', 'usesrc', 'pool-low-conn', 'tfo', 'namespace', 'proto', 'check-proto',
  'check-via-socks4', 'socks4', 'ws', 'tcp-ut', 'max-reuse', 'non-stick', 'stick',
  'weight-percent', 'shard', 'log-proto', 'crl-file', 'no-sslv3', 'no-tlsv10', 'no-tlsv11',
  'no-tlsv12', 'no-tlsv13', 'ssl-reuse', 'no-ssl-reuse', 'npn', 'curves',
  'sigalgs', 'client-sigalgs', 'allow-0rtt', 'force-tlsv12', 'force-tlsv13', 'resolve-net', 'resolve-opts',
]);
