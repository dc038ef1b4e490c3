/**
 * The hash-based algorithms (source, uri, url_param, hdr, rdp-cookie, hash)
 * over the server map and the consistent ring: the same key always reaches
 * the same server, in two independently built balancers as in two workers;
 * the server haproxy 2.6.12 chose for the same key, servers and weights;
 * consistent hashing moving only the leaving server's keys; bounded loads;
 * round-robin when the key is absent.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load';
import { buildRuntime, type ProxyRuntime } from '../src/engine/proxy-runtime';
import { balancer, ctxOf, request, servers, tally, type FakeServer } from './lb-fixtures';
import type { Balancer } from '../src/backend/balancer';

const dir = mkdtempSync(join(tmpdir(), 'sy-lb-unit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function runtime(text: string): Promise<Map<string, ProxyRuntime>> {
  const path = join(dir, `c${Math.random().toString(36).slice(2)}.cfg`);
  writeFileSync(path, text);
  const r = await loadConfig([path], {});
  assert.ok(r.config, r.diag.items.map(d => `${d.line}: ${d.reason}`).join('\n'));
  return new Map(buildRuntime(r.config, undefined).map(p => [p.cfg.name, p]));
}

const keys = (n: number, f: (i: number) => string): string[] => Array.from({ length: n }, (_, i) => f(i));
const PATHS = [...keys(40, i => '/k' + i), '/p?x=1', '/p?x=2', '/', '/a/b/c'];

/*
 * The servers haproxy 2.6.12 chose (nbthread 1) for these keys, with the
 * backends of HAP_CONFIG (origins answering with their name).
 */
const HAP_CONFIG = `
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
    option http-buffer-request
listen uri_map
    balance uri
    server s0 127.0.0.1:1 weight 1
    server s1 127.0.0.1:1 weight 2
    server s2 127.0.0.1:1 weight 3
    server s3 127.0.0.1:1 weight 1
listen uri_cons
    balance uri
    hash-type consistent
    server s0 127.0.0.1:1 weight 1
    server s1 127.0.0.1:1 weight 2 id 7
    server s2 127.0.0.1:1 weight 1
    server s3 127.0.0.1:1 weight 3
listen hdr_map
    balance hdr(X-Key)
    hash-type map-based djb2 avalanche
    server s0 127.0.0.1:1
    server s1 127.0.0.1:1
    server s2 127.0.0.1:1
listen param_cons
    balance url_param user check_post
    hash-type consistent wt6
    server s0 127.0.0.1:1
    server s1 127.0.0.1:1
    server s2 127.0.0.1:1
    server s3 127.0.0.1:1
    server s4 127.0.0.1:1
listen src_map
    balance source
    server s0 127.0.0.1:1
    server s1 127.0.0.1:1 weight 2
    server s2 127.0.0.1:1
listen src_cons
    balance source
    hash-type consistent
    server s0 127.0.0.1:1
    server s1 127.0.0.1:1
    server s2 127.0.0.1:1
listen uri_opts
    balance uri depth 2 len 12
    hash-type map-based crc32
    server s0 127.0.0.1:1
    server s1 127.0.0.1:1
    server s2 127.0.0.1:1
    server s3 127.0.0.1:1
    server s4 127.0.0.1:1
listen dom
    balance hdr(host) use_domain_only
    hash-type consistent sdbm
    server s0 127.0.0.1:1
    server s1 127.0.0.1:1
    server s2 127.0.0.1:1
listen cons_down
    balance uri
    hash-type consistent
    server s0 127.0.0.1:1
    server s1 127.0.0.1:1 disabled
    server s2 127.0.0.1:1
    server s3 127.0.0.1:1
listen hashexpr
    balance hash req.hdr(x-key),lower
    hash-type consistent
    server s0 127.0.0.1:1
    server s1 127.0.0.1:1
    server s2 127.0.0.1:1
`;

const get = (path: string, headers = ''): string => `GET ${path} HTTP/1.1\nhost: h${headers ? '\n' + headers : ''}`;
const post = (body: string): { req: string; body: string } => ({
  req: `POST /form HTTP/1.1\nhost: h\ncontent-type: application/x-www-form-urlencoded\ncontent-length: ${body.length}`, body,
});

const HAP_CASES: Array<[string, Array<Parameters<typeof ctxOf>[0]>, string]> = [
  ['uri_map', PATHS.map(p => ({ req: get(p) })),
    's1 s2 s2 s3 s0 s1 s2 s1 s2 s2 s2 s1 s2 s2 s3 s0 s1 s2 s1 s2 s2 s2 s3 s0 s1 s2 s1 s2 s2 s3 s3 s0 s1 s2 s1 s2 s2 s3 s0 s1 s1 s1 s2 s1'],
  ['uri_cons', PATHS.map(p => ({ req: get(p) })),
    's0 s1 s3 s1 s1 s1 s3 s2 s2 s1 s1 s3 s3 s2 s1 s1 s3 s1 s3 s3 s1 s1 s3 s3 s1 s1 s1 s3 s3 s1 s3 s2 s3 s3 s3 s2 s2 s2 s0 s2 s0 s0 s1 s1'],
  ['hdr_map', [...keys(30, i => 'user-' + i), 'a, b', '  spaced  ', '"q,x", y'].map(k => ({ req: get('/', 'x-key: ' + k) })),
    's1 s1 s0 s0 s2 s2 s0 s1 s1 s1 s0 s0 s1 s0 s1 s1 s2 s0 s0 s2 s0 s0 s0 s2 s2 s0 s1 s0 s0 s2 s0 s0 s2'],
  ['param_cons', [...keys(30, i => '/?user=u' + i), '/x?a=1&user=zz&b=2', '/x?user=&b=2', '/x?userx=1&user=q'].map(p => ({ req: get(p) })),
    's2 s2 s2 s2 s1 s1 s1 s2 s2 s2 s2 s2 s2 s3 s3 s3 s3 s3 s3 s4 s2 s2 s2 s3 s3 s3 s3 s3 s3 s4 s3 s3 s0'],
  ['param_cons', ['user=post1&x=2', 'a=1&user=post2', 'user=post3', 'user= x', 'user=abc def'].map(post), 's0 s0 s0 s3 s3'],
  ['src_map', keys(30, i => '127.0.0.' + (i + 1)).map(src => ({ req: get('/'), src })),
    's1 s1 s2 s0 s1 s1 s2 s0 s1 s1 s2 s0 s1 s1 s2 s0 s1 s1 s2 s0 s1 s1 s2 s0 s1 s1 s2 s0 s1 s1'],
  ['src_cons', keys(30, i => '127.0.0.' + (i + 1)).map(src => ({ req: get('/'), src })),
    's1 s0 s2 s0 s1 s0 s2 s0 s0 s2 s1 s2 s2 s2 s0 s0 s0 s2 s0 s0 s0 s1 s1 s0 s0 s0 s0 s2 s0 s0'],
  ['uri_opts', ['/a/b/c/d?x', '/aaaaaaaaaaaaaaaa', '/x/y', '/x/y/z', '/x/yy/z/', '/x/y?q', '/1/2/3', '/1/2/4', '/longer/path/here', '/q?abc/def'].map(p => ({ req: get(p) })),
    's4 s1 s2 s2 s0 s2 s3 s3 s3 s3'],
  ['dom', ['www.example.com', 'a.b.c.example.org', 'localhost', 'foo.bar', 'x.haproxy.org', 'haproxy.1wt.eu', 'a.1wt.eu', 'www.google.co.uk', 'h1', 'h2.com']
    .map(h => ({ req: `GET / HTTP/1.1\nhost: ${h}` })), 's0 s0 s2 s1 s2 s1 s1 s2 s2 s2'],
  ['cons_down', PATHS.map(p => ({ req: get(p) })),
    's0 s2 s3 s2 s2 s2 s3 s2 s2 s2 s3 s3 s2 s2 s0 s3 s2 s2 s3 s0 s2 s2 s3 s3 s3 s0 s3 s3 s3 s2 s0 s2 s3 s3 s3 s2 s2 s2 s0 s2 s0 s0 s0 s0'],
  ['hashexpr', ['ABC', 'abc', 'Zed', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7'].map(k => ({ req: get('/', 'x-key: ' + k) })),
    's0 s0 s0 s2 s1 s2 s0 s1 s0 s1'],
];

test('each hash algorithm sends each key to the server haproxy 2.6.12 chose (map-based, consistent, every function, avalanche, ids, a down server)', async () => {
  const rt = await runtime(HAP_CONFIG);
  for (const [be, ctxs, want] of HAP_CASES) {
    const p = rt.get(be)!;
    const got = ctxs.map(c => p.pickServer(ctxOf(c))!.cfg.name).join(' ');
    assert.equal(got, want, be);
  }
});

test('map-based and consistent: the same key reaches the same server in two balancers built apart (two workers)', () => {
  for (const ht of ['map-based', 'consistent']) {
    const a = balancer(servers([1, 2, 3, 1, 5]), 'uri', ht);
    const b = balancer(servers([1, 2, 3, 1, 5]), 'uri', ht);
    // Worker b has already served other traffic: round-robin positions differ, hashing must not.
    for (let i = 0; i < 37; i++) b.pick(null, null);
    for (let i = 0; i < 2000; i++) {
      const c = ctxOf({ req: get(`/obj/${i}`) });
      const x = a.pick(c, null)!.name;
      assert.equal(b.pick(c, null)!.name, x, `${ht} /obj/${i}`);
      assert.equal(a.pick(c, null)!.name, x, `${ht} /obj/${i} again`);
    }
  }
});

test('map-based and consistent: keys spread by weight', () => {
  // Map-based: exact slots, so within 2% over 10k keys.
  const m = servers([1, 2, 3, 4]);
  const c1 = tally(balancer(m, 'hdr(x-id)'), 10_000, i => ctxOf({ req: get('/', `x-id: client-${i}`) }));
  for (const x of m) assert.ok(Math.abs(c1[x.name] / 10_000 - x.w / 10) <= 0.02, `map-based ${x.name}: ${JSON.stringify(c1)}`);
  // Consistent: 16 points per unit of weight, placed by hash, so arcs are
  // uneven with small weights (HAProxy: "the distribution will never be very
  // smooth"); with weights of tens the shares come within 2.5%.
  const r = servers([10, 20, 30, 40]);
  const c2 = tally(balancer(r, 'hdr(x-id)', 'consistent'), 10_000, i => ctxOf({ req: get('/', `x-id: client-${i}`) }));
  for (const x of r) assert.ok(Math.abs(c2[x.name] / 10_000 - x.w / 100) <= 0.025, `consistent ${x.name}: ${JSON.stringify(c2)}`);
});

function owners(b: Balancer<FakeServer>, n: number): string[] {
  return Array.from({ length: n }, (_, i) => b.pick(ctxOf({ req: get(`/k/${i}`) }), null)!.name);
}

test('consistent: when one of 8 servers leaves only its keys move (~1/8), and they all come back with it', () => {
  const s = servers([1, 1, 1, 1, 1, 1, 1, 1]);
  const b = balancer(s, 'uri', 'consistent');
  const N = 8000;
  const before = owners(b, N);
  s[3].w = 0; // goes down
  b.update();
  const down = owners(b, N);
  let moved = 0;
  for (let i = 0; i < N; i++) {
    if (before[i] !== down[i]) {
      moved++;
      assert.equal(before[i], 's3', `key ${i} moved from ${before[i]} though its server stayed`);
    }
  }
  assert.ok(Math.abs(moved / N - 1 / 8) < 0.04, `moved ${moved}/${N}`);
  assert.ok(!down.includes('s3'));
  s[3].w = 1;
  b.update();
  assert.deepEqual(owners(b, N), before);
});

test('consistent: a weight change moves keys only to or from that server', () => {
  const s = servers([1, 1, 1, 1]);
  const b = balancer(s, 'uri', 'consistent');
  const before = owners(b, 4000);
  s[0].w = 3;
  b.update();
  const after = owners(b, 4000);
  let gained = 0;
  for (let i = 0; i < after.length; i++) {
    if (after[i] === before[i]) continue;
    assert.equal(after[i], 's0', `key ${i}: ${before[i]} -> ${after[i]}`);
    gained++;
  }
  assert.ok(gained > 4000 * 0.2, `s0 gained ${gained} keys`);
});

test('map-based: a server leaving remaps most keys (the documented trade-off), and all come back', () => {
  const s = servers([1, 1, 1, 1, 1, 1, 1, 1]);
  const b = balancer(s, 'uri');
  const before = owners(b, 4000);
  s[3].w = 0;
  b.update();
  const down = owners(b, 4000);
  assert.ok(!down.includes('s3'));
  assert.ok(down.filter((x, i) => x !== before[i]).length > 4000 / 2);
  s[3].w = 1;
  b.update();
  assert.deepEqual(owners(b, 4000), before);
});

test('hash-balance-factor 125: no server takes more than 1.25× the average; without it one key loads one server', () => {
  const s = servers([1, 1, 1, 1]);
  const hot = ctxOf({ req: get('/hot') });
  const plain = balancer(s, 'uri', 'consistent');
  for (let i = 0; i < 40; i++) plain.pick(hot, null)!.cur++;
  assert.deepEqual(s.map(x => x.cur).sort((a, b) => a - b), [0, 0, 0, 40]);
  for (const x of s) x.cur = 0;
  const bounded = balancer(s, 'uri', 'consistent', { balanceFactor: 125 });
  for (let i = 0; i < 40; i++) {
    bounded.pick(hot, null)!.cur++;
    const total = s.reduce((a, x) => a + x.cur, 0);
    // chash_server_is_eligible(): ceil(total × 1.25 / 4) slots per server (at least 1).
    for (const x of s) assert.ok(x.cur <= Math.max(1, Math.ceil(total * 1.25 / 4)), `${x.name} ${x.cur} of ${total}`);
  }
  assert.ok(Math.max(...s.map(x => x.cur)) <= 13, s.map(x => x.cur).join('/'));
});

test('consistent: exclude walks to the next server on the ring; map-based keeps the hashed server (as HAProxy)', () => {
  const s = servers([1, 1, 1]);
  const c = ctxOf({ req: get('/x') });
  const cons = balancer(s, 'uri', 'consistent');
  const first = cons.pick(c, null)!;
  const other = cons.pick(c, first)!;
  assert.notEqual(other, first);
  assert.equal(cons.pick(c, first), other, 'deterministic');
  const map = balancer(s, 'uri');
  const m = map.pick(c, null)!;
  assert.equal(map.pick(c, m), m);
});

test('a key that is absent falls back to round-robin over the same servers', () => {
  for (const ht of ['map-based', 'consistent']) {
    const s = servers([1, 1, 1]);
    for (const [algo, c] of [
      ['hdr(x-user)', ctxOf({ req: get('/') })],
      ['hdr(x-user)', ctxOf({ req: get('/', 'x-user: ') })],
      ['url_param id', ctxOf({ req: get('/?idx=1&other=2') })],
      ['url_param id', ctxOf({ req: get('/nothing') })],
      ['uri', ctxOf({})], // no HTTP request (not mode http)
      ['rdp-cookie', ctxOf({ payload: Buffer.from('short') })],
      ['source', ctxOf({ src: '/run/sock' })],
      ['uri', null], // a redispatch without a stream
    ] as const) {
      const b = balancer(s, algo, ht);
      // 48 picks: a turn of the map (3 slots) 16 times, of the ring (3 × 16 points) once.
      const got = tally(b, 48, () => c);
      assert.deepEqual(got, { s0: 16, s1: 16, s2: 16 }, `${algo} ${ht}`);
    }
  }
});

test('one usable server takes every key; no usable server gives null', () => {
  const s = servers([1, 1]);
  const b = balancer(s, 'hdr(x-k)');
  s[0].w = 0;
  b.update();
  assert.deepEqual(tally(b, 5, i => ctxOf({ req: get('/', `x-k: ${i}`) })), { s1: 5 });
  s[1].w = 0;
  b.update();
  assert.equal(b.pick(ctxOf({ req: get('/', 'x-k: 1') }), null), null);
});

/* ---------------- the keys ---------------- */

/** Which keys hash alike: the balancer's hash of each context, compared. */
function sameHash(algo: string, a: Parameters<typeof ctxOf>[0], b: Parameters<typeof ctxOf>[0], hashType = 'map-based sdbm'): boolean {
  const bal = balancer(servers(Array.from({ length: 97 }, () => 1)), algo, hashType);
  const x = bal.pick(ctxOf(a), null), y = bal.pick(ctxOf(b), null);
  return x === y;
}

test('uri: the query string counts only with whole; len and depth cut the key; path-only skips the authority', () => {
  assert.ok(sameHash('uri', { req: get('/a/b?x=1') }, { req: get('/a/b?y=2') }));
  assert.ok(!sameHash('uri whole', { req: get('/a/b?x=1') }, { req: get('/a/b?y=2') }));
  assert.ok(sameHash('uri len 5', { req: get('/abcdXXXX') }, { req: get('/abcdYYYY') }));
  assert.ok(!sameHash('uri len 6', { req: get('/abcdXXXX') }, { req: get('/abcdYYYY') }));
  assert.ok(sameHash('uri depth 2', { req: get('/a/b/c') }, { req: get('/a/b/d/e') }));
  assert.ok(!sameHash('uri depth 3', { req: get('/a/b/c') }, { req: get('/a/b/d/e') }));
  assert.ok(!sameHash('uri', { req: 'GET http://example.com/a/b HTTP/1.1\nhost: example.com' }, { req: get('/a/b') }));
  assert.ok(sameHash('uri path-only', { req: 'GET http://example.com/a/b HTTP/1.1\nhost: example.com' }, { req: get('/a/b') }));
  // A target a rule rewrote hashes as received with that target.
  const r = request(get('/old/path?x=1'));
  r.setTarget('/a/b?y=2');
  assert.ok(sameHash('uri whole', { req: r }, { req: get('/a/b?y=2') }));
  assert.ok(sameHash('url_param y', { req: r }, { req: get('/z?y=2') }));
  const m = request(get('/a/b'));
  m.setMethod('POST');
  assert.ok(sameHash('uri', { req: m }, { req: get('/a/b') }));
});

test('url_param: query, then a buffered POST body with check_post only', () => {
  const q = { req: get('/?sid=abc') };
  const body = { req: `POST / HTTP/1.1\nhost: h\ncontent-length: 7`, body: 'sid=abc' };
  assert.ok(sameHash('url_param sid check_post', q, body));
  assert.ok(!sameHash('url_param sid', q, body), 'without check_post the body is not read');
  assert.ok(sameHash('url_param sid check_post', q, { req: get('/x?a=1&sid=abc&b=2') }));
  // A body that is not a parameter list: round-robin (not the hash of "abc").
  const bin = balancer(servers([1, 1]), 'url_param sid check_post');
  assert.deepEqual(tally(bin, 4, () => ctxOf({ req: `POST / HTTP/1.1\nhost: h\ncontent-length: 8`, body: 'sid=\x01abc' })), { s0: 2, s1: 2 });
});

test('hdr(): the first value of the first field; use_domain_only keeps the main domain label', () => {
  assert.ok(sameHash('hdr(x-id)', { req: get('/', 'x-id: 42') }, { req: get('/', 'X-ID:   42  , 7\nx-id: 9') }));
  assert.ok(!sameHash('hdr(x-id)', { req: get('/', 'x-id: 42') }, { req: get('/', 'x-id: 43') }));
  assert.ok(sameHash('hdr(host) use_domain_only', { req: 'GET / HTTP/1.1\nhost: www.example.com' }, { req: 'GET / HTTP/1.1\nhost: api.example.org' }));
  assert.ok(!sameHash('hdr(host)', { req: 'GET / HTTP/1.1\nhost: www.example.com' }, { req: 'GET / HTTP/1.1\nhost: api.example.org' }));
  // A field a rule rewrote (a string-held value) hashes as the same bytes received.
  const h = request(get('/', 'x-id: 1'));
  h.headers.set('x-id', '42');
  assert.ok(sameHash('hdr(x-id)', { req: h }, { req: get('/', 'x-id: 42') }));
});

test('source: IPv4 and IPv6 addresses; the 32-bit words XORed as HAProxy does', () => {
  assert.ok(!sameHash('source', { src: '10.0.0.1' }, { src: '10.0.0.2' }));
  // The same 32-bit words in another order XOR to the same value.
  assert.ok(sameHash('source', { src: '1:2::3:4' }, { src: '3:4::1:2' }));
  assert.ok(!sameHash('source', { src: '1:2::3:4' }, { src: '1:2::3:5' }));
});

function rdp(cookie: string): Buffer {
  const x224 = Buffer.from([0x03, 0x00, 0x00, 0x00, 0x00, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00]);
  return Buffer.concat([x224, Buffer.from(cookie, 'latin1')]);
}

test('rdp-cookie: the mstshash (or named) cookie of the RDP connection request', () => {
  assert.ok(sameHash('rdp-cookie', { payload: rdp('Cookie: mstshash=alice\r\n') }, { payload: rdp('cookie:   MSTSHASH=alice\r\nmore') }));
  assert.ok(!sameHash('rdp-cookie', { payload: rdp('Cookie: mstshash=alice\r\n') }, { payload: rdp('Cookie: mstshash=bob\r\n') }));
  assert.ok(sameHash('rdp-cookie(user)', { payload: rdp('Cookie: user=alice\r\n') }, { payload: rdp('Cookie: USER=alice\r\n') }));
  const b = balancer(servers([1, 1]), 'rdp-cookie');
  // Incomplete (no CRLF yet): round-robin.
  assert.deepEqual(tally(b, 4, () => ctxOf({ payload: rdp('Cookie: mstshash=alice') })), { s0: 2, s1: 2 });
});

test('pick() survives hostile keys (huge, binary, malformed)', () => {
  const big = 'x'.repeat(5000);
  for (const algo of ['uri whole', 'url_param a check_post', 'hdr(x) use_domain_only', 'source', 'rdp-cookie']) {
    for (const ht of ['map-based', 'consistent wt6 avalanche']) {
      const b = balancer(servers([1, 2]), algo, ht);
      for (const c of [
        ctxOf({ req: get('/' + big + '?a=' + big, 'x: ' + big) }),
        ctxOf({ req: get('/?a', 'x: ...') , src: 'garbage' }),
        ctxOf({ req: `POST /?a HTTP/1.1\nhost: h\ncontent-length: 3`, body: 'a=\xff', payload: rdp('Cookie: mstshash=\r') }),
        ctxOf({ src: '::ffff:1.2.3.4', payload: Buffer.alloc(0) }),
      ]) assert.ok(b.pick(c, null), `${algo} ${ht}`);
    }
  }
});
