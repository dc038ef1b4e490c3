/**
 * Signals to the master: SIGTERM stops everything at once and cleans up
 * (pidfile, UNIX sockets); SIGUSR1 stops accepting, lets in-flight
 * connections finish, then exits 0.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  Origin, LineClient, apiCommand, childPids, freePorts, listenInode, pidAlive,
  startMaster, tempDir, tryConnect, waitUntil, writeConfig, type Master,
} from './helpers';

interface Setup { m: Master; port: number; dir: string; pidfile: string; statsSock: string; feSock: string }

async function setup(t: { after(fn: () => Promise<void> | void): void }, extraGlobal = ''): Promise<Setup> {
  const tmp = tempDir('sy-signals-');
  const origin = new Origin('A');
  await origin.listen();
  const [port] = await freePorts(1);
  const pidfile = join(tmp.dir, 'switchyard.pid');
  const statsSock = join(tmp.dir, 'admin.sock');
  const feSock = join(tmp.dir, 'fe.sock');
  const cfg = writeConfig(tmp.dir, [
    'global',
    '    nbthread 2',
    `    stats socket ${statsSock} level admin`,
    extraGlobal,
    'defaults',
    '    mode tcp',
    '    timeout connect 5s',
    '    timeout client 30s',
    '    timeout server 30s',
    'frontend fe',
    `    bind 127.0.0.1:${port}`,
    `    bind unix@${feSock}`,
    '    default_backend be',
    'backend be',
    `    server s1 127.0.0.1:${origin.port}`,
    '',
  ].join('\n'));
  let m: Master | undefined;
  t.after(async () => { await m?.stop(); await origin.close(); tmp.cleanup(); });
  m = await startMaster(cfg, ['-p', pidfile]);
  return { m, port, dir: tmp.dir, pidfile, statsSock, feSock };
}

/** Greeting through a UNIX-socket bind. */
function greetUnix(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect(path);
    let buf = '';
    c.setEncoding('utf8');
    c.on('data', d => { buf += d; const i = buf.indexOf('\n'); if (i >= 0) { c.destroy(); resolve(buf.slice(0, i)); } });
    c.on('error', reject);
  });
}

test('the pidfile holds the master PID; SIGTERM stops master and workers at once and removes pidfile and UNIX sockets', async t => {
  const s = await setup(t);
  const { m } = s;
  assert.equal(readFileSync(s.pidfile, 'utf8'), `${m.pid}\n`);
  const workers = childPids(m.pid);
  assert.equal(workers.length, 2);
  assert.equal(await greetUnix(s.feSock), 'A', 'the UNIX-socket bind serves');
  assert.match(await apiCommand(s.statsSock, 'show info'), /^Name: Switchyard\n/);

  // An open connection does not delay a fast stop.
  const held = await LineClient.connect(s.port);
  await held.ask('ping');
  const t0 = Date.now();
  m.signal('SIGTERM');
  const exit = await m.exited;
  const took = Date.now() - t0;
  assert.deepEqual(exit, { code: 0, signal: null }, m.output);
  assert.ok(took < 2_000, `SIGTERM took ${took} ms`);
  assert.equal((await held.closed).at - t0 < 2_000, true, 'the open connection was closed');
  for (const w of workers) assert.equal(pidAlive(w), false, `worker ${w} outlived the master`);
  assert.equal(existsSync(s.pidfile), false, 'pidfile left behind');
  assert.equal(existsSync(s.statsSock), false, 'stats socket left behind');
  assert.equal(existsSync(s.feSock), false, 'UNIX bind socket left behind');
  assert.equal(listenInode(s.port), undefined);
  assert.equal(await tryConnect(s.port), 'ECONNREFUSED');
});

test('SIGUSR1 stops accepting new connections, lets the in-flight one finish its exchange, then exits 0', async t => {
  const s = await setup(t);
  const { m } = s;
  const workers = childPids(m.pid);
  const held = await LineClient.connect(s.port);
  await held.ask('request');

  const from = m.mark();
  m.signal('SIGUSR1');
  await m.waitFor(/SIGUSR1: stopping after in-flight connections finish/, 5_000, from);
  // Workers stop accepting: the port is closed and new connections are refused
  // (not queued in a backlog that nobody will accept from).
  await waitUntil(() => listenInode(s.port) === undefined, 5_000, 'the frontend port is closed');
  assert.equal(await tryConnect(s.port), 'ECONNREFUSED');
  assert.equal(existsSync(s.feSock), false, 'the UNIX bind still accepts');
  // The in-flight connection still works and the master waits for it.
  await held.ask('response after SIGUSR1');
  assert.equal(m.child.exitCode, null, 'the master exited before the in-flight connection ended');
  await held.ask('another');
  await held.end();
  const exit = await m.exited;
  assert.deepEqual(exit, { code: 0, signal: null }, m.output);
  for (const w of workers) assert.equal(pidAlive(w), false);
  assert.equal(existsSync(s.pidfile), false, 'pidfile left behind');
  assert.equal(existsSync(s.statsSock), false, 'stats socket left behind');
});

test('SIGUSR1 while a reload\'s old workers are draining lets their connections finish too', async t => {
  const s = await setup(t);
  const { m } = s;
  const oldWorkers = childPids(m.pid);
  const held = await LineClient.connect(s.port);
  await held.ask('before the reload');
  const r = await m.reload();
  assert.ok(r.ok, r.line);
  await held.ask('on the old generation');

  const from = m.mark();
  m.signal('SIGUSR1');
  await m.waitFor(/SIGUSR1: stopping after in-flight connections finish/, 5_000, from);
  await waitUntil(() => listenInode(s.port) === undefined, 5_000, 'the frontend port is closed');
  // The old generation is told to stop a second time: it must keep draining.
  await held.ask('still served after SIGUSR1');
  assert.ok(oldWorkers.some(pidAlive), 'the old worker holding the connection exited');
  await held.end();
  assert.deepEqual(await m.exited, { code: 0, signal: null }, m.output);
  for (const w of oldWorkers) assert.equal(pidAlive(w), false);
});

test('SIGTERM during a SIGUSR1 drain stops at once', async t => {
  const s = await setup(t);
  const { m } = s;
  const held = await LineClient.connect(s.port);
  await held.ask('in flight');
  const from = m.mark();
  m.signal('SIGUSR1');
  await m.waitFor(/SIGUSR1: stopping after in-flight connections finish/, 5_000, from);
  await held.ask('still draining');
  const t0 = Date.now();
  m.signal('SIGTERM');
  const exit = await m.exited;
  assert.ok(Date.now() - t0 < 2_000, `SIGTERM took ${Date.now() - t0} ms to end the drain`);
  assert.deepEqual(exit, { code: 0, signal: null }, m.output);
  await held.closed;
  assert.equal(existsSync(s.pidfile), false);
});
