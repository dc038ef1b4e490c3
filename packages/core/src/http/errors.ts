/**
 * Error responses HAProxy generates itself: the built-in pages, `errorfile`
 * validation (parse time) and normalisation, and which proxy's page applies.
 *
 * What goes on the wire (haproxy 2.6.12, captured with raw sockets):
 *   - An HTTP stream's error (deny, no server, 502/504 …) is not sent as the
 *     text of the page: HAProxy converts it to HTX and its H1 mux serialises
 *     it again. Header names come out lower-cased, values trimmed, the
 *     status line keeps the page's version and reason verbatim, and the
 *     page's own `Connection` header is removed; the mux then appends
 *     `connection: close` (or `connection: keep-alive` for an HTTP/1.0
 *     keep-alive client) as the last header. So the default 503 reaches an
 *     HTTP/1.1 client as `content-length`, `cache-control`, `content-type`,
 *     and 400/408 (whose page says `Connection: close`) gain `connection:
 *     close` at the end. The connection stays open after a page that has a
 *     content-length and no `Connection: close` (HTTP/1.1 clients).
 *   - Errors the H1 mux raises before a stream exists (unparsable request →
 *     400, `timeout http-request` → 408, 500, 501) are the built-in page
 *     text written as is (mixed-case headers, `Connection: close` in place),
 *     and custom errorfiles are ignored there, except that an empty one still
 *     means "send nothing". See earlyErrorResponse().
 *   - An empty errorfile (`/dev/null`, any file whose size is 0) sends no
 *     byte at all: the connection is just closed.
 */
import { openSync, fstatSync, readSync, closeSync } from 'node:fs';
import type { ProxyConfig } from '../config/compiled';
import { parseResponseHead, METH_GET, type H1Limits } from './h1';

/**
 * Statuses with a built-in page in haproxy 2.6 (src/http.c http_err_codes).
 * The manual lists 17; the binary also has 421 and 422 and accepts
 * `errorfile 421|422` (verified with 2.6.12).
 */
export const ERROR_STATUSES: readonly number[] = Object.freeze([
  200, 400, 401, 403, 404, 405, 407, 408, 410, 413, 421, 422, 425, 429, 500, 501, 502, 503, 504,
]);

/**
 * The built-in pages as HAProxy holds them (the text the H1 mux sends for
 * early errors). Bodies and lengths are HAProxy's, including the stray '.'
 * of 501 and "Unauthorized" for 407.
 */
function page(status: number, reason: string, text: string, close = false): string {
  const body = `<html><body><h1>${status} ${reason}</h1>\n${text}\n</body></html>\n`;
  return `HTTP/1.1 ${status} ${reason}\r\nContent-length: ${body.length}\r\nCache-Control: no-cache\r\n` +
    (close ? 'Connection: close\r\n' : '') + `Content-Type: text/html\r\n\r\n${body}`;
}

const BUILTIN_TEXT: ReadonlyMap<number, string> = new Map([
  [200, page(200, 'OK', 'Service ready.')],
  [400, page(400, 'Bad request', 'Your browser sent an invalid request.', true)],
  [401, page(401, 'Unauthorized', 'You need a valid user and password to access this content.')],
  [403, page(403, 'Forbidden', 'Request forbidden by administrative rules.')],
  [404, page(404, 'Not Found', 'The resource could not be found.')],
  [405, page(405, 'Method Not Allowed', 'A request was made of a resource using a request method not supported by that resource')],
  [407, page(407, 'Unauthorized', 'You need a valid user and password to access this content.')],
  [408, page(408, 'Request Time-out', "Your browser didn't send a complete request in time.", true)],
  [410, page(410, 'Gone', 'The resource is no longer available and will not be available again.')],
  [413, page(413, 'Payload Too Large', 'The request entity exceeds the maximum allowed.')],
  [421, page(421, 'Misdirected Request', 'Request sent to a non-authoritative server.')],
  [422, page(422, 'Unprocessable Content', 'The server cannot process the contained instructions.')],
  [425, page(425, 'Too Early', 'Your browser sent early data.')],
  [429, page(429, 'Too Many Requests', 'You have sent too many requests in a given amount of time.')],
  [500, page(500, 'Internal Server Error', 'An internal server error occurred.')],
  [501, page(501, 'Not Implemented', '.The server does not support the functionality required to fulfill the request.')],
  [502, page(502, 'Bad Gateway', 'The server returned an invalid or incomplete response.')],
  [503, page(503, 'Service Unavailable', 'No server is available to handle this request.')],
  [504, page(504, 'Gateway Time-out', "The server didn't respond in time.")],
]);

/** tune.bufsize's default; the configured value (GlobalConfig.bufsize) is passed to validateErrorFile(). */
export const DEFAULT_BUFSIZE = 16384;

/**
 * An errorfile must fit one HTX buffer. Measured with haproxy 2.6.12 and the
 * default bufsize (largest accepted file, two different shapes, both give the
 * same bound): 8 bytes per block (start line, each header, end of headers,
 * one data block when there is a body) + version + code + reason + every
 * header name and value + body ≤ bufsize − 69.
 */
const HTX_OVERHEAD = 69;

const LIMITS: H1Limits = { maxHeadSize: DEFAULT_BUFSIZE, maxHeaders: 101 };

export type ValidateResult = { ok: true; bytes: Buffer } | { ok: false; reason: string };

/**
 * Validate an errorfile's content the way HAProxy does at parse time and
 * return it normalised as the H1 mux would send it to an HTTP/1.1 client
 * that keeps the connection alive (see the file comment). Empty → empty.
 *
 * Where our strict H1 parser refuses what haproxy 2.6.12 accepts in an
 * errorfile (HTTP/2.0 or other version strings, 4-digit status codes,
 * `Transfer-Encoding` without chunked, obs-fold …), the file is rejected
 * with the parser's reason: such a page would not be valid HTTP/1.1.
 */
export function validateErrorFile(raw: Buffer, bufsize = DEFAULT_BUFSIZE): ValidateResult {
  if (raw.length === 0) return { ok: true, bytes: raw };
  // haproxy reads at most bufsize bytes (warning "Truncating") and then
  // fails on the truncated message in practice; we say why directly.
  if (raw.length > bufsize) return { ok: false, reason: `file larger than ${bufsize} bytes (tune.bufsize)` };
  const limits = bufsize === DEFAULT_BUFSIZE ? LIMITS : { maxHeadSize: bufsize, maxHeaders: 101 };
  const r = parseResponseHead(raw, METH_GET, limits);
  if (r.state === 'partial') return { ok: false, reason: 'unable to parse headers (incomplete head: no empty line after the headers)' };
  if (r.state === 'error') {
    if (r.reason === 'te-and-cl') return { ok: false, reason: 'chunk-encoded payload not supported' };
    if (r.reason === 'te-not-chunked') return { ok: false, reason: 'a Transfer-Encoding other than chunked is not supported in an error file' };
    return { ok: false, reason: `unable to parse headers (${r.reason} at offset ${r.offset})` };
  }
  const h = r.head;
  const st = h.status;
  // haproxy refuses 100 and 102..199 but lets 101 through.
  if (st < 200 && st !== 101) return { ok: false, reason: `invalid http status code for an error message (${st})` };
  if (h._te) return { ok: false, reason: 'chunk-encoded payload not supported' };
  const bodyLen = raw.length - r.headLength;
  let closes = h.connClose;
  if (st === 204 || st === 304) {
    if (bodyLen > 0) return { ok: false, reason: 'message payload not expected' };
  } else if (h.contentLength === 0) {
    if (bodyLen > 0) return { ok: false, reason: 'message payload not expected' };
  } else if (h.contentLength > 0) {
    if (h.contentLength !== bodyLen) {
      return { ok: false, reason: `payload size does not match the announced content-length (${bodyLen} != ${h.contentLength})` };
    }
  } else {
    // No length: the body runs to the end of the connection.
    closes = true;
  }

  // Re-serialise as the H1 mux does.
  let head = `HTTP/1.${h.version === 11 ? 1 : 0} ${st} ${h.reason}\r\n`;
  // HTX size: start-line block ("HTTP/1.x" + code + reason), end-of-headers
  // block, data block, then one block per header below.
  let htx = 8 + 8 + 3 + h.reason.length + 8 + (bodyLen > 0 ? 8 : 0);
  let clSeen = false;
  const hs = h.headers;
  for (let i = 0; i < hs.count; i++) {
    const name = hs.name(i).toLowerCase();
    const value = hs.value(i);
    htx += 8 + name.length + value.length;
    if (name === 'connection') continue;
    if (name === 'content-length') {
      // Identical duplicates are merged by the parser (differing ones refused).
      if (clSeen) continue;
      clSeen = true;
    }
    head += `${name}: ${value}\r\n`;
  }
  if (htx + bodyLen > bufsize - HTX_OVERHEAD) {
    return { ok: false, reason: `response too large for a ${bufsize}-byte buffer (tune.bufsize): unable to add payload into the HTX message` };
  }
  // An HTTP/1.0 page always ends the connection and the mux writes no
  // Connection header for it; an HTTP/1.1 one that closes says so last.
  if (h.version === 11 && closes) head += 'connection: close\r\n';
  head += '\r\n';
  return { ok: true, bytes: Buffer.concat([Buffer.from(head, 'latin1'), raw.subarray(r.headLength)]) };
}

/**
 * Read and validate an errorfile. Like haproxy, the size comes from fstat:
 * /dev/null (and /dev/zero) are empty files, hence "send nothing".
 */
export function loadErrorFile(path: string, bufsize = DEFAULT_BUFSIZE): ValidateResult {
  let fd: number;
  try { fd = openSync(path, 'r'); } catch (e) {
    return { ok: false, reason: `error opening file '${path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) return { ok: false, reason: `error reading file '${path}': is a directory` };
    const size = st.size;
    if (size > bufsize) return { ok: false, reason: `'${path}': file larger than ${bufsize} bytes (tune.bufsize)` };
    const buf = Buffer.alloc(size);
    let got = 0;
    while (got < size) {
      const n = readSync(fd, buf, got, size - got, got);
      if (n === 0) break;
      got += n;
    }
    if (got !== size) return { ok: false, reason: `error reading file '${path}'` };
    const v = validateErrorFile(buf, bufsize);
    return v.ok ? v : { ok: false, reason: `'${path}': ${v.reason}` };
  } catch (e) {
    return { ok: false, reason: `error reading file '${path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
  } finally {
    closeSync(fd);
  }
}

/* ---------------- ready-to-send replies ---------------- */

/** One error page in the three forms the H1 mux can produce. */
export interface ErrorReply {
  /** HTTP/1.1 client keeping the connection alive (what most clients get). */
  readonly keepAlive: Buffer;
  /** The connection closes after it: the client asked, or HTTP/1.0 without keep-alive. */
  readonly close: Buffer;
  /** HTTP/1.0 client that sent `Connection: keep-alive`. */
  readonly keepAlive10: Buffer;
  /** The page itself ends the connection (HTTP/1.0 page, no length, `Connection: close`, empty). */
  readonly mustClose: boolean;
  /** Empty errorfile: send nothing, close. */
  readonly empty: boolean;
}

const CONN_CLOSE = Buffer.from('connection: close\r\n', 'latin1');
const CONN_KA = Buffer.from('connection: keep-alive\r\n', 'latin1');
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');

/** Insert `line` before the empty line ending the head of a normalised page. */
function withHeader(msg: Buffer, line: Buffer): Buffer {
  const eoh = msg.indexOf(CRLFCRLF) + 2;
  return Buffer.concat([msg.subarray(0, eoh), line, msg.subarray(eoh)]);
}

/** Builds the variants from a page normalised by validateErrorFile(). */
export function makeReply(msg: Buffer): ErrorReply {
  if (msg.length === 0) return Object.freeze({ keepAlive: msg, close: msg, keepAlive10: msg, mustClose: true, empty: true });
  const eoh = msg.indexOf(CRLFCRLF);
  const http10 = msg[7] === 0x30; // "HTTP/1.0"
  // validateErrorFile() drops the page's Connection headers and appends
  // this one last when the page closes, so it can only be found there.
  const saysClose = eoh + 2 >= CONN_CLOSE.length && msg.subarray(eoh + 2 - CONN_CLOSE.length, eoh + 2).equals(CONN_CLOSE);
  if (http10 || saysClose) return Object.freeze({ keepAlive: msg, close: msg, keepAlive10: msg, mustClose: true, empty: false });
  return Object.freeze({
    keepAlive: msg, close: withHeader(msg, CONN_CLOSE), keepAlive10: withHeader(msg, CONN_KA), mustClose: false, empty: false,
  });
}

const DEFAULT_REPLIES = new Map<number, ErrorReply>();
const EARLY = new Map<number, Buffer>();
for (const [status, text] of BUILTIN_TEXT) {
  const raw = Buffer.from(text, 'latin1');
  EARLY.set(status, raw);
  const v = validateErrorFile(raw);
  if (!v.ok) throw new Error(`built-in ${status} page is invalid: ${v.reason}`);
  DEFAULT_REPLIES.set(status, makeReply(v.bytes));
}

/**
 * The first built-in page that does not fit a `bufsize`-byte buffer, with
 * the reason (haproxy 2.6.12 refuses to start then), or undefined.
 */
export function builtinPageProblem(bufsize: number): { status: number; reason: string } | undefined {
  if (bufsize >= DEFAULT_BUFSIZE) return undefined;
  for (const [status, raw] of EARLY) {
    const v = validateErrorFile(raw, bufsize);
    if (!v.ok) return { status, reason: v.reason };
  }
  return undefined;
}

/** The built-in page for `status` as an HTTP stream sends it (HTTP/1.1 client, keep-alive). */
export function defaultErrorResponse(status: number): Buffer | undefined {
  return DEFAULT_REPLIES.get(status)?.keepAlive;
}

/** All forms of the built-in page for `status`. */
export function defaultErrorReply(status: number): ErrorReply | undefined {
  return DEFAULT_REPLIES.get(status);
}

/** Decoded replies per proxy, built on first use (a worker gets plain data). */
const cache = new WeakMap<ProxyConfig, Map<number, ErrorReply>>();

function proxyReply(px: ProxyConfig, status: number): ErrorReply | undefined {
  const files = px.errorFiles;
  if (files === undefined) return undefined;
  let m = cache.get(px);
  if (m === undefined) {
    m = new Map();
    for (const k of Object.keys(files)) m.set(Number(k), makeReply(Buffer.from(files[Number(k)], 'latin1')));
    cache.set(px, m);
  }
  return m.get(status);
}

/**
 * The page for `status` in a stream whose frontend is `fe` and backend `be`
 * (null until one is chosen). HAProxy 2.6 (http_error_message, verified):
 * the backend's errorfile first, then the frontend's, then the built-in page.
 * A backend's page wins even when it only came from its defaults section and
 * the frontend names one explicitly; a backend without a page for that status
 * falls back to the frontend's. Before a backend is chosen (e.g. a frontend
 * `http-request deny`), only the frontend's pages count. Undefined for a
 * status HAProxy has no page for.
 */
export function errorReplyFor(fe: ProxyConfig, be: ProxyConfig | null, status: number): ErrorReply | undefined {
  return (be !== null && be !== fe ? proxyReply(be, status) : undefined) ?? proxyReply(fe, status) ?? DEFAULT_REPLIES.get(status);
}

/** errorReplyFor() in the common form: HTTP/1.1 client keeping the connection alive. */
export function errorResponseFor(fe: ProxyConfig, be: ProxyConfig | null, status: number): Buffer | undefined {
  return errorReplyFor(fe, be, status)?.keepAlive;
}

/**
 * What the H1 mux sends for an error found before any stream exists
 * (unparsable request 400, `timeout http-request` 408, 500, 501): the
 * built-in text as is, or nothing when the frontend maps that status to an
 * empty errorfile (haproxy 2.6.12: a custom non-empty errorfile is not used
 * there, verified with `errorfile 400` and a garbage request).
 */
export function earlyErrorResponse(fe: ProxyConfig, status: number): Buffer | undefined {
  const r = proxyReply(fe, status);
  if (r !== undefined && r.empty) return r.keepAlive;
  return EARLY.get(status);
}
