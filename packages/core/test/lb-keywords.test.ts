/**
 * `balance`, `hash-type`, `hash-balance-factor`, `option allbackups`: what
 * they accept, their errors (file:line, haproxy 2.6.12's texts for the same
 * lines, `haproxy -c`), defaults inheritance, and the round-robin fallback
 * of layer-7 algorithms outside mode http.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configLoader, proxy, HEAD } from './config-loader';

const load = configLoader('sy-lbkw-unit-');

test('bad arguments: every error with its line, haproxy 2.6.12 texts', async () => {
  const lines = [
    'balance foo', // 7
    'balance random(0)',
    'balance random(2',
    'balance random(2x)', // 10
    'balance uri len',
    'balance uri depth 0',
    'balance uri foo',
    'balance url_param',
    'balance url_param x foo', // 15
    'balance hdr()',
    'balance hdr(x) foo',
    'balance rdp-cookie(',
    'balance hash',
    'balance hash a b', // 20
    'hash-type',
    'hash-type avalanche',
    'hash-type consistent xxh',
    'hash-type consistent sdbm foo',
    'hash-balance-factor', // 25
    'hash-balance-factor 100',
    'option allbackups x',
    // Refused here, silently taken by HAProxy:
    'balance roundrobin extra',
    'balance randomfoo',
    'balance uri len 5x', // 30
    'hash-balance-factor abc',
    'balance hdr(x)junk',
  ];
  const r = await load(HEAD + 'backend b\n' + lines.map(l => '  ' + l + '\n').join('') + '  server s 127.0.0.1:1\n');
  assert.equal(r.config, undefined);
  assert.deepEqual(r.errors, [
    "7: balance: only supports 'roundrobin', 'static-rr', 'leastconn', 'first', 'source', 'uri', 'url_param', 'hdr(name)', 'rdp-cookie(name)', 'random' and 'hash <expr>' options.",
    '8: balance: random : number of draws must be at least 1.',
    '9: balance: random : missing closing parenthesis.',
    "10: balance: random : unexpected character 'x' after argument.",
    "11: balance: uri : 'len' expects a positive integer (got '').",
    "12: balance: uri : 'depth' expects a positive integer (got '0').",
    "13: balance: uri only accepts parameters 'len', 'depth', 'path-only', and 'whole' (got 'foo').",
    '14: balance: url_param requires an URL parameter name.',
    "15: balance: url_param only accepts 'check_post' modifier (got 'foo').",
    '16: balance: hdr requires an http header field name.',
    "17: balance: hdr(x) only accepts 'use_domain_only' modifier (got 'foo').",
    '18: balance: rdp-cookie : missing cookie name.',
    '19: balance: hash requires a sample expression.',
    "20: balance: hash takes no other argument (got 'b').",
    "21: hash-type: only supports 'consistent' and 'map-based'.",
    "22: hash-type: experimental feature 'hash-type avalanche' is not supported anymore, please use 'hash-type map-based sdbm avalanche' instead.",
    "23: hash-type: only supports 'sdbm', 'djb2', 'crc32', or 'wt6' hash functions.",
    "24: hash-type: only supports 'avalanche' as a modifier for hash functions.",
    '25: hash-balance-factor: expects an integer argument.',
    '26: hash-balance-factor: must be 0 or greater than 100.',
    "27: option allbackups: 'option allbackups' cannot handle unexpected argument 'x'.",
    "28: balance: roundrobin takes no other argument (got 'extra').",
    "29: balance: only supports 'roundrobin', 'static-rr', 'leastconn', 'first', 'source', 'uri', 'url_param', 'hdr(name)', 'rdp-cookie(name)', 'random' and 'hash <expr>' options.",
    "30: balance: uri : 'len' expects a positive integer (got '5x').",
    "31: hash-balance-factor: expects an integer argument (got 'abc').",
    "32: balance: hdr(name) : unexpected text 'junk' after ')'.",
  ]);
});

test('balance hash: an expression that does not compile is an error at its line', async () => {
  const r = await load(HEAD + 'backend b\n  balance hash nosuch\n  server s 127.0.0.1:1\nbackend c\n  balance hash res.hdr(x)\n  server s 127.0.0.1:1\n');
  assert.equal(r.errors.length, 2, r.errors.join('\n'));
  assert.match(r.errors[0], /^7: balance: failed to parse 'balance hash' expression 'nosuch': unknown fetch method 'nosuch'/);
  assert.match(r.errors[1], /^10: balance: failed to parse 'balance hash' expression 'res.hdr\(x\)': /);
});

test('what each algorithm line sets', async () => {
  const r = await load(HEAD + [
    'backend a', '  balance uri whole len 10 depth 3 path-only', '  server s 127.0.0.1:1',
    'backend b', '  balance url_param sid check_post 64', '  hash-type consistent djb2', '  server s 127.0.0.1:1',
    'backend c', '  balance hdr(Host) use_domain_only', '  hash-type map-based crc32 avalanche', '  hash-balance-factor 150', '  server s 127.0.0.1:1',
    'backend d', '  balance random(0x3)', '  server s 127.0.0.1:1',
    'backend e', '  balance rdp-cookie(user)', '  hash-type consistent', '  server s 127.0.0.1:1',
    'backend f', '  balance', '  server s 127.0.0.1:1',
    '',
  ].join('\n'));
  assert.deepEqual(r.errors, []);
  const c = r.config!;
  const pick = (n: string, ...k: string[]): Record<string, unknown> => Object.fromEntries(k.map(x => [x, (proxy(c, n).balance as unknown as Record<string, unknown>)[x]]));
  assert.deepEqual(pick('a', 'algo', 'uriWhole', 'uriLen', 'uriDepth', 'uriPathOnly', 'hashType'), { algo: 'uri', uriWhole: true, uriLen: 10, uriDepth: 3, uriPathOnly: true, hashType: 'map-based' });
  assert.deepEqual(pick('b', 'algo', 'arg', 'checkPost', 'hashType', 'hashFunction', 'avalanche'), { algo: 'url_param', arg: 'sid', checkPost: true, hashType: 'consistent', hashFunction: 'djb2', avalanche: false });
  assert.deepEqual(pick('c', 'algo', 'arg', 'domainOnly', 'hashFunction', 'avalanche', 'balanceFactor'), { algo: 'hdr', arg: 'host', domainOnly: true, hashFunction: 'crc32', avalanche: true, balanceFactor: 150 });
  assert.deepEqual(pick('d', 'algo', 'draws'), { algo: 'random', draws: 3 });
  // hash-type consistent alone: sdbm with avalanche.
  assert.deepEqual(pick('e', 'algo', 'arg', 'hashFunction', 'avalanche'), { algo: 'rdp-cookie', arg: 'user', hashFunction: 'sdbm', avalanche: true });
  assert.deepEqual(pick('f', 'algo'), { algo: 'roundrobin' });
});

test('defaults: balance, hash-type and allbackups are inherited; a backend\'s balance line keeps the inherited hash-type', async () => {
  const r = await load([
    'defaults', '  mode http', '  timeout client 1s', '  timeout server 1s', '  timeout connect 1s',
    '  balance leastconn', '  hash-type consistent wt6', '  option allbackups', '  hash-balance-factor 200',
    'backend a', '  server s 127.0.0.1:1',
    'backend b', '  balance uri', '  no option allbackups', '  server s 127.0.0.1:1',
    '',
  ].join('\n'));
  assert.deepEqual(r.errors, []);
  const a = proxy(r.config!, 'a').balance, b = proxy(r.config!, 'b').balance;
  assert.deepEqual([a.algo, a.hashType, a.hashFunction, a.allBackups, a.balanceFactor], ['leastconn', 'consistent', 'wt6', true, 200]);
  assert.deepEqual([b.algo, b.hashType, b.hashFunction, b.allBackups, b.balanceFactor], ['uri', 'consistent', 'wt6', false, 200]);
});

test('outside mode http, uri/url_param/hdr fall back to roundrobin with haproxy\'s warning; source, rdp-cookie and hash stay', async () => {
  const r = await load([
    'defaults', '  mode tcp', '  timeout client 1s', '  timeout server 1s', '  timeout connect 1s',
    'backend a', '  balance uri', '  server s 127.0.0.1:1',
    'listen b', '  bind 127.0.0.1:8080', '  balance hdr(host)', '  server s 127.0.0.1:1',
    'backend c', '  balance source', '  server s 127.0.0.1:1',
    'backend d', '  balance rdp-cookie', '  server s 127.0.0.1:1',
    'backend e', '  balance hash src', '  server s 127.0.0.1:1',
    '',
  ].join('\n'));
  assert.deepEqual(r.errors, []);
  // haproxy 2.6.12: "Layer 7 hash not possible for backend 'a' (needs 'mode http'). Falling back to round robin."
  assert.deepEqual(r.warnings, [
    "6: Layer 7 hash not possible for backend 'a' (needs 'mode http'). Falling back to round robin.",
    "9: Layer 7 hash not possible for listen 'b' (needs 'mode http'). Falling back to round robin.",
  ]);
  assert.deepEqual(['a', 'b', 'c', 'd', 'e'].map(n => proxy(r.config!, n).balance.algo), ['roundrobin', 'roundrobin', 'source', 'rdp-cookie', 'hash']);
});

test('balance and hash-type are refused in a frontend', async () => {
  const r = await load(HEAD + 'frontend f\n  bind 127.0.0.1:8080\n  balance roundrobin\n  hash-type consistent\n');
  assert.deepEqual(r.errors, [
    "8: balance: 'balance' is not allowed in 'frontend' section (allowed in: defaults, backend, listen)",
    "9: hash-type: 'hash-type' is not allowed in 'frontend' section (allowed in: defaults, backend, listen)",
  ]);
});
