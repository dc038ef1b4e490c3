/*
 * What show stat and show servers state print of the checks
 * (stats-format.ts with checks/view.ts's input): HAProxy's status strings
 * with an agent (stats_fill_sv_stats_computestate()), the agent and hanafail
 * columns, the backend's down history; and the agent's weight words
 * (checks/weight.ts, server_parse_weight_change_request()).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CompiledConfig, ProxyConfig, ServerConfig, Timeouts } from '@switchyard/core/config/compiled';
import type { ServerRuntimeState } from '@switchyard/core/proxy/server-state';
import { newProxyConfig } from '@switchyard/core/proxy/sections';
import {
  buildStatRows, formatServersState, formatStatCsv, serverStatusText, STAT_CSV_HEADER,
  type AgentCheckView, type ServerCheckView, type StatInput,
} from '../src/stats-format';
import { weightChange } from '../src/checks/weight';

const TIMEOUTS: Timeouts = { connect: 0, client: 0, server: 0, clientFin: 0, serverFin: 0, tunnel: 0, tarpit: 0, queue: 0, httpRequest: 0, httpKeepAlive: 0, check: 0 };
const NOW = 1_800_000_000_000;

function server(name: string, id: number, port: number, o: Partial<ServerConfig> = {}): ServerConfig {
  return {
    file: 't.cfg', line: 1, name, id, forcedId: false, addrText: `127.0.0.1:${port}`, host: '127.0.0.1', ip: '127.0.0.1', port, family: 4,
    weight: 1, maxconn: 0, backup: false, disabled: false, poolMaxConn: -1, poolPurgeDelay: 5000, ...o,
  };
}

function backend(servers: ServerConfig[]): ProxyConfig {
  return { ...newProxyConfig('be', 't.cfg', 1), id: 2, cap: { fe: false, be: true }, mode: 'http', timeouts: TIMEOUTS, servers };
}

function config(p: ProxyConfig): CompiledConfig {
  return {
    files: ['t.cfg'], proxies: [p], listeners: [], patternFiles: {}, userlists: {},
    global: { maxconn: 100, nbthread: 1, pidfile: null, logTargets: [], logTag: 'x', logSendHostname: null, hardStopAfter: 0, statsSockets: [], localPeer: 'vm', node: 'vm', bufsize: 16384, maxHttpHdr: 101, h1Limits: { maxHeadSize: 15277, maxHeaders: 101 } },
  };
}

function st(admin: number, op: number, w = 1): ServerRuntimeState {
  return { admin, op, uweight: w, iweight: w, lastChange: NOW - 5_000 };
}

function agent(o: Partial<AgentCheckView> = {}): AgentCheckView {
  return {
    enabled: true, paused: false, inProgress: false, rise: 1, fall: 1, health: 1, status: 15, statusName: 'L7OK',
    statusDesc: 'Layer7 check passed', result: 3, code: 0, durationMs: 2, lastCheck: 'via agent : up', ...o,
  };
}

function check(o: Partial<ServerCheckView> = {}): ServerCheckView {
  return {
    enabled: true, paused: false, inProgress: false, rise: 2, fall: 3, health: 4, status: 15, statusName: 'L7OK',
    statusDesc: 'Layer7 check passed', result: 3, code: 200, durationMs: 1, lastCheck: '', failedChecks: 0,
    downTransitions: 0, downtimeSec: 0, ...o,
  };
}

/** A server with only an agent check: the health check part is not configured. */
const agentOnly = (a: Partial<AgentCheckView> = {}): ServerCheckView =>
  check({ configured: false, enabled: false, rise: 0, fall: 0, health: 0, status: 0, statusName: 'UNK', agent: agent(a) });

describe('status with an agent', () => {
  test('HAProxy\'s strings: DRAIN (agent), DOWN (agent), DOWN n/rise while going up', () => {
    assert.equal(serverStatusText(st(0, 2), agentOnly()), 'no check');
    assert.equal(serverStatusText(st(0x08, 2), agentOnly()), 'DRAIN (agent)');
    assert.equal(serverStatusText(st(0, 0), agentOnly({ health: 0 })), 'DOWN (agent)');
    assert.equal(serverStatusText(st(0, 0), check({ health: 1, agent: agent() })), 'DOWN 1/2');
    assert.equal(serverStatusText(st(0, 0), check({ health: 0, agent: agent({ health: 0 }) })), 'DOWN (agent)');
    assert.equal(serverStatusText(st(0, 3), check({ health: 3 })), 'NOLB 2/3');
    // A disabled agent does not change the status.
    assert.equal(serverStatusText(st(0x08, 2), check({ agent: agent({ enabled: false }) })), 'DRAIN');
  });
});

function csvRow(input: StatInput, sv: string): Record<string, string> {
  const names = STAT_CSV_HEADER.slice(2).split(',');
  const line = formatStatCsv(buildStatRows(input)).split('\n').find(l => l.startsWith(`be,${sv},`))!;
  const v = line.split(',');
  const r: Record<string, string> = {};
  names.forEach((n, i) => { if (n) r[n] = v[i] ?? ''; });
  return r;
}

describe('check columns', () => {
  const p = backend([server('s1', 1, 81), server('s2', 2, 82)]);
  const base = (checks: Array<ServerCheckView | undefined>, backends?: StatInput['backends']): StatInput => ({
    config: config(p), states: [[st(0, 2), st(0, 0)]], proxies: [], now: NOW, processStart: NOW - 60_000,
    processNum: 1, showLegends: true, checks: [checks], backends,
  });

  test('agent_* columns, last_agt, hanafail with observe', () => {
    const r = csvRow(base([check({ agent: agent({ inProgress: true, status: 17, statusName: 'L7STS', statusDesc: 'Layer7 wrong status', code: 0, lastCheck: 'via agent : down' }), hanaFailed: 2 }), undefined]), 's1');
    assert.deepEqual(
      [r.agent_status, r.agent_code, r.agent_duration, r.agent_desc, r.last_agt, r.agent_rise, r.agent_fall, r.agent_health, r.hanafail],
      ['* L7STS', '0', '2', 'Layer7 wrong status', 'via agent : down', '1', '1', '1', '2']);
    const plain = csvRow(base([check(), undefined]), 's1');
    assert.deepEqual([plain.agent_status, plain.last_agt, plain.hanafail, plain.check_status, plain.check_code], ['', '', '', 'L7OK', '200']);
    // A paused (maintenance) health check shows nothing of its last result.
    const paused = csvRow(base([check({ paused: true }), undefined]), 's1');
    assert.deepEqual([paused.check_status, paused.check_health, paused.chkfail], ['', '', '0']);
  });

  test('the BACKEND row takes its down transitions and down time from the checks\' history', () => {
    const be = csvRow(base([undefined, undefined], [{ downTransitions: 3, lastChange: NOW - 7_000, downtimeSec: 20 }]), 'BACKEND');
    assert.deepEqual([be.chkdown, be.lastchg, be.downtime], ['3', '7', '20']);
    const never = csvRow(base([undefined, undefined]), 'BACKEND');
    assert.deepEqual([never.chkdown, never.lastchg, never.downtime], ['0', '60', '0']);
  });

  test('show servers state: check and agent states, ports and addresses', () => {
    const out = formatServersState({
      config: config(p), states: [[st(0, 2), st(0, 0)]], now: NOW,
      checks: [[check({ inProgress: true, agent: agent({ enabled: false }), agentPort: 9000, agentAddr: '10.0.0.1', checkPort: 8080, checkAddr: '10.0.0.2', useSsl: true }), undefined]],
    });
    const s1 = out.split('\n')[2].split(' ');
    // srv_check_state 7 (in progress), srv_agent_state 0x12, use_ssl, check port/addr, agent addr/port.
    assert.deepEqual([s1[10], s1[11], s1[12], s1[13], s1[14], s1[20], s1[21], s1[22], s1[23], s1[24]], ['15', '3', '4', '7', '18', '1', '8080', '10.0.0.2', '10.0.0.1', '9000']);
  });
});

test('agent weights: <n>% of the initial weight, HAProxy\'s complaints otherwise', () => {
  assert.equal(weightChange('50%', 10, false), 5);
  assert.equal(weightChange('100%', 10, false), 10);
  assert.equal(weightChange('30000%', 100, false), 256);
  assert.equal(weightChange('0%', 10, true), 0);
  assert.equal(weightChange('50%', 10, true), "Backend is using a static LB algorithm and only accepts weights '0%' and '100%'.\n");
  assert.equal(weightChange('7x%', 10, false), 'Trailing garbage in weight string');
  assert.equal(weightChange('-5%', 10, false), 'Relative weight must be positive.\n');
});
