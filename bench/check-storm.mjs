#!/usr/bin/env node
// A health-check storm: 1,000 servers change state at once (a switch
// reboots, a rack goes dark). Measures how fast the master's state table
// reaches every worker over IPC, with the real Supervisor and real workers:
//   1. setServerState x N       the bare replication ('srv' messages)
//   2. ServerAdmin.setStopped   the checks' path: HAProxy's log line per
//                               server, one stats round trip per batch
// "applied" is a stats round trip sent after the storm: IPC is in order per
// worker, so its reply means every worker applied every change.
// Usage: node bench/check-storm.mjs [servers=1000] [workers=2] [rounds=5]  (after pnpm build)
import { createRequire } from 'node:module';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import net from 'node:net';

const require = createRequire(new URL('../packages/master/package.json', import.meta.url));
const { loadConfig } = require('@switchyard/core/config/load');
const { Supervisor } = require('./dist/src/supervisor.js');
const { ServerAdmin } = require('./dist/src/server-admin.js');
const { ListenerSet } = require('./dist/src/listeners.js');
const pino = require('pino');

const N = Number(process.argv[2] ?? 1000);
const W = Number(process.argv[3] ?? 2);
const ROUNDS = Number(process.argv[4] ?? 5);

const port = await new Promise(resolve => { const s = net.createServer(); s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); }); });
const dir = mkdtempSync(join(tmpdir(), 'sy-storm-'));
const servers = [];
for (let i = 0; i < N; i++) servers.push(`    server s${i} 127.0.0.${1 + (i >> 8)}:${10000 + (i & 255)}`);
writeFileSync(join(dir, 'storm.cfg'), `global\n    nbthread ${W}\ndefaults\n    mode tcp\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nfrontend fe\n    bind 127.0.0.1:${port}\n    default_backend be\nbackend be\n${servers.join('\n')}\n`);
const { config, diag } = await loadConfig([join(dir, 'storm.cfg')]);
if (!config) { console.error(diag.items); process.exit(1); }

const sockets = new ListenerSet();
sockets.bindAll(config.listeners);
const entry = join(dirname(require.resolve('@switchyard/worker/main')), 'entry.js');
const sup = new Supervisor(entry, sockets, pino({ level: 'warn' }));
await sup.startGeneration(config);
const p = config.proxies.findIndex(x => x.name === 'be');
const sent = () => sup.currentWorkers().reduce((a, w) => [a[0] + w.channel.messagesOut, a[1] + w.channel.framesOut], [0, 0]);
const ms = t => Number(process.hrtime.bigint() - t) / 1e6;

// 1. Bare replication.
const bare = [];
for (let r = 0; r < ROUNDS; r++) {
  const op = r % 2 === 0 ? 0 : 2; // STOPPED, RUNNING
  const [m0, f0] = sent();
  const t = process.hrtime.bigint();
  for (let s = 0; s < N; s++) sup.setServerState(p, s, { ...sup.states[p][s], op, lastChange: Date.now() });
  await sup.applied();
  const el = ms(t);
  const [m1, f1] = sent();
  bare.push({ el, msgs: m1 - m0, frames: f1 - f0 });
}

// 2. The checks' path, with HAProxy's log lines (formatted, not written), from all servers up.
for (let s = 0; s < N; s++) sup.setServerState(p, s, { ...sup.states[p][s], op: 2 });
await sup.applied();
let lines = 0;
const admin = new ServerAdmin(sup, () => { lines++; });
const full = [];
for (let r = 0; r < ROUNDS; r++) {
  lines = 0;
  const t = process.hrtime.bigint();
  for (let s = 0; s < N; s++) {
    if (r % 2 === 0) admin.setStopped(p, s, { status: 8, code: 0, desc: 'Connection refused', duration: 0 });
    else admin.setRunning(p, s, { status: 15, code: 200, desc: '', duration: 1 });
  }
  await sup.applied();
  const applied = ms(t);
  await admin.drained();
  full.push({ applied, logged: ms(t), lines });
}

const med = a => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const b = med(bare.map(x => x.el));
console.log(`check storm: ${N} servers, ${W} workers, ${ROUNDS} rounds (medians)`);
console.log(`  replication  : all workers applied ${N} changes in ${b.toFixed(1)} ms = ${Math.round((N * W) / (b / 1000)).toLocaleString('en')} srv msgs/s applied; ${bare[0].msgs} msgs in ${bare[0].frames} frames`);
const f = med(full.map(x => x.applied)), l = med(full.map(x => x.logged));
console.log(`  checks' path : applied in ${f.toFixed(1)} ms, ${med(full.map(x => x.lines))} log lines out in ${l.toFixed(1)} ms (session counts: one stats round trip per batch)`);

await sup.stopAll(false);
sockets.closeAll();
rmSync(dir, { recursive: true, force: true });
process.exit(0);
