#!/usr/bin/env node
// Micro-benchmark of the TLS ClientHello parser (packages/core/src/tls/client-hello.ts)
// on typical hellos: Node 20's tls.connect (SNI + h2,http/1.1, 385 bytes),
// openssl s_client -tls1_3 (267 bytes), and a Chrome-sized hello padded to
// 1,800 bytes (post-quantum key share). Also the cheap HAProxy kernels
// (req.ssl_hello_type, req.ssl_ver), looksLikeTls, and a re-run on a
// half-received hello (what each extra TCP read costs). Prints ns per call.
// Usage: pnpm -s build && node bench/client-hello.mjs [iterations=1000000]
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const ch = require('../packages/core/dist/src/tls/client-hello.js');
const N = Number(process.argv[2] ?? 1_000_000);

const hx = (s) => Buffer.from(s, 'hex');
const NODE = hx('160301017c010001780303e618918c9c49e1fe7abec35cf13a5dd3dfc14b61292dc19bcbd4bcd79b60dd2720da7c4f3456fb5adb158ccf051884f665fabd345047576115ed2b36cec1d1de750076130213031301c02fc02bc030c02c009ec0270067c028006b00a3009fcca9cca8ccaac0afc0adc0a3c09fc05dc061c057c05300a2c0aec0acc0a2c09ec05cc060c056c052c024006ac0230040c00ac01400390038c009c01300330032009dc0a1c09dc051009cc0a0c09cc050003d003c0035002f00ff010000b90000000e000c000009612e6578616d706c65000b000403000102000a00160014001d0017001e0019001801000101010201030104002300000010000e000c02683208687474702f312e310016000000170000000d002a0028040305030603080708080809080a080b080408050806040105010601030303010302040205020602002b00050403040303002d00020101003300260024001d0020adba0e59d90c7294ccbef0c43fdf90d5481f2c1069d72fb7815485efefae601b');
const OPENSSL = hx('1603010106010001020303a9985c303eda16dfa904c90121d9d5214eff6c1d599e4c15db019de9952739f6200168e698180bae5496351b8fc99f698e69a7fff7ef2808738adfd355b83336e2000813021303130100ff010000b100000014001200000f7777772e6578616d706c652e6f7267000b000403000102000a00160014001d0017001e0019001801000101010201030104002300000010000e000c02683208687474702f312e310016000000170000000d001e001c040305030603080708080809080a080b080408050806040105010601002b0003020304002d00020101003300260024001d00206ebcf559ce4b4863ff94dbabfdf729fede5cae8c7c4450d3618b1c4d2b9f2d29');

/** NODE with a padding extension (21) so the record is `total` bytes. */
function padded(total) {
  const extra = total - NODE.length - 4;
  const b = Buffer.concat([NODE, Buffer.from([0, 21, extra >> 8, extra & 255]), Buffer.alloc(extra)]);
  b.writeUInt16BE(b.length - 5, 3);
  b.writeUIntBE(b.length - 9, 6, 3);
  const extOff = 9 + 2 + 32 + 1 + 32 + 2 + 0x76 + 2;
  b.writeUInt16BE(b.length - extOff - 2, extOff);
  return b;
}
const BIG = padded(1800);
for (const [name, b] of [['node', NODE], ['openssl', OPENSSL], ['1800 B', BIG]]) {
  const r = ch.parseClientHello(b);
  if (r.status !== 'ok') throw new Error(`${name}: ${JSON.stringify(r)}`);
}

let sink = 0;
function bench(name, fn) {
  for (let i = 0; i < Math.min(N, 100_000); i++) fn(); // warm-up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) fn();
  const ns = Number(process.hrtime.bigint() - t0) / N;
  console.log(`${name.padEnd(44)} ${ns.toFixed(1).padStart(7)} ns`);
}

console.log(`node ${process.version}, ${N} iterations`);
bench('parseClientHello node 385 B (sni+alpn)', () => { const r = ch.parseClientHello(NODE); sink += r.length; });
bench('parseClientHello openssl 267 B', () => { const r = ch.parseClientHello(OPENSSL); sink += r.length; });
bench('parseClientHello 1800 B', () => { const r = ch.parseClientHello(BIG); sink += r.length; });
const HALF = NODE.subarray(0, 200);
bench('parseClientHello half a hello (need-more)', () => { const r = ch.parseClientHello(HALF); sink += r.needed; });
bench('sslHelloType (req.ssl_hello_type)', () => { sink += ch.sslHelloType(NODE); });
bench('reqSslVer (req.ssl_ver)', () => { sink += ch.reqSslVer(NODE); });
bench('looksLikeTls', () => { sink += ch.looksLikeTls(NODE); });
if (sink === 42) console.log('');
