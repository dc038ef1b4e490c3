// What the load drivers (tcp-mode.mjs, http-mode.mjs) share: settings from
// the environment, the measurement loop with its retry on contention, pinning
// checks, process handling, host facts and the common parts of the reports.
// Each driver keeps its scenarios, targets, configs and report layout.
//
// Layout on a 2-core machine: proxy under test on core 0, nginx + wrk on
// core 1. Throughput is then bounded by whichever core saturates first, so
// the figure that compares the proxies fairly is the proxy's own CPU time per
// request (utime+stime of the proxy and all its descendants, from /proc).
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLK_TCK, treeCpu, cpusAllowed, coreTimes, coreBusy, coreSoftirq } from './proc-cpu.mjs';
import { stopProc, stopAll } from './processes.mjs';
import { startNginx, SMALL_BYTES } from './origin-nginx.mjs';
import { versionOf } from './proxies.mjs';
import { runWrk } from './wrk.mjs';
import { fmt, pct, ratio, textTable, mdTable } from './report.mjs';

export const ROOT = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');
export const PROXY_CORE = '0';
export const ORIGIN_CORE = '1';
// A measured run in which other processes took more than this share of the
// proxy's core is repeated, up to BENCH_RETRIES times (and left out of the
// rules bench's medians when a clean run of the same kind exists).
export const OTHER_LOAD_LIMIT = 0.1;

// Just above the ephemeral range: a port inside it can be held by any
// outgoing connection (new-connection scenarios cycle through tens of
// thousands), and then nginx or a proxy fails to bind it.
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

export function envInt(name, dflt) {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`${name} must be a non-negative integer, got "${v}"`);
    process.exit(2);
  }
  return n;
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

// Column layout of the main results table, shared by both reports.
const RESULT_HEADER = ['Scenario', 'Target', 'req/s', 'MB/s', 'p50 ms', 'p99 ms', 'errors', 'proxy CPU us/req', 'proxy CPU', 'core0', 'core1', 'nginx us/req'];
const RESULT_ALIGN = ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'];
export const RATIO_HEADER = ['Scenario', 'req/s', 'MB/s', 'p50', 'p99', 'CPU/req'];
export const RATIO_ALIGN = ['l', 'r', 'r', 'r', 'r', 'r'];
const CPU_NOTE =
  '`proxy CPU us/req` = (utime+stime of the proxy and all descendants, after - before) / requests; `proxy CPU` = the same CPU time / run time; `core0`/`core1` = whole-core busy share from /proc/stat.';

// One bench run. `driver` names the script in messages.
export function createRunner(driver) {
  const DIR = process.env.BENCH_TMP;
  if (!DIR) {
    console.error(`${driver}: BENCH_TMP is not set; run it through bench/run.sh`);
    process.exit(2);
  }
  const SECONDS = Math.max(1, envInt('BENCH_SECONDS', 10));
  const WARMUP = envInt('BENCH_WARMUP', 2);
  const PORT_BASE = envInt('BENCH_PORT_BASE', defaultPortBase());
  const DIRECT = process.env.BENCH_DIRECT !== '0';
  const RETRIES = envInt('BENCH_RETRIES', 1);
  const SWITCHYARD_BIN = process.env.BENCH_SWITCHYARD || `${ROOT}/node_modules/.bin/switchyard`;

  // The items of `all` whose key(item) is listed in env `name` (comma-separated), in their order.
  function pick(name, all, key) {
    const v = process.env[name];
    if (!v) return all;
    const want = v.split(',').map((x) => x.trim());
    const bad = want.filter((w) => !all.some((it) => key(it) === w));
    if (bad.length) {
      console.error(`${name}: unknown ${bad.join(', ')} (known: ${all.map(key).join(', ')})`);
      process.exit(2);
    }
    return all.filter((it) => want.includes(key(it)));
  }

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

  // One measured wrk run against `port`, after a warm-up run. `proxyPid` is the
  // root of the process tree charged for the proxy's CPU (null: direct).
  // `beforeRun`/`afterRun` run right around the measured wrk run (not the
  // warm-up), for counters that must cover exactly the measured requests.
  async function measure({ target, port, proxyPid, scenario, originPid, beforeRun, afterRun }) {
    // scenario.scheme 'https' and scenario.wrkEnv: the TLS bench.
    const url = `${scenario.scheme ?? 'http'}://127.0.0.1:${port}${scenario.path}`;
    const base = { core: ORIGIN_CORE, url, connections: scenario.connections, closeConnection: scenario.close, env: scenario.wrkEnv };
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

  // A start() result that failed: note it as skipped and stop what is left.
  async function skipFailedStart(started, msg) {
    skip(msg);
    if (started.proc) await stopProc(started.proc, 2000);
  }

  // Stop a proxy under test; warn about processes that had to be killed.
  async function stopTarget(proc, label) {
    const left = await stopProc(proc);
    if (left.length) warn(`${label}: ${left.length} process(es) still alive after SIGTERM (${left}); killed`);
  }

  function find(target, id) {
    return rows.find((r) => r.target === target && r.scenario.id === id);
  }

  // Switchyard / <other> per scenario, for the ratio tables.
  function ratioCells(scenarios, switchyard, other) {
    const cells = [];
    for (const sc of scenarios) {
      const s = find(switchyard, sc.id);
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

  // The main results table over `list` (in that order), as text and markdown.
  function resultTables(list) {
    const cells = list.map((r) => [
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
    return { text: textTable(RESULT_HEADER, cells, RESULT_ALIGN), md: mdTable(RESULT_HEADER, cells, RESULT_ALIGN) };
  }

  // Report sections. `text*` are for the console, `md*` for the markdown file.
  const textTail = () => [
    ...(skipped.length ? ['', 'Skipped:', ...skipped.map((s) => `  - ${s.split('\n').join('\n    ')}`)] : []),
    ...(warnings.length ? ['', 'Warnings:', ...warnings.map((w) => `  - ${w}`)] : []),
  ];
  // From the title through the results table and its CPU note. `origin`
  // names the origin in the Layout line; `setup`: more Setup lines after it;
  // `idle`: the Idle line's text after "Idle check before start: ".
  const mdHead = (title, meta, { origin, setup = [], idle, resultsMd }) => [
    `# ${title}, ${meta.when}`,
    '',
    `Command: \`${meta.command}\``,
    '',
    '## Setup',
    '',
    `- Host: ${meta.host}`,
    `- Versions: ${meta.versions}`,
    `- Layout: proxy under test pinned to cpu ${PROXY_CORE} (with all its descendants); ${origin} (1 worker) and wrk (-t 1) pinned to cpu ${ORIGIN_CORE}.`,
    ...setup,
    `- Runs: ${SECONDS} s measured after a ${WARMUP} s warm-up; small body ${SMALL_BYTES} bytes, large body 1 MiB; MB = 10^6 bytes (wrk's own output uses MiB).`,
    `- Sysctls: ${meta.sysctls}`,
    `- Idle check before start: ${idle}`,
    '',
    '## Results',
    '',
    resultsMd,
    '',
    CPU_NOTE,
    '',
  ];
  const mdWrk = (list) => ['### wrk commands', '', ...list.map((r) => `- ${r.scenario.id}. ${r.target}: \`${r.wrk.command.replaceAll(`${ROOT}/`, '')}\``), ''];
  const mdConfigs = (title, { stripRoot = false } = {}) => [
    `### ${title}`,
    '',
    ...Object.entries(configs).flatMap(([k, v]) => [`${k}:`, '', '```', (stripRoot ? v.replaceAll(`${ROOT}/`, '') : v).trimEnd(), '```', '']),
    '',
  ];
  const mdTail = () => [
    '### Pinning',
    '',
    ...pinning.map((p) => `- ${p}`),
    ...(skipped.length ? ['', '### Skipped', '', ...skipped.map((s) => `- ${s.split('\n').join('\n  ')}`)] : []),
    ...(warnings.length ? ['', '### Warnings', '', ...warnings.map((w) => `- ${w}`)] : []),
    '',
  ];

  // Host facts for the report header, read once at the start.
  let facts = null;
  function hostFacts(title) {
    facts = {
      toolVersions: [
        versionLine('haproxy', ['-v']).replace(/ - https:.*$/, ''),
        versionLine('nginx', ['-v']),
        versionLine('wrk', ['-v']).replace(/\s+Copyright.*$/, ''),
      ],
      host: `${os.cpus().length} cpus (${os.cpus()[0]?.model ?? '?'}), Linux ${os.release()}, CLK_TCK ${CLK_TCK}`,
      sysctls: ['net.ipv4.ip_local_port_range', 'net.ipv4.tcp_tw_reuse', 'net.core.somaxconn']
        .map((n) => `${n}=${readSysctl(n)}`)
        .join(', '),
    };
    console.log(`${title}: ${SECONDS} s runs, ${WARMUP} s warm-up`);
  }

  // The "Versions" line; `switchyardVersion` null: not runnable.
  function versionList(switchyardVersion, extra = []) {
    return [
      `node ${process.version}`,
      ...facts.toolVersions,
      `switchyard: ${switchyardVersion ?? `not runnable (${SWITCHYARD_BIN} -v failed)`}`,
      ...extra,
    ].join('; ');
  }

  // What buildReport needs besides the rows; `extra` is mode-specific.
  function reportMeta(mode, when, versions, idle, extra = {}) {
    return {
      when: when.toISOString(),
      command: process.env.BENCH_COMMAND || `bash bench/run.sh ${mode}`,
      host: facts.host,
      versions,
      sysctls: facts.sysctls,
      idle,
      ...extra,
    };
  }

  // Something else burning CPU would skew every figure: measure for 1 s.
  async function idleCheck() {
    const t0 = coreTimes();
    await sleep(1000);
    const busy = coreBusy(t0, coreTimes());
    const idle = Object.entries(busy).map(([c, b]) => `cpu${c} ${pct(b)} busy`).join(', ');
    console.log(`  idle check: ${idle}`);
    for (const [c, b] of Object.entries(busy)) if (b > 0.15) warn(`cpu${c} was ${pct(b)} busy before the bench started: other load skews the results`);
    return idle;
  }

  // The nginx origin, pinned to the origin's core.
  async function startOrigin(label, port) {
    const nginx = await startNginx({ dir: DIR, port, core: ORIGIN_CORE });
    await sleep(200);
    checkPinning(label, treeCpu(nginx.proc.pid).pids, ORIGIN_CORE);
    return nginx;
  }

  // The reference rows: every scenario straight against the origin.
  async function measureDirect(scenarios, target, port, originPid) {
    if (!DIRECT) return;
    console.log(`\n== nginx direct (reference: the origin's ceiling with wrk on the same core)`);
    for (const sc of scenarios) await measure({ target, port, proxyPid: null, scenario: sc, originPid });
  }

  // Ask again: the binary may have been (re)built since the start.
  function recheckSwitchyard() {
    const v = versionOf(SWITCHYARD_BIN);
    // Still try to start it: -v may be unimplemented while -f works.
    if (v === null) console.log(`\n  note: "${SWITCHYARD_BIN} -v" failed; trying to start it anyway`);
    return v;
  }

  function writeReport(prefix, when, md) {
    const stamp = when.toISOString().slice(0, 19).replace(/:/g, '-') + 'Z';
    mkdirSync(`${ROOT}/bench/out`, { recursive: true });
    const outFile = `${ROOT}/bench/out/${prefix}${stamp}.md`;
    writeFileSync(outFile, md);
    return outFile.slice(ROOT.length + 1);
  }

  return {
    DIR,
    SECONDS,
    WARMUP,
    PORT_BASE,
    SWITCHYARD_BIN,
    pick,
    rows,
    configs,
    skipped,
    warn,
    skip,
    checkPinning,
    measure,
    skipFailedStart,
    stopTarget,
    find,
    ratioCells,
    resultTables,
    textTail,
    mdHead,
    mdWrk,
    mdConfigs,
    mdTail,
    hostFacts,
    versionList,
    reportMeta,
    idleCheck,
    startOrigin,
    measureDirect,
    recheckSwitchyard,
    writeReport,
  };
}

export function runMain(main) {
  main().catch(async (err) => {
    console.error(`\nbench failed: ${err.stack || err}`);
    await stopAll();
    process.exit(1);
  });
}
