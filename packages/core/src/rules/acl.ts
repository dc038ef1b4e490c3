/**
 * ACLs and conditions (HAProxy configuration.txt 7.1 and 7.2, src/acl.c).
 *
 *   acl <name> <criterion> [flags] [operator] [<value>] ...
 *   <rule> if|unless <cond>
 *
 * A criterion is a derived ACL keyword (`path_beg`, `hdr_dom(host)`: a fetch
 * with its own match method, registered by the fetch's module with
 * registerAclKeywords) or any sample expression (`req.hdr(host),lower`),
 * whose output type picks the default method unless `-m` says otherwise.
 * Flags: -i, -f <file>, -m <method>, -n, -M, -u <id>, --.
 *
 * Several `acl` lines with the same name are ORed; the terms of a condition
 * are ANDed, `||` (or `or`) separates alternatives, `!` negates one term,
 * `{ ... }` is an anonymous ACL. As in HAProxy, a named ACL must be declared
 * before the rule that uses it, in the same section.
 *
 * Results are three-valued like acl.c's ACL_TEST_*: FAIL 0, MISS 1 (a sample
 * may still change: wait for more data under `tcp-request inspect-delay`),
 * PASS 3, so that AND is `&` and OR is `|`.
 */
import type { AclSource } from '../config/compiled';
import {
  type CompileEnv, type SampleContext, type SampleExpr, type Sample,
  parseSampleExpr, canCast, castTo, AT_ANY, T_BOOL, T_SINT, T_ADDR, T_IPV4, T_IPV6, T_STR, F_MAY_CHANGE,
  TYPE_NAMES,
} from './sample';
import {
  type MatchMethod, type PatternSet, type PatternSource, MATCH_METHODS,
  compilePatterns, methodInput, readPatternFile,
} from './pattern';

export const ACL_FAIL = 0;
export const ACL_MISS = 1;
export const ACL_PASS = 3;

/* ---------------- derived ACL keywords ---------------- */

export interface AclKeywordDef {
  /** The ACL keyword, e.g. `path_beg`. */
  name: string;
  /** The fetch it reads (registered with registerFetches). */
  fetch: string;
  /** Its match method. */
  match: MatchMethod;
  /** `ver`: patterns are dotted versions "x.y" (HAProxy pat_parse_dotted_ver), matched as ints. */
  parse?: 'ver';
  /**
   * A matcher of its own (HAProxy's per-keyword `match`, e.g. http_auth_group
   * matching group names): builds the set from the patterns; the sample is
   * given as a string.
   */
  patterns?: (list: readonly PatternSource[]) => PatternSet | string;
}

const aclKeywords = new Map<string, AclKeywordDef>();

export function registerAclKeywords(defs: readonly AclKeywordDef[]): void {
  for (const d of defs) {
    if (aclKeywords.has(d.name)) throw new Error(`ACL keyword '${d.name}' registered twice`);
    aclKeywords.set(d.name, d);
  }
}

export function findAclKeyword(name: string): AclKeywordDef | undefined {
  return aclKeywords.get(name);
}

/* ---------------- one ACL expression ---------------- */

/**
 * The values an ACL iterates over (FetchDef.all): one scratch array for
 * every ACL, read before any other fetch can run (converters do not
 * evaluate ACLs), grown once and never truncated.
 */
const ACL_VALUES: string[] = [];

/** `<criterion> [flags] <patterns>` compiled. */
export class AclExpr {
  /** 'found': any sample passes. */
  private readonly found: boolean;
  constructor(
    readonly expr: SampleExpr,
    readonly method: MatchMethod,
    /** Type the sample is cast to before matching. */
    readonly inType: number,
    readonly patterns: PatternSet | null,
  ) {
    this.found = method === 'found';
  }

  exec(ctx: SampleContext, final: boolean): number {
    const e = this.expr;
    const all = e.allFn;
    if (all !== null) {
      // A fetch with several values (hdr(x) without an occurrence, cookies):
      // the ACL matches when one of them does, as HAProxy iterates them.
      const n = all(ctx, e.args, ACL_VALUES);
      if (n >= 0) {
        for (let i = 0; i < n; i++) {
          const smp = e.evalFrom(ctx, ACL_VALUES[i]);
          if (smp !== null && (this.found || this.matches(smp))) return ACL_PASS;
        }
        return ACL_FAIL;
      }
    }
    const smp = e.eval(ctx);
    if (smp === null) return (e.smp.flags & F_MAY_CHANGE) !== 0 && !final ? ACL_MISS : ACL_FAIL;
    if (this.found) return ACL_PASS;
    if (this.matches(smp)) return ACL_PASS;
    return (smp.flags & F_MAY_CHANGE) !== 0 && !final ? ACL_MISS : ACL_FAIL;
  }

  private matches(smp: Sample): boolean {
    const p = this.patterns;
    if (p === null) return false;
    if (smp.t !== this.inType && !castTo(smp, this.inType)) return false;
    return p.match(smp);
  }
}

const STD_OPS = new Set(['eq', 'ge', 'gt', 'le', 'lt']);

/**
 * Dotted versions of `req.ssl_ver`-style keywords as integers
 * (major << 16 | minor), operators kept: pat_parse_dotted_ver().
 */
function versionPatterns(words: string[]): string[] | string {
  const out: string[] = [];
  for (const w of words) {
    if (STD_OPS.has(w)) { out.push(w); continue; }
    const parts = w.split(':');
    if (parts.length > 2) return `'${w}' is neither a number nor a supported operator`;
    const conv: string[] = [];
    for (const p of parts) {
      if (p === '') { conv.push(''); continue; }
      const m = /^([0-9]+)(?:\.([0-9]+))?$/.exec(p);
      if (!m) return `'${w}' is neither a number nor a supported operator`;
      const major = Number(m[1]), minor = m[2] !== undefined ? Number(m[2]) : 0;
      if (major >= 65536) return `'${w}' contains too large a major value`;
      if (minor >= 65536) return `'${w}' contains too large a minor value`;
      conv.push(String(major * 65536 + minor));
    }
    out.push(conv.join(':'));
  }
  return out;
}

function defaultMethodFor(type: number): MatchMethod | null {
  switch (type) {
    case T_BOOL: return 'bool';
    case T_SINT: return 'int';
    case T_ADDR: case T_IPV4: case T_IPV6: return 'ip';
    case T_STR: return 'str';
  }
  return null; // bin, meth: `-m` is required (acl.c)
}

/**
 * Parses `<criterion> [flags] [patterns...]` (words[0] is the criterion).
 * Returns the expression, or an error text. Warnings (no pattern) go to warn.
 */
export function parseAclExpr(words: readonly string[], env: CompileEnv, warn?: (msg: string) => void): AclExpr | string {
  if (words.length === 0) return 'missing ACL criterion';
  const crit = words[0];
  let nameEnd = 0;
  while (nameEnd < crit.length && /[A-Za-z0-9._-]/.test(crit[nameEnd])) nameEnd++;
  const kw = aclKeywords.get(crit.slice(0, nameEnd));
  let expr: SampleExpr;
  let method: MatchMethod | null;
  let verPatterns = false;
  if (kw) {
    const text = kw.fetch + crit.slice(nameEnd);
    const r = parseSampleExpr(text, env);
    if (!r.ok) return `ACL keyword '${kw.name}' : ${r.error}`;
    if (r.end !== text.length) return `ACL keyword '${kw.name}' : missing comma after fetch keyword.`;
    expr = r.expr;
    // With converters, the keyword's match no longer applies: the output type decides.
    if (expr.convs.length > 0) method = defaultMethodFor(expr.out);
    else { method = kw.match; verPatterns = kw.parse === 'ver'; }
  } else {
    const r = parseSampleExpr(crit, env);
    if (!r.ok) return `${r.error} in ACL expression '${crit}'`;
    if (r.end !== crit.length) return `unexpected text '${crit.slice(r.end)}' in ACL expression '${crit}'`;
    expr = r.expr;
    method = defaultMethodFor(expr.out);
  }
  let i = 1;
  let ignoreCase = false;
  let noDns = false;
  const patterns: PatternSource[] = [];
  let loaded = false;
  while (i < words.length && words[i].startsWith('-')) {
    const f = words[i];
    if (f === '-i') ignoreCase = true;
    else if (f === '-n') noDns = true;
    else if (f === '-M') { /* a map file read as an ACL: its keys are the patterns */ }
    else if (f === '-u') {
      if (!/^[0-9]+$/.test(words[i + 1] ?? '')) return 'the argument of -u must be an integer';
      i++;
    } else if (f === '-f') {
      if (method === null) return `matching method must be specified first (using '-m') when using a sample fetch of this type ('${expr.fetch.name}')`;
      const path = words[i + 1];
      if (path === undefined) return `'-f' expects a file name`;
      const text = env.file(path);
      if (text === undefined) return `failed to open pattern file <${path}>`;
      for (const p of readPatternFile(text, path)) patterns.push(p);
      loaded = true;
      i++;
    } else if (f === '-m') {
      if (loaded) return `'-m' must only be specified before patterns and files in parsing ACL expression`;
      const m = words[i + 1];
      if (!(MATCH_METHODS as readonly string[]).includes(m)) return `unknown matching method '${m}' when parsing ACL expression`;
      if (m !== 'found' && !canCast(expr.out, methodInput(m as MatchMethod))) {
        return `matching method '${m}' cannot be used with fetch keyword '${kw ? kw.name : expr.fetch.name}'`;
      }
      method = m as MatchMethod;
      verPatterns = false;
      i++;
    } else if (f === '--') { i++; break; }
    else return `'${f}' is not a valid ACL option. Please use '--' before any pattern beginning with a '-'`;
    i++;
  }
  if (method === null) {
    return `matching method must be specified first (using '-m') when using a sample fetch of this type ('${kw ? kw.name : expr.fetch.name}', type ${TYPE_NAMES[expr.out]})`;
  }
  let inline = words.slice(i);
  if (verPatterns) {
    const v = versionPatterns(inline);
    if (typeof v === 'string') return v;
    inline = v;
  }
  if (inline.length === 0 && !loaded && method !== 'found' && method !== 'bool' && expr.out !== T_BOOL && warn) {
    warn(`parsing acl keyword '${crit}' : no pattern to match against were provided, so this ACL will never match. If this is what you intended, please add '--' to get rid of this warning. If you intended to match only for existence, please use '-m found'. If you wanted to force an int to match as a bool, please use '-m bool'.`);
  }
  for (const w of inline) patterns.push({ text: w });
  if (kw !== undefined && kw.patterns !== undefined && expr.convs.length === 0 && method === kw.match) {
    const own = kw.patterns(patterns);
    if (typeof own === 'string') return own;
    return new AclExpr(expr, method, T_STR, own);
  }
  const m: MatchMethod = verPatterns ? 'int' : method;
  if (m === 'found') return new AclExpr(expr, m, 0, null);
  const set = compilePatterns(m, patterns, { ignoreCase, noDns });
  if (typeof set === 'string') return set;
  return new AclExpr(expr, m, methodInput(m), set);
}

/* ---------------- named ACLs ---------------- */

/** A named ACL: its lines ORed. */
export class Acl {
  readonly exprs: AclExpr[] = [];
  constructor(readonly name: string) {}

  exec(ctx: SampleContext, final: boolean): number {
    const xs = this.exprs;
    if (xs.length === 1) return xs[0].exec(ctx, final);
    let res = ACL_FAIL;
    for (let i = 0; i < xs.length; i++) {
      res |= xs[i].exec(ctx, final);
      if (res === ACL_PASS) break;
    }
    return res;
  }
}

const ACL_NAME = /^[A-Za-z0-9_.:-]+$/;

/** HAProxy's predefined ACLs (acl.c default_acl_list, 2.6). */
const PREDEFINED: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['TRUE', ['always_true']],
  ['FALSE', ['always_false']],
  ['LOCALHOST', ['src', '127.0.0.1/8', '::1']],
  ['HTTP', ['req.proto_http']],
  ['HTTP_1.0', ['req.ver', '1.0']],
  ['HTTP_1.1', ['req.ver', '1.1']],
  ['HTTP_2.0', ['req.ver', '2.0']],
  ['METH_CONNECT', ['method', 'CONNECT']],
  ['METH_DELETE', ['method', 'DELETE']],
  ['METH_GET', ['method', 'GET', 'HEAD']],
  ['METH_HEAD', ['method', 'HEAD']],
  ['METH_OPTIONS', ['method', 'OPTIONS']],
  ['METH_POST', ['method', 'POST']],
  ['METH_PUT', ['method', 'PUT']],
  ['METH_TRACE', ['method', 'TRACE']],
  ['HTTP_URL_ABS', ['url_reg', '^[^/:]*://']],
  ['HTTP_URL_SLASH', ['url_beg', '/']],
  ['HTTP_URL_STAR', ['url', '*']],
  ['HTTP_CONTENT', ['req.hdr_val(content-length)', 'gt', '0']],
  ['RDP_COOKIE', ['req.rdp_cookie_cnt', 'gt', '0']],
  ['REQ_CONTENT', ['req.len', 'gt', '0']],
  ['WAIT_END', ['wait_end']],
];
const PREDEFINED_MAP = new Map(PREDEFINED);

export function isPredefinedAcl(name: string): boolean {
  return PREDEFINED_MAP.has(name);
}

/**
 * The ACLs of one section, compiled. `declared(name, count)` finds an ACL
 * among the first `count` lines (declared before the rule), or a predefined one.
 */
export class AclScope {
  private readonly byName = new Map<string, Acl>();
  /** Name of each source line, in order, and the Acl it feeds. */
  private readonly order: string[] = [];
  private readonly predefined = new Map<string, Acl>();

  constructor(private readonly env: CompileEnv) {}

  /** Adds one `acl` line; returns an error text or nothing. */
  add(src: AclSource, warn?: (m: string) => void): string | void {
    if (!ACL_NAME.test(src.name)) return `ACL name '${src.name}' contains invalid character (allowed: letters, digits, '-', '_', '.', ':')`;
    if (PREDEFINED_MAP.has(src.name)) return `acl '${src.name}' : this name is reserved by a predefined ACL`;
    const e = parseAclExpr(src.words, this.env, warn);
    if (typeof e === 'string') return `error detected while parsing ACL '${src.name}' : ${e}.`;
    let acl = this.byName.get(src.name);
    if (!acl) { acl = new Acl(src.name); this.byName.set(src.name, acl); }
    acl.exprs.push(e);
    this.order.push(src.name);
  }

  /** The ACL `name` as known after the first `count` acl lines; undefined if none. */
  find(name: string, count: number): Acl | string | undefined {
    const acl = this.byName.get(name);
    if (acl) {
      const first = this.order.indexOf(name);
      if (first >= 0 && first < count) return acl;
    }
    const def = PREDEFINED_MAP.get(name);
    if (def) {
      let p = this.predefined.get(name);
      if (!p) {
        const e = parseAclExpr(def, this.env);
        if (typeof e === 'string') return `predefined ACL '${name}' cannot be used here: ${e}`;
        p = new Acl(name);
        p.exprs.push(e);
        this.predefined.set(name, p);
      }
      return p;
    }
    return undefined;
  }
}

/* ---------------- conditions ---------------- */

interface CondTerm {
  acl: Acl;
  neg: boolean;
}

/** `if|unless` and the terms: OR of AND-suites. */
export class Condition {
  /** The only term of a one-term condition (`if acl`, `unless !acl`: most of them), else null. */
  private readonly single: CondTerm | null;
  constructor(
    readonly unless: boolean,
    readonly suites: CondTerm[][],
    /** The condition as written, for messages. */
    readonly text: string,
  ) {
    this.single = suites.length === 1 && suites[0].length === 1 ? suites[0][0] : null;
  }

  /** ACL_PASS / ACL_FAIL / ACL_MISS with `unless` applied (acl_exec_cond + the caller's inversion). */
  exec(ctx: SampleContext, final: boolean): number {
    const one = this.single;
    if (one !== null) {
      let r = one.acl.exec(ctx, final);
      // `!` and `unless` both invert; MISS stays MISS.
      if (one.neg !== this.unless && r !== ACL_MISS) r = ACL_PASS - r;
      return r;
    }
    let res = ACL_FAIL;
    const suites = this.suites;
    for (let s = 0; s < suites.length; s++) {
      const terms = suites[s];
      let sr = ACL_PASS;
      for (let t = 0; t < terms.length; t++) {
        const term = terms[t];
        let r = term.acl.exec(ctx, final);
        if (term.neg) r = r === ACL_MISS ? ACL_MISS : ACL_PASS - r;
        sr &= r;
        if (sr === ACL_FAIL) break;
      }
      res |= sr;
      if (res === ACL_PASS) break;
    }
    if (this.unless) res = res === ACL_MISS ? ACL_MISS : ACL_PASS - res;
    return res;
  }
}

/**
 * Parses `if|unless <terms>` (words[0] is 'if' or 'unless'). `aclCount`:
 * the number of the section's acl lines declared before this use.
 */
export function parseCondition(words: readonly string[], scope: AclScope, aclCount: number, env: CompileEnv, warn?: (m: string) => void): Condition | string {
  const kw = words[0];
  if (kw !== 'if' && kw !== 'unless') return `expects 'if' or 'unless' followed by a condition, got '${kw}'`;
  if (words.length < 2) return `missing condition after '${kw}'`;
  const suites: CondTerm[][] = [[]];
  let i = 1;
  while (i < words.length) {
    let w = words[i];
    if (w === '||' || w === 'or') {
      if (suites[suites.length - 1].length === 0) return `missing ACL before '${w}' in condition`;
      suites.push([]);
      i++;
      continue;
    }
    let neg = false;
    while (w.startsWith('!')) { neg = !neg; w = w.slice(1); if (w === '') { i++; w = words[i] ?? ''; } }
    if (w === '') return `missing ACL after '!' in condition`;
    if (w === '{') {
      const close = words.indexOf('}', i + 1);
      if (close < 0) return `missing closing '}' in condition`;
      const inner = words.slice(i + 1, close);
      if (inner.length === 0) return `empty anonymous ACL '{ }' in condition`;
      const e = parseAclExpr(inner, { ...env, at: AT_ANY }, warn);
      if (typeof e === 'string') return `error detected while parsing anonymous ACL '{ ${inner.join(' ')} }' : ${e}`;
      if ((e.expr.fetch.use & env.at) === 0 && warn) warn(`anonymous acl will never match because it only involves keywords that are incompatible with '${env.where}'`);
      const acl = new Acl('anonymous');
      acl.exprs.push(e);
      suites[suites.length - 1].push({ acl, neg });
      i = close + 1;
      continue;
    }
    if (w === '}') return `unexpected '}' in condition`;
    const acl = scope.find(w, aclCount);
    if (typeof acl === 'string') return acl;
    if (!acl) return `no such ACL : '${w}'`;
    if (warn && !acl.exprs.some(x => (x.expr.fetch.use & env.at) !== 0)) {
      warn(`acl '${w}' will never match because it only involves keywords that are incompatible with '${env.where}'`);
    }
    suites[suites.length - 1].push({ acl, neg });
    i++;
  }
  if (suites[suites.length - 1].length === 0) return `missing ACL after '||' in condition`;
  return new Condition(kw === 'unless', suites, words.join(' '));
}

/** Index of the first 'if'/'unless' word (a rule's condition start), or words.length. */
export function conditionStart(words: readonly string[], from = 0): number {
  for (let i = from; i < words.length; i++) if (words[i] === 'if' || words[i] === 'unless') return i;
  return words.length;
}

