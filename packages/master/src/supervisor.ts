/**
 * The master's supervisor: forks generations of node:cluster workers, hands
 * them the configuration and the listening sockets, respawns crashed workers
 * with back-off, reloads with a hand-over (new workers ready first, then the
 * old ones stop accepting and finish), and owns the authoritative server
 * state that it replicates to every worker.
 */
import cluster, { type Worker } from 'node:cluster';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { Channel } from '@switchyard/core/ipc/channel';
import type { MasterMessage, WorkerMessage, HandleMessage } from '@switchyard/core/ipc/messages';
import type { CompiledConfig } from '@switchyard/core/config/compiled';
import type { ServerRuntimeState, ServerStateTable } from '@switchyard/core/proxy/server-state';
import { initialServerState } from '@switchyard/core/engine/proxy-runtime';
import type { WorkerStats } from '@switchyard/core/stats/counters';
import type { ListenerSet } from './listeners';
import { SlotArbiter } from './slot-arbiter';
import { SRV_ST_RUNNING, SRV_ST_STARTING, SRV_ST_STOPPED } from '@switchyard/core/proxy/server-state';

export interface WorkerHandle {
  worker: Worker;
  channel: Channel<MasterMessage, WorkerMessage>;
  gen: number;
  index: number;
  pid: number;
  startedAt: number;
  ready: boolean;
  stopping: boolean;
  exited: boolean;
  /** Its generation's node-wide counts and maxconn credits. */
  arbiter: SlotArbiter;
  send(m: MasterMessage): void;
}

interface Generation {
  gen: number;
  cfg: CompiledConfig;
  workers: WorkerHandle[];
  /** Reloads this generation came from (show proc). */
  reloads: number;
  arbiter: SlotArbiter;
}

const READY_TIMEOUT_MS = 30_000;
const RESPAWN_MIN_MS = 100;
const RESPAWN_MAX_MS = 10_000;

export class Supervisor extends EventEmitter {
  private current: Generation | null = null;
  /** A reload's generation that is starting, and the server states it has been sent. */
  private pending: { gen: Generation; sent: ServerStateTable } | null = null;
  private readonly old: Generation[] = [];
  private nextGen = 1;
  states: ServerStateTable = [];
  private readonly pendingStats = new Map<number, { need: Set<number>; got: WorkerStats[]; resolve: (s: WorkerStats[]) => void; timer: NodeJS.Timeout }>();
  private nextStatsId = 1;
  private stopping = false;
  /** Recent crash times per worker slot, for back-off. */
  private readonly crashes = new Map<number, number[]>();
  reloads = 0;
  failedReloads = 0;

  constructor(workerEntry: string, private readonly sockets: ListenerSet, private readonly log: Logger) {
    super();
    cluster.setupPrimary({ exec: workerEntry, serialization: 'advanced', silent: false });
  }

  get config(): CompiledConfig {
    return this.current!.cfg;
  }

  currentWorkers(): WorkerHandle[] {
    return this.current ? this.current.workers.filter(w => !w.exited) : [];
  }

  oldWorkers(): WorkerHandle[] {
    const out: WorkerHandle[] = [];
    for (const g of this.old) for (const w of g.workers) if (!w.exited) out.push(w);
    return out;
  }

  /** First start, or a reload's new generation; resolves when every worker is ready. */
  async startGeneration(cfg: CompiledConfig): Promise<void> {
    const prev = this.current;
    // Until the new generation serves, `states` stays the table of the current
    // configuration: the Runtime API resolves names against it and may change
    // it while the new workers start. They start from a carried-over copy, and
    // each change is carried over to them as it happens (syncPending).
    const initial = carryOverStates(prev?.cfg, this.states, cfg);
    const gen: Generation = { gen: this.nextGen++, cfg, workers: [], reloads: this.reloads, arbiter: null as unknown as SlotArbiter };
    gen.arbiter = new SlotArbiter(cfg, () => (this.current === gen ? this.states : this.pending?.gen === gen ? this.pending.sent : initial));
    if (prev) this.pending = { gen, sent: initial };
    else {
      // First start: the Runtime API is already up and may read the config and
      // change server states while the workers start; they are current at once.
      this.states = initial;
      this.current = gen;
    }
    const n = cfg.global.nbthread;
    const readies: Promise<void>[] = [];
    for (let i = 0; i < n; i++) {
      const w = this.fork(gen, i, initial);
      gen.workers.push(w);
      readies.push(this.whenReady(w));
    }
    try {
      await Promise.all(readies);
    } catch (e) {
      // The new generation failed: kill it, keep the old one serving.
      this.pending = null;
      for (const w of gen.workers) { w.stopping = true; w.worker.process.kill('SIGKILL'); }
      throw e;
    }
    if (this.pending) {
      this.syncPending();
      this.states = this.pending.sent;
      this.pending = null;
    } else {
      this.states = initial;
    }
    this.current = gen;
    if (prev) {
      this.old.push(prev);
      for (const w of prev.workers) this.stopWorker(w, true, cfg.global.hardStopAfter);
    }
  }

  private fork(gen: Generation, index: number, states: ServerStateTable = this.states): WorkerHandle {
    const worker = cluster.fork({ SWITCHYARD_WORKER: String(index + 1), NOTIFY_SOCKET: '' });
    const h: WorkerHandle = {
      worker, gen: gen.gen, index, pid: worker.process.pid ?? 0, startedAt: Date.now(),
      ready: false, stopping: false, exited: false,
      channel: undefined as unknown as Channel<MasterMessage, WorkerMessage>,
      arbiter: gen.arbiter,
      send(m: MasterMessage): void { this.channel.send(m); },
    };
    h.channel = new Channel<MasterMessage, WorkerMessage>(worker.process as unknown as import('@switchyard/core/ipc/channel').IpcEndpoint, m => this.onWorkerMessage(h, m));
    worker.process.on('message', (raw: unknown) => { h.channel.receive(raw); });
    worker.on('exit', (code, signal) => this.onExit(gen, h, code, signal));
    worker.on('error', () => { /* IPC errors surface as exit */ });
    h.channel.send({ t: 'config', gen: gen.gen, cfg: gen.cfg, workerIndex: index, workerCount: gen.cfg.global.nbthread, masterPid: process.pid, states });
    gen.arbiter.add(h);
    h.channel.flush();
    for (const l of gen.cfg.listeners) this.sendHandle(h, l.key);
    return h;
  }

  private sendHandle(h: WorkerHandle, key: string): void {
    const b = this.sockets.get(key);
    if (!b || h.exited) return;
    const msg: HandleMessage = { sy: 'listener', key, gen: h.gen };
    try {
      h.worker.process.send(msg, b.handle as never);
    } catch (e) {
      this.log.warn({ err: e }, `could not send listener ${key} to worker ${h.pid}`);
    }
  }

  private whenReady(h: WorkerHandle): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker ${h.pid} did not become ready within ${READY_TIMEOUT_MS / 1000}s`)), READY_TIMEOUT_MS);
      const onReady = (w: WorkerHandle): void => { if (w === h) { cleanup(); resolve(); } };
      const onFail = (w: WorkerHandle, why: string): void => { if (w === h) { cleanup(); reject(new Error(why)); } };
      const cleanup = (): void => { clearTimeout(timer); this.off('ready', onReady); this.off('failed', onFail); };
      this.on('ready', onReady);
      this.on('failed', onFail);
    });
  }

  private onWorkerMessage(h: WorkerHandle, m: WorkerMessage): void {
    switch (m.t) {
      case 'ready':
        h.ready = true;
        this.log.info(`worker ${h.pid} (#${h.index + 1}, generation ${h.gen}) ready`);
        this.emit('ready', h);
        return;
      case 'stats-res': {
        const p = this.pendingStats.get(m.id);
        if (!p || !p.need.has(h.pid)) return;
        p.need.delete(h.pid);
        p.got.push(m.stats);
        if (p.need.size === 0) { clearTimeout(p.timer); this.pendingStats.delete(m.id); p.resolve(p.got); }
        return;
      }
      case 'listen-error':
        this.log.error(`worker ${h.pid} could not listen on ${m.key}: ${m.error}`);
        this.emit('failed', h, `worker ${h.pid} could not listen on ${m.key}: ${m.error}`);
        return;
      case 'need-listener':
        if (!h.stopping) this.sendHandle(h, m.key);
        return;
      case 'log':
        this.log[m.level]({ worker: h.pid }, m.msg);
        return;
      case 'slot-want':
        h.arbiter.want(h, m.p, m.s, m.n);
        return;
      case 'slot-give':
        h.arbiter.give(h, m.p, m.s, m.n);
        return;
      case 'load':
        h.arbiter.load(h, m.v);
        return;
      case 'observe':
        // `observe` reports use the indexes of the serving configuration (checks/scheduler.ts).
        if (this.current && h.gen === this.current.gen) this.emit('observe', m.r);
        return;
    }
  }

  private onExit(gen: Generation, h: WorkerHandle, code: number | null, signal: string | null): void {
    h.exited = true;
    gen.arbiter.remove(h);
    this.emit('exit', h);
    if (!h.ready) this.emit('failed', h, `worker ${h.pid} exited before it was ready (${signal ?? `code ${code}`})`);
    for (const [id, p] of this.pendingStats) {
      if (p.need.delete(h.pid) && p.need.size === 0) { clearTimeout(p.timer); this.pendingStats.delete(id); p.resolve(p.got); }
    }
    const idx = this.old.indexOf(gen);
    if (idx >= 0 && gen.workers.every(w => w.exited)) {
      this.old.splice(idx, 1);
      gen.arbiter.close();
      this.log.info(`all workers of generation ${gen.gen} have exited`);
      this.emit('old-gone');
    }
    if (h.stopping || this.stopping) {
      this.log.info(`worker ${h.pid} exited (${signal ?? `code ${code}`})`);
      if (this.stopping && this.allExited()) this.emit('all-exited');
      return;
    }
    if (gen !== this.current) return;
    // A crash: respawn the same slot, backing off when it keeps crashing.
    const now = Date.now();
    const recent = (this.crashes.get(h.index) ?? []).filter(t => now - t < 60_000);
    recent.push(now);
    this.crashes.set(h.index, recent);
    const delay = Math.min(RESPAWN_MAX_MS, RESPAWN_MIN_MS * 2 ** (recent.length - 1));
    this.log.error(`worker ${h.pid} (#${h.index + 1}) died (${signal ?? `exit code ${code}`}); respawning in ${delay} ms`);
    setTimeout(() => {
      if (this.stopping || gen !== this.current) return;
      const w = this.fork(gen, h.index);
      gen.workers[gen.workers.indexOf(h)] = w;
    }, delay).unref();
  }

  private allExited(): boolean {
    return this.currentWorkers().length === 0 && this.oldWorkers().length === 0;
  }

  private stopWorker(w: WorkerHandle, graceful: boolean, hardStopAfter: number): void {
    if (w.exited) return;
    w.stopping = true;
    w.channel.send({ t: 'stop', graceful, hardStopAfter });
    w.channel.flush();
    if (hardStopAfter > 0 || !graceful) {
      // The worker enforces hard-stop-after itself; this is the backstop.
      const grace = graceful ? hardStopAfter + 2000 : 3000;
      setTimeout(() => { if (!w.exited) w.worker.process.kill('SIGKILL'); }, grace).unref();
    }
  }

  /** SIGUSR1 (graceful) / SIGTERM (fast): resolves when every worker is gone. */
  stopAll(graceful: boolean): Promise<void> {
    this.stopping = true;
    const hard = this.current?.cfg.global.hardStopAfter ?? 0;
    for (const w of [...this.currentWorkers(), ...this.oldWorkers()]) this.stopWorker(w, graceful, graceful ? hard : 0);
    if (this.allExited()) return Promise.resolve();
    return new Promise(resolve => this.once('all-exited', resolve));
  }

  /** Ask every current worker (or one, by pid) for its counters; stuck workers are left out after 1 s. */
  collectStats(pid?: number): Promise<WorkerStats[]> {
    const targets = this.currentWorkers().filter(w => w.ready && (pid === undefined || w.pid === pid));
    if (targets.length === 0) return Promise.resolve([]);
    const id = this.nextStatsId++;
    return new Promise(resolve => {
      const timer = setTimeout(() => {
        const p = this.pendingStats.get(id);
        this.pendingStats.delete(id);
        resolve(p ? p.got : []);
      }, 1000);
      this.pendingStats.set(id, { need: new Set(targets.map(w => w.pid)), got: [], resolve, timer });
      for (const w of targets) w.channel.send({ t: 'stats-req', id });
    });
  }

  /**
   * Resolves once every current worker has handled what was sent to it so
   * far: IPC is in order per worker, so a stats round trip is a barrier. The
   * Runtime API waits for it so that a `disable server` is in effect in every
   * worker when its reply arrives, as it is in HAProxy. A stuck worker is
   * waited for 1 s at most (collectStats' bound).
   */
  async applied(): Promise<void> {
    await this.collectStats();
  }

  /**
   * Change a server's state and replicate it to every current worker. A
   * server with `slowstart` coming back (stopped → running) goes through
   * STARTING for that long, as HAProxy's srv_update_status does: workers
   * ramp its weight, the arbiter its maxconn.
   */
  setServerState(p: number, s: number, st: ServerRuntimeState): void {
    const prev = this.states[p]?.[s];
    if (!prev) return;
    const ss = this.current?.cfg.proxies[p]?.servers[s]?.slowstart ?? 0;
    if (ss > 0 && st.op === SRV_ST_RUNNING && prev.op === SRV_ST_STOPPED) {
      st = { ...st, op: SRV_ST_STARTING };
      const since = st.lastChange;
      setTimeout(() => {
        const now = this.states[p]?.[s];
        if (now && now.op === SRV_ST_STARTING && now.lastChange === since) this.setServerState(p, s, { ...now, op: SRV_ST_RUNNING });
      }, ss).unref();
    }
    this.states[p][s] = st;
    for (const w of this.currentWorkers()) w.channel.send({ t: 'srv', p, s, st });
    this.current?.arbiter.stateChanged(p, s);
    this.syncPending();
  }

  /** Carry the current states over to a starting generation; send it what changed. */
  private syncPending(): void {
    const pd = this.pending;
    if (!pd || !this.current) return;
    const latest = carryOverStates(this.current.cfg, this.states, pd.gen.cfg);
    latest.forEach((servers, p) => servers.forEach((st, s) => {
      const was = pd.sent[p][s];
      if (st.admin === was.admin && st.op === was.op && st.uweight === was.uweight) return;
      for (const w of pd.gen.workers) if (!w.exited) w.channel.send({ t: 'srv', p, s, st });
    }));
    pd.sent = latest;
  }
}

/**
 * Server state survives a reload: servers are matched by backend and server
 * name; admin flags set at runtime (CLI) and weights changed at runtime carry
 * over, configured flags come from the new configuration.
 */
function carryOverStates(oldCfg: CompiledConfig | undefined, oldStates: ServerStateTable, cfg: CompiledConfig): ServerStateTable {
  const RUNTIME_ADMIN = 0x01 | 0x08; // FMAINT | FDRAIN
  return cfg.proxies.map(p => {
    const oi = oldCfg ? oldCfg.proxies.findIndex(o => o.name === p.name && o.cap.be && p.cap.be) : -1;
    return p.servers.map(s => {
      const fresh = initialServerState(s);
      if (oi < 0) return fresh;
      const si = oldCfg!.proxies[oi].servers.findIndex(o => o.name === s.name);
      const prev = si >= 0 ? oldStates[oi]?.[si] : undefined;
      if (!prev) return fresh;
      const weightChanged = prev.uweight !== prev.iweight;
      return {
        admin: (fresh.admin & ~RUNTIME_ADMIN) | (prev.admin & RUNTIME_ADMIN),
        op: prev.op,
        uweight: weightChanged ? prev.uweight : fresh.uweight,
        iweight: fresh.iweight,
        lastChange: prev.lastChange,
      };
    });
  });
}
