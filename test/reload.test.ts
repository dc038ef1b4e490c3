/**
 * Seamless reload (SIGUSR2) with the real master and real origins: the new
 * generation of workers takes over the same listening sockets, the old one
 * stops accepting and finishes its connections, and a reload that cannot be
 * applied (bad configuration, address in use) leaves the old one serving.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import {
  Origin, LineClient, childPids, connectionInode, exchange, exchanges, freePorts, listenInode, loadLoops, pidAlive,
  runSwitchyard, socketHolders, startMaster, tempDir, tryConnect, waitUntil, writeConfig, type Master,
} from './helpers';

interface Frontend { name: string; port: number; origin: number }

function config(o: { frontends: Frontend[]; hardStopAfter?: string; extraGlobal?: string; extra?: string }): string {
  return [
    'global',
    '    nbthread 2',
    o.hardStopAfter ? `    hard-stop-after ${o.hardStopAfter}` : '',
    o.extraGlobal ?? '',
    'defaults',
    '    mode tcp',
    '    timeout connect 5s',
    '    timeout client 60s',
    '    timeout server 60s',
    ...o.frontends.flatMap(f => [
      `frontend ${f.name}`,
      `    bind 127.0.0.1:${f.port}`,
      `    default_backend be_${f.name}`,
      `backend be_${f.name}`,
      `    server s1 127.0.0.1:${f.origin}`,
    ]),
    o.extra ?? '',
    '',
  ].join('\n');
}

/** Two echo origins (greeting A and B), a temp dir, and cleanup registered on the test. */
async function fixture(t: { after(fn: () => Promise<void> | void): void }): Promise<{ dir: string; a: Origin; b: Origin; track(m: Master): Master }> {
  const tmp = tempDir('sy-reload-');
  const a = new Origin('A');
  const b = new Origin('B');
  await a.listen();
  await b.listen();
  const masters: Master[] = [];
  t.after(async () => {
    for (const m of masters) await m.stop();
    await a.close();
    await b.close();
    tmp.cleanup();
  });
  return { dir: tmp.dir, a, b, track: m => { masters.push(m); return m; } };
}

test('10 reloads under continuous new-connection load lose no connection; long-lived connections keep working', async t => {
  const { dir, a, track } = await fixture(t);
  const [port] = await freePorts(1);
  const cfg = writeConfig(dir, config({ frontends: [{ name: 'fe', port, origin: a.port }] }));
  const m = track(await startMaster(cfg));
  const firstWorkers = childPids(m.pid);
  assert.equal(firstWorkers.length, 2);
  const inode = listenInode(port);
  assert.ok(inode, 'the frontend socket is listening');

  // Long-lived connections opened before the reloads, held by the first generation.
  const longLived = await Promise.all([1, 2, 3, 4].map(() => LineClient.connect(port)));
  for (const c of longLived) assert.equal(c.greeting, 'A');

  const load = loadLoops(port, 4);
  t.after(() => load.stop().then(() => undefined));
  await waitUntil(() => load.result.ok >= 20, 10_000, 'the load loops run');
  const okBefore = load.result.ok;
  for (let i = 0; i < 10; i++) {
    const r = await m.reload();
    assert.ok(r.ok, `reload ${i + 1}: ${r.line}`);
    // Every long-lived connection still answers, on whatever old worker holds it.
    await Promise.all(longLived.map(c => c.ask(`after-reload-${i + 1}`)));
    assert.equal(listenInode(port), inode, `reload ${i + 1} re-bound the listening socket`);
  }
  const res = await load.stop();
  assert.deepEqual(res.failures, [], `${res.failures.length} of ${res.ok + res.failures.length} exchanges failed`);
  assert.ok(res.ok - okBefore >= 50, `only ${res.ok - okBefore} exchanges happened during the reloads`);
  t.diagnostic(`${res.ok} exchanges, ${res.ok - okBefore} during 10 reloads, 0 failed`);

  // The first generation kept running for the long-lived connections only:
  // the workers holding one are alive; one that held none (the kernel may have
  // given all four to the other) has exited.
  const holding = new Set(longLived.flatMap(c => socketHolders(connectionInode(port, c.socket.localPort!) ?? '-', firstWorkers)));
  assert.ok(holding.size >= 1, 'no first-generation worker holds the long-lived connections');
  for (const w of holding) assert.ok(pidAlive(w), `worker ${w} exited while it still had connections`);
  for (const w of firstWorkers) if (!holding.has(w)) await waitUntil(() => !pidAlive(w), 5_000, `idle old worker ${w} exits`);
  const from = m.mark();
  for (const c of longLived) await c.end();
  for (const c of longLived) assert.equal((await c.closed).error, null);
  await m.waitFor(/all workers of generation 1 have exited/, 10_000, from);
  await waitUntil(() => childPids(m.pid).length === 2, 10_000, 'only the last generation is left');
  const now = childPids(m.pid);
  assert.ok(now.every(p => !firstWorkers.includes(p)), `still running first-generation workers: ${now}`);
  assert.equal(await exchange(port, 'final'), 'A');
});

test('an invalid configuration is refused with file:line and the old one keeps serving', async t => {
  const { dir, a, b, track } = await fixture(t);
  const [port] = await freePorts(1);
  const cfg = writeConfig(dir, config({ frontends: [{ name: 'fe', port, origin: a.port }] }));
  const m = track(await startMaster(cfg));
  const workers = childPids(m.pid);
  assert.equal(await exchange(port, 'before'), 'A');

  // The new file would route to B, but line 12 is broken.
  const broken = config({ frontends: [{ name: 'fe', port, origin: b.port }] }).split('\n');
  broken.splice(11, 0, '    balance roundrobbin');
  writeConfig(dir, broken.join('\n'));
  assert.equal(broken[11], '    balance roundrobbin');
  const from = m.mark();
  const r = await m.reload();
  assert.equal(r.ok, false, r.line);
  assert.match(m.output.slice(from), new RegExp(`parsing \\[${cfg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:12\\]`));
  assert.deepEqual(await exchanges(port, 6), ['A', 'A', 'A', 'A', 'A', 'A']);
  assert.deepEqual(childPids(m.pid).sort(), workers.sort(), 'a refused reload must not replace the workers');

  // Fixing the file makes the next reload go through.
  writeConfig(dir, config({ frontends: [{ name: 'fe', port, origin: b.port }] }));
  const ok = await m.reload();
  assert.ok(ok.ok, ok.line);
  assert.equal(await exchange(port, 'after'), 'B');
});

test('a reload whose new bind address is in use is refused; the old configuration keeps serving', async t => {
  const { dir, a, b, track } = await fixture(t);
  const [port, busyPort] = await freePorts(2);
  const cfg = writeConfig(dir, config({ frontends: [{ name: 'fe', port, origin: a.port }] }));
  const m = track(await startMaster(cfg));
  const workers = childPids(m.pid);

  const squatter = net.createServer(s => s.destroy());
  await new Promise<void>(r => squatter.listen(busyPort, '127.0.0.1', r));
  t.after(() => new Promise<void>(r => squatter.close(() => r())));
  writeConfig(dir, config({ frontends: [{ name: 'fe', port, origin: b.port }, { name: 'fe2', port: busyPort, origin: b.port }] }));
  const r = await m.reload();
  assert.equal(r.ok, false, r.line);
  assert.match(r.line, new RegExp(`cannot bind socket 127\\.0\\.0\\.1:${busyPort}.*EADDRINUSE`));
  assert.match(r.line, /switchyard\.cfg:\d+/, 'the error names file:line');
  assert.deepEqual(await exchanges(port, 4), ['A', 'A', 'A', 'A'], 'the old configuration (origin A) keeps serving');
  assert.deepEqual(childPids(m.pid).sort(), workers.sort());

  // Once the address is free the same file reloads, and both frontends serve.
  await new Promise<void>(res => squatter.close(() => res()));
  const ok = await m.reload();
  assert.ok(ok.ok, ok.line);
  assert.equal(await exchange(port, 'x'), 'B');
  assert.equal(await exchange(busyPort, 'y'), 'B');
});

test('a reload that adds a bind makes it reachable, one that removes a bind closes it; kept sockets are never re-bound', async t => {
  const { dir, a, b, track } = await fixture(t);
  const [p1, p2] = await freePorts(2);
  const cfg = writeConfig(dir, config({ frontends: [{ name: 'fe1', port: p1, origin: a.port }] }));
  const m = track(await startMaster(cfg));
  assert.equal(await tryConnect(p2), 'ECONNREFUSED');
  const inode1 = listenInode(p1);

  // Add fe2 on p2 while p1 is under load.
  writeConfig(dir, config({ frontends: [{ name: 'fe1', port: p1, origin: a.port }, { name: 'fe2', port: p2, origin: b.port }] }));
  const load1 = loadLoops(p1, 2);
  t.after(() => load1.stop().then(() => undefined));
  let load = load1;
  await waitUntil(() => load.result.ok >= 10, 10_000, 'load on p1');
  let r = await m.reload();
  assert.ok(r.ok, r.line);
  let res = await load.stop();
  assert.deepEqual(res.failures, [], 'the kept listener p1 refused or dropped connections during the reload');
  assert.equal(listenInode(p1), inode1, 'p1 was re-bound');
  assert.equal(await exchange(p2, 'new'), 'B');
  assert.equal(await exchange(p1, 'kept'), 'A');
  const inode2 = listenInode(p2);

  // Remove fe1 (p1) while p2 is under load and a connection to p1 is open.
  const held = await LineClient.connect(p1);
  writeConfig(dir, config({ frontends: [{ name: 'fe2', port: p2, origin: b.port }] }));
  const load2 = loadLoops(p2, 2);
  t.after(() => load2.stop().then(() => undefined));
  load = load2;
  await waitUntil(() => load.result.ok >= 10, 10_000, 'load on p2');
  const from = m.mark();
  r = await m.reload();
  assert.ok(r.ok, r.line);
  res = await load.stop();
  assert.deepEqual(res.failures, [], 'the kept listener p2 refused or dropped connections during the reload');
  assert.equal(listenInode(p2), inode2, 'p2 was re-bound');
  // The connection opened before still works on its old worker…
  await held.ask('still here');
  await held.end();
  // …and once that generation is gone, p1 refuses connections.
  await m.waitFor(/all workers of generation 2 have exited/, 10_000, from);
  assert.equal(await tryConnect(p1), 'ECONNREFUSED');
  assert.equal(listenInode(p1), undefined);
  assert.equal(await exchange(p2, 'still'), 'B');
});

test('hard-stop-after closes a connection held across a reload, then the old workers exit', async t => {
  const { dir, a, track } = await fixture(t);
  const [port] = await freePorts(1);
  const cfg = writeConfig(dir, config({ frontends: [{ name: 'fe', port, origin: a.port }], hardStopAfter: '1500ms' }));
  const m = track(await startMaster(cfg));
  const oldWorkers = childPids(m.pid);
  const held = await LineClient.connect(port);
  await held.ask('before');

  const from = m.mark();
  const r = await m.reload();
  const reloadedAt = Date.now();
  assert.ok(r.ok, r.line);
  await held.ask('old worker still serving');
  const closed = await Promise.race([
    held.closed,
    new Promise<never>((_, rej) => setTimeout(() => rej(new Error('the connection outlived hard-stop-after by 6 s')), 7_500).unref()),
  ]);
  const after = closed.at - reloadedAt;
  assert.ok(after >= 1000, `closed ${after} ms after the reload: before hard-stop-after (1500 ms)`);
  t.diagnostic(`held connection closed ${after} ms after 'reload complete'`);
  await m.waitFor(/all workers of generation 1 have exited/, 5_000, from);
  for (const pid of oldWorkers) assert.equal(pidAlive(pid), false, `old worker ${pid} still alive`);
  assert.equal(await exchange(port, 'new'), 'A');
});

test('startup on a bind address already in use fails with file:line instead of listening elsewhere', async t => {
  const { dir, a } = await fixture(t);
  const [busyPort] = await freePorts(1);
  const squatter = net.createServer(s => s.destroy());
  await new Promise<void>(r => squatter.listen(busyPort, '127.0.0.1', r));
  t.after(() => new Promise<void>(r => squatter.close(() => r())));
  const cfg = writeConfig(dir, config({ frontends: [{ name: 'fe', port: busyPort, origin: a.port }] }));
  const r = await runSwitchyard(['-f', cfg]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`switchyard\\.cfg:\\d+: cannot bind socket 127\\.0\\.0\\.1:${busyPort}: EADDRINUSE`));
});
