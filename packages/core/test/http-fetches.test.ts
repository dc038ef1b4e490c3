/**
 * HTTP sample fetches (http/fetches.ts). Expected values marked "haproxy"
 * were produced by haproxy 2.6.12 from the same raw request: a frontend
 * answering `http-request return ... lf-string "[%[<expr>]]{%[<expr>,length]}"`
 * (the length tells an empty sample from a missing one), `http-response
 * set-header` behind it for response fetches, and ACLs setting variables
 * for the iteration checks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../src/http/fetches';
import { HTTP_ACL_KEYWORDS, cookieOccurrences, headerOccurrences, paramOccurrences } from '../src/http/fetches';
import {
  AT_HTTP_REQ, AT_HTTP_RES, AT_LOG, AT_REQ_CNT, F_MAY_CHANGE, Sample, T_BIN, T_BOOL, T_IPV4, T_IPV6, T_METH, T_SINT, T_STR,
  compileSampleExpr, findFetch, ipv4Text, ipv6Text, type CompileEnv, type SampleContext, type SampleExpr,
} from '../src/rules/sample';
import { METH_GET, parseRequestHead, parseResponseHead, type RequestHead, type ResponseHead } from '../src/http/h1';
import type { ProxyConfig } from '../src/config/compiled';

function reqHead(raw: string): RequestHead {
  const r = parseRequestHead(Buffer.from(raw, 'latin1'));
  if (r.state !== 'done') throw new Error(`request not parsed: ${JSON.stringify(r)}`);
  return r.head;
}

function resHead(raw: string): ResponseHead {
  const r = parseResponseHead(Buffer.from(raw, 'latin1'), METH_GET);
  if (r.state !== 'done') throw new Error(`response not parsed: ${JSON.stringify(r)}`);
  return r.head;
}

interface Fake {
  req?: string;
  res?: string;
  body?: string;
  status?: number;
  src?: string;
  payload?: string;
  final?: boolean;
}

function ctxOf(f: Fake): SampleContext {
  const httpReq = f.req === undefined ? null : reqHead(f.req);
  const httpRes = f.res === undefined ? null : resHead(f.res);
  const body = f.body === undefined ? null : Buffer.from(f.body, 'latin1');
  const payload = f.payload === undefined ? null : Buffer.from(f.payload, 'latin1');
  const ctx = {
    fe: null, be: null, srv: null, engine: { actconn: 0, proxies: [] },
    srcIp: () => f.src ?? '192.0.2.7', srcPort: () => 40000, dstIp: () => '127.0.0.1', dstPort: () => 80,
    reqPayload: () => payload, resPayload: () => null, reqFinal: f.final ?? false, tlsView: () => null,
    httpReq, httpRes, reqBody: () => body,
    status: f.status ?? (httpRes === null ? -1 : httpRes.status),
    vars: { sess: null, txn: null, req: null, res: null },
  };
  return ctx as unknown as SampleContext;
}

const ALL = 255;

function env(at = ALL): CompileEnv {
  return { proxy: { name: 'fe' } as unknown as ProxyConfig, proxies: [], file: () => undefined, at, where: 'test' };
}

function compile(expr: string, at = ALL): SampleExpr {
  const e = compileSampleExpr(expr, env(at));
  if (typeof e === 'string') throw new Error(e);
  return e;
}

/** The sample as text (ipv4/ipv6 in their usual forms), null when there is none. */
function ev(expr: string, ctx: SampleContext): string | null {
  return compile(expr).evalText(ctx);
}

function evs(exprs: Record<string, string | null>, ctx: SampleContext): void {
  for (const [e, want] of Object.entries(exprs)) assert.equal(ev(e, ctx), want, e);
}

/* ---------------- headers ---------------- */

const LIST_REQ =
  'GET /p/q?a=1&a=2 HTTP/1.1\r\nHost: h.com\r\nX: a, b\r\nX-Other: zz\r\nX: "c,d" , e,\r\nV: 1 2, -12x, 99999999999\r\n\r\n';

test('req.hdr splits at commas outside quotes, keeps empty elements; occurrences both ways', () => {
  const c = ctxOf({ req: LIST_REQ });
  // haproxy: X values are a | b | "c,d" | e | "" (the trailing comma gives an empty last one)
  evs({
    'req.hdr(x)': '',
    'req.hdr(x,0)': '',
    'req.hdr(x,-1)': '',
    'req.hdr(x,1)': 'a',
    'req.hdr(x,3)': '"c,d"',
    'req.hdr(x,-2)': 'e',
    'req.hdr(x,-5)': 'a',
    'req.hdr(x,-6)': null,
    'req.hdr(x,6)': null,
    'req.hdr(nope)': null,
    'hdr(X)': '',
    'req.fhdr(x)': '"c,d" , e,',
    'req.fhdr(x,-2)': 'a, b',
    'req.fhdr(x,3)': null,
    'req.hdr_cnt(x)': '5',
    'req.fhdr_cnt(x)': '2',
    'hdr_cnt(x)': '5',
    'req.hdr_cnt(nope)': '0',
    // every element of every field (haproxy: 10 and 5; it drops `Connection: close`, not sent here)
    'req.hdr_cnt': '10',
    'req.fhdr_cnt': '5',
    // no name argument at all: no sample (haproxy, verified)
    'req.hdr': null,
    'req.fhdr': null,
  }, c);
  const h = c.httpReq!.headers;
  assert.deepEqual(headerOccurrences(h, 'x', true), ['a', 'b', '"c,d"', 'e', '']);
  assert.deepEqual(headerOccurrences(h, 'x', false), ['a, b', '"c,d" , e,']);
  assert.deepEqual(headerOccurrences(h, 'nope', true), []);
  assert.equal(headerOccurrences(h, '', true).length, 10);
});

test('quoted-string escapes, empty fields, a lone comma', () => {
  const c = ctxOf({ req: 'GET / HTTP/1.1\r\nHost: h\r\nq: "a,\\"b", c\r\nEmpty:\r\ncomma: ,\r\nx-up: U\r\n\r\n' });
  evs({
    'req.hdr(q,1)': '"a,\\"b"', // haproxy
    'req.hdr(q,2)': 'c',
    'req.hdr_cnt(q)': '2',
    'req.hdr(empty)': '', // haproxy: found, empty
    'req.hdr_cnt(empty)': '1',
    'req.fhdr(empty)': '',
    'req.hdr(comma,-1)': '', // haproxy: "," is two empty values
    'req.hdr_cnt(comma)': '2',
    'req.hdr(X-UP)': 'U', // names are compared case-insensitively
  }, c);
});

test('header names are lower-cased at compile time; deep negative occurrences are refused', () => {
  const e = compile('req.hdr(X-Forwarded-For,-2)');
  assert.deepEqual(e.args, ['x-forwarded-for', -2]);
  assert.equal(compileSampleExpr('req.hdr(x,-10)', env()) instanceof Object, true);
  // haproxy val_hdr(): MAX_HDR_HISTORY is 10
  assert.match(compileSampleExpr('req.hdr(x,-11)', env()) as string, /header occurrence must be >= -10/);
  assert.match(compileSampleExpr('res.fhdr(x,-11)', env()) as string, /header occurrence must be >= -10/);
});

test('hdr_val converts with strl2ic (32-bit, a space is a negative digit)', () => {
  const c = ctxOf({ req: LIST_REQ });
  evs({
    'req.hdr_val(v,1)': '-58', // haproxy: "1 2" is 1*10 + (' ' - '0') ... = -58
    'req.hdr_val(v,2)': '-12',
    'req.hdr_val(v)': '1215752191', // haproxy: 99999999999 wraps at 32 bits
    'req.hdr_val(v,3)': '1215752191',
    'hdr_val(v,-3)': '-58',
    'req.hdr_val(nope)': null,
  }, c);
  assert.equal(compile('req.hdr_val(v)').eval(c)!.t, T_SINT);
});

test('hdr_ip: IPv4, IPv4:port (0-65535, "-" reads as 0), IPv6, nothing else', () => {
  const c = ctxOf({
    req: 'GET / HTTP/1.1\r\nHost: h\r\nip: 1.2.3.4, 1.2.3.4:80, 1.2.3.4:65536, ::1, [::1], 1.2.3, 01.2.3.4, 1.2.3.4.5, ::ffff:1.2.3.4, 1.2.3.4:, 1.2.3.4:-\r\n\r\n',
  });
  // all haproxy
  evs({
    'req.hdr_ip(ip,1)': '1.2.3.4',
    'req.hdr_ip(ip,2)': '1.2.3.4',
    'req.hdr_ip(ip,3)': null,
    'req.hdr_ip(ip,4)': '::1',
    'req.hdr_ip(ip,5)': null,
    'req.hdr_ip(ip,6)': null,
    'req.hdr_ip(ip,7)': '1.2.3.4',
    'req.hdr_ip(ip,8)': null,
    'req.hdr_ip(ip,9)': '::ffff:1.2.3.4',
    'req.hdr_ip(ip,10)': null,
    'req.hdr_ip(ip)': '1.2.3.4', // the last one, "1.2.3.4:-"
    'hdr_ip(ip,-2)': null,
  }, c);
  const s = compile('req.hdr_ip(ip,4)').eval(c)!;
  assert.equal(s.t, T_IPV6);
  assert.equal(ipv6Text(s.b!), '::1');
  const s4 = compile('req.hdr_ip(ip,7)').eval(c)!;
  assert.equal(s4.t, T_IPV4);
  assert.equal(ipv4Text(s4.n), '1.2.3.4');
});

test('req.hdr_names and req.hdrs give lower-case names, as HTX stores them', () => {
  const c = ctxOf({ req: 'GET / HTTP/1.1\r\nHost: h\r\nCookie: c=9\r\nX-Big: 7, 8\r\n\r\n' });
  evs({
    'req.hdr_names': 'host,cookie,x-big', // haproxy
    'req.hdr_names(;x)': 'host;cookie;x-big', // haproxy: first character only
    'req.hdrs': 'host: h\r\ncookie: c=9\r\nx-big: 7, 8\r\n\r\n',
  }, c);
  // A field added by a rule is seen too.
  c.httpReq!.headers.add('X-Added', 'v');
  assert.equal(ev('req.hdr_names', c), 'host,cookie,x-big,x-added');
  const bin = compile('req.hdrs_bin').eval(c)!;
  assert.equal(bin.t, T_BIN);
  assert.equal(bin.b!.toString('latin1'), '\x04host\x01h\x06cookie\x03c=9\x05x-big\x047, 8\x07x-added\x01v\x00\x00');
});

test('SPOE varints in req.hdrs_bin for long values', () => {
  const long = 'v'.repeat(300);
  const c = ctxOf({ req: `GET / HTTP/1.1\r\nHost: h\r\nx: ${long}\r\n\r\n` });
  const b = compile('req.hdrs_bin').eval(c)!.b!;
  // encode_varint(300): 300|240 = 0xfc, then (300-240)>>4 = 3
  const at = b.indexOf('x') + 1;
  assert.deepEqual([...b.subarray(at, at + 2)], [0xfc, 0x03]);
  assert.equal(b.length, 1 + 4 + 1 + 1 + 1 + 1 + 2 + 300 + 2);
});

/* ---------------- cookies ---------------- */

const COOKIE_REQ =
  'GET /x HTTP/1.1\r\nHost: h\r\nCookie: a=1; b=2,f=5, e=\r\nCookie: $V=1; b = 3 ; n=-7z;g\r\nCookie: q="x;y"; b c=4\r\n\r\n';

test('req.cook: last occurrence, spaces around names and values, $attrs, quotes, commas', () => {
  const c = ctxOf({ req: COOKIE_REQ });
  // all haproxy
  evs({
    'req.cook(b)': '3',
    'req.cook': '1', // no name: the first cookie
    'cook(a)': '1',
    'req.cook(f)': '5',
    'req.cook(e)': null, // "e=" alone in its comma element: not found (loop bound of the C code)
    'req.cook(g)': null, // no '='
    'req.cook(b c)': '4',
    'req.cook(q)': '"x;y"',
    'req.cook(n)': '-7z',
    'req.cook(B)': null, // names are case-sensitive
    'req.cook_cnt(b)': '2',
    'req.cook_cnt': '8',
    'req.cook_cnt(e)': '0',
    'cook_cnt(b)': '2',
    'req.cook_val(n)': '-7',
    'cook_val(b)': '3',
    'cookie(b)': '3',
  }, c);
  assert.equal(ev('req.cook($V)', c), null); // `$` attributes are never cookies
  const h = c.httpReq!.headers;
  assert.deepEqual(cookieOccurrences(h, false, 'b'), ['2', '3']);
  assert.deepEqual(cookieOccurrences(h, false, ''), ['1', '2', '5', '', '3', '-7z', '"x;y"', '4']);
});

const SETCOOKIE_RES =
  'HTTP/1.0 201 Made\r\nContent-Length: 0\r\nSet-Cookie: $x=0; s=v1; b=5\r\nSet-Cookie: t=2; Expires=Wed, 21 Oct 2015 07:28:00 GMT\r\nSet-Cookie: b=7\r\nSet-Cookie: v=12a\r\nX: r1, r2\r\nX: r3\r\nip: 1.2.3.4:-\r\n\r\n';

test('res.cook: the first cookie of each Set-Cookie line (split at commas too)', () => {
  const c = ctxOf({ req: 'PATCH /x HTTP/1.1\r\nHost: h\r\nX: q1, q2\r\n\r\n', res: SETCOOKIE_RES });
  // all haproxy, from http-response set-header
  evs({
    'res.cook(s)': 'v1', // after $x, s is the first cookie
    'res.cook': 'v1',
    'res.cook(b)': '7', // b=5 follows s on its line: not a cookie name there
    'res.cook(t)': '2',
    'res.cook_cnt': '6', // without a name every attribute of a line counts (s, b, t, Expires, b, v)
    'res.cook_cnt(b)': '1',
    'scook(b)': '7',
    'scook_cnt(b)': '1',
    'res.cook_val(v)': '12',
    'scook_val(t)': '2',
    'cookie(b)': '7',
    'cookie(t)': '2',
  }, c);
  assert.deepEqual(cookieOccurrences(c.httpRes!.headers, true, 'b'), ['7']);
});

/* ---------------- the response ---------------- */

test('response fetches; hdr()/cookie() and method follow the direction', () => {
  const c = ctxOf({ req: 'PATCH /x HTTP/1.1\r\nHost: h\r\nX: q1, q2\r\n\r\n', res: SETCOOKIE_RES });
  // all haproxy
  evs({
    'status': '201',
    'res.ver': '1.0',
    'resp_ver': '1.0',
    'res.hdr(x,-2)': 'r2',
    'res.hdr(x)': 'r3',
    'shdr(x,1)': 'r1',
    'res.fhdr(x)': 'r3',
    'res.fhdr(x,1)': 'r1, r2',
    'res.fhdr_cnt(x)': '2',
    'res.hdr_cnt(x)': '3',
    'shdr_cnt(x)': '3',
    'res.hdr_ip(ip)': '1.2.3.4',
    'shdr_ip(ip)': '1.2.3.4',
    'res.hdr_val(set-cookie,-1)': '0',
    'res.hdr_names': 'content-length,set-cookie,set-cookie,set-cookie,set-cookie,x,x,ip',
    'hdr(x)': 'r3', // the response's
    'method': null, // PATCH is "other" to HAProxy: none in the response direction
    'capture.req.method': 'PATCH',
    'capture.req.uri': '/x',
    'capture.req.ver': 'HTTP/1.1',
    'capture.res.ver': 'HTTP/1.0',
    'req.proto_http': null, // never in the response direction
  }, c);
  assert.equal(ev('res.hdrs', c)!.split('\r\n')[0], 'content-length: 0');
  const get = ctxOf({ req: 'GET /x HTTP/1.1\r\nHost: h\r\n\r\n', res: SETCOOKIE_RES });
  assert.equal(ev('method', get), 'GET');
  const foo = ctxOf({ req: 'FOO /x HTTP/1.1\r\nHost: h\r\n\r\n' });
  assert.equal(ev('method', foo), 'FOO');
  assert.equal(compile('method').eval(foo)!.t, T_METH);
  // status of a generated response without a response head
  assert.equal(ev('status', ctxOf({ req: 'GET / HTTP/1.1\r\nHost: h\r\n\r\n', status: 403 })), '403');
  assert.equal(ev('status', ctxOf({ req: 'GET / HTTP/1.1\r\nHost: h\r\n\r\n' })), null);
  assert.equal(ev('capture.res.ver', ctxOf({ req: 'GET / HTTP/1.1\r\nHost: h\r\n\r\n' })), null);
});

test('response-only fetches are refused in request rules', () => {
  const e = compileSampleExpr('res.hdr(x)', env(AT_HTTP_REQ));
  assert.equal(typeof e, 'string');
  assert.match(e as string, /HTTP response headers/);
  assert.equal(typeof compileSampleExpr('status', env(AT_HTTP_REQ)), 'string');
  assert.equal(typeof compileSampleExpr('shdr(x)', env(AT_HTTP_RES)), 'object');
  assert.equal(typeof compileSampleExpr('status', env(AT_LOG)), 'object');
  // HAProxy allows request-header fetches in tcp-request content (SMP_VAL_FE_REQ_CNT).
  assert.equal(typeof compileSampleExpr('req.hdr(x)', env(AT_REQ_CNT)), 'object');
});

/* ---------------- the URI ---------------- */

test('url_param: first match, delimiters, no name, empty values, names without "="', () => {
  const c = ctxOf({ req: 'GET /p?a=1;ab=2&d&e=&a=3?x/x=9;n=42abc HTTP/1.1\r\nHost: h\r\n\r\n' });
  // all haproxy
  evs({
    'url_param(a)': '1',
    'urlp(a)': '1',
    'url_param(ab)': '2',
    'url_param(d)': null,
    'url_param(e)': '',
    'url_param': '1', // no name: the value after the first '='
    'url_param(a,;)': '3?x/x=9', // the query starts after the first ';', '?' is no delimiter then
    'url_param(x,/)': '9', // from the first '/' of the URI
    'urlp_val(n)': '42',
    'url_param(zz)': null,
    'query': 'a=1;ab=2&d&e=&a=3?x/x=9;n=42abc',
  }, c);
  const t = c.httpReq!.target;
  assert.deepEqual(paramOccurrences(t, t.indexOf('?') + 1, 'a', 0x3f), ['1', '3']);
  assert.deepEqual(paramOccurrences(t, t.indexOf('?') + 1, '', 0x3f), ['1', '2', '', '3', '9', '42abc']);
  const c2 = ctxOf({ req: 'GET /a;c=5?x&b=7&=9;d HTTP/1.0\r\n\r\n' });
  evs({ 'url_param': '7', 'url_param(b)': '7', 'url_param(c,;)': '5?x', 'url_param(d)': null }, c2); // haproxy
  evs({ 'url_param(a)': null, 'query': null }, ctxOf({ req: 'GET /a HTTP/1.1\r\nHost: h\r\n\r\n' }));
  evs({ 'url_param(a)': null, 'query': '' }, ctxOf({ req: 'GET /a? HTTP/1.1\r\nHost: h\r\n\r\n' }));
});

test('path, pathq, url, base on origin-form', () => {
  const c = ctxOf({ req: LIST_REQ });
  // all haproxy
  evs({
    'path': '/p/q',
    'pathq': '/p/q?a=1&a=2',
    'url': '/p/q?a=1&a=2',
    'base': 'h.com/p/q',
    'baseq': 'h.com/p/q?a=1&a=2',
    'base32': '2316141441',
    'url32': '373688161',
    'url_port': null, // not an http:// URL
    'url_ip': null,
    'capture.req.uri': '/p/q?a=1&a=2',
  }, c);
  // The first element of the first Host, and signed chars in the hash (haproxy)
  const c2 = ctxOf({ req: 'GET /a;c=5?x&b=7&=9;d HTTP/1.0\r\nHOST: H\xe9.com,other\r\n\r\n' });
  evs({ 'base': 'H\xe9.com/a;c=5', 'baseq': 'H\xe9.com/a;c=5?x&b=7&=9;d', 'base32': '2534112277', 'url32': '3399119374', 'path': '/a;c=5' }, c2);
});

test('absolute-form URIs: path after the authority, none without a "/"', () => {
  // haproxy (no default port in these targets: HAProxy's normalisation does not apply)
  const ip = ctxOf({ req: 'GET http://1.2.3.4:8080/z?k HTTP/1.1\r\nhost: 1.2.3.4:8080\r\n\r\n' });
  evs({
    'url': 'http://1.2.3.4:8080/z?k', 'path': '/z', 'pathq': '/z?k', 'query': 'k', 'base': '1.2.3.4:8080/z', 'baseq': '1.2.3.4:8080/z?k',
    'url_port': '8080', 'url_ip': '1.2.3.4', 'base32': '829595628', 'url32': '1203506932', 'capture.req.uri': '/z?k',
  }, ip);
  const nopath = ctxOf({ req: 'GET http://ex.com HTTP/1.1\r\nhost: ex.com\r\n\r\n' });
  evs({
    'url': 'http://ex.com', 'path': null, 'pathq': null, 'query': null, 'base': 'ex.com', 'baseq': 'ex.com',
    'base32': '3582357527', 'url32': '3582357527', 'capture.req.uri': null, 'url_port': null,
  }, nopath);
  // No Host (HTTP/1.0): base is the path alone; url_port wraps at 16 bits
  const bigport = ctxOf({ req: 'GET http://1.2.3.4:70000 HTTP/1.0\r\n\r\n' });
  evs({ 'url_port': '4464', 'url_ip': '1.2.3.4', 'base': null, 'path': null, 'base32': '2874071335' }, bigport);
  const v6 = ctxOf({ req: 'GET http://[::1]:81/ HTTP/1.0\r\n\r\n' });
  evs({ 'url_port': null, 'url_ip': null, 'base': '/', 'path': '/', 'capture.req.uri': '/' }, v6);
  const tls = ctxOf({ req: 'GET https://1.2.3.4/ HTTP/1.0\r\n\r\n' });
  evs({ 'url_port': '443', 'url_ip': '1.2.3.4', 'base32': '2118074832' }, tls);
  const name = ctxOf({ req: 'GET http://example.com:8080/ HTTP/1.1\r\nHost: example.com:8080\r\n\r\n' });
  evs({ 'url_port': null, 'url_ip': null }, name); // no DNS at run time
});

test('asterisk-form, CONNECT and an empty Host', () => {
  // haproxy
  const star = ctxOf({ req: 'OPTIONS * HTTP/1.0\r\n\r\n' });
  evs({ 'url': '*', 'path': null, 'base': null, 'base32': '2874071335', 'capture.req.method': 'OPTIONS', 'capture.req.uri': null, 'method': 'OPTIONS' }, star);
  const conn = ctxOf({ req: 'CONNECT h.com:443 HTTP/1.1\r\nHost: h.com:443\r\n\r\n' });
  evs({ 'url': 'h.com:443', 'path': null, 'pathq': null, 'query': null, 'url_port': null, 'capture.req.uri': null, 'method': 'CONNECT' }, conn);
  // haproxy: an empty Host gives the path alone
  const empty = ctxOf({ req: 'PATCH / HTTP/1.1\r\nHost: \r\n\r\n' });
  evs({ 'base': '/', 'baseq': '/', 'base32': '2118074832', 'method': 'PATCH', 'req.hdrs': 'host: \r\n\r\n' }, empty);
});

test('base32+src / url32+src: the hash then the address', () => {
  const c = ctxOf({ req: LIST_REQ, src: '10.1.2.3' });
  const smp = new Sample();
  assert.equal(findFetch('base32+src')!.fetch(smp, c, []), true);
  assert.equal(smp.b!.toString('hex'), (2316141441).toString(16).padStart(8, '0') + '0a010203');
  assert.equal(findFetch('url32+src')!.fetch(smp, ctxOf({ req: LIST_REQ, src: '2001:db8::1' }), []), true);
  assert.equal(smp.b!.length, 20);
  assert.equal(smp.b!.readUInt32BE(0), 373688161);
  assert.equal(findFetch('base32+src')!.fetch(smp, ctxOf({ req: LIST_REQ, src: '/run/sock' }), []), false);
});

test('versions and the captured request line', () => {
  const c10 = ctxOf({ req: 'GET /a?b HTTP/1.0\r\n\r\n' });
  evs({ 'req.ver': '1.0', 'req_ver': '1.0', 'capture.req.ver': 'HTTP/1.0', 'capture.req.method': 'GET', 'capture.req.uri': '/a?b' }, c10);
  // txn->uri is cut at 1023 characters: the URI too
  const long = '/' + 'x'.repeat(1100);
  const c = ctxOf({ req: `GET ${long} HTTP/1.1\r\nHost: h\r\n\r\n` });
  assert.equal(ev('capture.req.uri', c), long.slice(0, 1023 - 4));
  assert.equal(ev('url', c), long);
});

/* ---------------- the body ---------------- */

test('req.body, body_len, body_size, body_param', () => {
  const c = ctxOf({ req: 'POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 16\r\n\r\n', body: 'k=v1&z&k=v2;q=1x' });
  // all haproxy
  evs({
    'req.body': 'k=v1&z&k=v2;q=1x',
    'req.body_len': '16',
    'req.body_size': '16',
    'req.body_param(k)': 'v1',
    'req.body_param': 'v1',
    'req.body_param(z)': null,
    'req.body_param(q)': '1x',
  }, c);
  assert.equal(compile('req.body').eval(c)!.t, T_BIN);
  assert.deepEqual(paramOccurrences('k=v1&z&k=v2;q=1x', 0, 'k', 0x26), ['v1', 'v2']);
  // Part of the body: the advertised size, and it may change
  const part = ctxOf({ req: 'POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n', body: 'k=ab' });
  evs({ 'req.body_len': '4', 'req.body_size': '10' }, part);
  assert.equal(compile('req.body').eval(part)!.flags & F_MAY_CHANGE, F_MAY_CHANGE);
  // Nothing buffered: an empty block
  const none = ctxOf({ req: 'GET / HTTP/1.1\r\nHost: h\r\n\r\n' });
  evs({ 'req.body': '', 'req.body_len': '0', 'req.body_size': '0', 'req.body_param': null }, none);
});

/* ---------------- no HTTP ---------------- */

test('no request: no sample from any fetch', () => {
  const c = ctxOf({});
  for (const e of ['req.hdr(x)', 'req.hdr_cnt', 'path', 'url', 'base', 'base32', 'method', 'req.cook(a)', 'req.cook_cnt', 'url_param(a)', 'req.ver', 'req.body', 'req.body_len', 'req.hdrs', 'capture.req.uri', 'res.hdr(x)', 'status', 'hdr(x)', 'cookie(a)']) {
    assert.equal(ev(e, c), null, e);
  }
});

test('req.proto_http: the parsed request, else the buffered bytes (tcp-request content)', () => {
  const yes = compile('req.proto_http', AT_REQ_CNT);
  const smp = yes.eval(ctxOf({ req: 'GET / HTTP/1.1\r\nHost: h\r\n\r\n' }))!;
  assert.equal(smp.t, T_BOOL);
  assert.equal(smp.n, 1);
  assert.equal(yes.evalText(ctxOf({ payload: 'GET / HTTP/1.1\r\nHost: h\r\n\r\n' })), '1');
  // incomplete: wait for more unless nothing more can come
  const part = ctxOf({ payload: 'GET / HT' });
  assert.equal(yes.eval(part), null);
  assert.equal(yes.smp.flags & F_MAY_CHANGE, F_MAY_CHANGE);
  assert.equal(yes.eval(ctxOf({ payload: 'GET / HT', final: true })), null);
  assert.equal(yes.smp.flags & F_MAY_CHANGE, 0);
  assert.equal(yes.eval(ctxOf({ payload: '\x16\x03\x01\x00\x05hello\r\n\r\n' })), null);
  assert.equal(yes.smp.flags & F_MAY_CHANGE, 0);
  assert.equal(ev('req_proto_http', ctxOf({ req: 'GET / HTTP/1.1\r\nHost: h\r\n\r\n' })), '1');
});

/* ---------------- ACL keywords ---------------- */

test('derived ACL keywords of http_acl.c, each on a registered fetch', () => {
  assert.equal(HTTP_ACL_KEYWORDS.length, 67);
  const byName = new Map(HTTP_ACL_KEYWORDS.map(k => [k.name, k]));
  assert.equal(byName.size, 67);
  assert.deepEqual(byName.get('hdr'), { name: 'hdr', fetch: 'req.hdr', match: 'str' });
  assert.deepEqual(byName.get('hdr_beg'), { name: 'hdr_beg', fetch: 'req.hdr', match: 'beg' });
  assert.deepEqual(byName.get('cook_sub'), { name: 'cook_sub', fetch: 'req.cook', match: 'sub' });
  assert.deepEqual(byName.get('scook_dom'), { name: 'scook_dom', fetch: 'res.cook', match: 'dom' });
  assert.deepEqual(byName.get('shdr_len'), { name: 'shdr_len', fetch: 'res.hdr', match: 'len' });
  assert.deepEqual(byName.get('method'), { name: 'method', fetch: 'method', match: 'meth' });
  assert.deepEqual(byName.get('req_ver'), { name: 'req_ver', fetch: 'req.ver', match: 'str' });
  assert.deepEqual(byName.get('resp_ver'), { name: 'resp_ver', fetch: 'res.ver', match: 'str' });
  for (const p of ['base', 'path', 'url', 'urlp']) {
    for (const m of ['', '_beg', '_dir', '_dom', '_end', '_len', '_reg', '_sub']) assert.ok(byName.has(p + m), p + m);
  }
  for (const k of HTTP_ACL_KEYWORDS) assert.ok(findFetch(k.fetch), `${k.name}: fetch ${k.fetch}`);
});

test('output types of the main fetches', () => {
  const want: Record<string, number> = {
    'req.hdr': T_STR, 'req.hdr_cnt': T_SINT, 'req.hdr_ip': T_IPV4, 'req.hdr_val': T_SINT, 'base32': T_SINT,
    'method': T_METH, 'req.body': T_BIN, 'req.hdrs': T_BIN, 'req.body_param': T_BIN, 'status': T_SINT,
    'url_ip': T_IPV4, 'url_port': T_SINT, 'req.proto_http': T_BOOL, 'res.cook_cnt': T_SINT,
  };
  for (const [name, t] of Object.entries(want)) assert.equal(findFetch(name)!.out, t, name);
});
