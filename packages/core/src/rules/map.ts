/**
 * Map converters (HAProxy configuration.txt 7.3.1 `map*`, src/map.c):
 * `<sample>,map_<match>[_<output>](<map file>[,<default value>])` looks the
 * sample up among the keys of a two-column file and returns the value of the
 * entry found, else the default, else no sample.
 *
 * The file is read by the master (CompileEnv.file) and parsed once, in the
 * converter's check(): keys go through the ACL pattern engine (pattern.ts,
 * same parsing and indexing as pat_index_fcts[], so the entry returned is
 * HAProxy's: longest prefix for ip and beg, first line otherwise), values
 * are converted to the output type up front, and the compiled map replaces
 * the file name in args[0] (HAProxy's sample_load_map() does the same with
 * ARGT_MAP). Maps take no -i and never resolve names (PAT_MF_NO_DNS).
 */
import {
  registerConverters,
  T_ADDR, T_IPV4, T_IPV6, T_SINT, T_STR,
} from './sample';
import type { ArgValue, CompileEnv, ConverterDef, Sample } from './sample';
import { compilePatterns } from './pattern';
import type { MatchMethod, PatternSet, PatternSource } from './pattern';
import { parseIPv6Into } from '../util/ip-net';

/** One line of a map file. */
export interface MapEntry {
  key: string;
  value: string;
  /** 1-based line number in the file. */
  line: number;
}

/**
 * Entries of a map file (pattern.c pat_ref_read_from_file_smp): '#' in the
 * first column starts a comment; leading spaces/tabs are skipped; the key is
 * the first word (up to a space, tab, CR or LF), the value the rest of the
 * line after the blanks that follow, trailing spaces/tabs removed, up to CR
 * or LF. A key alone has the empty value. Never fails today (`path` and the
 * `string` error are there for callers that report read errors alike).
 */
export function loadMapText(text: string, path: string): MapEntry[] | string {
  const out: MapEntry[] = [];
  const n = text.length;
  let line = 0;
  let pos = 0;
  while (pos < n) {
    let eol = text.indexOf('\n', pos);
    if (eol < 0) eol = n;
    line++;
    const c0 = text.charCodeAt(pos);
    let c = pos;
    if (c0 !== 0x23) {
      while (c < eol && isBlank(text.charCodeAt(c))) c++;
      const kb = c;
      while (c < eol && !isBlank(text.charCodeAt(c)) && !isEnd(text.charCodeAt(c))) c++;
      const ke = c;
      if (ke > kb) {
        while (c < eol && isBlank(text.charCodeAt(c))) c++;
        const vb = c;
        while (c < eol && !isEnd(text.charCodeAt(c))) c++;
        let ve = c;
        while (ve > vb && isBlank(text.charCodeAt(ve - 1))) ve--;
        out.push({ key: text.slice(kb, ke), value: text.slice(vb, ve), line });
      }
    }
    pos = eol + 1;
  }
  return out;
}

function isBlank(c: number): boolean { return c === 0x20 || c === 0x09; }
/** CR (LF ends the line already) and NUL, where the C string ends. */
function isEnd(c: number): boolean { return c === 0x0d || c === 0; }

/* ---------------- values ---------------- */

/** A map value converted to the converter's output type (sample_data). */
interface MapValue {
  /** T_STR, T_SINT, T_IPV4 or T_IPV6 (of Sample). */
  t: number;
  s: string;
  n: number;
  b: Buffer | null;
}

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;

/** map_parse_int(): read_int64() (sign, digits, saturating) must consume the whole text; "" is 0. */
function parseIntValue(text: string): number | null {
  const m = /^([-+]?)([0-9]*)$/.exec(text);
  if (m === null) return null;
  if (m[2].length === 0) return 0;
  if (m[2].length < 16) return m[1] === '-' ? -Number(m[2]) : Number(m[2]);
  let v = BigInt(m[2]);
  if (m[1] === '-') v = -v;
  if (v > INT64_MAX) v = INT64_MAX;
  if (v < INT64_MIN) v = INT64_MIN;
  return Number(v);
}

/**
 * tools.c buf2ip(): dotted quad, octets up to 255 with leading zeros
 * allowed ("010" is 10), stopping at the first character that is neither a
 * digit nor a dot ("1.2.3.4 x" is 1.2.3.4). The address or -1.
 */
function buf2ip(text: string): number {
  const tmp = [0, 0, 0, 0];
  let tp = 0;
  let sawDigit = false;
  let octets = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    const d = ch - 48;
    if ((d < 0 || d > 9) && ch !== 0x2e) break;
    if (d >= 0 && d <= 9) {
      const v = tmp[tp] * 10 + d;
      if (v > 255) return -1;
      tmp[tp] = v;
      if (!sawDigit) {
        if (++octets > 4) return -1;
        sawDigit = true;
      }
    } else if (sawDigit) {
      if (octets === 4) return -1;
      tmp[++tp] = 0;
      sawDigit = false;
    } else {
      return -1;
    }
  }
  if (octets < 4) return -1;
  return ((tmp[0] << 24) | (tmp[1] << 16) | (tmp[2] << 8) | tmp[3]) >>> 0;
}

/** map_parse_ip(): buf2ip() then inet_pton(AF_INET6) (at most INET6_ADDRSTRLEN chars). */
function parseIpValue(text: string): MapValue | null {
  const v4 = buf2ip(text);
  if (v4 >= 0) return { t: T_IPV4, s: '', n: v4, b: null };
  if (text.length > 46) return null;
  const b = Buffer.alloc(16);
  if (!parseIPv6Into(text, b)) return null;
  return { t: T_IPV6, s: '', n: 0, b };
}

function parseValue(out: number, text: string): MapValue | null {
  if (out === T_STR) return { t: T_STR, s: text, n: 0, b: null };
  if (out === T_SINT) {
    const n = parseIntValue(text);
    return n === null ? null : { t: T_SINT, s: '', n, b: null };
  }
  return parseIpValue(text);
}

function emit(smp: Sample, v: MapValue): true {
  switch (v.t) {
    case T_STR: return smp.setStr(v.s);
    case T_SINT: return smp.setInt(v.n);
    case T_IPV4: return smp.setIPv4(v.n);
    // Shared with the map, like HAProxy's SMP_F_CONST: converters must not write into it.
    default: return smp.setIPv6(v.b!);
  }
}

/* ---------------- map_regm values ---------------- */

/** Buffer size (tune.bufsize default): exp_replace() fails when the result does not fit with its NUL. */
const REGM_MAX = 16384 - 1;

/**
 * A map_regm value compiled for regex.c exp_replace(): literal text and
 * group numbers (`\0`..`\9`); `\xHH` is a byte, `\c` is c. null when the
 * value is malformed (a trailing '\' or truncated \x): HAProxy then fails
 * the conversion at run time (no sample, not the default).
 */
type RegmTemplate = (string | number)[] | null;

function hexNibble(c: number): number {
  let h = ((c >= 97 && c <= 122 ? c - 32 : c) - 48) & 0xff;
  if (h > 9) h = (h - 7) & 0xff;
  return h;
}

function compileRegmValue(v: string): RegmTemplate {
  const parts: (string | number)[] = [];
  let lit = '';
  let i = 0;
  while (i < v.length) {
    const c = v.charCodeAt(i);
    if (c !== 0x5c) { lit += v[i++]; continue; }
    i++;
    if (i >= v.length) return null;
    const d = v.charCodeAt(i);
    if (d >= 48 && d <= 57) {
      if (lit) { parts.push(lit); lit = ''; }
      parts.push(d - 48);
      i++;
    } else if (d === 0x78) {
      i++;
      if (i >= v.length) return null;
      const h1 = hexNibble(v.charCodeAt(i++));
      if (i >= v.length) return null;
      const h2 = hexNibble(v.charCodeAt(i++));
      lit += String.fromCharCode(((h1 << 4) + h2) & 0xff);
    } else {
      lit += v[i++];
    }
  }
  if (lit) parts.push(lit);
  return parts;
}

function expandRegm(t: (string | number)[], m: RegExpExecArray): string | null {
  let out = '';
  for (let i = 0; i < t.length; i++) {
    const p = t[i];
    if (typeof p === 'string') out += p;
    else {
      const g = m[p];
      if (g !== undefined) out += g;
    }
  }
  return out.length > REGM_MAX ? null : out;
}

/* ---------------- the converters ---------------- */

/** A loaded map (HAProxy's map_descriptor), in args[0] once checked. */
export class MapDescriptor {
  constructor(
    readonly path: string,
    readonly set: PatternSet,
    readonly values: readonly MapValue[],
    /** map_regm: the values compiled for back-references. */
    readonly regm: readonly RegmTemplate[] | null,
  ) {}

  /** Entries loaded. */
  get count(): number { return this.values.length; }
}

interface MapSpec {
  name: string;
  method: MatchMethod;
  regm?: boolean;
  in: number;
  out: number;
}

/** map.c sample_conv_kws: name, match method, input and output types. */
const MAPS: MapSpec[] = [
  { name: 'map', method: 'str', in: T_STR, out: T_STR },
  { name: 'map_str', method: 'str', in: T_STR, out: T_STR },
  { name: 'map_beg', method: 'beg', in: T_STR, out: T_STR },
  { name: 'map_sub', method: 'sub', in: T_STR, out: T_STR },
  { name: 'map_dir', method: 'dir', in: T_STR, out: T_STR },
  { name: 'map_dom', method: 'dom', in: T_STR, out: T_STR },
  { name: 'map_end', method: 'end', in: T_STR, out: T_STR },
  { name: 'map_reg', method: 'reg', in: T_STR, out: T_STR },
  { name: 'map_regm', method: 'reg', regm: true, in: T_STR, out: T_STR },
  { name: 'map_int', method: 'int', in: T_SINT, out: T_STR },
  { name: 'map_ip', method: 'ip', in: T_ADDR, out: T_STR },

  { name: 'map_str_int', method: 'str', in: T_STR, out: T_SINT },
  { name: 'map_beg_int', method: 'beg', in: T_STR, out: T_SINT },
  { name: 'map_sub_int', method: 'sub', in: T_STR, out: T_SINT },
  { name: 'map_dir_int', method: 'dir', in: T_STR, out: T_SINT },
  { name: 'map_dom_int', method: 'dom', in: T_STR, out: T_SINT },
  { name: 'map_end_int', method: 'end', in: T_STR, out: T_SINT },
  { name: 'map_reg_int', method: 'reg', in: T_STR, out: T_SINT },
  { name: 'map_int_int', method: 'int', in: T_SINT, out: T_SINT },
  { name: 'map_ip_int', method: 'ip', in: T_ADDR, out: T_SINT },

  { name: 'map_str_ip', method: 'str', in: T_STR, out: T_ADDR },
  { name: 'map_beg_ip', method: 'beg', in: T_STR, out: T_ADDR },
  { name: 'map_sub_ip', method: 'sub', in: T_STR, out: T_ADDR },
  { name: 'map_dir_ip', method: 'dir', in: T_STR, out: T_ADDR },
  { name: 'map_dom_ip', method: 'dom', in: T_STR, out: T_ADDR },
  { name: 'map_end_ip', method: 'end', in: T_STR, out: T_ADDR },
  { name: 'map_reg_ip', method: 'reg', in: T_STR, out: T_ADDR },
  { name: 'map_int_ip', method: 'int', in: T_SINT, out: T_ADDR },
  { name: 'map_ip_ip', method: 'ip', in: T_ADDR, out: T_ADDR },
];

/** sample_load_map(): reads, parses and indexes the file; args[0] becomes the MapDescriptor. */
function loadMap(spec: MapSpec, args: ArgValue[], env: CompileEnv): string | void {
  const path = args[0] as string;
  const text = env.file(path);
  if (text === undefined) return `failed to open pattern file <${path}>`;
  const entries = loadMapText(text, path);
  if (typeof entries === 'string') return entries;
  // pat_ref_push() parses each line's value, then its key: the first bad line reports.
  const values: MapValue[] = [];
  let bad = -1;
  for (let i = 0; i < entries.length; i++) {
    const v = parseValue(spec.out, entries[i].value);
    if (v === null) { bad = i; break; }
    values.push(v);
  }
  const keys: PatternSource[] = [];
  for (let i = 0; i < (bad < 0 ? entries.length : bad); i++) {
    keys.push({ text: entries[i].key, where: `${path}:${entries[i].line}`, fromFile: true });
  }
  const set = compilePatterns(spec.method, keys, { ignoreCase: false, noDns: true, captures: spec.regm === true });
  if (typeof set === 'string') return set;
  if (bad >= 0) return `unable to parse '${entries[bad].value}' at line ${entries[bad].line} of file '${path}'`;
  if (spec.out === T_ADDR && args[1] !== null && args[1] !== undefined) {
    const d = parseIpValue(args[1] as string);
    if (d === null) return `map: cannot parse default ip <${args[1] as string}>.`;
    args[1] = d;
  }
  const regm = spec.regm ? values.map(v => compileRegmValue(v.s)) : null;
  args[0] = new MapDescriptor(path, set, values, regm);
}

/** sample_conv_map(). */
function convMap(smp: Sample, args: readonly ArgValue[]): boolean {
  const d = args[0] as MapDescriptor;
  const i = d.set.lookup(smp);
  if (i >= 0) {
    if (d.regm !== null) {
      const t = d.regm[i];
      const m = d.set.lastMatch;
      if (t === null || m === null) return false;
      const s = expandRegm(t, m);
      return s === null ? false : smp.setStr(s);
    }
    return emit(smp, d.values[i]);
  }
  const dflt = args[1];
  if (dflt === null || dflt === undefined) return false;
  if (typeof dflt === 'string') return smp.setStr(dflt);
  if (typeof dflt === 'number') return smp.setInt(dflt);
  return emit(smp, dflt as MapValue);
}

function mapConverter(spec: MapSpec): ConverterDef {
  return {
    name: spec.name,
    args: [{ kind: 'str' }, { kind: spec.out === T_SINT ? 'sint' : 'str', optional: true }],
    in: spec.in,
    out: spec.out,
    check: (args, env) => loadMap(spec, args, env),
    conv: convMap,
  };
}

registerConverters(MAPS.map(mapConverter));
