/**
 * Config keywords of the rules engine: `acl`, `use_backend`, the rule sets
 * (`tcp-request connection|session|content`, `tcp-response content`,
 * `http-request`, `http-response`, `http-after-response`) and the inspect
 * delays. Lines are stored as words (plain data for the workers); the master
 * compiles them all once names are known (finalizeRules, from
 * config/compile.ts) so that errors carry file:line, and each worker
 * compiles them again for itself.
 */
import * as fs from 'node:fs';
import { registerKeywords, type KeywordContext, type ParseState, type SectionKind } from '../registry';
import type { ProxyConfig, RuleSetName } from '../config/compiled';
import { parseTime } from '../config/args';
import { RULE_SETS, findAction, actionNames, compileProxyRules } from './rule-set';
import { conditionStart } from './acl';
import { compileLogFormat } from '../log/log-format';
import { AT_HTTP_REQ, AT_LOG } from './sample';
import { httpErrorPages } from '../http/http-errors';

const PROXY: SectionKind[] = ['defaults', 'frontend', 'backend', 'listen'];
const FE_ONLY: SectionKind[] = ['frontend', 'listen'];

/** HAProxy: ACLs and rules are only supported in named defaults sections. */
function anonymousDefaults(ctx: KeywordContext): boolean {
  if (ctx.section === 'defaults' && ctx.proxy!.name === '') {
    ctx.error(`'${ctx.keyword}' is not supported in anonymous 'defaults' sections (only named defaults sections may hold ACLs and rules)`);
    return true;
  }
  return false;
}

function sameOriginAcls(p: ProxyConfig): number {
  let n = 0;
  for (const a of p.acls) if (a.origin === '') n++;
  return n;
}

function ruleKeyword(set: RuleSetName): Parameters<typeof registerKeywords>[0][number] {
  const info = RULE_SETS[set];
  const sections: SectionKind[] = ['defaults'];
  if (info.fe) sections.push('frontend');
  if (info.be) sections.push('backend');
  sections.push('listen');
  return {
    name: set,
    sections,
    usage: `${set} <action> [options...] [ { if | unless } <condition> ]`,
    parse(ctx) {
      if (anonymousDefaults(ctx)) return;
      const words = ctx.args;
      const cs = conditionStart(words);
      if (cs === 0) return ctx.error(`'${set}' expects an action; valid ones are: ${actionNames(set).join(', ')}`);
      if (!findAction(words[0], set)) {
        return ctx.error(`'${set}' expects ${actionNames(set).map(n => `'${n}'`).join(', ')}, but got '${words[0]}'`);
      }
      const p = ctx.proxy!;
      const w = [...words];
      // `capture <sample> len <n>`: a new capture slot at the end of the
      // frontend's list, made now so that master and workers agree on it;
      // the rule then names it by id (HAProxy does the same at parse time).
      if (w[0] === 'capture' && (set === 'http-request' || set === 'http-response')) {
        const li = w.lastIndexOf('len', cs - 1);
        if (li > 1 && li === cs - 2) {
          if (ctx.section !== 'frontend' && ctx.section !== 'listen') return ctx.error(`'${set} capture ... len' is only available in frontend sections`);
          const n = Number(w[li + 1]);
          if (!Number.isInteger(n) || n <= 0) return ctx.error(`'capture' : invalid length '${w[li + 1]}'`);
          const list = set === 'http-request' ? p.reqCaptures : p.resCaptures;
          list.push({ name: '', len: n });
          w.splice(li, 2, 'id', String(list.length - 1));
        }
      }
      p.rules.push({ file: ctx.file, line: ctx.line, set, words: w, aclCount: sameOriginAcls(p), origin: '' });
    },
  };
}

registerKeywords([
  {
    name: 'acl', sections: PROXY, usage: 'acl <aclname> <criterion> [flags] [operator] [<value>] ...',
    parse(ctx) {
      if (anonymousDefaults(ctx)) return;
      const [name, ...words] = ctx.args;
      if (!name) return ctx.error(`'acl' expects a name followed by a criterion`);
      if (words.length === 0) return ctx.error(`missing criterion after ACL name '${name}'`);
      ctx.proxy!.acls.push({ file: ctx.file, line: ctx.line, name, words, origin: '' });
    },
  },
  {
    name: 'use_backend', sections: FE_ONLY, usage: 'use_backend <backend> [ { if | unless } <condition> ]',
    parse(ctx) {
      const a = ctx.args;
      if (a.length === 0) return ctx.error(`'use_backend' expects a backend name`);
      if (a.length > 1 && a[1] !== 'if' && a[1] !== 'unless') return ctx.error(`expects 'if' or 'unless' after the backend name, got '${a[1]}'`);
      const p = ctx.proxy!;
      p.useBackends.push({ file: ctx.file, line: ctx.line, backend: a[0], cond: a.length > 1 ? a.slice(1) : null, aclCount: sameOriginAcls(p) });
    },
  },
  {
    name: 'use-server', sections: ['backend', 'listen'], usage: 'use-server <server> { if | unless } <condition>',
    parse(ctx) {
      const a = ctx.args;
      if (a.length === 0) return ctx.error(`'use-server' expects a server name`);
      if (a[1] !== 'if' && a[1] !== 'unless') return ctx.error(`'use-server' requires either 'if' or 'unless' followed by a condition`);
      const p = ctx.proxy!;
      p.useServers.push({ file: ctx.file, line: ctx.line, server: a[0], cond: a.slice(1), aclCount: sameOriginAcls(p) });
    },
  },
  ruleKeyword('tcp-request connection'),
  ruleKeyword('tcp-request session'),
  ruleKeyword('tcp-request content'),
  ruleKeyword('tcp-response content'),
  ruleKeyword('http-request'),
  ruleKeyword('http-response'),
  ruleKeyword('http-after-response'),
  {
    name: 'tcp-request inspect-delay', sections: ['defaults', 'frontend', 'backend', 'listen'], usage: 'tcp-request inspect-delay <timeout>',
    parse(ctx) {
      if (ctx.args.length !== 1) return ctx.error(`'tcp-request inspect-delay' expects a timeout`);
      const t = parseTime(ctx.args[0]);
      if (!t.ok) return ctx.error(`'tcp-request inspect-delay' : ${t.error}`);
      ctx.proxy!.inspectDelay = t.value;
    },
  },
  {
    name: 'tcp-response inspect-delay', sections: ['defaults', 'backend', 'listen'], usage: 'tcp-response inspect-delay <timeout>',
    parse(ctx) {
      if (ctx.args.length !== 1) return ctx.error(`'tcp-response inspect-delay' expects a timeout`);
      const t = parseTime(ctx.args[0]);
      if (!t.ok) return ctx.error(`'tcp-response inspect-delay' : ${t.error}`);
      ctx.proxy!.resInspectDelay = t.value;
    },
  },
]);

/**
 * Reads a pattern or map file once per load (the master; workers get the
 * text in CompiledConfig.patternFiles). One reader per load, shared by every
 * place an expression can read a file (rules, log-format...).
 */
export function patternFileReader(state: ParseState): { files: Record<string, string>; read(path: string): string | undefined } {
  let r = state.scratch.get('patternFiles') as { files: Record<string, string>; read(path: string): string | undefined } | undefined;
  if (r === undefined) {
    const files: Record<string, string> = {};
    r = { files, read: fileReader(files) };
    state.scratch.set('patternFiles', r);
  }
  return r;
}

function fileReader(files: Record<string, string>): (path: string) => string | undefined {
  const missing = new Set<string>();
  return (path) => {
    if (path in files) return files[path];
    if (missing.has(path)) return undefined;
    try {
      const text = fs.readFileSync(path, 'latin1');
      files[path] = text;
      return text;
    } catch {
      missing.add(path);
      return undefined;
    }
  };
}

/**
 * After parsing (config/compile.ts): drops HTTP rules from TCP proxies with
 * HAProxy's warning, checks the defaults-with-rules constraints, compiles
 * every proxy's ACLs and rules to report their errors, and returns the
 * pattern files read.
 */
export function finalizeRules(state: ParseState): Record<string, string> {
  const { files, read: file } = patternFileReader(state);
  const diag = state.diag;
  // A named defaults section with rules is used by frontends or by backends, not both.
  const users = new Map<string, { fe: boolean; be: boolean }>();
  for (const p of state.proxies) {
    const origins = new Set<string>();
    for (const r of p.rules) if (r.origin !== '') origins.add(r.origin);
    for (const o of origins) {
      const u = users.get(o) ?? { fe: false, be: false };
      if (p.cap.fe && p.cap.be) {
        diag.error(p.file, p.line, 'listen', `proxy '${p.name}' cannot use defaults section '${o}' because it defines TCP/HTTP rules: a listen section cannot use a defaults section defining such rules`);
      } else if ((p.cap.fe && u.be) || (p.cap.be && u.fe)) {
        diag.error(p.file, p.line, p.cap.fe ? 'frontend' : 'backend', `proxy '${p.name}' cannot use defaults section '${o}' because it defines TCP/HTTP rules and is already used by a ${u.fe ? 'frontend' : 'backend'}: such a defaults section cannot be used by frontends and backends at the same time`);
      }
      if (p.cap.fe) u.fe = true;
      if (p.cap.be) u.be = true;
      users.set(o, u);
    }
    if (p.mode !== 'http') {
      const http = p.rules.filter(r => RULE_SETS[r.set].http);
      if (http.length > 0) {
        for (const r of http) diag.warn(r.file, r.line, r.set, `'${r.set}' rules ignored for proxy '${p.name}' as they require HTTP mode`);
        p.rules = p.rules.filter(r => !RULE_SETS[r.set].http);
      }
    }
    if (p.mode === 'http') {
      for (const r of p.rules) if (r.set === 'tcp-response content') diag.error(r.file, r.line, r.set, `'tcp-response content' rules in 'mode http' are not supported by Switchyard yet (proxy '${p.name}'); use http-response rules`);
    }
    if (!p.cap.fe) p.rules = p.rules.filter(r => RULE_SETS[r.set].be);
    if (!p.cap.be) p.rules = p.rules.filter(r => RULE_SETS[r.set].fe);
  }
  const userlists = (state.scratch.get('userlistNames') as ReadonlySet<string> | undefined) ?? new Set<string>();
  // Inherited lines are compiled with each proxy: report each message once.
  const seen = new Set<string>();
  const once = (f: string, l: number, m: string): boolean => {
    const k = f + ':' + l + ':' + m;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  };
  const report = {
    error: (f: string, l: number, k: string, m: string) => { if (once(f, l, m)) diag.error(f, l, k, m); },
    warn: (f: string, l: number, k: string, m: string) => { if (once(f, l, m)) diag.warn(f, l, k, m); },
  };
  const httpErrors = httpErrorPages(state);
  for (const p of state.proxies) {
    compileProxyRules(p, { proxies: state.proxies, file, userlists, httpErrors }, report);
    if (p.uniqueIdFormat !== null && p.cap.fe) {
      const c = compileLogFormat(p.uniqueIdFormat, { http: true, env: { proxy: p, proxies: state.proxies, file, userlists, at: AT_HTTP_REQ | AT_LOG, where: 'unique-id-format' } });
      if (!c.ok) report.error(p.file, p.line, 'unique-id-format', `proxy '${p.name}': failed to parse unique-id-format : ${c.error}`);
    }
  }
  // A named defaults section nobody uses still gets its lines checked.
  for (const d of state.defaults) {
    if (d.acls.length + d.rules.length > 0 || d.errorReplies !== undefined) compileProxyRules(d, { proxies: state.proxies, file, userlists, httpErrors }, report);
  }
  return files;
}
