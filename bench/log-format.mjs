// Micro-benchmark: ns per rendered log line.
//   formatTcpLog (hand-written tcplog) vs renderLogFormat(tcplog) vs a 20-variable format.
// Run: pnpm exec tsc -b && node bench/log-format.mjs
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { compileLogFormat, renderLogFormat, TCPLOG_FORMAT } = require('../packages/core/dist/src/log/log-format.js');
const { formatTcpLog } = require('../packages/core/dist/src/log/tcplog.js');

const N = 1_000_000;
const recs = [];
for (let i = 0; i < 1024; i++) {
  recs.push({
    clientIp: '10.0.' + (i & 255) + '.' + (i >> 2), clientPort: 1024 + i, acceptTime: 1_764_000_000_000 + i * 7,
    frontend: 'fe_main', backend: 'be_app', server: 'app' + (i & 7), tw: 0, tc: 1, tt: 100 + i, bytesOut: 1000 * i,
    termState: '--', actconn: 10, feconn: 9, beconn: 8, srvConn: 2, retries: 0, redispatched: false, srvQueue: 0, backendQueue: 0,
    frontendIp: '10.1.1.1', frontendPort: 443, serverIp: '10.2.0.' + (i & 7), serverPort: 8080, bytesIn: 300 + i,
  });
}
const F20 = '%ci:%cp %fi:%fp [%t] %ft %b/%s %si:%sp %Tw/%Tc/%Tt %B %U %ts %ac/%fc/%bc/%sc/%rc %sq/%bq %{+Q}ID';
const tcp = compileLogFormat(TCPLOG_FORMAT, { http: false }).fmt;
const f20 = compileLogFormat(F20, { http: false }).fmt;

function bench(name, fn) {
  let sink = 0;
  for (let i = 0; i < 100_000; i++) sink += fn(recs[i & 1023]).length; // warm-up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) sink += fn(recs[i & 1023]).length;
  const ns = Number(process.hrtime.bigint() - t0) / N;
  console.log(`${name.padEnd(34)} ${ns.toFixed(1)} ns/line  (${sink % 10})`);
}
bench('formatTcpLog', formatTcpLog);
bench('renderLogFormat(tcplog)', r => renderLogFormat(tcp, r));
bench(`renderLogFormat(${f20.codes.filter((c, i) => c > 1).length} variables)`, r => renderLogFormat(f20, r));
