/**
 * HTTP counters in `show stat`: req_tot and hrsp_* for the frontend, the
 * backend and the server, counted as HAProxy 2.6 does (frontend: every
 * request, malformed ones included; backend: every transaction that got a
 * status; server: the responses it sent). Summed over two workers.
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import { join } from 'node:path';
import { startMaster, tempDir, writeConfig, apiCommand, parseStatCsv, statRow, freePorts, TcpClient, type Master } from './helpers';

describe('http counters in show stat', () => {
  let master: Master;
  let origin: http.Server;
  let port = 0;
  const tmp = tempDir('sy-stats-');
  const sock = join(tmp.dir, 'api.sock');

  before(async () => {
    origin = http.createServer((req, res) => {
      const status = req.url === '/404' ? 404 : req.url === '/500' ? 500 : 200;
      res.writeHead(status, { 'content-length': 2 });
      res.end('ok');
    });
    const o = await new Promise<number>(r => origin.listen(0, '127.0.0.1', () => r((origin.address() as net.AddressInfo).port)));
    [port] = await freePorts(1);
    const dead = (await freePorts(1))[0];
    master = await startMaster(writeConfig(tmp.dir, `
global
  nbthread 2
  stats socket ${sock} level admin
defaults
  mode http
  timeout connect 2s
  timeout client 10s
  timeout server 10s
frontend fe
  bind 127.0.0.1:${port}
  default_backend be
backend be
  server s1 127.0.0.1:${o}
backend unused
  server dead 127.0.0.1:${dead}
`));
  });

  after(async () => {
    await master?.stop();
    origin?.close();
    tmp.cleanup();
  });

  it('counts requests and status classes per frontend, backend and server', async () => {
    const ask = async (path: string): Promise<string> => {
      const c = await TcpClient.open(port);
      c.socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      await c.ended;
      c.socket.destroy();
      return c.text;
    };
    for (let i = 0; i < 5; i++) assert.match(await ask('/'), /^HTTP\/1\.1 200 /);
    assert.match(await ask('/404'), /^HTTP\/1\.1 404 /);
    assert.match(await ask('/500'), /^HTTP\/1\.1 500 /);
    // Malformed: answered by the proxy, counted by the frontend only.
    const bad = await TcpClient.open(port);
    bad.socket.write('GET / HTTP/1.1\r\nHost: x\r\nBad Name: y\r\n\r\n');
    await bad.ended;
    bad.socket.destroy();
    assert.match(bad.text, /^HTTP\/1\.1 400 /);

    const rows = parseStatCsv(await apiCommand(sock, 'show stat'));
    const fe = statRow(rows, 'fe', 'FRONTEND');
    assert.equal(fe.req_tot, '8');
    assert.equal(fe.hrsp_2xx, '5');
    assert.equal(fe.hrsp_4xx, '2');
    assert.equal(fe.hrsp_5xx, '1');
    assert.equal(fe.hrsp_1xx, '0');
    assert.equal(fe.hrsp_other, '0');
    const be = statRow(rows, 'be', 'BACKEND');
    assert.equal(be.req_tot, '7');
    assert.equal(be.hrsp_2xx, '5');
    assert.equal(be.hrsp_4xx, '1');
    assert.equal(be.hrsp_5xx, '1');
    const s1 = statRow(rows, 'be', 's1');
    assert.equal(s1.req_tot, '7');
    assert.equal(s1.hrsp_2xx, '5');
    assert.equal(s1.hrsp_4xx, '1');
    assert.equal(s1.hrsp_5xx, '1');
    const unused = statRow(rows, 'unused', 'BACKEND');
    assert.equal(unused.req_tot, '0');
  });
});
