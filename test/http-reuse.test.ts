/**
 * Server-side keep-alive and connection reuse in mode http (http-reuse,
 * pool-max-conn, pool-purge-delay, option http-keep-alive / http-server-close
 * / httpclose): the real master, node:http origins that count the
 * connections they get, and a raw origin that drops a reused connection as a
 * request reaches it. Waits are on origin and client events, never sleeps.
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import { freePorts, startProxy, within, runSwitchyard, tempDir, writeConfig, type ProxyRun } from './helpers';

interface Seen { method: string; url: string; connection: string | undefined; body: string; conn: number }

/** A node:http origin that numbers its connections and records every request. */
class CountingOrigin {
  readonly server: http.Server;
  port = 0;
  conns = 0;
  closes = 0;
  readonly seen: Seen[] = [];
  private waiters: Array<() => void> = [];

  /** keepAliveTimeout: node's idle close; finAfter: end the connection right after each response (still advertised keep-alive). */
  constructor(keepAliveTimeout?: number, finAfter = false) {
    const ids = new WeakMap<net.Socket, number>();
    this.server = http.createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (d: Buffer) => parts.push(d));
      req.on('end', () => {
        const body = Buffer.concat(parts).toString();
        this.seen.push({ method: req.method!, url: req.url!, connection: req.headers.connection, body, conn: ids.get(req.socket) ?? -1 });
        const text = `${req.method} ${req.url} ${body}`;
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text) });
        // A 1 ms timer lands around the time the next request arrives: both orders happen.
        if (finAfter) res.end(text, () => setTimeout(() => req.socket.end(), 1));
        else res.end(text);
        this.wake();
      });
    });
    if (keepAliveTimeout !== undefined) this.server.keepAliveTimeout = keepAliveTimeout;
    this.server.on('connection', (s: net.Socket) => {
      ids.set(s, ++this.conns);
      s.on('close', () => { this.closes++; this.wake(); });
      this.wake();
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>(r => this.server.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  private wake(): void { for (const w of this.waiters.splice(0)) w(); }

  /** Resolve once `cond` holds, re-checked on each origin event. */
  async until(cond: () => boolean, ms: number, what: string): Promise<void> {
    const wait = async (): Promise<void> => { while (!cond()) await new Promise<void>(r => this.waiters.push(r)); };
    await within(wait(), ms, what);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>(r => this.server.close(() => r()));
  }
}

interface Resp { status: number; headers: Map<string, string>; body: string }

/** A raw keep-alive client: one request at a time; responses carry content-length. */
class Client {
  readonly socket: net.Socket;
  private buf = Buffer.alloc(0);
  closed = false;
  private waiters: Array<() => void> = [];

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.on('data', d => { this.buf = Buffer.concat([this.buf, d]); this.wake(); });
    this.socket.on('error', () => { /* seen as close */ });
    this.socket.on('close', () => { this.closed = true; this.wake(); });
  }

  private wake(): void { for (const w of this.waiters.splice(0)) w(); }

  async request(method: string, path: string, body = '', extra = ''): Promise<Resp> {
    const len = body.length > 0 || method === 'POST' ? `Content-Length: ${Buffer.byteLength(body)}\r\n` : '';
    this.socket.write(`${method} ${path} HTTP/1.1\r\nHost: t\r\n${len}${extra}\r\n${body}`);
    return within(this.response(), 5000, `${method} ${path}`);
  }

  private async response(): Promise<Resp> {
    for (;;) {
      const eoh = this.buf.indexOf('\r\n\r\n');
      if (eoh >= 0) {
        const lines = this.buf.subarray(0, eoh).toString('latin1').split('\r\n');
        const headers = new Map<string, string>();
        for (const l of lines.slice(1)) { const i = l.indexOf(':'); headers.set(l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()); }
        const n = Number(headers.get('content-length') ?? 0);
        if (this.buf.length >= eoh + 4 + n) {
          const body = this.buf.subarray(eoh + 4, eoh + 4 + n).toString();
          this.buf = this.buf.subarray(eoh + 4 + n);
          return { status: Number(lines[0].split(' ')[1]), headers, body };
        }
      }
      if (this.closed) throw new Error(`closed before a complete response: ${JSON.stringify(this.buf.toString('latin1'))}`);
      await new Promise<void>(r => this.waiters.push(r));
    }
  }

  async waitClose(): Promise<void> { while (!this.closed) await new Promise<void>(r => this.waiters.push(r)); }

  destroy(): void { this.socket.destroy(); }
}

/**
 * A raw origin that answers the first request of each connection
 * (keep-alive) and drops the connection, unanswered, when a second request
 * arrives on it: the keep-alive race made deterministic.
 */
class DroppingOrigin {
  readonly server: net.Server;
  port = 0;
  conns = 0;
  readonly seen: Array<{ method: string; url: string; conn: number; dropped: boolean }> = [];

  constructor() {
    this.server = net.createServer(s => {
      const conn = ++this.conns;
      let n = 0;
      let buf = Buffer.alloc(0);
      s.on('error', () => {});
      s.on('data', d => {
        buf = Buffer.concat([buf, d]);
        for (;;) {
          const eoh = buf.indexOf('\r\n\r\n');
          if (eoh < 0) return;
          const head = buf.subarray(0, eoh).toString('latin1');
          const m = /\r\ncontent-length: *(\d+)/i.exec(head);
          const len = m ? Number(m[1]) : 0;
          if (buf.length < eoh + 4 + len) return;
          buf = buf.subarray(eoh + 4 + len);
          const [method, url] = head.split(' ');
          const dropped = n++ > 0;
          this.seen.push({ method, url, conn, dropped });
          if (dropped) { s.destroy(); return; }
          s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
        }
      });
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>(r => this.server.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as net.AddressInfo).port;
  }
}

describe('http reuse', () => {
  let run: ProxyRun;
  const o: Record<string, CountingOrigin> = {};
  const dropping = new DroppingOrigin();
  let ports: Record<string, number> = {};

  before(async () => {
    for (const name of ['safe', 'safe2', 'always', 'never', 'scl', 'clo', 'purge', 'nopool']) { o[name] = new CountingOrigin(); await o[name].listen(); }
    // node closes an idle keep-alive connection keepAliveTimeout after a
    // response (in practice ≈1 s for 1 ms); 'fin' ends it right after one.
    o.kat = new CountingOrigin(1);
    await o.kat.listen();
    o.fin = new CountingOrigin(undefined, true);
    await o.fin.listen();
    await dropping.listen();
    const names = ['safe', 'safe2', 'always', 'never', 'scl', 'clo', 'purge', 'nopool', 'kat', 'fin', 'drop'];
    const list = await freePorts(names.length);
    ports = Object.fromEntries(names.map((n, i) => [n, list[i]]));
    const lines = [
      'global', '    nbthread 1',
      'defaults', '    mode http', '    timeout connect 2s', '    timeout client 10s', '    timeout server 10s',
    ];
    const section = (name: string, port: number, extra: string[], server: string): void => {
      lines.push(`listen ${name}`, `    bind 127.0.0.1:${ports[name]}`, ...extra.map(l => `    ${l}`), `    server s1 127.0.0.1:${port}${server}`);
    };
    section('safe', o.safe.port, [], '');
    section('safe2', o.safe2.port, [], '');
    section('always', o.always.port, ['http-reuse always'], '');
    section('never', o.never.port, ['http-reuse never'], '');
    section('scl', o.scl.port, ['option http-server-close'], '');
    section('clo', o.clo.port, ['option httpclose'], '');
    section('purge', o.purge.port, ['http-reuse always'], ' pool-purge-delay 300ms');
    section('nopool', o.nopool.port, ['http-reuse always'], ' pool-max-conn 0');
    section('kat', o.kat.port, [], '');
    section('fin', o.fin.port, [], '');
    section('drop', dropping.port, [], '');
    run = await startProxy(lines.join('\n') + '\n');
  });

  after(async () => {
    await run?.stop();
    for (const x of Object.values(o)) await x.close();
    dropping.server.close();
  });

  it('20 sequential keep-alive requests from one client use one server connection', async () => {
    const c = new Client(ports.safe);
    for (let i = 0; i < 20; i++) {
      const r = await c.request('GET', `/r${i}`);
      assert.equal(r.status, 200);
      assert.equal(r.body, `GET /r${i} `);
    }
    assert.ok(o.safe.conns >= 1 && o.safe.conns <= 2, `origin saw ${o.safe.conns} connections`);
    // Keep-alive toward the server: HTTP/1.1 without a connection field.
    assert.equal(o.safe.seen[0].connection, undefined);
    assert.ok(!c.closed);
    c.destroy();
  });

  it('http-reuse always: successive clients share one server connection; safe: a first request never takes another session\'s', async () => {
    for (let i = 0; i < 5; i++) {
      const c = new Client(ports.always);
      assert.equal((await c.request('GET', `/a${i}`)).status, 200);
      c.destroy();
      const d = new Client(ports.safe2);
      assert.equal((await d.request('GET', `/s${i}`)).status, 200);
      // The second request of a session may use any idle connection.
      assert.equal((await d.request('GET', `/s${i}b`)).status, 200);
      d.destroy();
    }
    assert.equal(o.always.conns, 1, 'always: one connection for 5 clients');
    assert.equal(o.safe2.conns, 5, 'safe: each client\'s first request on a new connection');
    assert.equal(o.safe2.seen.length, 10);
  });

  it('http-reuse never: no sharing between clients; a client keeps its own connection', async () => {
    for (let i = 0; i < 4; i++) {
      const c = new Client(ports.never);
      assert.equal((await c.request('GET', `/n${i}`)).status, 200);
      c.destroy();
    }
    assert.equal(o.never.conns, 4, 'one server connection per single-request client');
    // The private connection closes with its client.
    await o.never.until(() => o.never.closes === 4, 3000, 'private connections closed with their clients');
    const c = new Client(ports.never);
    for (let i = 0; i < 3; i++) assert.equal((await c.request('GET', `/own${i}`)).status, 200);
    assert.equal(o.never.conns, 5, 'a session\'s own connection is kept (HAProxy: never only stops sharing)');
    c.destroy();
  });

  it('option http-server-close: a new server connection per request, connection: close toward it, client kept alive', async () => {
    const c = new Client(ports.scl);
    for (let i = 0; i < 4; i++) {
      const r = await c.request('GET', `/c${i}`);
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('connection'), undefined);
    }
    assert.equal(o.scl.conns, 4);
    assert.ok(o.scl.seen.every(s => s.connection === 'close'));
    assert.ok(!c.closed);
    c.destroy();
  });

  it('option httpclose: both sides closed after the transaction', async () => {
    const c = new Client(ports.clo);
    const r = await c.request('GET', '/x');
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('connection'), 'close');
    await within(c.waitClose(), 3000, 'client connection closed');
    assert.equal(o.clo.seen[0].connection, 'close');
    await o.clo.until(() => o.clo.closes === 1, 3000, 'server connection closed');
  });

  it('pool-max-conn 0 keeps no idle connection', async () => {
    const c = new Client(ports.nopool);
    for (let i = 0; i < 3; i++) assert.equal((await c.request('GET', `/p${i}`)).status, 200);
    assert.equal(o.nopool.conns, 3);
    c.destroy();
  });

  it('pool-purge-delay closes idle server connections', async () => {
    const c = new Client(ports.purge);
    assert.equal((await c.request('GET', '/idle')).status, 200);
    const t0 = Date.now();
    await o.purge.until(() => o.purge.closes === 1, 3000, 'idle connection purged');
    const idle = Date.now() - t0;
    // Purged between one and two delays after it was parked; the client stays connected.
    assert.ok(idle >= 250, `closed after ${idle} ms`);
    assert.ok(!c.closed);
    // The next request opens a new connection.
    assert.equal((await c.request('GET', '/again')).status, 200);
    assert.equal(o.purge.conns, 2);
    c.destroy();
  });

  it('a reused connection dropped by the server: GET is retried once on a new one, POST gets 502 and is never sent twice', async () => {
    const c = new Client(ports.drop);
    assert.equal((await c.request('GET', '/first')).status, 200);
    const r = await c.request('GET', '/retried');
    assert.equal(r.status, 200, 'GET retried on a new connection');
    const gets = dropping.seen.filter(s => s.url === '/retried');
    assert.deepEqual(gets.map(s => s.dropped), [true, false]);
    // The GET's retry left this session on a fresh connection; a POST on it is dropped.
    const p = await c.request('POST', '/post', 'id=1');
    assert.equal(p.status, 502);
    assert.equal(dropping.seen.filter(s => s.url === '/post').length, 1, 'POST delivered once');
    c.destroy();
  });

  it('an origin that closes idle keep-alive connections: the closed idle connection is not used', async () => {
    const c = new Client(ports.kat);
    for (let i = 0; i < 3; i++) {
      const closes = o.kat.closes;
      const method = i === 1 ? 'POST' : 'GET';
      assert.equal((await c.request(method, `/k${i}`, method === 'POST' ? `id=${i}` : '')).status, 200, `${method} ${i}`);
      await o.kat.until(() => o.kat.closes === closes + 1, 5000, 'origin closed the idle connection');
    }
    assert.equal(o.kat.conns, 3);
    assert.equal(o.kat.seen.length, 3, 'every request reached the origin once');
    c.destroy();
  });

  it('an origin that closes right after each response (the keep-alive race): no GET fails, no POST is delivered twice', async () => {
    const c = new Client(ports.fin);
    let post502 = 0;
    for (let i = 0; i < 90; i++) {
      if (i % 3 === 2) {
        const r = await c.request('POST', '/p', `id=${i}`);
        assert.ok(r.status === 200 || r.status === 502, `POST ${i}: ${r.status}`);
        if (r.status === 502) {
          // As in HAProxy, the 502 keeps the client's keep-alive connection.
          post502++;
        }
      } else {
        const r = await c.request('GET', `/g${i}`);
        assert.equal(r.status, 200, `GET ${i}`);
      }
    }
    const ids = o.fin.seen.filter(s => s.method === 'POST').map(s => s.body);
    assert.equal(new Set(ids).size, ids.length, `a POST reached the origin twice: ${ids.join(' ')}`);
    // Every GET got through; requests the origin dropped (the race) were resent or answered 502.
    assert.ok(o.fin.seen.length >= 60 + 30 - post502, `${o.fin.seen.length} requests at the origin`);
    c.destroy();
  });

  it('config errors: http-reuse and pool keywords check their arguments', async () => {
    const tmp = tempDir('sy-reuse-');
    try {
      const cfg = writeConfig(tmp.dir, [
        'defaults', '    mode http', '    http-reuse sometimes',
        'backend b', '    default-server pool-purge-delay soon', '    server s 127.0.0.1:1 pool-max-conn -2',
        'frontend f', '    bind 127.0.0.1:1', '    http-reuse always', '    option httpclose x', '    default_backend b', '',
      ].join('\n'));
      const r = await runSwitchyard(['-c', '-f', cfg]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /:3\] .*unknown mode 'sometimes'/);
      assert.match(r.stderr, /:5\] .*pool-purge-delay/);
      assert.match(r.stderr, /:6\] .*pool-max-conn.*out of range/);
      assert.match(r.stderr, /:9\] .*http-reuse/);
      assert.match(r.stderr, /:10\] .*takes no argument/);
    } finally {
      tmp.cleanup();
    }
  });
});
