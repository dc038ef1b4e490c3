/**
 * `global` SSL defaults (configuration.txt 3.1): `ssl-default-bind-ciphers`,
 * `-ciphersuites`, `-curves`, `-options` for every `bind ... ssl`, the
 * `ssl-default-server-*` equivalents for every `server ... ssl`, and
 * `ssl-server-verify none|required` (the default of `verify` on servers).
 * A bind or server line's own options win over these.
 */
import { registerKeywords, type KeywordContext } from '../registry';
import type { SslDefaults, GlobalConfig } from '../config/compiled';

const VERSIONS = ['TLSv1.0', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;

/** The `ssl-default-*-options` words we can apply, as HAProxy spells them. */
function parseOptions(d: SslDefaults, args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === 'ssl-min-ver' || a === 'ssl-max-ver') {
      const v = args[++i];
      if (!(VERSIONS as readonly (string | undefined)[]).includes(v)) return `'${a}' expects one of ${VERSIONS.join(', ')}`;
      if (a === 'ssl-min-ver') d.sslMinVer = v as typeof VERSIONS[number]; else d.sslMaxVer = v as typeof VERSIONS[number];
      continue;
    }
    // no-tlsvXY below the highest allowed raise the minimum, as HAProxy's method mask does.
    const m = /^no-tlsv1([0-3])$/.exec(a);
    if (m) {
      const idx = Number(m[1]);
      const next = VERSIONS[idx + 1];
      if (next === undefined) d.sslMaxVer = 'TLSv1.2';
      else if (!d.sslMinVer || VERSIONS.indexOf(d.sslMinVer) < idx + 1) d.sslMinVer = next;
      continue;
    }
    if (a === 'no-sslv3') continue; // Node never speaks SSLv3.
    return `option '${a}' is not supported yet (supported: ssl-min-ver, ssl-max-ver, no-sslv3, no-tlsv10..no-tlsv13)`;
  }
  return undefined;
}

function target(g: GlobalConfig, side: 'bind' | 'server'): SslDefaults {
  return side === 'bind' ? (g.sslDefaultBind ??= {}) : (g.sslDefaultServer ??= {});
}

function one(side: 'bind' | 'server', word: 'ciphers' | 'ciphersuites' | 'curves', doc: string) {
  const name = `ssl-default-${side}-${word}`;
  return {
    name, sections: ['global' as const],
    usage: `${name} <list>  ${doc}`,
    parse(ctx: KeywordContext) {
      if (ctx.args.length !== 1) return ctx.error(`'${name}' expects one argument`);
      target(ctx.state.global, side)[word] = ctx.args[0];
    },
  };
}

registerKeywords([
  one('bind', 'ciphers', 'default TLS 1.2 cipher list of bind lines with ssl'),
  one('bind', 'ciphersuites', 'default TLS 1.3 cipher suites of bind lines with ssl'),
  one('bind', 'curves', 'default curves of bind lines with ssl'),
  one('server', 'ciphers', 'default TLS 1.2 cipher list of servers with ssl'),
  one('server', 'ciphersuites', 'default TLS 1.3 cipher suites of servers with ssl'),
  ...(['bind', 'server'] as const).map(side => ({
    name: `ssl-default-${side}-options`, sections: ['global' as const],
    usage: `ssl-default-${side}-options [ssl-min-ver <v>] [ssl-max-ver <v>] [no-tlsv1x]...  default TLS versions of ${side} lines with ssl`,
    parse(ctx: KeywordContext) {
      if (ctx.args.length === 0) return ctx.error(`'ssl-default-${side}-options' expects options`);
      const err = parseOptions(target(ctx.state.global, side), ctx.args);
      if (err) return ctx.error(err);
    },
  })),
  {
    name: 'ssl-server-verify', sections: ['global'],
    usage: 'ssl-server-verify none|required  default of verify on servers with ssl (required)',
    parse(ctx: KeywordContext) {
      const v = ctx.args[0];
      if (ctx.args.length !== 1 || (v !== 'none' && v !== 'required')) return ctx.error("'ssl-server-verify' expects 'none' or 'required'");
      ctx.state.global.sslServerVerify = v;
    },
  },
]);
