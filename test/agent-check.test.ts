/**
 * agent-check: a real agent on loopback answers the master's checks; its
 * weights, drain, down and up words show in `show stat`, in the log lines
 * (haproxy 2.6.12's texts) and in how traffic is spread. The Runtime API's
 * agent and health commands act on the same checks.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { freePorts, waitUntil } from './helpers';
import { HttpOrigin, LineServer, checkGlobals, httpGet, startChecked } from './check-helpers';

async function spread(port: number, n: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const o = (await httpGet(port)).origin;
    out[o] = (out[o] ?? 0) + 1;
  }
  return out;
}

test('agent replies: a weight, drain, down with a reason, up again; show stat and traffic follow', async t => {
  const a = new HttpOrigin('A');
  const b = new HttpOrigin('B');
  for (const o of [a, b]) { await o.listen(); t.after(() => o.close()); }
  let reply = '50%\n';
  const agent = new LineServer(() => reply);
  await agent.listen();
  t.after(() => agent.close());
  const [port] = await freePorts(1);
  const r = await startChecked(t, sock => `${checkGlobals(sock)}
frontend fe
    bind 127.0.0.1:${port}
    default_backend be
backend be
    server s1 127.0.0.1:${a.port} weight 100 agent-check agent-port ${agent.port} agent-inter 100
    server s2 127.0.0.1:${b.port} weight 100
`);
  await waitUntil(async () => (await r.row('be', 's1')).weight === '50', 5_000, 'the agent sets weight 50');
  let s1 = await r.row('be', 's1');
  assert.deepEqual([s1.status, s1.agent_status.replace(/^\* /, ''), s1.agent_desc, s1.agent_rise, s1.agent_fall], ['no check', 'CHECKED', 'No status change', '1', '1']);
  const w = await spread(port, 30);
  assert.ok(w.A >= 9 && w.A <= 11 && w.B >= 19 && w.B <= 21, JSON.stringify(w));

  let mark = r.mark();
  reply = 'drain\n';
  await r.line(/Server be\/s1 enters drain state\. 1 active and 0 backup servers online\. 0 sessions requeued, 0 total in queue\./, mark);
  assert.equal((await r.row('be', 's1')).status, 'DRAIN (agent)');
  assert.deepEqual(await spread(port, 6), { B: 6 });

  mark = r.mark();
  reply = 'ready down #maintenance window\n';
  await r.line(/Server be\/s1 is UP \(leaving forced drain\)\./, mark);
  await r.line(new RegExp('Server be/s1 is DOWN, reason: Layer7 wrong status, code: 0, info: "via agent : down \\(maintenance window\\)", check duration: \\d+ms\\. 1 active and 0 backup servers left\\. 0 sessions active, 0 requeued, 0 remaining in queue\\.'), mark);
  s1 = await r.row('be', 's1');
  assert.deepEqual([s1.status, s1.agent_status.replace(/^\* /, ''), s1.agent_health], ['DOWN (agent)', 'L7STS', '0']);
  assert.deepEqual(await spread(port, 4), { B: 4 });

  mark = r.mark();
  reply = 'up 100%\n';
  await r.line(new RegExp('Server be/s1 is UP, reason: Layer7 check passed, code: 0, info: "via agent : up", check duration: \\d+ms\\. 2 active and 0 backup servers online\\. 0 sessions requeued, 0 total in queue\\.'), mark);
  assert.deepEqual(await spread(port, 4), { A: 2, B: 2 });
  assert.equal((await r.row('be', 's1')).weight, '100');
});

test('Runtime API: set server health/agent, enable/disable health/agent, with HAProxy\'s replies', async t => {
  const a = new HttpOrigin('A');
  await a.listen();
  t.after(() => a.close());
  const agent = new LineServer(() => 'up\n');
  await agent.listen();
  t.after(() => agent.close());
  const [port] = await freePorts(1);
  const r = await startChecked(t, sock => `${checkGlobals(sock)}
frontend fe
    bind 127.0.0.1:${port}
    default_backend be
backend be
    option httpchk
    server s1 127.0.0.1:${a.port} check inter 3s agent-check agent-port ${agent.port} agent-inter 3s
    server s2 127.0.0.1:${a.port}
`);
  // The first checks run in the first 1.5s; the next ones 3s later, after this test.
  await waitUntil(async () => {
    const s1 = await r.row('be', 's1');
    return s1.check_status === 'L7OK' && s1.agent_status === 'L7OK';
  }, 5_000, 'the first health and agent checks are done');
  let mark = r.mark();
  assert.equal(await r.admin('set server be/s1 health down'), '\n');
  await r.line(/Server be\/s1 is DOWN, changed from CLI\. 1 active and 0 backup servers left\. 0 sessions active, 0 requeued, 0 remaining in queue\./, mark);
  assert.equal((await r.row('be', 's1')).status, 'DOWN');
  mark = r.mark();
  assert.equal(await r.admin('set server be/s1 health stopping'), '\n');
  await r.line(/Server be\/s1 is stopping, changed from CLI\. 1 active and 0 backup servers online\. 0 sessions requeued, 0 total in queue\./, mark);
  assert.equal((await r.row('be', 's1')).status, 'NOLB');
  assert.equal(await r.admin('set server be/s1 health up'), '\n');
  assert.equal(await r.admin('set server be/s1 health sideways'), "'set server <srv> health' expects 'up', 'stopping', or 'down'.\n\n");
  mark = r.mark();
  assert.equal(await r.admin('set server be/s1 agent down'), '\n');
  await r.line(/Server be\/s1 is DOWN, changed from CLI\. [^\n]*/, mark);
  assert.equal((await r.row('be', 's1')).status, 'DOWN (agent)');
  assert.equal(await r.admin('set server be/s1 agent up'), '\n');
  assert.equal((await r.row('be', 's1')).status, 'UP');
  assert.equal(await r.admin('set server be/s2 agent up'), 'agent checks are not enabled on this server.\n\n');

  // Maintenance pauses the health check; leaving it restarts the check at rise ("UP 1/3").
  mark = r.mark();
  assert.equal(await r.admin('set server be/s1 state maint'), '\n');
  await r.line(/Server be\/s1 is going DOWN for maintenance\. 1 active and 0 backup servers left\. 0 sessions active, 0 requeued, 0 remaining in queue\./, mark);
  let m1 = await r.row('be', 's1');
  assert.deepEqual([m1.status, m1.check_status, m1.check_health], ['MAINT', '', '']);
  assert.equal(await r.admin('set server be/s1 state ready'), '\n');
  await r.line(/Server be\/s1 is UP\/READY \(leaving forced maintenance\)\./, mark);
  m1 = await r.row('be', 's1');
  assert.deepEqual([m1.status, m1.check_health, m1.chkdown], ['UP 1/3', '2', '3']);

  assert.equal(await r.admin('disable health be/s1'), '\n');
  let s1 = await r.row('be', 's1');
  assert.deepEqual([s1.status, s1.check_status, s1.chkfail], ['no check', '', '']);
  assert.equal(await r.admin('enable health be/s1'), '\n');
  assert.notEqual((await r.row('be', 's1')).status, 'no check');
  assert.equal(await r.admin('disable agent be/s1'), '\n');
  s1 = await r.row('be', 's1');
  assert.deepEqual([s1.agent_status, s1.last_agt], ['', '']);
  assert.equal(await r.admin('enable agent be/s2'), 'Agent was not configured on this server, cannot enable.\n\n');
  assert.equal(await r.admin('enable health be/s2'), 'Health check was not configured on this server, cannot enable.\n\n');
  const state = (await r.admin('show servers state be')).split('\n')[2].split(' ');
  // srv_check_state 6 (configured, enabled), srv_agent_state 0x12 (agent, configured; disabled), srv_agent_port.
  assert.deepEqual([state[13], state[14], state[24]], ['6', '18', String(agent.port)]);
});
