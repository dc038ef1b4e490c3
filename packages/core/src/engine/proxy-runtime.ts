/**
 * The worker-side runtime objects built once from the CompiledConfig:
 * proxies with their counters, servers with their replicated state, and the
 * load balancer of each backend.
 */
import type { CompiledConfig, ProxyConfig, ServerConfig } from '../config/compiled';
import { newBackendCounters, newFrontendCounters, newServerCounters, type BackendCounters, type FrontendCounters, type ServerCounters, type ProxyStats } from '../stats/counters';
import { serverUsable, type ServerRuntimeState, type ServerStateTable, ADMF_CMAINT, ADMF_FMAINT, SRV_ST_RUNNING, SRV_ST_STARTING, SRV_ST_STOPPED } from '../proxy/server-state';
import { Balancer } from '../backend/balancer';
import { SlotState, WaitQueue, creditFreed, serverHasRoom, markLoad, type SlotLink } from '../backend/queue';
import { ServerPool, reuseMode } from '../backend/server-pool';
import { httpFeatures, type HttpFeatures } from '../http/analysers';
import { compileProxyRules, type ProxyRules, type RuleCompileBase } from '../rules/rule-set';
import { AT_HTTP_REQ, AT_LOG, AT_REQ_CNT, compileSampleExpr, type CompileEnv, type SampleContext, type SampleExpr } from '../rules/sample';
import { SNI_AT } from '../tls/server-ssl';
import { buildPersist, type PersistRuntime } from '../http/cookie-persist';

export class ServerRuntime {
  readonly counters: ServerCounters = newServerCounters();
  /** Connections to this server from this worker. */
  cur = 0;
  /** Connections to this server from the other workers, as last reported over IPC. */
  remoteCur = 0;
  /** Requests waiting for this server in the other workers' queues, as last reported. */
  remoteQueued = 0;
  state: ServerRuntimeState;
  /** Idle connections to this server (mode http). */
  readonly pool: ServerPool;
  /** `sni <expr>` compiled (tls/server-ssl.ts), null when the SNI is constant or absent. */
  sniExpr: SampleExpr | null = null;
  /** This worker's credits of the node-wide maxconn and its queue (backend/queue.ts); null: no maxconn. */
  slots: SlotState | null = null;
  /** Queued on the load-sync list (engine/node-sync.ts). */
  loadDirty = false;
  /** Index of its backend in the configuration's proxies. */
  proxyIndex = -1;
  /** Its backend (set by ProxyRuntime). */
  backend: ProxyRuntime | null = null;

  constructor(readonly cfg: ServerConfig, readonly index: number, state: ServerRuntimeState | undefined) {
    this.state = state ?? initialServerState(cfg);
    this.pool = new ServerPool(cfg.poolMaxConn, cfg.poolPurgeDelay);
  }

  /** A stream was given this server: count it (stot, lbtot, scur/smax). */
  acquire(): void {
    this.cur++;
    if (!this.loadDirty) markLoad(this);
    const c = this.counters;
    c.stot++; c.lbtot++; c.lastSess = Date.now();
    if (this.cur > c.smax) c.smax = this.cur;
    c.scur = this.cur;
  }

  /** The stream left this server. */
  release(): void {
    this.cur--;
    if (!this.loadDirty) markLoad(this);
    // The freed slot goes to a waiter on the next tick, once the releasing stream is done with it.
    if (this.slots !== null) process.nextTick(creditFreedNT, this);
    this.counters.scur = this.cur;
  }

  /** Connections to this server from every worker of the node (leastconn, first, hash-balance-factor). */
  load(): number {
    return this.cur + this.remoteCur;
  }

  /**
   * Weight for the load balancer: 0 when not usable. During `slowstart`
   * (state STARTING after the server came back) it grows from 1 to the
   * full weight (HAProxy's server_recalc_eweight).
   */
  weight(): number {
    const st = this.state;
    if (!serverUsable(st)) return 0;
    const ss = this.cfg.slowstart;
    if (st.op === SRV_ST_STARTING && ss !== undefined && ss > 0) return warmWeight(st.uweight, st.lastChange, ss, Date.now());
    return st.uweight;
  }

  /** The maxconn the load balancer fills the server up to (0 = unlimited). */
  maxconnNow(): number {
    return this.cfg.maxconn;
  }

  /**
   * No free slot for a new stream in this worker (backend/queue.ts): the
   * balancers skip it (lb-server.ts isFull). The node-wide maxconn, dynamic
   * limits and slowstart are in the credits the master gives.
   */
  full(): boolean {
    return this.slots !== null && !serverHasRoom(this);
  }
}

/** The weight `elapsed/slowstart` of the way from 1 to `w` (at least 1 while warming up). */
export function warmWeight(w: number, since: number, slowstart: number, now: number): number {
  const elapsed = now - since;
  if (elapsed >= slowstart || elapsed < 0) return w;
  return Math.max(1, Math.ceil(w * elapsed / slowstart));
}

function creditFreedNT(srv: ServerRuntime): void { creditFreed(srv.backend!, srv); }



export function initialServerState(cfg: ServerConfig): ServerRuntimeState {
  // As HAProxy: a `disabled` server starts forced into maintenance (FMAINT|CMAINT) and stopped.
  return cfg.disabled
    ? { admin: ADMF_FMAINT | ADMF_CMAINT, op: SRV_ST_STOPPED, uweight: cfg.weight, iweight: cfg.weight, lastChange: Date.now() }
    : { admin: 0, op: SRV_ST_RUNNING, uweight: cfg.weight, iweight: cfg.weight, lastChange: Date.now() };
}

/** HTTP connection modes, ordered: frontend and backend combine to the larger. */
export const CONN_KEEP_ALIVE = 0;
export const CONN_SERVER_CLOSE = 1;
export const CONN_CLOSE = 2;

export class ProxyRuntime {
  readonly fe: FrontendCounters | null;
  readonly be: BackendCounters | null;
  readonly servers: ServerRuntime[];
  /** The load balancer (backend/balancer.ts); null without servers. */
  readonly balancer: Balancer<ServerRuntime> | null;
  /** Sessions currently in this proxy, as frontend and as backend. */
  feconn = 0;
  beconn = 0;
  /** Resolved default backend (frontends). */
  defaultBackend: ProxyRuntime | null = null;
  /** This worker's share of the frontend's maxconn (0 = none). */
  maxconn = 0;
  /** REUSE_* of `http-reuse`. */
  readonly reuse: number;
  /** CONN_* of the http connection mode options. */
  readonly connMode: number;
  /** monitor-uri, captures, unique-id, forwardfor … compiled (http/analysers.ts); null outside mode http. */
  readonly http: HttpFeatures | null;
  /** `dispatch`: the destination of a backend without servers (proxy/dispatch.ts), null when none. */
  readonly dispatch: ServerRuntime | null;
  /** ACLs, rule sets and use_backend, compiled (rules/rule-set.ts); null when the proxy has none. */
  rules: ProxyRules | null = null;
  /** Requests waiting for any server (backend/queue.ts). */
  readonly queue = new WaitQueue();
  /** Requests waiting in this backend's queue and its servers' queues. */
  queuedTotal = 0;
  /** Connections of this backend in the other workers, as last reported (fullconn). */
  remoteConn = 0;
  /** cookie, option persist, force-/ignore-persist (http/cookie-persist.ts); null when the backend has none. */
  persist: PersistRuntime | null = null;

  /** What rule, log-format and unique-id expressions of this proxy compile against (rules/rule-set.ts). */
  readonly ruleBase: RuleCompileBase;

  constructor(readonly cfg: ProxyConfig, readonly index: number, states: ServerRuntimeState[] | undefined, base?: RuleCompileBase) {
    this.ruleBase = base ?? { proxies: [cfg], file: () => undefined };
    this.fe = cfg.cap.fe ? newFrontendCounters() : null;
    this.be = cfg.cap.be ? newBackendCounters() : null;
    this.servers = cfg.servers.map((s, i) => new ServerRuntime(s, i, states?.[i]));
    for (const s of this.servers) { s.proxyIndex = index; s.backend = this; }
    this.reuse = reuseMode(cfg.options.httpReuse);
    const m = cfg.options.httpConnMode;
    this.connMode = m === 'close' ? CONN_CLOSE : m === 'server-close' ? CONN_SERVER_CLOSE : CONN_KEEP_ALIVE;
    this.http = httpFeatures(cfg, this.env(AT_HTTP_REQ | AT_LOG, 'unique-id-format'));
    for (const s of this.servers) {
      const src = s.cfg.tls?.sniExpr;
      if (src === undefined) continue;
      const e = compileSampleExpr(src, this.env(SNI_AT, 'server sni'));
      // Checked by the master: cannot fail here.
      if (typeof e !== 'string') s.sniExpr = e;
    }
    this.dispatch = cfg.dispatch ? new ServerRuntime(cfg.dispatch, -1, undefined) : null;
    let hashExpr: SampleExpr | null = null;
    if (cfg.balance.algo === 'hash') {
      const e = compileSampleExpr(cfg.balance.arg, this.env(AT_REQ_CNT | AT_HTTP_REQ, 'balance hash'));
      // Checked by the master (backend/balance-keywords.ts): cannot fail here.
      if (typeof e !== 'string') hashExpr = e;
    }
    this.balancer = cfg.cap.be && this.servers.length > 0 ? new Balancer(cfg.balance, this.servers, hashExpr) : null;
  }

  /**
   * The server for a stream by the backend's algorithm (backend/balancer.ts),
   * hashing on `ctx` (null: no stream, e.g. a redispatch; hashing algorithms
   * then fall back to round-robin); `exclude` (the server that just failed)
   * only when no other can take it. A backend without servers gives its
   * `dispatch` address. Undefined when no server is usable, or when every
   * usable one is at its maxconn (then usableServers() > 0: HAProxy would
   * queue the stream in the backend).
   */
  pickServer(ctx: SampleContext | null, exclude?: ServerRuntime): ServerRuntime | undefined {
    const b = this.balancer;
    if (b === null) return this.dispatch ?? undefined;
    return b.pick(ctx, exclude ?? null) ?? undefined;
  }

  /** A server's state or weight changed: the balancer recounts its servers and rebuilds its tables. */
  serverChanged(): void {
    this.balancer?.update();
  }

  /** A compile environment for an expression of this proxy used at `at`. */
  env(at: number, where: string): CompileEnv {
    const b = this.ruleBase;
    return { proxy: this.cfg, proxies: b.proxies, file: b.file, runtime: b.runtime, userlists: b.userlists, at, where };
  }

  /** The algorithm is round-robin-like (redispatch on every retry of a balanced request, server-connect.ts). */
  get roundRobin(): boolean {
    // HAProxy's BE_LB_KIND_RR: roundrobin, static-rr and random.
    const a = this.cfg.balance.algo;
    return a === 'roundrobin' || a === 'static-rr' || a === 'random';
  }

  /** Set by pickWithRoom: every server was full, the request waits in the backend's queue. */
  allFull = false;

  /**
   * The balancer's choice (its algorithms skip servers without a free slot,
   * ServerRuntime.full(), as HAProxy's skip full servers; hash-based ones
   * keep the hashed server, the request then waits in its queue). When every
   * server is full, `allFull` is set and a server comes back all the same:
   * the request waits in the backend's queue, asking the master for a credit
   * of that server (the least loaded one).
   */
  pickWithRoom(ctx: SampleContext | null, exclude?: ServerRuntime): ServerRuntime | undefined {
    this.allFull = false;
    const s = this.pickServer(ctx, exclude);
    if (s !== undefined || this.balancer === null) return s;
    const members = this.balancer.members;
    let best: ServerRuntime | undefined;
    for (let i = 0; i < members.length; i++) {
      const m = members[i];
      if (m === exclude && members.length > 1) continue;
      if (best === undefined || m.load() < best.load()) best = m;
    }
    if (best !== undefined) this.allFull = true;
    return best;
  }

  /** Requests waiting in the servers' queues (not the backend's). */
  serverQueued(): number {
    return this.queuedTotal - this.queue.count;
  }

  /** Give each server with a maxconn its share of the node-wide limit's credits (backend/queue.ts). */
  attachSlots(link: SlotLink | null): void {
    for (const s of this.servers) if (s.cfg.maxconn > 0) s.slots = new SlotState(this.index, s.index, link);
  }

  usableServers(): number {
    let n = 0;
    for (const s of this.servers) if (s.weight() > 0) n++;
    return n;
  }

  stats(): ProxyStats {
    return { name: this.cfg.name, fe: this.fe, be: this.be, servers: this.servers.map(s => s.counters) };
  }
}

export function buildRuntime(cfg: CompiledConfig, states: ServerStateTable | undefined): ProxyRuntime[] {
  const backends = new Map<string, ProxyRuntime>();
  // Checked by the master at load: nothing can fail when compiling here.
  const base: RuleCompileBase = { proxies: cfg.proxies, file: (path: string) => cfg.patternFiles[path], runtime: backends, httpErrors: cfg.httpErrors };
  const proxies = cfg.proxies.map((p, i) => new ProxyRuntime(p, i, states?.[i], base));
  for (const p of proxies) if (p.cfg.cap.be) backends.set(p.cfg.name, p);
  for (const p of proxies) {
    if (!p.cfg.cap.fe) continue;
    const name = p.cfg.defaultBackend;
    if (name !== null) p.defaultBackend = backends.get(name) ?? null;
    else if (p.cfg.cap.be) p.defaultBackend = p;
  }
  const quiet = { error(): void { /* validated by the master */ }, warn(): void { /* reported by the master */ } };
  for (const p of proxies) {
    const c = p.cfg;
    if (c.acls.length + c.rules.length + c.useBackends.length + c.useServers.length === 0 && c.errorReplies === undefined) continue;
    p.rules = compileProxyRules(c, base, quiet);
  }
  for (const p of proxies) p.persist = buildPersist(p);
  return proxies;
}

/** This worker's share of a limit split across `count` workers (never exceeds the total). */
export function shareOf(total: number, index: number, count: number): number {
  if (total <= 0) return 0;
  const base = Math.floor(total / count);
  return base + (index < total % count ? 1 : 0);
}
