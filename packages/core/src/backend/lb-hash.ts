/**
 * The hash-based algorithms (HAProxy's src/backend.c get_server_sh/uh/ph/
 * ph_post/hh/rch/expr): `balance source`, `uri`, `url_param`, `hdr()`,
 * `rdp-cookie` and `hash <expr>`. The request's key is hashed with the
 * `hash-type` function (sdbm by default; `source` hashes the address words
 * themselves), optionally avalanched, then looked up in the server map
 * (map-based, lb-map.ts) or on the consistent ring (lb-chash.ts). The
 * lookup tables depend only on the configuration, the weights and the
 * states, so a key reaches the same server in every worker, and the server
 * HAProxy 2.6 would choose.
 *
 * When the key is absent (no such header, parameter or cookie, a request
 * without an HTTP head, a redispatch without a stream), HAProxy falls back
 * to round-robin over the same table, and so do we.
 *
 * Keys are found in place: the request-target, header values and bodies are
 * hashed where they lie in the received bytes; a string (a rewritten target
 * or header, an expression's result) is first copied byte by byte into one
 * scratch buffer. Nothing is
 * allocated per request (but for `balance hash` of a non-string sample,
 * which the cast to binary allocates, as in HAProxy).
 */
import type { SampleContext, SampleExpr } from '../rules/sample';
import { T_BIN, T_METH, T_STR, castTo } from '../rules/sample';
import { METH_POST, TARGET_ABSOLUTE, TARGET_ORIGIN, type RequestHead } from '../http/h1';
import { TOKEN } from '../http/headers';
import { parseIPv4Into, parseIPv6Into } from '../util/ip-net';
import { avalancheInto, crc32Into, djb2Into, sdbmInto, wt6Into } from './hash';
import type { BalanceConfig, HashFunctionName } from './lb-config';
import type { LbAlgorithm, LbServer } from './lb-server';
import { ServerMap } from './lb-map';
import { ConsistentRing } from './lb-chash';

const K_SOURCE = 0;
const K_URI = 1;
const K_PARAM = 2;
const K_HDR = 3;
const K_RDP = 4;
const K_EXPR = 5;

const F_SDBM = 0;
const F_DJB2 = 1;
const F_WT6 = 2;
const F_CRC32 = 3;
const FUNCTION_IDS: Record<HashFunctionName, number> = { sdbm: F_SDBM, djb2: F_DJB2, wt6: F_WT6, crc32: F_CRC32 };

/* The key found by the scanners below: bytes keyBuf[keyStart, keyEnd) (released once hashed). */
const NO_KEY = new Uint8Array(0);
let keyBuf: Uint8Array = NO_KEY;
let keyStart = 0;
let keyEnd = 0;

/** Strings are copied here to be hashed (grown, never shrunk). */
let scratch = Buffer.allocUnsafe(1024);

/** s[from, to) as latin1 bytes at the start of the scratch buffer (read `scratch` after the call: it may grow); returns the length. */
function toScratch(s: string, from: number, to: number): number {
  const n = to - from;
  if (n > scratch.length) scratch = Buffer.allocUnsafe(Math.max(n, scratch.length * 2));
  const b = scratch;
  for (let i = 0; i < n; i++) b[i] = s.charCodeAt(from + i);
  return n;
}

function setKey(b: Uint8Array, s: number, e: number): true {
  keyBuf = b; keyStart = s; keyEnd = e;
  return true;
}

/* The request-target found by targetBytes(): [tStart, tEnd), its path from tPath. */
let tStart = 0;
let tEnd = 0;
let tPath = 0;

/**
 * The request-target's bytes: in the head buffer as received (no string
 * made), or, once a rule rewrote the request line, the new target copied to
 * the scratch buffer.
 */
function targetBytes(h: RequestHead): Uint8Array {
  const src = h.headers.src;
  if (!h.rewritten && src !== null) {
    tStart = h._ts; tEnd = h._te2; tPath = h._ps;
    return src;
  }
  const t = h.target;
  tStart = 0;
  tEnd = toScratch(t, 0, t.length);
  tPath = h._ps - h._ts;
  return scratch;
}

const scratch4 = new Uint8Array(4);
const scratch16 = new Uint8Array(16);

function isLws(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

export class HashBalancer<S extends LbServer> implements LbAlgorithm<S> {
  private readonly kind: number;
  private readonly fn: number;
  /** The request's hash, unboxed in a typed array (backend/hash.ts says why). */
  private readonly hv = new Uint32Array(1);
  private readonly avalanche: boolean;
  private readonly map: ServerMap<S> | null;
  private readonly ring: ConsistentRing<S> | null;
  /** url_param's name, rdp-cookie's cookie name, as bytes. */
  private readonly name: Buffer;
  /** hdr()'s name, lower-cased. */
  private readonly lname: string;
  private count = 0;

  constructor(private readonly cfg: BalanceConfig, servers: readonly S[], private readonly expr: SampleExpr | null) {
    this.kind = cfg.algo === 'source' ? K_SOURCE : cfg.algo === 'uri' ? K_URI : cfg.algo === 'url_param' ? K_PARAM
      : cfg.algo === 'hdr' ? K_HDR : cfg.algo === 'rdp-cookie' ? K_RDP : K_EXPR;
    if (this.kind === K_EXPR && expr === null) throw new Error('balance hash without its expression');
    this.fn = FUNCTION_IDS[cfg.hashFunction];
    this.avalanche = cfg.avalanche;
    this.map = cfg.hashType === 'map-based' ? new ServerMap<S>(servers) : null;
    this.ring = cfg.hashType === 'consistent' ? new ConsistentRing<S>(cfg.balanceFactor) : null;
    this.name = Buffer.from(cfg.arg, 'latin1');
    this.lname = cfg.arg.toLowerCase();
  }

  rebuild(members: readonly S[]): void {
    this.count = members.length;
    if (this.map !== null) this.map.rebuild(members);
    else this.ring!.rebuild(members);
  }

  pick(ctx: SampleContext | null, exclude: S | null): S | null {
    if (this.count === 0) return null;
    const hv = this.hv;
    // One server: nothing to hash (HAProxy skips the hash too).
    let found = true;
    if (this.count === 1) hv[0] = 0;
    else found = ctx !== null && this.hash(ctx);
    const map = this.map;
    if (map !== null) return found ? map.byHash(hv) : map.nextRR(exclude);
    const ring = this.ring!;
    const i = found ? ring.byHash(hv, exclude) : ring.nextRR(exclude);
    return i < 0 ? null : ring.member(i);
  }

  /** Hashes the request's key into hv[0]; false when it has none. */
  hash(ctx: SampleContext): boolean {
    let found: boolean;
    switch (this.kind) {
      case K_SOURCE:
        if (!sourceHash(ctx.srcIp(), this.hv)) return false;
        if (this.avalanche) avalancheInto(this.hv);
        return true;
      case K_URI: found = ctx.httpReq !== null && this.uriKey(ctx.httpReq); break;
      case K_PARAM: found = ctx.httpReq !== null && this.paramKey(ctx.httpReq, ctx); break;
      case K_HDR: found = ctx.httpReq !== null && this.hdrKey(ctx.httpReq); break;
      case K_RDP: found = this.rdpKey(ctx.reqPayload()); break;
      default: found = this.exprKey(ctx); break;
    }
    if (!found) return false;
    const hv = this.hv;
    switch (this.fn) {
      case F_DJB2: djb2Into(hv, keyBuf, keyStart, keyEnd); break;
      case F_WT6: wt6Into(hv, keyBuf, keyStart, keyEnd); break;
      case F_CRC32: crc32Into(hv, keyBuf, keyStart, keyEnd); break;
      default: sdbmInto(hv, keyBuf, keyStart, keyEnd); break;
    }
    keyBuf = NO_KEY; // not holding on to the request's buffer
    if (this.avalanche) avalancheInto(hv);
    return true;
  }

  /**
   * get_server_uh(): the request-target as received (from its path with
   * `path-only`), up to '?' unless `whole`, at most `len` characters, up to
   * the slash that would start directory level `depth` + 1.
   */
  private uriKey(h: RequestHead): true {
    const b = targetBytes(h);
    const c = this.cfg;
    let from = tStart;
    if (c.uriPathOnly) {
      // http_parse_path(): an absolute-form target's path starts after its
      // authority; no path ('*', authority-form, empty) hashes as "".
      from = h.targetForm === TARGET_ORIGIN ? tStart : h.targetForm === TARGET_ABSOLUTE ? tPath : tEnd;
    }
    let len = tEnd - from;
    if (c.uriLen > 0 && c.uriLen < len) len = c.uriLen;
    const stopAt = c.uriDepth > 0 ? c.uriDepth + 1 : 0;
    let end = from, slashes = 0;
    while (len-- > 0) {
      const ch = b[end];
      if (ch === 0x2f) {
        if (++slashes === stopAt) break;
      } else if (ch === 0x3f && !c.uriWhole) break;
      end++;
    }
    return setKey(b, from, end);
  }

  /** get_server_ph(), then get_server_ph_post() for a POST with `check_post` and a buffered body. */
  private paramKey(h: RequestHead, ctx: SampleContext): boolean {
    const b = targetBytes(h);
    let q = tStart;
    while (q < tEnd && b[q] !== 0x3f) q++;
    if (q < tEnd && findParam(b, q + 1, tEnd, this.name, false)) return true;
    if (!this.cfg.checkPost || h.methodCode !== METH_POST) return false;
    const body = ctx.reqBody();
    return body !== null && findParam(body, 0, body.length, this.name, true);
  }

  /**
   * get_server_hh(): the first value of the first field of that name
   * (http_find_header(): up to a comma outside quotes, without surrounding
   * blanks); empty or absent falls back. `use_domain_only` keeps the label
   * before the last dot ("1wt" of "haproxy.1wt.eu").
   */
  private hdrKey(h: RequestHead): boolean {
    const list = h.headers;
    const n = list.count;
    const lname = this.lname;
    let i = 0;
    while (i < n && !list.nameIs(i, lname)) i++;
    if (i === n) return false;
    let b: Uint8Array, s: number, e: number;
    const vs = list.valueStart(i);
    if (vs >= 0) { b = list.src!; s = vs; e = list.valueEnd(i); }
    else { const v = list.value(i); e = toScratch(v, 0, v.length); b = scratch; s = 0; }
    while (s < e && isLws(b[s])) s++;
    e = valueEnd(b, s, e);
    while (e > s && isLws(b[e - 1])) e--;
    if (e === s) return false;
    if (!this.cfg.domainOnly) return setKey(b, s, e);
    // Backwards from the end: the last dot ends the domain, the dot before it starts it.
    let p = e, end = e, len = e - s, inDomain = false;
    while (len > 0) {
      if (inDomain) {
        if (b[p - 1] === 0x2e) break;
      } else if (p < e && b[p] === 0x2e) {
        end = p;
        inDomain = true;
      }
      p--; len--;
    }
    return setKey(b, p, end);
  }

  /**
   * fetch_rdp_cookie_name() on the buffered request: after the 11 bytes of
   * TPKT and X.224 headers, "Cookie: <name>=<value>\r\n" (name compared
   * without case).
   */
  private rdpKey(d: Buffer | null): boolean {
    if (d === null || d.length <= 11 + 7) return false;
    let p = 11;
    let left = d.length - 11;
    if (!caseEq(d, p, COOKIE)) return false;
    p += 7; left -= 7;
    while (left > 0 && d[p] === 0x20) { p++; left--; }
    const name = this.name;
    if (left <= name.length || d[p + name.length] !== 0x3d || !caseEq(d, p, name)) return false;
    p += name.length + 1; left -= name.length + 1;
    const vs = p;
    while (left > 0 && d[p] !== 0x0d) { p++; left--; }
    if (left < 2 || d[p + 1] !== 0x0a || p === vs) return false;
    return setKey(d, vs, p);
  }

  /** get_server_expr(): the sample as binary (a string's bytes). */
  private exprKey(ctx: SampleContext): boolean {
    const smp = this.expr!.eval(ctx);
    if (smp === null) return false;
    if (smp.t === T_STR || smp.t === T_METH) {
      const n = toScratch(smp.s, 0, smp.s.length);
      return setKey(scratch, 0, n);
    }
    if (smp.t !== T_BIN && !castTo(smp, T_BIN)) return false;
    return setKey(smp.b!, 0, smp.b!.length);
  }
}

const COOKIE = Buffer.from('Cookie:', 'latin1');

/** b[p, p + w.length) equals w, ASCII letters compared without case. */
function caseEq(b: Uint8Array, p: number, w: Uint8Array): boolean {
  if (p + w.length > b.length) return false;
  for (let i = 0; i < w.length; i++) {
    let x = b[p + i], y = w[i];
    if (x >= 0x41 && x <= 0x5a) x |= 0x20;
    if (y >= 0x41 && y <= 0x5a) y |= 0x20;
    if (x !== y) return false;
  }
  return true;
}

/**
 * `balance source` (get_server_sh()): the address's 32-bit words XORed
 * (network order); an IPv4 address is its own hash. No hash function is
 * applied, only the avalanche modifier. False for a non-IP source (UNIX
 * socket), which then falls back to round-robin (HAProxy fails the stream).
 * The hash goes to out[0].
 */
export function sourceHash(ip: string, out: Uint32Array): boolean {
  if (ip.indexOf(':') < 0) {
    if (!parseIPv4Into(ip, 0, ip.length, scratch4, 0)) return false;
    out[0] = (scratch4[0] << 24) | (scratch4[1] << 16) | (scratch4[2] << 8) | scratch4[3];
    return true;
  }
  if (!parseIPv6Into(ip, scratch16)) return false;
  let h = 0;
  for (let i = 0; i < 16; i += 4) h ^= (scratch16[i] << 24) | (scratch16[i + 1] << 16) | (scratch16[i + 2] << 8) | scratch16[i + 3];
  out[0] = h;
  return true;
}

/**
 * `name=value` in the `&`-separated list b[s, e): the value (up to '&' or
 * the end) becomes the key. In a POST body (get_server_ph_post()) a value
 * whose first character is not a token character is not a form value: a
 * blank makes it empty, anything else means the body is not a parameter
 * list. (HAProxy 2.6 tests that first character for every byte of the
 * value, so only the first one counts; kept, so bodies hash as there.)
 */
function findParam(b: Uint8Array, s: number, e: number, name: Uint8Array, post: boolean): boolean {
  const plen = name.length;
  let params = s;
  let len = e - s;
  while (len > plen) {
    if (b[params + plen] === 0x3d && bytesEq(b, params, name)) {
      const start = params + plen + 1;
      let end = start;
      len -= plen + 1;
      if (post && len > 0 && b[start] !== 0x26 && !TOKEN[b[start]]) {
        if (!isLws(b[start])) return false;
        return setKey(b, start, start);
      }
      while (len > 0 && b[end] !== 0x26) { len--; end++; }
      return setKey(b, start, end);
    }
    let amp = params;
    const stop = params + len;
    while (amp < stop && b[amp] !== 0x26) amp++;
    if (amp === stop) return false;
    len -= amp + 1 - params;
    params = amp + 1;
  }
  return false;
}

function bytesEq(b: Uint8Array, p: number, w: Uint8Array): boolean {
  for (let i = 0; i < w.length; i++) if (b[p + i] !== w[i]) return false;
  return true;
}

/** http_find_hdr_value_end(): the first comma outside a quoted string, or e. */
function valueEnd(b: Uint8Array, s: number, e: number): number {
  let quoted = false, pair = false;
  for (; s < e; s++) {
    const c = b[s];
    if (pair) pair = false;
    else if (quoted) {
      if (c === 0x5c) pair = true;
      else if (c === 0x22) quoted = false;
    } else if (c === 0x22) quoted = true;
    else if (c === 0x2c) return s;
  }
  return e;
}
