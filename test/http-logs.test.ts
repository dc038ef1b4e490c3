/**
 * Traffic logs of `mode http` through the real master (`log stdout format
 * raw`): the `option httplog` line field by field for a normal transaction,
 * a server that closes before answering (SH--), a malformed request (PR--),
 * `timeout http-request` (cR--) and a client leaving mid-body (CD--);
 * `option httplog clf`, a custom `log-format`, and `option dontlognull`.
 * Expected lines were compared with haproxy 2.6.12 on the same config and
 * the same raw requests. Known differences, asserted as ours: %B and %U
 * count the bytes on the wire (HAProxy counts its internal HTX form: 53 for
 * a 42-byte response), and a page sent for a request that never became a
 * transaction (PR--/cR--) counts in %B (HAProxy logs 0).
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { freePorts, logMark, startProxy, waitForLog, within, type ProxyRun } from './helpers';
import { RawClient, RawOrigin, parseHttplog, writeBody } from './http-wire';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const OK_RESPONSE = 'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody';

function parseDate(s: string): number {
  const m = /^(\d\d)\/([A-Z][a-z]{2})\/(\d{4}):(\d\d):(\d\d):(\d\d)\.(\d{3})$/.exec(s);
  assert.ok(m, `bad date '${s}'`);
  return new Date(+m[3], MONTHS.indexOf(m[2]), +m[1], +m[4], +m[5], +m[6], +m[7]).getTime();
}

describe('http logs', () => {
  let run: ProxyRun;
  let origin: RawOrigin;
  let ports: Record<string, number> = {};
  /** Request heads the origin received, in order. */
  const seen: string[] = [];

  before(async () => {
    origin = new RawOrigin(({ socket, head }) => {
      seen.push(head);
      const path = head.split(' ')[1];
      if (path === '/sh') { socket.destroy(); return; }
      if (path === '/stream') {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n');
        void writeBody(socket, 1024 * 1024 * 1024).catch(() => { /* the proxy closed */ });
        return;
      }
      socket.write(OK_RESPONSE);
      socket.end();
    });
    const op = await origin.listen();
    const names = ['main', 'clf', 'custom', 'nonull', 'probes', 'rewrite'];
    const p = await freePorts(names.length);
    ports = Object.fromEntries(names.map((n, i) => [n, p[i]]));
    const fe = (name: string, extra: string[]): string[] =>
      [`frontend fe_${name}`, `    bind 127.0.0.1:${ports[name]}`, ...extra.map(l => `    ${l}`), '    default_backend be'];
    run = await startProxy([
      'global',
      '    nbthread 1',
      '    log stdout format raw local0',
      'defaults',
      '    mode http',
      '    log global',
      '    timeout connect 2s',
      '    timeout client 10s',
      '    timeout server 10s',
      '    timeout http-request 300ms',
      ...fe('main', ['option httplog']),
      ...fe('clf', ['option httplog clf']),
      ...fe('custom', ['log-format "%ci:%cp %ft %b/%s %ST %B %U %HM %HP %HQ %HU %HV %hr %Ta/%Tt %ts %tsc [%{+Q}r]"']),
      ...fe('nonull', ['option httplog', 'option dontlognull']),
      ...fe('probes', ['option httplog', 'option http-ignore-probes']),
      ...fe('rewrite', ['log-format "%ci:%cp %ft %HM %HU [%{+Q}r]"', 'http-request set-path /rewritten']),
      'backend be',
      `    server app 127.0.0.1:${op}`,
      '',
    ].join('\n'));
  });

  after(async () => {
    await run?.stop();
    await origin?.close();
  });

  /** One request on a new connection; resolves with the client once the proxy closed it or the response is complete. */
  async function request(port: number, req: string, opts: { method?: string; waitClose?: boolean } = {}): Promise<RawClient> {
    const c = new RawClient(port);
    await c.connected;
    c.send(req);
    if (opts.waitClose) await within(c.waitClose(), 5000, 'close');
    else await within(c.responses([opts.method ?? 'GET']), 5000, 'response');
    return c;
  }

  it('option httplog: every field of a normal transaction', async () => {
    const mark = logMark(run.master);
    const t0 = Date.now();
    const c = await request(ports.main, 'GET /a?x=1 HTTP/1.1\r\nHost: a\r\n\r\n');
    const t1 = Date.now();
    const l = parseHttplog(await waitForLog(run.master, c.localPort, { from: mark, fe: 'fe_main' }));
    assert.equal(`${l.ip}:${l.port}`, `127.0.0.1:${c.localPort}`);
    const at = parseDate(l.date);
    assert.ok(at >= t0 - 5 && at <= t1, `%tr ${l.date} within the request`);
    assert.equal(`${l.fe} ${l.be}/${l.srv}`, 'fe_main be/app');
    const [TR, Tw, Tc, Tr, Ta] = [l.TR, l.Tw, l.Tc, l.Tr, l.Ta].map(Number);
    for (const [k, v] of Object.entries({ TR, Tw, Tc, Tr })) assert.ok(v >= 0, `${k} = ${v}`);
    assert.ok(Ta >= TR + Tw + Tc + Tr, `Ta ${Ta} covers TR+Tw+Tc+Tr`);
    assert.ok(Ta <= t1 - t0 + 5, `Ta ${Ta} within the request's ${t1 - t0} ms`);
    assert.equal(l.st, '200');
    assert.equal(Number(l.bytes), c.received.length, '%B = bytes the client got');
    assert.equal(`${l.cc} ${l.cs} ${l.ts}`, '- - ----');
    assert.equal(`${l.ac}/${l.fc} ${l.rc} ${l.sq}/${l.bq}`, '1/1 0 0/0');
    assert.equal(l.req, 'GET /a?x=1 HTTP/1.1');
    c.destroy();
  });

  it('a lone transaction logs 1/1/0/0/0 (HAProxy logs after the stream left the backend and server)', async () => {
    const mark = logMark(run.master);
    const c = await request(ports.main, 'GET /lone HTTP/1.1\r\nHost: a\r\n\r\n');
    const l = parseHttplog(await waitForLog(run.master, c.localPort, { from: mark, fe: 'fe_main' }));
    c.destroy();
    assert.equal(`${l.ac}/${l.fc}/${l.bc}/${l.sc}/${l.rc}`, '1/1/0/0/0');
  });

  it('server closes before the response: 502, Tr -1, SH--', async () => {
    const mark = logMark(run.master);
    const c = await request(ports.main, 'GET /sh HTTP/1.1\r\nHost: a\r\n\r\n');
    assert.match(c.text, /^HTTP\/1\.1 502 Bad Gateway\r\n/);
    const l = parseHttplog(await waitForLog(run.master, c.localPort, { from: mark, fe: 'fe_main' }));
    assert.equal(`${l.fe} ${l.be}/${l.srv} ${l.Tr} ${l.st} ${l.ts}`, 'fe_main be/app -1 502 SH--');
    assert.ok(Number(l.TR) >= 0 && Number(l.Tw) >= 0 && Number(l.Tc) >= 0 && Number(l.Ta) >= 0);
    assert.equal(Number(l.bytes), c.received.length);
    assert.equal(l.req, 'GET /sh HTTP/1.1');
    c.destroy();
  });

  it('malformed request: <NOSRV>, -1 timers, 400, PR--, "<BADREQ>"', async () => {
    const mark = logMark(run.master);
    const c = await request(ports.main, 'GARBAGE\r\n\r\n', { waitClose: true });
    assert.match(c.text, /^HTTP\/1\.1 400 Bad request\r\n/);
    const l = parseHttplog(await waitForLog(run.master, c.localPort, { from: mark, fe: 'fe_main' }));
    assert.equal(`${l.fe} ${l.be}/${l.srv} ${l.TR}/${l.Tw}/${l.Tc}/${l.Tr} ${l.st} ${l.ts} ${l.req}`, 'fe_main fe_main/<NOSRV> -1/-1/-1/-1 400 PR-- <BADREQ>');
    assert.ok(Number(l.Ta) >= 0 && Number(l.Ta) < 1000, `Ta ${l.Ta}`);
    assert.equal(Number(l.bytes), c.received.length);
    assert.equal(`${l.ac}/${l.fc}/${l.bc}/${l.sc}/${l.rc}`, '1/1/0/0/0');
  });

  it('timeout http-request: 408, Ta ≥ the timeout, cR--', async () => {
    const mark = logMark(run.master);
    const c = await request(ports.main, 'GET / HTTP/1.1\r\nHost: a\r\n', { waitClose: true });
    assert.match(c.text, /^HTTP\/1\.1 408 Request Time-out\r\n/);
    const l = parseHttplog(await waitForLog(run.master, c.localPort, { from: mark, fe: 'fe_main' }));
    assert.equal(`${l.be}/${l.srv} ${l.TR}/${l.Tw}/${l.Tc}/${l.Tr} ${l.st} ${l.ts} ${l.req}`, 'fe_main/<NOSRV> -1/-1/-1/-1 408 cR-- <BADREQ>');
    // %Ta leaves out the idle time before the first byte (a few ms here).
    assert.ok(Number(l.Ta) >= 250 && Number(l.Ta) < 2000, `Ta ${l.Ta}`);
    assert.equal(Number(l.bytes), c.received.length);
  });

  it('client leaves in the middle of the response body: CD--', async () => {
    const mark = logMark(run.master);
    const c = new RawClient(ports.main);
    await c.connected;
    c.send('GET /stream HTTP/1.1\r\nHost: a\r\n\r\n');
    while (c.received.length < 1024 * 1024) await within(c.change(), 5000, 'body');
    const port = c.localPort;
    c.socket.resetAndDestroy();
    const l = parseHttplog(await waitForLog(run.master, port, { from: mark, fe: 'fe_main' }));
    assert.equal(`${l.be}/${l.srv} ${l.st} ${l.ts} ${l.req}`, 'be/app 200 CD-- GET /stream HTTP/1.1');
    assert.ok(Number(l.bytes) >= 1024 * 1024, `bytes ${l.bytes}`);
    assert.ok(Number(l.Tr) >= 0);
  });

  it('option httplog clf', async () => {
    const mark = logMark(run.master);
    const c = await request(ports.clf, 'GET /a?x=1 HTTP/1.1\r\nHost: a\r\n\r\n');
    const re = new RegExp(`^127\\.0\\.0\\.1 - - \\[(\\d\\d)/([A-Z][a-z]{2})/(\\d{4}):(\\d\\d):(\\d\\d):(\\d\\d) ([+-]\\d{4})\\] "GET /a\\?x=1 HTTP/1\\.1" 200 (\\d+) "" "" ${c.localPort} (\\d{3}) "fe_clf" "be" "app" (\\d+) (\\d+) (\\d+) (\\d+) (\\d+) ---- 1 1 (\\d+) (\\d+) 0 0 0 "" "" $`, 'm');
    const m = await within((async () => {
      for (;;) {
        const x = re.exec(run.master.stdout.slice(mark));
        if (x) return x;
        await new Promise(r => run.master.child.stdout!.once('data', r));
      }
    })(), 5000, `clf line in\n${run.master.stdout.slice(mark)}`);
    assert.equal(Number(m[8]), c.received.length, 'bytes');
    const [TR, Tw, Tc, Tr, Ta] = m.slice(10, 15).map(Number);
    assert.ok(Ta >= TR + Tw + Tc + Tr);
    const off = -new Date().getTimezoneOffset();
    const sign = off >= 0 ? '+' : '-';
    assert.equal(m[7], `${sign}${String(Math.floor(Math.abs(off) / 60)).padStart(2, '0')}${String(Math.abs(off) % 60).padStart(2, '0')}`, 'time zone');
    c.destroy();
  });

  it('custom log-format with request and body variables', async () => {
    const mark = logMark(run.master);
    const req = 'POST /p/q?r=s HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc';
    const c = await request(ports.custom, req, { method: 'POST' });
    const line = await waitForLog(run.master, c.localPort, { from: mark, fe: 'fe_custom' });
    const m = /^(\S+) fe_custom be\/app 200 (\d+) (\d+) POST \/p\/q \?r=s \/p\/q\?r=s HTTP\/1\.1 (\d+)\/(\d+) -- ---- \["POST \/p\/q\?r=s HTTP\/1\.1"\]$/.exec(line);
    assert.ok(m, line);
    assert.equal(m[1], `127.0.0.1:${c.localPort}`);
    assert.equal(Number(m[2]), c.received.length, '%B');
    assert.equal(Number(m[3]), Buffer.byteLength(req), '%U = request bytes');
    assert.ok(Number(m[5]) >= Number(m[4]), '%Tt ≥ %Ta');
    c.destroy();
  });

  it('%r is the request line as received, after a rule rewrote it; extra blanks in it are not kept', async () => {
    for (const [sent, logged] of [['GET /orig?x=1 HTTP/1.1', 'GET /orig?x=1 HTTP/1.1'], ['GET  /orig\t HTTP/1.0', 'GET /orig HTTP/1.0']]) {
      const mark = logMark(run.master);
      const c = await request(ports.rewrite, `${sent}\r\nHost: a\r\n\r\n`);
      const line = await waitForLog(run.master, c.localPort, { from: mark, fe: 'fe_rewrite' });
      const [method, uri] = logged.split(' ');
      assert.equal(line, `127.0.0.1:${c.localPort} fe_rewrite ${method} ${uri} ["${logged}"]`);
      assert.equal(seen[seen.length - 1].split('\r\n')[0], `GET /rewritten${uri.includes('?') ? '?x=1' : ''} ${logged.split(' ')[2]}`);
      c.destroy();
    }
  });

  it('option dontlognull: connections without a request are not logged; a request is', async () => {
    const mark = logMark(run.master);
    const a = new RawClient(ports.nonull);
    await a.connected;
    const aPort = a.localPort;
    a.socket.end();
    await within(a.waitClose(), 5000, 'a closed');
    // idle until timeout http-request: closed silently, not logged
    const b = new RawClient(ports.nonull);
    await b.connected;
    const bPort = b.localPort;
    await within(b.waitClose(), 5000, 'b closed by the proxy');
    assert.equal(b.received.length, 0);
    // a transaction, logged after the two (one worker, events in order)
    const c = await request(ports.nonull, 'GET /n HTTP/1.1\r\nHost: a\r\n\r\n');
    const l = parseHttplog(await waitForLog(run.master, c.localPort, { from: mark, fe: 'fe_nonull' }));
    assert.equal(`${l.st} ${l.ts} ${l.req}`, '200 ---- GET /n HTTP/1.1');
    const after = run.master.stdout.slice(mark);
    for (const p of [aPort, bPort]) assert.ok(!after.includes(`127.0.0.1:${p} `), `connection ${p} logged:\n${after}`);
    c.destroy();
  });

  it('without dontlognull, an empty connection is logged as haproxy does (400 CR--, <BADREQ>)', async () => {
    const mark = logMark(run.master);
    const a = new RawClient(ports.main);
    await a.connected;
    const port = a.localPort;
    a.socket.end();
    await within(a.waitClose(), 5000, 'closed');
    const l = parseHttplog(await waitForLog(run.master, port, { from: mark, fe: 'fe_main', timeoutMs: 2000 }));
    assert.equal(`${l.be}/${l.srv} ${l.TR}/${l.Tw}/${l.Tc}/${l.Tr} ${l.st} ${l.ts} ${l.req}`, 'fe_main/<NOSRV> -1/-1/-1/-1 400 CR-- <BADREQ>');
  });

  it('option http-ignore-probes: an empty connection gets no 408 and no log line; a request is logged', async () => {
    const mark = logMark(run.master);
    const a = new RawClient(ports.probes);
    await a.connected;
    const aPort = a.localPort;
    a.socket.end();
    await within(a.waitClose(), 5000, 'a closed');
    const b = new RawClient(ports.probes);
    await b.connected;
    const bPort = b.localPort;
    await within(b.waitClose(), 5000, 'b closed by the proxy');
    assert.equal(a.received.length + b.received.length, 0, 'nothing sent to empty connections');
    const c = await request(ports.probes, 'GET /p HTTP/1.1\r\nHost: a\r\n\r\n');
    const l = parseHttplog(await waitForLog(run.master, c.localPort, { from: mark, fe: 'fe_probes' }));
    assert.equal(`${l.st} ${l.ts} ${l.req}`, '200 ---- GET /p HTTP/1.1');
    const after = run.master.stdout.slice(mark);
    for (const p of [aPort, bPort]) assert.ok(!after.includes(`127.0.0.1:${p} `), `connection ${p} logged:\n${after}`);
    c.destroy();
  });

  it('client closing in the middle of a request head logs status 400 (CR--)', async () => {
    const mark = logMark(run.master);
    const a = new RawClient(ports.main);
    await a.connected;
    const port = a.localPort;
    a.send('GET / HTTP/1.1\r\nHost: a\r\n');
    a.socket.end();
    await within(a.waitClose(), 5000, 'closed');
    const l = parseHttplog(await waitForLog(run.master, port, { from: mark, fe: 'fe_main' }));
    assert.equal(`${l.st} ${l.ts} ${l.req}`, '400 CR-- <BADREQ>');
  });
});
