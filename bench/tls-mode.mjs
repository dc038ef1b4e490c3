// TLS load run (issue 4, first slice): Switchyard and HAProxy terminating TLS
// (`mode http`, `bind ... ssl crt <pem>`, same config text and same RSA-2048
// certificate) in front of the same plain-HTTP nginx origin, in the same run.
// Started by run.sh, which owns the temp dir ($BENCH_TMP) and the cleanup.
//
// Same layout and accounting as http-mode.mjs: proxy under test (and all its
// descendants) on core 0, nginx origin + wrk on core 1; the fair comparison
// is the proxy's CPU time per handshake / per request, from /proc.
//
// Full handshakes: wrk 4.1.0 resumes sessions on reconnect (see
// lib/wrk-no-resume.c), and Switchyard cannot turn tickets off yet, so wrk
// runs with a preloaded shim that drops its session before each handshake.
// Both proxies keep their defaults (tickets on, HAProxy's session cache on):
// they still issue tickets, as they would to real clients, but none is used.
import os from 'node:os';
import https from 'node:https';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { treeCpu } from './lib/proc-cpu.mjs';
import { pickPorts, stopProc } from './lib/processes.mjs';
import { SMALL_PATH, SMALL_BYTES } from './lib/origin-nginx.mjs';
import { proxyDefs, startProxy, versionOf } from './lib/proxies.mjs';
import { textTable, mdTable } from './lib/report.mjs';
import { createRunner, runMain, PROXY_CORE, ORIGIN_CORE, RATIO_HEADER, RATIO_ALIGN } from './lib/runner.mjs';

const bench = createRunner('tls-mode.mjs');
const { DIR, SECONDS, WARMUP, PORT_BASE, SWITCHYARD_BIN, configs, skip, checkPinning, measure, find } = bench;

const SHIM_SRC = fileURLToPath(new URL('./lib/wrk-no-resume.c', import.meta.url));
const SHIM = `${DIR}/wrk-no-resume.so`;
const PEM = `${DIR}/bench-rsa2048.pem`;

// With `Connection: close` every request is one TCP connection and one full
// TLS handshake, so req/s = handshakes/s and CPU us/req = us per handshake.
const SCENARIOS = [
  { id: 1, title: 'full handshakes', path: SMALL_PATH, connections: 50, close: true, scheme: 'https', wrkEnv: { LD_PRELOAD: SHIM } },
  { id: 2, title: 'small keep-alive', path: SMALL_PATH, connections: 50, close: false, scheme: 'https' },
];

const T = { haproxy: 'haproxy', switchyard: 'switchyard' };

// The HTTP bench's config (every timeout set, HAProxy's default keep-alive)
// with `ssl crt` on the bind line; see http-proxies.mjs for why
// `option http-keep-alive` and `timeout queue` are not written.
function tlsConfig({ port, originPort, nbthread }) {
  return `global
    nbthread ${nbthread}

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    timeout http-request 10s
    timeout http-keep-alive 10s
    timeout client-fin 30s
    timeout server-fin 30s
    timeout tunnel 1h

frontend fe_bench
    bind 127.0.0.1:${port} ssl crt ${PEM}
    default_backend be_origin

backend be_origin
    server origin 127.0.0.1:${originPort}
`;
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60000 });
  if (r.error || r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.error ? r.error.message : `exit ${r.status}`}): ${`${r.stdout}${r.stderr}`.trim().slice(-500)}`);
  }
}

// One RSA-2048 self-signed certificate per run, shared by both proxies.
function makeCert() {
  const key = `${DIR}/bench-rsa2048.key`;
  const crt = `${DIR}/bench-rsa2048.crt`;
  run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', crt, '-days', '2', '-subj', '/CN=localhost']);
  spawnSync('sh', ['-c', `cat "${crt}" "${key}" > "${PEM}"`]);
}

function buildShim() {
  run('cc', ['-shared', '-fPIC', '-O2', '-o', SHIM, SHIM_SRC, '-ldl']);
}

// One HTTPS GET through the proxy: 200 with the full body, else a reason.
function checkGet(port, path, bytes, timeoutMs = 5000) {
  return new Promise((resolve) => {
    const req = https.get({ host: '127.0.0.1', port, path, agent: false, rejectUnauthorized: false, timeout: timeoutMs }, (res) => {
      let n = 0;
      res.on('data', (d) => (n += d.length));
      res.on('end', () => resolve(res.statusCode !== 200 ? `GET ${path}: status ${res.statusCode}` : n !== bytes ? `GET ${path}: body of ${n} bytes, want ${bytes}` : null));
      res.on('error', (err) => resolve(`GET ${path}: ${err.message}`));
    });
    req.on('timeout', () => req.destroy(new Error(`no complete response within ${timeoutMs} ms`)));
    req.on('error', (err) => resolve(`GET ${path}: ${err.message}`));
  });
}

async function benchTarget(target, heading, port, originPid, start) {
  console.log(`\n== ${heading}`);
  const started = await start();
  if (!started.ok) return bench.skipFailedStart(started, `SKIPPED ${target}: ${started.reason}`);
  try {
    const bad = await checkGet(port, SMALL_PATH, SMALL_BYTES);
    if (bad) {
      skip(`SKIPPED ${target}: check request through the proxy failed: ${bad}`);
      return;
    }
    await sleep(200);
    checkPinning(target, treeCpu(started.proc.pid).pids, PROXY_CORE);
    configs[target] = started.cfgText;
    for (const sc of SCENARIOS) await measure({ target, port, proxyPid: started.proc.pid, scenario: sc, originPid });
  } finally {
    await bench.stopTarget(started.proc, target);
  }
}

function buildReport(meta) {
  const ordered = SCENARIOS.flatMap((sc) => Object.values(T).map((t) => find(t, sc.id)).filter(Boolean));
  const results = bench.resultTables(ordered);
  const rc = bench.ratioCells(SCENARIOS, T.switchyard, T.haproxy);
  const none = '(no ratios: both Switchyard and HAProxy rows are needed)';
  const note =
    'Scenario 1: one request per connection, so req/s = full TLS handshakes/s and CPU us/req = proxy CPU per handshake (wrk runs with lib/wrk-no-resume.c preloaded: no session is ever resumed).';

  const text = [
    '',
    `== Results: TLS termination (RSA-2048, mode http), ${SECONDS} s per run (+${WARMUP} s warm-up), proxy on cpu ${PROXY_CORE}, nginx origin + wrk on cpu ${ORIGIN_CORE}`,
    results.text,
    note,
    '',
    'Switchyard / HAProxy (req/s: above 1 = Switchyard faster; p50, p99, CPU/req: below 1 = Switchyard better)',
    rc.length ? textTable(RATIO_HEADER, rc, RATIO_ALIGN) : `  ${none}`,
    ...bench.textTail(),
  ].join('\n');

  const md = [
    ...bench.mdHead('TLS bench', meta, {
      origin: 'nginx origin',
      setup: [
        `- Proxies: Switchyard (master + 1 worker) and HAProxy, \`nbthread 1\`, \`mode http\` to the plain-HTTP origin, same config text with \`bind ... ssl crt <pem>\` (one RSA-2048 self-signed certificate made with \`openssl req\` for this run); tickets and HAProxy's session cache at their defaults.`,
        `- Full handshakes: wrk reuses its last session on reconnect (SSL_clear keeps it); it runs with \`LD_PRELOAD=wrk-no-resume.so\` (bench/lib/wrk-no-resume.c), which drops the session before each handshake.`,
      ],
      idle: `${meta.idle}; load average at start: ${meta.loadStart}, at end: ${meta.loadEnd}`,
      resultsMd: results.md,
    }),
    note,
    '',
    '## Ratios',
    '',
    '### Switchyard / HAProxy',
    '',
    'req/s: above 1 = Switchyard faster; p50, p99, CPU/req: below 1 = Switchyard better.',
    '',
    rc.length ? mdTable(RATIO_HEADER, rc, RATIO_ALIGN) : none,
    '',
    ...bench.mdWrk(ordered),
    ...bench.mdConfigs('Proxy configs (only the bind port differs)', { stripRoot: true }),
    ...bench.mdTail(),
  ].join('\n');
  return { text, md };
}

const loadavg = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

async function main() {
  const when = new Date();
  const loadStart = loadavg();
  let switchyardVersion = versionOf(SWITCHYARD_BIN);
  bench.hostFacts('Switchyard TLS bench');
  const opensslVersion = spawnSync('openssl', ['version'], { encoding: 'utf8' }).stdout?.trim() || 'openssl ?';
  const versionList = () => bench.versionList(switchyardVersion, [opensslVersion, `node OpenSSL ${process.versions.openssl}`]);
  console.log(`  ${versionList()}`);
  makeCert();
  buildShim();
  console.log(`  certificate ${PEM} (RSA-2048), wrk shim ${SHIM}`);

  const idle = await bench.idleCheck();
  const [origin, haproxyPort, switchyardPort] = await pickPorts(PORT_BASE, 3);
  console.log(`  ports: nginx origin ${origin}, haproxy ${haproxyPort}, switchyard ${switchyardPort}; temp dir ${DIR}`);

  const nginx = await bench.startOrigin('nginx origin', origin);
  const originPid = nginx.proc.pid;
  const defs = proxyDefs(SWITCHYARD_BIN);
  const common = { dir: DIR, core: PROXY_CORE, originPort: origin, nbthread: 1, config: tlsConfig };
  try {
    await benchTarget(T.haproxy, `HAProxy (nbthread 1, mode http, ssl, cpu ${PROXY_CORE}) -> nginx`, haproxyPort, originPid, () =>
      startProxy(defs.haproxy, { ...common, tag: 'haproxy-tls', port: haproxyPort }),
    );
    switchyardVersion = bench.recheckSwitchyard();
    await benchTarget(T.switchyard, `Switchyard (nbthread 1, mode http, ssl, cpu ${PROXY_CORE}) -> nginx`, switchyardPort, originPid, () =>
      startProxy(defs.switchyard, { ...common, tag: 'switchyard-tls', port: switchyardPort }),
    );
  } finally {
    await stopProc(nginx.proc);
  }

  const { text, md } = buildReport(bench.reportMeta('tls', when, versionList(), idle, { loadStart, loadEnd: loadavg() }));
  console.log(text);
  console.log(`\nload average at start: ${loadStart}, at end: ${loadavg()}`);
  console.log(`Markdown report: ${bench.writeReport('tls-', when, md)}`);
}

runMain(main);
