/**
 * `retry-on` and `option redispatch` in mode http through the real master:
 * origins that fail in the way each keyword names (a 503, a connection
 * closed without a response, no response until `timeout server`), next to a
 * good one. Idempotent requests are retried on the good server and every
 * client sees a 200; a POST is never replayed; without the keyword the
 * failure reaches the client.
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import { freePorts, startProxy, type ProxyRun } from './helpers';

type Behaviour = 'ok' | '503' | 'close' | 'silent';

/** An origin that answers (or fails) every request the same way, counting requests. */
class FailingOrigin {
  readonly server: net.Server;
  requests = 0;
  constructor(private readonly how: Behaviour) {
    this.server = net.createServer(s => {
      s.on('error', () => { /* the proxy went away */ });
      let buf = '';
      s.on('data', d => {
        buf += d.toString('latin1');
        // One request at a time; a request is complete at its head (no bodies here but the POST's 4 bytes).
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const len = /content-length: *(\d+)/i.exec(buf.slice(0, end))?.[1];
        if (len !== undefined && buf.length < end + 4 + Number(len)) return;
        buf = '';
        this.requests++;
        if (this.how === 'ok') s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
        else if (this.how === '503') s.write('HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\n\r\nbusy');
        else if (this.how === 'close') s.destroy();
        // 'silent': never answers
      });
    });
  }
  listen(): Promise<number> {
    return new Promise(r => this.server.listen(0, '127.0.0.1', () => r((this.server.address() as net.AddressInfo).port)));
  }
  close(): Promise<void> { return new Promise(r => { this.server.close(() => r()); }); }
}

function request(port: number, method = 'GET', path = '/'): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, agent: false, headers: method === 'POST' ? { 'content-length': 4 } : {} }, res => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    req.end(method === 'POST' ? 'data' : undefined);
  });
}

describe('retry-on and option redispatch (mode http)', () => {
  let run: ProxyRun;
  const origins: Record<Behaviour, FailingOrigin> = {
    ok: new FailingOrigin('ok'), '503': new FailingOrigin('503'), close: new FailingOrigin('close'), silent: new FailingOrigin('silent'),
  };
  const fe: Record<string, number> = {};
  before(async () => {
    const p: Record<string, number> = {};
    for (const [k, o] of Object.entries(origins)) p[k] = await o.listen();
    const names = ['status', 'empty', 'timeout', 'none', 'noredisp'];
    const ports = await freePorts(names.length);
    names.forEach((n, i) => { fe[n] = ports[i]; });
    const backend = (name: string, bad: string, lines: string[]): string[] => [
      `listen ${name}`,
      `    bind 127.0.0.1:${fe[name]}`,
      ...lines,
      `    server bad 127.0.0.1:${p[bad]}`,
      `    server good 127.0.0.1:${p.ok}`,
    ];
    run = await startProxy([
      'global',
      '    nbthread 1',
      'defaults',
      '    mode http',
      '    timeout connect 2s',
      '    timeout client 5s',
      '    timeout server 5s',
      '    retries 2',
      ...backend('status', '503', ['    option redispatch', '    retry-on 503']),
      ...backend('empty', 'close', ['    option redispatch', '    retry-on empty-response']),
      ...backend('timeout', 'silent', ['    option redispatch', '    retry-on response-timeout', '    timeout server 300ms']),
      ...backend('none', 'close', ['    option redispatch']),
      ...backend('noredisp', '503', ['    retry-on 503']),
    ].join('\n') + '\n');
  });
  after(async () => {
    await run.stop();
    for (const o of Object.values(origins)) await o.close();
  });

  it('retry-on 503 + redispatch: every GET gets the good server\'s 200', async () => {
    const before = origins['503'].requests;
    const st: number[] = [];
    for (let i = 0; i < 6; i++) st.push(await request(fe.status));
    assert.deepEqual(st, [200, 200, 200, 200, 200, 200]);
    assert.ok(origins['503'].requests > before, 'the failing server was tried');
  });

  it('a POST is not replayed: the 503 reaches the client', async () => {
    const st = new Set<number>();
    for (let i = 0; i < 4; i++) st.add(await request(fe.status, 'POST'));
    assert.ok(st.has(503), `statuses ${[...st]}`);
  });

  it('retry-on empty-response: a connection closed without a response is retried', async () => {
    const before = origins.close.requests;
    for (let i = 0; i < 4; i++) assert.equal(await request(fe.empty), 200);
    assert.ok(origins.close.requests > before);
  });

  it('retry-on response-timeout: a server that does not answer within timeout server is left for another', async () => {
    const before = origins.silent.requests;
    for (let i = 0; i < 2; i++) assert.equal(await request(fe.timeout), 200);
    assert.ok(origins.silent.requests > before);
  });

  it('without retry-on empty-response the client gets the 502', async () => {
    const st = new Set<number>();
    for (let i = 0; i < 4; i++) st.add(await request(fe.none));
    assert.ok(st.has(502), `statuses ${[...st]}`);
  });

  it('without option redispatch the retries stay on the failing server: its 503 reaches the client', async () => {
    const before = origins['503'].requests;
    const st = new Set<number>();
    for (let i = 0; i < 4; i++) st.add(await request(fe.noredisp));
    assert.ok(st.has(503), `statuses ${[...st]}`);
    // Each request balanced onto `bad` was sent there 1 + retries (2) times.
    assert.equal((origins['503'].requests - before) % 3, 0);
  });
});
