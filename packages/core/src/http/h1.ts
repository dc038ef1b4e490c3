/**
 * Strict, incremental HTTP/1.x head parser (requests and responses) and the
 * body-framing decision of RFC 9112 §6.3. Chunked bodies are validated by
 * ./chunked.ts; fields live in ./headers.ts.
 *
 * API
 * ---
 *   const scan = new HeadScan();               // one per message being read
 *   r = parseRequestHead(buf, limits, scan);   // buf = every byte received so far
 *   r.state === 'partial'  → read more, append, call again with the same scan
 *   r.state === 'error'    → send r.status (400/413/505 …), log r.reason, close
 *   r.state === 'done'     → r.head (RequestHead), r.headLength = bytes of the
 *                            head incl. leading empty lines; the body starts there
 *   parseResponseHead(buf, requestMethodCode, limits, scan) — same, errors are 502.
 *
 * `buf` always starts at the first byte of the message. The first call parses
 * what is there in one pass (heads usually arrive whole). After a partial
 * answer, later calls only memchr the new bytes for an LF and re-parse when
 * one arrived (or the size limit is reached). Errors are reported in byte
 * order, and only once the line holding them is complete, so a result never
 * depends on how the bytes were split (tests feed byte by byte and at random
 * split points).
 *
 * The head references `buf` (fields are offsets into it, decoded lazily):
 * don't overwrite those bytes while the head is in use.
 *
 * Limits (HAProxy names): `maxHeadSize` ← tune.bufsize (HAProxy really stops
 * at bufsize − maxrewrite − HTX overhead ≈ 15273 with defaults; the engine
 * may pass that), `maxHeaders` ← tune.http.maxhdr: like haproxy 2.6.12, at most
 * maxhdr − 1 fields are accepted (100 passes, 101 gets 400, verified).
 *
 * Strictness — where we deliberately differ from haproxy 2.6.12 (each
 * verified with the binary behind a `mode http` frontend, raw bytes):
 *   - TE + CL: haproxy drops CL and forces close; we reject (400/502).
 *   - TE in HTTP/1.0: haproxy forwards it; we reject.
 *   - obs-fold: haproxy unfolds into spaces; we reject (RFC 9112 §5.2 allows both).
 *   - NUL/CTL/DEL in field values: haproxy forwards them; we reject.
 *   - Host twice with the same value: haproxy merges; we reject (RFC 9112 §3.2).
 *   - No Host on HTTP/1.1: haproxy forwards; we reject (RFC 9112 §3.2).
 *   - HTTP/2.0, HTTP/1.2, HTTP/0.9 version strings: haproxy forwards them as
 *     1.1 / 0.9; we answer 505 (RFC 9110 §15.6.6). Malformed versions: 400 as haproxy.
 *   - `Transfer-Encoding: gzip, chunked` in a request: haproxy answers 422;
 *     we accept (chunked is final, framing is unambiguous; per the issue).
 *   - Responses: haproxy accepts 2- and 4-digit status codes, 099, 600 and
 *     "HTXP/1.1"; we require HTTP/1.[01] and 100..599 (502 otherwise).
 * Matching haproxy 2.6.12 (verified): LF-only line endings accepted (also in
 * chunked framing); leading empty lines before the request line skipped; bare
 * CR → 400; space before colon → 400; empty field name → 400; field line
 * without colon → 400; CTL in name → 400; `#`, CTL, DEL, non-ASCII in the
 * target → 400; several SP/HTAB between request-line words accepted; trailing
 * space after the version → 400; no version (HTTP/0.9 form) → 400; lower-case
 * "http/1.1" → 400; differing Content-Length → 400, identical ones merged (also
 * "3, 3"); signed/empty/non-digit/overflowing Content-Length → 400; TE not
 * ending in chunked → 400 (502 for responses); chunked twice → 400; absolute-
 * form authority ≠ Host → 400, equal modulo default port → accepted; head too
 * large (request line or fields) → 400, never 414/431; too many fields → 400;
 * HTTP/1.0 GET/HEAD/DELETE with a body → 413; any invalid response → 502.
 */
import { HeaderList, TOKEN as TOKEN_TABLE, FIELD_VALUE as FIELD_VALUE_TABLE, latin1 } from './headers';

// Local aliases: a module constant is cheaper in the byte loops than a
// property load from the imported module object on every byte.
const TOKEN: Uint8Array = TOKEN_TABLE;
const FIELD_VALUE: Uint8Array = FIELD_VALUE_TABLE;

export interface H1Limits {
  /** Largest head (start line + fields + empty line), bytes. */
  maxHeadSize: number;
  /** tune.http.maxhdr: at most maxHeaders − 1 fields, as HAProxy. */
  maxHeaders: number;
}

export const DEFAULT_H1_LIMITS: Readonly<H1Limits> = Object.freeze({ maxHeadSize: 16384, maxHeaders: 101 });

/** Method codes (HAProxy's HTTP_METH_*, plus PATCH). */
export const METH_OTHER = 0;
export const METH_GET = 1;
export const METH_HEAD = 2;
export const METH_POST = 3;
export const METH_PUT = 4;
export const METH_DELETE = 5;
export const METH_OPTIONS = 6;
export const METH_CONNECT = 7;
export const METH_TRACE = 8;
export const METH_PATCH = 9;

/** Body framing (RFC 9112 §6.3). */
export const BODY_NONE = 0;
export const BODY_LENGTH = 1;
export const BODY_CHUNKED = 2;
/** Response delimited by the server closing (no CL/TE). */
export const BODY_CLOSE = 3;
/** 101 Switching Protocols or 2xx to CONNECT: bytes after the head are a tunnel. */
export const BODY_TUNNEL = 4;

/** Request-target forms (RFC 9112 §3.2). */
export const TARGET_ORIGIN = 0;
export const TARGET_ABSOLUTE = 1;
export const TARGET_AUTHORITY = 2;
export const TARGET_ASTERISK = 3;

export interface H1Partial {
  readonly state: 'partial';
}
export interface H1Error {
  readonly state: 'error';
  /** Status to answer (requests) or 502 (responses). */
  readonly status: number;
  /** Short code for logs, e.g. 'te-and-cl'. */
  readonly reason: string;
  /** Offset in buf where the problem was seen. */
  readonly offset: number;
}
export interface H1Done<H> {
  readonly state: 'done';
  readonly head: H;
  readonly headLength: number;
}
export type RequestResult = H1Partial | H1Error | H1Done<RequestHead>;
export type ResponseResult = H1Partial | H1Error | H1Done<ResponseHead>;

const PARTIAL: H1Partial = Object.freeze({ state: 'partial' as const });

/** Resume point for incremental parsing; one per message, reset() between messages. */
export class HeadScan {
  /** -1: no attempt yet; else where to resume looking for the empty line. */
  pos = -1;
  reset(): void {
    this.pos = -1;
  }
}

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HT = 0x09;

/** Request-target bytes: VCHAR except '#' (haproxy 2.6.12 rejects '#', verified). */
const TARGET = new Uint8Array(256);
for (let c = 0x21; c <= 0x7e; c++) TARGET[c] = 1;
TARGET[0x23] = 0;

/** Reason-phrase bytes (RFC 9112 §4): HTAB, SP, VCHAR, obs-text. */
const REASON = FIELD_VALUE;

/** Hex digit values, 255 for anything else. Shared with chunked.ts. */
export const HEX = new Uint8Array(256).fill(255);
for (let c = 0; c < 10; c++) HEX[0x30 + c] = c;
for (let c = 0; c < 6; c++) {
  HEX[0x41 + c] = 10 + c;
  HEX[0x61 + c] = 10 + c;
}

function lit(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s, 'latin1'));
}
const L_HOST = lit('host');
const L_CONTENT_LENGTH = lit('content-length');
const L_TRANSFER_ENCODING = lit('transfer-encoding');
const L_CONNECTION = lit('connection');
const L_UPGRADE = lit('upgrade');
const L_EXPECT = lit('expect');
const L_CHUNKED = lit('chunked');
const L_CLOSE = lit('close');
const L_KEEP_ALIVE = lit('keep-alive');
const L_100_CONTINUE = lit('100-continue');
const L_HTTP = lit('http');
const L_HTTPS = lit('https');

/** Case-insensitive compare of buf[s, s+l.length) with lower-case literal l (tokens only). */
function eqLower(buf: Buffer, s: number, l: Uint8Array): boolean {
  for (let i = 0; i < l.length; i++) if ((buf[s + i] | 0x20) !== l[i]) return false;
  return true;
}

function isOWS(c: number): boolean {
  return c === SP || c === HT;
}

/** Fields common to requests and responses. */
export class MessageHead {
  /** 10 or 11. */
  version = 11;
  headers: HeaderList;
  /** BODY_* constant. */
  bodyKind = BODY_NONE;
  /** Content-Length value, -1 when absent. */
  contentLength = -1;
  /** Connection may stay open after this message (version default + tokens). */
  keepAlive = true;
  connClose = false;
  connKeepAlive = false;
  connUpgrade = false;
  /**
   * Other tokens of Connection (lower-case): header names to drop as
   * hop-by-hop (RFC 9110 §7.6.1); null when none.
   */
  connectionTokens: string[] | null = null;
  /** Index of the Upgrade field, -1 when absent. */
  private _upgradeIndex = -1;
  /** A rule changed the fields: the indexes below are found again on first use. */
  protected _reindex = false;
  get upgradeIndex(): number {
    if (this._reindex) this.reindex();
    return this._upgradeIndex;
  }
  set upgradeIndex(v: number) { this._upgradeIndex = v; }
  protected reindex(): void {
    this._reindex = false;
    this._upgradeIndex = this.headers.indexOf('upgrade');
  }
  /**
   * The start line's bytes in the head buffer, [_ls, _le) without its line
   * end, and whether they are exactly the line Switchyard would write
   * (single spaces, a CRLF): then serializeHead() copies them instead of
   * writing the line out of strings. A rewrite of the line clears it.
   */
  _ls = 0;
  _le = 0;
  lineRaw = false;
  /** Transfer-Encoding seen / chunked count / chunked is the final coding. */
  _te = false;
  _teChunked = 0;
  _teLastChunked = false;

  constructor(buf: Buffer) {
    this.headers = new HeaderList(buf);
  }

  /** Upgrade field value, or null. */
  get upgrade(): string | null {
    return this.upgradeIndex < 0 ? null : this.headers.value(this.upgradeIndex);
  }

  /**
   * A rule added, removed or rewrote fields (http/actions.ts): indexes of
   * fields found by the parser are looked up again (removals shift them).
   */
  headersChanged(): void {
    this._reindex = true;
  }
}

export class RequestHead extends MessageHead {
  method = '';
  /** METH_* constant. */
  methodCode = METH_OTHER;
  /** TARGET_* constant. */
  targetForm = TARGET_ORIGIN;
  /** true when the request carries `Expect: 100-continue` (HTTP/1.1 only). */
  expectContinue = false;
  /** Index of the Host field, -1 when absent. */
  private _hostIndex = -1;
  get hostIndex(): number {
    if (this._reindex) this.reindex();
    return this._hostIndex;
  }
  set hostIndex(v: number) { this._hostIndex = v; }
  protected override reindex(): void {
    super.reindex();
    this._hostIndex = this.headers.indexOf('host');
  }
  _hostCount = 0;
  /** Offsets into the head buffer. */
  _ts = 0;
  _te2 = 0;
  /** Path start (origin-form: = _ts; absolute-form: after the authority). */
  _ps = 0;
  /** Authority from an absolute/authority-form target, -1 when none. */
  _as = -1;
  _ae = -1;
  /** Scheme end (absolute-form). */
  _se = -1;
  private _target: string | undefined;
  private _path: string | undefined;
  private _query: string | null | undefined;
  private _authority: string | null | undefined;
  /** The target set by setTarget() (the offsets above then point into it), null: the head buffer's. */
  private _tbuf: Buffer | null = null;
  /** A rule rewrote the method or the target: the request line must be rebuilt (engine/http-stream.ts). */
  rewritten = false;

  /** The buffer the target offsets point into. */
  private tsrc(): Buffer {
    return this._tbuf ?? this.headers.src!;
  }

  /** The request-target exactly as received (or as a rule set it). */
  get target(): string {
    let t = this._target;
    if (t === undefined) this._target = t = latin1(this.tsrc(), this._ts, this._te2);
    return t;
  }

  private splitPath(): void {
    const b = this.tsrc();
    if (this.targetForm === TARGET_ASTERISK) {
      this._path = '*';
      this._query = null;
      return;
    }
    if (this.targetForm === TARGET_AUTHORITY) {
      this._path = '';
      this._query = null;
      return;
    }
    let q = this._ps;
    const e = this._te2;
    while (q < e && b[q] !== 0x3f) q++;
    // absolute-form with an empty path means "/" (RFC 9110 §4.2.3).
    this._path = q === this._ps ? '/' : latin1(b, this._ps, q);
    this._query = q < e ? latin1(b, q + 1, e) : null;
  }

  /** Origin-form path (no query); "/" for an empty absolute path; "*"; "" for CONNECT. */
  get path(): string {
    if (this._path === undefined) this.splitPath();
    return this._path!;
  }

  /** Query string without "?", or null. */
  get query(): string | null {
    if (this._query === undefined) this.splitPath();
    return this._query!;
  }

  /** Path and query as they would appear in origin-form. */
  get pathAndQuery(): string {
    const q = this.query;
    return q === null ? this.path : this.path + '?' + q;
  }

  /** Absolute-form scheme (lower-cased), else null. */
  get scheme(): string | null {
    return this._se < 0 ? null : latin1(this.tsrc(), this._ts, this._se).toLowerCase();
  }

  /** Target authority (absolute/authority-form) or Host value; null when neither. */
  get authority(): string | null {
    let a = this._authority;
    if (a === undefined) {
      if (this._as >= 0) {
        // haproxy drops the scheme's default port when normalising (verified).
        const b = this.tsrc();
        const sl = this._se - this._ts;
        const def = sl === 4 && eqLower(b, this._ts, L_HTTP) ? 80 : sl === 5 && eqLower(b, this._ts, L_HTTPS) ? 443 : -1;
        a = latin1(b, this._as, this.targetForm === TARGET_ABSOLUTE ? stripDefaultPort(b, this._as, this._ae, def) : this._ae);
      }
      else a = this.hostIndex >= 0 ? this.headers.value(this.hostIndex) : null;
      this._authority = a;
    }
    return a;
  }

  /**
   * http-request set-method: `name` must be a token (RFC 9110 §9.1); the
   * method code follows (HAProxy's find_http_meth(), case-sensitive).
   * Throws a RangeError otherwise, leaving the request unchanged.
   */
  setMethod(name: string): void {
    if (!isToken(name)) throw new RangeError(`invalid method ${JSON.stringify(name)}`);
    const code = METHOD_NAMES.indexOf(name);
    this.methodCode = code > 0 ? code : METH_OTHER;
    this.method = code > 0 ? METHOD_NAMES[code] : name;
    this.rewritten = true;
    this.lineRaw = false;
  }

  /**
   * http-request set-uri/set-path/set-query...: replaces the request-target.
   * The new target must be one the parser accepts for this method
   * (origin-form, absolute-form, `*` for OPTIONS, authority-form for
   * CONNECT; VCHAR but '#'), else a RangeError is thrown and nothing
   * changes: HAProxy would forward anything, a request line with a space
   * or a CTL in it included. target, path, query, pathAndQuery, scheme and
   * authority then describe the new target; the Host field is not touched.
   */
  setTarget(target: string): void {
    const n = target.length;
    let ok = n > 0;
    for (let i = 0; ok && i < n; i++) {
      const c = target.charCodeAt(i);
      if (c > 0xff || TARGET[c] !== 1) ok = false;
    }
    if (!ok) throw new RangeError(`invalid request-target ${JSON.stringify(target)}`);
    const b = Buffer.from(target, 'latin1');
    const form = this.targetForm, ts = this._ts, te = this._te2, ps = this._ps, as = this._as, ae = this._ae, se = this._se;
    this._ts = 0;
    this._te2 = n;
    this._ps = 0;
    this._as = this._ae = this._se = -1;
    if (classifyTarget(b, 0, n, this) < 0) {
      this.targetForm = form; this._ts = ts; this._te2 = te; this._ps = ps; this._as = as; this._ae = ae; this._se = se;
      throw new RangeError(`invalid request-target ${JSON.stringify(target)} for ${this.method}`);
    }
    this._tbuf = b;
    this._target = target;
    this._path = this._query = this._authority = undefined;
    this.rewritten = true;
    this.lineRaw = false;
  }

  override headersChanged(): void {
    super.headersChanged();
    if (this._as < 0) this._authority = undefined;
  }
}

export class ResponseHead extends MessageHead {
  status = 0;
  /** METH_* of the request this answers (drives §6.3). */
  requestMethod = METH_OTHER;
  _rs = 0;
  _re = 0;
  /** Reason set by setStatus(), null: the one received. */
  private _reason: string | null = null;
  get reason(): string {
    return this._reason ?? latin1(this.headers.src!, this._rs, this._re);
  }

  /**
   * http-response set-status: the status line's code and reason change,
   * nothing else (bodyKind and the framing fields stay as parsed). Made
   * 204 or 304, a response loses its content-length and body in haproxy
   * 2.6.12 (its H1 mux, verified): the relay must do that. The reason
   * must be reason-phrase text (HTAB, SP, VCHAR, obs-text), else a
   * RangeError is thrown.
   */
  setStatus(status: number, reason: string): void {
    if (!Number.isInteger(status) || status < 100 || status > 999) throw new RangeError(`invalid status ${status}`);
    for (let i = 0; i < reason.length; i++) {
      const c = reason.charCodeAt(i);
      if (c > 0xff || REASON[c] !== 1) throw new RangeError(`invalid reason phrase ${JSON.stringify(reason)}`);
    }
    this.status = status;
    this._reason = reason;
    this.lineRaw = false;
  }
}

function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || TOKEN[c] !== 1) return false;
  }
  return true;
}

// Error reporting without allocation on the success path.
let errStatus = 0;
let errReason = '';
let errOffset = 0;
/** Status used for errors in the current parse (400 requests, 502 responses). */
let badStatus = 400;

function err(status: number, reason: string, offset: number): -1 {
  errStatus = status;
  errReason = reason;
  errOffset = offset;
  return -1;
}

function bad(reason: string, offset: number): -1 {
  return err(badStatus, reason, offset);
}

/** Reason of the last error of parseFields (used by chunked.ts for trailers). */
export function takeError(): string {
  return errReason;
}

function errorResult(): H1Error {
  return { state: 'error', status: errStatus, reason: errReason, offset: errOffset };
}

/**
 * Skip leading empty lines (RFC 9112 §2.2; haproxy skips any number).
 * Returns the first non-empty-line offset, -2 when more bytes are needed.
 */
function skipEmptyLines(buf: Buffer, len: number): number {
  let p = 0;
  while (p < len) {
    const c = buf[p];
    if (c === LF) p++;
    else if (c === CR) {
      if (p + 1 >= len) return -2;
      if (buf[p + 1] !== LF) return p; // bare CR: the line parser reports it
      p += 2;
    } else return p;
  }
  return -2;
}

/**
 * Decide whether a parse attempt can change the answer. A non-partial
 * result depends only on complete lines (errors inside an unterminated last
 * line are held back, see settle()), so after a partial answer nothing can
 * change until a new LF arrives or the size limit is reached. Re-parsing
 * then costs O(head) per new line: at most maxHeaders × maxHeadSize byte
 * steps for a client sending one byte per read, each read costing far more.
 */
function shouldParse(buf: Buffer, len: number, limits: H1Limits, scan: HeadScan | undefined): boolean {
  if (scan === undefined || scan.pos < 0) return true;
  if (len >= limits.maxHeadSize) return true;
  const from = scan.pos < len ? scan.pos : len;
  const lf = buf.indexOf(LF, from);
  if (lf >= 0 && lf < len) return true;
  scan.pos = len;
  return false;
}

function afterPartial(len: number, scan: HeadScan | undefined): H1Partial {
  if (scan !== undefined) scan.pos = len;
  return PARTIAL;
}

/**
 * After a parse error: report it only when the line holding it is complete
 * (an LF follows within lim), so that results never depend on where reads
 * were split. Returns true when the error stands.
 */
function settle(buf: Buffer, lim: number): boolean {
  const lf = buf.indexOf(LF, errOffset);
  return lf >= 0 && lf < lim;
}

/**
 * Parse a request head from the start of buf. See the file comment.
 */
export function parseRequestHead(buf: Buffer, limits: H1Limits = DEFAULT_H1_LIMITS, scan?: HeadScan): RequestResult {
  const len = buf.length;
  if (!shouldParse(buf, len, limits, scan)) return PARTIAL;
  badStatus = 400;
  const head = new RequestHead(buf);
  const lim = len < limits.maxHeadSize ? len : limits.maxHeadSize;
  const r = requestHead(buf, lim, head, limits.maxHeaders);
  if (r > 0) return { state: 'done', head, headLength: r };
  if (r < 0 && settle(buf, lim)) return errorResult();
  if (len >= limits.maxHeadSize) {
    // Verified: haproxy answers 400 for an oversized request line or fields (no 414/431).
    err(400, 'head-too-large', limits.maxHeadSize);
    return errorResult();
  }
  return afterPartial(len, scan);
}

/**
 * Parse a response head; `requestMethod` (METH_*) is needed for the body
 * rules of RFC 9112 §6.3 (HEAD, CONNECT). Errors are 502.
 */
export function parseResponseHead(
  buf: Buffer,
  requestMethod: number,
  limits: H1Limits = DEFAULT_H1_LIMITS,
  scan?: HeadScan,
): ResponseResult {
  const len = buf.length;
  if (!shouldParse(buf, len, limits, scan)) return PARTIAL;
  badStatus = 502;
  const head = new ResponseHead(buf);
  head.requestMethod = requestMethod;
  const lim = len < limits.maxHeadSize ? len : limits.maxHeadSize;
  const r = responseHead(buf, lim, head, limits.maxHeaders);
  if (r > 0) return { state: 'done', head, headLength: r };
  if (r < 0 && settle(buf, lim)) return errorResult();
  if (len >= limits.maxHeadSize) {
    // Verified: an oversized response head gives 502.
    err(502, 'head-too-large', limits.maxHeadSize);
    return errorResult();
  }
  return afterPartial(len, scan);
}

function methodCode(buf: Buffer, s: number, e: number): number {
  const b0 = buf[s];
  switch (e - s) {
    case 3:
      if (b0 === 0x47 && buf[s + 1] === 0x45 && buf[s + 2] === 0x54) return METH_GET;
      if (b0 === 0x50 && buf[s + 1] === 0x55 && buf[s + 2] === 0x54) return METH_PUT;
      return METH_OTHER;
    case 4:
      if (b0 === 0x50 && buf[s + 1] === 0x4f && buf[s + 2] === 0x53 && buf[s + 3] === 0x54) return METH_POST;
      if (b0 === 0x48 && buf[s + 1] === 0x45 && buf[s + 2] === 0x41 && buf[s + 3] === 0x44) return METH_HEAD;
      return METH_OTHER;
    case 5:
      if (b0 === 0x50 && eqExact(buf, s, M_PATCH)) return METH_PATCH;
      if (b0 === 0x54 && eqExact(buf, s, M_TRACE)) return METH_TRACE;
      return METH_OTHER;
    case 6:
      return b0 === 0x44 && eqExact(buf, s, M_DELETE) ? METH_DELETE : METH_OTHER;
    case 7:
      if (b0 === 0x4f && eqExact(buf, s, M_OPTIONS)) return METH_OPTIONS;
      if (b0 === 0x43 && eqExact(buf, s, M_CONNECT)) return METH_CONNECT;
      return METH_OTHER;
  }
  return METH_OTHER;
}

const M_PATCH = lit('PATCH');
const M_TRACE = lit('TRACE');
const M_DELETE = lit('DELETE');
const M_OPTIONS = lit('OPTIONS');
const M_CONNECT = lit('CONNECT');

function eqExact(buf: Buffer, s: number, l: Uint8Array): boolean {
  for (let i = 1; i < l.length; i++) if (buf[s + i] !== l[i]) return false;
  return true;
}

const METHOD_NAMES = ['', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'CONNECT', 'TRACE', 'PATCH'];

/**
 * "HTTP/d.d" at p? Returns 10/11, 0 for a well-formed other version, -1 for
 * a malformed one. Case-sensitive (RFC 9112 §2.3; haproxy rejects "http/1.1").
 */
function version(buf: Buffer, p: number, e: number): number {
  if (e - p !== 8) return -1;
  if (buf[p] !== 0x48 || buf[p + 1] !== 0x54 || buf[p + 2] !== 0x54 || buf[p + 3] !== 0x50 || buf[p + 4] !== 0x2f)
    return -1;
  const ma = buf[p + 5] - 0x30;
  const mi = buf[p + 7] - 0x30;
  if (ma < 0 || ma > 9 || buf[p + 6] !== 0x2e || mi < 0 || mi > 9) return -1;
  if (ma === 1 && (mi === 0 || mi === 1)) return 10 + mi;
  return 0;
}

/** Line end at p: returns offset after it, 0 = need more, -1 = bare CR (error set). */
function eol(buf: Buffer, p: number, lim: number): number {
  if (buf[p] === LF) return p + 1;
  // caller guarantees buf[p] === CR
  if (p + 1 >= lim) return 0;
  if (buf[p + 1] !== LF) return bad('bare-cr', p);
  return p + 2;
}

function requestHead(buf: Buffer, lim: number, h: RequestHead, maxHeaders: number): number {
  let p = skipEmptyLines(buf, lim);
  if (p === -2) return 0;

  // method
  const ms = p;
  while (p < lim && TOKEN[buf[p]] === 1) p++;
  if (p >= lim) return 0;
  let c = buf[p];
  if (p === ms) return bad(c === SP || c === HT ? 'bad-request-line' : 'bad-method', p);
  if (c !== SP && c !== HT) return bad(c === CR || c === LF ? 'bad-request-line' : 'bad-method', p);
  const code = methodCode(buf, ms, p);
  h.methodCode = code;
  h.method = code !== METH_OTHER ? METHOD_NAMES[code] : latin1(buf, ms, p);
  const me = p;
  // haproxy accepts several SP/HTAB between request-line words (verified).
  while (p < lim && isOWS(buf[p])) p++;

  // request-target
  const ts = p;
  while (p < lim && TARGET[buf[p]] === 1) p++;
  if (p >= lim) return 0;
  c = buf[p];
  if (c !== SP && c !== HT) {
    // CR/LF here is an HTTP/0.9 request line: haproxy 2.6.12 answers 400.
    return bad(c === CR || c === LF ? 'missing-version' : 'bad-target', p);
  }
  if (p === ts) return bad('bad-target', p);
  const te = p;
  h._ts = ts;
  h._te2 = te;
  while (p < lim && isOWS(buf[p])) p++;

  // version, then the line end; anything else (even a space) is invalid.
  const vs = p;
  while (p < lim) {
    c = buf[p];
    if (c === CR || c === LF || c === SP || c === HT) break;
    p++;
  }
  if (p >= lim) return 0;
  if (c !== CR && c !== LF) return bad('bad-version', p);
  const v = version(buf, vs, p);
  if (v < 0) return bad('bad-version', vs);
  if (v === 0) return err(505, 'unsupported-version', vs);
  h.version = v;
  h._ls = ms;
  h._le = p;
  h.lineRaw = buf[p] === CR && ts === me + 1 && buf[me] === SP && vs === te + 1 && buf[te] === SP;
  p = eol(buf, p, lim);
  if (p <= 0) return p;

  const tr = classifyTarget(buf, ts, te, h);
  if (tr < 0) return tr;

  p = parseFields(buf, p, lim, h.headers, h, maxHeaders, true);
  if (p <= 0) return p;
  return finishRequest(buf, h, p);
}

function classifyTarget(buf: Buffer, ts: number, te: number, h: RequestHead): number {
  const c0 = buf[ts];
  if (h.methodCode === METH_CONNECT) {
    // authority-form only: host ":" port (RFC 9112 §3.2.3).
    let colon = -1;
    for (let i = ts; i < te; i++) {
      const c = buf[i];
      if (c === 0x3a) colon = i;
      else if (c === 0x2f || c === 0x3f || c === 0x40) return bad('bad-target', i);
    }
    if (colon <= ts || colon === te - 1) return bad('bad-target', ts);
    for (let i = colon + 1; i < te; i++) {
      const d = buf[i] - 0x30;
      if (d < 0 || d > 9) return bad('bad-target', i);
    }
    h.targetForm = TARGET_AUTHORITY;
    h._as = ts;
    h._ae = te;
    return 1;
  }
  if (c0 === 0x2f) {
    h.targetForm = TARGET_ORIGIN;
    h._ps = ts;
    return 1;
  }
  if (c0 === 0x2a && te === ts + 1) {
    if (h.methodCode !== METH_OPTIONS) return bad('bad-target', ts);
    h.targetForm = TARGET_ASTERISK;
    return 1;
  }
  // absolute-form: scheme "://" authority [path-abempty] ["?" query]
  let i = ts;
  const a = c0 | 0x20;
  if (a < 0x61 || a > 0x7a) return bad('bad-target', ts);
  i++;
  while (i < te) {
    const c = buf[i];
    const l = c | 0x20;
    if ((l >= 0x61 && l <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e) i++;
    else break;
  }
  if (i + 3 > te || buf[i] !== 0x3a || buf[i + 1] !== 0x2f || buf[i + 2] !== 0x2f) return bad('bad-target', i);
  h._se = i;
  const as = i + 3;
  let ae = as;
  while (ae < te) {
    const c = buf[ae];
    if (c === 0x2f || c === 0x3f) break;
    // userinfo is an error for http(s) URIs (RFC 9110 §4.2.4).
    if (c === 0x40) return bad('bad-target', ae);
    ae++;
  }
  if (ae === as) return bad('bad-target', as);
  h.targetForm = TARGET_ABSOLUTE;
  h._as = as;
  h._ae = ae;
  h._ps = ae;
  return 1;
}

/** Port-normalised, case-insensitive authority comparison (haproxy ignores the scheme's default port, verified). */
function sameAuthority(buf: Buffer, as: number, ae: number, hs: number, he: number, defPort: number): boolean {
  ae = stripDefaultPort(buf, as, ae, defPort);
  he = stripDefaultPort(buf, hs, he, defPort);
  if (ae - as !== he - hs) return false;
  for (let i = 0; i < ae - as; i++) {
    let x = buf[as + i];
    let y = buf[hs + i];
    if (x >= 0x41 && x <= 0x5a) x |= 0x20;
    if (y >= 0x41 && y <= 0x5a) y |= 0x20;
    if (x !== y) return false;
  }
  return true;
}

function stripDefaultPort(buf: Buffer, s: number, e: number, defPort: number): number {
  // "host:" (empty port) and "host:80" for http mean "host".
  let i = e - 1;
  while (i >= s && buf[i] >= 0x30 && buf[i] <= 0x39) i--;
  if (i < s || buf[i] !== 0x3a) return e;
  if (i === e - 1) return i;
  if (defPort < 0) return e;
  let port = 0;
  for (let k = i + 1; k < e && port <= 65535; k++) port = port * 10 + buf[k] - 0x30;
  return port === defPort ? i : e;
}

function finishRequest(buf: Buffer, h: RequestHead, end: number): number {
  // RFC 9112 §3.2: HTTP/1.1 without Host → 400 (haproxy forwards; stricter here).
  if (h.version === 11 && h._hostCount === 0) return bad('missing-host', end - 1);
  if (h._as >= 0 && h.hostIndex >= 0) {
    const hdrs = h.headers;
    const o = h.hostIndex;
    const hs = hdrs.valueStart(o);
    const he = hdrs.valueEnd(o);
    let defPort = -1;
    if (h.targetForm === TARGET_ABSOLUTE) {
      const sl = h._se - h._ts;
      if (sl === 4 && eqLower(buf, h._ts, L_HTTP)) defPort = 80;
      else if (sl === 5 && eqLower(buf, h._ts, L_HTTPS)) defPort = 443;
    }
    if (!sameAuthority(buf, h._as, h._ae, hs, he, defPort)) return bad('host-mismatch', hs);
  }
  const r = framing(h, end - 1); // offsets of whole-head errors: the final LF
  if (r < 0) return r;
  if (h._te) {
    h.bodyKind = BODY_CHUNKED;
  } else if (h.contentLength > 0) {
    h.bodyKind = BODY_LENGTH;
  }
  // haproxy 2.6.12: HTTP/1.0 GET/HEAD/DELETE with a body → 413 (verified).
  if (
    h.version === 10 &&
    h.bodyKind !== BODY_NONE &&
    (h.methodCode === METH_GET || h.methodCode === METH_HEAD || h.methodCode === METH_DELETE)
  )
    return err(413, 'http10-body-forbidden', end - 1);
  if (h.version === 11) {
    h.keepAlive = !h.connClose;
  } else {
    h.keepAlive = h.connKeepAlive && !h.connClose;
    h.expectContinue = false; // RFC 9110 §10.1.1: ignore for HTTP/1.0
  }
  return end;
}


/** Checks shared by requests and responses once all fields are known. */
function framing(h: MessageHead, end: number): number {
  if (h._te) {
    if (h.contentLength >= 0) return bad('te-and-cl', end);
    if (h.version === 10) return bad('te-http10', end);
    if (!h._teLastChunked) return bad('te-not-chunked', end);
  }
  return 1;
}

function responseHead(buf: Buffer, lim: number, h: ResponseHead, maxHeaders: number): number {
  let p = skipEmptyLines(buf, lim);
  if (p === -2) return 0;
  // "HTTP/1.x" SP+ 3DIGIT [SP reason] CRLF
  const vs = p;
  while (p < lim) {
    const c = buf[p];
    if (c === SP || c === HT || c === CR || c === LF) break;
    p++;
  }
  if (p >= lim) return 0;
  if (buf[p] !== SP && buf[p] !== HT) return bad('bad-status-line', p);
  const v = version(buf, vs, p);
  if (v <= 0) return bad('bad-version', vs);
  h.version = v;
  while (p < lim && isOWS(buf[p])) p++;
  if (p + 3 >= lim) return 0;
  const d0 = buf[p] - 0x30;
  const d1 = buf[p + 1] - 0x30;
  const d2 = buf[p + 2] - 0x30;
  if (d0 < 1 || d0 > 5 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) return bad('bad-status', p);
  h.status = d0 * 100 + d1 * 10 + d2;
  p += 3;
  let c = buf[p];
  if (c === SP || c === HT) {
    p++;
    h._rs = p;
    while (p < lim && REASON[buf[p]] === 1) p++;
    if (p >= lim) return 0;
    c = buf[p];
    h._re = p;
    if (c !== CR && c !== LF) return bad('bad-reason', p);
  } else if (c === CR || c === LF) {
    // No reason phrase and no SP: tolerated like haproxy (RFC 9112 §4 recipients).
    h._rs = h._re = p;
  } else return bad('bad-status', p);
  h._ls = vs;
  h._le = p;
  // "HTTP/1.x 200 OK": what statusLine() would write (no reason: it writes "HTTP/1.x 200 ").
  h.lineRaw = buf[p] === CR && buf[vs + 8] === SP && buf[vs + 12] === SP && h._rs === vs + 13;
  p = eol(buf, p, lim);
  if (p <= 0) return p;

  p = parseFields(buf, p, lim, h.headers, h, maxHeaders, false);
  if (p <= 0) return p;
  const r = framing(h, p - 1);
  if (r < 0) return r;
  // RFC 9112 §6.3
  const st = h.status;
  if (h.requestMethod === METH_CONNECT && st >= 200 && st < 300) h.bodyKind = BODY_TUNNEL;
  else if (st === 101) h.bodyKind = BODY_TUNNEL;
  else if (h.requestMethod === METH_HEAD || st < 200 || st === 204 || st === 304) h.bodyKind = BODY_NONE;
  else if (h._te) h.bodyKind = BODY_CHUNKED;
  else if (h.contentLength >= 0) h.bodyKind = h.contentLength > 0 ? BODY_LENGTH : BODY_NONE;
  else h.bodyKind = BODY_CLOSE;
  h.keepAlive = h.version === 11 ? !h.connClose : h.connKeepAlive && !h.connClose;
  if (h.bodyKind === BODY_CLOSE) h.keepAlive = false;
  return p;
}

/**
 * Parse field lines from p through the empty line; returns the offset after
 * it, 0 when more bytes are needed, -1 on error. `h` null = trailer section
 * (syntax only). Shared with chunked.ts for trailers.
 */
export function parseFields(
  buf: Buffer,
  p: number,
  lim: number,
  list: HeaderList,
  h: MessageHead | null,
  maxHeaders: number,
  isRequest: boolean,
): number {
  let count = 0;
  for (;;) {
    if (p >= lim) return 0;
    let c = buf[p];
    if (c === CR || c === LF) {
      // empty line: end of the section
      return eol(buf, p, lim);
    }
    // A line starting with SP/HTAB continues the previous one (obs-fold,
    // RFC 9112 §5.2) or, first, is whitespace after the start line (§2.2).
    if (c === SP || c === HT) return bad('obs-fold', p);
    const ns = p;
    while (p < lim && TOKEN[buf[p]] === 1) p++;
    if (p >= lim) return 0;
    c = buf[p];
    if (c !== 0x3a) {
      if (c === SP || c === HT) return bad('space-before-colon', p);
      if (c === CR || c === LF) return bad('missing-colon', p);
      return bad('bad-header-name', p);
    }
    if (p === ns) return bad('empty-header-name', p);
    const ne = p;
    p++;
    while (p < lim && isOWS(buf[p])) p++;
    const vs = p;
    while (p < lim && FIELD_VALUE[buf[p]] === 1) p++;
    if (p >= lim) return 0;
    c = buf[p];
    if (c !== CR && c !== LF) return bad('bad-header-value', p);
    let ve = p;
    p = eol(buf, p, lim);
    if (p <= 0) return p;
    while (ve > vs && isOWS(buf[ve - 1])) ve--;
    if (++count >= maxHeaders) return bad('too-many-headers', ns);
    if (h !== null) {
      const r = knownField(buf, ns, ne, vs, ve, list, h, isRequest);
      if (r < 0) return r;
      if (r === 0) continue; // merged duplicate, not listed
      list.pushRange(ns, ne, vs, ve);
      if (r === 2) list.setValueUnchecked(list.count - 1, String(h.contentLength));
      continue;
    }
    list.pushRange(ns, ne, vs, ve);
  }
}

/** Interpret framing/connection fields. 1 = keep, 0 = drop (merged), -1 = error. */
function knownField(
  buf: Buffer,
  ns: number,
  ne: number,
  vs: number,
  ve: number,
  list: HeaderList,
  h: MessageHead,
  isRequest: boolean,
): number {
  switch (ne - ns) {
    case 4:
      if (isRequest && eqLower(buf, ns, L_HOST)) {
        const rh = h as RequestHead;
        // RFC 9112 §3.2: more than one Host → 400 (haproxy merges equal ones).
        if (++rh._hostCount > 1) return bad('duplicate-host', ns);
        rh.hostIndex = list.count;
      }
      return 1;
    case 6:
      if (isRequest && eqLower(buf, ns, L_EXPECT)) {
        if (ve - vs === 12 && eqLower(buf, vs, L_100_CONTINUE) && h.version === 11)
          (h as RequestHead).expectContinue = true;
      }
      return 1;
    case 7:
      if (eqLower(buf, ns, L_UPGRADE)) {
        if (h.upgradeIndex < 0) h.upgradeIndex = list.count;
      }
      return 1;
    case 10:
      if (eqLower(buf, ns, L_CONNECTION)) connectionField(buf, vs, ve, h);
      return 1;
    case 14:
      if (eqLower(buf, ns, L_CONTENT_LENGTH)) return contentLength(buf, vs, ve, list, h);
      return 1;
    case 17:
      if (eqLower(buf, ns, L_TRANSFER_ENCODING)) return transferEncoding(buf, vs, ve, h);
      return 1;
  }
  return 1;
}

/**
 * Content-Length: 1*DIGIT, or a list of identical values ("3, 3"), same
 * across repeated fields (RFC 9110 §8.6; haproxy merges those, verified).
 */
function contentLength(buf: Buffer, vs: number, ve: number, list: HeaderList, h: MessageHead): number {
  let p = vs;
  let val = -1;
  let elems = 0;
  for (;;) {
    const ds = p;
    let n = 0;
    while (p < ve) {
      const d = buf[p] - 0x30;
      if (d < 0 || d > 9) break;
      n = n * 10 + d;
      // Beyond 2^53 − 1 we can no longer count bytes exactly.
      if (n > Number.MAX_SAFE_INTEGER) return bad('bad-content-length', ds);
      p++;
    }
    if (p === ds) return bad('bad-content-length', p); // empty, signed or non-digit
    if (val >= 0 && n !== val) return bad('conflicting-content-length', ds);
    val = n;
    elems++;
    while (p < ve && isOWS(buf[p])) p++;
    if (p >= ve) break;
    if (buf[p] !== 0x2c) return bad('bad-content-length', p);
    p++;
    while (p < ve && isOWS(buf[p])) p++;
  }
  if (h.contentLength >= 0) {
    if (h.contentLength !== val) return bad('conflicting-content-length', vs);
    return 0; // identical duplicate field: dropped, as haproxy does
  }
  h.contentLength = val;
  // 2: keep, but forward "3, 3" as "3" (haproxy does the same, verified).
  return elems > 1 ? 2 : 1;
}

/* Bounds of the item nextListItem() found (module state: no allocation). */
let itemStart = 0;
let itemEnd = 0;

/**
 * Next non-empty item of a comma-separated field value (RFC 9110 §5.6.1,
 * empty items and OWS around them skipped) at or after `p`: sets
 * itemStart/itemEnd and returns where to continue, or -1 at the end.
 */
function nextListItem(buf: Buffer, p: number, ve: number): number {
  while (p < ve && (buf[p] === 0x2c || isOWS(buf[p]))) p++;
  if (p >= ve) return -1;
  const s = p;
  while (p < ve && buf[p] !== 0x2c) p++;
  let e = p;
  while (e > s && isOWS(buf[e - 1])) e--;
  itemStart = s;
  itemEnd = e;
  return p;
}

/** Transfer-Encoding list (RFC 9112 §6.1): chunked must be final and appear once. */
function transferEncoding(buf: Buffer, vs: number, ve: number, h: MessageHead): number {
  h._te = true;
  let p = vs;
  while ((p = nextListItem(buf, p, ve)) >= 0) {
    const s = itemStart, e = itemEnd;
    if (e - s === 7 && eqLower(buf, s, L_CHUNKED)) {
      if (h._teChunked++ > 0) return bad('te-chunked-twice', s);
      h._teLastChunked = true;
    } else {
      // Anything after chunked in a request: haproxy 400 at once (verified).
      if (h._teChunked > 0) return bad('te-not-chunked', s);
      h._teLastChunked = false;
    }
  }
  return 1;
}

/** Connection options (RFC 9110 §7.6.1). */
function connectionField(buf: Buffer, vs: number, ve: number, h: MessageHead): void {
  let p = vs;
  while ((p = nextListItem(buf, p, ve)) >= 0) {
    const s = itemStart, e = itemEnd;
    const l = e - s;
    if (l === 5 && eqLower(buf, s, L_CLOSE)) h.connClose = true;
    else if (l === 10 && eqLower(buf, s, L_KEEP_ALIVE)) h.connKeepAlive = true;
    else if (l === 7 && eqLower(buf, s, L_UPGRADE)) h.connUpgrade = true;
    else {
      const name = latin1(buf, s, e).toLowerCase();
      if (h.connectionTokens === null) h.connectionTokens = [name];
      else h.connectionTokens.push(name);
    }
  }
}
