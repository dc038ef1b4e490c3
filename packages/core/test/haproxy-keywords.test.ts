import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findUnsupported, findKeyword, registerKeywords } from '../src/registry';
import {
  registerHaproxyKeywordTables,
  HAPROXY_GLOBAL_KEYWORDS,
  HAPROXY_PROXY_KEYWORDS,
  HAPROXY_NEGATABLE_KEYWORDS,
  HAPROXY_SECTIONS,
  HAPROXY_REMOVED_KEYWORDS,
  HAPROXY_DEPRECATED_KEYWORDS,
} from '../src/config/haproxy-keywords';

// A keyword registered before the tables must not be shadowed by them.
registerKeywords([{
  name: 'timeout server-fin',
  sections: ['defaults', 'backend', 'listen'],
  usage: 'timeout server-fin <time>',
  parse() { /* test stub */ },
}]);
registerHaproxyKeywordTables();

function noDuplicates(name: string, list: readonly string[]): void {
  const seen = new Set<string>();
  const dups = list.filter((n) => (seen.has(n) ? true : (seen.add(n), false)));
  assert.deepEqual(dups, [], `${name} has duplicates`);
}

test('tables have no duplicates', () => {
  noDuplicates('HAPROXY_GLOBAL_KEYWORDS', HAPROXY_GLOBAL_KEYWORDS);
  noDuplicates('HAPROXY_PROXY_KEYWORDS', HAPROXY_PROXY_KEYWORDS);
  noDuplicates('HAPROXY_NEGATABLE_KEYWORDS', HAPROXY_NEGATABLE_KEYWORDS);
  noDuplicates('HAPROXY_SECTIONS', HAPROXY_SECTIONS);
  noDuplicates('obsolete keywords', [...HAPROXY_REMOVED_KEYWORDS, ...HAPROXY_DEPRECATED_KEYWORDS].map((k) => k.name));
});

test('names are one or two plain words', () => {
  for (const n of [...HAPROXY_GLOBAL_KEYWORDS, ...HAPROXY_PROXY_KEYWORDS, ...HAPROXY_NEGATABLE_KEYWORDS]) {
    assert.match(n, /^[a-z0-9_.-]+( [a-z0-9_.-]+)?$/, `bad name '${n}'`);
  }
});

test('obsolete keywords are not also listed as current ones', () => {
  const current = new Set([...HAPROXY_GLOBAL_KEYWORDS, ...HAPROXY_PROXY_KEYWORDS]);
  for (const k of [...HAPROXY_REMOVED_KEYWORDS, ...HAPROXY_DEPRECATED_KEYWORDS]) {
    assert.ok(!current.has(k.name), `'${k.name}' is both current and obsolete`);
  }
});

test('negatable keywords are proxy keywords', () => {
  const proxy = new Set(HAPROXY_PROXY_KEYWORDS);
  for (const n of HAPROXY_NEGATABLE_KEYWORDS) assert.ok(proxy.has(n), n);
  assert.ok(HAPROXY_NEGATABLE_KEYWORDS.includes('option redispatch'));
  assert.ok(!HAPROXY_NEGATABLE_KEYWORDS.includes('option httpchk'));
});

test('well-known keywords are present', () => {
  for (const n of ['tune.bufsize', 'stats socket', 'nbthread', 'ssl-default-bind-ciphers', 'tune.ssl.cachesize', 'lua-load', 'zero-warning']) {
    assert.ok(HAPROXY_GLOBAL_KEYWORDS.includes(n), `global '${n}'`);
  }
  for (const n of ['stick-table', 'option httpchk', 'timeout check', 'http-request', 'tcp-request connection', 'stats uri', 'capture request', 'http-check expect', 'use_backend']) {
    assert.ok(HAPROXY_PROXY_KEYWORDS.includes(n), `proxy '${n}'`);
  }
  for (const n of ['global', 'defaults', 'frontend', 'backend', 'listen', 'peers', 'resolvers', 'userlist', 'cache', 'ring', 'fcgi-app', 'log-forward', 'http-errors', 'program', 'mailers']) {
    assert.ok(HAPROXY_SECTIONS.includes(n), `section '${n}'`);
  }
  // Bare family heads stay out so typos still get a "did you mean" hint.
  for (const n of ['option', 'timeout', 'stats', 'tcp-request']) assert.ok(!HAPROXY_PROXY_KEYWORDS.includes(n), n);
});

test('findUnsupported names unsupported HAProxy keywords', () => {
  assert.equal(findUnsupported(['stick-table', 'type', 'ip'])?.name, 'stick-table');
  assert.equal(findUnsupported(['option', 'httpchk', 'GET', '/'])?.name, 'option httpchk');
  assert.equal(findUnsupported(['timeout', 'check', '2s'])?.name, 'timeout check');
  assert.equal(findUnsupported(['tune.bufsize', '16384'])?.name, 'tune.bufsize');
  assert.equal(findUnsupported(['http-check', 'set-var(txn.x)', 'str(a)'])?.name, 'http-check');
  assert.match(findUnsupported(['stick-table', 'type', 'ip'])!.why, /not supported by Switchyard yet/);
  assert.equal(findUnsupported(['timeout', 'clinet', '5s']), undefined);
  assert.equal(findUnsupported(['no-such-keyword']), undefined);
});

test('registered keywords are not recorded as unsupported', () => {
  assert.equal(findUnsupported(['timeout', 'server-fin', '1s']), undefined);
  assert.equal(findKeyword(['timeout', 'server-fin', '1s'])?.def.name, 'timeout server-fin');
});

test('removed and deprecated keywords carry HAProxy\'s message', () => {
  const reqadd = findUnsupported(['reqadd', 'X-Foo:\\ bar']);
  assert.equal(reqadd?.name, 'reqadd');
  assert.match(reqadd!.why, /^removed: .*2\.1.*'http-request add-header'/);
  assert.match(findUnsupported(['rspadd', 'X'])!.why, /'http-response add-header'/);
  assert.match(findUnsupported(['block', 'if', 'x'])!.why, /^removed: .*'http-request deny'/);
  assert.match(findUnsupported(['redispatch'])!.why, /^removed: .*'option redispatch'/);
  assert.match(findUnsupported(['option', 'forceclose'])!.why, /^removed: .*2\.0/);
  assert.match(findUnsupported(['nbproc', '4'])!.why, /^removed: .*2\.5/);
  assert.match(findUnsupported(['transparent'])!.why, /^deprecated.*'option transparent'/);
  assert.match(findUnsupported(['bind-process', 'all'])!.why, /^deprecated/);
});
