/**
 * Rule sets (HAProxy configuration.txt 4.2: tcp-request, tcp-response,
 * http-request, http-response, http-after-response) and the switching rules
 * (`use_backend`). Each `<set> <action> [args] [if|unless <cond>]` line is
 * kept as words in the compiled config (plain data for the workers) and
 * compiled by compileProxyRules() twice: by the master to report errors with
 * file:line, and by each worker to run them. Actions are registered by the
 * module that implements them (registerActions), like HAProxy's
 * action_kw_list tables; this file only knows the verdicts.
 *
 * Evaluation (runRules) follows HAProxy's: rules in declaration order (a
 * named defaults section's first), the condition decides, the action either
 * lets evaluation continue (set-header, set-var...) or ends the rule set with
 * a verdict (allow/accept, deny/reject, a reply...). A condition that cannot
 * be decided yet (ACL_MISS, e.g. req.ssl_sni with half a ClientHello) makes
 * the set yield until more data or the end of `tcp-request inspect-delay`;
 * evaluation then resumes at that rule, so actions already run are not run
 * twice.
 */
import type { ProxyConfig } from '../config/compiled';
import type { ProxyRuntime, ServerRuntime } from '../engine/proxy-runtime';
import { serverUp } from '../proxy/server-state';
import { compileLogFormat, renderLogFormat, EMPTY_LOG_RECORD, type LogRecord, type CompiledLogFormat } from '../log/log-format';
import { type CompileEnv, type SampleContext, AT_ANY, AT_CONN, AT_SESS, AT_REQ_CNT, AT_HTTP_REQ, AT_RES_CNT, AT_HTTP_RES, AT_AFTER_RES } from './sample';
import { AclScope, type Condition, parseCondition, conditionStart, ACL_MISS, ACL_FAIL, ACL_PASS } from './acl';

import type { RuleSetName, RuleSource, SwitchSource, AclSource } from '../config/compiled';
export type { RuleSetName, RuleSource, SwitchSource, AclSource };

/** Where each rule set runs (sample.ts AT_*), and whether a frontend or a backend may hold it. */
export const RULE_SETS: Readonly<Record<RuleSetName, { at: number; fe: boolean; be: boolean; http: boolean }>> = {
  'tcp-request connection': { at: AT_CONN, fe: true, be: false, http: false },
  'tcp-request session': { at: AT_SESS, fe: true, be: false, http: false },
  'tcp-request content': { at: AT_REQ_CNT, fe: true, be: true, http: false },
  'tcp-response content': { at: AT_RES_CNT, fe: false, be: true, http: false },
  'http-request': { at: AT_HTTP_REQ, fe: true, be: true, http: true },
  'http-response': { at: AT_HTTP_RES, fe: true, be: true, http: true },
  'http-after-response': { at: AT_AFTER_RES, fe: true, be: true, http: true },
};

/* Verdicts of an action and of a rule set (HAProxy's ACT_RET_*). */
/** Go on with the next rule. */
export const ACT_CONTINUE = 0;
/** Stop this rule set, go on with the stream (allow, accept). */
export const ACT_STOP = 1;
/** The rule needs more data: run the set again later from this rule. */
export const ACT_YIELD = 2;
/** The action answered or redirected: the stream sends what it prepared (host.reply). */
export const ACT_DONE = 3;
/** Deny: the stream answers with the deny status (HTTP) or closes (TCP reject). */
export const ACT_DENY = 4;
/** Abort the connection silently (silent-drop, reject in tcp-request connection/session). */
export const ACT_ABORT = 5;
/** Internal error (500). */
export const ACT_ERROR = 6;
/** Tarpit: hold the client then answer the deny status. */
export const ACT_TARPIT = 7;
/** wait-for-body: the stream reads the body, then runs the set again from this rule. */
export const ACT_WAIT_BODY = 8;

/** What compiling an action gets. */
export interface ActionEnv extends CompileEnv {
  readonly set: RuleSetName;
  /** Warnings with the rule's file:line. */
  warn(msg: string): void;
}

/** A compiled action. `run` returns an ACT_* verdict. */
export interface Action {
  run(host: RuleHost): number;
}

export interface ActionDef {
  /** The action keyword; with `prefix`, `name(...)` (set-var(txn.x), track-sc0...). */
  name: string;
  prefix?: boolean;
  sets: readonly RuleSetName[];
  usage: string;
  /** words[0] is the action keyword as written (with its parenthesised part). Returns the action or an error. */
  parse(words: string[], env: ActionEnv): Action | string;
}

/**
 * What a stream offers actions beyond fetching samples. Actions that answer
 * set `reply` (an object the HTTP actions define) before returning
 * ACT_DONE/ACT_DENY; the stream interprets it.
 */
export interface RuleHost extends SampleContext {
  reply: unknown;
  /** What log-format variables (%ci, %ID, %T...) of an lf-string know at this point. */
  logRecord(): LogRecord;
  /** set-log-level: syslog severity of this transaction's line (-1: silent). */
  logLevel?: number;
  /** set-timeout server|tunnel: this stream's value instead of the backend's (ms). */
  timeoutOverride?(which: 'server' | 'tunnel', ms: number): void;
  /** set-src / set-dst: the addresses the rest of the stream (logs, X-Forwarded-For, fetches) sees. */
  overrideAddress?(which: 'src' | 'dst', ip: string, port: number | null): void;
  /** wait-for-body: true when the rules must pause until the body is read (the stream resumes them). */
  waitForBody?(ms: number, atLeast: number): boolean;
  /** http-request/http-response capture: a value into capture slot `id` (%hr / %hs). */
  captureValue?(response: boolean, id: number, value: string): void;
}

const actions = new Map<string, ActionDef[]>();

export function registerActions(defs: ActionDef[]): void {
  for (const d of defs) {
    let list = actions.get(d.name);
    if (!list) { list = []; actions.set(d.name, list); }
    for (const o of list) for (const s of d.sets) if (o.sets.includes(s)) throw new Error(`action '${d.name}' registered twice for '${s}'`);
    list.push(d);
  }
}

export function findAction(word: string, set: RuleSetName): ActionDef | undefined {
  const paren = word.indexOf('(');
  const name = paren < 0 ? word : word.slice(0, paren);
  const list = actions.get(name);
  if (!list) return undefined;
  for (const d of list) if (d.sets.includes(set) && (paren < 0 || d.prefix)) return d;
  return undefined;
}

/** Action keywords of a set, for "expects ..." messages. */
export function actionNames(set: RuleSetName): string[] {
  const out: string[] = [];
  for (const [name, list] of actions) if (list.some(d => d.sets.includes(set))) out.push(name);
  return out.sort();
}

export class Rule {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly action: Action,
    readonly cond: Condition | null,
  ) {}
}

/**
 * A `use_backend` compiled; `backend` is resolved by the worker (null in
 * the master). A name holding '%' is a log-format (`fmt`) rendered per
 * request and looked up among the backends (`byName`).
 */
export class SwitchRule {
  constructor(
    readonly name: string,
    readonly cond: Condition | null,
    public backend: ProxyRuntime | null,
    readonly fmt: CompiledLogFormat | null = null,
    readonly byName: ReadonlyMap<string, ProxyRuntime> | null = null,
  ) {}
}

/** A `use-server` compiled; the server (or the names, for a log-format) resolved by the worker. */
export class ServerRule {
  constructor(
    readonly cond: Condition,
    readonly server: ServerRuntime | null,
    readonly fmt: CompiledLogFormat | null = null,
  ) {}
}

/** Every rule of one proxy, compiled. */
export class ProxyRules {
  readonly tcpReqConn: Rule[] = [];
  readonly tcpReqSess: Rule[] = [];
  readonly tcpReqCnt: Rule[] = [];
  readonly tcpResCnt: Rule[] = [];
  readonly httpReq: Rule[] = [];
  readonly httpRes: Rule[] = [];
  readonly httpAfterRes: Rule[] = [];
  readonly switching: SwitchRule[] = [];
  readonly useServers: ServerRule[] = [];

  list(set: RuleSetName): Rule[] {
    switch (set) {
      case 'tcp-request connection': return this.tcpReqConn;
      case 'tcp-request session': return this.tcpReqSess;
      case 'tcp-request content': return this.tcpReqCnt;
      case 'tcp-response content': return this.tcpResCnt;
      case 'http-request': return this.httpReq;
      case 'http-response': return this.httpRes;
      case 'http-after-response': return this.httpAfterRes;
    }
  }

  get empty(): boolean {
    return this.tcpReqConn.length + this.tcpReqSess.length + this.tcpReqCnt.length + this.tcpResCnt.length +
      this.httpReq.length + this.httpRes.length + this.httpAfterRes.length + this.switching.length + this.useServers.length === 0;
  }
}

export interface RuleCompileBase {
  proxies: readonly ProxyConfig[];
  file(path: string): string | undefined;
  userlists?: ReadonlySet<string>;
  runtime?: ReadonlyMap<string, ProxyRuntime>;
  /** `http-errors` sections: name → status → page (`errorfiles <name>` in replies). */
  httpErrors?: Readonly<Record<string, Readonly<Record<number, string>>>>;
}

/**
 * Something else of a proxy compiled with its rules, with the same
 * environment and error reporting (e.g. http-error pages rendered per
 * request, http/reply.ts): registered by the module that owns it.
 */
export type ProxyCompiler = (p: ProxyConfig, env: (at: number, where: string) => CompileEnv, report: RuleReport) => void;

const proxyCompilers: ProxyCompiler[] = [];

export function registerProxyCompiler(c: ProxyCompiler): void {
  proxyCompilers.push(c);
}

export interface RuleReport {
  error(file: string, line: number, keyword: string, msg: string): void;
  warn(file: string, line: number, keyword: string, msg: string): void;
}

/**
 * Compiles a proxy's ACLs, rules and switching rules. ACLs and rules of a
 * named defaults section (origin) see only that section's ACLs.
 */
export function compileProxyRules(p: ProxyConfig, base: RuleCompileBase, report: RuleReport): ProxyRules {
  const out = new ProxyRules();
  const scopes = new Map<string, AclScope>();
  const envFor = (at: number, where: string): CompileEnv => ({
    proxy: p, proxies: base.proxies, file: base.file, at, where, userlists: base.userlists, runtime: base.runtime, httpErrors: base.httpErrors,
  });
  // ACLs are compiled for every point; a condition using one where none of
  // its fetches has data gets HAProxy's "will never match" warning (acl.ts).
  const scopeFor = (origin: string): AclScope => {
    let s = scopes.get(origin);
    if (!s) {
      s = new AclScope(envFor(AT_ANY, 'acl'));
      for (const a of p.acls) {
        if (a.origin !== origin) continue;
        const err = s.add(a, (m) => report.warn(a.file, a.line, 'acl', m));
        if (err) report.error(a.file, a.line, 'acl', err);
      }
      scopes.set(origin, s);
    }
    return s;
  };
  // Bad ACLs are reported even when nothing uses them (HAProxy parses them at once).
  scopeFor('');
  for (const r of p.rules) {
    const setInfo = RULE_SETS[r.set];
    const at = setInfo.at;
    const env = envFor(at, r.set);
    const cs = conditionStart(r.words);
    const actWords = r.words.slice(0, cs);
    if (actWords.length === 0) { report.error(r.file, r.line, r.set, `'${r.set}' expects an action; valid ones are: ${actionNames(r.set).join(', ')}`); continue; }
    const def = findAction(actWords[0], r.set);
    if (!def) {
      report.error(r.file, r.line, r.set, `'${r.set}' expects ${actionNames(r.set).map(n => `'${n}'`).join(', ')}, but got '${actWords[0]}'`);
      continue;
    }
    const aenv: ActionEnv = { ...env, set: r.set, warn: (m) => report.warn(r.file, r.line, r.set, m) };
    const action = def.parse(actWords, aenv);
    if (typeof action === 'string') { report.error(r.file, r.line, r.set, `'${r.set} ${actWords[0]}' : ${action}`); continue; }
    let cond: Condition | null = null;
    if (cs < r.words.length) {
      const c = parseCondition(r.words.slice(cs), scopeFor(r.origin), r.aclCount, env, (m) => report.warn(r.file, r.line, r.set, m));
      if (typeof c === 'string') { report.error(r.file, r.line, r.set, `error detected while parsing an '${r.set} ${actWords[0]}' condition : ${c}`); continue; }
      cond = c;
    }
    out.list(r.set).push(new Rule(r.file, r.line, action, cond));
  }
  const switchAt = p.mode === 'http' ? AT_HTTP_REQ : AT_REQ_CNT;
  for (const u of p.useBackends) {
    let cond: Condition | null = null;
    if (u.cond !== null) {
      const c = parseCondition(u.cond, scopeFor(''), u.aclCount, envFor(switchAt, 'use_backend'), (m) => report.warn(u.file, u.line, 'use_backend', m));
      if (typeof c === 'string') { report.error(u.file, u.line, 'use_backend', `error detected while parsing switching rule : ${c}`); continue; }
      cond = c;
    }
    if (u.backend.includes('%')) {
      const f = compileLogFormat(u.backend, { http: p.mode === 'http', rule: true, env: envFor(switchAt, 'use_backend') });
      if (!f.ok) { report.error(u.file, u.line, 'use_backend', `invalid backend name format '${u.backend}' : ${f.error}`); continue; }
      out.switching.push(new SwitchRule(u.backend, cond, null, f.fmt, base.runtime ?? null));
      continue;
    }
    out.switching.push(new SwitchRule(u.backend, cond, base.runtime?.get(u.backend) ?? null));
  }
  const srvAt = p.mode === 'http' ? AT_HTTP_REQ : AT_REQ_CNT;
  for (const u of p.useServers) {
    const c = parseCondition(u.cond, scopeFor(''), u.aclCount, envFor(srvAt, 'use-server'), (m) => report.warn(u.file, u.line, 'use-server', m));
    if (typeof c === 'string') { report.error(u.file, u.line, 'use-server', `error detected while parsing switching rule : ${c}`); continue; }
    if (u.server.includes('%')) {
      const f = compileLogFormat(u.server, { http: p.mode === 'http', rule: true, env: envFor(srvAt, 'use-server') });
      if (!f.ok) { report.error(u.file, u.line, 'use-server', `invalid server name format '${u.server}' : ${f.error}`); continue; }
      out.useServers.push(new ServerRule(c, null, f.fmt));
      continue;
    }
    if (!p.servers.some(s => s.name === u.server)) { report.error(u.file, u.line, 'use-server', `unable to find server '${u.server}' in backend '${p.name}'`); continue; }
    const rt = base.runtime?.get(p.name);
    out.useServers.push(new ServerRule(c, rt?.servers.find(s => s.cfg.name === u.server) ?? null));
  }
  for (const c of proxyCompilers) c(p, envFor, report);
  return out;
}

/**
 * The server the backend's `use-server` rules pick (first matching rule
 * whose server is up; a server that is down is skipped, as HAProxy does
 * without `option persist`, unless `downOk`: option persist or a matching
 * force-persist, http/cookie-persist.ts), or null.
 */
export function pickUseServer(be: ProxyRuntime, host: SampleContext, downOk = false): ServerRuntime | null {
  const rules = be.rules!.useServers;
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i];
    if (r.cond.exec(host, true) !== ACL_PASS) continue;
    let srv = r.server;
    if (r.fmt !== null) {
      const name = renderLogFormat(r.fmt, r.fmt.needsRecord ? (host as RuleHost).logRecord() : EMPTY_LOG_RECORD, host);
      srv = be.servers.find(s => s.cfg.name === name) ?? null;
    }
    if (srv !== null && (downOk || serverUp(srv.state))) return srv;
  }
  return null;
}

/**
 * Runs `rules` from index `from`. Returns the verdict; on ACT_YIELD,
 * host-side state must remember `yieldAt` (the rule to resume at).
 */
export let yieldAt = 0;
export function runRules(rules: readonly Rule[], host: RuleHost, final: boolean, from = 0): number {
  for (let i = from; i < rules.length; i++) {
    const r = rules[i];
    if (r.cond !== null) {
      const c = r.cond.exec(host, final);
      if (c === ACL_MISS) { yieldAt = i; return ACT_YIELD; }
      if (c === ACL_FAIL) continue;
    }
    const v = r.action.run(host);
    if (v === ACT_CONTINUE) continue;
    if (v === ACT_YIELD || v === ACT_WAIT_BODY) { yieldAt = i; return v; }
    return v;
  }
  return ACT_CONTINUE;
}

/**
 * The backend the switching rules pick (first matching `use_backend`),
 * ACT_YIELD-like undefined when a condition needs more data, null when none
 * matched (the caller falls back to default_backend).
 */
export function pickBackend(rules: ProxyRules, host: SampleContext, final: boolean): ProxyRuntime | null | undefined {
  const sw = rules.switching;
  for (let i = 0; i < sw.length; i++) {
    const r = sw[i];
    if (r.cond !== null) {
      const c = r.cond.exec(host, final);
      if (c === ACL_MISS) return undefined;
      if (c === ACL_FAIL) continue;
    }
    if (r.fmt !== null) {
      // HAProxy: a dynamic name that names no backend ends the rules (default_backend).
      const f = r.fmt;
      const name = renderLogFormat(f, f.needsRecord ? (host as RuleHost).logRecord() : EMPTY_LOG_RECORD, host);
      const be = r.byName !== null ? r.byName.get(name) : undefined;
      // An HTTP frontend cannot hand a request to a TCP backend (checked at load for static names).
      if (be === undefined || (host.httpReq !== null && be.cfg.mode !== 'http')) return null;
      return be;
    }
    return r.backend;
  }
  return null;
}

