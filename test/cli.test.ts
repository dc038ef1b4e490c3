/**
 * The `switchyard` command line as a user sees it: -c, -c -q, -v, -vv,
 * unknown flags, -p, and what a refused configuration does at start-up.
 * HAProxy 2.6.12 was run with the same flags for comparison (noted inline).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import {
  runSwitchyard, tempDir, writeConfig, freePorts, Origin, greetAt, launch, alertLines, processesWith, Master, TCP_DEFAULTS, ROOT,
} from './helpers';

function validConfig(port: number, originPort: number): string {
  return `global
    nbthread 1
${TCP_DEFAULTS}
frontend fe
    bind 127.0.0.1:${port}
    default_backend be

backend be
    server s1 127.0.0.1:${originPort}
`;
}

/** Listen on 127.0.0.1:port in this process (to prove that something else does not). */
function hold(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const s = net.createServer(c => c.destroy());
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
}

describe('command line', () => {
  const tmp = tempDir('sy-cli-');
  const origin = new Origin('origin-cli');
  let originPort = 0;

  before(async () => { originPort = await origin.listen(); });
  after(async () => { await origin.close(); tmp.cleanup(); });

  test('-c on a valid configuration prints "Configuration file is valid", exits 0 and binds nothing', async () => {
    const [port] = await freePorts(1);
    const cfg = writeConfig(tmp.dir, validConfig(port, originPort), 'valid.cfg');
    // We hold the frontend's port: a check that tried to bind it would fail.
    const held = await hold(port);
    try {
      const r = await runSwitchyard(['-c', '-f', cfg]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'Configuration file is valid\n');
      assert.equal(r.stderr, '');
    } finally {
      await new Promise(resolve => held.close(resolve));
    }
  });

  test('the bundled example configuration (pnpm start) is valid', async () => {
    const r = await runSwitchyard(['-c', '-f', join(ROOT, 'examples', 'quickstart.cfg')]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'Configuration file is valid\n');
  });

  test('-c -q prints nothing on success; errors are still printed', async () => {
    const [port] = await freePorts(1);
    const cfg = writeConfig(tmp.dir, validConfig(port, originPort), 'quiet.cfg');
    const ok = await runSwitchyard(['-c', '-q', '-f', cfg]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, '');
    assert.equal(ok.stderr, '');

    const bad = writeConfig(tmp.dir, validConfig(port, originPort).replace('default_backend be', 'default_backend nope'), 'quiet-bad.cfg');
    const r = await runSwitchyard(['-q', '-c', '-f', bad]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /unable to find required default_backend 'nope'/);
  });

  test('-c with errors exits 1, prints them, and starts nothing', async () => {
    const [port] = await freePorts(1);
    const text = validConfig(port, originPort).replace('    bind', '    bnid 127.0.0.1:1\n    bind');
    const cfg = writeConfig(tmp.dir, text, 'invalid.cfg');
    const tag = randomUUID();
    const r = await runSwitchyard(['-c', '-f', cfg], { env: { SY_CLI_TAG: tag } });
    assert.equal(r.code, 1);
    assert.doesNotMatch(r.stdout, /valid/);
    assert.ok(alertLines(r.stderr).some(l => l.includes(`parsing [${cfg}:`) && l.includes(`'bnid'`) && l.includes(`did you mean 'bind'?`)), r.stderr);
    assert.doesNotMatch(r.stderr, /started|worker/);
    assert.deepEqual(processesWith(tag), []);
    // Nothing listens on the frontend's port.
    await assert.rejects(greetAt({ port, host: '127.0.0.1' }), /ECONNREFUSED/);
  });

  test('a configuration with errors is not started either (without -c)', async () => {
    const [port] = await freePorts(1);
    const cfg = writeConfig(tmp.dir, validConfig(port, originPort).replace('127.0.0.1:' + originPort, 'no-such-host.invalid:1'), 'unresolvable.cfg');
    const m = new Master(['-f', cfg]);
    try {
      const e = await m.exited;
      assert.equal(e.code, 1, m.output);
      assert.match(m.stderr, /could not resolve address 'no-such-host\.invalid' of server 'be\/s1'/);
      assert.doesNotMatch(m.output, /started/);
      await assert.rejects(greetAt({ port, host: '127.0.0.1' }), /ECONNREFUSED/);
    } finally {
      await m.stop();
    }
  });

  test("'mode http' is accepted by -c", async () => {
    const [port] = await freePorts(1);
    const text = validConfig(port, originPort).replace('    mode tcp\n', '    mode http\n');
    const cfg = writeConfig(tmp.dir, text, 'http.cfg');
    const check = await runSwitchyard(['-c', '-f', cfg]);
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stdout + check.stderr, /Configuration file is valid/);
  });

  test('-v prints one version line; -vv adds the build options and the feature list', async () => {
    // haproxy 2.6.12 -v: "HAProxy version 2.6.12-1+deb12u4 2023/12/18 - https://haproxy.org/" (+ status lines)
    const v = await runSwitchyard(['-v']);
    assert.equal(v.code, 0);
    assert.equal(v.stderr, '');
    assert.match(v.stdout, /^Switchyard version \d+\.\d+\.\d+ \d{4}\/\d{2}\/\d{2} - HAProxy 2\.6 configuration language\n$/);

    const vv = await runSwitchyard(['-vv']);
    assert.equal(vv.code, 0);
    const lines = vv.stdout.split('\n');
    assert.equal(lines[0] + '\n', v.stdout);
    // haproxy 2.6.12 -vv: "Feature list : -51DEGREES +ACCEPT4 +BACKTRACE …"
    const feat = lines.find(l => l.startsWith('Feature list : '));
    assert.ok(feat, vv.stdout);
    const flags = feat.slice('Feature list : '.length).split(' ');
    assert.ok(flags.length > 5, feat);
    for (const f of flags) assert.match(f, /^[+-][A-Z0-9_]+$/);
    // What -vv says agrees with what feature() sees.
    const codes = await Promise.all(flags.map(f => runSwitchyard(['-cc', `feature(${f.slice(1)})`]).then(r => r.code)));
    flags.forEach((f, i) => assert.equal(codes[i], f[0] === '+' ? 0 : 1, `${f} vs -cc feature(${f.slice(1)})`));
  });

  test('an unknown flag prints the usage on stderr and exits 1', async () => {
    // haproxy 2.6.12 -Z: usage on stderr, exit 1.
    const r = await runSwitchyard(['-Z']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /unknown option '-Z'/);
    assert.match(r.stderr, /^Usage : switchyard /m);
    assert.match(r.stderr, /-cc /);

    const missing = await runSwitchyard(['-f']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /option '-f' requires a file or directory name/);
    assert.match(missing.stderr, /^Usage : /m);

    const none = await runSwitchyard([]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /No configuration file specified/);
  });

  test('files after -- are configuration files', async () => {
    const [port] = await freePorts(1);
    const a = writeConfig(tmp.dir, validConfig(port, originPort).replace(/frontend[^]*?\n\n/, ''), 'dd-a.cfg');
    const b = writeConfig(tmp.dir, `frontend fe\n    bind 127.0.0.1:${port}\n    default_backend be\n`, 'dd-b.cfg');
    const r = await runSwitchyard(['-c', '--', a, b]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'Configuration file is valid\n');
  });

  test('-p writes the master PID, which serves traffic, and the file is removed at exit', async () => {
    const [port] = await freePorts(1);
    const cfg = writeConfig(tmp.dir, validConfig(port, originPort), 'pid.cfg');
    const pidfile = join(tmp.dir, 'switchyard.pid');
    const m = await launch(['-f', cfg, '-p', pidfile]);
    try {
      assert.equal(readFileSync(pidfile, 'utf8'), `${m.pid}\n`);
      assert.equal(await greetAt({ port, host: '127.0.0.1' }), 'origin-cli');
    } finally {
      await m.stop();
    }
    assert.equal(existsSync(pidfile), false);
  });
});
