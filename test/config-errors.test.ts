/**
 * Configuration errors as a user sees them from the real `switchyard`
 * binary: every error of a file in one run, each as
 * `parsing [file:line] : 'keyword' : reason`, exit code 1; and the address
 * forms of `bind`/`server` that must work, checked with real traffic.
 * Cases marked "haproxy 2.6.12:" were run through `haproxy -c -f` with the
 * same lines; the comment quotes what it printed.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { statSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  runSwitchyard, tempDir, writeConfig, freePorts, consecutiveFreePorts, Origin, greetAt, launch, alertLines, TCP_DEFAULTS,
  type Master,
} from './helpers';

/** 1-based line number of the first line containing `marker`. */
function lineOf(text: string, marker: string | RegExp): number {
  const i = text.split('\n').findIndex(l => (typeof marker === 'string' ? l.includes(marker) : marker.test(l)));
  if (i < 0) throw new Error(`marker '${marker}' not in config`);
  return i + 1;
}

/** Asserts an `[ALERT]` line for file:line with the keyword and the reason. */
function assertAlert(stderr: string, file: string, line: number, keyword: string, reason: string | RegExp): void {
  const prefix = `parsing [${file}:${line}] : '${keyword}' : `;
  const hits = alertLines(stderr).filter(l => l.includes(prefix));
  assert.ok(hits.length > 0, `no alert '${prefix}…' in:\n${stderr}`);
  const ok = hits.some(l => (typeof reason === 'string' ? l.includes(reason) : reason.test(l)));
  assert.ok(ok, `alert for ${file}:${line} '${keyword}' does not say ${reason}:\n${hits.join('\n')}`);
}

/** Alerts that name a file:line (not the closing "Fatal errors" line). */
function locatedAlerts(stderr: string): string[] {
  return alertLines(stderr).filter(l => l.includes('parsing ['));
}

describe('configuration errors', () => {
  const tmp = tempDir('sy-cfgerr-');
  const origin = new Origin('origin-a');
  let originPort = 0;

  before(async () => { originPort = await origin.listen(); });
  after(async () => { await origin.close(); tmp.cleanup(); });

  test('every parse error of a file is reported in one run, with file:line, keyword and reason', async () => {
    const text = `global
    maxconn lots
    stick-table type ip size 1m

${TCP_DEFAULTS}    timeout connect 5x
    timeout clientt 5s

frontend fe
    bind 127.0.0.1:99999
    http-request frobnicate
    option httpchk
    maxconn -5
    timeout client 99999999999
    default_backend be

frontend fe
    bind 127.0.0.1:1

backend be
    balanse roundrobin
    server s1 127.0.0.1:${originPort}
    server s1 127.0.0.1:${originPort}
    server s2 127.0.0.1:70000
    server s3 127.0.0.1:80 wieght 3
    stick-table type ip size 1m

peers mypeers
    peer a 127.0.0.1:1024
    peer b 127.0.0.1:1025
`;
    const cfg = writeConfig(tmp.dir, text, 'many.cfg');
    const r = await runSwitchyard(['-c', '-f', cfg]);
    assert.equal(r.code, 1, r.stderr);
    assert.doesNotMatch(r.stdout, /valid/);

    // haproxy 2.6.12 accepts 'maxconn lots' (atol → 0); we refuse it.
    assertAlert(r.stderr, cfg, lineOf(text, 'maxconn lots'), 'maxconn', `expects an integer, got 'lots'`);
    // haproxy 2.6.12: "unknown keyword 'stick-table' in 'global' section"
    assertAlert(r.stderr, cfg, lineOf(text, 'stick-table'), 'stick-table', 'not supported by Switchyard yet');
    // haproxy 2.6.12: "unexpected character 'x' in 'timeout connect'"
    assertAlert(r.stderr, cfg, lineOf(text, '5x'), 'timeout connect', `invalid time unit 'x' in '5x'`);
    assertAlert(r.stderr, cfg, lineOf(text, 'clientt'), 'timeout clientt', `did you mean 'timeout client'?`);
    // haproxy 2.6.12: "'bind' : invalid port '99999'"
    assertAlert(r.stderr, cfg, lineOf(text, '99999'), 'bind', `invalid port '99999'`);
    assertAlert(r.stderr, cfg, lineOf(text, 'http-request frobnicate'), 'http-request', `but got 'frobnicate'`);
    // haproxy 2.6.12 only warns that httpchk is ignored in a frontend; backend keywords are refused there.
    assertAlert(r.stderr, cfg, lineOf(text, 'option httpchk'), 'option httpchk', `is not allowed in 'frontend' section`);
    assertAlert(r.stderr, cfg, lineOf(text, 'maxconn -5'), 'maxconn', 'out of range');
    // haproxy 2.6.12: "timer overflow in argument '99999999999' to 'timeout client' (maximum value is 2147483647 ms or ~24.8 days)"
    assertAlert(r.stderr, cfg, lineOf(text, '99999999999'), 'timeout client', `timer overflow in '99999999999'`);
    // haproxy 2.6.12: "frontend 'fe' has the same name as frontend 'fe' declared at bad.cfg:10."
    assertAlert(r.stderr, cfg, lineOf(text, 'bind 127.0.0.1:1') - 1, 'frontend', `frontend 'fe' has the same name as the frontend declared at ${cfg}:${lineOf(text, 'frontend fe')}`);
    // haproxy 2.6.12: "unknown keyword 'balanse' in 'backend' section; did you mean 'balance' maybe ?"
    assertAlert(r.stderr, cfg, lineOf(text, 'balanse'), 'balanse', `unknown keyword 'balanse' in 'backend' section; did you mean 'balance'?`);
    const s1 = lineOf(text, 'server s1');
    assertAlert(r.stderr, cfg, s1 + 1, 'server', `server 's1' is already declared at ${cfg}:${s1}`);
    // haproxy 2.6.12: "'server be/s2' : invalid port '70000'"
    assertAlert(r.stderr, cfg, lineOf(text, '70000'), 'server', `invalid port '70000'`);
    // haproxy 2.6.12: "unknown keyword 'wieght'; did you mean 'weight' maybe ?"
    assertAlert(r.stderr, cfg, lineOf(text, 'wieght'), 'server', `unknown keyword 'wieght' in server 's3'; did you mean 'weight'?`);
    assertAlert(r.stderr, cfg, lineOf(text, '    stick-table'), 'stick-table', 'not supported by Switchyard yet');
    assertAlert(r.stderr, cfg, lineOf(text, 'peers mypeers'), 'peers', `section 'peers' is an HAProxy section not supported by Switchyard yet`);

    // Exactly these 16 errors: nothing reported twice, and the `peer` lines
    // of the refused section are skipped rather than reported as unknown.
    const located = locatedAlerts(r.stderr);
    assert.equal(located.length, 16, located.join('\n'));
    assert.ok(!located.some(l => l.includes(`:${lineOf(text, 'peer a')}]`)), located.join('\n'));
    assert.match(r.stderr, /Fatal errors found in configuration/);
  });

  test('errors found after parsing are all reported too: missing backend, http frontend on a tcp backend, unresolvable server, bind clash', async () => {
    const text = `${TCP_DEFAULTS}
frontend fe
    bind 127.0.0.1:18000
    default_backend nowhere

frontend fe_http
    mode http
    bind 127.0.0.1:18001
    default_backend be_http

frontend fe_http_tcp
    mode http
    bind 127.0.0.1:18004
    default_backend be

backend be_http
    mode http
    server s1 127.0.0.1:${originPort}

backend be
    server s_ok localhost:${originPort}
    server s_bad no-such-host.invalid:80

listen clash
    bind 127.0.0.1:18000
    server s1 127.0.0.1:${originPort}
`;
    const cfg = writeConfig(tmp.dir, text, 'post.cfg');
    const r = await runSwitchyard(['-c', '-f', cfg]);
    assert.equal(r.code, 1, r.stderr);
    // haproxy 2.6.12: "Proxy 'fe': unable to find required default_backend: 'nowhere'." (no line)
    assertAlert(r.stderr, cfg, lineOf(text, 'frontend fe'), 'default_backend', `unable to find required default_backend 'nowhere'`);
    // haproxy 2.6.12: "http frontend 'fe2' (bad2.cfg:8) tries to use incompatible tcp backend 'be' (bad2.cfg:13) as its default backend (see 'mode')."
    assertAlert(r.stderr, cfg, lineOf(text, 'frontend fe_http_tcp'), 'default_backend', `frontend 'fe_http_tcp' is in 'mode http' but backend 'be' is in 'mode tcp'`);
    // The error names the server; 'localhost' on the line before resolves.
    // haproxy 2.6.12: "'server be/s_bad' : could not resolve address 'no-such-host.invalid'."
    assertAlert(r.stderr, cfg, lineOf(text, 'no-such-host'), 'server', `could not resolve address 'no-such-host.invalid' of server 'be/s_bad'`);
    assertAlert(r.stderr, cfg, lineOf(text, 'listen clash') + 1, 'bind', `address 127.0.0.1:18000 is already bound by 'fe' at ${cfg}:${lineOf(text, 'bind 127.0.0.1:18000')}`);
    assert.equal(locatedAlerts(r.stderr).length, 4, r.stderr);
  });

  test('an unknown keyword suggests the closest one, in every section and on bind/server lines', async () => {
    const text = `globl
global
    nbthred 2
${TCP_DEFAULTS}    timout client 5s
frontend fe
    bnd 127.0.0.1:18002
    tiemout server 5s
    bind 127.0.0.1:18003 backlogg 10
    defualt_backend be
backend be
    sever s1 127.0.0.1:80
    server s2 127.0.0.1:80 maxcon 5
`;
    const cfg = writeConfig(tmp.dir, text, 'typos.cfg');
    const r = await runSwitchyard(['-c', '-f', cfg]);
    assert.equal(r.code, 1, r.stderr);
    const expect: Array<[string, string, string]> = [
      ['nbthred', 'nbthred', `did you mean 'nbthread'?`],
      ['timout', 'timout', `did you mean 'timeout'?`],
      ['bnd ', 'bnd', `did you mean 'bind'?`],
      ['tiemout', 'tiemout', `did you mean 'timeout'?`],
      ['backlogg', 'bind', `did you mean 'backlog'?`],
      ['defualt_backend', 'defualt_backend', `did you mean 'default_backend'?`],
      ['sever', 'sever', `did you mean 'server'?`],
      ['maxcon ', 'server', `did you mean 'maxconn'?`],
    ];
    for (const [marker, kw, reason] of expect) assertAlert(r.stderr, cfg, lineOf(text, marker), kw, reason);
    // Out of any section: the error lists the sections.
    assert.ok(alertLines(r.stderr).some(l => l.includes(`parsing [${cfg}:1] : 'globl' : unknown keyword 'globl' out of section`)), r.stderr);
    assert.equal(locatedAlerts(r.stderr).length, 9, r.stderr);
  });

  test('bad values: time, port, maxconn, weight, port range size', async () => {
    const text = `${TCP_DEFAULTS}
frontend fe
    bind 127.0.0.1:0
    bind 127.0.0.1:18010-18005
    bind 127.0.0.1:20000-22000
    bind 127.0.0.1:abc
    maxconn 1.5
    timeout client 10 s
    timeout client 10parsecs
    default_backend be
backend be
    server s1 127.0.0.1:80 weight 300
    server s2 127.0.0.1:80 maxconn many
`;
    const cfg = writeConfig(tmp.dir, text, 'values.cfg');
    const r = await runSwitchyard(['-c', '-f', cfg]);
    assert.equal(r.code, 1, r.stderr);
    // haproxy 2.6.12: "'bind' : invalid port '0'"
    assertAlert(r.stderr, cfg, lineOf(text, ':0'), 'bind', `invalid port '0'`);
    assertAlert(r.stderr, cfg, lineOf(text, '18010-18005'), 'bind', `invalid port '18010-18005'`);
    assertAlert(r.stderr, cfg, lineOf(text, '20000-22000'), 'bind', `port range '20000-22000' is too large`);
    assertAlert(r.stderr, cfg, lineOf(text, ':abc'), 'bind', `invalid port 'abc'`);
    assertAlert(r.stderr, cfg, lineOf(text, 'maxconn 1.5'), 'maxconn', `expects an integer, got '1.5'`);
    // haproxy 2.6.12: "'timeout client' : unexpected extra argument 's' after value '10'."
    assertAlert(r.stderr, cfg, lineOf(text, '10 s'), 'timeout client', `unexpected argument 's'`);
    assertAlert(r.stderr, cfg, lineOf(text, 'parsecs'), 'timeout client', `invalid time unit 'parsecs'`);
    // haproxy 2.6.12: "weight of server s2 is not within 0 and 256 (300).."
    assertAlert(r.stderr, cfg, lineOf(text, 'weight 300'), 'server', `'weight' value 300 is out of range (0..256)`);
    assertAlert(r.stderr, cfg, lineOf(text, 'maxconn many'), 'server', `'maxconn' expects an integer, got 'many'`);
    assert.equal(locatedAlerts(r.stderr).length, 9, r.stderr);
  });

  test('address forms that work: port range, [::1]:port, ipv4@, unix@path mode 600, server by host name', async () => {
    const [r1, r2, v6, v4] = await freePorts(4);
    // The test may run as root (mode bits still apply to the file).
    const sock = join(tmp.dir, 'fe.sock');
    const text = `global
    nbthread 1
${TCP_DEFAULTS}
frontend fe
    bind 127.0.0.1:${r1}-${r1}
    bind 127.0.0.1:${r2}
    bind [::1]:${v6}
    bind ipv4@127.0.0.1:${v4}
    bind unix@${sock} mode 600
    default_backend be

backend be
    server by_name localhost:${originPort}
`;
    const cfg = writeConfig(tmp.dir, text, 'addresses.cfg');
    let m: Master | undefined;
    try {
      m = await launch(['-f', cfg]);
      for (const opts of [{ port: r1, host: '127.0.0.1' }, { port: r2, host: '127.0.0.1' }, { port: v6, host: '::1' }, { port: v4, host: '127.0.0.1' }, { path: sock }]) {
        assert.equal(await greetAt(opts), 'origin-a', JSON.stringify(opts));
      }
      const st = statSync(sock);
      assert.ok(st.isSocket(), 'unix@ bind did not create a socket');
      assert.equal((st.mode & 0o777).toString(8), '600');
      // ipv4@ binds IPv4 only: nothing on [::1] for that port.
      await assert.rejects(greetAt({ port: v4, host: '::1' }), /ECONNREFUSED/);
    } finally {
      await m?.stop();
    }
    assert.equal(existsSync(sock), false, 'the UNIX socket file is removed at exit');
  });

  test('a real multi-port range listens on every port of the range', async () => {
    const base = await consecutiveFreePorts(3);
    const text = `global
    nbthread 1
${TCP_DEFAULTS}
listen li
    bind 127.0.0.1:${base}-${base + 2}
    server s1 127.0.0.1:${originPort}
`;
    const cfg = writeConfig(tmp.dir, text, 'range.cfg');
    const m = await launch(['-f', cfg]);
    try {
      assert.equal(await greetAt({ port: base, host: '127.0.0.1' }), 'origin-a');
      assert.equal(await greetAt({ port: base + 1, host: '127.0.0.1' }), 'origin-a');
      assert.equal(await greetAt({ port: base + 2, host: '127.0.0.1' }), 'origin-a');
    } finally {
      await m.stop();
    }
  });

  test('ipv6@ forces IPv6 resolution of a server host name (as HAProxy: no IPv6 address is an error)', async () => {
    // haproxy 2.6.12 with `server s1 ipv6@localhost:80` and /etc/hosts without
    // ::1: "'server be/s1' : could not resolve address 'localhost'."
    const text = `${TCP_DEFAULTS}
backend be
    server s4 ipv4@localhost:${originPort}
    server s6 ipv6@localhost:${originPort}
`;
    const cfg = writeConfig(tmp.dir, text, 'v6name.cfg');
    const hasV6Localhost = await import('node:dns/promises').then(d => d.lookup('localhost', { family: 6 }).then(() => true, () => false));
    const r = await runSwitchyard(['-c', '-f', cfg]);
    if (hasV6Localhost) {
      assert.equal(r.code, 0, r.stderr);
    } else {
      assert.equal(r.code, 1, r.stderr);
      assertAlert(r.stderr, cfg, lineOf(text, 'ipv6@'), 'server', `could not resolve address 'localhost' of server 'be/s6'`);
      assert.equal(locatedAlerts(r.stderr).length, 1, r.stderr);
    }
  });

  test('several -f files load in order: a later file uses a backend and a named defaults of an earlier one', async () => {
    const [port] = await freePorts(1);
    const dir = join(tmp.dir, 'multi');
    mkdirSync(dir);
    const a = join(dir, 'a.cfg');
    const b = join(dir, 'b.cfg');
    writeFileSync(a, `global\n    nbthread 1\n${TCP_DEFAULTS.replace('defaults', 'defaults base')}\nbackend be_from_a\n    server s1 127.0.0.1:${originPort}\n`);
    writeFileSync(b, `frontend fe from base\n    bind 127.0.0.1:${port}\n    default_backend be_from_a\n`);
    // `from base` needs a.cfg first: the reverse order is an error naming b.cfg.
    const rev = await runSwitchyard(['-c', '-f', b, '-f', a]);
    assert.equal(rev.code, 1, rev.stderr);
    assertAlert(rev.stderr, b, 1, 'from', `defaults section 'base' not found`);

    const m = await launch(['-f', a, '-f', b]);
    try {
      assert.equal(await greetAt({ port, host: '127.0.0.1' }), 'origin-a');
    } finally {
      await m.stop();
    }
  });

  test('an error in the second -f file names the second file and its own line numbers', async () => {
    const dir = join(tmp.dir, 'second');
    mkdirSync(dir);
    const a = join(dir, 'first.cfg');
    const b = join(dir, 'second.cfg');
    writeFileSync(a, `${TCP_DEFAULTS}backend be\n    server s1 127.0.0.1:${originPort}\n`);
    writeFileSync(b, `frontend fe\n    bind 127.0.0.1:18020\n    default_backend be\n    timeout clinet 5s\n`);
    const r = await runSwitchyard(['-c', '-f', a, '-f', b]);
    assert.equal(r.code, 1, r.stderr);
    assertAlert(r.stderr, b, 4, 'timeout clinet', `did you mean 'timeout client'?`);
    assert.equal(locatedAlerts(r.stderr).length, 1, r.stderr);
    assert.ok(!r.stderr.includes(a), `the first file is not blamed:\n${r.stderr}`);
  });

  test('-f <dir> loads its *.cfg files in lexical order and nothing else', async () => {
    const [port] = await freePorts(1);
    const dir = join(tmp.dir, 'conf.d');
    mkdirSync(dir);
    // Written in reverse order so that directory order is not lexical order by luck.
    writeFileSync(join(dir, 'notes.txt'), 'this is not configuration\n');
    writeFileSync(join(dir, 'disabled.cfg.bak'), 'frontend broken\n    bind nonsense\n');
    writeFileSync(join(dir, '20-frontend.cfg'), `frontend fe from base\n    bind 127.0.0.1:${port}\n    default_backend be\n`);
    writeFileSync(join(dir, '10-backend.cfg'), `backend be from base\n    server s1 127.0.0.1:${originPort}\n`);
    writeFileSync(join(dir, '00-defaults.cfg'), `global\n    nbthread 1\n${TCP_DEFAULTS.replace('defaults', 'defaults base')}`);
    const m = await launch(['-f', dir]);
    try {
      assert.equal(await greetAt({ port, host: '127.0.0.1' }), 'origin-a');
      assert.doesNotMatch(m.output, /notes\.txt|\.bak/);
    } finally {
      await m.stop();
    }

    // A duplicate in a later file is blamed on the later file.
    writeFileSync(join(dir, '15-dup.cfg'), `\nbackend be from base\n    server s2 127.0.0.1:${originPort}\n`);
    const r = await runSwitchyard(['-c', '-f', dir]);
    assert.equal(r.code, 1, r.stderr);
    assertAlert(r.stderr, join(dir, '15-dup.cfg'), 2, 'backend', `backend 'be' has the same name as the backend declared at ${join(dir, '10-backend.cfg')}:1`);
    assert.equal(locatedAlerts(r.stderr).length, 1, r.stderr);
  });

  test('a -f path that does not exist is an error naming it', async () => {
    const missing = join(tmp.dir, 'nope.cfg');
    const r = await runSwitchyard(['-c', '-f', missing]);
    assert.equal(r.code, 1);
    assert.ok(alertLines(r.stderr).some(l => l.includes(`'${missing}'`) && l.includes('ENOENT')), r.stderr);
  });

  test('use-service names a service the rule hook (http/services.ts) does not know: refused with the reason', async () => {
    const text = `${TCP_DEFAULTS}
frontend fe
    mode http
    bind 127.0.0.1:1
    http-request use-service prometheus-exporter if { path /metrics }
    default_backend be

backend be
    mode http
    server s1 127.0.0.1:${originPort}
`;
    const cfg = writeConfig(tmp.dir, text, 'service.cfg');
    const r = await runSwitchyard(['-c', '-f', cfg]);
    assert.equal(r.code, 1, r.stderr);
    assertAlert(r.stderr, cfg, lineOf(text, 'use-service'), 'http-request', `unknown service 'prometheus-exporter': no service is available in this version yet`);
  });
});
