/*
 * `option forwardfor`, `option originalto`, `option
 * http-restrict-req-hdr-names`, `monitor-uri`, `unique-id-*`, `capture
 * request|response header` and `dispatch`: their keywords (error texts as
 * haproxy 2.6.12 prints them for the same lines, `haproxy -c`), defaults
 * inheritance, and the request transforms in HAProxy's order
 * (http/analysers.ts), on heads parsed by the real parser.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configLoader, proxy, HEAD } from './config-loader';
import { buildRuntime, type ProxyRuntime } from '../src/engine/proxy-runtime';
import { parseRequestHead, parseResponseHead, METH_GET, type RequestHead } from '../src/http/h1';
import { ForwardHeader, addForwardedFor, addOriginalTo } from '../src/http/forwarding';
import { parseNetwork } from '../src/util/ip-net';
import { restrictHeaderNames, RESTRICT_DELETE, RESTRICT_REJECT, RESTRICT_PRESERVE } from '../src/http/restrict-hdr-names';
import { isMonitorRequest } from '../src/http/monitor-uri';
import {
  RequestExtras, analyseRequest as analyseHead, analyseResponse, logExtras, monitorReply, restrictRequest, finishRequest,
  REQ_FORWARD, REQ_MONITOR, type StreamView,
} from '../src/http/analysers';
import type { SampleContext } from '../src/rules/sample';
import { errorReplyFor } from '../src/http/errors';

const REQ_DENY_FE = 2;
const REQ_DENY_BE = 3;

/** The request steps as the stream runs them (monitor/captures, per-proxy restrict, then unique-id/forwarding). */
function analyseRequest(x: RequestExtras, fe: ProxyRuntime, be: ProxyRuntime | null, h: RequestHead, st: StreamView, txnStart: number, line: string): number {
  const v = analyseHead(x, fe, h);
  if (v !== REQ_FORWARD) return v;
  if (!restrictRequest(fe, h.headers)) { fe.fe!.dreq++; return REQ_DENY_FE; }
  if (be !== null && be !== fe && !restrictRequest(be, h.headers)) { fe.fe!.dreq++; be.be!.dreq++; return REQ_DENY_BE; }
  finishRequest(x, fe, be, h, st as StreamView & SampleContext, txnStart, line);
  return REQ_FORWARD;
}
import { renderLogFormat, compileLogFormat, HTTPLOG_FORMAT, type LogRecord } from '../src/log/log-format';

const load = configLoader('sy-fwd-unit-');

function req(text: string): RequestHead {
  const r = parseRequestHead(Buffer.from(text.replace(/\n/g, '\r\n') + '\r\n', 'latin1'));
  assert.equal(r.state, 'done', text);
  if (r.state !== 'done') throw new Error('unreachable');
  return r.head;
}

function fields(h: RequestHead): string[] {
  const out: string[] = [];
  for (let i = 0; i < h.headers.count; i++) out.push(`${h.headers.name(i)}: ${h.headers.value(i)}`);
  return out;
}

/* ---------------- keywords ---------------- */

test('keyword errors carry file:line and haproxy 2.6 texts', async () => {
  const r = await load(HEAD + [
    'frontend f', '  bind 127.0.0.1:1', '  default_backend b', // 6-8
    '  option forwardfor except', // 9
    '  option forwardfor except 1.2.3.4/33', // 10
    '  option forwardfor bogus', // 11
    '  option forwardfor header', // 12
    '  option originalto if-none', // 13
    '  option http-restrict-req-hdr-names', // 14
    '  option http-restrict-req-hdr-names foo', // 15
    '  option http-restrict-req-hdr-names delete x', // 16
    '  monitor-uri', // 17
    '  monitor-uri a b', // 18
    '  unique-id-format', // 19
    '  unique-id-format %foo', // 20
    '  unique-id-format a b', // 21
    '  unique-id-header', // 22
    '  capture request header X len', // 23
    '  capture request header X len 5 extra', // 24
    '  capture response foo', // 25
    '  capture request header X len abc', // 26
    '  capture request header X len -1', // 27
    '  option forwardfor header bad:name', // 28
    'backend b', '  server s 127.0.0.1:1', // 29-30
    '  capture request header Host len 5', // 31
    '  dispatch 127.0.0.1', // 32
    '  dispatch 1.2.3.4:80 x', // 33
    '  dispatch 1.2.3.4:80-90', // 34
    '  dispatch 1.2.3.4:+80', // 35
    '  monitor-uri /x', // 36
    '',
  ].join('\n'));
  assert.equal(r.config, undefined);
  assert.deepEqual(r.errors, [
    "9: option forwardfor: 'option forwardfor except' expects <address>[/mask] as argument.",
    "10: option forwardfor: 'option forwardfor except' expects <address>[/mask] as argument.",
    "11: option forwardfor: 'option forwardfor' only supports optional values: 'except', 'header' and 'if-none'.",
    "12: option forwardfor: 'option forwardfor header' expects <header_name> as argument.",
    "13: option originalto: 'option originalto' only supports optional values: 'except' and 'header'.",
    "14: option http-restrict-req-hdr-names: missing parameter. option 'http-restrict-req-hdr-names' expects 'preserve', 'reject' or 'delete' option.",
    "15: option http-restrict-req-hdr-names: invalid parameter 'foo'. option 'http-restrict-req-hdr-names' expects 'preserve', 'reject' or 'delete' option.",
    "16: option http-restrict-req-hdr-names: 'option' cannot handle unexpected argument 'x'.",
    "17: monitor-uri: 'monitor-uri' expects an URI.",
    "18: monitor-uri: 'monitor-uri' cannot handle unexpected argument 'b'.",
    '19: unique-id-format: unique-id-format expects an argument.',
    "20: unique-id-format: failed to parse unique-id : no such format variable 'foo'. If you wanted to emit the '%' character verbatim, you need to use '%%'.",
    "21: unique-id-format: unique-id-format expects only one argument, don't forget to escape spaces!",
    '22: unique-id-header: unique-id-header expects an argument.',
    "23: capture request: 'capture request' expects 'header' <header_name> 'len' <len>.",
    "24: capture request: 'capture request' cannot handle unexpected argument 'extra'.",
    "25: capture response: 'capture' expects 'cookie' or 'request header' or 'response header'.",
    "26: capture request: invalid length 'abc' for header 'X' (expects an integer from 0 to 2147483647)",
    "27: capture request: invalid length '-1' for header 'X' (expects an integer from 0 to 2147483647)",
    "28: option forwardfor: 'option forwardfor header' : invalid header name 'bad:name' (letters, digits and !#$%&'*+-.^_`|~ only)",
    "31: capture request: 'capture request' is not allowed in 'backend' section (allowed in: frontend, listen)",
    "32: dispatch: missing port specification in '127.0.0.1'",
    "33: dispatch: 'dispatch' cannot handle unexpected argument 'x'.",
    "34: dispatch: port range not permitted here in '1.2.3.4:80-90'",
    "35: dispatch: port offset not permitted here in '1.2.3.4:+80'",
    "36: monitor-uri: 'monitor-uri' is not allowed in 'backend' section (allowed in: defaults, frontend, listen)",
  ]);
});

test('captures are refused in defaults; no "negation" for forwardfor', async () => {
  const r = await load(HEAD + '  capture request header Host len 5\n  no option forwardfor\nfrontend f\n  bind 127.0.0.1:1\n');
  assert.deepEqual(r.errors, [
    "6: capture request: 'capture request' is not allowed in 'defaults' section (allowed in: frontend, listen)",
    "7: option forwardfor: 'no' is not supported for 'option forwardfor'",
  ]);
});

test('parsed values, defaults inheritance, last line wins and resets', async () => {
  const r = await load(HEAD + [
    '  option forwardfor except 10.0.0.0/8 header X-Client if-none',
    '  unique-id-format %ci_%rt',
    '  unique-id-header X-Req-ID',
    '  option http-restrict-req-hdr-names delete',
    '  monitor-uri /health',
    'frontend f', '  bind 127.0.0.1:1', '  default_backend b',
    '  option originalto header X-Dst',
    '  capture request header Host len 10',
    '  capture request header User-Agent len 3',
    '  capture response header Location len 20',
    'backend b', '  option forwardfor', '  server s 127.0.0.1:1',
    '',
  ].join('\n'));
  assert.deepEqual(r.errors, []);
  const f = proxy(r.config!, 'f'), b = proxy(r.config!, 'b');
  assert.deepEqual(f.forwardFor, { header: 'X-Client', except: parseNetwork('10.0.0.0/8')!, ifNone: true });
  // A new `option forwardfor` line starts again from HAProxy's defaults.
  assert.deepEqual(b.forwardFor, { header: 'X-Forwarded-For', except: null, ifNone: false });
  assert.deepEqual(f.originalTo, { header: 'X-Dst', except: null, ifNone: false });
  assert.equal(b.originalTo, null);
  assert.equal(f.uniqueIdFormat, '%ci_%rt');
  assert.equal(f.uniqueIdHeader, 'X-Req-ID');
  assert.equal(f.restrictReqHdrNames, 'delete');
  assert.equal(b.restrictReqHdrNames, 'delete');
  assert.equal(f.monitorUri, '/health');
  assert.equal(b.monitorUri, null, 'only frontends keep a monitor-uri');
  assert.deepEqual(f.reqCaptures, [{ name: 'Host', len: 10 }, { name: 'User-Agent', len: 3 }]);
  assert.deepEqual(f.resCaptures, [{ name: 'Location', len: 20 }]);
});

test('outside mode http: forwardfor/originalto/monitor-uri dropped with haproxy warnings', async () => {
  const r = await load(HEAD + [
    'frontend f', '  mode tcp', '  bind 127.0.0.1:1', '  default_backend b',
    '  option forwardfor', '  option originalto', '  monitor-uri /x',
    'backend b', '  mode tcp', '  server s 127.0.0.1:1', '',
  ].join('\n'));
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.warnings, [
    "6: 'option forwardfor' ignored for frontend 'f' as it requires HTTP mode.",
    "6: 'option originalto' ignored for frontend 'f' as it requires HTTP mode.",
    "6: monitor-uri will be ignored for frontend 'f' (needs 'mode http').",
  ]);
  const f = proxy(r.config!, 'f');
  assert.equal(f.forwardFor, null);
  assert.equal(f.originalTo, null);
  assert.equal(f.monitorUri, null);
});

test('dispatch: used by a backend without servers (a <NOSRV> server), ignored with a warning otherwise', async () => {
  const r = await load(HEAD + [
    'frontend f', '  bind 127.0.0.1:1', '  default_backend b',
    'backend b', '  dispatch 127.0.0.1:8080',
    'backend c', '  dispatch 127.0.0.1:9', '  server s 127.0.0.1:1',
    'backend d', '  dispatch localhost:81',
    '',
  ].join('\n'));
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.warnings, ["12: dispatch address of backend 'c' will be ignored in balance mode."]);
  const b = proxy(r.config!, 'b');
  assert.equal(b.dispatch!.name, '<NOSRV>');
  assert.equal(b.dispatch!.ip, '127.0.0.1');
  assert.equal(b.dispatch!.port, 8080);
  assert.equal(proxy(r.config!, 'c').dispatch, null);
  assert.equal(proxy(r.config!, 'd').dispatch!.ip, '127.0.0.1', 'host name resolved at load');
  const rt = buildRuntime(r.config!, undefined);
  const be = rt.find(p => p.cfg.name === 'b')!;
  assert.equal(be.servers.length, 0, 'not listed among the servers');
  assert.equal(be.pickServer(null)!.cfg.name, '<NOSRV>');
  assert.equal(rt.find(p => p.cfg.name === 'c')!.pickServer(null)!.cfg.name, 's');
});

/* ---------------- transforms ---------------- */

const fh = (header: string, opts: { except?: string; ifNone?: boolean } = {}): ForwardHeader =>
  new ForwardHeader({ header, except: opts.except ? parseNetwork(opts.except)! : null, ifNone: opts.ifNone ?? false });

test('X-Forwarded-For: appended after an existing one; IPv6 as printed; not for UNIX sockets', () => {
  const h = req('GET / HTTP/1.1\nHost: a\nX-Forwarded-For: 9.9.9.9\n');
  addForwardedFor(fh('X-Forwarded-For'), null, h.headers, '10.0.0.1');
  assert.deepEqual(fields(h), ['Host: a', 'X-Forwarded-For: 9.9.9.9', 'X-Forwarded-For: 10.0.0.1']);
  const h6 = req('GET / HTTP/1.1\nHost: a\n');
  addForwardedFor(fh('X-Forwarded-For'), null, h6.headers, '::ffff:10.0.0.1');
  assert.deepEqual(fields(h6), ['Host: a', 'X-Forwarded-For: ::ffff:10.0.0.1']);
  const hu = req('GET / HTTP/1.1\nHost: a\n');
  addForwardedFor(fh('X-Forwarded-For'), null, hu.headers, 'unix');
  assert.deepEqual(fields(hu), ['Host: a']);
});

test('X-Forwarded-For: frontend/backend precedence (http_process_request)', () => {
  const run = (fe: ForwardHeader | null, be: ForwardHeader | null, src: string, text = 'GET / HTTP/1.1\nHost: a\n'): string[] => {
    const h = req(text);
    addForwardedFor(fe, be, h.headers, src);
    return fields(h).slice(1);
  };
  // The backend's header name wins; either side alone enables it.
  assert.deepEqual(run(fh('X-FE'), fh('X-BE'), '1.1.1.1'), ['X-BE: 1.1.1.1']);
  assert.deepEqual(run(fh('X-FE'), null, '1.1.1.1'), ['X-FE: 1.1.1.1']);
  assert.deepEqual(run(null, fh('X-BE'), '1.1.1.1'), ['X-BE: 1.1.1.1']);
  // if-none: only when every side that has the option says so.
  const withXff = 'GET / HTTP/1.1\nHost: a\nx-forwarded-for: 2.2.2.2\n';
  assert.deepEqual(run(fh('X-Forwarded-For', { ifNone: true }), null, '1.1.1.1', withXff), ['x-forwarded-for: 2.2.2.2']);
  assert.deepEqual(run(fh('X-Forwarded-For', { ifNone: true }), null, '1.1.1.1'), ['X-Forwarded-For: 1.1.1.1']);
  assert.deepEqual(run(fh('X-Forwarded-For', { ifNone: true }), fh('X-Forwarded-For'), '1.1.1.1', withXff),
    ['x-forwarded-for: 2.2.2.2', 'X-Forwarded-For: 1.1.1.1']);
  assert.deepEqual(run(fh('X-Forwarded-For', { ifNone: true }), fh('X-Forwarded-For', { ifNone: true }), '1.1.1.1', withXff), ['x-forwarded-for: 2.2.2.2']);
  // if-none looks for the header that would be added (the backend's name).
  assert.deepEqual(run(fh('X-Forwarded-For', { ifNone: true }), fh('X-Other', { ifNone: true }), '1.1.1.1', withXff),
    ['x-forwarded-for: 2.2.2.2', 'X-Other: 1.1.1.1']);
  // An except network on either side suppresses it.
  assert.deepEqual(run(fh('X-Forwarded-For', { except: '127.0.0.0/8' }), null, '127.0.0.1'), []);
  assert.deepEqual(run(fh('X-Forwarded-For', { except: '127.0.0.0/8' }), null, '10.0.0.1'), ['X-Forwarded-For: 10.0.0.1']);
  assert.deepEqual(run(fh('X-Forwarded-For'), fh('X-Forwarded-For', { except: '10.0.0.0/8' }), '10.0.0.1'), []);
  assert.deepEqual(run(fh('X-Forwarded-For', { except: '::1' }), null, '::1'), []);
});

test('X-Original-To: destination address, except network, backend name first', () => {
  const h = req('GET / HTTP/1.1\nHost: a\n');
  addOriginalTo(fh('X-Original-To'), fh('X-Dst'), h.headers, '192.0.2.7');
  assert.deepEqual(fields(h), ['Host: a', 'X-Dst: 192.0.2.7']);
  const h2 = req('GET / HTTP/1.1\nHost: a\n');
  addOriginalTo(fh('X-Original-To', { except: '192.0.2.0/24' }), null, h2.headers, '192.0.2.7');
  assert.deepEqual(fields(h2), ['Host: a']);
});

test('http-restrict-req-hdr-names: preserve, delete every offending field, reject removes nothing', () => {
  const text = 'GET / HTTP/1.1\nHost: a\nX_A_B: 1\nX-Good: 2\nX.C: 3\nX-Last: 4\n';
  const p = req(text);
  assert.equal(restrictHeaderNames(RESTRICT_PRESERVE, p.headers), true);
  assert.equal(p.headers.count, 5);
  const d = req(text);
  assert.equal(restrictHeaderNames(RESTRICT_DELETE, d.headers), true);
  assert.deepEqual(fields(d), ['Host: a', 'X-Good: 2', 'X-Last: 4']);
  const r = req(text);
  assert.equal(restrictHeaderNames(RESTRICT_REJECT, r.headers), false);
  const ok = req('GET / HTTP/1.1\nHost: a\nAbc-09-Z: 1\n');
  assert.equal(restrictHeaderNames(RESTRICT_REJECT, ok.headers), true);
});

test('monitor-uri: exact target, or the path (query included) when it starts with /', () => {
  assert.equal(isMonitorRequest('/mon', req('GET /mon HTTP/1.1\nHost: a\n')), true);
  assert.equal(isMonitorRequest('/mon', req('HEAD /mon HTTP/1.0\n')), true);
  assert.equal(isMonitorRequest('/mon', req('GET /mon?x=1 HTTP/1.1\nHost: a\n')), false);
  assert.equal(isMonitorRequest('/mon?x=1', req('GET /mon?x=1 HTTP/1.1\nHost: a\n')), true);
  assert.equal(isMonitorRequest('/mon', req('GET /mon/ HTTP/1.1\nHost: a\n')), false);
  assert.equal(isMonitorRequest('/mon', req('GET http://a/mon HTTP/1.1\nHost: a\n')), true);
  assert.equal(isMonitorRequest('/', req('GET http://a HTTP/1.1\nHost: a\n')), false, 'empty path is not "/" (http_parse_path)');
  assert.equal(isMonitorRequest('http://a/mon', req('GET http://a/mon HTTP/1.1\nHost: a\n')), true);
  assert.equal(isMonitorRequest('http://a/mon', req('GET /mon HTTP/1.1\nHost: a\n')), false);
});

/* ---------------- the analysers together ---------------- */

async function runtime(text: string): Promise<ProxyRuntime[]> {
  const r = await load(HEAD + text);
  assert.deepEqual(r.errors, []);
  return buildRuntime(r.config!, undefined);
}

const view: StreamView = { clientIp: '10.1.2.3', clientPort: 4321, client: null, engine: { actconn: 1 } };

function baseRecord(): LogRecord {
  return {
    clientIp: '10.1.2.3', clientPort: 4321, acceptTime: Date.UTC(2026, 0, 2, 3, 4, 5, 6), frontend: 'f', backend: 'b', server: 's',
    tw: 0, tc: 0, tt: 1, tr: 0, status: 200, bytesOut: 10, termState: '--', actconn: 1, feconn: 1, beconn: 1, srvConn: 1,
    retries: 0, redispatched: false, srvQueue: 0, backendQueue: 0, requestLine: 'GET / HTTP/1.1',
  };
}

test('request analysis in order: monitor, captures (as received), restrict, unique-id, forwardfor; log extras', async () => {
  const rt = await runtime([
    'frontend f', '  bind 127.0.0.1:1', '  default_backend b',
    '  monitor-uri /mon',
    '  capture request header X_Odd len 3',
    '  capture request header x-tag len 4',
    '  capture request header Missing len 4',
    '  capture response header Location len 6',
    '  option http-restrict-req-hdr-names delete',
    '  unique-id-format %ci:%cp_%rt',
    '  unique-id-header X-Unique-ID',
    '  option forwardfor',
    'backend b', '  server s 127.0.0.1:1',
    '',
  ].join('\n'));
  const fe = rt.find(p => p.cfg.name === 'f')!, be = rt.find(p => p.cfg.name === 'b')!;
  const x = new RequestExtras();
  const mon = req('GET /mon HTTP/1.1\nHost: a\n');
  assert.equal(analyseRequest(x, fe, be, mon, view, 0, 'GET /mon HTTP/1.1'), REQ_MONITOR);
  assert.equal(x.parsed, false, 'a monitor request captures nothing');
  const monCounter = x.counter;
  x.reset();
  const h = req('GET /x HTTP/1.1\nHost: a\nX-Tag: first\nX_Odd: oddvalue\nx-tag: example.com\n');
  assert.equal(analyseRequest(x, fe, be, h, view, 0, 'GET /x HTTP/1.1'), REQ_FORWARD);
  assert.equal(x.counter, monCounter + 1, '%rt counts monitor requests too');
  // Captured before the delete: the last occurrence, cut to len.
  assert.deepEqual(x.reqCaps, ['odd', 'exam', null]);
  assert.deepEqual(x.resCaps, [null]);
  assert.equal(x.uniqueId, `10.1.2.3:4321_${x.counter}`);
  assert.deepEqual(fields(h), ['Host: a', 'X-Tag: first', 'x-tag: example.com', `X-Unique-ID: ${x.uniqueId}`, 'X-Forwarded-For: 10.1.2.3']);
  const resp = parseResponseHead(Buffer.from('HTTP/1.1 302 Found\r\nLocation: /somewhere\r\nContent-Length: 0\r\n\r\n'), METH_GET);
  assert.equal(resp.state, 'done');
  if (resp.state !== 'done') return;
  analyseResponse(x, fe, resp.head.headers);
  const rec = logExtras(x, fe, view, baseRecord());
  assert.deepEqual(rec.reqCaptures, ['odd', 'exam', null]);
  assert.deepEqual(rec.resCaptures, ['/somew']);
  assert.equal(rec.uniqueId, x.uniqueId);
  const c = compileLogFormat(HTTPLOG_FORMAT);
  assert.ok(c.ok);
  const line = renderLogFormat(c.fmt, rec);
  assert.match(line, / \{odd\|exam\|\} \{\/somew\} "GET \/ HTTP\/1\.1"$/);
  // A transaction whose head was never parsed logs no capture block.
  x.reset();
  const bare = logExtras(x, fe, view, baseRecord());
  assert.equal(bare.reqCaptures, undefined);
  assert.equal(bare.uniqueId, undefined);
});

test('restrict reject: frontend deny before backend, counters; unique-id built at log time', async () => {
  const rt = await runtime([
    'frontend f', '  bind 127.0.0.1:1', '  default_backend b',
    '  unique-id-format %b_%ST',
    'frontend g', '  bind 127.0.0.1:2', '  default_backend b', '  option http-restrict-req-hdr-names reject',
    'backend b', '  option http-restrict-req-hdr-names reject', '  server s 127.0.0.1:1',
    '',
  ].join('\n'));
  const f = rt.find(p => p.cfg.name === 'f')!, g = rt.find(p => p.cfg.name === 'g')!, b = rt.find(p => p.cfg.name === 'b')!;
  const x = new RequestExtras();
  assert.equal(analyseRequest(x, g, b, req('GET / HTTP/1.1\nHost: a\nX_Y: 1\n'), view, 0, 'GET / HTTP/1.1'), REQ_DENY_FE);
  assert.equal(g.fe!.dreq, 1);
  assert.equal(b.be!.dreq, 0);
  x.reset();
  const h = req('GET / HTTP/1.1\nHost: a\nX_Y: 1\n');
  assert.equal(analyseRequest(x, f, b, h, view, 0, 'GET / HTTP/1.1'), REQ_DENY_BE);
  assert.equal(h.headers.count, 2, 'nothing removed on reject');
  assert.equal(f.fe!.dreq, 1);
  assert.equal(b.be!.dreq, 1);
  assert.equal(x.uniqueId, undefined, 'not built before the deny');
  const rec = logExtras(x, f, view, { ...baseRecord(), backend: 'b', status: 403 });
  assert.equal(rec.uniqueId, 'b_403');
  // The pages: HAProxy's 403 and 200 (errorfile of the proxy when it has one).
  assert.match(errorReplyFor(f.cfg, b.cfg, 403)!.keepAlive.toString('latin1'), /^HTTP\/1\.1 403 Forbidden\r\ncontent-length: 93\r\n/);
  assert.equal(monitorReply(f).keepAlive.toString('latin1'),
    'HTTP/1.1 200 OK\r\ncontent-length: 58\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>200 OK</h1>\nService ready.\n</body></html>\n');
});

test('unique-id is cut to 127 characters (UNIQUEID_LEN)', async () => {
  const rt = await runtime(['frontend f', '  bind 127.0.0.1:1', `  unique-id-format ${'x'.repeat(200)}`, ''].join('\n'));
  const x = new RequestExtras();
  analyseRequest(x, rt[0], null, req('GET / HTTP/1.1\nHost: a\n'), view, 0, 'GET / HTTP/1.1');
  assert.equal(x.uniqueId, 'x'.repeat(127));
});
