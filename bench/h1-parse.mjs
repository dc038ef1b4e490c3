#!/usr/bin/env node
// Micro-benchmark of the HTTP/1 head parser (packages/core/src/http/h1.ts)
// against Node's own llhttp (process.binding('http_parser').HTTPParser,
// strict mode, JS callback included) on the same curl- and browser-like
// request heads and nginx-like response heads. Prints ns per head.
// Then runs every rejection class through llhttp in strict mode and lists
// the ones it accepts (why it cannot replace our parser as is).
// Usage: pnpm exec tsc -b packages/core && node bench/h1-parse.mjs [iterations=300000]
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const h1 = require('../packages/core/dist/src/http/h1.js');
process.noDeprecation = true;
const { HTTPParser } = process.binding('http_parser');
const N = Number(process.argv[2] ?? 300_000);

const b = (s) => Buffer.from(s, 'latin1');

const REQUESTS = {
  curl: b('GET /index.html HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n'),
  browser: b(
    'GET /static/app/main.3f2a1c.js?v=20240101 HTTP/1.1\r\n' +
      'Host: www.example.com\r\n' +
      'Connection: keep-alive\r\n' +
      'sec-ch-ua: "Chromium";v="122", "Not(A:Brand";v="24", "Google Chrome";v="122"\r\n' +
      'sec-ch-ua-mobile: ?0\r\n' +
      'User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36\r\n' +
      'sec-ch-ua-platform: "Linux"\r\n' +
      'Accept: */*\r\n' +
      'Sec-Fetch-Site: same-origin\r\n' +
      'Sec-Fetch-Mode: no-cors\r\n' +
      'Sec-Fetch-Dest: script\r\n' +
      'Referer: https://www.example.com/\r\n' +
      'Accept-Encoding: gzip, deflate, br\r\n' +
      'Accept-Language: en-US,en;q=0.9,fr;q=0.8\r\n' +
      'Cookie: _ga=GA1.2.1234567890.1700000000; session=3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c; theme=dark\r\n' +
      '\r\n',
  ),
};

const RESPONSES = {
  nginx: b(
    'HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\nContent-Type: text/html\r\n' +
      'Content-Length: 2\r\nLast-Modified: Mon, 01 Jan 2024 00:00:00 GMT\r\nConnection: keep-alive\r\n' +
      'ETag: "65920080-264"\r\nAccept-Ranges: bytes\r\n\r\nhi',
  ),
  app: b(
    'HTTP/1.1 200 OK\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\nContent-Type: application/json; charset=utf-8\r\n' +
      'Transfer-Encoding: chunked\r\nConnection: keep-alive\r\nVary: Accept-Encoding, Origin\r\n' +
      'Cache-Control: private, no-cache, no-store, must-revalidate\r\nX-Request-Id: 6f1c2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b\r\n' +
      'Set-Cookie: session=3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c; Path=/; HttpOnly; Secure; SameSite=Lax\r\n' +
      'Strict-Transport-Security: max-age=31536000; includeSubDomains\r\nX-Content-Type-Options: nosniff\r\n\r\n0\r\n\r\n',
  ),
};

function headLen(buf) {
  return buf.indexOf('\r\n\r\n') + 4;
}

let sink = 0;

function time(label, fn) {
  for (let i = 0; i < 20_000; i++) fn(); // warm-up
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) fn();
    const ns = Number(process.hrtime.bigint() - t0) / N;
    if (ns < best) best = ns;
  }
  return best;
}

// --- ours
function oursReq(buf, allStrings) {
  return () => {
    const r = h1.parseRequestHead(buf);
    const h = r.head;
    // what the engine reads per request: method, path, host, framing
    sink += h.methodCode + h.path.length + h.authority.length + h.bodyKind;
    if (allStrings) {
      const l = h.headers;
      for (let i = 0; i < l.count; i++) sink += l.name(i).length + l.value(i).length;
    }
  };
}

function oursRes(buf, allStrings) {
  const head = buf.subarray(0, headLen(buf));
  return () => {
    const r = h1.parseResponseHead(head, h1.METH_GET);
    const h = r.head;
    sink += h.status + h.bodyKind + h.contentLength;
    if (allStrings) {
      const l = h.headers;
      for (let i = 0; i < l.count; i++) sink += l.name(i).length + l.value(i).length;
    }
  };
}

// --- llhttp (Node's binding, as node:http drives it)
function llhttp(type, buf) {
  const p = new HTTPParser();
  p.initialize(type, {}, 0, HTTPParser.kLenientNone);
  p[HTTPParser.kOnHeaders] = (headers, url) => {
    sink += headers.length;
  };
  p[HTTPParser.kOnHeadersComplete] = (major, minor, headers, method, url, status, msg, upgrade, keepAlive) => {
    sink += headers.length + (url ? url.length : 0) + status + (keepAlive ? 1 : 0);
    return 0;
  };
  p[HTTPParser.kOnBody] = (b) => {
    sink += b.length;
  };
  p[HTTPParser.kOnMessageComplete] = () => {
    sink++;
  };
  p[HTTPParser.kOnExecute] = () => {};
  return () => {
    const r = p.execute(buf);
    if (typeof r !== 'number') throw r;
  };
}

const rows = [];
for (const [name, buf] of Object.entries(REQUESTS)) {
  rows.push([
    `request ${name} (${buf.length} B, ${buf.toString().split('\r\n').length - 3} fields)`,
    time('', oursReq(buf, false)),
    time('', oursReq(buf, true)),
    time('', llhttp(HTTPParser.REQUEST, buf)),
  ]);
}
for (const [name, buf] of Object.entries(RESPONSES)) {
  rows.push([
    `response ${name} (${headLen(buf)} B head)`,
    time('', oursRes(buf, false)),
    time('', oursRes(buf, true)),
    time('', llhttp(HTTPParser.RESPONSE, buf)),
  ]);
}

console.log(`node ${process.version}, ${N} iterations, best of 5 rounds, ns per head`);
console.log('| input | switchyard h1 (lazy strings) | switchyard h1 (all names+values decoded) | llhttp + JS callbacks |');
console.log('|---|---:|---:|---:|');
for (const [label, a, c, l] of rows) console.log(`| ${label} | ${a.toFixed(0)} | ${c.toFixed(0)} | ${l.toFixed(0)} |`);

// --- strictness of llhttp with kLenientNone on our rejection classes
const REJECT = {
  'te + cl': 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
  'differing cl': 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd',
  'identical duplicate cl (we accept)': 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc',
  'signed cl': 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc',
  'te gzip (not final chunked)': 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n',
  'te chunked twice': 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n',
  'te on http/1.0': 'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
  'space before colon': 'GET / HTTP/1.1\r\nHost : a\r\n\r\n',
  'obs-fold': 'GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n',
  'empty header name': 'GET / HTTP/1.1\r\nHost: a\r\n: c\r\n\r\n',
  'nul in value': 'GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x00c\r\n\r\n',
  'ctl in value': 'GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x01c\r\n\r\n',
  'del in value': 'GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x7fc\r\n\r\n',
  'bad method': 'G(T / HTTP/1.1\r\nHost: a\r\n\r\n',
  'unknown method (we accept)': 'FOO / HTTP/1.1\r\nHost: a\r\n\r\n',
  '# in target': 'GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n',
  'non-ascii target': 'GET /a\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n',
  'HTTP/2.0': 'GET / HTTP/2.0\r\nHost: a\r\n\r\n',
  'HTTP/1.2': 'GET / HTTP/1.2\r\nHost: a\r\n\r\n',
  'missing host on 1.1': 'GET / HTTP/1.1\r\n\r\n',
  'two hosts': 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n',
  'absolute-form authority != host': 'GET http://b/x HTTP/1.1\r\nHost: a\r\n\r\n',
  'bare LF lines (we accept, as haproxy)': 'GET / HTTP/1.1\nHost: a\n\n',
  'bare CR': 'GET / HTTP/1.1\rHost: a\r\n\r\n',
  'no colon': 'GET / HTTP/1.1\r\nHost: a\r\nXA\r\n\r\n',
  'bad chunk size': 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n',
  'chunk size overflow': 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\nabc\r\n0\r\n\r\n',
  'missing CRLF after chunk': 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n',
  'bad chunk extension': 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;a b\r\nabc\r\n0\r\n\r\n',
  'GET with body on 1.0': 'GET / HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc',
};

function llhttpVerdict(s) {
  const p = new HTTPParser();
  p.initialize(HTTPParser.REQUEST, {}, 0, HTTPParser.kLenientNone);
  p[HTTPParser.kOnHeaders] = () => {};
  p[HTTPParser.kOnHeadersComplete] = () => 0;
  p[HTTPParser.kOnBody] = () => {};
  p[HTTPParser.kOnMessageComplete] = () => {};
  p[HTTPParser.kOnExecute] = () => {};
  const r = p.execute(b(s));
  if (typeof r !== 'number') return `rejects (${r.code})`;
  const f = p.finish();
  if (f && typeof f !== 'number') return `rejects at end (${f.code})`;
  return 'ACCEPTS';
}

function oursVerdict(s) {
  const r = h1.parseRequestHead(b(s));
  if (r.state === 'error') return `${r.status} ${r.reason}`;
  if (r.state === 'partial') return 'partial';
  if (r.head.bodyKind === h1.BODY_CHUNKED) {
    const { ChunkedDecoder } = require('../packages/core/dist/src/http/chunked.js');
    const d = new ChunkedDecoder();
    const buf = b(s);
    if (d.feed(buf, r.headLength, buf.length) < 0) return `${d.status} ${d.reason}`;
  }
  return 'accepts';
}

console.log('\nllhttp (kLenientNone) vs switchyard on each rejection class');
console.log('| case | llhttp | switchyard |');
console.log('|---|---|---|');
for (const [name, s] of Object.entries(REJECT)) console.log(`| ${name} | ${llhttpVerdict(s)} | ${oursVerdict(s)} |`);
if (sink === 42) console.log('');
