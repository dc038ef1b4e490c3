/**
 * The health and agent checks of the whole node, run by the master: one
 * check per server (never per worker), HAProxy's timing and health counter
 * (src/check.c), results applied through ServerAdmin, which replicates the
 * state to every worker and logs HAProxy's lines.
 *
 * Timing (check.c start_checks(), process_chk_conn(), server.c
 * srv_getinter()): the first checks are spread over the smallest interval of
 * at least 1s (or the check's own when larger), in server order; then each
 * check runs `inter` after the previous one ended when the server is fully
 * up, `fastinter` while it is going up or down (or not checked yet),
 * `downinter` once it is fully down.
 *
 * Health counter (set_server_check_status()): from 0 to rise+fall-1; a
 * success adds 1 and jumps to the top once it reaches `rise`; a failure takes
 * 1 and drops to 0 below `rise`. 0 is DOWN, the top is UP. Servers start UP
 * with health = rise ("UP 1/3": the first failure takes them down), as
 * HAProxy does.
 *
 * Across a reload the checks keep running: servers still there (same
 * backend and server names) keep their counters, status and schedule.
 */
import { isStaticBalance } from '@switchyard/core/backend/lb-config';
import type * as tls from 'node:tls';
import type { CompiledConfig, ProxyConfig, ServerConfig } from '@switchyard/core/config/compiled';
import {
  ADMF_FDRAIN, ADMF_FMAINT, ADMF_MAINT, SRV_ST_RUNNING, SRV_ST_STOPPED, SRV_ST_STOPPING,
} from '@switchyard/core/proxy/server-state';
import {
  CHECK_STATUSES, CHK_RES_CONDPASS, CHK_RES_FAILED, CHK_RES_NEUTRAL, CHK_RES_PASSED, CHK_RES_UNKNOWN,
  HCHK_HANA, HCHK_INI, HCHK_L57DATA, HCHK_L7STS, HCHK_UNKNOWN,
  ONERR_FAILCHK, ONERR_MARKDWN, ONERR_SUDDTH,
  type CheckParams, type CheckRule, type ConnectRule,
} from '@switchyard/core/checks/types';
import { agentResult, type AgentReply } from '@switchyard/core/checks/agent';
import { applyObserved, HANA_DESC } from '@switchyard/core/checks/observe';
import { serverTlsOptions } from '@switchyard/core/tls/server-ssl';
import { Probe, compileRules, type ProbeResult, type ProbeSpec, type RunRule } from './probe';
import type { Supervisor } from '../supervisor';
import type { CheckHooks, ServerAdmin } from '../server-admin';
import { weightChange } from './weight';

/** SRV_CHK_INTER_THRES: intervals below 1s do not set the spread of the first checks. */
const INTER_THRES = 1000;

/** One check (health or agent) of one server. */
export interface CheckRun {
  readonly agent: boolean;
  srv: ServerCheck;
  params: CheckParams & { send?: string };
  health: number;
  /** HCHK_* of the last result, CHK_RES_* it meant, HTTP code, info text, duration (-1: none). */
  status: number;
  result: number;
  code: number;
  desc: string;
  duration: number;
  /** CHK_ST_ENABLED / CHK_ST_PAUSED / CHK_ST_INPROGRESS. */
  enabled: boolean;
  paused: boolean;
  inProgress: boolean;
  startedAt: number;
  timer: NodeJS.Timeout | null;
  /** When the timer fires (Unix ms), to keep the schedule across a reload. */
  nextAt: number;
  probe: Probe | null;
  tlsOptions: tls.ConnectionOptions | null;
  /** Set when a reload replaced this check: a probe in flight reports to the replacement. */
  replacedBy: CheckRun | null;
  dead: boolean;
}

/** The checks of one server, and its counters that belong to checks. */
export interface ServerCheck {
  p: number;
  s: number;
  key: string;
  health: CheckRun | null;
  agent: CheckRun | null;
  /** chkfail, hanafail. */
  failedChecks: number;
  failedHana: number;
  consecutiveErrors: number;
}

interface ProxyRules { kind: 'default' | 'tcp-check' | 'http'; rules: RunRule[]; disableOn404: boolean }

const IMPLICIT_CONNECT: ConnectRule = {
  t: 'connect', index: 0, comment: null, port: 0, addr: null, ssl: false, sni: null, alpn: null,
  sendProxy: false, linger: false, dflt: true, implicit: true,
};

/** The agent's ruleset (check.c srv_parse_agent_check()): connect, send agent-send, read the reply. */
function agentRules(send: string): RunRule[] {
  const rules: CheckRule[] = [IMPLICIT_CONNECT];
  rules.push({ t: 'send', index: 0, comment: null, data: send });
  rules.push({
    t: 'expect', index: 1, comment: null, type: 'agent', pattern: '', codes: [], hdr: null, inverse: false, minRecv: -1,
    okStatus: HCHK_UNKNOWN, errStatus: HCHK_UNKNOWN, toutStatus: HCHK_UNKNOWN, onSuccess: null, onError: null, head: 2,
  });
  return compileRules(rules);
}

export class HealthChecker implements CheckHooks {
  private cfg: CompiledConfig | null = null;
  /** [proxy][server], like the supervisor's state table. */
  private table: Array<Array<ServerCheck | null>> = [];
  private rules: Array<ProxyRules | null> = [];
  private stopped = false;

  constructor(private readonly sup: Supervisor, private readonly admin: ServerAdmin) {
    admin.hooks = this;
    sup.on('observe', (r: number[]) => this.observed(r));
  }

  /** Checks of the first configuration; the workers are serving. */
  start(cfg: CompiledConfig): void {
    this.install(cfg, new Map());
  }

  /** A reload's configuration is now serving: keep the checks of servers still there. */
  reload(cfg: CompiledConfig): void {
    const old = new Map<string, ServerCheck>();
    for (const row of this.table) for (const sc of row) if (sc) old.set(sc.key, sc);
    this.install(cfg, old);
  }

  stop(): void {
    this.stopped = true;
    for (const row of this.table) for (const sc of row) for (const c of [sc?.health, sc?.agent]) if (c) this.kill(c);
  }

  private kill(c: CheckRun): void {
    c.dead = true;
    if (c.timer) { clearTimeout(c.timer); c.timer = null; }
  }

  private install(cfg: CompiledConfig, old: Map<string, ServerCheck>): void {
    this.cfg = cfg;
    this.rules = cfg.proxies.map(p => (p.checkRules ? { kind: p.checkRules.kind as ProxyRules['kind'], rules: compileRules(p.checkRules.rules), disableOn404: p.checkRules.disableOn404 } : null));
    const now = Date.now();
    const fresh: CheckRun[] = [];
    this.table = cfg.proxies.map((px, p) => px.servers.map((sv, s) => {
      const key = `${px.name}/${sv.name}`;
      const prev = px.cap.be ? old.get(key) : undefined;
      old.delete(key);
      const checks = sv.checks;
      if (!px.cap.be || px.disabled || !checks || (!checks.health && !checks.agent)) {
        if (prev) this.retire(prev);
        // A server that lost its checks while down by them would stay down forever.
        const st = this.sup.states[p]?.[s];
        if (prev && st && st.op === SRV_ST_STOPPED && !(st.admin & ADMF_MAINT)) this.sup.setServerState(p, s, { ...st, op: SRV_ST_RUNNING, lastChange: now });
        return null;
      }
      const sc: ServerCheck = {
        p, s, key, health: null, agent: null,
        failedChecks: prev?.failedChecks ?? 0, failedHana: prev?.failedHana ?? 0, consecutiveErrors: prev?.consecutiveErrors ?? 0,
      };
      const st = this.sup.states[p]?.[s];
      const maint = st ? (st.admin & ADMF_MAINT) !== 0 : sv.disabled;
      if (checks.health) sc.health = this.makeRun(sc, false, checks.health, prev?.health ?? null, maint, fresh);
      if (checks.agent) sc.agent = this.makeRun(sc, true, checks.agent, prev?.agent ?? null, false, fresh);
      if (prev) { if (prev.health && !sc.health) this.retire1(prev.health); if (prev.agent && !sc.agent) this.retire1(prev.agent); }
      return sc;
    }));
    for (const sc of old.values()) this.retire(sc);
    // New checks start spread over the smallest interval of at least 1s (check.c start_checks()).
    let mininter = 0;
    for (const c of fresh) {
      const i = this.getinter(c);
      if (i >= INTER_THRES && (mininter === 0 || i < mininter)) mininter = i;
    }
    fresh.forEach((c, pos) => {
      const m = Math.max(mininter, this.getinter(c));
      this.schedule(c, Math.floor((m * pos) / fresh.length));
    });
  }

  private retire(sc: ServerCheck): void {
    if (sc.health) this.retire1(sc.health);
    if (sc.agent) this.retire1(sc.agent);
  }

  private retire1(c: CheckRun): void {
    this.kill(c);
    c.probe?.abort();
    c.probe = null;
  }

  private makeRun(sc: ServerCheck, agent: boolean, params: CheckParams & { send?: string }, prev: CheckRun | null, maint: boolean, fresh: CheckRun[]): CheckRun {
    const top = params.rise + params.fall - 1;
    const c: CheckRun = {
      agent, srv: sc, params, health: params.rise,
      status: HCHK_INI, result: CHK_RES_UNKNOWN, code: 0, desc: '', duration: -1,
      enabled: true, paused: false, inProgress: false, startedAt: 0,
      timer: null, nextAt: 0, probe: null,
      tlsOptions: params.tls ? serverTlsOptions({ tls: params.tls } as ServerConfig) : null,
      replacedBy: null, dead: false,
    };
    if (prev) {
      // Same server after a reload: same health (mapped to the new rise/fall), status and schedule.
      const prevTop = prev.params.rise + prev.params.fall - 1;
      c.health = prev.health >= prevTop ? top : prev.health === 0 ? 0 : Math.min(prev.health, top);
      c.status = prev.status; c.result = prev.result; c.code = prev.code; c.desc = prev.desc; c.duration = prev.duration;
      c.enabled = prev.enabled; c.paused = prev.paused;
      prev.replacedBy = c;
      this.kill(prev);
      if (prev.probe) {
        c.inProgress = true; c.startedAt = prev.startedAt; c.probe = prev.probe;
      } else {
        this.schedule(c, Math.max(0, prev.nextAt - Date.now()));
      }
      return c;
    }
    if (!agent && maint) { c.paused = true; c.health = 0; }
    fresh.push(c);
    return c;
  }

  /** srv_getinter(). */
  private getinter(c: CheckRun): number {
    const p = c.params;
    if (c.health === p.rise + p.fall - 1) return p.inter;
    const st = this.sup.states[c.srv.p]?.[c.srv.s];
    if (st && st.op === SRV_ST_STOPPED && c.health === 0) return p.downinter || p.inter;
    return p.fastinter || p.inter;
  }

  private schedule(c: CheckRun, ms: number): void {
    if (this.stopped || c.dead) return;
    if (c.timer) clearTimeout(c.timer);
    c.nextAt = Date.now() + ms;
    c.timer = setTimeout(() => this.run(c), ms);
  }

  private run(c: CheckRun): void {
    c.timer = null;
    if (this.stopped || c.dead) return;
    const cfg = this.cfg!;
    const px = cfg.proxies[c.srv.p];
    // Paused (maintenance) or disabled checks only keep their schedule.
    if (!c.enabled || c.paused) return this.schedule(c, c.params.inter);
    c.inProgress = true;
    c.result = CHK_RES_UNKNOWN;
    c.desc = '';
    c.startedAt = Date.now();
    const probe = new Probe(this.spec(c, px, px.servers[c.srv.s]), r => this.done(c, probe, r));
    c.probe = probe;
    probe.start();
  }

  private spec(c: CheckRun, px: ProxyConfig, sv: ServerConfig): ProbeSpec {
    const p = c.params;
    const rs = c.agent ? { kind: 'agent' as const, rules: agentRules(p.send ?? ''), disableOn404: false } : this.rules[c.srv.p]!;
    const st = this.sup.states[c.srv.p]?.[c.srv.s];
    return {
      kind: rs.kind, rules: rs.rules,
      ip: p.addr?.ip ?? sv.ip, family: p.addr?.family ?? sv.family,
      checkPort: p.port, serverPort: sv.port,
      ssl: p.ssl, tlsOptions: c.tlsOptions, sendProxy: p.sendProxy,
      serverSendProxy: sv.sendProxyV2 ? 2 : sv.sendProxy ? 1 : 0,
      inter: p.inter, timeoutConnect: px.timeouts.connect, timeoutCheck: px.timeouts.check,
      disable404: rs.disableOn404 && st !== undefined && st.op !== SRV_ST_STOPPED,
    };
  }

  private done(c0: CheckRun, probe: Probe, r: ProbeResult): void {
    let c = c0;
    while (c.replacedBy) c = c.replacedBy;
    if (c.probe !== probe) return;
    c.probe = null;
    c.inProgress = false;
    if (this.stopped || c.dead) return;
    if (c.agent && r.agent !== undefined) {
      // A reply that arrives after `disable agent` is ignored.
      if (c.enabled) {
        if (r.agent === null) this.setStatus(c, c.status, 'Ignoring incomplete line from agent', r.code);
        else this.applyAgent(c, r.agent);
      }
    } else {
      this.setStatus(c, r.status, r.desc, r.code);
    }
    this.notify(c);
    this.schedule(c, this.getinter(c));
  }

  /** set_server_check_status(). */
  private setStatus(c: CheckRun, status: number, desc: string, code: number, hana = false): void {
    c.desc = desc;
    c.status = status;
    c.code = code;
    const res = CHECK_STATUSES[status]?.result ?? CHK_RES_UNKNOWN;
    if (res !== CHK_RES_UNKNOWN) c.result = res;
    c.duration = hana ? -1 : Date.now() - c.startedAt;
    if (c.result === CHK_RES_NEUTRAL) return;
    const p = c.params;
    if (c.result === CHK_RES_FAILED) {
      // The agent failing to answer is not a server failure; its "down" words are.
      if ((!c.agent || status >= HCHK_L57DATA) && c.health > 0) {
        c.srv.failedChecks++;
        c.health--;
        if (c.health < p.rise) c.health = 0;
      }
    } else if (c.result === CHK_RES_PASSED || c.result === CHK_RES_CONDPASS) {
      if (c.health < p.rise + p.fall - 1) {
        c.health++;
        if (c.health >= p.rise) c.health = p.rise + p.fall - 1;
      }
      c.srv.consecutiveErrors = 0;
    }
  }

  private cause(c: CheckRun) {
    return { status: c.status, code: c.code, desc: c.desc, duration: c.duration };
  }

  /** check_notify_failure() / _success() / _stopping(). */
  private notify(c: CheckRun): void {
    const { p, s } = c.srv;
    const st = this.sup.states[p]?.[s];
    if (!st) return;
    if (c.result === CHK_RES_FAILED) {
      if (c.agent && c.status !== HCHK_L7STS) return;
      if (c.health > 0) return;
      this.admin.setStopped(p, s, this.cause(c));
    } else if (c.result === CHK_RES_PASSED || c.result === CHK_RES_CONDPASS) {
      if (st.admin & ADMF_MAINT) return;
      const h = c.srv.health, a = c.srv.agent;
      if (h && h.enabled && h.health < h.params.rise) return;
      if (a && a.enabled && a.health < a.params.rise) return;
      if (c.result === CHK_RES_CONDPASS) {
        if (c.agent) return;
        this.admin.setStopping(p, s, this.cause(c));
        return;
      }
      if (c.agent && st.op === SRV_ST_STOPPING) return;
      this.admin.setRunning(p, s, this.cause(c));
    }
  }

  /** tcpcheck_agent_expect_reply(): admin state first, then weight, then health. */
  private applyAgent(c: CheckRun, reply: AgentReply): void {
    const { p, s } = c.srv;
    if (reply.admin !== null) {
      const a = reply.admin.toLowerCase();
      if (a === 'drain') void this.admin.setAdmin(p, s, ADMF_FDRAIN, 0);
      else if (a === 'maint') void this.admin.setAdmin(p, s, ADMF_FMAINT, ADMF_FDRAIN);
      else void this.admin.setAdmin(p, s, 0, ADMF_FMAINT | ADMF_FDRAIN);
    }
    let warning: string | null = null;
    if (reply.weight !== null) {
      const st = this.sup.states[p]?.[s];
      const px = this.cfg!.proxies[p];
      const w = weightChange(reply.weight, st?.iweight ?? px.servers[s].weight, isStaticBalance(px.balance));
      if (typeof w === 'string') warning = w; else void this.admin.setWeight(p, s, w);
    }
    // maxconn:<n> is accepted and ignored: server maxconn cannot change at run time here yet.
    if (reply.health !== null) {
      const lh = reply.health.toLowerCase();
      c.health = lh === 'up' ? c.params.rise + c.params.fall - 1 : 0;
    }
    const r = agentResult(reply, warning);
    this.setStatus(c, r.status, r.desc, 0);
  }

  /* ---------------- maintenance (ServerAdmin) ---------------- */

  enterMaint(p: number, s: number): void {
    const h = this.table[p]?.[s]?.health;
    if (h && h.enabled) { h.paused = true; h.health = 0; }
  }

  leaveMaint(p: number, s: number): boolean {
    const sc = this.table[p]?.[s];
    if (!sc) return true;
    const h = sc.health, a = sc.agent;
    if (h && h.enabled) { h.paused = false; h.health = h.params.rise; }
    return (!a || !a.enabled || a.health >= a.params.rise) && (!h || !h.enabled || h.health >= h.params.rise);
  }

  /* ---------------- observe (workers' traffic) ---------------- */

  /** [p, s, head, oks, tail, inner, last]* from a worker of the current generation. */
  private observed(r: number[]): void {
    for (let i = 0; i + 6 < r.length; i += 7) {
      const sc = this.table[r[i]]?.[r[i + 1]];
      const h = sc?.health;
      if (!sc || !h) continue;
      const checks = this.cfg!.proxies[sc.p].servers[sc.s].checks!;
      const limit = checks.errorLimit;
      const { consecutive, triggers } = applyObserved(sc.consecutiveErrors, limit, r[i + 2], r[i + 3], r[i + 4], r[i + 5]);
      sc.consecutiveErrors = consecutive;
      // A storm of errors acts at most as often as it takes to bring the server down.
      const n = Math.min(triggers, h.params.rise + h.params.fall);
      for (let k = 0; k < n; k++) this.healthAdjust(sc, h, limit, r[i + 6], checks.onError);
    }
  }

  /** __health_adjust() once `error-limit` consecutive errors were seen. */
  private healthAdjust(sc: ServerCheck, h: CheckRun, count: number, last: number, onError: number): void {
    const msg = `Detected ${count} consecutive errors, last one was: ${HANA_DESC[last] ?? 'Unknown'}`;
    const p = h.params;
    if (onError === ONERR_SUDDTH && h.health > p.rise) h.health = p.rise + 1;
    if (onError === ONERR_MARKDWN) h.health = p.rise;
    if (onError === ONERR_FAILCHK || onError === ONERR_SUDDTH || onError === ONERR_MARKDWN) {
      // A check in progress keeps running; its own result comes after this one.
      const inProgress = h.inProgress;
      this.setStatus(h, HCHK_HANA, msg, 0, true);
      h.inProgress = inProgress;
      this.notify(h);
    }
    sc.consecutiveErrors = 0;
    sc.failedHana++;
    // Every mode forces fastinter: the next check comes sooner.
    if (p.fastinter && !h.inProgress && h.timer && h.nextAt > Date.now() + p.fastinter) this.schedule(h, p.fastinter);
  }

  /* ---------------- Runtime API ---------------- */

  serverCheck(p: number, s: number): ServerCheck | null {
    return this.table[p]?.[s] ?? null;
  }

  /** `enable|disable health|agent`; the error reply, or '' when done. */
  setEnabled(p: number, s: number, agent: boolean, on: boolean): string {
    const c = agent ? this.table[p]?.[s]?.agent : this.table[p]?.[s]?.health;
    if (!c) {
      if (!on) return '';
      return agent ? 'Agent was not configured on this server, cannot enable.\n' : 'Health check was not configured on this server, cannot enable.\n';
    }
    c.enabled = on;
    return '';
  }

  /** `set server <b>/<s> health up|stopping|down` (the health counter follows). */
  setHealth(p: number, s: number, to: 'up' | 'stopping' | 'down'): void {
    const h = this.table[p]?.[s]?.health;
    const cause = { reason: 'changed from CLI' };
    if (to === 'down') {
      if (h) h.health = 0;
      this.admin.setStopped(p, s, cause);
      return;
    }
    if (h) h.health = h.params.rise + h.params.fall - 1;
    if (to === 'up') this.admin.setRunning(p, s, cause); else this.admin.setStopping(p, s, cause);
  }

  /** `set server <b>/<s> agent up|down`; the error reply, or ''. */
  setAgent(p: number, s: number, to: string): string {
    const a = this.table[p]?.[s]?.agent;
    if (!a || !a.enabled) return 'agent checks are not enabled on this server.\n';
    const cause = { reason: 'changed from CLI' };
    if (to === 'up') { a.health = a.params.rise + a.params.fall - 1; this.admin.setRunning(p, s, cause); }
    else if (to === 'down') { a.health = 0; this.admin.setStopped(p, s, cause); }
    else return "'set server <srv> agent' expects 'up' or 'down'.\n";
    return '';
  }
}
