/**
 * `option http-buffer-request`: the request body is read (up to a buffer)
 * before a server is chosen and connected; 100-continue is answered by the
 * proxy; an incomplete body times out with 408 under `timeout http-request`
 * and never reaches a server. Real master, node:http origin, raw clients.
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { startProxy, within, TcpClient, freePorts, type ProxyRun } from './helpers';

interface Seen { url: string; headers: http.IncomingHttpHeaders; sha: string; len: number }

describe('option http-buffer-request', () => {
  let run: ProxyRun;
  let origin: http.Server;
  let buffered = 0;
  let plain = 0;
  let originConns = 0;
  const seen: Seen[] = [];
  const waiters: Array<() => void> = [];
  const nextRequest = (): Promise<Seen> => new Promise(resolve => {
    const n = seen.length;
    const check = (): void => { if (seen.length > n) resolve(seen[n]); else waiters.push(check); };
    check();
  });

  before(async () => {
    origin = http.createServer((req, res) => {
      const h = createHash('sha256');
      let len = 0;
      req.on('data', (d: Buffer) => { h.update(d); len += d.length; });
      req.on('end', () => {
        seen.push({ url: req.url!, headers: req.headers, sha: h.digest('hex'), len });
        for (const w of waiters.splice(0)) w();
        res.writeHead(200, { 'content-length': 2 });
        res.end('ok');
      });
    });
    origin.on('connection', () => { originConns++; });
    const o = await new Promise<number>(r => origin.listen(0, '127.0.0.1', () => r((origin.address() as net.AddressInfo).port)));
    [buffered, plain] = await freePorts(2);
    run = await startProxy(`
global
  nbthread 1
defaults
  mode http
  timeout connect 2s
  timeout client 10s
  timeout server 10s
  timeout http-request 500ms
frontend buffered
  bind 127.0.0.1:${buffered}
  option http-buffer-request
  default_backend b
frontend plain
  bind 127.0.0.1:${plain}
  default_backend b
backend b
  server s1 127.0.0.1:${o}
`);
  });

  after(async () => {
    await run?.stop();
    origin?.close();
  });

  /** Resolves when the origin has accepted more than `n` connections, false if not within `ms`. */
  const connectsWithin = async (n: number, ms: number): Promise<boolean> => {
    if (originConns > n) return true;
    return new Promise(resolve => {
      const t = setTimeout(() => { origin.off('connection', on); resolve(false); }, ms);
      const on = (): void => { clearTimeout(t); origin.off('connection', on); resolve(true); };
      origin.on('connection', on);
    });
  };

  it('does not connect to the server until the whole body is there', async () => {
    const before0 = originConns;
    const c = await TcpClient.open(buffered);
    c.socket.write('POST /half HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234');
    // Without the option the server would be connected at once (checked below on `plain`).
    assert.equal(await connectsWithin(before0, 200), false, 'no server connection while the body is incomplete');
    const got = nextRequest();
    c.socket.write('56789');
    const s = await within(got, 5000, 'request at the origin');
    assert.equal(s.url, '/half');
    assert.equal(s.len, 10);
    await c.waitData('ok');
    c.socket.destroy();
  });

  it('control: without the option the server is connected before the body ends', async () => {
    const before0 = originConns;
    const c = await TcpClient.open(plain);
    c.socket.write('POST /half HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234');
    assert.equal(await connectsWithin(before0, 5000), true);
    const got = nextRequest();
    c.socket.write('56789');
    await within(got, 5000, 'request at the origin');
    await c.waitData('ok');
    c.socket.destroy();
  });

  it('answers Expect: 100-continue itself and does not forward the Expect field', async () => {
    const c = await TcpClient.open(buffered);
    c.socket.write('PUT /cont HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n');
    await c.waitData('HTTP/1.1 100 Continue\r\n\r\n');
    const got = nextRequest();
    c.socket.write('body');
    const s = await within(got, 5000, 'request at the origin');
    assert.equal(s.headers.expect, undefined);
    assert.equal(s.len, 4);
    await c.waitData('ok');
    assert.match(c.text, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
    c.socket.destroy();
  });

  it('answers 408 when the body does not arrive within timeout http-request, and the server sees nothing', async () => {
    const before0 = originConns;
    const c = await TcpClient.open(buffered);
    c.socket.write('POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc');
    await within(c.ended, 5000, '408');
    assert.match(c.text, /^HTTP\/1\.1 408 Request Time-out\r\n/);
    assert.equal(originConns, before0, 'no server connection');
    c.socket.destroy();
  });

  it('connects once a buffer is full and streams the rest of a large body', async () => {
    const body = randomBytes(300_000);
    const got = nextRequest();
    const c = await TcpClient.open(buffered);
    c.socket.write(`POST /large HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`);
    c.socket.write(body);
    const s = await within(got, 5000, 'request at the origin');
    assert.equal(s.len, body.length);
    assert.equal(s.sha, createHash('sha256').update(body).digest('hex'));
    await c.waitData('ok');
    c.socket.destroy();
  });

  it('waits for a whole chunked body too', async () => {
    const before0 = originConns;
    const c = await TcpClient.open(buffered);
    c.socket.write('POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
    assert.equal(await connectsWithin(before0, 200), false, 'no server connection before the last chunk');
    const got = nextRequest();
    c.socket.write('0\r\n\r\n');
    const s = await within(got, 5000, 'request at the origin');
    assert.equal(s.len, 5);
    await c.waitData('ok');
    c.socket.destroy();
  });
});
