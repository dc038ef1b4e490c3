/**
 * Cookie-based persistence (configuration.txt 4.2 `cookie`, server
 * `cookie`, `dynamic-cookie-key`, `option persist`, `force-persist`,
 * `ignore-persist`) and the two cookie characters of the termination state
 * (8.5), as HAProxy 2.6 does them:
 *
 * - `force-persist` / `ignore-persist` are evaluated once the backend is
 *   known, first matching rule wins (stream.c process_switching_rules).
 * - `use-server` rules come first (process_server_rules); a rule naming a
 *   server that is down is skipped unless `option persist` or a matching
 *   force-persist says otherwise. Then the request's Cookie fields are
 *   analysed (http_ana.c http_manage_client_side_cookies): the first server
 *   whose `cookie` value matches and is up (or down with persist/force)
 *   gets the request without the balancer (SF_DIRECT). `insert indirect`
 *   removes the cookie from what the server sees, `prefix` removes
 *   `<server>~`; maxidle/maxlife dates (`NAME=SRV|<last>|<first>`, 30-bit
 *   base64 of the date in 4-second units) older than allowed make the
 *   cookie count as absent.
 * - On the server's response (http_manage_server_side_cookies, after the
 *   http-response rules): its own persistence cookie is deleted (insert, or
 *   indirect on a direct request), rewritten (rewrite) or prefixed
 *   (prefix), unless `preserve`; then `insert` adds a Set-Cookie when the
 *   client did not come with the right one or a date must be refreshed,
 *   with `Cache-Control: private` under `nocache` for a cacheable response
 *   (http_check_response_for_cacheability, as of haproxy 2.6.12).
 *
 * Order difference: the stream serialises the request head before it
 * evaluates `use-server`, so a use-server condition sees the Cookie field
 * after indirect/prefix stripping (HAProxy evaluates use-server first).
 *
 * Hooks for the retry logic (HAProxy's stream_choose_redispatch and
 * srv_redispatch_connect): redispatchForbidden() (a force-persist matched:
 * never redispatch) and directTo() (the server came from use-server or the
 * cookie: `option redispatch` decides whether a failure may leave it).
 * Redispatching itself needs no call here: a response from another server
 * than the persisted one is not direct, so the new server's cookie is set.
 */
import { registerKeywords, registerLineKeywords, type KeywordContext, type ParseState } from '../registry';
import type { CookieConfig, ProxyConfig, ServerConfig, PersistRuleSource } from '../config/compiled';
import type { ProxyRuntime, ServerRuntime } from '../engine/proxy-runtime';
import { serverUp } from '../proxy/server-state';
import { AclScope, parseCondition, ACL_PASS, type Condition } from '../rules/acl';
import { pickUseServer } from '../rules/rule-set';
import { AT_ANY, AT_HTTP_REQ, AT_REQ_CNT, type CompileEnv, type SampleContext } from '../rules/sample';
import { type RequestHead, type ResponseHead, METH_GET, METH_HEAD, METH_OPTIONS, METH_TRACE, METH_POST } from './h1';
import { type HeaderList, isValidHeaderValue, valueElementEnd } from './headers';

/* ---------------- cookie options (HAProxy's PR_CK_*) ---------------- */

export const CK_RW = 0x01;
export const CK_IND = 0x02;
export const CK_INS = 0x04;
export const CK_PFX = 0x08;
/** Any of these makes the log show the cookie characters. */
export const CK_ANY = CK_RW | CK_IND | CK_INS | CK_PFX;
export const CK_NOC = 0x10;
export const CK_POST = 0x20;
export const CK_PSV = 0x40;
export const CK_HTTPONLY = 0x80;
export const CK_SECURE = 0x100;
export const CK_DYNAMIC = 0x200;

/* Request cookie states (TX_CK_*), in the order of the log letters "NIDVEOU". */
export const TXCK_NONE = 0;
export const TXCK_INVALID = 1;
export const TXCK_DOWN = 2;
export const TXCK_VALID = 3;
export const TXCK_EXPIRED = 4;
export const TXCK_OLD = 5;
export const TXCK_UNUSED = 6;
/* Response cookie states (TX_SCK_*), in the order of "NPDIRU". */
export const SCK_NONE = 0;
export const SCK_FOUND = 1;
export const SCK_DELETED = 2;
export const SCK_INSERTED = 3;
export const SCK_REPLACED = 4;
export const SCK_UPDATED = 5;

const CK_LETTERS = 'NIDVEOU';
const SCK_LETTERS = 'NPDIRU';
/** The 42 possible `%tsc` cookie pairs, built once (no per-log concatenation). */
const FLAG_PAIRS: string[] = [];
for (let a = 0; a < 7; a++) for (let b = 0; b < 6; b++) FLAG_PAIRS.push(CK_LETTERS[a] + SCK_LETTERS[b]);

/** The set-cookie's "delete" form for a server without a cookie value (http_ana.c). */
const EXPIRED_COOKIE = '=; Expires=Thu, 01-Jan-1970 00:00:01 GMT; path=/';

/* ---------------- dates: 30-bit values in 5 base64 characters ---------------- */

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64REV = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) B64REV[B64.charCodeAt(i)] = i;

/** s30tob64(): the low 30 bits of `v` as 5 base64 characters, most significant first. */
export function s30tob64(v: number): string {
  let out = '';
  for (let shift = 24; shift >= 0; shift -= 6) out += B64[(v >>> shift) & 0x3f];
  return out;
}

/** b64tos30(): 5 base64 characters of `s` at `p` as a 30-bit value, -1 when one is not base64. */
export function b64tos30(s: string, p: number): number {
  let out = 0;
  for (let i = 0; i < 5; i++) {
    const c = s.charCodeAt(p + i);
    const b = c < 128 ? B64REV[c] : -1;
    if (b < 0) return -1;
    out = out * 64 + b;
  }
  return out;
}

/** The date HAProxy writes in a cookie for `now` (seconds): rounded up to 4 s, in 4-second units. */
export function cookieDate(now: number): number {
  return Math.floor((now + 3) / 4);
}

/* ---------------- dynamic cookies (server.c srv_set_dyncookie) ---------------- */

const M64 = (1n << 64n) - 1n;
const XP1 = 11400714785074694791n;
const XP2 = 14029467366897019727n;
const XP3 = 1609587929392839161n;
const XP4 = 9650029242287828579n;
const XP5 = 2870177450012600261n;

function rotl(x: bigint, r: bigint): bigint {
  return ((x << r) | (x >> (64n - r))) & M64;
}

function xround(acc: bigint, input: bigint): bigint {
  return (rotl((acc + input * XP2) & M64, 31n) * XP1) & M64;
}

function le(b: Uint8Array, p: number, n: number): bigint {
  let v = 0n;
  for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[p + i]);
  return v;
}

/** XXH64 (xxHash specification), BigInt: it runs once per server at load. */
export function xxh64(b: Uint8Array, seed = 0n): bigint {
  const len = b.length;
  let p = 0;
  let h: bigint;
  if (len >= 32) {
    let v1 = (seed + XP1 + XP2) & M64, v2 = (seed + XP2) & M64, v3 = seed, v4 = (seed - XP1) & M64;
    for (; p + 32 <= len; p += 32) {
      v1 = xround(v1, le(b, p, 8)); v2 = xround(v2, le(b, p + 8, 8));
      v3 = xround(v3, le(b, p + 16, 8)); v4 = xround(v4, le(b, p + 24, 8));
    }
    h = (rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)) & M64;
    for (const v of [v1, v2, v3, v4]) h = (((h ^ xround(0n, v)) * XP1) + XP4) & M64;
  } else {
    h = (seed + XP5) & M64;
  }
  h = (h + BigInt(len)) & M64;
  for (; p + 8 <= len; p += 8) h = ((rotl(h ^ xround(0n, le(b, p, 8)), 27n) * XP1) + XP4) & M64;
  if (p + 4 <= len) { h = ((rotl(h ^ ((le(b, p, 4) * XP1) & M64), 23n) * XP2) + XP3) & M64; p += 4; }
  for (; p < len; p++) h = (rotl(h ^ ((BigInt(b[p]) * XP5) & M64), 11n) * XP1) & M64;
  h ^= h >> 33n; h = (h * XP2) & M64;
  h ^= h >> 29n; h = (h * XP3) & M64;
  h ^= h >> 32n;
  return h;
}

/**
 * The cookie HAProxy derives for a server under `cookie ... dynamic`:
 * XXH64 of the key, the address bytes and the port as 4 bytes in network
 * order, as 16 hex digits.
 */
export function dynamicCookie(key: string, ip: string, family: 4 | 6, port: number): string {
  const k = Buffer.from(key, 'latin1');
  const addr = family === 4 ? Buffer.from(ip.split('.').map(Number)) : ipv6Bytes(ip);
  const buf = Buffer.alloc(k.length + addr.length + 4);
  k.copy(buf, 0);
  addr.copy(buf, k.length);
  buf.writeUInt32BE(port >>> 0, k.length + addr.length);
  return xxh64(buf).toString(16).padStart(16, '0');
}

function ipv6Bytes(ip: string): Buffer {
  let head = ip, tail = '';
  const dc = ip.indexOf('::');
  if (dc >= 0) { head = ip.slice(0, dc); tail = ip.slice(dc + 2); }
  const parse = (s: string): number[] => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (g.includes('.')) { const v4 = g.split('.').map(Number); out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]); } else out.push(parseInt(g, 16));
    }
    return out;
  };
  const h = parse(head), t = parse(tail);
  const groups = dc >= 0 ? [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t] : h;
  const b = Buffer.alloc(16);
  for (let i = 0; i < 8; i++) b.writeUInt16BE(groups[i] ?? 0, i * 2);
  return b;
}

/* ---------------- keywords ---------------- */

const BE_SECTIONS = ['defaults', 'backend', 'listen'] as const;
const COOKIE_USAGE = 'cookie <name> [rewrite|insert|prefix] [indirect] [nocache] [postonly] [preserve] [httponly] [secure] [domain <d>]* [maxidle <t>] [maxlife <t>] [dynamic] [attr <v>]*';
const TIME_MAX = 0x7fffffff;

/**
 * parse_time_err() with seconds as the unit (maxidle, maxlife): the value
 * rounded up to whole seconds; a string is an error in HAProxy's words.
 */
export function parseSeconds(text: string, kw: string): number | string {
  const m = /^(\d+)(us|ms|s|m|h|d)?$/.exec(text);
  if (!m) {
    const bad = /^\d+/.exec(text);
    return `unexpected character '${text[bad ? bad[0].length : 0] ?? ''}' in argument to <${kw}>.`;
  }
  const v = Number(m[1]);
  const unit = m[2] ?? 's';
  // result = ceil(value * mult / div), as HAProxy computes it in integers.
  const mult = unit === 'm' ? 60 : unit === 'h' ? 3600 : unit === 'd' ? 86400 : 1;
  const div = unit === 'us' ? 1e6 : unit === 'ms' ? 1000 : 1;
  const r = Math.ceil((v * mult) / div);
  if (r > TIME_MAX) return `timer overflow in argument <${text}> to <${kw}>, maximum value is 2147483647 s (~68 years).`;
  return r;
}

/** invalid_domainchar(): letters, digits, '.', '_' and '-'. */
function badDomainChar(d: string): string | undefined {
  for (const c of d) if (!/[A-Za-z0-9._-]/.test(c)) return c;
  return undefined;
}

function parseCookie(ctx: KeywordContext): void {
  const a = ctx.args;
  if (a.length === 0 || a[0] === '') return ctx.error(`'cookie' expects <cookie_name> as argument.`);
  if (!isValidHeaderValue(a[0]) || /[\s;,=]/.test(a[0])) return ctx.error(`invalid cookie name '${a[0]}' (it must fit in a Cookie field: no spaces, ';', ',' or '=')`);
  // A `cookie` line replaces everything an earlier one (or the defaults) set.
  const c: CookieConfig = { file: ctx.file, line: ctx.line, name: a[0], opts: 0, domains: [], maxIdle: 0, maxLife: 0, attrs: [] };
  for (let i = 1; i < a.length; i++) {
    const w = a[i];
    switch (w) {
      case 'rewrite': c.opts |= CK_RW; break;
      case 'indirect': c.opts |= CK_IND; break;
      case 'insert': c.opts |= CK_INS; break;
      case 'nocache': c.opts |= CK_NOC; break;
      case 'postonly': c.opts |= CK_POST; break;
      case 'preserve': c.opts |= CK_PSV; break;
      case 'prefix': c.opts |= CK_PFX; break;
      case 'httponly': c.opts |= CK_HTTPONLY; break;
      case 'secure': c.opts |= CK_SECURE; break;
      case 'dynamic': c.opts |= CK_DYNAMIC; break;
      case 'domain': {
        const d = a[++i];
        if (d === undefined || d === '') return ctx.error(`'domain' expects <domain> as argument.`);
        if (!d.includes('.')) ctx.warn(`domain '${d}' contains no embedded dot, this configuration may not work properly (see RFC6265#5.2.3).`);
        const bad = badDomainChar(d);
        if (bad !== undefined) return ctx.error(`character '${bad}' is not permitted in domain name '${d}'.`);
        c.domains.push(d);
        break;
      }
      case 'maxidle':
      case 'maxlife': {
        const t = a[++i];
        if (t === undefined || t === '') return ctx.error(`'${w}' expects <${w === 'maxidle' ? 'idletime' : 'lifetime'}> in seconds as argument.`);
        const s = parseSeconds(t, w);
        if (typeof s === 'string') return ctx.error(s);
        if (w === 'maxidle') c.maxIdle = s; else c.maxLife = s;
        break;
      }
      case 'attr': {
        const v = a[++i];
        if (v === undefined || v === '') return ctx.error(`'attr' expects <value> as argument.`);
        for (let k = 0; k < v.length; k++) {
          const ch = v.charCodeAt(k);
          if (ch < 0x20 || ch === 0x7f || ch === 0x3b || ch > 0xff) {
            return ctx.error(`character '%x${ch.toString(16).toUpperCase().padStart(2, '0')}' is not permitted in attribute value.`);
          }
        }
        c.attrs.push(v);
        break;
      }
      default:
        return ctx.error(`'cookie' supports 'rewrite', 'insert', 'prefix', 'indirect', 'nocache', 'postonly', 'domain', 'maxidle', 'dynamic', 'maxlife' and 'attr' options.`);
    }
  }
  let bad = false;
  if ((c.opts & CK_RW) && (c.opts & CK_IND)) { ctx.error(`cookie 'rewrite' and 'indirect' modes are incompatible.`); bad = true; }
  const modes = c.opts & (CK_RW | CK_INS | CK_PFX);
  if (modes & (modes - 1)) { ctx.error(`cookie 'rewrite', 'insert' and 'prefix' modes are incompatible.`); bad = true; }
  if ((c.opts & (CK_PSV | CK_INS | CK_IND)) === CK_PSV) { ctx.error(`cookie 'preserve' requires at least 'insert' or 'indirect'.`); bad = true; }
  if (!bad) ctx.proxy!.cookie = c;
}

function parsePersistRule(ctx: KeywordContext, force: boolean): void {
  const a = ctx.args;
  if (a[0] !== 'if' && a[0] !== 'unless') return ctx.error(`'${ctx.keyword}' requires either 'if' or 'unless' followed by a condition.`);
  const p = ctx.proxy!;
  let acls = 0;
  for (const x of p.acls) if (x.origin === '') acls++;
  (p.persistRules ??= []).push({ file: ctx.file, line: ctx.line, force, cond: a, aclCount: acls });
}

registerKeywords([
  { name: 'cookie', sections: BE_SECTIONS, usage: `${COOKIE_USAGE}  cookie-based persistence`, parse: parseCookie },
  {
    name: 'dynamic-cookie-key', sections: BE_SECTIONS,
    usage: 'dynamic-cookie-key <string>  secret of the server cookies `cookie ... dynamic` derives from their address and port',
    parse(ctx) {
      if (ctx.args.length === 0 || ctx.args[0] === '') return ctx.error(`'dynamic-cookie-key' expects <secret_key> as argument.`);
      ctx.proxy!.dynamicCookieKey = ctx.args[0];
    },
  },
  {
    name: 'option persist', sections: BE_SECTIONS, negatable: true,
    usage: '[no] option persist  a persistence cookie (or use-server) naming a down server still sends the request there',
    parse(ctx) {
      if (ctx.args.length > 0) return ctx.error(`'option persist' takes no argument`);
      ctx.proxy!.options.persist = !ctx.negated;
    },
  },
  {
    name: 'force-persist', sections: ['backend', 'listen'],
    usage: 'force-persist { if | unless } <condition>  persistence (cookie, use-server) also to a down server; no redispatch',
    parse(ctx) { parsePersistRule(ctx, true); },
  },
  {
    name: 'ignore-persist', sections: ['backend', 'listen'],
    usage: 'ignore-persist { if | unless } <condition>  the persistence cookie is not used for this request',
    parse(ctx) { parsePersistRule(ctx, false); },
  },
]);

registerLineKeywords<{ cookie?: string }>('server', [{
  name: 'cookie', args: 1, defaultServer: true, usage: 'cookie <value>  the value of the persistence cookie naming this server',
  parse(o, [v]) {
    if (v === '') return `'cookie' expects <value> as argument.`;
    if (!isValidHeaderValue(v) || /[\s;,]/.test(v)) return `invalid cookie value '${v}' (it must fit in a Cookie field: no spaces, ';' or ',')`;
    o.cookie = v;
  },
}]);

/* ---------------- after parsing (master) ---------------- */

/**
 * After the addresses are resolved (config/compile.ts): HAProxy's warnings
 * for cookies outside `mode http` (ignored), the dynamic server cookies,
 * and the persist rules' conditions compiled once for their errors.
 */
export function finalizeCookies(state: ParseState, fileOf: (path: string) => string | undefined): void {
  const diag = state.diag;
  for (const p of state.proxies) {
    if (!p.cap.be) {
      p.cookie = null;
      p.persistRules = [];
      for (const s of p.servers) s.cookie = undefined;
      continue;
    }
    if (p.mode !== 'http') {
      const kind = p.cap.fe ? 'listen' : 'backend';
      if (p.cookie) {
        diag.warn(p.cookie.file, p.cookie.line, 'cookie', `cookie will be ignored for ${kind} '${p.name}' (needs 'mode http').`);
        p.cookie = null;
      }
      for (const s of p.servers) {
        if (s.cookie === undefined) continue;
        diag.warn(s.file, s.line, 'server', `${kind} '${p.name}' : ignoring cookie for server '${s.name}' as HTTP mode is disabled.`);
        s.cookie = undefined;
      }
    } else if (p.cookie && (p.cookie.opts & CK_DYNAMIC) && p.dynamicCookieKey) {
      setDynamicCookies(p, state);
    }
    const rules = p.persistRules ?? [];
    if (rules.length > 0) {
      const userlists = state.scratch.get('userlistNames') as ReadonlySet<string> | undefined;
      const env: CompileEnv = { proxy: p, proxies: state.proxies, file: fileOf, userlists, at: p.mode === 'http' ? AT_HTTP_REQ : AT_REQ_CNT, where: 'force-persist' };
      compilePersistRules(p, env, (r, msg) => diag.error(r.file, r.line, r.force ? 'force-persist' : 'ignore-persist', msg),
        (r, msg) => diag.warn(r.file, r.line, r.force ? 'force-persist' : 'ignore-persist', msg));
    }
  }
}

/** srv_set_dyncookie() for every server without its own `cookie`, with its duplicate warning. */
function setDynamicCookies(p: ProxyConfig, state: ParseState): void {
  const explicit = new Set<ServerConfig>();
  for (const s of p.servers) if (s.cookie !== undefined) explicit.add(s);
  for (const s of p.servers) {
    if (explicit.has(s)) continue;
    s.cookie = dynamicCookie(p.dynamicCookieKey!, s.ip, s.family, s.port);
    // HAProxy skips the check for a server in forced maintenance (`disabled`).
    if (s.disabled) continue;
    for (const o of p.servers) {
      if (o !== s && !o.disabled && o.cookie === s.cookie) {
        state.diag.warn(s.file, s.line, 'server', `We generated two equal cookies for two different servers. Please change the secret key for '${p.name}'.`);
        break;
      }
    }
  }
}

/* ---------------- what a worker runs ---------------- */

/** A compiled force-persist / ignore-persist rule. */
class PersistRule {
  constructor(readonly force: boolean, readonly cond: Condition) {}
}

function compilePersistRules(p: ProxyConfig, env: CompileEnv, error: (r: PersistRuleSource, m: string) => void, warn?: (r: PersistRuleSource, m: string) => void): PersistRule[] {
  const rules = p.persistRules ?? [];
  // The backend's own ACLs declared before the last rule; a separate scope
  // from the rule sets' (rules/rule-set.ts), built only for such backends.
  let upTo = 0;
  for (const r of rules) if (r.aclCount > upTo) upTo = r.aclCount;
  const scope = new AclScope({ ...env, at: AT_ANY, where: 'acl' });
  let n = 0;
  for (const a of p.acls) {
    if (a.origin !== '') continue;
    if (n++ >= upTo) break;
    scope.add(a); // errors are reported with the rule sets' compilation
  }
  const out: PersistRule[] = [];
  for (const r of rules) {
    const kw = r.force ? 'force-persist' : 'ignore-persist';
    const c = parseCondition(r.cond, scope, r.aclCount, { ...env, where: kw }, warn ? (m) => warn(r, m) : undefined);
    if (typeof c === 'string') { error(r, `error detected while parsing a '${kw}' rule : ${c}.`); continue; }
    out.push(new PersistRule(r.force, c));
  }
  return out;
}

/** The `cookie` of a backend, ready for the stream. */
class CookieRuntime {
  readonly name: string;
  readonly opts: number;
  readonly maxIdle: number;
  readonly maxLife: number;
  /** `; domain=…; HttpOnly; Secure; <attr>` as HAProxy appends them after `path=/`. */
  readonly attrs: string;
  /** The backend's servers in declaration order and their cookie values ('' = none). */
  readonly servers: readonly ServerRuntime[];
  readonly values: readonly string[];
  /** Whole Set-Cookie values without dates, by server index (the usual insert: no allocation). */
  readonly plain: readonly string[];

  constructor(c: CookieConfig, servers: readonly ServerRuntime[]) {
    this.name = c.name;
    this.opts = c.opts;
    this.maxIdle = c.maxIdle;
    this.maxLife = c.maxLife;
    let attrs = '';
    for (const d of c.domains) attrs += '; domain=' + d;
    if (c.opts & CK_HTTPONLY) attrs += '; HttpOnly';
    if (c.opts & CK_SECURE) attrs += '; Secure';
    for (const a of c.attrs) attrs += '; ' + a;
    this.attrs = attrs;
    this.servers = servers;
    this.values = servers.map(s => s.cfg.cookie ?? '');
    this.plain = this.values.map(v => v === '' ? c.name + EXPIRED_COOKIE + attrs : c.name + '=' + v + '; path=/' + attrs);
  }
}

/** Persistence settings of one backend: null on ProxyRuntime when it has none. */
export class PersistRuntime {
  constructor(
    /** `option persist`. */
    readonly optionPersist: boolean,
    readonly rules: readonly PersistRule[],
    /** `cookie`, mode http only. */
    readonly cookie: CookieRuntime | null,
  ) {}
}

/** Built by each worker for its ProxyRuntime (the master checked everything). */
export function buildPersist(be: ProxyRuntime): PersistRuntime | null {
  const cfg = be.cfg;
  if (!cfg.cap.be) return null;
  const c = cfg.mode === 'http' && cfg.cookie ? new CookieRuntime(cfg.cookie, be.servers) : null;
  const hasRules = (cfg.persistRules?.length ?? 0) > 0;
  if (c === null && !hasRules && !cfg.options.persist) return null;
  const rules = hasRules ? compilePersistRules(cfg, be.env(cfg.mode === 'http' ? AT_HTTP_REQ : AT_REQ_CNT, 'force-persist'), () => { /* checked by the master */ }) : [];
  return new PersistRuntime(cfg.options.persist === true, rules, c);
}

/** Per-transaction persistence state of a stream (HAProxy's SF_* and TX_CK flags). */
export class PersistTxn {
  /** The persist rules ran for this transaction. */
  ruled = false;
  /** SF_FORCE_PRST / SF_IGNORE_PRST. */
  force = false;
  ignore = false;
  /** SF_DIRECT: the server use-server or the cookie assigned; null when the balancer chose. */
  direct: ServerRuntime | null = null;
  /** TX_CK_* and TX_SCK_* (the log's cookie characters). */
  ck = TXCK_NONE;
  sck = SCK_NONE;
  /** The request's Cookie fields were analysed (values holds our cookie's values, in order). */
  analysed = false;
  /** use-server was evaluated (persistUseServer), before the cookie was stripped; its choice. */
  usedServerRules = false;
  useServer: ServerRuntime | null = null;
  readonly values: string[] = [];
  /** cookie_first_date / cookie_last_date of the request (seconds, 0 = none). */
  firstDate = 0;
  lastDate = 0;

  reset(): void {
    this.ruled = this.force = this.ignore = this.analysed = this.usedServerRules = false;
    this.direct = null;
    this.useServer = null;
    this.ck = TXCK_NONE;
    this.sck = SCK_NONE;
    if (this.values.length !== 0) this.values.length = 0;
    this.firstDate = this.lastDate = 0;
  }
}

/** A stream that takes part in persistence (the HTTP and TCP streams). */
export interface PersistHost extends SampleContext {
  persist: PersistTxn | null;
}

function txnOf(host: PersistHost): PersistTxn {
  let t = host.persist;
  if (t === null) { t = new PersistTxn(); host.persist = t; }
  return t;
}

/**
 * `use-server` before the cookie is analysed and stripped (HAProxy's
 * AN_REQ_SRV_RULES runs before http_process_request's cookie management),
 * so that a use-server condition sees the request's Cookie as the client
 * sent it. persistSelect then takes this choice.
 */
export function persistUseServer(host: PersistHost, be: ProxyRuntime): void {
  const br = be.rules;
  if (br === null || br.useServers.length === 0) return;
  const t = txnOf(host);
  if (!t.ruled) persistSwitched(host, be);
  t.useServer = pickUseServer(be, host, be.persist!.optionPersist || t.force);
  t.usedServerRules = true;
}

/** force-persist / ignore-persist of `be`, once the backend is known: the first matching rule decides. */
export function persistSwitched(host: PersistHost, be: ProxyRuntime): void {
  const t = txnOf(host);
  t.ruled = true;
  const rules = be.persist!.rules;
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i];
    if (r.cond.exec(host, true) !== ACL_PASS) continue;
    if (r.force) t.force = true; else t.ignore = true;
    return;
  }
}

/**
 * Whether the stream's persistence forbids a redispatch (a force-persist
 * matched: HAProxy's SF_FORCE_PRST disables it).
 */
export function redispatchForbidden(t: PersistTxn | null): boolean {
  return t !== null && t.force;
}

/** The server persistence (use-server, cookie) assigned to this transaction (SF_DIRECT), null if the balancer chose. */
export function directTo(t: PersistTxn | null): ServerRuntime | null {
  return t === null ? null : t.direct;
}

/* scanCookie()'s results: the name [scAttBeg, scAttEnd), the '=' at scEqual
 * (= scNext when there is none), the value [scValBeg, scValEnd) without
 * surrounding spaces, and where the next cookie's separator is. */
let scAttBeg = 0, scAttEnd = 0, scEqual = 0, scValBeg = 0, scValEnd = 0, scNext = 0;

/**
 * One `name=value` of a Cookie or Set-Cookie field from `from` (just past
 * the previous separator), as HAProxy's cookie managers cut it: the name
 * ends at '=', ';' or (with `commas`, a list of cookies) ','; a value runs
 * to the end of its element (quoted strings kept whole).
 */
function scanCookie(s: string, from: number, hdrEnd: number, commas: boolean): void {
  let attBeg = from;
  while (attBeg < hdrEnd && spht(s, attBeg)) attBeg++;
  let equal = attBeg, attEnd = attBeg;
  while (equal < hdrEnd) {
    const c = s.charCodeAt(equal);
    if (c === EQ || c === SEMI || (commas && c === COMMA)) break;
    equal++;
    if (c === SP || c === HT) continue;
    attEnd = equal;
  }
  scAttBeg = attBeg; scAttEnd = attEnd; scEqual = equal;
  if (equal < hdrEnd && s.charCodeAt(equal) === EQ) {
    let valBeg = equal + 1;
    while (valBeg < hdrEnd && spht(s, valBeg)) valBeg++;
    const next = valueElementEnd(s, valBeg, hdrEnd, true);
    let valEnd = next;
    while (valEnd > valBeg && spht(s, valEnd - 1)) valEnd--;
    scValBeg = valBeg; scValEnd = valEnd; scNext = next;
  } else {
    scValBeg = scValEnd = scNext = equal;
  }
}

/** How far squeezeEq() moved what followed the value's start (<= 0). */
let sqShift = 0;

/**
 * `s` with the spaces between a cookie's name (ending at attEnd), its '='
 * (at equal) and its value (from valBeg) removed: the '=' lands at attEnd
 * and the value at attEnd + 1; sqShift says how far the rest moved.
 */
function squeezeEq(s: string, attEnd: number, equal: number, valBeg: number): string {
  sqShift = attEnd + 1 - valBeg;
  return s.slice(0, attEnd) + '=' + s.slice(valBeg);
}

/* ---------------- request ---------------- */

const SP = 0x20, HT = 0x09, EQ = 0x3d, SEMI = 0x3b, COMMA = 0x2c, DOLLAR = 0x24;

function spht(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  return c === SP || c === HT;
}

/** Result of delHdrValue. */
let delFrom = 0;

/**
 * http_del_hdr_value(): removes the value between delimiters `from` and
 * `next` of `s` (keeping one delimiter and one space where HAProxy does);
 * returns the new string, the new `from` in delFrom.
 */
function delHdrValue(s: string, from: number, next: number): string {
  const end = s.length;
  let prev = from;
  let mid = '';
  if (prev === 0) {
    if (next < end) next++;
    while (next < end && spht(s, next)) next++;
    delFrom = 0;
    return s.slice(next);
  }
  while (prev > 0 && spht(s, prev - 1)) prev--;
  delFrom = prev;
  let w = prev;
  if (next < end) {
    mid = s[next];
    w++; next++;
    if (w + 1 < next) { mid += ' '; w++; }
    while (next < end && spht(s, next)) next++;
  }
  return s.slice(0, prev) + mid + s.slice(next);
}

/**
 * http_manage_client_side_cookies(): every Cookie field of the request,
 * cookie by cookie. Our cookie's values are recorded for persistSelect;
 * `insert indirect` removes it, `prefix` removes its `<server>~`; spaces
 * around '=' go, as in HAProxy. Returns whether a field changed.
 */
export function requestCookies(host: PersistHost, be: ProxyRuntime, h: RequestHead): boolean {
  const ck = be.persist!.cookie!;
  const t = txnOf(host);
  t.analysed = true;
  const list = h.headers;
  const name = ck.name;
  const pfx = (ck.opts & CK_PFX) !== 0;
  const indirectInsert = (ck.opts & (CK_INS | CK_IND)) === (CK_INS | CK_IND);
  let changed = false;
  for (let i = 0; i < list.count; i++) {
    if (!list.nameIs(i, 'cookie')) continue;
    const orig = list.value(i);
    let s = orig;
    let hdrEnd = s.length;
    let del = -1;
    let preserve = false;
    let first = true;
    let next = 0;
    for (let prev = 0; prev < hdrEnd; prev = next) {
      scanCookie(s, first ? prev : prev + 1, hdrEnd, true);
      first = false;
      const attBeg = scAttBeg, attEnd = scAttEnd;
      let equal = scEqual, valBeg = scValBeg, valEnd = scValEnd;
      next = scNext;
      // `$Version`-style attributes go with the cookie before them.
      if (s.charCodeAt(attBeg) === DOLLAR) continue;
      if (equal === next) {
        // No '=': not a cookie, kept; a deletion pending before it is done now.
        preserve = true;
        if (del >= 0) {
          const l = s.length;
          s = delHdrValue(s, del, prev);
          const delta = s.length - l;
          next += delta; hdrEnd += delta;
          del = -1;
        }
        continue;
      }
      if (attEnd !== equal || valBeg > equal + 1) {
        // Spaces around '=' are removed (HAProxy does it for captures and rewrites).
        s = squeezeEq(s, attEnd, equal, valBeg);
        equal = attEnd; valBeg = attEnd + 1;
        valEnd += sqShift; next += sqShift; hdrEnd += sqShift;
      }
      if (attEnd - attBeg === name.length && s.startsWith(name, attBeg)) {
        t.values.push(s.slice(valBeg, valEnd));
        let delim = valEnd;
        if (pfx) {
          delim = s.indexOf('~', valBeg);
          if (delim < 0 || delim > valEnd) delim = valEnd;
        }
        if (pfx && delim !== valEnd) {
          // NAME=SRV~VALUE: the server sees NAME=VALUE.
          s = s.slice(0, valBeg) + s.slice(delim + 1);
          const delta = valBeg - (delim + 1);
          next += delta; hdrEnd += delta;
          del = -1;
          preserve = true;
        } else if (del < 0 && indirectInsert) {
          del = prev;
        }
      } else {
        preserve = true;
        if (del >= 0) {
          const l = s.length;
          s = delHdrValue(s, del, prev);
          const delta = s.length - l;
          next += delta; hdrEnd += delta;
          del = -1;
        }
      }
    }
    if (del >= 0) hdrEnd = preserve ? del : 0;
    if (hdrEnd === orig.length && s === orig) continue;
    changed = true;
    if (hdrEnd === 0) { list.removeAt(i); i--; } else list.setValueUnchecked(i, hdrEnd === s.length ? s : s.slice(0, hdrEnd));
  }
  if (changed) h.headersChanged();
  return changed;
}

/**
 * The server of this transaction before the balancer (null: let it
 * choose): `use-server` (a down server only with option persist or a
 * matching force-persist), else the request's persistence cookie. Sets
 * the log's request cookie character.
 */
export function persistSelect(host: PersistHost, be: ProxyRuntime): ServerRuntime | null {
  const ps = be.persist!;
  const t = txnOf(host);
  if (!t.ruled) persistSwitched(host, be);
  const downOk = ps.optionPersist || t.force;
  const br = be.rules;
  let srv = t.usedServerRules ? t.useServer : br !== null && br.useServers.length > 0 ? pickUseServer(be, host, downOk) : null;
  if (srv !== null) t.direct = srv;
  if (ps.cookie !== null && t.analysed) {
    const ck = ps.cookie;
    // Dates only matter with maxidle/maxlife: no clock read otherwise.
    const now = (ck.maxIdle | ck.maxLife) !== 0 ? Math.floor(Date.now() / 1000) : 0;
    const c = cookieServer(t, ck, srv !== null, downOk, now);
    if (srv === null && c !== null) { srv = c; t.direct = c; }
  }
  return srv;
}

/**
 * The cookie part of http_manage_client_side_cookies, for each value of
 * our cookie in order: dates, expiry, then the first server with that
 * value that is up (or down under persist/force-persist). `assigned`:
 * use-server already chose (the cookie is then reported unused).
 */
export function cookieServer(t: PersistTxn, ck: CookieRuntime, assigned: boolean, downOk: boolean, now: number): ServerRuntime | null {
  const vals = t.values;
  const pfx = (ck.opts & CK_PFX) !== 0;
  let found: ServerRuntime | null = null;
  for (let k = 0; k < vals.length; k++) {
    const v = vals[k];
    let delim = v.length;
    if (pfx) {
      const d = v.indexOf('~');
      if (d >= 0) delim = d;
    } else {
      let bar = v.indexOf('|');
      if (bar >= 0) {
        delim = bar++;
        if (v.length - bar >= 5) {
          const x = b64tos30(v, bar);
          if (x > 0) t.lastDate = x * 4;
        }
        const bar2 = v.indexOf('|', bar);
        if (bar2 >= 0 && v.length - bar2 > 5) {
          const x = b64tos30(v, bar2 + 1);
          if (x > 0) t.firstDate = x * 4;
        }
      }
    }
    // Dates are compared as HAProxy does: 32-bit signed differences.
    if (t.firstDate !== 0 && ck.maxLife !== 0 && (((now - t.firstDate) | 0) > ck.maxLife || ((t.firstDate - now) | 0) > 86400)) {
      t.ck = TXCK_OLD;
      delim = 0;
      t.firstDate = t.lastDate = 0;
    } else if (t.lastDate !== 0 && ck.maxIdle !== 0 && (((now - t.lastDate) | 0) > ck.maxIdle || ((t.lastDate - now) | 0) > 86400)) {
      t.ck = TXCK_EXPIRED;
      delim = 0;
      t.firstDate = t.lastDate = 0;
    }
    let srv: ServerRuntime | null = null;
    // An empty value matches nobody, so that a client that learnt the empty
    // cookie of a cookie-less backup server does not stick to it.
    if (delim !== 0 && !t.ignore && !assigned) {
      const servers = ck.servers, values = ck.values;
      for (let i = 0; i < servers.length; i++) {
        const c = values[i];
        if (c.length !== delim || c === '' || !v.startsWith(c)) continue;
        const s = servers[i];
        const up = serverUp(s.state);
        if (up || downOk) {
          t.ck = up ? TXCK_VALID : TXCK_DOWN;
          srv = s;
          break;
        }
        // Down: noted, and another server with the same value may do.
        t.ck = TXCK_DOWN;
      }
    }
    if (srv !== null) { found = srv; assigned = true; continue; }
    if (t.ck === TXCK_NONE) t.ck = t.ignore || assigned ? TXCK_UNUSED : TXCK_INVALID;
  }
  return found;
}

/**
 * A request denied or tarpitted by a rule: HAProxy still analyses its
 * cookies, for the log (http_process_req_common, `deny:` / `tarpit:`).
 */
export function cookieDenied(host: PersistHost, px: ProxyRuntime, h: RequestHead): void {
  const ck = px.persist!.cookie!;
  const t = txnOf(host);
  if (t.analysed) return;
  requestCookies(host, px, h);
  const c = cookieServer(t, ck, false, px.persist!.optionPersist || t.force, Math.floor(Date.now() / 1000));
  if (c !== null) t.direct = c;
}

/* ---------------- response ---------------- */

/** Statuses cacheable by default (RFC 7231 6.1), as http_wait_for_response lists them. */
function cacheableStatus(st: number): boolean {
  return st === 200 || st === 203 || st === 204 || st === 206 || st === 300 || st === 301 ||
    st === 404 || st === 405 || st === 410 || st === 414 || st === 501;
}

function eqi(s: string, p: number, e: number, word: string): boolean {
  return e - p === word.length && startsi(s, p, word);
}

function startsi(s: string, p: number, word: string): boolean {
  if (s.length - p < word.length) return false;
  for (let k = 0; k < word.length; k++) {
    let c = s.charCodeAt(p + k);
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    if (c !== word.charCodeAt(k)) return false;
  }
  return true;
}

/**
 * Whether a response may be stored by a cache (HAProxy's TX_CACHEABLE):
 * a safe method, a status cacheable by default, then its Pragma and
 * Cache-Control fields (http_check_response_for_cacheability as in haproxy
 * 2.6.12: without freshness information nor validator it is not).
 */
export function responseCacheable(method: number, status0: number, list: HeaderList): boolean {
  let cacheable = (method === METH_GET || method === METH_HEAD || method === METH_OPTIONS || method === METH_TRACE) && cacheableStatus(status0);
  const pi = list.indexOf('pragma');
  if (pi >= 0) {
    const v = list.value(pi).trim();
    if (eqi(v, 0, v.length, 'no-cache')) return false;
  }
  let fresh = false;
  let nullMaxAge = false;
  for (let i = 0; i < list.count; i++) {
    if (!list.nameIs(i, 'cache-control')) continue;
    const v = list.value(i);
    for (let p = 0; p <= v.length;) {
      const e = valueElementEnd(v, p, v.length);
      let a = p, b = e;
      while (a < b && spht(v, a)) a++;
      while (b > a && spht(v, b - 1)) b--;
      p = e + 1;
      if (a === b) continue;
      if (eqi(v, a, b, 'public')) { cacheable = true; continue; }
      if (eqi(v, a, b, 'max-age=0')) { nullMaxAge = true; continue; }
      if (eqi(v, a, b, 'no-cache="set-cookie"')) continue;
      if (eqi(v, a, b, 'private') || startsi(v, a, 'private=') || eqi(v, a, b, 'no-cache') || startsi(v, a, 'no-cache=') ||
        eqi(v, a, b, 'no-store') || startsi(v, a, 'no-store=') || eqi(v, a, b, 's-maxage=0')) { cacheable = false; continue; }
      if (startsi(v, a, 's-maxage')) { fresh = true; nullMaxAge = false; continue; }
      if (startsi(v, a, 'max-age')) { fresh = true; continue; }
    }
  }
  if (nullMaxAge) cacheable = false;
  if (!fresh && !list.has('expires') && !list.has('etag') && !list.has('last-modified')) cacheable = false;
  return cacheable;
}

/**
 * The server's response head, after the http-response rules: its own
 * persistence cookie handled, then the Set-Cookie of `insert` (and the
 * Cache-Control of `nocache`). `srv` is the server that answered (null for
 * `dispatch`); `status0` the status it sent (before set-status).
 */
export function cookieResponse(host: PersistHost, be: ProxyRuntime, srv: ServerRuntime | null, req: RequestHead, h: ResponseHead, status0: number): void {
  const ck = be.persist!.cookie!;
  const t = txnOf(host);
  const direct = srv !== null && t.direct === srv;
  const server = srv !== null && srv.index >= 0 ? srv : null;
  const list = h.headers;
  let changed = false;
  if (!t.ignore) {
    for (let i = 0; i < list.count; i++) {
      const c2 = list.nameIs(i, 'set-cookie2');
      if (!c2 && !list.nameIs(i, 'set-cookie')) continue;
      const r = serverCookie(t, ck, list, i, c2, server, direct);
      if (r !== 0) changed = true;
      if (r < 0) i--;
    }
  }
  const opts = ck.opts;
  if (server !== null && (opts & CK_INS) !== 0 && !(t.sck === SCK_FOUND && (opts & CK_PSV) !== 0) &&
    (opts & CK_POST ? req.methodCode === METH_POST : true) && !t.ignore) {
    const now = Math.floor(Date.now() / 1000);
    const last = t.lastDate, first = t.firstDate;
    if (!direct || ((ck.maxIdle !== 0 || last !== 0) && (last === 0 || last - now < 0)) ||
      (ck.maxLife !== 0 && first === 0) || (ck.maxLife === 0 && first !== 0)) {
      const value = ck.values[server.index];
      let sc: string;
      if (value === '' || (ck.maxIdle === 0 && ck.maxLife === 0)) {
        sc = ck.plain[server.index];
      } else {
        const d = s30tob64(cookieDate(now));
        const dates = ck.maxLife !== 0 ? '|' + d + '|' + (first !== 0 ? s30tob64(first / 4) : d) : '|' + d;
        sc = ck.name + '=' + value + dates + '; path=/' + ck.attrs;
      }
      list.addChecked('Set-Cookie', sc);
      t.sck = value !== '' && direct ? SCK_UPDATED : SCK_INSERTED;
      // HTTP/1.0 caches store cookies too: `private` keeps them from it.
      if ((opts & CK_NOC) !== 0 && responseCacheable(req.methodCode, status0, list)) list.addChecked('Cache-Control', 'private');
      changed = true;
    }
  }
  if (changed) h.headersChanged();
}

/**
 * One Set-Cookie (Set-Cookie2: each cookie of the line) of the response,
 * http_manage_server_side_cookies. Returns 0 (unchanged), 1 (changed) or
 * -1 (field removed).
 */
function serverCookie(t: PersistTxn, ck: CookieRuntime, list: HeaderList, i: number, cookie2: boolean, srv: ServerRuntime | null, direct: boolean): number {
  const orig = list.value(i);
  let s = orig;
  let hdrEnd = s.length;
  let first = true;
  let next = 0;
  const name = ck.name;
  const opts = ck.opts;
  for (let prev = 0; prev < hdrEnd; prev = next) {
    scanCookie(s, first ? prev : prev + 1, hdrEnd, cookie2);
    first = false;
    const attBeg = scAttBeg, attEnd = scAttEnd;
    let equal = scEqual, valBeg = scValBeg, valEnd = scValEnd;
    next = scNext;
    // Set-Cookie holds one cookie (its attributes may hold commas); Set-Cookie2 a list.
    if (next < hdrEnd) next = cookie2 ? valueElementEnd(s, next, hdrEnd) : hdrEnd;
    if (equal === valEnd) continue;
    if (attEnd !== equal || valBeg > equal + 1) {
      s = squeezeEq(s, attEnd, equal, valBeg);
      equal = attEnd; valBeg = attEnd + 1;
      valEnd += sqShift; next += sqShift; hdrEnd += sqShift;
    }
    if (attEnd - attBeg !== name.length || !s.startsWith(name, attBeg)) continue;
    t.sck = SCK_FOUND;
    if (opts & CK_PSV) continue; // `preserve`: the server's cookie stays as it is
    if ((srv !== null && (opts & CK_INS) !== 0) || (direct && (opts & CK_IND) !== 0)) {
      t.sck = SCK_DELETED;
      if (prev === 0 && next === hdrEnd) { list.removeAt(i); return -1; }
      const l = s.length;
      s = delHdrValue(s, prev, next);
      hdrEnd += s.length - l;
      next = delFrom;
      continue;
    }
    const v = srv !== null ? ck.values[srv.index] : '';
    if (v !== '' && (opts & CK_RW) !== 0) {
      s = s.slice(0, valBeg) + v + s.slice(valEnd);
      const delta = v.length - (valEnd - valBeg);
      next += delta; hdrEnd += delta;
      t.sck = SCK_REPLACED;
    } else if (v !== '' && (opts & CK_PFX) !== 0) {
      s = s.slice(0, valBeg) + v + '~' + s.slice(valBeg);
      next += v.length + 1; hdrEnd += v.length + 1;
      t.sck = SCK_REPLACED;
    }
  }
  if (s === orig) return 0;
  list.setValueUnchecked(i, s.slice(0, hdrEnd));
  return 1;
}

/* ---------------- log ---------------- */

/**
 * The cookie characters of `%tsc` for a transaction of backend `px` (the
 * frontend when none was chosen): undefined ('--') unless `px` has a cookie
 * in insert, rewrite, prefix or indirect mode, as HAProxy's log.c.
 */
export function cookieLogFlags(t: PersistTxn | null, px: ProxyRuntime): string | undefined {
  const ps = px.persist;
  if (ps === null || ps.cookie === null || (ps.cookie.opts & CK_ANY) === 0) return undefined;
  return t === null ? 'NN' : FLAG_PAIRS[t.ck * 6 + t.sck];
}

