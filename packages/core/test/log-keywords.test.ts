/*
 * Logging keywords, parsed through the registry with a hand-made context.
 * Error texts follow what haproxy 2.6.12 prints for the same lines
 * (`haproxy -c` on a config holding each case).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findKeyword, type KeywordContext, type ParseState, type SectionKind } from '../src/registry';
import type { GlobalConfig, LogTarget, ProxyConfig } from '../src/config/compiled';
import { Diagnostics } from '../src/config/diagnostics';
import { getLogSendHostname, parseLogAddress } from '../src/log/keywords';

function newGlobal(): GlobalConfig {
  return {
    maxconn: 0, nbthread: 1, pidfile: null, logTargets: [], logTag: 'switchyard', logSendHostname: null, hardStopAfter: 0,
    statsSockets: [], localPeer: 'x', node: 'x', bufsize: 16384, maxHttpHdr: 101, h1Limits: { maxHeadSize: 15277, maxHeaders: 101 },
  };
}

function newProxy(name: string, cap: { fe: boolean; be: boolean }): ProxyConfig {
  return {
    name, file: 't.cfg', line: 1, cap, logGlobal: false, logTargets: [],
    options: { tcplog: false, dontlognull: false },
  } as unknown as ProxyConfig;
}

function newState(): ParseState {
  return { global: newGlobal(), proxies: [], defaults: [], diag: new Diagnostics(), scratch: new Map() };
}

interface Result { errors: string[]; warnings: string[] }

/** Parses one config line (`words`) in `section`, as the parser would. */
function parse(state: ParseState, section: SectionKind, proxy: ProxyConfig | undefined, line: string, lineNo = 10): Result {
  let words = line.split(/\s+/).filter(Boolean);
  let negated = false;
  if (words[0] === 'no') { negated = true; words = words.slice(1); }
  const found = findKeyword(words);
  assert.ok(found, `keyword not registered: ${line}`);
  const { def, used } = found;
  assert.ok(def.sections.includes(section), `'${def.name}' not allowed in ${section}`);
  if (negated) assert.ok(def.negatable, `'${def.name}' is not negatable`);
  const res: Result = { errors: [], warnings: [] };
  const ctx: KeywordContext = {
    file: 't.cfg', line: lineNo, keyword: def.name, args: words.slice(used), section, proxy, state, negated,
    error: (r) => { res.errors.push(r); },
    warn: (r) => { res.warnings.push(r); },
  };
  def.parse(ctx);
  return res;
}

function ok(r: Result): void {
  assert.deepEqual(r.errors, []);
}

function globalTarget(line: string): LogTarget {
  const st = newState();
  ok(parse(st, 'global', undefined, line));
  assert.equal(st.global.logTargets.length, 1);
  return st.global.logTargets[0];
}

function globalError(line: string): string {
  const st = newState();
  const r = parse(st, 'global', undefined, line);
  assert.equal(r.errors.length, 1, `expected one error for '${line}', got ${JSON.stringify(r.errors)}`);
  assert.equal(st.global.logTargets.length, 0);
  return r.errors[0];
}

test('global log: defaults (len 1024, format local, level debug, minlevel emerg, port 514)', () => {
  const t = globalTarget('log 127.0.0.1 local0');
  assert.deepEqual(t, {
    file: 't.cfg', line: 10, address: { kind: 'udp', host: '127.0.0.1', port: 514, family: 4 },
    maxLen: 1024, format: 'local', facility: 16, level: 7, minLevel: 0,
  });
});

test('global log: every option in order', () => {
  const t = globalTarget('log 10.0.0.1:1514 len 8192 format rfc5424 daemon notice err');
  assert.deepEqual(t.address, { kind: 'udp', host: '10.0.0.1', port: 1514, family: 4 });
  assert.equal(t.maxLen, 8192);
  assert.equal(t.format, 'rfc5424');
  assert.equal(t.facility, 3);
  assert.equal(t.level, 5);
  assert.equal(t.minLevel, 3);
});

test('targets: stdout, stderr, fd@, file@, unix paths, IPv6 and prefixes', () => {
  const cases: Array<[string, unknown]> = [
    ['stdout', { kind: 'stdout' }],
    ['stderr', { kind: 'stderr' }],
    ['fd@3', { kind: 'fd', fd: 3 }],
    ['file@/var/log/sw.log', { kind: 'file', path: '/var/log/sw.log' }],
    ['/dev/log', { kind: 'unix-dgram', path: '/dev/log' }],
    ['unix@/run/log.sock', { kind: 'unix-dgram', path: '/run/log.sock' }],
    ['uxdg@/run/log.sock', { kind: 'unix-dgram', path: '/run/log.sock' }],
    ['abns@syslog', { kind: 'unix-dgram', path: '@syslog' }],
    ['127.0.0.1:0', { kind: 'udp', host: '127.0.0.1', port: 514, family: 4 }],
    ['udp@127.0.0.1:600', { kind: 'udp', host: '127.0.0.1', port: 600, family: 4 }],
    ['udp4@127.0.0.1', { kind: 'udp', host: '127.0.0.1', port: 514, family: 4 }],
    ['ipv4@127.0.0.1:', { kind: 'udp', host: '127.0.0.1', port: 514, family: 4 }],
    ['dgram+127.0.0.1', { kind: 'udp', host: '127.0.0.1', port: 514, family: 4 }],
    // HAProxy: the port follows the last ':', so a bare IPv6 needs a trailing ':' or brackets.
    ['::1:', { kind: 'udp', host: '::1', port: 514, family: 6 }],
    ['::1:1514', { kind: 'udp', host: '::1', port: 1514, family: 6 }],
    ['[::1]', { kind: 'udp', host: '::1', port: 514, family: 6 }],
    ['[::1]:600', { kind: 'udp', host: '::1', port: 600, family: 6 }],
    ['udp6@::1:', { kind: 'udp', host: '::1', port: 514, family: 6 }],
    ['ipv6@[2001:db8::1]:5140', { kind: 'udp', host: '2001:db8::1', port: 5140, family: 6 }],
    ['localhost', { kind: 'udp', host: 'localhost', port: 514, family: 4 }],
    ['udp6@logs.example.com:1514', { kind: 'udp', host: 'logs.example.com', port: 1514, family: 6 }],
  ];
  for (const [word, address] of cases) {
    assert.deepEqual(globalTarget(`log ${word} local0`).address, address, word);
  }
});

test('address errors', () => {
  assert.match(globalError('log ::1 local0'), /invalid address: ':' in '::1'/);
  assert.match(globalError('log ipv4@::1: local0'), /invalid address: '::1' in 'ipv4@::1:'/);
  assert.match(globalError('log udp6@127.0.0.1 local0'), /invalid address/);
  assert.match(globalError('log fd@x local0'), /file descriptor 'x' is not a valid integer in 'fd@x'/);
  assert.match(globalError('log 127.0.0.1:99999 local0'), /invalid port '99999'/);
  assert.match(globalError('log 127.0.0.1:1-5 local0'), /port range not permitted/);
  assert.match(globalError('log 127.0.0.1:+5 local0'), /port offset not permitted/);
  assert.match(globalError('log 127.0.0.1:x local0'), /invalid character 'x' in port number/);
  assert.match(globalError('log ring@buf local0'), /ring buffers .* not supported yet/);
  assert.match(globalError('log tcp@127.0.0.1:514 local0'), /stream log servers .* not supported yet/);
  assert.match(globalError('log uxst@/dev/log local0'), /stream log servers/);
  assert.match(globalError('log sockpair@3 local0'), /not supported for log servers/);
  assert.match(globalError('log foo@bar local0'), /unknown address family 'foo@'/);
  assert.match(globalError('log file@ local0'), /missing file path/);
  assert.match(globalError(`log /${'a'.repeat(100)} local0`), /socket path .* too long \(max 97\)/);
  assert.match(globalError('log bad_host! local0'), /invalid address: 'bad_host!'/);
  assert.equal('error' in parseLogAddress('unix@'), true);
});

test('option errors carry HAProxy reasons', () => {
  assert.match(globalError('log 127.0.0.1 len 79 local0'), /invalid log length '79', must be between 80 and 65535/);
  assert.match(globalError('log 127.0.0.1 len 65536 local0'), /invalid log length/);
  assert.match(globalError('log 127.0.0.1 len x local0'), /invalid log length 'x'/);
  assert.match(globalError('log 127.0.0.1 format foo local0'), /unknown log format 'foo'/);
  // HAProxy's order is fixed: `format` before `len` makes `len` the facility.
  assert.match(globalError('log 127.0.0.1 format raw len 100 local0'), /unknown log facility 'len' \('len', 'format' and 'sample' must follow/);
  assert.match(globalError('log 127.0.0.1 sample 1:2 local0'), /'sample' .* not supported yet/);
  assert.match(globalError('log 127.0.0.1 local9'), /unknown log facility 'local9'/);
  assert.match(globalError('log 127.0.0.1 local0 infox'), /unknown optional log level 'infox'/);
  assert.match(globalError('log 127.0.0.1 local0 info foo'), /unknown optional minimum log level 'foo'/);
  assert.match(globalError('log 127.0.0.1 local0 info err bar'), /cannot handle unexpected argument 'bar'/);
  assert.match(globalError('log 127.0.0.1 len 100'), /missing <facility>/);
  assert.match(globalError('log 127.0.0.1'), /expects <address> and <facility> as arguments/);
  assert.match(globalError('log'), /expects <address> and <facility> as arguments/);
  assert.match(globalError('log global'), /'global' is not supported for a global syslog server/);
});

test('several global targets accumulate (no two-server limit in 2.6); no log clears them', () => {
  const st = newState();
  for (let i = 0; i < 5; i++) ok(parse(st, 'global', undefined, `log 127.0.0.1:${600 + i} local${i}`));
  assert.equal(st.global.logTargets.length, 5);
  assert.deepEqual(st.global.logTargets.map((t) => t.facility), [16, 17, 18, 19, 20]);
  const r = parse(st, 'global', undefined, 'no log x');
  assert.match(r.errors[0], /'no log' does not expect arguments/);
  ok(parse(st, 'global', undefined, 'no log'));
  assert.deepEqual(st.global.logTargets, []);
});

test('log-tag', () => {
  const st = newState();
  ok(parse(st, 'global', undefined, 'log-tag sw-edge'));
  assert.equal(st.global.logTag, 'sw-edge');
  assert.match(parse(st, 'global', undefined, 'log-tag').errors[0], /expects a tag for use in syslog/);
  assert.match(parse(st, 'global', undefined, 'log-tag a b').errors[0], /cannot handle unexpected argument 'b'/);
  assert.equal(st.global.logTag, 'sw-edge');
});

test('log-send-hostname: explicit, system default, once only, switches default format to rfc3164', () => {
  const st = newState();
  ok(parse(st, 'global', undefined, 'log 127.0.0.1 local0', 2));
  ok(parse(st, 'global', undefined, 'log 127.0.0.1 format local local0', 3));
  // A defaults section copied (structuredClone) before the hostname appeared.
  const def = newProxy('', { fe: true, be: true });
  st.defaults.push(def);
  ok(parse(st, 'defaults', def, 'log 127.0.0.1 local1', 4));
  const fe = structuredClone(def);
  st.proxies.push(fe);
  assert.equal(getLogSendHostname(st.global), null);

  ok(parse(st, 'global', undefined, 'log-send-hostname edge1', 5));
  assert.equal(getLogSendHostname(st.global), 'edge1');
  assert.equal(st.global.logTargets[0].format, 'rfc3164');
  // An explicit `format local` stays local.
  assert.equal(st.global.logTargets[1].format, 'local');
  assert.equal(def.logTargets[0].format, 'rfc3164');
  assert.equal(fe.logTargets[0].format, 'rfc3164');
  // Targets after it default to rfc3164 too.
  ok(parse(st, 'global', undefined, 'log 127.0.0.1 local0', 6));
  assert.equal(st.global.logTargets[2].format, 'rfc3164');

  assert.match(parse(st, 'global', undefined, 'log-send-hostname other').errors[0], /already specified/);
  assert.equal(getLogSendHostname(st.global), 'edge1');

  const st2 = newState();
  const r = parse(st2, 'global', undefined, 'log-send-hostname');
  ok(r);
  assert.equal(getLogSendHostname(st2.global), require('node:os').hostname());
  const st3 = newState();
  const r3 = parse(st3, 'global', undefined, 'log-send-hostname a b');
  ok(r3);
  assert.equal(r3.warnings.length, 1);
});

test('proxy log: global, targets, no log; defaults lists are not mutated', () => {
  const st = newState();
  const def = newProxy('', { fe: true, be: true });
  ok(parse(st, 'defaults', def, 'log global'));
  ok(parse(st, 'defaults', def, 'log 127.0.0.1 local0'));
  assert.equal(def.logGlobal, true);
  assert.equal(def.logTargets.length, 1);

  // A proxy sharing the defaults' array (shallow copy) appends without touching it.
  const fe = { ...def, name: 'fe', cap: { fe: true, be: false } } as ProxyConfig;
  ok(parse(st, 'frontend', fe, 'log stdout format raw daemon'));
  assert.equal(fe.logTargets.length, 2);
  assert.equal(def.logTargets.length, 1);
  ok(parse(st, 'frontend', fe, 'log global'));
  assert.equal(fe.logGlobal, true);

  const be = { ...def, name: 'be', cap: { fe: false, be: true } } as ProxyConfig;
  ok(parse(st, 'backend', be, 'no log'));
  assert.equal(be.logGlobal, false);
  assert.deepEqual(be.logTargets, []);
  assert.equal(def.logTargets.length, 1);

  assert.match(parse(st, 'frontend', fe, 'log global x').errors[0], /'log global' takes no other argument/);
  assert.match(parse(st, 'frontend', fe, 'log 127.0.0.1').errors[0], /expects <address> and <facility> or global as arguments/);
  assert.match(parse(st, 'listen', fe, 'no log global').errors[0], /'no log' does not expect arguments/);
});

test('option tcplog: frontends, listen and defaults; warning in backends; not negatable', () => {
  const st = newState();
  const fe = newProxy('fe', { fe: true, be: false });
  ok(parse(st, 'frontend', fe, 'option tcplog'));
  assert.equal(fe.options.tcplog, true);
  const be = newProxy('be', { fe: false, be: true });
  const r = parse(st, 'backend', be, 'option tcplog');
  ok(r);
  assert.match(r.warnings[0], /'option tcplog' directive is ignored in backends/);
  assert.equal(be.options.tcplog, false);
  assert.match(parse(st, 'frontend', fe, 'option tcplog x').errors[0], /cannot handle unexpected argument 'x'/);
  const def = findKeyword(['option', 'tcplog']);
  assert.ok(def && !def.def.negatable);
});

test('option dontlognull: negatable; warning in backends', () => {
  const st = newState();
  const def = newProxy('', { fe: true, be: true });
  ok(parse(st, 'defaults', def, 'option dontlognull'));
  assert.equal(def.options.dontlognull, true);
  const li = structuredClone(def);
  ok(parse(st, 'listen', li, 'no option dontlognull'));
  assert.equal(li.options.dontlognull, false);
  const be = newProxy('be', { fe: false, be: true });
  const r = parse(st, 'backend', be, 'option dontlognull');
  assert.match(r.warnings[0], /'dontlognull' ignored because backend 'be' has no frontend capability/);
  assert.equal(be.options.dontlognull, false);
  assert.match(parse(st, 'listen', li, 'option dontlognull x').errors[0], /cannot handle unexpected argument 'x'/);
});
