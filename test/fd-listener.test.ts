/**
 * `bind fd@<n>`: a listening socket inherited from the parent (systemd
 * socket activation, or a wrapper holding the port) is served by the master's
 * workers. The test process listens, hands the socket to the master as fd 3,
 * closes its own copy, and proxies traffic through it.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import {
  runSwitchyard, tempDir, writeConfig, Origin, greetAt, launch, alertLines, Master, TCP_DEFAULTS,
} from './helpers';

function listen(): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const s = net.createServer(c => c.end('accepted by the test process\n'));
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => resolve(s));
  });
}

describe('bind fd@', () => {
  const tmp = tempDir('sy-fd-');
  const origin = new Origin('origin-fd');
  let originPort = 0;

  before(async () => { originPort = await origin.listen(); });
  after(async () => { await origin.close(); tmp.cleanup(); });

  test('an inherited listening socket (fd 3) is served by the workers once the test closes its copy', async () => {
    const server = await listen();
    const port = (server.address() as net.AddressInfo).port;
    const cfg = writeConfig(tmp.dir, `global
    nbthread 2
${TCP_DEFAULTS}
frontend fe
    bind fd@3
    default_backend be

backend be
    server s1 127.0.0.1:${originPort}
`, 'fd.cfg');
    let m: Master | undefined;
    try {
      // The listening descriptor becomes the master's fd 3.
      const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
      assert.ok(fd > 2, `no descriptor for the test's server (${fd})`);
      m = await launch(['-f', cfg], { stdio: ['ignore', 'pipe', 'pipe', fd] });
      // Our copy goes away; the socket lives on in the master and its workers.
      await new Promise<void>(resolve => server.close(() => resolve()));
      const before = origin.connections;
      for (let i = 0; i < 6; i++) assert.equal(await greetAt({ port, host: '127.0.0.1' }), 'origin-fd');
      assert.equal(origin.connections - before, 6);
      assert.match(m.output, /2 worker\(s\), 1 listener\(s\)/);
    } finally {
      if (server.listening) server.close();
      await m?.stop();
    }
    // The master was the last holder: the port is closed with it.
    await assert.rejects(greetAt({ port, host: '127.0.0.1' }), /ECONNREFUSED/);
  });

  const badFdConfig = (): { cfg: string; line: number } => {
    const text = `${TCP_DEFAULTS}
frontend fe
    bind fd@57
    default_backend be

backend be
    server s1 127.0.0.1:${originPort}
`;
    return { cfg: writeConfig(tmp.dir, text, 'badfd.cfg'), line: text.split('\n').indexOf('    bind fd@57') + 1 };
  };

  test('fd@ of a descriptor that is not open fails the start, naming the bind line and the address', async () => {
    const { cfg, line } = badFdConfig();
    // -c does not look at descriptors: `ExecReload` runs it from a process
    // that has none of the master's inherited sockets.
    const c = await runSwitchyard(['-c', '-f', cfg]);
    assert.equal(c.code, 0, c.stderr);
    const m = new Master(['-f', cfg]);
    try {
      assert.equal((await m.exited).code, 1, m.output);
      const alerts = alertLines(m.stderr);
      assert.ok(alerts.some(l => l.includes(`${cfg}:${line}`) && l.includes('fd@57')), m.stderr);
      assert.doesNotMatch(m.output, /started|worker/);
    } finally {
      await m.stop();
    }
  });

  // haproxy 2.6.12: "'bind' : cannot use file descriptor '57' : Bad file descriptor."
  // We print "EINVAL (invalid argument)": node's _createServerHandle cannot
  // guess a handle type for a closed descriptor. Reported to the lead
  // (packages/master/src/listeners.ts, not ours to change).
  test('fd@ of a descriptor that is not open says EBADF', async () => {
    const { cfg } = badFdConfig();
    const m = new Master(['-f', cfg]);
    try {
      assert.equal((await m.exited).code, 1, m.output);
      assert.match(alertLines(m.stderr).join('\n'), /fd@57: EBADF/);
    } finally {
      await m.stop();
    }
  });

  test("fd@ with a bad number is a config error", async () => {
    const cfg = writeConfig(tmp.dir, `frontend fe\n    bind fd@three\n    default_backend be\nbackend be\n    server s1 127.0.0.1:${originPort}\n`, 'fdword.cfg');
    const r = await runSwitchyard(['-c', '-f', cfg]);
    assert.equal(r.code, 1);
    assert.ok(alertLines(r.stderr).some(l => l.includes(`parsing [${cfg}:2] : 'bind' : invalid file descriptor in 'fd@three'`)), r.stderr);
  });
});
