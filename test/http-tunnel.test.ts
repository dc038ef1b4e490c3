/**
 * `mode http` tunnels: WebSocket (Upgrade → 101) with the `ws` library on
 * both ends, raw Upgrade and CONNECT tunnels with half-closes, a refused
 * upgrade staying plain HTTP, a 101 nobody asked for (502), and
 * `timeout tunnel`. Everything through the real master.
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { randomBytes } from 'node:crypto';
import { WebSocketServer, WebSocket } from 'ws';
import { startProxy, waitForLog, logMark, within, freePorts, TcpClient, type ProxyRun } from './helpers';
import { RawOrigin } from './http-wire';

/** httplog fields we look at: status, bytes, termination state. */
const HTTPLOG_RE = /\] (?<fe>\S+) (?<be>\S+)\/(?<srv>\S+) (?<TR>-?\d+)\/(?<Tw>-?\d+)\/(?<Tc>-?\d+)\/(?<Tr>-?\d+)\/(?<Ta>\d+) (?<st>-?\d+) (?<bytes>\d+) - - (?<ts>\S{4}) /;

function httplog(line: string): Record<string, string> {
  const m = HTTPLOG_RE.exec(line);
  assert.ok(m, `httplog line: ${line}`);
  return m.groups!;
}

function listening(server: WebSocketServer): Promise<number> {
  return new Promise(resolve => server.on('listening', () => resolve((server.address() as net.AddressInfo).port)));
}

describe('http tunnels', () => {
  let run: ProxyRun;
  let wss: WebSocketServer;
  let wsHeaders: Record<string, string | string[] | undefined> = {};
  let raw: RawOrigin;
  let rawPort = 0;
  let port = 0;
  let rawFePort = 0;

  before(async () => {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    wss.on('connection', (ws, req) => {
      wsHeaders = req.headers;
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    });
    const wsPort = await listening(wss);

    // A raw origin: `/upgrade` → 101 then echo with an uppercase prefix until EOF,
    // then a goodbye and FIN; `/refuse` → 200 with a body (upgrade refused);
    // `/unasked` → a 101 to a plain request; CONNECT → 200 then echo.
    raw = new RawOrigin(({ socket: s, head, rest }) => {
      const line = head.split('\r\n')[0];
      const echo = (): void => {
        if (rest.length) s.write(Buffer.concat([Buffer.from('ECHO:'), rest]));
        s.on('data', d => s.write(Buffer.concat([Buffer.from('ECHO:'), d])));
        s.on('end', () => s.end('BYE'));
      };
      if (line.startsWith('CONNECT ')) {
        s.write('HTTP/1.1 200 Connection established\r\n\r\n');
        return echo();
      }
      if (line.startsWith('GET /upgrade ')) {
        // The 101 and the first tunnel bytes in one segment.
        s.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: x-echo\r\nConnection: Upgrade\r\n\r\nHELLO');
        return echo();
      }
      if (line.startsWith('GET /refuse ')) {
        s.write('HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nrefused');
        return;
      }
      if (line.startsWith('GET /unasked ')) {
        s.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: x-echo\r\nConnection: Upgrade\r\n\r\n');
        return;
      }
      s.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
    });
    rawPort = await raw.listen();

    [port, rawFePort] = await freePorts(2);

    run = await startProxy(`
global
  nbthread 1
defaults
  mode http
  log stdout format raw local0
  option httplog
  timeout connect 2s
  timeout client 10s
  timeout server 10s
frontend ws
  bind 127.0.0.1:${port}
  default_backend bws
frontend raw
  bind 127.0.0.1:${rawFePort}
  default_backend braw
backend bws
  server s1 127.0.0.1:${wsPort}
backend braw
  timeout tunnel 400ms
  server s1 127.0.0.1:${rawPort}
`);
  });

  after(async () => {
    await run?.stop();
    wss?.close();
    await raw?.close();
  });

  it('relays a WebSocket conversation (text, binary, 1 MiB) and logs the 101 when it ends', async () => {
    const mark = logMark(run.master);
    const ws = new WebSocket(`ws://127.0.0.1:${port}/chat?room=1`);
    await within(new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); }), 5000, 'open');
    const localPort = (ws as unknown as { _socket: net.Socket })._socket.localPort!;
    const next = (): Promise<{ data: Buffer; binary: boolean }> => new Promise(resolve => ws.once('message', (d, b) => resolve({ data: d as Buffer, binary: b })));
    let r = next();
    ws.send('hello through the proxy');
    assert.deepEqual(await within(r, 5000, 'text echo'), { data: Buffer.from('hello through the proxy'), binary: false });
    const big = randomBytes(1 << 20);
    r = next();
    ws.send(big);
    const got = await within(r, 10_000, 'binary echo');
    assert.equal(got.binary, true);
    assert.ok(got.data.equals(big), 'binary message intact');
    assert.equal(wsHeaders.upgrade, 'websocket');
    assert.match(String(wsHeaders.connection), /upgrade/i);
    assert.ok(wsHeaders['sec-websocket-key'], 'handshake key forwarded');
    const closed = new Promise<number>(resolve => ws.once('close', code => resolve(code)));
    ws.close(1000, 'done');
    assert.equal(await within(closed, 5000, 'close'), 1000);
    const line = await waitForLog(run.master, localPort, { from: mark });
    const f = httplog(line);
    assert.equal(f.st, '101');
    assert.equal(f.ts, '----', line);
    assert.ok(Number(f.bytes) > (1 << 20), `bytes to the client include the tunnel: ${line}`);
    assert.match(line, /"GET \/chat\?room=1 HTTP\/1\.1"$/);
  });

  it('forwards early client bytes, bytes after the 101, and half-closes both ways', async () => {
    const c = await TcpClient.open(rawFePort);
    // Tunnel bytes sent right behind the request, before the 101.
    c.socket.write('GET /upgrade HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Upgrade\r\nUpgrade: x-echo\r\nX-Hop: no\r\n\r\nearly');
    await c.waitData('ECHO:early');
    assert.match(c.text, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
    assert.match(c.text, /\r\nupgrade: x-echo\r\n/i);
    assert.match(c.text, /\r\nconnection: upgrade\r\n/i);
    assert.ok(c.text.includes('\r\n\r\nHELLO'), 'bytes after the 101 head reach the client');
    const head = raw.heads[raw.heads.length - 1];
    assert.match(head, /\r\nupgrade: x-echo/i, 'Upgrade reaches the server');
    assert.match(head, /\r\nconnection: upgrade/i);
    c.socket.write('more');
    await c.waitData('ECHO:more');
    // Our FIN reaches the origin, which answers and closes: we get its last bytes, then EOF.
    c.socket.end();
    await within(c.ended, 5000, 'EOF after the server closed');
    assert.ok(c.text.endsWith('BYE'), c.text);
    await within(c.closed, 5000, 'closed');
  });

  it('keeps a refused upgrade as a plain HTTP exchange', async () => {
    const c = await TcpClient.open(rawFePort);
    c.socket.write('GET /refuse HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: x-echo\r\n\r\n');
    await c.waitData('refused');
    assert.match(c.text, /^HTTP\/1\.1 200 OK\r\n/);
    // The client connection is still usable.
    c.socket.write('GET /other HTTP/1.1\r\nHost: x\r\n\r\n');
    await c.waitData('404');
    c.socket.destroy();
  });

  it('answers 502 to a 101 the client did not ask for', async () => {
    const c = await TcpClient.open(rawFePort);
    c.socket.write('GET /unasked HTTP/1.1\r\nHost: x\r\n\r\n');
    await c.waitData('</html>');
    assert.match(c.text, /^HTTP\/1\.1 502 Bad Gateway\r\n/);
    c.socket.destroy();
  });

  it('relays a CONNECT tunnel after the 2xx', async () => {
    const c = await TcpClient.open(rawFePort);
    c.socket.write('CONNECT inner.example:443 HTTP/1.1\r\nHost: inner.example:443\r\n\r\n');
    await c.waitData('\r\n\r\n');
    assert.match(c.text, /^HTTP\/1\.1 200 Connection established\r\n/);
    assert.match(raw.heads[raw.heads.length - 1], /^CONNECT inner\.example:443 HTTP\/1\.1\r\n/);
    c.socket.write('ping');
    await c.waitData('ECHO:ping');
    c.socket.destroy();
  });

  it('closes an idle tunnel after timeout tunnel, not timeout client', async () => {
    const mark = logMark(run.master);
    const c = await TcpClient.open(rawFePort);
    c.socket.write('GET /upgrade HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: x-echo\r\n\r\n');
    await c.waitData('HELLO');
    const t0 = Date.now();
    await within(c.ended, 5000, 'tunnel timeout');
    const waited = Date.now() - t0;
    c.socket.destroy();
    assert.ok(waited >= 300 && waited < 5000, `closed after ${waited} ms (timeout tunnel 400ms, client 10s)`);
    const f = httplog(await waitForLog(run.master, c.localPort, { from: mark }));
    assert.equal(f.st, '101');
    assert.match(f.ts, /^[cs]D--$/);
  });
});
