/**
 * `bind` lines and their keywords (HAProxy's bind_kw_list). Later features
 * (TLS) register more bind keywords into the same table.
 */
import { registerKeywords, registerLineKeywords, parseLineKeywords, registerUnsupportedLine } from '../registry';
import type { BindOptions } from '../config/compiled';
import { parseBindAddress, parseFileMode, parseInteger } from '../config/args';
import { os } from '../util/os';

registerKeywords([
  {
    name: 'bind',
    sections: ['frontend', 'listen'],
    usage: 'bind <addr:port[-end]|[v6]:port|*:port|:port|ipv4@…|ipv6@…|unix@path|/path|fd@n>[,…] [bind options]',
    parse(ctx) {
      const [addrs, ...opts] = ctx.args;
      if (!addrs) return ctx.error(`missing address; usage: ${this.usage}`);
      const addresses = [];
      // HAProxy allows several comma-separated addresses on one bind line.
      for (const a of addrs.split(',')) {
        const r = parseBindAddress(a);
        if (!r.ok) return ctx.error(r.error);
        addresses.push(...r.value);
      }
      const options: BindOptions = {};
      parseLineKeywords<BindOptions>('bind', opts, options, ctx, `bind '${addrs}'`);
      for (const a of addresses) {
        if (a.kind === 'unix') { a.mode = options.mode; a.uid = options.uid; a.gid = options.gid; }
        else if (options.mode !== undefined || options.uid !== undefined || options.gid !== undefined) {
          ctx.warn(`'mode', 'uid', 'gid', 'user' and 'group' only apply to UNIX sockets; ignored for '${addrs}'`);
        }
      }
      ctx.proxy!.binds.push({ file: ctx.file, line: ctx.line, addresses, options });
    },
  },
]);

function idKeyword(kind: 'uid' | 'gid' | 'user' | 'group') {
  return {
    name: kind, args: 1, usage: `${kind} <${kind === 'uid' || kind === 'gid' ? 'n' : 'name'}>  owner of a UNIX socket`,
    parse(o: BindOptions, [v]: string[]) {
      const id = kind === 'uid' || kind === 'gid' ? (/^\d+$/.test(v) ? Number(v) : undefined) : os.lookupId(kind, v);
      if (id === undefined) return `unknown ${kind} '${v}'`;
      if (kind === 'uid' || kind === 'user') o.uid = id; else o.gid = id;
    },
  };
}

registerLineKeywords<BindOptions>('bind', [
  { name: 'name', args: 1, usage: 'name <name>  listener name in stats and logs', parse(o, [v]) { o.name = v; } },
  {
    name: 'backlog', args: 1, usage: 'backlog <n>  listen(2) backlog',
    parse(o, [v]) { const n = parseInteger(v, 'backlog', 1, 1 << 20); if (!n.ok) return n.error; o.backlog = n.value; },
  },
  {
    name: 'maxconn', args: 1, usage: 'maxconn <n>  concurrent connections on this listener',
    parse(o, [v]) { const n = parseInteger(v, 'maxconn', 0, 10_000_000); if (!n.ok) return n.error; o.maxconn = n.value; },
  },
  {
    name: 'mode', args: 1, usage: 'mode <octal>  UNIX socket file mode',
    parse(o, [v]) { const m = parseFileMode(v); if (!m.ok) return m.error; o.mode = m.value; },
  },
  idKeyword('uid'), idKeyword('gid'), idKeyword('user'), idKeyword('group'),
  { name: 'v6only', args: 0, usage: 'v6only  an IPv6 wildcard bind does not accept IPv4', parse(o) { o.v6only = true; } },
  { name: 'v4v6', args: 0, usage: 'v4v6  an IPv6 wildcard bind also accepts IPv4 (default)', parse(o) { o.v6only = false; } },
  {
    name: 'accept-proxy', args: 0,
    usage: 'accept-proxy  connections must start with a PROXY protocol v1 or v2 header; its addresses are the client\'s',
    parse(o) { o.acceptProxy = true; },
  },
]);

// HAProxy bind keywords that other issues will bring.
registerUnsupportedLine('bind', [
  'npn', 'tfo', 'transparent', 'interface', 'namespace', 'defer-accept',
  'mss', 'process', 'thread', 'tcp-ut', 'accept-netscaler-cip', 'allow-0rtt', 'ca-ignore-err', 'crt-ignore-err',
  'ecdhe', 'expose-fd', 'force-sslv3', 'force-tlsv10', 'force-tlsv11', 'force-tlsv12', 'force-tlsv13', 'generate-certificates',
  'gid', 'id', 'level', 'severity-output', 'nice', 'no-ca-names', 'no-sslv3', 'no-tls-tickets', 'no-tlsv10', 'no-tlsv11',
  'no-tlsv12', 'no-tlsv13', 'prefer-client-ciphers', 'proto', 'quic-cc-algo', 'quic-force-retry', 'shards', 'sigalgs',
  'client-sigalgs', 'ca-sign-file', 'ca-sign-pass', 'ca-verify-file',
]);
