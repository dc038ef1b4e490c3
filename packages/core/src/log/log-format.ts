/**
 * HAProxy's custom log format (configuration.txt 8.2.4): `log-format`,
 * `option tcplog` and `option httplog [clf]` all go through here.
 *
 * compileLogFormat() parses a format once, at config load (the master checks
 * it, each worker compiles it again at engine start because CompiledConfig is
 * plain data); renderLogFormat() walks the compiled parts with a switch over
 * small integer codes: no parsing, regex or closure per line.
 *
 * Parsing follows HAProxy 2.6 parse_logformat_string() (log.c), including its
 * quirks: a '%' followed by a character that cannot start a name is dropped,
 * spaces in literal text are separators that merge (HAProxy always compiles
 * log-format with LOG_OPT_MERGE_SPACES), unknown `%{}` flags are ignored.
 * Rendering follows sess_build_logline(): which variables honour +Q/+E/+X and
 * what an absent value prints ('-' for text, nothing for %hr/%hs...).
 */
import * as os from 'node:os';
import { formatAcceptDate, type StreamLogRecord } from './tcplog';
import { MONTHS, pad2, pad3 } from './date-parts';
import { type CompileEnv, type SampleContext, type SampleExpr, parseSampleExpr } from '../rules/sample';

/** What a finished stream knows, for any log format. HTTP fields are absent for TCP streams. */
export interface LogRecord extends StreamLogRecord {
  /** %fi/%fp: the address the client connected to. */
  frontendIp?: string;
  frontendPort?: number;
  /** %bi/%bp: source address of the server-side connection. */
  backendSrcIp?: string;
  backendSrcPort?: number;
  /** %si/%sp: the server's address as connected. */
  serverIp?: string;
  serverPort?: number;
  /** %U: bytes received from the client. */
  bytesIn?: number;
  /** %Th: handshake time (ms), 0 when absent. */
  th?: number;
  /** %Ti: idle time before the request (ms), -1 when absent (HTTP only). */
  ti?: number;
  /** %TR: time to receive the full request after the idle time (ms), -1 when no request. */
  tR?: number;
  /** %Tr: server response time (ms), -1 when no response headers. Its presence marks an HTTP stream. */
  tr?: number;
  /** %ST: HTTP status, -1 when none; absent = 0 (no HTTP transaction, as in TCP mode). */
  status?: number;
  /** The request line as received, e.g. `GET /a?b HTTP/1.1` (HAProxy's txn->uri); absent = `<BADREQ>`. */
  requestLine?: string;
  /** %CC/%CS: captured cookies. */
  cliCookie?: string;
  srvCookie?: string;
  /** The two cookie characters of %tsc (8.5), default `--`. */
  cookieFlags?: string;
  /** Values of `capture request/response header`, in declaration order; null = not seen. */
  reqCaptures?: ReadonlyArray<string | null>;
  resCaptures?: ReadonlyArray<string | null>;
  /** %ID: unique-id. */
  uniqueId?: string;
  /** %rt: the stream's request counter (HAProxy's uniq_id). */
  requestCounter?: number;
  /** %lc: the frontend's log counter. */
  logCount?: number;
  /** %sslc/%sslv and the '~' of %ft. */
  ssl?: boolean;
  sslCipher?: string;
  sslVersion?: string;
}

/** The formats HAProxy declares for its options (log.c, 2.6). */
export const TCPLOG_FORMAT = '%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq';
export const HTTPLOG_FORMAT = '%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r';
export const CLFLOG_FORMAT = '%{+Q}o %{-Q}ci - - [%trg] %r %ST %B "" "" %cp %ms %ft %b %s %TR %Tw %Tc %Tr %Ta %tsc %ac %fc %bc %sc %rc %sq %bq %CC %CS %hrl %hsl';

/* Per-node options: HAProxy's LOG_OPT_* (only the bits that exist here). */
const OPT_MANDATORY = 1;
const OPT_QUOTE = 2;
const OPT_HEXA = 4;
const OPT_ESC = 8;
const FLAG_NAMES: Record<string, number> = { M: OPT_MANDATORY, Q: OPT_QUOTE, X: OPT_HEXA, E: OPT_ESC };

/* Node codes. TEXT and SEP are parts of the literal text. */
const enum V {
  TEXT, SEP,
  B, CC, CS, H, ID, ST, T, Ta, Tc, Th, Ti, Tl, Tq, Tr, TR, Td, Ts, Tt, Tu, Tw, U,
  ac, b, bc, bi, bp, bq, ci, cp, f, fc, fi, fp, ft, hr, hrl, hs, hsl,
  HM, HP, HPO, HQ, HU, HV, lc, ms, pid, r, rc, rt, s, sc, si, sp, sq, sslc, sslv,
  t, tr, trg, trl, ts, tsc,
  /** `%[fetch,conv...]`: a sample expression (rules/sample.ts). */
  EXPR,
}

/** HAProxy 2.6 logformat_keywords[]: name → [code, HTTP-only]. `o` is handled apart. */
const VARIABLES: ReadonlyMap<string, readonly [V, boolean]> = new Map<string, readonly [V, boolean]>([
  ['B', [V.B, false]], ['CC', [V.CC, true]], ['CS', [V.CS, true]], ['H', [V.H, false]],
  ['ID', [V.ID, false]], ['ST', [V.ST, false]], ['T', [V.T, false]], ['Ta', [V.Ta, true]],
  ['Tc', [V.Tc, false]], ['Th', [V.Th, false]], ['Ti', [V.Ti, true]], ['Tl', [V.Tl, false]],
  ['Tq', [V.Tq, true]], ['Tr', [V.Tr, true]], ['TR', [V.TR, true]], ['Td', [V.Td, false]],
  ['Ts', [V.Ts, false]], ['Tt', [V.Tt, false]], ['Tu', [V.Tu, false]], ['Tw', [V.Tw, false]],
  ['U', [V.U, false]], ['ac', [V.ac, false]], ['b', [V.b, false]], ['bc', [V.bc, false]],
  ['bi', [V.bi, false]], ['bp', [V.bp, false]], ['bq', [V.bq, false]], ['ci', [V.ci, false]],
  ['cp', [V.cp, false]], ['f', [V.f, false]], ['fc', [V.fc, false]], ['fi', [V.fi, false]],
  ['fp', [V.fp, false]], ['ft', [V.ft, false]], ['hr', [V.hr, false]], ['hrl', [V.hrl, false]],
  ['hs', [V.hs, false]], ['hsl', [V.hsl, false]], ['HM', [V.HM, true]], ['HP', [V.HP, true]],
  ['HPO', [V.HPO, true]], ['HQ', [V.HQ, true]], ['HU', [V.HU, true]], ['HV', [V.HV, true]],
  ['lc', [V.lc, false]], ['ms', [V.ms, false]], ['pid', [V.pid, false]], ['r', [V.r, true]],
  ['rc', [V.rc, false]], ['rt', [V.rt, false]], ['s', [V.s, false]], ['sc', [V.sc, false]],
  ['si', [V.si, false]], ['sp', [V.sp, false]], ['sq', [V.sq, false]], ['sslc', [V.sslc, false]],
  ['sslv', [V.sslv, false]], ['t', [V.t, false]], ['tr', [V.tr, true]], ['trg', [V.trg, true]],
  ['trl', [V.trl, true]], ['ts', [V.ts, false]], ['tsc', [V.tsc, false]],
]);

/** Names accepted after '%', for documentation and tests. */
export const LOG_FORMAT_VARIABLES: readonly string[] = ['o', ...VARIABLES.keys()];

/** A compiled format: parallel arrays, one entry per node, built once. */
export interface CompiledLogFormat {
  readonly source: string;
  readonly codes: readonly number[];
  readonly opts: readonly number[];
  /** Literal text of TEXT nodes ('' for others). */
  readonly texts: readonly string[];
  /** The expression of EXPR nodes (null for others); absent when there is none. */
  readonly exprs?: ReadonlyArray<SampleExpr | null>;
  /** Some node reads the LogRecord (anything but text and `%[...]`). */
  readonly needsRecord?: boolean;
  /** Compiled for a rule (HAProxy's LOG_OPT_HTTP): see CompileOptions.rule. */
  readonly rule?: boolean;
}

export interface CompileOptions {
  /** The proxy is in `mode http`: HTTP-only variables are allowed (default true). */
  http?: boolean;
  /** Where `%[...]` expressions are compiled (proxy, point of use); without it they are refused. */
  env?: CompileEnv;
  /**
   * A format used by a rule (set-header, lf-string, redirect...), HAProxy's
   * LOG_OPT_HTTP: spaces are kept as written (not merged), a missing sample
   * prints nothing, and control characters of samples (0x00-0x08,
   * 0x0A-0x1F, 0x7F: CR and LF among them) are written %XX, so that a
   * sample cannot split a header.
   */
  rule?: boolean;
  /** Check everything but `%[...]`, skipped to its ']' (parse time, before names are known). */
  skipSamples?: boolean;
}

export type CompileResult = { ok: true; fmt: CompiledLogFormat } | { ok: false; error: string };

function isAlpha(c: number): boolean { return (c >= 65 && c <= 90) || (c >= 97 && c <= 122); }
function isDigit(c: number): boolean { return c >= 48 && c <= 57; }
function isAlnum(c: number): boolean { return isAlpha(c) || isDigit(c); }

/** HAProxy's parse_logformat_var_args(): `+F`/`-F` words separated by commas; unknown ones ignored. */
function applyFlags(args: string, options: number): number {
  for (const word of args.split(',')) {
    const sign = word.charCodeAt(0);
    const mask = FLAG_NAMES[word.slice(1)];
    if (mask === undefined) continue;
    if (sign === 43 /* + */) options |= mask;
    else if (sign === 45 /* - */) options &= ~mask;
  }
  return options;
}

/** Parse a log-format string (already unquoted/unescaped by the config lexer). */
export function compileLogFormat(fmt: string, opt: CompileOptions = {}): CompileResult {
  const http = opt.http ?? true;
  const rule = opt.rule === true;
  const codes: number[] = [];
  const opts: number[] = [];
  const texts: string[] = [];
  let exprs: (SampleExpr | null)[] | undefined;
  let needsRecord = false;
  let defOptions = OPT_MANDATORY;
  let text = '';
  const flushText = (): void => {
    if (text !== '') { codes.push(V.TEXT); opts.push(0); texts.push(text); text = ''; exprs?.push(null); }
  };
  const n = fmt.length;
  let i = 0;
  while (i < n) {
    const c = fmt.charCodeAt(i);
    if (c === 32 && !rule) { flushText(); codes.push(V.SEP); opts.push(0); texts.push(''); exprs?.push(null); i++; continue; }
    if (c !== 37 /* % */) { text += fmt[i++]; continue; }
    // '%' starts a variable, `%{flags}`, `%[sample]` or `%%`.
    const start = i;
    i++;
    if (i >= n) return { ok: false, error: `truncated line after '%'` };
    let d = fmt.charCodeAt(i);
    if (d === 37) { text += '%'; i++; continue; }
    if (isDigit(d) || d === 32 || d === 9) {
      return { ok: false, error: `unexpected variable name near '${fmt[i]}' at position ${i} line : '${fmt}'. Maybe you want to write a single '%', use the syntax '%%'` };
    }
    let args: string | null = null;
    if (d === 123 /* { */) {
      const close = fmt.indexOf('}', i + 1);
      if (close < 0) return { ok: false, error: `truncated line after '${fmt.slice(i + 1)}'` };
      args = fmt.slice(i + 1, close);
      i = close + 1;
      d = i < n ? fmt.charCodeAt(i) : 0;
      if (d !== 91 /* [ */ && !isAlnum(d)) return { ok: false, error: `parse argument modifier without variable name near '%{${args}}'` };
    } else if (d !== 91 && !isAlpha(d)) {
      // HAProxy drops the '%' and keeps the character as text.
      continue;
    }
    if (d === 91 && opt.skipSamples === true) {
      const close = fmt.indexOf(']', i);
      if (close < 0) return { ok: false, error: `missing closing ']' after sample expression '${fmt.slice(i + 1)}'` };
      i = close + 1;
      continue;
    }
    if (d === 91) {
      if (opt.env === undefined) return { ok: false, error: `sample expressions are not allowed here ('${fmt.slice(start)}')` };
      const r = parseSampleExpr(fmt, opt.env, i + 1, 93 /* ] */);
      if (!r.ok) return { ok: false, error: `failed to parse sample expression <${fmt.slice(i + 1, fmt.indexOf(']', i) < 0 ? n : fmt.indexOf(']', i))}> : ${r.error}` };
      if (r.end >= n || fmt.charCodeAt(r.end) !== 93) return { ok: false, error: `missing closing ']' after sample expression '${fmt.slice(i + 1)}'` };
      flushText();
      exprs ??= new Array<SampleExpr | null>(codes.length).fill(null);
      codes.push(V.EXPR); opts.push(args !== null ? applyFlags(args, defOptions) : defOptions); texts.push('');
      exprs.push(r.expr);
      i = r.end + 1;
      continue;
    }
    const nameStart = i;
    while (i < n && isAlnum(fmt.charCodeAt(i))) i++;
    const name = fmt.slice(nameStart, i);
    let options = defOptions;
    if (args !== null) options = applyFlags(args, options);
    if (name === 'o') { defOptions = options; continue; }
    const v = VARIABLES.get(name);
    if (!v) return { ok: false, error: `no such format variable '${name}'. If you wanted to emit the '%' character verbatim, you need to use '%%'` };
    if (v[1] && !http) return { ok: false, error: `format variable '${name}' is reserved for HTTP mode` };
    flushText();
    codes.push(v[0]); opts.push(options); texts.push('');
    exprs?.push(null);
    needsRecord = true;
  }
  flushText();
  if (exprs !== undefined) while (exprs.length < codes.length) exprs.push(null);
  return { ok: true, fmt: { source: fmt, codes, opts, texts, exprs, needsRecord, rule } };
}

/* ---------------- rendering ---------------- */

const PID = process.pid;
const HOSTNAME = os.hostname();
const HEX = '0123456789ABCDEF';

function hex2(n: number): string { return HEX[(n >> 4) & 15] + HEX[n & 15]; }
/** printf("%04X"): at least four digits. */
function hex4(n: number): string {
  const s = (n >>> 0).toString(16).toUpperCase();
  return s.length >= 4 ? s : '0000'.slice(s.length) + s;
}

/* %T/%trg (GMT) and %Tl/%trl (local with offset) cache their text per second, like %t. */
let gmtSec = NaN, gmtText = '';
function gmtDate(ms: number): string {
  const sec = Math.floor(ms / 1000);
  if (sec !== gmtSec) {
    const d = new Date(sec * 1000);
    gmtText = pad2(d.getUTCDate()) + '/' + MONTHS[d.getUTCMonth()] + '/' + d.getUTCFullYear() + ':' +
      pad2(d.getUTCHours()) + ':' + pad2(d.getUTCMinutes()) + ':' + pad2(d.getUTCSeconds()) + ' +0000';
    gmtSec = sec;
  }
  return gmtText;
}
let locSec = NaN, locText = '';
function localDate(ms: number): string {
  const sec = Math.floor(ms / 1000);
  if (sec !== locSec) {
    const d = new Date(sec * 1000);
    const off = -d.getTimezoneOffset();
    const a = Math.abs(off);
    locText = pad2(d.getDate()) + '/' + MONTHS[d.getMonth()] + '/' + d.getFullYear() + ':' +
      pad2(d.getHours()) + ':' + pad2(d.getMinutes()) + ':' + pad2(d.getSeconds()) + ' ' +
      (off < 0 ? '-' : '+') + pad2(Math.floor(a / 60)) + pad2(a % 60);
    locSec = sec;
  }
  return locText;
}

/** lf_text_len(): quotes, +E escaping of `"\]`, '-' for an absent value unless quoted. */
function text(s: string | undefined | null, o: number): string {
  const q = (o & OPT_QUOTE) !== 0;
  if (s === undefined || s === null || s === '') {
    if (q) return '""';
    return (o & OPT_MANDATORY) !== 0 ? '-' : '';
  }
  if ((o & OPT_ESC) !== 0) s = escapeRfc5424(s);
  return q ? '"' + s + '"' : s;
}

function isRfc5424Special(c: number): boolean { return c === 34 || c === 92 || c === 93; }

function escapeRfc5424(s: string): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    if (isRfc5424Special(s.charCodeAt(i))) { out += s.slice(from, i) + '\\' + s[i]; from = i + 1; }
  }
  return from === 0 ? s : out + s.slice(from);
}

/* HAProxy's url_encode_map: CTLs, >= 127, '"', '#'; hdr_encode_map adds '{', '|', '}'. */
function inUrlMap(c: number): boolean { return c < 32 || c >= 127 || c === 34 || c === 35; }
function inHdrMap(c: number): boolean { return inUrlMap(c) || c === 123 || c === 124 || c === 125; }

/** lf_encode_string(): '#XX' for characters of the map; with +E, `"\]` outside it get a backslash. */
function encode(s: string, from: number, to: number, hdr: boolean, o: number): string {
  const esc = (o & OPT_ESC) !== 0;
  let out = '';
  let run = from;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (hdr ? inHdrMap(c) : inUrlMap(c)) {
      out += s.slice(run, i) + '#' + hex2(c & 0xff); run = i + 1;
    } else if (esc && isRfc5424Special(c)) {
      out += s.slice(run, i) + '\\' + s[i]; run = i + 1;
    }
  }
  return run === from ? s.slice(from, to) : out + s.slice(run, to);
}

function isSpHt(c: number): boolean { return c === 32 || c === 9; }

/** The request-line pieces of %HM %HU %HP %HPO %HQ %HV, as sess_build_logline() splits them. */
function requestPart(code: V, line: string | undefined, o: number): string {
  const q = (o & OPT_QUOTE) !== 0 ? '"' : '';
  if (line === undefined) return q + '<BADREQ>' + q;
  const end = line.length;
  let p = 0;
  if (code === V.HQ) {
    while (p < end && line.charCodeAt(p) !== 63 /* ? */) p++;
    let e = p;
    while (e < end && !isSpHt(line.charCodeAt(e))) e++;
    return q + encode(line, p, e, false, o) + q;
  }
  while (p < end && !isSpHt(line.charCodeAt(p))) p++;
  if (code === V.HM) return q + (p === end ? '<BADREQ>' : encode(line, 0, p, false, o)) + q;
  let spaces = 0;
  while (p < end && isSpHt(line.charCodeAt(p))) { p++; spaces++; }
  if (spaces === 0) return q + '<BADREQ>' + q;
  let e = p;
  if (code === V.HV) {
    while (p < end && !isSpHt(line.charCodeAt(p))) p++;
    while (p < end && isSpHt(line.charCodeAt(p))) p++;
    return q + (p === end ? 'HTTP/0.9' : encode(line, p, end, false, o)) + q;
  }
  if (code === V.HP) {
    while (e < end && line.charCodeAt(e) !== 63 && !isSpHt(line.charCodeAt(e))) e++;
    return q + encode(line, p, e, false, o) + q;
  }
  while (e < end && !isSpHt(line.charCodeAt(e))) e++;
  if (code === V.HPO) {
    // http_parse_path(): skip "scheme://authority" of an absolute URI, stop at '?'.
    let s = p;
    if (line.charCodeAt(s) !== 47 /* / */ && line.charCodeAt(s) !== 42 /* * */) {
      const sep = line.indexOf('://', s);
      if (sep >= 0 && sep < e) {
        const slash = line.indexOf('/', sep + 3);
        s = slash >= 0 && slash < e ? slash : e;
      }
    }
    let stop = s;
    while (stop < e && line.charCodeAt(stop) !== 63) stop++;
    return q + encode(line, s, stop, false, o) + q;
  }
  return q + encode(line, p, e, false, o) + q; // HU
}

/** %hr/%hs: `{a|b}`; %hrl/%hsl: space-separated, '-' (or `""`) for a missing value. Nothing without captures. */
function captures(caps: ReadonlyArray<string | null> | undefined, list: boolean, o: number): string {
  if (caps === undefined || caps.length === 0) return '';
  const q = (o & OPT_QUOTE) !== 0 ? '"' : '';
  let out = list ? '' : q + '{';
  for (let i = 0; i < caps.length; i++) {
    if (i > 0) out += list ? ' ' : '|';
    const v = caps[i];
    if (list) out += q;
    if (v !== null) out += encode(v, 0, v.length, true, o);
    else if (list && q === '') out += '-';
    if (list) out += q;
  }
  return list ? out : out + '}' + q;
}

/** An IP for %ci/%fi/%bi/%si: text, or with +X its bytes in hex. */
function ip(addr: string | undefined, o: number): string {
  if (addr === undefined || addr === '') return text(undefined, o);
  if ((o & OPT_HEXA) === 0) return text(addr, o);
  return addr.indexOf(':') >= 0 ? ipv6Hex(addr) : ipv4Hex(addr, 0, addr.length);
}

function ipv4Hex(s: string, from: number, to: number): string {
  let out = '';
  let v = 0;
  for (let i = from; i <= to; i++) {
    const c = i < to ? s.charCodeAt(i) : 46;
    if (c === 46) { out += hex2(v); v = 0; } else v = v * 10 + (c - 48);
  }
  return out;
}

function ipv6Hex(s: string): string {
  const groups: string[] = [];
  const tail: string[] = [];
  let cur = groups;
  let i = 0;
  const n = s.length;
  if (s.startsWith('::')) { cur = tail; i = 2; }
  while (i < n) {
    let j = i;
    while (j < n && s.charCodeAt(j) !== 58 /* : */) j++;
    const part = s.slice(i, j);
    if (part.indexOf('.') >= 0) {
      const h = ipv4Hex(part, 0, part.length);
      cur.push(h.slice(0, 4), h.slice(4));
    } else {
      cur.push(('0000' + part.toUpperCase()).slice(-4));
    }
    if (j < n - 1 && s.charCodeAt(j + 1) === 58) { cur = tail; j++; }
    i = j + 1;
  }
  let zeros = '';
  for (let k = groups.length + tail.length; k < 8; k++) zeros += '0000';
  return groups.join('') + zeros + tail.join('');
}

function port(p: number | undefined, o: number): string {
  if (p === undefined) return text(undefined, o);
  return (o & OPT_HEXA) !== 0 ? hex2(p >> 8) + hex2(p & 255) : '' + p;
}

/** Start of the request: accept date + Ti + Th when the idle time is known (%tr %trg %trl). */
function requestDate(r: LogRecord): number {
  const ti = r.ti ?? -1;
  return r.acceptTime + (ti >= 0 ? ti + (r.th ?? 0) : 0);
}

/** http_encode_map (log.c): 0x00-0x08, 0x0A-0x1F, 0x7F are written %XX in rule formats. */
function httpEncode(s: string): string {
  let out = '';
  let run = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c <= 0x08) || (c >= 0x0a && c <= 0x1f) || c === 0x7f) { out += s.slice(run, i) + '%' + hex2(c); run = i + 1; }
  }
  return run === 0 ? s : out + s.slice(run);
}

/** A `%[...]` node's text: the sample cast to a string. */
function exprText(e: SampleExpr, ctx: SampleContext | undefined, o: number, rule: boolean): string {
  const v = ctx === undefined ? null : e.evalText(ctx);
  if (rule) return v === null ? '' : httpEncode(v);
  return text(v, o);
}

/** A record with nothing known, for formats that only hold text and `%[...]` (needsRecord false). */
export const EMPTY_LOG_RECORD: LogRecord = {
  clientIp: '', clientPort: 0, acceptTime: 0, frontend: '', backend: '', server: '',
  tw: -1, tc: -1, tt: 0, bytesOut: 0, termState: '--', actconn: 0, feconn: 0, beconn: 0, srvConn: 0,
  retries: 0, redispatched: false, srvQueue: 0, backendQueue: 0,
} as LogRecord;

/** Render one line (no syslog header, no LF). `ctx` is the stream, for `%[...]`. */
export function renderLogFormat(c: CompiledLogFormat, r: LogRecord, ctx?: SampleContext): string {
  const codes = c.codes, opts = c.opts;
  let out = '';
  // HAProxy starts with last_isspace = 1: leading separators print nothing.
  let lastSpace = true;
  for (let k = 0; k < codes.length; k++) {
    const o = opts[k];
    let v: string;
    switch (codes[k] as V) {
      case V.SEP: if (!lastSpace) { out += ' '; lastSpace = true; } continue;
      case V.TEXT: v = c.texts[k]; break;
      case V.ci: v = ip(r.clientIp, o); break;
      case V.cp: v = port(r.clientPort, o); break;
      case V.fi: v = ip(r.frontendIp, o); break;
      case V.fp: v = port(r.frontendPort, o); break;
      case V.bi: v = ip(r.backendSrcIp, o); break;
      case V.bp: v = port(r.backendSrcPort, o); break;
      case V.si: v = ip(r.serverIp, o); break;
      case V.sp: v = port(r.serverPort, o); break;
      case V.t: v = formatAcceptDate(r.acceptTime); break;
      case V.tr: v = formatAcceptDate(requestDate(r)); break;
      case V.T: v = gmtDate(r.acceptTime); break;
      case V.trg: v = gmtDate(requestDate(r)); break;
      case V.Tl: v = localDate(r.acceptTime); break;
      case V.trl: v = localDate(requestDate(r)); break;
      case V.Ts: {
        const s = Math.floor(r.acceptTime / 1000);
        v = (o & OPT_HEXA) !== 0 ? hex4(s) : '' + s;
        break;
      }
      case V.ms: {
        const ms = ((r.acceptTime % 1000) + 1000) % 1000;
        v = (o & OPT_HEXA) !== 0 ? hex2(ms) : pad3(ms);
        break;
      }
      case V.f: v = text(r.frontend, o); break;
      case V.ft: {
        const q = (o & OPT_QUOTE) !== 0 ? '"' : '';
        v = q + r.frontend + (r.ssl ? '~' : '') + q;
        break;
      }
      case V.b: v = text(r.backend, o); break;
      case V.s: v = text(r.server, o); break;
      case V.sslc: v = text(r.sslCipher, o); break;
      case V.sslv: v = text(r.sslVersion, o); break;
      case V.Th: v = '' + (r.th ?? 0); break;
      case V.Ti: v = '' + (r.ti ?? -1); break;
      case V.TR: v = '' + (r.tR ?? -1); break;
      case V.Tq: {
        const tR = r.tR ?? -1;
        v = '' + (tR >= 0 ? tR + Math.max(r.ti ?? 0, 0) + (r.th ?? 0) : -1);
        break;
      }
      case V.Tw: v = '' + r.tw; break;
      case V.Tc: v = '' + r.tc; break;
      case V.Tr: v = '' + (r.tr ?? -1); break;
      case V.Td: {
        // HAProxy: t_close - t_data (HTTP) or t_close - t_connect (TCP), where
        // t_connect = t_request + Tw + Tc and t_request is -1 without a request.
        const tR = r.tR ?? -1;
        const treq = tR >= 0 ? tR + Math.max(r.ti ?? 0, 0) + (r.th ?? 0) : -1;
        if (r.tr !== undefined) v = '' + (r.tr >= 0 ? r.tt - (treq + r.tw + r.tc + r.tr) : -1);
        else v = '' + (r.tc >= 0 ? r.tt - (treq + r.tw + r.tc) : -1);
        break;
      }
      case V.Ta: { const ti = r.ti ?? -1; v = '' + (r.tt - (ti >= 0 ? ti + (r.th ?? 0) : 0)); break; }
      case V.Tt: v = '' + r.tt; break;
      case V.Tu: { const ti = r.ti ?? -1; v = '' + (r.tt - (ti >= 0 ? ti : 0)); break; }
      case V.ST: v = '' + (r.status ?? 0); break;
      case V.B: v = '' + r.bytesOut; break;
      case V.U: v = '' + (r.bytesIn ?? 0); break;
      case V.CC: v = text(r.cliCookie, o); break;
      case V.CS: v = text(r.srvCookie, o); break;
      case V.ts: v = r.termState; break;
      case V.tsc: v = r.termState + (r.cookieFlags ?? '--'); break;
      case V.ac: v = '' + r.actconn; break;
      case V.fc: v = '' + r.feconn; break;
      case V.bc: v = '' + r.beconn; break;
      case V.sc: v = '' + r.srvConn; break;
      case V.rc: v = (r.redispatched ? '+' : '') + r.retries; break;
      case V.sq: v = '' + r.srvQueue; break;
      case V.bq: v = '' + r.backendQueue; break;
      case V.hr: v = captures(r.reqCaptures, false, o); if (v === '') continue; break;
      case V.hrl: v = captures(r.reqCaptures, true, o); if (v === '') continue; break;
      case V.hs: v = captures(r.resCaptures, false, o); if (v === '') continue; break;
      case V.hsl: v = captures(r.resCaptures, true, o); if (v === '') continue; break;
      case V.r: {
        const q = (o & OPT_QUOTE) !== 0 ? '"' : '';
        const line = r.requestLine ?? '<BADREQ>';
        v = q + encode(line, 0, line.length, false, o) + q;
        break;
      }
      case V.HM: case V.HU: case V.HP: case V.HPO: case V.HQ: case V.HV:
        v = requestPart(codes[k] as V, r.requestLine, o); break;
      case V.rt: { const n = r.requestCounter ?? 0; v = (o & OPT_HEXA) !== 0 ? hex4(n) : '' + n; break; }
      case V.lc: { const n = r.logCount ?? 0; v = (o & OPT_HEXA) !== 0 ? hex4(n) : '' + n; break; }
      case V.H: v = text(HOSTNAME, o); break;
      case V.pid: v = (o & OPT_HEXA) !== 0 ? hex4(PID) : '' + PID; break;
      case V.ID: v = text(r.uniqueId, o); break;
      case V.EXPR: v = exprText(c.exprs![k]!, ctx, o, c.rule === true); if (v === '') continue; break;
      default: continue;
    }
    out += v;
    lastSpace = false;
  }
  return out;
}
