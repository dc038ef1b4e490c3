/**
 * `mode http`, first slice: HTTP/1.1 transactions through the real master,
 * a node:http origin (and raw origins for broken responses) on loopback, raw
 * client sockets. Bodies are compared byte for byte at the origin and at the
 * client; malformed requests must never reach the origin.
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import { randomBytes } from 'node:crypto';
import { freePorts, startProxy, within, type ProxyRun } from './helpers';
import { RawClient as Client } from './http-wire';

interface Seen { method: string; url: string; headers: http.IncomingHttpHeaders; body: Buffer; trailers: NodeJS.Dict<string> }

describe('http basic', () => {
  let run: ProxyRun;
  let origin: http.Server;
  let originConns = 0;
  const seen: Seen[] = [];
  const rawServers: net.Server[] = [];
  let ports: Record<string, number> = {};
  const bigBody = randomBytes(300_000);

  const listenRaw = (handler: (s: net.Socket) => void): Promise<number> => new Promise(resolve => {
    const s = net.createServer(handler);
    rawServers.push(s);
    s.listen(0, '127.0.0.1', () => resolve((s.address() as net.AddressInfo).port));
  });

  before(async () => {
    origin = http.createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (d: Buffer) => parts.push(d));
      req.on('end', () => {
        const body = Buffer.concat(parts);
        seen.push({ method: req.method!, url: req.url!, headers: req.headers, body, trailers: req.trailers });
        const u = req.url!;
        if (u.startsWith('/big')) { res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bigBody.length }); res.end(bigBody); return; }
        if (u === '/204') { res.writeHead(204); res.end(); return; }
        if (u === '/304') { res.writeHead(304, { etag: '"x"' }); res.end(); return; }
        if (u === '/chunked') {
          res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-sum' });
          res.write('first,');
          res.write('second');
          res.addTrailers({ 'x-sum': String(body.length) });
          res.end();
          return;
        }
        if (u === '/echo') { res.writeHead(200, { 'content-length': body.length }); res.end(body); return; }
        const text = `${req.method} ${u} ${body.length}`;
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text) });
        res.end(req.method === 'HEAD' ? undefined : text);
      });
    });
    origin.on('connection', () => { originConns++; });
    await new Promise<void>(r => origin.listen(0, '127.0.0.1', () => r()));
    const originPort = (origin.address() as net.AddressInfo).port;
    // Broken origins: duplicate different content-lengths; never answers.
    const badPort = await listenRaw(s => { s.on('error', () => {}); s.once('data', () => s.end('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!')); });
    const mutePort = await listenRaw(s => { s.on('error', () => {}); s.resume(); });
    const [main, bad, down, mute, slow, deadPort] = await freePorts(6);
    ports = { main, bad, down, mute, slow };
    const fe = (name: string, be: string, extra: string[] = []): string[] =>
      [`frontend fe_${name}`, `    bind 127.0.0.1:${ports[name]}`, ...extra.map(l => `    ${l}`), `    default_backend ${be}`];
    run = await startProxy([
      'global',
      '    nbthread 1',
      '    log stdout format raw local0',
      'defaults',
      '    mode http',
      '    log global',
      '    option httplog',
      '    timeout connect 2s',
      '    timeout client 10s',
      '    timeout server 10s',
      ...fe('main', 'be_app'),
      ...fe('bad', 'be_bad'),
      ...fe('down', 'be_down'),
      ...fe('mute', 'be_mute', []),
      ...fe('slow', 'be_app', ['timeout http-request 300ms']),
      'backend be_app', `    server app 127.0.0.1:${originPort}`,
      'backend be_bad', `    server bad 127.0.0.1:${badPort}`,
      'backend be_down', '    retries 0', `    server dead 127.0.0.1:${deadPort}`,
      'backend be_mute', '    timeout server 300ms', `    server mute 127.0.0.1:${mutePort}`,
      '',
    ].join('\n'));
  });

  after(async () => {
    await run?.stop();
    origin?.closeAllConnections();
    await new Promise<void>(r => origin ? origin.close(() => r()) : r());
    for (const s of rawServers) s.close();
  });

  it('GET: hop-by-hop fields dropped, keep-alive toward the server (no connection field), byte-exact body', async () => {
    const c = new Client(ports.main);
    const n = seen.length;
    c.send('GET /big?x=1 HTTP/1.1\r\nHost: a.example\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: 5\r\nTE: trailers\r\nX-Keep: yes\r\n\r\n');
    const [r] = await within(c.responses(['GET']), 5000, 'response');
    assert.equal(r.status, 200);
    let diff = -1;
    for (let i = 0; i < bigBody.length; i++) if (r.body[i] !== bigBody[i]) { diff = i; break; }
    assert.ok(r.body.equals(bigBody), `body byte-exact at the client (${r.body.length} bytes, first difference at ${diff})`);
    const s = seen[n];
    assert.equal(s.url, '/big?x=1');
    assert.equal(s.headers['x-keep'], 'yes');
    assert.equal(s.headers.host, 'a.example');
    for (const h of ['x-hop', 'keep-alive', 'te']) assert.equal(s.headers[h], undefined, h);
    assert.equal(s.headers.connection, undefined);
    assert.ok(!c.closed);
    c.destroy();
  });

  it('POST content-length and chunked (with trailers) bodies arrive byte-exact', async () => {
    const c = new Client(ports.main);
    const n = seen.length;
    const body = randomBytes(200_000);
    c.send(Buffer.concat([Buffer.from(`POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: ${body.length}\r\n\r\n`), body]));
    const [r1] = await within(c.responses(['POST']), 5000, 'CL response');
    assert.ok(seen[n].body.equals(body), 'CL body at the origin');
    assert.ok(r1.body.equals(body), 'echo at the client');
    const from = c.received.length;
    // Chunked, split over several writes, with a trailer.
    c.send('POST /chunked HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTrailer: x-t\r\n\r\n5\r\nhello\r\n');
    c.send('6;ext=1\r\n world\r\n0\r\nX-T: tv\r\n\r\n');
    const [r2] = await within(c.responses(['POST'], from), 5000, 'chunked response');
    const s = seen[n + 1];
    assert.equal(s.body.toString(), 'hello world');
    assert.equal(s.trailers['x-t'], 'tv');
    assert.equal(r2.headers.get('transfer-encoding'), 'chunked');
    assert.equal(r2.body.toString(), 'first,second');
    assert.match(r2.raw.toString('latin1'), /\r\n0\r\nx-sum: 11\r\n\r\n$/i);
    c.destroy();
  });

  it('keep-alive: several requests on one client connection, one server connection (http-reuse safe: its own)', async () => {
    const c = new Client(ports.main);
    const before = originConns;
    for (let i = 0; i < 3; i++) {
      const from = c.received.length;
      c.send(`GET /k${i} HTTP/1.1\r\nHost: a\r\n\r\n`);
      const [r] = await within(c.responses(['GET'], from), 5000, `response ${i}`);
      assert.equal(r.body.toString(), `GET /k${i} 0`);
      assert.equal(r.headers.get('connection'), undefined);
    }
    assert.ok(!c.closed);
    assert.equal(originConns - before, 1);
    // HTTP/1.0 with keep-alive is kept alive and told so; without, closed.
    let from = c.received.length;
    c.send('GET /k10 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
    const [r10] = await within(c.responses(['GET'], from), 5000, '1.0 keep-alive');
    assert.equal(r10.headers.get('connection'), 'keep-alive');
    from = c.received.length;
    c.send('GET /last HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    const [rl] = await within(c.responses(['GET'], from), 5000, 'close');
    assert.equal(rl.headers.get('connection'), 'close');
    await within(c.waitClose(), 5000, 'close after Connection: close');
  });

  it('pipelining: two requests in one write get two responses in order', async () => {
    const c = new Client(ports.main);
    c.send('POST /p1 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /p2 HTTP/1.1\r\nHost: a\r\n\r\n');
    const [a, b] = await within(c.responses(['POST', 'GET']), 5000, 'pipelined');
    assert.equal(a.body.toString(), 'POST /p1 3');
    assert.equal(b.body.toString(), 'GET /p2 0');
    c.destroy();
  });

  it('HEAD, 204 and 304 have no body (the next response follows at once)', async () => {
    const c = new Client(ports.main);
    c.send('HEAD /h HTTP/1.1\r\nHost: a\r\n\r\nGET /204 HTTP/1.1\r\nHost: a\r\n\r\nGET /304 HTTP/1.1\r\nHost: a\r\n\r\nGET /after HTTP/1.1\r\nHost: a\r\n\r\n');
    const rs = await within(c.responses(['HEAD', 'GET', 'GET', 'GET']), 5000, 'responses');
    assert.deepEqual(rs.map(r => r.status), [200, 204, 304, 200]);
    assert.equal(rs[0].headers.get('content-length'), String('HEAD /h 0'.length));
    assert.equal(rs[0].body.length, 0);
    assert.equal(rs[3].body.toString(), 'GET /after 0');
    c.destroy();
  });

  it('100-continue passes through', async () => {
    const c = new Client(ports.main);
    c.send('POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n');
    await within((async () => { while (!c.received.toString().includes('100 Continue')) await new Promise(r => c.socket.once('data', r)); })(), 5000, '100');
    c.send('body');
    const rs = await within(c.responses(['POST']), 5000, 'final');
    assert.equal(rs[0].status, 100);
    assert.equal(rs[1].body.toString(), 'body');
    c.destroy();
  });

  for (const [name, req] of [
    ['CL + TE', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['obs-fold', 'GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n  c\r\n\r\n'],
    ['bad chunk size', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n'],
    ['no Host', 'GET / HTTP/1.1\r\n\r\n'],
  ] as const) {
    it(`malformed request (${name}) → 400, nothing reaches the origin`, async () => {
      const conns = originConns, reqs = seen.length;
      const c = new Client(ports.main);
      c.send(req);
      await within(c.waitClose(), 5000, 'close');
      assert.match(c.received.toString('latin1'), /^HTTP\/1\.1 400 Bad request\r\n/);
      assert.equal(originConns, conns);
      assert.equal(seen.length, reqs);
    });
  }

  it('malformed response → 502', async () => {
    const c = new Client(ports.bad);
    c.send('GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    await within(c.waitClose(), 5000, 'close');
    assert.match(c.received.toString('latin1'), /^HTTP\/1\.1 502 Bad Gateway\r\n/);
    assert.doesNotMatch(c.received.toString('latin1'), /hello/);
  });

  it('no server reachable → 503', async () => {
    const c = new Client(ports.down);
    c.send('GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    await within(c.waitClose(), 5000, 'close');
    assert.match(c.received.toString('latin1'), /^HTTP\/1\.1 503 Service Unavailable\r\n/);
  });

  it('server timeout before the response → 504', async () => {
    const c = new Client(ports.mute);
    const t0 = Date.now();
    c.send('GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    await within(c.waitClose(), 5000, 'close');
    assert.match(c.received.toString('latin1'), /^HTTP\/1\.1 504 Gateway Time-out\r\n/);
    assert.ok(Date.now() - t0 >= 290);
  });

  it('slow request head → 408 after timeout http-request; so does a connection that sent nothing (HAProxy 2.6)', async () => {
    const conns = originConns;
    const c = new Client(ports.slow);
    await c.connected;
    const t0 = Date.now();
    c.send('GET / HTTP/1.1\r\nHost: a\r\n');
    await within(c.waitClose(), 5000, 'close');
    const dt = Date.now() - t0;
    assert.match(c.received.toString('latin1'), /^HTTP\/1\.1 408 Request Time-out\r\n/);
    assert.ok(dt >= 290 && dt < 3000, `closed after ${dt} ms`);
    assert.equal(originConns, conns);
    // No `option http-ignore-probes` / `dontlognull` here: HAProxy's
    // h1_handle_req_tout() answers 408 on an empty first request too.
    const idle = new Client(ports.slow);
    await within(idle.waitClose(), 5000, 'idle close');
    assert.match(idle.received.toString('latin1'), /^HTTP\/1\.1 408 Request Time-out\r\n/);
  });

  it('one httplog line per transaction', async () => {
    const c = new Client(ports.main);
    await c.connected;
    const port = c.socket.localPort!;
    c.send('GET /log1?q=1 HTTP/1.1\r\nHost: a\r\n\r\n');
    await within(c.responses(['GET']), 5000, 'r1');
    const from = c.received.length;
    c.send('GET /log2 HTTP/1.1\r\nHost: a\r\n\r\n');
    await within(c.responses(['GET'], from), 5000, 'r2');
    const re = new RegExp(`^127\\.0\\.0\\.1:${port} \\[\\d\\d/\\w{3}/\\d{4}:\\d\\d:\\d\\d:\\d\\d\\.\\d{3}\\] fe_main be_app/app (\\d+)/(\\d+)/(\\d+)/(\\d+)/(\\d+) 200 (\\d+) - - ---- \\d+/\\d+/\\d+/\\d+/0 0/0 "(GET [^"]+)"$`, 'gm');
    const lines = await within((async () => {
      for (;;) {
        const m = [...run.master.stdout.matchAll(re)];
        if (m.length >= 2) return m;
        await new Promise(r => run.master.child.stdout!.once('data', r));
      }
    })(), 5000, 'log lines');
    assert.equal(lines[0][7], 'GET /log1?q=1 HTTP/1.1');
    assert.equal(lines[1][7], 'GET /log2 HTTP/1.1');
    assert.ok(Number(lines[0][6]) > 0);
    c.destroy();
    // A request the parser rejects: no server, `PR`, and `<BADREQ>` as HAProxy.
    const b = new Client(ports.main);
    await b.connected;
    const bport = b.socket.localPort!;
    b.send('GET / HTTP/1.1\r\nHost: a\r\nbad header\r\n\r\n');
    await within(b.waitClose(), 5000, 'close');
    const bre = new RegExp(`^127\\.0\\.0\\.1:${bport} .* fe_main fe_main/<NOSRV> -?\\d+/-1/-1/-1/\\d+ 400 \\d+ - - PR-- .* "<BADREQ>"$`, 'm');
    await within((async () => { while (!bre.test(run.master.stdout)) await new Promise(r => run.master.child.stdout!.once('data', r)); })(), 5000, `PR line in\n${run.master.stdout}`);
  });
});
