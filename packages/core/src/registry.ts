/**
 * The registry: every config keyword, section, and (in later issues) sample
 * fetch, converter, action and runtime API command is registered here by the
 * module that implements it, like HAProxy's INITCALL keyword tables. The
 * parser and the runtime API dispatch through these tables; nothing else
 * switches on keyword names.
 */
import type { Diagnostics } from './config/diagnostics';
import type { GlobalConfig, ProxyConfig } from './config/compiled';

export type SectionKind = 'global' | 'defaults' | 'frontend' | 'backend' | 'listen' | 'http-errors' | 'userlist';
export const PROXY_SECTIONS: readonly SectionKind[] = ['defaults', 'frontend', 'backend', 'listen'];

/** Parse-time state shared by every keyword handler of one configuration load. */
export interface ParseState {
  global: GlobalConfig;
  proxies: ProxyConfig[];
  /** Named and anonymous defaults sections, in order. */
  defaults: ProxyConfig[];
  diag: Diagnostics;
  /** Per-feature scratch space (e.g. not-yet-resolved names), keyed by feature. */
  scratch: Map<string, unknown>;
}

export interface KeywordContext {
  readonly file: string;
  readonly line: number;
  /** The keyword as registered, e.g. `timeout connect`. */
  readonly keyword: string;
  /** Words after the keyword. */
  readonly args: string[];
  readonly section: SectionKind;
  /** The proxy (or defaults) being parsed; undefined in `global`. */
  readonly proxy: ProxyConfig | undefined;
  readonly state: ParseState;
  /** `no option X` */
  readonly negated: boolean;
  error(reason: string): void;
  warn(reason: string): void;
}

export interface KeywordDef {
  /** One or two words: `maxconn`, `timeout connect`, `option tcplog`, `stats socket`. */
  name: string;
  sections: readonly SectionKind[];
  /** Accepts a `no` prefix (options). */
  negatable?: boolean;
  /** One-line usage, shown in errors and in the README table. */
  usage: string;
  parse(ctx: KeywordContext): void;
}

export interface SectionDef {
  name: SectionKind;
  /** Called with the section header's words; returns nothing, errors go to diag. */
  open(state: ParseState, args: string[], file: string, line: number): ProxyConfig | undefined;
  /**
   * A section that is not a proxy (http-errors): its keywords run without
   * one; `open` returns false when the header is invalid (lines skipped).
   */
  proxyless?: (state: ParseState, args: string[], file: string, line: number) => boolean;
}

const keywords = new Map<string, KeywordDef>();
const sections = new Map<string, SectionDef>();
/** Keywords HAProxy has that we do not implement yet, per first word. */
const unsupported = new Map<string, string>();

export function registerKeywords(defs: KeywordDef[]): void {
  for (const def of defs) {
    if (keywords.has(def.name)) throw new Error(`keyword '${def.name}' registered twice`);
    keywords.set(def.name, def);
  }
}

export function registerSection(def: SectionDef): void {
  if (sections.has(def.name)) throw new Error(`section '${def.name}' registered twice`);
  sections.set(def.name, def);
}

/**
 * Register HAProxy keywords (one or two words) that exist upstream but are not
 * implemented here, so the error says "not supported" rather than "unknown".
 */
export function registerUnsupported(names: string[], why = 'not supported by Switchyard yet'): void {
  for (const n of names) if (!keywords.has(n)) unsupported.set(n, why);
}

export function findSection(name: string): SectionDef | undefined {
  return sections.get(name);
}

/** Longest match first: `timeout connect` before `timeout`. */
export function findKeyword(words: string[]): { def: KeywordDef; used: number } | undefined {
  if (words.length > 1) {
    const two = keywords.get(words[0] + ' ' + words[1]);
    if (two) return { def: two, used: 2 };
  }
  const one = keywords.get(words[0]);
  return one ? { def: one, used: 1 } : undefined;
}

export function findUnsupported(words: string[]): { name: string; why: string } | undefined {
  if (words.length > 1) {
    const two = words[0] + ' ' + words[1];
    const w = unsupported.get(two);
    if (w) return { name: two, why: w };
  }
  const w = unsupported.get(words[0]);
  return w ? { name: words[0], why: w } : undefined;
}

export function allKeywords(): KeywordDef[] {
  return [...keywords.values()];
}

export function sectionNames(): string[] {
  return [...sections.keys()];
}

/** Closest registered keyword allowed in `section`, for "did you mean" hints. */
export function suggestKeyword(word: string, section: SectionKind): string | undefined {
  let best: string | undefined;
  let bestScore = Infinity;
  const candidates: string[] = [];
  for (const def of keywords.values()) {
    if (!def.sections.includes(section)) continue;
    candidates.push(def.name);
    // 'timout' should find 'timeout' though only 'timeout client' etc. are
    // registered (haproxy 2.6: "did you mean 'timeout' maybe ?").
    const sp = def.name.indexOf(' ');
    if (sp > 0) candidates.push(def.name.slice(0, sp));
  }
  for (const name of sections.keys()) candidates.push(name);
  for (const name of candidates) {
    const d = editDistance(word, name);
    if (d < bestScore) { bestScore = d; best = name; }
  }
  return best !== undefined && bestScore <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

/**
 * Edit distance where swapping two adjacent letters counts as one edit
 * (optimal string alignment): 'bnid' must suggest 'bind' (1), not 'id' (2),
 * as haproxy 2.6 does.
 */
function editDistance(a: string, b: string): number {
  const m = a.length, n = b.length;
  let prev2 = new Array<number>(n + 1).fill(0);
  let prev = new Array<number>(n + 1);
  let cur = new Array<number>(n + 1);
  for (let j = 0; j <= n; j++) prev[j] = j;
  for (let i = 1; i <= m; i++) {
    cur[0] = i;
    for (let j = 1; j <= n; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a.charCodeAt(i - 1) === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === b.charCodeAt(j - 1)) {
        cur[j] = Math.min(cur[j], prev2[j - 2] + 1);
      }
    }
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[n];
}

/* ---------------- runtime API (CLI) commands ---------------- */

export type CliLevel = 'user' | 'operator' | 'admin';

export interface CliContext {
  /** The command's words after the matched command name. */
  args: string[];
  level: CliLevel;
  /** Host services (provided by the master's runtime API). */
  host: unknown;
}

export interface CliCommandDef {
  /** Words that name the command, e.g. ['show', 'stat']. */
  words: string[];
  /** Usage line shown by `help`, HAProxy's text. Empty = hidden. */
  help: string;
  level: CliLevel;
  /** Returns the full reply (without the final empty line). */
  run(ctx: CliContext): string | Promise<string>;
}

const cliCommands: CliCommandDef[] = [];

export function registerCliCommands(defs: CliCommandDef[]): void {
  for (const d of defs) cliCommands.push(d);
}

/** Longest word-prefix match. */
export function findCliCommand(words: string[]): { def: CliCommandDef; used: number } | undefined {
  let best: CliCommandDef | undefined;
  for (const d of cliCommands) {
    if (d.words.length > words.length) continue;
    let ok = true;
    for (let i = 0; i < d.words.length; i++) if (d.words[i] !== words[i]) { ok = false; break; }
    if (ok && (!best || d.words.length > best.words.length)) best = d;
  }
  return best ? { def: best, used: best.words.length } : undefined;
}

export function allCliCommands(): readonly CliCommandDef[] {
  return cliCommands;
}

/* ---------------- keywords inside a line: bind and server options ---------------- */

/**
 * A word-level keyword of `bind` or `server` lines (HAProxy's bind_kw_list /
 * srv_kw_list). `args` is how many words follow it; parse returns an error
 * message or nothing.
 */
export interface LineKeywordDef<T> {
  name: string;
  args: number;
  usage: string;
  /** Also usable in `default-server` (server table only). */
  defaultServer?: boolean;
  parse(target: T, args: string[], ctx: KeywordContext): string | void;
}

const lineTables = new Map<string, Map<string, LineKeywordDef<never>>>();

export function registerLineKeywords<T>(table: 'bind' | 'server', defs: LineKeywordDef<T>[]): void {
  let t = lineTables.get(table);
  if (!t) { t = new Map(); lineTables.set(table, t); }
  for (const d of defs) {
    if (t.has(d.name)) throw new Error(`${table} keyword '${d.name}' registered twice`);
    t.set(d.name, d as unknown as LineKeywordDef<never>);
  }
}

export function findLineKeyword<T>(table: 'bind' | 'server', name: string): LineKeywordDef<T> | undefined {
  return lineTables.get(table)?.get(name) as LineKeywordDef<T> | undefined;
}

export function lineKeywordNames(table: 'bind' | 'server'): string[] {
  return [...(lineTables.get(table)?.keys() ?? [])];
}

/**
 * Parse `words` as a sequence of line keywords of `table` into `target`.
 * Unknown words are reported (with a suggestion), as HAProxy does.
 */
export function parseLineKeywords<T>(table: 'bind' | 'server', words: string[], target: T, ctx: KeywordContext, what: string, forDefaultServer = false): void {
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    const def = findLineKeyword<T>(table, w);
    if (!def) {
      const unsup = unsupportedLine.get(table + ' ' + w);
      if (unsup) { ctx.error(`'${w}' : ${table} keyword not supported by Switchyard yet (${unsup})`); continue; }
      const names = lineKeywordNames(table);
      let best: string | undefined; let bestD = Infinity;
      for (const n of names) { const d = editDistance(w, n); if (d < bestD) { bestD = d; best = n; } }
      const hint = best !== undefined && bestD <= Math.max(2, Math.floor(w.length / 3)) ? `; did you mean '${best}'?` : '';
      ctx.error(`unknown keyword '${w}' in ${what}${hint}`);
      return;
    }
    if (forDefaultServer && !def.defaultServer) { ctx.error(`'${w}' is not allowed in 'default-server'`); i += def.args; continue; }
    if (i + def.args >= words.length + 0 && def.args > 0 && words.length - i - 1 < def.args) {
      ctx.error(`'${w}' expects ${def.args} argument${def.args > 1 ? 's' : ''} (${def.usage})`);
      return;
    }
    const err = def.parse(target, words.slice(i + 1, i + 1 + def.args), ctx);
    if (err) ctx.error(`'${w}' : ${err}`);
    i += def.args;
  }
}

const unsupportedLine = new Map<string, string>();

/** HAProxy bind/server keywords that exist upstream but not here yet. */
export function registerUnsupportedLine(table: 'bind' | 'server', names: string[], why = 'planned'): void {
  for (const n of names) if (!findLineKeyword(table, n)) unsupportedLine.set(table + ' ' + n, why);
}
