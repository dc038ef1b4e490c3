/**
 * Administrative server state changes (Runtime API `disable/enable server`,
 * `set server … state|weight`), applied to the master's authoritative table,
 * replicated to the workers, and logged with HAProxy's messages.
 */
import {
  ADMF_MAINT, ADMF_DRAIN, SRV_ST_RUNNING, SRV_ST_STOPPED, serverUsable, type ServerRuntimeState,
} from '@switchyard/core/proxy/server-state';
import { LOG_EMERG, LOG_NOTICE } from '@switchyard/core/log/tcplog';
import type { Supervisor } from './supervisor';

export class ServerAdmin {
  constructor(private readonly sup: Supervisor, private readonly log: (level: number, msg: string) => void) {}

  /** Resolves once every worker applies the change (see Supervisor.applied). */
  setAdmin(p: number, s: number, set: number, clear: number): Promise<void> {
    const prev = this.sup.states[p]?.[s];
    if (!prev) return Promise.resolve();
    const next: ServerRuntimeState = { ...prev, admin: (prev.admin | set) & ~clear };
    if (next.admin === prev.admin) return Promise.resolve();
    // Without health checks, a server leaving maintenance is running at once;
    // one entering it is stopped (HAProxy's srv_update_status).
    if ((next.admin & ADMF_MAINT) !== 0) next.op = SRV_ST_STOPPED;
    else if ((prev.admin & ADMF_MAINT) !== 0) next.op = SRV_ST_RUNNING;
    next.lastChange = Date.now();
    this.sup.setServerState(p, s, next);
    this.describe(p, s, prev, next);
    return this.sup.applied();
  }

  setWeight(p: number, s: number, weight: number): Promise<void> {
    const prev = this.sup.states[p]?.[s];
    if (!prev || prev.uweight === weight) return Promise.resolve();
    const next: ServerRuntimeState = { ...prev, uweight: weight };
    this.sup.setServerState(p, s, next);
    if ((prev.uweight === 0) !== (weight === 0)) this.describe(p, s, prev, next);
    return this.sup.applied();
  }

  /** HAProxy's state-change log lines, with the counts of servers left. */
  private describe(p: number, s: number, prev: ServerRuntimeState, next: ServerRuntimeState): void {
    const proxy = this.sup.config.proxies[p];
    const srv = proxy.servers[s];
    const name = `${proxy.name}/${srv.name}`;
    const states = this.sup.states[p];
    let act = 0, bck = 0;
    proxy.servers.forEach((sc, i) => { if (serverUsable(states[i])) { if (sc.backup) bck++; else act++; } });
    const wasMaint = (prev.admin & ADMF_MAINT) !== 0, isMaint = (next.admin & ADMF_MAINT) !== 0;
    const wasDrain = (prev.admin & ADMF_DRAIN) !== 0, isDrain = (next.admin & ADMF_DRAIN) !== 0;
    void this.sup.collectStats().then(stats => {
      let cur = 0;
      for (const w of stats) cur += w.proxies[p]?.servers[s]?.scur ?? 0;
      const left = `${act} active and ${bck} backup servers left. ${cur} sessions active, 0 requeued, 0 remaining in queue.`;
      if (!wasMaint && isMaint) {
        this.log(LOG_NOTICE, `Server ${name} is going DOWN for maintenance. ${left}`);
      } else if (wasMaint && !isMaint) {
        this.log(LOG_NOTICE, `Server ${name} is ${isDrain ? 'UP (leaving forced maintenance) and enters drain mode' : 'UP (leaving forced maintenance)'}.`);
      } else if (!wasDrain && isDrain) {
        this.log(LOG_NOTICE, `Server ${name} enters drain state. ${left}`);
      } else if (wasDrain && !isDrain) {
        this.log(LOG_NOTICE, `Server ${name} is UP (leaving drain).`);
      } else if (prev.uweight === 0 && next.uweight > 0) {
        this.log(LOG_NOTICE, `Server ${name} is UP (weight ${next.uweight}).`);
      } else if (next.uweight === 0) {
        this.log(LOG_NOTICE, `Server ${name} has weight 0 and receives no new traffic. ${left}`);
      }
      const hadOne = proxy.servers.some((_, i) => serverUsable(i === s ? prev : states[i]));
      if (act + bck === 0 && hadOne) {
        this.log(LOG_EMERG, `backend ${proxy.name} has no server available!`);
      }
    });
  }
}
