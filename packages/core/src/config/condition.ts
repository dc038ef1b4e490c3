/**
 * Conditions of .if/.elif and of the CLI's `-cc`, as in HAProxy 2.6
 * (configuration.txt 2.4, src/cfgcond.c). The grammar, checked against
 * `haproxy -cc` 2.6.12:
 *
 *   expr := and ( '||' and )*        evaluated left to right, stops on true
 *   and  := term ( '&&' term )*      evaluated left to right, stops on false
 *   term := '!'* ( integer | '(' expr ')' | predicate [ '(' args ')' ] )
 *
 * - An empty condition is false; any other text must parse. Plain words
 *   ("yes", "true") are errors, not true.
 * - Integers are read like C strtol(base 0): "0", "+0", "0x0" are false;
 *   "1", "-1", "010", "0x10" are true; "08" and "1abc" are errors (trailing
 *   characters), as are a single '&' or '|'.
 * - The whole expression is parsed before it is evaluated, so "1 || foo" is a
 *   syntax error even though foo would not be evaluated.
 * - Predicate arguments are split on ',' and ')' with their own quoting level
 *   (a config line's quotes are already gone by then: `streq("a,b",x)` in a
 *   config or -cc is `streq(a,b,x)`; use '…' around the whole condition or
 *   \" to keep quotes for this level). Spaces are kept: streq(a, a) is false.
 * - A predicate without parentheses gets one empty argument: `defined` is
 *   false, `streq` misses an argument.
 */
import type { LexOptions } from './lexer';
import { tokenizeLine } from './lexer';

/** HAProxy's MAX_CFG_RECURSION: depth budget shared by nesting and chains. */
const MAX_DEPTH = 1024;

type EvalResult = boolean | { error: string };

interface Predicate {
  name: string;
  /** Number of arguments; all of them are mandatory strings. */
  nargs: number;
  evaluate(args: string[], opts: LexOptions): EvalResult;
}

type Term =
  | { neg: boolean; kind: 'const'; value: boolean }
  | { neg: boolean; kind: 'paren'; expr: Expr }
  | { neg: boolean; kind: 'pred'; pred: Predicate; args: string[] };
/** Terms joined by '&&'. */
type And = Term[];
/** And-groups joined by '||'. */
type Expr = And[];

// ---------------------------------------------------------------- versions

/** C strtol(base 10) as split_version() uses it: value and end offset (start if no digits). */
function strtol10(s: string, at: number): { value: bigint; end: number } {
  let p = at;
  while (p < s.length && ' \t\n\v\f\r'.includes(s[p])) p++;
  let sign = '';
  if (s[p] === '+' || s[p] === '-') sign = s[p++];
  const d0 = p;
  while (p < s.length && s[p] >= '0' && s[p] <= '9') p++;
  if (p === d0) return { value: 0n, end: at };
  let v = BigInt(sign + s.slice(d0, p));
  // strtol() saturates to LONG_MIN/LONG_MAX.
  const max = (1n << 63n) - 1n;
  if (v > max) v = max;
  if (v < -max - 1n) v = -max - 1n;
  return { value: v, end: p };
}

/** The value split_version() stores in an unsigned int. */
function u32(v: bigint): number {
  return Number(BigInt.asUintN(32, v));
}

/**
 * HAProxy's version layout: a.b.c.d, then a tag (dev=1, rc/pre=2, release=3)
 * with its number, then a commit count: "1.5-dev18-43" is 1,5,0,0,1,18,43 and
 * "2.6" is 2,6,0,0,3,0,0 (so 2.6-dev1 < 2.6 = 2.6.0 < 2.6.1). Distribution
 * suffixes like "2.6.12-1+deb12u4" are ignored (commit part not numeric).
 * Returns undefined when HAProxy would refuse the string.
 */
export function splitVersion(version: string): number[] | undefined {
  const v = [0, 0, 0, 0, 3, 0, 0];
  if (version === '') return undefined;
  let p = 0;
  let tag = false;
  for (let k = 0; k < 4; k++) {
    const r = strtol10(version, p);
    v[k] = u32(r.value);
    const c = version[r.end];
    p = r.end + 1;
    if (c === undefined) return v;
    if (c === '-') {
      tag = true;
      break;
    }
    if (c !== '.' || k === 3) return undefined;
  }
  if (!tag) return undefined;

  // After '-': a tag, or directly the commit part.
  if (!(version[p] >= '0' && version[p] <= '9')) {
    let tagLen = 0;
    if (version.startsWith('dev', p)) {
      v[4] = 1;
      tagLen = 3;
    } else if (version.startsWith('rc', p)) {
      v[4] = 2;
      tagLen = 2;
    } else if (version.startsWith('pre', p)) {
      v[4] = 2;
      tagLen = 3;
    }
    if (tagLen) {
      p += tagLen;
      const r = strtol10(version, p);
      v[5] = u32(r.value);
      const c = version[r.end];
      p = r.end + 1;
      if (c === undefined) return v;
      if (c !== '-') return undefined;
    }
  }

  // Commit count: after the last '-', when numeric.
  const rest = version.slice(p);
  const dash = rest.lastIndexOf('-');
  const commit = dash >= 0 ? rest.slice(dash + 1) : rest;
  if (dash >= 0 && commit === '') return undefined;
  const r = strtol10(commit, 0);
  v[6] = r.end === commit.length || commit === '' ? u32(r.value) : 0;
  return v;
}

/**
 * Compares `version` with `current` like compare_current_version(): -1 when
 * `version` is older, 0 when equal, 1 when newer, -2 when `current` does not
 * parse, -3 when `version` does not parse.
 */
export function compareVersion(current: string, version: string): number {
  const loc = splitVersion(current);
  if (!loc) return -2;
  const mod = splitVersion(version);
  if (!mod) return -3;
  for (let i = 0; i < loc.length; i++) {
    if (mod[i] < loc[i]) return -1;
    if (mod[i] > loc[i]) return 1;
  }
  return 0;
}

/**
 * OpenSSL's numeric layout MNNFFPPS (major, minor, fix, letter patch, status:
 * 0 dev, 1-14 beta, 15 release), parsed from a text version as HAProxy does:
 * "1.1.1w" has patch 23, "3.0.0-beta2" status 2, "3.0.0-alpha1" status 0.
 * Returns 0 when the text does not parse.
 */
export function opensslVersionNumber(version: string): number {
  if (version === '') return 0;
  let r = strtol10(version, 0);
  if (version[r.end] !== '.' || r.value < 0n || r.value > 0xfn) return 0;
  const major = Number(r.value);
  r = strtol10(version, r.end + 1);
  if (version[r.end] !== '.' || r.value < 0n || r.value > 0xffn) return 0;
  const minor = Number(r.value);
  r = strtol10(version, r.end + 1);
  if (r.value < 0n || r.value > 0xffn) return 0;
  const fix = Number(r.value);
  let p = r.end;
  let patch = 0;
  let status = 0;
  if (p >= version.length) {
    status = 0xf;
  } else if (version[p] === '-') {
    p++;
    if (version.startsWith('beta', p)) {
      const b = strtol10(version, p + 4);
      if (b.value < 0n || b.value > 14n) return 0;
      status = Number(b.value);
    }
  } else {
    patch = 1;
    for (; p < version.length; p++) patch += (version.charCodeAt(p) & ~0x20) - 0x41;
    status = 0xf;
  }
  return (((major & 0xf) << 28) | ((minor & 0xff) << 20) | ((fix & 0xff) << 12) | ((patch & 0xff) << 4) | (status & 0xf)) >>> 0;
}

/** Node's OpenSSL version without a build suffix ("3.0.13+quic" → "3.0.13"). */
function nodeOpenssl(): string | undefined {
  const v = process.versions.openssl;
  return v ? v.replace(/\+.*$/, '') : undefined;
}

function compareOpenssl(version: string): number | { error: string } {
  const cur = nodeOpenssl();
  if (cur === undefined) return { error: 'no SSL library is available' };
  const loc = opensslVersionNumber(cur);
  if (!loc) return { error: `cannot parse the SSL library version '${cur}'` };
  const mod = opensslVersionNumber(version);
  if (!mod) return { error: `cannot parse '${version}' as an OpenSSL version` };
  return mod < loc ? -1 : mod > loc ? 1 : 0;
}

// ---------------------------------------------------------------- predicates

/** The predicates of HAProxy 2.6 (cfgcond.c cond_predicates). */
const PREDICATES: readonly Predicate[] = [
  // true if the environment variable exists, even empty
  { name: 'defined', nargs: 1, evaluate: ([name], o) => o.env[name] !== undefined },
  { name: 'feature', nargs: 1, evaluate: ([name], o) => o.features.has(name) },
  { name: 'streq', nargs: 2, evaluate: ([a, b]) => a === b },
  { name: 'strneq', nargs: 2, evaluate: ([a, b]) => a !== b },
  // An unparsable version makes HAProxy's comparison return -3: version_atleast
  // is then true and version_before false (checked with -cc 2.6.12). Same here.
  { name: 'version_atleast', nargs: 1, evaluate: ([v], o) => compareVersion(o.version, v) <= 0 },
  { name: 'version_before', nargs: 1, evaluate: ([v], o) => compareVersion(o.version, v) > 0 },
  // The SSL library is Node's. HAProxy compares with OPENSSL_VERSION_NUMBER,
  // whose layout changed with OpenSSL 3; we parse both sides the same way so
  // that "3.0.1" < "3.0.19" really holds.
  {
    name: 'openssl_version_atleast',
    nargs: 1,
    evaluate: ([v]) => {
      const c = compareOpenssl(v);
      return typeof c === 'number' ? c <= 0 : c;
    },
  },
  {
    name: 'openssl_version_before',
    nargs: 1,
    evaluate: ([v]) => {
      const c = compareOpenssl(v);
      return typeof c === 'number' ? c > 0 : c;
    },
  },
  // HAProxy matches the start of OpenSSL_version(OPENSSL_VERSION), e.g. "OpenSSL 3.0.19 27 Jan 2026".
  {
    name: 'ssllib_name_startswith',
    nargs: 1,
    evaluate: ([name]) => {
      const v = process.versions.openssl;
      return v !== undefined && `OpenSSL ${v}`.startsWith(name);
    },
  },
];

// ---------------------------------------------------------------- parser

class CondSyntaxError extends Error {
  constructor(
    message: string,
    readonly pos: number,
  ) {
    super(message);
  }
}

/** C strtol(base 0) end offset: where an integer ends (`at` if none) and whether it is non-zero. */
function strtol0(s: string, at: number): { end: number; nonzero: boolean } {
  let p = at;
  while (p < s.length && ' \t\n\v\f\r'.includes(s[p])) p++;
  if (s[p] === '+' || s[p] === '-') p++;
  const isDigit = (c: string | undefined, radix: number): boolean => {
    if (c === undefined) return false;
    if (c >= '0' && c <= '9') return c.charCodeAt(0) - 48 < radix;
    return radix === 16 && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'));
  };
  let radix = 10;
  if (s[p] === '0' && (s[p + 1] === 'x' || s[p + 1] === 'X') && isDigit(s[p + 2], 16)) {
    radix = 16;
    p += 2;
  } else if (s[p] === '0') {
    radix = 8;
  }
  const d0 = p;
  let nonzero = false;
  while (p < s.length && isDigit(s[p], radix)) {
    if (s[p] !== '0') nonzero = true;
    p++;
  }
  if (p === d0) return { end: at, nonzero: false };
  return { end: p, nonzero };
}

class CondParser {
  pos = 0;

  constructor(readonly text: string) {}

  private fail(message: string, pos: number): never {
    throw new CondSyntaxError(message, pos);
  }

  private skipWs(): void {
    const t = this.text;
    while (this.pos < t.length && (t[this.pos] === ' ' || t[this.pos] === '\t')) this.pos++;
  }

  private atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  private rest(from: number): string {
    return this.text.slice(from);
  }

  /** The whole condition (non-empty): an expression followed by nothing but blanks. */
  parseAll(): Expr {
    const e = this.parseExpr(MAX_DEPTH);
    this.skipWs();
    if (!this.atEnd()) {
      this.fail(`unexpected character '${this.text[this.pos]}' at the end of conditional expression '${this.text}'`, this.pos);
    }
    return e;
  }

  // Depth accounting copies cfg_parse_cond_expr/and/term: each level and each
  // chained operator costs one, so what HAProxy refuses as too deep we refuse too.
  private parseExpr(depth: number): Expr {
    const ands: Expr = [];
    for (;;) {
      if (depth <= 0) this.fail('conditional expression too deeply nested', this.pos);
      ands.push(this.parseAnd(depth - 1));
      this.skipWs();
      if (!this.text.startsWith('||', this.pos)) return ands;
      const op = this.pos;
      this.pos += 2;
      this.skipWs();
      if (this.atEnd()) this.fail(`missing condition after '||' in conditional expression '${this.text}'`, op);
      depth--;
    }
  }

  private parseAnd(depth: number): And {
    const terms: And = [];
    for (;;) {
      if (depth <= 0) this.fail('conditional expression too deeply nested', this.pos);
      const start = this.pos;
      const t = this.parseTerm(depth - 1);
      if (!t) this.fail(`unparsable conditional sub-expression '${this.rest(start)}'`, start);
      terms.push(t);
      this.skipWs();
      if (!this.text.startsWith('&&', this.pos)) return terms;
      const op = this.pos;
      this.pos += 2;
      this.skipWs();
      if (this.atEnd()) this.fail(`missing condition after '&&' in conditional expression '${this.text}'`, op);
      depth--;
    }
  }

  /** Returns undefined when only blanks are left. */
  private parseTerm(depth: number): Term | undefined {
    const t = this.text;
    this.skipWs();
    if (this.atEnd()) return undefined;
    const start = this.pos;
    if (depth <= 0) this.fail('conditional expression too deeply nested', start);

    let neg = false;
    while (t[this.pos] === '!') {
      neg = !neg;
      this.pos++;
      this.skipWs();
    }

    const num = strtol0(t, this.pos);
    if (num.end !== this.pos) {
      this.pos = num.end;
      return { neg, kind: 'const', value: num.nonzero };
    }

    if (t[this.pos] === '(') {
      this.pos++;
      this.skipWs();
      if (this.atEnd()) this.fail(`unparsable conditional expression '${this.rest(start)}'`, start);
      const expr = this.parseExpr(depth - 1);
      this.skipWs();
      if (t[this.pos] !== ')') this.fail(`expected ')' after conditional expression '${this.rest(start)}'`, this.pos);
      this.pos++;
      this.skipWs();
      return { neg, kind: 'paren', expr };
    }

    // The predicate name runs up to a space or '(' (so "defined)" is no predicate).
    let e = this.pos;
    while (e < t.length && t[e] !== ' ' && t[e] !== '(') e++;
    const name = t.slice(this.pos, e);
    const pred = PREDICATES.find((p) => p.name === name);
    if (!pred) this.fail(`unparsable conditional expression '${this.rest(start)}'`, start);
    this.pos = e;
    const args = this.parseArgs(pred);
    return { neg, kind: 'pred', pred, args };
  }

  /** make_arg_list() for string arguments. */
  private parseArgs(pred: Predicate): string[] {
    const t = this.text;
    const where = (n: number): string => ` in argument ${n} of predicate '${pred.name}' used in conditional expression`;
    const missing = (got: number): string => `missing arguments (got ${got}/${pred.nargs}), type 'string' expected${where(got)}`;

    if (t[this.pos] !== '(') {
      // No parenthesis: one empty argument.
      if (pred.nargs > 1) this.fail(missing(1), this.pos);
      return [''];
    }
    this.pos++;
    const args: string[] = [];
    while (args.length < pred.nargs) {
      let out = '';
      let squote = false;
      let dquote = false;
      while (this.pos < t.length) {
        const c = t[this.pos];
        if (c === '"' && !squote) {
          dquote = !dquote;
          this.pos++;
        } else if (c === "'" && !dquote) {
          squote = !squote;
          this.pos++;
        } else if (c === '\\' && !squote) {
          const d = t[this.pos + 1];
          if (d === undefined) {
            this.fail(`failed to parse '\\' after '${out}' as type 'string' at position ${args.length + 1}${where(args.length)}`, this.pos);
          }
          if (d === '\\' || d === ' ' || d === '"' || d === "'") {
            out += d;
            this.pos += 2;
          } else if (d === 'r' || d === 'n' || d === 't') {
            out += d === 'r' ? '\r' : d === 'n' ? '\n' : '\t';
            this.pos += 2;
          } else {
            out += '\\'; // a lone backslash, the next character is read normally
            this.pos++;
          }
        } else if (!squote && !dquote && (c === ',' || c === ')')) {
          break;
        } else {
          out += c;
          this.pos++;
        }
      }
      args.push(out);
      if (this.atEnd() || t[this.pos] === ')' || args.length >= pred.nargs) break;
      this.pos++; // the comma
    }
    if (args.length < pred.nargs) this.fail(missing(args.length), this.pos);
    if (t[this.pos] !== ')') {
      const rest = this.rest(this.pos);
      const n = args.length > 1 ? args.length - 1 : args.length;
      this.fail((rest ? `expected ')' before '${rest}'` : "expected ')'") + where(n), this.pos);
    }
    this.pos++;
    return args;
  }
}

// ---------------------------------------------------------------- evaluation

function evalTerm(t: Term, opts: LexOptions): EvalResult {
  let r: EvalResult;
  if (t.kind === 'const') r = t.value;
  else if (t.kind === 'paren') r = evalExpr(t.expr, opts);
  else r = t.pred.evaluate(t.args, opts);
  return typeof r === 'boolean' && t.neg ? !r : r;
}

function evalExpr(e: Expr, opts: LexOptions): EvalResult {
  let r: EvalResult = false;
  for (const and of e) {
    r = true;
    for (const t of and) {
      r = evalTerm(t, opts);
      if (r !== true) break; // false or error
    }
    if (r !== false) return r; // true or error
  }
  return r;
}

/**
 * Evaluates a condition given as one text (the words of a .if joined by
 * spaces, as HAProxy does). On error, `pos` is the 0-based offset in `text`
 * where parsing failed (0 for evaluation errors).
 */
export function evaluateConditionExpr(text: string, opts: LexOptions): { value: boolean } | { error: string; pos: number } {
  if (text === '') return { value: false };
  let expr: Expr;
  try {
    expr = new CondParser(text).parseAll();
  } catch (e) {
    if (e instanceof CondSyntaxError) return { error: e.message, pos: e.pos };
    throw e;
  }
  const r = evalExpr(expr, opts);
  return typeof r === 'boolean' ? { value: r } : { error: r.error, pos: 0 };
}

/** Evaluates the words of a condition (those after `.if`/`.elif`), joined by single spaces. */
export function evaluateCondition(words: string[], opts: LexOptions): { value: boolean } | { error: string } {
  const r = evaluateConditionExpr(words.join(' '), opts);
  return 'error' in r ? { error: r.error } : r;
}

/** For the CLI's `-cc <condition>`: the one CLI argument is tokenized with the same rules as a config line. */
export function evaluateConditionText(text: string, opts: LexOptions): { value: boolean } | { error: string } {
  // Like `haproxy -cc`: no comments, no leading-blank trimming, $.LINE is 0.
  const t = tokenizeLine(text, 0, { env: opts.env, comments: false, line: 0 });
  if (!t.ok) return { error: `syntax error in condition: ${t.reason} at position ${t.pos + 1}` };
  return evaluateCondition(t.args, opts);
}
