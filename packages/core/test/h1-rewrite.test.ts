/**
 * Request-line and status-line rewrites on parsed heads (http/h1.ts
 * setMethod, setTarget, setStatus, headersChanged), as http/actions.ts
 * uses them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseRequestHead, parseResponseHead, METH_GET, METH_POST, METH_OTHER, METH_PATCH, METH_CONNECT,
  TARGET_ORIGIN, TARGET_ABSOLUTE, TARGET_ASTERISK, TARGET_AUTHORITY, type RequestHead, type ResponseHead,
} from '../src/http/h1';

function req(raw: string): RequestHead {
  const r = parseRequestHead(Buffer.from(raw, 'latin1'));
  if (r.state !== 'done') throw new Error(`not parsed: ${JSON.stringify(r)}`);
  return r.head;
}

function res(raw: string): ResponseHead {
  const r = parseResponseHead(Buffer.from(raw, 'latin1'), METH_GET);
  if (r.state !== 'done') throw new Error(`not parsed: ${JSON.stringify(r)}`);
  return r.head;
}

test('a parsed request is not marked rewritten', () => {
  const h = req('GET /a?b HTTP/1.1\r\nHost: h\r\n\r\n');
  assert.equal(h.rewritten, false);
});

test('setMethod: known methods get their code, others METH_OTHER', () => {
  const h = req('GET /a HTTP/1.1\r\nHost: h\r\n\r\n');
  h.setMethod('POST');
  assert.equal(h.method, 'POST');
  assert.equal(h.methodCode, METH_POST);
  assert.equal(h.rewritten, true);
  h.setMethod('PATCH');
  assert.equal(h.methodCode, METH_PATCH);
  h.setMethod('PURGE');
  assert.equal(h.method, 'PURGE');
  assert.equal(h.methodCode, METH_OTHER);
  // Case-sensitive, as HAProxy's find_http_meth().
  h.setMethod('get');
  assert.equal(h.methodCode, METH_OTHER);
  h.setMethod('GET');
  assert.equal(h.methodCode, METH_GET);
});

test('setMethod refuses what is not a token and leaves the method', () => {
  const h = req('GET /a HTTP/1.1\r\nHost: h\r\n\r\n');
  for (const bad of ['', 'GE T', 'GET\r\n', 'G(T', 'GÉT']) assert.throws(() => h.setMethod(bad), RangeError, JSON.stringify(bad));
  assert.equal(h.method, 'GET');
  assert.equal(h.methodCode, METH_GET);
  assert.equal(h.rewritten, false);
});

test('setTarget: origin-form replaces path and query', () => {
  const h = req('GET /old/path?x=1 HTTP/1.1\r\nHost: h.example\r\n\r\n');
  assert.equal(h.path, '/old/path'); // read (and cached) before the rewrite
  assert.equal(h.query, 'x=1');
  h.setTarget('/new?y=2&z');
  assert.equal(h.target, '/new?y=2&z');
  assert.equal(h.path, '/new');
  assert.equal(h.query, 'y=2&z');
  assert.equal(h.pathAndQuery, '/new?y=2&z');
  assert.equal(h.targetForm, TARGET_ORIGIN);
  assert.equal(h.authority, 'h.example');
  assert.equal(h.scheme, null);
  assert.equal(h.rewritten, true);
  h.setTarget('/only');
  assert.equal(h.query, null);
  assert.equal(h.pathAndQuery, '/only');
  // The Host field is not touched.
  assert.equal(h.headers.get('host'), 'h.example');
});

test('setTarget: absolute-form keeps working (scheme, authority, path)', () => {
  const h = req('GET /a HTTP/1.1\r\nHost: h\r\n\r\n');
  h.setTarget('http://Other.example:80/p/q?r');
  assert.equal(h.targetForm, TARGET_ABSOLUTE);
  assert.equal(h.scheme, 'http');
  assert.equal(h.authority, 'Other.example'); // default port dropped, as the parser does
  assert.equal(h.path, '/p/q');
  assert.equal(h.query, 'r');
  assert.equal(h.headers.get('host'), 'h');
  h.setTarget('https://x.example:8443');
  assert.equal(h.authority, 'x.example:8443');
  assert.equal(h.path, '/'); // empty path means "/"
  assert.equal(h.query, null);
  // and back to origin-form: the authority comes from Host again
  h.setTarget('/z');
  assert.equal(h.authority, 'h');
  assert.equal(h.scheme, null);
});

test('setTarget on an absolute-form request', () => {
  const h = req('GET http://h.example/a?b HTTP/1.1\r\nHost: h.example\r\n\r\n');
  assert.equal(h.authority, 'h.example');
  h.setTarget('/c');
  assert.equal(h.targetForm, TARGET_ORIGIN);
  assert.equal(h.path, '/c');
  assert.equal(h.authority, 'h.example'); // from Host now
});

test('setTarget: asterisk only for OPTIONS, authority-form only for CONNECT', () => {
  const o = req('OPTIONS /a HTTP/1.1\r\nHost: h\r\n\r\n');
  o.setTarget('*');
  assert.equal(o.targetForm, TARGET_ASTERISK);
  assert.equal(o.path, '*');
  const g = req('GET /a HTTP/1.1\r\nHost: h\r\n\r\n');
  assert.throws(() => g.setTarget('*'), RangeError);
  assert.throws(() => g.setTarget('h.example:443'), RangeError);
  const c = req('CONNECT h.example:443 HTTP/1.1\r\nHost: h.example:443\r\n\r\n');
  assert.equal(c.methodCode, METH_CONNECT);
  c.setTarget('other.example:8443');
  assert.equal(c.targetForm, TARGET_AUTHORITY);
  assert.equal(c.authority, 'other.example:8443');
  assert.equal(c.path, '');
  assert.throws(() => c.setTarget('/x'), RangeError);
});

test('setTarget refuses bytes a request line cannot carry and changes nothing', () => {
  const h = req('GET /a?b HTTP/1.1\r\nHost: h\r\n\r\n');
  for (const bad of ['', '/a b', '/a\tb', '/a\r\nX: y', '/a#frag', '/é', 'a/b', 'http://', 'http:///x', 'http://u@h/']) {
    assert.throws(() => h.setTarget(bad), RangeError, JSON.stringify(bad));
  }
  assert.equal(h.target, '/a?b');
  assert.equal(h.path, '/a');
  assert.equal(h.query, 'b');
  assert.equal(h.targetForm, TARGET_ORIGIN);
  assert.equal(h.rewritten, false);
});

test('headersChanged: Host and Upgrade indexes follow removals', () => {
  const h = req('GET /a HTTP/1.1\r\nX-A: 1\r\nHost: h.example\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n');
  assert.equal(h.hostIndex, 1);
  assert.equal(h.upgradeIndex, 2);
  h.headers.removeAt(0);
  h.headersChanged();
  assert.equal(h.hostIndex, 0);
  assert.equal(h.upgradeIndex, 1);
  assert.equal(h.upgrade, 'websocket');
  h.headers.set('Host', 'other.example');
  h.headersChanged();
  assert.equal(h.hostIndex, h.headers.count - 1);
  assert.equal(h.authority, 'other.example');
  h.headers.delete('host');
  h.headersChanged();
  assert.equal(h.hostIndex, -1);
  assert.equal(h.authority, null);
});

test('setStatus: code and reason of the status line', () => {
  const r = res('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
  assert.equal(r.reason, 'OK');
  r.setStatus(203, 'Non-Authoritative Information');
  assert.equal(r.status, 203);
  assert.equal(r.reason, 'Non-Authoritative Information');
  r.setStatus(299, '');
  assert.equal(r.reason, '');
  assert.throws(() => r.setStatus(99, 'x'), RangeError);
  assert.throws(() => r.setStatus(1000, 'x'), RangeError);
  assert.throws(() => r.setStatus(200, 'a\r\nb'), RangeError);
  assert.equal(r.status, 299);
});
