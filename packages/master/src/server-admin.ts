/**
 * Server state changes, applied to the master's authoritative table,
 * replicated to the workers and logged with HAProxy's messages: the Runtime
 * API's `disable/enable server`, `set server … state|weight|health|agent`,
 * and the health and agent checks (checks/scheduler.ts).
 *
 * update() is HAProxy's srv_update_status() (src/server.c): from the
 * previous and the next state it logs the operational change first (DOWN,
 * stopping, UP, with the check's reason), then the administrative one
 * (maintenance, drain), counts the server's and the backend's down
 * transitions and down time, and runs on-marked-down / on-marked-up.
 * Messages and levels are haproxy 2.6.12's (captured from /usr/sbin/haproxy).
 */
import {
  ADMF_MAINT, ADMF_DRAIN, ADMF_FMAINT, ADMF_FDRAIN, SRV_ST_RUNNING, SRV_ST_STARTING, SRV_ST_STOPPED, SRV_ST_STOPPING,
  type ServerRuntimeState,
} from '@switchyard/core/proxy/server-state';
import { LOG_ALERT, LOG_EMERG, LOG_NOTICE } from '@switchyard/core/log/tcplog';
import { CHECK_STATUSES, HCHK_L57DATA } from '@switchyard/core/checks/types';
import type { Supervisor } from './supervisor';

/** A log line for the proxy at index `p` (its `log global` / own targets). */
export type ProxyLog = (p: number, level: number, msg: string) => void;

/**
 * Why the operational state changes: a check's result (reason, code, info,
 * duration: srv_append_status() with a check), or a text ("changed from CLI").
 */
export type OpCause =
  | { status: number; code: number; desc: string; duration: number }
  | { reason: string };

/** What the health checks do when a server enters or leaves maintenance. */
export interface CheckHooks {
  /** Maintenance pauses the health check; its health drops to 0. */
  enterMaint(p: number, s: number): void;
  /** The health check resumes at `rise` ("start OK but check immediately"); true when the checks let the server run. */
  leaveMaint(p: number, s: number): boolean;
}

/** Per-server history kept across reloads (by backend/server name). */
export interface ServerHistory {
  /** chkdown: transitions to DOWN. */
  downTrans: number;
  /** Seconds spent DOWN before the current state (srv_downtime()). */
  downTime: number;
}

export interface BackendHistory {
  downTrans: number;
  /** Unix ms of the last time the backend lost or regained its last server, 0: never. */
  lastChange: number;
  downTime: number;
}

/** HAProxy's chunk_asciiencode() with '"' quoted: check texts inside info: "…". */
function asciiEncode(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x3c || c === 0x3e || c === 0x22) out += `<${(c & 0xff).toString(16).toUpperCase().padStart(2, '0')}>`;
    else out += s[i];
  }
  return out;
}

/** srv_append_status()'s reason part. */
function causeText(c: OpCause | null): string {
  if (c === null) return '';
  if ('reason' in c) return c.reason ? `, ${c.reason}` : '';
  let t = `, reason: ${CHECK_STATUSES[c.status]?.desc ?? 'Unknown'}`;
  if (c.status >= HCHK_L57DATA) t += `, code: ${c.code}`;
  if (c.desc) t += `, info: "${asciiEncode(c.desc)}"`;
  if (c.duration >= 0) t += `, check duration: ${c.duration}ms`;
  return t;
}

interface PendingLine { p: number; s: number; level: number; text: (scur: number) => string }

/** srv_currently_usable(): what the "N active and M backup servers" counts count (NOLB does not). */
function usable(st: ServerRuntimeState): boolean {
  return st.uweight > 0 && (st.admin & (ADMF_MAINT | ADMF_DRAIN)) === 0 && (st.op === SRV_ST_RUNNING || st.op === SRV_ST_STARTING);
}

export class ServerAdmin {
  hooks: CheckHooks | null = null;
  private readonly servers = new Map<string, ServerHistory>();
  private readonly backends = new Map<string, BackendHistory>();
  /** Lines waiting for the servers' current session counts (one stats round trip per batch). */
  private pending: PendingLine[] = [];
  /** on-marked-down/up shutdowns, run once the batch's session counts are in. */
  private after: Array<() => void> = [];
  private flushing: Promise<void> | null = null;

  constructor(private readonly sup: Supervisor, private readonly log: ProxyLog) {}

  /** A server's history (created on first use), by names so that it survives reloads. */
  history(p: number, s: number): ServerHistory {
    const px = this.sup.config.proxies[p];
    const key = `${px.name}/${px.servers[s].name}`;
    let h = this.servers.get(key);
    if (!h) { h = { downTrans: 0, downTime: 0 }; this.servers.set(key, h); }
    return h;
  }

  backendHistory(p: number): BackendHistory | undefined {
    return this.backends.get(this.sup.config.proxies[p].name);
  }

  /** ADMF_* flags (CLI, agent). Resolves once every worker applies the change (see Supervisor.applied). */
  setAdmin(p: number, s: number, set: number, clear: number): Promise<void> {
    const prev = this.sup.states[p]?.[s];
    if (!prev) return Promise.resolve();
    const admin = (prev.admin | set) & ~clear;
    if (admin === prev.admin) return Promise.resolve();
    this.update(p, s, { ...prev, admin }, null);
    return this.sup.applied();
  }

  /** `set server weight`, agent weights: srv_update_status() runs even for the same weight (drain mode says so). */
  setWeight(p: number, s: number, weight: number): Promise<void> {
    const prev = this.sup.states[p]?.[s];
    if (!prev) return Promise.resolve();
    this.update(p, s, { ...prev, uweight: weight }, null);
    return this.sup.applied();
  }

  /** srv_set_stopped(): ignored in maintenance or when already down. */
  setStopped(p: number, s: number, cause: OpCause): void {
    const prev = this.sup.states[p]?.[s];
    if (!prev || (prev.admin & ADMF_MAINT) || prev.op === SRV_ST_STOPPED) return;
    this.update(p, s, { ...prev, op: SRV_ST_STOPPED }, cause);
  }

  /** srv_set_running(): ignored in maintenance or when already up. */
  setRunning(p: number, s: number, cause: OpCause): void {
    const prev = this.sup.states[p]?.[s];
    if (!prev || (prev.admin & ADMF_MAINT) || prev.op === SRV_ST_RUNNING || prev.op === SRV_ST_STARTING) return;
    this.update(p, s, { ...prev, op: SRV_ST_RUNNING }, cause);
  }

  /** srv_set_stopping() (NOLB): ignored in maintenance or when already stopping. */
  setStopping(p: number, s: number, cause: OpCause): void {
    const prev = this.sup.states[p]?.[s];
    if (!prev || (prev.admin & ADMF_MAINT) || prev.op === SRV_ST_STOPPING) return;
    this.update(p, s, { ...prev, op: SRV_ST_STOPPING }, cause);
  }

  /** srv_update_status(): apply `next`, log, count and act on the change. */
  private update(p: number, s: number, next: ServerRuntimeState, cause: OpCause | null): void {
    const prev = this.sup.states[p][s];
    const px = this.sup.config.proxies[p];
    const sv = px.servers[s];
    const checks = sv.checks;
    const now = Date.now();
    const name = `${sv.backup ? 'Backup ' : ''}Server ${px.name}/${sv.name}`;
    const hist = this.history(p, s);
    // Counts of usable servers once `next` is final (filled below, read by the lines).
    const cnt = { act: 0, bck: 0 };
    const left = (): string => `${cnt.act} active and ${cnt.bck} backup servers left.${cnt.bck && !cnt.act ? ' Running on backup.' : ''}`;
    const online = (): string => `${cnt.act} active and ${cnt.bck} backup servers online.${cnt.bck && !cnt.act ? ' Running on backup.' : ''}`;
    const wasStopping = prev.op === SRV_ST_STOPPING || (prev.admin & ADMF_DRAIN) !== 0;
    const lines: Array<[number, (scur: number) => string]> = [];
    let shutdown = false;
    let backupShutdown = false;

    // Operational state, unless the server was in maintenance.
    if (!(prev.admin & ADMF_MAINT)) {
      if (prev.op !== SRV_ST_STOPPED && next.op === SRV_ST_STOPPED) {
        next.lastChange = now;
        if (checks?.onMarkedDown) shutdown = true;
        const why = causeText(cause);
        lines.push([wasStopping ? LOG_NOTICE : LOG_ALERT, cur => `${name} is DOWN${why}. ${left()} ${cur} sessions active, 0 requeued, 0 remaining in queue.`]);
        hist.downTrans++;
      } else if (prev.op !== SRV_ST_STOPPING && next.op === SRV_ST_STOPPING) {
        next.lastChange = now;
        const why = causeText(cause);
        lines.push([LOG_NOTICE, () => `${name} is stopping${why}. ${online()} 0 sessions requeued, 0 total in queue.`]);
      } else if ((prev.op !== SRV_ST_RUNNING && next.op === SRV_ST_RUNNING) || (prev.op !== SRV_ST_STARTING && next.op === SRV_ST_STARTING)) {
        if (prev.op === SRV_ST_STOPPED) hist.downTime += Math.max(0, Math.floor((now - prev.lastChange) / 1000));
        next.lastChange = now;
        if (checks?.onMarkedUp && !sv.backup && next.uweight > 0) backupShutdown = true;
        const why = causeText(cause);
        lines.push([LOG_NOTICE, () => `${name} is UP${why}. ${online()} 0 sessions requeued, 0 total in queue.`]);
      }
    }

    // Administrative state.
    const wasMaint = (prev.admin & ADMF_MAINT) !== 0, isMaint = (next.admin & ADMF_MAINT) !== 0;
    if (!wasMaint && isMaint) {
      this.hooks?.enterMaint(p, s);
      if (next.op === SRV_ST_STOPPED) {
        lines.push([LOG_NOTICE, () => `${name} was DOWN and now enters maintenance.`]);
      } else {
        next.op = SRV_ST_STOPPED;
        next.lastChange = now;
        if (checks?.onMarkedDown) shutdown = true;
        lines.push([wasStopping ? LOG_NOTICE : LOG_ALERT, cur => `${name} is going DOWN for maintenance. ${left()} ${cur} sessions active, 0 requeued, 0 remaining in queue.`]);
        hist.downTrans++;
      }
    } else if (wasMaint && !isMaint) {
      // Up again unless its checks say otherwise (agent down, health check in progress below rise).
      const canRun = this.hooks ? this.hooks.leaveMaint(p, s) : true;
      if (canRun) { next.op = SRV_ST_RUNNING; next.lastChange = now; }
      if ((prev.admin & ADMF_FMAINT) && !(next.admin & ADMF_FMAINT)) {
        const up = next.op === SRV_ST_STOPPED ? 'DOWN' : 'UP';
        const ready = next.admin & ADMF_DRAIN ? 'DRAIN' : 'READY';
        lines.push([LOG_NOTICE, () => `${name} is ${up}/${ready} (leaving forced maintenance).`]);
      }
      if (checks?.onMarkedUp && !sv.backup && next.uweight > 0 && next.op !== SRV_ST_STOPPED) backupShutdown = true;
    }
    if (!isMaint) {
      const wasDrain = (prev.admin & ADMF_DRAIN) !== 0, isDrain = (next.admin & ADMF_DRAIN) !== 0;
      if (!wasDrain && isDrain) {
        next.lastChange = now;
        lines.push([LOG_NOTICE, () => `${name} enters drain state. ${online()} 0 sessions requeued, 0 total in queue.`]);
      } else if (wasDrain && !isDrain) {
        // HAProxy counts drain time as down time.
        hist.downTime += Math.max(0, Math.floor((now - prev.lastChange) / 1000));
        next.lastChange = now;
        const up = next.op === SRV_ST_STOPPED ? 'DOWN' : 'UP';
        lines.push([LOG_NOTICE, () => `${name} is ${up} (leaving forced drain).`]);
      } else if (isDrain) {
        lines.push([LOG_NOTICE, () => (next.admin & ADMF_FDRAIN ? `${name} remains in forced drain mode.` : `${name} is leaving forced drain but remains in drain mode.`)]);
      }
    }

    this.sup.setServerState(p, s, next);
    // One pass over the backend's servers: before and after counts (srv_act/srv_bck).
    let prevCount = 0;
    const states = this.sup.states[p];
    for (let i = 0; i < states.length; i++) {
      const st = states[i];
      if (usable(i === s ? prev : st)) prevCount++;
      if (usable(st)) { if (px.servers[i].backup) cnt.bck++; else cnt.act++; }
    }
    const count = cnt.act + cnt.bck;
    if (prevCount > 0 && count === 0) {
      const b = this.backendHist(px.name);
      b.downTrans++;
      b.lastChange = now;
      lines.push([LOG_EMERG, () => `backend ${px.name} has no server available!`]);
    } else if (prevCount === 0 && count > 0) {
      const b = this.backendHist(px.name);
      if (b.lastChange > 0) b.downTime += Math.max(0, Math.floor((now - b.lastChange) / 1000));
      b.lastChange = now;
    }
    for (const [level, text] of lines) this.pending.push({ p, s, level, text });
    // The sessions are closed once the DOWN line has counted them.
    if (shutdown) this.after.push(() => { for (const w of this.sup.currentWorkers()) w.channel.send({ t: 'srv-shutdown', p, s, why: 'D' }); });
    if (backupShutdown) {
      this.after.push(() => px.servers.forEach((b, i) => {
        if (!b.backup) return;
        for (const w of this.sup.currentWorkers()) w.channel.send({ t: 'srv-shutdown', p, s: i, why: 'U' });
      }));
    }
    if (lines.length || this.after.length) this.schedule();
  }

  private backendHist(name: string): BackendHistory {
    let b = this.backends.get(name);
    if (!b) { b = { downTrans: 0, lastChange: 0, downTime: 0 }; this.backends.set(name, b); }
    return b;
  }

  /**
   * Lines go out in order, with the current sessions of their server summed
   * over the workers: one stats round trip for all the lines of a batch, so
   * that a storm of changes costs one per event-loop turn, not one per line.
   */
  private schedule(): void {
    if (this.flushing) return;
    this.flushing = (async () => {
      while (this.pending.length || this.after.length) {
        await new Promise(r => setImmediate(r));
        const batch = this.pending;
        const after = this.after;
        this.pending = [];
        this.after = [];
        // Counted before the sessions close: a worker packs its stats reply later in its turn.
        const stats = await this.sup.collectStats();
        for (const a of after) a();
        for (const l of batch) {
          let cur = 0;
          for (const w of stats) cur += w.proxies[l.p]?.servers[l.s]?.scur ?? 0;
          this.log(l.p, l.level, l.text(cur));
        }
      }
      this.flushing = null;
    })();
  }

  /** Resolves once every line logged so far is out (tests, shutdown). */
  async drained(): Promise<void> {
    while (this.flushing) await this.flushing;
  }
}
