/**
 * Health checks run by the real master against real origins on loopback:
 * servers fail the way operators see them fail (refused connection, no
 * answer, wrong HTTP status, wrong body, a TCP dialogue going wrong, a TLS
 * handshake refused), and the test asserts HAProxy's log lines, `show stat`
 * and what traffic gets (503 without a server).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Blackhole, freePorts } from './helpers';
import { makeCa } from './certs';
import { HttpOrigin, LineServer, checkGlobals, httpGet, startChecked } from './check-helpers';

const MS = '\\d+ms';

test('refused and wrong-status servers go DOWN with HAProxy\'s lines; no server left answers 503; UP again when healthy', async t => {
  const a = new HttpOrigin('A');
  await a.listen();
  t.after(() => a.close());
  const [port, closed] = await freePorts(2);
  const r = await startChecked(t, sock => `${checkGlobals(sock)}
frontend fe
    bind 127.0.0.1:${port}
    default_backend be
backend be
    option httpchk GET /health
    server s1 127.0.0.1:${a.port} check inter 100 rise 2 fall 2
    server s2 127.0.0.1:${closed} check inter 100
`);
  await r.line(new RegExp(`Server be/s2 is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: ${MS}\\. 1 active and 0 backup servers left\\. 0 sessions active, 0 requeued, 0 remaining in queue\\.`));
  let s1 = await r.row('be', 's1');
  // "* " marks a check in progress.
  assert.deepEqual([s1.status, s1.check_status.replace(/^\* /, ''), s1.check_code, s1.check_desc, s1.check_rise, s1.check_fall], ['UP', 'L7OK', '200', 'Layer7 check passed', '2', '2']);
  assert.equal((await httpGet(port)).origin, 'A');

  const mark = r.mark();
  a.status = 500;
  await r.line(new RegExp(`Server be/s1 is DOWN, reason: Layer7 wrong status, code: 500, info: "Internal Server Error", check duration: ${MS}\\. 0 active and 0 backup servers left\\. 0 sessions active, 0 requeued, 0 remaining in queue\\.`), mark);
  await r.line(/backend be has no server available!/, mark);
  s1 = await r.row('be', 's1');
  assert.deepEqual([s1.status, s1.check_status.replace(/^\* /, ''), s1.check_code, s1.chkdown, s1.check_health], ['DOWN', 'L7STS', '500', '1', '0']);
  assert.ok(Number(s1.chkfail) >= 2, s1.chkfail);
  assert.equal((await r.row('be', 'BACKEND')).status, 'DOWN');
  assert.equal((await httpGet(port)).status, 503);

  const back = r.mark();
  a.status = 200;
  await r.line(new RegExp(`Server be/s1 is UP, reason: Layer7 check passed, code: 200, check duration: ${MS}\\. 1 active and 0 backup servers online\\. 0 sessions requeued, 0 total in queue\\.`), back);
  assert.equal((await httpGet(port)).status, 200);
  assert.ok((a.hits.get('/health') ?? 0) >= 4, 'the checks asked /health');
});

test('timeouts: L4TOUT within min(inter, timeout connect) when timeout check is set; L7TOUT after timeout check', async t => {
  const hole = await Blackhole.start();
  t.after(() => hole.close());
  // Accepts, reads, never answers.
  const mute = new LineServer(() => null, true);
  await mute.listen();
  t.after(() => mute.close());
  const [port] = await freePorts(1);
  const r = await startChecked(t, sock => `${checkGlobals(sock)}
frontend fe
    bind 127.0.0.1:${port}
    default_backend be
backend be
    timeout connect 150ms
    timeout check 250ms
    option httpchk
    server hole 127.0.0.1:${hole.port} check inter 1s fall 1
    server mute 127.0.0.1:${mute.port} check inter 1s fall 1
`);
  const l4 = await r.line(new RegExp(`Server be/hole is DOWN, reason: Layer4 timeout, check duration: (${MS})\\. 1 active and 0 backup servers left\\. 0 sessions active, 0 requeued, 0 remaining in queue\\.`));
  const d4 = Number(/duration: (\d+)ms/.exec(l4)![1]);
  assert.ok(d4 >= 140 && d4 < 600, `connect timeout is timeout connect (150ms), not inter: ${d4}`);
  const l7 = await r.line(new RegExp(`Server be/mute is DOWN, reason: Layer7 timeout, check duration: (${MS})\\. 0 active and 0 backup servers left\\. 0 sessions active, 0 requeued, 0 remaining in queue\\.`));
  const d7 = Number(/duration: (\d+)ms/.exec(l7)![1]);
  assert.ok(d7 >= 240 && d7 < 800, `read timeout is timeout check (250ms): ${d7}`);
  const row = await r.row('be', 'hole');
  assert.deepEqual([row.check_status, row.check_desc], ['L4TOUT', 'Layer4 timeout']);
});

test('http-check expect string reads the body; a flapping server goes DOWN and UP on rise/fall, not on every result', async t => {
  const a = new HttpOrigin('A');
  a.body = 'state: busy';
  await a.listen();
  t.after(() => a.close());
  // Answers by a script of 8: single failures, then two in a row.
  const seq = [200, 500, 200, 500, 200, 200, 500, 500];
  let n = 0;
  const flap = new LineServer(got => (got.includes('\r\n\r\n') ? `HTTP/1.1 ${seq[n++ % seq.length]} X\r\ncontent-length: 0\r\n\r\n` : null));
  await flap.listen();
  t.after(() => flap.close());
  const [port] = await freePorts(1);
  const r = await startChecked(t, sock => `${checkGlobals(sock)}
frontend fe
    bind 127.0.0.1:${port}
    default_backend body
backend body
    option httpchk
    http-check expect string ready
    server s1 127.0.0.1:${a.port} check inter 100 fall 1
backend flapping
    option httpchk
    server f 127.0.0.1:${flap.port} check inter 60 rise 2 fall 2
`);
  await r.line(new RegExp(`Server body/s1 is DOWN, reason: Layer7 invalid response, info: "HTTP content check did not match", check duration: ${MS}\\. 0 active and 0 backup servers left\\. 0 sessions active, 0 requeued, 0 remaining in queue\\.`));
  const up = r.mark();
  a.body = 'state: ready';
  await r.line(new RegExp(`Server body/s1 is UP, reason: Layer7 check passed, code: 200, check duration: ${MS}\\. 1 active and 0 backup servers online\\. 0 sessions requeued, 0 total in queue\\.`), up);

  // fall 2 / rise 2: only two failures in a row take it down, two successes bring it back.
  const lines: string[] = [];
  let from = 0;
  for (let i = 0; i < 4; i++) {
    const l = await r.line(/Server flapping\/f is (?:DOWN|UP)[^\n]*/, from, 5_000);
    lines.push(l.startsWith('Server flapping/f is DOWN') ? 'DOWN' : 'UP');
    from = r.m.stdout.indexOf(l, from) + l.length;
  }
  assert.deepEqual(lines, ['DOWN', 'UP', 'DOWN', 'UP']);
  const f = await r.row('flapping', 'f');
  assert.ok(Number(f.chkdown) <= 3 && Number(f.chkfail) >= 8, `4 failures per DOWN: chkfail ${f.chkfail}, chkdown ${f.chkdown}`);
  const down = r.m.stdout.split('\n').find(l => l.startsWith('Server flapping/f is DOWN'))!;
  assert.match(down, new RegExp(`reason: Layer7 wrong status, code: 500, info: "X", check duration: ${MS}\\. 0 active`));
});

test('tcp-check: a send/expect dialogue, its failure message with the step, and the server that answers right', async t => {
  const good = new LineServer(got => (got.includes('PING\r\n') ? '+PONG\r\n' : null));
  const bad = new LineServer(got => (got.includes('PING\r\n') ? '-ERR unknown\r\n' : null));
  await good.listen();
  await bad.listen();
  t.after(() => good.close());
  t.after(() => bad.close());
  const [port] = await freePorts(1);
  const r = await startChecked(t, sock => `${checkGlobals(sock, { mode: 'tcp' })}
frontend fe
    bind 127.0.0.1:${port}
    default_backend be
backend be
    option tcp-check
    tcp-check send PING\\r\\n
    tcp-check expect string +PONG comment "redis answers"
    server good 127.0.0.1:${good.port} check inter 100
    server bad 127.0.0.1:${bad.port} check inter 100
`);
  await r.line(new RegExp(`Server be/bad is DOWN, reason: Layer7 invalid response, info: "TCPCHK did not match content '\\+PONG' at step 2 comment: redis answers", check duration: ${MS}\\. 1 active and 0 backup servers left\\. 0 sessions active, 0 requeued, 0 remaining in queue\\.`));
  const g = await r.row('be', 'good');
  assert.deepEqual([g.status, g.check_status.replace(/^\* /, ''), g.check_desc], ['UP', 'L7OK', 'Layer7 check passed']);
  assert.ok(good.connections >= 1);
});

test('check-ssl against a TLS origin: L6OK with the right CA and SNI, L6RSP when the name does not verify', async t => {
  const tmp = join((await import('node:os')).tmpdir(), `sy-chk-ca-${process.pid}-${Date.now()}`);
  (await import('node:fs')).mkdirSync(tmp, { recursive: true });
  t.after(async () => (await import('node:fs')).rmSync(tmp, { recursive: true, force: true }));
  const ca = makeCa(tmp, 'Check CA');
  ca.issue('srv', 'health.test', 2);
  const origin = tls.createServer({ cert: readFileSync(join(tmp, 'srv.crt')), key: readFileSync(join(tmp, 'srv.key')) }, s => { s.on('error', () => {}); s.end(); });
  origin.on('tlsClientError', () => { /* the failing check */ });
  await new Promise<void>(resolve => origin.listen(0, '127.0.0.1', () => resolve()));
  t.after(() => new Promise<void>(resolve => origin.close(() => resolve())));
  const tlsPort = (origin.address() as net.AddressInfo).port;
  const plain = new LineServer(() => null);
  await plain.listen();
  t.after(() => plain.close());
  const [port] = await freePorts(1);
  const r = await startChecked(t, sock => `${checkGlobals(sock, { mode: 'tcp' })}
frontend fe
    bind 127.0.0.1:${port}
    default_backend be
backend be
    server ok 127.0.0.1:${plain.port} check inter 100 port ${tlsPort} check-ssl ca-file ${join(tmp, 'ca.crt')} check-sni health.test
    server wrongname 127.0.0.1:${plain.port} check inter 100 port ${tlsPort} check-ssl ca-file ${join(tmp, 'ca.crt')} check-sni other.test
`);
  await r.line(new RegExp(`Server be/wrongname is DOWN, reason: Layer6 invalid response, info: "SSL handshake failure", check duration: ${MS}\\. 1 active and 0 backup servers left\\. 0 sessions active, 0 requeued, 0 remaining in queue\\.`));
  const ok = await r.row('be', 'ok');
  assert.deepEqual([ok.status, ok.check_status.replace(/^\* /, ''), ok.check_desc], ['UP', 'L6OK', 'Layer6 check passed']);
});
