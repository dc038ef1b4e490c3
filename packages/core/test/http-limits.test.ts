/**
 * `tune.bufsize` / `tune.http.maxhdr`: keyword parsing, the limits computed
 * at compile, and the parser's thresholds with them. Expected numbers were
 * measured with haproxy 2.6.12 (see src/http/limits.ts): the largest request
 * head `GET /<x…> HTTP/1.1` + `Host: a` it accepts is 15277 bytes by default,
 * 2989 with bufsize 4096, 429 with 1024, 421 with 1000 (rounded to 1008);
 * with maxhdr 10, 9 fields pass and 10 get 400.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load';
import { h1LimitsFor, roundBufsize, effectiveMaxrewrite } from '../src/http/limits';
import { parseRequestHead, parseResponseHead, METH_GET, type H1Limits } from '../src/http/h1';

const dir = mkdtempSync(join(tmpdir(), 'sy-limits-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

async function load(global: string[], extra = ''): Promise<{ limits?: H1Limits; bufsize?: number; errors: string[] }> {
  const p = join(dir, `c${Math.random().toString(36).slice(2)}.cfg`);
  writeFileSync(p, ['global', ...global.map(l => `    ${l}`), 'defaults', '    mode http', '    timeout connect 1s', '    timeout client 1s',
    '    timeout server 1s', 'backend b', '    server s 127.0.0.1:1', extra, ''].join('\n'));
  const r = await loadConfig([p], {});
  const errors = r.diag.items.filter(d => d.severity === 'alert').map(d => `${d.line}: ${d.keyword}: ${d.reason}`);
  return { limits: r.config?.global.h1Limits, bufsize: r.config?.global.bufsize, errors };
}

/** `GET /xxx HTTP/1.1` + Host: a, exactly `size` bytes. */
function requestOfSize(size: number): Buffer {
  const base = 'GET / HTTP/1.1\r\nHost: a\r\n\r\n';
  return Buffer.from(`GET /${'x'.repeat(size - base.length)} HTTP/1.1\r\nHost: a\r\n\r\n`, 'latin1');
}

function requestWithFields(n: number): Buffer {
  let h = 'GET / HTTP/1.1\r\nHost: a\r\n';
  for (let i = 1; i < n; i++) h += `X-H${i}: v\r\n`;
  return Buffer.from(h + '\r\n', 'latin1');
}

test('HAProxy rounding and maxrewrite adjustment', () => {
  assert.equal(roundBufsize(16384), 16384);
  assert.equal(roundBufsize(1000), 1008);
  assert.equal(roundBufsize(1), 16);
  assert.equal(effectiveMaxrewrite(16384), 1024);
  assert.equal(effectiveMaxrewrite(2048), 1024);
  assert.equal(effectiveMaxrewrite(1024), 512);
  assert.equal(effectiveMaxrewrite(1008), 504);
});

test('limits equal haproxy 2.6.12\'s measured thresholds for a one-field request', () => {
  for (const [bufsize, largest] of [[16384, 15277], [4096, 2989], [1024, 429], [1008, 421]]) {
    const l = h1LimitsFor(bufsize, 101);
    assert.equal(l.maxHeadSize, largest, `bufsize ${bufsize}`);
    const ok = parseRequestHead(requestOfSize(largest), l);
    assert.equal(ok.state, 'done', `bufsize ${bufsize}: ${largest} bytes accepted`);
    const over = parseRequestHead(requestOfSize(largest + 1), l);
    assert.equal(over.state, 'error', `bufsize ${bufsize}: ${largest + 1} bytes refused`);
    assert.equal(over.state === 'error' && over.status, 400);
  }
});

test('a response head over the limit is an error (502)', () => {
  const l = h1LimitsFor(4096, 101);
  const resp = (size: number): Buffer => {
    const base = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Pad: \r\n\r\n';
    return Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Pad: ${'x'.repeat(size - base.length)}\r\n\r\n`, 'latin1');
  };
  assert.equal(parseResponseHead(resp(l.maxHeadSize), METH_GET, l).state, 'done');
  const r = parseResponseHead(resp(l.maxHeadSize + 1), METH_GET, l);
  assert.equal(r.state === 'error' && r.status, 502);
});

test('tune.http.maxhdr counts the start line: maxhdr − 1 fields pass', () => {
  for (const maxhdr of [101, 10, 5]) {
    const l = h1LimitsFor(16384, maxhdr);
    assert.equal(parseRequestHead(requestWithFields(maxhdr - 1), l).state, 'done', `maxhdr ${maxhdr}`);
    const r = parseRequestHead(requestWithFields(maxhdr), l);
    assert.equal(r.state === 'error' && r.status, 400, `maxhdr ${maxhdr}`);
  }
});

test('defaults without tune keywords', async () => {
  const r = await load([]);
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.limits, { maxHeadSize: 15277, maxHeaders: 101 });
  assert.equal(r.bufsize, 16384);
});

test('tune.bufsize and tune.http.maxhdr reach the compiled config', async () => {
  const r = await load(['tune.bufsize 1000', 'tune.http.maxhdr 10']);
  assert.deepEqual(r.errors, []);
  assert.equal(r.bufsize, 1008);
  assert.deepEqual(r.limits, { maxHeadSize: 421, maxHeaders: 10 });
});

test('errors as haproxy 2.6.12 reports them', async () => {
  const r = await load(['tune.bufsize 0', 'tune.bufsize -5', 'tune.bufsize 16k', 'tune.bufsize', 'tune.bufsize 1 2',
    'tune.http.maxhdr 0', 'tune.http.maxhdr 32768', 'tune.http.maxhdr x']);
  assert.equal(r.errors.length, 8, r.errors.join('\n'));
  assert.match(r.errors[0], /^2: tune\.bufsize: 'tune\.bufsize' expects a positive integer argument$/);
  assert.match(r.errors[1], /positive integer/);
  assert.match(r.errors[2], /expects an integer, got '16k'/);
  assert.match(r.errors[3], /expects an integer argument/);
  assert.match(r.errors[4], /unexpected argument '2'/);
  for (const e of r.errors.slice(5)) assert.match(e, /tune\.http\.maxhdr' expects a numeric value between 1 and 32767/);
});

test('built-in pages must fit: bufsize 352 and maxhdr 5 start, 336 and 4 do not (haproxy 2.6.12)', async () => {
  assert.deepEqual((await load(['tune.bufsize 352', 'tune.http.maxhdr 5'])).errors, []);
  const r = await load(['tune.bufsize 336', 'tune.http.maxhdr 4']);
  assert.equal(r.errors.length, 2, r.errors.join('\n'));
  assert.match(r.errors[0], /^2: tune\.bufsize: 336 is too small: invalid default message for HTTP return code 405/);
  assert.match(r.errors[1], /^3: tune\.http\.maxhdr: 4 is too small/);
});

test('errorfile is checked against the tune.bufsize set before it', async () => {
  const big = join(dir, 'big.http');
  const body = 'x'.repeat(1000);
  writeFileSync(big, `HTTP/1.1 503 Busy\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  assert.deepEqual((await load([], `frontend f\n    bind 127.0.0.1:1\n    errorfile 503 ${big}\n    default_backend b`)).errors, []);
  const r = await load(['tune.bufsize 1024'], `frontend f\n    bind 127.0.0.1:1\n    errorfile 503 ${big}\n    default_backend b`);
  assert.equal(r.errors.length, 1, r.errors.join('\n'));
  assert.match(r.errors[0], /errorfile: .*tune\.bufsize/);
});
