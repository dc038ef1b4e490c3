#!/usr/bin/env node
// Micro-benchmark of the load balancer's pick() (packages/core/src/backend/):
// every `balance` algorithm over 10 and 1,000 servers (weights 1..4, loads
// 1..50: no idle server, so leastconn scans them all), the hash-based ones with 1,024
// distinct parsed requests in turn. Prints ns per pick, then the cost of a
// rebuild (a server's state or weight changed) for the table-based ones.
// Usage: pnpm -s build && node bench/lb-pick.mjs [picks per round=200000]
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Balancer } = require('../packages/core/dist/src/backend/balancer.js');
const { newBalanceConfig } = require('../packages/core/dist/src/backend/lb-config.js');
const { parseBalance, parseHashType } = require('../packages/core/dist/src/backend/balance-keywords.js');
const { parseRequestHead } = require('../packages/core/dist/src/http/h1.js');
const N = Number(process.argv[2] ?? 200_000);

class Server {
  constructor(id, w, load) { this.cfg = { id, backup: false, weight: w }; this.w = w; this.cur = load; }
  weight() { return this.w; }
  load() { return this.cur; }
  maxconnNow() { return 0; }
}

function servers(n) {
  const out = [];
  for (let i = 0; i < n; i++) out.push(new Server(i + 1, 1 + (i % 4), 1 + ((i * 7919) % 50)));
  return out;
}

function config(balance, hashType) {
  const b = newBalanceConfig();
  const e = parseBalance(balance.split(' '), b) ?? (hashType ? parseHashType(hashType.split(' '), b) : undefined);
  if (e) throw new Error(`${balance}: ${e}`);
  return b;
}

/** 1,024 streams: parsed requests with distinct paths, users, query parameters, client addresses. */
const CTX = [];
for (let i = 0; i < 1024; i++) {
  const text = `GET /static/app/chunk-${i}.js?user=u${i}&v=3 HTTP/1.1\r\nHost: www.example${i % 7}.com\r\nUser-Agent: bench\r\nX-User: user-${i}\r\nAccept: */*\r\n\r\n`;
  const r = parseRequestHead(Buffer.from(text, 'latin1'));
  const req = r.head;
  const ip = `10.${(i >> 8) & 255}.${i & 255}.${(i * 13) & 255}`;
  CTX.push({ httpReq: req, srcIp: () => ip, reqBody: () => null, reqPayload: () => null });
}

const CASES = [
  ['roundrobin'], ['static-rr'], ['leastconn'], ['first'], ['random'], ['random(1)'],
  ['source'], ['source', 'consistent'],
  ['uri'], ['uri', 'consistent'], ['uri whole', 'map-based crc32 avalanche'],
  ['url_param user'], ['url_param user', 'consistent wt6'],
  ['hdr(x-user)'], ['hdr(x-user)', 'consistent'], ['hdr(host) use_domain_only'],
];

let sink = 0;

function time(b, hashed) {
  const run = (n) => {
    for (let i = 0; i < n; i++) sink += b.pick(hashed ? CTX[i & 1023] : null, null).cfg.id;
  };
  run(20_000); // warm-up
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const t0 = process.hrtime.bigint();
    run(N);
    const ns = Number(process.hrtime.bigint() - t0) / N;
    if (ns < best) best = ns;
  }
  return best;
}

function rebuild(b) {
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    b.update();
    const t0 = process.hrtime.bigint();
    b.members; // the rebuild happens on first use after update()
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e3);
  }
  return best;
}

const pad = (s, n) => String(s).padEnd(n);
const W = 60;
console.log(`pick(): ns per pick, best of 5 rounds of ${N} (node ${process.version})`);
console.log(`${pad('algorithm', W)}${pad('10 servers', 14)}1,000 servers`);
const rebuilds = [];
for (const [balance, hashType] of CASES) {
  const label = `balance ${balance}${hashType ? ` / hash-type ${hashType}` : ''}`;
  const hashed = !/^(roundrobin|static-rr|leastconn|first|random)/.test(balance);
  const cols = [];
  for (const n of [10, 1000]) {
    const b = new Balancer(config(balance, hashType), servers(n));
    cols.push(time(b, hashed).toFixed(0));
    if (n === 1000 && (balance === 'static-rr' || hashType || balance.startsWith('random') || balance === 'uri')) rebuilds.push([label, rebuild(b)]);
  }
  console.log(`${pad(label, W)}${pad(cols[0], 14)}${cols[1]}`);
}
console.log('\nupdate() after a state change, 1,000 servers (weights 1..4): µs');
for (const [label, us] of rebuilds) console.log(`${pad(label, W)}${us.toFixed(0)}`);
if (sink === 0.5) console.log(sink);
