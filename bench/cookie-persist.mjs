#!/usr/bin/env node
// Micro-benchmark of cookie persistence (packages/core/src/http/cookie-persist.ts):
// what `cookie SRV insert indirect nocache` adds to one transaction, on a
// browser-like request (3 cookies, ours in the middle) and an app-like
// response (one Set-Cookie of its own): requestCookies + persistSelect on
// the request head, cookieResponse on the response head. Heads are parsed
// by the real parser in both loops; the parse-only loop is subtracted.
// Also the first-visit case (no cookie: a Set-Cookie is inserted) and the
// maxidle case (dated cookie refreshed). Prints ns per transaction (best of 5).
// Usage: pnpm -s build && node bench/cookie-persist.mjs [iterations=300000]
import { createRequire } from 'node:module';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const { loadConfig } = require('../packages/core/dist/src/config/load.js');
const { buildRuntime } = require('../packages/core/dist/src/engine/proxy-runtime.js');
const h1 = require('../packages/core/dist/src/http/h1.js');
const ck = require('../packages/core/dist/src/http/cookie-persist.js');
const N = Number(process.argv[2] ?? 300_000);

const dir = mkdtempSync(join(tmpdir(), 'sy-bench-cookie-'));
const cfg = join(dir, 'b.cfg');
writeFileSync(cfg, `defaults
  mode http
  timeout client 1s
  timeout server 1s
  timeout connect 1s
backend ins
  cookie SRV insert indirect nocache
  server s1 127.0.0.1:1 cookie c1
  server s2 127.0.0.1:2 cookie c2
  server s3 127.0.0.1:3 cookie c3
backend idle
  cookie SRV insert indirect maxidle 30m
  server s1 127.0.0.1:1 cookie c1
  server s2 127.0.0.1:2 cookie c2
`);
const loaded = await loadConfig([cfg], {});
rmSync(dir, { recursive: true, force: true });
const rt = buildRuntime(loaded.config, undefined);
const be = (n) => rt.find((p) => p.cfg.name === n);

const b = (s) => Buffer.from(s, 'latin1');
const reqHead = (cookie) => b(
  'GET /static/app/main.js HTTP/1.1\r\nHost: www.example.com\r\nConnection: keep-alive\r\n' +
    'User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36\r\n' +
    'Accept: */*\r\nAccept-Encoding: gzip, deflate, br\r\nAccept-Language: en-US,en;q=0.9\r\n' +
    (cookie ? `Cookie: ${cookie}\r\n` : '') + '\r\n');
const RESP = b(
  'HTTP/1.1 200 OK\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\nContent-Type: application/json; charset=utf-8\r\n' +
    'Content-Length: 2\r\nCache-Control: max-age=60\r\n' +
    'Set-Cookie: session=3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c; Path=/; HttpOnly; Secure; SameSite=Lax\r\n\r\n');

const now = Math.floor(Date.now() / 1000);
const CASES = {
  'returning client (SRV=c2, stripped, no Set-Cookie)': [be('ins'), reqHead('_ga=GA1.2.1234567890.1700000000; SRV=c2; theme=dark')],
  'first visit (no cookie: Set-Cookie + Cache-Control inserted)': [be('ins'), reqHead('_ga=GA1.2.1234567890.1700000000; theme=dark')],
  'maxidle (dated cookie refreshed)': [be('idle'), reqHead(`_ga=GA1.2.1234567890.1700000000; SRV=c2|${ck.s30tob64(ck.cookieDate(now - 600))}; theme=dark`)],
};

let sink = 0;
function run(backend, head, withCookies) {
  const host = { persist: null, fe: backend, be: backend, srv: null };
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    const r = h1.parseRequestHead(head);
    const q = r.head;
    const s = h1.parseResponseHead(RESP, q.methodCode).head;
    if (withCookies) {
      if (host.persist !== null) host.persist.reset();
      ck.requestCookies(host, backend, q);
      const srv = ck.persistSelect(host, backend) ?? backend.servers[0];
      ck.cookieResponse(host, backend, srv, q, s, s.status);
    }
    sink += q.headers.count + s.headers.count;
  }
  return Number(process.hrtime.bigint() - t0) / N;
}

for (const [name, [backend, head]] of Object.entries(CASES)) {
  // Warm up both loops, then alternate them 5 times and keep each one's best
  // (the machine is shared: the minimum is the least disturbed run).
  run(backend, head, false); run(backend, head, true);
  let base = Infinity, full = Infinity;
  for (let k = 0; k < 5; k++) {
    base = Math.min(base, run(backend, head, false));
    full = Math.min(full, run(backend, head, true));
  }
  console.log(`${name}: ${(full - base).toFixed(0)} ns per transaction (parse only ${base.toFixed(0)} ns, with cookies ${full.toFixed(0)} ns)`);
}
if (sink === 0) console.log('');
