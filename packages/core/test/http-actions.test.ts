/**
 * HTTP rule actions (http/actions.ts), compiled by the real
 * compileProxyRules() and run by runRules() on parsed heads. Expected
 * bytes, statuses and messages marked "haproxy" were produced by haproxy
 * 2.6.12 (/usr/sbin/haproxy -db on loopback, raw sockets) from the same
 * rules.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../src/rules/fetches';
import '../src/http/fetches';
import { anchoredFirstChar } from '../src/http/actions';
import { registerFetches, T_STR, USE_INTERNAL } from '../src/rules/sample';
import {
  compileProxyRules, runRules, ACT_CONTINUE, ACT_STOP, ACT_DONE, ACT_DENY, ACT_ERROR, ACT_TARPIT,
  type RuleHost, type RuleSetName,
} from '../src/rules/rule-set';
import { newProxyConfig } from '../src/proxy/sections';
import { parseRequestHead, parseResponseHead, METH_GET, METH_PUT, type RequestHead, type ResponseHead } from '../src/http/h1';
import { EMPTY_LOG_RECORD } from '../src/log/log-format';
import { buildReply, type HttpReplySpec } from '../src/http/reply';
import type { ProxyConfig } from '../src/config/compiled';
import type { ProxyRuntime } from '../src/engine/proxy-runtime';

// Hostile samples: what a client could put in a header, served by fetches
// that need no request.
registerFetches([
  { name: 'test.crlf', out: T_STR, use: USE_INTERNAL, fetch: (smp) => smp.setStr('a\r\nb') },
  { name: 'test.ctl', out: T_STR, use: USE_INTERNAL, fetch: (smp) => smp.setStr('x\u0000y\u007fz\tw') },
]);

interface Compiled {
  run(host: Host): number;
  errors: string[];
  warnings: string[];
  proxy: ProxyConfig;
}

function compile(set: RuleSetName, lines: string[][], files: Record<string, string> = {}, cfg?: (p: ProxyConfig) => void,
  httpErrors?: Record<string, Record<number, string>>): Compiled {
  const p = newProxyConfig('fe', 't', 1);
  p.mode = 'http';
  p.cap = { fe: true, be: true };
  cfg?.(p);
  lines.forEach((words, i) => p.rules.push({ file: 't', line: i + 1, set, words, aclCount: 0, origin: '' }));
  const errors: string[] = [];
  const warnings: string[] = [];
  const rules = compileProxyRules(p, { proxies: [p], file: (path) => files[path], httpErrors }, {
    error: (_f, _l, _k, m) => errors.push(m),
    warn: (_f, _l, _k, m) => warnings.push(m),
  });
  return { run: (host) => runRules(rules.list(set), host, true), errors, warnings, proxy: p };
}

/** One rule, which must compile. */
function rule(set: RuleSetName, words: string[], files?: Record<string, string>): Compiled {
  const c = compile(set, [words], files);
  assert.deepEqual(c.errors, [], words.join(' '));
  return c;
}

/** The error (or nothing) of one rule. */
function parseError(set: RuleSetName, words: string[], files?: Record<string, string>): string | undefined {
  return compile(set, [words], files).errors[0];
}

interface Host extends RuleHost {
  readonly httpReq: RequestHead | null;
  readonly httpRes: ResponseHead | null;
}

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

function host(req: string | null, res: string | null = null, proxy?: ProxyConfig): Host {
  const p = proxy ?? Object.assign(newProxyConfig('fe', 't', 1), { mode: 'http' });
  const fe = { cfg: p } as unknown as ProxyRuntime;
  const h = {
    fe, be: null, srv: null, engine: { actconn: 0, proxies: [] },
    srcIp: () => '192.0.2.7', srcPort: () => 40000, dstIp: () => '127.0.0.1', dstPort: () => 80,
    reqPayload: () => null, resPayload: () => null, reqFinal: true, tlsView: () => null,
    httpReq: req === null ? null : reqHead(req),
    httpRes: res === null ? null : resHead(res),
    reqBody: () => null,
    status: -1,
    vars: { sess: null, txn: null, req: null, res: null },
    reply: null as unknown,
    logRecord: () => EMPTY_LOG_RECORD,
  };
  return h as unknown as Host;
}

const GET = 'GET /a/b?x=1 HTTP/1.1\r\nHost: h.example:81\r\nX-A: abc, a2\r\nx-b: 1\r\nX-A: zz\r\n\r\n';
const RES = 'HTTP/1.1 200 OK\r\nX-Srv: a, b ,c\r\nSet-Cookie: s=1\r\nContent-Length: 0\r\n\r\n';

/** Fields of a head as [name, value] pairs, in order. */
function fields(h: RequestHead | ResponseHead): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < h.headers.count; i++) out.push([h.headers.name(i), h.headers.value(i)]);
  return out;
}

function replyOf(h: Host): HttpReplySpec {
  assert.ok(h.reply !== null, 'no reply set');
  return h.reply as HttpReplySpec;
}

/** The bytes the stream sends for a reply (HTTP/1.1 client keeping the connection). */
function wire(h: Host, p?: ProxyConfig): string {
  return buildReply(replyOf(h), p ?? h.fe.cfg, null).keepAlive.toString('latin1');
}

/* ---------------- allow, deny, tarpit, return ---------------- */

test('allow stops the rule set', () => {
  const c = compile('http-request', [['allow'], ['set-header', 'X-Z', '1']]);
  const h = host(GET);
  assert.equal(c.run(h), ACT_STOP);
  assert.equal(h.httpReq!.headers.get('x-z'), undefined);
  assert.equal(parseError('http-request', ['allow', 'foo']), "'http-request allow' : expects either 'if' or 'unless' followed by a condition but found 'foo'");
});

test('deny: the proxy\'s page for 403, P flag (haproxy bytes)', () => {
  const h = host(GET);
  assert.equal(rule('http-request', ['deny']).run(h), ACT_DENY);
  const s = replyOf(h);
  assert.equal(s.status, 403);
  assert.equal(s.errorfile, true);
  assert.equal(s.term1, 'P');
  assert.equal(wire(h),
    'HTTP/1.1 403 Forbidden\r\ncontent-length: 93\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n' +
    '<html><body><h1>403 Forbidden</h1>\nRequest forbidden by administrative rules.\n</body></html>\n');
});

test('deny deny_status, tarpit and http-response deny defaults', () => {
  let h = host(GET);
  assert.equal(rule('http-request', ['deny', 'deny_status', '429']).run(h), ACT_DENY);
  assert.equal(replyOf(h).status, 429);
  assert.match(wire(h), /^HTTP\/1\.1 429 Too Many Requests\r\ncontent-length: 117\r\n/);
  h = host(GET);
  assert.equal(rule('http-request', ['tarpit']).run(h), ACT_TARPIT);
  assert.equal(replyOf(h).status, 500);
  assert.equal(replyOf(h).term1, 'P');
  h = host(GET, RES);
  assert.equal(rule('http-response', ['deny']).run(h), ACT_DENY);
  assert.equal(replyOf(h).status, 502);
  assert.match(wire(h), /^HTTP\/1\.1 502 Bad Gateway\r\n/);
});

test('deny with a body, content-type and hdr (haproxy bytes)', () => {
  const h = host(GET);
  const c = rule('http-request', ['deny', 'status', '404', 'content-type', 'text/plain', 'string', 'nope', 'hdr', 'x-a', 'b %[path]']);
  assert.equal(c.run(h), ACT_DENY);
  assert.equal(wire(h), 'HTTP/1.1 404 Not Found\r\nx-a: b /a/b\r\ncontent-length: 4\r\ncontent-type: text/plain\r\n\r\nnope');
  // deny_status followed by other arguments is `status`.
  const h2 = host(GET);
  rule('http-request', ['deny', 'deny_status', '404', 'content-type', 'text/plain', 'string', 'x']).run(h2);
  assert.equal(replyOf(h2).status, 404);
  assert.equal(replyOf(h2).body!.toString(), 'x');
  // Arguments other than deny_status alone: no errorfile, an empty reply (haproxy bytes).
  const h3 = host(GET);
  rule('http-request', ['deny', 'status', '404']).run(h3);
  assert.equal(wire(h3), 'HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n');
  const h4 = host(GET);
  assert.equal(rule('http-request', ['tarpit', 'deny_status', '429', 'hdr', 'x', 'y']).run(h4), ACT_TARPIT);
  assert.equal(wire(h4), 'HTTP/1.1 429 Too Many Requests\r\nx: y\r\ncontent-length: 0\r\n\r\n');
  // A log-format body that renders empty: no content-type (haproxy bytes).
  const h5 = host(GET);
  rule('http-request', ['return', 'content-type', 'text/plain', 'lf-string', '%[req.hdr(nope)]']).run(h5);
  assert.equal(wire(h5), 'HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n');
});

test('return: lf-string body, hdr, empty headers skipped (haproxy bytes)', () => {
  const h = host(GET);
  const c = rule('http-request', ['return', 'status', '201', 'content-type', 'text/plain', 'lf-string', 'hello %[path]', 'hdr', 'X-A', 'b', 'hdr', 'x-empty', '%[req.hdr(nope)]']);
  assert.equal(c.run(h), ACT_DONE);
  const s = replyOf(h);
  assert.equal(s.term1, 'L');
  assert.equal(s.errorfile, false);
  assert.deepEqual(s.headers, [['X-A', 'b']]);
  assert.equal(wire(h), 'HTTP/1.1 201 Created\r\nx-a: b\r\ncontent-length: 10\r\ncontent-type: text/plain\r\n\r\nhello /a/b');
});

test('return without payload, 204, default-errorfiles, errorfile (haproxy bytes)', () => {
  let h = host(GET);
  rule('http-request', ['return']).run(h);
  assert.equal(wire(h), 'HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n');
  h = host(GET);
  rule('http-request', ['return', 'status', '204']).run(h);
  assert.equal(wire(h), 'HTTP/1.1 204 No Content\r\n\r\n');
  h = host(GET);
  rule('http-request', ['return', 'status', '503', 'default-errorfiles']).run(h);
  assert.match(wire(h), /^HTTP\/1\.1 503 Service Unavailable\r\ncontent-length: 107\r\ncache-control: no-cache\r\ncontent-type: text\/html\r\n\r\n/);
  // An errorfile's page is sent as it is normalised; the rule's status is
  // what the log shows (haproxy logs 200 here and sends the 418 page).
  const files = { '/e.http': 'HTTP/1.0 418 Teapot\r\nX-Custom: 1\r\nContent-Length: 3\r\n\r\nabc' };
  h = host(GET);
  rule('http-request', ['return', 'errorfile', '/e.http'], files).run(h);
  assert.equal(replyOf(h).status, 200);
  assert.equal(wire(h), 'HTTP/1.0 418 Teapot\r\nx-custom: 1\r\ncontent-length: 3\r\n\r\nabc');
  h = host(GET);
  assert.equal(rule('http-request', ['deny', 'errorfile', '/e.http'], files).run(h), ACT_DENY);
  assert.equal(replyOf(h).status, 403);
  assert.equal(replyOf(h).page!.toString('latin1').slice(0, 19), 'HTTP/1.0 418 Teapot');
});

test('return: file and lf-file are read through the config files', () => {
  const files = { '/b.txt': 'static body\n', '/lf.txt': 'path=%[path]' };
  let h = host(GET);
  rule('http-request', ['return', 'content-type', 'text/plain', 'file', '/b.txt'], files).run(h);
  assert.equal(replyOf(h).body!.toString('latin1'), 'static body\n');
  h = host(GET);
  rule('http-request', ['return', 'content-type', 'text/plain', 'lf-file', '/lf.txt'], files).run(h);
  assert.equal(replyOf(h).body!.toString('latin1'), 'path=/a/b');
});

test('reply statuses use HAProxy\'s reason phrases', () => {
  let h = host(GET);
  rule('http-request', ['return', 'status', '302', 'content-type', 'text/plain', 'string', 'x']).run(h);
  assert.equal(replyOf(h).reason, 'Moved Temporarily');
  h = host(GET);
  rule('http-request', ['return', 'status', '502', 'content-type', 'text/plain', 'string', 'x']).run(h);
  assert.equal(replyOf(h).reason, 'Bad Gateway or Proxy Error');
});

test('reply argument errors (haproxy messages)', () => {
  const files = { '/bad.http': 'garbage' };
  const cases: Array<[string[], string]> = [
    [['deny', 'status', '99'], "Unexpected status code '99'"],
    [['deny', 'status', 'abc'], "Unexpected status code '0'"],
    [['deny', 'foo'], "expects either 'if' or 'unless' followed by a condition but found 'foo'"],
    [['deny', 'deny_status', '418'], "status code '418' not handled by default with 'default-errorfiles' argument."],
    [['deny', 'deny_status', '403', 'foo'], "expects either 'if' or 'unless' followed by a condition but found 'foo'"],
    [['deny', 'deny_status'], "'status' expects <status_code> as argument"],
    [['deny', 'string', 'x'], 'a content type must be defined when non-empty payload is configured'],
    [['deny', 'hdr', 'x'], "'hdr' expects <name> and <value> as arguments"],
    [['return', 'lf-string', 'x'], 'a content type must be defined with a log-format payload'],
    [['return', 'string', 'x', 'string', 'y'], "unexpected 'string' argument, 'string' already defined"],
    [['return', 'status', '204', 'content-type', 't', 'string', 'x'], 'No body expected for 204 responses'],
    [['return', 'errorfile', '/nonexist'], "error opening file '/nonexist'"],
    [['return', 'string', ''], "'string' expects <str> as argument"],
    [['return', 'lf-string', '%[nope]', 'content-type', 't'], "failed to parse sample expression <nope> : unknown fetch method 'nope'"],
    [['return', 'hdr', 'a b', 'c'], "'hdr' : invalid header name 'a b'"],
  ];
  for (const [words, msg] of cases) assert.equal(parseError('http-request', words, files), `'http-request ${words[0]}' : ${msg}`, words.join(' '));
  assert.match(parseError('http-request', ['return', 'errorfile', '/bad.http'], files)!, /'\/bad\.http': unable to parse headers/);
  assert.equal(parseError('http-request', ['return', 'errorfiles', 'site']), "'http-request return' : unknown http-errors section 'site' referenced by an http reply");
  assert.equal(parseError('http-request', ['return', 'status', '418', 'errorfiles', 'site']), "'http-request return' : status code '418' not handled by default with 'errorfiles' argument.");
});

test('errorfiles <name> in a reply: the section\'s page for the status, else no payload (haproxy bytes)', () => {
  const page = 'HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 9\r\nx-from: section\r\n\r\nsection!\n';
  const sections = { site: { 403: page } };
  let c = compile('http-request', [['deny', 'status', '403', 'errorfiles', 'site', 'hdr', 'x-ignored', 'foo']], {}, undefined, sections);
  assert.deepEqual(c.errors, []);
  assert.deepEqual(c.warnings, ['hdr parameters ignored by the http reply when used with an errorfile.']);
  let h = host(GET);
  assert.equal(c.run(h), ACT_DENY);
  assert.equal(wire(h), page);
  // haproxy 2.6.12: warning "status '404' referenced by an http reply not
  // declared in http-errors section 'site'", then this exact reply.
  c = compile('http-request', [['return', 'status', '404', 'errorfiles', 'site']], {}, undefined, sections);
  assert.deepEqual(c.warnings, ["status '404' referenced by an http reply not declared in http-errors section 'site'."]);
  h = host(GET);
  assert.equal(c.run(h), ACT_DONE);
  assert.equal(wire(h), 'HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n');
});

test('reply warnings: ignored content-type and hdr (haproxy texts)', () => {
  let c = compile('http-request', [['return', 'hdr', 'content-length', '5']]);
  assert.deepEqual(c.warnings, ["header 'content-length' always ignored by the http reply."]);
  c = compile('http-request', [['return', 'content-type', 'text/plain']]);
  assert.deepEqual(c.warnings, ["content-type 'text/plain' ignored by the http reply because neither errorfile nor payload defined."]);
  c = compile('http-request', [['return', 'status', '503', 'content-type', 'text/plain', 'hdr', 'a', 'b', 'default-errorfiles']]);
  assert.equal(c.warnings.length, 2);
  assert.deepEqual(c.errors, []);
});

/* ---------------- redirect ---------------- */

test('redirect prefix, scheme and location (haproxy bytes)', () => {
  const cases: Array<[string, string[], string]> = [
    ['GET /p1/a?q=1 HTTP/1.1\r\nHost: h.example:81\r\n\r\n', ['redirect', 'prefix', 'https://ex.com', 'code', '301'],
      'HTTP/1.1 301 Moved Permanently\r\ncontent-length: 0\r\nlocation: https://ex.com/p1/a?q=1\r\n\r\n'],
    ['GET /p2/a?q=1 HTTP/1.1\r\nHost: h.example:81\r\n\r\n', ['redirect', 'prefix', 'https://ex.com', 'drop-query', 'append-slash'],
      'HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: https://ex.com/p2/a/\r\ncache-control: no-cache\r\n\r\n'],
    ['GET /s1/x?y HTTP/1.1\r\nHost: h.example:81\r\n\r\n', ['redirect', 'scheme', 'https'],
      'HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: https://h.example:81/s1/x?y\r\ncache-control: no-cache\r\n\r\n'],
    ['GET /s2 HTTP/1.1\r\nHost: h.example:81\r\n\r\n', ['redirect', 'scheme', 'https', 'code', '307', 'set-cookie', 'FOO=bar'],
      'HTTP/1.1 307 Temporary Redirect\r\ncontent-length: 0\r\nlocation: https://h.example:81/s2\r\ncache-control: no-cache\r\nset-cookie: FOO=bar; path=/;\r\n\r\n'],
    ['GET /l1/z HTTP/1.1\r\nHost: h.example:81\r\n\r\n', ['redirect', 'location', '/loc%[path]', 'code', '303', 'clear-cookie', 'FOO='],
      'HTTP/1.1 303 See Other\r\ncontent-length: 0\r\nlocation: /loc/l1/z\r\ncache-control: no-cache\r\nset-cookie: FOO=; path=/; Max-Age=0;\r\n\r\n'],
    ['GET /l2 HTTP/1.1\r\nHost: h.example:81\r\n\r\n', ['redirect', 'location', '/x', 'code', '308'],
      'HTTP/1.1 308 Permanent Redirect\r\ncontent-length: 0\r\nlocation: /x\r\n\r\n'],
    // A prefix of "/" adds nothing: a self-redirection.
    ['GET /p3/x?y HTTP/1.1\r\nHost: h.example:81\r\n\r\n', ['redirect', 'prefix', '/'],
      'HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /p3/x?y\r\ncache-control: no-cache\r\n\r\n'],
  ];
  for (const [req, words, bytes] of cases) {
    const h = host(req);
    assert.equal(rule('http-request', words).run(h), ACT_DONE, words.join(' '));
    const s = replyOf(h);
    assert.equal(s.term1, 'L');
    assert.equal(s.status, Number(bytes.slice(9, 12)));
    assert.equal(wire(h), bytes, words.join(' '));
  }
  // scheme without a Host field: nothing between "://" and the path (haproxy: "https:///sch/x").
  const h0 = host('GET /sch/x HTTP/1.0\r\n\r\n');
  rule('http-request', ['redirect', 'scheme', 'https']).run(h0);
  assert.match(wire(h0), /\r\nlocation: https:\/\/\/sch\/x\r\n/);
  // With a request body still to come, the stream picks the close form: connection: close last (haproxy).
  const h = host('POST /p1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n');
  rule('http-request', ['redirect', 'prefix', 'https://ex.com', 'code', '301']).run(h);
  assert.equal(buildReply(replyOf(h), h.fe.cfg, null).close.toString('latin1'),
    'HTTP/1.1 301 Moved Permanently\r\ncontent-length: 0\r\nlocation: https://ex.com/p1\r\nconnection: close\r\n\r\n');
});

test('redirect: ignore-empty skips the rule; an injected CR/LF is encoded', () => {
  let h = host(GET);
  const c = compile('http-request', [['redirect', 'location', '%[req.hdr(nope)]', 'ignore-empty'], ['set-header', 'X-Z', '1']]);
  assert.equal(c.run(h), ACT_CONTINUE);
  assert.equal(h.reply, null);
  assert.equal(h.httpReq!.headers.get('x-z'), '1');
  h = host(GET);
  rule('http-request', ['redirect', 'location', '/%[test.crlf]']).run(h);
  assert.match(wire(h), /\r\nlocation: \/a%0D%0Ab\r\n/);
});

test('redirect in http-response: location only', () => {
  const h = host(GET, RES);
  assert.equal(rule('http-response', ['redirect', 'location', '/elsewhere']).run(h), ACT_DONE);
  assert.equal(wire(h), 'HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /elsewhere\r\ncache-control: no-cache\r\n\r\n');
  assert.equal(parseError('http-response', ['redirect', 'prefix', '/x']), "'http-response redirect' : response only supports redirect type 'location'");
});

test('redirect argument errors (haproxy messages)', () => {
  const cases: Array<[string[], string]> = [
    [['redirect', 'code', '304', 'location', '/'], "'code': unsupported HTTP code '304' (must be one of 301, 302, 303, 307 or 308)"],
    [['redirect', 'location'], "missing argument for 'location'"],
    [['redirect', 'foo'], "expects 'code', 'prefix', 'location', 'scheme', 'set-cookie', 'clear-cookie', 'drop-query', 'ignore-empty' or 'append-slash' (was 'foo')"],
    [['redirect', 'drop-query'], "redirection type expected ('prefix', 'location', or 'scheme')"],
  ];
  for (const [words, msg] of cases) assert.equal(parseError('http-request', words), `'http-request redirect' : ${msg}`);
  // atol(): "302abc" is 302, as haproxy accepts it.
  assert.equal(parseError('http-request', ['redirect', 'prefix', '/x', 'code', '302abc']), undefined);
});

/* ---------------- auth ---------------- */

test('auth: the 401 page with www-authenticate last, L flag (haproxy bytes)', () => {
  const page = '<html><body><h1>401 Unauthorized</h1>\nYou need a valid user and password to access this content.\n</body></html>\n';
  let h = host(GET);
  assert.equal(rule('http-request', ['auth', 'realm', 'my realm']).run(h), ACT_DONE);
  assert.equal(replyOf(h).status, 401);
  assert.equal(replyOf(h).term1, 'L');
  assert.equal(wire(h), 'HTTP/1.1 401 Unauthorized\r\ncontent-length: 112\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n' +
    'www-authenticate: Basic realm="my realm"\r\n\r\n' + page);
  // Default realm: the proxy's name.
  h = host(GET);
  rule('http-request', ['auth']).run(h);
  assert.match(wire(h), /\r\nwww-authenticate: Basic realm="fe"\r\n\r\n/);
  assert.equal(parseError('http-request', ['auth', 'realm']), "'http-request auth' : missing realm value");
  assert.equal(parseError('http-request', ['auth', 'foo']), "'http-request auth' : expects either 'if' or 'unless' followed by a condition but found 'foo'");
});

test('auth uses the proxy\'s errorfile 401, its own WWW-Authenticate replaced', () => {
  const p = Object.assign(newProxyConfig('px', 't', 1), { mode: 'http' as const });
  p.errorFiles = { 401: 'HTTP/1.1 401 No\r\ncontent-length: 2\r\nwww-authenticate: Bearer\r\n\r\nno' };
  const h = host(GET, null, p);
  rule('http-request', ['auth', 'realm', 'r']).run(h);
  assert.equal(wire(h, p), 'HTTP/1.1 401 No\r\ncontent-length: 2\r\nwww-authenticate: Basic realm="r"\r\n\r\nno');
});

/* ---------------- header rewrites ---------------- */

test('set-header replaces every occurrence at the end, add-header appends', () => {
  const h = host(GET);
  const c = compile('http-request', [['set-header', 'X-A', 'new %[path]'], ['add-header', 'x-b', '2']]);
  assert.equal(c.run(h), ACT_CONTINUE);
  assert.deepEqual(fields(h.httpReq!), [['Host', 'h.example:81'], ['x-b', '1'], ['X-A', 'new /a/b'], ['x-b', '2']]);
});

test('set-header Host keeps the Host index right (haproxy moves it last)', () => {
  const h = host(GET);
  rule('http-request', ['set-header', 'Host', 'new.example']).run(h);
  const r = h.httpReq!;
  assert.equal(r.headers.name(r.headers.count - 1), 'Host');
  assert.equal(r.hostIndex, r.headers.count - 1);
  assert.equal(r.authority, 'new.example');
});

test('set-header Host on an absolute-form request changes the target\'s authority', () => {
  const h = host('GET http://h.example/a?b HTTP/1.1\r\nHost: h.example\r\n\r\n');
  rule('http-request', ['set-header', 'Host', 'o.example:8080']).run(h);
  assert.equal(h.httpReq!.target, 'http://o.example:8080/a?b');
  assert.equal(h.httpReq!.rewritten, true);
});

test('CR/LF from a sample is %-encoded, never reaches a field', () => {
  const h = host(GET);
  rule('http-request', ['set-header', 'X-Inj', '%[test.crlf]|%[test.ctl]']).run(h);
  // http_encode_map: 0x00-0x08, 0x0A-0x1F, 0x7F (HTAB kept), as haproxy sends "a%01b%7Fc\t d".
  assert.equal(h.httpReq!.headers.get('x-inj'), 'a%0D%0Ab|x%00y%7Fz\tw');
});

test('a value that is still not a field value fails the rule (ACT_ERROR)', () => {
  // A config escape can put a real CR/LF in the format; haproxy 2.6.12
  // sends it as is (response splitting), we refuse the rewrite.
  let h = host(GET);
  assert.equal(rule('http-request', ['set-header', 'X-Bad', 'a\r\nInjected: 1']).run(h), ACT_ERROR);
  assert.equal(h.httpReq!.headers.get('x-bad'), undefined);
  h = host(GET, RES);
  assert.equal(rule('http-response', ['add-header', 'X-Bad', 'v\n']).run(h), ACT_ERROR);
  h = host(GET);
  assert.equal(rule('http-request', ['return', 'hdr', 'x', 'a\rb']).run(h), ACT_ERROR);
});

test('framing fields are never rewritten', () => {
  const post = 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n';
  let c = compile('http-request', [['set-header', 'Content-Length', '0']]);
  assert.equal(c.warnings.length, 1);
  let h = host(post);
  assert.equal(c.run(h), ACT_ERROR);
  assert.equal(h.httpReq!.headers.get('content-length'), '5');
  h = host(post);
  assert.equal(rule('http-request', ['add-header', 'Transfer-Encoding', 'chunked']).run(h), ACT_ERROR);
  h = host(post);
  c = rule('http-request', ['del-header', 'content-', '-m', 'beg']);
  assert.equal(c.run(h), ACT_CONTINUE);
  assert.equal(h.httpReq!.headers.get('content-length'), '5');
  h = host(post);
  assert.equal(rule('http-request', ['replace-header', 'content-length', '5', '6']).run(h), ACT_ERROR);
});

test('header names are checked at parse', () => {
  assert.equal(parseError('http-request', ['set-header', 'X A', 'b']), "'http-request set-header' : invalid header name 'X A'");
  assert.equal(parseError('http-request', ['set-header', 'X-A']), "'http-request set-header' : expects exactly 2 arguments");
  assert.equal(parseError('http-request', ['set-header', 'X-A', '']), "'http-request set-header' : expects exactly 2 arguments");
  assert.equal(parseError('http-request', ['set-header', 'X-A', '%zz']),
    "'http-request set-header' : no such format variable 'zz'. If you wanted to emit the '%' character verbatim, you need to use '%%'");
  assert.equal(parseError('http-request', ['set-header', 'X-A', '%[res.hdr(x)]']),
    "'http-request set-header' : failed to parse sample expression <res.hdr(x)> : fetch method 'res.hdr' extracts information from 'HTTP response headers', none of which is available here (http-request)");
  assert.equal(parseError('http-request', ['replace-value', 'x']), "'http-request replace-value' : expects exactly 3 arguments");
  assert.equal(parseError('http-request', ['replace-header', 'X-A', '(', 'b']), "'http-request replace-header' : regex '(' is invalid (error=Unterminated group)");
  // PCRE's leading (?i) is understood (rules/pattern.ts compileRegex()).
  const h = host('GET / HTTP/1.1\r\nHost: WWW.h.example\r\n\r\n');
  rule('http-request', ['replace-header', 'Host', '(?i)^www\\.(.*)$', '\\1']).run(h);
  assert.equal(h.httpReq!.headers.get('host'), 'h.example');
});

test('del-header with -m str|beg|end|sub|reg (names compared lower-case)', () => {
  const raw = 'GET / HTTP/1.1\r\nHost: h\r\nX-Foo: 1\r\nx-bar: 2\r\nY-Foo: 3\r\nX-FOO: 4\r\n\r\n';
  const cases: Array<[string[], string[]]> = [
    [['del-header', 'x-foo'], ['Host', 'x-bar', 'Y-Foo']],
    [['del-header', 'X-', '-m', 'beg'], ['Host', 'Y-Foo']],
    [['del-header', '-FOO', '-m', 'end'], ['Host', 'x-bar']],
    [['del-header', 'OO', '-m', 'sub'], ['Host', 'x-bar']],
    [['del-header', '^x-(foo|bar)$', '-m', 'reg'], ['Host', 'Y-Foo']],
    [['del-header', '^X-', '-m', 'reg'], ['Host', 'X-Foo', 'x-bar', 'Y-Foo', 'X-FOO']],
  ];
  for (const [words, left] of cases) {
    const h = host(raw);
    rule('http-request', words).run(h);
    assert.deepEqual(fields(h.httpReq!).map(f => f[0]), left, words.join(' '));
    assert.equal(h.httpReq!.hostIndex, 0);
  }
  assert.equal(parseError('http-request', ['del-header', 'x', '-m', 'foo']), "'http-request del-header' : -m with unsupported matching method 'foo'");
  assert.equal(parseError('http-request', ['del-header', 'x', '-m', 'found']), "'http-request del-header' : -m with unsupported matching method 'found'");
  assert.equal(parseError('http-request', ['del-header', 'x', '-m']), "'http-request del-header' : -m flag expects exactly 1 argument");
  assert.equal(parseError('http-request', ['del-header']), "'http-request del-header' : expects at least 1 argument");
});

test('replace-header rewrites whole values, replace-value each element (haproxy results)', () => {
  let h = host('GET /rh HTTP/1.1\r\nHost: h\r\nX-A: abc, a2\r\nX-A: zz\r\n\r\n');
  rule('http-request', ['replace-header', 'X-A', '^a(.*)', 'A\\1-%[path]']).run(h);
  assert.deepEqual(h.httpReq!.headers.getAll('x-a'), ['Abc, a2-/rh', 'zz']);
  h = host('GET /rv HTTP/1.1\r\nHost: h\r\nX-A: abc, a2\r\nX-A: zz\r\n\r\n');
  rule('http-request', ['replace-value', 'X-A', '^(.*)$', '<\\1>']).run(h);
  assert.deepEqual(h.httpReq!.headers.getAll('x-a'), ['<abc>,<a2>', '<zz>']);
  h = host(GET, RES);
  rule('http-response', ['replace-value', 'X-Srv', '^(.*)$', '[\\1]']).run(h);
  assert.equal(h.httpRes!.headers.get('x-srv'), '[a],[b],[c]');
  // Elements that do not match keep their blanks; quoted commas do not split.
  h = host('GET / HTTP/1.1\r\nHost: h\r\nX-A: a, b, "c, a"\r\n\r\n');
  rule('http-request', ['replace-value', 'X-A', '^a$', 'Z']).run(h);
  assert.equal(h.httpReq!.headers.get('x-a'), 'Z, b, "c, a"');
  // Empty elements are elements too (haproxy: "a,,a," → "Z,,Z,").
  h = host('GET / HTTP/1.1\r\nHost: h\r\nX-A: a,,a,\r\n\r\n');
  rule('http-request', ['replace-value', 'X-A', '^a$', 'Z']).run(h);
  assert.equal(h.httpReq!.headers.get('x-a'), 'Z,,Z,');
  // A leading empty element, and a value where nothing matches (left as it is).
  h = host('GET / HTTP/1.1\r\nHost: h\r\nX-A: ,a\r\nX-B: b, c\r\n\r\n');
  rule('http-request', ['replace-value', 'X-A', '^$', 'E']).run(h);
  rule('http-request', ['replace-value', 'X-B', '^z$', 'E']).run(h);
  assert.deepEqual([h.httpReq!.headers.get('x-a'), h.httpReq!.headers.get('x-b'), h.httpReq!.headers.valueStart(2) >= 0], ['E,a', 'b, c', true]);
  // \xHH and a trailing backslash (which fails the rewrite).
  h = host('GET / HTTP/1.1\r\nHost: h\r\nX-A: v\r\n\r\n');
  rule('http-request', ['replace-header', 'X-A', '(v)', '\\x41\\1\\\\']).run(h);
  assert.equal(h.httpReq!.headers.get('x-a'), 'Av\\');
  h = host('GET / HTTP/1.1\r\nHost: h\r\nX-A: v\r\n\r\n');
  assert.equal(rule('http-request', ['replace-header', 'X-A', 'v', 'x\\']).run(h), ACT_ERROR);
});

/* ---------------- request line ---------------- */

test('set-path, set-query, set-pathq, set-method (haproxy results)', () => {
  const cases: Array<[string, string[], string, string]> = [
    ['/sp/a?x', ['set-path', '/np%[path]'], 'GET', '/np/sp/a?x'],
    ['/sq/a?x', ['set-query', 'q=%[path]'], 'GET', '/sq/a?q=/sq/a'],
    ['/sq/a', ['set-query', 'q=1'], 'GET', '/sq/a?q=1'],
    ['/spq/a?b', ['set-pathq', '/pq?x=1'], 'GET', '/pq?x=1'],
    ['/sm', ['set-method', 'PUT'], 'PUT', '/sm'],
  ];
  for (const [target, words, method, after] of cases) {
    const h = host(`GET ${target} HTTP/1.1\r\nHost: h\r\n\r\n`);
    assert.equal(rule('http-request', words).run(h), ACT_CONTINUE);
    const r = h.httpReq!;
    assert.equal(r.method, method, words.join(' '));
    assert.equal(r.target, after, words.join(' '));
    assert.equal(r.rewritten, true);
  }
  const h = host(GET);
  rule('http-request', ['set-method', 'PUT']).run(h);
  assert.equal(h.httpReq!.methodCode, METH_PUT);
});

test('set-uri with an authority updates every Host field (haproxy: host: other.example:8080)', () => {
  const h = host('GET /su/a?b HTTP/1.1\r\nHost: h\r\n\r\n');
  rule('http-request', ['set-uri', 'http://other.example:8080/u%[path]']).run(h);
  const r = h.httpReq!;
  assert.equal(r.target, 'http://other.example:8080/u/su/a');
  assert.equal(r.headers.get('host'), 'other.example:8080');
  assert.equal(r.authority, 'other.example:8080');
  assert.equal(r.path, '/u/su/a');
});

test('replace-path, replace-pathq, replace-uri (haproxy results)', () => {
  const cases: Array<[string, string[], string]> = [
    ['/rp/rp/x?y', ['replace-path', '(.*)/rp(.*)', '\\1/RP\\2'], '/rp/RP/x?y'],
    ['/ru/a?b', ['replace-uri', '^/ru(.*)', '/URI\\1'], '/URI/a?b'],
    ['/rq/a?b', ['replace-pathq', '^/rq(.*)', '/RQ\\1'], '/RQ/a?b'],
    ['/nomatch', ['replace-path', '^/zz', '/x'], '/nomatch'],
  ];
  for (const [target, words, after] of cases) {
    const h = host(`GET ${target} HTTP/1.1\r\nHost: h\r\n\r\n`);
    assert.equal(rule('http-request', words).run(h), ACT_CONTINUE);
    assert.equal(h.httpReq!.target, after, words.join(' '));
  }
  assert.equal(parseError('http-request', ['replace-path', 'a']), "'http-request replace-path' : expects exactly 2 arguments <match-regex> and <replace-format>");
  assert.match(parseError('http-request', ['replace-uri', '(', 'b'])!, /^'http-request replace-uri' : failed to parse the regex : regex '\(' is invalid/);
  assert.equal(parseError('http-request', ['set-path']), "'http-request set-path' : expects exactly 1 argument <format>");
  assert.equal(parseError('http-request', ['set-path', 'a', 'b']), "'http-request set-path' : expects exactly 1 argument <format>");
});

test('a rewrite to an invalid request line fails the rule and changes nothing', () => {
  let h = host(GET);
  assert.equal(rule('http-request', ['set-path', '/a b']).run(h), ACT_ERROR);
  assert.equal(h.httpReq!.target, '/a/b?x=1');
  assert.equal(h.httpReq!.rewritten, false);
  h = host(GET);
  assert.equal(rule('http-request', ['set-uri', '%[req.hdr(nope)]']).run(h), ACT_ERROR);
  h = host(GET);
  assert.equal(rule('http-request', ['set-method', 'G T']).run(h), ACT_ERROR);
  assert.equal(h.httpReq!.method, 'GET');
  // The encoded sample makes a valid target: "%0D%0A" is just text there.
  h = host(GET);
  assert.equal(rule('http-request', ['set-path', '/%[test.crlf]']).run(h), ACT_CONTINUE);
  assert.equal(h.httpReq!.path, '/a%0D%0Ab');
});

test('normalize-uri runs on the request-target; strict failures answer 400 (PR)', () => {
  let h = host('GET //nm//a//b?c//d HTTP/1.1\r\nHost: h\r\n\r\n');
  rule('http-request', ['normalize-uri', 'path-merge-slashes']).run(h);
  assert.equal(h.httpReq!.target, '/nm/a/b?c//d');
  h = host('GET /ns?b=1&a=2&b=0&a HTTP/1.1\r\nHost: h\r\n\r\n');
  rule('http-request', ['normalize-uri', 'query-sort-by-name']).run(h);
  assert.equal(h.httpReq!.target, '/ns?a=2&a&b=1&b=0');
  h = host('GET /nd%zz HTTP/1.1\r\nHost: h\r\n\r\n');
  assert.equal(rule('http-request', ['normalize-uri', 'percent-decode-unreserved', 'strict']).run(h), ACT_DONE);
  assert.equal(replyOf(h).status, 400);
  assert.equal(replyOf(h).term1, 'P');
  assert.match(wire(h), /^HTTP\/1\.1 400 Bad request\r\n/);
  h = host('GET /a HTTP/1.1\r\nHost: h\r\n\r\n');
  rule('http-request', ['normalize-uri', 'path-merge-slashes']).run(h);
  assert.equal(h.httpReq!.rewritten, false); // nothing changed: the request line is sent as received
  assert.equal(parseError('http-request', ['normalize-uri', 'foo']), "'http-request normalize-uri' : unknown normalizer 'foo'");
  assert.equal(parseError('http-request', ['normalize-uri', 'path-strip-dot', 'x']),
    "'http-request normalize-uri' : expects either 'if' or 'unless' followed by a condition but found 'x'");
});

/* ---------------- set-status ---------------- */

test('set-status with HAProxy\'s reasons or a given one (haproxy results)', () => {
  const cases: Array<[string[], number, string]> = [
    [['set-status', '203'], 203, 'Non-Authoritative Information'],
    [['set-status', '299', 'reason', 'Custom Yes'], 299, 'Custom Yes'],
    [['set-status', '503'], 503, 'Service Unavailable'],
    [['set-status', '302'], 302, 'Moved Temporarily'],
  ];
  for (const [words, status, reason] of cases) {
    for (const set of ['http-response', 'http-after-response'] as const) {
      const h = host(GET, RES);
      assert.equal(rule(set, words).run(h), ACT_CONTINUE);
      assert.equal(h.httpRes!.status, status);
      assert.equal(h.httpRes!.reason, reason);
    }
  }
  const e = (w: string[]): string | undefined => parseError('http-response', w);
  assert.equal(e(['set-status', '99']), "'http-response set-status' : expects an integer status code between 100 and 999");
  assert.equal(e(['set-status', '2x0']), "'http-response set-status' : expects an integer status code between 100 and 999");
  assert.equal(e(['set-status']), "'http-response set-status' : expects 1 argument: <status>; or 3 arguments: <status> reason <fmt>");
  assert.equal(e(['set-status', '200', 'reason']), "'http-response set-status' : expects either 'if' or 'unless' followed by a condition but found 'reason'");
  assert.equal(e(['set-status', '200', 'foo']), "'http-response set-status' : expects either 'if' or 'unless' followed by a condition but found 'foo'");
  assert.match(e(['set-status', '200', 'reason', 'a\r\nb'])!, /invalid reason/);
});

test('http-after-response header actions act on the response', () => {
  const h = host(GET, RES);
  const c = compile('http-after-response', [['set-header', 'X-After', 'yes'], ['del-header', 'set-cookie'], ['allow'], ['add-header', 'X-No', '1']]);
  assert.deepEqual(c.errors, []);
  assert.equal(c.run(h), ACT_STOP);
  assert.deepEqual(fields(h.httpRes!), [['X-Srv', 'a, b ,c'], ['Content-Length', '0'], ['X-After', 'yes']]);
  // Request headers untouched.
  assert.equal(h.httpReq!.headers.get('x-after'), undefined);
});

test('actions are only known where HAProxy has them', () => {
  assert.match(parseError('http-after-response', ['deny'])!, /'http-after-response' expects .* but got 'deny'/);
  assert.match(parseError('http-response', ['set-path', '/x'])!, /'http-response' expects .* but got 'set-path'/);
  assert.match(parseError('http-response', ['tarpit'])!, /but got 'tarpit'/);
  assert.match(parseError('http-request', ['set-status', '200'])!, /but got 'set-status'/);
  assert.match(parseError('http-request', ['set-headr', 'a', 'b'])!, /but got 'set-headr'/);
});

test('conditions on the predefined TRUE/FALSE ACLs', () => {
  const c = compile('http-request', [['set-header', 'X-T', '1', 'if', 'TRUE'], ['set-header', 'X-F', '1', 'if', 'FALSE'], ['deny', 'unless', 'TRUE']]);
  assert.deepEqual(c.errors, []);
  const h = host(GET);
  assert.equal(c.run(h), ACT_CONTINUE);
  assert.equal(h.httpReq!.headers.get('x-t'), '1');
  assert.equal(h.httpReq!.headers.get('x-f'), undefined);
});

test('static replies are built once and shared', () => {
  const c = rule('http-request', ['deny', 'status', '404', 'content-type', 'text/plain', 'string', 'x']);
  const a = host(GET), b = host(GET);
  c.run(a);
  c.run(b);
  assert.equal(a.reply, b.reply);
  assert.ok(Object.isFrozen(a.reply));
  const d = rule('http-request', ['return', 'content-type', 'text/plain', 'lf-string', '%[path]']);
  const e = host(GET), f = host(GET);
  d.run(e);
  d.run(f);
  assert.notEqual(e.reply, f.reply);
});

test('replace-header/replace-value skip, without the regex, what cannot start a match of a literal-anchored regex', () => {
  const gate = (src: string, flags = ''): string => {
    const c = anchoredFirstChar(new RegExp(src, flags));
    return c < 0 ? '' : String.fromCharCode(c);
  };
  assert.deepEqual(['^v1$', '^gzip', '^a+b', '^9', '^ab?', '^Ab*'].map(s => gate(s)), ['v', 'g', 'a', '9', 'a', 'A']);
  // Not gated: an optional first character, alternation, a class, an escape, no anchor, flags.
  assert.deepEqual(['^a?b', '^a*', '^a{0,1}', '^a|b', '^(a|b)', '^[ab]', '^\\d', '^.', 'a$', '^', '^-'].map(s => gate(s)), Array(11).fill(''));
  assert.equal(gate('^a', 'i'), '');
  // The gate never hides a match: whenever it says no, the regex says no.
  const texts = ['', 'a', 'ab', 'ba', 'v1', 'v12', 'xv1', 'gzip', 'x-gzip', 'aab', '9', 'b', 'A', 'Abbb'];
  for (const src of ['^v1$', '^gzip', '^a+b', '^9', '^ab?', '^Ab*', '^a\\w']) {
    const re = new RegExp(src);
    const c = anchoredFirstChar(re);
    assert.ok(c >= 0, src);
    for (const t of texts) if (t.charCodeAt(0) !== c) assert.equal(re.test(t), false, `${src} on '${t}'`);
  }
  // The rewrites with a gated regex: elements with blanks, quoted commas, empty elements, nothing matching.
  let h = host('GET / HTTP/1.1\r\nHost: h\r\nX-A:  v1 , v2,v1, "v1, x",,v1\r\nX-B: w1, w2\r\nX-C:  v1  \r\n\r\n');
  rule('http-request', ['replace-value', 'X-A', '^v1$', 'V']).run(h);
  rule('http-request', ['replace-value', 'X-B', '^v1$', 'V']).run(h);
  rule('http-request', ['replace-header', 'X-C', '^v(.)$', '<\\1>']).run(h);
  assert.deepEqual(['x-a', 'x-b', 'x-c'].map(n => h.httpReq!.headers.get(n)), ['V, v2,V, "v1, x",,V', 'w1, w2', '<1>']);
  assert.ok(h.httpReq!.headers.valueStart(2) >= 0, 'a value where nothing matched is left as received');
});
