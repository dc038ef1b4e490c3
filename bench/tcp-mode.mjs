// TCP-mode load run (issue 2): Switchyard and HAProxy, each with `mode tcp`,
// in front of the same nginx origin, in the same run. Started by run.sh,
// which owns the temp dir ($BENCH_TMP) and the last-resort cleanup.
//
// Layout on a 2-core machine: proxy under test on core 0, nginx + wrk on
// core 1. Throughput is then bounded by whichever core saturates first, so
// the figure that compares the proxies fairly is the proxy's own CPU time per
// request (utime+stime of the proxy and all its descendants, from /proc).
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLK_TCK, treeCpu, cpusAllowed, coreTimes, coreBusy, coreSoftirq } from './lib/proc-cpu.mjs';
import { pickPorts, stopProc, stopAll } from './lib/processes.mjs';
import { startNginx, SMALL_PATH, LARGE_PATH, SMALL_BYTES } from './lib/origin-nginx.mjs';
import { proxyDefs, startProxy, versionOf } from './lib/proxies.mjs';
import { runWrk } from './lib/wrk.mjs';
import { runtimeCommand, parseShowInfo } from './lib/runtime-api.mjs';
import { fmt, pct, ratio, textTable, mdTable } from './lib/report.mjs';

const ROOT = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
const DIR = process.env.BENCH_TMP;
if (!DIR) {
  console.error('tcp-mode.mjs: BENCH_TMP is not set; run it through bench/run.sh');
  process.exit(2);
}

// Just above the ephemeral range: a port inside it can be held by any
// outgoing connection (scenario 3 cycles through tens of thousands), and
// then nginx or a proxy fails to bind it.
function defaultPortBase() {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (hi + 100 <= 65000) return hi + 100;
    if (lo - 1000 >= 10000) return lo - 1000;
  } catch {
    /* not Linux-like: fall through */
  }
  return 61100;
}

function envInt(name, dflt) {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`${name} must be a non-negative integer, got "${v}"`);
    process.exit(2);
  }
  return n;
}

const SECONDS = Math.max(1, envInt('BENCH_SECONDS', 10));
const WARMUP = envInt('BENCH_WARMUP', 2);
const PORT_BASE = envInt('BENCH_PORT_BASE', defaultPortBase());
const DIRECT = process.env.BENCH_DIRECT !== '0';
// A measured run in which other processes took more than this share of the
// proxy's core is repeated, up to BENCH_RETRIES times.
const OTHER_LOAD_LIMIT = 0.1;
const RETRIES = envInt('BENCH_RETRIES', 1);
const SWITCHYARD_BIN = process.env.BENCH_SWITCHYARD || `${ROOT}/node_modules/.bin/switchyard`;
const PROXY_CORE = '0';
const ORIGIN_CORE = '1';

const SCENARIOS = [
  { id: 1, title: 'small keep-alive', path: SMALL_PATH, connections: 50, close: false },
  { id: 2, title: '1 MiB transfers', path: LARGE_PATH, connections: 10, close: false },
  { id: 3, title: 'new conn per request', path: SMALL_PATH, connections: 50, close: true },
];
const ACCEPT_SCENARIO = { id: 4, title: 'accept split, nbthread 2', path: SMALL_PATH, connections: 50, close: true };

const warnings = [];
const skipped = [];
const pinning = [];
const configs = {};
const rows = [];
let accept = null;

function warn(msg) {
  warnings.push(msg);
  console.log(`  ! ${msg}`);
}

let stopping = false;
async function onSignal(sig) {
  if (stopping) return;
  stopping = true;
  console.error(`\n${sig}: stopping bench processes`);
  await stopAll();
  process.exit(sig === 'SIGINT' ? 130 : 143);
}
process.on('SIGINT', () => onSignal('SIGINT'));
process.on('SIGTERM', () => onSignal('SIGTERM'));

function checkPinning(label, pids, want) {
  const cpus = pids.map((p) => `${p}:${cpusAllowed(p)}`);
  const bad = pids.filter((p) => cpusAllowed(p) !== want);
  pinning.push(`${label}: ${pids.length} process(es) ${cpus.join(' ')} (want cpu ${want})`);
  if (bad.length) warn(`${label}: pid(s) ${bad.join(',')} not pinned to cpu ${want}`);
}

// One measured wrk run against `port`, after a warm-up run. `proxyPid` is the
// root of the process tree charged for the proxy's CPU (null: direct).
// `beforeRun`/`afterRun` run right around the measured wrk run (not the
// warm-up), for counters that must cover exactly the measured requests.
async function measure({ target, port, proxyPid, scenario, originPid, beforeRun, afterRun }) {
  const url = `http://127.0.0.1:${port}${scenario.path}`;
  const base = { core: ORIGIN_CORE, url, connections: scenario.connections, closeConnection: scenario.close };
  if (WARMUP > 0) await runWrk({ ...base, seconds: WARMUP });
  let row;
  for (let attempt = 0; ; attempt++) {
    if (beforeRun) await beforeRun();
    const p0 = proxyPid ? treeCpu(proxyPid) : null;
    const o0 = treeCpu(originPid);
    const c0 = coreTimes();
    const w = await runWrk({ ...base, seconds: SECONDS });
    const c1 = coreTimes();
    const o1 = treeCpu(originPid);
    const p1 = proxyPid ? treeCpu(proxyPid) : null;
    if (afterRun) await afterRun();
    row = { target, scenario, wrk: w, cores: coreBusy(c0, c1), softirq: coreSoftirq(c0, c1), attempts: attempt + 1 };
    row.originUsPerReq = (((o1.ticks - o0.ticks) / CLK_TCK) * 1e6) / w.requests;
    if (p0) {
      const cpuSec = (p1.ticks - p0.ticks) / CLK_TCK;
      row.proxyCpuSec = cpuSec;
      row.proxyUsPerReq = (cpuSec * 1e6) / w.requests;
      row.proxyUtil = cpuSec / w.seconds;
      row.pidsBefore = p0.pids;
      row.pids = p1.pids;
    }
    // The proxy's core holds only the proxy (with tick-based accounting the
    // softirq work done in its context is in its stime too; measured: cpu0
    // busy = proxy ticks within 1%). A larger gap means some other process
    // ran there, taking cycles the proxy could have used: req/s and latency
    // suffer. In direct rows cpu0 should be idle; load there hints at load
    // on cpu1 as well. Other engineers share this machine: retry such runs.
    row.otherOnProxyCore = row.cores[PROXY_CORE] - (row.proxyUtil ?? 0);
    if (row.otherOnProxyCore <= OTHER_LOAD_LIMIT || attempt >= RETRIES) break;
    console.log(`  (${target} scenario ${scenario.id}: other processes took ${pct(row.otherOnProxyCore)} of cpu${PROXY_CORE}; running it again)`);
  }
  const w = row.wrk;
  const where = `${target} scenario ${scenario.id}`;
  if (row.otherOnProxyCore > OTHER_LOAD_LIMIT) {
    const used = row.proxyUtil === undefined ? 'no proxy runs in this row' : `the proxy used ${pct(row.proxyUtil)}`;
    warn(`${where}: cpu${PROXY_CORE} was ${pct(row.cores[PROXY_CORE])} busy and ${used}: other processes ran on the proxy's core in all ${row.attempts} attempt(s); req/s and latency of this row are suspect`);
  }
  if (row.pids && row.pidsBefore.join() !== row.pids.join()) {
    warn(`${where}: process set changed during the run (${row.pidsBefore} -> ${row.pids}); CPU of exited processes is not counted`);
  }
  if (w.errors) {
    warn(`${where}: wrk errors connect=${w.connect_errors} read=${w.read_errors} write=${w.write_errors} status=${w.status_errors} timeout=${w.timeout_errors}`);
  }
  if (w.requests === 0) warn(`${where}: no request completed`);
  rows.push(row);
  console.log(
    `  ${scenario.id}. ${scenario.title.padEnd(24)} ${fmt(w.rps).padStart(8)} req/s ${fmt(w.mbps, 1).padStart(8)} MB/s  p50 ${fmt(w.p50_us / 1000, 2)} ms  p99 ${fmt(w.p99_us / 1000, 2)} ms` +
      (row.proxyUsPerReq !== undefined ? `  cpu ${fmt(row.proxyUsPerReq, 1)} us/req (${pct(row.proxyUtil)} of a core)` : ''),
  );
  return row;
}

async function benchProxy(def, ports, originPid) {
  console.log(`\n== ${def.name} (nbthread 1, mode tcp, cpu ${PROXY_CORE}) -> nginx`);
  const started = await startProxy(def, {
    dir: DIR,
    core: PROXY_CORE,
    tag: `${def.name}-nbthread1`,
    port: ports[def.name],
    originPort: ports.origin,
    nbthread: 1,
  });
  if (!started.ok) {
    const msg = `SKIPPED ${def.name}: ${started.reason}`;
    console.log(`  ${msg}`);
    skipped.push(msg);
    await stopProc(started.proc, 2000);
    return;
  }
  checkPinning(`${def.name} nbthread 1`, treeCpu(started.proc.pid).pids, PROXY_CORE);
  configs[`${def.name}, scenarios 1-3`] = started.cfgText;
  try {
    for (const sc of SCENARIOS) {
      await measure({ target: def.name, port: ports[def.name], proxyPid: started.proc.pid, scenario: sc, originPid });
    }
  } finally {
    const left = await stopProc(started.proc);
    if (left.length) warn(`${def.name}: ${left.length} process(es) still alive after SIGTERM (${left}); killed`);
  }
}

// Scenario 4: Switchyard with 2 workers under new-connection load; per-worker
// CumConns from `@N show info` on its stats socket.
async function acceptSplit(def, ports, originPid) {
  console.log(`\n== ${def.name} (nbthread 2, mode tcp, cpu ${PROXY_CORE}) accept distribution`);
  const sock = `${DIR}/sw.sock`;
  const started = await startProxy(def, {
    dir: DIR,
    core: PROXY_CORE,
    tag: `${def.name}-nbthread2`,
    port: ports[def.name],
    originPort: ports.origin,
    nbthread: 2,
    statsSocket: sock,
  });
  if (!started.ok) {
    const msg = `SKIPPED scenario 4: ${started.reason}`;
    console.log(`  ${msg}`);
    skipped.push(msg);
    await stopProc(started.proc, 2000);
    return;
  }
  try {
    // Workers may still be forking when the first one listens.
    await sleep(500);
    checkPinning(`${def.name} nbthread 2`, treeCpu(started.proc.pid).pids, PROXY_CORE);
    configs[`${def.name}, scenario 4`] = started.cfgText;
    const cum = async () => {
      const out = [];
      for (const w of [1, 2]) {
        const reply = await runtimeCommand(sock, `@${w} show info`);
        const n = Number(parseShowInfo(reply).CumConns);
        if (!Number.isFinite(n)) throw new Error(`"@${w} show info" has no CumConns line; reply: ${JSON.stringify(reply.slice(0, 300))}`);
        out.push(n);
      }
      return out;
    };
    // Fail early, with a clear message, if the runtime API does not answer.
    try {
      await cum();
    } catch (err) {
      const msg = `SKIPPED scenario 4: runtime API on ${sock} failed: ${err.message}`;
      console.log(`  ${msg}`);
      skipped.push(msg);
      return;
    }
    let before;
    let after;
    const row = await measure({
      target: `${def.name} nbthread 2`,
      port: ports[def.name],
      proxyPid: started.proc.pid,
      scenario: { ...ACCEPT_SCENARIO },
      originPid,
      beforeRun: async () => (before = await cum()),
      afterRun: async () => (after = await cum()),
    });
    const delta = after.map((a, i) => a - before[i]);
    const total = delta[0] + delta[1];
    accept = { before, after, delta, total, wrkRequests: row.wrk.requests, command: row.wrk.command };
    console.log(
      `  accepted: worker 1 ${fmt(delta[0])} (${pct(delta[0] / total)}), worker 2 ${fmt(delta[1])} (${pct(delta[1] / total)}), total ${fmt(total)}; wrk completed ${fmt(row.wrk.requests)} requests, each on its own connection`,
    );
    if (total === 0) warn('scenario 4: CumConns did not move on either worker');
  } finally {
    const left = await stopProc(started.proc);
    if (left.length) warn(`${def.name} nbthread 2: ${left.length} process(es) still alive after SIGTERM (${left}); killed`);
  }
}

// First line of a tool's version output (nginx prints it on stderr).
function versionLine(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10000 });
  const out = `${r.stdout || ''}${r.stderr || ''}`.trim();
  return out ? out.split('\n')[0] : `${cmd} ?`;
}

function readSysctl(name) {
  try {
    return readFileSync(`/proc/sys/${name.replace(/\./g, '/')}`, 'utf8').trim().replace(/\s+/g, ' ');
  } catch {
    return '?';
  }
}

function buildReport(meta) {
  const header = ['Scenario', 'Target', 'req/s', 'MB/s', 'p50 ms', 'p99 ms', 'errors', 'proxy CPU us/req', 'proxy CPU', 'core0', 'core1', 'nginx us/req'];
  const align = ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'];
  const cells = rows.map((r) => [
    `${r.scenario.id}. ${r.scenario.title}`,
    r.target,
    fmt(r.wrk.rps),
    fmt(r.wrk.mbps, 1),
    fmt(r.wrk.p50_us / 1000, 2),
    fmt(r.wrk.p99_us / 1000, 2),
    fmt(r.wrk.errors),
    r.proxyUsPerReq === undefined ? '-' : fmt(r.proxyUsPerReq, 1),
    r.proxyUtil === undefined ? '-' : pct(r.proxyUtil),
    pct(r.cores[PROXY_CORE]),
    pct(r.cores[ORIGIN_CORE]),
    fmt(r.originUsPerReq, 1),
  ]);

  const rHeader = ['Scenario', 'req/s', 'MB/s', 'p50', 'p99', 'CPU/req'];
  const rAlign = ['l', 'r', 'r', 'r', 'r', 'r'];
  const rCells = [];
  for (const sc of SCENARIOS) {
    const s = rows.find((r) => r.target === 'switchyard' && r.scenario.id === sc.id);
    const h = rows.find((r) => r.target === 'haproxy' && r.scenario.id === sc.id);
    if (!s || !h) continue;
    rCells.push([
      `${sc.id}. ${sc.title}`,
      ratio(s.wrk.rps, h.wrk.rps),
      ratio(s.wrk.mbps, h.wrk.mbps),
      ratio(s.wrk.p50_us, h.wrk.p50_us),
      ratio(s.wrk.p99_us, h.wrk.p99_us),
      ratio(s.proxyUsPerReq, h.proxyUsPerReq),
    ]);
  }

  let acceptText = 'not measured (see skipped)';
  if (accept) {
    const [a, b] = accept.delta;
    acceptText = `worker 1: ${pct(a / accept.total)} (${fmt(a)})  worker 2: ${pct(b / accept.total)} (${fmt(b)})  total ${fmt(accept.total)} connections (wrk completed ${fmt(accept.wrkRequests)} requests, one connection each)`;
  }

  const text = [
    '',
    `== Results: TCP mode, ${SECONDS} s per run (+${WARMUP} s warm-up), proxy on cpu ${PROXY_CORE}, nginx + wrk on cpu ${ORIGIN_CORE}`,
    textTable(header, cells, align),
    '',
    'Switchyard / HAProxy (req/s, MB/s: higher is better for Switchyard above 1; p50, p99, CPU/req: lower is better below 1)',
    rCells.length ? textTable(rHeader, rCells, rAlign) : '  (no ratios: both proxies are needed)',
    '',
    `Scenario 4, accept split over 2 Switchyard workers: ${acceptText}`,
    ...(skipped.length ? ['', 'Skipped:', ...skipped.map((s) => `  - ${s.split('\n').join('\n    ')}`)] : []),
    ...(warnings.length ? ['', 'Warnings:', ...warnings.map((w) => `  - ${w}`)] : []),
  ].join('\n');

  const md = [
    `# TCP-mode bench, ${meta.when}`,
    '',
    `Command: \`${meta.command}\``,
    '',
    '## Setup',
    '',
    `- Host: ${meta.host}`,
    `- Versions: ${meta.versions}`,
    `- Layout: proxy under test pinned to cpu ${PROXY_CORE} (with all its descendants); nginx (1 worker) and wrk (-t 1) pinned to cpu ${ORIGIN_CORE}.`,
    `- Runs: ${SECONDS} s measured after a ${WARMUP} s warm-up; small body ${SMALL_BYTES} bytes, large body 1 MiB; MB = 10^6 bytes (wrk's own output uses MiB).`,
    `- Sysctls: ${meta.sysctls}`,
    `- Idle check before start: ${meta.idle}`,
    '',
    '## Results',
    '',
    mdTable(header, cells, align),
    '',
    '`proxy CPU us/req` = (utime+stime of the proxy and all descendants, after - before) / requests; `proxy CPU` = the same CPU time / run time; `core0`/`core1` = whole-core busy share from /proc/stat.',
    '',
    '### Switchyard / HAProxy',
    '',
    rCells.length ? mdTable(rHeader, rCells, rAlign) : '(no ratios: both proxies are needed)',
    '',
    '### Scenario 4: accept distribution, Switchyard nbthread 2',
    '',
    acceptText,
    '',
    '### wrk commands',
    '',
    ...rows.map((r) => `- ${r.scenario.id}. ${r.target}: \`${r.wrk.command.replaceAll(`${ROOT}/`, '')}\``),
    '',
    '### Proxy configs (only the bind port differs between the proxies)',
    '',
    ...Object.entries(configs).flatMap(([k, v]) => [`${k}:`, '', '```', v.trimEnd(), '```', '']),
    '',
    '### Pinning',
    '',
    ...pinning.map((p) => `- ${p}`),
    ...(skipped.length ? ['', '### Skipped', '', ...skipped.map((s) => `- ${s.split('\n').join('\n  ')}`)] : []),
    ...(warnings.length ? ['', '### Warnings', '', ...warnings.map((w) => `- ${w}`)] : []),
    '',
  ].join('\n');
  return { text, md };
}

async function main() {
  const when = new Date();
  let switchyardVersion = versionOf(SWITCHYARD_BIN);
  const versionList = () => [
    `node ${process.version}`,
    ...haproxyEtc,
    `switchyard: ${switchyardVersion ?? `not runnable (${SWITCHYARD_BIN} -v failed)`}`,
  ].join('; ');
  const haproxyEtc = [
    versionLine('haproxy', ['-v']).replace(/ - https:.*$/, ''),
    versionLine('nginx', ['-v']),
    versionLine('wrk', ['-v']).replace(/\s+Copyright.*$/, ''),
  ];
  const host = `${os.cpus().length} cpus (${os.cpus()[0]?.model ?? '?'}), Linux ${os.release()}, CLK_TCK ${CLK_TCK}`;
  const sysctls = ['net.ipv4.ip_local_port_range', 'net.ipv4.tcp_tw_reuse', 'net.core.somaxconn']
    .map((n) => `${n}=${readSysctl(n)}`)
    .join(', ');
  console.log(`Switchyard TCP-mode bench: ${SECONDS} s runs, ${WARMUP} s warm-up`);
  console.log(`  ${versionList()}`);

  // Something else burning CPU would skew every figure: measure for 1 s.
  const t0 = coreTimes();
  await sleep(1000);
  const busy = coreBusy(t0, coreTimes());
  const idle = Object.entries(busy).map(([c, b]) => `cpu${c} ${pct(b)} busy`).join(', ');
  console.log(`  idle check: ${idle}`);
  for (const [c, b] of Object.entries(busy)) if (b > 0.15) warn(`cpu${c} was ${pct(b)} busy before the bench started: other load skews the results`);

  const [origin, haproxyPort, switchyardPort] = await pickPorts(PORT_BASE, 3);
  const ports = { origin, haproxy: haproxyPort, switchyard: switchyardPort };
  console.log(`  ports: nginx ${origin}, haproxy ${haproxyPort}, switchyard ${switchyardPort}; temp dir ${DIR}`);

  const nginx = await startNginx({ dir: DIR, port: origin, core: ORIGIN_CORE });
  await sleep(200);
  checkPinning('nginx', treeCpu(nginx.proc.pid).pids, ORIGIN_CORE);
  const defs = proxyDefs(SWITCHYARD_BIN);
  try {
    if (DIRECT) {
      console.log(`\n== nginx direct (reference: the origin's ceiling with wrk on the same core)`);
      for (const sc of SCENARIOS) await measure({ target: 'nginx direct', port: origin, proxyPid: null, scenario: sc, originPid: nginx.proc.pid });
    }
    await benchProxy(defs.haproxy, ports, nginx.proc.pid);
    // Ask again: the binary may have been (re)built since the start.
    switchyardVersion = versionOf(SWITCHYARD_BIN);
    if (switchyardVersion === null) {
      // Still try to start it: -v may be unimplemented while -f works.
      console.log(`\n  note: "${SWITCHYARD_BIN} -v" failed; trying to start it anyway`);
    }
    await benchProxy(defs.switchyard, ports, nginx.proc.pid);
    if (rows.some((r) => r.target === 'switchyard')) await acceptSplit(defs.switchyard, ports, nginx.proc.pid);
    else skipped.push('SKIPPED scenario 4: Switchyard did not run scenarios 1-3');
  } finally {
    await stopProc(nginx.proc);
  }

  const stamp = when.toISOString().slice(0, 19).replace(/:/g, '-') + 'Z';
  const { text, md } = buildReport({
    when: when.toISOString(),
    command: process.env.BENCH_COMMAND || 'bash bench/run.sh tcp',
    host,
    versions: versionList(),
    sysctls,
    idle,
  });
  console.log(text);
  mkdirSync(`${ROOT}/bench/out`, { recursive: true });
  const outFile = `${ROOT}/bench/out/${stamp}.md`;
  writeFileSync(outFile, md);
  console.log(`\nMarkdown report: ${outFile.slice(ROOT.length + 1)}`);
}

main().catch(async (err) => {
  console.error(`\nbench failed: ${err.stack || err}`);
  await stopAll();
  process.exit(1);
});
