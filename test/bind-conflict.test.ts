/**
 * Addresses that cannot be bound. A port taken by another process fails the
 * start before any worker exists: exit 1, the address and the OS reason on
 * stderr, nothing left running. Two binds of one configuration that overlap
 * are a configuration error (HAProxy 2.6.12 accepts them, both sockets having
 * SO_REUSEPORT, and then splits connections between them at random).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import {
  runSwitchyard, tempDir, writeConfig, freePorts, Origin, greetAt, alertLines, processesWith, pidAlive, Master, TCP_DEFAULTS,
} from './helpers';

function hold(port: number, host = '127.0.0.1'): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const s = net.createServer(c => c.end('held by the test\n'));
    s.once('error', reject);
    s.listen(port, host, () => resolve(s));
  });
}

const close = (s: net.Server): Promise<void> => new Promise(resolve => s.close(() => resolve()));

describe('bind conflicts', () => {
  const tmp = tempDir('sy-bind-');
  const origin = new Origin('origin-bind');
  let originPort = 0;

  before(async () => { originPort = await origin.listen(); });
  after(async () => { await origin.close(); tmp.cleanup(); });

  test('a port already in use: exit 1 naming the address and EADDRINUSE, no worker, nothing left running', async () => {
    const [free, taken] = await freePorts(2);
    const sock = join(tmp.dir, 'first.sock');
    // The UNIX socket and the free port are bound before the taken one: they
    // must be released again.
    const text = `global
    nbthread 2
${TCP_DEFAULTS}
frontend fe
    bind unix@${sock}
    bind 127.0.0.1:${free}
    bind 127.0.0.1:${taken}
    default_backend be

backend be
    server s1 127.0.0.1:${originPort}
`;
    const cfg = writeConfig(tmp.dir, text, 'inuse.cfg');
    const line = text.split('\n').indexOf(`    bind 127.0.0.1:${taken}`) + 1;
    const held = await hold(taken);
    const tag = randomUUID();
    const m = new Master(['-f', cfg], { env: { SY_BIND_TEST_TAG: tag } });
    try {
      const e = await m.exited;
      assert.equal(e.code, 1, m.output);
      // haproxy 2.6.12: "Binding [inuse.cfg:7] for frontend fe: cannot bind socket (Address already in use) for [127.0.0.1:PORT]"
      const alerts = alertLines(m.stderr);
      assert.ok(alerts.some(l => l.includes(`127.0.0.1:${taken}`) && l.includes('EADDRINUSE') && l.includes(`${cfg}:${line}`)), m.stderr);
      assert.doesNotMatch(m.output, /worker|started/);
      assert.equal(pidAlive(m.pid), false);
      assert.deepEqual(processesWith(cfg), [], 'a process still has the config path in its command line');
      assert.deepEqual(processesWith(tag), [], 'a worker of the failed master is still running');
      // Our listener still gets the connections; the other addresses are free again.
      assert.equal(await greetAt({ port: taken, host: '127.0.0.1' }), 'held by the test');
      await assert.rejects(greetAt({ port: free, host: '127.0.0.1' }), /ECONNREFUSED/);
      assert.equal(existsSync(sock), false, 'the UNIX socket bound before the failure was left behind');
      const again = await hold(free);
      await close(again);
    } finally {
      await m.stop();
      await close(held);
    }
  });

  test('a port in use on the wildcard address also fails a specific address', async () => {
    const [taken] = await freePorts(1);
    const held = await hold(taken, '0.0.0.0');
    const cfg = writeConfig(tmp.dir, `${TCP_DEFAULTS}\nlisten li\n    bind 127.0.0.1:${taken}\n    server s1 127.0.0.1:${originPort}\n`, 'inuse-any.cfg');
    try {
      const m = new Master(['-f', cfg]);
      assert.equal((await m.exited).code, 1, m.output);
      assert.match(m.stderr, new RegExp(`127\\.0\\.0\\.1:${taken}: EADDRINUSE`));
    } finally {
      await close(held);
    }
  });

  test('the same address twice in one configuration is a config error naming both places', async () => {
    const [p, q] = await freePorts(2);
    const text = `${TCP_DEFAULTS}
frontend fe1
    bind 127.0.0.1:${p}
    bind 127.0.0.1:${p}
    default_backend be

frontend fe2
    bind *:${q}
    default_backend be

listen li
    bind 127.0.0.1:${q}
    bind 127.0.0.1:${p}
    server s1 127.0.0.1:${originPort}

backend be
    server s1 127.0.0.1:${originPort}
`;
    const cfg = writeConfig(tmp.dir, text, 'dup.cfg');
    const lines = text.split('\n');
    const first = lines.indexOf(`    bind 127.0.0.1:${p}`) + 1;
    const any = lines.indexOf(`    bind *:${q}`) + 1;
    const liQ = lines.indexOf(`    bind 127.0.0.1:${q}`) + 1;
    const r = await runSwitchyard(['-c', '-f', cfg]);
    assert.equal(r.code, 1, r.stderr);
    const alerts = alertLines(r.stderr).filter(l => l.includes('parsing ['));
    assert.deepEqual(alerts.map(l => l.replace(/^.*?parsing /, '')).sort(), [
      `[${cfg}:${first + 1}] : 'bind' : address 127.0.0.1:${p} is already bound by 'fe1' at ${cfg}:${first}`,
      `[${cfg}:${liQ + 1}] : 'bind' : address 127.0.0.1:${p} is already bound by 'fe1' at ${cfg}:${first}`,
      `[${cfg}:${liQ}] : 'bind' : address 127.0.0.1:${q} is already bound by 'fe2' at ${cfg}:${any}`,
    ].sort());

    // Started for real: the same errors, nothing listens.
    const m = new Master(['-f', cfg]);
    try {
      assert.equal((await m.exited).code, 1);
      assert.match(m.stderr, /is already bound by 'fe1'/);
      await assert.rejects(greetAt({ port: p, host: '127.0.0.1' }), /ECONNREFUSED/);
    } finally {
      await m.stop();
    }
  });

  test('an IPv6 wildcard overlaps IPv4 unless v6only; v6only makes both valid', async () => {
    const [p] = await freePorts(1);
    const clash = writeConfig(tmp.dir, `${TCP_DEFAULTS}\nlisten li\n    bind [::]:${p}\n    bind 127.0.0.1:${p}\n    server s1 127.0.0.1:${originPort}\n`, 'v6any.cfg');
    const r = await runSwitchyard(['-c', '-f', clash]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`'bind' : address 127\\.0\\.0\\.1:${p} is already bound by 'li'`));

    const ok = writeConfig(tmp.dir, `global\n    nbthread 1\n${TCP_DEFAULTS}\nlisten li\n    bind [::]:${p} v6only\n    bind 127.0.0.1:${p}\n    server s1 127.0.0.1:${originPort}\n`, 'v6only.cfg');
    const m = new Master(['-f', ok]);
    try {
      await Promise.race([m.ready(), m.exited.then(() => { throw new Error(m.output); })]);
      assert.equal(await greetAt({ port: p, host: '127.0.0.1' }), 'origin-bind');
      assert.equal(await greetAt({ port: p, host: '::1' }), 'origin-bind');
    } finally {
      await m.stop();
    }
  });
});
