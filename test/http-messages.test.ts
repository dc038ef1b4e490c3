/**
 * HTTP/1.1 message handling through the real master with raw origins where
 * the bytes matter: `Expect: 100-continue` (the origin's 100 before the
 * body; a final status without 100), bodiless responses (HEAD, 204, 304)
 * from an origin that sends a body anyway, chunked bodies with trailers in
 * both directions, and deep pipelining with bodies and out-of-pace origin
 * answers. What http-basic.test.ts covers is not repeated. Behaviour for
 * misbehaving origins was compared with haproxy 2.6.12 on the same bytes.
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import type * as net from 'node:net';
import { freePorts, startProxy, within, type ProxyRun } from './helpers';
import { ChunkedReader, RawClient, RawOrigin } from './http-wire';

describe('http messages', () => {
  let run: ProxyRun;
  let raw: RawOrigin;
  let node: http.Server;
  let ports: Record<string, number> = {};
  /** Body bytes the raw origin got per request path, and when its 100 went out. */
  const bodyBytes = new Map<string, number>();
  /** Server connection (1, 2, …) each path arrived on. */
  const connOf = new Map<string, number>();
  let conns = 0;

  before(async () => {
    raw = new RawOrigin(({ socket, head, rest }) => {
      const id = ++conns;
      let pending = rest;
      const handle = (h: string, after: Buffer): void => {
        const path = h.split(' ')[1];
        connOf.set(path, id);
        let next = after;
        switch (path) {
          case '/continue': {
            // 100 first; the final response once the 10-byte body is in.
            socket.write('HTTP/1.1 100 Continue\r\n\r\n');
            let got = next.length;
            bodyBytes.set(path, got);
            const onData = (d: Buffer): void => {
              got += d.length;
              bodyBytes.set(path, got);
              if (got >= 10) { socket.off('data', onData); socket.end(`HTTP/1.1 201 Created\r\nContent-Length: ${got}\r\nConnection: close\r\n\r\n${'x'.repeat(got)}`); }
            };
            socket.on('data', onData);
            return;
          }
          // Answers that do not go back to the keep-alive loop below close the connection.
          case '/reject':
            // Final status at once, without 100 and without reading a body.
            bodyBytes.set(path, next.length);
            socket.on('data', (d: Buffer) => bodyBytes.set(path, bodyBytes.get(path)! + d.length));
            socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 6\r\nConnection: close\r\n\r\ndenied');
            return;
          case '/head': socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello'); break;
          case '/204': socket.write('HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello'); break;
          case '/204te': socket.write('HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'); break;
          case '/304': socket.write('HTTP/1.1 304 Not Modified\r\nETag: "e"\r\nContent-Length: 5\r\n\r\nhello'); break;
          case '/trailers': {
            // Decode the chunked request body; answer chunked with extensions and two trailers.
            const parts: Buffer[] = [];
            const reader = new ChunkedReader(b => parts.push(Buffer.from(b)));
            const feed = (d: Buffer): void => {
              reader.push(d);
              if (!reader.done) return;
              socket.off('data', feed);
              const body = Buffer.concat(parts).toString();
              socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum, X-Req-Trailers\r\n\r\n');
              socket.write(`${body.length.toString(16)};ext=a\r\n${body}\r\n3\r\n!!!\r\n`);
              socket.end(`0\r\nX-Sum: ${body.length}\r\nX-Req-Trailers: ${JSON.stringify(reader.trailers)}\r\n\r\n`);
            };
            socket.on('data', feed);
            if (next.length) feed(next);
            return;
          }
          default: socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${path.length}\r\n\r\n${path}`);
        }
        // keep-alive: the next request head on this connection
        const more = (d: Buffer): void => {
          next = Buffer.concat([next, d]);
          const e = next.indexOf('\r\n\r\n');
          if (e < 0) return;
          socket.off('data', more);
          handle(next.subarray(0, e).toString('latin1'), next.subarray(e + 4));
        };
        next = Buffer.alloc(0);
        socket.on('data', more);
      };
      handle(head, pending);
      pending = Buffer.alloc(0);
    });
    const rawPort = await raw.listen();
    // Pipelining origin: answers each request after a delay that decreases, so later ones are ready first if it could.
    node = http.createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (d: Buffer) => parts.push(d));
      req.on('end', () => {
        const body = Buffer.concat(parts).toString();
        const n = Number(/\/p(\d+)/.exec(req.url!)?.[1] ?? 0);
        setTimeout(() => {
          const text = `${req.method} ${req.url} ${body}`;
          res.writeHead(200, { 'content-length': Buffer.byteLength(text) });
          res.end(text);
        }, (n % 4) * 3);
      });
    });
    await new Promise<void>(r => node.listen(0, '127.0.0.1', () => r()));
    const nodePort = (node.address() as net.AddressInfo).port;
    const [a, b] = await freePorts(2);
    ports = { raw: a, node: b };
    run = await startProxy([
      'global',
      '    nbthread 1',
      'defaults',
      '    mode http',
      '    timeout connect 2s',
      '    timeout client 10s',
      '    timeout server 10s',
      'frontend fe_raw',
      `    bind 127.0.0.1:${ports.raw}`,
      '    default_backend be_raw',
      'frontend fe_node',
      `    bind 127.0.0.1:${ports.node}`,
      '    default_backend be_node',
      'backend be_raw',
      `    server raw 127.0.0.1:${rawPort}`,
      'backend be_node',
      `    server node 127.0.0.1:${nodePort}`,
      '',
    ].join('\n'));
  });

  after(async () => {
    await run?.stop();
    await raw?.close();
    node?.closeAllConnections();
    await new Promise<void>(r => (node ? node.close(() => r()) : r()));
  });

  it('Expect: 100-continue: the origin\'s 100 reaches the client before any body byte is sent, then the final response', async () => {
    const c = new RawClient(ports.raw);
    await c.connected;
    c.send('POST /continue HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n');
    await within(c.until('\r\n\r\n'), 5000, '100');
    assert.equal(c.text, 'HTTP/1.1 100 Continue\r\n\r\n');
    assert.equal(bodyBytes.get('/continue'), 0, 'no body byte at the origin before the client sent it');
    c.send('0123456789');
    const rs = await within(c.responses(['POST']), 5000, 'final');
    assert.deepEqual(rs.map(r => r.status), [100, 201]);
    assert.equal(rs[1].body.toString(), 'x'.repeat(10));
    assert.equal(bodyBytes.get('/continue'), 10);
    c.destroy();
  });

  it('Expect: 100-continue answered with a final status and no 100: the client gets it without sending the body', async () => {
    const c = new RawClient(ports.raw);
    await c.connected;
    c.send('POST /reject HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n');
    const rs = await within(c.responses(['POST']), 5000, 'final');
    assert.deepEqual(rs.map(r => r.status), [401]);
    assert.equal(rs[0].body.toString(), 'denied');
    assert.equal(bodyBytes.get('/reject'), 0);
    c.destroy();
  });

  it('HEAD and 304 from an origin that sends a body anyway: headers kept, no body, the next response intact', async () => {
    for (const [method, path, status, cl] of [['HEAD', '/head', 200, '5'], ['GET', '/304', 304, '5'], ['GET', '/204', 204, undefined]] as const) {
      const c = new RawClient(ports.raw);
      await c.connected;
      c.send(`${method} ${path} HTTP/1.1\r\nHost: a\r\n\r\n`);
      const [r] = await within(c.responses([method]), 5000, path);
      assert.equal(r.status, status);
      if (cl !== undefined) assert.equal(r.headers.get('content-length'), cl, `${path}: content-length kept (haproxy too)`);
      assert.equal(r.body.length, 0);
      const from = c.received.length;
      c.send('GET /next HTTP/1.1\r\nHost: a\r\n\r\n');
      const [n] = await within(c.responses(['GET'], from), 5000, `next after ${path}`).catch(e => { throw new Error(`${e.message}: ${JSON.stringify(c.text)} heads ${JSON.stringify(raw.heads)}`); });
      assert.equal(n.raw.toString('latin1'), 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n/next', `no stray 'hello' after ${path}`);
      // The misbehaving server connection is not reused (haproxy neither).
      assert.notEqual(connOf.get('/next'), connOf.get(path), `/next not on the connection of ${path}`);
      c.destroy();
    }
  });

  it('a 204 goes out without Content-Length or Transfer-Encoding, as haproxy sends it', async () => {
    for (const path of ['/204', '/204te']) {
      const c = new RawClient(ports.raw);
      await c.connected;
      c.send(`GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`);
      const [r] = await within(c.responses(['GET']), 5000, path);
      c.destroy();
      assert.equal(r.raw.toString('latin1').toLowerCase(), 'http/1.1 204 no content\r\n\r\n', path);
    }
  });

  it('chunked request and response bodies with extensions and trailers arrive intact', async () => {
    const c = new RawClient(ports.raw);
    await c.connected;
    c.send('POST /trailers HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTrailer: X-A, X-B\r\n\r\n');
    c.send('4;name=v\r\nabcd\r\n');
    c.send('3\r\nefg\r\n0\r\nX-A: 1\r\nX-B: two words\r\n\r\n');
    const [r] = await within(c.responses(['POST']), 5000, 'response');
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('transfer-encoding'), 'chunked');
    assert.equal(r.body.toString(), 'abcdefg!!!');
    const tail = r.raw.toString('latin1');
    assert.ok(tail.endsWith(`0\r\nX-Sum: 7\r\nX-Req-Trailers: ${JSON.stringify('X-A: 1\r\nX-B: two words\r\n')}\r\n\r\n`), `trailers: ${JSON.stringify(tail.slice(-120))}`);
    c.destroy();
  });

  it('30 pipelined requests (content-length, chunked, none), sent in odd-sized pieces, are answered in order', async () => {
    let all = '';
    const methods: string[] = [];
    const expect: string[] = [];
    for (let i = 0; i < 30; i++) {
      const k = i % 3;
      if (k === 0) { all += `GET /p${i} HTTP/1.1\r\nHost: a\r\n\r\n`; methods.push('GET'); expect.push(`GET /p${i} `); }
      if (k === 1) { all += `POST /p${i} HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nbody${i % 10}`; methods.push('POST'); expect.push(`POST /p${i} body${i % 10}`); }
      if (k === 2) { all += `PUT /p${i} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n`; methods.push('PUT'); expect.push(`PUT /p${i} abcde`); }
    }
    const c = new RawClient(ports.node);
    await c.connected;
    for (let p = 0, step = 1; p < all.length; p += step, step = (step * 7) % 97 + 1) c.send(all.slice(p, p + step));
    const rs = await within(c.responses(methods), 10_000, 'responses');
    assert.deepEqual(rs.map(r => r.body.toString()), expect);
    assert.ok(!c.closed);
    c.destroy();
  });
});
