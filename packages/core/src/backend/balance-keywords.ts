/**
 * Keywords of load balancing (configuration.txt 4.2): `balance`,
 * `hash-type`, `hash-balance-factor`, `option allbackups`, parsed as
 * HAProxy 2.6's backend_parse_balance() and cfgparse-listen.c, with its
 * error texts. Where HAProxy silently accepts junk (`balance roundrobin
 * extra`, `balance randomfoo`, `hash-balance-factor abc`, `uri len 5x`) we
 * refuse it.
 *
 * After parsing, finalizeBalance() applies HAProxy's proxy_cfg_ensure_no_http():
 * an algorithm that needs HTTP (uri, url_param, hdr) in a backend that is
 * not `mode http` becomes roundrobin, with its warning; and checks the
 * expression of `balance hash`.
 */
import { registerKeywords, type KeywordContext, type ParseState, type SectionKind } from '../registry';
import { AT_HTTP_REQ, AT_REQ_CNT, compileSampleExpr } from '../rules/sample';
import { newBalanceConfig, needsHttp, type BalanceConfig, type HashFunctionName } from './lb-config';

const BE: SectionKind[] = ['defaults', 'backend', 'listen'];

const ALGOS_TEXT = "only supports 'roundrobin', 'static-rr', 'leastconn', 'first', 'source', 'uri', 'url_param', 'hdr(name)', 'rdp-cookie(name)', 'random' and 'hash <expr>' options.";

/** A positive decimal integer, as atoi() > 0 but without trailing junk; 0 when not. */
function positive(v: string | undefined): number {
  if (v === undefined || !/^\+?\d+$/.test(v)) return 0;
  const n = Number(v);
  return n > 0 && n <= 0x7fffffff ? n : 0;
}

/** The algorithm's own settings reset (HAProxy clears BE_LB_ALGO and its args); hash-type, factor and allbackups stay. */
function resetAlgo(b: BalanceConfig, file: string, line: number): BalanceConfig {
  const d = newBalanceConfig();
  return { ...d, hashType: b.hashType, hashFunction: b.hashFunction, avalanche: b.avalanche, balanceFactor: b.balanceFactor, allBackups: b.allBackups, file, line };
}

/** backend_parse_balance(): returns an error text, or nothing once `b` is set. */
export function parseBalance(args: readonly string[], b: BalanceConfig): string | void {
  const a0 = args[0];
  const noMore = (from: number): string | void => {
    if (args.length > from) return `${a0} takes no other argument (got '${args[from]}').`;
  };
  if (a0 === undefined) { b.algo = 'roundrobin'; return; }
  if (a0 === 'roundrobin' || a0 === 'static-rr' || a0 === 'first' || a0 === 'leastconn' || a0 === 'source') {
    b.algo = a0;
    return noMore(1);
  }
  if (a0 === 'random' || a0.startsWith('random(')) {
    b.algo = 'random';
    b.draws = 2;
    if (a0.length > 6 && a0 !== 'random()') {
      // strtol(…, 0): decimal or 0x hexadecimal, then ')'.
      const inner = a0.slice(7);
      const num = /^\s*(0x[0-9a-fA-F]+|[+-]?\d+)/.exec(inner)?.[0] ?? '';
      const rest = inner.slice(num.length);
      if (rest === '') return 'random : missing closing parenthesis.';
      if (rest[0] !== ')') return `random : unexpected character '${rest[0]}' after argument.`;
      if (rest.length > 1) return `random : unexpected text '${rest.slice(1)}' after ')'.`;
      const n = Number(num.trim());
      if (!(n >= 1)) return 'random : number of draws must be at least 1.';
      b.draws = Math.min(n, 0x7fffffff);
    }
    return noMore(1);
  }
  if (a0 === 'uri') {
    b.algo = 'uri';
    for (let i = 1; i < args.length;) {
      const w = args[i];
      if (w === 'len' || w === 'depth') {
        const n = positive(args[i + 1]);
        if (n === 0) return `uri : '${w}' expects a positive integer (got '${args[i + 1] ?? ''}').`;
        if (w === 'len') b.uriLen = n; else b.uriDepth = n;
        i += 2;
      } else if (w === 'whole') { b.uriWhole = true; i++; }
      else if (w === 'path-only') { b.uriPathOnly = true; i++; }
      else return `uri only accepts parameters 'len', 'depth', 'path-only', and 'whole' (got '${w}').`;
    }
    return;
  }
  if (a0 === 'url_param') {
    if (args[1] === undefined || args[1] === '') return 'url_param requires an URL parameter name.';
    b.algo = 'url_param';
    b.arg = args[1];
    if (args.length > 2) {
      if (args[2] !== 'check_post') return `url_param only accepts 'check_post' modifier (got '${args[2]}').`;
      b.checkPost = true;
      // `check_post <max_wait>`: HAProxy 2.6 ignores the value (the body is
      // read up to a buffer); a number is accepted for old configurations.
      if (args.length > 3 && !/^\d+$/.test(args[3])) return `url_param check_post : '<max_wait>' expects an integer (got '${args[3]}').`;
      if (args.length > 4) return `url_param takes no other argument (got '${args[4]}').`;
    }
    return;
  }
  if (a0 === 'hash') {
    if (args[1] === undefined || args[1] === '') return 'hash requires a sample expression.';
    b.algo = 'hash';
    b.arg = args[1];
    return noMore(2);
  }
  if (a0.startsWith('hdr(')) {
    const end = a0.indexOf(')');
    if (end <= 4) return 'hdr requires an http header field name.';
    if (end !== a0.length - 1) return `hdr(name) : unexpected text '${a0.slice(end + 1)}' after ')'.`;
    b.algo = 'hdr';
    b.arg = a0.slice(4, end).toLowerCase();
    if (args.length > 1) {
      if (args[1] !== 'use_domain_only') return `${a0} only accepts 'use_domain_only' modifier (got '${args[1]}').`;
      b.domainOnly = true;
    }
    return noMore(2);
  }
  if (a0.startsWith('rdp-cookie')) {
    let name = 'mstshash';
    if (a0.length > 10) {
      const end = a0.indexOf(')');
      if (a0[10] !== '(' || end <= 11) return 'rdp-cookie : missing cookie name.';
      if (end !== a0.length - 1) return `rdp-cookie : unexpected text '${a0.slice(end + 1)}' after ')'.`;
      name = a0.slice(11, end);
    }
    b.algo = 'rdp-cookie';
    b.arg = name;
    return noMore(1);
  }
  return ALGOS_TEXT;
}

const HASH_FUNCTIONS: readonly string[] = ['sdbm', 'djb2', 'wt6', 'crc32'];

/** cfgparse-listen.c "hash-type": returns an error text, or nothing once `b` is set. */
export function parseHashType(args: readonly string[], b: BalanceConfig): string | void {
  const [method, fn, mod] = args;
  if (method === 'avalanche') return "experimental feature 'hash-type avalanche' is not supported anymore, please use 'hash-type map-based sdbm avalanche' instead.";
  if (method !== 'consistent' && method !== 'map-based') return "only supports 'consistent' and 'map-based'.";
  b.hashType = method;
  b.avalanche = false;
  b.hashFunction = 'sdbm';
  // Consistent hashing without a function: sdbm with avalanche.
  if (fn === undefined) { b.avalanche = method === 'consistent'; return; }
  if (!HASH_FUNCTIONS.includes(fn)) return "only supports 'sdbm', 'djb2', 'crc32', or 'wt6' hash functions.";
  b.hashFunction = fn as HashFunctionName;
  if (mod === undefined) return;
  if (mod !== 'avalanche') return "only supports 'avalanche' as a modifier for hash functions.";
  b.avalanche = true;
  if (args.length > 3) return `unexpected argument '${args[3]}'.`;
}

function balanceOf(ctx: KeywordContext): BalanceConfig {
  return ctx.proxy!.balance;
}

registerKeywords([
  {
    name: 'balance', sections: BE,
    usage: 'balance roundrobin|static-rr|leastconn|first|source|random[(<draws>)]|uri [whole] [len <n>] [depth <n>] [path-only]|url_param <name> [check_post]|hdr(<name>) [use_domain_only]|rdp-cookie[(<name>)]|hash <expr>  the load-balancing algorithm',
    parse(ctx) {
      const b = resetAlgo(balanceOf(ctx), ctx.file, ctx.line);
      const err = parseBalance(ctx.args, b);
      if (err) return ctx.error(err);
      ctx.proxy!.balance = b;
    },
  },
  {
    name: 'hash-type', sections: BE,
    usage: 'hash-type map-based|consistent [sdbm|djb2|wt6|crc32 [avalanche]]  how hash-based algorithms map a hash to a server',
    parse(ctx) {
      const b = { ...balanceOf(ctx) };
      const err = parseHashType(ctx.args, b);
      if (err) return ctx.error(err);
      ctx.proxy!.balance = b;
    },
  },
  {
    name: 'hash-balance-factor', sections: BE,
    usage: 'hash-balance-factor <percent>  bounded loads for consistent hashing and random: no server above this share of the average (0 = off, else > 100)',
    parse(ctx) {
      const v = ctx.args[0];
      if (v === undefined || v === '') return ctx.error('expects an integer argument.');
      if (!/^\d+$/.test(v) || Number(v) > 0x7fffffff) return ctx.error(`expects an integer argument (got '${v}').`);
      const n = Number(v);
      if (n !== 0 && n <= 100) return ctx.error('must be 0 or greater than 100.');
      if (ctx.args.length > 1) return ctx.error(`unexpected argument '${ctx.args[1]}'.`);
      balanceOf(ctx).balanceFactor = n;
    },
  },
  {
    name: 'option allbackups', sections: BE, negatable: true,
    usage: '[no] option allbackups  when no active server is usable, balance over every usable backup, not only the first',
    parse(ctx) {
      if (ctx.args.length > 0) return ctx.error(`'option allbackups' cannot handle unexpected argument '${ctx.args[0]}'.`);
      balanceOf(ctx).allBackups = !ctx.negated;
    },
  },
]);

/**
 * After parsing: layer-7 algorithms outside `mode http` fall back to
 * roundrobin with HAProxy's warning (proxy_cfg_ensure_no_http()); the
 * expression of `balance hash` must compile.
 */
export function finalizeBalance(state: ParseState): void {
  for (const p of state.proxies) {
    if (!p.cap.be) continue;
    const b = p.balance;
    if (p.mode !== 'http' && needsHttp(b.algo)) {
      if (!p.disabled) state.diag.warn(p.file, p.line, '', `Layer 7 hash not possible for ${p.cap.fe ? 'listen' : 'backend'} '${p.name}' (needs 'mode http'). Falling back to round robin.`);
      p.balance = { ...resetAlgo(b, b.file, b.line), algo: 'roundrobin' };
      continue;
    }
    if (b.algo === 'hash') {
      const e = compileSampleExpr(b.arg, { proxy: p, proxies: state.proxies, file: () => undefined, at: AT_REQ_CNT | AT_HTTP_REQ, where: 'balance hash' });
      if (typeof e === 'string') state.diag.error(b.file, b.line, 'balance', `failed to parse 'balance hash' expression '${b.arg}': ${e}`);
    }
  }
}
