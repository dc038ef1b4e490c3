// Rules load run (issue 5): what a realistic rule set (20 ACLs, 8 deny rules
// that never match, a lookup in a 10,000-entry map, 10 header rewrites) costs
// Switchyard and HAProxy, each against its own no-rule baseline, in the same
// run. Started by run.sh, which owns the temp dir ($BENCH_TMP) and the
// last-resort cleanup.
//
// Same layout and accounting as http-mode.mjs scenario 1 (small keep-alive,
// wrk -c 50): proxy under test (and all its descendants) on core 0, nginx
// origin + wrk on core 1. Both proxies get the same config text; the rule set
// is the same text for both, only the bind port differs. Before any load, one
// request goes through each proxy to a header-echo origin and the header sets
// the origin receives are compared, and probe requests check that the deny
// rules refuse the same requests: a bench of rules that do not do the same
// thing would compare nothing.
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { treeCpu } from './lib/proc-cpu.mjs';
import { pickPorts, startPinned, stopProc, waitListening, tailFile } from './lib/processes.mjs';
import { SMALL_PATH, SMALL_BYTES } from './lib/origin-nginx.mjs';
import { proxyDefs, startProxy } from './lib/proxies.mjs';
import { httpConfig, checkGet } from './lib/http-proxies.mjs';
import { fmt, pct, textTable, mdTable } from './lib/report.mjs';
import { MAP_ENTRIES, BLOCKED_NETS, writeMap, writeNets, ruleParts, VARIANT_PARTS } from './lib/rule-set.mjs';
import { createRunner, runMain, envInt, PROXY_CORE, ORIGIN_CORE, OTHER_LOAD_LIMIT } from './lib/runner.mjs';

const bench = createRunner('rules-mode.mjs');
const { DIR, SECONDS, WARMUP, PORT_BASE, SWITCHYARD_BIN, configs, warn, skip, checkPinning, measure } = bench;

// The issue's bar: rules may cost Switchyard (relative to its own no-rule
// baseline) as much as they cost HAProxy, or this share of req/s, whichever
// is looser.
const COST_LIMIT = 0.15;

const SCENARIO = { id: 1, title: 'small keep-alive', path: SMALL_PATH, connections: 50, close: false };
// BENCH_ROUNDS=3 runs every variant of every proxy 3 times, alternating (each
// proxy restarted per run); the cost table then takes the median of each figure.
const ROUNDS = Math.max(1, envInt('BENCH_ROUNDS', 1));
const TARGETS = bench.pick('BENCH_TARGETS', ['haproxy', 'switchyard'], (t) => t);
// What goes in the frontend: nothing, the whole rule set, or one part of it
// (BENCH_VARIANTS=none,deny,map,rewrites,rules: where the cost comes from;
// the parts are in bench/lib/rule-set.mjs).
const VARIANT_TITLE = {
  none: 'no rules',
  deny: 'ACLs + deny rules only',
  map: 'map lookup only',
  rewrites: 'ACLs + header rewrites only',
  rules: 'with rules',
};
const VARIANTS = process.env.BENCH_VARIANTS ? bench.pick('BENCH_VARIANTS', Object.keys(VARIANT_PARTS), (v) => v) : ['none', 'rules'];
const LABEL = { haproxy: 'haproxy', switchyard: 'switchyard' };
const rowLabel = (target, variant) => (variant === 'none' ? LABEL[target] : `${LABEL[target]} + ${variant}`);

/* ---------------- config check ---------------- */

const configCheck = {};

// `-c -f <cfg>` with each proxy on the rules config, so a refused keyword is
// reported as such (with the proxy's own message) before anything runs.
function checkConfigs(defs, lines) {
  const cfg = `${DIR}/rules-check.cfg`;
  writeFileSync(cfg, httpConfig({ port: 1, originPort: 2, nbthread: 1, frontendLines: lines }));
  console.log(`\n== config check: <proxy> -c -f ${cfg}`);
  for (const target of TARGETS) {
    const def = defs[target];
    const args = def.args(cfg);
    const r = spawnSync(def.bin, [...args.slice(0, -2), '-c', '-f', cfg], { encoding: 'utf8', timeout: 30000 });
    const out = `${r.stdout || ''}${r.stderr || ''}`.trim().split('\n').filter((l) => !/^\[NOTICE\]/.test(l)).join('\n');
    configCheck[target] = { ok: r.status === 0, out };
    console.log(`  ${target}: exit ${r.status ?? r.signal}${out ? `: ${out.split('\n').join('\n    ')}` : ''}`);
    if (r.status !== 0) warn(`${target} -c refused the rules config: ${out}`);
  }
}

/* ---------------- header check through an echo origin ---------------- */

// One node HTTP server that answers every request with the request line and
// the raw header list it received, as JSON (keep-alive, Content-Length).
const ECHO_SRC = `
const http = require('node:http');
http.createServer((req, res) => {
  const body = JSON.stringify({ method: req.method, url: req.url, headers: req.rawHeaders });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}).listen(Number(process.argv[1]), '127.0.0.1');
`;

// The bench's request, byte for byte as wrk sends it, with one Host value for
// both proxies (wrk's would carry each proxy's own port).
const CHECK_HOST = '127.0.0.1:8080';
const CHECK_REQUEST = `GET ${SMALL_PATH} HTTP/1.1\r\nHost: ${CHECK_HOST}\r\n\r\n`;

// Requests the deny rules must refuse (and two they must let through), so a
// rule that is a no-op in one proxy shows up as a status that differs
// between the proxies.
const PROBES = [
  { what: 'path_reg: /index.php', request: `GET /index.php HTTP/1.1\r\nHost: ${CHECK_HOST}\r\n\r\n` },
  { what: 'method TRACE', request: `TRACE / HTTP/1.1\r\nHost: ${CHECK_HOST}\r\n\r\n` },
  { what: 'User-Agent: Googlebot', request: `GET ${SMALL_PATH} HTTP/1.1\r\nHost: ${CHECK_HOST}\r\nUser-Agent: Googlebot/2.1\r\n\r\n` },
  { what: '4 X-Forwarded-For', request: `GET ${SMALL_PATH} HTTP/1.1\r\nHost: ${CHECK_HOST}\r\n${'X-Forwarded-For: 192.0.2.1\r\n'.repeat(4)}\r\n` },
  { what: '/upload/ without token', request: `GET /upload/a HTTP/1.1\r\nHost: ${CHECK_HOST}\r\n\r\n` },
  { what: '/upload/ with token', request: `GET /upload/a?token=t1 HTTP/1.1\r\nHost: ${CHECK_HOST}\r\n\r\n` },
  { what: '?debug=1, Host with port', request: `GET ${SMALL_PATH}?debug=1 HTTP/1.1\r\nHost: ${CHECK_HOST}\r\n\r\n` },
  { what: '?debug=1, Host www.example.com', request: `GET ${SMALL_PATH}?debug=1 HTTP/1.1\r\nHost: www.example.com\r\n\r\n` },
];

// Sends `request` on a raw connection; resolves { status, body } or { error }.
function rawGet(port, request = CHECK_REQUEST, timeoutMs = 5000) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    const done = (r) => {
      clearTimeout(timer);
      s.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done({ error: `no complete response within ${timeoutMs} ms` }), timeoutMs);
    s.on('connect', () => s.write(request));
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.subarray(0, end).toString('latin1');
      const status = Number(head.split(' ')[1]);
      const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      if (!cl) return done({ error: `response without Content-Length: ${JSON.stringify(head)}` });
      if (buf.length >= end + 4 + Number(cl[1])) done({ status, body: buf.subarray(end + 4, end + 4 + Number(cl[1])).toString('utf8') });
    });
    s.on('error', (err) => done({ error: err.message }));
    s.on('end', () => done({ error: 'connection closed before a complete response' }));
  });
}

// "name: value" per header the origin received, names lower-cased, sorted.
function headerSet(echo) {
  const out = [];
  for (let i = 0; i < echo.headers.length; i += 2) out.push(`${echo.headers[i].toLowerCase()}: ${echo.headers[i + 1]}`);
  return out.sort();
}

// Multiset difference a - b.
function minus(a, b) {
  const left = [...b];
  return a.filter((x) => {
    const i = left.indexOf(x);
    if (i < 0) return true;
    left.splice(i, 1);
    return false;
  });
}

const echoCheck = { variants: {}, skipped: null };

// Each proxy, with each variant's config, in front of the echo origin: one
// request each, then the header sets are compared.
async function checkHeaders(defs, ports, variantLines) {
  console.log(`\n== header check: one request (${JSON.stringify(CHECK_REQUEST)}) and ${PROBES.length} probes through each proxy to an echo origin on cpu ${ORIGIN_CORE}`);
  const echo = startPinned(ORIGIN_CORE, process.execPath, ['-e', ECHO_SRC, String(ports.echo)], { logBase: `${DIR}/echo-origin` });
  try {
    if (!(await waitListening(ports.echo, echo, 10000))) {
      echoCheck.skipped = `echo origin did not start: ${tailFile(`${DIR}/echo-origin.err`)}`;
      warn(`header check skipped: ${echoCheck.skipped}`);
      return;
    }
    for (const variant of VARIANTS) {
      const got = {};
      for (const target of TARGETS) {
        const started = await startProxy(defs[target], {
          dir: DIR, core: PROXY_CORE, tag: `${target}-${variant}-echo`, port: ports[`${target}-${variant}`], originPort: ports.echo, nbthread: 1,
          config: (o) => httpConfig({ ...o, frontendLines: variantLines[variant] }),
        });
        try {
          if (!started.ok) {
            got[target] = { error: started.reason };
            continue;
          }
          const r = await rawGet(ports[`${target}-${variant}`]);
          if (r.error) got[target] = { error: r.error };
          else if (r.status !== 200) got[target] = { error: `status ${r.status}: ${r.body.slice(0, 200)}` };
          else {
            const e = JSON.parse(r.body);
            got[target] = { requestLine: `${e.method} ${e.url}`, headers: headerSet(e), probes: [] };
            for (const pr of PROBES) {
              const q = await rawGet(ports[`${target}-${variant}`], pr.request);
              got[target].probes.push(q.error ? `error: ${q.error}` : String(q.status));
            }
          }
        } finally {
          await stopProc(started.proc, 2000);
        }
      }
      echoCheck.variants[variant] = got;
      reportHeaderCheck(variant, got);
    }
  } finally {
    await stopProc(echo, 2000);
  }
}

function reportHeaderCheck(variant, got) {
  for (const t of TARGETS) if (got[t].error) warn(`header check (${variant}): ${t}: ${got[t].error}`);
  const h = got.haproxy;
  const s = got.switchyard;
  if (!h || !s || h.error || s.error) {
    if (TARGETS.length === 1 && !got[TARGETS[0]].error) {
      console.log(`  ${variant}: ${TARGETS[0]} only (no comparison): ${got[TARGETS[0]].headers.join(' | ')}`);
    }
    return;
  }
  const onlyH = minus(h.headers, s.headers);
  const onlyS = minus(s.headers, h.headers);
  got.same = onlyH.length === 0 && onlyS.length === 0 && h.requestLine === s.requestLine;
  got.onlyH = onlyH;
  got.onlyS = onlyS;
  got.probeDiffs = PROBES.map((p, i) => ({ what: p.what, h: h.probes[i], s: s.probes[i] })).filter((d) => d.h !== d.s);
  const probeText = PROBES.map((p, i) => `${p.what} ${h.probes[i]}`).join(', ');
  if (got.probeDiffs.length === 0) console.log(`  ${variant}: probe statuses identical: ${probeText}`);
  else {
    for (const d of got.probeDiffs) console.log(`  ${variant}: probe "${d.what}": haproxy ${d.h}, switchyard ${d.s}`);
    warn(`probe statuses (${variant}) differ: ${got.probeDiffs.map((d) => `${d.what}: haproxy ${d.h}, switchyard ${d.s}`).join('; ')}`);
  }
  if (got.same) {
    console.log(`  ${variant}: identical (${h.requestLine}; ${h.headers.length} headers): ${h.headers.join(' | ')}`);
    return;
  }
  console.log(`  ${variant}: DIFFERENT`);
  if (h.requestLine !== s.requestLine) console.log(`    request line: haproxy "${h.requestLine}", switchyard "${s.requestLine}"`);
  for (const x of onlyH) console.log(`    only haproxy:    ${x}`);
  for (const x of onlyS) console.log(`    only switchyard: ${x}`);
  warn(`header check (${variant}): the origin got different headers from haproxy and switchyard (only haproxy: ${onlyH.join(' | ') || '-'}; only switchyard: ${onlyS.join(' | ') || '-'})`);
}

/* ---------------- load runs ---------------- */

// results[target][variant]: measured rows, one per round.
const results = {};

async function runOne(def, target, variant, round, port, originPort, originPid, lines) {
  const label = rowLabel(target, variant);
  console.log(`\n== ${label} (nbthread 1, mode http, cpu ${PROXY_CORE})${ROUNDS > 1 ? `, round ${round}` : ''}`);
  const started = await startProxy(def, {
    dir: DIR, core: PROXY_CORE, tag: `${target}-${variant}`, port, originPort, nbthread: 1,
    config: (o) => httpConfig({ ...o, frontendLines: lines }),
  });
  if (!started.ok) return bench.skipFailedStart(started, `SKIPPED ${label}: ${started.reason}`);
  try {
    const bad = await checkGet(port, SMALL_PATH, SMALL_BYTES);
    if (bad) {
      skip(`SKIPPED ${label}: check request through the proxy failed: ${bad}`);
      return;
    }
    await sleep(200);
    checkPinning(ROUNDS > 1 ? `${label}, round ${round}` : label, treeCpu(started.proc.pid).pids, PROXY_CORE);
    // One text per variant: only the bind port differs between the proxies.
    configs[VARIANT_TITLE[variant]] ??= started.cfgText.replace(/bind 127\.0\.0\.1:\d+/, 'bind 127.0.0.1:<port>').replaceAll(DIR, '$BENCH_TMP');
    const scenario = ROUNDS > 1 ? { ...SCENARIO, title: `${SCENARIO.title}, round ${round}` } : SCENARIO;
    const row = await measure({ target: label, port, proxyPid: started.proc.pid, scenario, originPid });
    ((results[target] ??= {})[variant] ??= []).push(row);
  } finally {
    await bench.stopTarget(started.proc, label);
  }
}

/* ---------------- report ---------------- */

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// Rows measured while other processes took a share of the proxy's core are
// left out when a clean row of the same kind exists (this VM is shared).
function cleanRows(rows) {
  const clean = rows.filter((x) => x.otherOnProxyCore <= OTHER_LOAD_LIMIT);
  return clean.length ? clean : rows;
}

// Per target and variant: medians over rounds, and the cost of the rules
// (`variant`: the whole set or one part) against the no-rule rows.
function costOf(target, variant = 'rules') {
  const r = results[target];
  if (!r?.none?.length || !r?.[variant]?.length) return null;
  const used = { none: cleanRows(r.none), [variant]: cleanRows(r[variant]) };
  const m = (v, f) => median(used[v].map(f));
  const rpsNone = m('none', (x) => x.wrk.rps);
  const rpsRules = m(variant, (x) => x.wrk.rps);
  const cpuNone = m('none', (x) => x.proxyUsPerReq);
  const cpuRules = m(variant, (x) => x.proxyUsPerReq);
  return {
    target,
    variant,
    runs: `${used.none.length}/${r.none.length}, ${used[variant].length}/${r[variant].length}`,
    // no clean run of one kind: the figures are suspect
    contended: [...used.none, ...used[variant]].some((x) => x.otherOnProxyCore > OTHER_LOAD_LIMIT),
    rpsNone,
    rpsRules,
    cpuNone,
    cpuRules,
    utilNone: m('none', (x) => x.proxyUtil),
    utilRules: m(variant, (x) => x.proxyUtil),
    // the issue's measure: req/s lost to the rules
    rpsCost: 1 - rpsRules / rpsNone,
    cpuRatio: cpuRules / cpuNone,
    addedUs: cpuRules - cpuNone,
    // req/s one saturated core would lose: 1 - (1/cpuRules)/(1/cpuNone)
    capacityCost: 1 - cpuNone / cpuRules,
  };
}

const COST_HEADER = ['Target', 'Rules', 'runs used', 'req/s none', 'req/s rules', 'req/s cost', 'CPU us/req none', 'CPU us/req rules', 'CPU ratio', 'added us/req', 'per-core capacity cost', 'proxy CPU none / rules'];
const COST_ALIGN = ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'];
const signedPct = (x) => `${(x * 100).toFixed(1)}%`;

// `costs`: costOf() results, null ones skipped.
function costCells(costs) {
  return costs.filter(Boolean).map((c) => {
    return [LABEL[c.target], VARIANT_TITLE[c.variant], c.runs, fmt(c.rpsNone), fmt(c.rpsRules), signedPct(c.rpsCost), fmt(c.cpuNone, 1), fmt(c.cpuRules, 1), `${c.cpuRatio.toFixed(2)}x`, fmt(c.addedUs, 1), signedPct(c.capacityCost), `${pct(c.utilNone)} / ${pct(c.utilRules)}`];
  });
}

// Met when Switchyard's cost <= HAProxy's, or < COST_LIMIT.
function verdictLine(what, sw, hap, suspect) {
  const met = sw <= hap || sw < COST_LIMIT;
  const why = sw <= hap ? `<= HAProxy's ${signedPct(hap)}` : sw < COST_LIMIT ? `< ${pct(COST_LIMIT)}` : `> HAProxy's ${signedPct(hap)} and >= ${pct(COST_LIMIT)}`;
  const warnText = suspect ? ' -- SUSPECT: only contended runs for some figures (see Warnings); run it again on a quiet machine' : '';
  return { met, text: `${what}: Switchyard ${signedPct(sw)}, HAProxy ${signedPct(hap)} -> ${met ? 'MET' : 'NOT MET'} (${why})${warnText}` };
}

function verdicts(costs) {
  const s = costs.switchyard;
  const h = costs.haproxy;
  if (!s || !h) return null;
  const suspect = s.contended || h.contended;
  return [
    verdictLine('req/s cost (issue 5 measure, as measured)', s.rpsCost, h.rpsCost, suspect),
    verdictLine('per-core capacity cost (1 - CPU none / CPU rules)', s.capacityCost, h.capacityCost, suspect),
  ];
}

const VERDICT_RULE = `Target (issue 5): Switchyard's relative cost <= HAProxy's, or < ${pct(COST_LIMIT)} of req/s, whichever is looser.`;
const CAPACITY_NOTE =
  'req/s is capped by wrk + nginx on cpu 1 when the proxy has headroom on cpu 0 (see `proxy CPU`), so a proxy with headroom shows a req/s cost near 0 whatever its rules cost; the per-core capacity cost (from CPU time per request) is what the rules take from a saturated proxy core.';

function configCheckMd() {
  const entries = Object.entries(configCheck);
  if (!entries.length) return [];
  return [
    '## Config check',
    '',
    '`<proxy> -c -f <config with rules>`:',
    '',
    ...entries.map(([t, c]) => `- ${t}: ${c.ok ? 'accepted' : '**refused**'}${c.out ? `: \`${c.out.split('\n').join(' / ').replaceAll(DIR, '$BENCH_TMP')}\`` : ''}`),
    '',
  ];
}

function probesMd() {
  const vs = Object.entries(echoCheck.variants).filter(([, g]) => g.probeDiffs !== undefined);
  if (!vs.length) return [];
  const header = ['Probe', ...vs.flatMap(([v]) => [`${v}: haproxy`, `${v}: switchyard`])];
  const cells = PROBES.map((p, i) => [p.what, ...vs.flatMap(([, g]) => [g.haproxy.probes[i], g.switchyard.probes[i]])]);
  return [
    '### Probe statuses',
    '',
    'Requests the deny rules must refuse (and two they must let through), each on its own connection, same echo origin; status per proxy and variant:',
    '',
    mdTable(header, cells, header.map((_, i) => (i ? 'r' : 'l'))),
    '',
  ];
}

function headerCheckMd() {
  const out = ['## Header check', '', `One request, \`${JSON.stringify(CHECK_REQUEST).slice(1, -1)}\` (wrk's request with a fixed Host), through each proxy to a node echo origin on cpu ${ORIGIN_CORE}; the header lines the origin received (names lower-cased, order ignored):`, ''];
  if (echoCheck.skipped) return [...out, `Skipped: ${echoCheck.skipped}`, ''];
  for (const [variant, got] of Object.entries(echoCheck.variants)) {
    const title = VARIANT_TITLE[variant][0].toUpperCase() + VARIANT_TITLE[variant].slice(1);
    const errs = TARGETS.filter((t) => got[t]?.error);
    if (errs.length) {
      out.push(`- ${title}: ${errs.map((t) => `${t} failed: ${got[t].error}`).join('; ')}`);
      continue;
    }
    if (got.same === undefined) {
      const t = TARGETS[0];
      out.push(`- ${title}: ${t} only: \`${got[t].requestLine}\`, ${got[t].headers.map((x) => `\`${x}\``).join(', ')}`);
      continue;
    }
    const h = got.haproxy;
    out.push(`- ${title}: ${got.same ? '**identical**' : '**different**'}; \`${h.requestLine}\`, ${h.headers.map((x) => `\`${x}\``).join(', ')}`);
    if (!got.same) {
      if (h.requestLine !== got.switchyard.requestLine) out.push(`  - request line from Switchyard: \`${got.switchyard.requestLine}\``);
      for (const x of got.onlyH) out.push(`  - only HAProxy: \`${x}\``);
      for (const x of got.onlyS) out.push(`  - only Switchyard: \`${x}\``);
    }
  }
  return [...out, ''];
}

function buildReport(meta, files) {
  const ordered = TARGETS.flatMap((t) => VARIANTS.flatMap((v) => results[t]?.[v] ?? []));
  const table = bench.resultTables(ordered);
  const costs = Object.fromEntries(TARGETS.map((t) => [t, costOf(t)]));
  const parts = VARIANTS.filter((v) => v !== 'none');
  const cCells = costCells(TARGETS.flatMap((t) => parts.map((v) => costOf(t, v))));
  const v = verdicts(costs);
  const agg = ROUNDS > 1 ? ` (medians over the rounds)` : '';
  const costTitle = `Cost of the rules, each proxy against its own no-rule baseline${agg}`;
  const noCost = '(no cost figures: each target needs a no-rule and a with-rules row)';

  const text = [
    '',
    `== Results: rules mode, scenario "${SCENARIO.title}" (wrk -c ${SCENARIO.connections}), ${SECONDS} s per run (+${WARMUP} s warm-up), proxy on cpu ${PROXY_CORE}, nginx origin + wrk on cpu ${ORIGIN_CORE}`,
    table.text,
    '',
    costTitle,
    cCells.length ? textTable(COST_HEADER, cCells, COST_ALIGN) : `  ${noCost}`,
    '',
    VERDICT_RULE,
    ...(v ? v.map((x) => `  ${x.text}`) : ['  (no verdict: both proxies need both rows)']),
    `  note: ${CAPACITY_NOTE}`,
    ...bench.textTail(),
  ].join('\n');

  const md = [
    ...bench.mdHead('Rules bench', meta, {
      origin: 'nginx origin',
      setup: [
        `- Proxies: Switchyard and HAProxy \`nbthread 1\`, \`mode http\`, the HTTP mode's config text; with rules, the same rule set in the frontend of both: ${files}. Each proxy is started afresh for each run${ROUNDS > 1 ? `; ${ROUNDS} rounds, in the order none, rules per proxy` : ''}.`,
      ],
      idle: `${meta.idle}; load average at start: ${meta.loadStart}, at end: ${meta.loadEnd}`,
      resultsMd: table.md,
    }),
    `## ${costTitle}`,
    '',
    cCells.length ? mdTable(COST_HEADER, cCells, COST_ALIGN) : noCost,
    '',
    `\`runs used\` = runs in the medians / runs made, no rules and with rules: a run where other processes took more than ${pct(OTHER_LOAD_LIMIT)} of cpu ${PROXY_CORE} (see Warnings) is left out when a clean one of the same kind exists. \`req/s cost\` = 1 - req/s with rules / req/s without; \`CPU ratio\` = CPU us/req with rules / without; \`per-core capacity cost\` = 1 - CPU us/req without / with.`,
    '',
    '## Verdict',
    '',
    VERDICT_RULE,
    '',
    ...(v ? v.map((x) => `- ${x.text}`) : ['(no verdict: both proxies need both rows)']),
    '',
    CAPACITY_NOTE,
    '',
    ...configCheckMd(),
    ...headerCheckMd(),
    ...probesMd(),
    ...bench.mdWrk(ordered),
    ...bench.mdConfigs('Proxy configs (HAProxy and Switchyard: identical text, only the bind port differs)', { stripRoot: true }),
    ...bench.mdTail(),
  ].join('\n');
  return { text, md };
}

const loadavg = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

async function main() {
  const when = new Date();
  const loadStart = loadavg();
  bench.hostFacts('Switchyard rules bench');
  let switchyardVersion = bench.recheckSwitchyard();
  console.log(`  ${bench.versionList(switchyardVersion)}`);
  console.log(`  load average: ${loadStart}; targets ${TARGETS.join(', ')}; variants ${VARIANTS.join(', ')}; ${ROUNDS} round(s)`);

  const rulesDir = `${DIR}/rules`;
  mkdirSync(rulesDir, { recursive: true });
  const mapFile = `${rulesDir}/routes.map`;
  const netsFile = `${rulesDir}/blocked-nets.lst`;
  writeMap(mapFile);
  writeNets(netsFile);
  const parts = ruleParts(mapFile, netsFile);
  const lines = Object.fromEntries(Object.entries(VARIANT_PARTS).map(([v, ps]) => [v, ps.map((p) => parts[p]).join('')]));
  const files = `\`$BENCH_TMP/rules/routes.map\` (${fmt(MAP_ENTRIES)} entries: \`${readFileSync(mapFile, 'utf8').split('\n').slice(1, 3).join('`, `')}\`, ..., \`/small static-small\`) and \`$BENCH_TMP/rules/blocked-nets.lst\` (${BLOCKED_NETS} networks: \`${readFileSync(netsFile, 'utf8').split('\n').slice(1, 4).join('`, `')}\`, ...)`;

  const idle = await bench.idleCheck();
  const names = ['origin', 'echo', ...TARGETS.flatMap((t) => VARIANTS.map((v) => `${t}-${v}`))];
  const picked = await pickPorts(PORT_BASE, names.length);
  const ports = Object.fromEntries(names.map((n, i) => [n, picked[i]]));
  console.log(`  ports: ${names.map((n) => `${n} ${ports[n]}`).join(', ')}; temp dir ${DIR}`);

  const defs = proxyDefs(SWITCHYARD_BIN);
  checkConfigs(defs, lines.rules);
  await checkHeaders(defs, ports, lines);

  const nginx = await bench.startOrigin('nginx origin', ports.origin);
  const originPid = nginx.proc.pid;
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const target of TARGETS) {
        if (target === 'switchyard') switchyardVersion = bench.recheckSwitchyard() ?? switchyardVersion;
        for (const variant of VARIANTS) {
          await runOne(defs[target], target, variant, round, ports[`${target}-${variant}`], ports.origin, originPid, lines[variant]);
        }
      }
    }
  } finally {
    await stopProc(nginx.proc);
  }

  const meta = bench.reportMeta('rules', when, bench.versionList(switchyardVersion), idle, { loadStart, loadEnd: loadavg() });
  const { text, md } = buildReport(meta, files);
  console.log(text);
  console.log(`\nload average at start: ${loadStart}, at end: ${loadavg()}`);
  console.log(`Markdown report: ${bench.writeReport('rules-', when, md)}`);
}

runMain(main);
