/**
 * The hash-based algorithms in HTTP mode with the real master and two
 * workers: a request key (the URI, a header, a URL parameter, a sample
 * expression) reaches the same server whichever worker accepts the
 * connection, the server haproxy 2.6.12 picks for it; consistent hashing
 * keeps keys in place when a server is disabled through the runtime API
 * and brings its keys back when it is enabled, and follows a weight change
 * (refused on a static, map-based backend); a missing key falls back to
 * round-robin. Each origin answers with its name; every request has its own
 * connection, so the kernel spreads them over both workers.
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { apiCommand, freePorts, startMaster, tempDir, writeConfig, type Master } from './helpers';

/** One request on its own connection; resolves with the answering origin's name. */
function ask(port: number, path: string, opts: { headers?: Record<string, string>; method?: string; body?: string } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...opts.headers };
    if (opts.body !== undefined) headers['content-length'] = Buffer.byteLength(opts.body);
    const r = http.request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers, agent: false }, res => {
      let b = '';
      res.setEncoding('utf8');
      res.on('data', d => { b += d; });
      res.on('end', () => res.statusCode === 200 ? resolve(b) : reject(new Error(`${res.statusCode} for ${path}: ${b.slice(0, 200)}`)));
    });
    r.on('error', reject);
    r.end(opts.body);
  });
}

describe('http balance (nbthread 2)', () => {
  let master: Master;
  const tmp = tempDir('sy-http-balance-');
  const sock = join(tmp.dir, 'admin.sock');
  const origins: http.Server[] = [];
  let p: Record<string, number> = {};

  before(async () => {
    for (let i = 0; i < 5; i++) {
      const name = `s${i}`;
      const o = http.createServer((req, res) => { req.resume(); req.on('end', () => res.end(name)); });
      await new Promise<void>(r => o.listen(0, '127.0.0.1', () => r()));
      origins.push(o);
    }
    const o = (i: number): string => `127.0.0.1:${(origins[i].address() as AddressInfo).port}`;
    const names = ['uri', 'hdr', 'param', 'hash', 'cons'];
    const ports = await freePorts(names.length);
    p = Object.fromEntries(names.map((n, i) => [n, ports[i]]));
    const fe = (n: string, extra = ''): string => `frontend fe_${n}\n    bind 127.0.0.1:${p[n]}\n${extra}    default_backend be_${n}\n`;
    master = await startMaster(writeConfig(tmp.dir, [
      'global',
      '    nbthread 2',
      `    stats socket ${sock} level admin`,
      'defaults',
      '    mode http',
      '    timeout connect 5s',
      '    timeout client 30s',
      '    timeout server 30s',
      fe('uri'),
      'backend be_uri',
      '    balance uri',
      `    server s0 ${o(0)} weight 1`,
      `    server s1 ${o(1)} weight 2`,
      `    server s2 ${o(2)} weight 3`,
      `    server s3 ${o(3)} weight 1`,
      fe('hdr'),
      'backend be_hdr',
      '    balance hdr(X-User)',
      '    hash-type map-based djb2 avalanche',
      `    server s0 ${o(0)}`,
      `    server s1 ${o(1)}`,
      `    server s2 ${o(2)}`,
      // The body is read before the server is chosen, so check_post sees it.
      fe('param', '    option http-buffer-request\n'),
      'backend be_param',
      '    balance url_param user check_post',
      '    hash-type consistent wt6',
      `    server s0 ${o(0)}`,
      `    server s1 ${o(1)}`,
      `    server s2 ${o(2)}`,
      `    server s3 ${o(3)}`,
      `    server s4 ${o(4)}`,
      fe('hash'),
      'backend be_hash',
      '    balance hash req.hdr(x-tenant),lower',
      '    hash-type consistent',
      `    server s0 ${o(0)}`,
      `    server s1 ${o(1)}`,
      `    server s2 ${o(2)}`,
      fe('cons'),
      'backend be_cons',
      '    balance uri',
      '    hash-type consistent',
      `    server s0 ${o(0)}`,
      `    server s1 ${o(1)}`,
      `    server s2 ${o(2)}`,
      `    server s3 ${o(3)}`,
      '',
    ].join('\n')));
  });

  after(async () => {
    await master?.stop();
    await Promise.all(origins.map(o => new Promise(r => o.close(r))));
    tmp.cleanup();
  });

  /** Each key asked `rounds` times (all at once per round); the server per key, asserting it never changed. */
  async function stableOwners(keys: string[], rounds: number, askKey: (k: string) => Promise<string>): Promise<string[]> {
    const first = await Promise.all(keys.map(askKey));
    for (let r = 1; r < rounds; r++) assert.deepEqual(await Promise.all(keys.map(askKey)), first, `round ${r + 1}`);
    return first;
  }

  it('uri: each path always reaches the server haproxy 2.6.12 picks for it', async () => {
    const paths = Array.from({ length: 16 }, (_, i) => `/k${i}`);
    // haproxy 2.6.12, `balance uri`, servers weights 1/2/3/1 (map-based sdbm).
    const hap = 's1 s2 s2 s3 s0 s1 s2 s1 s2 s2 s2 s1 s2 s2 s3 s0'.split(' ');
    assert.deepEqual(await stableOwners(paths, 3, k => ask(p.uri, k)), hap);
    // The query string is not part of the key.
    assert.equal(await ask(p.uri, '/k3?session=42'), 's3');
  });

  it('hdr(X-User): a user sticks to a server; without the header, round-robin over all', async () => {
    const users = Array.from({ length: 12 }, (_, i) => `user-${i}`);
    // haproxy 2.6.12, map-based djb2 avalanche, 3 servers.
    const hap = 's1 s1 s0 s0 s2 s2 s0 s1 s1 s1 s0 s0'.split(' ');
    assert.deepEqual(await stableOwners(users, 3, u => ask(p.hdr, '/', { headers: { 'x-user': u } })), hap);
    const anon = await Promise.all(Array.from({ length: 12 }, () => ask(p.hdr, '/')));
    assert.deepEqual([...new Set(anon)].sort(), ['s0', 's1', 's2']);
  });

  it('url_param user check_post: the query parameter, or the form body of a POST, picks the server', async () => {
    const users = Array.from({ length: 20 }, (_, i) => `u${i}`);
    const byQuery = await stableOwners(users, 2, u => ask(p.param, `/?user=${u}`));
    // haproxy 2.6.12, consistent wt6, 5 servers.
    assert.deepEqual(byQuery, 's2 s2 s2 s2 s1 s1 s1 s2 s2 s2 s2 s2 s2 s3 s3 s3 s3 s3 s3 s4'.split(' '));
    const byBody = await stableOwners(users, 2, u => ask(p.param, '/login', {
      method: 'POST', body: `user=${u}&password=x`, headers: { 'content-type': 'application/x-www-form-urlencoded' },
    }));
    assert.deepEqual(byBody, byQuery);
    assert.equal(await ask(p.param, '/x?a=1&user=u19&b=2'), 's4');
    // No parameter anywhere: the ring is walked point by point (HAProxy's
    // chash_get_next_server), so requests spread, though not strictly in turn.
    const anon = await Promise.all(Array.from({ length: 10 }, () => ask(p.param, '/nothing')));
    assert.ok(new Set(anon).size >= 2, anon.join(' '));
  });

  it('balance hash <expr>: the expression\'s value picks the server (ACME and acme alike)', async () => {
    const tenants = ['acme', 'globex', 'initech', 'umbrella', 'hooli', 'stark'];
    const lower = await stableOwners(tenants, 2, t => ask(p.hash, '/', { headers: { 'x-tenant': t } }));
    assert.deepEqual(await Promise.all(tenants.map(t => ask(p.hash, '/', { headers: { 'x-tenant': t.toUpperCase() } }))), lower);
  });

  it('consistent: disabling a server moves only its keys, enabling it brings them back (runtime API, both workers)', async () => {
    const paths = Array.from({ length: 40 }, (_, i) => `/obj/${i}`);
    const before = await stableOwners(paths, 2, k => ask(p.cons, k));
    const victim = before[0];
    assert.equal(await apiCommand(sock, `disable server be_cons/${victim}`), '\n');
    // Both workers applied it once the command answered (runtime-api.test.ts).
    const during = await stableOwners(paths, 2, k => ask(p.cons, k));
    for (let i = 0; i < paths.length; i++) {
      if (before[i] === victim) assert.notEqual(during[i], victim, paths[i]);
      else assert.equal(during[i], before[i], `${paths[i]} moved though ${before[i]} stayed up`);
    }
    assert.equal(await apiCommand(sock, `enable server be_cons/${victim}`), '\n');
    assert.deepEqual(await stableOwners(paths, 2, k => ask(p.cons, k)), before);
  });
  it('set weight: refused on a map-based backend (static, as HAProxy), applied at once with consistent hashing', async () => {
    assert.equal(await apiCommand(sock, 'set server be_uri/s0 weight 5'), "Backend is using a static LB algorithm and only accepts weights '0%' and '100%'.\n\n");
    const paths = Array.from({ length: 40 }, (_, i) => `/w/${i}`);
    const before = await stableOwners(paths, 1, k => ask(p.cons, k));
    assert.equal(await apiCommand(sock, 'set server be_cons/s1 weight 4'), '\n');
    const heavier = await stableOwners(paths, 2, k => ask(p.cons, k));
    let moved = 0;
    for (let i = 0; i < paths.length; i++) {
      if (heavier[i] === before[i]) continue;
      assert.equal(heavier[i], 's1', `${paths[i]}: ${before[i]} -> ${heavier[i]}`);
      moved++;
    }
    assert.ok(moved > 0, 's1 took no key with 4 times the weight');
    assert.equal(await apiCommand(sock, 'set server be_cons/s1 weight 1'), '\n');
    assert.deepEqual(await stableOwners(paths, 2, k => ask(p.cons, k)), before);
  });
});
