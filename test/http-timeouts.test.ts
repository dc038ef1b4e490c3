/**
 * Slowloris through the real master: clients trickling a request head one
 * byte at a time get HAProxy's 408 once `timeout http-request` has passed
 * since their first byte, nothing of theirs reaches the origin, and a normal
 * client sharing the same worker keeps being served the whole time. The
 * slow clients' pace is their behaviour (a timer per byte), not a wait in
 * the test: assertions wait on socket events.
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { freePorts, startProxy, within, type ProxyRun } from './helpers';
import { RawClient, RawOrigin } from './http-wire';

const PAGE_408 = 'HTTP/1.1 408 Request Time-out\r\nContent-length: 110\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>408 Request Time-out</h1>\nYour browser didn\'t send a complete request in time.\n</body></html>\n';
const TIMEOUT = 600;
const SLOW = 6;

describe('http slowloris', () => {
  let run: ProxyRun;
  let origin: RawOrigin;
  let port = 0;

  before(async () => {
    origin = new RawOrigin(({ socket, head }) => {
      const path = head.split(' ')[1];
      socket.end(`HTTP/1.1 200 OK\r\nContent-Length: ${path.length}\r\n\r\n${path}`);
    });
    const op = await origin.listen();
    [port] = await freePorts(1);
    run = await startProxy([
      'global',
      '    nbthread 1',
      'defaults',
      '    mode http',
      '    timeout connect 2s',
      '    timeout client 10s',
      '    timeout server 10s',
      `    timeout http-request ${TIMEOUT}ms`,
      'frontend fe',
      `    bind 127.0.0.1:${port}`,
      '    default_backend be',
      'backend be',
      `    server app 127.0.0.1:${op}`,
      '',
    ].join('\n'));
  });

  after(async () => {
    await run?.stop();
    await origin?.close();
  });

  it(`${SLOW} clients trickling a head get 408 after timeout http-request; a normal client is served meanwhile`, async () => {
    const head = 'GET /slow HTTP/1.1\r\nHost: a\r\nX-Padding: ' + 'p'.repeat(200) + '\r\n\r\n';
    const slow: Array<{ c: RawClient; firstByteAt: number; timer: NodeJS.Timeout | null; sent: number }> = [];
    for (let i = 0; i < SLOW; i++) {
      const c = new RawClient(port);
      await c.connected;
      const s = { c, firstByteAt: Date.now(), timer: null as NodeJS.Timeout | null, sent: 0 };
      const trickle = (): void => {
        if (c.closed || s.sent >= head.length - 1) return; // never the last byte
        c.send(head[s.sent++]);
        s.timer = setTimeout(trickle, 20);
      };
      trickle();
      slow.push(s);
    }
    // A normal client: one request after another on one connection until every slow one is closed.
    const served: number[] = [];
    const n = new RawClient(port);
    await n.connected;
    const allClosed = Promise.all(slow.map(s => s.c.waitClose()));
    let done = false;
    void allClosed.then(() => { done = true; });
    for (let i = 0; !done || i < 3; i++) {
      const from = n.received.length;
      n.send(`GET /ok${i} HTTP/1.1\r\nHost: a\r\n\r\n`);
      const [r] = await within(n.responses(['GET'], from), 5000, `normal request ${i}`);
      assert.equal(r.body.toString(), `/ok${i}`);
      served.push(Date.now());
      if (i > 10_000) throw new Error('slow clients never closed');
    }
    await within(allClosed, 5000, 'slow clients closed');
    for (const s of slow) {
      if (s.timer) clearTimeout(s.timer);
      const dt = s.c.closedAt - s.firstByteAt;
      assert.equal(s.c.text, PAGE_408, 'the built-in 408, byte for byte');
      assert.ok(dt >= TIMEOUT - 10 && dt < TIMEOUT + 1500, `closed ${dt} ms after the first byte`);
      assert.ok(s.sent > 5, `kept sending (${s.sent} bytes)`);
    }
    // The normal client was answered while the slow ones were pending.
    const firstClose = Math.min(...slow.map(s => s.c.closedAt));
    assert.ok(served.filter(t => t < firstClose).length >= 10, `${served.filter(t => t < firstClose).length} responses before the first 408`);
    assert.ok(!n.closed);
    n.destroy();
    // Nothing of the slow clients reached the origin.
    assert.ok(origin.heads.length >= served.length);
    assert.deepEqual(origin.heads.filter(h => h.includes('/slow')), []);
  });
});
