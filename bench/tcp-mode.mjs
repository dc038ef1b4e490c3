// TCP-mode load run (issue 2): Switchyard and HAProxy, each with `mode tcp`,
// in front of the same nginx origin, in the same run. Started by run.sh,
// which owns the temp dir ($BENCH_TMP) and the last-resort cleanup.
//
// Layout on a 2-core machine: proxy under test on core 0, nginx + wrk on
// core 1. Throughput is then bounded by whichever core saturates first, so
// the figure that compares the proxies fairly is the proxy's own CPU time per
// request (utime+stime of the proxy and all its descendants, from /proc).
import { setTimeout as sleep } from 'node:timers/promises';
import { treeCpu } from './lib/proc-cpu.mjs';
import { pickPorts, stopProc } from './lib/processes.mjs';
import { SMALL_PATH, LARGE_PATH } from './lib/origin-nginx.mjs';
import { proxyDefs, startProxy, versionOf } from './lib/proxies.mjs';
import { runtimeCommand, parseShowInfo } from './lib/runtime-api.mjs';
import { fmt, pct, textTable, mdTable } from './lib/report.mjs';
import { createRunner, runMain, PROXY_CORE, ORIGIN_CORE, RATIO_HEADER, RATIO_ALIGN } from './lib/runner.mjs';

const bench = createRunner('tcp-mode.mjs');
const { DIR, SECONDS, WARMUP, PORT_BASE, SWITCHYARD_BIN, rows, configs, skipped, warn, skip, checkPinning, measure } = bench;

const SCENARIOS = [
  { id: 1, title: 'small keep-alive', path: SMALL_PATH, connections: 50, close: false },
  { id: 2, title: '1 MiB transfers', path: LARGE_PATH, connections: 10, close: false },
  { id: 3, title: 'new conn per request', path: SMALL_PATH, connections: 50, close: true },
];
const ACCEPT_SCENARIO = { id: 4, title: 'accept split, nbthread 2', path: SMALL_PATH, connections: 50, close: true };

let accept = null;

// startProxy options for `def` with `nbthread` threads, pinned to the proxy core.
function proxyOpts(def, ports, nbthread, extra = {}) {
  return { dir: DIR, core: PROXY_CORE, tag: `${def.name}-nbthread${nbthread}`, port: ports[def.name], originPort: ports.origin, nbthread, ...extra };
}

async function benchProxy(def, ports, originPid) {
  console.log(`\n== ${def.name} (nbthread 1, mode tcp, cpu ${PROXY_CORE}) -> nginx`);
  const started = await startProxy(def, proxyOpts(def, ports, 1));
  if (!started.ok) return bench.skipFailedStart(started, `SKIPPED ${def.name}: ${started.reason}`);
  checkPinning(`${def.name} nbthread 1`, treeCpu(started.proc.pid).pids, PROXY_CORE);
  configs[`${def.name}, scenarios 1-3`] = started.cfgText;
  try {
    for (const sc of SCENARIOS) {
      await measure({ target: def.name, port: ports[def.name], proxyPid: started.proc.pid, scenario: sc, originPid });
    }
  } finally {
    await bench.stopTarget(started.proc, def.name);
  }
}

// Scenario 4: Switchyard with 2 workers under new-connection load; per-worker
// CumConns from `@N show info` on its stats socket.
async function acceptSplit(def, ports, originPid) {
  console.log(`\n== ${def.name} (nbthread 2, mode tcp, cpu ${PROXY_CORE}) accept distribution`);
  const sock = `${DIR}/sw.sock`;
  const started = await startProxy(def, proxyOpts(def, ports, 2, { statsSocket: sock }));
  if (!started.ok) return bench.skipFailedStart(started, `SKIPPED scenario 4: ${started.reason}`);
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
      skip(`SKIPPED scenario 4: runtime API on ${sock} failed: ${err.message}`);
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
    await bench.stopTarget(started.proc, `${def.name} nbthread 2`);
  }
}

function buildReport(meta) {
  const results = bench.resultTables(rows);
  const rCells = bench.ratioCells(SCENARIOS, 'switchyard', 'haproxy');

  let acceptText = 'not measured (see skipped)';
  if (accept) {
    const [a, b] = accept.delta;
    acceptText = `worker 1: ${pct(a / accept.total)} (${fmt(a)})  worker 2: ${pct(b / accept.total)} (${fmt(b)})  total ${fmt(accept.total)} connections (wrk completed ${fmt(accept.wrkRequests)} requests, one connection each)`;
  }

  const text = [
    '',
    `== Results: TCP mode, ${SECONDS} s per run (+${WARMUP} s warm-up), proxy on cpu ${PROXY_CORE}, nginx + wrk on cpu ${ORIGIN_CORE}`,
    results.text,
    '',
    'Switchyard / HAProxy (req/s, MB/s: higher is better for Switchyard above 1; p50, p99, CPU/req: lower is better below 1)',
    rCells.length ? textTable(RATIO_HEADER, rCells, RATIO_ALIGN) : '  (no ratios: both proxies are needed)',
    '',
    `Scenario 4, accept split over 2 Switchyard workers: ${acceptText}`,
    ...bench.textTail(),
  ].join('\n');

  const md = [
    ...bench.mdHead('TCP-mode bench', meta, { origin: 'nginx', idle: meta.idle, resultsMd: results.md }),
    '### Switchyard / HAProxy',
    '',
    rCells.length ? mdTable(RATIO_HEADER, rCells, RATIO_ALIGN) : '(no ratios: both proxies are needed)',
    '',
    '### Scenario 4: accept distribution, Switchyard nbthread 2',
    '',
    acceptText,
    '',
    ...bench.mdWrk(rows),
    ...bench.mdConfigs('Proxy configs (only the bind port differs between the proxies)'),
    ...bench.mdTail(),
  ].join('\n');
  return { text, md };
}

async function main() {
  const when = new Date();
  let switchyardVersion = versionOf(SWITCHYARD_BIN);
  bench.hostFacts('Switchyard TCP-mode bench');
  const versionList = () => bench.versionList(switchyardVersion);
  console.log(`  ${versionList()}`);

  const idle = await bench.idleCheck();

  const [origin, haproxyPort, switchyardPort] = await pickPorts(PORT_BASE, 3);
  const ports = { origin, haproxy: haproxyPort, switchyard: switchyardPort };
  console.log(`  ports: nginx ${origin}, haproxy ${haproxyPort}, switchyard ${switchyardPort}; temp dir ${DIR}`);

  const nginx = await bench.startOrigin('nginx', origin);
  const defs = proxyDefs(SWITCHYARD_BIN);
  try {
    await bench.measureDirect(SCENARIOS, 'nginx direct', origin, nginx.proc.pid);
    await benchProxy(defs.haproxy, ports, nginx.proc.pid);
    switchyardVersion = bench.recheckSwitchyard();
    await benchProxy(defs.switchyard, ports, nginx.proc.pid);
    if (rows.some((r) => r.target === 'switchyard')) await acceptSplit(defs.switchyard, ports, nginx.proc.pid);
    else skipped.push('SKIPPED scenario 4: Switchyard did not run scenarios 1-3');
  } finally {
    await stopProc(nginx.proc);
  }

  const { text, md } = buildReport(bench.reportMeta('tcp', when, versionList(), idle));
  console.log(text);
  console.log(`\nMarkdown report: ${bench.writeReport('', when, md)}`);
}

runMain(main);
