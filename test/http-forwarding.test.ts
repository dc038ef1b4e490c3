/**
 * Request decoration and interception in mode http, through the real
 * master: `option forwardfor` / `originalto`, `monitor-uri`,
 * `option http-restrict-req-hdr-names`, `unique-id-format` / `-header`,
 * `capture request|response header`, `dispatch`. A raw origin on loopback
 * records every request head byte for byte; clients are raw sockets; the
 * log lines are read from the master's stdout. Expected bytes and log shapes
 * were taken from haproxy 2.6.12 on the same configuration.
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import {
  freePorts, startProxy, within, runSwitchyard, tempDir, writeConfig,
  TcpClient, waitForLog, logMark, logLinesFor, type ProxyRun,
} from './helpers';

/** A raw HTTP/1.1 origin: records each request head, answers 200 with a Location and a body naming the request. */
class HeadOrigin {
  readonly server: net.Server;
  readonly heads: string[] = [];
  port = 0;
  private waiters: Array<() => void> = [];
  constructor() {
    this.server = net.createServer(s => {
      let buf = '';
      s.on('error', () => { /* client side went away */ });
      s.on('data', (d: Buffer) => {
        buf += d.toString('latin1');
        let i: number;
        while ((i = buf.indexOf('\r\n\r\n')) >= 0) {
          const head = buf.slice(0, i + 4);
          buf = buf.slice(i + 4);
          this.heads.push(head);
          const body = `req-${this.heads.length}`;
          s.write(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nLocation: /moved/elsewhere\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
          for (const w of this.waiters.splice(0)) w();
        }
      });
    });
  }
  async listen(): Promise<void> {
    await new Promise<void>(r => this.server.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as net.AddressInfo).port;
  }
  close(): Promise<void> { return new Promise(r => this.server.close(() => r())); }
}

/** Header lines of a recorded head (after the request line). */
function headerLines(head: string): string[] {
  return head.split('\r\n').slice(1).filter(l => l !== '');
}

describe('http forwarding: forwardfor, originalto, monitor-uri, header-name policy, unique-id, captures, dispatch', () => {
  let run: ProxyRun;
  const origin = new HeadOrigin();
  let ports: Record<string, number> = {};

  before(async () => {
    await origin.listen();
    const names = ['main', 'uid', 'ifnone', 'except', 'custom', 'del', 'rej', 'disp'];
    const list = await freePorts(names.length);
    ports = Object.fromEntries(names.map((n, i) => [n, list[i]]));
    const fe = (name: string, be: string, lines: string[]): string[] =>
      [`frontend fe_${name}`, `    bind 127.0.0.1:${ports[name]}`, ...lines.map(l => `    ${l}`), `    default_backend ${be}`];
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
      ...fe('main', 'be_app', [
        'option forwardfor',
        'option originalto',
        'monitor-uri /health',
        'capture request header Host len 5',
        'capture request header X-Tag len 8',
        'capture request header X-Absent len 8',
        'capture response header Content-Type len 4',
        'capture response header Location len 6',
      ]),
      ...fe('uid', 'be_app', [
        'unique-id-format %{+X}o\\ %ci:%cp_%fi:%fp_%rt',
        'unique-id-header X-Unique-ID',
        'log-format "%ci:%cp %ft %b/%s %ST id=%ID %{+Q}r"',
      ]),
      ...fe('ifnone', 'be_app', ['option forwardfor if-none']),
      ...fe('except', 'be_app', ['option forwardfor except 127.0.0.0/8', 'option originalto except 127.0.0.1']),
      ...fe('custom', 'be_custom', ['option forwardfor header X-From-Frontend']),
      ...fe('del', 'be_app', ['option http-restrict-req-hdr-names delete']),
      ...fe('rej', 'be_app', ['option http-restrict-req-hdr-names reject']),
      ...fe('disp', 'be_disp', []),
      'backend be_app', `    server app 127.0.0.1:${origin.port}`,
      'backend be_custom', '    option forwardfor header X-Client-IP', `    server app 127.0.0.1:${origin.port}`,
      'backend be_disp', `    dispatch 127.0.0.1:${origin.port}`,
      '',
    ].join('\n'));
  });

  after(async () => {
    await run?.stop();
    await origin.close();
  });

  /** One request on a new connection; resolves with the head the origin got, the client, and the log line. */
  async function through(name: string, request: string, body = 'req-'): Promise<{ head: string; client: TcpClient; log: string }> {
    const mark = logMark(run.master);
    const n = origin.heads.length;
    const c = await TcpClient.open(ports[name]);
    c.socket.write(request);
    await within(c.waitData(body), 5000, `response via fe_${name}`);
    const log = await waitForLog(run.master, c.localPort, { from: mark, fe: `fe_${name}` });
    assert.equal(origin.heads.length, n + 1, 'one request reached the origin');
    return { head: origin.heads[n], client: c, log };
  }

  it('X-Forwarded-For and X-Original-To are appended after the fields, an existing X-Forwarded-For kept', async () => {
    const { head, client } = await through('main', 'GET /a HTTP/1.1\r\nHost: example.com\r\nX-Forwarded-For: 192.0.2.1\r\n\r\n');
    assert.deepEqual(headerLines(head), ['Host: example.com', 'X-Forwarded-For: 192.0.2.1', 'X-Forwarded-For: 127.0.0.1', 'X-Original-To: 127.0.0.1']);
    client.socket.destroy();
  });

  it('if-none: no header added when the request has one, added when it has none', async () => {
    const a = await through('ifnone', 'GET /a HTTP/1.1\r\nHost: h\r\nx-forwarded-for: 198.51.100.7\r\n\r\n');
    assert.deepEqual(headerLines(a.head), ['Host: h', 'x-forwarded-for: 198.51.100.7']);
    a.client.socket.destroy();
    const b = await through('ifnone', 'GET /b HTTP/1.1\r\nHost: h\r\n\r\n');
    assert.deepEqual(headerLines(b.head), ['Host: h', 'X-Forwarded-For: 127.0.0.1']);
    b.client.socket.destroy();
  });

  it('except: a client (or destination) in the network gets no header', async () => {
    const { head, client } = await through('except', 'GET / HTTP/1.1\r\nHost: h\r\n\r\n');
    assert.deepEqual(headerLines(head), ['Host: h']);
    client.socket.destroy();
  });

  it("custom header names: the backend's wins over the frontend's", async () => {
    const { head, client } = await through('custom', 'GET / HTTP/1.1\r\nHost: h\r\n\r\n');
    assert.deepEqual(headerLines(head), ['Host: h', 'X-Client-IP: 127.0.0.1']);
    client.socket.destroy();
  });

  it('captures: last occurrence, cut to len, in declaration order, in the httplog {…} blocks', async () => {
    const { head, client, log } = await through('main',
      'GET /cap HTTP/1.1\r\nHost: example.com\r\nX-Tag: first\r\nX-Tag: second-and-long\r\n\r\n');
    assert.match(head, /^GET \/cap HTTP\/1\.1\r\n/);
    assert.match(log, / fe_main be_app\/app [-\d/]+ 200 \d+ - - ---- [\d/]+ 0\/0 \{examp\|second-a\|\} \{text\|\/moved\} "GET \/cap HTTP\/1\.1"$/);
    client.socket.destroy();
  });

  it('monitor-uri: 200 with HAProxy bytes, never forwarded nor logged; the connection stays for the next request', async () => {
    const mark = logMark(run.master);
    const n = origin.heads.length;
    const c = await TcpClient.open(ports.main);
    c.socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    const page = 'HTTP/1.1 200 OK\r\ncontent-length: 58\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n' +
      '<html><body><h1>200 OK</h1>\nService ready.\n</body></html>\n';
    await within(c.waitData(page.length), 5000, 'monitor response');
    assert.equal(c.received.toString('latin1'), page);
    // A HEAD gets the head only (content-length kept), and the connection goes on.
    c.socket.write('HEAD /health HTTP/1.1\r\nHost: x\r\n\r\n');
    const head = page.slice(0, page.indexOf('\r\n\r\n') + 4);
    await within(c.waitData(page.length + head.length), 5000, 'monitor response to HEAD');
    assert.equal(c.received.toString('latin1'), page + head);
    // Same connection: a normal request goes through and is the only one logged.
    c.socket.write('GET /after HTTP/1.1\r\nHost: x\r\n\r\n');
    await within(c.waitData('req-'), 5000, 'request after the monitor one');
    const log = await waitForLog(run.master, c.localPort, { from: mark, fe: 'fe_main' });
    assert.match(log, /"GET \/after HTTP\/1\.1"$/);
    assert.equal(origin.heads.length, n + 1);
    assert.match(origin.heads[n], /^GET \/after /);
    assert.deepEqual(logLinesFor(run.master, c.localPort).filter(l => l.includes('/health')), []);
    // A monitor request with a body, or one that asks to close, closes.
    const c2 = await TcpClient.open(ports.main);
    c2.socket.write('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    await within(c2.ended, 5000, 'FIN after Connection: close');
    assert.match(c2.received.toString('latin1'), /^HTTP\/1\.1 200 OK\r\ncontent-length: 58\r\ncache-control: no-cache\r\ncontent-type: text\/html\r\nconnection: close\r\n\r\n/);
    const c3 = await TcpClient.open(ports.main);
    c3.socket.write('POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc');
    await within(c3.ended, 5000, 'FIN after a monitor request with a body');
    assert.match(c3.received.toString('latin1'), /^HTTP\/1\.1 200 OK\r\n[^]*connection: close\r\n\r\n/);
    assert.equal(origin.heads.length, n + 1, 'still nothing more at the origin');
    c.socket.destroy();
    c2.socket.destroy();
    c3.socket.destroy();
  });

  it('http-restrict-req-hdr-names delete: fields with other characters than [A-Za-z0-9-] removed', async () => {
    const { head, client } = await through('del', 'GET / HTTP/1.1\r\nHost: h\r\nX_A_B: 1\r\nX-Good: 2\r\nX.C: 3\r\nX-Last: 4\r\n\r\n');
    assert.deepEqual(headerLines(head), ['Host: h', 'X-Good: 2', 'X-Last: 4']);
    client.socket.destroy();
  });

  it('http-restrict-req-hdr-names reject: 403, nothing reaches the origin, logged PR--; keep-alive goes on', async () => {
    const mark = logMark(run.master);
    const n = origin.heads.length;
    const c = await TcpClient.open(ports.rej);
    c.socket.write('GET /r HTTP/1.1\r\nHost: h\r\nX_Forwarded-For: 1.2.3.4\r\n\r\n');
    const page = 'HTTP/1.1 403 Forbidden\r\ncontent-length: 93\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n' +
      '<html><body><h1>403 Forbidden</h1>\nRequest forbidden by administrative rules.\n</body></html>\n';
    await within(c.waitData(page.length), 5000, '403');
    assert.equal(c.received.toString('latin1'), page);
    const log = await waitForLog(run.master, c.localPort, { from: mark, fe: 'fe_rej' });
    assert.match(log, / fe_rej fe_rej\/<NOSRV> \d+\/-1\/-1\/-1\/\d+ 403 \d+ - - PR-- .*"GET \/r HTTP\/1\.1"$/);
    assert.equal(origin.heads.length, n, 'the origin received nothing');
    c.socket.write('GET /ok HTTP/1.1\r\nHost: h\r\n\r\n');
    await within(c.waitData('req-'), 5000, 'next request on the same connection');
    assert.match(origin.heads[n], /^GET \/ok /);
    c.socket.destroy();
  });

  it('unique-id: sent in the header, the same value logged as %ID, counter per request', async () => {
    const a = await through('uid', 'GET /u1 HTTP/1.1\r\nHost: h\r\n\r\n');
    const m = /\r\nX-Unique-ID: ([^\r]+)\r\n/.exec(a.head);
    assert.ok(m, a.head);
    const hex = (n: number, w: number): string => n.toString(16).toUpperCase().padStart(w, '0');
    const fp = hex(ports.uid, 4);
    // %{+X}o: hexadecimal IPs and ports.
    assert.match(m[1], new RegExp(`^7F000001:${hex(a.client.localPort, 4)}_7F000001:${fp}_[0-9A-F]{4,}$`));
    assert.ok(a.log.endsWith(` fe_uid be_app/app 200 id=${m[1]} "GET /u1 HTTP/1.1"`), a.log);
    const b = await through('uid', 'GET /u2 HTTP/1.1\r\nHost: h\r\n\r\n');
    const m2 = /\r\nX-Unique-ID: ([^\r]+)\r\n/.exec(b.head)!;
    assert.notEqual(m2[1], m[1]);
    a.client.socket.destroy();
    b.client.socket.destroy();
  });

  it('dispatch: a backend without servers sends to its dispatch address, logged as <NOSRV>', async () => {
    const { head, client, log } = await through('disp', 'GET /d HTTP/1.1\r\nHost: h\r\n\r\n');
    assert.match(head, /^GET \/d HTTP\/1\.1\r\n/);
    assert.match(log, / fe_disp be_disp\/<NOSRV> [-\d/]+ 200 /);
    client.socket.destroy();
  });
});

describe('http forwarding: configuration errors', () => {
  it('capture outside a frontend, bad len, unknown option argument: every error with file:line', async () => {
    const t = tempDir('sy-fwd-cfg-');
    try {
      const cfg = writeConfig(t.dir, [
        'defaults',
        '    mode http',
        '    capture request header Host len 5',
        'frontend f',
        '    bind 127.0.0.1:1',
        '    capture response header Location len x',
        '    option forwardfor sometimes',
        '    option http-restrict-req-hdr-names maybe',
        '    default_backend b',
        'backend b',
        '    capture request header Host len 5',
        '    dispatch 127.0.0.1',
        '',
      ].join('\n'));
      const r = await runSwitchyard(['-c', '-f', cfg]);
      assert.equal(r.code, 1);
      const out = r.stdout + r.stderr;
      for (const [line, text] of [
        [3, "'capture request' is not allowed in 'defaults' section"],
        [6, "invalid length 'x' for header 'Location'"],
        [7, "'option forwardfor' only supports optional values: 'except', 'header' and 'if-none'."],
        [8, "invalid parameter 'maybe'. option 'http-restrict-req-hdr-names' expects 'preserve', 'reject' or 'delete' option."],
        [11, "'capture request' is not allowed in 'backend' section"],
        [12, "missing port specification in '127.0.0.1'"],
      ] as const) {
        assert.ok(out.includes(`parsing [${cfg}:${line}] : `) && out.split('\n').some(l => l.includes(`[${cfg}:${line}]`) && l.includes(text)), `line ${line}: ${text}\n${out}`);
      }
    } finally {
      t.cleanup();
    }
  });
});
