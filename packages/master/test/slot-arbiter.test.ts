/**
 * Node-wide server maxconn: the master's SlotArbiter and the workers' side
 * (core backend/queue.ts) driven together in one process, with messages
 * delivered out of order in time like IPC (each hop queued, delivered in
 * random interleavings). Invariants: a credit is in one place (pool plus
 * every worker's holding is the limit), the node never has more streams on
 * the server than the limit, and every queued request is served.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { SlotArbiter, type ArbiterWorker } from '../src/slot-arbiter';
import { newProxyConfig } from '@switchyard/core/proxy/sections';
import { ProxyRuntime, type ServerRuntime } from '@switchyard/core/engine/proxy-runtime';
import { enqueue, serverHasRoom, type QueueWaiter, type WaitQueue } from '@switchyard/core/backend/queue';
import type { CompiledConfig, ServerConfig } from '@switchyard/core/config/compiled';
import type { MasterMessage } from '@switchyard/core/ipc/messages';
import { initialServerState } from '@switchyard/core/engine/proxy-runtime';

function config(maxconn: number, workers: number): CompiledConfig {
  const be = newProxyConfig('be', 'test.cfg', 1);
  be.cap = { fe: false, be: true };
  const srv = {
    file: 'test.cfg', line: 2, name: 's1', id: 1, forcedId: false, addrText: '127.0.0.1:1', host: '127.0.0.1', ip: '127.0.0.1', port: 1, family: 4,
    weight: 1, maxconn, backup: false, disabled: false, poolMaxConn: -1, poolPurgeDelay: 5000,
  } as ServerConfig;
  be.servers.push(srv);
  return { proxies: [be], listeners: [], global: { nbthread: workers, maxconn: 1000 } } as unknown as CompiledConfig;
}

/** Deterministic pseudo-random numbers (a failure reproduces). */
function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x / 0x100000000; };
}

class Request implements QueueWaiter {
  queuedAt = 0;
  waitQueue: WaitQueue | null = null;
  askedOf: ServerRuntime | null = null;
  srvQueue = 0;
  backendQueue = 0;
  running = false;
  constructor(private readonly node: Node) {}
  dequeued(srv: ServerRuntime): void { srv.acquire(); this.running = true; this.node.running.push(this); }
  requeue(): void { /* servers do not go down in this simulation */ }
}

interface Node { running: Request[] }

function simulate(seed: number, maxconn: number, nWorkers: number, steps: number): void {
  const rand = rng(seed);
  const cfg = config(maxconn, nWorkers);
  const states = [[initialServerState(cfg.proxies[0].servers[0])]];
  const arb = new SlotArbiter(cfg, () => states);
  /** In-flight messages, delivered in a random order across links but in order per link. */
  const toWorker: MasterMessage[][] = [];
  const toMaster: Array<Array<() => void>> = [];
  const log0: string[] = [];
  const workers = Array.from({ length: nWorkers }, (_, i) => {
    const be = new ProxyRuntime(cfg.proxies[0], 0, states[0]);
    const link = {
      want: (p: number, s: number, n: number) => toMaster[i].push(() => arb.want(aw, p, s, n)),
      give: (p: number, s: number, n: number) => toMaster[i].push(() => arb.give(aw, p, s, n)),
    };
    be.attachSlots(link);
    const aw: ArbiterWorker = { index: i, send: m => { toWorker[i].push(m); if (i === 0) log0.push(JSON.stringify(m)); } };
    toWorker.push([]);
    toMaster.push([]);
    return { be, srv: be.servers[0], aw, node: { running: [] as Request[] } };
  });
  for (const w of workers) arb.add(w.aw);
  let served = 0, issued = 0;
  const check = (): void => {
    const v = arb.view(0, 0)!;
    assert.ok(v.pool + v.held.reduce((a, b) => a + b, 0) <= maxconn, `credits: ${JSON.stringify(v)}`);
    const inUse = workers.reduce((a, w) => a + w.srv.cur, 0);
    assert.ok(inUse <= maxconn, `${inUse} streams on a server with maxconn ${maxconn}`);
  };
  const deliver = (): boolean => {
    const links: Array<() => void> = [];
    workers.forEach((w, i) => {
      if (toWorker[i].length) links.push(() => {
        const m = toWorker[i].shift()!;
        if (m.t === 'slot') {
          // applySlotMessage via the same path as node-sync.ts
          // eslint-disable-next-line @typescript-eslint/no-require-imports
          require('@switchyard/core/backend/queue').applySlotMessage(w.be, w.srv, m.grant, m.cap, m.share);
        }
      });
      if (toMaster[i].length) links.push(() => toMaster[i].shift()!());
    });
    if (links.length === 0) return false;
    links[Math.floor(rand() * links.length)]();
    return true;
  };
  for (let step = 0; step < steps; step++) {
    const r = rand();
    const w = workers[Math.floor(rand() * nWorkers)];
    if (r < 0.4) {
      // A new request on a random worker.
      issued++;
      const q = new Request(w.node);
      if (serverHasRoom(w.srv)) q.dequeued(w.srv);
      else enqueue(w.be, w.srv, q, false, step, q);
    } else if (r < 0.7 && w.node.running.length > 0) {
      // A request ends.
      const i = Math.floor(rand() * w.node.running.length);
      w.node.running.splice(i, 1);
      served++;
      w.srv.cur--; // ServerRuntime.release without the nextTick
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require('@switchyard/core/backend/queue').creditFreed(w.be, w.srv);
    } else {
      deliver();
    }
    check();
  }
  // Drain: finish everything running, deliver every message, until all were served.
  for (let guard = 0; guard < 1_000_000; guard++) {
    let progressed = deliver();
    for (const w of workers) {
      if (w.node.running.length > 0) {
        w.node.running.pop();
        served++;
        w.srv.cur--;
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        require('@switchyard/core/backend/queue').creditFreed(w.be, w.srv);
        progressed = true;
      }
      check();
    }
    if (!progressed) break;
  }
  if (served !== issued) {
    const dbg = workers.map(w => ({ held: w.srv.slots!.held, cap: w.srv.slots!.cap, asked: w.srv.slots!.asked, waiting: w.srv.slots!.waiting, q: w.srv.slots!.queue.count, cur: w.srv.cur }));
    assert.fail(`every request served (seed ${seed}): ${served}/${issued}; arbiter ${JSON.stringify(arb.view(0, 0))}; workers ${JSON.stringify(dbg)} last to w0: ${log0.slice(-5).join(" ")} pending ${toWorker[0].length}`);
  }
  const v = arb.view(0, 0)!;
  assert.equal(v.pool + v.held.reduce((a, b) => a + b, 0), maxconn, 'every credit accounted for at the end');
}

describe('node-wide maxconn credits (SlotArbiter + worker queues)', () => {
  it('never exceeds the limit and serves every request, over random interleavings', () => {
    for (let seed = 1; seed <= Number(process.env.SLOT_SEEDS ?? 40); seed++) {
      simulate(seed, 1 + (seed % 5), 2 + (seed % 3), 3000);
    }
  });

  it('a worker that leaves gives its credits back to the pool', () => {
    const cfg = config(4, 2);
    const states = [[initialServerState(cfg.proxies[0].servers[0])]];
    const arb = new SlotArbiter(cfg, () => states);
    const sent: MasterMessage[] = [];
    const a: ArbiterWorker = { index: 0, send: m => sent.push(m) };
    const b: ArbiterWorker = { index: 1, send: m => sent.push(m) };
    arb.add(a);
    arb.add(b);
    assert.deepEqual(arb.view(0, 0), { limit: 4, pool: 0, held: [2, 2], waiting: 0 });
    arb.want(b, 0, 0, 1);
    // a is not waiting: it may keep nothing, and gives its credits back as its streams end.
    assert.deepEqual(sent.find(m => m.t === 'slot' && m.cap === 0), { t: 'slot', p: 0, s: 0, grant: 0, cap: 0 });
    arb.remove(a);
    assert.deepEqual(arb.view(0, 0), { limit: 4, pool: 1, held: [3], waiting: 0 });
  });
});
