/**
 * Pure formatters for the Runtime API: `show stat` (CSV, typed, JSON),
 * `show info`, `show servers state` and the master CLI's `show proc`.
 *
 * Every layout here matches HAProxy 2.6.12 byte for byte (captured from
 * /usr/sbin/haproxy over its stats socket), because hatop, exporters and
 * operators' scripts parse these outputs by position. Nothing here does I/O:
 * callers pass the config, the server state table and the summed counters.
 */
import { warmWeight } from '@switchyard/core/engine/proxy-runtime';
import type { CompiledConfig, ProxyConfig, ServerConfig } from '@switchyard/core/config/compiled';
import type { ProxyStats, WorkerStats, FrontendCounters, BackendCounters, ServerCounters, HttpCounters } from '@switchyard/core/stats/counters';
import type { ServerRuntimeState, ServerStateTable } from '@switchyard/core/proxy/server-state';
import {
  ADMF_FMAINT, ADMF_IMAINT, ADMF_CMAINT, ADMF_RMAINT, ADMF_DRAIN,
  SRV_ST_STOPPED, SRV_ST_STARTING, SRV_ST_RUNNING, SRV_ST_STOPPING,
} from '@switchyard/core/proxy/server-state';
import { isIP } from 'node:net';
import type { ProcInfo } from './runtime-api';

/**
 * Admin flags that put a server in maintenance for the status column:
 * HAProxy's SRV_ADMF_MAINT (FMAINT|IMAINT|RMAINT). A `disabled` server starts
 * with FMAINT|CMAINT (`show servers state` prints 5); `enable server` clears
 * FMAINT only.
 */
const MAINT_MASK = ADMF_FMAINT | ADMF_IMAINT | ADMF_RMAINT;

/* ------------------------------------------------------------------ */
/* Field table                                                         */
/* ------------------------------------------------------------------ */

type FieldType = 'u32' | 'u64' | 's32' | 'str';
type RowKind = 'F' | 'B' | 'S';

/**
 * Every proxy-domain stat field of HAProxy 2.6.12 in output order: the static
 * fields 0..102, then the per-module fields (ssl, h2, h1) that the Debian
 * build registers. Columns 2..4 give "<tags>:<type>" for a frontend, backend
 * and server row ('' = this row kind never fills the field). Tags are the
 * origin/nature/scope letters of the typed format (doc/management.txt 9.2),
 * read off `show stat typed` of the real binary.
 */
const FIELD_TABLE: ReadonlyArray<readonly [string, string, string, string]> = [
  ['pxname', 'KNS:str', 'KNS:str', 'KNS:str'],
  ['svname', 'KNS:str', 'KNS:str', 'KNS:str'],
  ['qcur', '', 'MGP:u32', 'MGP:u32'],
  ['qmax', '', 'MMP:u32', 'MMP:u32'],
  ['scur', 'MGP:u32', 'MGP:u32', 'MGP:u32'],
  ['smax', 'MMP:u32', 'MMP:u32', 'MMP:u32'],
  ['slim', 'CLP:u32', 'CLP:u32', 'CLP:u32'],
  ['stot', 'MCP:u64', 'MCP:u64', 'MCP:u64'],
  ['bin', 'MCP:u64', 'MCP:u64', 'MCP:u64'],
  ['bout', 'MCP:u64', 'MCP:u64', 'MCP:u64'],
  ['dreq', 'MCP:u64', 'MCP:u64', ''],
  ['dresp', 'MCP:u64', 'MCP:u64', 'MCP:u64'],
  ['ereq', 'MCP:u64', '', ''],
  ['econ', '', 'MCP:u64', 'MCP:u64'],
  ['eresp', '', 'MCP:u64', 'MCP:u64'],
  ['wretr', '', 'MCP:u64', 'MCP:u64'],
  ['wredis', '', 'MCP:u64', 'MCP:u64'],
  ['status', 'SGP:str', 'SGP:str', 'SGP:str'],
  ['weight', '', 'MaP:u32', 'MaP:u32'],
  ['act', '', 'MGP:u32', 'SGP:u32'],
  ['bck', '', 'MGP:u32', 'SGP:u32'],
  ['chkfail', '', '', 'MCP:u64'],
  ['chkdown', '', 'MCP:u64', 'MCP:u64'],
  ['lastchg', '', 'MAP:u32', 'MAP:u32'],
  ['downtime', '', 'MCP:u32', 'MCP:u32'],
  ['qlimit', '', '', 'CGS:u32'],
  ['pid', 'KGP:u32', 'KGP:u32', 'KGP:u32'],
  ['iid', 'KGS:u32', 'KGS:u32', 'KGS:u32'],
  ['sid', 'KGS:u32', 'KGS:u32', 'KGS:u32'],
  ['throttle', '', '', 'MaP:u32'],
  ['lbtot', '', 'MCP:u64', 'MCP:u64'],
  ['tracked', '', '', 'CNS:str'],
  ['type', 'CGS:u32', 'CGS:u32', 'CGS:u32'],
  ['rate', 'MRP:u32', 'MGP:u32', 'MRP:u32'],
  ['rate_lim', 'CLP:u32', '', ''],
  ['rate_max', 'MMP:u32', 'MGP:u32', 'MMP:u32'],
  ['check_status', '', '', 'MOP:str'],
  ['check_code', '', '', 'MOP:u32'],
  ['check_duration', '', '', 'MDP:u64'],
  ['hrsp_1xx', 'MCP:u64', 'MCP:u64', 'MCP:u64'],
  ['hrsp_2xx', 'MCP:u64', 'MCP:u64', 'MCP:u64'],
  ['hrsp_3xx', 'MCP:u64', 'MCP:u64', 'MCP:u64'],
  ['hrsp_4xx', 'MCP:u64', 'MCP:u64', 'MCP:u64'],
  ['hrsp_5xx', 'MCP:u64', 'MCP:u64', 'MCP:u64'],
  ['hrsp_other', 'MCP:u64', 'MCP:u64', 'MCP:u64'],
  ['hanafail', '', '', 'MCP:u64'],
  ['req_rate', 'MRP:u32', '', ''],
  ['req_rate_max', 'MMP:u32', '', ''],
  ['req_tot', 'MCP:u64', 'MCP:u64', 'MCP:u64'],
  ['cli_abrt', '', 'MCP:u64', 'MCP:u64'],
  ['srv_abrt', '', 'MCP:u64', 'MCP:u64'],
  ['comp_in', 'MCP:u64', 'MCP:u64', ''],
  ['comp_out', 'MCP:u64', 'MCP:u64', ''],
  ['comp_byp', 'MCP:u64', 'MCP:u64', ''],
  ['comp_rsp', 'MCP:u64', 'MCP:u64', ''],
  ['lastsess', '', 'MAP:s32', 'MAP:s32'],
  ['last_chk', '', '', 'MOP:str'],
  ['last_agt', '', '', 'MOP:str'],
  ['qtime', '', 'MaP:u32', 'MaP:u32'],
  ['ctime', '', 'MaP:u32', 'MaP:u32'],
  ['rtime', '', 'MaP:u32', 'MaP:u32'],
  ['ttime', '', 'MaP:u32', 'MaP:u32'],
  ['agent_status', '', '', 'MOP:str'],
  ['agent_code', '', '', 'MOP:u32'],
  ['agent_duration', '', '', 'MDP:u64'],
  ['check_desc', '', '', 'MOP:str'],
  ['agent_desc', '', '', 'MOP:str'],
  ['check_rise', '', '', 'CGS:u32'],
  ['check_fall', '', '', 'CGS:u32'],
  ['check_health', '', '', 'CGS:u32'],
  ['agent_rise', '', '', 'CGS:u32'],
  ['agent_fall', '', '', 'CGS:u32'],
  ['agent_health', '', '', 'CGS:u32'],
  ['addr', '', '', 'CGS:str'],
  ['cookie', '', 'CNS:str', 'CNS:str'],
  ['mode', 'CGS:str', 'CGS:str', 'CGS:str'],
  ['algo', '', 'CGS:str', ''],
  ['conn_rate', 'MRP:u32', '', ''],
  ['conn_rate_max', 'MMP:u32', '', ''],
  ['conn_tot', 'MCP:u64', '', ''],
  ['intercepted', 'MCP:u64', '', ''],
  ['dcon', 'MCP:u64', '', ''],
  ['dses', 'MCP:u64', '', ''],
  ['wrew', 'MCP:u64', 'MCP:u64', 'MCP:u64'],
  ['connect', '', 'MCP:u64', 'MCP:u64'],
  ['reuse', '', 'MCP:u64', 'MCP:u64'],
  ['cache_lookups', 'MCP:u64', 'MCP:u64', ''],
  ['cache_hits', 'MCP:u64', 'MCP:u64', ''],
  ['srv_icur', '', '', 'MGP:u32'],
  ['src_ilim', '', '', 'CLP:u32'],
  ['qtime_max', '', 'MMP:u32', 'MMP:u32'],
  ['ctime_max', '', 'MMP:u32', 'MMP:u32'],
  ['rtime_max', '', 'MMP:u32', 'MMP:u32'],
  ['ttime_max', '', 'MMP:u32', 'MMP:u32'],
  ['eint', 'MCP:u64', 'MCP:u64', 'MCP:u64'],
  ['idle_conn_cur', '', '', 'MGP:u32'],
  ['safe_conn_cur', '', '', 'MGP:u32'],
  ['used_conn_cur', '', '', 'MGP:u32'],
  ['need_conn_est', '', '', 'MGP:u32'],
  ['uweight', '', 'MaP:u32', 'MaP:u32'],
  ['agg_server_status', '', 'MGP:u32', ''],
  ['agg_server_check_status', '', 'MGP:u32', ''],
  ['agg_check_status', '', 'MGP:u32', ''],
  // ---- end of static fields: the CSV prints a '-' column here ----
  ['ssl_sess', 'MCP:u64', 'MCP:u64', 'MCP:u64'],
  ['ssl_reused_sess', 'MCP:u64', 'MCP:u64', 'MCP:u64'],
  ['ssl_failed_handshake', 'MCP:u64', 'MCP:u64', 'MCP:u64'],
  ['h2_headers_rcvd', 'MCP:u64', 'MCP:u64', ''],
  ['h2_data_rcvd', 'MCP:u64', 'MCP:u64', ''],
  ['h2_settings_rcvd', 'MCP:u64', 'MCP:u64', ''],
  ['h2_rst_stream_rcvd', 'MCP:u64', 'MCP:u64', ''],
  ['h2_goaway_rcvd', 'MCP:u64', 'MCP:u64', ''],
  ['h2_detected_conn_protocol_errors', 'MCP:u64', 'MCP:u64', ''],
  ['h2_detected_strm_protocol_errors', 'MCP:u64', 'MCP:u64', ''],
  ['h2_rst_stream_resp', 'MCP:u64', 'MCP:u64', ''],
  ['h2_goaway_resp', 'MCP:u64', 'MCP:u64', ''],
  ['h2_open_connections', 'MGP:u64', 'MGP:u64', ''],
  ['h2_backend_open_streams', 'MGP:u64', 'MGP:u64', ''],
  ['h2_total_connections', 'MCP:u64', 'MCP:u64', ''],
  ['h2_backend_total_streams', 'MCP:u64', 'MCP:u64', ''],
  ['h1_open_connections', 'MGP:u64', 'MGP:u64', ''],
  ['h1_open_streams', 'MGP:u64', 'MGP:u64', ''],
  ['h1_total_connections', 'MCP:u64', 'MCP:u64', ''],
  ['h1_total_streams', 'MCP:u64', 'MCP:u64', ''],
  ['h1_bytes_in', 'MCP:u64', 'MCP:u64', ''],
  ['h1_bytes_out', 'MCP:u64', 'MCP:u64', ''],
  ['h1_spliced_bytes_in', 'MCP:u64', 'MCP:u64', ''],
  ['h1_spliced_bytes_out', 'MCP:u64', 'MCP:u64', ''],
];

/** Index of the last static field; the CSV inserts its '-' marker after it. */
const LAST_STATIC_FIELD = 102;
/** First and last index of the module fields, per module (ssl, h2, h1). */
const SSL_FIELDS: readonly [number, number] = [103, 105];
const H2_FIELDS: readonly [number, number] = [106, 118];
const H1_FIELDS: readonly [number, number] = [119, 126];

const FIELD_INDEX = new Map<string, number>(FIELD_TABLE.map((f, i) => [f[0], i]));
const KIND_COLUMN: Record<RowKind, 1 | 2 | 3> = { F: 1, B: 2, S: 3 };

/** The exact `show stat` CSV header line, newline included. */
export const STAT_CSV_HEADER: string = (() => {
  let s = '# ';
  for (let i = 0; i < FIELD_TABLE.length; i++) {
    s += FIELD_TABLE[i][0] + ',';
    if (i === LAST_STATIC_FIELD) s += '-,';
  }
  return s + '\n';
})();

/* ------------------------------------------------------------------ */
/* Rows                                                                */
/* ------------------------------------------------------------------ */

interface FieldValue {
  tags: string;
  type: FieldType;
  value: number | string;
}

export interface StatRow {
  kind: RowKind;
  iid: number;
  sid: number;
  /** Relative process number (the `pid` column and the typed suffix). */
  pid: number;
  fields: Array<FieldValue | undefined>;
}

function newRow(kind: RowKind, iid: number, sid: number, pid: number): StatRow {
  return { kind, iid, sid, pid, fields: new Array<FieldValue | undefined>(FIELD_TABLE.length) };
}

function put(row: StatRow, name: string, value: number | string): void {
  const i = FIELD_INDEX.get(name);
  if (i === undefined) throw new Error(`unknown stat field '${name}'`);
  const spec = FIELD_TABLE[i][KIND_COLUMN[row.kind]];
  if (!spec) throw new Error(`stat field '${name}' is not used by ${row.kind} rows`);
  const colon = spec.indexOf(':');
  row.fields[i] = { tags: spec.slice(0, colon), type: spec.slice(colon + 1) as FieldType, value };
}

/** Module counters (ssl, h2, h1): we have no TLS/H2 yet, HAProxy prints 0. */
function putModuleZeros(row: StatRow, ranges: ReadonlyArray<readonly [number, number]>): void {
  for (const [from, to] of ranges) for (let i = from; i <= to; i++) put(row, FIELD_TABLE[i][0], 0);
}

/* ------------------------------------------------------------------ */
/* Inputs                                                              */
/* ------------------------------------------------------------------ */

/** A server's agent check, for the agent_* columns (HAProxy's sv->agent). */
export interface AgentCheckView {
  enabled: boolean;
  paused: boolean;
  inProgress: boolean;
  rise: number;
  fall: number;
  health: number;
  status: number;
  statusName: string;
  statusDesc: string;
  result: number;
  code: number;
  durationMs: number;
  /** last_agt */
  lastCheck: string;
}

/**
 * What the health checks (checks/view.ts) know about a server; without it a
 * server is reported as HAProxy reports an unchecked one. The health check
 * fields describe sv->check: with only an agent check, `configured` is false
 * and `enabled` too.
 */
export interface ServerCheckView {
  /** CHK_ST_CONFIGURED (default true). */
  configured?: boolean;
  /** CHK_ST_ENABLED */
  enabled: boolean;
  /** CHK_ST_PAUSED (maintenance) */
  paused: boolean;
  /** CHK_ST_INPROGRESS: the status is prefixed with "* " */
  inProgress: boolean;
  rise: number;
  fall: number;
  health: number;
  /** HCHK_STATUS_* number (show servers state) */
  status: number;
  /** Short name of the status, e.g. L4OK, L7STS */
  statusName: string;
  /** Human description, e.g. "Layer4 check passed" */
  statusDesc: string;
  /** CHK_RES_* */
  result: number;
  /** Layer 5-7 code (HTTP status), used when status >= HCHK_STATUS_L57DATA */
  code: number;
  durationMs: number;
  /** last_chk: check output or textual error */
  lastCheck: string;
  failedChecks: number;
  downTransitions: number;
  downtimeSec: number;
  /** `agent-check`. */
  agent?: AgentCheckView;
  /** hanafail, with `observe`. */
  hanaFailed?: number;
  /** show servers state: srv_use_ssl, srv_check_port, srv_check_addr, srv_agent_addr, srv_agent_port. */
  useSsl?: boolean;
  checkPort?: number;
  checkAddr?: string;
  agentAddr?: string;
  agentPort?: number;
}

/** A backend's up/down history (chkdown, lastchg, downtime of the BACKEND row). */
export interface BackendCheckView {
  downTransitions: number;
  /** Unix ms of the last time it lost or regained its last server; 0: never (the process start counts). */
  lastChange: number;
  /** Seconds spent without a server before the current period. */
  downtimeSec: number;
}

/** HCHK_STATUS_* values that gate some columns. */
const HCHK_STATUS_INI = 1;
const HCHK_STATUS_CHECKED = 3;
const HCHK_STATUS_L57DATA = 14;

export interface StatInput {
  config: CompiledConfig;
  states: ServerStateTable;
  /** Counters summed over the selected workers, indexed like config.proxies. */
  proxies: ReadonlyArray<ProxyStats | undefined>;
  /** Optional health-check state, indexed like states. */
  checks?: ReadonlyArray<ReadonlyArray<ServerCheckView | undefined> | undefined>;
  /** Optional backend history, indexed like config.proxies. */
  backends?: ReadonlyArray<BackendCheckView | undefined>;
  /** Unix ms. */
  now: number;
  /** Unix ms when the serving process(es) started: a proxy's last change. */
  processStart: number;
  /** The `pid` column: 1, or the worker's relative number when routed. */
  processNum: number;
  /**
   * HAProxy shows addresses, cookies and the algorithm only on sockets bound
   * at level operator or admin (STAT_SHLGNDS).
   */
  showLegends: boolean;
}

export interface StatOptions {
  /** `show stat <iid> <type> <sid>`; iid/sid -1 = all, type is a 1|2|4 mask. */
  bound?: { iid: number; type: number; sid: number };
  /** `no-maint` */
  hideMaint?: boolean;
  /** `up` */
  hideDown?: boolean;
}

/* ------------------------------------------------------------------ */
/* Server and backend state, as HAProxy computes it                    */
/* ------------------------------------------------------------------ */

/** srv_currently_usable(): eligible for the load balancer right now. */
function usable(s: ServerRuntimeState): boolean {
  if (s.uweight <= 0) return false;
  if (s.admin & MAINT_MASK) return false;
  if (s.admin & ADMF_DRAIN) return false;
  return s.op === SRV_ST_RUNNING || s.op === SRV_ST_STARTING;
}

interface BackendSummary {
  act: number;
  bck: number;
  totWeight: number;
  totUweight: number;
  nbup: number;
  nbsrv: number;
}

/**
 * recount_servers() + update_backend_weight(): active servers carry the
 * backend; without any, only the first usable backup does, or every usable
 * backup with `option allbackups`.
 */
function summarizeBackend(px: ProxyConfig, states: ReadonlyArray<ServerRuntimeState> | undefined): BackendSummary {
  let act = 0, bck = 0, wact = 0, wbck = 0, nbup = 0;
  let fbck: ServerRuntimeState | undefined;
  for (let i = 0; i < px.servers.length; i++) {
    const st = states?.[i];
    if (!st) continue;
    if (st.op !== SRV_ST_STOPPED) nbup++;
    if (!usable(st)) continue;
    if (px.servers[i].backup) {
      if (bck === 0 && !px.balance.allBackups) fbck = st;
      bck++;
      wbck += st.uweight;
    } else {
      act++;
      wact += st.uweight;
    }
  }
  const totWeight = act ? wact : fbck ? fbck.uweight : wbck;
  const totUweight = act ? wact : fbck ? fbck.uweight : 0;
  return { act, bck, totWeight, totUweight, nbup, nbsrv: px.servers.length };
}

/** The `status` column of a server row (stats_fill_sv_stats). */
export function serverStatusText(st: ServerRuntimeState, check?: ServerCheckView): string {
  if (st.admin & ADMF_RMAINT) return 'MAINT (resolution)';
  // No `track` keyword yet: IMAINT cannot be inherited, print plain MAINT.
  if (st.admin & MAINT_MASK) return 'MAINT';
  // stats_fill_sv_stats_computestate(); the "%d/%d" use the health check's counters.
  const chk = check?.enabled ? check : undefined;
  const agent = check?.agent?.enabled ? check.agent : undefined;
  const h = check?.health ?? 0, rise = check?.rise ?? 0, fall = check?.fall ?? 0;
  if (st.op === SRV_ST_RUNNING || st.op === SRV_ST_STARTING) {
    const goingDown = chk !== undefined && chk.health < chk.rise + chk.fall - 1;
    if (st.admin & ADMF_DRAIN) {
      if (agent) return 'DRAIN (agent)';
      return goingDown ? `DRAIN ${h - rise + 1}/${fall}` : 'DRAIN';
    }
    if (goingDown) return `UP ${h - rise + 1}/${fall}`;
    return chk ? 'UP' : 'no check';
  }
  if (st.op === SRV_ST_STOPPING) {
    if (!chk || chk.health === chk.rise + chk.fall - 1) return 'NOLB';
    return `NOLB ${h - rise + 1}/${fall}`;
  }
  if (agent && agent.health === 0) return 'DOWN (agent)';
  if (chk && chk.health === 0) return 'DOWN';
  if (agent || chk) return `DOWN ${h}/${rise}`;
  return 'DOWN';
}

/**
 * A backend's default `fullconn` (its slim column): 10% of the maxconn of
 * every frontend that can route to it, rounded up, at least 1.
 */
function fullconn(config: CompiledConfig, be: ProxyConfig): number {
  let total = 0;
  for (const fe of config.proxies) {
    if (!fe.cap.fe || fe.disabled) continue;
    const maxconn = fe.maxconn || config.global.maxconn;
    // The default backend (a listen section without one is its own), plus
    // each distinct use_backend target other than the default backend.
    if (fe.defaultBackend === be.name || (fe.defaultBackend === null && fe === be)) total += maxconn;
    if (fe.defaultBackend !== be.name && fe.useBackends.some((r) => r.backend === be.name)) total += maxconn;
  }
  return Math.max(1, Math.floor((total + 9) / 10));
}

function ageSec(now: number, then: number): number {
  return Math.max(0, Math.floor((now - then) / 1000));
}

/** lastsess: seconds since the last session, -1 if none. */
function lastSess(now: number, lastSessMs: number): number {
  return lastSessMs > 0 ? ageSec(now, lastSessMs) : -1;
}

function formatServerAddr(sv: ServerConfig): string {
  return sv.family === 6 ? `[${sv.ip}]:${sv.port}` : `${sv.ip}:${sv.port}`;
}

/* ------------------------------------------------------------------ */
/* show stat rows                                                      */
/* ------------------------------------------------------------------ */

function frontendRow(input: StatInput, px: ProxyConfig, c: FrontendCounters): StatRow {
  const row = newRow('F', px.id, 0, input.processNum);
  const http = px.mode === 'http';
  put(row, 'pxname', px.name);
  put(row, 'svname', 'FRONTEND');
  put(row, 'scur', c.scur);
  put(row, 'smax', c.smax);
  put(row, 'slim', px.maxconn || input.config.global.maxconn);
  put(row, 'stot', c.stot);
  put(row, 'bin', c.bin);
  put(row, 'bout', c.bout);
  put(row, 'dreq', c.dreq);
  put(row, 'dresp', c.dresp);
  put(row, 'ereq', c.ereq);
  put(row, 'status', px.disabled ? 'STOP' : 'OPEN');
  put(row, 'pid', input.processNum);
  put(row, 'iid', px.id);
  put(row, 'sid', 0);
  put(row, 'type', 0);
  // Rates need frequency counters (stick/freq-ctr.ts) that do not exist yet.
  put(row, 'rate', 0);
  put(row, 'rate_lim', 0);
  put(row, 'rate_max', 0);
  if (http) putHrsp(row, c);
  put(row, 'req_rate', 0);
  put(row, 'req_rate_max', 0);
  put(row, 'req_tot', http ? c.reqTot : 0);
  for (const f of ['comp_in', 'comp_out', 'comp_byp', 'comp_rsp']) put(row, f, 0);
  put(row, 'mode', px.mode);
  put(row, 'conn_rate', 0);
  put(row, 'conn_rate_max', 0);
  put(row, 'conn_tot', c.connTot);
  if (http) put(row, 'intercepted', 0);
  put(row, 'dcon', c.dcon);
  put(row, 'dses', c.dses);
  put(row, 'wrew', 0);
  if (http) { put(row, 'cache_lookups', 0); put(row, 'cache_hits', 0); }
  put(row, 'eint', 0);
  putModuleZeros(row, [SSL_FIELDS, H2_FIELDS, H1_FIELDS]);
  return row;
}

function serverRow(input: StatInput, px: ProxyConfig, sv: ServerConfig, st: ServerRuntimeState,
  c: ServerCounters, check: ServerCheckView | undefined): StatRow {
  const row = newRow('S', px.id, sv.id, input.processNum);
  const http = px.mode === 'http';
  const chkOn = check !== undefined && check.enabled;
  const chkShown = chkOn && !check.paused;
  put(row, 'pxname', px.name);
  put(row, 'svname', sv.name);
  put(row, 'qcur', c.qcur);
  put(row, 'qmax', c.qmax);
  put(row, 'scur', c.scur);
  put(row, 'smax', c.smax);
  if (sv.maxconn) put(row, 'slim', sv.maxconn);
  put(row, 'stot', c.stot);
  put(row, 'bin', c.bin);
  put(row, 'bout', c.bout);
  put(row, 'dresp', 0);
  put(row, 'econ', c.econ);
  put(row, 'eresp', c.eresp);
  put(row, 'wretr', c.wretr);
  put(row, 'wredis', c.wredis);
  put(row, 'status', serverStatusText(st, check));
  // Effective weight: the user weight, ramping during slowstart (STARTING).
  const ss = sv.slowstart ?? 0;
  put(row, 'weight', st.op === SRV_ST_STARTING && ss > 0 ? warmWeight(st.uweight, st.lastChange, ss, input.now) : st.uweight);
  put(row, 'act', sv.backup ? 0 : 1);
  put(row, 'bck', sv.backup ? 1 : 0);
  if (chkOn) {
    put(row, 'chkfail', check.failedChecks);
    put(row, 'chkdown', check.downTransitions);
  }
  put(row, 'lastchg', ageSec(input.now, st.lastChange));
  if (chkOn) put(row, 'downtime', check.downtimeSec);
  put(row, 'pid', input.processNum);
  put(row, 'iid', px.id);
  put(row, 'sid', sv.id);
  put(row, 'lbtot', c.lbtot);
  put(row, 'type', 2);
  put(row, 'rate', 0);
  put(row, 'rate_max', 0);
  if (chkShown) {
    put(row, 'check_status', (check.inProgress ? '* ' : '') + check.statusName);
    if (check.status >= HCHK_STATUS_L57DATA) put(row, 'check_code', check.code);
    if (check.status >= HCHK_STATUS_CHECKED) put(row, 'check_duration', check.durationMs);
  }
  if (http) { putHrsp(row, c); put(row, 'req_tot', c.reqTot); }
  if (check?.hanaFailed !== undefined) put(row, 'hanafail', check.hanaFailed);
  put(row, 'cli_abrt', c.cliAbrt);
  put(row, 'srv_abrt', c.srvAbrt);
  put(row, 'lastsess', lastSess(input.now, c.lastSess));
  if (chkShown) put(row, 'last_chk', check.lastCheck);
  const agent = check?.agent !== undefined && check.agent.enabled && !check.agent.paused ? check.agent : undefined;
  if (agent) put(row, 'last_agt', agent.lastCheck);
  for (const f of ['qtime', 'ctime', 'rtime', 'ttime']) put(row, f, 0);
  if (agent) {
    put(row, 'agent_status', (agent.inProgress ? '* ' : '') + agent.statusName);
    if (agent.status >= HCHK_STATUS_L57DATA) put(row, 'agent_code', agent.code);
    put(row, 'agent_duration', agent.durationMs);
  }
  if (chkShown) put(row, 'check_desc', check.statusDesc);
  if (agent) put(row, 'agent_desc', agent.statusDesc);
  if (chkShown) {
    put(row, 'check_rise', check.rise);
    put(row, 'check_fall', check.fall);
    put(row, 'check_health', check.health);
  }
  if (agent) {
    put(row, 'agent_rise', agent.rise);
    put(row, 'agent_fall', agent.fall);
    put(row, 'agent_health', agent.health);
  }
  if (input.showLegends) put(row, 'addr', formatServerAddr(sv));
  put(row, 'mode', px.mode);
  put(row, 'srv_icur', 0);
  put(row, 'wrew', 0);
  put(row, 'connect', c.connect);
  put(row, 'reuse', 0);
  for (const f of ['qtime_max', 'ctime_max', 'rtime_max', 'ttime_max']) put(row, f, 0);
  put(row, 'eint', 0);
  put(row, 'idle_conn_cur', 0);
  put(row, 'safe_conn_cur', 0);
  // No connection pooling yet: every connection to the server is in use.
  put(row, 'used_conn_cur', c.scur);
  put(row, 'need_conn_est', 0);
  put(row, 'uweight', st.uweight);
  putModuleZeros(row, [SSL_FIELDS]);
  return row;
}

function backendRow(input: StatInput, px: ProxyConfig, c: BackendCounters, servers: ReadonlyArray<ServerCounters | undefined>,
  opts: StatOptions): StatRow {
  const row = newRow('B', px.id, 0, input.processNum);
  const http = px.mode === 'http';
  const sum = summarizeBackend(px, input.states[input.config.proxies.indexOf(px)]);
  const up = sum.totWeight > 0 || px.servers.length === 0;
  let connect = 0;
  for (const s of servers) if (s) connect += s.connect;
  const lastchg = ageSec(input.now, input.processStart);
  put(row, 'pxname', px.name);
  put(row, 'svname', 'BACKEND');
  put(row, 'qcur', c.qcur);
  put(row, 'qmax', c.qmax);
  put(row, 'scur', c.scur);
  put(row, 'smax', c.smax);
  put(row, 'slim', fullconn(input.config, px));
  put(row, 'stot', c.stot);
  put(row, 'bin', c.bin);
  put(row, 'bout', c.bout);
  put(row, 'dreq', c.dreq);
  put(row, 'dresp', c.dresp);
  put(row, 'econ', c.econ);
  put(row, 'eresp', c.eresp);
  put(row, 'wretr', c.wretr);
  put(row, 'wredis', c.wredis);
  let status = up ? 'UP' : 'DOWN';
  if (opts.hideMaint || opts.hideDown) status += ` (${sum.nbup}/${sum.nbsrv})`;
  put(row, 'status', status);
  put(row, 'weight', sum.totWeight);
  put(row, 'act', sum.act);
  put(row, 'bck', sum.bck);
  // be->down_trans, last_change and be_downtime(): from the checks' history, else since the process started.
  const hist = input.backends?.[input.config.proxies.indexOf(px)];
  const since = hist && hist.lastChange > 0 ? ageSec(input.now, hist.lastChange) : lastchg;
  put(row, 'chkdown', hist?.downTransitions ?? 0);
  put(row, 'lastchg', since);
  if (px.servers.length) put(row, 'downtime', (hist?.downtimeSec ?? 0) + (up ? 0 : since));
  put(row, 'pid', input.processNum);
  put(row, 'iid', px.id);
  put(row, 'sid', 0);
  put(row, 'lbtot', c.lbtot);
  put(row, 'type', 1);
  put(row, 'rate', 0);
  put(row, 'rate_max', 0);
  if (http) { putHrsp(row, c); put(row, 'req_tot', c.reqTot); }
  put(row, 'cli_abrt', c.cliAbrt);
  put(row, 'srv_abrt', c.srvAbrt);
  for (const f of ['comp_in', 'comp_out', 'comp_byp', 'comp_rsp']) put(row, f, 0);
  put(row, 'lastsess', lastSess(input.now, c.lastSess));
  for (const f of ['qtime', 'ctime', 'rtime', 'ttime']) put(row, f, 0);
  put(row, 'mode', px.mode);
  if (input.showLegends) put(row, 'algo', px.balance.algo);
  put(row, 'wrew', 0);
  put(row, 'connect', connect);
  put(row, 'reuse', 0);
  if (http) { put(row, 'cache_lookups', 0); put(row, 'cache_hits', 0); }
  for (const f of ['qtime_max', 'ctime_max', 'rtime_max', 'ttime_max']) put(row, f, 0);
  put(row, 'eint', 0);
  put(row, 'uweight', sum.totUweight);
  // HAProxy 2.6 always reports these three aggregates as 0.
  put(row, 'agg_server_status', 0);
  put(row, 'agg_server_check_status', 0);
  put(row, 'agg_check_status', 0);
  putModuleZeros(row, [SSL_FIELDS, H2_FIELDS, H1_FIELDS]);
  return row;
}

function putHrsp(row: StatRow, c: HttpCounters): void {
  put(row, 'hrsp_1xx', c.hrsp1xx);
  put(row, 'hrsp_2xx', c.hrsp2xx);
  put(row, 'hrsp_3xx', c.hrsp3xx);
  put(row, 'hrsp_4xx', c.hrsp4xx);
  put(row, 'hrsp_5xx', c.hrsp5xx);
  put(row, 'hrsp_other', c.hrspOther);
}

const HTTP_ZERO: HttpCounters = { reqTot: 0, hrsp1xx: 0, hrsp2xx: 0, hrsp3xx: 0, hrsp4xx: 0, hrsp5xx: 0, hrspOther: 0 };
const ZERO_FE: FrontendCounters = { ...HTTP_ZERO, scur: 0, smax: 0, stot: 0, bin: 0, bout: 0, dreq: 0, dresp: 0, ereq: 0, connTot: 0, dcon: 0, dses: 0 };
const ZERO_BE: BackendCounters = { ...HTTP_ZERO, scur: 0, smax: 0, stot: 0, bin: 0, bout: 0, dreq: 0, dresp: 0, econ: 0, eresp: 0, wretr: 0, wredis: 0, lbtot: 0, cliAbrt: 0, srvAbrt: 0, connTot: 0, lastSess: 0, qcur: 0, qmax: 0 };
const ZERO_SV: ServerCounters = { ...HTTP_ZERO, scur: 0, smax: 0, stot: 0, bin: 0, bout: 0, econ: 0, eresp: 0, wretr: 0, wredis: 0, lbtot: 0, cliAbrt: 0, srvAbrt: 0, connect: 0, lastSess: 0, qcur: 0, qmax: 0 };

/**
 * The rows of `show stat` in HAProxy's order: per proxy (declaration order,
 * disabled proxies skipped), the frontend, then each server, then the backend.
 */
export function buildStatRows(input: StatInput, opts: StatOptions = {}): StatRow[] {
  const rows: StatRow[] = [];
  const bound = opts.bound;
  const { config } = input;
  for (let p = 0; p < config.proxies.length; p++) {
    const px = config.proxies[p];
    if (px.disabled) continue;
    if (bound && bound.iid !== -1 && px.id !== bound.iid) continue;
    const ps = input.proxies[p];
    if (px.cap.fe && (!bound || bound.type & 1)) {
      rows.push(frontendRow(input, px, ps?.fe ?? ZERO_FE));
    }
    if (px.cap.be) {
      const states = input.states[p] ?? [];
      if (!bound || bound.type & 4) {
        for (let s = 0; s < px.servers.length; s++) {
          const sv = px.servers[s];
          const st = states[s];
          if (!st) continue;
          if (bound && bound.sid !== -1 && sv.id !== bound.sid) continue;
          if (opts.hideMaint && (st.admin & MAINT_MASK)) continue;
          const check = input.checks?.[p]?.[s];
          if (opts.hideDown && ((st.admin & MAINT_MASK) ||
            (st.op === SRV_ST_STOPPED && (!check?.enabled || check.health === 0)))) continue;
          rows.push(serverRow(input, px, sv, st, ps?.servers[s] ?? ZERO_SV, check));
        }
      }
      if (!bound || bound.type & 2) {
        rows.push(backendRow(input, px, ps?.be ?? ZERO_BE, ps?.servers ?? [], opts));
      }
    }
  }
  return rows;
}

/** HAProxy's CSV quoting: only when the text holds a quote, comma, CR or LF. */
function csvField(v: string): string {
  if (!/[\n\r,"]/.test(v)) return v;
  return '"' + v.replace(/"/g, '""') + '"';
}

export function formatStatCsv(rows: readonly StatRow[]): string {
  let out = STAT_CSV_HEADER;
  for (const row of rows) {
    let line = '';
    for (let i = 0; i < FIELD_TABLE.length; i++) {
      const f = row.fields[i];
      if (f !== undefined) line += typeof f.value === 'string' ? csvField(f.value) : String(f.value);
      line += ',';
      if (i === LAST_STATIC_FIELD) line += '-,';
    }
    out += line + '\n';
  }
  return out;
}

/** `show stat typed`: one `<F|B|S>.<iid>.<sid>.<pos>.<name>.<pid>:<tags>:<type>:<value>` per filled field. */
export function formatStatTyped(rows: readonly StatRow[]): string {
  let out = '';
  for (const row of rows) {
    for (let i = 0; i < FIELD_TABLE.length; i++) {
      const f = row.fields[i];
      if (f === undefined) continue;
      out += `${row.kind}.${row.iid}.${row.sid}.${i}.${FIELD_TABLE[i][0]}.${row.pid}:${f.tags}:${f.type}:${f.value}\n`;
    }
  }
  return out;
}

const JSON_ORIGIN: Record<string, string> = { M: 'Metric', S: 'Status', K: 'Key', C: 'Config', P: 'Product' };
const JSON_NATURE: Record<string, string> = {
  A: 'Age', a: 'Avg', C: 'Counter', D: 'Duration', G: 'Gauge', L: 'Limit', M: 'Max', m: 'Min',
  N: 'Name', O: 'Output', R: 'Rate', T: 'Time',
};
const JSON_SCOPE: Record<string, string> = { C: 'Cluster', P: 'Process', S: 'Service', s: 'System' };
const JSON_OBJTYPE: Record<RowKind, string> = { F: 'Frontend', B: 'Backend', S: 'Server' };

function jsonTags(tags: string): string {
  return `"tags":{"origin":"${JSON_ORIGIN[tags[0]]}","nature":"${JSON_NATURE[tags[1]]}","scope":"${JSON_SCOPE[tags[2]]}"}`;
}

function jsonValue(f: FieldValue): string {
  return `"value":{"type":"${f.type}","value":${typeof f.value === 'string' ? JSON.stringify(f.value) : f.value}}`;
}

/** `show stat json`: an array per object, an object per filled field, no spaces. */
export function formatStatJson(rows: readonly StatRow[]): string {
  const objs: string[] = [];
  for (const row of rows) {
    const parts: string[] = [];
    for (let i = 0; i < FIELD_TABLE.length; i++) {
      const f = row.fields[i];
      if (f === undefined) continue;
      parts.push(`{"objType":"${JSON_OBJTYPE[row.kind]}","proxyId":${row.iid},"id":${row.sid},` +
        `"field":{"pos":${i},"name":"${FIELD_TABLE[i][0]}"},"processNum":${row.pid},` +
        `${jsonTags(f.tags)},${jsonValue(f)}}`);
    }
    objs.push('[' + parts.join(',') + ']');
  }
  return '[' + objs.join(',') + ']\n';
}

/* ------------------------------------------------------------------ */
/* show info                                                           */
/* ------------------------------------------------------------------ */

export interface InfoInput {
  name: string;
  version: string;
  releaseDate: string;
  nbthread: number;
  processNum: number;
  pid: number;
  /** Unix ms. */
  startedAt: number;
  now: number;
  ulimitN: number;
  maxsock: number;
  maxconn: number;
  currConns: number;
  cumConns: number;
  cumReq: number;
  node: string;
  description?: string;
  stopping: boolean;
  jobs: number;
  listeners: number;
  totalBytesOut: number;
  poolAllocBytes: number;
  poolUsedBytes: number;
}

/** HAProxy's "%ud %uh%02um%02us" uptime. */
export function formatInfoUptime(sec: number): string {
  const d = Math.floor(sec / 86400);
  const h = Math.floor((sec % 86400) / 3600);
  const m = Math.floor((sec % 3600) / 60);
  const s = sec % 60;
  return `${d}d ${h}h${String(m).padStart(2, '0')}m${String(s).padStart(2, '0')}s`;
}

/**
 * `show info` fields of HAProxy 2.6.12 with their position (holes are build
 * options we do not emulate: 45/46 zlib memory), name and typed tags.
 * Position 51 (description) is printed only when set.
 */
const INFO_FIELDS: ReadonlyArray<readonly [number, string, string, (i: InfoInput) => number | string | undefined]> = [
  [0, 'Name', 'POS:str', (i) => i.name],
  [1, 'Version', 'POS:str', (i) => i.version],
  [2, 'Release_date', 'POS:str', (i) => i.releaseDate],
  [3, 'Nbthread', 'CGS:u32', (i) => i.nbthread],
  [4, 'Nbproc', 'CGS:u32', () => 1],
  [5, 'Process_num', 'KGP:u32', (i) => i.processNum],
  [6, 'Pid', 'SGP:u32', (i) => i.pid],
  [7, 'Uptime', 'MDP:str', (i) => formatInfoUptime(ageSec(i.now, i.startedAt))],
  [8, 'Uptime_sec', 'MDP:u32', (i) => ageSec(i.now, i.startedAt)],
  [9, 'Memmax_MB', 'CLP:u32', () => 0],
  [10, 'PoolAlloc_MB', 'MGP:u32', (i) => Math.floor(i.poolAllocBytes / 1048576)],
  [11, 'PoolUsed_MB', 'MGP:u32', (i) => Math.floor(i.poolUsedBytes / 1048576)],
  [12, 'PoolFailed', 'MCP:u32', () => 0],
  [13, 'Ulimit-n', 'CLP:u32', (i) => i.ulimitN],
  [14, 'Maxsock', 'CLP:u32', (i) => i.maxsock],
  [15, 'Maxconn', 'CLP:u32', (i) => i.maxconn],
  [16, 'Hard_maxconn', 'CLP:u32', (i) => i.maxconn],
  [17, 'CurrConns', 'MGP:u32', (i) => i.currConns],
  [18, 'CumConns', 'MCP:u32', (i) => i.cumConns],
  [19, 'CumReq', 'MCP:u32', (i) => i.cumReq],
  [20, 'MaxSslConns', 'MMP:u32', () => 0],
  [21, 'CurrSslConns', 'MGP:u32', () => 0],
  [22, 'CumSslConns', 'MCP:u32', () => 0],
  [23, 'Maxpipes', 'CLP:u32', () => 0],
  [24, 'PipesUsed', 'MGP:u32', () => 0],
  [25, 'PipesFree', 'MGP:u32', () => 0],
  // Rates need frequency counters (stick/freq-ctr.ts) that do not exist yet.
  [26, 'ConnRate', 'MRP:u32', () => 0],
  [27, 'ConnRateLimit', 'CLP:u32', () => 0],
  [28, 'MaxConnRate', 'MMP:u32', () => 0],
  [29, 'SessRate', 'MRP:u32', () => 0],
  [30, 'SessRateLimit', 'CLP:u32', () => 0],
  [31, 'MaxSessRate', 'MRP:u32', () => 0],
  [32, 'SslRate', 'MRP:u32', () => 0],
  [33, 'SslRateLimit', 'CLP:u32', () => 0],
  [34, 'MaxSslRate', 'MMP:u32', () => 0],
  [35, 'SslFrontendKeyRate', 'MGP:u32', () => 0],
  [36, 'SslFrontendMaxKeyRate', 'MMP:u32', () => 0],
  [37, 'SslFrontendSessionReuse_pct', 'MGP:u32', () => 0],
  [38, 'SslBackendKeyRate', 'MRP:u32', () => 0],
  [39, 'SslBackendMaxKeyRate', 'MMP:u32', () => 0],
  [40, 'SslCacheLookups', 'MCP:u32', () => 0],
  [41, 'SslCacheMisses', 'MCP:u32', () => 0],
  [42, 'CompressBpsIn', 'MRP:u32', () => 0],
  [43, 'CompressBpsOut', 'MRP:u32', () => 0],
  [44, 'CompressBpsRateLim', 'CLP:u32', () => 0],
  [47, 'Tasks', 'MGP:u32', () => 0],
  [48, 'Run_queue', 'MGP:u32', () => 0],
  [49, 'Idle_pct', 'MaP:u32', () => 100],
  [50, 'node', 'COS:str', (i) => i.node],
  [51, 'description', 'COS:str', (i) => i.description || undefined],
  [52, 'Stopping', 'MGP:u32', (i) => (i.stopping ? 1 : 0)],
  [53, 'Jobs', 'MGP:u32', (i) => i.jobs],
  [54, 'Unstoppable Jobs', 'MGP:u32', () => 0],
  [55, 'Listeners', 'MGP:u32', (i) => i.listeners],
  [56, 'ActivePeers', 'MGP:u32', () => 0],
  [57, 'ConnectedPeers', 'MGP:u32', () => 0],
  [58, 'DroppedLogs', 'MGP:u32', () => 0],
  [59, 'BusyPolling', 'MGP:u32', () => 0],
  [60, 'FailedResolutions', 'MGP:u32', () => 0],
  [61, 'TotalBytesOut', 'MGP:u64', (i) => i.totalBytesOut],
  [62, 'TotalSplicdedBytesOut', 'MGP:u64', () => 0],
  [63, 'BytesOutRate', 'MRP:u64', () => 0],
  [64, 'DebugCommandsIssued', 'MGP:u32', () => 0],
  [65, 'CumRecvLogs', 'MCP:u32', () => 0],
  [66, 'Build info', 'POS:str', (i) => i.version],
  [67, 'Memmax_bytes', 'CLP:u32', () => 0],
  [68, 'PoolAlloc_bytes', 'MGP:u64', (i) => i.poolAllocBytes],
  [69, 'PoolUsed_bytes', 'MGP:u64', (i) => i.poolUsedBytes],
  [70, 'Start_time_sec', 'MDP:u32', (i) => Math.floor(i.startedAt / 1000)],
  [71, 'Tainted', 'SGP:str', () => '0'],
];

export type InfoFormat = 'plain' | 'typed' | 'json';

export function formatInfo(input: InfoInput, format: InfoFormat = 'plain'): string {
  let out = '';
  const json: string[] = [];
  for (const [pos, name, spec, get] of INFO_FIELDS) {
    const value = get(input);
    if (value === undefined) continue;
    const [tags, type] = spec.split(':');
    if (format === 'plain') out += `${name}: ${value}\n`;
    else if (format === 'typed') out += `${pos}.${name}.${input.processNum}:${tags}:${type}:${value}\n`;
    else {
      json.push(`{"field":{"pos":${pos},"name":"${name}"},"processNum":${input.processNum},` +
        `${jsonTags(tags)},${jsonValue({ tags, type: type as FieldType, value })}}`);
    }
  }
  return format === 'json' ? '[' + json.join(',') + ']\n' : out;
}

/* ------------------------------------------------------------------ */
/* show servers state                                                  */
/* ------------------------------------------------------------------ */

export const SERVERS_STATE_HEADER =
  '1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight ' +
  'srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state ' +
  'srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl ' +
  'srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n';

export interface ServersStateInput {
  config: CompiledConfig;
  states: ServerStateTable;
  checks?: StatInput['checks'];
  now: number;
}

/** srv_fqdn: the name the address was written with, '-' for a literal IP. */
function fqdnOf(sv: ServerConfig): string {
  return !sv.host || isIP(sv.host) !== 0 ? '-' : sv.host;
}

function serverStateLine(px: ProxyConfig, sv: ServerConfig, st: ServerRuntimeState, check: ServerCheckView | undefined,
  now: number): string {
  let chkStatus = HCHK_STATUS_INI, chkResult = 0, chkHealth: number, chkState: number, agentState = 0;
  if (check) {
    chkStatus = check.status;
    chkResult = check.result;
    chkHealth = check.health;
    chkState = (check.configured === false ? 0 : 0x02 /* CONFIGURED */) | (check.enabled ? 0x04 : 0) | (check.paused ? 0x08 : 0) | (check.inProgress ? 0x01 : 0);
    const a = check.agent;
    // CHK_ST_AGENT | CONFIGURED | ENABLED | PAUSED | INPROGRESS
    if (a) agentState = 0x10 | 0x02 | (a.enabled ? 0x04 : 0) | (a.paused ? 0x08 : 0) | (a.inProgress ? 0x01 : 0);
  } else {
    // Unchecked servers: HAProxy's health counter sits at `rise` (2) while the
    // server is in service and 0 otherwise; checks of a `disabled` server
    // start paused and stay so (CMAINT is never cleared at run time).
    chkHealth = st.op !== SRV_ST_STOPPED && !(st.admin & MAINT_MASK) ? 2 : 0;
    chkState = st.admin & ADMF_CMAINT ? 0x08 : 0;
  }
  // A disabled proxy never gets server ids assigned in HAProxy.
  const sid = px.disabled ? 0 : sv.id;
  return [
    px.id, px.name, sid, sv.name, sv.ip || '-', st.op, st.admin, st.uweight, st.iweight,
    ageSec(now, st.lastChange), chkStatus, chkResult, chkHealth, chkState,
    agentState, px.forcedId ? 1 : 0, sv.forcedId ? 1 : 0,
    fqdnOf(sv), sv.port, '-' /* srvrecord */, (check?.useSsl ?? sv.ssl) ? 1 : 0, check?.checkPort ?? 0,
    check?.checkAddr ?? '-', check?.agentAddr ?? '-', check?.agentPort ?? 0,
  ].join(' ') + '\n';
}

/** `show servers state [<backend>]`; `only` is an index into config.proxies. */
export function formatServersState(input: ServersStateInput, only?: number): string {
  let out = SERVERS_STATE_HEADER;
  const { config } = input;
  for (let p = 0; p < config.proxies.length; p++) {
    if (only !== undefined && p !== only) continue;
    const px = config.proxies[p];
    if (!px.cap.be) continue;
    const states = input.states[p] ?? [];
    for (let s = 0; s < px.servers.length; s++) {
      const st = states[s];
      if (!st) continue;
      out += serverStateLine(px, px.servers[s], st, input.checks?.[p]?.[s], input.now);
    }
  }
  return out;
}

/* ------------------------------------------------------------------ */
/* show proc                                                           */
/* ------------------------------------------------------------------ */

function procUptime(sec: number): string {
  const d = Math.floor(sec / 86400);
  const h = Math.floor((sec % 86400) / 3600);
  const m = Math.floor((sec % 3600) / 60);
  const s = sec % 60;
  const p2 = (n: number) => String(n).padStart(2, '0');
  return `${d}d${p2(h)}h${p2(m)}m${p2(s)}s`;
}

const pad15 = (v: string | number) => String(v).padEnd(15, ' ');

/** The master CLI's `show proc` table: 15-wide columns, one space apart. */
export function formatProc(procs: readonly ProcInfo[], now: number): string {
  let out = `#${'<PID>'.padEnd(14, ' ')} ${pad15('<type>')} ${pad15('<reloads>')} ${pad15('<uptime>')} ${pad15('<version>')}\n`;
  const line = (p: ProcInfo, reloads: string) =>
    `${pad15(p.pid)} ${pad15(p.role)} ${pad15(reloads)} ${pad15(procUptime(ageSec(now, p.startedAt)))} ${pad15(p.version)}\n`;
  const master = procs.find((p) => p.role === 'master');
  if (master) out += line(master, `${master.reloads} [failed: ${master.failedReloads ?? 0}]`);
  const workers = procs.filter((p) => p.role === 'worker');
  out += '# workers\n';
  for (const w of workers) if (!w.old) out += line(w, String(w.reloads));
  const old = workers.filter((w) => w.old);
  if (old.length) {
    out += '# old workers\n';
    for (const w of old) out += line(w, String(w.reloads));
  }
  out += '# programs\n';
  return out;
}

/* ------------------------------------------------------------------ */
/* Aggregation over workers                                            */
/* ------------------------------------------------------------------ */

export interface AggregatedStats {
  currConns: number;
  cumConns: number;
  /** Indexed like config.proxies; undefined when no worker reported it. */
  proxies: Array<ProxyStats | undefined>;
}

function addInto<T extends object>(dst: T, src: T): void {
  const d = dst as Record<string, number>;
  const s = src as Record<string, number>;
  for (const k of Object.keys(s)) {
    const v = s[k];
    if (typeof v !== 'number') continue;
    // lastSess is a date: keep the most recent. Maxima are summed: HAProxy's
    // doc says the aggregate of per-process maxima lies between their max and
    // their sum; the sum is the safe bound for capacity planning.
    if (k === 'lastSess') d[k] = Math.max(d[k] ?? 0, v);
    else d[k] = (d[k] ?? 0) + v;
  }
}

/**
 * Sum per-worker counters. Workers index proxies like the config they run;
 * during a reload an old worker may run another config, so proxies are
 * matched by name when the index disagrees.
 */
export function aggregateWorkerStats(config: CompiledConfig, workers: readonly WorkerStats[]): AggregatedStats {
  const out: AggregatedStats = { currConns: 0, cumConns: 0, proxies: new Array(config.proxies.length).fill(undefined) };
  const byName = new Map<string, number>();
  config.proxies.forEach((p, i) => byName.set(p.name, i));
  for (const w of workers) {
    out.currConns += w.currConns;
    out.cumConns += w.cumConns;
    for (let i = 0; i < w.proxies.length; i++) {
      const ps = w.proxies[i];
      if (!ps) continue;
      const idx = config.proxies[i]?.name === ps.name ? i : byName.get(ps.name);
      if (idx === undefined) continue;
      const px = config.proxies[idx];
      let acc = out.proxies[idx];
      if (!acc) {
        acc = { name: ps.name, fe: null, be: null, servers: [] };
        out.proxies[idx] = acc;
      }
      if (ps.fe) { if (!acc.fe) acc.fe = { ...ZERO_FE }; addInto(acc.fe, ps.fe); }
      if (ps.be) { if (!acc.be) acc.be = { ...ZERO_BE }; addInto(acc.be, ps.be); }
      for (let s = 0; s < ps.servers.length && s < px.servers.length; s++) {
        if (!ps.servers[s]) continue;
        if (!acc.servers[s]) acc.servers[s] = { ...ZERO_SV };
        addInto(acc.servers[s], ps.servers[s]);
      }
    }
  }
  return out;
}
