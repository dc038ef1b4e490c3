/**
 * Error responses the proxy writes itself, byte for byte, through the real
 * master: HAProxy's built-in pages for 400, 408, 502, 503 and 504, and
 * `errorfile` pages (backend before frontend; not used for a request the
 * parser rejects, except an empty file which sends nothing). Expected bytes
 * were captured from haproxy 2.6.12 with raw sockets on the same config and
 * requests. Also the request head limits with the default tune.bufsize and
 * tune.http.maxhdr (see packages/core/src/http/limits.ts).
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePorts, startProxy, within, tempDir, type ProxyRun } from './helpers';
import { RawClient, RawOrigin } from './http-wire';

/** Captured from haproxy 2.6.12. */
const PAGES: Record<number, string> = {
  400: 'HTTP/1.1 400 Bad request\r\nContent-length: 90\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>400 Bad request</h1>\nYour browser sent an invalid request.\n</body></html>\n',
  408: 'HTTP/1.1 408 Request Time-out\r\nContent-length: 110\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>408 Request Time-out</h1>\nYour browser didn\'t send a complete request in time.\n</body></html>\n',
  502: 'HTTP/1.1 502 Bad Gateway\r\ncontent-length: 107\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>502 Bad Gateway</h1>\nThe server returned an invalid or incomplete response.\n</body></html>\n',
  503: 'HTTP/1.1 503 Service Unavailable\r\ncontent-length: 107\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n',
  504: 'HTTP/1.1 504 Gateway Time-out\r\ncontent-length: 92\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>504 Gateway Time-out</h1>\nThe server didn\'t respond in time.\n</body></html>\n',
};

const FE503 = 'HTTP/1.1 503 Busy FE\r\nContent-Type: text/plain\r\nX-From: Frontend\r\nContent-Length: 8\r\n\r\nfe page\n';
const BE503 = 'HTTP/1.0 503 Busy BE\r\nContent-Type: text/plain\r\nX-From:   Backend  \r\nContent-Length: 8\r\nConnection: close\r\n\r\nbe page\n';
const C400 = 'HTTP/1.1 400 Custom\r\nContent-Length: 7\r\n\r\ncustom\n';
/** What haproxy 2.6.12 sent for them (re-serialised: names lower-cased, values trimmed, Connection dropped). */
const FE503_WIRE = 'HTTP/1.1 503 Busy FE\r\ncontent-type: text/plain\r\nx-from: Frontend\r\ncontent-length: 8\r\n\r\nfe page\n';
const BE503_WIRE = 'HTTP/1.0 503 Busy BE\r\ncontent-type: text/plain\r\nx-from: Backend\r\ncontent-length: 8\r\n\r\nbe page\n';

const GET = 'GET / HTTP/1.1\r\nHost: a\r\n\r\n';

describe('http errors', () => {
  let run: ProxyRun;
  const tmp = tempDir('sy-errf-');
  let origin: RawOrigin;
  let ports: Record<string, number> = {};

  before(async () => {
    origin = new RawOrigin(({ socket, head }) => {
      const path = head.split(' ')[1];
      if (path === '/bad') socket.end('HTTP/1.1 abc\r\n\r\n');
      else if (path === '/mute') { /* never answers */ } else socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    });
    const op = await origin.listen();
    for (const [n, t] of [['fe503', FE503], ['be503', BE503], ['c400', C400]]) writeFileSync(join(tmp.dir, `${n}.http`), t);
    const names = ['plain', 'files', 'filesbe', 'null400', 'down'];
    const p = await freePorts(names.length);
    ports = Object.fromEntries(names.map((n, i) => [n, p[i]]));
    run = await startProxy([
      'global',
      '    nbthread 1',
      'defaults',
      '    mode http',
      '    timeout connect 2s',
      '    timeout client 10s',
      '    timeout server 10s',
      'frontend fe_plain',
      `    bind 127.0.0.1:${ports.plain}`,
      '    timeout http-request 300ms',
      '    default_backend be_app',
      'frontend fe_files',
      `    bind 127.0.0.1:${ports.files}`,
      `    errorfile 503 ${tmp.dir}/fe503.http`,
      `    errorfile 400 ${tmp.dir}/c400.http`,
      '    default_backend be_down',
      'frontend fe_filesbe',
      `    bind 127.0.0.1:${ports.filesbe}`,
      `    errorfile 503 ${tmp.dir}/fe503.http`,
      '    default_backend be_down_page',
      'frontend fe_null400',
      `    bind 127.0.0.1:${ports.null400}`,
      '    errorfile 400 /dev/null',
      '    default_backend be_app',
      'frontend fe_down',
      `    bind 127.0.0.1:${ports.down}`,
      '    default_backend be_down',
      'backend be_app',
      '    timeout server 300ms',
      `    server app 127.0.0.1:${op}`,
      'backend be_down',
      '    server gone 127.0.0.1:1 disabled',
      'backend be_down_page',
      `    errorfile 503 ${tmp.dir}/be503.http`,
      '    server gone 127.0.0.1:1 disabled',
      '',
    ].join('\n'));
  });

  after(async () => {
    await run?.stop();
    await origin?.close();
    tmp.cleanup();
  });

  /** Send `req`; resolves with the client once the proxy closed, or once `complete` bytes arrived. */
  async function exchange(port: number, req: string, complete?: number): Promise<RawClient> {
    const c = new RawClient(port);
    await c.connected;
    c.send(req);
    if (complete === undefined) await within(c.waitClose(), 5000, 'close');
    else while (c.received.length < complete && !c.closed) await within(c.change(), 5000, `${complete} bytes`);
    return c;
  }

  it('400 for a malformed request: the built-in page as haproxy sends it, then close', async () => {
    const conns = origin.connections;
    const c = await exchange(ports.plain, 'GARBAGE\r\n\r\n');
    assert.equal(c.text, PAGES[400]);
    assert.equal(origin.connections, conns);
  });

  it('408 after timeout http-request', async () => {
    const c = await exchange(ports.plain, 'GET / HTTP/1.1\r\nHost: a\r\n');
    assert.equal(c.text, PAGES[408]);
  });

  /** A page as the H1 mux sends it to a client that asked to close: `connection: close` last. */
  const closing = (page: string): string => page.replace('\r\n\r\n', '\r\nconnection: close\r\n\r\n');
  const GET_CLOSE = 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n';

  it('502 for an invalid response, 504 for a silent server, 503 without a server (client asking to close)', async () => {
    for (const [port, path, status] of [[ports.plain, '/bad', 502], [ports.plain, '/mute', 504], [ports.down, '/', 503]] as const) {
      const c = await exchange(port, `GET ${path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`);
      assert.equal(c.text, closing(PAGES[status]), `${status}`);
    }
  });

  it('errorfile 503 in the frontend; the backend\'s wins over it', async () => {
    const fe = await exchange(ports.files, GET_CLOSE);
    assert.equal(fe.text, closing(FE503_WIRE));
    const be = await exchange(ports.filesbe, GET);
    assert.equal(be.text, BE503_WIRE, 'backend page, HTTP/1.0: sent as is, then closed');
  });

  it('502/503/504 pages keep a keep-alive client\'s connection open, as haproxy 2.6.12 does', async () => {
    for (const [port, path, page] of [
      [ports.plain, '/bad', PAGES[502]], [ports.plain, '/mute', PAGES[504]], [ports.down, '/', PAGES[503]], [ports.files, '/', FE503_WIRE],
    ] as const) {
      const c = await exchange(port, `GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`, page.length);
      assert.equal(c.text, page);
      const from = c.received.length;
      c.send(`GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`);
      while (c.received.length < from + page.length && !c.closed) await within(c.change(), 5000, 'second page');
      assert.equal(c.received.subarray(from).toString('latin1'), page, `second ${path} on the same connection`);
      c.destroy();
    }
  });

  it('errorfile 400 is not used for a request the parser rejects (haproxy: built-in page); /dev/null sends nothing', async () => {
    const c = await exchange(ports.files, 'GARBAGE\r\n\r\n');
    assert.equal(c.text, PAGES[400]);
    const n = await exchange(ports.null400, 'GARBAGE\r\n\r\n');
    assert.equal(n.received.length, 0);
  });

  it('request head limit (default tune.bufsize): 15277 bytes pass, 15278 get 400 and reach nothing', async () => {
    const base = 'GET / HTTP/1.1\r\nHost: a\r\n\r\n';
    const of = (size: number): string => `GET /${'x'.repeat(size - base.length)} HTTP/1.1\r\nHost: a\r\n\r\n`;
    const ok = await exchange(ports.plain, of(15277), 40);
    assert.match(ok.text, /^HTTP\/1\.1 200 OK\r\n/);
    ok.destroy();
    const bytes = origin.bytes, conns = origin.connections;
    const bad = await exchange(ports.plain, of(15278));
    assert.equal(bad.text, PAGES[400]);
    assert.equal(origin.connections, conns, 'no connection to the origin');
    assert.equal(origin.bytes, bytes);
  });

  it('header count (default tune.http.maxhdr 101): 100 fields pass, 101 get 400', async () => {
    const withFields = (n: number): string => {
      let h = 'GET / HTTP/1.1\r\nHost: a\r\n';
      for (let i = 1; i < n; i++) h += `X-H${i}: v\r\n`;
      return h + '\r\n';
    };
    const ok = await exchange(ports.plain, withFields(100), 40);
    assert.match(ok.text, /^HTTP\/1\.1 200 OK\r\n/);
    ok.destroy();
    const conns = origin.connections;
    const bad = await exchange(ports.plain, withFields(101));
    assert.equal(bad.text, PAGES[400]);
    assert.equal(origin.connections, conns);
  });
});
