/**
 * The worker-side runtime objects built once from the CompiledConfig:
 * proxies with their counters, servers with their replicated state, and the
 * load balancer of each backend.
 */
import type { CompiledConfig, ProxyConfig, ServerConfig } from '../config/compiled';
import { newBackendCounters, newFrontendCounters, newServerCounters, type BackendCounters, type FrontendCounters, type ServerCounters, type ProxyStats } from '../stats/counters';
import { serverUsable, type ServerRuntimeState, type ServerStateTable, ADMF_CMAINT, ADMF_FMAINT, SRV_ST_RUNNING, SRV_ST_STOPPED } from '../proxy/server-state';
import { SmoothRoundRobin } from '../backend/lb-roundrobin';
import { ServerPool, reuseMode } from '../backend/server-pool';
import { httpFeatures, type HttpFeatures } from '../http/analysers';
import { compileProxyRules, type ProxyRules, type RuleCompileBase } from '../rules/rule-set';
import { AT_HTTP_REQ, AT_LOG, compileSampleExpr, type CompileEnv, type SampleExpr } from '../rules/sample';
import { SNI_AT } from '../tls/server-ssl';

export class ServerRuntime {
  readonly counters: ServerCounters = newServerCounters();
  /** Connections to this server from this worker. */
  cur = 0;
  /** Connections to this server from the other workers, as last reported over IPC. */
  remoteCur = 0;
  state: ServerRuntimeState;
  /** Idle connections to this server (mode http). */
  readonly pool: ServerPool;
  /** `sni <expr>` compiled (tls/server-ssl.ts), null when the SNI is constant or absent. */
  sniExpr: SampleExpr | null = null;

  constructor(readonly cfg: ServerConfig, readonly index: number, state: ServerRuntimeState | undefined) {
    this.state = state ?? initialServerState(cfg);
    this.pool = new ServerPool(cfg.poolMaxConn, cfg.poolPurgeDelay);
  }

  /** A stream was given this server: count it (stot, lbtot, scur/smax). */
  acquire(): void {
    this.cur++;
    const c = this.counters;
    c.stot++; c.lbtot++; c.lastSess = Date.now();
    if (this.cur > c.smax) c.smax = this.cur;
    c.scur = this.cur;
  }

  /** The stream left this server. */
  release(): void {
    this.cur--;
    this.counters.scur = this.cur;
  }

  /** Connections to this server from every worker of the node (leastconn, first, hash-balance-factor). */
  load(): number {
    return this.cur + this.remoteCur;
  }

  /** Weight for the load balancer: 0 when not usable. */
  weight(): number {
    return serverUsable(this.state) ? this.state.uweight : 0;
  }
}

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
  private readonly active: SmoothRoundRobin<ServerRuntime>;
  private readonly backups: ServerRuntime[];
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

  /** What rule, log-format and unique-id expressions of this proxy compile against (rules/rule-set.ts). */
  readonly ruleBase: RuleCompileBase;

  constructor(readonly cfg: ProxyConfig, readonly index: number, states: ServerRuntimeState[] | undefined, base?: RuleCompileBase) {
    this.ruleBase = base ?? { proxies: [cfg], file: () => undefined };
    this.fe = cfg.cap.fe ? newFrontendCounters() : null;
    this.be = cfg.cap.be ? newBackendCounters() : null;
    this.servers = cfg.servers.map((s, i) => new ServerRuntime(s, i, states?.[i]));
    this.active = new SmoothRoundRobin(this.servers.filter(s => !s.cfg.backup));
    this.backups = this.servers.filter(s => s.cfg.backup);
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
  }

  /**
   * Next server: active servers by weighted round-robin; when none is usable,
   * the first usable backup (HAProxy uses only the first backup unless
   * `option allbackups`); a backend without servers, its `dispatch` address.
   */
  pickServer(exclude?: ServerRuntime): ServerRuntime | undefined {
    let s = this.active.pick();
    if (s && s === exclude) {
      const again = this.active.pick();
      if (again) s = again;
    }
    if (s) return s;
    for (const b of this.backups) if (b.weight() > 0 && b !== exclude) return b;
    for (const b of this.backups) if (b.weight() > 0) return b;
    return this.dispatch ?? undefined;
  }

  /** A compile environment for an expression of this proxy used at `at`. */
  env(at: number, where: string): CompileEnv {
    const b = this.ruleBase;
    return { proxy: this.cfg, proxies: b.proxies, file: b.file, runtime: b.runtime, userlists: b.userlists, at, where };
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
  return proxies;
}

/** This worker's share of a limit split across `count` workers (never exceeds the total). */
export function shareOf(total: number, index: number, count: number): number {
  if (total <= 0) return 0;
  const base = Math.floor(total / count);
  return base + (index < total % count ? 1 : 0);
}
