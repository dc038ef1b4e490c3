#!/usr/bin/env node
// A server dies under load: how many client errors, and for how long?
//
//   node bench/server-death.mjs            (after pnpm build; HAProxy runs too when /usr/sbin/haproxy exists)
//
// Three origins (node:http, each its own process) behind the proxy with
// `retries 3`, `option redispatch`, `retry-on all-retryable-errors` and
// health checks (`check inter 200 fall 2 rise 2`). A keep-alive client
// (BENCH_CONCURRENCY, default 32) sends GETs for BENCH_SECONDS (6); after
// 2 s origin #2 is killed with SIGKILL. Printed per proxy: requests, client
// errors, the time from the kill to the last error, and from the kill to the
// proxy marking the server DOWN (the state change log line; Switchyard only).
// Env: BENCH_TARGETS (switchyard,haproxy), BENCH_CHECKS (1; 0 leaves health checks out),
// BENCH_RETRY (1; 0: retries 0, no redispatch nor retry-on).
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as http from 'node:http';
import * as net from 'node:net';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const CONC = Number(process.env.BENCH_CONCURRENCY ?? 32);
const CHECKS = process.env.BENCH_CHECKS !== '0';
// BENCH_RETRY=0: `retries 0`, no redispatch, no retry-on (what clients see without them).
const RETRY = process.env.BENCH_RETRY !== '0';
const TARGETS = (process.env.BENCH_TARGETS ?? 'switchyard,haproxy').split(',').filter(t => t !== 'haproxy' || existsSync('/usr/sbin/haproxy'));

function freePort() {
  return new Promise(resolve => { const s = net.createServer(); s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); }); });
}

function startOrigin(port) {
  const code = `require('http').createServer((q, r) => { q.resume(); q.on('end', () => r.end('ok')); }).listen(${port}, '127.0.0.1', () => process.send('up'));`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  return new Promise(resolve => child.once('message', () => resolve(child)));
}

function waitListening(port, ms = 15000) {
  const until = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tryOnce = () => {
      const c = net.connect(port, '127.0.0.1');
      c.once('connect', () => { c.destroy(); resolve(); });
      c.once('error', () => { if (Date.now() > until) reject(new Error(`port ${port} not listening`)); else setTimeout(tryOnce, 50); });
    };
    tryOnce();
  });
}

async function runOne(target) {
  const dir = mkdtempSync(join(tmpdir(), 'sy-death-'));
  const oports = [await freePort(), await freePort(), await freePort()];
  const origins = await Promise.all(oports.map(startOrigin));
  const port = await freePort();
  const chk = CHECKS ? ' check inter 200 fall 2 rise 2' : '';
  const cfg = [
    'global',
    '    nbthread 2',
    target === 'switchyard' ? '    log stdout format raw local0' : '    log stdout format raw local0 notice',
    'defaults',
    '    mode http',
    '    timeout connect 1s',
    '    timeout client 10s',
    '    timeout server 10s',
    ...(RETRY ? ['    retries 3', '    option redispatch', '    retry-on all-retryable-errors'] : ['    retries 0']),
    'frontend fe',
    `    bind 127.0.0.1:${port}`,
    '    default_backend be',
    'backend be',
    '    balance roundrobin',
    ...oports.map((p, i) => `    server s${i + 1} 127.0.0.1:${p}${chk}`),
  ].join('\n') + '\n';
  const cfgPath = join(dir, 'bench.cfg');
  writeFileSync(cfgPath, cfg);
  const bin = target === 'switchyard' ? [process.execPath, join(ROOT, 'packages/master/bin/switchyard.js'), '-f', cfgPath] : ['/usr/sbin/haproxy', '-db', '-f', cfgPath];
  const proxy = spawn(bin[0], bin.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let downAt = -1;
  const watch = d => { if (downAt < 0 && /Server be\/s2 is DOWN/.test(d.toString())) downAt = Date.now(); };
  proxy.stdout.on('data', watch);
  proxy.stderr.on('data', watch);
  await waitListening(port);

  const agent = new http.Agent({ keepAlive: true, maxSockets: CONC });
  let ok = 0;
  const errors = [];
  let running = true;
  const loop = async () => {
    while (running) {
      await new Promise(resolve => {
        const req = http.get({ host: '127.0.0.1', port, path: '/', agent }, res => {
          res.resume();
          res.on('end', () => { if (res.statusCode === 200) ok++; else errors.push({ at: Date.now(), what: `status ${res.statusCode}` }); resolve(); });
        });
        req.on('error', e => { errors.push({ at: Date.now(), what: e.code ?? e.message }); resolve(); });
      });
    }
  };
  const loops = Array.from({ length: CONC }, loop);
  await new Promise(r => setTimeout(r, 2000));
  const killAt = Date.now();
  origins[1].kill('SIGKILL');
  await new Promise(r => setTimeout(r, SECONDS * 1000 - 2000));
  running = false;
  await Promise.all(loops);
  agent.destroy();
  proxy.kill('SIGTERM');
  for (const o of origins) o.kill('SIGKILL');
  await new Promise(r => proxy.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
  const after = errors.filter(e => e.at >= killAt);
  const kinds = {};
  for (const e of errors) kinds[e.what] = (kinds[e.what] ?? 0) + 1;
  return {
    target, requests: ok + errors.length, errors: errors.length,
    lastErrorMs: after.length ? Math.max(...after.map(e => e.at)) - killAt : null,
    downMs: downAt >= 0 ? downAt - killAt : null,
    kinds,
  };
}

const rows = [];
for (const t of TARGETS) rows.push(await runOne(t));
console.log(`server killed after 2 s of ${SECONDS} s, ${CONC} keep-alive clients, checks ${CHECKS ? 'inter 200 fall 2' : 'off'}, ${RETRY ? 'retries 3 + redispatch + retry-on all-retryable-errors' : 'retries 0'}`);
console.log('| proxy | requests | client errors | kill → last error | kill → DOWN logged | errors by kind |');
console.log('|---|---:|---:|---:|---:|---|');
for (const r of rows) {
  console.log(`| ${r.target} | ${r.requests} | ${r.errors} | ${r.lastErrorMs === null ? '-' : r.lastErrorMs + ' ms'} | ${r.downMs === null ? '-' : r.downMs + ' ms'} | ${Object.entries(r.kinds).map(([k, v]) => `${k}: ${v}`).join(', ') || '-'} |`);
}
