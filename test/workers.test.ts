/**
 * The worker processes: nbthread of them, children of the master; a crashed
 * one is respawned and service continues; proxied traffic is handled by
 * workers only, never by the master.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  Origin, LineClient, childPids, connectionInode, exchange, exchanges, freePorts, loadLoops, pidAlive,
  socketHolders, startMaster, tempDir, writeConfig, type Master,
} from './helpers';

async function setup(t: { after(fn: () => Promise<void> | void): void }): Promise<{ m: Master; port: number; origin: Origin }> {
  const tmp = tempDir('sy-workers-');
  const origin = new Origin('A');
  await origin.listen();
  const [port] = await freePorts(1);
  const cfg = writeConfig(tmp.dir, [
    'global',
    '    nbthread 2',
    'defaults',
    '    mode tcp',
    '    timeout connect 5s',
    '    timeout client 30s',
    '    timeout server 30s',
    'frontend fe',
    `    bind 127.0.0.1:${port}`,
    '    default_backend be',
    'backend be',
    `    server s1 127.0.0.1:${origin.port}`,
    '',
  ].join('\n'));
  let m: Master | undefined;
  t.after(async () => { await m?.stop(); await origin.close(); tmp.cleanup(); });
  m = await startMaster(cfg);
  return { m, port, origin };
}

/** The worker holding the proxy's side of `client`'s connection, and of its connection to the origin. */
function holders(m: Master, port: number, client: LineClient, origin: Origin): { front: number[]; back: number[] } {
  const pids = [m.pid, ...childPids(m.pid)];
  const front = connectionInode(port, client.socket.localPort!);
  assert.ok(front, 'the proxy side of the client connection is in /proc/net/tcp');
  // The origin's socket for this client: the one opened last.
  const originSide = [...origin.sockets].at(-1)!;
  const back = connectionInode(originSide.remotePort!, origin.port);
  assert.ok(back, 'the proxy side of the origin connection is in /proc/net/tcp');
  return { front: socketHolders(front, pids), back: socketHolders(back, pids) };
}

test('nbthread 2 runs two worker processes, children of the master, that serve traffic', async t => {
  const { m, port } = await setup(t);
  const workers = childPids(m.pid);
  assert.equal(workers.length, 2, `children of the master: ${workers}`);
  for (const w of workers) assert.ok(pidAlive(w));
  assert.deepEqual(await exchanges(port, 4), ['A', 'A', 'A', 'A']);
});

test('proxied connections are handled by a worker, never by the master', async t => {
  const { m, port, origin } = await setup(t);
  const workers = childPids(m.pid);
  for (let i = 0; i < 4; i++) {
    const c = await LineClient.connect(port);
    await c.ask('hello');
    const h = holders(m, port, c, origin);
    assert.equal(h.front.length, 1, `client side held by ${h.front}`);
    assert.ok(workers.includes(h.front[0]), `client side held by ${h.front[0]}, not a worker (master ${m.pid})`);
    assert.deepEqual(h.back, h.front, 'the origin side is held by the same worker');
    await c.end();
  }
});

test('a SIGKILLed worker is respawned and service continues', async t => {
  const { m, port, origin } = await setup(t);
  const [victim, survivor] = childPids(m.pid);

  // Load runs across the crash: only exchanges in flight on the killed worker may fail.
  const load = loadLoops(port, 4);
  t.after(() => load.stop().then(() => undefined));
  const died = m.mark();
  process.kill(victim, 'SIGKILL');
  await m.waitFor(new RegExp(`worker ${victim} \\(#\\d\\) died \\(SIGKILL\\); respawning`), 10_000, died);
  // Before the respawn is ready, the survivor alone serves.
  assert.deepEqual(await exchanges(port, 10, 'alone'), Array(10).fill('A'));
  const ready = await m.waitFor(/worker (\d+) \(#\d, generation 1\) ready/, 10_000, died);
  const respawned = Number(ready[1]);
  const res = await load.stop();
  assert.ok(res.failures.length <= 4, `${res.failures.length} exchanges failed around the crash: ${res.failures.join('; ')}`);
  t.diagnostic(`${res.ok} exchanges across the crash, ${res.failures.length} failed (in flight on the killed worker)`);

  assert.deepEqual(childPids(m.pid).sort(), [respawned, survivor].sort());
  assert.equal(pidAlive(victim), false);

  // The respawned worker accepts: kill the survivor, and the next connection
  // (made within the respawn back-off of that slot) is served by the respawned one.
  const died2 = m.mark();
  process.kill(survivor, 'SIGKILL');
  await m.waitFor(new RegExp(`worker ${survivor} \\(#\\d\\) died`), 10_000, died2);
  const c = await LineClient.connect(port);
  await c.ask('served by the respawned worker');
  assert.equal(c.greeting, 'A');
  const h = holders(m, port, c, origin);
  assert.deepEqual(h.front, [respawned]);
  await c.end();
  await m.waitFor(/worker \d+ \(#\d, generation 1\) ready/, 10_000, died2);
  assert.equal(childPids(m.pid).length, 2);
  assert.equal(await exchange(port, 'after'), 'A');
});
