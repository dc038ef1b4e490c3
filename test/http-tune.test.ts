/**
 * `tune.bufsize 4096` and `tune.http.maxhdr 10` through the real master: the
 * request head limit (2989 bytes for a request line + Host, as measured
 * with haproxy 2.6.12: bufsize − maxrewrite 1024 − 83), the response head
 * limit (502), and the field count (9 fields pass, 10 get 400). Rejected
 * requests never reach the origin.
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { freePorts, startProxy, within, type ProxyRun } from './helpers';
import { RawClient, RawOrigin } from './http-wire';

const LIMIT = 2989;

describe('http tune.bufsize / tune.http.maxhdr', () => {
  let run: ProxyRun;
  let origin: RawOrigin;
  let port = 0;

  before(async () => {
    origin = new RawOrigin(({ socket, head }) => {
      const m = /^GET \/resp\/(\d+) /.exec(head);
      if (m) {
        // A one-field response head of exactly n bytes, delimited by the close.
        const base = 'HTTP/1.1 200 OK\r\nX-Pad: \r\n\r\n';
        socket.end(`HTTP/1.1 200 OK\r\nX-Pad: ${'y'.repeat(Number(m[1]) - base.length)}\r\n\r\nbody`);
        return;
      }
      socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok');
    });
    const op = await origin.listen();
    [port] = await freePorts(1);
    run = await startProxy([
      'global',
      '    nbthread 1',
      '    tune.bufsize 4096',
      '    tune.http.maxhdr 10',
      'defaults',
      '    mode http',
      '    timeout connect 2s',
      '    timeout client 10s',
      '    timeout server 10s',
      'frontend fe',
      `    bind 127.0.0.1:${port}`,
      '    default_backend be',
      'backend be',
      `    server app 127.0.0.1:${op}`,
      '',
    ].join('\n'));
  });

  after(async () => {
    await run?.stop();
    await origin?.close();
  });

  async function status(req: string): Promise<{ status: number; text: string }> {
    const c = new RawClient(port);
    await c.connected;
    c.send(req);
    const [r] = await within(c.responses(['GET']), 5000, 'response');
    c.destroy();
    return { status: r.status, text: c.text };
  }

  function requestOfSize(size: number): string {
    const base = 'GET / HTTP/1.1\r\nHost: a\r\n\r\n';
    return `GET /${'x'.repeat(size - base.length)} HTTP/1.1\r\nHost: a\r\n\r\n`;
  }

  it(`request head: ${LIMIT} bytes pass, ${LIMIT + 1} and more get 400 and reach nothing`, async () => {
    assert.equal((await status(requestOfSize(LIMIT))).status, 200);
    const before = { c: origin.connections, b: origin.bytes };
    for (const size of [LIMIT + 1, 4096]) {
      const r = await status(requestOfSize(size));
      assert.match(r.text, /^HTTP\/1\.1 400 Bad request\r\n/, `${size} bytes`);
    }
    assert.deepEqual({ c: origin.connections, b: origin.bytes }, before, 'the origin got nothing');
  });

  it('tune.http.maxhdr 10: 9 header fields pass, 10 get 400', async () => {
    const withFields = (n: number): string => {
      let h = 'GET / HTTP/1.1\r\nHost: a\r\n';
      for (let i = 1; i < n; i++) h += `X-H${i}: v\r\n`;
      return h + '\r\n';
    };
    assert.equal((await status(withFields(9))).status, 200);
    const conns = origin.connections;
    assert.equal((await status(withFields(10))).status, 400);
    assert.equal((await status(withFields(50))).status, 400);
    assert.equal(origin.connections, conns);
  });

  it(`response head: ${LIMIT} bytes pass, ${LIMIT + 1} give 502`, async () => {
    const ok = await status(`GET /resp/${LIMIT} HTTP/1.1\r\nHost: a\r\n\r\n`);
    assert.equal(ok.status, 200);
    assert.ok(ok.text.endsWith('\r\n\r\nbody'));
    const bad = await status(`GET /resp/${LIMIT + 1} HTTP/1.1\r\nHost: a\r\n\r\n`);
    assert.match(bad.text, /^HTTP\/1\.1 502 Bad Gateway\r\n/);
    assert.ok(!bad.text.includes('yyyy'));
  });
});
