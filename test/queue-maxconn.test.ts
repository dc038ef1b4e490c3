/**
 * Server maxconn as a node-wide limit, queues and `timeout queue`, through
 * the real master with two workers: an origin that counts the requests it
 * is processing at once never sees more than the server's maxconn, queued
 * requests are served in turn and logged with their queue time, a request
 * that waits longer than `timeout queue` gets a 503 logged `sQ`, and a full
 * `maxqueue` answers 503 `SQ`.
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import { freePorts, startProxy, within, logMark, apiCommand, parseStatCsv, statRow, waitUntil, greet, Origin, type ProxyRun } from './helpers';
import { parseHttplog } from './http-wire';

/** An origin that holds each request until released (or for `holdMs`), counting those in progress. */
class HoldingOrigin {
  readonly server: http.Server;
  port = 0;
  inFlight = 0;
  maxInFlight = 0;
  served = 0;
  private held: http.ServerResponse[] = [];
  private waiters: Array<() => void> = [];

  constructor(private holdMs: number) {
    this.server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        this.inFlight++;
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
        const finish = (): void => {
          this.inFlight--;
          this.served++;
          res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2 });
          res.end('ok');
          this.wake();
        };
        if (this.holdMs > 0) setTimeout(finish, this.holdMs);
        else { this.held.push(res); (res as unknown as { finish: () => void }).finish = finish; this.wake(); }
      });
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>(r => this.server.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  releaseAll(): void {
    for (const r of this.held.splice(0)) (r as unknown as { finish: () => void }).finish();
  }

  get holding(): number { return this.held.length; }

  private wake(): void { for (const w of this.waiters.splice(0)) w(); }

  async until(cond: () => boolean, ms: number, what: string): Promise<void> {
    const wait = async (): Promise<void> => { while (!cond()) await new Promise<void>(r => this.waiters.push(r)); };
    await within(wait(), ms, what);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise(r => this.server.close(() => r()));
  }
}

/** One request on a new connection; resolves with the status and the client's local port (to find its log line). */
function get(port: number, path = '/'): Promise<{ status: number; localPort: number }> {
  return new Promise((resolve, reject) => {
    let localPort = 0;
    const req = http.request({ host: '127.0.0.1', port, path, agent: false }, res => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, localPort }));
    });
    req.on('socket', s => s.on('connect', () => { localPort = (s as net.Socket).localPort!; }));
    req.on('error', reject);
    req.end();
  });
}

function logLines(run: ProxyRun, from: number): string[] {
  return run.master.stdout.slice(from).split('\n').filter(l => /^127\.0\.0\.1:\d+ \[/.test(l));
}

describe('server maxconn and queues', () => {
  const runs: ProxyRun[] = [];
  const origins: HoldingOrigin[] = [];
  after(async () => {
    for (const r of runs) await r.stop();
    for (const o of origins) await o.close();
  });

  async function setup(holdMs: number, backendLines: string[], nbthread = 2): Promise<{ run: ProxyRun; origin: HoldingOrigin; port: number; sock: string }> {
    const origin = new HoldingOrigin(holdMs);
    await origin.listen();
    origins.push(origin);
    const [port] = await freePorts(1);
    const sock = `/tmp/sy-q-${process.pid}-${port}.sock`;
    const run = await startProxy([
      'global',
      `    nbthread ${nbthread}`,
      '    log stdout format raw local0',
      `    stats socket ${sock} level admin`,
      'defaults',
      '    mode http',
      '    log global',
      '    option httplog',
      '    timeout connect 5s',
      '    timeout client 10s',
      '    timeout server 10s',
      'frontend fe',
      `    bind 127.0.0.1:${port}`,
      '    default_backend be',
      'backend be',
      ...backendLines.map(l => l.replace('ORIGIN', `127.0.0.1:${origin.port}`)),
    ].join('\n') + '\n');
    runs.push(run);
    return { run, origin, port, sock };
  }

  it('never exceeds a server maxconn across two workers; queued requests are served in turn with their queue time logged', async () => {
    const { run, origin, port } = await setup(40, ['    server s1 ORIGIN maxconn 3']);
    const mark = logMark(run.master);
    const results = await within(Promise.all(Array.from({ length: 60 }, () => get(port))), 30_000, '60 requests');
    assert.deepEqual([...new Set(results.map(r => r.status))], [200]);
    assert.ok(origin.maxInFlight <= 3, `the origin saw ${origin.maxInFlight} requests at once (maxconn 3)`);
    assert.equal(origin.maxInFlight, 3, 'the limit is used fully');
    assert.equal(origin.served, 60);
    // Logs: some requests waited in the queue (Tw > 0 and a queue position).
    await within((async () => { while (logLines(run, mark).length < 60) await new Promise(r => run.master.child.stdout!.once('data', r)); })(), 10_000, '60 log lines');
    const logs = logLines(run, mark).map(parseHttplog);
    const queued = logs.filter(l => Number(l.Tw) >= 20);
    assert.ok(queued.length >= 20, `requests that waited: ${queued.length}; Tw values ${logs.map(l => l.Tw).join(',')}`);
    // One server, all full: roundrobin requests wait in the backend's queue (HAProxy's SRV_STATUS_FULL).
    assert.ok(logs.some(l => Number(l.bq) > 0), 'a request logged a backend queue position');
  });

  /** Wait until `n` requests wait in server s1's queue (no event tells it from outside: poll show stat). */
  async function queued(sock: string, n: number): Promise<void> {
    await waitUntil(async () => {
      const rows = parseStatCsv(await apiCommand(sock, 'show stat'));
      return Number(statRow(rows, 'be', 's1').qcur) + Number(statRow(rows, 'be', 'BACKEND').qcur) === n;
    }, 5000, `${n} queued`);
  }

  it('answers 503 logged sQ after timeout queue; the queued request that gets a slot in time is served', async () => {
    const { run, origin, port, sock } = await setup(0, ['    timeout queue 300ms', '    server s1 ORIGIN maxconn 1']);
    const first = get(port);
    await origin.until(() => origin.holding === 1, 5000, 'first request at the origin');
    const mark = logMark(run.master);
    const t0 = Date.now();
    const second = await within(get(port), 5000, 'second request');
    const waited = Date.now() - t0;
    assert.equal(second.status, 503);
    assert.ok(waited >= 280, `answered after ${waited} ms`);
    await within((async () => { while (logLines(run, mark).length < 1) await new Promise(r => run.master.child.stdout!.once('data', r)); })(), 5000, 'log line');
    const log = parseHttplog(logLines(run, mark)[0]);
    assert.equal(log.st, '503');
    assert.equal(log.ts.slice(0, 2), 'sQ');
    assert.ok(Number(log.Tw) >= 280, `Tw ${log.Tw}`);
    // A third request queues, the first finishes, the third gets the slot.
    const third = get(port);
    await queued(sock, 1);
    origin.releaseAll();
    assert.equal((await first).status, 200);
    await origin.until(() => origin.holding === 1, 5000, 'third request at the origin');
    origin.releaseAll();
    assert.equal((await within(third, 5000, 'third request')).status, 200);
    assert.equal(origin.maxInFlight, 1);
  });

  it('a server coming back takes the requests waiting in the backend queue at once', async () => {
    const { origin, port, sock } = await setup(0, ['    timeout queue 10s', '    server s1 ORIGIN maxconn 1', '    server s2 ORIGIN maxconn 1 disabled'], 1);
    const first = get(port);
    await origin.until(() => origin.holding === 1, 5000, 'first request at the origin');
    const second = get(port);
    await queued(sock, 1);
    // s1 stays busy: only s2 coming back can serve the waiting request.
    assert.equal((await apiCommand(sock, 'enable server be/s2')).trim(), '');
    await origin.until(() => origin.holding === 2, 5000, 'the queued request reaching s2');
    origin.releaseAll();
    assert.equal((await first).status, 200);
    assert.equal((await second).status, 200);
  });

  it('with option redispatch, requests waiting for a server that goes down are balanced again at once', async () => {
    const { origin, port, sock } = await setup(0, ['    timeout queue 10s', '    option redispatch', '    use-server s1 if { path /pinned }',
      '    server s1 ORIGIN maxconn 1', '    server s2 ORIGIN'], 1);
    const first = get(port, '/pinned');
    await origin.until(() => origin.holding === 1, 5000, 'first request at the origin');
    const second = get(port, '/pinned');
    await queued(sock, 1);
    // s1 goes into maintenance while still busy: the waiting request is not left to time out (pendconn_redistribute).
    assert.equal((await apiCommand(sock, 'disable server be/s1')).trim(), '');
    await origin.until(() => origin.holding === 2, 5000, 'the queued request reaching s2');
    origin.releaseAll();
    assert.equal((await first).status, 200);
    assert.equal((await second).status, 200);
  });

  it('answers 503 logged SQ when the server queue is at maxqueue', async () => {
    // maxqueue bounds the queue of requests sent to that server directly (use-server, persistence, hashing);
    // balanced requests wait in the backend's queue when every server is full.
    const { run, origin, port, sock } = await setup(0, ['    timeout queue 5s', '    use-server s1 if TRUE', '    server s1 ORIGIN maxconn 1 maxqueue 1', '    server s2 ORIGIN weight 0'],
      // One worker: the node-wide queue length reaches the other workers within an IPC interval, not at once.
      1);
    const first = get(port);
    await origin.until(() => origin.holding === 1, 5000, 'first request at the origin');
    const second = get(port);
    await queued(sock, 1);
    const mark = logMark(run.master);
    const third = await within(get(port), 5000, 'third request');
    assert.equal(third.status, 503);
    await within((async () => { while (logLines(run, mark).length < 1) await new Promise(r => run.master.child.stdout!.once('data', r)); })(), 5000, 'log line');
    assert.equal(parseHttplog(logLines(run, mark)[0]).ts.slice(0, 2), 'SQ');
    origin.releaseAll();
    assert.equal((await first).status, 200);
    await origin.until(() => origin.holding === 1, 5000, 'second request at the origin');
    origin.releaseAll();
    assert.equal((await second).status, 200);
  });
});

describe('server maxconn in mode tcp', () => {
  let run: ProxyRun;
  let origin: Origin;
  let port = 0;
  let sock = '';
  before(async () => {
    origin = new Origin('s1');
    const oport = await origin.listen();
    [port] = await freePorts(1);
    sock = `/tmp/sy-q-${process.pid}-${port}.sock`;
    run = await startProxy([
      'global',
      '    nbthread 2',
      `    stats socket ${sock} level admin`,
      'defaults',
      '    mode tcp',
      '    timeout connect 5s',
      '    timeout client 10s',
      '    timeout server 10s',
      '    timeout queue 10s',
      'listen l',
      `    bind 127.0.0.1:${port}`,
      `    server s1 127.0.0.1:${oport} maxconn 2`,
    ].join('\n') + '\n');
  });
  after(async () => { await run.stop(); await origin.close(); });

  it('holds the third session until one of the first two ends, whichever worker has it', async () => {
    let greetedCount = 0;
    let wake: (() => void) | null = null;
    const clients = await Promise.all(Array.from({ length: 6 }, () => new Promise<{ c: net.Socket; greeted: boolean }>(resolve => {
      const c = net.connect(port, '127.0.0.1');
      const x = { c, greeted: false };
      c.once('data', () => { x.greeted = true; greetedCount++; wake?.(); });
      c.on('error', () => { /* closed by the test */ });
      c.on('connect', () => resolve(x));
    })));
    const greetings = (n: number): Promise<void> => within((async () => {
      while (greetedCount < n) await new Promise<void>(r => { wake = r; });
    })(), 5000, `${n} sessions served`);
    // Two get the server at once; the others wait in a queue.
    await greetings(2);
    await waitUntil(async () => {
      const rows = parseStatCsv(await apiCommand(sock, 'show stat'));
      return Number(statRow(rows, 'l', 's1').qcur) + Number(statRow(rows, 'l', 'BACKEND').qcur) === 4;
    }, 5000, '4 sessions queued');
    assert.equal(greetedCount, 2);
    assert.equal(origin.active, 2);
    // End the sessions one by one: each frees a slot for a waiting one.
    for (let round = 0; round < 4; round++) {
      const done = clients.find(x => x.greeted && !x.c.destroyed)!;
      done.c.destroy();
      await greetings(3 + round);
      assert.ok(origin.maxActive <= 2, `origin saw ${origin.maxActive} sessions at once`);
    }
    for (const x of clients) x.c.destroy();
    assert.equal(origin.maxActive, 2);
  });
});

describe('slowstart', () => {
  let run: ProxyRun;
  const origins = [new Origin('a'), new Origin('b')];
  let port = 0;
  let sock = '';
  before(async () => {
    const [pa, pb] = [await origins[0].listen(), await origins[1].listen()];
    [port] = await freePorts(1);
    sock = `/tmp/sy-ss-${process.pid}-${port}.sock`;
    run = await startProxy([
      'global',
      '    nbthread 2',
      `    stats socket ${sock} level admin`,
      'defaults',
      '    mode tcp',
      '    timeout connect 5s',
      '    timeout client 10s',
      '    timeout server 10s',
      'listen l',
      `    bind 127.0.0.1:${port}`,
      `    server a 127.0.0.1:${pa} weight 100`,
      `    server b 127.0.0.1:${pb} weight 100 slowstart 30s`,
    ].join('\n') + '\n');
  });
  after(async () => { await run.stop(); for (const o of origins) await o.close(); });

  it('a server leaving maintenance gets a small weight first, not half the traffic', async () => {
    assert.equal((await apiCommand(sock, 'disable server l/b')).trim(), '');
    assert.equal((await apiCommand(sock, 'enable server l/b')).trim(), '');
    const counts: Record<string, number> = { a: 0, b: 0 };
    for (let i = 0; i < 60; i++) counts[await greet(port)]++;
    // Without slowstart b would take about 30 of the 60; warming up (weight 1..~4 of 100) it takes a few at most.
    assert.ok(counts.b < 10, `b got ${counts.b} of 60 right after coming back: ${JSON.stringify(counts)}`);
    // show stat gives the ramping effective weight.
    const w = Number(statRow(parseStatCsv(await apiCommand(sock, 'show stat')), 'l', 'b').weight);
    assert.ok(w >= 1 && w < 50, `weight ${w} while warming up`);
  });
});

describe('leastconn over two workers', () => {
  let run: ProxyRun;
  const origins = [new Origin('a'), new Origin('b')];
  let port = 0;
  before(async () => {
    const [pa, pb] = [await origins[0].listen(), await origins[1].listen()];
    [port] = await freePorts(1);
    run = await startProxy([
      'global',
      '    nbthread 2',
      'defaults',
      '    mode tcp',
      '    timeout connect 5s',
      '    timeout client 10s',
      '    timeout server 10s',
      'listen l',
      `    bind 127.0.0.1:${port}`,
      '    balance leastconn',
      `    server a 127.0.0.1:${pa}`,
      `    server b 127.0.0.1:${pb}`,
    ].join('\n') + '\n');
  });
  after(async () => { await run.stop(); for (const o of origins) await o.close(); });

  it('each worker sees the other\'s connections: long-lived ones stay balanced whichever worker accepts them', async () => {
    const held: net.Socket[] = [];
    const counts: Record<string, number> = { a: 0, b: 0 };
    try {
      for (let i = 0; i < 12; i++) {
        const c = net.connect(port, '127.0.0.1');
        c.on('error', () => { /* closed at the end */ });
        const name = await within(new Promise<string>(r => c.once('data', d => r(d.toString().trim()))), 5000, 'greeting');
        held.push(c);
        counts[name]++;
        assert.ok(Math.abs(counts.a - counts.b) <= 1, `after ${i + 1} connections: ${JSON.stringify(counts)}`);
        // Counts reach the other worker within one sync interval (engine/node-sync.ts, 20 ms) and an IPC hop.
        await new Promise(r => setTimeout(r, 60));
      }
    } finally {
      for (const c of held) c.destroy();
    }
  });
});
