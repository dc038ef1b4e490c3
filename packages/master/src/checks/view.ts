/**
 * What `show stat` and `show servers state` show of the checks
 * (stats-format.ts ServerCheckView), and the Runtime API's check commands'
 * way in (cli-commands.ts): the checker and ServerAdmin's history, read
 * when a command runs.
 */
import type { CompiledConfig } from '@switchyard/core/config/compiled';
import { SRV_ST_STOPPED, type ServerStateTable } from '@switchyard/core/proxy/server-state';
import { CHECK_STATUSES, OBSERVE_NONE } from '@switchyard/core/checks/types';
import type { AgentCheckView, BackendCheckView, ServerCheckView } from '../stats-format';
import type { CheckRun, HealthChecker } from './scheduler';
import type { ServerAdmin } from '../server-admin';

/** What the Runtime API host offers about checks (RuntimeApiHost.checks). */
export interface CheckApi {
  views(config: CompiledConfig, states: ServerStateTable, now: number): {
    servers: Array<Array<ServerCheckView | undefined>>;
    backends: Array<BackendCheckView | undefined>;
  };
  /** `enable|disable health|agent`: the error reply, '' when done. */
  setEnabled(p: number, s: number, agent: boolean, on: boolean): string;
  /** `set server … health`: resolves once the workers apply the change. */
  setHealth(p: number, s: number, to: 'up' | 'stopping' | 'down'): Promise<void>;
  /** `set server … agent <to>`: the reply ('' when done), once the workers apply the change. */
  setAgent(p: number, s: number, to: string): Promise<string>;
}

function runView(c: CheckRun) {
  const st = CHECK_STATUSES[c.status] ?? CHECK_STATUSES[0];
  return {
    enabled: c.enabled, paused: c.paused, inProgress: c.inProgress,
    rise: c.params.rise, fall: c.params.fall, health: c.health,
    status: c.status, statusName: st.info, statusDesc: st.desc, result: c.result, code: c.code,
    durationMs: Math.max(0, c.duration), lastCheck: c.desc,
  };
}

export function checkApi(checker: HealthChecker, admin: ServerAdmin, applied: () => Promise<void>): CheckApi {
  return {
    views(config, states, now) {
      const servers = config.proxies.map((px, p) => px.servers.map((sv, s) => {
        const sc = checker.serverCheck(p, s);
        if (!sc) return undefined;
        const st = states[p]?.[s];
        const hist = admin.history(p, s);
        // srv_downtime(): the time down so far, plus the current period when down.
        const downtimeSec = hist.downTime + (st && st.op === SRV_ST_STOPPED ? Math.max(0, Math.floor((now - st.lastChange) / 1000)) : 0);
        const h = sc.health;
        const base = h ? runView(h) : {
          enabled: false, paused: false, inProgress: false, rise: 0, fall: 0, health: 0,
          status: 0, statusName: 'UNK', statusDesc: 'Unknown', result: 0, code: 0, durationMs: 0, lastCheck: '',
        };
        const v: ServerCheckView = {
          ...base, configured: h !== null,
          failedChecks: sc.failedChecks, downTransitions: hist.downTrans, downtimeSec,
          useSsl: sv.ssl === true,
          checkPort: sv.checks?.health?.port ?? 0,
          checkAddr: sv.checks?.health?.addr?.ip ?? '-',
        };
        if (sc.agent) {
          const a: AgentCheckView = runView(sc.agent);
          v.agent = a;
          v.agentPort = sc.agent.params.port;
          v.agentAddr = sc.agent.params.addr?.ip ?? '-';
        }
        if (h && (sv.checks?.observe ?? OBSERVE_NONE) !== OBSERVE_NONE) v.hanaFailed = sc.failedHana;
        return v;
      }));
      const backends = config.proxies.map((_, p) => {
        const b = config.proxies[p].cap.be ? admin.backendHistory(p) : undefined;
        return b ? { downTransitions: b.downTrans, lastChange: b.lastChange, downtimeSec: b.downTime } : undefined;
      });
      return { servers, backends };
    },
    setEnabled: (p, s, agent, on) => checker.setEnabled(p, s, agent, on),
    async setHealth(p, s, to) { checker.setHealth(p, s, to); await applied(); },
    async setAgent(p, s, to) {
      const err = checker.setAgent(p, s, to);
      if (!err) await applied();
      return err;
    },
  };
}
