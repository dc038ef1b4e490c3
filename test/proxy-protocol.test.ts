/**
 * The PROXY protocol with the real master: `bind ... accept-proxy` (v1 and
 * v2, mode tcp and mode http; the logged client is the header's), refused
 * headers (closed, nothing reaches the origin, HAProxy's handshake log
 * line), the handshake timeout (`timeout client`), `server ... send-proxy` /
 * `send-proxy-v2` + `proxy-v2-options` toward raw origins that record the
 * bytes, private server connections in mode http, and Switchyard chained to
 * itself. Expected log lines and bytes are HAProxy 2.6.12's for the same
 * traffic (packages/core/test/proxy-protocol.test.ts has the captures).
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import * as http from 'node:http';
import { join } from 'node:path';
import type * as PP from '../packages/core/src/engine/proxy-protocol';
import {
  ROOT, TcpClient, freePorts, logMark, parseTcplog, runSwitchyard, startProxy, tempDir, waitForLog, within, writeConfig,
  type Master, type ProxyRun,
} from './helpers';

// The test package does not depend on @switchyard/core by name: load its build.
const pp = require(join(ROOT, 'packages', 'core', 'dist', 'src', 'engine', 'proxy-protocol.js')) as typeof PP;

/** A raw origin that records what each connection brings, and ends when the client does. */
class RecordingOrigin {
  readonly server: net.Server;
  readonly conns: Array<{ data: Buffer; ended: boolean }> = [];
  private waiters: Array<() => void> = [];

  constructor() {
    this.server = net.createServer({ allowHalfOpen: true }, s => {
      const rec = { data: Buffer.alloc(0), ended: false };
      this.conns.push(rec);
      s.on('data', (d: Buffer) => { rec.data = Buffer.concat([rec.data, d]); this.wake(); });
      s.on('end', () => { rec.ended = true; s.end(); this.wake(); });
      s.on('error', () => { /* client went away */ });
      this.wake();
    });
  }

  listen(): Promise<number> {
    return new Promise(resolve => this.server.listen(0, '127.0.0.1', () => resolve((this.server.address() as net.AddressInfo).port)));
  }

  private wake(): void { for (const w of this.waiters.splice(0)) w(); }

  /** Connection number `i` once it has ended (its client's EOF reached us). */
  async ended(i: number, ms = 10_000): Promise<Buffer> {
    const wait = async (): Promise<Buffer> => {
      while (!(this.conns[i]?.ended)) await new Promise<void>(r => this.waiters.push(r));
      return this.conns[i].data;
    };
    return within(wait(), ms, `origin connection ${i} ended`);
  }

  close(): Promise<void> { return new Promise(resolve => this.server.close(() => resolve())); }
}

/**
 * An HTTP origin behind send-proxy: reads the PROXY v1 line each connection
 * starts with, then answers every request with the header's source address
 * and the connection's number.
 */
class ProxiedHttpOrigin {
  readonly server: net.Server;
  conns = 0;
  readonly headers: string[] = [];

  constructor() {
    this.server = net.createServer(s => {
      const id = ++this.conns;
      let buf = '';
      let src: string | null = null;
      s.setEncoding('latin1');
      s.on('error', () => { /* client went away */ });
      s.on('data', (d: string) => {
        buf += d;
        if (src === null) {
          const i = buf.indexOf('\r\n');
          if (i < 0) return;
          const line = buf.slice(0, i);
          this.headers.push(line);
          const w = line.split(' ');
          src = `${w[2]} ${w[4]}`;
          buf = buf.slice(i + 2);
        }
        for (let e = buf.indexOf('\r\n\r\n'); e >= 0; e = buf.indexOf('\r\n\r\n')) {
          buf = buf.slice(e + 4);
          const body = `${src} conn=${id}`;
          s.write(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
        }
      });
    });
  }

  listen(): Promise<number> {
    return new Promise(resolve => this.server.listen(0, '127.0.0.1', () => resolve((this.server.address() as net.AddressInfo).port)));
  }

  close(): Promise<void> { return new Promise(resolve => this.server.close(() => resolve())); }
}

/** The first complete line on the master's stdout after `from` that matches `re`. */
function waitLine(master: Master, re: RegExp, from: number, ms = 10_000): Promise<string> {
  const stdout = master.child.stdout!;
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const line = master.stdout.slice(from).split('\n').slice(0, -1).find(l => re.test(l));
      if (line === undefined) return false;
      clearTimeout(timer);
      stdout.off('data', check);
      resolve(line);
      return true;
    };
    const timer = setTimeout(() => { stdout.off('data', check); reject(new Error(`no log line ${re} within ${ms} ms:\n${master.stdout.slice(from)}`)); }, ms);
    if (!check()) stdout.on('data', check);
  });
}

/** One HTTP/1.1 response (content-length framed) read from a raw client. */
async function response(c: TcpClient, from: number): Promise<{ status: number; body: string; end: number }> {
  for (;;) {
    const text = c.received.subarray(from).toString('latin1');
    const h = text.indexOf('\r\n\r\n');
    if (h >= 0) {
      const m = /content-length: *(\d+)/i.exec(text.slice(0, h));
      const len = m ? Number(m[1]) : 0;
      if (text.length >= h + 4 + len) {
        return { status: Number(text.slice(9, 12)), body: text.slice(h + 4, h + 4 + len), end: from + h + 4 + len };
      }
    }
    await c.waitData(c.received.length + 1);
  }
}

/** A v2 PROXY header for TCP over IPv4 or IPv6 with optional TLVs. */
function v2Header(src: string, sport: number, dst: string, dport: number, tlvs: Buffer[] = []): Buffer {
  return withTlvs(pp.buildProxyV2({ srcIp: src, srcPort: sport, dstIp: dst, dstPort: dport }, 0, null), tlvs);
}

function withTlvs(h: Buffer, tlvs: Buffer[]): Buffer {
  const out = Buffer.concat([h, ...tlvs]);
  out.writeUInt16BE(out.length - 16, 14);
  return out;
}

function tlv(type: number, value: string): Buffer {
  const v = Buffer.from(value);
  const t = Buffer.alloc(3);
  t[0] = type; t.writeUInt16BE(v.length, 1);
  return Buffer.concat([t, v]);
}

const DATE = '\\d\\d/[A-Z][a-z]{2}/\\d{4}:\\d\\d:\\d\\d:\\d\\d\\.\\d{3}';

describe('PROXY protocol', () => {
  let run: ProxyRun;
  const rec = new RecordingOrigin();
  const recV1 = new RecordingOrigin();
  const recV2 = new RecordingOrigin();
  const ppHttp = new ProxiedHttpOrigin();
  let httpOrigin: http.Server;
  let ports: Record<string, number> = {};

  before(async () => {
    const oRec = await rec.listen();
    const oV1 = await recV1.listen();
    const oV2 = await recV2.listen();
    const oPpHttp = await ppHttp.listen();
    httpOrigin = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end(req.url === '/hdr' ? `${req.headers['x-forwarded-for']}|${req.headers['x-original-to']}` : `${req.method} ${req.url}`));
    });
    await new Promise<void>(r => httpOrigin.listen(0, '127.0.0.1', () => r()));
    const oHttp = (httpOrigin.address() as net.AddressInfo).port;
    const names = ['tcp', 'short', 'http', 'send1', 'send2', 'httpSend', 'chainFront', 'chainBack', 'mapPort'];
    const p = await freePorts(names.length);
    ports = Object.fromEntries(names.map((n, i) => [n, p[i]]));
    run = await startProxy([
      'global',
      '    nbthread 1',
      '    log stdout format raw local0',
      'defaults',
      '    log global',
      '    timeout connect 5s',
      '    timeout client 10s',
      '    timeout server 10s',
      'frontend fe_tcp',
      '    option tcplog',
      `    bind 127.0.0.1:${ports.tcp} accept-proxy`,
      '    default_backend be_rec',
      'frontend fe_short',
      '    option tcplog',
      '    option dontlognull',
      '    timeout client 300ms',
      `    bind 127.0.0.1:${ports.short} accept-proxy name short`,
      '    default_backend be_rec',
      'frontend fe_http',
      '    mode http',
      '    option httplog',
      '    option forwardfor',
      '    option originalto',
      `    bind 127.0.0.1:${ports.http} accept-proxy`,
      '    default_backend be_http',
      'frontend fe_send1',
      `    bind 127.0.0.1:${ports.send1}`,
      '    default_backend be_send1',
      'frontend fe_send2',
      `    bind 127.0.0.1:${ports.send2} accept-proxy`,
      '    default_backend be_send2',
      'frontend fe_http_send',
      '    mode http',
      `    bind 127.0.0.1:${ports.httpSend} accept-proxy`,
      '    default_backend be_http_send',
      'frontend fe_chain_front',
      `    bind 127.0.0.1:${ports.chainFront}`,
      '    default_backend be_chain',
      'frontend fe_chain_back',
      '    option tcplog',
      `    bind 127.0.0.1:${ports.chainBack} accept-proxy`,
      '    default_backend be_rec',
      'frontend fe_map_port',
      `    bind 127.0.0.1:${ports.mapPort} accept-proxy`,
      '    default_backend be_map_port',
      'backend be_rec',
      `    server s 127.0.0.1:${oRec}`,
      'backend be_map_port',
      '    server s 127.0.0.1',
      'backend be_http',
      '    mode http',
      `    server s 127.0.0.1:${oHttp}`,
      'backend be_send1',
      `    server s 127.0.0.1:${oV1} send-proxy`,
      'backend be_send2',
      '    default-server send-proxy proxy-v2-options authority,unique-id',
      `    server s 127.0.0.1:${oV2} send-proxy-v2 proxy-v2-options ssl,cert-cn,crc32c`,
      'backend be_http_send',
      '    mode http',
      '    http-reuse always',
      `    server s 127.0.0.1:${oPpHttp} send-proxy`,
      'backend be_chain',
      `    server s 127.0.0.1:${ports.chainBack} send-proxy-v2`,
      '',
    ].join('\n'));
  });

  after(async () => {
    await run?.stop();
    await Promise.all([rec.close(), recV1.close(), recV2.close(), ppHttp.close(), new Promise(r => httpOrigin.close(r))]);
  });

  /** Open a client, write `chunks` one after another (each once the previous is written), then end. */
  async function send(port: number, chunks: Array<Buffer | string>, end = true): Promise<TcpClient> {
    const c = await TcpClient.open(port, { allowHalfOpen: false });
    for (const ch of chunks) await new Promise<void>((resolve, reject) => c.socket.write(ch, e => (e ? reject(e) : resolve())));
    if (end) c.socket.end();
    return c;
  }

  it('tcp, v1: the bytes after the header reach the server, the log shows the header\'s client', async () => {
    const mark = logMark(run.master);
    const n = rec.conns.length;
    const c = await send(ports.tcp, ['PROXY TCP4 192.0.2.1 198.51.100.2 40001 443\r\nhello']);
    assert.equal((await rec.ended(n)).toString(), 'hello');
    await within(c.closed, 5000, 'client closed');
    const l = parseTcplog(await waitLine(run.master, /^192\.0\.2\.1:40001 /, mark));
    assert.equal(`${l.fe} ${l.be}/${l.srv} ${l.ts}`, 'fe_tcp be_rec/s --');
  });

  it('tcp, v2 over IPv6 written in pieces, data in a later write', async () => {
    const mark = logMark(run.master);
    const n = rec.conns.length;
    const h = v2Header('2001:db8::7', 40002, '2001:db8::8', 443, [tlv(0x04, 'pad')]);
    const c = await send(ports.tcp, [h.subarray(0, 5), h.subarray(5, 20), h.subarray(20), 'world']);
    assert.equal((await rec.ended(n)).toString(), 'world');
    await within(c.closed, 5000, 'client closed');
    const line = await waitLine(run.master, /^2001:db8::7:40002 \[/, mark);
    assert.match(line, / fe_tcp be_rec\/s \d+\/\d+\/\d+ 0 -- /);
  });

  it('tcp, v2 LOCAL and v1 UNKNOWN keep the connection\'s own address', async () => {
    const mark = logMark(run.master);
    const n = rec.conns.length;
    const local = Buffer.concat([pp.buildProxyV2(null, 0, null), Buffer.from('local')]);
    const a = await send(ports.tcp, [local]);
    assert.equal((await rec.ended(n)).toString(), 'local');
    const la = parseTcplog(await waitForLog(run.master, a.localPort, { from: mark, fe: 'fe_tcp' }));
    assert.equal(la.ts, '--');
    const b = await send(ports.tcp, ['PROXY UNKNOWN\r\nunknown']);
    assert.equal((await rec.ended(n + 1)).toString(), 'unknown');
    await waitForLog(run.master, b.localPort, { from: mark, fe: 'fe_tcp' });
  });

  it('a bad header closes the connection; nothing reaches the server; HAProxy\'s handshake line is logged', async () => {
    const cases: Array<[string, string]> = [
      ['PROXY TCP4 192.0.2.1 198.51.100.2 1 99999\r\nhello', 'Received an invalid PROXY protocol header'],
      ['GET / HTTP/1.1\r\nhost: a\r\n\r\n', 'Received something which does not look like a PROXY protocol header'],
      ['PROXY TCP9 192.0.2.1\r\n', 'Received an unhandled protocol in the PROXY protocol header'],
    ];
    const n = rec.conns.length;
    for (const [bytes, msg] of cases) {
      const mark = logMark(run.master);
      const c = await send(ports.tcp, [bytes], false);
      await within(c.closed, 5000, 'closed by the proxy');
      assert.equal(c.received.length, 0);
      const line = await waitLine(run.master, new RegExp(`^127\\.0\\.0\\.1:${c.localPort} `), mark);
      assert.match(line, new RegExp(`^127\\.0\\.0\\.1:${c.localPort} \\[${DATE}\\] fe_tcp/1: ${msg}$`));
    }
    // Also in mode http: no 400, just the close.
    const mark = logMark(run.master);
    const h = await send(ports.http, ['GET / HTTP/1.1\r\nhost: a\r\n\r\n'], false);
    await within(h.closed, 5000, 'closed by the proxy');
    assert.equal(h.received.length, 0);
    assert.match(await waitLine(run.master, new RegExp(`^127\\.0\\.0\\.1:${h.localPort} `), mark),
      /\] fe_http\/1: Received something which does not look like a PROXY protocol header$/);
    assert.equal(rec.conns.length, n, 'no connection reached the origin');
  });

  it('a header cut by the client\'s close is "truncated"; a silent one times out after timeout client', async () => {
    const mark = logMark(run.master);
    const t = await send(ports.tcp, ['PROXY TCP4 192.0.2.1 198.51']);
    await within(t.closed, 5000, 'closed');
    assert.match(await waitLine(run.master, new RegExp(`^127\\.0\\.0\\.1:${t.localPort} `), mark), /\] fe_tcp\/1: Truncated PROXY protocol header received$/);

    const s = await send(ports.short, ['PROXY TCP4 192.0.2.1'], false);
    await within(s.closed, 5000, 'closed by the handshake timeout');
    // Not at once (the event timestamps are the test process's: some slack below 300 ms).
    assert.ok(s.closeAt - s.connectedAt >= 200, `closed after ${s.closeAt - s.connectedAt} ms, timeout client is 300 ms`);
    assert.match(await waitLine(run.master, new RegExp(`^127\\.0\\.0\\.1:${s.localPort} `), mark),
      /\] fe_short\/short: Timeout while waiting for PROXY protocol header$/);
  });

  it('option dontlognull: connections that sent nothing are not logged', async () => {
    const mark = logMark(run.master);
    const empty = await send(ports.short, []);
    await within(empty.closed, 5000, 'empty closed');
    const idle = await send(ports.short, [], false);
    await within(idle.closed, 5000, 'idle connection timed out');
    // Logged after the two above (one worker, ordered events).
    const bad = await send(ports.short, ['XX'], false);
    await within(bad.closed, 5000, 'bad closed');
    await waitLine(run.master, new RegExp(`^127\\.0\\.0\\.1:${bad.localPort} `), mark);
    const lines = run.master.stdout.slice(mark).split('\n').filter(l => l.includes('fe_short/'));
    assert.equal(lines.length, 1, lines.join('\n'));
  });

  it('http: the header\'s client is logged for every request of the connection; the request may share the header\'s read', async () => {
    const mark = logMark(run.master);
    const c = await send(ports.http, ['PROXY TCP4 198.51.100.77 198.51.100.2 40010 80\r\nGET /one HTTP/1.1\r\nhost: a\r\n\r\n'], false);
    const r1 = await response(c, 0);
    assert.deepEqual([r1.status, r1.body], [200, 'GET /one']);
    c.socket.write('GET /two HTTP/1.1\r\nhost: a\r\n\r\n');
    const r2 = await response(c, r1.end);
    assert.deepEqual([r2.status, r2.body], [200, 'GET /two']);
    c.socket.end();
    await within(c.closed, 5000, 'closed');
    await waitLine(run.master, /^198\.51\.100\.77:40010 .*"GET \/two HTTP\/1\.1"$/, mark);
    const lines = run.master.stdout.slice(mark).split('\n').filter(l => l.startsWith('198.51.100.77:40010 ['));
    assert.equal(lines.length, 2);
    assert.match(lines[0], / fe_http be_http\/s \d+\/\d+\/\d+\/\d+\/\d+ 200 \d+ - - ---- .*"GET \/one HTTP\/1\.1"$/);

    // v2, header and request in separate writes.
    const d = await send(ports.http, [v2Header('2001:db8::99', 40011, '2001:db8::1', 80), 'GET /three HTTP/1.1\r\nhost: a\r\n\r\n'], false);
    assert.equal((await response(d, 0)).body, 'GET /three');
    d.socket.end();
    await waitLine(run.master, /^2001:db8::99:40011 .*"GET \/three HTTP\/1\.1"$/, mark);
  });

  it('http: X-Forwarded-For and X-Original-To carry the PROXY header\'s source and destination', async () => {
    const c = await send(ports.http, ['PROXY TCP4 198.51.100.78 198.51.100.3 40012 8080\r\nGET /hdr HTTP/1.1\r\nhost: a\r\n\r\n'], false);
    assert.equal((await response(c, 0)).body, '198.51.100.78|198.51.100.3');
    c.socket.end();
  });

  it('send-proxy: the server gets a v1 line with the client\'s real addresses, then the data', async () => {
    const n = recV1.conns.length;
    const c = await send(ports.send1, ['abc']);
    const got = (await recV1.ended(n)).toString('latin1');
    assert.equal(got, `PROXY TCP4 127.0.0.1 127.0.0.1 ${c.localPort} ${ports.send1}\r\nabc`);
  });

  it('send-proxy-v2 + proxy-v2-options (default-server adds to them): the header\'s addresses and AUTHORITY passed on, byte for byte as HAProxy', async () => {
    const mark = logMark(run.master);
    const n = recV2.conns.length;
    const h = v2Header('192.0.2.1', 12345, '198.51.100.2', 443, [tlv(0x02, 'example.com')]);
    await send(ports.send2, [Buffer.concat([h, Buffer.from('hello')])]);
    const got = await recV2.ended(n);
    // haproxy 2.6.12 with `send-proxy-v2 proxy-v2-options authority,unique-id,ssl,cert-cn,crc32c` for the same client header:
    const haproxy = '0d0a0d0a000d0a515549540a2111002cc0000201c6336402303901bb0300047eeb9b1902000b6578616d706c652e636f6d0500002000050000000000';
    assert.equal(got.toString('hex'), haproxy + Buffer.from('hello').toString('hex'));
    // The default log line names the header's addresses (HAProxy's frontend_accept()).
    assert.equal(await waitLine(run.master, /^Connect from 192\.0\.2\.1:12345 /, mark), 'Connect from 192.0.2.1:12345 to 198.51.100.2:443 (fe_send2/TCP)');
  });

  it('http + send-proxy: a server connection carries one client: kept for that client\'s next request, never given to another', async () => {
    const base = ppHttp.conns;
    const a = await send(ports.httpSend, ['PROXY TCP4 10.1.1.1 10.0.0.1 1111 80\r\nGET /a1 HTTP/1.1\r\nhost: a\r\n\r\n'], false);
    const a1 = await response(a, 0);
    a.socket.write('GET /a2 HTTP/1.1\r\nhost: a\r\n\r\n');
    const a2 = await response(a, a1.end);
    assert.equal(a1.body, `10.1.1.1 1111 conn=${base + 1}`);
    assert.equal(a2.body, `10.1.1.1 1111 conn=${base + 1}`, 'same client: the connection is reused');
    // Client A is still connected, its server connection idle (http-reuse always would share it).
    const b = await send(ports.httpSend, ['PROXY TCP4 10.2.2.2 10.0.0.1 2222 80\r\nGET /b1 HTTP/1.1\r\nhost: a\r\n\r\n'], false);
    const b1 = await response(b, 0);
    assert.equal(b1.body, `10.2.2.2 2222 conn=${base + 2}`, 'another client: its own connection and header');
    a.socket.end();
    b.socket.end();
    await Promise.all([within(a.closed, 5000, 'a closed'), within(b.closed, 5000, 'b closed')]);
  });

  it('a server without a port gets the destination port of the client\'s PROXY header', async () => {
    const n = rec.conns.length;
    const oRec = (rec.server.address() as net.AddressInfo).port;
    await send(ports.mapPort, [`PROXY TCP4 192.0.2.5 127.0.0.1 40020 ${oRec}\r\nmapped`]);
    assert.equal((await rec.ended(n)).toString(), 'mapped');
  });

  it('chained: Switchyard → send-proxy-v2 → Switchyard accept-proxy logs the original client', async () => {
    const mark = logMark(run.master);
    const n = rec.conns.length;
    const c = await send(ports.chainFront, ['chain']);
    assert.equal((await rec.ended(n)).toString(), 'chain');
    const l = parseTcplog(await waitForLog(run.master, c.localPort, { from: mark, fe: 'fe_chain_back' }));
    assert.equal(`${l.ip}:${l.port} ${l.fe} ${l.be}/${l.srv} ${l.ts}`, `127.0.0.1:${c.localPort} fe_chain_back be_rec/s --`);
  });
});

describe('PROXY protocol configuration', () => {
  it('keywords are checked with file:line', async () => {
    const t = tempDir('sy-pp-');
    try {
      const cfg = writeConfig(t.dir, [
        'frontend fe',
        '    bind 127.0.0.1:1 accept-proxy',
        '    default_backend be',
        'backend be',
        '    default-server send-proxy-v2',
        '    server a 127.0.0.1:2 proxy-v2-options crc32c,bogus',
        '    server b 127.0.0.1:3 send-proxy proxy-v2-options',
        '',
      ].join('\n'));
      const r = await runSwitchyard(['-c', '-f', cfg]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      const out = r.stdout + r.stderr;
      assert.match(out, /\[[^\]]*switchyard\.cfg:6\][^\n]*unknown proxy v2 option 'bogus'/);
      assert.match(out, /\[[^\]]*switchyard\.cfg:7\][^\n]*'proxy-v2-options' expects 1 argument/);
      assert.doesNotMatch(out, /switchyard\.cfg:[25]\]/);
    } finally {
      t.cleanup();
    }
  });
});
