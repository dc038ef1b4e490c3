/**
 * Conditions: `-cc <condition>` exit codes, and `.if/.elif/.else/.endif`,
 * `.alert`, `.warning` and "${VAR-default}" in a real configuration, checked
 * by where the started proxy actually listens.
 * Exit codes of -cc were compared with `haproxy -cc` 2.6.12 (same results,
 * except feature() names that depend on the build, e.g. OPENSSL).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  runSwitchyard, tempDir, writeConfig, freePorts, Origin, greetAt, launch, alertLines, warningLines, Master, TCP_DEFAULTS,
} from './helpers';

describe('-cc <condition>', () => {
  // Variables for defined(); SY_COND_UNSET is removed from the environment.
  const env = { SY_COND_SET: 'yes', SY_COND_EMPTY: '', SY_COND_UNSET: undefined };
  const cases: Array<[string, 0 | 1 | 2]> = [
    ['defined(SY_COND_SET)', 0],
    ['defined(SY_COND_EMPTY)', 0],
    ['defined(SY_COND_UNSET)', 1],
    ['!defined(SY_COND_UNSET)', 0],
    ['streq(abc,abc)', 0],
    ['streq(abc,abd)', 1],
    ['strneq(abc,abd)', 0],
    ['streq("$SY_COND_SET",yes)', 0],
    ['version_atleast(2.6)', 0],
    ['version_atleast(2.6.0)', 0],
    ['version_atleast(2.7)', 1],
    ['version_before(2.7)', 0],
    ['version_before(2.6)', 1],
    ['feature(GETADDRINFO)', 0],
    ['feature(NO_SUCH_FEATURE)', 1],
    ['defined(SY_COND_SET) && streq(a,b)', 1],
    ['defined(SY_COND_SET) && streq(a,a)', 0],
    ['streq(a,b) || streq(c,c)', 0],
    ['streq(a,b) || streq(c,d)', 1],
    ['!(streq(a,b) || streq(c,d))', 0],
    ['(streq(a,a) || streq(a,b)) && !defined(SY_COND_UNSET)', 0],
    ['streq(a,a) && (streq(a,b) || streq(c,d))', 1],
    ['1', 0],
    ['0', 1],
    // Errors: exit 2 and a message on stderr.
    ['streq(a', 2],
    ['nosuchpredicate(1)', 2],
    ['defined(SY_COND_SET) &&', 2],
    ['(streq(a,a)', 2],
    ['streq(a,b,c)', 2],
    ['streq(a,b) streq(c,d)', 2],
    ['defined(SY_COND_SET) || streq(a', 2],
    // haproxy 2.6.12 also answers these (no error for a non-version word).
    ['version_atleast(banana)', 0],
    ['!!defined(SY_COND_SET)', 0],
    ['!!!defined(SY_COND_SET)', 1],
  ];

  test('exit 0 when true, 1 when false, 2 on error', async () => {
    const results = await Promise.all(cases.map(([cond]) => runSwitchyard(['-cc', cond], { env })));
    const wrong: string[] = [];
    cases.forEach(([cond, want], i) => {
      const r = results[i];
      if (r.code !== want) wrong.push(`-cc '${cond}': exit ${r.code}, expected ${want} (${r.stderr.trim()})`);
      else if (want === 2 && !/Failed to evaluate condition: \S/.test(r.stderr)) wrong.push(`-cc '${cond}': no reason on stderr: '${r.stderr}'`);
      else if (want !== 2 && r.stderr !== '') wrong.push(`-cc '${cond}': unexpected stderr '${r.stderr}'`);
    });
    assert.deepEqual(wrong, []);
  });
});

describe('conditional blocks in a configuration', () => {
  const tmp = tempDir('sy-cond-');
  const origin = new Origin('origin-cond');
  let originPort = 0;
  let portA = 0, portB = 0, portDefault = 0, portAlt = 0;
  let cfg = '';
  let text = '';

  before(async () => {
    originPort = await origin.listen();
    [portA, portB, portDefault, portAlt] = await freePorts(4);
    text = `global
    nbthread 1
${TCP_DEFAULTS}
frontend fe
.if streq("$SY_TEST_PORT",${portA})
    bind 127.0.0.1:${portA}
.elif streq("$SY_TEST_PORT",${portB})
  .if version_atleast(2.6) && !defined(SY_NEVER_SET)
    bind 127.0.0.1:${portB}
  .else
    bind 127.0.0.1:1
  .endif
    .warning "frontend fe uses port B"
.else
    .alert "SY_TEST_PORT must be portA or portB"
.endif
    default_backend be

frontend fe_alt
    bind "127.0.0.1:\${SY_ALT_PORT-${portDefault}}"
    default_backend be

backend be
    server s1 127.0.0.1:${originPort}
`;
    cfg = writeConfig(tmp.dir, text, 'cond.cfg');
  });
  after(async () => { await origin.close(); tmp.cleanup(); });

  const lineOf = (marker: string): number => text.split('\n').findIndex(l => l.includes(marker)) + 1;

  async function refused(port: number): Promise<void> {
    await assert.rejects(greetAt({ port, host: '127.0.0.1' }), /ECONNREFUSED/, `something listens on ${port}`);
  }

  test('SY_TEST_PORT=A: the .if branch binds A; ${VAR-default} takes the default', async () => {
    const m = await launch(['-f', cfg], { env: { SY_TEST_PORT: String(portA), SY_ALT_PORT: undefined, SY_NEVER_SET: undefined } });
    try {
      assert.equal(await greetAt({ port: portA, host: '127.0.0.1' }), 'origin-cond');
      assert.equal(await greetAt({ port: portDefault, host: '127.0.0.1' }), 'origin-cond');
      await refused(portB);
      await refused(portAlt);
      // Neither the .warning nor the .alert of inactive branches fired.
      assert.deepEqual(warningLines(m.stderr), []);
      assert.deepEqual(alertLines(m.stderr), []);
    } finally {
      await m.stop();
    }
  });

  test('SY_TEST_PORT=B: the nested .elif branch binds B and its .warning is printed; ${VAR-default} takes the variable', async () => {
    const m = await launch(['-f', cfg], { env: { SY_TEST_PORT: String(portB), SY_ALT_PORT: String(portAlt), SY_NEVER_SET: undefined } });
    try {
      assert.equal(await greetAt({ port: portB, host: '127.0.0.1' }), 'origin-cond');
      assert.equal(await greetAt({ port: portAlt, host: '127.0.0.1' }), 'origin-cond');
      await refused(portA);
      await refused(portDefault);
      // haproxy 2.6.12: "[WARNING]  (pid) : config : parsing [cond.cfg:N]: 'frontend fe uses port B'."
      assert.deepEqual(warningLines(m.stderr), [`[WARNING] : config : parsing [${cfg}:${lineOf('.warning')}] : 'frontend fe uses port B'`]);
    } finally {
      await m.stop();
    }
  });

  test('an .alert in the active block fails the start with file:line; -c says the same', async () => {
    const env = { SY_TEST_PORT: 'neither', SY_ALT_PORT: String(portAlt) };
    const m = new Master(['-f', cfg], { env });
    try {
      const e = await m.exited;
      assert.equal(e.code, 1, m.output);
      // haproxy 2.6.12: "[ALERT]    (pid) : config : parsing [cond.cfg:N]: 'SY_TEST_PORT must be portA or portB'."
      const want = `parsing [${cfg}:${lineOf('.alert')}] : 'SY_TEST_PORT must be portA or portB'`;
      assert.ok(alertLines(m.stderr).some(l => l.includes(want)), m.stderr);
      assert.doesNotMatch(m.output, /started/);
      await refused(portAlt);
    } finally {
      await m.stop();
    }
    const r = await runSwitchyard(['-c', '-f', cfg], { env });
    assert.equal(r.code, 1);
    assert.ok(alertLines(r.stderr).some(l => l.includes(`:${lineOf('.alert')}] : 'SY_TEST_PORT must be portA or portB'`)), r.stderr);
  });

  test('an unbalanced .if is an error with its file:line', async () => {
    const t = `${TCP_DEFAULTS}.if defined(HOME)\nbackend be\n    server s1 127.0.0.1:${originPort}\n`;
    const c = writeConfig(tmp.dir, t, 'unbalanced.cfg');
    const r = await runSwitchyard(['-c', '-f', c]);
    assert.equal(r.code, 1);
    // haproxy 2.6.12 names the file's last line: "parsing [unbalanced.cfg:5]: non-terminated '.if' block."
    const last = t.split('\n').length - 1;
    assert.ok(alertLines(r.stderr).some(l => l.includes(`parsing [${c}:${last}] : '.if' : non-terminated '.if' block`)), r.stderr);
  });
});
