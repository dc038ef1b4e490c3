// HTTP-mode load run (issue 3): Switchyard and HAProxy (`mode http`, same
// config text), nginx as a reverse proxy and node-http-proxy, each in front of
// the same nginx origin, in the same run. Started by run.sh, which owns the
// temp dir ($BENCH_TMP) and the last-resort cleanup.
//
// Same layout and accounting as tcp-mode.mjs: proxy under test (and all its
// descendants) on core 0, nginx origin + wrk on core 1; the fair comparison
// is the proxy's CPU time per request, from /proc.
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { treeCpu } from './lib/proc-cpu.mjs';
import { pickPorts, stopProc } from './lib/processes.mjs';
import { SMALL_PATH, LARGE_PATH, SMALL_BYTES, LARGE_BYTES } from './lib/origin-nginx.mjs';
import { proxyDefs, startProxy, versionOf } from './lib/proxies.mjs';
import { httpConfig, startNginxProxy, installNodeHttpProxy, startNodeHttpProxy, checkGet } from './lib/http-proxies.mjs';
import { textTable, mdTable } from './lib/report.mjs';
import { createRunner, runMain, PROXY_CORE, ORIGIN_CORE, RATIO_HEADER, RATIO_ALIGN } from './lib/runner.mjs';

const bench = createRunner('http-mode.mjs');
const { DIR, SECONDS, WARMUP, PORT_BASE, SWITCHYARD_BIN, configs, skip, checkPinning, measure, find } = bench;

const ALL_SCENARIOS = [
  { id: 1, title: 'small keep-alive', path: SMALL_PATH, connections: 50, close: false },
  { id: 2, title: '1 MiB responses', path: LARGE_PATH, connections: 10, close: false },
  { id: 3, title: 'new conn per request', path: SMALL_PATH, connections: 50, close: true },
];
// BENCH_SCENARIOS=1,3 and BENCH_TARGETS=haproxy,switchyard narrow a run for
// quick A/B iterations (default: everything).
const SCENARIOS = bench.pick('BENCH_SCENARIOS', ALL_SCENARIOS, (sc) => String(sc.id));
const TARGETS = new Set(bench.pick('BENCH_TARGETS', ['direct', 'haproxy', 'switchyard', 'nginx', 'node'], (t) => t));
const NODE_PROXY = process.env.BENCH_NODE_HTTP_PROXY !== '0' && TARGETS.has('node');

// Display names; the order is the run order.
const T = { direct: 'nginx direct', haproxy: 'haproxy', switchyard: 'switchyard', nginx: 'nginx proxy', node: 'node-http-proxy' };

// start(): { ok, proc, cfgText, reason }. Checks one small and one large GET,
// then runs every scenario, then stops the proxy.
async function benchTarget(target, heading, port, originPid, start) {
  console.log(`\n== ${heading}`);
  const started = await start();
  if (!started.ok) return bench.skipFailedStart(started, `SKIPPED ${target}: ${started.reason}`);
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
    await bench.stopTarget(started.proc, target);
  }
}

function buildReport(meta) {
  const ordered = SCENARIOS.flatMap((sc) => Object.values(T).map((t) => find(t, sc.id)).filter(Boolean));
  const results = bench.resultTables(ordered);

  const others = [
    [T.haproxy, 'HAProxy'],
    [T.nginx, 'nginx reverse proxy'],
    [T.node, 'node-http-proxy'],
  ];
  const ratioText = [];
  const ratioMd = [];
  for (const [t, label] of others) {
    const rc = bench.ratioCells(SCENARIOS, T.switchyard, t);
    const title = `Switchyard / ${label}`;
    ratioText.push('', title, rc.length ? textTable(RATIO_HEADER, rc, RATIO_ALIGN) : `  (no ratios: both Switchyard and ${label} rows are needed)`);
    ratioMd.push('', `### ${title}`, '', rc.length ? mdTable(RATIO_HEADER, rc, RATIO_ALIGN) : `(no ratios: both Switchyard and ${label} rows are needed)`);
  }

  const text = [
    '',
    `== Results: HTTP mode, ${SECONDS} s per run (+${WARMUP} s warm-up), proxy on cpu ${PROXY_CORE}, nginx origin + wrk on cpu ${ORIGIN_CORE}`,
    results.text,
    '',
    'Ratios (req/s, MB/s: above 1 = Switchyard faster; p50, p99, CPU/req: below 1 = Switchyard better)',
    ...ratioText,
    ...bench.textTail(),
  ].join('\n');

  const md = [
    ...bench.mdHead('HTTP-mode bench', meta, {
      origin: 'nginx origin',
      setup: [
        `- Proxies: Switchyard and HAProxy \`nbthread 1\`, \`mode http\`, same config text (HAProxy's default \`option http-keep-alive\`); nginx reverse proxy \`worker_processes 1\` with an upstream keepalive pool; node-http-proxy in one node process with a keep-alive agent.`,
      ],
      idle: `${meta.idle}; load average at start: ${meta.loadStart}, at end: ${meta.loadEnd}`,
      resultsMd: results.md,
    }),
    '## Ratios',
    '',
    'req/s, MB/s: above 1 = Switchyard faster; p50, p99, CPU/req: below 1 = Switchyard better.',
    ...ratioMd,
    '',
    ...bench.mdWrk(ordered),
    ...bench.mdConfigs('Proxy configs (HAProxy and Switchyard: only the bind port differs)', { stripRoot: true }),
    ...bench.mdTail(),
  ].join('\n');
  return { text, md };
}

const loadavg = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

async function main() {
  const when = new Date();
  const loadStart = loadavg();
  let switchyardVersion = versionOf(SWITCHYARD_BIN);
  let nodeProxyVersion = NODE_PROXY ? 'not installed yet' : 'skipped (BENCH_NODE_HTTP_PROXY=0)';
  bench.hostFacts('Switchyard HTTP-mode bench');
  const versionList = () => bench.versionList(switchyardVersion, [`http-proxy (npm): ${nodeProxyVersion}`]);
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
    skip(`SKIPPED ${T.node}: ${TARGETS.has('node') ? 'BENCH_NODE_HTTP_PROXY=0' : 'not in BENCH_TARGETS'}`);
  }

  const idle = await bench.idleCheck();

  const [origin, haproxyPort, switchyardPort, nginxPort, nodePort] = await pickPorts(PORT_BASE, 5);
  console.log(`  ports: nginx origin ${origin}, haproxy ${haproxyPort}, switchyard ${switchyardPort}, nginx proxy ${nginxPort}, node-http-proxy ${nodePort}; temp dir ${DIR}`);

  const nginx = await bench.startOrigin('nginx origin', origin);
  const originPid = nginx.proc.pid;
  const defs = proxyDefs(SWITCHYARD_BIN);
  const common = { dir: DIR, core: PROXY_CORE, originPort: origin, nbthread: 1, config: httpConfig };
  try {
    if (TARGETS.has('direct')) await bench.measureDirect(SCENARIOS, T.direct, origin, originPid);
    if (TARGETS.has('haproxy')) await benchTarget(T.haproxy, `HAProxy (nbthread 1, mode http, cpu ${PROXY_CORE}) -> nginx`, haproxyPort, originPid, () =>
      startProxy(defs.haproxy, { ...common, tag: 'haproxy-http', port: haproxyPort }),
    );
    switchyardVersion = bench.recheckSwitchyard();
    if (TARGETS.has('switchyard')) await benchTarget(T.switchyard, `Switchyard (nbthread 1, mode http, cpu ${PROXY_CORE}) -> nginx`, switchyardPort, originPid, () =>
      startProxy(defs.switchyard, { ...common, tag: 'switchyard-http', port: switchyardPort }),
    );
    if (TARGETS.has('nginx')) await benchTarget(T.nginx, `nginx reverse proxy (worker_processes 1, upstream keepalive, cpu ${PROXY_CORE}) -> nginx`, nginxPort, originPid, () =>
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

  const { text, md } = buildReport(bench.reportMeta('http', when, versionList(), idle, { loadStart, loadEnd: loadavg() }));
  console.log(text);
  console.log(`\nload average at start: ${loadStart}, at end: ${loadavg()}`);
  console.log(`Markdown report: ${bench.writeReport('http-', when, md)}`);
}

runMain(main);
