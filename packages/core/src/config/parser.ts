/**
 * Turns lexed lines into parse state: tracks the current section and
 * dispatches each line to the keyword registered for it. Everything here is
 * generic: keywords live with the features that implement them.
 */
import {
  findKeyword, findSection, findUnsupported, suggestKeyword, sectionNames,
  type KeywordContext, type ParseState, type SectionKind,
} from '../registry';
import type { Diagnostics } from './diagnostics';
import type { GlobalConfig, ProxyConfig } from './compiled';
import { os } from '../util/os';
import { DEFAULT_BUFSIZE, DEFAULT_MAXHDR, h1LimitsFor } from '../http/limits';

/** A lexed configuration line (see lexer.ts). */
export interface LineLike {
  file: string;
  line: number;
  words: string[];
}

/** Section names that exist in HAProxy; set by the keyword tables (haproxy-keywords.ts). */
let haproxySections: ReadonlySet<string> = new Set();
export function setKnownHaproxySections(names: readonly string[]): void {
  haproxySections = new Set(names);
}

export function newGlobalConfig(): GlobalConfig {
  return {
    maxconn: 0,
    nbthread: os.cpuCount(),
    pidfile: null,
    logTargets: [],
    logTag: 'switchyard',
    logSendHostname: null,
    hardStopAfter: 0,
    statsSockets: [],
    localPeer: os.hostname(),
    node: os.hostname(),
    bufsize: DEFAULT_BUFSIZE,
    maxHttpHdr: DEFAULT_MAXHDR,
    h1Limits: h1LimitsFor(DEFAULT_BUFSIZE, DEFAULT_MAXHDR),
  };
}

export function newParseState(diag: Diagnostics): ParseState {
  return { global: newGlobalConfig(), proxies: [], defaults: [], diag, scratch: new Map() };
}

export function parseLines(lines: LineLike[], state: ParseState): void {
  let section: SectionKind | null = null;
  let proxy: ProxyConfig | undefined;
  let skipSection = false;
  const diag = state.diag;
  for (const l of lines) {
    const words = l.words;
    if (words.length === 0) continue;
    const head = words[0];
    const sec = findSection(head);
    if (sec) {
      section = sec.name;
      skipSection = false;
      if (sec.proxyless) {
        proxy = undefined;
        skipSection = !sec.proxyless(state, words.slice(1), l.file, l.line);
        continue;
      }
      proxy = sec.open(state, words.slice(1), l.file, l.line);
      if (section !== 'global' && proxy === undefined) skipSection = true;
      continue;
    }
    if (haproxySections.has(head)) {
      diag.error(l.file, l.line, head, `section '${head}' is an HAProxy section not supported by Switchyard yet`);
      section = null;
      skipSection = true;
      continue;
    }
    if (skipSection) continue;
    if (section === null) {
      diag.error(l.file, l.line, head, `unknown keyword '${head}' out of section (expected one of: ${sectionNames().join(', ')})`);
      continue;
    }
    dispatch(l, section, proxy, state);
  }
}

function dispatch(l: LineLike, section: SectionKind, proxy: ProxyConfig | undefined, state: ParseState): void {
  const diag = state.diag;
  let words = l.words;
  let negated = false;
  // "no option X" / "default option X" (HAProxy's KWM_NO / KWM_DEF modifiers).
  let isDefault = false;
  if ((words[0] === 'no' || words[0] === 'default') && words.length > 1) {
    negated = words[0] === 'no';
    isDefault = words[0] === 'default';
    words = words.slice(1);
  }
  const found = findKeyword(words);
  const shown = found ? found.def.name : words.length > 1 && (words[0] === 'option' || words[0] === 'timeout') ? `${words[0]} ${words[1]}` : words[0];
  if (!found) {
    const unsup = findUnsupported(words);
    if (unsup) {
      diag.error(l.file, l.line, unsup.name, `'${unsup.name}' ${unsup.why.startsWith('removed') || unsup.why.startsWith('deprecated') ? unsup.why : `is an HAProxy keyword ${unsup.why}`}`);
      return;
    }
    const hint = suggestKeyword(shown, section);
    diag.error(l.file, l.line, shown, `unknown keyword '${shown}' in '${section}' section${hint ? `; did you mean '${hint}'?` : ''}`);
    return;
  }
  const def = found.def;
  if (!def.sections.includes(section)) {
    diag.error(l.file, l.line, def.name, `'${def.name}' is not allowed in '${section}' section (allowed in: ${def.sections.join(', ')})`);
    return;
  }
  if (isDefault) {
    diag.error(l.file, l.line, def.name, `the 'default' modifier is not supported by Switchyard yet`);
    return;
  }
  if (negated && !def.negatable) {
    diag.error(l.file, l.line, def.name, `'no' is not supported for '${def.name}'`);
    return;
  }
  const ctx: KeywordContext = {
    file: l.file,
    line: l.line,
    keyword: def.name,
    args: words.slice(found.used),
    section,
    proxy,
    state,
    negated,
    error: (reason: string) => diag.error(l.file, l.line, def.name, reason),
    warn: (reason: string) => diag.warn(l.file, l.line, def.name, reason),
  };
  def.parse(ctx);
}
