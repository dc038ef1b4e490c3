/**
 * HTTP sample fetches (configuration.txt 7.3.6; HAProxy 2.6 src/http_fetch.c,
 * parsers from src/http.c and src/http_htx.c) and the ACL keywords derived
 * from them (src/http_acl.c, exported for rules/acl.ts to register).
 *
 * Semantics follow the C code, quirks included; each one noted below was
 * checked against haproxy 2.6.12 with raw requests (see
 * test/http-fetches.test.ts). The main ones:
 *   - req.hdr() splits values at commas outside quoted-strings and returns
 *     empty elements too ("a," is "a" and ""); req.fhdr() does not split.
 *     Without an occurrence (or with 0) the last value is returned; HAProxy
 *     iterates over all of them in ACLs only (see headerOccurrences()).
 *   - Header names read by req.hdr_names/req.hdrs are lower-case, as HTX
 *     stores them.
 *   - Cookies (http_extract_cookie_value): the Cookie header is first split
 *     at commas like req.hdr; `$attr` cookies and names without '=' are
 *     skipped; a Set-Cookie line only yields its first cookie (attributes
 *     are not cookies); the last occurrence wins unless no name is given.
 *   - url_param() looks for the first '?' (or <delim>) of the whole URI and
 *     splits at '&', ';' and <delim>; without a name the value after the
 *     first '=' is returned.
 *   - *_val fetches convert with strl2ic(), which wraps at 32 bits and takes
 *     a character below '0' as a negative digit ("1 2" is -58).
 *   - url_ip/url_port only know IPv4 literals of http:// and https:// URLs.
 *
 * The URI is the request-target as our parser keeps it; HAProxy's H1 mux
 * normalises some targets before any fetch sees them (see the notes at
 * requestUri()).
 *
 * Fetches allocate nothing but their result: header names are compared
 * with HeaderList.nameIs() against names lower-cased at compile time, and
 * values are scanned in place with module-level cursors.
 */
import { fullHash } from '../backend/hash';
import { registerAclKeywords } from '../rules/acl';
import type { MatchMethod } from '../rules/pattern';
import {
  F_MAY_CHANGE, T_BIN, T_BOOL, T_IPV4, T_METH, T_SINT, T_STR,
  USE_L6REQ, USE_HRQHV, USE_HRQHP, USE_HRSHV, USE_HRSHP, registerFetches,
  type ArgSpec, type ArgValue, type FetchDef, type Sample, type SampleContext,
} from '../rules/sample';
import { METH_OTHER, METH_PATCH, parseRequestHead, type RequestHead } from './h1';
import { valueElementEnd, type HeaderList } from './headers';
import { parseIpInto, parseIPv6Into } from '../util/ip-net';

/*
 * Where the data exists. HAProxy has four classes (sample.c fetch_cap[]):
 * HRQHV, request headers, request-side rules only; HRQHP, the request
 * (method, captures), also response rules and logs; HRSHV, response headers,
 * response rules but not logs; HRSHP, the response (status), also logs.
 * sample.ts has one class per direction for now, so the volatile ones are
 * accepted in a few more places than HAProxy accepts them (e.g. req.hdr in
 * http-response: HAProxy refuses the config, verified).
 */
const HRQHV = USE_HRQHV;
const HRQHP = USE_HRQHP;
const HRSHV = USE_HRSHV;
const HRSHP = USE_HRSHP;

/** HAProxy's MAX_HDR_HISTORY: the deepest negative header occurrence. */
const MAX_HDR_HISTORY = 10;

/** HAProxy's tune.http.logurilen default (REQURI_LEN) minus the NUL: the captured request line. */
const REQURI_MAX = 1023;

const EMPTY = Buffer.alloc(0);

/* ---------------- character classes ---------------- */

/** HTTP_IS_LWS: SP, HT, CR, LF. */
function isLws(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

/** HTTP_IS_SPHT. */
function isSpHt(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

function sub(v: string, s: number, e: number): string {
  return s === 0 && e === v.length ? v : v.slice(s, e);
}

/* ---------------- header values (http_find_header) ---------------- */

/* Bounds of the value element()/whole() found (module state: no allocation). */
let elS = 0;
let elE = 0;

/**
 * One comma-separated element of a header value, as __http_find_header()
 * returns it: LWS trimmed on both sides, empty elements included. Call with
 * p = 0 for the first element; it returns the resume point (the comma or the
 * end), and while that is before the end the next element starts one after.
 */
function element(v: string, p: number): number {
  const e = v.length;
  while (p < e && isLws(v.charCodeAt(p))) p++;
  const end = valueElementEnd(v, p, e);
  let t = end;
  while (t > p && isLws(v.charCodeAt(t - 1))) t--;
  elS = p;
  elE = t;
  return end;
}

/** The whole value, trimmed (http_find_header() with full=1). */
function whole(v: string): void {
  let p = 0;
  let t = v.length;
  while (p < t && isLws(v.charCodeAt(p))) p++;
  while (t > p && isLws(v.charCodeAt(t - 1))) t--;
  elS = p;
  elE = t;
}

/** Values of `lname` ('' = every field): comma elements when split, else fields (req.hdr_cnt / req.fhdr_cnt). */
function countValues(list: HeaderList, lname: string, split: boolean): number {
  if (lname.length !== 0 && !list.mayHave(lname)) return 0;
  let n = 0;
  for (let i = 0; i < list.count; i++) {
    if (lname.length !== 0 && !list.nameIs(i, lname)) continue;
    if (!split) { n++; continue; }
    const v = list.value(i);
    let r = element(v, 0);
    n++;
    while (r < v.length) { r = element(v, r + 1); n++; }
  }
  return n;
}

/* The value valueAt() found: its field value and bounds. */
let atV = '';

/**
 * http_get_htx_hdr() / http_get_htx_fhdr(): occurrence `occ` of `lname`
 * (1 and 0 are the first, -1 the last); sets atV/elS/elE, false when there
 * are not that many. A negative occurrence counts first (no history array).
 */
function valueAt(list: HeaderList, lname: string, occ: number, split: boolean): boolean {
  if (lname.length !== 0 && !list.mayHave(lname)) return false;
  if (occ === -1 && lname.length !== 0) {
    // The last one (req.hdr's default): the last field of that name, its last
    // element; one pass from the end instead of counting everything first.
    for (let i = list.count - 1; i >= 0; i--) {
      if (!list.nameIs(i, lname)) continue;
      const v = list.value(i);
      atV = v;
      if (!split) { whole(v); return true; }
      let r = element(v, 0);
      while (r < v.length) r = element(v, r + 1);
      return true;
    }
    return false;
  }
  if (occ < 0) {
    if (-occ > MAX_HDR_HISTORY) return false;
    const n = countValues(list, lname, split);
    if (-occ > n) return false;
    occ = n + occ + 1;
  } else if (occ === 0) occ = 1;
  let k = 0;
  for (let i = 0; i < list.count; i++) {
    if (lname.length !== 0 && !list.nameIs(i, lname)) continue;
    const v = list.value(i);
    if (!split) {
      if (++k === occ) { atV = v; whole(v); return true; }
      continue;
    }
    let r = element(v, 0);
    for (;;) {
      if (++k === occ) { atV = v; return true; }
      if (r >= v.length) break;
      r = element(v, r + 1);
    }
  }
  return false;
}

/**
 * Every value of header `lname` in order ('' = every header): the
 * comma-separated elements when `split` (req.hdr), else the field values
 * (req.fhdr). This is what HAProxy's ACLs iterate over for hdr(<name>)
 * without an occurrence; `lname` must be lower-case.
 */
export function headerOccurrences(list: HeaderList, lname: string, split: boolean, out: string[] = []): string[] {
  out.length = headerValuesInto(list, lname, split, out, 0);
  return out;
}

/** headerOccurrences() into out[n...]: returns the new count (out is not truncated). */
function headerValuesInto(list: HeaderList, lname: string, split: boolean, out: string[], n: number): number {
  if (lname.length !== 0 && !list.mayHave(lname)) return n;
  for (let i = 0; i < list.count; i++) {
    if (lname.length !== 0 && !list.nameIs(i, lname)) continue;
    const v = list.value(i);
    if (!split) { whole(v); out[n++] = sub(v, elS, elE); continue; }
    let r = element(v, 0);
    out[n++] = sub(v, elS, elE);
    while (r < v.length) {
      r = element(v, r + 1);
      out[n++] = sub(v, elS, elE);
    }
  }
  return n;
}

/** First element of the first Host field (base, base32: http_find_header(full=0)); sets atV/elS/elE. */
function firstHost(list: HeaderList, split: boolean): boolean {
  if (!list.mayHave('host')) return false;
  for (let i = 0; i < list.count; i++) {
    if (!list.nameIs(i, 'host')) continue;
    atV = list.value(i);
    if (split) element(atV, 0);
    else whole(atV);
    return true;
  }
  return false;
}

/* ---------------- numbers and addresses (src/tools.c) ---------------- */

/** A byte as C's (signed) char. */
function schar(c: number): number {
  return c >= 0x80 ? c - 0x100 : c;
}

/**
 * strl2ic(): digits up to the first character above '9', in a 32-bit int.
 * Characters below '0' are not rejected but added as negative digits (the
 * C code only tests j > 9): haproxy 2.6.12 gives -58 for "1 2" (verified).
 */
function strl2ic(s: string, p: number, e: number): number {
  let i = 0;
  let len = e - p;
  if (len <= 0) return 0;
  if (s.charCodeAt(p) !== 0x2d) {
    while (len-- > 0) {
      const j = schar(s.charCodeAt(p++)) - 0x30;
      const k = Math.imul(i, 10);
      if (j > 9) break;
      i = (k + j) | 0;
    }
  } else {
    p++;
    while (--len > 0) {
      const j = schar(s.charCodeAt(p++)) - 0x30;
      const k = Math.imul(i, 10);
      if (j > 9) break;
      i = (k - j) | 0;
    }
  }
  return i;
}

/** strl2irc() for a port: exactly the digits of s[p, e) (an optional '-'), no overflow; -1 on error. */
function strictPort(s: string, p: number, e: number): number {
  if (p >= e) return -1;
  let i = 0;
  if (s.charCodeAt(p) === 0x2d) {
    // "-" alone reads as 0, a valid port (verified: "1.2.3.4:-" is an address)
    for (p++; p < e; p++) {
      const j = schar(s.charCodeAt(p)) - 0x30;
      if (j < 0 || j > 9) return -1;
      i = i * 10 - j;
      if (i < -0x80000000) return -1;
    }
  } else {
    for (; p < e; p++) {
      const j = schar(s.charCodeAt(p)) - 0x30;
      if (j < 0 || j > 9) return -1;
      i = i * 10 + j;
      if (i > 0x7fffffff) return -1;
    }
  }
  return i >= 0 && i <= 65535 ? i : -1;
}

/* The address url2ipv4() read. */
let ip4 = 0;
const oct = new Uint8Array(4);

/**
 * url2ipv4(): a dotted quad at s[p..], stopping at the first character that
 * is neither a digit nor a dot; leading zeroes are allowed ("01.2.3.4").
 * Returns the characters read (0: not an address) and sets ip4.
 */
function url2ipv4(s: string, p: number, e: number): number {
  const start = p;
  let saw = false;
  let octets = 0;
  let tp = 0;
  oct[0] = 0;
  while (p < e) {
    const ch = s.charCodeAt(p);
    const digit = (ch - 0x30) & 0xff;
    if (digit > 9 && ch !== 0x2e) break;
    p++;
    if (digit <= 9) {
      const n = oct[tp] * 10 + digit;
      if (n > 255) return 0;
      oct[tp] = n;
      if (!saw) {
        if (++octets > 4) return 0;
        saw = true;
      }
    } else if (saw) {
      if (octets === 4) return 0;
      oct[++tp] = 0;
      saw = false;
    } else return 0;
  }
  if (octets < 4) return 0;
  ip4 = ((oct[0] << 24) | (oct[1] << 16) | (oct[2] << 8) | oct[3]) >>> 0;
  return p - start;
}

/* The port url2sa() read. */
let urlPort = 0;

/**
 * url2sa() at run time (no DNS): true when the URI is http:// or https://
 * (any case) followed by a dotted quad, with ip4 and urlPort set (80/443
 * by default; the port wraps at 16 bits: ":70000" is 4464, verified). An
 * IPv6 literal or a host name gives no sample to url_ip/url_port.
 */
function url2sa(t: string): boolean {
  const k = t.indexOf('://');
  if (k < 0) return false;
  // The C code packs the bytes before "://" in 64 bits and compares with
  // "http"/"https": only those exact schemes (case-insensitive) match.
  let dflt: number;
  if (k === 4 && (t.charCodeAt(0) | 0x20) === 0x68 && (t.charCodeAt(1) | 0x20) === 0x74 &&
    (t.charCodeAt(2) | 0x20) === 0x74 && (t.charCodeAt(3) | 0x20) === 0x70) dflt = 80;
  else if (k === 5 && (t.charCodeAt(0) | 0x20) === 0x68 && (t.charCodeAt(1) | 0x20) === 0x74 &&
    (t.charCodeAt(2) | 0x20) === 0x74 && (t.charCodeAt(3) | 0x20) === 0x70 && (t.charCodeAt(4) | 0x20) === 0x73) dflt = 443;
  else return false;
  const p = k + 3;
  if (t.charCodeAt(p) === 0x5b) return false; // '[': IPv6, not AF_INET
  const n = url2ipv4(t, p, t.length);
  if (n === 0) return false;
  let q = p + n;
  let port = dflt;
  if (t.charCodeAt(q) === 0x3a) {
    // read_uint(): digits, unsigned 32-bit wrap; htons() keeps 16 bits
    port = 0;
    for (q++; q < t.length; q++) {
      const j = t.charCodeAt(q) - 0x30;
      if (j < 0 || j > 9) break;
      port = (Math.imul(port, 10) + j) >>> 0;
    }
  }
  urlPort = port & 0xffff;
  return true;
}

/** req.hdr_ip(): an IPv4 address (optionally ":port", 0-65535) or an IPv6 one, the whole value. */
function setHdrIp(smp: Sample, v: string, s: number, e: number): boolean {
  const n = url2ipv4(v, s, e);
  if (n > 0 && n === e - s) return smp.setIPv4(ip4);
  if (n > 0 && v.charCodeAt(s + n) === 0x3a && strictPort(v, s + n + 1, e) >= 0) return smp.setIPv4(ip4);
  const b = Buffer.allocUnsafe(16);
  if (parseIPv6Into(sub(v, s, e), b)) return smp.setIPv6(b);
  return false;
}

/** The SDBM step of base32/url32 over s[p, e), characters as signed chars. */
function sdbm(hash: number, s: string, p: number, e: number): number {
  for (; p < e; p++) hash = (schar(s.charCodeAt(p)) + (hash << 6) + (hash << 16) - hash) >>> 0;
  return hash;
}

/* ---------------- the URI (src/http.c http_uri_parser) ---------------- */

/*
 * requestUri(): HAProxy's HTX URI. Its H1 mux normalises before any fetch
 * (haproxy 2.6.12, verified): an absolute-form target with the scheme's
 * default port loses it, and Host fields then carry the authority's host
 * ("GET http://Ex.com:80/z" has url "http://Ex.com/z", base "Ex.com/z");
 * CONNECT's Host loses a default port. That belongs to the parser (h1.ts),
 * not here: every fetch reads the target and fields as parsed.
 */
function requestUri(h: RequestHead): string {
  return h.target;
}

function isAlpha(c: number): boolean {
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x7a;
}

/**
 * http_parse_path(): where the path starts in uri t, -1 when there is none:
 * "*", authority-form (CONNECT), an absolute URI without a '/' after the
 * authority ("http://h" has no path, verified).
 */
function pathStart(t: string): number {
  const n = t.length;
  if (n === 0) return -1;
  const c0 = t.charCodeAt(0);
  if (c0 === 0x2f) return 0;
  if (c0 === 0x2a || !isAlpha(c0)) return -1;
  let i = 1;
  while (i < n) {
    const c = t.charCodeAt(i);
    if (isAlpha(c) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e) i++;
    else break;
  }
  if (i + 3 > n || t.charCodeAt(i) !== 0x3a || t.charCodeAt(i + 1) !== 0x2f || t.charCodeAt(i + 2) !== 0x2f) return -1;
  // the authority runs to the first '/', even past a '?'
  return t.indexOf('/', i + 3);
}

/** End of the path part: the first '?' at or after ps, or the end. */
function pathEnd(t: string, ps: number): number {
  const q = t.indexOf('?', ps);
  return q < 0 ? t.length : q;
}

/* ---------------- cookies (http_extract_cookie_value) ---------------- */

/* Bounds of the value extractCookie() found. */
let ckS = 0;
let ckE = 0;

/**
 * http_extract_cookie_value(): the next cookie `name` ('' = any) in v[p, e);
 * sets ckS/ckE and returns where to go on, or -1. `multi` is HAProxy's
 * `list` (request direction): otherwise only the first cookie counts, as in
 * Set-Cookie. The loop bound is the C one: a cookie "b=" filling a whole
 * element is not found as "b" (verified: `Cookie: a=1, b=` has no b).
 */
function extractCookie(v: string, p: number, e: number, name: string, multi: boolean): number {
  const nl = name.length;
  let att = p;
  while (att + nl + 1 < e) {
    while (att < e && isSpHt(v.charCodeAt(att))) att++;
    let eq = att;
    let attEnd = att;
    while (eq < e) {
      const c = v.charCodeAt(eq);
      if (c === 0x3d || c === 0x3b || (multi && c === 0x2c)) break;
      eq++;
      if (isSpHt(c)) continue;
      attEnd = eq;
    }
    let vs: number;
    let ve: number;
    let next: number;
    if (eq < e && v.charCodeAt(eq) === 0x3d) {
      vs = eq + 1;
      while (vs < e && isSpHt(v.charCodeAt(vs))) vs++;
      next = valueElementEnd(v, vs, e, true);
      ve = next;
      while (ve > vs && isSpHt(v.charCodeAt(ve - 1))) ve--;
    } else {
      vs = ve = next = eq;
    }
    // `$Version`-style attributes are not cookies; neither is a name without '='
    if ((att < e && v.charCodeAt(att) === 0x24) || eq === next) {
      att = next + 1;
      continue;
    }
    if (nl === 0 || (attEnd - att === nl && v.startsWith(name, att))) {
      ckS = vs;
      ckE = ve;
      return next + 1;
    }
    if (!multi) break;
    att = next + 1;
  }
  return -1;
}

/* The value cookieValue() found: its field value and bounds. */
let ckV = '';

/**
 * smp_fetch_cookie() outside ACLs: the last cookie `name` of the `hname`
 * fields (split at commas first), or the first cookie of all when the name
 * is empty. Sets ckV/ckS/ckE.
 */
function cookieValue(list: HeaderList, hname: string, name: string, multi: boolean): boolean {
  const nl = name.length;
  let found = false;
  let fs = 0;
  let fe = 0;
  let fv = '';
  if (!list.mayHave(hname)) { ckV = fv; ckS = ckE = 0; return false; }
  for (let i = 0; i < list.count; i++) {
    if (!list.nameIs(i, hname)) continue;
    const v = list.value(i);
    let r = -1;
    do {
      r = element(v, r + 1);
      const s = elS, e = elE;
      if (e - s < nl + 1) continue;
      let p = s;
      while ((p = extractCookie(v, p, e, name, multi)) >= 0) {
        found = true;
        fv = v;
        fs = ckS;
        fe = ckE;
        if (nl === 0) { ckV = fv; return true; }
      }
    } while (r < v.length);
  }
  ckV = fv;
  ckS = fs;
  ckE = fe;
  return found;
}

/**
 * Every value of cookie `name` ('' = every cookie) in the Cookie fields
 * (`response`: Set-Cookie, first cookie of each line only), in order: what
 * HAProxy's ACLs iterate over for cook()/scook()/req.cook()/res.cook().
 */
export function cookieOccurrences(list: HeaderList, response: boolean, name: string): string[] {
  const out: string[] = [];
  out.length = cookieValuesInto(list, response, name, out);
  return out;
}

/** cookieOccurrences() into out[0...]: returns the count (out is not truncated). */
function cookieValuesInto(list: HeaderList, response: boolean, name: string, out: string[]): number {
  return cookieScan(list, response ? 'set-cookie' : 'cookie', name, !response, out);
}

/**
 * The occurrences of cookie `name` in the `hname` fields (`multi`: several
 * cookies per field), counted (smp_fetch_cookie_cnt()) and, when `out` is
 * given, their values written to out[0...].
 */
function cookieScan(list: HeaderList, hname: string, name: string, multi: boolean, out: string[] | null): number {
  const nl = name.length;
  let n = 0;
  if (!list.mayHave(hname)) return 0;
  for (let i = 0; i < list.count; i++) {
    if (!list.nameIs(i, hname)) continue;
    const v = list.value(i);
    let r = -1;
    do {
      r = element(v, r + 1);
      const s = elS, e = elE;
      if (e - s < nl + 1) continue;
      let p = s;
      while ((p = extractCookie(v, p, e, name, multi)) >= 0) {
        if (out !== null) out[n] = v.slice(ckS, ckE);
        n++;
      }
    } while (r < v.length);
  }
  return n;
}

/* ---------------- URL parameters (http_find_next_url_param) ---------------- */

/* Bounds of the value findParam() found. */
let pmS = 0;
let pmE = 0;

function isParamDelim(c: number, delim: number): boolean {
  return c === 0x26 || c === 0x3b || c === delim;
}

/**
 * http_find_next_url_param() on s[p, e): parameter `name` (case-sensitive;
 * '' = the value after the next '=', whatever its name), ending at '&', ';'
 * or `delim`. A name without '=' is not a parameter. Sets pmS/pmE.
 */
function findParam(s: string, p: number, e: number, name: string, delim: number): boolean {
  const nl = name.length;
  let vs: number;
  if (nl !== 0) {
    let pos = p;
    for (;;) {
      if (pos >= e) return false;
      if (pos + nl >= e) return false;
      if (s.charCodeAt(pos + nl) === 0x3d) {
        if (s.startsWith(name, pos)) break;
        pos += nl + 1;
      }
      while (pos < e && !isParamDelim(s.charCodeAt(pos), delim)) pos++;
      if (pos >= e) return false;
      pos++;
    }
    vs = pos + nl + 1;
  } else {
    const eq = s.indexOf('=', p);
    if (eq < 0 || eq >= e) return false;
    vs = eq + 1;
  }
  let ve = vs;
  while (ve < e && !isParamDelim(s.charCodeAt(ve), delim)) ve++;
  pmS = vs;
  pmE = ve;
  return true;
}

/**
 * Every value of parameter `name` ('' = every parameter) in s[from..), in
 * order: what HAProxy's ACLs iterate over for urlp() (s = the URI, from =
 * after its first '?' or <delim>) and req.body_param() (s = the body, from
 * = 0, delim '&').
 */
export function paramOccurrences(s: string, from: number, name: string, delim: number): string[] {
  const out: string[] = [];
  let p = from;
  while (p < s.length && findParam(s, p, s.length, name, delim)) {
    out.push(s.slice(pmS, pmE));
    p = pmE;
  }
  return out;
}

/** url_param() delimiter argument: its first character ('' is NUL), '?' when absent. */
function delimOf(a: ArgValue): number {
  if (typeof a !== 'string') return 0x3f;
  return a.length === 0 ? 0 : a.charCodeAt(0);
}

/** Sets pmS/pmE to parameter `name` of the query string of uri t (smp_fetch_url_param). */
function urlParam(t: string, name: ArgValue, delim: number): boolean {
  const q = t.indexOf(String.fromCharCode(delim));
  if (q < 0) return false;
  return findParam(t, q + 1, t.length, typeof name === 'string' ? name : '', delim);
}

/* ---------------- helpers on the context ---------------- */

/**
 * Whether HAProxy would evaluate in the response direction (SMP_OPT_DIR_RES):
 * response rules and logs. `hdr`, `cookie` and `method` depend on it; the
 * context does not say where it runs, so a response (or a status) existing
 * stands for it.
 */
function responseSide(ctx: SampleContext): boolean {
  return ctx.httpRes !== null || ctx.status >= 0;
}

function headerName(args: readonly ArgValue[]): string | null {
  const a = args[0];
  return typeof a === 'string' ? a : null;
}

function occurrence(args: readonly ArgValue[]): number {
  const a = args[1];
  return typeof a === 'number' ? a : 0;
}

/** smp_fetch_hdr()/smp_fetch_fhdr() outside ACLs; sets atV/elS/elE. */
function hdrValue(list: HeaderList, args: readonly ArgValue[], split: boolean): boolean {
  const name = headerName(args);
  // HAProxy: no name argument at all is no sample; an empty one is any field.
  if (name === null) return false;
  const occ = occurrence(args);
  return valueAt(list, name, occ === 0 ? -1 : occ, split);
}

function hdrFetch(smp: Sample, list: HeaderList | null | undefined, args: readonly ArgValue[], split: boolean): boolean {
  if (list == null || !hdrValue(list, args, split)) return false;
  return smp.setStr(sub(atV, elS, elE));
}

function hdrValFetch(smp: Sample, list: HeaderList | null | undefined, args: readonly ArgValue[]): boolean {
  if (list == null || !hdrValue(list, args, true)) return false;
  return smp.setInt(strl2ic(atV, elS, elE));
}

function hdrIpFetch(smp: Sample, list: HeaderList | null | undefined, args: readonly ArgValue[]): boolean {
  if (list == null || !hdrValue(list, args, true)) return false;
  return setHdrIp(smp, atV, elS, elE);
}

function hdrCntFetch(smp: Sample, list: HeaderList | null | undefined, args: readonly ArgValue[], split: boolean): boolean {
  if (list == null) return false;
  return smp.setInt(countValues(list, headerName(args) ?? '', split));
}

/** req.hdr_names: lower-case names (HTX's), joined by the first character of <delim> ('' is NUL). */
function hdrNamesFetch(smp: Sample, list: HeaderList | null | undefined, args: readonly ArgValue[]): boolean {
  if (list == null) return false;
  const a = args[0];
  const del = typeof a === 'string' ? (a.length === 0 ? '\0' : a[0]) : ',';
  let out = '';
  for (let i = 0; i < list.count; i++) {
    if (i > 0) out += del;
    out += list.name(i).toLowerCase();
  }
  return smp.setStr(out);
}

/** req.hdrs: "name: value\r\n" per field (names lower-case) and the empty line. */
function hdrsFetch(smp: Sample, list: HeaderList | null | undefined): boolean {
  if (list == null) return false;
  let out = '';
  for (let i = 0; i < list.count; i++) out += list.name(i).toLowerCase() + ': ' + list.value(i) + '\r\n';
  return smp.setStr(out + '\r\n');
}

/** SPOE varint (encode_varint()) length and writer. */
function varintLen(i: number): number {
  if (i < 240) return 1;
  let n = 1;
  i = Math.floor((i - 240) / 16);
  while (i >= 128) { n++; i = Math.floor((i - 128) / 128); }
  return n + 1;
}

function writeVarint(b: Buffer, o: number, i: number): number {
  if (i < 240) { b[o++] = i; return o; }
  b[o++] = (i & 0xff) | 240;
  i = Math.floor((i - 240) / 16);
  while (i >= 128) {
    b[o++] = (i & 0xff) | 128;
    i = Math.floor((i - 128) / 128);
  }
  b[o++] = i;
  return o;
}

/** req.hdrs_bin: <varint len><name><varint len><value> per field, then two empty strings. */
function hdrsBinFetch(smp: Sample, list: HeaderList | null | undefined): boolean {
  if (list == null) return false;
  let size = 2;
  for (let i = 0; i < list.count; i++) {
    const n = list.name(i).length, v = list.value(i).length;
    size += varintLen(n) + n + varintLen(v) + v;
  }
  const b = Buffer.allocUnsafe(size);
  let o = 0;
  for (let i = 0; i < list.count; i++) {
    const n = list.name(i).toLowerCase(), v = list.value(i);
    o = writeVarint(b, o, n.length);
    o += b.write(n, o, 'latin1');
    o = writeVarint(b, o, v.length);
    o += b.write(v, o, 'latin1');
  }
  b[o++] = 0;
  b[o++] = 0;
  return smp.setBin(b);
}

function cookFetch(smp: Sample, list: HeaderList | null | undefined, args: readonly ArgValue[], response: boolean, multi: boolean): boolean {
  if (list == null) return false;
  const a = args[0];
  if (!cookieValue(list, response ? 'set-cookie' : 'cookie', typeof a === 'string' ? a : '', multi)) return false;
  return smp.setStr(ckV.slice(ckS, ckE));
}

function cookValFetch(smp: Sample, list: HeaderList | null | undefined, args: readonly ArgValue[], response: boolean, multi: boolean): boolean {
  if (list == null) return false;
  const a = args[0];
  if (!cookieValue(list, response ? 'set-cookie' : 'cookie', typeof a === 'string' ? a : '', multi)) return false;
  return smp.setInt(strl2ic(ckV, ckS, ckE));
}

function cookCntFetch(smp: Sample, list: HeaderList | null | undefined, args: readonly ArgValue[], response: boolean, multi: boolean): boolean {
  if (list == null) return false;
  const a = args[0];
  return smp.setInt(cookieScan(list, response ? 'set-cookie' : 'cookie', typeof a === 'string' ? a : '', multi, null));
}

/** smp_fetch_path(): path, or path and query (`withQuery`). */
function pathFetch(smp: Sample, ctx: SampleContext, withQuery: boolean): boolean {
  const h = ctx.httpReq;
  if (h === null) return false;
  const t = requestUri(h);
  const ps = pathStart(t);
  if (ps < 0) return false;
  return smp.setStr(withQuery ? sub(t, ps, t.length) : sub(t, ps, pathEnd(t, ps)));
}

/** smp_fetch_base(): first Host element and the path (and query, `withQuery`) when it starts with '/'. */
function baseFetch(smp: Sample, ctx: SampleContext, withQuery: boolean): boolean {
  const h = ctx.httpReq;
  if (h === null) return false;
  // No Host, or an empty one: the path alone (haproxy: "/" for `Host:` empty, verified)
  if (!firstHost(h.headers, true) || elE === elS) return pathFetch(smp, ctx, withQuery);
  const host = sub(atV, elS, elE);
  const t = requestUri(h);
  const ps = pathStart(t);
  if (ps < 0) return smp.setStr(host);
  const pe = withQuery ? t.length : pathEnd(t, ps);
  return smp.setStr(pe > ps ? host + t.slice(ps, pe) : host);
}

/** smp_fetch_base32() / smp_fetch_url32(). */
function hash32(ctx: SampleContext, url: boolean): number {
  const h = ctx.httpReq!;
  let hash = 0;
  // base32: first Host element; url32: the whole first Host value
  if (firstHost(h.headers, !url)) hash = sdbm(hash, atV, elS, elE);
  const t = requestUri(h);
  const ps = pathStart(t);
  if (ps >= 0) {
    const pe = url ? t.length : pathEnd(t, ps);
    hash = sdbm(hash, t, ps, pe);
  }
  return fullHash(hash);
}

const scratch16 = new Uint8Array(16);

/** base32+src / url32+src: the hash (big-endian) then the source address (4 or 16 bytes). */
function hashSrcFetch(smp: Sample, ctx: SampleContext, url: boolean): boolean {
  if (ctx.httpReq === null) return false;
  const fam = parseIpInto(ctx.srcIp(), scratch16);
  if (fam === 0) return false;
  const b = Buffer.allocUnsafe(fam === 4 ? 8 : 20);
  b.writeUInt32BE(hash32(ctx, url), 0);
  b.set(scratch16.subarray(0, fam === 4 ? 4 : 16), 4);
  return smp.setBin(b);
}

/** req.body as buffered; an empty block when nothing was (HAProxy returns what the channel holds). */
function bodyOf(ctx: SampleContext): Buffer {
  return ctx.reqBody() ?? EMPTY;
}

/** HAProxy's txn->uri: "METHOD URI HTTP/x.y" cut to tune.http.logurilen - 1. */
function requestLine(h: RequestHead): string {
  const line = h.method + ' ' + requestUri(h) + ' HTTP/' + (h.version === 11 ? '1.1' : '1.0');
  return line.length > REQURI_MAX ? line.slice(0, REQURI_MAX) : line;
}

/* ---------------- argument specs and checks ---------------- */

const NAME_OCC: readonly ArgSpec[] = [{ kind: 'str', optional: true }, { kind: 'sint', optional: true }];
const OPT_STR: readonly ArgSpec[] = [{ kind: 'str', optional: true }];
const URLP_ARGS: readonly ArgSpec[] = [{ kind: 'str', optional: true }, { kind: 'str', optional: true }];

/** Header names compare lower-case (HeaderList.nameIs()); HAProxy's val_hdr() bounds the occurrence. */
function checkHdr(args: ArgValue[]): string | void {
  if (typeof args[0] === 'string') args[0] = args[0].toLowerCase();
  const occ = args[1];
  if (typeof occ === 'number' && occ < -MAX_HDR_HISTORY) return `header occurrence must be >= ${-MAX_HDR_HISTORY}`;
}

function checkHdrName(args: ArgValue[]): string | void {
  if (typeof args[0] === 'string') args[0] = args[0].toLowerCase();
}

/* ---------------- the fetches ---------------- */

const reqHdrs = (ctx: SampleContext): HeaderList | undefined => ctx.httpReq?.headers;
const resHdrs = (ctx: SampleContext): HeaderList | undefined => ctx.httpRes?.headers;
/** hdr()/cookie(): the request's or the response's, by direction (smp_fetch_chn_hdr). */
const chnHdrs = (ctx: SampleContext): HeaderList | undefined => responseSide(ctx) ? ctx.httpRes?.headers : ctx.httpReq?.headers;

/** The request and response header families, built from one description each. */
/**
 * ACL iteration of hdr()/fhdr() (HAProxy iterates when no occurrence is
 * given, or 0): every element (split) or field value into out, their
 * count; -1 with an occurrence (the ACL then uses fetch()).
 */
function hdrAll(list: HeaderList | null | undefined, args: readonly ArgValue[], split: boolean, out: string[]): number {
  if (occurrence(args) !== 0) return -1;
  if (list == null) return 0;
  return headerValuesInto(list, headerName(args) ?? '', split, out, 0);
}

function headerFetches(prefix: 'req.' | 'res.', list: (ctx: SampleContext) => HeaderList | undefined, use: number): FetchDef[] {
  return [
    {
      name: prefix + 'hdr', args: NAME_OCC, out: T_STR, use, check: checkHdr,
      fetch: (smp, ctx, args) => hdrFetch(smp, list(ctx), args, true), all: (ctx, args, out) => hdrAll(list(ctx), args, true, out),
    },
    {
      name: prefix + 'fhdr', args: NAME_OCC, out: T_STR, use, check: checkHdr,
      fetch: (smp, ctx, args) => hdrFetch(smp, list(ctx), args, false), all: (ctx, args, out) => hdrAll(list(ctx), args, false, out),
    },
    { name: prefix + 'hdr_cnt', args: OPT_STR, out: T_SINT, use, check: checkHdrName, fetch: (smp, ctx, args) => hdrCntFetch(smp, list(ctx), args, true) },
    { name: prefix + 'fhdr_cnt', args: OPT_STR, out: T_SINT, use, check: checkHdrName, fetch: (smp, ctx, args) => hdrCntFetch(smp, list(ctx), args, false) },
    { name: prefix + 'hdr_val', args: NAME_OCC, out: T_SINT, use, check: checkHdr, fetch: (smp, ctx, args) => hdrValFetch(smp, list(ctx), args) },
    { name: prefix + 'hdr_ip', args: NAME_OCC, out: T_IPV4, use, check: checkHdr, fetch: (smp, ctx, args) => hdrIpFetch(smp, list(ctx), args) },
    { name: prefix + 'hdr_names', args: OPT_STR, out: T_STR, use, fetch: (smp, ctx, args) => hdrNamesFetch(smp, list(ctx), args) },
    // HAProxy declares these binary but returns a string
    { name: prefix + 'hdrs', out: T_BIN, use, fetch: (smp, ctx) => hdrsFetch(smp, list(ctx)) },
    { name: prefix + 'hdrs_bin', out: T_BIN, use, fetch: (smp, ctx) => hdrsBinFetch(smp, list(ctx)) },
  ];
}

/** The cookie family: `multi` is HAProxy's request direction (several cookies per line). */
function cookieFetches(names: readonly [string, string, string], list: (ctx: SampleContext) => HeaderList | undefined, response: boolean, use: number): FetchDef[] {
  return [
    {
      name: names[0], args: OPT_STR, out: T_STR, use, fetch: (smp, ctx, args) => cookFetch(smp, list(ctx), args, response, !response),
      // ACLs try every cookie of that name (every cookie when none is named).
      all: (ctx, args, out) => { const l = list(ctx); const a = args[0]; return l == null ? 0 : cookieValuesInto(l, response, typeof a === 'string' ? a : '', out); },
    },
    { name: names[1], args: OPT_STR, out: T_SINT, use, fetch: (smp, ctx, args) => cookCntFetch(smp, list(ctx), args, response, !response) },
    { name: names[2], args: OPT_STR, out: T_SINT, use, fetch: (smp, ctx, args) => cookValFetch(smp, list(ctx), args, response, !response) },
  ];
}

registerFetches([
  ...headerFetches('req.', reqHdrs, HRQHV),
  ...headerFetches('res.', resHdrs, HRSHV),
  // Deprecated names kept for ACL compatibility: request-only hdr_*, response-only shdr*.
  { name: 'hdr_cnt', args: OPT_STR, out: T_SINT, use: HRQHV, check: checkHdrName, fetch: (smp, ctx, args) => hdrCntFetch(smp, reqHdrs(ctx), args, true) },
  { name: 'hdr_val', args: NAME_OCC, out: T_SINT, use: HRQHV, check: checkHdr, fetch: (smp, ctx, args) => hdrValFetch(smp, reqHdrs(ctx), args) },
  { name: 'hdr_ip', args: NAME_OCC, out: T_IPV4, use: HRQHV, check: checkHdr, fetch: (smp, ctx, args) => hdrIpFetch(smp, reqHdrs(ctx), args) },
  { name: 'shdr', args: NAME_OCC, out: T_STR, use: HRSHV, check: checkHdr, fetch: (smp, ctx, args) => hdrFetch(smp, resHdrs(ctx), args, true), all: (ctx, args, out) => hdrAll(resHdrs(ctx), args, true, out) },
  { name: 'shdr_cnt', args: OPT_STR, out: T_SINT, use: HRSHV, check: checkHdrName, fetch: (smp, ctx, args) => hdrCntFetch(smp, resHdrs(ctx), args, true) },
  { name: 'shdr_val', args: NAME_OCC, out: T_SINT, use: HRSHV, check: checkHdr, fetch: (smp, ctx, args) => hdrValFetch(smp, resHdrs(ctx), args) },
  { name: 'shdr_ip', args: NAME_OCC, out: T_IPV4, use: HRSHV, check: checkHdr, fetch: (smp, ctx, args) => hdrIpFetch(smp, resHdrs(ctx), args) },
  // hdr(): request headers in request rules, response headers in response rules
  { name: 'hdr', args: NAME_OCC, out: T_STR, use: HRQHV | HRSHV, check: checkHdr, fetch: (smp, ctx, args) => hdrFetch(smp, chnHdrs(ctx), args, true), all: (ctx, args, out) => hdrAll(chnHdrs(ctx), args, true, out) },

  ...cookieFetches(['req.cook', 'req.cook_cnt', 'req.cook_val'], reqHdrs, false, HRQHV),
  ...cookieFetches(['cook', 'cook_cnt', 'cook_val'], reqHdrs, false, HRQHV),
  ...cookieFetches(['res.cook', 'res.cook_cnt', 'res.cook_val'], resHdrs, true, HRSHV),
  ...cookieFetches(['scook', 'scook_cnt', 'scook_val'], resHdrs, true, HRSHV),
  {
    name: 'cookie', args: OPT_STR, out: T_STR, use: HRQHV | HRSHV,
    fetch(smp, ctx, args) {
      const res = responseSide(ctx);
      return cookFetch(smp, chnHdrs(ctx), args, res, !res);
    },
  },

  {
    name: 'method', out: T_METH, use: HRQHP,
    fetch(smp, ctx) {
      const h = ctx.httpReq;
      if (h === null) return false;
      // smp_fetch_meth(): an unknown method (PATCH included: HAProxy has no
      // code for it) is not given in the response direction, logs included
      // (verified: PATCH logs "-").
      if ((h.methodCode === METH_OTHER || h.methodCode === METH_PATCH) && responseSide(ctx)) return false;
      return smp.setMeth(h.method);
    },
  },
  { name: 'path', out: T_STR, use: HRQHV, fetch: (smp, ctx) => pathFetch(smp, ctx, false) },
  { name: 'pathq', out: T_STR, use: HRQHV, fetch: (smp, ctx) => pathFetch(smp, ctx, true) },
  { name: 'base', out: T_STR, use: HRQHV, fetch: (smp, ctx) => baseFetch(smp, ctx, false) },
  { name: 'baseq', out: T_STR, use: HRQHV, fetch: (smp, ctx) => baseFetch(smp, ctx, true) },
  { name: 'base32', out: T_SINT, use: HRQHV, fetch: (smp, ctx) => ctx.httpReq !== null && smp.setInt(hash32(ctx, false)) },
  { name: 'url32', out: T_SINT, use: HRQHV, fetch: (smp, ctx) => ctx.httpReq !== null && smp.setInt(hash32(ctx, true)) },
  { name: 'base32+src', out: T_BIN, use: HRQHV, fetch: (smp, ctx) => hashSrcFetch(smp, ctx, false) },
  { name: 'url32+src', out: T_BIN, use: HRQHV, fetch: (smp, ctx) => hashSrcFetch(smp, ctx, true) },
  { name: 'url', out: T_STR, use: HRQHV, fetch: (smp, ctx) => ctx.httpReq !== null && smp.setStr(requestUri(ctx.httpReq)) },
  {
    name: 'query', out: T_STR, use: HRQHV,
    fetch(smp, ctx) {
      if (ctx.httpReq === null) return false;
      const t = requestUri(ctx.httpReq);
      const q = t.indexOf('?');
      return q >= 0 && smp.setStr(t.slice(q + 1));
    },
  },
  { name: 'url_ip', out: T_IPV4, use: HRQHV, fetch: (smp, ctx) => ctx.httpReq !== null && url2sa(requestUri(ctx.httpReq)) && smp.setIPv4(ip4) },
  { name: 'url_port', out: T_SINT, use: HRQHV, fetch: (smp, ctx) => ctx.httpReq !== null && url2sa(requestUri(ctx.httpReq)) && smp.setInt(urlPort) },
  ...['url_param', 'urlp'].map((name): FetchDef => ({
    name, args: URLP_ARGS, out: T_STR, use: HRQHV,
    fetch(smp, ctx, args) {
      if (ctx.httpReq === null) return false;
      const t = requestUri(ctx.httpReq);
      return urlParam(t, args[0], delimOf(args[1])) && smp.setStr(t.slice(pmS, pmE));
    },
  })),
  {
    name: 'urlp_val', args: URLP_ARGS, out: T_SINT, use: HRQHV,
    fetch(smp, ctx, args) {
      if (ctx.httpReq === null) return false;
      const t = requestUri(ctx.httpReq);
      return urlParam(t, args[0], delimOf(args[1])) && smp.setInt(strl2ic(t, pmS, pmE));
    },
  },

  ...['req.ver', 'req_ver'].map((name): FetchDef => ({
    name, out: T_STR, use: HRQHV,
    fetch: (smp, ctx) => ctx.httpReq !== null && smp.setStr(ctx.httpReq.version === 11 ? '1.1' : '1.0'),
  })),
  ...['res.ver', 'resp_ver'].map((name): FetchDef => ({
    name, out: T_STR, use: HRSHV,
    fetch: (smp, ctx) => ctx.httpRes !== null && smp.setStr(ctx.httpRes.version === 11 ? '1.1' : '1.0'),
  })),
  {
    name: 'status', out: T_SINT, use: HRSHP,
    fetch(smp, ctx) {
      const st = ctx.status >= 0 ? ctx.status : ctx.httpRes !== null ? ctx.httpRes.status : -1;
      return st >= 0 && smp.setInt(st);
    },
  },

  ...['req.proto_http', 'req_proto_http'].map((name): FetchDef => ({
    // payload.c's L6 fetch: also in tcp-request content of a TCP proxy,
    // where the buffered bytes are tried as a request head.
    name, out: T_BOOL, use: USE_L6REQ | HRQHP,
    fetch(smp, ctx) {
      // Never in the response direction (verified: "-" in http-response and logs)
      if (responseSide(ctx)) return false;
      if (ctx.httpReq !== null) return smp.setBool(true);
      const buf = ctx.reqPayload();
      if (buf === null || buf.length === 0) {
        if (!ctx.reqFinal) smp.flags |= F_MAY_CHANGE;
        return false;
      }
      const r = parseRequestHead(buf);
      if (r.state === 'done') return smp.setBool(true);
      if (r.state === 'partial' && !ctx.reqFinal) smp.flags |= F_MAY_CHANGE;
      return false;
    },
  })),

  {
    name: 'req.body', out: T_BIN, use: HRQHV,
    fetch(smp, ctx) {
      const h = ctx.httpReq;
      if (h === null) return false;
      const b = bodyOf(ctx);
      if (h.contentLength > b.length) smp.flags |= F_MAY_CHANGE;
      return smp.setBin(b);
    },
  },
  { name: 'req.body_len', out: T_SINT, use: HRQHV, fetch: (smp, ctx) => ctx.httpReq !== null && smp.setInt(bodyOf(ctx).length) },
  {
    // the advertised length: Content-Length, else what was received (chunked)
    name: 'req.body_size', out: T_SINT, use: HRQHV,
    fetch(smp, ctx) {
      const h = ctx.httpReq;
      if (h === null) return false;
      return smp.setInt(h.contentLength >= 0 ? h.contentLength : bodyOf(ctx).length);
    },
  },
  {
    // HAProxy declares it binary and returns a string. The body is read as
    // one latin1 string: this runs once per request at most.
    name: 'req.body_param', args: OPT_STR, out: T_BIN, use: HRQHV,
    fetch(smp, ctx, args) {
      if (ctx.httpReq === null) return false;
      const b = bodyOf(ctx);
      const s = b.toString('latin1');
      const a = args[0];
      return findParam(s, 0, s.length, typeof a === 'string' ? a : '', 0x26) && smp.setStr(s.slice(pmS, pmE));
    },
  },

  {
    name: 'capture.req.method', out: T_STR, use: HRQHP,
    fetch(smp, ctx) {
      if (ctx.httpReq === null) return false;
      const line = requestLine(ctx.httpReq);
      const sp = line.indexOf(' ');
      return smp.setStr(sp < 0 ? line : line.slice(0, sp));
    },
  },
  {
    // the path and query of the (possibly cut) logged URI
    name: 'capture.req.uri', out: T_STR, use: HRQHP,
    fetch(smp, ctx) {
      if (ctx.httpReq === null) return false;
      const line = requestLine(ctx.httpReq);
      const sp = line.indexOf(' ');
      if (sp < 0) return false;
      const end = line.indexOf(' ', sp + 1);
      const uri = line.slice(sp + 1, end < 0 ? line.length : end);
      const ps = pathStart(uri);
      return ps >= 0 && smp.setStr(sub(uri, ps, uri.length));
    },
  },
  { name: 'capture.req.ver', out: T_STR, use: HRQHP, fetch: (smp, ctx) => ctx.httpReq !== null && smp.setStr(ctx.httpReq.version === 11 ? 'HTTP/1.1' : 'HTTP/1.0') },
  // HAProxy declares it with the request's class: accepted in http-request, empty there
  { name: 'capture.res.ver', out: T_STR, use: HRQHP | HRSHP, fetch: (smp, ctx) => ctx.httpRes !== null && smp.setStr(ctx.httpRes.version === 11 ? 'HTTP/1.1' : 'HTTP/1.0') },
]);

/* ---------------- derived ACL keywords (src/http_acl.c acl_kws) ---------------- */

export interface HttpAclKeyword {
  /** ACL keyword. */
  name: string;
  /** Sample fetch it reads. */
  fetch: string;
  /** Pattern match method. */
  match: string;
}

/** `<kw>` (exact), `<kw>_beg`, `_dir`, `_dom`, `_end`, `_len`, `_reg`, `_sub` on one fetch. */
function derived(kw: string, fetch: string): HttpAclKeyword[] {
  const out: HttpAclKeyword[] = [{ name: kw, fetch, match: 'str' }];
  for (const m of ['beg', 'dir', 'dom', 'end', 'len', 'reg', 'sub']) out.push({ name: kw + '_' + m, fetch, match: m });
  return out;
}

/**
 * HAProxy 2.6's HTTP ACL keywords, in acl_kws order. Note that `hdr*` read
 * req.hdr (not the direction-dependent hdr fetch) and `cook*` req.cook.
 * http_auth_group (list-indexed, pat_match_auth) belongs with http_auth.
 */
export const HTTP_ACL_KEYWORDS: ReadonlyArray<HttpAclKeyword> = Object.freeze([
  ...derived('base', 'base'),
  ...derived('cook', 'req.cook'),
  ...derived('hdr', 'req.hdr'),
  { name: 'method', fetch: 'method', match: 'meth' },
  ...derived('path', 'path'),
  { name: 'req_ver', fetch: 'req.ver', match: 'str' },
  { name: 'resp_ver', fetch: 'res.ver', match: 'str' },
  ...derived('scook', 'res.cook'),
  ...derived('shdr', 'res.hdr'),
  ...derived('url', 'url'),
  ...derived('urlp', 'urlp'),
]);

registerAclKeywords(HTTP_ACL_KEYWORDS.map(k => ({ name: k.name, fetch: k.fetch, match: k.match as MatchMethod })));
