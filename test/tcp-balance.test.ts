/**
 * Server selection in TCP mode with the real master: roundrobin and static-rr
 * weights, backup servers (first one only, or all with `option allbackups`),
 * leastconn and first with long-lived connections, source and rdp-cookie
 * hashing that send a client to the same server whichever of two workers
 * accepts it, random, and connect retries that end on another server.
 * Each origin greets with its name, so a client knows which server it got.
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  Origin, TcpClient, freePort, freePorts, greet, greetAt, logMark, parseTcplog, startProxy, waitForLog, within, type ProxyRun,
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
      fe('allbk'),
      'backend be_allbk',
      '    option allbackups',
      `    server a ${o('a')} disabled`,
      `    server b ${o('b')} backup`,
      `    server c ${o('c')} backup weight 3`,
      fe('lc'),
      'backend be_lc',
      '    balance leastconn',
      `    server a ${o('a')}`,
      `    server b ${o('b')}`,
      `    server c ${o('c')}`,
      fe('first'),
      'backend be_first',
      '    balance first',
      `    server a ${o('a')} id 3 maxconn 2`,
      `    server b ${o('b')} id 1 maxconn 2`,
      `    server c ${o('c')} id 2 maxconn 2`,
      fe('src'),
      'backend be_src',
      '    balance source',
      `    server s0 ${o('a')}`,
      `    server s1 ${o('b')} weight 2`,
      `    server s2 ${o('c')}`,
      fe('srccons'),
      'backend be_srccons',
      '    balance source',
      '    hash-type consistent',
      `    server s0 ${o('a')}`,
      `    server s1 ${o('b')}`,
      `    server s2 ${o('c')}`,
      `    server s3 ${o('d')}`,
      // The RDP connection request is in the buffer when the server is chosen.
      `frontend fe_rdp\n    bind 127.0.0.1:${ports[`rdp${nbthread}`]}\n    tcp-request inspect-delay 5s\n    tcp-request content accept if { req.len gt 0 }\n    default_backend be_rdp\n`,
      'backend be_rdp',
      '    balance rdp-cookie',
      `    server a ${o('a')}`,
      `    server b ${o('b')}`,
      `    server c ${o('c')}`,
      `    server d ${o('d')}`,
      fe('rnd'),
      'backend be_rnd',
      '    balance random',
      `    server a ${o('a')}`,
      `    server b ${o('b')}`,
      `    server c ${o('c')}`,
      fe('uri'),
      'backend be_uri',
      // A layer-7 algorithm in mode tcp: round-robin, as HAProxy falls back.
      '    balance uri',
      `    server d ${o('d')}`,
      `    server e ${o('e')}`,
      '',
    ].join('\n');
  }

  before(async () => {
    for (const n of ['a', 'b', 'c', 'd', 'e']) { origins[n] = new Origin(n); await origins[n].listen(); }
    refusedPort = await freePort(); // bound then released: connect() is refused
    const names = ['rr', 'srr', 'bkidle', 'bk', 'redisp', 'onlybad', 'allbk', 'lc', 'first', 'src', 'srccons', 'rdp', 'rnd', 'uri'].flatMap(n => [`${n}1`, `${n}2`]);
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
  it('option allbackups: with every active server down, the backups share the traffic by weight', async () => {
    assert.deepEqual(await tally(ports.allbk1, 40, 4), { b: 10, c: 30 });
  });

  /** Open a long-lived connection and read which server greeted it. */
  async function hold(port: number): Promise<{ c: TcpClient; srv: string }> {
    const c = await TcpClient.open(port);
    await c.waitData('\n');
    return { c, srv: c.text.trim() };
  }

  /** Close held connections and wait until the proxy has logged their end (their server slot is free then). */
  async function letGo(run: ProxyRun, held: Array<{ c: TcpClient }>, fe: string): Promise<void> {
    await Promise.all(held.map(async h => {
      const mark = logMark(run.master);
      h.c.socket.end();
      await waitForLog(run.master, h.c.localPort, { from: mark, fe });
    }));
  }

  it('leastconn, long-lived connections: new ones go to the server with the fewest (not the next in turn)', async () => {
    const held: Array<{ c: TcpClient; srv: string }> = [];
    try {
      for (let i = 0; i < 6; i++) held.push(await hold(ports.lc1));
      assert.deepEqual(held.map(h => h.srv).sort(), ['a', 'a', 'b', 'b', 'c', 'c']);
      // b's two connections end: the next two go to b (round-robin would give a, b).
      const bs = held.filter(h => h.srv === 'b');
      await letGo(run1, bs, 'fe_lc');
      held.splice(0, held.length, ...held.filter(h => h.srv !== 'b'));
      for (let i = 0; i < 2; i++) {
        const h = await hold(ports.lc1);
        held.push(h);
        assert.equal(h.srv, 'b', `connection ${i + 1} after b emptied`);
      }
      const h = await hold(ports.lc1);
      held.push(h);
      assert.notEqual(h.srv, 'b', 'all at 2 again: b is not preferred');
    } finally {
      for (const h of held) h.c.socket.destroy();
    }
  });

  it('first: servers fill in id order (b id 1, c id 2, a id 3), each up to its maxconn 2', async () => {
    const held: Array<{ c: TcpClient; srv: string }> = [];
    try {
      for (let i = 0; i < 6; i++) held.push(await hold(ports.first1));
      assert.deepEqual(held.map(h => h.srv), ['b', 'b', 'c', 'c', 'a', 'a']);
      // A slot frees on b: the next connection takes it, not a third one on a.
      await letGo(run1, [held[0]], 'fe_first');
      held.shift();
      const h = await hold(ports.first1);
      held.push(h);
      assert.equal(h.srv, 'b');
    } finally {
      for (const h of held) h.c.socket.destroy();
    }
  });

  it('source, 2 workers: each client address always reaches the server haproxy 2.6.12 picks for it', async () => {
    // haproxy 2.6.12, `balance source`, servers weights 1/2/1, clients 127.0.0.1 … 127.0.0.12.
    const hap = 's1 s1 s2 s0 s1 s1 s2 s0 s1 s1 s2 s0'.split(' ').map(s => ({ s0: 'a', s1: 'b', s2: 'c' })[s]);
    for (let round = 0; round < 3; round++) {
      const got = await Promise.all(hap.map((_, i) => greetAt({ port: ports.src2, host: '127.0.0.1', localAddress: `127.0.0.${i + 1}` })));
      assert.deepEqual(got, hap, `round ${round}`);
    }
  });

  it('source with consistent hashing, 2 workers: stable per client address, spread over the servers', async () => {
    const first = await Promise.all(Array.from({ length: 20 }, (_, i) => greetAt({ port: ports.srccons2, host: '127.0.0.1', localAddress: `127.0.1.${i + 1}` })));
    assert.ok(new Set(first).size >= 3, first.join(' '));
    for (let round = 0; round < 2; round++) {
      const again = await Promise.all(Array.from({ length: 20 }, (_, i) => greetAt({ port: ports.srccons2, host: '127.0.0.1', localAddress: `127.0.1.${i + 1}` })));
      assert.deepEqual(again, first);
    }
  });

  /** An RDP connection request (TPKT, X.224 CR) carrying `Cookie: mstshash=<user>`; resolves with the greeting server. */
  async function rdp(port: number, user: string): Promise<string> {
    const c = await TcpClient.open(port, { allowHalfOpen: false });
    try {
      const cookie = Buffer.from(`Cookie: mstshash=${user}\r\n`);
      const x224 = Buffer.from([0x00, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00]);
      const tpkt = Buffer.from([0x03, 0x00, 0x00, 0x00]);
      tpkt.writeUInt16BE(4 + x224.length + cookie.length, 2);
      c.socket.write(Buffer.concat([tpkt, x224, cookie]));
      await c.waitData('\n');
      return c.text.slice(0, c.text.indexOf('\n'));
    } finally {
      c.socket.destroy();
    }
  }

  it('rdp-cookie, 2 workers: each user always reaches the same server, users spread', async () => {
    const users = Array.from({ length: 12 }, (_, i) => `user${i}`);
    const first = await Promise.all(users.map(u => rdp(ports.rdp2, u)));
    assert.ok(new Set(first).size >= 3, first.join(' '));
    for (let round = 0; round < 2; round++) assert.deepEqual(await Promise.all(users.map(u => rdp(ports.rdp2, u))), first);
  });

  it('random: every server gets a share', async () => {
    const counts = await tally(ports.rnd2, 150);
    assert.deepEqual(Object.keys(counts).sort(), ['a', 'b', 'c']);
    for (const n of ['a', 'b', 'c']) assert.ok(counts[n] >= 20, JSON.stringify(counts));
  });

  it('balance uri in mode tcp falls back to round-robin (HAProxy\'s warning at load)', async () => {
    assert.match(run1.master.output, /Layer 7 hash not possible for backend 'be_uri' \(needs 'mode http'\)\. Falling back to round robin\./);
    assert.deepEqual(await tally(ports.uri1, 20, 4), { d: 10, e: 10 });
  });
});
