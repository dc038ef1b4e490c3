/**
 * ACL pattern matching (HAProxy configuration.txt 7.1, src/pattern.c): the
 * patterns of one ACL test (or the keys of one map file) parsed once into a
 * PatternSet that answers per request without allocating.
 *
 * Indexing follows pattern.c's pat_index_fcts[], so that a map lookup
 * returns the entry HAProxy returns, not only "some" entry:
 *   - str: a hash (HAProxy: ebst tree); duplicates keep the first entry.
 *   - beg: a prefix trie, longest prefix wins (ebmb_lookup_longest), as
 *     haproxy 2.6.12 does with `/a` and `/ab` in a map_beg (the longest,
 *     not the first line); with -i HAProxy falls back to a list: first wins.
 *   - ip: two path-compressed bit tries (IPv4, IPv6), longest prefix wins;
 *     IPv4 networks with a non-contiguous mask go to a list looked at only
 *     after both tries, as pat_match_ip() does.
 *   - end: a trie of reversed patterns returning the smallest index among
 *     matching suffixes: the list's "first in file order", in O(length).
 *   - int/len: exact values hashed, ranges in a list; the first in order wins.
 *   - sub, dom, dir, reg, bin, meth: lists, first in order.
 *
 * Strings are latin1 (one char per byte, like Sample.s); -i folds ASCII
 * letters only, as C's tolower() in the C locale does.
 */
import { Sample, T_ADDR, T_ANY, T_BIN, T_BOOL, T_IPV4, T_IPV6, T_METH, T_SINT, T_STR } from './sample';
import { parseIPv4Into, parseIPv6Into } from '../util/ip-net';

/** HAProxy's match methods (`-m <method>`, and the derived ACL keywords). */
export type MatchMethod = 'found' | 'bool' | 'int' | 'ip' | 'bin' | 'len' | 'str' | 'beg' | 'end' | 'sub' | 'reg' | 'dom' | 'dir' | 'meth';

export const MATCH_METHODS: readonly MatchMethod[] = ['found', 'bool', 'int', 'ip', 'bin', 'len', 'str', 'beg', 'end', 'sub', 'reg', 'dom', 'dir', 'meth'];

/** One pattern and where it came from (for errors: `file:line` of a -f file, else empty). */
export interface PatternSource {
  text: string;
  where?: string;
  /**
   * Read from a file (-f, map): the int operators `eq ge gt le lt` are
   * words of the ACL line only (acl.c parse_acl_expr), so a file line
   * "lt 5" is the pattern "lt 5". readPatternFile() sets it.
   */
  fromFile?: boolean;
}

export interface PatternOptions {
  /** -i: case-insensitive (str, beg, end, sub, reg, dom, dir, meth). */
  ignoreCase: boolean;
  /**
   * -n: no DNS. Host names are never resolved here; what -n changes is the
   * numeric shorthand `127.1` / `10.12/8` (configuration.txt 7.1.6), which
   * HAProxy only accepts through its resolver (inet_aton). Maps always run
   * with -n (sample_load_map passes PAT_MF_NO_DNS).
   */
  noDns?: boolean;
  /** reg: keep the capture groups of the match in `lastMatch` (map_regm). */
  captures?: boolean;
}

/** A compiled list of patterns; match() is called per request. */
export interface PatternSet {
  readonly count: number;
  /** Does the sample match any pattern? (The sample was already cast to the method's input type.) */
  match(smp: Sample): boolean;
  /**
   * Index in the `patterns` given to compilePatterns of the pattern HAProxy
   * would return (map semantics: longest prefix for ip and beg, first in
   * order otherwise), -1 when none matches.
   */
  lookup(smp: Sample): number;
  /** reg with `captures`: the groups of the last successful lookup(). */
  readonly lastMatch: RegExpExecArray | null;
  /** Trie nodes visited by the last lookup (ip, beg, end); tests check it stays O(key bits). */
  readonly steps: number;
}

/** Sample type the ACL casts to before match() (pattern.c pat_match_types[], with bool/found kept apart). */
export function methodInput(method: MatchMethod): number {
  switch (method) {
    case 'found': return T_ANY;
    case 'bool': return T_BOOL;
    case 'int': return T_SINT;
    case 'ip': return T_ADDR;
    case 'bin': return T_BIN;
    case 'meth': return T_METH;
    default: return T_STR; // str beg end sub reg dom dir, and len (string length)
  }
}

/**
 * Matching method implied by a fetch's output type (configuration.txt 7.1
 * table). HAProxy has no default for bin, meth or any ("matching method must
 * be specified first (using '-m')"): see hasDefaultMethod().
 */
export function defaultMethod(sampleType: number): MatchMethod {
  switch (sampleType) {
    case T_BOOL: return 'bool';
    case T_SINT: return 'int';
    case T_ADDR: case T_IPV4: case T_IPV6: return 'ip';
    case T_BIN: return 'bin';
    case T_METH: return 'meth';
    default: return 'str';
  }
}

/** Whether HAProxy 2.6 picks a method for this output type without `-m` (acl.c parse_acl_expr: bool, sint, addr, ipv4, ipv6, str). */
export function hasDefaultMethod(sampleType: number): boolean {
  return sampleType === T_BOOL || sampleType === T_SINT || sampleType === T_ADDR ||
    sampleType === T_IPV4 || sampleType === T_IPV6 || sampleType === T_STR;
}

/**
 * Patterns of an ACL `-f` file (pat_ref_read_from_file): one per line; a
 * line starting with '#' is a comment (only in the first column: " #x" is
 * the pattern "#x"); leading spaces and tabs are stripped, trailing ones are
 * part of the pattern; the pattern ends at CR or LF; empty lines are skipped.
 */
export function readPatternFile(text: string, path: string): PatternSource[] {
  const out: PatternSource[] = [];
  let line = 0;
  let pos = 0;
  const n = text.length;
  while (pos < n) {
    let eol = text.indexOf('\n', pos);
    if (eol < 0) eol = n;
    line++;
    if (text.charCodeAt(pos) !== 0x23) {
      let b = pos;
      while (b < eol && (text.charCodeAt(b) === 0x20 || text.charCodeAt(b) === 0x09)) b++;
      let e = b;
      while (e < eol && text.charCodeAt(e) !== 0x0d && text.charCodeAt(e) !== 0) e++;
      if (e > b) out.push({ text: text.slice(b, e), where: `${path}:${line}`, fromFile: true });
    }
    pos = eol + 1;
  }
  return out;
}

/* ---------------- text helpers ---------------- */

function lowerCode(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

/** ASCII lower case (C locale tolower); returns `s` itself when nothing changes. */
export function asciiLower(s: string): string {
  let i = 0;
  const n = s.length;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) break;
  }
  if (i === n) return s;
  // toLowerCase() also folds latin1 letters (0xC0-0xDE), which tolower() does not.
  let native = true;
  for (let j = 0; j < n; j++) {
    const c = s.charCodeAt(j);
    if (c >= 0xc0) { native = false; break; }
  }
  if (native) return s.toLowerCase();
  let out = s.slice(0, i);
  for (let j = i; j < n; j++) out += String.fromCharCode(lowerCode(s.charCodeAt(j)));
  return out;
}

/** s[at, at+p.length) equals p (p already lower case when icase). */
function regionEquals(s: string, at: number, p: string, icase: boolean): boolean {
  const pl = p.length;
  if (icase) {
    for (let k = 0; k < pl; k++) if (lowerCode(s.charCodeAt(at + k)) !== p.charCodeAt(k)) return false;
  } else {
    for (let k = 0; k < pl; k++) if (s.charCodeAt(at + k) !== p.charCodeAt(k)) return false;
  }
  return true;
}

/** Error text with the pattern's origin, in HAProxy's words (pattern_read_from_file). */
function withWhere(msg: string, src: PatternSource): string {
  if (!src.where) return msg;
  const m = /^(.*):(\d+)$/.exec(src.where);
  return m ? `${msg} at line ${m[2]} of file '${m[1]}'` : `${msg} (${src.where})`;
}

/* ---------------- integers ---------------- */

const LLONG_MAX = 9223372036854775807n;
const LLONG_MIN = -9223372036854775808n;

/** tools.c strl2llrc(): optional '-', then digits only; overflow and empty are errors (null). "-" alone is 0. */
function strl2llrc(s: string): number | null {
  const n = s.length;
  if (n === 0) return null;
  const neg = s.charCodeAt(0) === 45;
  for (let i = neg ? 1 : 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return null;
  }
  if (neg && n === 1) return 0;
  if (n > 15) {
    const v = BigInt(s);
    if (v > LLONG_MAX || v < LLONG_MIN) return null;
  }
  return Number(s);
}

interface IntRange { min: number; max: number }

/** pat_parse_int(): `v`, `a:b`, `:b`, `a:` (or '-' for ':'; the first ':' or '-' splits, so "-5" is ":5"). */
function parseIntRange(text: string): IntRange | string {
  const bad = `'${text}' is not a valid number range`;
  if (text.length === 0) return bad;
  let p = 0;
  while (p < text.length && text.charCodeAt(p) !== 58 && text.charCodeAt(p) !== 45) p++;
  if (p === text.length) {
    const v = strl2llrc(text);
    if (v === null) return `'${text}' is not a number`;
    return { min: v, max: v };
  }
  if (p === 0 && text.length > 1) {
    const max = strl2llrc(text.slice(1));
    return max === null ? bad : { min: -Infinity, max };
  }
  if (p === text.length - 1) {
    const min = strl2llrc(text.slice(0, p));
    return min === null ? bad : { min, max: Infinity };
  }
  const min = strl2llrc(text.slice(0, p));
  const max = strl2llrc(text.slice(p + 1));
  if (min === null || max === null || min > max) return bad;
  return { min, max };
}

const STD_OPS = new Set(['eq', 'ne', 'ge', 'gt', 'le', 'lt']);

/**
 * An inline int/len pattern after the operator in force (acl.c
 * parse_acl_expr): "lt 1024" is ":1023", "ge 5" is "5:". A value holding ':'
 * or '-' is taken as a range whatever the operator ("ge -5" is ":5", as in
 * haproxy 2.6.12); otherwise the value is cut at its first '.' ("lt 3.9" is
 * ":2"). `ne` is recognised but rewrites nothing: "ne 5" matches 5.
 */
function applyIntOperator(op: string, arg: string): IntRange | string {
  if (op === 'eq' || arg.indexOf(':') >= 0 || arg.indexOf('-') >= 0) return parseIntRange(arg);
  const dot = arg.indexOf('.');
  const v = strl2llrc(dot < 0 ? arg : arg.slice(0, dot));
  if (v === null) return `'${arg}' is neither a number nor a supported operator`;
  switch (op) {
    case 'gt': return { min: v + 1, max: Infinity };
    case 'ge': return { min: v, max: Infinity };
    case 'lt': return { min: -Infinity, max: v - 1 };
    case 'le': return { min: -Infinity, max: v };
  }
  return parseIntRange(arg); // ne
}

/* ---------------- IP addresses ---------------- */

const scratchIp = new Uint8Array(16);

/** glibc strtol/strtoul(str, &end, 10) fully consuming `s`, then cast to (unsigned): the value, or -1. */
function strtolUnsigned(s: string): number {
  const m = /^[ \t\n\v\f\r]*([+-]?)([0-9]+)$/.exec(s);
  if (m === null) return -1;
  let v = BigInt(m[2]);
  if (v > 0xffffffffffffffffn) v = 0xffffffffffffffffn; // saturates (LONG_MAX/ULONG_MAX: > 128 either way)
  if (m[1] === '-') v = -v;
  return Number(BigInt.asUintN(32, v));
}

/** inet_pton(AF_INET): canonical dotted quad; the address as uint32 or -1. */
function inetPton4(s: string): number {
  if (!parseIPv4Into(s, 0, s.length, scratchIp, 0)) return -1;
  return ((scratchIp[0] << 24) | (scratchIp[1] << 16) | (scratchIp[2] << 8) | scratchIp[3]) >>> 0;
}

/**
 * What gethostbyname() makes of an all-digits-and-dots name (glibc
 * digits_dots → inet_aton): 1 to 4 parts, a leading 0 meaning octal, the last
 * part filling the remaining bytes ("127.1" is 127.0.0.1, "010.0.0.1" is
 * 8.0.0.1, as haproxy 2.6.12 matches them). -1 otherwise.
 */
function inetAtonDigits(s: string): number {
  const n = s.length;
  if (n === 0 || s.charCodeAt(n - 1) === 0x2e) return -1;
  const parts = s.split('.');
  if (parts.length > 4) return -1;
  const vals: number[] = [];
  for (const p of parts) {
    if (p.length === 0 || !/^[0-9]+$/.test(p)) return -1;
    let v: number;
    if (p.length > 1 && p.charCodeAt(0) === 48) {
      if (!/^[0-7]+$/.test(p)) return -1;
      v = parseInt(p, 8);
    } else {
      v = Number(p);
    }
    if (v > 0xffffffff) return -1;
    vals.push(v);
  }
  const last = vals.length - 1;
  for (let i = 0; i < last; i++) if (vals[i] > 255) return -1;
  const room = [0xffffffff, 0xffffff, 0xffff, 0xff][last];
  if (vals[last] > room) return -1;
  let addr = 0;
  for (let i = 0; i < last; i++) addr += vals[i] * 2 ** (24 - 8 * i);
  return (addr + vals[last]) >>> 0;
}

type IpPattern =
  | { v6: false; addr: number; mask: number }
  | { v6: true; addr: Uint8Array; plen: number };

/**
 * pat_parse_ip(): str2net() (IPv4, mask as bits or dotted, any mask) then
 * str62net() (IPv6, mask as bits only). Host names are never resolved.
 */
function parseIpPattern(text: string, noDns: boolean): IpPattern | null {
  const slash = text.lastIndexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const maskText = slash < 0 ? '' : text.slice(slash + 1);
  // str2net()
  let mask = 0xffffffff;
  let maskOk = true;
  if (slash >= 0) {
    if (maskText.indexOf('.') >= 0) {
      const m = inetPton4(maskText);
      if (m < 0) maskOk = false; else mask = m;
    } else {
      const bits = maskText.length === 0 ? -1 : strtolUnsigned(maskText);
      if (bits < 0 || bits > 32) maskOk = false;
      else mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    }
  }
  if (maskOk) {
    let a = inetPton4(addrText);
    if (a < 0 && !noDns) a = inetAtonDigits(addrText);
    if (a >= 0) return { v6: false, addr: (a & mask) >>> 0, mask };
  }
  // str62net()
  let plen = 128;
  if (slash >= 0) {
    if (maskText.length === 0) return null;
    plen = strtolUnsigned(maskText);
    if (plen < 0 || plen > 128) return null;
  }
  const b = new Uint8Array(16);
  if (!parseIPv6Into(addrText, b)) return null;
  return { v6: true, addr: b, plen };
}

/* ---------------- bit trie (ebmb_insert_prefix / ebmb_lookup_longest) ---------------- */

/** A node of the prefix trie: its prefix (up to 128 bits as four 32-bit words), length, pattern index (-1: branch only). */
class PrefixNode {
  c0: PrefixNode | null = null;
  c1: PrefixNode | null = null;
  readonly k0: number;
  readonly k1: number;
  readonly k2: number;
  readonly k3: number;
  constructor(key: Uint32Array, readonly plen: number, public idx: number) {
    this.k0 = key[0] | 0;
    this.k1 = key.length > 1 ? key[1] | 0 : 0;
    this.k2 = key.length > 2 ? key[2] | 0 : 0;
    this.k3 = key.length > 3 ? key[3] | 0 : 0;
  }
}

function nodeWord(n: PrefixNode, w: number): number {
  return w === 0 ? n.k0 : w === 1 ? n.k1 : w === 2 ? n.k2 : n.k3;
}

/** Mask (int32) of the bits of word w inside a prefix of plen bits. */
function wordMask(plen: number, w: number): number {
  const b = plen - w * 32;
  return b >= 32 ? -1 : b <= 0 ? 0 : -1 << (32 - b);
}

function keyBit(key: Uint32Array, i: number): number {
  return (key[i >>> 5] >>> (31 - (i & 31))) & 1;
}

function nodeBit(n: PrefixNode, i: number): number {
  return (nodeWord(n, i >>> 5) >>> (31 - (i & 31))) & 1;
}

function prefixMatches(n: PrefixNode, key: Uint32Array): boolean {
  const p = n.plen;
  if (((n.k0 ^ key[0]) & wordMask(p, 0)) !== 0) return false;
  if (p <= 32) return true;
  if (((n.k1 ^ key[1]) & wordMask(p, 1)) !== 0) return false;
  if (p <= 64) return true;
  if (((n.k2 ^ key[2]) & wordMask(p, 2)) !== 0) return false;
  if (p <= 96) return true;
  return ((n.k3 ^ key[3]) & wordMask(p, 3)) === 0;
}

/** Number of leading bits (at most max) common to the node's prefix and key. */
function commonBits(n: PrefixNode, key: Uint32Array, max: number): number {
  for (let w = 0; w * 32 < max; w++) {
    const x = nodeWord(n, w) ^ key[w];
    if (x !== 0) return Math.min(max, w * 32 + Math.clz32(x));
  }
  return max;
}

/**
 * Path-compressed binary trie of bit prefixes: a lookup visits at most one
 * node per bit of the key (33 for IPv4, 129 for IPv6), whatever the number
 * of prefixes; each visit compares at most four words.
 */
export class PrefixTrie {
  private root: PrefixNode | null = null;
  /** Distinct prefixes held. */
  size = 0;
  /** Nodes visited by the last lookup. */
  steps = 0;

  /** Adds key/plen (bits past plen are ignored); a prefix already held keeps its first index. */
  insert(key: Uint32Array, plen: number, idx: number): void {
    const leaf = new PrefixNode(key, plen, idx);
    if (this.root === null) { this.root = leaf; this.size++; return; }
    let node: PrefixNode = this.root;
    let parent: PrefixNode | null = null;
    let side = 0;
    for (;;) {
      const cl = commonBits(node, key, Math.min(node.plen, plen));
      if (cl < node.plen) {
        // The new prefix forks from (or is a prefix of) node's: a node goes in between.
        let top: PrefixNode;
        if (cl === plen) {
          top = leaf;
        } else {
          top = new PrefixNode(key, cl, -1);
          if (keyBit(key, cl)) top.c1 = leaf; else top.c0 = leaf;
        }
        if (nodeBit(node, cl)) top.c1 = node; else top.c0 = node;
        if (parent === null) this.root = top;
        else if (side) parent.c1 = top;
        else parent.c0 = top;
        this.size++;
        return;
      }
      if (plen === node.plen) {
        if (node.idx < 0) { node.idx = idx; this.size++; }
        return;
      }
      side = keyBit(key, node.plen);
      const next: PrefixNode | null = side ? node.c1 : node.c0;
      if (next === null) {
        if (side) node.c1 = leaf; else node.c0 = leaf;
        this.size++;
        return;
      }
      parent = node;
      node = next;
    }
  }

  /** Index of the longest prefix of key (of `bits` bits) held, or -1; with `any`, the first (shortest) found. */
  longest(key: Uint32Array, bits: number, any: boolean): number {
    let n = this.root;
    let best = -1;
    let steps = 0;
    while (n !== null) {
      steps++;
      if (!prefixMatches(n, key)) break;
      if (n.idx >= 0) {
        best = n.idx;
        if (any) break;
      }
      if (n.plen >= bits) break;
      n = keyBit(key, n.plen) ? n.c1 : n.c0;
    }
    this.steps = steps;
    return best;
  }
}

/* ---------------- string trie ---------------- */

class StrNode {
  kids: Map<number, StrNode> | null = null;
  idx = -1;
  /** Characters on the edge leading here, in walk order. */
  constructor(public label: string) {}
}

/**
 * Radix tree of strings, walked from the start of the sample (beg) or from
 * its end (end: patterns are stored reversed). A lookup reads each sample
 * character at most once: O(sample length), whatever the number of patterns.
 */
export class StrTrie {
  private readonly root = new StrNode('');
  /** Nodes visited by the last lookup. */
  steps = 0;

  /**
   * @param reverse match suffixes instead of prefixes
   * @param longest the deepest match wins (ebmb_lookup_longest), else the smallest index (list order)
   */
  constructor(private readonly reverse: boolean, private readonly longest: boolean) {}

  insert(pattern: string, idx: number): void {
    const key = this.reverse ? [...pattern].reverse().join('') : pattern;
    let n = this.root;
    let i = 0;
    for (;;) {
      if (i === key.length) {
        if (n.idx < 0 || idx < n.idx) n.idx = idx;
        return;
      }
      const c = key.charCodeAt(i);
      const k = n.kids === null ? undefined : n.kids.get(c);
      if (k === undefined) {
        const leaf = new StrNode(key.slice(i));
        leaf.idx = idx;
        (n.kids ??= new Map()).set(c, leaf);
        return;
      }
      const lab = k.label;
      let j = 1;
      while (j < lab.length && i + j < key.length && lab.charCodeAt(j) === key.charCodeAt(i + j)) j++;
      if (j < lab.length) {
        const mid = new StrNode(lab.slice(0, j));
        mid.kids = new Map([[lab.charCodeAt(j), k]]);
        k.label = lab.slice(j);
        n.kids!.set(c, mid);
        n = mid;
      } else {
        n = k;
      }
      i += j;
    }
  }

  /** Index of the matching pattern per the policy, -1 when none; `icase`: patterns were inserted lower-cased. */
  find(s: string, icase: boolean, any: boolean): number {
    let n = this.root;
    let best = n.idx;
    let steps = 1;
    const len = s.length;
    const rev = this.reverse;
    let i = 0;
    while (i < len && !(any && best >= 0)) {
      const kids = n.kids;
      if (kids === null) break;
      let c = s.charCodeAt(rev ? len - 1 - i : i);
      if (icase) c = lowerCode(c);
      const k = kids.get(c);
      if (k === undefined) break;
      const lab = k.label;
      const ll = lab.length;
      if (i + ll > len) break;
      let j = 1;
      for (; j < ll; j++) {
        let d = s.charCodeAt(rev ? len - 1 - i - j : i + j);
        if (icase) d = lowerCode(d);
        if (d !== lab.charCodeAt(j)) break;
      }
      if (j < ll) break;
      i += ll;
      n = k;
      steps++;
      if (n.idx >= 0 && (best < 0 || this.longest || n.idx < best)) best = n.idx;
    }
    this.steps = steps;
    return best;
  }
}

/* ---------------- pattern sets ---------------- */

abstract class BaseSet implements PatternSet {
  lastMatch: RegExpExecArray | null = null;
  steps = 0;
  constructor(readonly count: number) {}
  abstract lookup(smp: Sample): number;
  /*
   * Each set defines its own match() (not one on this base calling
   * this.lookup()): an ACL's call to match() then dispatches once, and the
   * lookup inside is monomorphic.
   */
  abstract match(smp: Sample): boolean;
}

/** found: the sample exists (the ACL only calls match() when it does). */
class FoundSet extends BaseSet {
  match(): boolean { return true; }
  lookup(): number { return 0; }
}

/** bool: pat_match_nothing(): true unless the value is 0; patterns are ignored. */
class BoolSet extends BaseSet {
  match(smp: Sample): boolean { return this.lookup(smp) >= 0; }
  lookup(smp: Sample): number { return smp.n !== 0 ? 0 : -1; }
}

/** int and len (pat_match_int / pat_match_len): exact values hashed, ranges listed, first in order wins. */
class IntSet extends BaseSet {
  constructor(count: number, private readonly exact: Map<number, number>, private readonly ranges: readonly IntRange[],
    private readonly rangeIdx: readonly number[], private readonly len: boolean) { super(count); }

  match(smp: Sample): boolean { return this.lookup(smp) >= 0; }
  lookup(smp: Sample): number {
    const v = this.len ? (smp.t === T_BIN && smp.b !== null ? smp.b.length : smp.s.length) : smp.n;
    const e = this.exact.get(v);
    const limit = e === undefined ? Infinity : e;
    const r = this.ranges;
    for (let i = 0; i < r.length; i++) {
      const idx = this.rangeIdx[i];
      if (idx > limit) break;
      if (r[i].min <= v && v <= r[i].max) return idx;
    }
    return e === undefined ? -1 : e;
  }
}

const ipKey4 = new Uint32Array(1);
const ipKey6 = new Uint32Array(4);

/** ip (pat_match_ip): IPv4 trie, IPv6 trie, then non-contiguous IPv4 masks; v4/v6 crossed as HAProxy does. */
class IpSet extends BaseSet {
  constructor(count: number, private readonly t4: PrefixTrie, private readonly t6: PrefixTrie,
    private readonly list: readonly { addr: number; mask: number; idx: number }[]) { super(count); }

  lookup(smp: Sample): number { return this.find(smp, false); }
  match(smp: Sample): boolean { return this.find(smp, true) >= 0; }

  private find(smp: Sample, any: boolean): number {
    let v4: number;
    let steps = 0;
    let r = -1;
    if (smp.t === T_IPV4) {
      v4 = smp.n >>> 0;
      ipKey4[0] = v4;
      r = this.t4.longest(ipKey4, 32, any);
      steps = this.t4.steps;
      if (r < 0) {
        // An IPv4 sample against IPv6 patterns: as ::ffff:a.b.c.d.
        ipKey6[0] = 0; ipKey6[1] = 0; ipKey6[2] = 0xffff; ipKey6[3] = v4;
        r = this.t6.longest(ipKey6, 128, any);
        steps += this.t6.steps;
      }
    } else if (smp.t === T_IPV6 && smp.b !== null) {
      const b = smp.b;
      ipKey6[0] = b.readUInt32BE(0); ipKey6[1] = b.readUInt32BE(4);
      ipKey6[2] = b.readUInt32BE(8); ipKey6[3] = b.readUInt32BE(12);
      r = this.t6.longest(ipKey6, 128, any);
      steps = this.t6.steps;
      // IPv4 patterns see ::ffff:a.b.c.d, ::a.b.c.d (so "::1" is 0.0.0.1) and 6to4 2002:AABB:CCDD::.
      if (ipKey6[0] === 0 && ipKey6[1] === 0 && (ipKey6[2] === 0 || ipKey6[2] === 0xffff)) v4 = ipKey6[3];
      else if (b[0] === 0x20 && b[1] === 0x02) v4 = ((ipKey6[0] << 16) | (ipKey6[1] >>> 16)) >>> 0;
      else v4 = -1;
      if (r < 0 && v4 >= 0) {
        ipKey4[0] = v4;
        r = this.t4.longest(ipKey4, 32, any);
        steps += this.t4.steps;
      }
    } else {
      return -1;
    }
    this.steps = steps;
    if (r >= 0 || v4 < 0) return r;
    const l = this.list;
    for (let i = 0; i < l.length; i++) if (((v4 ^ l[i].addr) & l[i].mask) === 0) return l[i].idx;
    return -1;
  }
}

/** bin (pat_match_bin): same length and bytes. */
class BinSet extends BaseSet {
  constructor(count: number, private readonly pats: readonly Buffer[], private readonly idx: readonly number[]) { super(count); }
  match(smp: Sample): boolean { return this.lookup(smp) >= 0; }
  lookup(smp: Sample): number {
    const b = smp.b;
    if (b === null) return -1;
    const p = this.pats;
    for (let i = 0; i < p.length; i++) if (p[i].length === b.length && p[i].equals(b)) return this.idx[i];
    return -1;
  }
}

/**
 * A str set of at most this many patterns is also kept as a list and
 * matched by direct comparison in match(): hashing a fresh string (as
 * requests bring them) costs more than comparing lengths then bytes (16 vs
 * 53 ns with -i and 4 patterns, measured). lookup() (maps) keeps the hash.
 */
const SMALL_SET = 8;

/** s equals p (p lower case when icase: s compared folded, without a copy). */
function equalsFolded(s: string, p: string, icase: boolean): boolean {
  return s.length === p.length && regionEquals(s, 0, p, icase);
}

/** str (pat_match_str): exact; hashed, with -i on the lower-cased text. */
class StrSet extends BaseSet {
  /** The patterns (lower case with -i) when the set is small, else null. */
  private readonly small: readonly string[] | null;
  constructor(count: number, private readonly map: Map<string, number>, private readonly icase: boolean) {
    super(count);
    this.small = map.size <= SMALL_SET ? [...map.keys()] : null;
  }
  match(smp: Sample): boolean {
    const small = this.small;
    if (small === null) return this.lookup(smp) >= 0;
    const s = smp.s;
    for (let i = 0; i < small.length; i++) if (equalsFolded(s, small[i], this.icase)) return true;
    return false;
  }
  lookup(smp: Sample): number {
    const r = this.map.get(this.icase ? asciiLower(smp.s) : smp.s);
    return r === undefined ? -1 : r;
  }
}

/** beg and end over a StrTrie. */
class TrieSet extends BaseSet {
  constructor(count: number, private readonly trie: StrTrie, private readonly icase: boolean) { super(count); }
  lookup(smp: Sample): number {
    const r = this.trie.find(smp.s, this.icase, false);
    this.steps = this.trie.steps;
    return r;
  }
  // The trie's Map per character beats comparing even 3 patterns directly
  // (measured on fresh strings: beg 15 vs 26 ns, end with 9 suffixes 18 vs 44).
  match(smp: Sample): boolean {
    const r = this.trie.find(smp.s, this.icase, true);
    this.steps = this.trie.steps;
    return r >= 0;
  }
}

/** sub (pat_match_sub): any occurrence; with -i the sample is lower-cased once. */
class SubSet extends BaseSet {
  constructor(count: number, private readonly pats: readonly string[], private readonly icase: boolean) { super(count); }
  match(smp: Sample): boolean { return this.lookup(smp) >= 0; }
  lookup(smp: Sample): number {
    const s = this.icase ? asciiLower(smp.s) : smp.s;
    const p = this.pats;
    for (let i = 0; i < p.length; i++) if (s.indexOf(p[i]) >= 0) return i;
    return -1;
  }
}

const DELIM_DOM = 1;
const DELIM_DIR = 2;

function isDelim(c: number, kind: number): boolean {
  return c === 0x2f || c === 0x3f || (kind === DELIM_DOM && (c === 0x2e || c === 0x3a));
}

/**
 * pattern.c match_word(): p (delimiters already stripped from both ends)
 * found in s between delimiters or the ends of s. An empty p never matches
 * (HAProxy compares with the byte after the sample; haproxy 2.6.12 answers
 * no for `-m dom .` against "a." and "a").
 */
function matchWord(s: string, p: string, icase: boolean, kind: number): boolean {
  const pl = p.length;
  const n = s.length;
  if (pl === 0 || pl > n) return false;
  const end = n - pl;
  const p0 = p.charCodeAt(0);
  let may = true;
  for (let c = 0; c <= end; c++) {
    let ch = s.charCodeAt(c);
    if (isDelim(ch, kind)) { may = true; continue; }
    if (!may) continue;
    if (icase) ch = lowerCode(ch);
    if (ch === p0 && regionEquals(s, c, p, icase) && (c === end || isDelim(s.charCodeAt(c + pl), kind))) return true;
    may = false;
  }
  return false;
}

/** dom and dir (pat_match_dom / pat_match_dir): lists, first in order. */
class WordSet extends BaseSet {
  constructor(count: number, private readonly pats: readonly string[], private readonly icase: boolean, private readonly kind: number) { super(count); }
  match(smp: Sample): boolean { return this.lookup(smp) >= 0; }
  lookup(smp: Sample): number {
    const p = this.pats;
    const s = smp.s;
    // A pattern that does not occur in the text at all cannot occur as a
    // word: one native search rules most of them out.
    const hay = this.icase ? asciiLower(s) : s;
    for (let i = 0; i < p.length; i++) if (hay.indexOf(p[i]) >= 0 && matchWord(s, p[i], this.icase, this.kind)) return i;
    return -1;
  }
}

/** reg (pat_match_reg / pat_match_regm): first regex matching anywhere in the sample. */
class RegSet extends BaseSet {
  constructor(count: number, private readonly res: readonly RegExp[], private readonly captures: boolean) { super(count); }
  match(smp: Sample): boolean { return this.lookup(smp) >= 0; }
  lookup(smp: Sample): number {
    const r = this.res;
    const s = smp.s;
    if (this.captures) {
      for (let i = 0; i < r.length; i++) {
        const m = r[i].exec(s);
        if (m !== null) { this.lastMatch = m; return i; }
      }
      this.lastMatch = null;
      return -1;
    }
    for (let i = 0; i < r.length; i++) if (r[i].test(s)) return i;
    return -1;
  }
}

/** HTTP methods HAProxy knows by code (http.c find_http_meth(), case-sensitive). */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'CONNECT', 'PUT', 'OPTIONS', 'DELETE', 'TRACE']);

/**
 * meth (http_acl.c pat_match_meth): a known method compares by code, so
 * exactly and whatever -i ("method -i get" does not match GET in haproxy
 * 2.6.12); another name compares as a string (-i honoured) with a sample
 * method that is not a known one.
 */
class MethSet extends BaseSet {
  /** Every pattern is a known method: they compare exactly, the sample's kind does not matter. */
  private readonly allKnown: boolean;
  constructor(count: number, private readonly pats: readonly string[], private readonly known: readonly boolean[], private readonly icase: boolean) {
    super(count);
    this.allKnown = known.every(k => k);
  }
  match(smp: Sample): boolean { return this.lookup(smp) >= 0; }
  lookup(smp: Sample): number {
    const s = smp.s;
    if (this.allKnown) {
      const p = this.pats;
      for (let i = 0; i < p.length; i++) if (s === p[i]) return i;
      return -1;
    }
    const sKnown = KNOWN_METHODS.has(s);
    const p = this.pats;
    for (let i = 0; i < p.length; i++) {
      if (this.known[i]) {
        if (s === p[i]) return i;
      } else if (!sKnown && s.length === p[i].length && regionEquals(s, 0, p[i], this.icase)) {
        return i;
      }
    }
    return -1;
  }
}

/* ---------------- compilation ---------------- */

type Compiler = (patterns: readonly PatternSource[], opts: PatternOptions) => PatternSet | string;

function compileInt(len: boolean): Compiler {
  return (patterns) => {
    const exact = new Map<number, number>();
    const ranges: IntRange[] = [];
    const rangeIdx: number[] = [];
    let op = 'eq';
    let count = 0;
    for (let i = 0; i < patterns.length; i++) {
      const src = patterns[i];
      let r: IntRange | string;
      if (src.fromFile) {
        r = parseIntRange(src.text);
      } else {
        if (STD_OPS.has(src.text)) { op = src.text; continue; }
        r = applyIntOperator(op, src.text);
      }
      if (typeof r === 'string') return withWhere(r, src);
      count++;
      if (r.min === r.max) {
        if (!exact.has(r.min)) exact.set(r.min, i);
      } else {
        ranges.push(r);
        rangeIdx.push(i);
      }
    }
    return new IntSet(count, exact, ranges, rangeIdx, len);
  };
}

const COMPILERS: Record<MatchMethod, Compiler> = {
  found: (patterns) => new FoundSet(patterns.length),
  bool: (patterns) => new BoolSet(patterns.length),
  int: compileInt(false),
  len: compileInt(true),

  ip(patterns, opts) {
    const t4 = new PrefixTrie();
    const t6 = new PrefixTrie();
    const list: { addr: number; mask: number; idx: number }[] = [];
    const k4 = new Uint32Array(1);
    const k6 = new Uint32Array(4);
    for (let i = 0; i < patterns.length; i++) {
      const src = patterns[i];
      const p = parseIpPattern(src.text, opts.noDns === true);
      if (p === null) return withWhere(`'${src.text}' is not a valid IPv4 or IPv6 address`, src);
      if (p.v6) {
        const b = p.addr;
        for (let w = 0; w < 4; w++) k6[w] = ((b[w * 4] << 24) | (b[w * 4 + 1] << 16) | (b[w * 4 + 2] << 8) | b[w * 4 + 3]) >>> 0;
        t6.insert(k6, p.plen, i);
      } else if (((p.mask + (p.mask & -p.mask)) >>> 0) === 0) {
        // pat_idx_tree_ip: only contiguous masks go to the tree.
        k4[0] = p.addr;
        t4.insert(k4, Math.clz32(~p.mask), i); // leading ones: the CIDR length
      } else {
        list.push({ addr: p.addr | 0, mask: p.mask | 0, idx: i });
      }
    }
    return new IpSet(patterns.length, t4, t6, list);
  },

  bin(patterns) {
    const pats: Buffer[] = [];
    const idx: number[] = [];
    for (let i = 0; i < patterns.length; i++) {
      const src = patterns[i];
      const b = parseHex(src.text);
      if (typeof b === 'string') return withWhere(b, src);
      pats.push(b);
      idx.push(i);
    }
    return new BinSet(patterns.length, pats, idx);
  },

  str(patterns, opts) {
    const map = new Map<string, number>();
    for (let i = 0; i < patterns.length; i++) {
      const k = opts.ignoreCase ? asciiLower(patterns[i].text) : patterns[i].text;
      if (!map.has(k)) map.set(k, i);
    }
    return new StrSet(patterns.length, map, opts.ignoreCase);
  },

  beg(patterns, opts) {
    // HAProxy indexes beg in a prefix tree (longest match) unless -i (a list: first match).
    const t = new StrTrie(false, !opts.ignoreCase);
    for (let i = 0; i < patterns.length; i++) t.insert(opts.ignoreCase ? asciiLower(patterns[i].text) : patterns[i].text, i);
    return new TrieSet(patterns.length, t, opts.ignoreCase);
  },

  end(patterns, opts) {
    const t = new StrTrie(true, false);
    for (let i = 0; i < patterns.length; i++) t.insert(opts.ignoreCase ? asciiLower(patterns[i].text) : patterns[i].text, i);
    return new TrieSet(patterns.length, t, opts.ignoreCase);
  },

  sub(patterns, opts) {
    return new SubSet(patterns.length, patterns.map(p => opts.ignoreCase ? asciiLower(p.text) : p.text), opts.ignoreCase);
  },

  dom: (patterns, opts) => new WordSet(patterns.length, stripDelims(patterns, opts, DELIM_DOM), opts.ignoreCase, DELIM_DOM),
  dir: (patterns, opts) => new WordSet(patterns.length, stripDelims(patterns, opts, DELIM_DIR), opts.ignoreCase, DELIM_DIR),

  reg(patterns, opts) {
    const res: RegExp[] = [];
    for (const src of patterns) {
      const r = compileRegex(src.text, opts.ignoreCase);
      if (typeof r === 'string') return withWhere(r, src);
      res.push(r);
    }
    return new RegSet(patterns.length, res, opts.captures === true);
  },

  meth(patterns, opts) {
    const known = patterns.map(p => KNOWN_METHODS.has(p.text));
    const pats = patterns.map((p, i) => known[i] || !opts.ignoreCase ? p.text : asciiLower(p.text));
    return new MethSet(patterns.length, pats, known, opts.ignoreCase);
  },
};

/** Delimiters stripped from both ends of dom/dir patterns once (match_word does it per call). */
function stripDelims(patterns: readonly PatternSource[], opts: PatternOptions, kind: number): string[] {
  return patterns.map(src => {
    const t = opts.ignoreCase ? asciiLower(src.text) : src.text;
    let b = 0;
    let e = t.length;
    while (b < e && isDelim(t.charCodeAt(b), kind)) b++;
    while (e > b && isDelim(t.charCodeAt(e - 1), kind)) e--;
    return t.slice(b, e);
  });
}

/** tools.c parse_binary(): an even number of hex digits. */
function parseHex(text: string): Buffer | string {
  if (text.length % 2) return 'an even number of hex digit is expected';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const hex = (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
    if (!hex) return `an hex digit is expected (found '${text[i]}')`;
  }
  return Buffer.from(text, 'hex');
}

/**
 * A pattern as a JavaScript RegExp, compiled once. HAProxy uses PCRE2: a
 * leading "(?i)" (a PCRE inline flag JS lacks) becomes the 'i' flag; other
 * PCRE-only syntax is reported as invalid, in regex.c's words.
 */
export function compileRegex(text: string, icase: boolean): RegExp | string {
  let src = text;
  let flags = icase ? 'i' : '';
  if (src.startsWith('(?i)')) { src = src.slice(4); flags = 'i'; }
  try {
    return new RegExp(src, flags);
  } catch (e) {
    const why = (e as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '');
    return `regex '${text}' is invalid (error=${why})`;
  }
}

/**
 * Compiles the patterns of one ACL test (or one map's keys) for `method`;
 * an error text (HAProxy's wording, with "at line N of file 'F'" for a
 * pattern whose `where` is `F:N`) when one does not parse. Inline int/len
 * patterns may hold the operators eq/ge/gt/le/lt (and ne), each applying to
 * the values after it: ['lt', '1024'] is ":1023".
 */
export function compilePatterns(method: MatchMethod, patterns: readonly PatternSource[], opts: PatternOptions): PatternSet | string {
  const c = COMPILERS[method];
  if (c === undefined) return `unknown matching method '${method}'`;
  return c(patterns, opts);
}
