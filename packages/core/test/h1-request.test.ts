/**
 * HTTP/1 request heads: every rejection class with its status and reason,
 * acceptance edges, limits, and split-invariance (byte-at-a-time and seeded
 * random splits give the one-shot result).
 *
 * Cases marked "haproxy 2.6.12:" were sent as raw bytes to the real binary
 * (`mode http` frontend, node origin echoing the forwarded head on loopback);
 * the comment gives what it answered. Where we are deliberately stricter the
 * comment says so (see the file comment of src/http/h1.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseRequestHead,
  HeadScan,
  DEFAULT_H1_LIMITS,
  type H1Limits,
  type RequestResult,
  METH_GET,
  METH_CONNECT,
  METH_OPTIONS,
  METH_OTHER,
  BODY_NONE,
  BODY_LENGTH,
  BODY_CHUNKED,
  TARGET_ABSOLUTE,
  TARGET_AUTHORITY,
  TARGET_ASTERISK,
  TARGET_ORIGIN,
} from '../src/http/h1';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

function summary(r: RequestResult): unknown {
  if (r.state === 'partial') return { state: 'partial' };
  if (r.state === 'error') return { state: 'error', status: r.status, reason: r.reason, offset: r.offset };
  const h = r.head;
  return {
    state: 'done',
    headLength: r.headLength,
    method: h.method,
    methodCode: h.methodCode,
    target: h.target,
    form: h.targetForm,
    path: h.path,
    query: h.query,
    authority: h.authority,
    version: h.version,
    bodyKind: h.bodyKind,
    contentLength: h.contentLength,
    keepAlive: h.keepAlive,
    conn: [h.connClose, h.connKeepAlive, h.connUpgrade, h.connectionTokens],
    upgrade: h.upgrade,
    expectContinue: h.expectContinue,
    headers: h.headers.toBuffer().toString('latin1'),
  };
}

function parse(s: string, limits: H1Limits = DEFAULT_H1_LIMITS): RequestResult {
  return parseRequestHead(b(s), limits);
}

/** Feed `data` in pieces ending at `cuts`, accumulating like the engine will. */
function feedSplit(data: Buffer, cuts: number[], limits: H1Limits = DEFAULT_H1_LIMITS): RequestResult {
  const scan = new HeadScan();
  let r: RequestResult = { state: 'partial' };
  for (const n of [...cuts, data.length]) {
    r = parseRequestHead(data.subarray(0, n), limits, scan);
    if (r.state !== 'partial') return r;
  }
  return r;
}

function expectError(s: string, status: number, reason: string, limits?: H1Limits): void {
  const r = parse(s, limits);
  assert.equal(r.state, 'error', `expected error for ${JSON.stringify(s)}, got ${JSON.stringify(summary(r))}`);
  if (r.state !== 'error') return;
  assert.equal(r.status, status, `status for ${JSON.stringify(s)}`);
  assert.equal(r.reason, reason, `reason for ${JSON.stringify(s)}`);
}

function done(s: string, limits?: H1Limits) {
  const r = parse(s, limits);
  assert.equal(r.state, 'done', `expected done for ${JSON.stringify(s)}, got ${JSON.stringify(summary(r))}`);
  if (r.state !== 'done') throw new Error('unreachable');
  return r;
}

const GET = 'GET / HTTP/1.1\r\nHost: a\r\n';

// ---------------------------------------------------------------- rejections
// [name, input, status, reason]
const REJECT: [string, string, number, string][] = [
  // haproxy 2.6.12: 200 (drops CL, forces close) — we reject (request smuggling).
  ['te and cl', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n', 400, 'te-and-cl'],
  ['cl after te', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n', 400, 'te-and-cl'],
  // haproxy 2.6.12: 400
  ['differing cl', GET + 'Content-Length: 3\r\nContent-Length: 4\r\n\r\n', 400, 'conflicting-content-length'],
  ['differing cl list', GET + 'Content-Length: 3, 4\r\n\r\n', 400, 'conflicting-content-length'],
  ['negative cl', GET + 'Content-Length: -3\r\n\r\n', 400, 'bad-content-length'], // haproxy 2.6.12: 400
  ['signed cl', GET + 'Content-Length: +3\r\n\r\n', 400, 'bad-content-length'], // haproxy 2.6.12: 400
  ['empty cl', GET + 'Content-Length: \r\n\r\n', 400, 'bad-content-length'], // haproxy 2.6.12: 400
  ['alpha cl', GET + 'Content-Length: 3a\r\n\r\n', 400, 'bad-content-length'], // haproxy 2.6.12: 400
  ['hex cl', GET + 'Content-Length: 0x10\r\n\r\n', 400, 'bad-content-length'],
  ['cl inner space', GET + 'Content-Length: 1 2\r\n\r\n', 400, 'bad-content-length'],
  ['cl empty element', GET + 'Content-Length: 3,,3\r\n\r\n', 400, 'bad-content-length'],
  ['cl trailing comma', GET + 'Content-Length: 3,\r\n\r\n', 400, 'bad-content-length'],
  // haproxy 2.6.12: 400 (it overflows at 2^64; we at 2^53)
  ['overflowing cl', GET + 'Content-Length: 99999999999999999999999\r\n\r\n', 400, 'bad-content-length'],
  ['cl 2^53', GET + 'Content-Length: 9007199254740992\r\n\r\n', 400, 'bad-content-length'],
  // haproxy 2.6.12: 400
  ['te gzip only', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n', 400, 'te-not-chunked'],
  ['te chunked then gzip', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n', 400, 'te-not-chunked'],
  ['te chunked then gzip in 2 fields', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n', 400, 'te-not-chunked'],
  ['te empty', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \r\n\r\n', 400, 'te-not-chunked'],
  ['te chunked twice', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n', 400, 'te-chunked-twice'],
  ['te chunked twice in 2 fields', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n', 400, 'te-chunked-twice'],
  ['te with params', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;x=1\r\n\r\n', 400, 'te-not-chunked'],
  // haproxy 2.6.12: 200 (forces close) — we reject, RFC 9112 §6.1.
  ['te on 1.0', 'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n', 400, 'te-http10'],
  // haproxy 2.6.12: 400
  ['space before colon', GET + 'X-A : b\r\n\r\n', 400, 'space-before-colon'],
  ['tab before colon', GET + 'X-A\t: b\r\n\r\n', 400, 'space-before-colon'],
  // haproxy 2.6.12: 200 (unfolds) — we reject.
  ['obs-fold', GET + 'X-A: b\r\n c\r\n\r\n', 400, 'obs-fold'],
  ['obs-fold tab', GET + 'X-A: b\r\n\tc\r\n\r\n', 400, 'obs-fold'],
  ['space before first field', 'GET / HTTP/1.1\r\n Host: a\r\n\r\n', 400, 'obs-fold'],
  ['empty name', GET + ': c\r\n\r\n', 400, 'empty-header-name'], // haproxy 2.6.12: 400
  ['no colon', GET + 'XA\r\n\r\n', 400, 'missing-colon'], // haproxy 2.6.12: 400
  ['no colon with value', GET + 'XA b\r\n\r\n', 400, 'space-before-colon'],
  ['ctl in name', GET + 'X\x01A: b\r\n\r\n', 400, 'bad-header-name'], // haproxy 2.6.12: 400
  ['nul in name', GET + 'X\x00A: b\r\n\r\n', 400, 'bad-header-name'],
  ['separator in name', GET + 'X(A): b\r\n\r\n', 400, 'bad-header-name'],
  ['non-ascii in name', GET + 'X\xe9: b\r\n\r\n', 400, 'bad-header-name'],
  // haproxy 2.6.12: 200 (forwards them) — we reject.
  ['nul in value', GET + 'X-A: b\x00c\r\n\r\n', 400, 'bad-header-value'],
  ['ctl in value', GET + 'X-A: b\x01c\r\n\r\n', 400, 'bad-header-value'],
  ['esc in value', GET + 'X-A: b\x1bc\r\n\r\n', 400, 'bad-header-value'],
  ['del in value', GET + 'X-A: b\x7fc\r\n\r\n', 400, 'bad-header-value'],
  ['bare cr in value', GET + 'X-A: b\rc\r\n\r\n', 400, 'bare-cr'],
  ['bare cr after request line', 'GET / HTTP/1.1\rHost: a\r\n\r\n', 400, 'bare-cr'], // haproxy 2.6.12: 400
  ['bare cr as final line', GET + '\rX\r\n\r\n', 400, 'bare-cr'],
  // methods; haproxy 2.6.12: 400
  ['bad method char', 'G(T / HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'bad-method'],
  ['method with slash', 'GE/T / HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'bad-method'],
  ['empty method', ' / HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'bad-request-line'],
  ['non-ascii method', 'G\xc9T / HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'bad-method'],
  ['method only', 'GET\r\nHost: a\r\n\r\n', 400, 'bad-request-line'],
  // request-target; haproxy 2.6.12: 400 for each
  ['hash in target', 'GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'bad-target'],
  ['non-ascii target', 'GET /a\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'bad-target'],
  ['ctl in target', 'GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'bad-target'],
  ['del in target', 'GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'bad-target'],
  ['nul in target', 'GET /a\x00b HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'bad-target'],
  ['space in target', 'GET /a b HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'bad-version'],
  ['asterisk with GET', 'GET * HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'bad-target'],
  ['relative target', 'GET a/b HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'bad-target'],
  ['authority-form with GET', 'GET a:80 HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'bad-target'],
  ['scheme without //', 'GET http:a/b HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'bad-target'],
  ['absolute empty authority', 'GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'bad-target'],
  ['absolute userinfo', 'GET http://u@a/x HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'bad-target'],
  ['connect origin-form', 'CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'bad-target'],
  ['connect without port', 'CONNECT a HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'bad-target'],
  ['connect empty port', 'CONNECT a: HTTP/1.1\r\nHost: a:\r\n\r\n', 400, 'bad-target'],
  ['connect alpha port', 'CONNECT a:b HTTP/1.1\r\nHost: a:b\r\n\r\n', 400, 'bad-target'],
  ['connect empty host', 'CONNECT :443 HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'bad-target'],
  // versions
  ['http/0.9 form', 'GET /\r\n\r\n', 400, 'missing-version'], // haproxy 2.6.12: 400
  ['garbage version', 'GET / FOO/1.1\r\nHost: a\r\n\r\n', 400, 'bad-version'], // haproxy 2.6.12: 400
  ['lower-case version', 'GET / http/1.1\r\nHost: a\r\n\r\n', 400, 'bad-version'], // haproxy 2.6.12: 400
  ['version 1.10', 'GET / HTTP/1.10\r\nHost: a\r\n\r\n', 400, 'bad-version'], // haproxy 2.6.12: 400
  ['version 1', 'GET / HTTP/1\r\nHost: a\r\n\r\n', 400, 'bad-version'],
  ['trailing space after version', 'GET / HTTP/1.1 \r\nHost: a\r\n\r\n', 400, 'bad-version'], // haproxy 2.6.12: 400
  ['tls hello', '\x16\x03\x01\x00\x00\r\n\r\n', 400, 'bad-method'], // haproxy 2.6.12: 400
  // haproxy 2.6.12: 200 (forwarded as HTTP/1.1 / 0.9) — we answer 505.
  ['http/2.0', 'GET / HTTP/2.0\r\nHost: a\r\n\r\n', 505, 'unsupported-version'],
  ['http/1.2', 'GET / HTTP/1.2\r\nHost: a\r\n\r\n', 505, 'unsupported-version'],
  ['http/0.9', 'GET / HTTP/0.9\r\nHost: a\r\n\r\n', 505, 'unsupported-version'],
  // Host; haproxy 2.6.12: 200 without Host, 400 for differing, 200 (merged) for equal.
  ['missing host', 'GET / HTTP/1.1\r\n\r\n', 400, 'missing-host'],
  ['missing host absolute-form', 'GET http://b/x HTTP/1.1\r\n\r\n', 400, 'missing-host'],
  ['two hosts', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400, 'duplicate-host'],
  ['two equal hosts', 'GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n', 400, 'duplicate-host'],
  ['absolute-form host mismatch', 'GET http://b/x HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'host-mismatch'], // haproxy 2.6.12: 400
  ['absolute-form port mismatch', 'GET http://a:8080/x HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'host-mismatch'],
  ['https default port is not 80', 'GET https://a:80/x HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'host-mismatch'],
  ['connect host mismatch', 'CONNECT a:443 HTTP/1.1\r\nHost: b:443\r\n\r\n', 400, 'host-mismatch'],
  // haproxy 2.6.12: 413
  ['http/1.0 GET with body', 'GET / HTTP/1.0\r\nContent-Length: 3\r\n\r\n', 413, 'http10-body-forbidden'],
  ['http/1.0 HEAD with body', 'HEAD / HTTP/1.0\r\nContent-Length: 1\r\n\r\n', 413, 'http10-body-forbidden'],
];

for (const [name, input, status, reason] of REJECT) {
  test(`request rejected: ${name} → ${status} ${reason}`, () => expectError(input, status, reason));
}

// ---------------------------------------------------------------- acceptance
test('typical browser GET', () => {
  const r = done(
    'GET /index.html?q=1&r=%20 HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: Mozilla/5.0\r\nAccept: */*\r\nAccept-Encoding: gzip, deflate\r\nCookie: a=b; c=d\r\n\r\n',
  );
  const h = r.head;
  assert.equal(h.method, 'GET');
  assert.equal(h.methodCode, METH_GET);
  assert.equal(h.targetForm, TARGET_ORIGIN);
  assert.equal(h.path, '/index.html');
  assert.equal(h.query, 'q=1&r=%20');
  assert.equal(h.pathAndQuery, '/index.html?q=1&r=%20');
  assert.equal(h.authority, 'www.example.com');
  assert.equal(h.version, 11);
  assert.equal(h.keepAlive, true);
  assert.equal(h.bodyKind, BODY_NONE);
  assert.equal(h.contentLength, -1);
  assert.equal(h.headers.count, 5);
  assert.equal(h.headers.get('cookie'), 'a=b; c=d');
  assert.equal(r.headLength, b(
    'GET /index.html?q=1&r=%20 HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: Mozilla/5.0\r\nAccept: */*\r\nAccept-Encoding: gzip, deflate\r\nCookie: a=b; c=d\r\n\r\n',
  ).length);
});

test('headLength stops at the empty line; body bytes are not consumed', () => {
  const r = done('POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello');
  assert.equal(r.headLength, 'POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n'.length);
  assert.equal(r.head.bodyKind, BODY_LENGTH);
  assert.equal(r.head.contentLength, 5);
});

test('tabs and spaces in values are kept inside, trimmed around', () => {
  const h = done(GET + 'X-A: \t a\tb  c \t\r\n\r\n').head;
  assert.equal(h.headers.get('x-a'), 'a\tb  c');
});

test('empty values', () => {
  const h = done(GET + 'X-Empty:\r\nX-Spaces:   \r\n\r\n').head;
  assert.equal(h.headers.get('x-empty'), '');
  assert.equal(h.headers.get('x-spaces'), '');
  assert.equal(h.headers.count, 3);
});

test('obs-text (latin1) in values is accepted and decoded as latin1', () => {
  // haproxy 2.6.12: 200, forwarded as is.
  const h = done(GET + 'X-A: b\xc3\xa9c\r\n\r\n').head;
  assert.equal(h.headers.get('x-a'), 'b\xc3\xa9c');
});

test('case-insensitive names for framing fields and lookups', () => {
  const h = done('POST / HTTP/1.1\r\nhOsT: a\r\ncOnTeNt-LeNgTh: 2\r\nCONNECTION: CLOSE\r\n\r\n').head;
  assert.equal(h.contentLength, 2);
  assert.equal(h.authority, 'a');
  assert.equal(h.connClose, true);
  assert.equal(h.keepAlive, false);
  assert.equal(h.headers.get('Content-Length'), '2');
  assert.equal(h.headers.get('HOST'), 'a');
});

test('Transfer-Encoding: gzip, chunked on 1.1 is accepted (haproxy 2.6.12 says 422; RFC 9112 allows it)', () => {
  const h = done('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n').head;
  assert.equal(h.bodyKind, BODY_CHUNKED);
  const h2 = done('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: CHUNKED\r\n\r\n').head;
  assert.equal(h2.bodyKind, BODY_CHUNKED);
});

test('identical duplicate Content-Length is merged (haproxy 2.6.12: 200, one field forwarded)', () => {
  const h = done('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n').head;
  assert.equal(h.contentLength, 3);
  assert.deepEqual(h.headers.getAll('content-length'), ['3']);
  // haproxy 2.6.12 forwards "3, 3" as "3"
  const h2 = done('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3 , 3\r\n\r\n').head;
  assert.deepEqual(h2.headers.getAll('content-length'), ['3']);
  assert.equal(h2.headers.toBuffer().toString(), 'Host: a\r\nContent-Length: 3\r\n');
});

test('Content-Length with leading zeros and 0', () => {
  assert.equal(done('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 007\r\n\r\n').head.contentLength, 7);
  const h = done('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n').head;
  assert.equal(h.contentLength, 0);
  assert.equal(h.bodyKind, BODY_NONE);
  assert.equal(done(GET + 'Content-Length: 9007199254740991\r\n\r\n').head.contentLength, 9007199254740991);
});

test('absolute-form agreeing with Host is normalised to authority + origin path', () => {
  // haproxy 2.6.12: 200
  const h = done('GET http://A/x?y HTTP/1.1\r\nHost: a\r\n\r\n').head;
  assert.equal(h.targetForm, TARGET_ABSOLUTE);
  assert.equal(h.scheme, 'http');
  assert.equal(h.authority, 'A');
  assert.equal(h.path, '/x');
  assert.equal(h.query, 'y');
  assert.equal(h.target, 'http://A/x?y');
  // haproxy 2.6.12: 200 and rewrites the URI to http://a/x (default port dropped)
  const h2 = done('GET http://a:80/x HTTP/1.1\r\nHost: a\r\n\r\n').head;
  assert.equal(h2.authority, 'a');
  assert.equal(done('GET https://a:443/x HTTP/1.1\r\nHost: a\r\n\r\n').head.authority, 'a');
  assert.equal(done('GET http://a/x HTTP/1.1\r\nHost: a:80\r\n\r\n').head.authority, 'a');
  assert.equal(done('GET http://a:8080/x HTTP/1.1\r\nHost: A:8080\r\n\r\n').head.authority, 'a:8080');
  // haproxy 2.6.12: 200; empty path means "/"
  const h3 = done('GET http://a HTTP/1.1\r\nHost: a\r\n\r\n').head;
  assert.equal(h3.path, '/');
  assert.equal(h3.query, null);
  assert.equal(done('GET http://a?q HTTP/1.1\r\nHost: a\r\n\r\n').head.query, 'q');
});

test('absolute-form on HTTP/1.0 without Host exposes the target authority', () => {
  const h = done('GET http://b/x HTTP/1.0\r\n\r\n').head;
  assert.equal(h.authority, 'b');
  assert.equal(h.keepAlive, false);
});

test('OPTIONS * (asterisk-form)', () => {
  // haproxy 2.6.12: 200
  const h = done('OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n').head;
  assert.equal(h.methodCode, METH_OPTIONS);
  assert.equal(h.targetForm, TARGET_ASTERISK);
  assert.equal(h.path, '*');
});

test('CONNECT host:port (authority-form)', () => {
  // haproxy 2.6.12: 200
  const h = done('CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n').head;
  assert.equal(h.methodCode, METH_CONNECT);
  assert.equal(h.targetForm, TARGET_AUTHORITY);
  assert.equal(h.authority, 'a:443');
  assert.equal(h.path, '');
  assert.equal(done('CONNECT [::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\n\r\n').head.authority, '[::1]:8443');
});

test('unknown and lower-case methods are tokens (haproxy 2.6.12: 200)', () => {
  const h = done('FOO / HTTP/1.1\r\nHost: a\r\n\r\n').head;
  assert.equal(h.method, 'FOO');
  assert.equal(h.methodCode, METH_OTHER);
  assert.equal(done('get / HTTP/1.1\r\nHost: a\r\n\r\n').head.methodCode, METH_OTHER);
  assert.equal(done('M-SEARCH / HTTP/1.1\r\nHost: a\r\n\r\n').head.method, 'M-SEARCH');
  for (const m of ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'TRACE', 'PATCH']) {
    const hh = done(`${m} / HTTP/1.1\r\nHost: a\r\n\r\n`).head;
    assert.equal(hh.method, m);
    assert.notEqual(hh.methodCode, METH_OTHER);
  }
});

test('LF-only line endings are accepted (haproxy 2.6.12: 200)', () => {
  const r = done('GET / HTTP/1.1\nHost: a\nX: y\n\nBODY');
  assert.equal(r.headLength, 'GET / HTTP/1.1\nHost: a\nX: y\n\n'.length);
  assert.equal(r.head.headers.get('x'), 'y');
  assert.equal(done('GET / HTTP/1.1\r\nHost: a\n\r\n').headLength, 26);
});

test('leading empty lines are skipped (haproxy 2.6.12: 200)', () => {
  const r = done('\r\n\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.equal(r.headLength, 5 + GET.length + 2);
  assert.equal(r.head.path, '/');
});

test('several spaces or tabs between request-line words (haproxy 2.6.12: 200)', () => {
  assert.equal(done('GET  /x \tHTTP/1.1\r\nHost: a\r\n\r\n').head.path, '/x');
});

test('keep-alive defaults and Connection tokens', () => {
  assert.equal(done(GET + '\r\n').head.keepAlive, true);
  assert.equal(done('GET / HTTP/1.0\r\n\r\n').head.keepAlive, false);
  assert.equal(done('GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n').head.keepAlive, true);
  assert.equal(done('GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n').head.keepAlive, false);
  const h = done(GET + 'Connection: close, X-Hop ,, te\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n').head;
  assert.equal(h.keepAlive, false);
  assert.equal(h.connUpgrade, true);
  assert.deepEqual(h.connectionTokens, ['x-hop', 'te']);
  assert.equal(h.upgrade, 'websocket');
  const h2 = done(GET + 'Upgrade: h2c\r\n\r\n').head;
  assert.equal(h2.upgrade, 'h2c');
  assert.equal(h2.connUpgrade, false);
  assert.equal(h2.connectionTokens, null);
});

test('Expect: 100-continue on 1.1 only', () => {
  assert.equal(done(GET + 'Expect: 100-Continue\r\nContent-Length: 3\r\n\r\n').head.expectContinue, true);
  assert.equal(done(GET + 'Expect: 200-ok\r\n\r\n').head.expectContinue, false);
  assert.equal(done('POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n').head.expectContinue, false);
});

test('empty Host value is allowed (haproxy 2.6.12: 200)', () => {
  assert.equal(done('GET / HTTP/1.1\r\nHost:\r\n\r\n').head.authority, '');
});

test('chunked request', () => {
  const h = done('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n').head;
  assert.equal(h.bodyKind, BODY_CHUNKED);
  assert.equal(h.contentLength, -1);
});

test('header values keep original bytes when serialised untouched', () => {
  const h = done(GET + 'X-A:   v  \r\nx-b:w\r\n\r\n').head;
  assert.equal(h.headers.toBuffer().toString(), 'Host: a\r\nX-A: v\r\nx-b: w\r\n');
});

// ---------------------------------------------------------------- partial
test('incomplete heads are partial', () => {
  for (const s of ['', 'G', 'GET', 'GET /', 'GET / HTTP/1.1', 'GET / HTTP/1.1\r', GET, GET + '\r', GET + 'X-A: b', '\r\n', '\r']) {
    assert.equal(parse(s).state, 'partial', JSON.stringify(s));
  }
});

// ---------------------------------------------------------------- limits
function sized(n: number): string {
  // total head length exactly n bytes
  const base = 'GET / HTTP/1.1\r\nHost: a\r\nX: \r\n\r\n';
  return 'GET / HTTP/1.1\r\nHost: a\r\nX: ' + 'a'.repeat(n - base.length) + '\r\n\r\n';
}

test('head of exactly maxHeadSize is accepted, one more byte is 400', () => {
  // haproxy 2.6.12 (bufsize 16384, maxrewrite 1024): 15273 bytes pass, 15274 → 400 Bad request.
  assert.equal(done(sized(16384)).headLength, 16384);
  expectError(sized(16385), 400, 'head-too-large');
  const limits = { maxHeadSize: 200, maxHeaders: 101 };
  assert.equal(done(sized(200), limits).headLength, 200);
  expectError(sized(201), 400, 'head-too-large', limits);
  // incomplete but already over the limit
  expectError('GET /' + 'a'.repeat(300), 400, 'head-too-large', limits);
});

test('a too-long request line is 400, not 414 (haproxy 2.6.12: 400)', () => {
  expectError('GET /' + 'a'.repeat(20000) + ' HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'head-too-large');
});

test('an error on a complete line wins over too-large; one on the unterminated last line waits', () => {
  const limits = { maxHeadSize: 100, maxHeaders: 101 };
  expectError('GET / HTTP/1.1\r\nX : y\r\n' + 'a'.repeat(300), 400, 'space-before-colon', limits);
  expectError('GET / HTTP/1.1\r\nX : y' + 'a'.repeat(300), 400, 'head-too-large', limits);
  assert.equal(parse('GET / HTTP/1.1\r\nX : y').state, 'partial');
  assert.equal(parse('GE(T / HTTP/1.1').state, 'partial');
});

function withFields(n: number): string {
  let s = 'GET / HTTP/1.1\r\nHost: a\r\n';
  for (let i = 1; i < n; i++) s += `X${i}: y\r\n`;
  return s + '\r\n';
}

test('tune.http.maxhdr: maxhdr − 1 fields pass, maxhdr fail (haproxy 2.6.12: 100 → 200, 101 → 400)', () => {
  assert.equal(done(withFields(100)).head.headers.count, 100);
  expectError(withFields(101), 400, 'too-many-headers');
  const limits = { maxHeadSize: 16384, maxHeaders: 5 };
  assert.equal(done(withFields(4), limits).head.headers.count, 4);
  expectError(withFields(5), 400, 'too-many-headers', limits);
});

// ---------------------------------------------------------------- split invariance
const VALID = [
  GET + '\r\n',
  'GET /index.html?q=1 HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: curl/8.0\r\nAccept: */*\r\n\r\n',
  'POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n',
  'GET http://a:80/x?y HTTP/1.1\r\nHost: a\r\n\r\n',
  'OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n',
  'CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n',
  '\r\n\r\nGET / HTTP/1.0\r\nConnection: keep-alive, X-A\r\n\r\n',
  'GET / HTTP/1.1\nHost: a\nX:\t y \n\n',
  'GET / HTTP/1.1\r\nHost: a\n\r\n',
  GET + 'Upgrade: websocket\r\nConnection: Upgrade\r\nExpect: 100-continue\r\n\r\n',
  GET + 'X-A: \xe9\xff\r\n\r\n',
];
const INVALID = REJECT.map((r) => r[1]);

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('byte-at-a-time feeding equals one-shot, for every valid and invalid case', () => {
  for (const s of [...VALID, ...INVALID]) {
    const data = b(s);
    const one = summary(parseRequestHead(data));
    const cuts: number[] = [];
    for (let i = 0; i < data.length; i++) cuts.push(i);
    assert.deepEqual(summary(feedSplit(data, cuts)), one, JSON.stringify(s));
  }
});

test('random split points (seeded) equal one-shot, also with a small head limit', () => {
  const rand = rng(0x5eed);
  const small = { maxHeadSize: 40, maxHeaders: 4 };
  for (let round = 0; round < 40; round++) {
    for (const s of [...VALID, ...INVALID]) {
      const data = b(s);
      const cuts: number[] = [];
      for (let i = 1; i < data.length; i++) if (rand() < 0.25) cuts.push(i);
      assert.deepEqual(summary(feedSplit(data, cuts)), summary(parseRequestHead(data)), `${JSON.stringify(s)} cuts ${cuts}`);
      assert.deepEqual(
        summary(feedSplit(data, cuts, small)),
        summary(parseRequestHead(data, small)),
        `small: ${JSON.stringify(s)} cuts ${cuts}`,
      );
    }
  }
});

test('random bytes never throw and split invariance holds', () => {
  const rand = rng(42);
  const alphabet = b('GET / HTTP/1.1\r\n\r\nHost: a:Content-Length: 12\tTransfer-Encoding chunked,\x00\x7f\xe9#?*');
  for (let round = 0; round < 2000; round++) {
    const len = 1 + Math.floor(rand() * 60);
    const data = Buffer.alloc(len);
    for (let i = 0; i < len; i++) data[i] = alphabet[Math.floor(rand() * alphabet.length)];
    const cuts: number[] = [];
    for (let i = 1; i < len; i++) if (rand() < 0.3) cuts.push(i);
    assert.deepEqual(summary(feedSplit(data, cuts)), summary(parseRequestHead(data)));
  }
});

test('a pipelined second request is left untouched', () => {
  const two = GET + '\r\n' + 'GET /b HTTP/1.1\r\nHost: a\r\n\r\n';
  const r = done(two);
  assert.equal(r.headLength, GET.length + 2);
  const r2 = parseRequestHead(b(two).subarray(r.headLength));
  assert.equal(r2.state === 'done' && r2.head.path, '/b');
});
