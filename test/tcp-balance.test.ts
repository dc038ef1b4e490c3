/**
 * Server selection in TCP mode with the real master: roundrobin and static-rr
 * weights, backup servers, and connect retries that end on another server.
 * Each origin greets with its name, so a client knows which server it got.
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  Origin, TcpClient, freePort, freePorts, greet, logMark, parseTcplog, startProxy, waitForLog, within, type ProxyRun,
} from './helpers';

/** `n` greetings through `port`, `concurrency` at a time; resolves with a count per origin name. */
async function tally(port: number, n: number, concurrency = 16): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  let next = 0;
  const loop = async (): Promise<void> => {
    while (next < n) {
      next++;
      const name = await greet(port);
      counts[name] = (counts[name] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  return counts;
}

/** Assert each name's share of `total` is within `tolerance` (absolute, 0..1) of its expected share. */
function assertShares(counts: Record<string, number>, expected: Record<string, number>, tolerance: number): void {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const wsum = Object.values(expected).reduce((a, b) => a + b, 0);
  assert.deepEqual(Object.keys(counts).sort(), Object.keys(expected).sort(), `servers used: ${JSON.stringify(counts)}`);
  for (const [name, w] of Object.entries(expected)) {
    const share = counts[name] / total, want = w / wsum;
    assert.ok(Math.abs(share - want) <= tolerance, `${name}: ${counts[name]}/${total} = ${(share * 100).toFixed(1)}%, expected ${(want * 100).toFixed(1)}% ± ${tolerance * 100}% (${JSON.stringify(counts)})`);
  }
}

describe('tcp balance', () => {
  const runs: ProxyRun[] = [];
  const origins: Record<string, Origin> = {};
  let ports: Record<string, number> = {};
  let refusedPort = 0;
  let run1: ProxyRun;
  let run2: ProxyRun;

  function config(nbthread: number): string {
    const o = (n: string): string => `127.0.0.1:${origins[n].port}`;
    const fe = (name: string): string => `frontend fe_${name}\n    bind 127.0.0.1:${ports[`${name}${nbthread}`]}\n    default_backend be_${name}\n`;
    return [
      'global',
      `    nbthread ${nbthread}`,
      '    log stdout format raw local0',
      'defaults',
      '    mode tcp',
      '    log global',
      '    option tcplog',
      '    timeout connect 5s',
      '    timeout client 30s',
      '    timeout server 30s',
      fe('rr'),
      'backend be_rr',
      '    balance roundrobin',
      `    server a ${o('a')} weight 1`,
      `    server b ${o('b')} weight 2`,
      `    server c ${o('c')} weight 3`,
      fe('srr'),
      'backend be_srr',
      '    balance static-rr',
      `    server d ${o('d')} weight 1`,
      `    server e ${o('e')} weight 3`,
      fe('bkidle'),
      'backend be_bkidle',
      `    server a ${o('a')}`,
      `    server b ${o('b')}`,
      `    server c ${o('c')} backup`,
      fe('bk'),
      'backend be_bk',
      `    server a ${o('a')} disabled`,
      `    server b ${o('b')} disabled`,
      `    server c ${o('c')} backup`,
      `    server d ${o('d')} backup`,
      fe('redisp'),
      'backend be_redisp',
      '    retries 2',
      '    option redispatch',
      // A refused connect waits min(1 s, timeout connect) before the retry (HAProxy's turn-around).
      '    timeout connect 200ms',
      `    server bad 127.0.0.1:${refusedPort}`,
      `    server good ${o('e')}`,
      fe('onlybad'),
      'backend be_onlybad',
      '    retries 1',
      '    timeout connect 100ms',
      `    server bad 127.0.0.1:${refusedPort}`,
      '',
    ].join('\n');
  }

  before(async () => {
    for (const n of ['a', 'b', 'c', 'd', 'e']) { origins[n] = new Origin(n); await origins[n].listen(); }
    refusedPort = await freePort(); // bound then released: connect() is refused
    const names = ['rr', 'srr', 'bkidle', 'bk', 'redisp', 'onlybad'].flatMap(n => [`${n}1`, `${n}2`]);
    const p = await freePorts(names.length);
    ports = Object.fromEntries(names.map((n, i) => [n, p[i]]));
    [run1, run2] = await Promise.all([startProxy(config(1)), startProxy(config(2))]);
    runs.push(run1, run2);
  });

  after(async () => {
    await Promise.all(runs.map(r => r.stop()));
    await Promise.all(Object.values(origins).map(o => o.close()));
  });

  it('roundrobin, weights 1/2/3, nbthread 1: 600 connections split 100/200/300 (± 2%)', async () => {
    const counts = await tally(ports.rr1, 600);
    assertShares(counts, { a: 1, b: 2, c: 3 }, 0.02);
  });

  it('roundrobin, weights 1/2/3, nbthread 2: each worker balances its own share, total within ± 5%', async () => {
    const counts = await tally(ports.rr2, 600);
    assertShares(counts, { a: 1, b: 2, c: 3 }, 0.05);
  });

  it('static-rr, weights 1/3: 400 connections split 25%/75% (± 2%)', async () => {
    const counts = await tally(ports.srr1, 400);
    assertShares(counts, { d: 1, e: 3 }, 0.02);
  });

  it('a backup server gets nothing while an active server is usable', async () => {
    const counts = await tally(ports.bkidle1, 40, 4);
    assert.deepEqual(counts, { a: 20, b: 20 });
  });

  it('with every active server disabled, the first backup takes all the traffic (no allbackups)', async () => {
    assert.deepEqual(await tally(ports.bk1, 20, 4), { c: 20 });
    assert.deepEqual(await tally(ports.bk2, 20, 4), { c: 20 });
  });

  it('a refused connect is retried and the last retry goes to the other server: every client served, log shows +retries', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 4; i++) {
      const mark = logMark(run1.master);
      const c = await TcpClient.open(ports.redisp1, { allowHalfOpen: false });
      await c.waitData('e\n', 10_000);
      c.socket.end();
      await within(c.closed, 5000, 'closed');
      lines.push(await waitForLog(run1.master, c.localPort, { from: mark, fe: 'fe_redisp' }));
    }
    const logs = lines.map(parseTcplog);
    for (const l of logs) {
      assert.equal(`${l.be}/${l.srv}`, 'be_redisp/good', lines.join('\n'));
      assert.equal(l.ts, '--', lines.join('\n'));
    }
    // The redispatch takes the round-robin turn of `good`, so every new
    // connection starts on `bad` again (HAProxy 2.6 logs the same: each one
    // redispatched).
    for (const l of logs) {
      assert.match(l.rc, /^\+[12]$/, `redispatched after 1 or 2 retries (retries 2):\n${lines.join('\n')}`);
    }
  });

  it('when the only server refuses, the client is closed after the retries and the log says SC', async () => {
    const mark = logMark(run1.master);
    const c = await TcpClient.open(ports.onlybad1, { allowHalfOpen: false });
    await within(c.closed, 5000, 'client closed');
    assert.equal(c.received.length, 0);
    const l = parseTcplog(await waitForLog(run1.master, c.localPort, { from: mark, fe: 'fe_onlybad' }));
    assert.equal(`${l.be}/${l.srv} ${l.ts} ${l.tc} ${l.rc}`, 'be_onlybad/bad SC -1 1');
  });
});
