#!/usr/bin/env node
// Master <-> worker IPC throughput: msgpack frames (packages/core/src/ipc/channel.ts)
// over the node:cluster channel with `serialization: 'advanced'`.
// Sends N server-state messages master -> worker, then N stats-like messages
// worker -> master, in bursts of B per event-loop turn (the way a health-check
// storm or stick-table deltas arrive), and prints messages/s and frames/s.
// Usage: node bench/ipc-throughput.mjs [N=1000000] [B=1000]
import cluster from 'node:cluster';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Channel } = require('../packages/core/dist/src/ipc/channel.js');
const N = Number(process.argv[2] ?? 1_000_000);
const B = Number(process.argv[3] ?? 1000);
const st = { admin: 0, op: 2, uweight: 1, iweight: 1, lastChange: 1795543185483 };

function burst(ch, make, total, done) {
  let sent = 0;
  const step = () => {
    const end = Math.min(total, sent + B);
    for (; sent < end; sent++) ch.send(make(sent));
    if (sent < total) setImmediate(step); else done?.();
  };
  step();
}

if (cluster.isPrimary) {
  cluster.setupPrimary({ serialization: 'advanced' });
  const w = cluster.fork();
  let t0 = 0, got = 0;
  const ch = new Channel(w.process, m => {
    if (m.t === 'hello') {
      // An ES module worker attaches its 'message' listener late: start once it says so.
      t0 = performance.now();
      burst(ch, i => ({ t: 'srv', p: 1, s: i & 63, st }), N);
    } else if (m.t === 'done-in') {
      const s = (performance.now() - t0) / 1000;
      console.log(`master -> worker: ${N} msgs in ${s.toFixed(2)} s = ${Math.round(N / s).toLocaleString('en')} msgs/s (${ch.framesOut} frames)`);
      t0 = performance.now();
      ch.send({ t: 'go' });
    } else if (m.t === 'd') {
      if (++got === N) {
        const s = (performance.now() - t0) / 1000;
        console.log(`worker -> master: ${N} msgs in ${s.toFixed(2)} s = ${Math.round(N / s).toLocaleString('en')} msgs/s`);
        w.kill();
        process.exit(0);
      }
    }
  });
  w.process.on('message', raw => ch.receive(raw));
} else {
  let got = 0;
  const ch = new Channel(process, m => {
    if (m.t === 'srv') { if (++got === N) ch.send({ t: 'done-in' }); }
    else if (m.t === 'go') burst(ch, i => ({ t: 'd', k: `10.0.${(i >> 8) & 255}.${i & 255}`, v: i }), N);
  });
  process.on('message', raw => ch.receive(raw));
  ch.send({ t: 'hello' });
}
