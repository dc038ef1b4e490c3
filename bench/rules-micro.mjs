#!/usr/bin/env node
// In-process micro-benchmark of the rules bench's per-request work (issue 5):
// the bench's config text (bench/lib/http-proxies.mjs + bench/lib/rule-set.mjs,
// the same text `bash bench/run.sh rules` gives both proxies) is loaded by the
// real config loader and compiled by the worker's buildRuntime(); each
// iteration then does what a worker's HttpStream does with wrk's request
// between reading it and writing it to the server:
//
//   parseRequestHead()  -> runRules(frontend http-request) -> serializeHead()
//
// on a host object that answers the sample fetches as HttpStream does
// (client address from the connection, no TLS, no body). The request is the
// bytes wrk sends (`GET /small.txt HTTP/1.1`, `Host: 127.0.0.1:<port>`).
//
// Prints ns per request for each variant (none, deny, map, rewrites, rules)
// and what the rules add to `none`, minimum and median of the rounds. No sockets, no syscalls: this is the
// JavaScript cost of the rules alone, the number to steer by while wrk runs
// on a shared machine are noisy.
//
// Usage: pnpm -s build && [ROUNDS=7] node bench/rules-micro.mjs [iterations=200000] [variant,...]
//        node --cpu-prof --cpu-prof-dir=/tmp/prof bench/rules-micro.mjs 400000 rules
//        node bench/cpuprofile-summary.mjs /tmp/prof/<file>.cpuprofile
import { createRequire } from 'node:module';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { httpConfig } from './lib/http-proxies.mjs';
import { writeMap, writeNets, ruleParts, VARIANT_PARTS } from './lib/rule-set.mjs';

const require = createRequire(import.meta.url);
const dist = (p) => require(`../packages/core/dist/src/${p}.js`);
const { loadConfig } = dist('config/load');
const { buildRuntime } = dist('engine/proxy-runtime');
const { parseRequestHead, HeadScan, DEFAULT_H1_LIMITS } = dist('http/h1');
const { runRules, ACT_CONTINUE } = dist('rules/rule-set');
const { serializeHead } = dist('engine/http-stream');
const { EMPTY_LOG_RECORD } = dist('log/log-format');

const N = Number(process.argv[2] ?? 200_000);
const ROUNDS = Number(process.env.ROUNDS ?? 7);
const VARIANTS = process.argv[3] ? process.argv[3].split(',') : Object.keys(VARIANT_PARTS);
for (const v of VARIANTS) if (!VARIANT_PARTS[v]) throw new Error(`unknown variant '${v}' (${Object.keys(VARIANT_PARTS).join(', ')})`);

// wrk's request to a proxy on port 61100.
const REQUEST = Buffer.from('GET /small.txt HTTP/1.1\r\nHost: 127.0.0.1:61100\r\n\r\n', 'latin1');

/** What HttpStream offers rules (engine/http-stream.ts, "what rules see"), for one client connection. */
class Host {
  constructor(fe) {
    this.fe = fe;
    this.be = null;
    this.srv = null;
    this.engine = { actconn: 1, proxies: [fe] };
    this.reqFinal = true;
    this.httpReq = null;
    this.httpRes = null;
    this.status = -1;
    this.reply = null;
    this.logLevel = -2;
    this.varScopes = null;
  }
  get vars() {
    return (this.varScopes ??= { sess: new Map(), txn: new Map(), req: new Map(), res: new Map() });
  }
  srcIp() { return '127.0.0.1'; }
  srcPort() { return 40000; }
  dstIp() { return '127.0.0.1'; }
  dstPort() { return 61100; }
  reqPayload() { return null; }
  resPayload() { return null; }
  tlsView() { return null; }
  reqBody() { return null; }
  logRecord() { return EMPTY_LOG_RECORD; }
}

async function compileVariant(dir, variant, parts) {
  const cfg = join(dir, `${variant}.cfg`);
  writeFileSync(cfg, httpConfig({ port: 61100, originPort: 61101, nbthread: 1, frontendLines: VARIANT_PARTS[variant].map((p) => parts[p]).join('') }));
  const { config, diag } = await loadConfig([cfg]);
  if (!config) throw new Error(`config of '${variant}' refused:\n${diag.format?.() ?? JSON.stringify(diag)}`);
  const fe = buildRuntime(config, undefined).find((p) => p.cfg.name === 'fe_bench');
  return fe;
}

let sink = 0;

/** One request through parse, the frontend's http-request rules and serialisation; returns the bytes sent to the server. */
function once(fe, host, scan) {
  const r = parseRequestHead(REQUEST, DEFAULT_H1_LIMITS, scan);
  scan.reset();
  const h = r.head;
  // HttpStream keeps the request line (for %r) as the head's bytes when they are canonical.
  const line = h.lineRaw ? null : h.method + ' ' + h.target + (h.version === 11 ? ' HTTP/1.1' : ' HTTP/1.0');
  host.httpReq = h;
  host.reply = null;
  const rules = fe.rules;
  if (rules !== null && rules.httpReq.length > 0) {
    const v = runRules(rules.httpReq, host, true, 0);
    if (v !== ACT_CONTINUE) throw new Error(`rules ended with verdict ${v}: the bench's request must go through`);
  }
  const out = serializeHead(h.lineRaw ? null : h.rewritten ? h.method + ' ' + h.target + ' HTTP/1.1' : line, h, null, false);
  host.httpReq = null;
  return out;
}

// CPU time of this thread (user + system), not wall-clock: on a shared
// machine the process is descheduled now and then, and that is not the
// rules' cost.
function measure(fe, n) {
  const host = new Host(fe);
  const scan = new HeadScan();
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) sink += once(fe, host, scan).length;
  const t = process.cpuUsage(t0);
  return ((t.user + t.system) * 1000) / n;
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'rules-micro-'));
  try {
    const mapFile = join(dir, 'routes.map');
    const netsFile = join(dir, 'blocked-nets.lst');
    writeMap(mapFile);
    writeNets(netsFile);
    const parts = ruleParts(mapFile, netsFile);
    const fes = {};
    for (const v of new Set(['none', ...VARIANTS])) fes[v] = await compileVariant(dir, v, parts);
    // What goes to the server, once, so that a change in behaviour shows here too.
    console.log(`request to the server with all rules:\n  ${once(fes[VARIANTS.includes('rules') ? 'rules' : VARIANTS[0]], new Host(fes.none), new HeadScan()).toString('latin1').trimEnd().split('\r\n').join('\n  ')}`);
    // Warm-up (JIT), then alternating rounds. On a shared machine the
    // minimum is the steadiest figure (other processes only ever add time);
    // the median is printed beside it.
    for (const v of Object.keys(fes)) measure(fes[v], Math.min(N, 50_000));
    const runs = Object.fromEntries(Object.keys(fes).map((v) => [v, []]));
    for (let round = 0; round < ROUNDS; round++) for (const v of Object.keys(fes)) runs[v].push(measure(fes[v], N));
    const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
    const min = (a) => Math.min(...a);
    console.log(`\n${N} requests per round, ${ROUNDS} rounds, ns of CPU time per request (node ${process.version}):`);
    console.log(`  ${'variant'.padEnd(10)} ${'min'.padStart(7)} ${'added'.padStart(7)} ${'median'.padStart(7)} ${'added'.padStart(7)}   rounds`);
    for (const v of Object.keys(fes)) {
      const row = [min(runs[v]), v === 'none' ? null : min(runs[v]) - min(runs.none), median(runs[v]), v === 'none' ? null : median(runs[v]) - median(runs.none)];
      console.log(`  ${v.padEnd(10)} ${row.map((x) => (x === null ? '' : x.toFixed(0)).padStart(7)).join(' ')}   ${runs[v].map((x) => x.toFixed(0)).join(' ')}`);
    }
    if (sink === 0) console.log('');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
