/**
 * Cookie persistence through the real master (2 workers) with real HTTP
 * origins and clients: `cookie ... insert` sticks a client to its server
 * whichever worker takes its connections; `indirect` hides the cookie from
 * the server; `rewrite` and `prefix` rework the server's own cookie;
 * `nocache` and `postonly`; a server disabled over the Runtime API or by
 * `disabled` breaks persistence unless `option persist` or a matching
 * `force-persist`; `ignore-persist`; maxidle/maxlife dates; use-server's
 * precedence; the cookie characters of the httplog termination state
 * (checked against haproxy 2.6.12 on the same configs and requests:
 * `--NI`, `--VN`, `--DI`, `--DN`, `--UN`, `--VD`, `--EI`, `--OI`, `PRVN`);
 * and configuration errors with file:line.
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import { join } from 'node:path';
import {
  startMaster, tempDir, writeConfig, freePorts, waitForLog, logMark, apiCommand, runSwitchyard, alertLines, warningLines,
  Origin, greet, type Master,
} from './helpers';
import { parseHttplog } from './http-wire';

/** What our origins answer: their name and the Cookie field they received. */
interface Seen { name: string; cookie: string | null }

/**
 * An HTTP origin: answers `{name, cookie}` as JSON; `?sc=<v>` (repeatable)
 * adds a Set-Cookie field, `?cc=<v>` a Cache-Control field.
 */
function httpOrigin(name: string): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json' };
    const sc = u.searchParams.getAll('sc');
    if (sc.length > 0) headers['set-cookie'] = sc;
    const cc = u.searchParams.get('cc');
    if (cc !== null) headers['cache-control'] = cc;
    req.resume();
    req.on('end', () => {
      res.writeHead(200, headers);
      res.end(JSON.stringify({ name, cookie: req.headers.cookie ?? null }));
    });
  });
  return new Promise(r => server.listen(0, '127.0.0.1', () => r({ server, port: (server.address() as net.AddressInfo).port })));
}

interface Reply { status: number; setCookie: string[]; cacheControl: string[]; seen: Seen; localPort: number }

/** One request on a new connection (or on `agent`'s), as a browser would send it. */
function request(port: number, path: string, opts: { cookie?: string; method?: string; agent?: http.Agent; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.cookie !== undefined) headers.cookie = opts.cookie;
    const req = http.request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers, agent: opts.agent ?? false }, res => {
      // A keep-alive socket goes back to its agent at the end: its port is read now.
      const localPort = res.socket.localPort!;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', d => { body += d; });
      res.on('end', () => {
        const cc = res.headers['cache-control'];
        try {
          resolve({
            status: res.statusCode!, setCookie: res.headers['set-cookie'] ?? [], cacheControl: cc === undefined ? [] : cc.split(/,\s*/),
            seen: JSON.parse(body) as Seen, localPort,
          });
        } catch (e) { reject(new Error(`bad body '${body}' (${(e as Error).message})`)); }
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** The value of cookie `name` in Set-Cookie fields (the part before the first ';'). */
function cookieOf(setCookie: string[], name: string): string | undefined {
  for (const f of setCookie) {
    const first = f.split(';')[0];
    const eq = first.indexOf('=');
    if (first.slice(0, eq).trim() === name) return first.slice(eq + 1).trim();
  }
  return undefined;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** A cookie date as HAProxy writes them: the date in 4-second units, 30 bits in 5 base64 digits. */
function cookieDate(unixSeconds: number): string {
  const v = Math.floor((unixSeconds + 3) / 4);
  let out = '';
  for (let shift = 24; shift >= 0; shift -= 6) out += B64[(v >>> shift) & 0x3f];
  return out;
}

describe('cookie persistence', () => {
  const tmp = tempDir('sy-cookie-');
  const sock = join(tmp.dir, 'admin.sock');
  let master: Master;
  const origins: Array<{ server: http.Server; port: number }> = [];
  let P: Record<string, number> = {};
  let tcpOrigins: Origin[] = [];

  before(async () => {
    for (const n of ['s1', 's2', 's3']) origins.push(await httpOrigin(n));
    tcpOrigins = [new Origin('t1'), new Origin('t2')];
    const tp = [await tcpOrigins[0].listen(), await tcpOrigins[1].listen()];
    const names = ['ins', 'pid', 'rw', 'pfx', 'post', 'np', 'p', 'fp', 'dis', 'age', 'deny', 'tcp', 'us'];
    const ports = await freePorts(names.length);
    P = Object.fromEntries(names.map((n, i) => [n, ports[i]]));
    const [o1, o2, o3] = origins.map(o => o.port);
    const servers = (extra = ''): string[] => [
      `    server s1 127.0.0.1:${o1} cookie c1${extra}`,
      `    server s2 127.0.0.1:${o2} cookie c2`,
    ];
    const listen = (name: string, lines: string[]): string[] => [`listen ${name}`, `    bind 127.0.0.1:${P[name]}`, ...lines.map(l => `    ${l}`)];
    const cfg = [
      'global',
      '    nbthread 2',
      '    log stdout format raw local0',
      `    stats socket ${sock} level admin`,
      'defaults',
      '    mode http',
      '    log global',
      '    option httplog',
      '    timeout connect 2s',
      '    timeout client 10s',
      '    timeout server 10s',
      ...listen('ins', ['cookie SRV insert indirect nocache httponly domain .example.com attr SameSite=Lax']), ...servers(), `    server s3 127.0.0.1:${o3} cookie c3`,
      ...listen('pid', ['cookie SRV insert indirect', 'log-format "%ci:%cp %b/%s %tsc pid=%pid"']), ...servers(), `    server s3 127.0.0.1:${o3} cookie c3`,
      ...listen('rw', ['cookie JSESSIONID rewrite']), ...servers(),
      ...listen('pfx', ['cookie JSESSIONID prefix']), ...servers(),
      ...listen('post', ['cookie SRV insert postonly']), ...servers(),
      ...listen('np', ['cookie SRV insert indirect']), ...servers(),
      ...listen('p', ['cookie SRV insert indirect', 'option persist']), ...servers(),
      ...listen('fp', [
        'cookie SRV insert indirect',
        'acl admin req.hdr(x-admin) -m found',
        'force-persist if admin',
        'ignore-persist if { path_beg /static }',
        'use-server s2 if { req.hdr(x-pin) -m found }',
      ]), ...servers(),
      ...listen('dis', ['cookie SRV insert indirect']), ...servers(' disabled'),
      ...listen('age', ['cookie SRV insert indirect maxidle 30m maxlife 8h']), ...servers(),
      ...listen('deny', ['http-request deny if { path /deny }', 'cookie SRV insert indirect']), ...servers(),
      ...listen('us', ['cookie SRV insert indirect', 'use-server s2 if { req.cook(SRV) -m str c1 }']), ...servers(),
      ...listen('tcp', ['mode tcp', 'option persist', 'use-server t1 if { src 127.0.0.1 }']),
      `    server t1 127.0.0.1:${tp[0]} disabled`, `    server t2 127.0.0.1:${tp[1]}`,
      '',
    ].join('\n');
    master = await startMaster(writeConfig(tmp.dir, cfg));
    await apiCommand(sock, 'disable server np/s1');
    await apiCommand(sock, 'disable server p/s1');
    await apiCommand(sock, 'disable server fp/s1');
  });

  after(async () => {
    await master?.stop();
    for (const o of origins) await new Promise(r => o.server.close(r));
    for (const o of tcpOrigins) await o.close();
    tmp.cleanup();
  });

  /** The httplog line of a reply (waitForLog from a mark taken before the request). */
  async function logOf(r: Reply, from: number): Promise<ReturnType<typeof parseHttplog>> {
    return parseHttplog(await waitForLog(master, r.localPort, { from }));
  }

  it('insert: the first response sets the cookie; with it, every request goes to that server; the server never sees it', async () => {
    const m = logMark(master);
    const first = await request(P.ins, '/', { cookie: 'app=1' });
    const value = cookieOf(first.setCookie, 'SRV');
    assert.ok(value !== undefined, `no SRV cookie in ${JSON.stringify(first.setCookie)}`);
    assert.equal(value, `c${first.seen.name.slice(1)}`, 'the cookie names the server that answered');
    assert.deepEqual(first.setCookie, [`SRV=${value}; path=/; domain=.example.com; HttpOnly; SameSite=Lax`]);
    assert.equal((await logOf(first, m)).ts, '--NI');
    // Many requests, new connections and one keep-alive connection: always that server.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < 12; i++) {
      const m2 = logMark(master);
      const r = await request(P.ins, '/', { cookie: `app=${i}; SRV=${value}; other=x`, agent: i % 2 === 0 ? agent : undefined });
      assert.equal(r.seen.name, first.seen.name, `request ${i}`);
      assert.equal(r.seen.cookie, `app=${i}; other=x`, 'indirect: the persistence cookie is removed, the others pass');
      assert.deepEqual(r.setCookie, [], 'no Set-Cookie for a client that has the right one');
      assert.equal((await logOf(r, m2)).ts, '--VN');
    }
    agent.destroy();
    // A cookie naming no server: balanced, a new cookie (I for invalid, I for inserted).
    const m3 = logMark(master);
    const bad = await request(P.ins, '/', { cookie: 'SRV=nosuch' });
    assert.equal(cookieOf(bad.setCookie, 'SRV'), `c${bad.seen.name.slice(1)}`);
    assert.equal(bad.seen.cookie, null);
    assert.equal((await logOf(bad, m3)).ts, '--II');
  });

  it('the same cookie sticks whichever of the 2 workers takes the connection', async () => {
    const pids = new Set<string>();
    const m = logMark(master);
    let n = 0;
    // Connections in parallel batches, until both workers served some (bounded).
    for (let batch = 0; batch < 40 && pids.size < 2; batch++) {
      const replies = await Promise.all(Array.from({ length: 8 }, () => request(P.pid, '/', { cookie: 'SRV=c3' })));
      for (const r of replies) {
        assert.equal(r.seen.name, 's3');
        const line = await waitForLog(master, r.localPort, { from: m });
        const mm = /^\S+ pid\/s3 --VN pid=(\d+)$/.exec(line);
        assert.ok(mm, `log line '${line}'`);
        pids.add(mm[1]);
        n++;
      }
    }
    assert.equal(pids.size, 2, `${n} connections all served by worker ${[...pids]}`);
  });

  it('rewrite: the server\'s own cookie value becomes its cookie value, which then selects it', async () => {
    const m = logMark(master);
    const r = await request(P.rw, '/?sc=JSESSIONID%3Dabc123%3B%20Path%3D%2F');
    const name = r.seen.name;
    assert.deepEqual(r.setCookie, [`JSESSIONID=c${name.slice(1)}; Path=/`]);
    assert.equal((await logOf(r, m)).ts, '--NR');
    for (let i = 0; i < 4; i++) {
      const m2 = logMark(master);
      const again = await request(P.rw, '/', { cookie: `JSESSIONID=c${name.slice(1)}` });
      assert.equal(again.seen.name, name);
      assert.equal(again.seen.cookie, `JSESSIONID=c${name.slice(1)}`, 'rewrite does not strip the request cookie');
      assert.equal((await logOf(again, m2)).ts, '--VN');
    }
  });

  it('prefix: the server\'s cookie is prefixed with `<server>~` for the client, and stripped for the server', async () => {
    const m = logMark(master);
    const r = await request(P.pfx, '/?sc=JSESSIONID%3Dabc123%3B%20Path%3D%2F');
    const name = r.seen.name;
    const ck = `c${name.slice(1)}`;
    assert.deepEqual(r.setCookie, [`JSESSIONID=${ck}~abc123; Path=/`]);
    assert.equal((await logOf(r, m)).ts, '--NR');
    for (let i = 0; i < 4; i++) {
      const m2 = logMark(master);
      const again = await request(P.pfx, '/', { cookie: `a=1; JSESSIONID=${ck}~abc123` });
      assert.equal(again.seen.name, name);
      assert.equal(again.seen.cookie, 'a=1; JSESSIONID=abc123', 'the server gets its own value back');
      assert.equal((await logOf(again, m2)).ts, '--VN');
    }
  });

  it('nocache adds Cache-Control: private to a cacheable response that gets the cookie; postonly inserts on POST only', async () => {
    const cacheable = await request(P.ins, '/?cc=max-age%3D60');
    assert.ok(cookieOf(cacheable.setCookie, 'SRV'));
    assert.deepEqual(cacheable.cacheControl, ['max-age=60', 'private']);
    const known = await request(P.ins, '/?cc=max-age%3D60', { cookie: `SRV=c${cacheable.seen.name.slice(1)}` });
    assert.deepEqual(known.setCookie, []);
    assert.deepEqual(known.cacheControl, ['max-age=60'], 'no cookie inserted: left alone');
    const plain = await request(P.ins, '/');
    assert.deepEqual(plain.cacheControl, [], 'not cacheable (no freshness nor validator): nothing added');

    const m = logMark(master);
    const get = await request(P.post, '/');
    assert.deepEqual(get.setCookie, []);
    assert.equal((await logOf(get, m)).ts, '--NN');
    const post = await request(P.post, '/', { method: 'POST' });
    assert.deepEqual(post.setCookie, [`SRV=c${post.seen.name.slice(1)}; path=/`]);
  });

  it('a server disabled over the Runtime API loses its clients unless option persist', async () => {
    // np: no option persist; s1 disabled in before().
    for (let i = 0; i < 3; i++) {
      const m = logMark(master);
      const r = await request(P.np, '/', { cookie: 'SRV=c1' });
      assert.equal(r.seen.name, 's2', 'redispatched to a server that is up');
      assert.deepEqual(r.setCookie, ['SRV=c2; path=/'], 'and given its cookie');
      assert.equal((await logOf(r, m)).ts, '--DI');
    }
    // p: option persist: still sent to the disabled server, no new cookie.
    for (let i = 0; i < 3; i++) {
      const m = logMark(master);
      const r = await request(P.p, '/', { cookie: 'SRV=c1' });
      assert.equal(r.seen.name, 's1');
      assert.deepEqual(r.setCookie, []);
      assert.equal((await logOf(r, m)).ts, '--DN');
    }
    // Without a cookie, the balancer never picks it.
    for (let i = 0; i < 4; i++) assert.equal((await request(P.p, '/')).seen.name, 's2');
    // Enabled again: its clients come back.
    assert.equal(await apiCommand(sock, 'enable server np/s1'), '\n');
    const back = await request(P.np, '/', { cookie: 'SRV=c1' });
    assert.equal(back.seen.name, 's1');
    assert.equal(await apiCommand(sock, 'disable server np/s1'), '\n');
  });

  it('a server `disabled` in the configuration gets no cookie traffic either', async () => {
    const m = logMark(master);
    const r = await request(P.dis, '/', { cookie: 'SRV=c1' });
    assert.equal(r.seen.name, 's2');
    assert.equal((await logOf(r, m)).ts, '--DI');
  });

  it('force-persist reaches a disabled server when its condition matches; ignore-persist balances', async () => {
    let m = logMark(master);
    const plain = await request(P.fp, '/', { cookie: 'SRV=c1' });
    assert.equal(plain.seen.name, 's2');
    assert.equal((await logOf(plain, m)).ts, '--DI');
    m = logMark(master);
    const forced = await request(P.fp, '/', { cookie: 'SRV=c1', headers: { 'x-admin': '1' } });
    assert.equal(forced.seen.name, 's1');
    assert.equal(forced.seen.cookie, null);
    assert.deepEqual(forced.setCookie, []);
    assert.equal((await logOf(forced, m)).ts, '--DN');
    // ignore-persist: the cookie is not used (U), still stripped, and no cookie is set.
    await apiCommand(sock, 'enable server fp/s1');
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) {
      m = logMark(master);
      const r = await request(P.fp, '/static/a.css', { cookie: 'SRV=c2' });
      seen.add(r.seen.name);
      assert.equal(r.seen.cookie, null);
      assert.deepEqual(r.setCookie, []);
      assert.equal((await logOf(r, m)).ts, '--UN');
    }
    assert.deepEqual([...seen].sort(), ['s1', 's2'], 'balanced');
    // use-server comes first: the cookie is unused (U) and no cookie is inserted (the request was direct).
    m = logMark(master);
    const pinned = await request(P.fp, '/', { cookie: 'SRV=c1', headers: { 'x-pin': '1' } });
    assert.equal(pinned.seen.name, 's2');
    assert.deepEqual(pinned.setCookie, []);
    assert.equal((await logOf(pinned, m)).ts, '--UN');
    await apiCommand(sock, 'disable server fp/s1');
  });

  it('maxidle / maxlife: expired or too old cookies are ignored (E, O); fresh ones are dated and refreshed', async () => {
    const now = Math.floor(Date.now() / 1000);
    let m = logMark(master);
    const fresh = await request(P.age, '/');
    const v = cookieOf(fresh.setCookie, 'SRV')!;
    assert.match(v, /^c[12]\|[A-Za-z0-9+/]{5}\|[A-Za-z0-9+/]{5}$/);
    assert.equal((await logOf(fresh, m)).ts, '--NI');
    const srv = fresh.seen.name;
    // Seen 10 minutes ago, first 1 hour ago: valid, last date refreshed, first kept.
    m = logMark(master);
    const r = await request(P.age, '/', { cookie: `SRV=c2|${cookieDate(now - 600)}|${cookieDate(now - 3600)}` });
    assert.equal(r.seen.name, 's2');
    const nv = cookieOf(r.setCookie, 'SRV')!;
    assert.equal(nv.split('|')[2], cookieDate(now - 3600), 'first date kept');
    assert.notEqual(nv.split('|')[1], cookieDate(now - 600), 'last date refreshed');
    assert.equal((await logOf(r, m)).ts, '--VU');
    // Idle for 31 minutes: expired, balanced again, a new cookie.
    m = logMark(master);
    const idle = await request(P.age, '/', { cookie: `SRV=c2|${cookieDate(now - 31 * 60)}|${cookieDate(now - 3600)}` });
    assert.equal((await logOf(idle, m)).ts, '--EI');
    assert.ok(cookieOf(idle.setCookie, 'SRV')!.startsWith(`c${idle.seen.name.slice(1)}|`));
    // First seen 9 hours ago: too old.
    m = logMark(master);
    const old = await request(P.age, '/', { cookie: `SRV=c2|${cookieDate(now - 60)}|${cookieDate(now - 9 * 3600)}` });
    assert.equal((await logOf(old, m)).ts, '--OI');
    assert.ok(srv === 's1' || srv === 's2');
  });

  it('a denied request is logged with the cookie it carried (PRVN), as HAProxy does', async () => {
    const c = net.connect(P.deny, '127.0.0.1');
    await new Promise(r => c.once('connect', r));
    const m = logMark(master);
    c.write('GET /deny HTTP/1.1\r\nHost: x\r\nCookie: SRV=c2\r\nConnection: close\r\n\r\n');
    const line = await waitForLog(master, c.localPort!, { from: m });
    c.destroy();
    const l = parseHttplog(line);
    assert.equal(l.st, '403');
    assert.equal(l.ts, 'PRVN');
    assert.equal(l.srv, 's2', 'HAProxy names the server the cookie designated');
  });

  it('use-server runs before the cookie is stripped: its condition sees the Cookie the client sent', async () => {
    // HAProxy's AN_REQ_SRV_RULES precede the cookie management of http_process_request.
    const r = await request(P.us, '/', { cookie: 'SRV=c1; a=b' });
    assert.equal(r.seen.name, 's2', 'use-server matched on the persistence cookie');
    assert.equal(r.seen.cookie, 'a=b', 'indirect: still removed before the server');
  });

  it('mode tcp: option persist lets use-server reach a disabled server', async () => {
    for (let i = 0; i < 3; i++) assert.equal(await greet(P.tcp), 't1');
  });
});

describe('cookie persistence configuration errors', () => {
  const tmp = tempDir('sy-cookie-cfg-');
  after(() => tmp.cleanup());

  it('are reported with file:line and the keyword; mode tcp cookies are warned about and ignored', async () => {
    const cfg = writeConfig(tmp.dir, [
      'defaults', '    mode http', '    timeout connect 1s', '    timeout client 1s', '    timeout server 1s', // 1-5
      'backend b', // 6
      '    cookie SRV rewrite insert', // 7
      '    cookie SRV insert maxidle 10x', // 8
      '    force-persist when TRUE', // 9
      '    ignore-persist if nosuchacl', // 10
      '    server s1 127.0.0.1:1 cookie', // 11
      'backend t', '    mode tcp', '    cookie SRV insert', '    server s1 127.0.0.1:1 cookie c1', // 12-15
      '',
    ].join('\n'));
    const r = await runSwitchyard(['-c', '-f', cfg]);
    assert.equal(r.code, 1, r.stderr);
    const alerts = alertLines(r.stderr).join('\n');
    for (const [line, kw, text] of [
      [7, 'cookie', `cookie 'rewrite', 'insert' and 'prefix' modes are incompatible.`],
      [8, 'cookie', `unexpected character 'x' in argument to <maxidle>.`],
      [9, 'force-persist', `'force-persist' requires either 'if' or 'unless' followed by a condition.`],
      [11, 'server', `'cookie' expects 1 argument`],
    ] as const) {
      assert.ok(alerts.includes(`parsing [${cfg}:${line}] : '${kw}' : `) && alerts.split('\n').some(l => l.includes(`:${line}]`) && l.includes(text)), `no alert ${line} ${kw}: ${text} in\n${alerts}`);
    }
    // The condition is compiled after parsing: checked on a config without parse errors.
    const cfg2 = writeConfig(tmp.dir, [
      'defaults', '    mode http', '    timeout connect 1s', '    timeout client 1s', '    timeout server 1s',
      'backend b', '    ignore-persist if nosuchacl', '    server s1 127.0.0.1:1 cookie c1', // 6-8
      'backend t', '    mode tcp', '    cookie SRV insert', '    server s1 127.0.0.1:1 cookie c1', // 9-12
      '',
    ].join('\n'), 'b.cfg');
    const r2 = await runSwitchyard(['-c', '-f', cfg2]);
    assert.equal(r2.code, 1, r2.stderr);
    assert.ok(alertLines(r2.stderr).some(l => l.includes(`parsing [${cfg2}:7] : 'ignore-persist' : error detected while parsing a 'ignore-persist' rule : no such ACL : 'nosuchacl'.`)), r2.stderr);
    const warns = warningLines(r2.stderr).join('\n');
    assert.ok(warns.includes(`[${cfg2}:11] : 'cookie' : cookie will be ignored for backend 't' (needs 'mode http').`), warns);
    assert.ok(warns.includes(`[${cfg2}:12] : 'server' : backend 't' : ignoring cookie for server 's1' as HTTP mode is disabled.`), warns);
  });
});
