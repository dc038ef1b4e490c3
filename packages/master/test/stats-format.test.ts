/**
 * The Runtime API formatters against output captured from HAProxy 2.6.12
 * (/usr/sbin/haproxy, Debian build) over its stats socket. The configuration
 * below mirrors the one the captures came from:
 *
 *   global: maxconn 1000, stats socket … level admin (and one at level user)
 *   frontend fe_main (tcp) default_backend be_app
 *   backend be_app: s1; s2 weight 50; s3 disabled; s4 backup; s5 check (port
 *     closed: DOWN L4CON); s6 check disabled; s7 [::1] maxconn 20
 *   listen li_both (http): w1 weight 0; w2 backup check (DOWN)
 *   backend be_empty: balance static-rr, no server
 *   frontend fe_http (http) maxconn 50
 * and a second one (global maxconn 500, defaults mode http):
 *   frontend fe1 default_backend be_alldis, use_backend be_bk twice, be_alldis
 *   backend be_alldis: d1, d2 disabled; backend be_bk: b1, b2 weight 5 backups,
 *     h1 localhost:18285 disabled; backend be_off disabled; listen li2 (tcp)
 *     maxconn 30
 * Captured a few seconds after start, with no traffic: lastchg is 3.
 */
import { newProxyConfig } from '@switchyard/core/proxy/sections';
import { newBalanceConfig } from '@switchyard/core/backend/lb-config';
const H0 = { reqTot: 0, hrsp1xx: 0, hrsp2xx: 0, hrsp3xx: 0, hrsp4xx: 0, hrsp5xx: 0, hrspOther: 0 };
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CompiledConfig, ProxyConfig, ServerConfig, Timeouts } from '@switchyard/core/config/compiled';
import type { ServerRuntimeState } from '@switchyard/core/proxy/server-state';
import type { WorkerStats } from '@switchyard/core/stats/counters';
import {
  STAT_CSV_HEADER, SERVERS_STATE_HEADER, aggregateWorkerStats, buildStatRows, formatInfo, formatInfoUptime, formatProc,
  formatServersState, formatStatCsv, formatStatJson, formatStatTyped, serverStatusText,
  type InfoInput, type ServerCheckView, type StatInput,
} from '../src/stats-format';

/** `show stat` header line of HAProxy 2.6.12, byte for byte. */
const HAPROXY_2_6_12_STAT_HEADER =
  '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur,used_conn_cur,need_conn_est,uweight,agg_server_status,agg_server_check_status,agg_check_status,-,ssl_sess,ssl_reused_sess,ssl_failed_handshake,h2_headers_rcvd,h2_data_rcvd,h2_settings_rcvd,h2_rst_stream_rcvd,h2_goaway_rcvd,h2_detected_conn_protocol_errors,h2_detected_strm_protocol_errors,h2_rst_stream_resp,h2_goaway_resp,h2_open_connections,h2_backend_open_streams,h2_total_connections,h2_backend_total_streams,h1_open_connections,h1_open_streams,h1_total_connections,h1_total_streams,h1_bytes_in,h1_bytes_out,h1_spliced_bytes_in,h1_spliced_bytes_out,\n';

/** Rows of the first configuration (admin socket). */
const CAPTURED_ROWS: Record<string, string> = {
  'fe_main/FRONTEND': 'fe_main,FRONTEND,,,0,0,1000,0,0,0,0,0,0,,,,,OPEN,,,,,,,,,1,2,0,,,,0,0,0,0,,,,,,,,,,,0,0,0,,,0,0,0,0,,,,,,,,,,,,,,,,,,,,,tcp,,0,0,0,,0,0,0,,,,,,,,,,,0,,,,,,,,,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,',
  'be_app/s1': 'be_app,s1,0,0,0,0,,0,0,0,,0,,0,0,0,0,no check,1,1,0,,,3,,,1,3,1,,0,,2,0,,0,,,,,,,,,,,,,,0,0,,,,,-1,,,0,0,0,0,,,,,,,,,,,,127.0.0.1:18081,,tcp,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,0,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,',
  'be_app/s2': 'be_app,s2,0,0,0,0,,0,0,0,,0,,0,0,0,0,no check,50,1,0,,,3,,,1,3,2,,0,,2,0,,0,,,,,,,,,,,,,,0,0,,,,,-1,,,0,0,0,0,,,,,,,,,,,,127.0.0.1:18082,,tcp,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,0,50,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,',
  'be_app/s3': 'be_app,s3,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT,1,1,0,,,3,,,1,3,3,,0,,2,0,,0,,,,,,,,,,,,,,0,0,,,,,-1,,,0,0,0,0,,,,,,,,,,,,127.0.0.1:18083,,tcp,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,0,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,',
  'be_app/s4': 'be_app,s4,0,0,0,0,,0,0,0,,0,,0,0,0,0,no check,1,0,1,,,3,,,1,3,4,,0,,2,0,,0,,,,,,,,,,,,,,0,0,,,,,-1,,,0,0,0,0,,,,,,,,,,,,127.0.0.1:18084,,tcp,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,0,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,',
  'be_app/s6': 'be_app,s6,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT,1,1,0,0,0,3,3,,1,3,6,,0,,2,0,,0,,,,,,,,,,,,,,0,0,,,,,-1,,,0,0,0,0,,,,,,,,,,,,127.0.0.1:18086,,tcp,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,0,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,',
  'be_app/s7': 'be_app,s7,0,0,0,0,20,0,0,0,,0,,0,0,0,0,no check,1,1,0,,,3,,,1,3,7,,0,,2,0,,0,,,,,,,,,,,,,,0,0,,,,,-1,,,0,0,0,0,,,,,,,,,,,,[::1]:18087,,tcp,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,0,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,',
  'be_app/BACKEND': 'be_app,BACKEND,0,0,0,0,100,0,0,0,0,0,,0,0,0,0,UP,52,3,1,,0,3,0,,1,3,0,,0,,1,0,,0,,,,,,,,,,,,,,0,0,0,0,0,0,-1,,,0,0,0,0,,,,,,,,,,,,,,tcp,roundrobin,,,,,,,0,0,0,,,,,0,0,0,0,0,,,,,52,0,0,0,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,',
  'li_both/FRONTEND': 'li_both,FRONTEND,,,0,0,1000,0,0,0,0,0,0,,,,,OPEN,,,,,,,,,1,4,0,,,,0,0,0,0,,,,0,0,0,0,0,0,,0,0,0,,,0,0,0,0,,,,,,,,,,,,,,,,,,,,,http,,0,0,0,0,0,0,0,,,0,0,,,,,,,0,,,,,,,,,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,',
  'li_both/w1': 'li_both,w1,0,0,0,0,,0,0,0,,0,,0,0,0,0,no check,0,1,0,,,3,,,1,4,1,,0,,2,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,,,,,-1,,,0,0,0,0,,,,,,,,,,,,127.0.0.1:18091,,http,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,0,0,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,',
  'be_empty/BACKEND': 'be_empty,BACKEND,0,0,0,0,1,0,0,0,0,0,,0,0,0,0,UP,0,0,0,,0,3,,,1,5,0,,0,,1,0,,0,,,,,,,,,,,,,,0,0,0,0,0,0,-1,,,0,0,0,0,,,,,,,,,,,,,,tcp,static-rr,,,,,,,0,0,0,,,,,0,0,0,0,0,,,,,0,0,0,0,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,',
  'fe_http/FRONTEND': 'fe_http,FRONTEND,,,0,0,50,0,0,0,0,0,0,,,,,OPEN,,,,,,,,,1,6,0,,,,0,0,0,0,,,,0,0,0,0,0,0,,0,0,0,,,0,0,0,0,,,,,,,,,,,,,,,,,,,,,http,,0,0,0,0,0,0,0,,,0,0,,,,,,,0,,,,,,,,,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,',
};

/** The same rows on the level-user socket: no addr, no algo. */
const CAPTURED_USER_ROWS: Record<string, string> = {
  'be_app/s1': 'be_app,s1,0,0,0,0,,0,0,0,,0,,0,0,0,0,no check,1,1,0,,,3,,,1,3,1,,0,,2,0,,0,,,,,,,,,,,,,,0,0,,,,,-1,,,0,0,0,0,,,,,,,,,,,,,,tcp,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,0,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,',
  'be_app/BACKEND': 'be_app,BACKEND,0,0,0,0,100,0,0,0,0,0,,0,0,0,0,UP,52,3,1,,0,3,0,,1,3,0,,0,,1,0,,0,,,,,,,,,,,,,,0,0,0,0,0,0,-1,,,0,0,0,0,,,,,,,,,,,,,,tcp,,,,,,,,0,0,0,,,,,0,0,0,0,0,,,,,52,0,0,0,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,',
};

/** Rows of the second configuration. */
const CAPTURED_ROWS_2: Record<string, string> = {
  'fe1/FRONTEND': 'fe1,FRONTEND,,,0,0,500,0,0,0,0,0,0,,,,,OPEN,,,,,,,,,1,2,0,,,,0,0,0,0,,,,0,0,0,0,0,0,,0,0,0,,,0,0,0,0,,,,,,,,,,,,,,,,,,,,,http,,0,0,0,0,0,0,0,,,0,0,,,,,,,0,,,,,,,,,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,',
  'be_alldis/d1': 'be_alldis,d1,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT,1,1,0,,,3,,,1,3,1,,0,,2,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,,,,,-1,,,0,0,0,0,,,,,,,,,,,,127.0.0.1:18281,,http,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,0,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,',
  'be_alldis/BACKEND': 'be_alldis,BACKEND,0,0,0,0,50,0,0,0,0,0,,0,0,0,0,DOWN,0,0,0,,0,3,3,,1,3,0,,0,,1,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,0,0,0,0,-1,,,0,0,0,0,,,,,,,,,,,,,,http,roundrobin,,,,,,,0,0,0,0,0,,,0,0,0,0,0,,,,,0,0,0,0,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,',
  'be_bk/b2': 'be_bk,b2,0,0,0,0,,0,0,0,,0,,0,0,0,0,no check,5,0,1,,,3,,,1,4,2,,0,,2,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,,,,,-1,,,0,0,0,0,,,,,,,,,,,,127.0.0.1:18284,,http,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,0,5,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,',
  'be_bk/h1': 'be_bk,h1,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT,1,1,0,,,3,,,1,4,3,,0,,2,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,,,,,-1,,,0,0,0,0,,,,,,,,,,,,127.0.0.1:18285,,http,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,0,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,',
  'be_bk/BACKEND': 'be_bk,BACKEND,0,0,0,0,50,0,0,0,0,0,,0,0,0,0,UP,1,0,2,,0,3,0,,1,4,0,,0,,1,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,0,0,0,0,-1,,,0,0,0,0,,,,,,,,,,,,,,http,roundrobin,,,,,,,0,0,0,0,0,,,0,0,0,0,0,,,,,1,0,0,0,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,',
  'li2/FRONTEND': 'li2,FRONTEND,,,0,0,30,0,0,0,0,0,0,,,,,OPEN,,,,,,,,,1,6,0,,,,0,0,0,0,,,,,,,,,,,0,0,0,,,0,0,0,0,,,,,,,,,,,,,,,,,,,,,tcp,,0,0,0,,0,0,0,,,,,,,,,,,0,,,,,,,,,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,',
};

const CAPTURED_SERVERS_STATE =
  '1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n' +
  '3 be_app 1 s1 127.0.0.1 2 0 1 1 3 1 0 2 0 0 0 0 - 18081 - 0 0 - - 0\n' +
  '3 be_app 2 s2 127.0.0.1 2 0 50 50 3 1 0 2 0 0 0 0 - 18082 - 0 0 - - 0\n' +
  '3 be_app 3 s3 127.0.0.1 0 5 1 1 3 1 0 0 8 0 0 0 - 18083 - 0 0 - - 0\n' +
  '3 be_app 4 s4 127.0.0.1 2 0 1 1 3 1 0 2 0 0 0 0 - 18084 - 0 0 - - 0\n' +
  '3 be_app 5 s5 127.0.0.1 0 0 1 1 3 8 2 0 6 0 0 0 - 18085 - 0 0 - - 0\n' +
  '3 be_app 6 s6 127.0.0.1 0 5 1 1 3 1 0 0 14 0 0 0 - 18086 - 0 0 - - 0\n' +
  '3 be_app 7 s7 ::1 2 0 1 1 3 1 0 2 0 0 0 0 - 18087 - 0 0 - - 0\n' +
  '4 li_both 1 w1 127.0.0.1 2 0 0 0 3 1 0 2 0 0 0 0 - 18091 - 0 0 - - 0\n' +
  '4 li_both 2 w2 127.0.0.1 0 0 1 1 2 8 2 0 6 0 0 0 - 18092 - 0 0 - - 0\n';

const CAPTURED_SERVERS_STATE_2_LINES = [
  '4 be_bk 3 h1 127.0.0.1 0 5 1 1 3 1 0 0 8 0 0 0 localhost 18285 - 0 0 - - 0',
  '5 be_off 0 o1 127.0.0.1 2 0 1 1 3 1 0 2 0 0 0 0 - 18286 - 0 0 - - 0',
];

/** `show info typed` of HAProxy 2.6.12: position, name and tags of every field. */
const CAPTURED_INFO_TYPED_KEYS = [
  '0.Name:POS:str', '1.Version:POS:str', '2.Release_date:POS:str', '3.Nbthread:CGS:u32', '4.Nbproc:CGS:u32',
  '5.Process_num:KGP:u32', '6.Pid:SGP:u32', '7.Uptime:MDP:str', '8.Uptime_sec:MDP:u32', '9.Memmax_MB:CLP:u32',
  '10.PoolAlloc_MB:MGP:u32', '11.PoolUsed_MB:MGP:u32', '12.PoolFailed:MCP:u32', '13.Ulimit-n:CLP:u32', '14.Maxsock:CLP:u32',
  '15.Maxconn:CLP:u32', '16.Hard_maxconn:CLP:u32', '17.CurrConns:MGP:u32', '18.CumConns:MCP:u32', '19.CumReq:MCP:u32',
  '20.MaxSslConns:MMP:u32', '21.CurrSslConns:MGP:u32', '22.CumSslConns:MCP:u32', '23.Maxpipes:CLP:u32', '24.PipesUsed:MGP:u32',
  '25.PipesFree:MGP:u32', '26.ConnRate:MRP:u32', '27.ConnRateLimit:CLP:u32', '28.MaxConnRate:MMP:u32', '29.SessRate:MRP:u32',
  '30.SessRateLimit:CLP:u32', '31.MaxSessRate:MRP:u32', '32.SslRate:MRP:u32', '33.SslRateLimit:CLP:u32', '34.MaxSslRate:MMP:u32',
  '35.SslFrontendKeyRate:MGP:u32', '36.SslFrontendMaxKeyRate:MMP:u32', '37.SslFrontendSessionReuse_pct:MGP:u32',
  '38.SslBackendKeyRate:MRP:u32', '39.SslBackendMaxKeyRate:MMP:u32', '40.SslCacheLookups:MCP:u32', '41.SslCacheMisses:MCP:u32',
  '42.CompressBpsIn:MRP:u32', '43.CompressBpsOut:MRP:u32', '44.CompressBpsRateLim:CLP:u32', '47.Tasks:MGP:u32',
  '48.Run_queue:MGP:u32', '49.Idle_pct:MaP:u32', '50.node:COS:str', '52.Stopping:MGP:u32', '53.Jobs:MGP:u32',
  '54.Unstoppable Jobs:MGP:u32', '55.Listeners:MGP:u32', '56.ActivePeers:MGP:u32', '57.ConnectedPeers:MGP:u32',
  '58.DroppedLogs:MGP:u32', '59.BusyPolling:MGP:u32', '60.FailedResolutions:MGP:u32', '61.TotalBytesOut:MGP:u64',
  '62.TotalSplicdedBytesOut:MGP:u64', '63.BytesOutRate:MRP:u64', '64.DebugCommandsIssued:MGP:u32', '65.CumRecvLogs:MCP:u32',
  '66.Build info:POS:str', '67.Memmax_bytes:CLP:u32', '68.PoolAlloc_bytes:MGP:u64', '69.PoolUsed_bytes:MGP:u64',
  '70.Start_time_sec:MDP:u32', '71.Tainted:SGP:str',
];

/* ---------------- config builders ---------------- */

const TIMEOUTS: Timeouts = { connect: 0, client: 0, server: 0, clientFin: 0, serverFin: 0, tunnel: 0, tarpit: 0, queue: 0, httpRequest: 0, httpKeepAlive: 0, check: 0 };

function proxy(name: string, id: number, kind: 'frontend' | 'backend' | 'listen', mode: 'tcp' | 'http', o: Partial<ProxyConfig> = {}): ProxyConfig {
  return { ...newProxyConfig(name, 't.cfg', 1), id, cap: { fe: kind !== 'backend', be: kind !== 'frontend' }, mode, timeouts: TIMEOUTS, ...o };
}

function server(name: string, id: number, addr: string, o: Partial<ServerConfig> = {}): ServerConfig {
  const v6 = /^\[(.*)\]:(\d+)$/.exec(addr);
  const host = v6 ? v6[1] : addr.slice(0, addr.lastIndexOf(':'));
  const port = Number(v6 ? v6[2] : addr.slice(addr.lastIndexOf(':') + 1));
  return {
    file: 't.cfg', line: 1, name, id, forcedId: false, addrText: addr, host, ip: host, port, family: v6 ? 6 : 4,
    weight: 1, maxconn: 0, backup: false, disabled: false, poolMaxConn: -1, poolPurgeDelay: 5000, ...o,
  };
}

function config(maxconn: number, proxies: ProxyConfig[]): CompiledConfig {
  return {
    files: ['t.cfg'], proxies, listeners: [], patternFiles: {}, userlists: {},
    global: { maxconn, nbthread: 1, pidfile: null, logTargets: [], logTag: 'switchyard', logSendHostname: null, hardStopAfter: 0, statsSockets: [], localPeer: 'vm', node: 'vm', bufsize: 16384, maxHttpHdr: 101, h1Limits: { maxHeadSize: 15277, maxHeaders: 101 } },
  };
}

const NOW = 1_800_000_000_000;
/** Three seconds ago (plus a little), like the capture. */
const T3 = NOW - 3_400;

function state(admin: number, op: number, weight: number, lastChange = T3): ServerRuntimeState {
  return { admin, op, uweight: weight, iweight: weight, lastChange };
}

function failingCheck(o: Partial<ServerCheckView> = {}): ServerCheckView {
  return {
    enabled: true, paused: false, inProgress: false, rise: 2, fall: 3, health: 0, status: 8, statusName: 'L4CON',
    statusDesc: 'Layer4 connection problem', result: 2, code: 0, durationMs: 0, lastCheck: 'Connection refused',
    failedChecks: 1, downTransitions: 1, downtimeSec: 3, ...o,
  };
}

function firstConfig(): StatInput {
  const cfg = config(1000, [
    proxy('fe_main', 2, 'frontend', 'tcp', { defaultBackend: 'be_app' }),
    proxy('be_app', 3, 'backend', 'tcp', {
      servers: [
        server('s1', 1, '127.0.0.1:18081'), server('s2', 2, '127.0.0.1:18082', { weight: 50 }),
        server('s3', 3, '127.0.0.1:18083', { disabled: true }), server('s4', 4, '127.0.0.1:18084', { backup: true }),
        server('s5', 5, '127.0.0.1:18085'), server('s6', 6, '127.0.0.1:18086', { disabled: true }),
        server('s7', 7, '[::1]:18087', { maxconn: 20 }),
      ],
    }),
    proxy('li_both', 4, 'listen', 'http', {
      servers: [server('w1', 1, '127.0.0.1:18091', { weight: 0 }), server('w2', 2, '127.0.0.1:18092', { backup: true })],
    }),
    proxy('be_empty', 5, 'backend', 'tcp', { balance: { ...newBalanceConfig(), algo: 'static-rr' } }),
    proxy('fe_http', 6, 'frontend', 'http', { maxconn: 50 }),
  ]);
  // HAProxy's encoding: `disabled` = FMAINT|CMAINT (5) and stopped; s5/w2 down by their check.
  const states = [
    [],
    [state(0, 2, 1), state(0, 2, 50), state(5, 0, 1), state(0, 2, 1), state(0, 0, 1), state(5, 0, 1), state(0, 2, 1)],
    [state(0, 2, 0), state(0, 0, 1, NOW - 2_400)],
    [], [],
  ];
  const checks = [
    undefined,
    [undefined, undefined, undefined, undefined, failingCheck(),
      failingCheck({ paused: true, status: 1, statusName: 'INI', statusDesc: 'Initializing', result: 0, failedChecks: 0, downTransitions: 0, lastCheck: '' })],
    [undefined, failingCheck({ downtimeSec: 2 })],
  ];
  return { config: cfg, states, checks, proxies: [], now: NOW, processStart: T3, processNum: 1, showLegends: true };
}

function secondConfig(): StatInput {
  const cfg = config(500, [
    proxy('fe1', 2, 'frontend', 'http', {
      defaultBackend: 'be_alldis',
      useBackends: [{ file: 't', line: 1, backend: 'be_bk', cond: null, aclCount: 0 }, { file: 't', line: 2, backend: 'be_bk', cond: null, aclCount: 0 }, { file: 't', line: 3, backend: 'be_alldis', cond: null, aclCount: 0 }],
    }),
    proxy('be_alldis', 3, 'backend', 'http', {
      servers: [server('d1', 1, '127.0.0.1:18281', { disabled: true }), server('d2', 2, '127.0.0.1:18282', { disabled: true })],
    }),
    proxy('be_bk', 4, 'backend', 'http', {
      servers: [
        server('b1', 1, '127.0.0.1:18283', { backup: true }), server('b2', 2, '127.0.0.1:18284', { backup: true, weight: 5 }),
        server('h1', 3, 'localhost:18285', { disabled: true, ip: '127.0.0.1' }),
      ],
    }),
    proxy('be_off', 5, 'backend', 'http', { disabled: true, servers: [server('o1', 1, '127.0.0.1:18286')] }),
    proxy('li2', 6, 'listen', 'tcp', { maxconn: 30, servers: [server('a1', 1, '127.0.0.1:18291', { backup: true }), server('a2', 2, '127.0.0.1:18292', { backup: true, weight: 3 })] }),
  ]);
  const states = [[], [state(5, 0, 1), state(5, 0, 1)], [state(0, 2, 1), state(0, 2, 5), state(5, 0, 1)], [state(0, 2, 1)], [state(0, 2, 1), state(0, 2, 3)]];
  return { config: cfg, states, proxies: [], now: NOW, processStart: T3, processNum: 1, showLegends: true };
}

function csvRows(input: StatInput): Map<string, string> {
  const lines = formatStatCsv(buildStatRows(input)).split('\n');
  const out = new Map<string, string>();
  for (const l of lines.slice(1)) if (l) out.set(l.split(',').slice(0, 2).join('/'), l);
  return out;
}

/* ---------------- tests ---------------- */

describe('show stat CSV', () => {
  test('header line is HAProxy 2.6.12\'s, byte for byte', () => {
    assert.equal(STAT_CSV_HEADER, HAPROXY_2_6_12_STAT_HEADER);
    assert.ok(formatStatCsv([]) === HAPROXY_2_6_12_STAT_HEADER);
  });

  test('frontend, server and backend rows match the capture (admin socket)', () => {
    const rows = csvRows(firstConfig());
    for (const [key, line] of Object.entries(CAPTURED_ROWS)) assert.equal(rows.get(key), line, key);
  });

  test('rows come per proxy: frontend, servers, backend', () => {
    const keys = [...csvRows(firstConfig()).keys()];
    assert.deepEqual(keys, [
      'fe_main/FRONTEND', 'be_app/s1', 'be_app/s2', 'be_app/s3', 'be_app/s4', 'be_app/s5', 'be_app/s6', 'be_app/s7', 'be_app/BACKEND',
      'li_both/FRONTEND', 'li_both/w1', 'li_both/w2', 'li_both/BACKEND', 'be_empty/BACKEND', 'fe_http/FRONTEND',
    ]);
  });

  test('a level-user socket hides addresses and the algorithm', () => {
    const rows = csvRows({ ...firstConfig(), showLegends: false });
    for (const [key, line] of Object.entries(CAPTURED_USER_ROWS)) assert.equal(rows.get(key), line, key);
  });

  test('backup-only backends, fullconn from use_backend, disabled proxies', () => {
    const rows = csvRows(secondConfig());
    for (const [key, line] of Object.entries(CAPTURED_ROWS_2)) assert.equal(rows.get(key), line, key);
    assert.ok(![...rows.keys()].some((k) => k.startsWith('be_off/')), 'disabled proxy is not dumped');
  });

  test('checked servers: status, check columns', () => {
    const line = csvRows(firstConfig()).get('be_app/s5')!.split(',');
    const hdr = HAPROXY_2_6_12_STAT_HEADER.slice(2).split(',');
    const col = (n: string) => line[hdr.indexOf(n)];
    assert.equal(col('status'), 'DOWN');
    assert.equal(col('check_status'), 'L4CON');
    assert.equal(col('check_desc'), 'Layer4 connection problem');
    assert.equal(col('last_chk'), 'Connection refused');
    assert.equal(col('chkfail'), '1');
    assert.equal(col('check_rise') + '/' + col('check_fall') + '/' + col('check_health'), '2/3/0');
  });

  test('counters are printed in their columns; text with commas is quoted', () => {
    const input = firstConfig();
    input.config.proxies[1].servers[0] = { ...input.config.proxies[1].servers[0], name: 'a,"b' };
    input.proxies = [
      { name: 'fe_main', fe: { ...H0, scur: 3, smax: 9, stot: 42, bin: 1000, bout: 2000, dreq: 1, dresp: 2, ereq: 3, connTot: 44, dcon: 5, dses: 6 }, be: null, servers: [] },
      {
        name: 'be_app', fe: null,
        be: { ...H0, scur: 2, smax: 4, stot: 40, bin: 900, bout: 1900, dreq: 0, dresp: 0, econ: 1, eresp: 2, wretr: 3, wredis: 4, lbtot: 40, cliAbrt: 5, srvAbrt: 6, connTot: 40, lastSess: NOW - 9_500, qcur: 0, qmax: 0 },
        servers: [{ ...H0, scur: 2, smax: 3, stot: 40, bin: 900, bout: 1900, econ: 1, eresp: 2, wretr: 3, wredis: 4, lbtot: 40, cliAbrt: 5, srvAbrt: 6, connect: 41, lastSess: NOW - 9_500, qcur: 0, qmax: 0 }],
      },
    ];
    const out = formatStatCsv(buildStatRows(input)).split('\n');
    const hdr = HAPROXY_2_6_12_STAT_HEADER.slice(2).split(',');
    const fe = out[1].split(',');
    assert.deepEqual(['scur', 'smax', 'stot', 'bin', 'bout', 'dreq', 'dresp', 'ereq', 'conn_tot', 'dcon', 'dses'].map((n) => fe[hdr.indexOf(n)]),
      ['3', '9', '42', '1000', '2000', '1', '2', '3', '44', '5', '6']);
    assert.ok(out[2].startsWith('be_app,"a,""b",0,0,2,3,,40,900,1900,,0,,1,2,3,4,no check,'), out[2]);
    const be = out.find((l) => l.startsWith('be_app,BACKEND'))!.split(',');
    assert.deepEqual(['lbtot', 'cli_abrt', 'srv_abrt', 'lastsess', 'connect'].map((n) => be[hdr.indexOf(n)]), ['40', '5', '6', '9', '41']);
  });

  test('filters: `<iid> <type> <sid>`, no-maint, up', () => {
    const input = firstConfig();
    const keys = (o: Parameters<typeof buildStatRows>[1]) => buildStatRows(input, o).map((r) => `${r.kind}${r.iid}.${r.sid}`);
    assert.deepEqual(keys({ bound: { iid: 3, type: 4, sid: 2 } }), ['S3.2']);
    assert.deepEqual(keys({ bound: { iid: 3, type: 2, sid: -1 } }), ['B3.0']);
    assert.deepEqual(keys({ bound: { iid: -1, type: 1, sid: -1 } }), ['F2.0', 'F4.0', 'F6.0']);
    assert.deepEqual(keys({ bound: { iid: 3, type: 0, sid: -1 } }), []);
    assert.deepEqual(keys({ bound: { iid: 3, type: 4, sid: -1 }, hideMaint: true }), ['S3.1', 'S3.2', 'S3.4', 'S3.5', 'S3.7']);
    // `up` hides maintenance and down servers and shows "(up/total)" on backends.
    const up = formatStatCsv(buildStatRows(input, { bound: { iid: 3, type: 6, sid: -1 }, hideDown: true })).split('\n');
    assert.deepEqual(up.slice(1, -1).map((l) => l.split(',').slice(1, 2).concat(l.split(',')[17]).join(':')),
      ['s1:no check', 's2:no check', 's4:no check', 's7:no check', 'BACKEND:UP (4/7)']);
  });
});

describe('show stat typed and json', () => {
  test('typed lines carry position, name, process number, tags and type', () => {
    const typed = formatStatTyped(buildStatRows(firstConfig(), { bound: { iid: 2, type: 1, sid: -1 } })).split('\n');
    assert.equal(typed[0], 'F.2.0.0.pxname.1:KNS:str:fe_main');
    assert.equal(typed[2], 'F.2.0.4.scur.1:MGP:u32:0');
    assert.ok(typed.includes('F.2.0.6.slim.1:CLP:u32:1000'));
    assert.ok(typed.includes('F.2.0.75.mode.1:CGS:str:tcp'));
    assert.ok(typed.includes('F.2.0.126.h1_spliced_bytes_out.1:MCP:u64:0'));
    assert.equal(typed.length - 1, 58, 'HAProxy prints 58 fields for a tcp frontend');
    const be = formatStatTyped(buildStatRows(firstConfig(), { bound: { iid: 3, type: 2, sid: -1 } }));
    assert.ok(be.includes('B.3.0.55.lastsess.1:MAP:s32:-1\n'));
    assert.ok(be.includes('B.3.0.33.rate.1:MGP:u32:0\n'), 'backend rates are gauges in 2.6');
  });

  test('json is an array of objects of fields', () => {
    const json = formatStatJson(buildStatRows(firstConfig(), { bound: { iid: 2, type: 1, sid: -1 } }));
    assert.ok(json.startsWith('[[{"objType":"Frontend","proxyId":2,"id":0,"field":{"pos":0,"name":"pxname"},"processNum":1,' +
      '"tags":{"origin":"Key","nature":"Name","scope":"Service"},"value":{"type":"str","value":"fe_main"}},'));
    assert.ok(json.endsWith('"value":{"type":"u64","value":0}}]]\n'));
    assert.equal(formatStatJson([]), '[]\n');
    assert.equal(JSON.parse(json)[0].length, 58);
  });
});

describe('server status text', () => {
  const st = (admin: number, op: number) => state(admin, op, 1);
  test('HAProxy\'s states', () => {
    assert.equal(serverStatusText(st(0, 2)), 'no check');
    assert.equal(serverStatusText(st(0x01, 2)), 'MAINT');
    assert.equal(serverStatusText(st(0x05, 0)), 'MAINT');
    assert.equal(serverStatusText(st(0x04, 2)), 'no check'); // CMAINT alone: configured disabled, then enabled
    assert.equal(serverStatusText(st(0x20, 2)), 'MAINT (resolution)');
    assert.equal(serverStatusText(st(0x08, 2)), 'DRAIN');
    assert.equal(serverStatusText(st(0, 0)), 'DOWN');
    assert.equal(serverStatusText(st(0, 3)), 'NOLB');
    const chk = failingCheck({ health: 4, status: 6, statusName: 'L4OK' });
    assert.equal(serverStatusText(st(0, 2), chk), 'UP');
    assert.equal(serverStatusText(st(0, 2), { ...chk, health: 3 }), 'UP 2/3');
    assert.equal(serverStatusText(st(0x08, 2), { ...chk, health: 3 }), 'DRAIN 2/3');
    assert.equal(serverStatusText(st(0, 0), { ...chk, health: 1 }), 'DOWN 1/2');
    assert.equal(serverStatusText(st(0, 0), { ...chk, health: 0 }), 'DOWN');
  });
});

describe('show servers state', () => {
  test('matches the capture, checks included', () => {
    const input = firstConfig();
    assert.equal(formatServersState({ config: input.config, states: input.states, checks: input.checks, now: NOW }), CAPTURED_SERVERS_STATE);
  });

  test('fqdn from a host name, disabled proxies keep srv_id 0, one backend', () => {
    const input = secondConfig();
    const out = formatServersState({ config: input.config, states: input.states, now: NOW }).split('\n');
    for (const l of CAPTURED_SERVERS_STATE_2_LINES) assert.ok(out.includes(l), l);
    const only = formatServersState({ config: input.config, states: input.states, now: NOW }, 3);
    assert.equal(only, SERVERS_STATE_HEADER + CAPTURED_SERVERS_STATE_2_LINES[1] + '\n');
    assert.equal(formatServersState({ config: input.config, states: input.states, now: NOW }, 0), SERVERS_STATE_HEADER);
  });
});

describe('show info', () => {
  const info: InfoInput = {
    name: 'Switchyard', version: '0.1.0', releaseDate: '2026/11/24', nbthread: 2, processNum: 1, pid: 4242,
    startedAt: NOW - 106_000, now: NOW, ulimitN: 2036, maxsock: 2036, maxconn: 1000, currConns: 3, cumConns: 184, cumReq: 0,
    node: 'vm', stopping: false, jobs: 8, listeners: 7, totalBytesOut: 123298, poolAllocBytes: 0, poolUsedBytes: 0,
  };

  test('typed: every field of HAProxy 2.6.12 in order with its tags', () => {
    const keys = formatInfo(info, 'typed').trimEnd().split('\n').map((l) => {
      const [head, tags, type] = l.split(':');
      const dot1 = head.indexOf('.');
      return `${head.slice(0, dot1)}.${head.slice(dot1 + 1, head.lastIndexOf('.'))}:${tags}:${type}`;
    });
    assert.deepEqual(keys, CAPTURED_INFO_TYPED_KEYS);
  });

  test('plain: "Name: value" lines, HAProxy\'s uptime format', () => {
    const lines = formatInfo(info).split('\n');
    assert.equal(lines[0], 'Name: Switchyard');
    assert.equal(lines[6], 'Pid: 4242');
    assert.equal(lines[7], 'Uptime: 0d 0h01m46s');
    assert.ok(lines.includes('CumConns: 184'));
    assert.ok(lines.includes('Unstoppable Jobs: 0'));
    assert.equal(lines.at(-2), 'Tainted: 0');
    assert.equal(formatInfoUptime(90061), '1d 1h01m01s');
    assert.ok(!formatInfo(info).includes('description'), 'description only when set');
    assert.ok(formatInfo({ ...info, description: 'edge' }).includes('\nnode: vm\ndescription: edge\nStopping: 0\n'));
  });

  test('json', () => {
    const j = formatInfo(info, 'json');
    assert.ok(j.startsWith('[{"field":{"pos":0,"name":"Name"},"processNum":1,"tags":{"origin":"Product","nature":"Output","scope":"Service"},"value":{"type":"str","value":"Switchyard"}},'));
    assert.equal(JSON.parse(j).length, CAPTURED_INFO_TYPED_KEYS.length);
  });
});

describe('show proc', () => {
  test('master CLI table as HAProxy 2.6.12 prints it', () => {
    const procs = [
      { pid: 13553, role: 'master' as const, relPid: 0, reloads: 1, failedReloads: 0, startedAt: NOW - 5_000, version: '2.6.12-1+deb12u4' },
      { pid: 13706, role: 'worker' as const, relPid: 1, reloads: 0, startedAt: NOW - 1_000, version: '2.6.12-1+deb12u4' },
    ];
    assert.equal(formatProc(procs, NOW),
      '#<PID>          <type>          <reloads>       <uptime>        <version>      \n' +
      '13553           master          1 [failed: 0]   0d00h00m05s     2.6.12-1+deb12u4\n' +
      '# workers\n' +
      '13706           worker          0               0d00h00m01s     2.6.12-1+deb12u4\n' +
      '# programs\n');
  });

  test('old workers get their own section; short versions are padded', () => {
    const procs = [
      { pid: 10, role: 'master' as const, relPid: 0, reloads: 2, failedReloads: 1, startedAt: NOW - 90_061_000, version: '0.1.0' },
      { pid: 12, role: 'worker' as const, relPid: 1, reloads: 0, startedAt: NOW, version: '0.1.0' },
      { pid: 11, role: 'worker' as const, relPid: 1, reloads: 1, startedAt: NOW - 60_000, version: '0.1.0', old: true },
    ];
    assert.equal(formatProc(procs, NOW),
      '#<PID>          <type>          <reloads>       <uptime>        <version>      \n' +
      '10              master          2 [failed: 1]   1d01h01m01s     0.1.0          \n' +
      '# workers\n' +
      '12              worker          0               0d00h00m00s     0.1.0          \n' +
      '# old workers\n' +
      '11              worker          1               0d00h01m00s     0.1.0          \n' +
      '# programs\n');
  });
});

describe('aggregation over workers', () => {
  test('sums counters, keeps the latest session date, matches proxies by name', () => {
    const input = firstConfig();
    const w = (pid: number, scur: number, last: number): WorkerStats => ({
      pid, startedAt: NOW, currConns: scur, cumConns: scur * 10, maxConnReached: 0,
      proxies: [
        { name: 'fe_main', fe: { ...H0, scur, smax: scur, stot: scur, bin: 1, bout: 2, dreq: 0, dresp: 0, ereq: 0, connTot: scur, dcon: 0, dses: 0 }, be: null, servers: [] },
        {
          name: 'be_app', fe: null,
          be: { ...H0, scur, smax: scur, stot: scur, bin: 0, bout: 0, dreq: 0, dresp: 0, econ: 0, eresp: 0, wretr: 0, wredis: 0, lbtot: scur, cliAbrt: 0, srvAbrt: 0, connTot: 0, lastSess: last, qcur: 0, qmax: 0 },
          servers: [{ ...H0, scur, smax: scur, stot: scur, bin: 0, bout: 0, econ: 0, eresp: 0, wretr: 0, wredis: 0, lbtot: scur, cliAbrt: 0, srvAbrt: 0, connect: scur, lastSess: last, qcur: 0, qmax: 0 }],
        },
      ],
    });
    const other = w(3, 5, NOW - 1000);
    // A worker of an older generation that had another proxy first.
    other.proxies = [{ name: 'gone', fe: null, be: null, servers: [] }, other.proxies[1], other.proxies[0]];
    const agg = aggregateWorkerStats(input.config, [w(1, 2, NOW - 5000), other]);
    assert.equal(agg.currConns, 7);
    assert.equal(agg.cumConns, 70);
    assert.equal(agg.proxies[0]!.fe!.scur, 7);
    assert.equal(agg.proxies[1]!.be!.lbtot, 7);
    assert.equal(agg.proxies[1]!.be!.lastSess, NOW - 1000);
    assert.equal(agg.proxies[1]!.servers[0].connect, 7);
    assert.equal(agg.proxies[2], undefined);
  });
});
