/**
 * Connection limits with the real master: frontend `maxconn` and global
 * `maxconn`, with one and two workers. Excess clients are not refused: their
 * connections wait in the kernel's accept queue and are served, in turn, as
 * earlier ones close. The origin counts how many connections it holds at
 * once; that count must reach the limit and never pass it.
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { Origin, TcpClient, freePorts, startProxy, within, type ProxyRun } from './helpers';

/** Greets with "hold", then holds the connection until the proxy ends it. */
function holdOrigin(): Origin {
  return new Origin('hold', s => { s.write('hold\n'); s.resume(); s.on('end', () => s.end()); });
}

/**
 * Open a client to each of `ports` at once, then serve them `limit` at a
 * time: wait until `limit` are greeted, check for a while that no more get
 * through and that the others still wait (connected, not closed), then close
 * greeted clients one by one, each time waiting for one waiting client to be
 * served, until all were.
 */
async function serveInTurn(origin: Origin, ports: number[], limit: number): Promise<void> {
  const before = origin.connections;
  origin.maxActive = origin.active;
  const clients = await Promise.all(ports.map(p => TcpClient.open(p, { allowHalfOpen: false })));
  const greeted = new Set<TcpClient>();
  const greetings = clients.map(c => c.waitData('hold\n', 20_000).then(() => { greeted.add(c); }));
  for (const g of greetings) g.catch(() => { /* seen by waitGreeted's race */ });
  const waitGreeted = async (n: number): Promise<void> => {
    while (greeted.size < n) await within(Promise.race(greetings.filter((_, i) => !greeted.has(clients[i]))), 10_000, `client #${n} served`);
  };
  await waitGreeted(limit);
  // Observation window (not a synchronisation): a proxy ignoring the limit
  // would let the waiting clients through within a few ms.
  await new Promise(resolve => setTimeout(resolve, 300));
  assert.equal(greeted.size, limit, `clients served at once with maxconn ${limit}`);
  assert.equal(origin.connections - before, limit, 'connections that reached the origin');
  for (const c of clients) {
    if (!greeted.has(c)) assert.equal(c.closeAt, -1, `a waiting client was closed (error ${c.error?.code ?? 'none'}): excess connections must wait, not be refused`);
  }
  const open = [...greeted];
  for (let served = limit; served < clients.length; served++) {
    const c = open.shift()!;
    c.socket.end();
    await within(c.closed, 5000, 'client closed');
    const had = new Set(greeted);
    await waitGreeted(served + 1);
    for (const g of greeted) if (!had.has(g)) open.push(g);
    assert.ok(origin.maxActive <= limit, `the origin held ${origin.maxActive} connections at once (limit ${limit})`);
  }
  for (const c of open) c.socket.end();
  await within(Promise.all(clients.map(c => c.closed)), 5000, 'all closed');
  assert.equal(origin.connections - before, clients.length, 'every client was served');
  assert.equal(origin.maxActive, limit, `most connections held at once by the origin (limit ${limit})`);
  for (const c of clients) assert.equal(c.error, null, `client error ${c.error?.code}`);
}

describe('tcp limits', () => {
  const runs: ProxyRun[] = [];
  const origin = holdOrigin();

  before(async () => { await origin.listen(); });
  after(async () => {
    await Promise.all(runs.map(r => r.stop()));
    await origin.close();
  });

  async function start(global: string[], frontends: Array<{ name: string; port: number; extra?: string[] }>): Promise<void> {
    runs.push(await startProxy([
      'global',
      ...global.map(l => `    ${l}`),
      'defaults',
      '    mode tcp',
      '    timeout connect 5s',
      '    timeout client 30s',
      '    timeout server 30s',
      ...frontends.flatMap(f => [`frontend ${f.name}`, `    bind 127.0.0.1:${f.port}`, ...(f.extra ?? []).map(l => `    ${l}`), '    default_backend be']),
      'backend be',
      `    server hold 127.0.0.1:${origin.port}`,
      '',
    ].join('\n')));
  }

  it('frontend maxconn 2, nbthread 1: 5 simultaneous clients are served 2 at a time, the others wait', async () => {
    const [port] = await freePorts(1);
    await start(['nbthread 1'], [{ name: 'fe', port, extra: ['maxconn 2'] }]);
    await serveInTurn(origin, Array(5).fill(port), 2);
  });

  it('global maxconn 2, nbthread 1: the limit spans frontends (3 + 2 clients on two frontends)', async () => {
    const [p1, p2] = await freePorts(2);
    await start(['nbthread 1', 'maxconn 2'], [{ name: 'fe1', port: p1 }, { name: 'fe2', port: p2 }]);
    await serveInTurn(origin, [p1, p1, p1, p2, p2], 2);
  });

  it('frontend maxconn 3, nbthread 2: the total over both workers never exceeds 3 (8 clients)', async () => {
    const [port] = await freePorts(1);
    await start(['nbthread 2'], [{ name: 'fe', port, extra: ['maxconn 3'] }]);
    await serveInTurn(origin, Array(8).fill(port), 3);
  });

  it('global maxconn 2, nbthread 2: the total over both workers never exceeds 2 (6 clients)', async () => {
    const [port] = await freePorts(1);
    await start(['nbthread 2', 'maxconn 2'], [{ name: 'fe', port }]);
    await serveInTurn(origin, Array(6).fill(port), 2);
  });
});
