/**
 * The Runtime API served by the real master, over UNIX sockets at level admin
 * and level user, with two workers and two real origins (A and B) behind a
 * roundrobin backend: the counters are the sum over the workers, server
 * state changes steer the workers' traffic and survive a reload.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  Origin, LineClient, apiCommand, childPids, exchange, exchanges, freePorts, parseInfo, parseStatCsv,
  startMaster, statRow, tempDir, waitUntil, writeConfig, type Master,
} from './helpers';

interface Setup { m: Master; port: number; admin(cmd: string): Promise<string>; user(cmd: string): Promise<string> }

async function setup(t: { after(fn: () => Promise<void> | void): void }): Promise<Setup> {
  const tmp = tempDir('sy-api-');
  const a = new Origin('A');
  const b = new Origin('B');
  await a.listen();
  await b.listen();
  const [port] = await freePorts(1);
  const adminSock = join(tmp.dir, 'admin.sock');
  const userSock = join(tmp.dir, 'user.sock');
  const cfg = writeConfig(tmp.dir, [
    'global',
    '    nbthread 2',
    `    stats socket ${adminSock} level admin`,
    `    stats socket ${userSock} level user`,
    'defaults',
    '    mode tcp',
    '    timeout connect 5s',
    '    timeout client 30s',
    '    timeout server 30s',
    'frontend fe',
    `    bind 127.0.0.1:${port}`,
    '    default_backend be',
    'backend be',
    '    balance roundrobin',
    `    server s1 127.0.0.1:${a.port}`,
    `    server s2 127.0.0.1:${b.port}`,
    '',
  ].join('\n'));
  let m: Master | undefined;
  t.after(async () => {
    for (const w of m ? childPids(m.pid) : []) { try { process.kill(w, 'SIGCONT'); } catch { /* gone */ } }
    await m?.stop();
    await a.close();
    await b.close();
    tmp.cleanup();
  });
  m = await startMaster(cfg);
  return { m, port, admin: cmd => apiCommand(adminSock, cmd), user: cmd => apiCommand(userSock, cmd) };
}

/** Run `n` exchanges while `stopped` is SIGSTOPped, so that the other worker accepts all of them. */
async function onlyOtherWorker(stopped: number, port: number, n: number, line: string): Promise<void> {
  process.kill(stopped, 'SIGSTOP');
  try {
    for (let i = 0; i < n; i++) await exchange(port, line);
  } finally {
    process.kill(stopped, 'SIGCONT');
  }
}

/** Fields of `show servers state` per server name. */
function serversState(text: string): Map<string, Record<string, string>> {
  const lines = text.split('\n');
  assert.equal(lines[0], '1', 'format version');
  const names = lines[1].replace(/^# /, '').split(' ');
  const out = new Map<string, Record<string, string>>();
  for (const l of lines.slice(2)) {
    if (!l) continue;
    const v = l.split(' ');
    const r: Record<string, string> = {};
    names.forEach((n, i) => { r[n] = v[i]; });
    out.set(r.srv_name, r);
  }
  return out;
}

async function stat(s: Setup, prefix = ''): Promise<Array<Record<string, string>>> {
  return parseStatCsv(await s.admin(`${prefix}show stat`));
}

const HAPROXY_26_STAT_FIELDS = 'pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur,used_conn_cur,need_conn_est,uweight,agg_server_status,agg_server_check_status,agg_check_status,';

test('show info reports the master Pid, Nbthread and the current connections of all workers', async t => {
  const s = await setup(t);
  let info = parseInfo(await s.admin('show info'));
  assert.equal(info.Name, 'Switchyard');
  assert.equal(info.Pid, String(s.m.pid));
  assert.equal(info.Nbthread, '2');
  assert.equal(info.CurrConns, '0');

  const held = await Promise.all([1, 2, 3].map(() => LineClient.connect(s.port)));
  info = parseInfo(await s.admin('show info'));
  assert.equal(info.CurrConns, '3');
  assert.equal(info.CumConns, '3');
  // The user-level socket can read too.
  assert.equal(parseInfo(await s.user('show info')).CurrConns, '3');
  for (const c of held) await c.end();
  await waitUntil(async () => parseInfo(await s.admin('show info')).CurrConns === '0', 5_000, 'CurrConns drops to 0');
});

test('show stat has HAProxy\'s header and sums stot/bin/bout over both workers; @1/@2 route to one worker each', async t => {
  const s = await setup(t);
  const [w1, w2] = childPids(s.m.pid);
  // 6 connections accepted by w2 (w1 stopped), then 4 by w1: 'hello\n' in (6 bytes), 'A\n' or 'B\n' + echo out (8 bytes).
  await onlyOtherWorker(w1, s.port, 6, 'hello');
  await onlyOtherWorker(w2, s.port, 4, 'hello');

  const text = await s.admin('show stat');
  assert.ok(text.startsWith(`# ${HAPROXY_26_STAT_FIELDS}`), `header: ${text.split('\n')[0]}`);
  assert.ok(text.endsWith(',\n\n'), 'every line ends with a comma; the reply with an empty line');
  const rows = parseStatCsv(text);
  assert.deepEqual(rows.map(r => `${r.pxname}/${r.svname}`), ['fe/FRONTEND', 'be/s1', 'be/s2', 'be/BACKEND']);
  const fe = statRow(rows, 'fe', 'FRONTEND');
  assert.deepEqual([fe.stot, fe.bin, fe.bout, fe.status], ['10', '60', '80', 'OPEN']);
  const be = statRow(rows, 'be', 'BACKEND');
  assert.deepEqual([be.stot, be.bin, be.bout, be.status, be.lbtot], ['10', '60', '80', 'UP', '10']);
  const s1 = statRow(rows, 'be', 's1');
  const s2 = statRow(rows, 'be', 's2');
  assert.equal(Number(s1.stot) + Number(s2.stot), 10);
  // Per worker, roundrobin alternates starting with s1: 6 → 3+3 and 4 → 2+2.
  assert.deepEqual([s1.stot, s2.stot], ['5', '5']);
  for (const sv of [s1, s2]) {
    assert.equal(Number(sv.bin), 6 * Number(sv.stot));
    assert.equal(Number(sv.bout), 8 * Number(sv.stot));
    assert.equal(sv.status, 'no check', 'HAProxy: an UP server without health checks');
  }

  // @1 and @2: one worker each, and they add up to the master's view.
  const i1 = parseInfo(await s.admin('@1 show info'));
  const i2 = parseInfo(await s.admin('@2 show info'));
  const all = parseInfo(await s.admin('show info'));
  assert.deepEqual([i1.Pid, i2.Pid].sort(), [String(w1), String(w2)].sort());
  assert.deepEqual([i1.Process_num, i2.Process_num], ['1', '2']);
  const byPid = new Map([[i1.Pid, i1], [i2.Pid, i2]]);
  assert.equal(byPid.get(String(w1))!.CumConns, '4');
  assert.equal(byPid.get(String(w2))!.CumConns, '6');
  assert.equal(all.CumConns, '10');
  const fe1 = statRow(await stat(s, '@1 '), 'fe', 'FRONTEND');
  const fe2 = statRow(await stat(s, '@2 '), 'fe', 'FRONTEND');
  assert.equal(Number(fe1.stot) + Number(fe2.stot), 10);
  assert.equal(Number(fe1.bout) + Number(fe2.bout), 80);
  assert.equal(fe1.stot, byPid.get(i1.Pid)!.CumConns);
  // @!<pid> picks the same worker as its @<n>.
  assert.equal(parseInfo(await s.admin(`@!${i2.Pid} show info`)).CumConns, i2.CumConns);
});

test('show proc lists the master and both workers', async t => {
  const s = await setup(t);
  const workers = childPids(s.m.pid);
  const text = await s.admin('show proc');
  const lines = text.split('\n');
  assert.match(lines[0], /^#<PID>\s+<type>\s+<reloads>\s+<uptime>\s+<version>/);
  assert.match(lines[1], new RegExp(`^${s.m.pid}\\s+master\\s+0 \\[failed: 0\\]\\s+\\d+d\\d\\dh\\d\\dm\\d\\ds\\s+\\S+`));
  assert.equal(lines[2], '# workers');
  const listed = lines.slice(3, 5).map(l => Number(l.split(/\s+/)[0]));
  assert.deepEqual(listed.sort(), workers.sort());
  for (const l of lines.slice(3, 5)) assert.match(l, /^\d+\s+worker\s+/);
  assert.ok(lines.includes('# programs'));
});

test('disable/enable server steer traffic; show servers state and show stat follow', async t => {
  const s = await setup(t);
  assert.deepEqual(new Set(await exchanges(s.port, 8)), new Set(['A', 'B']));
  let st = serversState(await s.admin('show servers state'));
  assert.deepEqual([st.get('s1')!.srv_op_state, st.get('s1')!.srv_admin_state, st.get('s1')!.be_name], ['2', '0', 'be']);

  // In effect as soon as the command has answered: repeated, since a change
  // the workers apply after the reply only shows on some rounds.
  for (let round = 0; round < 5; round++) {
    assert.equal(await s.admin('disable server be/s1'), '\n');
    assert.deepEqual(await exchanges(s.port, 4, `r${round}`), Array(4).fill('B'), `round ${round}: traffic reached s1 after 'disable server' answered`);
    assert.equal(await s.admin('enable server be/s1'), '\n');
    assert.deepEqual(new Set(await exchanges(s.port, 4, `e${round}`)), new Set(['A', 'B']), `round ${round}: s1 still out after 'enable server' answered`);
  }
  assert.equal(await s.admin('disable server be/s1'), '\n');
  assert.deepEqual(await exchanges(s.port, 8), Array(8).fill('B'));
  st = serversState(await s.admin('show servers state'));
  assert.deepEqual([st.get('s1')!.srv_op_state, st.get('s1')!.srv_admin_state], ['0', '1']);
  assert.deepEqual([st.get('s2')!.srv_op_state, st.get('s2')!.srv_admin_state], ['2', '0']);
  assert.equal(statRow(await stat(s), 'be', 's1').status, 'MAINT');

  assert.equal(await s.admin('enable server be/s1'), '\n');
  assert.deepEqual(new Set(await exchanges(s.port, 8)), new Set(['A', 'B']));
  assert.equal(serversState(await s.admin('show servers state')).get('s1')!.srv_admin_state, '0');
  assert.equal(statRow(await stat(s), 'be', 's1').status, 'no check');
  assert.equal(await s.admin('disable server be/nope'), 'No such server.\n\n');
});

test('set server state drain|maint|ready and weight 0 steer traffic', async t => {
  const s = await setup(t);
  const check = async (admin: string, status: string, names: string[]): Promise<void> => {
    assert.deepEqual(new Set(await exchanges(s.port, 8)), new Set(names), `traffic with s1 ${status}`);
    assert.equal(serversState(await s.admin('show servers state')).get('s1')!.srv_admin_state, admin);
    assert.equal(statRow(await stat(s), 'be', 's1').status, status);
  };
  assert.equal(await s.admin('set server be/s1 state drain'), '\n');
  await check('8', 'DRAIN', ['B']);
  assert.equal(await s.admin('set server be/s1 state maint'), '\n');
  await check('1', 'MAINT', ['B']);
  assert.equal(await s.admin('set server be/s1 state ready'), '\n');
  await check('0', 'no check', ['A', 'B']);

  assert.equal(await s.admin('set server be/s1 weight 0'), '\n');
  assert.equal(await s.admin('get weight be/s1'), '0 (initial 1)\n\n');
  assert.deepEqual(await exchanges(s.port, 8), Array(8).fill('B'));
  assert.equal(statRow(await stat(s), 'be', 's1').weight, '0');
  assert.equal(serversState(await s.admin('show servers state')).get('s1')!.srv_uweight, '0');
  assert.equal(await s.admin('set server be/s1 weight 1'), '\n');
  assert.deepEqual(new Set(await exchanges(s.port, 8)), new Set(['A', 'B']));
});

test('the user-level socket may read but not change server state', async t => {
  const s = await setup(t);
  assert.equal(await s.user('disable server be/s1'), 'Permission denied\n\n');
  assert.equal(await s.user('set server be/s1 state maint'), 'Permission denied\n\n');
  assert.equal(await s.user('set server be/s1 weight 0'), 'Permission denied\n\n');
  assert.deepEqual(new Set(await exchanges(s.port, 8)), new Set(['A', 'B']));
  assert.equal(serversState(await s.user('show servers state')).get('s1')!.srv_admin_state, '0');
  assert.equal(statRow(parseStatCsv(await s.user('show stat')), 'be', 's1').status, 'no check');
});

test('server state set through the API survives a SIGUSR2 reload', async t => {
  const s = await setup(t);
  const before = childPids(s.m.pid);
  assert.equal(await s.admin('disable server be/s1'), '\n');
  assert.equal(await s.admin('set server be/s2 weight 50'), '\n');
  const r = await s.m.reload();
  assert.ok(r.ok, r.line);
  const now = (await s.admin('show proc')).split('\n');
  assert.match(now[1], new RegExp(`^${s.m.pid}\\s+master\\s+1 \\[failed: 0\\]`));
  // The new generation serves, and s1 is still out of rotation.
  await waitUntil(() => childPids(s.m.pid).every(p => !before.includes(p)), 5_000, 'the old workers exit');
  assert.deepEqual(await exchanges(s.port, 8), Array(8).fill('B'));
  const st = serversState(await s.admin('show servers state'));
  assert.deepEqual([st.get('s1')!.srv_op_state, st.get('s1')!.srv_admin_state], ['0', '1']);
  assert.equal(st.get('s2')!.srv_uweight, '50');
  assert.equal(statRow(await stat(s), 'be', 's1').status, 'MAINT');
  assert.equal(await s.admin('enable server be/s1'), '\n');
  assert.equal(await s.admin('set server be/s2 weight 1'), '\n');
  assert.deepEqual(new Set(await exchanges(s.port, 8)), new Set(['A', 'B']));
});

test('a state change made while a reload is in progress reaches the new workers', async t => {
  const s = await setup(t);
  const from = s.m.mark();
  s.m.signal('SIGUSR2');
  await s.m.waitFor(/reloading the configuration/, 5_000, from);
  assert.equal(await s.admin('disable server be/s1'), '\n');
  assert.doesNotMatch(s.m.output.slice(from), /reload complete/, 'precondition: the command ran during the reload');
  await s.m.waitFor(/reload complete/, 30_000, from);
  assert.deepEqual(await exchanges(s.port, 8), Array(8).fill('B'), 'the new generation still sends traffic to the disabled server');
  assert.equal(serversState(await s.admin('show servers state')).get('s1')!.srv_admin_state, '1');
});
