/**
 * Samples, sample fetches and converters (HAProxy configuration.txt 7.3,
 * src/sample.c): the one expression engine shared by ACLs, rules,
 * `use_backend`, log-format `%[...]` and (later) stick tables.
 *
 * An expression `fetch(args),conv(args),...` is parsed and type-checked once,
 * at config load, into a SampleExpr; evaluating it fills a Sample the
 * expression owns (one per compiled expression, reused: evaluation is
 * synchronous, so nothing is allocated per request but the values
 * themselves).
 *
 * Types and casts follow sample.c's sample_casts[][] table: bool and sint
 * share `n`; strings are JS strings holding one byte per char (latin1, like
 * header values); bin is a Buffer; IPv4 is a uint32 in `n`, IPv6 16 bytes in
 * `b`; a method is its name in `s`.
 *
 * Fetches and converters are registered by the module that implements them
 * (registerFetches/registerConverters), with the places their data exists
 * (`use`): a fetch of response headers in an `http-request` rule is a config
 * error, as HAProxy's "fetch method 'res.hdr' extracts information from
 * 'HTTP response headers', none of which is available here".
 */
import type { ProxyConfig } from '../config/compiled';
import type { ProxyRuntime, ServerRuntime } from '../engine/proxy-runtime';
import type { RequestHead, ResponseHead } from '../http/h1';
import { parseIPv4Into, parseIPv6Into } from '../util/ip-net';

/* ---------------- types ---------------- */

export const T_ANY = 0;
export const T_BOOL = 1;
export const T_SINT = 2;
export const T_ADDR = 3;
export const T_IPV4 = 4;
export const T_IPV6 = 5;
export const T_STR = 6;
export const T_BIN = 7;
export const T_METH = 8;
export const TYPE_NAMES = ['any', 'bool', 'sint', 'addr', 'ipv4', 'ipv6', 'str', 'bin', 'meth'] as const;

/** The sample may change with more data: with `tcp-request inspect-delay`, wait rather than decide. */
export const F_MAY_CHANGE = 1;

export class Sample {
  t = T_ANY;
  /** bool, sint, IPv4 (uint32). */
  n = 0;
  /** str, meth. */
  s = '';
  /** bin, IPv6 (16 bytes). */
  b: Buffer | null = null;
  flags = 0;

  setBool(v: boolean): true { this.t = T_BOOL; this.n = v ? 1 : 0; return true; }
  setInt(v: number): true { this.t = T_SINT; this.n = v; return true; }
  setStr(v: string): true { this.t = T_STR; this.s = v; return true; }
  setBin(v: Buffer): true { this.t = T_BIN; this.b = v; return true; }
  setMeth(v: string): true { this.t = T_METH; this.s = v; return true; }
  setIPv4(v: number): true { this.t = T_IPV4; this.n = v >>> 0; return true; }
  setIPv6(v: Buffer): true { this.t = T_IPV6; this.b = v; return true; }
  /** An address as text ('-' or unix sockets: no sample). */
  setIpText(ip: string): boolean {
    if (ip.indexOf(':') >= 0) {
      const b = Buffer.allocUnsafe(16);
      if (!parseIPv6Into(ip, b)) return false;
      return this.setIPv6(b);
    }
    if (!parseIPv4Into(ip, 0, ip.length, scratch4, 0)) return false;
    return this.setIPv4(((scratch4[0] << 24) | (scratch4[1] << 16) | (scratch4[2] << 8) | scratch4[3]) >>> 0);
  }
  copyFrom(o: Sample): void { this.t = o.t; this.n = o.n; this.s = o.s; this.b = o.b; this.flags = o.flags; }
}

const scratch4 = new Uint8Array(4);

/* ---------------- casts (sample.c sample_casts[][]) ---------------- */

/* The last address ipv4Text() wrote (a request renders its client's address in several places). */
let lastV4 = -1;
let lastV4Text = '';

export function ipv4Text(n: number): string {
  n = n >>> 0;
  if (n === lastV4) return lastV4Text;
  const t = (n >>> 24) + '.' + ((n >>> 16) & 255) + '.' + ((n >>> 8) & 255) + '.' + (n & 255);
  lastV4 = n;
  lastV4Text = t;
  return t;
}

/** inet_ntop(AF_INET6): longest run (≥2) of zero groups as '::', v4-mapped/compatible tails as dotted quads. */
export function ipv6Text(b: Uint8Array): string {
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((b[i] << 8) | b[i + 1]);
  let bestS = -1, bestL = 0;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestL) { bestS = i; bestL = j - i; }
    i = j;
  }
  if (bestL < 2) bestS = -1;
  // glibc: ::ffff:a.b.c.d and ::a.b.c.d (first 6 groups zero but not all 8... when the 7th is non-zero)
  const v4tail = bestS === 0 && (bestL === 6 || (bestL === 5 && g[5] === 0xffff));
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestS) {
      out += i === 0 ? '::' : ':';
      i += bestL - 1;
      continue;
    }
    if (v4tail && i === 6) { out += b[12] + '.' + b[13] + '.' + b[14] + '.' + b[15]; break; }
    out += g[i].toString(16) + (i < 7 ? ':' : '');
  }
  return out;
}

/**
 * The largest sint we represent: 2^63 - 1024, the double just below 2^63
 * (JS numbers are doubles; integers are exact within ±2^53). Printed as
 * LLONG_MAX.
 */
export const SINT_MAX = 9223372036854774784;
export const SINT_MIN = -9223372036854775808;

/** A sint as HAProxy prints it (lltoa). */
export function sintText(n: number): string {
  if (Number.isSafeInteger(n)) return '' + n;
  if (n >= SINT_MAX) return '9223372036854775807';
  if (n <= SINT_MIN) return '-9223372036854775808';
  return BigInt(Math.trunc(n)).toString();
}

/** HAProxy read_int64(): optional sign, then digits up to the first non-digit ("12ab" is 12, "x" is 0), saturated. */
export function readInt64(s: string): number {
  let i = 0;
  let neg = false;
  if (s.charCodeAt(0) === 45) { neg = true; i = 1; } else if (s.charCodeAt(0) === 43) i = 1;
  let v = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) break;
    v = v * 10 + c;
    if (v > SINT_MAX) { v = neg ? -SINT_MIN : SINT_MAX; break; }
  }
  return neg ? -v : v;
}

function v4Mapped(b: Buffer): number {
  // c_ipv62ip(): only ::ffff:a.b.c.d (RFC 4291 mapped), checked with haproxy 2.6.12.
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return -1;
  if (!(b[10] === 0xff && b[11] === 0xff)) return -1;
  return ((b[12] << 24) | (b[13] << 16) | (b[14] << 8) | b[15]) >>> 0;
}

function v4ToV6(n: number): Buffer {
  const b = Buffer.alloc(16);
  b[10] = 0xff; b[11] = 0xff;
  b.writeUInt32BE(n >>> 0, 12);
  return b;
}

/** Is there a cast from `from` to `to` (sample_casts[from][to] != NULL)? */
export function canCast(from: number, to: number): boolean {
  if (from === T_ANY || to === T_ANY || from === to) return true;
  switch (from) {
    case T_BOOL: return to === T_SINT || to === T_STR || to === T_BIN;
    case T_SINT: return to !== T_METH;
    case T_ADDR: return false;
    case T_IPV4: return to === T_SINT || to === T_ADDR || to === T_IPV6 || to === T_STR || to === T_BIN;
    case T_IPV6: return to === T_ADDR || to === T_IPV4 || to === T_STR || to === T_BIN;
    case T_STR: return true;
    case T_BIN: return to === T_STR || to === T_METH;
    case T_METH: return to === T_STR || to === T_BIN;
  }
  return false;
}

/** Converts smp in place; false when the cast fails at run time (e.g. "abc" to ipv4). */
export function castTo(smp: Sample, to: number): boolean {
  const from = smp.t;
  if (to === T_ANY || from === to) return true;
  switch (from) {
    case T_BOOL:
    case T_SINT:
      if (to === T_BOOL || to === T_SINT) { smp.t = to; return true; }
      if (to === T_STR) { smp.s = sintText(smp.n); smp.t = T_STR; return true; }
      if (to === T_BIN) {
        // c_int2bin: 8 bytes big-endian; c_bool2bin likewise.
        const b = Buffer.alloc(8);
        const v = smp.n >= SINT_MAX ? 9223372036854775807n : smp.n <= SINT_MIN ? -9223372036854775808n : BigInt(Math.trunc(smp.n));
        b.writeBigInt64BE(v);
        smp.b = b; smp.t = T_BIN; return true;
      }
      if (from === T_SINT && (to === T_IPV4 || to === T_ADDR)) { smp.n = smp.n >>> 0; smp.t = T_IPV4; return true; }
      if (from === T_SINT && to === T_IPV6) { smp.b = v4ToV6(smp.n); smp.t = T_IPV6; return true; }
      return false;
    case T_IPV4:
      if (to === T_ADDR) return true;
      if (to === T_SINT) { smp.t = T_SINT; return true; }
      if (to === T_IPV6) { smp.b = v4ToV6(smp.n); smp.t = T_IPV6; return true; }
      if (to === T_STR) { smp.s = ipv4Text(smp.n); smp.t = T_STR; return true; }
      if (to === T_BIN) { const b = Buffer.alloc(4); b.writeUInt32BE(smp.n >>> 0); smp.b = b; smp.t = T_BIN; return true; }
      return false;
    case T_IPV6:
      if (to === T_ADDR) return true;
      if (to === T_IPV4) { const n = v4Mapped(smp.b!); if (n < 0) return false; smp.n = n; smp.t = T_IPV4; return true; }
      if (to === T_STR) { smp.s = ipv6Text(smp.b!); smp.t = T_STR; return true; }
      if (to === T_BIN) { smp.t = T_BIN; return true; }
      return false;
    case T_STR:
      if (to === T_BOOL || to === T_SINT) {
        if (smp.s.length === 0) return false;
        smp.n = readInt64(smp.s); smp.t = to; return true;
      }
      if (to === T_ADDR || to === T_IPV4 || to === T_IPV6) {
        const s = smp.s;
        if (to !== T_IPV6 && s.indexOf(':') < 0) return smp.setIpText(s);
        if (to !== T_IPV4 && s.indexOf(':') >= 0) return smp.setIpText(s);
        return false;
      }
      if (to === T_BIN) { smp.b = Buffer.from(smp.s, 'latin1'); smp.t = T_BIN; return true; }
      if (to === T_METH) { smp.t = T_METH; return true; }
      return false;
    case T_BIN:
      if (to === T_STR || to === T_METH) {
        // c_bin2str: a NUL ends the string.
        const b = smp.b!;
        const z = b.indexOf(0);
        smp.s = b.toString('latin1', 0, z < 0 ? b.length : z);
        smp.t = to;
        return true;
      }
      return false;
    case T_METH:
      if (to === T_STR) { smp.t = T_STR; return true; }
      if (to === T_BIN) { smp.b = Buffer.from(smp.s, 'latin1'); smp.t = T_BIN; return true; }
      return false;
  }
  return false;
}

/** A sample as text (log-format `%[...]`, header values): casts to str; null when that fails. */
export function sampleText(smp: Sample): string | null {
  if (smp.t === T_STR || smp.t === T_METH) return smp.s;
  return castTo(smp, T_STR) ? smp.s : null;
}

/* ---------------- what a fetch can see ---------------- */

/** The client connection's TLS (`bind ... ssl`), for the ssl_fc* and ssl_c_* fetches. */
export interface TlsView {
  version: string;
  cipher: string;
  /** SNI the client sent, null when none. */
  sni: string | null;
  alpn: string | null;
  /** Client certificate: presented, verify result code (0 = ok), subject/issuer DNs (HAProxy's /C=../CN=.. form). */
  clientCert: boolean;
  verify: number;
  subjectDn: string | null;
  issuerDn: string | null;
  /** Resumed session. */
  reused: boolean;
}

/** Variables of the scopes HAProxy has: proc (per worker), sess (connection), txn (transaction), req, res. */
export interface VarScopes {
  sess: Map<string, Sample> | null;
  txn: Map<string, Sample> | null;
  req: Map<string, Sample> | null;
  res: Map<string, Sample> | null;
}

/**
 * What a stream exposes to fetches, converters and actions. TcpStream and
 * HttpStream implement it; fields that make no sense for one of them are
 * null there.
 */
export interface SampleContext {
  readonly fe: ProxyRuntime;
  readonly be: ProxyRuntime | null;
  readonly srv: ServerRuntime | null;
  /** Sessions in this worker (HAProxy's actconn). */
  readonly engine: { readonly actconn: number; readonly proxies: readonly ProxyRuntime[] };
  /** Source/destination of the client connection (after accept-proxy: the header's). */
  srcIp(): string;
  srcPort(): number;
  dstIp(): string;
  dstPort(): number;
  /** Client bytes read and not yet forwarded (tcp-request content), null when none. */
  reqPayload(): Buffer | null;
  /** Server bytes read and not yet forwarded (tcp-response content), null when none. */
  resPayload(): Buffer | null;
  /** No more client bytes can come (the inspect delay expired or the client closed). */
  readonly reqFinal: boolean;
  /** TLS of the client connection, null in clear. */
  tlsView(): TlsView | null;
  /** The HTTP request head (mode http, once parsed), null otherwise. */
  readonly httpReq: RequestHead | null;
  /** The HTTP response head (http-response / http-after-response), null otherwise. */
  readonly httpRes: ResponseHead | null;
  /** Buffered request body (`option http-buffer-request` / `wait-for-body`), null when none. */
  reqBody(): Buffer | null;
  /** Status of the response being processed (generated or from the server), -1 when none. */
  readonly status: number;
  readonly vars: VarScopes;
}

/* ---------------- where data exists ---------------- */

/*
 * Evaluation points (HAProxy's SMP_VAL_*, coarsened): the rule sets and
 * other places an expression can run. A fetch declares the points at which
 * its data exists; the expression's place must be one of them.
 */
export const AT_CONN = 1; // tcp-request connection
export const AT_SESS = 2; // tcp-request session
export const AT_REQ_CNT = 4; // tcp-request content, use_backend in mode tcp
export const AT_HTTP_REQ = 8; // http-request, use_backend/use-server in mode http, redirect
export const AT_RES_CNT = 16; // tcp-response content
export const AT_HTTP_RES = 32; // http-response
export const AT_AFTER_RES = 64; // http-after-response
export const AT_LOG = 128; // log-format at the end of the stream, unique-id
export const AT_ANY = 255;

/* What fetches use, as the set of points where it exists. */
/** Internal values (constants, proxies, time, variables): everywhere. */
export const USE_INTERNAL = 255;
/** Layer 4 of the client connection: everywhere. */
export const USE_L4CLI = 255;
/** TLS of the client connection: from the session on. */
export const USE_L5CLI = AT_SESS | AT_REQ_CNT | AT_HTTP_REQ | AT_RES_CNT | AT_HTTP_RES | AT_AFTER_RES | AT_LOG;
/** Request contents (payload): tcp-request content. */
export const USE_L6REQ = AT_REQ_CNT | AT_HTTP_REQ;
/** HTTP request: once the head is parsed; kept for the response and the log. */
export const USE_L7REQ = AT_HTTP_REQ | AT_HTTP_RES | AT_AFTER_RES | AT_LOG;
/*
 * HTTP data, HAProxy's four classes (SMP_SRC_HRQHV/HRQHP/HRSHV/HRSHP):
 * request headers exist in request rules only; the request (line, method,
 * path…) also in response rules and logs; response headers in response
 * rules; the response (status, version) also in logs.
 */
export const USE_HRQHV = AT_REQ_CNT | AT_HTTP_REQ;
export const USE_HRQHP = AT_REQ_CNT | AT_HTTP_REQ | AT_RES_CNT | AT_HTTP_RES | AT_AFTER_RES | AT_LOG;
export const USE_HRSHV = AT_RES_CNT | AT_HTTP_RES | AT_AFTER_RES;
export const USE_HRSHP = AT_RES_CNT | AT_HTTP_RES | AT_AFTER_RES | AT_LOG;
/** Response contents (payload). */
export const USE_L6RES = AT_RES_CNT | AT_HTTP_RES;
/** HTTP response. */
export const USE_L7RES = AT_HTTP_RES | AT_AFTER_RES | AT_LOG;
/** The backend / server chosen: after switching rules. */
export const USE_BACKEND = AT_REQ_CNT | AT_HTTP_REQ | AT_RES_CNT | AT_HTTP_RES | AT_AFTER_RES | AT_LOG;

/** HAProxy's names of the sources, for the error message. */
export function useName(use: number): string {
  if (use === USE_L5CLI) return 'client-side SSL/TLS';
  if (use === USE_L6REQ) return 'request buffers contents';
  if (use === USE_L6RES) return 'response buffers contents';
  if (use === USE_HRQHV) return 'HTTP request headers';
  if (use === USE_HRQHP) return 'HTTP request';
  if (use === USE_HRSHV) return 'HTTP response headers';
  if (use === USE_HRSHP) return 'HTTP response';
  if (use === USE_L7REQ) return 'HTTP request headers';
  if (use === USE_L7RES) return 'HTTP response headers';
  return 'internal state';
}

/* ---------------- arguments ---------------- */

/*
 * Argument kinds (HAProxy ARGT_*): the parser checks and converts each
 * argument once. Backends, servers and the like stay names in the compiled
 * argument and are looked up by the worker when it links the expression.
 */
export type ArgKind = 'str' | 'sint' | 'be' | 'fe' | 'srv' | 'reg' | 'var' | 'usr' | 'time' | 'size' | 'msk4' | 'msk6' | 'tab' | 'map';

export interface ArgSpec {
  kind: ArgKind;
  /** Optional argument (all after the first optional one are optional). */
  optional?: boolean;
  /** Default value when absent. */
  dflt?: string | number;
}

/** Context for compiling an expression: the proxy it lives in and what it may read. */
export interface CompileEnv {
  /** The proxy whose configuration holds the expression (a defaults section is a proxy too). */
  readonly proxy: ProxyConfig;
  /** Every frontend/backend (name resolution of be/srv arguments). */
  readonly proxies: readonly ProxyConfig[];
  /** Contents of map and ACL files (`-f`, map converters) read by the master, by path; undefined if missing. */
  file(path: string): string | undefined;
  /** Points the expression can run at (AT_* bits). */
  readonly at: number;
  /** Name of the place, for errors ("http-request", "use_backend"...). */
  readonly where: string;
  /** Userlist names (http_auth) known to the config. */
  readonly userlists?: ReadonlySet<string>;
  /** Runtime objects (worker only): proxies by name. */
  readonly runtime?: ReadonlyMap<string, ProxyRuntime>;
  /** `http-errors` sections: name → status → page (`errorfiles <name>` in rule replies). */
  readonly httpErrors?: Readonly<Record<string, Readonly<Record<number, string>>>>;
}

/** A parsed argument: its text and the converted value. */
export type ArgValue = string | number | RegExp | null | object;

export interface FetchDef {
  name: string;
  args?: readonly ArgSpec[];
  /** Output type. */
  out: number;
  /** Points where the data exists (USE_*). */
  use: number;
  /**
   * Checks and prepares arguments beyond their kinds (e.g. a header name
   * lowercased); returns an error text or nothing. `args` may be replaced
   * in place.
   */
  check?(args: ArgValue[], env: CompileEnv): string | void;
  /** Fills smp; false: no sample. */
  fetch(smp: Sample, ctx: SampleContext, args: readonly ArgValue[]): boolean;
  /**
   * Every value an ACL tries (HAProxy's SMP_F_NOT_LAST iteration: each
   * occurrence of hdr(x), each cookie...), as strings written into
   * out[0...] (a scratch array the caller reuses; slots beyond the count
   * are stale): returns their count, or -1 when the arguments name one
   * value (an occurrence), then fetch() is used.
   */
  all?(ctx: SampleContext, args: readonly ArgValue[], out: string[]): number;
}

export interface ConverterDef {
  name: string;
  args?: readonly ArgSpec[];
  /** Input type (the sample is cast to it first) and output type. */
  in: number;
  out: number;
  check?(args: ArgValue[], env: CompileEnv): string | void;
  /** Converts smp in place; false: no sample. */
  conv(smp: Sample, args: readonly ArgValue[], ctx: SampleContext): boolean;
}

const fetches = new Map<string, FetchDef>();
const converters = new Map<string, ConverterDef>();

export function registerFetches(defs: FetchDef[]): void {
  for (const d of defs) {
    if (fetches.has(d.name)) throw new Error(`sample fetch '${d.name}' registered twice`);
    fetches.set(d.name, d);
  }
}

export function registerConverters(defs: ConverterDef[]): void {
  for (const d of defs) {
    if (converters.has(d.name)) throw new Error(`converter '${d.name}' registered twice`);
    converters.set(d.name, d);
  }
}

export function findFetch(name: string): FetchDef | undefined { return fetches.get(name); }
export function findConverter(name: string): ConverterDef | undefined { return converters.get(name); }
export function allFetches(): FetchDef[] { return [...fetches.values()]; }
export function allConverters(): ConverterDef[] { return [...converters.values()]; }

/* ---------------- expressions ---------------- */

interface ConvStep {
  def: ConverterDef;
  args: ArgValue[];
}

/** A compiled `fetch,conv,...`. */
export class SampleExpr {
  /** Reused for every evaluation of this expression. */
  readonly smp = new Sample();
  /*
   * The functions of the fetch and converters, copied out of their
   * definitions: those are object literals of many shapes, so reading
   * `fetch.fetch` per request is a megamorphic property load; reading them
   * here, from one class, is not.
   */
  private readonly fetchFn: FetchDef['fetch'];
  /** The fetch's all() (ACL iteration over several values), null when it has none. */
  readonly allFn: ((ctx: SampleContext, args: readonly ArgValue[], out: string[]) => number) | null;
  private readonly convIn: number[];
  private readonly convFn: Array<ConverterDef['conv']>;
  private readonly convArgs: ArgValue[][];
  private readonly nconv: number;
  constructor(
    readonly text: string,
    readonly fetch: FetchDef,
    readonly args: ArgValue[],
    readonly convs: ConvStep[],
    /** Output type of the last step. */
    readonly out: number,
  ) {
    this.fetchFn = fetch.fetch;
    this.allFn = fetch.all ?? null;
    this.convIn = convs.map(c => c.def.in);
    this.convFn = convs.map(c => c.def.conv);
    this.convArgs = convs.map(c => c.args);
    this.nconv = convs.length;
  }

  /** Evaluates into this.smp; null when there is no sample. */
  eval(ctx: SampleContext): Sample | null {
    const smp = this.smp;
    smp.flags = 0;
    smp.b = null;
    if (!this.fetchFn(smp, ctx, this.args)) return null;
    return this.nconv === 0 ? smp : this.convert(smp, ctx);
  }

  /** The converters applied to a string value of the fetch (ACL iteration over all()); null: no sample. */
  evalFrom(ctx: SampleContext, value: string): Sample | null {
    const smp = this.smp;
    smp.flags = 0;
    smp.b = null;
    smp.t = T_STR;
    smp.s = value;
    return this.nconv === 0 ? smp : this.convert(smp, ctx);
  }

  private convert(smp: Sample, ctx: SampleContext): Sample | null {
    const n = this.nconv;
    for (let i = 0; i < n; i++) {
      if (!castTo(smp, this.convIn[i])) return null;
      if (!this.convFn[i](smp, this.convArgs[i], ctx)) return null;
    }
    return smp;
  }

  /** The value as text, or null. */
  evalText(ctx: SampleContext): string | null {
    const s = this.eval(ctx);
    return s === null ? null : sampleText(s);
  }
}

export type ExprResult = { ok: true; expr: SampleExpr; end: number } | { ok: false; error: string };

function isNameChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 46 || c === 95 || c === 45;
}

/**
 * Splits `a,b,c)` starting after '(' into raw argument texts, honouring
 * quotes ('…', "…") and backslash escapes as HAProxy's make_arg_list();
 * returns the args and the offset after ')'.
 */
function splitArgs(text: string, from: number): { args: string[]; end: number } | string {
  const args: string[] = [];
  let cur = '';
  let i = from;
  let q = 0;
  let depth = 0;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 92 /* \\ */ && i + 1 < text.length) {
      // make_arg_list(): \\, \<space>, \" and \' lose the backslash, \r \n \t
      // become control characters, any other backslash is kept (regsub's \1).
      const n = text[i + 1];
      if (n === '\\' || n === ' ' || n === '"' || n === "'") { cur += n; i++; continue; }
      if (n === 'r') { cur += '\r'; i++; continue; }
      if (n === 'n') { cur += '\n'; i++; continue; }
      if (n === 't') { cur += '\t'; i++; continue; }
      cur += '\\';
      continue;
    }
    if (q !== 0) {
      if (c === q) { q = 0; continue; }
      cur += text[i];
      continue;
    }
    if (c === 39 || c === 34) { q = c; continue; }
    if (c === 40) { depth++; cur += '('; continue; }
    if (c === 41) {
      if (depth > 0) { depth--; cur += ')'; continue; }
      args.push(cur);
      return { args, end: i + 1 };
    }
    if (c === 44 && depth === 0) { args.push(cur); cur = ''; continue; }
    cur += text[i];
  }
  return q !== 0 ? 'unterminated quote in argument list' : `missing closing ')' after arguments`;
}

const TIME_UNITS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60000, h: 3600000, d: 86400000 };
const SIZE_UNITS: Record<string, number> = { k: 1024, m: 1048576, g: 1073741824 };

/** Converts the raw arguments of a fetch or converter to their kinds; returns an error text or the values. */
function convertArgs(kw: string, specs: readonly ArgSpec[] | undefined, raw: string[] | null, env: CompileEnv, isFetch: boolean): ArgValue[] | string {
  const sp = specs ?? [];
  const n = raw === null ? 0 : raw.length;
  // HAProxy: "fetch method 'x' : expects at most N argument(s)" etc.
  const what = isFetch ? 'fetch method' : 'converter';
  if (n > sp.length) return `${what} '${kw}' : end of arguments expected at position ${sp.length + 1}, but got '${raw![sp.length]}'`;
  const out: ArgValue[] = [];
  for (let i = 0; i < sp.length; i++) {
    const s = sp[i];
    if (i >= n) {
      if (!s.optional) return `${what} '${kw}' : missing arguments (got ${n}/${sp.filter(a => !a.optional).length})`;
      out.push(s.dflt !== undefined ? s.dflt : null);
      continue;
    }
    const a = raw![i];
    // HAProxy stops reading the list at an empty non-string argument
    // (http_date(,ms), bytes(1,)): it counts as absent.
    if (a === '' && s.optional && s.kind !== 'str') { out.push(s.dflt !== undefined ? s.dflt : null); continue; }
    switch (s.kind) {
      case 'sint': {
        if (!/^[-+]?[0-9]+$/.test(a)) return `${what} '${kw}' : failed to parse '${a}' as type 'signed integer' at position ${i + 1}`;
        out.push(Number(a));
        break;
      }
      case 'time': {
        const m = /^([0-9]+)(us|ms|s|m|h|d)?$/.exec(a);
        if (!m) return `${what} '${kw}' : failed to parse '${a}' as type 'delay' at position ${i + 1}`;
        out.push(Number(m[1]) * TIME_UNITS[m[2] ?? 'ms']);
        break;
      }
      case 'size': {
        const m = /^([0-9]+)([kmgKMG])?$/.exec(a);
        if (!m) return `${what} '${kw}' : failed to parse '${a}' as type 'size' at position ${i + 1}`;
        out.push(Number(m[1]) * (m[2] ? SIZE_UNITS[m[2].toLowerCase()] : 1));
        break;
      }
      case 'reg': {
        try { out.push(new RegExp(a)); } catch (e) {
          return `${what} '${kw}' : invalid regex '${a}' at position ${i + 1} (${(e as Error).message})`;
        }
        break;
      }
      case 'be': case 'fe': {
        const want = s.kind === 'be' ? 'backend' : 'frontend';
        const p = env.proxies.find(x => x.name === a && (s.kind === 'be' ? x.cap.be : x.cap.fe));
        if (!p) return `${what} '${kw}' : unable to find ${want} '${a}'`;
        out.push(a);
        break;
      }
      case 'srv': {
        const slash = a.indexOf('/');
        const bn = slash < 0 ? env.proxy.name : a.slice(0, slash);
        const sn = slash < 0 ? a : a.slice(slash + 1);
        const p = env.proxies.find(x => x.name === bn && x.cap.be);
        if (!p) return `${what} '${kw}' : unable to find backend '${bn}'`;
        if (!p.servers.some(x => x.name === sn)) return `${what} '${kw}' : unable to find server '${sn}' in backend '${bn}'`;
        out.push(bn + '/' + sn);
        break;
      }
      case 'usr': {
        if (env.userlists && !env.userlists.has(a)) return `${what} '${kw}' : unable to find userlist '${a}'`;
        out.push(a);
        break;
      }
      case 'var': {
        const v = parseVarName(a);
        if (typeof v === 'string') return `${what} '${kw}' : ${v}`;
        out.push(v);
        break;
      }
      default:
        out.push(a);
    }
  }
  return out;
}

/** A variable reference `scope.name`. */
export interface VarRef {
  scope: 'proc' | 'sess' | 'txn' | 'req' | 'res';
  name: string;
  /** scope.name as written, for messages. */
  full: string;
}

const VAR_SCOPES = new Set(['proc', 'sess', 'txn', 'req', 'res']);

/** HAProxy vars.c register_name(): `<scope>.<name>`, name of [a-zA-Z0-9._-]. */
export function parseVarName(text: string): VarRef | string {
  const dot = text.indexOf('.');
  const scope = dot < 0 ? '' : text.slice(0, dot);
  if (!VAR_SCOPES.has(scope)) return `invalid variable name '${text}'. A variable name must be start by its scope. The scope can be 'proc', 'sess', 'txn', 'req', 'res' or 'check'`;
  const name = text.slice(dot + 1);
  if (name.length === 0) return `invalid variable name '${text}'. Empty variable name`;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    // vars.c: [a-zA-Z0-9._] only ('-' is refused by 2.6: "invalid syntax at char").
    if (c === 45) return `invalid syntax at char '${name.slice(i)}'`;
    if (!isNameChar(c)) return `invalid variable name '${text}'. Only 'a-zA-Z0-9._' characters are allowed`;
  }
  return { scope: scope as VarRef['scope'], name, full: text };
}

/**
 * Parses `fetch[(args)][,conv[(args)]]...` from text[from..]. Stops at the
 * end of the text or, with `stopAt`, at that character outside arguments
 * (']' for log-format). An expression can also be given as several words
 * joined by the caller.
 */
export function parseSampleExpr(text: string, env: CompileEnv, from = 0, stopAt = -1): ExprResult {
  let i = from;
  const nameStart = i;
  // Fetch names may hold '+' (base32+src, url32+src).
  while (i < text.length && (isNameChar(text.charCodeAt(i)) || text.charCodeAt(i) === 43)) i++;
  const fname = text.slice(nameStart, i);
  if (fname.length === 0) return { ok: false, error: `missing fetch method in '${text.slice(from)}'` };
  const fetch = fetches.get(fname);
  if (!fetch) return { ok: false, error: `unknown fetch method '${fname}'` };
  if ((fetch.use & env.at) === 0) {
    return { ok: false, error: `fetch method '${fname}' extracts information from '${useName(fetch.use)}', none of which is available here (${env.where})` };
  }
  let raw: string[] | null = null;
  if (text.charCodeAt(i) === 40) {
    const r = splitArgs(text, i + 1);
    if (typeof r === 'string') return { ok: false, error: `fetch method '${fname}' : ${r}` };
    raw = r.args;
    // `fetch()` is one empty argument for a string (HAProxy: req.hdr() is
    // "any header", req.hdr_names() joins with NUL), else no argument.
    if (raw.length === 1 && raw[0] === '' && (fetch.args === undefined || fetch.args.length === 0 || fetch.args[0].kind !== 'str')) raw = [];
    i = r.end;
  }
  const args = convertArgs(fname, fetch.args, raw, env, true);
  if (typeof args === 'string') return { ok: false, error: args };
  if (fetch.check) {
    const e = fetch.check(args, env);
    if (e) return { ok: false, error: `fetch method '${fname}' : ${e}` };
  }
  const convs: ConvStep[] = [];
  let type = fetch.out;
  while (i < text.length && text.charCodeAt(i) !== stopAt) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 9) { i++; continue; }
    if (c !== 44) return { ok: false, error: `syntax error: missing comma or closing parenthesis after '${text.slice(from, i)}'` };
    i++;
    while (i < text.length && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9)) i++;
    const cs = i;
    while (i < text.length && isNameChar(text.charCodeAt(i))) i++;
    const cname = text.slice(cs, i);
    if (cname.length === 0) return { ok: false, error: `missing converter name after ',' in '${text.slice(from, i)}'` };
    const def = converters.get(cname);
    if (!def) return { ok: false, error: `unknown converter '${cname}'` };
    let craw: string[] | null = null;
    if (text.charCodeAt(i) === 40) {
      const r = splitArgs(text, i + 1);
      if (typeof r === 'string') return { ok: false, error: `converter '${cname}' : ${r}` };
      craw = r.args;
      if (craw.length === 1 && craw[0] === '') craw = [];
      i = r.end;
    }
    if (!canCast(type, def.in)) {
      return { ok: false, error: `converter '${cname}' cannot be applied to the output of '${text.slice(from, cs - 1)}' (${TYPE_NAMES[type]} to ${TYPE_NAMES[def.in]})` };
    }
    const cargs = convertArgs(cname, def.args, craw, env, false);
    if (typeof cargs === 'string') return { ok: false, error: cargs };
    if (def.check) {
      const e = def.check(cargs, env);
      if (e) return { ok: false, error: `converter '${cname}' : ${e}` };
    }
    convs.push({ def, args: cargs });
    type = def.out;
  }
  return { ok: true, expr: new SampleExpr(text.slice(from, i), fetch, args, convs, type), end: i };
}

/** A whole word (or joined words) as one expression. */
export function compileSampleExpr(text: string, env: CompileEnv): SampleExpr | string {
  const r = parseSampleExpr(text, env);
  if (!r.ok) return r.error;
  if (r.end !== text.length) return `unexpected text after expression: '${text.slice(r.end)}'`;
  return r.expr;
}
