/**
 * HAProxy 2.6's general converters (configuration.txt 7.3.1): src/sample.c,
 * the crypto ones of src/ssl_sample.c, set-var/unset-var of src/vars.c and
 * the HTTP-free ones of src/http_conv.c. Each converter ports the C
 * function of the same name; the comments say where HAProxy's behaviour is
 * surprising and kept on purpose.
 *
 * Arguments are prepared once by check() (a variable name resolved, a
 * delimiter list turned into a byte table, a strftime format parsed, regsub
 * flags folded into the RegExp); conv() only reads them. A conversion that
 * fails on client input returns false (no sample) and never throws.
 *
 * Integers: HAProxy's are int64, ours are doubles. Results are exact within
 * ±2^53 and saturate like HAProxy's arith_add()/mul at the int64 limits;
 * beyond 2^53 the low bits are lost (xxh64 and hex2i of long input give the
 * nearest double of HAProxy's value). The largest value is SINT_MAX, the
 * largest double below 2^63, because 2^63 itself cannot be cast to bin
 * (writeBigInt64BE) or printed as 9223372036854775807.
 *
 * Not bounded by tune.bufsize: HAProxy truncates (or fails) outputs longer
 * than a buffer; we produce them whole.
 */
import * as crypto from 'node:crypto';
import { createDecipheriv, createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  Sample, castTo, registerConverters,
  T_ANY, T_BOOL, T_SINT, T_ADDR, T_IPV4, T_IPV6, T_STR, T_BIN,
  type ArgValue, type ConverterDef, type SampleContext, type VarRef,
} from './sample';
import { getVar, setVar, unsetVar, parseVarArg, parseVarCondition } from './vars';
import { parseIPv4Into, parseIPv6Into } from '../util/ip-net';
import { fullHash, hashCrc32, hashCrc32c, hashDjb2, hashSdbm, hashWt6 } from '../backend/hash';

/* ---------------- int64 ---------------- */

/** Largest double below 2^63: our LLONG_MAX (see the header). */
export const SINT_MAX = 9223372036854774784;
/** -2^63, exact. */
export const SINT_MIN = -9223372036854775808;
const TWO32 = 4294967296;

/** Saturates a double to the int64 range (and turns -0 into 0). */
function sint(v: number): number {
  if (v > SINT_MAX) return SINT_MAX;
  if (v < SINT_MIN) return SINT_MIN;
  return v + 0;
}

/** int64 from two uint32 halves (two's complement). */
function sintOf(hi: number, lo: number): number {
  return sint((hi | 0) * TWO32 + lo);
}

/* ---------------- variables as arguments ---------------- */

const varScratch = new Sample();

/** A variable cast to `type` in a scratch sample (sample_conv_var2smp()), or null. */
function varAs(ctx: SampleContext, ref: VarRef, type: number): Sample | null {
  const v = getVar(ctx, ref);
  if (v === null) return null;
  varScratch.copyFrom(v);
  return castTo(varScratch, type) ? varScratch : null;
}

/** An int-or-variable argument (sample_conv_var2smp_sint()); NaN when the variable is missing or not an integer. */
function sintArg(a: ArgValue, ctx: SampleContext): number {
  if (typeof a === 'number') return a;
  const v = varAs(ctx, a as VarRef, T_SINT);
  return v === null ? NaN : sint(v.n);
}

/**
 * check_operator(): the argument is a variable name if it parses as one,
 * else an integer as read_int64() reads it, fully ("" and "-" are 0).
 */
function checkOperator(args: ArgValue[]): string | void {
  const text = args[0] as string;
  const ref = parseVarArg(text);
  if (typeof ref !== 'string') { args[0] = ref; return; }
  if (!/^[-+]?[0-9]*$/.test(text)) return 'expects an integer or a variable name';
  args[0] = sint(Number(text.replace(/^[-+]$/, '0')));
}

/** An optional variable argument: '' is none; else it must parse (smp_check_concat()). */
function checkOptionalVar(args: ArgValue[], i: number): string | void {
  const text = args[i] as string;
  if (text.length === 0) { args[i] = null; return; }
  const ref = parseVarArg(text);
  if (typeof ref === 'string') return `failed to register variable name '${text}'`;
  args[i] = ref;
}

/** A mandatory variable argument (smp_check_strcmp(), smp_check_secure_memcmp()). */
function checkVar(args: ArgValue[]): string | void {
  const text = args[0] as string;
  if (text.length === 0) return 'missing variable name';
  const ref = parseVarArg(text);
  if (typeof ref === 'string') return `failed to register variable name '${text}'`;
  args[0] = ref;
}

/* ---------------- base64 and hex ---------------- */

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const UB64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const B64PAD = 64;
const B64REV = new Int8Array(256).fill(-1);
const UB64REV = new Int8Array(256).fill(-1);
for (let i = 0; i < 64; i++) { B64REV[B64.charCodeAt(i)] = i; UB64REV[UB64.charCodeAt(i)] = i; }
B64REV[61] = B64PAD;
// HAProxy 2.6's ubase64rev[] maps '=' like '_' (63): "QQ==" decodes to 41 0f ff (haproxy 2.6.12 agrees).
UB64REV[61] = 63;

/**
 * base64dec(): length a multiple of 4, '=' only at the end of a quad and
 * not in its first two places. Quirks kept: a padded quad may be followed
 * by more quads, and "X===" passes (the check looks at the index of the
 * second '=' onwards only).
 */
function base64Dec(s: string): Buffer | null {
  const n = s.length;
  if (n % 4 !== 0) return null;
  const out = Buffer.allocUnsafe((n / 4) * 3);
  let len = 0, i = 0, pad = 0, t0 = 0, t1 = 0, t2 = 0;
  for (let k = 0; k < n; k++) {
    const c = s.charCodeAt(k);
    const b = c < 256 ? B64REV[c] : -1;
    if (b < 0) return null;
    if (pad !== 0 && (b !== B64PAD || i < 2)) return null;
    if (b === B64PAD) pad++;
    if (i === 0) t0 = b; else if (i === 1) t1 = b; else if (i === 2) t2 = b;
    if (++i === 4) {
      out[len] = (t0 << 2) + (t1 >> 4);
      out[len + 1] = (t1 << 4) + (t2 >> 2);
      out[len + 2] = (t2 << 6) + b;
      len += 3 - pad;
      pad = i = 0;
    }
  }
  return out.subarray(0, len);
}

/** base64urldec(): no padding expected (length % 4 of 2 or 3 means 2 or 1 implied '='). */
function base64UrlDec(s: string): Buffer | null {
  let ilen = s.length;
  let pad: number;
  switch (ilen % 4) {
    case 0: pad = 0; break;
    case 2: pad = 2; break;
    case 3: pad = 1; break;
    default: return null;
  }
  const padlen = pad;
  const out = Buffer.allocUnsafe(((ilen + pad) / 4) * 3);
  let len = 0, i = 0, k = 0, t0 = 0, t1 = 0, t2 = 0;
  while (ilen + pad > 0) {
    let b: number;
    if (ilen > 0) {
      const c = s.charCodeAt(k++);
      b = c < 256 ? UB64REV[c] : -1;
      if (b < 0) return null;
      ilen--;
    } else {
      b = B64PAD;
      pad--;
    }
    if (i === 0) t0 = b; else if (i === 1) t1 = b; else if (i === 2) t2 = b;
    if (++i === 4) {
      out[len] = (t0 << 2) + (t1 >> 4);
      out[len + 1] = (t1 << 4) + (t2 >> 2);
      out[len + 2] = (t2 << 6) + b;
      len += 3;
      i = 0;
    }
  }
  return out.subarray(0, len - padlen);
}

function convB64dec(smp: Sample): boolean {
  const b = base64Dec(smp.s);
  return b !== null && smp.setBin(b);
}

function convUb64dec(smp: Sample): boolean {
  const b = base64UrlDec(smp.s);
  return b !== null && smp.setBin(b);
}

/** hex2i(): -1 when c is not a hex digit. */
function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** sample_conv_hex2int(): any non-hex character fails; more than 16 digits wrap like the C shift. */
function convHex2i(smp: Sample): boolean {
  const s = smp.s;
  let hi = 0, lo = 0;
  for (let i = 0; i < s.length; i++) {
    const d = hexDigit(s.charCodeAt(i));
    if (d < 0) return false;
    hi = ((hi << 4) | (lo >>> 28)) >>> 0;
    lo = ((lo << 4) | d) >>> 0;
  }
  return smp.setInt(sintOf(hi, lo));
}

/** be2dec(<separator>,<chunk_size>[,<truncate>]): one unsigned number per chunk of big-endian bytes. */
function checkBe2dec(args: ArgValue[]): string | void {
  const size = args[1] as number;
  if (size <= 0 || size > 8) return `chunk_size out of [1..8] range (${size})`;
  if (args[2] !== 0 && args[2] !== 1) return `Unsupported truncate value (${args[2]})`;
}

function convBe2dec(smp: Sample, args: readonly ArgValue[]): boolean {
  const b = smp.b!;
  const sep = args[0] as string;
  const size = args[1] as number;
  const last = args[2] === 1 ? b.length - size + 1 : b.length;
  let out = '';
  let p = 0;
  while (p < last) {
    if (p !== 0) out += sep;
    if (size <= 6) {
      let v = 0;
      for (let i = 0; i < size && p < b.length; i++) v = v * 256 + b[p++];
      out += v;
    } else {
      // up to 8 bytes: an unsigned 64-bit number, printed exactly
      let v = 0n;
      for (let i = 0; i < size && p < b.length; i++) v = (v << 8n) | BigInt(b[p++]);
      out += v.toString();
    }
  }
  return smp.setStr(out);
}

function checkBe2hex(args: ArgValue[]): string | void {
  const size = args[1] as number;
  if (size <= 0 && ((args[0] as string).length > 0 || args[2] !== 0)) return `chunk_size needs to be positive (${size})`;
  if (args[2] !== 0 && args[2] !== 1) return `Unsupported truncate value (${args[2]})`;
}

function convBe2hex(smp: Sample, args: readonly ArgValue[]): boolean {
  const b = smp.b!;
  const sep = args[0] as string;
  let size = args[1] as number;
  const last = args[2] === 1 ? b.length - size + 1 : b.length;
  if (sep.length === 0 && args[2] === 0) size = b.length;
  if (size <= 0) return smp.setStr('');
  let out = '';
  let p = 0;
  while (p < last) {
    if (p !== 0) out += sep;
    const end = Math.min(p + size, b.length);
    out += b.toString('hex', p, end).toUpperCase();
    p = end;
  }
  return smp.setStr(out);
}

/* ---------------- url_dec / url_enc ---------------- */

/**
 * url_decode(): '%XX' decoded, a bad escape fails, '+' becomes a space in
 * a form or after the first '?'. The C string ends at the first NUL.
 */
function convUrlDec(smp: Sample, args: readonly ArgValue[]): boolean {
  const s = smp.s;
  const n = s.length;
  let inForm = typeof args[0] === 'number' && args[0] !== 0;
  let out = '';
  let run = 0;
  let i = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) break;
    if (c === 37) {
      const h = hexDigit(s.charCodeAt(i + 1)), l = hexDigit(s.charCodeAt(i + 2));
      if (h < 0 || l < 0) return false;
      out += s.slice(run, i) + String.fromCharCode((h << 4) + l);
      i += 2;
      run = i + 1;
    } else if (c === 43) {
      if (inForm) { out += s.slice(run, i) + ' '; run = i + 1; }
    } else if (c === 63) {
      inForm = true;
    }
  }
  return smp.setStr(run === 0 && i === n ? s : out + s.slice(run, i));
}

/** url_enc: RFC 3986 unreserved characters stay, every other byte becomes %XX (sample_conf_url_enc_init()). */
const URL_KEEP = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  URL_KEEP[c] = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 45 || c === 46 || c === 95 || c === 126 ? 1 : 0;
}
const HEX_UP = '0123456789ABCDEF';

function checkUrlEnc(args: ArgValue[]): string | void {
  const t = args[0] as string;
  if (t !== '' && t !== 'query') return "Unexpected encode type. Allowed value is 'query'";
}

function convUrlEnc(smp: Sample): boolean {
  const s = smp.s;
  let out = '';
  let run = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) & 0xff;
    if (URL_KEEP[c] === 1) continue;
    out += s.slice(run, i) + '%' + HEX_UP[c >> 4] + HEX_UP[c & 15];
    run = i + 1;
  }
  return smp.setStr(run === 0 ? s : out + s.slice(run));
}

/* ---------------- json ---------------- */

const IT_ASCII = 0, IT_UTF8 = 1, IT_UTF8S = 2, IT_UTF8P = 3, IT_UTF8PS = 4;
const JSON_MODES: Record<string, number> = { '': IT_ASCII, ascii: IT_ASCII, utf8: IT_UTF8, utf8s: IT_UTF8S, utf8p: IT_UTF8P, utf8ps: IT_UTF8PS };

const UTF8_OVERLONG = 0x10, UTF8_INVRANGE = 0x20, UTF8_BADSEQ = 0x40;
/** Code point decoded by utf8Next(). */
let utf8C = 0;

/**
 * tools.c utf8_next() on latin1 bytes s[p..n): returns the UTF8_CODE_*
 * bits | the number of bytes read (≥ 1), the value in utf8C. Five and six
 * byte forms are decoded as the C does.
 */
function utf8Next(s: string, p: number, n: number): number {
  const len = n - p;
  const b = s.charCodeAt(p);
  let dec: number;
  let c: number;
  if (b <= 0x7f) { utf8C = b; return 1; }
  if (b <= 0xbf) { utf8C = b; return UTF8_BADSEQ | 1; }
  if (b <= 0xdf) { dec = 1; c = b & 0x1f; }
  else if (b <= 0xef) { dec = 2; c = b & 0x0f; }
  else if (b <= 0xf7) { dec = 3; c = b & 0x07; }
  else if (b <= 0xfb) { dec = 4; c = b & 0x03; }
  else if (b <= 0xfd) { dec = 5; c = b & 0x01; }
  else { utf8C = b; return UTF8_BADSEQ | 1; }
  if (len < dec + 1) { utf8C = b; return UTF8_BADSEQ | 1; }
  let q = p + 1;
  for (; dec > 0; dec--, q++) {
    const cb = s.charCodeAt(q);
    if ((cb & 0xc0) !== 0x80) { utf8C = c; return UTF8_BADSEQ | ((q - p) & 0x0f); }
    c = c * 64 + (cb & 0x3f);
  }
  const l = q - p;
  let code = 0;
  if ((c <= 0x7f && l > 1) || (c >= 0x80 && c <= 0x7ff && l > 2) || (c >= 0x800 && c <= 0xffff && l > 3) || (c >= 0x10000 && c <= 0x1fffff && l > 4)) code |= UTF8_OVERLONG;
  if ((c >= 0xd800 && c <= 0xdfff) || (c >= 0xfffe && c <= 0xffff)) code |= UTF8_INVRANGE;
  utf8C = c;
  return code | (l & 0x0f);
}

/** JSON escapes of 0..255 (null: the character as is); isprint() is the C locale's 0x20..0x7e. */
const JSON_ESC: (string | null)[] = [];
for (let c = 0; c < 256; c++) {
  let e: string | null = null;
  if (c === 34) e = '\\"';
  else if (c === 92) e = '\\\\';
  else if (c === 47) e = '\\/';
  else if (c === 8) e = '\\b';
  else if (c === 12) e = '\\f';
  else if (c === 13) e = '\\r';
  else if (c === 10) e = '\\n';
  else if (c === 9) e = '\\t';
  else if (c < 0x20 || c > 0x7e) e = '\\u' + c.toString(16).padStart(4, '0');
  JSON_ESC.push(e);
}

function checkJson(args: ArgValue[]): string | void {
  const m = args[0] as string;
  if (!Object.prototype.hasOwnProperty.call(JSON_MODES, m)) return "Unexpected input code type. Allowed value are 'ascii', 'utf8', 'utf8s', 'utf8p' and 'utf8ps'";
  args[0] = JSON_MODES[m];
}

/** sample_conv_json(): copies runs of plain characters, escapes the rest. */
function convJson(smp: Sample, args: readonly ArgValue[]): boolean {
  const mode = args[0] as number;
  const s = smp.s;
  const n = s.length;
  let out = '';
  let run = 0;
  let p = 0;
  while (p < n) {
    const at = p;
    let c: number;
    if (mode === IT_ASCII) {
      c = s.charCodeAt(p++) & 0xff;
    } else {
      const r = utf8Next(s, p, n);
      p += r & 0x0f;
      const code = r & 0xf0;
      let skip = false;
      if (code !== 0) {
        if (mode === IT_UTF8) return false;
        if (mode === IT_UTF8S) skip = true;
        else if ((code & (UTF8_INVRANGE | UTF8_BADSEQ)) !== 0) {
          if (mode === IT_UTF8P) return false;
          skip = true; // IT_UTF8PS
        }
      }
      c = utf8C;
      if (!skip && c > 0xffff) {
        // JSON's \u takes 4 hex digits
        if (mode === IT_UTF8 || mode === IT_UTF8P) return false;
        skip = true;
      }
      if (skip) {
        out += s.slice(run, at);
        run = p;
        continue;
      }
    }
    const e = c < 256 ? JSON_ESC[c] : '\\u' + c.toString(16).padStart(4, '0');
    if (e === null && p === at + 1) continue; // one byte kept as is: extends the run
    out += s.slice(run, at) + (e === null ? String.fromCharCode(c) : e);
    run = p;
  }
  return smp.setStr(run === 0 ? s : out + s.slice(run));
}

/* ---------------- strings ---------------- */

const NON_ASCII = /[^\x00-\x7f]/;

/**
 * lower/upper change ASCII letters only (String.prototype.toLowerCase would
 * also change latin1 letters). A text without a letter to change is kept as
 * it is (the common case for lower: host names, paths): one scan, no copy.
 */
function convLower(smp: Sample): boolean {
  const s = smp.s;
  const n = s.length;
  let upper = false;
  let ascii = true;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) upper = true;
    else if (c > 0x7f) ascii = false;
  }
  if (!upper) return true;
  if (ascii) return smp.setStr(s.toLowerCase());
  let out = '';
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    out += c >= 65 && c <= 90 ? String.fromCharCode(c + 32) : s[i];
  }
  return smp.setStr(out);
}

function convUpper(smp: Sample): boolean {
  const s = smp.s;
  if (!NON_ASCII.test(s)) return smp.setStr(s.toUpperCase());
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += c >= 97 && c <= 122 ? String.fromCharCode(c - 32) : s[i];
  }
  return smp.setStr(out);
}

/** A set of bytes from a string argument, as a 256-entry table. */
function byteSet(chars: string): Uint8Array {
  const t = new Uint8Array(256);
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i) & 0xff] = 1;
  return t;
}

function checkTrim(args: ArgValue[]): string | void {
  args[0] = byteSet(args[0] as string);
}

function convLtrim(smp: Sample, args: readonly ArgValue[]): boolean {
  const set = args[0] as Uint8Array;
  const s = smp.s;
  let i = 0;
  while (i < s.length && set[s.charCodeAt(i) & 0xff] === 1) i++;
  return smp.setStr(i === 0 ? s : s.slice(i));
}

function convRtrim(smp: Sample, args: readonly ArgValue[]): boolean {
  const set = args[0] as Uint8Array;
  const s = smp.s;
  let l = s.length;
  while (l > 0 && set[s.charCodeAt(l - 1) & 0xff] === 1) l--;
  return smp.setStr(l === s.length ? s : s.slice(0, l));
}

function convCutCrlf(smp: Sample): boolean {
  const s = smp.s;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 13 || c === 10) return smp.setStr(s.slice(0, i));
  }
  return true;
}

/**
 * bytes(<offset>[,<length>]): the C compares with the unsigned length, so
 * a negative offset gives an empty sample and a negative length keeps
 * everything after the offset.
 */
function convBytes(smp: Sample, args: readonly ArgValue[]): boolean {
  const b = smp.b!;
  const off = args[0] as number;
  if (off < 0 || b.length <= off) return smp.setBin(b.subarray(0, 0));
  let end = b.length;
  const len = args[1];
  if (typeof len === 'number' && len >= 0 && len < end - off) end = off + len;
  return smp.setBin(b.subarray(off, end));
}

/** field/word: index (non-zero), delimiter list (non-empty), count (default 1, 0 = all the rest). */
function checkField(args: ArgValue[]): string | void {
  if (args[0] === 0) return 'Unexpected value 0 for index';
  if ((args[1] as string).length === 0) return 'Empty separators list';
  args[1] = byteSet(args[1] as string);
}

/** sample_conv_field(): empty fields count; a field that does not exist is no sample. */
function convField(smp: Sample, args: readonly ArgValue[]): boolean {
  const idx = args[0] as number;
  const set = args[1] as Uint8Array;
  let count = typeof args[2] === 'number' ? args[2] : 1;
  const s = smp.s;
  let start: number, end: number, field: number;
  if (idx < 0) {
    field = -1;
    end = start = s.length;
    for (; start > 0; start--) {
      if (set[s.charCodeAt(start - 1) & 0xff] === 0) continue;
      if (field === idx) {
        if (count === 1) return smp.setStr(s.slice(start, end));
        if (count > 1) count--;
      } else {
        end = start - 1;
        field--;
      }
    }
  } else {
    field = 1;
    end = start = 0;
    for (; end < s.length; end++) {
      if (set[s.charCodeAt(end) & 0xff] === 0) continue;
      if (field === idx) {
        if (count === 1) return smp.setStr(s.slice(start, end));
        if (count > 1) count--;
      } else {
        start = end + 1;
        field++;
      }
    }
  }
  if (field !== idx) return false;
  return smp.setStr(s.slice(start, end));
}

/** sample_conv_word(): runs of delimiters separate words; a word that does not exist is an empty string. */
function convWord(smp: Sample, args: readonly ArgValue[]): boolean {
  const idx = args[0] as number;
  const set = args[1] as Uint8Array;
  let count = typeof args[2] === 'number' ? args[2] : 1;
  const s = smp.s;
  let word = 0;
  let inword = false;
  let start: number, end: number;
  if (idx < 0) {
    end = start = s.length;
    for (; start > 0; start--) {
      const issep = set[s.charCodeAt(start - 1) & 0xff] === 1;
      if (!inword) {
        if (!issep) {
          if (word !== idx) { word--; end = start; }
          inword = true;
        }
      } else if (issep) {
        if (word === idx) {
          if (count === 1) return smp.setStr(s.slice(start, end));
          if (count > 1) count--;
        }
        inword = false;
      }
    }
  } else {
    end = start = 0;
    for (; end < s.length; end++) {
      const issep = set[s.charCodeAt(end) & 0xff] === 1;
      if (!inword) {
        if (!issep) {
          if (word !== idx) { word++; start = end; }
          inword = true;
        }
      } else if (issep) {
        if (word === idx) {
          if (count === 1) return smp.setStr(s.slice(start, end));
          if (count > 1) count--;
        }
        inword = false;
      }
    }
  }
  if (word !== idx) return smp.setStr('');
  return smp.setStr(s.slice(start, end));
}

/* ---------------- regsub ---------------- */

/**
 * regsub(<regex>,<subst>[,<flags>]): flags 'i' and 'g' (sample_conv_regsub_check()).
 * The RegExp is rebuilt with 'g' so that exec() can start at lastIndex; the
 * HAProxy 'g' flag is kept in args[2] as 1/0. The substitution is parsed
 * into literal strings and group numbers (regex.c exp_replace(): \0-\9,
 * \xHH, \<c> is c).
 *
 * JS RegExp vs PCRE: no possessive quantifiers, atomic groups or \A \Z;
 * after the first match HAProxy runs the regex on the rest of the string
 * with REG_NOTBOL, we run it on the whole string from the same position:
 * `^` behaves the same, lookbehind and \b may see the characters before.
 * 'i' also folds latin1 letters, PCRE in the C locale only ASCII ones.
 */
function checkRegsub(args: ArgValue[]): string | void {
  const flags = typeof args[2] === 'string' ? args[2] : '';
  let icase = false, glob = false;
  for (const f of flags) {
    if (f === 'i') icase = true;
    else if (f === 'g') glob = true;
    else return `invalid regex flag '${f}', only 'i' and 'g' are supported`;
  }
  args[0] = new RegExp((args[0] as RegExp).source, icase ? 'gi' : 'g');
  args[2] = glob ? 1 : 0;
  args[1] = parseSubst(args[1] as string);
}

/** exp_replace()'s template: strings and group numbers. */
function parseSubst(t: string): (string | number)[] {
  const parts: (string | number)[] = [];
  let lit = '';
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c !== 92) { lit += t[i]; continue; }
    if (++i >= t.length) break; // trailing '\': exp_replace() fails; keep what came before
    const d = t.charCodeAt(i);
    if (d >= 48 && d <= 57) {
      if (lit.length > 0) { parts.push(lit); lit = ''; }
      parts.push(d - 48);
    } else if (d === 120) {
      // \xHH without validation, as the C: toupper(c) - '0', minus 7 above 9, on unsigned chars
      if (i + 2 >= t.length) break;
      const h1 = hexNibble(t.charCodeAt(++i)), h2 = hexNibble(t.charCodeAt(++i));
      lit += String.fromCharCode(((h1 << 4) + h2) & 0xff);
    } else {
      lit += t[i];
    }
  }
  if (lit.length > 0) parts.push(lit);
  return parts;
}

function hexNibble(c: number): number {
  if (c >= 97 && c <= 122) c -= 32;
  let h = (c - 48) & 0xff;
  if (h > 9) h = (h - 7) & 0xff;
  return h;
}

function convRegsub(smp: Sample, args: readonly ArgValue[]): boolean {
  const re = args[0] as RegExp;
  const parts = args[1] as (string | number)[];
  const glob = args[2] === 1;
  const s = smp.s;
  const end = s.length;
  let out = '';
  let start = 0;
  let first = true;
  for (;;) {
    let m: RegExpExecArray | null = null;
    if (glob || first) {
      re.lastIndex = start;
      m = re.exec(s);
    }
    first = false;
    if (m === null) {
      out += s.slice(start);
      break;
    }
    out += s.slice(start, m.index);
    for (let k = 0; k < parts.length; k++) {
      const p = parts[k];
      if (typeof p === 'string') out += p;
      else { const g = m[p]; if (g !== undefined) out += g; }
    }
    if (start >= end) break;
    let eo = m.index + m[0].length - start;
    if (eo === 0) {
      // an empty match in front of a character: copy it and move on
      out += s[start];
      eo = 1;
    }
    start += eo;
  }
  return smp.setStr(out);
}

/* ---------------- concat, add_item, strcmp, iif ---------------- */

function checkConcat(args: ArgValue[]): string | void {
  return checkOptionalVar(args, 1);
}

/** concat([<start>],[<var>],[<end>]): a missing variable adds nothing. */
function convConcat(smp: Sample, args: readonly ArgValue[], ctx: SampleContext): boolean {
  let out = smp.s + (args[0] as string);
  if (args[1] !== null) {
    const v = varAs(ctx, args[1] as VarRef, T_STR);
    if (v !== null) out += v.s;
  }
  return smp.setStr(out + (args[2] as string));
}

function checkAddItem(args: ArgValue[]): string | void {
  const e = checkOptionalVar(args, 1);
  if (e) return e;
  if (args[1] === null && (args[2] as string).length === 0) return 'one of the optional arguments has to be nonempty';
}

/** add_item(<delim>,[<var>][,<suff>]): the delimiter only after a non-empty input and before something non-empty. */
function convAddItem(smp: Sample, args: readonly ArgValue[], ctx: SampleContext): boolean {
  const suffix = args[2] as string;
  let item = '';
  let found = false;
  if (args[1] !== null) {
    const v = varAs(ctx, args[1] as VarRef, T_STR);
    if (v !== null) { item = v.s; found = true; }
  }
  let out = smp.s;
  if (out.length > 0 && ((found && item.length > 0) || suffix.length > 0)) out += args[0] as string;
  return smp.setStr(out + item + suffix);
}

/**
 * strcmp(<var>): strncmp() over the shorter length, then the shorter string
 * is smaller. glibc's strncmp returns the difference of the first differing
 * bytes (haproxy 2.6.12: "a" vs "c" gives -2) and stops at a NUL.
 */
function convStrcmp(smp: Sample, args: readonly ArgValue[], ctx: SampleContext): boolean {
  const v = varAs(ctx, args[0] as VarRef, T_STR);
  if (v === null) return false;
  const a = smp.s, b = v.s;
  const max = Math.min(a.length, b.length);
  let r = 0;
  let i = 0;
  for (; i < max; i++) {
    const x = a.charCodeAt(i) & 0xff, y = b.charCodeAt(i) & 0xff;
    if (x !== y) { r = x - y; break; }
    if (x === 0) break;
  }
  if (r === 0 && a.length !== b.length) r = a.length < b.length ? -1 : 1;
  return smp.setInt(r);
}

function convIif(smp: Sample, args: readonly ArgValue[]): boolean {
  return smp.setStr((smp.n !== 0 ? args[0] : args[1]) as string);
}

/* ---------------- arithmetic and bitwise (sample.c sample_conv_arith_* / binary_*) ---------------- */

/** The two uint32 halves of an int64 held in a double (exact for every integer double). */
let splitHi = 0, splitLo = 0;
function split(v: number): void {
  const hi = Math.floor(v / TWO32);
  splitLo = v - hi * TWO32;
  splitHi = hi >>> 0;
}

function convAnd(smp: Sample, args: readonly ArgValue[], ctx: SampleContext): boolean {
  const b = sintArg(args[0], ctx);
  if (b !== b) return false;
  split(smp.n); const ah = splitHi, al = splitLo;
  split(b);
  return smp.setInt(sintOf(ah & splitHi, (al & splitLo) >>> 0));
}

function convOr(smp: Sample, args: readonly ArgValue[], ctx: SampleContext): boolean {
  const b = sintArg(args[0], ctx);
  if (b !== b) return false;
  split(smp.n); const ah = splitHi, al = splitLo;
  split(b);
  return smp.setInt(sintOf(ah | splitHi, (al | splitLo) >>> 0));
}

function convXor(smp: Sample, args: readonly ArgValue[], ctx: SampleContext): boolean {
  const b = sintArg(args[0], ctx);
  if (b !== b) return false;
  split(smp.n); const ah = splitHi, al = splitLo;
  split(b);
  return smp.setInt(sintOf(ah ^ splitHi, (al ^ splitLo) >>> 0));
}

/** cpl: ~a is -a-1; ~LLONG_MIN is LLONG_MAX. */
function convCpl(smp: Sample): boolean {
  return smp.setInt(sint(-smp.n - 1));
}

/** add/sub saturate at the int64 limits (arith_add()). */
function convAdd(smp: Sample, args: readonly ArgValue[], ctx: SampleContext): boolean {
  const b = sintArg(args[0], ctx);
  if (b !== b) return false;
  return smp.setInt(sint(smp.n + b));
}

function convSub(smp: Sample, args: readonly ArgValue[], ctx: SampleContext): boolean {
  const b = sintArg(args[0], ctx);
  if (b !== b) return false;
  return smp.setInt(sint(smp.n - b));
}

/** mul: 0 if either is 0; an overflow gives the limit of the result's sign. */
function convMul(smp: Sample, args: readonly ArgValue[], ctx: SampleContext): boolean {
  const b = sintArg(args[0], ctx);
  if (b !== b) return false;
  return smp.setInt(sint(smp.n * b));
}

/** div: by 0 gives LLONG_MAX, LLONG_MIN/-1 too; the quotient truncates toward 0. */
function convDiv(smp: Sample, args: readonly ArgValue[], ctx: SampleContext): boolean {
  const b = sintArg(args[0], ctx);
  if (b !== b) return false;
  const a = smp.n;
  if (b === 0) return smp.setInt(SINT_MAX);
  // (a - a % b) / b is exact: % is exact on doubles and the difference is a multiple of b
  return smp.setInt(sint((a - (a % b)) / b));
}

/** mod: by 0 gives 0, LLONG_MIN % -1 too; the sign follows the dividend (C and JS agree). */
function convMod(smp: Sample, args: readonly ArgValue[], ctx: SampleContext): boolean {
  const b = sintArg(args[0], ctx);
  if (b !== b) return false;
  if (b === 0) return smp.setInt(0);
  return smp.setInt((smp.n % b) + 0);
}

/** neg: -LLONG_MIN is LLONG_MAX. */
function convNeg(smp: Sample): boolean {
  return smp.setInt(sint(-smp.n));
}

function convBool(smp: Sample): boolean { return smp.setBool(smp.n !== 0); }
function convNot(smp: Sample): boolean { return smp.setBool(smp.n === 0); }
function convOdd(smp: Sample): boolean { return smp.setBool(smp.n % 2 !== 0); }
function convEven(smp: Sample): boolean { return smp.setBool(smp.n % 2 === 0); }

/* ---------------- hashes (src/hash.c in backend/hash.ts, xxhash) ---------------- */

function hashConv(fn: (b: Uint8Array) => number): (smp: Sample, args: readonly ArgValue[]) => boolean {
  return (smp, args) => {
    const h = fn(smp.b!);
    return smp.setInt(args[0] !== 0 && args[0] !== null ? fullHash(h) : h);
  };
}

const XP1 = 0x9e3779b1, XP2 = 0x85ebca77, XP3 = 0xc2b2ae3d, XP4 = 0x27d4eb2f, XP5 = 0x165667b1;

function rd32(b: Uint8Array, p: number): number {
  return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
}

function rotl32(x: number, r: number): number {
  return ((x << r) | (x >>> (32 - r))) >>> 0;
}

function xxh32Round(acc: number, input: number): number {
  return Math.imul(rotl32((acc + Math.imul(input, XP2)) >>> 0, 13), XP1) >>> 0;
}

/** XXH32 (xxHash spec). */
function xxh32(b: Uint8Array, seed: number): number {
  const len = b.length;
  let p = 0;
  let h: number;
  if (len >= 16) {
    let v1 = (seed + XP1 + XP2) >>> 0, v2 = (seed + XP2) >>> 0, v3 = seed >>> 0, v4 = (seed - XP1) >>> 0;
    const limit = len - 16;
    do {
      v1 = xxh32Round(v1, rd32(b, p)); p += 4;
      v2 = xxh32Round(v2, rd32(b, p)); p += 4;
      v3 = xxh32Round(v3, rd32(b, p)); p += 4;
      v4 = xxh32Round(v4, rd32(b, p)); p += 4;
    } while (p <= limit);
    h = (rotl32(v1, 1) + rotl32(v2, 7) + rotl32(v3, 12) + rotl32(v4, 18)) >>> 0;
  } else {
    h = (seed + XP5) >>> 0;
  }
  h = (h + len) >>> 0;
  for (; p + 4 <= len; p += 4) h = Math.imul(rotl32((h + Math.imul(rd32(b, p), XP3)) >>> 0, 17), XP4) >>> 0;
  for (; p < len; p++) h = Math.imul(rotl32((h + Math.imul(b[p], XP5)) >>> 0, 11), XP1) >>> 0;
  h = Math.imul(h ^ (h >>> 15), XP2) >>> 0;
  h = Math.imul(h ^ (h >>> 13), XP3) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/*
 * XXH64 on (hi, lo) uint32 pairs: no BigInt, no allocation. Each helper
 * leaves its result in R[0] (high) and R[1] (low) (a typed array: a uint32 above 2^31
 * stored in a module variable would be boxed, one allocation per step).
 */
const R = new Uint32Array(4);

function add64(ah: number, al: number, bh: number, bl: number): void {
  const lo = al + bl;
  R[1] = lo >>> 0;
  R[0] = (ah + bh + (lo > 0xffffffff ? 1 : 0)) >>> 0;
}

/** a·b of two uint32 as a uint64 in R[R[2]], R[R[3]] (16-bit limbs: every partial sum is an exact double). */
function mul32(a: number, b: number): void {
  const a0 = a & 0xffff, a1 = a >>> 16, b0 = b & 0xffff, b1 = b >>> 16;
  const p01 = a0 * b1, p10 = a1 * b0; // < 2^32 each
  const mid = ((a0 * b0) >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  R[3] = Math.imul(a, b);
  R[2] = a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16);
}

/** Low 64 bits of a·b: al·bl in full, the cross terms' low halves in the high word. */
function mul64(ah: number, al: number, bh: number, bl: number): void {
  mul32(al, bl);
  R[1] = R[3];
  R[0] = (R[2] + Math.imul(ah, bl) + Math.imul(al, bh)) >>> 0;
}

function sub64(ah: number, al: number, bh: number, bl: number): void {
  const lo = al - bl;
  R[1] = lo >>> 0;
  R[0] = (ah - bh - (lo < 0 ? 1 : 0)) >>> 0;
}

/** Rotation left by 1..31. */
function rotl64(h: number, l: number, r: number): void {
  R[0] = ((h << r) | (l >>> (32 - r))) >>> 0;
  R[1] = ((l << r) | (h >>> (32 - r))) >>> 0;
}

const P1H = 0x9e3779b1, P1L = 0x85ebca87;
const P2H = 0xc2b2ae3d, P2L = 0x27d4eb4f;
const P3H = 0x165667b1, P3L = 0x9e3779f9;
const P4H = 0x85ebca77, P4L = 0xc2b2ae63;
const P5H = 0x27d4eb2f, P5L = 0x165667c5;
/** 2^64 - PRIME64_1. */
const NP1H = ~P1H >>> 0, NP1L = (~P1L + 1) >>> 0;

/** acc = rotl(acc + input * P2, 31) * P1 */
function round64(accH: number, accL: number, inH: number, inL: number): void {
  mul64(inH, inL, P2H, P2L);
  add64(accH, accL, R[0], R[1]);
  rotl64(R[0], R[1], 31);
  mul64(R[0], R[1], P1H, P1L);
}

/** acc = (acc ^ round(0, val)) * P1 + P4 */
function mergeRound64(accH: number, accL: number, vH: number, vL: number): void {
  round64(0, 0, vH, vL);
  mul64((accH ^ R[0]) >>> 0, (accL ^ R[1]) >>> 0, P1H, P1L);
  add64(R[0], R[1], P4H, P4L);
}

/** XXH64 (xxHash spec) of b with the seed's halves; returns the int64 (as the C casts it) in a double. */
function xxh64(b: Uint8Array, seedH: number, seedL: number): number {
  const len = b.length;
  let p = 0;
  let hH: number, hL: number;
  if (len >= 32) {
    add64(seedH, seedL, P1H, P1L); add64(R[0], R[1], P2H, P2L);
    let v1H = R[0], v1L = R[1];
    add64(seedH, seedL, P2H, P2L);
    let v2H = R[0], v2L = R[1];
    let v3H = seedH, v3L = seedL;
    add64(seedH, seedL, NP1H, NP1L);
    let v4H = R[0], v4L = R[1];
    const limit = len - 32;
    do {
      round64(v1H, v1L, rd32(b, p + 4), rd32(b, p)); v1H = R[0]; v1L = R[1]; p += 8;
      round64(v2H, v2L, rd32(b, p + 4), rd32(b, p)); v2H = R[0]; v2L = R[1]; p += 8;
      round64(v3H, v3L, rd32(b, p + 4), rd32(b, p)); v3H = R[0]; v3L = R[1]; p += 8;
      round64(v4H, v4L, rd32(b, p + 4), rd32(b, p)); v4H = R[0]; v4L = R[1]; p += 8;
    } while (p <= limit);
    rotl64(v1H, v1L, 1); hH = R[0]; hL = R[1];
    rotl64(v2H, v2L, 7); add64(hH, hL, R[0], R[1]); hH = R[0]; hL = R[1];
    rotl64(v3H, v3L, 12); add64(hH, hL, R[0], R[1]); hH = R[0]; hL = R[1];
    rotl64(v4H, v4L, 18); add64(hH, hL, R[0], R[1]); hH = R[0]; hL = R[1];
    mergeRound64(hH, hL, v1H, v1L); hH = R[0]; hL = R[1];
    mergeRound64(hH, hL, v2H, v2L); hH = R[0]; hL = R[1];
    mergeRound64(hH, hL, v3H, v3L); hH = R[0]; hL = R[1];
    mergeRound64(hH, hL, v4H, v4L); hH = R[0]; hL = R[1];
  } else {
    add64(seedH, seedL, P5H, P5L); hH = R[0]; hL = R[1];
  }
  add64(hH, hL, Math.floor(len / TWO32) >>> 0, len >>> 0); hH = R[0]; hL = R[1];
  for (; p + 8 <= len; p += 8) {
    round64(0, 0, rd32(b, p + 4), rd32(b, p));
    rotl64((hH ^ R[0]) >>> 0, (hL ^ R[1]) >>> 0, 27);
    mul64(R[0], R[1], P1H, P1L);
    add64(R[0], R[1], P4H, P4L); hH = R[0]; hL = R[1];
  }
  if (p + 4 <= len) {
    mul64(0, rd32(b, p), P1H, P1L);
    rotl64((hH ^ R[0]) >>> 0, (hL ^ R[1]) >>> 0, 23);
    mul64(R[0], R[1], P2H, P2L);
    add64(R[0], R[1], P3H, P3L); hH = R[0]; hL = R[1];
    p += 4;
  }
  for (; p < len; p++) {
    mul64(0, b[p], P5H, P5L);
    rotl64((hH ^ R[0]) >>> 0, (hL ^ R[1]) >>> 0, 11);
    mul64(R[0], R[1], P1H, P1L); hH = R[0]; hL = R[1];
  }
  xxh64Avalanche(hH, hL);
  return sintOf(R[0], R[1]);
}

/** h ^= h >> 33; h *= P2; h ^= h >> 29; h *= P3; h ^= h >> 32 */
function xxh64Avalanche(hH: number, hL: number): void {
  mul64(hH, (hL ^ (hH >>> 1)) >>> 0, P2H, P2L); hH = R[0]; hL = R[1];
  const l29 = ((hL >>> 29) | (hH << 3)) >>> 0;
  mul64((hH ^ (hH >>> 29)) >>> 0, (hL ^ l29) >>> 0, P3H, P3L);
  R[1] = (R[1] ^ R[0]) >>> 0;
}

/*
 * XXH3 64-bit with seed (xxHash 0.8.0 as bundled in HAProxy 2.6: the
 * `XXH3(data, len, seed)` macro is XXH3_64bits_withSeed()), scalar code
 * path, on the same (hi, lo) pairs.
 */
const XXH3_SECRET = Buffer.from(
  'b8fe6c3923a44bbe7c01812cf721ad1cded46de9839097db7240a4a4b7b3671fcb79e64eccc0e578825ad07dccff7221b8084674f743248ee03590e6813a264c' +
  '3c2852bb91c300cb88d0658b1b532ea371644897a20df94e3819ef46a9deacd8a8fa763fe39c343ff9dcbbc7c70b4f1d8a51e04bcdb45931c89f7ec9d9787364' +
  'eac5ac8334d3ebc3c581a0fffa1363eb170ddd51b7f0da49d316552629d4689e2b16be587d47a1fc8ff8b8d17ad031ce45cb3a8f95160428afd7fbcabb4b407e', 'hex');
const P32_1 = 0x9e3779b1, P32_2 = 0x85ebca77, P32_3 = 0xc2b2ae3d;

function bswap32(x: number): number {
  return (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0;
}

/** The 128-bit product of two uint64, its halves xored (XXH3_mul128_fold64()). */
function mul128Fold64(aH: number, aL: number, bH: number, bL: number): void {
  mul32(aL, bL); const w0 = R[3], t = R[2];
  mul32(aL, bH); const lhL = R[3], lhH = R[2];
  mul32(aH, bL); const hlL = R[3], hlH = R[2];
  mul32(aH, bH); const hhL = R[3], hhH = R[2];
  const s1 = t + lhL + hlL;
  const s2 = lhH + hlH + hhL + Math.floor(s1 / TWO32);
  const w3 = (hhH + Math.floor(s2 / TWO32)) >>> 0;
  R[0] = ((s1 >>> 0) ^ w3) >>> 0;
  R[1] = (w0 ^ (s2 >>> 0)) >>> 0;
}

/** h ^= h >> 37; h *= 0x165667919E3779F9; h ^= h >> 32 */
function xxh3Avalanche(h: number, l: number): void {
  mul64(h, (l ^ (h >>> 5)) >>> 0, 0x16566791, 0x9e3779f9);
  R[1] = (R[1] ^ R[0]) >>> 0;
}

/** XXH3_mix16B(): the 16 input bytes at p against the secret at sp. */
function mix16B(b: Uint8Array, p: number, sec: Uint8Array, sp: number, seedH: number, seedL: number): void {
  add64(rd32(sec, sp + 4), rd32(sec, sp), seedH, seedL);
  const aH = (rd32(b, p + 4) ^ R[0]) >>> 0, aL = (rd32(b, p) ^ R[1]) >>> 0;
  sub64(rd32(sec, sp + 12), rd32(sec, sp + 8), seedH, seedL);
  mul128Fold64(aH, aL, (rd32(b, p + 12) ^ R[0]) >>> 0, (rd32(b, p + 8) ^ R[1]) >>> 0);
}

/** XXH3 of b (int64 in a double); `secret` is the seed's custom secret, needed above 240 bytes when seed != 0. */
function xxh3(b: Uint8Array, seedH: number, seedL: number, secret: Uint8Array = XXH3_SECRET): number {
  const len = b.length;
  const k = XXH3_SECRET;
  let h: number, l: number;
  if (len === 0) {
    xxh64Avalanche((seedH ^ rd32(k, 60) ^ rd32(k, 68)) >>> 0, (seedL ^ rd32(k, 56) ^ rd32(k, 64)) >>> 0);
    return sintOf(R[0], R[1]);
  }
  if (len <= 3) {
    const combined = ((b[0] << 16) | (b[len >> 1] << 24) | b[len - 1] | (len << 8)) >>> 0;
    add64(0, (rd32(k, 0) ^ rd32(k, 4)) >>> 0, seedH, seedL);
    xxh64Avalanche(R[0], (R[1] ^ combined) >>> 0);
    return sintOf(R[0], R[1]);
  }
  if (len <= 8) {
    const sH = (seedH ^ bswap32(seedL)) >>> 0;
    sub64((rd32(k, 12) ^ rd32(k, 20)) >>> 0, (rd32(k, 8) ^ rd32(k, 16)) >>> 0, sH, seedL);
    h = (rd32(b, 0) ^ R[0]) >>> 0; l = (rd32(b, len - 4) ^ R[1]) >>> 0;
    // rrmxmx: h ^= rotl(h, 49) ^ rotl(h, 24); h *= C; h ^= (h >> 35) + len; h *= C; h ^= h >> 28
    const r49H = ((l << 17) | (h >>> 15)) >>> 0, r49L = ((h << 17) | (l >>> 15)) >>> 0;
    const r24H = ((h << 24) | (l >>> 8)) >>> 0, r24L = ((l << 24) | (h >>> 8)) >>> 0;
    mul64((h ^ r49H ^ r24H) >>> 0, (l ^ r49L ^ r24L) >>> 0, 0x9fb21c65, 0x1e98df25);
    mul64(R[0], (R[1] ^ ((R[0] >>> 3) + len)) >>> 0, 0x9fb21c65, 0x1e98df25);
    h = R[0]; l = R[1];
    return sintOf((h ^ (h >>> 28)) >>> 0, (l ^ ((l >>> 28) | (h << 4))) >>> 0);
  }
  if (len <= 16) {
    add64((rd32(k, 28) ^ rd32(k, 36)) >>> 0, (rd32(k, 24) ^ rd32(k, 32)) >>> 0, seedH, seedL);
    const loH = (rd32(b, 4) ^ R[0]) >>> 0, loL = (rd32(b, 0) ^ R[1]) >>> 0;
    sub64((rd32(k, 44) ^ rd32(k, 52)) >>> 0, (rd32(k, 40) ^ rd32(k, 48)) >>> 0, seedH, seedL);
    const hiH = (rd32(b, len - 4) ^ R[0]) >>> 0, hiL = (rd32(b, len - 8) ^ R[1]) >>> 0;
    // acc = len + swap64(lo) + hi + mul128_fold64(lo, hi)
    add64(bswap32(loL), bswap32(loH), 0, len);
    add64(R[0], R[1], hiH, hiL); h = R[0]; l = R[1];
    mul128Fold64(loH, loL, hiH, hiL);
    add64(h, l, R[0], R[1]);
    xxh3Avalanche(R[0], R[1]);
    return sintOf(R[0], R[1]);
  }
  if (len <= 240) {
    mul64(0, len, P1H, P1L); h = R[0]; l = R[1];
    if (len <= 128) {
      if (len > 32) {
        if (len > 64) {
          if (len > 96) {
            mix16B(b, 48, k, 96, seedH, seedL); add64(h, l, R[0], R[1]); h = R[0]; l = R[1];
            mix16B(b, len - 64, k, 112, seedH, seedL); add64(h, l, R[0], R[1]); h = R[0]; l = R[1];
          }
          mix16B(b, 32, k, 64, seedH, seedL); add64(h, l, R[0], R[1]); h = R[0]; l = R[1];
          mix16B(b, len - 48, k, 80, seedH, seedL); add64(h, l, R[0], R[1]); h = R[0]; l = R[1];
        }
        mix16B(b, 16, k, 32, seedH, seedL); add64(h, l, R[0], R[1]); h = R[0]; l = R[1];
        mix16B(b, len - 32, k, 48, seedH, seedL); add64(h, l, R[0], R[1]); h = R[0]; l = R[1];
      }
      mix16B(b, 0, k, 0, seedH, seedL); add64(h, l, R[0], R[1]); h = R[0]; l = R[1];
      mix16B(b, len - 16, k, 16, seedH, seedL); add64(h, l, R[0], R[1]);
      xxh3Avalanche(R[0], R[1]);
      return sintOf(R[0], R[1]);
    }
    for (let i = 0; i < 8; i++) { mix16B(b, 16 * i, k, 16 * i, seedH, seedL); add64(h, l, R[0], R[1]); h = R[0]; l = R[1]; }
    xxh3Avalanche(h, l); h = R[0]; l = R[1];
    const rounds = len >> 4;
    for (let i = 8; i < rounds; i++) { mix16B(b, 16 * i, k, 16 * (i - 8) + 3, seedH, seedL); add64(h, l, R[0], R[1]); h = R[0]; l = R[1]; }
    mix16B(b, len - 16, k, 136 - 17, seedH, seedL); add64(h, l, R[0], R[1]);
    xxh3Avalanche(R[0], R[1]);
    return sintOf(R[0], R[1]);
  }
  return xxh3Long(b, secret);
}

/** Accumulators of XXH3's long hash: 8 lanes as (hi, lo). */
const xacc = new Uint32Array(16);
const XACC_INIT = [0, P32_3, P1H, P1L, P2H, P2L, P3H, P3L, P4H, P4L, 0, P32_2, P5H, P5L, 0, P32_1];

/** XXH3_accumulate_512(): one 64-byte stripe at p, the secret at sp. */
function accumulate512(b: Uint8Array, p: number, sec: Uint8Array, sp: number): void {
  for (let i = 0; i < 8; i++) {
    const dH = rd32(b, p + 8 * i + 4), dL = rd32(b, p + 8 * i);
    const j = (i ^ 1) * 2;
    add64(xacc[j], xacc[j + 1], dH, dL); xacc[j] = R[0]; xacc[j + 1] = R[1];
    mul32((dL ^ rd32(sec, sp + 8 * i)) >>> 0, (dH ^ rd32(sec, sp + 8 * i + 4)) >>> 0);
    add64(xacc[2 * i], xacc[2 * i + 1], R[2], R[3]); xacc[2 * i] = R[0]; xacc[2 * i + 1] = R[1];
  }
}

function xxh3Long(b: Uint8Array, sec: Uint8Array): number {
  const len = b.length;
  xacc.set(XACC_INIT);
  const stripesPerBlock = (sec.length - 64) / 8;
  const blockLen = 64 * stripesPerBlock;
  const blocks = Math.floor((len - 1) / blockLen);
  for (let n = 0; n < blocks; n++) {
    for (let s = 0; s < stripesPerBlock; s++) accumulate512(b, n * blockLen + s * 64, sec, s * 8);
    // scramble: acc ^= acc >> 47; acc ^= key; acc *= PRIME32_1
    const sp = sec.length - 64;
    for (let i = 0; i < 8; i++) {
      const aH = (xacc[2 * i] ^ rd32(sec, sp + 8 * i + 4)) >>> 0;
      const aL = (xacc[2 * i + 1] ^ (xacc[2 * i] >>> 15) ^ rd32(sec, sp + 8 * i)) >>> 0;
      mul64(aH, aL, 0, P32_1); xacc[2 * i] = R[0]; xacc[2 * i + 1] = R[1];
    }
  }
  const stripes = Math.floor((len - 1 - blockLen * blocks) / 64);
  for (let s = 0; s < stripes; s++) accumulate512(b, blocks * blockLen + s * 64, sec, s * 8);
  accumulate512(b, len - 64, sec, sec.length - 64 - 7);
  // merge the accumulators
  mul64(0, len, P1H, P1L);
  let h = R[0], l = R[1];
  for (let i = 0; i < 4; i++) {
    const sp = 11 + 16 * i;
    mul128Fold64((xacc[4 * i] ^ rd32(sec, sp + 4)) >>> 0, (xacc[4 * i + 1] ^ rd32(sec, sp)) >>> 0,
      (xacc[4 * i + 2] ^ rd32(sec, sp + 12)) >>> 0, (xacc[4 * i + 3] ^ rd32(sec, sp + 8)) >>> 0);
    add64(h, l, R[0], R[1]); h = R[0]; l = R[1];
  }
  xxh3Avalanche(h, l);
  return sintOf(R[0], R[1]);
}

/** XXH3_initCustomSecret(): the default secret's 64-bit words plus and minus the seed, in turn. */
function xxh3Secret(seedH: number, seedL: number): Buffer {
  const out = Buffer.allocUnsafe(XXH3_SECRET.length);
  for (let i = 0; i < XXH3_SECRET.length; i += 16) {
    add64(rd32(XXH3_SECRET, i + 4), rd32(XXH3_SECRET, i), seedH, seedL);
    out.writeUInt32LE(R[1], i); out.writeUInt32LE(R[0], i + 4);
    sub64(rd32(XXH3_SECRET, i + 12), rd32(XXH3_SECRET, i + 8), seedH, seedL);
    out.writeUInt32LE(R[1], i + 8); out.writeUInt32LE(R[0], i + 12);
  }
  return out;
}

function convXxh32(smp: Sample, args: readonly ArgValue[]): boolean {
  // `unsigned int seed = arg`: the low 32 bits
  const seed = typeof args[0] === 'number' ? args[0] >>> 0 : 0;
  return smp.setInt(xxh32(smp.b!, seed));
}

function convXxh64(smp: Sample, args: readonly ArgValue[]): boolean {
  const seed = typeof args[0] === 'number' ? args[0] : 0;
  return smp.setInt(xxh64(smp.b!, Math.floor(seed / TWO32) >>> 0, seed >>> 0));
}

/** xxh3([<seed>]): the seed's secret for long inputs is made once, here. */
function checkXxh3(args: ArgValue[]): string | void {
  const seed = typeof args[0] === 'number' ? args[0] : 0;
  args[0] = seed;
  args[1] = seed === 0 ? XXH3_SECRET : xxh3Secret(Math.floor(seed / TWO32) >>> 0, seed >>> 0);
}

function convXxh3(smp: Sample, args: readonly ArgValue[]): boolean {
  const seed = args[0] as number;
  return smp.setInt(xxh3(smp.b!, Math.floor(seed / TWO32) >>> 0, seed >>> 0, args[1] as Buffer));
}

/* ---------------- crypto (ssl_sample.c) ---------------- */

/** One-shot digest: crypto.hash() (Node >= 20.12) skips the Hash object; older 20.x go through createHash(). */
const digestOf: (alg: string, data: Buffer) => Buffer = typeof crypto.hash === 'function'
  ? (alg, data) => crypto.hash(alg, data, 'buffer')
  : (alg, data) => createHash(alg).update(data).digest();

function convSha1(smp: Sample): boolean {
  return smp.setBin(digestOf('sha1', smp.b!));
}

function checkSha2(args: ArgValue[]): string | void {
  const bits = args[0];
  if (bits === null) { args[0] = 'sha256'; return; }
  if (bits !== 224 && bits !== 256 && bits !== 384 && bits !== 512) return `Unsupported number of bits: '${bits}'`;
  args[0] = 'sha' + bits;
}

function convDigest(smp: Sample, args: readonly ArgValue[]): boolean {
  try {
    return smp.setBin(digestOf(args[0] as string, smp.b!));
  } catch {
    return false;
  }
}

/** EVP_get_digestbyname(): any digest OpenSSL knows (sha256, SHA512, md5, sha3-256, ...). */
function checkDigest(args: ArgValue[]): string | void {
  try {
    digestOf(args[0] as string, Buffer.alloc(0));
  } catch {
    return 'algorithm must be a valid OpenSSL message digest name.';
  }
}

/**
 * sample_check_arg_base64(): '' stays an empty string, a variable name
 * becomes the variable (base64-decoded at run time), anything else must be
 * base64 and is decoded now.
 */
function checkVarOrBase64(args: ArgValue[], i: number): string | void {
  const text = args[i] as string;
  if (text.length === 0) { args[i] = Buffer.alloc(0); return; }
  const ref = parseVarArg(text);
  if (typeof ref !== 'string') { args[i] = ref; return; }
  const b = base64Dec(text);
  if (b === null) return 'argument needs to be base64 encoded, and can either be a string or a variable';
  args[i] = Buffer.from(b);
}

/** The bytes of a checkVarOrBase64() argument, or null (missing variable, bad base64). */
function bytesArg(a: ArgValue, ctx: SampleContext): Buffer | null {
  if (Buffer.isBuffer(a)) return a;
  const v = varAs(ctx, a as VarRef, T_STR);
  return v === null ? null : base64Dec(v.s);
}

function checkHmac(args: ArgValue[]): string | void {
  const e = checkDigest(args);
  if (e) return e;
  const k = checkVarOrBase64(args, 1);
  if (k) return `failed to parse key : ${k}`;
}

function convHmac(smp: Sample, args: readonly ArgValue[], ctx: SampleContext): boolean {
  const key = bytesArg(args[1], ctx);
  if (key === null) return false;
  try {
    return smp.setBin(createHmac(args[0] as string, key).update(smp.b!).digest());
  } catch {
    return false;
  }
}

/** secure_memcmp(<var>): constant time when the lengths are equal. */
function convSecureMemcmp(smp: Sample, args: readonly ArgValue[], ctx: SampleContext): boolean {
  const v = varAs(ctx, args[0] as VarRef, T_BIN);
  if (v === null) return false;
  const a = smp.b!, b = v.b!;
  return smp.setBool(a.length === b.length && timingSafeEqual(a, b));
}

function checkAesGcm(args: ArgValue[]): string | void {
  const bits = args[0];
  if (bits !== 128 && bits !== 192 && bits !== 256) return 'key size must be 128, 192 or 256 (bits).';
  const names = ['nonce', 'key', 'aead_tag'];
  for (let i = 1; i <= 3; i++) {
    const e = checkVarOrBase64(args, i);
    if (e) return `failed to parse ${names[i - 1]} : ${e}`;
  }
  args[0] = `aes-${bits}-gcm`;
}

/** aes_gcm_dec(<bits>,<nonce>,<key>,<aead_tag>): no sample when the tag does not authenticate. */
function convAesGcmDec(smp: Sample, args: readonly ArgValue[], ctx: SampleContext): boolean {
  const nonce = bytesArg(args[1], ctx);
  const key = bytesArg(args[2], ctx);
  const tag = bytesArg(args[3], ctx);
  if (nonce === null || key === null || tag === null) return false;
  try {
    const d = createDecipheriv(args[0] as 'aes-128-gcm', key, nonce, { authTagLength: tag.length });
    d.setAuthTag(tag);
    const head = d.update(smp.b!);
    const tail = d.final();
    return smp.setBin(tail.length === 0 ? head : Buffer.concat([head, tail]));
  } catch {
    return false;
  }
}

/* ---------------- addresses ---------------- */

/** str2mask(): dotted (any address, even non-contiguous) or a length 0..32. */
function checkIpmask(args: ArgValue[]): string | void {
  const m4 = args[0] as string;
  const out = new Uint8Array(16);
  if (m4.indexOf('.') >= 0) {
    if (!parseIPv4Into(m4, 0, m4.length, out, 0)) return `failed to parse '${m4}' as type 'IPv4 mask' at position 1`;
    args[0] = ((out[0] << 24) | (out[1] << 16) | (out[2] << 8) | out[3]) >>> 0;
  } else {
    const len = maskLen(m4, 32);
    if (len < 0) return `failed to parse '${m4}' as type 'IPv4 mask' at position 1`;
    args[0] = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  }
  const m6 = args[1];
  if (typeof m6 !== 'string') return;
  const b = Buffer.alloc(16);
  if (m6.indexOf(':') >= 0) {
    if (!parseIPv6Into(m6, b)) return `failed to parse '${m6}' as type 'IPv6 mask' at position 2`;
  } else {
    const len = maskLen(m6, 128);
    if (len < 0) return `failed to parse '${m6}' as type 'IPv6 mask' at position 2`;
    for (let i = 0; i < 16; i++) {
      const bits = Math.max(0, Math.min(8, len - i * 8));
      b[i] = (0xff00 >> bits) & 0xff;
    }
  }
  args[1] = b;
}

/** strtol() of a whole mask length (sign and leading blanks allowed), -1 if bad or above max. */
function maskLen(s: string, max: number): number {
  if (!/^[ \t\n\v\f\r]*[-+]?[0-9]+$/.test(s)) return -1;
  const v = Number(s.trim());
  return v >= 0 && v <= max ? v : -1;
}

/**
 * ipmask(<mask4>[,<mask6>]): an IPv4-mapped IPv6 address (::ffff:a.b.c.d,
 * v6tov4()) is masked as IPv4; other IPv6 addresses need mask6.
 */
function convIpmask(smp: Sample, args: readonly ArgValue[]): boolean {
  if (smp.t === T_IPV6) {
    const b = smp.b!;
    let mapped = b[10] === 0xff && b[11] === 0xff;
    for (let i = 0; i < 10 && mapped; i++) if (b[i] !== 0) mapped = false;
    if (mapped) smp.setIPv4(((b[12] << 24) | (b[13] << 16) | (b[14] << 8) | b[15]) >>> 0);
  }
  if (smp.t === T_IPV4) return smp.setIPv4(smp.n & (args[0] as number));
  if (smp.t === T_IPV6) {
    const m6 = args[1];
    if (!(m6 instanceof Uint8Array)) return false;
    const b = smp.b!;
    const o = Buffer.allocUnsafe(16);
    for (let i = 0; i < 16; i++) o[i] = b[i] & m6[i];
    return smp.setIPv6(o);
  }
  return true;
}

/** htonl: the low 32 bits, big-endian. */
function convHtonl(smp: Sample): boolean {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(smp.n >>> 0);
  return smp.setBin(b);
}

/* ---------------- dates: ltime, utime, http_date ---------------- */

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const DAYS_FULL = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTHS_FULL = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** A broken-down time (struct tm), filled by breakDown(). */
const tm = { year: 1970, mon: 0, mday: 1, hour: 0, min: 0, sec: 0, wday: 4, yday: 0, gmtoff: 0, local: false, t: 0 };

/** Reused for the local time offset: no Date per conversion. */
const scratchDate = new Date(0);

/**
 * Fills tm from a time given as whole days since the epoch and seconds in
 * the day (any integer, normalised here), in UTC or in local time
 * (localtime_r()).
 */
function breakDown(days: number, sod: number, local: boolean): void {
  let d0 = days + Math.floor(sod / 86400);
  let s0 = sod - Math.floor(sod / 86400) * 86400;
  const t = d0 * 86400 + s0;
  let off = 0;
  if (local) {
    scratchDate.setTime(t * 1000);
    const m = scratchDate.getTimezoneOffset();
    if (m === m) off = -m * 60;
    s0 += off;
    d0 += Math.floor(s0 / 86400);
    s0 -= Math.floor(s0 / 86400) * 86400;
  }
  tm.hour = Math.floor(s0 / 3600);
  tm.min = Math.floor((s0 % 3600) / 60);
  tm.sec = s0 % 60;
  tm.wday = (((d0 + 4) % 7) + 7) % 7;
  // civil_from_days (H. Hinnant), days since 1970-01-01
  const z = d0 + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  tm.year = y;
  tm.mon = m - 1;
  tm.mday = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  // doy counts from March 1st
  tm.yday = tm.mon >= 2 ? doy + 59 + (leap ? 1 : 0) : doy - 306;
  tm.gmtoff = off;
  tm.local = local;
  tm.t = t;
}

/*
 * HAProxy masks the input to 55 bits "so that the date cannot be negative":
 * -1 becomes 2^55-1, a date in the year 1141709097. 2^55-1 is not a
 * double, so the masked value is kept as days and seconds (exact for
 * inputs within ±2^53).
 */
const MASK55 = 2 ** 55;
const MASK55_DAYS = Math.floor(MASK55 / 86400);
const MASK55_SECS = MASK55 - MASK55_DAYS * 86400;
let maskDays = 0, maskSecs = 0;
function mask55(v: number): void {
  if (v >= MASK55 || v < -MASK55) v %= MASK55;
  const d = Math.floor(v / 86400);
  maskDays = d;
  maskSecs = v - d * 86400;
  if (v < 0) { maskDays += MASK55_DAYS; maskSecs += MASK55_SECS; }
}

/** A strftime() conversion: the character, its flag ('-', '_', '0', '^' or 0) and width (0: default). */
interface TimeConv { c: string; flag: string; width: number }
type TimeFormat = (string | TimeConv)[];

const TIME_CONVS = 'aAbBcCdDeFgGhHIjklmMnpPrRsStTuUVwWxXyYzZ%';

/** Parses a strftime() format once (glibc's syntax: %[flags][width][E|O]<c>); unknown conversions stay literal. */
function parseTimeFormat(f: string): TimeFormat {
  const out: TimeFormat = [];
  let lit = '';
  for (let i = 0; i < f.length; i++) {
    if (f[i] !== '%') { lit += f[i]; continue; }
    let j = i + 1;
    let flag = '';
    while (j < f.length && '-_0^#'.includes(f[j])) { if (f[j] !== '#') flag = f[j]; j++; }
    let width = 0;
    while (j < f.length && f[j] >= '0' && f[j] <= '9') width = width * 10 + (f.charCodeAt(j++) - 48);
    if (j < f.length && (f[j] === 'E' || f[j] === 'O')) j++;
    if (j < f.length && TIME_CONVS.includes(f[j])) {
      if (lit.length > 0) { out.push(lit); lit = ''; }
      out.push({ c: f[j], flag, width });
      i = j;
    } else {
      // glibc copies an unknown conversion as written
      lit += f.slice(i, j + 1);
      i = j;
    }
  }
  if (lit.length > 0) out.push(lit);
  return out;
}

function pad(v: number, width: number, fill: string, conv: TimeConv): string {
  let s = String(Math.abs(v));
  const w = conv.width > 0 ? conv.width : width;
  // glibc: '-' drops the default padding, an explicit width still pads (with spaces)
  const f = conv.flag === '-' ? (conv.width > 0 ? ' ' : '') : conv.flag === '_' ? ' ' : conv.flag === '0' ? '0' : fill;
  if (f !== '') while (s.length < w - (v < 0 ? 1 : 0)) s = f + s;
  return v < 0 ? '-' + s : s;
}

function padText(s: string, conv: TimeConv): string {
  if (conv.flag === '^') s = s.toUpperCase();
  if (conv.width > s.length) s = (conv.flag === '0' ? '0' : ' ').repeat(conv.width - s.length) + s;
  return s;
}

/** ISO 8601 week-based year and week (%G, %g, %V). */
function isoWeek(): { year: number; week: number } {
  const wdayMon = (tm.wday + 6) % 7; // Monday = 0
  let year = tm.year;
  let week = Math.floor((tm.yday - wdayMon + 10) / 7);
  const leap = (y: number): boolean => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  if (week < 1) {
    year--;
    const pyday = tm.yday + (leap(year) ? 366 : 365);
    week = Math.floor((pyday - wdayMon + 10) / 7);
  } else if (week === 53) {
    const ylen = leap(year) ? 366 : 365;
    if (tm.yday - wdayMon + 3 >= ylen) { year++; week = 1; }
  }
  return { year, week };
}

/** Zone abbreviations by UTC offset, per TZ value (what tm_zone would say). */
const zoneNames = new Map<string, Map<number, string>>();

/**
 * The local zone's abbreviations by UTC offset, read from its TZif file as
 * glibc does (TZ, else /etc/localtime): the most recent transition to each
 * offset names it. Empty when the file cannot be read.
 */
function tzifNames(tz: string): Map<number, string> {
  const names = new Map<number, string>();
  let path = '/etc/localtime';
  if (tz !== '') {
    const n = tz[0] === ':' ? tz.slice(1) : tz;
    path = n[0] === '/' ? n : '/usr/share/zoneinfo/' + n;
  }
  let b: Buffer;
  try { b = readFileSync(path); } catch { return names; }
  if (b.length < 44 || b.toString('latin1', 0, 4) !== 'TZif') return names;
  // version 1 block (4-byte times), then for version 2+ the same with 8-byte times
  let at = 0, timeSize = 4;
  for (;;) {
    const isut = b.readUInt32BE(at + 20), isstd = b.readUInt32BE(at + 24), leap = b.readUInt32BE(at + 28);
    const timecnt = b.readUInt32BE(at + 32), typecnt = b.readUInt32BE(at + 36), charcnt = b.readUInt32BE(at + 40);
    const idxs = at + 44 + timecnt * timeSize, types = idxs + timecnt, chars = types + typecnt * 6;
    const end = chars + charcnt + leap * (timeSize + 4) + isstd + isut;
    if (end > b.length) return names;
    if (timeSize === 4 && b[4] >= 0x32 && end + 44 <= b.length) { at = end; timeSize = 8; continue; }
    const name = (type: number): void => {
      if (type >= typecnt) return;
      const p = types + type * 6;
      const from = chars + b[p + 5];
      const z = b.indexOf(0, from);
      names.set(b.readInt32BE(p), b.toString('latin1', from, z < 0 || z > chars + charcnt ? chars + charcnt : z));
    };
    if (timecnt === 0) for (let i = 0; i < typecnt; i++) name(i);
    for (let i = 0; i < timecnt; i++) name(b[idxs + i]);
    return names;
  }
}

/** The abbreviations of the zone TZ names now. */
function zoneTable(): Map<number, string> {
  const env = process.env.TZ;
  const tz = env === undefined ? '' : ':' + env;
  let names = zoneNames.get(tz);
  if (names === undefined) {
    // TZ set but empty is UTC for glibc
    names = env === '' ? new Map([[0, 'UTC']]) : tzifNames(env ?? '');
    zoneNames.set(tz, names);
  }
  return names;
}

/** tm_zone: GMT for gmtime_r(), the zone's abbreviation for localtime_r() ("+09"-style when unknown). */
function zoneName(): string {
  if (!tm.local) return 'GMT';
  const names = zoneTable();
  let z = names.get(tm.gmtoff);
  if (z === undefined) {
    // tzdata names zones without an abbreviation by their offset ("+04", "+0530")
    const o = Math.abs(tm.gmtoff);
    const h = String(Math.floor(o / 3600)).padStart(2, '0'), mi = Math.floor((o % 3600) / 60);
    z = (tm.gmtoff < 0 ? '-' : '+') + h + (mi !== 0 ? String(mi).padStart(2, '0') : '');
    names.set(tm.gmtoff, z);
  }
  return z;
}

function strftime(f: TimeFormat): string {
  let out = '';
  for (let i = 0; i < f.length; i++) {
    const p = f[i];
    out += typeof p === 'string' ? p : timeConv(p);
  }
  return out;
}

function timeConv(c: TimeConv): string {
  const h12 = tm.hour % 12 === 0 ? 12 : tm.hour % 12;
  switch (c.c) {
    case 'a': return padText(DAYS[tm.wday], c);
    case 'A': return padText(DAYS_FULL[tm.wday], c);
    case 'b': case 'h': return padText(MONTHS[tm.mon], c);
    case 'B': return padText(MONTHS_FULL[tm.mon], c);
    case 'c': return padText(`${DAYS[tm.wday]} ${MONTHS[tm.mon]} ${String(tm.mday).padStart(2, ' ')} ${two(tm.hour)}:${two(tm.min)}:${two(tm.sec)} ${tm.year}`, c);
    case 'C': return pad(Math.floor(tm.year / 100), 2, '0', c);
    case 'd': return pad(tm.mday, 2, '0', c);
    case 'D': case 'x': return padText(`${two(tm.mon + 1)}/${two(tm.mday)}/${two(((tm.year % 100) + 100) % 100)}`, c);
    case 'e': return pad(tm.mday, 2, ' ', c);
    case 'F': return padText(`${tm.year}-${two(tm.mon + 1)}-${two(tm.mday)}`, c);
    case 'g': return pad(((isoWeek().year % 100) + 100) % 100, 2, '0', c);
    case 'G': return pad(isoWeek().year, 1, '0', c);
    case 'H': return pad(tm.hour, 2, '0', c);
    case 'I': return pad(h12, 2, '0', c);
    case 'j': return pad(tm.yday + 1, 3, '0', c);
    case 'k': return pad(tm.hour, 2, ' ', c);
    case 'l': return pad(h12, 2, ' ', c);
    case 'm': return pad(tm.mon + 1, 2, '0', c);
    case 'M': return pad(tm.min, 2, '0', c);
    case 'n': return '\n';
    case 'p': return padText(tm.hour < 12 ? 'AM' : 'PM', c);
    case 'P': return padText(tm.hour < 12 ? 'am' : 'pm', c);
    case 'r': return padText(`${two(h12)}:${two(tm.min)}:${two(tm.sec)} ${tm.hour < 12 ? 'AM' : 'PM'}`, c);
    case 'R': return padText(`${two(tm.hour)}:${two(tm.min)}`, c);
    case 's': {
      // glibc: mktime() of the broken-down time, read as local time
      let s = tm.t;
      if (!tm.local) { scratchDate.setTime(tm.t * 1000); const m = scratchDate.getTimezoneOffset(); if (m === m) s += m * 60; }
      return pad(s, 1, '0', c);
    }
    case 'S': return pad(tm.sec, 2, '0', c);
    case 't': return '\t';
    case 'T': case 'X': return padText(`${two(tm.hour)}:${two(tm.min)}:${two(tm.sec)}`, c);
    case 'u': return pad(tm.wday === 0 ? 7 : tm.wday, 1, '0', c);
    case 'U': return pad(Math.floor((tm.yday + 7 - tm.wday) / 7), 2, '0', c);
    case 'V': return pad(isoWeek().week, 2, '0', c);
    case 'w': return pad(tm.wday, 1, '0', c);
    case 'W': return pad(Math.floor((tm.yday + 7 - ((tm.wday + 6) % 7)) / 7), 2, '0', c);
    case 'y': return pad(((tm.year % 100) + 100) % 100, 2, '0', c);
    case 'Y': return pad(tm.year, 1, '0', c);
    case 'z': {
      const o = Math.abs(tm.gmtoff);
      return (tm.gmtoff < 0 ? '-' : '+') + two(Math.floor(o / 3600)) + two(Math.floor((o % 3600) / 60));
    }
    case 'Z': return padText(zoneName(), c);
    default: return '%';
  }
}

function two(v: number): string {
  return v < 10 ? '0' + v : String(v);
}

function checkTime(args: ArgValue[]): string | void {
  const f = parseTimeFormat(args[0] as string);
  // %Z reads the zone's TZif file: do it now rather than on the first request
  if (f.some(p => typeof p !== 'string' && p.c === 'Z')) zoneTable();
  args[0] = f;
}

function timeConvert(smp: Sample, args: readonly ArgValue[], local: boolean): boolean {
  mask55(smp.n);
  breakDown(maskDays, maskSecs + (typeof args[1] === 'number' ? args[1] : 0), local);
  return smp.setStr(strftime(args[0] as TimeFormat));
}

function convLtime(smp: Sample, args: readonly ArgValue[]): boolean { return timeConvert(smp, args, true); }
function convUtime(smp: Sample, args: readonly ArgValue[]): boolean { return timeConvert(smp, args, false); }

const UNIT_S = 0, UNIT_MS = 1, UNIT_US = 2;

/** smp_check_date_unit(): 's', 'ms' or 'us'. */
function checkHttpDate(args: ArgValue[]): string | void {
  const u = args[1];
  if (typeof u !== 'string') return;
  if (u === 's') args[1] = UNIT_S;
  else if (u === 'ms') args[1] = UNIT_MS;
  else if (u === 'us') args[1] = UNIT_US;
  else return `expects 's', 'ms' or 'us', got '${u}'`;
}

/**
 * http_date([<offset>],[<unit>]): IMF-fixdate. With 'ms' or 'us' HAProxy
 * appends the fraction with "%d", unpadded: 1005 ms is "...00:00:01.5 GMT"
 * (haproxy 2.6.12 agrees).
 */
function convHttpDate(smp: Sample, args: readonly ArgValue[]): boolean {
  let v = smp.n;
  if (typeof args[0] === 'number') v += args[0];
  const unit = args[1];
  let frac = 0;
  if (unit === UNIT_MS || unit === UNIT_US) {
    const d = unit === UNIT_MS ? 1000 : 1000000;
    frac = (v % d) + 0;
    v = (v - frac) / d;
  }
  mask55(v);
  breakDown(maskDays, maskSecs, false);
  let s = `${DAYS[tm.wday]}, ${two(tm.mday)} ${MONTHS[tm.mon]} ${String(tm.year).padStart(4, '0')} ${two(tm.hour)}:${two(tm.min)}:${two(tm.sec)}`;
  if (typeof unit === 'number' && unit !== UNIT_S) s += '.' + frac;
  return smp.setStr(s + ' GMT');
}

/* ---------------- variables (vars.c smp_conv_store/smp_conv_clear) ---------------- */

function checkSetVar(args: ArgValue[]): string | void {
  const ref = parseVarArg(args[0] as string);
  if (typeof ref === 'string') return ref;
  args[0] = ref;
  let cond = 0;
  for (let i = 1; i < args.length; i++) {
    const c = args[i];
    if (typeof c !== 'string') continue;
    const f = parseVarCondition(c);
    if (typeof f === 'string') return f;
    cond |= f;
    args[i] = null;
  }
  args[1] = cond;
}

/** set-var(<var>[,<cond>...]): the sample passes on only when it was stored (all conditions true). */
function convSetVar(smp: Sample, args: readonly ArgValue[], ctx: SampleContext): boolean {
  return setVar(ctx, args[0] as VarRef, smp, args[1] as number);
}

function checkUnsetVar(args: ArgValue[]): string | void {
  const ref = parseVarArg(args[0] as string);
  if (typeof ref === 'string') return ref;
  args[0] = ref;
}

/** unset-var(<var>): fails (no sample) only when the variable's scope does not exist here. */
function convUnsetVar(smp: Sample, args: readonly ArgValue[], ctx: SampleContext): boolean {
  return unsetVar(ctx, args[0] as VarRef);
}

/* ---------------- the converters ---------------- */

const OPT_STR = { kind: 'str', optional: true, dflt: '' } as const;
const OPT_SINT = { kind: 'sint', optional: true } as const;
/** An int or a variable name (check_operator()); HAProxy takes a missing one as "" = 0. */
const OPERAND = [OPT_STR];

const CONVERTERS: ConverterDef[] = [
  { name: 'add_item', in: T_STR, out: T_STR, args: [{ kind: 'str' }, { kind: 'str' }, OPT_STR], check: checkAddItem, conv: convAddItem },
  { name: 'b64dec', in: T_STR, out: T_BIN, conv: convB64dec },
  { name: 'base64', in: T_BIN, out: T_STR, conv: (smp) => smp.setStr(smp.b!.toString('base64')) },
  { name: 'concat', in: T_STR, out: T_STR, args: [OPT_STR, OPT_STR, OPT_STR], check: checkConcat, conv: convConcat },
  { name: 'ub64enc', in: T_BIN, out: T_STR, conv: (smp) => smp.setStr(smp.b!.toString('base64url')) },
  { name: 'ub64dec', in: T_STR, out: T_BIN, conv: convUb64dec },
  { name: 'upper', in: T_STR, out: T_STR, conv: convUpper },
  { name: 'lower', in: T_STR, out: T_STR, conv: convLower },
  { name: 'length', in: T_STR, out: T_SINT, conv: (smp) => smp.setInt(smp.s.length) },
  { name: 'be2dec', in: T_BIN, out: T_STR, args: [{ kind: 'str' }, { kind: 'sint', optional: true, dflt: 0 }, { kind: 'sint', optional: true, dflt: 0 }], check: checkBe2dec, conv: convBe2dec },
  { name: 'be2hex', in: T_BIN, out: T_STR, args: [OPT_STR, { kind: 'sint', optional: true, dflt: 0 }, { kind: 'sint', optional: true, dflt: 0 }], check: checkBe2hex, conv: convBe2hex },
  { name: 'hex', in: T_BIN, out: T_STR, conv: (smp) => smp.setStr(smp.b!.toString('hex').toUpperCase()) },
  { name: 'hex2i', in: T_STR, out: T_SINT, conv: convHex2i },
  { name: 'ipmask', in: T_ADDR, out: T_IPV4, args: [{ kind: 'msk4' }, { kind: 'msk6', optional: true }], check: checkIpmask, conv: convIpmask },
  { name: 'ltime', in: T_SINT, out: T_STR, args: [OPT_STR, OPT_SINT], check: checkTime, conv: convLtime },
  { name: 'utime', in: T_SINT, out: T_STR, args: [OPT_STR, OPT_SINT], check: checkTime, conv: convUtime },
  { name: 'crc32', in: T_BIN, out: T_SINT, args: [OPT_SINT], conv: hashConv(hashCrc32) },
  { name: 'crc32c', in: T_BIN, out: T_SINT, args: [OPT_SINT], conv: hashConv(hashCrc32c) },
  { name: 'djb2', in: T_BIN, out: T_SINT, args: [OPT_SINT], conv: hashConv(hashDjb2) },
  { name: 'sdbm', in: T_BIN, out: T_SINT, args: [OPT_SINT], conv: hashConv(hashSdbm) },
  { name: 'wt6', in: T_BIN, out: T_SINT, args: [OPT_SINT], conv: hashConv(hashWt6) },
  { name: 'xxh3', in: T_BIN, out: T_SINT, args: [OPT_SINT], check: checkXxh3, conv: convXxh3 },
  { name: 'xxh32', in: T_BIN, out: T_SINT, args: [OPT_SINT], conv: convXxh32 },
  { name: 'xxh64', in: T_BIN, out: T_SINT, args: [OPT_SINT], conv: convXxh64 },
  { name: 'json', in: T_STR, out: T_STR, args: [OPT_STR], check: checkJson, conv: convJson },
  { name: 'bytes', in: T_BIN, out: T_BIN, args: [{ kind: 'sint' }, OPT_SINT], conv: convBytes },
  { name: 'field', in: T_STR, out: T_STR, args: [{ kind: 'sint' }, { kind: 'str' }, OPT_SINT], check: checkField, conv: convField },
  { name: 'word', in: T_STR, out: T_STR, args: [{ kind: 'sint' }, { kind: 'str' }, OPT_SINT], check: checkField, conv: convWord },
  { name: 'regsub', in: T_STR, out: T_STR, args: [{ kind: 'reg' }, { kind: 'str' }, { kind: 'str', optional: true }], check: checkRegsub, conv: convRegsub },
  { name: 'sha1', in: T_BIN, out: T_BIN, conv: convSha1 },
  { name: 'strcmp', in: T_STR, out: T_SINT, args: [OPT_STR], check: checkVar, conv: convStrcmp },
  { name: 'iif', in: T_BOOL, out: T_STR, args: [{ kind: 'str' }, { kind: 'str' }], conv: convIif },
  { name: 'and', in: T_SINT, out: T_SINT, args: OPERAND, check: checkOperator, conv: convAnd },
  { name: 'or', in: T_SINT, out: T_SINT, args: OPERAND, check: checkOperator, conv: convOr },
  { name: 'xor', in: T_SINT, out: T_SINT, args: OPERAND, check: checkOperator, conv: convXor },
  { name: 'cpl', in: T_SINT, out: T_SINT, conv: convCpl },
  { name: 'bool', in: T_SINT, out: T_BOOL, conv: convBool },
  { name: 'not', in: T_SINT, out: T_BOOL, conv: convNot },
  { name: 'odd', in: T_SINT, out: T_BOOL, conv: convOdd },
  { name: 'even', in: T_SINT, out: T_BOOL, conv: convEven },
  { name: 'add', in: T_SINT, out: T_SINT, args: OPERAND, check: checkOperator, conv: convAdd },
  { name: 'sub', in: T_SINT, out: T_SINT, args: OPERAND, check: checkOperator, conv: convSub },
  { name: 'mul', in: T_SINT, out: T_SINT, args: OPERAND, check: checkOperator, conv: convMul },
  { name: 'div', in: T_SINT, out: T_SINT, args: OPERAND, check: checkOperator, conv: convDiv },
  { name: 'mod', in: T_SINT, out: T_SINT, args: OPERAND, check: checkOperator, conv: convMod },
  { name: 'neg', in: T_SINT, out: T_SINT, conv: convNeg },
  { name: 'htonl', in: T_SINT, out: T_BIN, conv: convHtonl },
  { name: 'cut_crlf', in: T_STR, out: T_STR, conv: convCutCrlf },
  { name: 'ltrim', in: T_STR, out: T_STR, args: [OPT_STR], check: checkTrim, conv: convLtrim },
  { name: 'rtrim', in: T_STR, out: T_STR, args: [OPT_STR], check: checkTrim, conv: convRtrim },
  // ssl_sample.c
  { name: 'sha2', in: T_BIN, out: T_BIN, args: [OPT_SINT], check: checkSha2, conv: convDigest },
  { name: 'aes_gcm_dec', in: T_BIN, out: T_BIN, args: [{ kind: 'sint' }, { kind: 'str' }, { kind: 'str' }, { kind: 'str' }], check: checkAesGcm, conv: convAesGcmDec },
  { name: 'digest', in: T_BIN, out: T_BIN, args: [OPT_STR], check: checkDigest, conv: convDigest },
  { name: 'hmac', in: T_BIN, out: T_BIN, args: [{ kind: 'str' }, { kind: 'str' }], check: checkHmac, conv: convHmac },
  { name: 'secure_memcmp', in: T_BIN, out: T_BOOL, args: [OPT_STR], check: checkVar, conv: convSecureMemcmp },
  // vars.c
  { name: 'set-var', in: T_ANY, out: T_ANY, args: [OPT_STR, { kind: 'str', optional: true }, { kind: 'str', optional: true }, { kind: 'str', optional: true }, { kind: 'str', optional: true }], check: checkSetVar, conv: convSetVar },
  { name: 'unset-var', in: T_ANY, out: T_ANY, args: [OPT_STR], check: checkUnsetVar, conv: convUnsetVar },
  // http_conv.c
  { name: 'http_date', in: T_SINT, out: T_STR, args: [OPT_SINT, { kind: 'str', optional: true }], check: checkHttpDate, conv: convHttpDate },
  { name: 'url_dec', in: T_STR, out: T_STR, args: [OPT_SINT], conv: convUrlDec },
  { name: 'url_enc', in: T_STR, out: T_STR, args: [OPT_STR], check: checkUrlEnc, conv: convUrlEnc },
];

registerConverters(CONVERTERS);
