/**
 * What checks do to real traffic and what real traffic does to checks:
 * `observe layer7|layer4` with error-limit / on-error marks a server down
 * from the errors users get, `on-marked-down shutdown-sessions` closes the
 * established sessions of a server going down (logged with 'D'),
 * `on-marked-up shutdown-backup-sessions` those of the backups when it
 * comes back ('U').
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { LineClient, Origin, freePorts, parseTcplog, waitForLog } from './helpers';
import { HttpOrigin, LineServer, checkGlobals, httpGet, startChecked } from './check-helpers';

test('observe layer7 / layer4: error-limit consecutive errors from traffic mark the server down (on-error mark-down, fail-check)', async t => {
  const a = new HttpOrigin('A');
  const b = new HttpOrigin('B');
  for (const o of [a, b]) { await o.listen(); t.after(() => o.close()); }
  // A passes its checks but fails users.
  a.status = 500;
  a.healthStatus = 200;
  const health = new LineServer(() => null);
  await health.listen();
  t.after(() => health.close());
  const [port, port4, refused] = await freePorts(3);
  const r = await startChecked(t, sock => `${checkGlobals(sock, { nbthread: 2 })}
frontend fe
    bind 127.0.0.1:${port}
    default_backend be
frontend fe4
    bind 127.0.0.1:${port4}
    default_backend be4
backend be
    option httpchk GET /health
    server s1 127.0.0.1:${a.port} check inter 10s observe layer7 error-limit 3 on-error mark-down
    server s2 127.0.0.1:${b.port} check inter 10s
backend be4
    retries 0
    server r 127.0.0.1:${refused} check inter 10s port ${health.port} observe layer4 error-limit 2 on-error fail-check fall 1
`);
  // Users meet A's 500s on both workers (round robin per worker): A's errors are
  // consecutive for A whichever worker saw them (B's successes are B's).
  let errors = 0;
  for (let i = 0; i < 30 && errors < 3; i++) if ((await httpGet(port)).status === 500) errors++;
  assert.equal(errors, 3);
  await r.line(/Server be\/s1 is DOWN, reason: Health analyze, info: "Detected 3 consecutive errors, last one was: Wrong http response"\. 1 active and 0 backup servers left\. 0 sessions active, 0 requeued, 0 remaining in queue\./);
  const s1 = await r.row('be', 's1');
  assert.deepEqual([s1.status, s1.check_status, s1.hanafail], ['DOWN', 'HANA', '1']);
  for (let i = 0; i < 4; i++) assert.equal((await httpGet(port)).origin, 'B');

  // Layer 4: each refused connection counts; its check (another port) passes.
  assert.equal((await r.row('be4', 'r')).status, 'UP');
  for (let i = 0; i < 2; i++) assert.equal((await httpGet(port4)).status, 503);
  await r.line(/Server be4\/r is DOWN, reason: Health analyze, info: "Detected 2 consecutive errors, last one was: L4 unsuccessful connection"\. 0 active and 0 backup servers left\. 0 sessions active, 0 requeued, 0 remaining in queue\./);
});

test('on-marked-down shutdown-sessions closes the sessions of a server going down (D); on-marked-up shutdown-backup-sessions those of the backups (U)', async t => {
  const main = new Origin('MAIN');
  const spare = new Origin('SPARE');
  for (const o of [main, spare]) { await o.listen(); t.after(() => o.close()); }
  // The main server's checks go to another port, closed and opened again by the test.
  const health = new LineServer(() => null);
  const healthPort = await health.listen();
  t.after(() => health.close());
  const [port] = await freePorts(1);
  const r = await startChecked(t, sock => `${checkGlobals(sock, { mode: 'tcp' })}
frontend fe
    bind 127.0.0.1:${port}
    option tcplog
    default_backend be
backend be
    server main 127.0.0.1:${main.port} check port ${healthPort} inter 100 fall 1 rise 1 on-marked-down shutdown-sessions on-marked-up shutdown-backup-sessions
    server spare 127.0.0.1:${spare.port} backup
`);
  const c = await LineClient.connect(port);
  const cport = c.socket.localPort!;
  assert.equal(c.greeting, 'MAIN');
  await c.ask('hello');
  const from = r.m.stdout.length;
  health.server.close();
  await r.line(/Server be\/main is DOWN, reason: [^\n]*\. 0 active and 1 backup servers left\. Running on backup\. 1 sessions active, 0 requeued, 0 remaining in queue\./);
  const closed = await c.closed;
  assert.ok(closed.at > 0);
  const log = parseTcplog(await waitForLog(r.m, cport, { from }));
  assert.deepEqual([log.srv, log.ts], ['main', 'DD']);

  // The backup serves; the main server's return closes its sessions.
  const b = await LineClient.connect(port);
  const bport = b.socket.localPort!;
  assert.equal(b.greeting, 'SPARE');
  const from2 = r.m.stdout.length;
  health.server.listen(healthPort, '127.0.0.1');
  await r.line(/Server be\/main is UP, [^\n]*/, from2);
  await b.closed;
  const log2 = parseTcplog(await waitForLog(r.m, bport, { from: from2 }));
  assert.deepEqual([log2.srv, log2.ts], ['spare', 'UD']);
});
