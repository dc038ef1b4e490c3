/**
 * Chunked framing validator: sizes, extensions, trailers, errors, and the
 * same result whatever the split. "haproxy 2.6.12:" = sent through the real
 * binary as a request body; the comment gives its answer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChunkedDecoder, type ChunkedLimits, DEFAULT_CHUNKED_LIMITS } from '../src/http/chunked';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

interface Outcome {
  end: number; // offset after the body, -1 error, -2 incomplete
  status: number;
  reason: string;
  data: string;
  trailers: [string, string][] | null;
}

/** Feed `s` split at `cuts`; data ranges are collected across feeds. */
function run(s: string | Buffer, cuts: number[] = [], isResponse = false, limits: ChunkedLimits = DEFAULT_CHUNKED_LIMITS): Outcome {
  const data = typeof s === 'string' ? b(s) : s;
  const d = new ChunkedDecoder(isResponse, limits);
  let body = '';
  let prev = 0;
  for (const n of [...cuts, data.length]) {
    // each piece in its own buffer, as reads arrive
    const piece = Buffer.from(data.subarray(prev, n));
    const r = d.feed(piece, 0, piece.length);
    for (let i = 0; i < d.dataCount; i++) body += piece.toString('latin1', d.dataStarts[i], d.dataEnds[i]);
    if (r < 0) return { end: -1, status: d.status, reason: d.reason, data: body, trailers: null };
    if (d.done) {
      const t = d.trailers;
      const list: [string, string][] | null = t === null ? null : [];
      if (t !== null) for (let i = 0; i < t.count; i++) list!.push([t.name(i), t.value(i)]);
      return { end: prev + r, status: 0, reason: '', data: body, trailers: list };
    }
    assert.equal(r, piece.length);
    prev = n;
  }
  return { end: -2, status: 0, reason: '', data: body, trailers: null };
}

function ok(s: string, data: string, end = b(s).length) {
  const o = run(s);
  assert.equal(o.reason, '', JSON.stringify(s));
  assert.equal(o.end, end, JSON.stringify(s));
  assert.equal(o.data, data);
  return o;
}

function bad(s: string, reason: string, isResponse = false) {
  const o = run(s, [], isResponse);
  assert.equal(o.end, -1, `expected error for ${JSON.stringify(s)}`);
  assert.equal(o.reason, reason, JSON.stringify(s));
  assert.equal(o.status, isResponse ? 502 : 400);
}

test('simple body, end offset leaves the next message alone', () => {
  const s = '5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n';
  const o = run(s + 'GET / HTTP/1.1\r\n');
  assert.equal(o.end, b(s).length);
  assert.equal(o.data, 'hello world');
  assert.equal(o.trailers, null);
});

test('hex sizes: upper, lower, leading zeros', () => {
  ok('A\r\n0123456789\r\n0\r\n\r\n', '0123456789');
  ok('a\r\n0123456789\r\n0\r\n\r\n', '0123456789');
  ok('0000000000000000000000000003\r\nabc\r\n000\r\n\r\n', 'abc');
  ok('1F\r\n' + 'x'.repeat(31) + '\r\n0\r\n\r\n', 'x'.repeat(31));
});

test('extensions (haproxy 2.6.12: 200), validated against the grammar', () => {
  ok('3;foo=bar\r\nabc\r\n0;last\r\n\r\n', 'abc');
  ok('3 ; a = b ; c ; d="q \\" ;x"\r\nabc\r\n0\r\n\r\n', 'abc');
  ok('3 \r\nabc\r\n0\t\r\n\r\n', 'abc'); // haproxy skips SP/HTAB after the size
  bad('3;\r\nabc\r\n0\r\n\r\n', 'bad-chunk-extension');
  bad('3;=b\r\nabc\r\n0\r\n\r\n', 'bad-chunk-extension');
  bad('3;a=\r\nabc\r\n0\r\n\r\n', 'bad-chunk-extension');
  bad('3;a b\r\nabc\r\n0\r\n\r\n', 'bad-chunk-extension');
  bad('3;a="x\r\nabc\r\n0\r\n\r\n', 'bad-chunk-extension');
  bad('3;a="x\x01"\r\nabc\r\n0\r\n\r\n', 'bad-chunk-extension');
  bad('3;a\x00\r\nabc\r\n0\r\n\r\n', 'bad-chunk-extension');
  bad('3;a=b=c\r\nabc\r\n0\r\n\r\n', 'bad-chunk-extension');
});

test('bad sizes (haproxy 2.6.12: 400)', () => {
  bad('zz\r\nabc\r\n0\r\n\r\n', 'bad-chunk-size');
  bad('\r\nabc\r\n0\r\n\r\n', 'bad-chunk-size');
  bad('-3\r\nabc\r\n0\r\n\r\n', 'bad-chunk-size');
  bad('0x3\r\nabc\r\n0\r\n\r\n', 'bad-chunk-size');
  bad(' 3\r\nabc\r\n0\r\n\r\n', 'bad-chunk-size');
  bad('3 4\r\nabc\r\n0\r\n\r\n', 'bad-chunk-size');
  bad('zz\r\n', 'bad-chunk-size', true);
});

test('overflowing sizes: ≥ 2^52 rejected like haproxy, 2^52 − 1 accepted', () => {
  bad('fffffffffffffffffff\r\nabc\r\n', 'chunk-size-overflow'); // haproxy 2.6.12: 400
  bad('10000000000000\r\n', 'chunk-size-overflow');
  const o = run('fffffffffffff\r\nabc');
  assert.equal(o.end, -2);
  assert.equal(o.data, 'abc');
});

test('very long size lines are cut off', () => {
  const limits = { ...DEFAULT_CHUNKED_LIMITS, maxLineLength: 32 };
  const long = '3;' + 'a'.repeat(40) + '\r\nabc\r\n0\r\n\r\n';
  assert.equal(run(long, [], false, limits).reason, 'chunk-line-too-long');
  assert.equal(run('0'.repeat(40) + '3\r\nabc\r\n0\r\n\r\n', [], false, limits).reason, 'chunk-line-too-long');
  const fits = '3;' + 'a'.repeat(28) + '\r\nabc\r\n0\r\n\r\n'; // 32 bytes with CRLF
  assert.equal(run(fits, [], false, limits).data, 'abc');
  assert.equal(run(long).data, 'abc');
});

test('missing CRLF after data (haproxy 2.6.12: 400)', () => {
  bad('3\r\nabcX\r\n0\r\n\r\n', 'chunk-missing-crlf');
  bad('3\r\nabc\rX0\r\n\r\n', 'chunk-missing-crlf');
  bad('3\r\nab\r\r\r\n0\r\n\r\n', 'chunk-missing-crlf');
  // LF-only tolerance: "ab\r" is the data, "\n" ends it
  ok('3\r\nab\r\n0\r\n\r\n', 'ab\r');
});

test('bare CR in size line or final line', () => {
  bad('3\rabc\r\n0\r\n\r\n', 'bare-cr');
  bad('3\r\nabc\r\n0\r\n\rX', 'bare-cr');
});

test('LF-only framing is accepted (haproxy 2.6.12: 200)', () => {
  ok('3\nabc\n0\n\n', 'abc');
  ok('3\r\nabc\n0\nX: y\n\n', 'abc');
});

test('trailers are parsed with the field rules', () => {
  const o = ok('3\r\nabc\r\n0\r\nX-Sum: 12\r\nX-Other:\tv \r\n\r\n', 'abc');
  assert.deepEqual(o.trailers, [['X-Sum', '12'], ['X-Other', 'v']]);
  bad('0\r\nX : y\r\n\r\n', 'bad-trailer:space-before-colon');
  bad('0\r\nX: a\r\n b\r\n\r\n', 'bad-trailer:obs-fold');
  bad('0\r\nX: a\x00\r\n\r\n', 'bad-trailer:bad-header-value');
  bad('0\r\nX: a\rb\r\n\r\n', 'bad-trailer:bare-cr');
  bad('0\r\nno-colon\r\n\r\n', 'bad-trailer:missing-colon');
});

test('trailer size and count limits', () => {
  const limits = { maxLineLength: 4096, maxTrailerSize: 20, maxHeaders: 3 };
  assert.equal(run('0\r\nX: ' + 'a'.repeat(30) + '\r\n\r\n', [], false, limits).reason, 'trailers-too-large');
  assert.equal(run('0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n', [], false, { ...limits, maxTrailerSize: 100 }).reason, 'bad-trailer:too-many-headers');
  assert.equal(run('0\r\nA: 1\r\nB: 2\r\n\r\n', [], false, { ...limits, maxTrailerSize: 100 }).trailers!.length, 2);
});

test('feeding after done or error', () => {
  const d = new ChunkedDecoder();
  const buf = b('0\r\n\r\nXYZ');
  assert.equal(d.feed(buf, 0, buf.length), 5);
  assert.equal(d.done, true);
  assert.equal(d.feed(buf, 5, buf.length), 5);
  const e = new ChunkedDecoder();
  assert.equal(e.feed(b('x'), 0, 1), -1);
  assert.equal(e.feed(b('0\r\n\r\n'), 0, 5), -1);
  e.reset();
  assert.equal(e.feed(b('0\r\n\r\n'), 0, 5), 5);
});

test('feed honours start/end inside a larger buffer', () => {
  const d = new ChunkedDecoder();
  const buf = b('HEAD3\r\nabc\r\n0\r\n\r\nNEXT');
  const r = d.feed(buf, 4, buf.length);
  assert.equal(r, buf.length - 4);
  assert.deepEqual([d.dataStarts[0], d.dataEnds[0]], [7, 10]);
  assert.equal(d.bodyBytes, 3);
});

const CASES = [
  '5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n',
  'A;x="a\\"b"\r\n0123456789\r\n0;e=1\r\nT: 1\r\nU:2\r\n\r\nNEXT',
  '3\nabc\n0\n\n',
  '3\r\nabcX\r\n0\r\n\r\n',
  'fffffffffffffffffff\r\n',
  '3;a b\r\n',
  '0\r\nX : y\r\n\r\n',
  '0\r\nX: a\r\n b\r\n\r\n',
  '0\r\n\rX',
  '2\r\nab\r\n2\r\ncd\r\n2\r\nef\r\n0\r\n\r\n',
];

test('split at every byte equals one-shot', () => {
  for (const s of CASES) {
    const one = run(s);
    const len = b(s).length;
    const all: number[] = [];
    for (let i = 1; i < len; i++) all.push(i);
    assert.deepEqual(run(s, all), one, JSON.stringify(s));
    for (let i = 1; i < len; i++) assert.deepEqual(run(s, [i]), one, `${JSON.stringify(s)} @${i}`);
  }
});

test('random splits and random bodies (seeded)', () => {
  let seed = 7;
  const rand = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 4294967296;
  };
  for (let round = 0; round < 300; round++) {
    let s = '';
    let data = '';
    const n = Math.floor(rand() * 5);
    for (let i = 0; i < n; i++) {
      const size = Math.floor(rand() * 300);
      const chunk = 'd'.repeat(size);
      s += size.toString(16) + (rand() < 0.3 ? ';k=v' : '') + '\r\n' + chunk + '\r\n';
      data += chunk;
    }
    s += '0\r\n' + (rand() < 0.3 ? 'T: x\r\n' : '') + '\r\n';
    const one = run(s);
    assert.equal(one.data, data);
    assert.equal(one.end, s.length);
    const cuts: number[] = [];
    for (let i = 1; i < s.length; i++) if (rand() < 0.05) cuts.push(i);
    assert.deepEqual(run(s, cuts), one);
  }
});
