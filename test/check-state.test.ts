/**
 * Check-driven server state through the master's life: a reload starts the
 * new generation from the carried-over state and health counters (no
 * server is "all up" again, checks keep running), and a worker respawned
 * after a crash learns at once which servers are down.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { childPids, freePorts, waitUntil } from './helpers';
import { HttpOrigin, checkGlobals, httpGet, startChecked } from './check-helpers';

test('a reload keeps DOWN servers down, their counters and checks; a new server starts as HAProxy starts one', async t => {
  const a = new HttpOrigin('A');
  const b = new HttpOrigin('B');
  const c = new HttpOrigin('C');
  for (const o of [a, b, c]) { await o.listen(); t.after(() => o.close()); }
  a.healthStatus = 503;
  const [port] = await freePorts(1);
  const cfg = (sock: string, extra = ''): string => `${checkGlobals(sock)}
frontend fe
    bind 127.0.0.1:${port}
    default_backend be
backend be
    option httpchk GET /health
    server s1 127.0.0.1:${a.port} check inter 100 rise 2 fall 1
    server s2 127.0.0.1:${b.port} check inter 100 rise 2 fall 2
${extra}`;
  const r = await startChecked(t, sock => cfg(sock));
  await r.line(/Server be\/s1 is DOWN, reason: Layer7 wrong status, code: 503, [^\n]*/);
  assert.equal((await r.row('be', 's1')).chkdown, '1');

  const mark = r.mark();
  writeFileSync(join(r.dir, 'switchyard.cfg'), cfg(r.sock, `    server s3 127.0.0.1:${c.port} check inter 2s\n`));
  assert.equal((await r.m.reload()).ok, true);
  const s1 = await r.row('be', 's1');
  assert.deepEqual([s1.status, s1.chkdown, s1.check_status.replace(/^\* /, '')], ['DOWN', '1', 'L7STS'], 'state, counters and last result carried over');
  assert.equal((await r.row('be', 's2')).check_health, '3', 'health counters carried over (rise + fall - 1)');
  // The new server starts UP with health = rise, as at HAProxy's start, until its first check.
  const s3 = await r.row('be', 's3');
  assert.ok(['UP 1/3', 'UP'].includes(s3.status), s3.status);
  for (let i = 0; i < 6; i++) assert.notEqual((await httpGet(port)).origin, 'A');
  assert.ok(!r.m.stdout.slice(mark).includes('Server be/s1 is DOWN'), 'no new DOWN transition for s1');

  // Checks run on in the new generation.
  a.healthStatus = null;
  await r.line(/Server be\/s1 is UP, reason: Layer7 check passed, code: 200, [^\n]*/, mark);
  const seen = new Set<string>();
  for (let i = 0; i < 6; i++) seen.add((await httpGet(port)).origin);
  assert.ok(seen.has('A'), [...seen].join());
});

test('a worker respawned after a crash gets the current state: no traffic to a server its checks took down', async t => {
  const a = new HttpOrigin('A');
  const b = new HttpOrigin('B');
  for (const o of [a, b]) { await o.listen(); t.after(() => o.close()); }
  // A serves traffic fine but fails its health check: only the state keeps traffic away.
  a.healthStatus = 500;
  const [port] = await freePorts(1);
  const r = await startChecked(t, sock => `${checkGlobals(sock, { nbthread: 2 })}
frontend fe
    bind 127.0.0.1:${port}
    default_backend be
backend be
    option httpchk GET /health
    server s1 127.0.0.1:${a.port} check inter 100 fall 1
    server s2 127.0.0.1:${b.port} check inter 100
`);
  await r.line(/Server be\/s1 is DOWN, [^\n]*/);
  const [victim, other] = childPids(r.m.pid);
  process.kill(victim, 'SIGKILL');
  let fresh = 0;
  await waitUntil(() => {
    const now = childPids(r.m.pid);
    fresh = now.find(p => p !== victim && p !== other) ?? 0;
    return fresh !== 0 && now.length === 2;
  }, 10_000, 'the worker is respawned');
  await r.m.waitFor(new RegExp(`worker ${fresh} \\(#\\d, generation 1\\) ready`));
  // Only the new worker accepts while the other is stopped.
  process.kill(other, 'SIGSTOP');
  try {
    const origins: string[] = [];
    for (let i = 0; i < 4; i++) origins.push((await httpGet(port)).origin);
    assert.deepEqual(origins, ['B', 'B', 'B', 'B']);
  } finally {
    process.kill(other, 'SIGCONT');
  }
});
