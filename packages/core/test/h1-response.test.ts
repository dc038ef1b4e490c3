/**
 * HTTP/1 response heads: status line, the same field rules as requests
 * (every error is 502), limits, and RFC 9112 §6.3 body rules.
 * "haproxy 2.6.12:" cases were served by a raw origin behind the real binary;
 * the comment gives what the client got.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseResponseHead,
  HeadScan,
  DEFAULT_H1_LIMITS,
  type H1Limits,
  type ResponseResult,
  METH_GET,
  METH_HEAD,
  METH_CONNECT,
  METH_POST,
  BODY_NONE,
  BODY_LENGTH,
  BODY_CHUNKED,
  BODY_CLOSE,
  BODY_TUNNEL,
} from '../src/http/h1';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

function summary(r: ResponseResult): unknown {
  if (r.state !== 'done') return r.state === 'error' ? { ...r } : { state: 'partial' };
  const h = r.head;
  return {
    headLength: r.headLength,
    status: h.status,
    reason: h.reason,
    version: h.version,
    bodyKind: h.bodyKind,
    contentLength: h.contentLength,
    keepAlive: h.keepAlive,
    headers: h.headers.toBuffer().toString('latin1'),
  };
}

function parse(s: string, method = METH_GET, limits: H1Limits = DEFAULT_H1_LIMITS): ResponseResult {
  return parseResponseHead(b(s), method, limits);
}

function done(s: string, method = METH_GET, limits?: H1Limits) {
  const r = parse(s, method, limits);
  assert.equal(r.state, 'done', `expected done for ${JSON.stringify(s)}, got ${JSON.stringify(summary(r))}`);
  if (r.state !== 'done') throw new Error('unreachable');
  return r;
}

function expect502(s: string, reason: string, limits?: H1Limits): void {
  const r = parse(s, METH_GET, limits);
  assert.equal(r.state, 'error', `expected error for ${JSON.stringify(s)}, got ${JSON.stringify(summary(r))}`);
  if (r.state !== 'error') return;
  assert.equal(r.status, 502);
  assert.equal(r.reason, reason, JSON.stringify(s));
}

const OK = 'HTTP/1.1 200 OK\r\n';

const REJECT: [string, string, string][] = [
  // haproxy 2.6.12 forwards 2/4-digit codes, 099, 600 and "HTXP/1.1"; we are strict.
  ['2-digit status', 'HTTP/1.1 20 OK\r\n\r\n', 'bad-status'],
  ['4-digit status', 'HTTP/1.1 2000 OK\r\n\r\n', 'bad-status'],
  ['status 099', 'HTTP/1.1 099 OK\r\n\r\n', 'bad-status'],
  ['status 600', 'HTTP/1.1 600 OK\r\n\r\n', 'bad-status'],
  ['alpha status', 'HTTP/1.1 2x0 OK\r\n\r\n', 'bad-status'],
  ['missing status', 'HTTP/1.1 \r\n\r\n', 'bad-status'],
  ['garbage version', 'HTXP/1.1 200 OK\r\n\r\n', 'bad-version'],
  ['http/2.0', 'HTTP/2.0 200 OK\r\n\r\n', 'bad-version'],
  ['http/0.9', 'HTTP/0.9 200 OK\r\n\r\n', 'bad-version'],
  ['lower-case version', 'http/1.1 200 OK\r\n\r\n', 'bad-version'],
  ['no space after version', 'HTTP/1.1\r\n\r\n', 'bad-status-line'],
  ['not http at all', '<html>\r\n\r\n', 'bad-status-line'],
  ['not http at all, with a space', '<html> 200 x\r\n\r\n', 'bad-version'],
  ['ctl in reason', 'HTTP/1.1 200 O\x01K\r\n\r\n', 'bad-reason'], // haproxy 2.6.12 forwards it
  ['bare cr in status line', 'HTTP/1.1 200 OK\rX: y\r\n\r\n', 'bare-cr'],
  // fields — haproxy 2.6.12: 502 for te-and-… see h1-request.test for the request side
  ['te and cl', OK + 'Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n', 'te-and-cl'],
  ['differing cl', OK + 'Content-Length: 2\r\nContent-Length: 3\r\n\r\n', 'conflicting-content-length'], // haproxy 2.6.12: 502
  ['bad cl', OK + 'Content-Length: 2x\r\n\r\n', 'bad-content-length'],
  ['te gzip', OK + 'Transfer-Encoding: gzip\r\n\r\n', 'te-not-chunked'], // haproxy 2.6.12: 502
  ['te chunked, gzip', OK + 'Transfer-Encoding: chunked, gzip\r\n\r\n', 'te-not-chunked'], // haproxy 2.6.12: 502
  ['te chunked twice', OK + 'Transfer-Encoding: chunked, chunked\r\n\r\n', 'te-chunked-twice'],
  ['te on 1.0', 'HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', 'te-http10'],
  ['space before colon', OK + 'X : a\r\n\r\n', 'space-before-colon'], // haproxy 2.6.12: 502
  ['obs-fold', OK + 'X: a\r\n b\r\n\r\n', 'obs-fold'], // haproxy 2.6.12 unfolds
  ['empty name', OK + ': a\r\n\r\n', 'empty-header-name'],
  ['no colon', OK + 'X\r\n\r\n', 'missing-colon'],
  ['nul in value', OK + 'X: a\x00\r\n\r\n', 'bad-header-value'],
  ['bad name', OK + 'X[]: a\r\n\r\n', 'bad-header-name'],
];

for (const [name, input, reason] of REJECT) {
  test(`response rejected: ${name} → 502 ${reason}`, () => expect502(input, reason));
}

test('typical response', () => {
  const r = done('HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 12\r\nDate: x\r\n\r\nhello world!');
  const h = r.head;
  assert.equal(h.status, 200);
  assert.equal(h.reason, 'OK');
  assert.equal(h.version, 11);
  assert.equal(h.bodyKind, BODY_LENGTH);
  assert.equal(h.contentLength, 12);
  assert.equal(h.keepAlive, true);
  assert.equal(r.headLength, r.head.headers.src!.length - 12);
});

test('reason phrase may be empty, absent, or contain spaces and obs-text', () => {
  // haproxy 2.6.12 forwards "HTTP/1.1 200\r\n" (no SP) too
  assert.equal(done('HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n').head.reason, '');
  assert.equal(done('HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n').head.reason, '');
  assert.equal(done('HTTP/1.1 404 Not \tFound \xe9\r\nContent-Length: 0\r\n\r\n').head.reason, 'Not \tFound \xe9');
});

test('RFC 9112 §6.3: no body for HEAD, 1xx, 204, 304, whatever the fields', () => {
  assert.equal(done(OK + 'Content-Length: 5\r\n\r\n', METH_HEAD).head.bodyKind, BODY_NONE);
  assert.equal(done(OK + 'Transfer-Encoding: chunked\r\n\r\n', METH_HEAD).head.bodyKind, BODY_NONE);
  assert.equal(done(OK + '\r\n', METH_HEAD).head.bodyKind, BODY_NONE);
  assert.equal(done(OK + '\r\n', METH_HEAD).head.keepAlive, true);
  assert.equal(done('HTTP/1.1 100 Continue\r\n\r\n').head.bodyKind, BODY_NONE);
  assert.equal(done('HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n').head.bodyKind, BODY_NONE);
  // haproxy 2.6.12 strips the Content-Length of a 204 and sends no body
  assert.equal(done('HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n').head.bodyKind, BODY_NONE);
  assert.equal(done('HTTP/1.1 304 Not Modified\r\nContent-Length: 1234\r\n\r\n').head.bodyKind, BODY_NONE);
  assert.equal(done('HTTP/1.1 304 Not Modified\r\n\r\n').head.keepAlive, true);
});

test('101 and 2xx to CONNECT become tunnels', () => {
  assert.equal(done('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n').head.bodyKind, BODY_TUNNEL);
  assert.equal(done('HTTP/1.1 200 Connection established\r\n\r\n', METH_CONNECT).head.bodyKind, BODY_TUNNEL);
  assert.equal(done('HTTP/1.1 407 Auth\r\nContent-Length: 0\r\n\r\n', METH_CONNECT).head.bodyKind, BODY_NONE);
});

test('chunked, length and close-delimited bodies', () => {
  assert.equal(done(OK + 'Transfer-Encoding: chunked\r\n\r\n').head.bodyKind, BODY_CHUNKED);
  assert.equal(done(OK + 'Transfer-Encoding: gzip, chunked\r\n\r\n').head.bodyKind, BODY_CHUNKED);
  assert.equal(done(OK + 'Content-Length: 0\r\n\r\n', METH_POST).head.bodyKind, BODY_NONE);
  // haproxy 2.6.12 forwards it with "connection: close"
  const h = done(OK + '\r\nhello').head;
  assert.equal(h.bodyKind, BODY_CLOSE);
  assert.equal(h.keepAlive, false);
});

test('keep-alive by version and Connection', () => {
  assert.equal(done(OK + 'Content-Length: 0\r\nConnection: close\r\n\r\n').head.keepAlive, false);
  assert.equal(done('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n').head.keepAlive, false);
  assert.equal(done('HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n').head.keepAlive, true);
});

test('Host is not special in responses', () => {
  assert.equal(done(OK + 'Host: a\r\nHost: b\r\nContent-Length: 0\r\n\r\n').head.headers.count, 3);
});

test('LF-only response (haproxy 2.6.12: 200)', () => {
  const r = done('HTTP/1.1 200 OK\nContent-Length: 2\n\nhi');
  assert.equal(r.headLength, 'HTTP/1.1 200 OK\nContent-Length: 2\n\n'.length);
});

test('limits: too large or too many fields → 502 (haproxy 2.6.12: 502 for both)', () => {
  const limits = { maxHeadSize: 100, maxHeaders: 4 };
  const big = OK + 'X: ' + 'a'.repeat(100 - OK.length - 7) + '\r\n\r\n';
  assert.equal(b(big).length, 100);
  assert.equal(done(big, METH_GET, limits).headLength, 100);
  expect502(OK + 'X: ' + 'a'.repeat(100 - OK.length - 6) + '\r\n\r\n', 'head-too-large', limits);
  expect502(OK + 'X: ' + 'a'.repeat(20000) + '\r\n\r\n', 'head-too-large');
  assert.equal(done(OK + 'A: 1\r\nB: 2\r\nC: 3\r\n\r\n', METH_GET, limits).head.headers.count, 3);
  expect502(OK + 'A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n', 'too-many-headers', limits);
  // default maxhdr 101: haproxy 2.6.12 passed 100 fields and answered 502 to 101
  let s100 = OK;
  for (let i = 0; i < 100; i++) s100 += `X${i}: y\r\n`;
  assert.equal(done(s100 + '\r\n').head.headers.count, 100);
  expect502(s100 + 'Z: 1\r\n\r\n', 'too-many-headers');
});

test('byte-at-a-time equals one-shot for every case', () => {
  const all = [
    ...REJECT.map((r) => r[1]),
    OK + 'Content-Length: 2\r\n\r\nhi',
    'HTTP/1.1 200\nX: y\n\n',
    '\r\nHTTP/1.0 304 NM\r\nConnection: keep-alive, x\r\n\r\n',
    OK + 'Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
  ];
  for (const s of all) {
    const data = b(s);
    const one = summary(parseResponseHead(data, METH_GET));
    const scan = new HeadScan();
    let r: ResponseResult = { state: 'partial' };
    for (let n = 0; n <= data.length && r.state === 'partial'; n++) r = parseResponseHead(data.subarray(0, n), METH_GET, DEFAULT_H1_LIMITS, scan);
    assert.deepEqual(summary(r), one, JSON.stringify(s));
  }
});
