// HTTP-mode load run (issue 3): Switchyard and HAProxy (`mode http`, same
// config text), nginx as a reverse proxy and node-http-proxy, each in front of
// the same nginx origin, in the same run. Started by run.sh, which owns the
// temp dir ($BENCH_TMP) and the last-resort cleanup.
//
// Same layout and accounting as tcp-mode.mjs: proxy under test (and all its
// descendants) on core 0, nginx origin + wrk on core 1; the fair comparison
// is the proxy's CPU time per request, from /proc.
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLK_TCK, treeCpu, cpusAllowed, coreTimes, coreBusy, coreSoftirq } from './lib/proc-cpu.mjs';
import { pickPorts, stopProc, stopAll } from './lib/processes.mjs';
import { startNginx, SMALL_PATH, LARGE_PATH, SMALL_BYTES, LARGE_BYTES } from './lib/origin-nginx.mjs';
import { proxyDefs, startProxy, versionOf } from './lib/proxies.mjs';
import { httpConfig, startNginxProxy, installNodeHttpProxy, startNodeHttpProxy, checkGet } from './lib/http-proxies.mjs';
import { runWrk } from './lib/wrk.mjs';
import { fmt, pct, ratio, textTable, mdTable } from './lib/report.mjs';

const ROOT = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
const DIR = process.env.BENCH_TMP;
if (!DIR) {
  console.error('http-mode.mjs: BENCH_TMP is not set; run it through bench/run.sh');
  process.exit(2);
}

// Just above the ephemeral range (see tcp-mode.mjs).
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
const NODE_PROXY = process.env.BENCH_NODE_HTTP_PROXY !== '0';
const OTHER_LOAD_LIMIT = 0.1;
const RETRIES = envInt('BENCH_RETRIES', 1);
const SWITCHYARD_BIN = process.env.BENCH_SWITCHYARD || `${ROOT}/node_modules/.bin/switchyard`;
const PROXY_CORE = '0';
const ORIGIN_CORE = '1';

const SCENARIOS = [
  { id: 1, title: 'small keep-alive', path: SMALL_PATH, connections: 50, close: false },
  { id: 2, title: '1 MiB responses', path: LARGE_PATH, connections: 10, close: false },
  { id: 3, title: 'new conn per request', path: SMALL_PATH, connections: 50, close: true },
];

// Display names; the order is the run order.
const T = { direct: 'nginx direct', haproxy: 'haproxy', switchyard: 'switchyard', nginx: 'nginx proxy', node: 'node-http-proxy' };

const warnings = [];
const skipped = [];
const pinning = [];
const configs = {};
const rows = [];

function warn(msg) {
  warnings.push(msg);
  console.log(`  ! ${msg}`);
}

function skip(msg) {
  console.log(`  ${msg}`);
  skipped.push(msg);
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

// One measured wrk run after a warm-up; same method as tcp-mode.mjs.
async function measure({ target, port, proxyPid, scenario, originPid }) {
  const url = `http://127.0.0.1:${port}${scenario.path}`;
  const base = { core: ORIGIN_CORE, url, connections: scenario.connections, closeConnection: scenario.close };
  if (WARMUP > 0) await runWrk({ ...base, seconds: WARMUP });
  let row;
  for (let attempt = 0; ; attempt++) {
    const p0 = proxyPid ? treeCpu(proxyPid) : null;
    const o0 = treeCpu(originPid);
    const c0 = coreTimes();
    const w = await runWrk({ ...base, seconds: SECONDS });
    const c1 = coreTimes();
    const o1 = treeCpu(originPid);
    const p1 = proxyPid ? treeCpu(proxyPid) : null;
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

// start(): { ok, proc, cfgText, reason }. Checks one small and one large GET,
// then runs every scenario, then stops the proxy.
async function benchTarget(target, heading, port, originPid, start) {
  console.log(`\n== ${heading}`);
  const started = await start();
  if (!started.ok) {
    skip(`SKIPPED ${target}: ${started.reason}`);
    if (started.proc) await stopProc(started.proc, 2000);
    return;
  }
  try {
    const bad = (await checkGet(port, SMALL_PATH, SMALL_BYTES)) ?? (await checkGet(port, LARGE_PATH, LARGE_BYTES));
    if (bad) {
      skip(`SKIPPED ${target}: check request through the proxy failed: ${bad}`);
      return;
    }
    await sleep(200);
    checkPinning(target, treeCpu(started.proc.pid).pids, PROXY_CORE);
    configs[target] = started.cfgText;
    for (const sc of SCENARIOS) {
      await measure({ target, port, proxyPid: started.proc.pid, scenario: sc, originPid });
    }
  } finally {
    const left = await stopProc(started.proc);
    if (left.length) warn(`${target}: ${left.length} process(es) still alive after SIGTERM (${left}); killed`);
  }
}

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

function find(target, id) {
  return rows.find((r) => r.target === target && r.scenario.id === id);
}

// Switchyard / <other> per scenario.
function ratioTable(other) {
  const cells = [];
  for (const sc of SCENARIOS) {
    const s = find(T.switchyard, sc.id);
    const o = find(other, sc.id);
    if (!s || !o) continue;
    cells.push([
      `${sc.id}. ${sc.title}`,
      ratio(s.wrk.rps, o.wrk.rps),
      ratio(s.wrk.mbps, o.wrk.mbps),
      ratio(s.wrk.p50_us, o.wrk.p50_us),
      ratio(s.wrk.p99_us, o.wrk.p99_us),
      ratio(s.proxyUsPerReq, o.proxyUsPerReq),
    ]);
  }
  return cells;
}

function buildReport(meta) {
  const header = ['Scenario', 'Target', 'req/s', 'MB/s', 'p50 ms', 'p99 ms', 'errors', 'proxy CPU us/req', 'proxy CPU', 'core0', 'core1', 'nginx us/req'];
  const align = ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'];
  const ordered = SCENARIOS.flatMap((sc) => Object.values(T).map((t) => find(t, sc.id)).filter(Boolean));
  const cells = ordered.map((r) => [
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
  const others = [
    [T.haproxy, 'HAProxy'],
    [T.nginx, 'nginx reverse proxy'],
    [T.node, 'node-http-proxy'],
  ];
  const ratioText = [];
  const ratioMd = [];
  for (const [t, label] of others) {
    const rc = ratioTable(t);
    const title = `Switchyard / ${label}`;
    ratioText.push('', title, rc.length ? textTable(rHeader, rc, rAlign) : `  (no ratios: both Switchyard and ${label} rows are needed)`);
    ratioMd.push('', `### ${title}`, '', rc.length ? mdTable(rHeader, rc, rAlign) : `(no ratios: both Switchyard and ${label} rows are needed)`);
  }

  const text = [
    '',
    `== Results: HTTP mode, ${SECONDS} s per run (+${WARMUP} s warm-up), proxy on cpu ${PROXY_CORE}, nginx origin + wrk on cpu ${ORIGIN_CORE}`,
    textTable(header, cells, align),
    '',
    'Ratios (req/s, MB/s: above 1 = Switchyard faster; p50, p99, CPU/req: below 1 = Switchyard better)',
    ...ratioText,
    ...(skipped.length ? ['', 'Skipped:', ...skipped.map((s) => `  - ${s.split('\n').join('\n    ')}`)] : []),
    ...(warnings.length ? ['', 'Warnings:', ...warnings.map((w) => `  - ${w}`)] : []),
  ].join('\n');

  const md = [
    `# HTTP-mode bench, ${meta.when}`,
    '',
    `Command: \`${meta.command}\``,
    '',
    '## Setup',
    '',
    `- Host: ${meta.host}`,
    `- Versions: ${meta.versions}`,
    `- Layout: proxy under test pinned to cpu ${PROXY_CORE} (with all its descendants); nginx origin (1 worker) and wrk (-t 1) pinned to cpu ${ORIGIN_CORE}.`,
    `- Proxies: Switchyard and HAProxy \`nbthread 1\`, \`mode http\`, same config text (HAProxy's default \`option http-keep-alive\`); nginx reverse proxy \`worker_processes 1\` with an upstream keepalive pool; node-http-proxy in one node process with a keep-alive agent.`,
    `- Runs: ${SECONDS} s measured after a ${WARMUP} s warm-up; small body ${SMALL_BYTES} bytes, large body 1 MiB; MB = 10^6 bytes (wrk's own output uses MiB).`,
    `- Sysctls: ${meta.sysctls}`,
    `- Idle check before start: ${meta.idle}; load average at start: ${meta.loadStart}, at end: ${meta.loadEnd}`,
    '',
    '## Results',
    '',
    mdTable(header, cells, align),
    '',
    '`proxy CPU us/req` = (utime+stime of the proxy and all descendants, after - before) / requests; `proxy CPU` = the same CPU time / run time; `core0`/`core1` = whole-core busy share from /proc/stat.',
    '',
    '## Ratios',
    '',
    'req/s, MB/s: above 1 = Switchyard faster; p50, p99, CPU/req: below 1 = Switchyard better.',
    ...ratioMd,
    '',
    '### wrk commands',
    '',
    ...ordered.map((r) => `- ${r.scenario.id}. ${r.target}: \`${r.wrk.command.replaceAll(`${ROOT}/`, '')}\``),
    '',
    '### Proxy configs (HAProxy and Switchyard: only the bind port differs)',
    '',
    ...Object.entries(configs).flatMap(([k, v]) => [`${k}:`, '', '```', v.replaceAll(`${ROOT}/`, '').trimEnd(), '```', '']),
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

const loadavg = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

async function main() {
  const when = new Date();
  const loadStart = loadavg();
  let switchyardVersion = versionOf(SWITCHYARD_BIN);
  let nodeProxyVersion = NODE_PROXY ? 'not installed yet' : 'skipped (BENCH_NODE_HTTP_PROXY=0)';
  const haproxyEtc = [
    versionLine('haproxy', ['-v']).replace(/ - https:.*$/, ''),
    versionLine('nginx', ['-v']),
    versionLine('wrk', ['-v']).replace(/\s+Copyright.*$/, ''),
  ];
  const versionList = () =>
    [
      `node ${process.version}`,
      ...haproxyEtc,
      `switchyard: ${switchyardVersion ?? `not runnable (${SWITCHYARD_BIN} -v failed)`}`,
      `http-proxy (npm): ${nodeProxyVersion}`,
    ].join('; ');
  const host = `${os.cpus().length} cpus (${os.cpus()[0]?.model ?? '?'}), Linux ${os.release()}, CLK_TCK ${CLK_TCK}`;
  const sysctls = ['net.ipv4.ip_local_port_range', 'net.ipv4.tcp_tw_reuse', 'net.core.somaxconn']
    .map((n) => `${n}=${readSysctl(n)}`)
    .join(', ');
  console.log(`Switchyard HTTP-mode bench: ${SECONDS} s runs, ${WARMUP} s warm-up`);
  console.log(`  ${versionList()}`);
  console.log(`  load average: ${loadStart}`);

  // node-http-proxy from the npm registry, before anything is measured.
  let nodeProxy = null;
  if (NODE_PROXY) {
    nodeProxy = installNodeHttpProxy(DIR);
    if (nodeProxy.ok) {
      nodeProxyVersion = nodeProxy.version;
      console.log(`  http-proxy ${nodeProxy.version} installed in ${nodeProxy.prefix}`);
    } else {
      nodeProxyVersion = 'not available';
      skip(`SKIPPED ${T.node}: ${nodeProxy.reason}`);
    }
  } else {
    skip(`SKIPPED ${T.node}: BENCH_NODE_HTTP_PROXY=0`);
  }

  const t0 = coreTimes();
  await sleep(1000);
  const busy = coreBusy(t0, coreTimes());
  const idle = Object.entries(busy).map(([c, b]) => `cpu${c} ${pct(b)} busy`).join(', ');
  console.log(`  idle check: ${idle}`);
  for (const [c, b] of Object.entries(busy)) if (b > 0.15) warn(`cpu${c} was ${pct(b)} busy before the bench started: other load skews the results`);

  const [origin, haproxyPort, switchyardPort, nginxPort, nodePort] = await pickPorts(PORT_BASE, 5);
  console.log(`  ports: nginx origin ${origin}, haproxy ${haproxyPort}, switchyard ${switchyardPort}, nginx proxy ${nginxPort}, node-http-proxy ${nodePort}; temp dir ${DIR}`);

  const nginx = await startNginx({ dir: DIR, port: origin, core: ORIGIN_CORE });
  await sleep(200);
  checkPinning('nginx origin', treeCpu(nginx.proc.pid).pids, ORIGIN_CORE);
  const originPid = nginx.proc.pid;
  const defs = proxyDefs(SWITCHYARD_BIN);
  const common = { dir: DIR, core: PROXY_CORE, originPort: origin, nbthread: 1, config: httpConfig };
  try {
    if (DIRECT) {
      console.log(`\n== nginx direct (reference: the origin's ceiling with wrk on the same core)`);
      for (const sc of SCENARIOS) await measure({ target: T.direct, port: origin, proxyPid: null, scenario: sc, originPid });
    }
    await benchTarget(T.haproxy, `HAProxy (nbthread 1, mode http, cpu ${PROXY_CORE}) -> nginx`, haproxyPort, originPid, () =>
      startProxy(defs.haproxy, { ...common, tag: 'haproxy-http', port: haproxyPort }),
    );
    switchyardVersion = versionOf(SWITCHYARD_BIN);
    if (switchyardVersion === null) console.log(`\n  note: "${SWITCHYARD_BIN} -v" failed; trying to start it anyway`);
    await benchTarget(T.switchyard, `Switchyard (nbthread 1, mode http, cpu ${PROXY_CORE}) -> nginx`, switchyardPort, originPid, () =>
      startProxy(defs.switchyard, { ...common, tag: 'switchyard-http', port: switchyardPort }),
    );
    await benchTarget(T.nginx, `nginx reverse proxy (worker_processes 1, upstream keepalive, cpu ${PROXY_CORE}) -> nginx`, nginxPort, originPid, () =>
      startNginxProxy({ dir: DIR, core: PROXY_CORE, port: nginxPort, originPort: origin }),
    );
    if (nodeProxy?.ok) {
      await benchTarget(T.node, `node-http-proxy ${nodeProxy.version} (one node process, keep-alive agent, cpu ${PROXY_CORE}) -> nginx`, nodePort, originPid, () =>
        startNodeHttpProxy({ dir: DIR, core: PROXY_CORE, port: nodePort, originPort: origin, prefix: nodeProxy.prefix }),
      );
    }
  } finally {
    await stopProc(nginx.proc);
  }

  const stamp = when.toISOString().slice(0, 19).replace(/:/g, '-') + 'Z';
  const { text, md } = buildReport({
    when: when.toISOString(),
    command: process.env.BENCH_COMMAND || 'bash bench/run.sh http',
    host,
    versions: versionList(),
    sysctls,
    idle,
    loadStart,
    loadEnd: loadavg(),
  });
  console.log(text);
  console.log(`\nload average at start: ${loadStart}, at end: ${loadavg()}`);
  mkdirSync(`${ROOT}/bench/out`, { recursive: true });
  const outFile = `${ROOT}/bench/out/http-${stamp}.md`;
  writeFileSync(outFile, md);
  console.log(`Markdown report: ${outFile.slice(ROOT.length + 1)}`);
}

main().catch(async (err) => {
  console.error(`\nbench failed: ${err.stack || err}`);
  await stopAll();
  process.exit(1);
});
