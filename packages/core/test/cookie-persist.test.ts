/*
 * Cookie persistence (http/cookie-persist.ts): the keywords and their
 * errors (texts as `haproxy -c` 2.6.12 prints them for the same lines), the
 * date and dynamic-cookie encodings (vectors taken from haproxy 2.6.12's
 * own Set-Cookie fields), and the request and response cookie processing
 * on heads parsed by the real parser, against what haproxy 2.6.12 sent to
 * its servers and clients for the same fields.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configLoader, proxy, HEAD } from './config-loader';
import { buildRuntime, type ProxyRuntime } from '../src/engine/proxy-runtime';
import { parseRequestHead, parseResponseHead, METH_GET, METH_POST, type RequestHead, type ResponseHead } from '../src/http/h1';
import { ADMF_FMAINT, SRV_ST_STOPPED } from '../src/proxy/server-state';
import {
  s30tob64, b64tos30, cookieDate, xxh64, dynamicCookie, parseSeconds, requestCookies, cookieServer, cookieResponse,
  persistSelect, responseCacheable, cookieLogFlags, PersistTxn, type PersistHost,
  CK_INS, CK_IND, CK_NOC, CK_HTTPONLY, CK_SECURE, CK_DYNAMIC, TXCK_VALID, TXCK_DOWN, TXCK_INVALID, TXCK_UNUSED,
  TXCK_EXPIRED, TXCK_OLD, TXCK_NONE, SCK_INSERTED, SCK_UPDATED, SCK_DELETED, SCK_REPLACED, SCK_FOUND, SCK_NONE,
} from '../src/http/cookie-persist';

const load = configLoader('sy-cookie-unit-');

/** The runtime of backend `name` of a config (errors fail the test). */
async function backend(text: string, name = 'b'): Promise<ProxyRuntime> {
  const r = await load(HEAD + text);
  assert.deepEqual(r.errors, []);
  const rt = buildRuntime(r.config!, undefined);
  const be = rt.find(p => p.cfg.name === name);
  assert.ok(be && be.persist, name);
  return be;
}

function req(text: string): RequestHead {
  if (!/\nHost:/i.test(text)) text = text.replace('\n', '\nHost: a\n');
  const r = parseRequestHead(Buffer.from(text.replace(/\n/g, '\r\n') + '\r\n', 'latin1'));
  assert.equal(r.state, 'done', text);
  if (r.state !== 'done') throw new Error('unreachable');
  return r.head;
}

function res(text: string, method = METH_GET): ResponseHead {
  const r = parseResponseHead(Buffer.from(text.replace(/\n/g, '\r\n') + '\r\n', 'latin1'), method);
  assert.equal(r.state, 'done', text);
  if (r.state !== 'done') throw new Error('unreachable');
  return r.head;
}

function values(h: RequestHead | ResponseHead, name: string): string[] {
  return h.headers.getAll(name);
}

/** A stream as far as persistence is concerned (no rule needs more here). */
function host(be: ProxyRuntime): PersistHost {
  return { persist: null, fe: be, be, srv: null } as unknown as PersistHost;
}

function down(be: ProxyRuntime, name: string): void {
  const s = be.servers.find(x => x.cfg.name === name)!;
  s.state = { ...s.state, admin: ADMF_FMAINT, op: SRV_ST_STOPPED };
}

/* ---------------- encodings ---------------- */

test('dates: 30 bits in 5 base64 characters, in 4-second units rounded up', () => {
  // haproxy 2.6.12 sent `SRV=c1|awYyI|awYyI` at 1795568160.
  assert.equal(s30tob64(cookieDate(1795568160)), 'awYyI');
  assert.equal(b64tos30('awYyI', 0) * 4, 1795568160);
  assert.equal(cookieDate(1795568161) * 4, 1795568164, 'rounded up to the next multiple of 4');
  assert.equal(s30tob64(0), 'AAAAA');
  assert.equal(s30tob64((1 << 30) - 1), '/////');
  assert.equal(b64tos30('/////', 0), (1 << 30) - 1);
  assert.equal(b64tos30('x|awYyI', 2), b64tos30('awYyI', 0), 'read at an offset');
  assert.equal(b64tos30('awY=I', 0), -1, 'padding is not a digit');
  assert.equal(b64tos30('aw-yI', 0), -1);
  assert.equal(b64tos30('awé', 0), -1);
  assert.equal(b64tos30('aw', 0), -1, 'short');
});

test('dynamic cookies: XXH64 of key, address and port as haproxy 2.6.12 derives them', () => {
  assert.equal(xxh64(new Uint8Array(0)).toString(16), 'ef46db3751d8e999', 'xxHash specification vector');
  // Values haproxy 2.6.12 set for these servers (`cookie SRV insert dynamic`).
  assert.equal(dynamicCookie('mysecret', '127.0.0.1', 4, 18081), 'f10cd5196101d734');
  assert.equal(dynamicCookie('mysecret', '127.0.0.1', 4, 18082), '156422ed9b019f79');
  // 50 bytes: the 32-byte stripes, 8-byte lanes and a byte tail.
  assert.equal(dynamicCookie('0123456789abcdefghijklmnopqrstuvwxyzABCDEF', '127.0.0.1', 4, 18081), '52516d3966bb3b54');
  // IPv6: 16 address bytes (the 4-byte lane).
  assert.equal(dynamicCookie('k', '::1', 6, 18084), '47fbe7108c6b5f27');
});

test('maxidle/maxlife times: seconds by default, units rounded up, HAProxy errors', () => {
  assert.equal(parseSeconds('30', 'maxidle'), 30);
  assert.equal(parseSeconds('30m', 'maxidle'), 1800);
  assert.equal(parseSeconds('8h', 'maxlife'), 28800);
  assert.equal(parseSeconds('2d', 'maxlife'), 172800);
  assert.equal(parseSeconds('1ms', 'maxlife'), 1);
  assert.equal(parseSeconds('1500ms', 'maxlife'), 2);
  assert.equal(parseSeconds('0', 'maxidle'), 0);
  assert.equal(parseSeconds('10x', 'maxidle'), `unexpected character 'x' in argument to <maxidle>.`);
  assert.equal(parseSeconds('99999999999', 'maxidle'), 'timer overflow in argument <99999999999> to <maxidle>, maximum value is 2147483647 s (~68 years).');
});

/* ---------------- keywords ---------------- */

test('cookie keyword errors and warnings carry file:line and haproxy 2.6 texts', async () => {
  const r = await load(HEAD + [
    'backend b', // 6
    '  cookie', // 7
    '  cookie SRV rewrite indirect', // 8
    '  cookie SRV rewrite insert', // 9
    '  cookie SRV preserve', // 10
    '  cookie SRV insert bogus', // 11
    '  cookie SRV insert domain', // 12
    '  cookie SRV insert domain nodot', // 13
    '  cookie SRV insert domain bad/char', // 14
    '  cookie SRV insert maxidle', // 15
    '  cookie SRV insert maxidle 10x', // 16
    '  cookie SRV insert maxidle 99999999999', // 17
    '  cookie SRV insert attr', // 18
    '  cookie SRV insert attr "a;b"', // 19
    '  dynamic-cookie-key', // 20
    '  force-persist', // 21
    '  ignore-persist foo', // 22
    '  server s1 127.0.0.1:1 cookie', // 23
    '  server s2 127.0.0.1:1 cookie a b', // 24
    '  option persist x', // 25
    'frontend f', '  bind 127.0.0.1:1', '  default_backend b', // 26-28
    '  cookie SRV insert', // 29
  ].join('\n') + '\n');
  const has = (line: number, text: string): void => {
    assert.ok(r.errors.some(e => e.startsWith(`${line}: `) && e.includes(text)), `no error ${line}: ${text} in\n${r.errors.join('\n')}`);
  };
  has(7, `cookie: 'cookie' expects <cookie_name> as argument.`);
  has(8, `cookie 'rewrite' and 'indirect' modes are incompatible.`);
  has(9, `cookie 'rewrite', 'insert' and 'prefix' modes are incompatible.`);
  has(10, `cookie 'preserve' requires at least 'insert' or 'indirect'.`);
  has(11, `'cookie' supports 'rewrite', 'insert', 'prefix', 'indirect', 'nocache', 'postonly', 'domain', 'maxidle', 'dynamic', 'maxlife' and 'attr' options.`);
  has(12, `'domain' expects <domain> as argument.`);
  has(14, `character '/' is not permitted in domain name 'bad/char'.`);
  has(15, `'maxidle' expects <idletime> in seconds as argument.`);
  has(16, `unexpected character 'x' in argument to <maxidle>.`);
  has(17, 'timer overflow in argument <99999999999> to <maxidle>');
  has(18, `'attr' expects <value> as argument.`);
  has(19, `character '%x3B' is not permitted in attribute value.`);
  has(20, `'dynamic-cookie-key' expects <secret_key> as argument.`);
  has(21, `'force-persist' requires either 'if' or 'unless' followed by a condition.`);
  has(22, `'ignore-persist' requires either 'if' or 'unless' followed by a condition.`);
  has(23, `'cookie' expects 1 argument`);
  has(24, `unknown keyword 'b' in server 's2'`);
  has(25, `'option persist' takes no argument`);
  has(29, `'cookie' is not allowed in 'frontend' section`);
  assert.ok(r.warnings.some(w => w.startsWith('13: ') && w.includes(`domain 'nodot' contains no embedded dot, this configuration may not work properly (see RFC6265#5.2.3).`)), r.warnings.join('\n'));
});

test('force-persist in defaults is refused; a bad condition is reported at its line', async () => {
  const r = await load(HEAD + '  force-persist if TRUE\n');
  assert.ok(r.errors.some(e => e.startsWith('6: force-persist: ') && e.includes(`not allowed in 'defaults' section`)), r.errors.join('\n'));
  const r2 = await load(HEAD + 'backend b\n  acl late path /x\n  ignore-persist if nosuchacl\n  force-persist if late\n  server s 127.0.0.1:1\n');
  assert.ok(r2.errors.includes(`8: ignore-persist: error detected while parsing a 'ignore-persist' rule : no such ACL : 'nosuchacl'.`), r2.errors.join('\n'));
  assert.equal(r2.errors.length, 1, r2.errors.join('\n'));
});

test('cookie settings: defaults inheritance, a later line replaces, option persist, mode tcp warnings', async () => {
  const r = await load(HEAD + [
    '  cookie SRV insert indirect nocache maxidle 30m maxlife 8h domain .a.com domain .b.com attr SameSite=Lax httponly secure',
    '  option persist',
    'backend b', '  server s1 127.0.0.1:1 cookie c1', // 8-9
    'backend c', '  no option persist', '  cookie JS prefix', '  server s1 127.0.0.1:1', // 10-13
    'backend t', '  mode tcp', '  server s1 127.0.0.1:1 cookie c1', // 14-16
    'backend d', '  default-server cookie same', '  server s1 127.0.0.1:1', '  server s2 127.0.0.1:2 cookie own', // 17-20
  ].join('\n') + '\n');
  assert.deepEqual(r.errors, []);
  const b = proxy(r.config!, 'b');
  assert.deepEqual({ ...b.cookie!, file: '' }, {
    file: '', line: 6, name: 'SRV', opts: CK_INS | CK_IND | CK_NOC | CK_HTTPONLY | CK_SECURE,
    domains: ['.a.com', '.b.com'], maxIdle: 1800, maxLife: 28800, attrs: ['SameSite=Lax'],
  });
  assert.equal(b.options.persist, true);
  assert.equal(b.servers[0].cookie, 'c1');
  const c = proxy(r.config!, 'c');
  assert.equal(c.cookie!.name, 'JS');
  assert.equal(c.options.persist, false);
  assert.equal(c.servers[0].cookie, undefined);
  const t = proxy(r.config!, 't');
  assert.equal(t.cookie, null, 'ignored outside mode http');
  assert.equal(t.servers[0].cookie, undefined);
  assert.ok(r.warnings.some(w => w.startsWith('6: cookie: ') && w.includes(`cookie will be ignored for backend 't' (needs 'mode http').`)), r.warnings.join('\n'));
  assert.ok(r.warnings.some(w => w.startsWith('16: server: ') && w.includes(`backend 't' : ignoring cookie for server 's1' as HTTP mode is disabled.`)), r.warnings.join('\n'));
  const d = proxy(r.config!, 'd');
  assert.deepEqual(d.servers.map(s => s.cookie), ['same', 'own'], 'default-server cookie');
});

test('dynamic cookies are set at load for servers without their own; equal ones are warned about', async () => {
  const r = await load(HEAD + [
    'backend d', '  cookie SRV insert dynamic', '  dynamic-cookie-key mysecret', // 6-8
    '  server s1 127.0.0.1:18081', '  server s2 127.0.0.1:18082', '  server s3 127.0.0.1:18083 cookie mine', // 9-11
    'backend e', '  cookie SRV insert dynamic', '  dynamic-cookie-key k', '  server a 127.0.0.1:1', '  server b 127.0.0.1:1', // 12-16
    'backend n', '  cookie SRV insert dynamic', '  server a 127.0.0.1:1', // 17-19
  ].join('\n') + '\n');
  assert.deepEqual(r.errors, []);
  assert.equal(proxy(r.config!, 'd').cookie!.opts & CK_DYNAMIC, CK_DYNAMIC);
  assert.deepEqual(proxy(r.config!, 'd').servers.map(s => s.cookie), ['f10cd5196101d734', '156422ed9b019f79', 'mine']);
  assert.ok(r.warnings.some(w => w.includes(`We generated two equal cookies for two different servers. Please change the secret key for 'e'.`)), r.warnings.join('\n'));
  assert.equal(proxy(r.config!, 'n').servers[0].cookie, undefined, 'no key: no dynamic cookie (HAProxy is silent too)');
});

/* ---------------- request side ---------------- */

/** The Cookie fields a server gets for `fields` under `opts`, and our cookie's values found. */
async function strip(cookieLine: string, fields: string[]): Promise<{ sent: string[]; found: string[] }> {
  const be = await backend(`backend b\n  ${cookieLine}\n  server s1 127.0.0.1:1 cookie c1\n  server s2 127.0.0.1:2 cookie c2\n`);
  const h = req(`GET / HTTP/1.1\nHost: a\n${fields.map(f => `Cookie: ${f}\n`).join('')}`);
  const st = host(be);
  requestCookies(st, be, h);
  return { sent: values(h, 'cookie'), found: [...st.persist!.values] };
}

test('insert indirect removes the persistence cookie wherever it is in the field (http_del_hdr_value)', async () => {
  const ins = 'cookie SRV insert indirect';
  // What haproxy 2.6.12 forwarded for each field.
  assert.deepEqual(await strip(ins, ['a=1; SRV=c2; b=2']), { sent: ['a=1; b=2'], found: ['c2'] });
  assert.deepEqual(await strip(ins, ['SRV=c2']), { sent: [], found: ['c2'] }, 'a field left empty goes');
  assert.deepEqual(await strip(ins, ['SRV=c2; a=1']), { sent: ['a=1'], found: ['c2'] });
  assert.deepEqual(await strip(ins, ['a=1;SRV=c2']), { sent: ['a=1'], found: ['c2'] });
  assert.deepEqual(await strip(ins, ['a=1 ;  SRV=c2 ;b=2']), { sent: ['a=1; b=2'], found: ['c2'] });
  assert.deepEqual(await strip(ins, ['SRV=c2; $Path=/; a=1']), { sent: ['a=1'], found: ['c2'] }, '$attributes go with their cookie');
  assert.deepEqual(await strip(ins, ['SRV=c1; SRV=c2']), { sent: [], found: ['c1', 'c2'] });
  assert.deepEqual(await strip(ins, ['flag; SRV=c2']), { sent: ['flag'], found: ['c2'] }, 'a name without = is kept');
  assert.deepEqual(await strip(ins, ['a=1', 'SRV=c1', 'b=2']), { sent: ['a=1', 'b=2'], found: ['c1'] }, 'per field');
  assert.deepEqual(await strip(ins, ['a = 1 ; b= "x;y"']), { sent: ['a=1 ; b="x;y"'], found: [] }, 'spaces around = go (HAProxy rewrites them)');
  assert.deepEqual(await strip(ins, ['srv=c1; SRVX=c1']), { sent: ['srv=c1; SRVX=c1'], found: [] }, 'the name is exact and case-sensitive');
  // Without indirect the cookie stays.
  assert.deepEqual(await strip('cookie SRV insert', ['a=1; SRV=c2; b=2']), { sent: ['a=1; SRV=c2; b=2'], found: ['c2'] });
  assert.deepEqual(await strip('cookie SRV rewrite', ['SRV=c2']), { sent: ['SRV=c2'], found: ['c2'] });
});

test('prefix mode strips `<server>~` from the cookie; the rest is untouched', async () => {
  const pfx = 'cookie JS prefix';
  assert.deepEqual(await strip(pfx, ['x=1;JS=c2~abc; y = 2']), { sent: ['x=1;JS=abc; y=2'], found: ['c2~abc'] });
  assert.deepEqual(await strip(pfx, ['JS=zz~abc']), { sent: ['JS=abc'], found: ['zz~abc'] }, 'stripped even when no server has it');
  assert.deepEqual(await strip(pfx, ['JS=c1']), { sent: ['JS=c1'], found: ['c1'] }, 'no ~: kept as is');
  assert.deepEqual(await strip(pfx, ['JS=c1~a~b']), { sent: ['JS=a~b'], found: ['c1~a~b'] }, 'the first ~ separates');
});

test('the server a cookie designates, and the log letter (NIDVEOU), as http_manage_client_side_cookies', async () => {
  const be = await backend('backend b\n  cookie SRV insert indirect maxidle 30m maxlife 8h\n  server s1 127.0.0.1:1 cookie c1\n  server s2 127.0.0.1:2 cookie c2\n  server s3 127.0.0.1:3 cookie c2\n  server s4 127.0.0.1:4\n');
  const ck = be.persist!.cookie!;
  const now = 1795568160;
  const d = (t: number): string => s30tob64(cookieDate(t));
  const run = (vals: string[], opts: { assigned?: boolean; downOk?: boolean; ignore?: boolean } = {}): { srv: string | null; ck: number; last: number; first: number } => {
    const t = new PersistTxn();
    t.values.push(...vals);
    t.ignore = opts.ignore ?? false;
    const s = cookieServer(t, ck, opts.assigned ?? false, opts.downOk ?? false, now);
    return { srv: s?.cfg.name ?? null, ck: t.ck, last: t.lastDate, first: t.firstDate };
  };
  assert.deepEqual(run([]), { srv: null, ck: TXCK_NONE, last: 0, first: 0 });
  assert.deepEqual(run(['c1']), { srv: 's1', ck: TXCK_VALID, last: 0, first: 0 });
  assert.deepEqual(run(['zz']), { srv: null, ck: TXCK_INVALID, last: 0, first: 0 });
  assert.deepEqual(run(['']), { srv: null, ck: TXCK_INVALID, last: 0, first: 0 }, 'an empty value is invalid');
  assert.equal(run(['c2']).srv, 's2', 'the first server with the value');
  // Several values: the first decision sticks unless a later value finds a server.
  assert.deepEqual(run(['c2', 'c1']).srv, 's2');
  assert.deepEqual(run(['zz', 'c2']), { srv: 's2', ck: TXCK_VALID, last: 0, first: 0 });
  assert.deepEqual(run(['c1'], { assigned: true }).ck, TXCK_UNUSED, 'use-server chose: unused');
  assert.deepEqual(run(['c1'], { ignore: true }), { srv: null, ck: TXCK_UNUSED, last: 0, first: 0 }, 'ignore-persist');
  // Dates: last seen, first seen.
  assert.deepEqual(run([`c1|${d(now - 60)}|${d(now - 3600)}`]), { srv: 's1', ck: TXCK_VALID, last: cookieDate(now - 60) * 4, first: cookieDate(now - 3600) * 4 });
  assert.deepEqual(run([`c1|${d(now - 1801 - 4)}`]), { srv: null, ck: TXCK_EXPIRED, last: 0, first: 0 }, 'idle too long');
  assert.deepEqual(run([`c1|${d(now)}|${d(now - 28800 - 8)}`]), { srv: null, ck: TXCK_OLD, last: 0, first: 0 }, 'too old');
  assert.equal(run([`c1|${d(now + 86400 + 8)}`]).ck, TXCK_EXPIRED, 'more than a day in the future');
  assert.equal(run(['c1|AAAAA|AAAAA']).srv, 's1', 'zero dates are no dates');
  assert.equal(run(['c1|bad']).srv, 's1', 'a short date is ignored');
  // Down servers.
  down(be, 's1');
  assert.deepEqual(run(['c1']), { srv: null, ck: TXCK_DOWN, last: 0, first: 0 }, 'down: redispatched');
  assert.deepEqual(run(['c1'], { downOk: true }), { srv: 's1', ck: TXCK_DOWN, last: 0, first: 0 }, 'option persist / force-persist');
  assert.deepEqual(run(['c1', 'c2']), { srv: 's2', ck: TXCK_VALID, last: 0, first: 0 });
  down(be, 's2');
  assert.equal(run(['c2']).srv, 's3', 'another server with the same value');
});

test('persistSelect: the cookie picks the server, use-server wins, indirect cookie stripped first', async () => {
  const be = await backend('backend b\n  cookie SRV insert indirect\n  server s1 127.0.0.1:1 cookie c1\n  server s2 127.0.0.1:2 cookie c2\n');
  const st = host(be);
  requestCookies(st, be, req('GET / HTTP/1.1\nHost: a\nCookie: SRV=c2\n'));
  assert.equal(persistSelect(st, be)?.cfg.name, 's2');
  assert.equal(st.persist!.direct?.cfg.name, 's2');
  assert.equal(st.persist!.ck, TXCK_VALID);
  // No cookie analysed: the balancer chooses.
  const st2 = host(be);
  assert.equal(persistSelect(st2, be), null);
  assert.equal(st2.persist!.direct, null);
});

/* ---------------- response side ---------------- */

interface Out { fields: string[]; sck: number }

/** The response fields (Set-Cookie and Cache-Control) after processing, for a transaction. */
async function respond(cookieLine: string, opts: { req?: string; resp: string; srv?: string | null; method?: number; status0?: number; direct?: boolean; ignore?: boolean }): Promise<Out> {
  const be = await backend(`backend b\n  ${cookieLine}\n  server s1 127.0.0.1:1 cookie c1\n  server s2 127.0.0.1:2 cookie c2\n  server nock 127.0.0.1:3\n`);
  const st = host(be);
  const r = req(opts.req ?? 'GET / HTTP/1.1\nHost: a\n');
  requestCookies(st, be, r);
  const t = st.persist!;
  t.ignore = opts.ignore ?? false;
  const chosen = persistSelect(st, be);
  const srv = opts.srv === null ? null : be.servers.find(s => s.cfg.name === (opts.srv ?? chosen?.cfg.name ?? 's1'))!;
  if (opts.direct === false) t.direct = null;
  const h = res(opts.resp, opts.method ?? r.methodCode);
  cookieResponse(st, be, srv, r, h, opts.status0 ?? h.status);
  const fields: string[] = [];
  for (let i = 0; i < h.headers.count; i++) {
    const n = h.headers.name(i).toLowerCase();
    if (n === 'set-cookie' || n === 'set-cookie2' || n === 'cache-control') fields.push(`${n}: ${h.headers.value(i)}`);
  }
  return { fields, sck: t.sck };
}

const OK = 'HTTP/1.1 200 OK\nContent-Length: 0\n';

test('insert: Set-Cookie unless the client came with the right cookie; attributes in HAProxy order', async () => {
  const line = 'cookie SRV insert indirect httponly secure domain .example.com domain .ex2.com attr SameSite=Lax attr foo';
  assert.deepEqual(await respond(line, { resp: OK }), {
    fields: ['set-cookie: SRV=c1; path=/; domain=.example.com; domain=.ex2.com; HttpOnly; Secure; SameSite=Lax; foo'], sck: SCK_INSERTED,
  });
  assert.deepEqual(await respond(line, { req: 'GET / HTTP/1.1\nCookie: SRV=c2\n', resp: OK }), { fields: [], sck: SCK_NONE });
  assert.deepEqual((await respond(line, { req: 'GET / HTTP/1.1\nCookie: SRV=c2\n', resp: OK, direct: false, srv: 's1' })).sck, SCK_INSERTED, 'redispatched: the new server');
  assert.deepEqual(await respond('cookie SRV insert', { resp: OK, srv: 'nock' }), {
    fields: ['set-cookie: SRV=; Expires=Thu, 01-Jan-1970 00:00:01 GMT; path=/'], sck: SCK_INSERTED,
  }, 'a server without cookie clears it');
  assert.deepEqual(await respond('cookie SRV insert', { resp: OK, srv: null }), { fields: [], sck: SCK_NONE }, 'dispatch: no server, no cookie');
  assert.deepEqual(await respond('cookie SRV insert', { resp: OK, ignore: true }), { fields: [], sck: SCK_NONE }, 'ignore-persist');
});

test('insert postonly: only on POST responses', async () => {
  assert.deepEqual(await respond('cookie SRV insert postonly', { resp: OK }), { fields: [], sck: SCK_NONE });
  assert.deepEqual(await respond('cookie SRV insert postonly', { req: 'POST / HTTP/1.1\nContent-Length: 0\n', resp: OK }), { fields: ['set-cookie: SRV=c1; path=/'], sck: SCK_INSERTED });
});

test('insert with maxidle/maxlife: dates written, refreshed (U) once older than now, first date kept', async () => {
  const now = Math.floor(Date.now() / 1000);
  const d = s30tob64(cookieDate(now));
  const r1 = await respond('cookie SRV insert maxidle 30m maxlife 8h', { resp: OK });
  // The date is the second the response was processed: between `now` and now (a loaded machine may take a while).
  const dates: string[] = [];
  for (let t = now, end = Math.floor(Date.now() / 1000); t <= end; t++) dates.push(s30tob64(cookieDate(t)).replace(/[+/]/g, '\\$&'));
  void d;
  assert.equal(r1.sck, SCK_INSERTED);
  assert.match(r1.fields[0], new RegExp(`^set-cookie: SRV=c1\\|(${dates.join('|')})\\|\\1; path=/$`));
  // A direct request with a date in the past gets its date refreshed, first date kept.
  const old = s30tob64(cookieDate(now - 600));
  const first = s30tob64(cookieDate(now - 3600));
  const r2 = await respond('cookie SRV insert maxidle 30m maxlife 8h', { req: `GET / HTTP/1.1\nCookie: SRV=c2|${old}|${first}\n`, resp: OK });
  assert.equal(r2.sck, SCK_UPDATED);
  assert.match(r2.fields[0], new RegExp(`^set-cookie: SRV=c2\\|[A-Za-z0-9+/]{5}\\|${first.replace(/[+/]/g, '\\$&')}; path=/$`));
  assert.notEqual(r2.fields[0].split('|')[1], old);
  // A cookie without dates in maxidle mode is accepted and dated (haproxy 2.6.12: `--VU`).
  assert.equal((await respond('cookie SRV insert maxidle 30m', { req: 'GET / HTTP/1.1\nCookie: SRV=c2\n', resp: OK })).sck, SCK_UPDATED);
  // A date still in the future (refreshed less than 4 s ago): nothing to do.
  const soon = s30tob64(cookieDate(now + 8));
  assert.deepEqual(await respond('cookie SRV insert maxidle 30m', { req: `GET / HTTP/1.1\nCookie: SRV=c2|${soon}\n`, resp: OK }), { fields: [], sck: SCK_NONE });
});

test('the server\'s own cookie: deleted (insert), rewritten, prefixed, preserved; spaces around = go', async () => {
  // haproxy 2.6.12: `JS = abc ; Path=/` from s2 became `JS=c2 ; Path=/` (rewrite).
  assert.deepEqual(await respond('cookie JS rewrite', { req: 'GET / HTTP/1.1\nCookie: JS=c2\n', resp: OK + 'Set-Cookie: JS = abc ; Path=/\n' }), { fields: ['set-cookie: JS=c2 ; Path=/'], sck: SCK_REPLACED });
  assert.deepEqual(await respond('cookie JS prefix', { resp: OK + 'Set-Cookie: JS=abc; Path=/\n' }), { fields: ['set-cookie: JS=c1~abc; Path=/'], sck: SCK_REPLACED });
  assert.deepEqual(await respond('cookie JS prefix', { resp: OK + 'Set-Cookie: other=abc\n' }), { fields: ['set-cookie: other=abc'], sck: SCK_NONE });
  // insert: the server's cookie is replaced by ours (the flag ends as I).
  assert.deepEqual(await respond('cookie SRV insert', { resp: OK + 'Set-Cookie: a=1\nSet-Cookie: SRV=zz\n' }), { fields: ['set-cookie: a=1', 'set-cookie: SRV=c1; path=/'], sck: SCK_INSERTED });
  // A client with the right cookie: the server's one is deleted, none inserted (haproxy 2.6.12: `--VD`).
  assert.deepEqual(await respond('cookie SRV insert indirect', { req: 'GET / HTTP/1.1\nCookie: SRV=c1\n', resp: OK + 'Set-Cookie: SRV=zz\n' }), { fields: [], sck: SCK_DELETED });
  // preserve: the server's cookie stays and nothing is inserted.
  assert.deepEqual(await respond('cookie SRV insert preserve', { resp: OK + 'Set-Cookie: SRV=; Max-Age=0\n' }), { fields: ['set-cookie: SRV=; Max-Age=0'], sck: SCK_FOUND });
  // Passive mode (no insert/rewrite/prefix): found, left alone.
  assert.deepEqual(await respond('cookie SRV', { resp: OK + 'Set-Cookie: SRV=zz\n' }), { fields: ['set-cookie: SRV=zz'], sck: SCK_FOUND });
  // indirect alone: deleted on a direct request only.
  assert.deepEqual(await respond('cookie SRV indirect', { req: 'GET / HTTP/1.1\nCookie: SRV=c1\n', resp: OK + 'Set-Cookie: SRV=zz\n' }), { fields: [], sck: SCK_DELETED });
  assert.deepEqual(await respond('cookie SRV indirect', { resp: OK + 'Set-Cookie: SRV=zz\n' }), { fields: ['set-cookie: SRV=zz'], sck: SCK_FOUND });
  // Set-Cookie holds one cookie: an Expires date with a comma stays whole.
  assert.deepEqual(await respond('cookie JS rewrite', { resp: OK + 'Set-Cookie: JS=a; Expires=Thu, 01-Jan-2099 00:00:01 GMT\n' }), { fields: ['set-cookie: JS=c1; Expires=Thu, 01-Jan-2099 00:00:01 GMT'], sck: SCK_REPLACED });
  // Set-Cookie2 is a list: each cookie is looked at.
  assert.deepEqual(await respond('cookie JS rewrite', { resp: OK + 'Set-Cookie2: a=1; Version=1, JS="x"; Version=1\n' }), { fields: ['set-cookie2: a=1; Version=1, JS=c1; Version=1'], sck: SCK_REPLACED });
});

test('nocache: Cache-Control: private only on a cacheable response that gets our cookie', async () => {
  const nc = 'cookie SRV insert nocache';
  // haproxy 2.6.12 for GET: max-age=60 -> private; public, private, none -> not added.
  assert.deepEqual((await respond(nc, { resp: OK + 'Cache-Control: max-age=60\n' })).fields, ['cache-control: max-age=60', 'set-cookie: SRV=c1; path=/', 'cache-control: private']);
  assert.deepEqual((await respond(nc, { resp: OK + 'Cache-Control: public\n' })).fields, ['cache-control: public', 'set-cookie: SRV=c1; path=/']);
  assert.deepEqual((await respond(nc, { resp: OK })).fields, ['set-cookie: SRV=c1; path=/']);
  assert.deepEqual((await respond(nc, { resp: OK + 'ETag: "x"\n' })).fields, ['set-cookie: SRV=c1; path=/', 'cache-control: private'], 'a validator');
  assert.deepEqual((await respond(nc, { resp: OK + 'Cache-Control: max-age=60\n', status0: 302 })).fields, ['cache-control: max-age=60', 'set-cookie: SRV=c1; path=/'], 'status not cacheable');
  assert.deepEqual((await respond(nc, { req: 'GET / HTTP/1.1\nCookie: SRV=c1\n', resp: OK + 'Cache-Control: max-age=60\n' })).fields, ['cache-control: max-age=60'], 'no cookie inserted: nothing');
});

test('response cacheability (http_check_response_for_cacheability, haproxy 2.6.12)', () => {
  const c = (method: number, status: number, fields: string): boolean => responseCacheable(method, status, res(`HTTP/1.1 ${status} X\nContent-Length: 0\n${fields}`).headers);
  assert.equal(c(METH_GET, 200, 'Cache-Control: max-age=60\n'), true);
  assert.equal(c(METH_GET, 200, 'Expires: Thu, 01 Jan 2099 00:00:00 GMT\n'), true);
  assert.equal(c(METH_GET, 200, 'Last-Modified: Thu, 01 Jan 2015 00:00:00 GMT\n'), true);
  assert.equal(c(METH_GET, 200, ''), false, 'no freshness, no validator');
  assert.equal(c(METH_POST, 200, 'Cache-Control: max-age=60\n'), false);
  assert.equal(c(METH_POST, 200, 'Cache-Control: public, max-age=60\n'), true, 'public makes it cacheable');
  assert.equal(c(METH_GET, 200, 'Cache-Control: max-age=60, private\n'), false);
  assert.equal(c(METH_GET, 200, 'Cache-Control: no-cache="Set-Cookie", max-age=5\n'), true);
  assert.equal(c(METH_GET, 200, 'Cache-Control: max-age=0\n'), false);
  assert.equal(c(METH_GET, 200, 'Cache-Control: max-age=0, s-maxage=10\n'), true, 's-maxage overrides a null max-age');
  assert.equal(c(METH_GET, 200, 'Cache-Control: max-age=60\nPragma: no-cache\n'), false);
  assert.equal(c(METH_GET, 404, 'Cache-Control: max-age=60\n'), true);
  assert.equal(c(METH_GET, 500, 'Cache-Control: max-age=60\n'), false);
});

/* ---------------- log ---------------- */

test('log letters: -- without an active cookie mode, else request and response states', async () => {
  const passive = await backend('backend b\n  cookie SRV\n  server s1 127.0.0.1:1 cookie c1\n');
  assert.equal(cookieLogFlags(null, passive), undefined, 'passive cookie: --');
  const be = await backend('backend b\n  cookie SRV insert\n  server s1 127.0.0.1:1 cookie c1\n');
  assert.equal(cookieLogFlags(null, be), 'NN');
  const t = new PersistTxn();
  t.ck = TXCK_OLD; t.sck = SCK_UPDATED;
  assert.equal(cookieLogFlags(t, be), 'OU');
  t.ck = TXCK_UNUSED; t.sck = SCK_REPLACED;
  assert.equal(cookieLogFlags(t, be), 'UR');
  t.reset();
  assert.equal(cookieLogFlags(t, be), 'NN');
  const none = await backend('backend b\n  option persist\n  server s1 127.0.0.1:1\n');
  assert.equal(cookieLogFlags(t, none), undefined, 'option persist alone: no cookie letters');
  assert.equal(none.persist!.cookie, null);
  assert.equal(METH_GET, 1);
});

/* ---------------- robustness ---------------- */

test('arbitrary Cookie and Set-Cookie fields never throw, always end, and stay valid field values', async () => {
  const modes = ['cookie SRV insert indirect maxidle 1h maxlife 1d', 'cookie SRV prefix', 'cookie SRV rewrite', 'cookie SRV indirect preserve insert'];
  const bes = await Promise.all(modes.map(m => backend(`backend b\n  ${m}\n  server s1 127.0.0.1:1 cookie c1\n  server s2 127.0.0.1:2 cookie SRV\n`)));
  const alphabet = ['S', 'R', 'V', 'SRV', '=', ';', ',', ' ', '\t', '"', '\\', '$', '~', '|', 'c1', 'c2', 'a', 'AAAAA', 'é'];
  let seed = 12345;
  const rnd = (n: number): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return (seed >>> 8) % n; };
  const field = (): string => { let s = ''; const n = rnd(16); for (let i = 0; i < n; i++) s += alphabet[rnd(alphabet.length)]; return s.trim() === '' ? 'x' : s; };
  for (let k = 0; k < 2000; k++) {
    const be = bes[k % bes.length];
    const h = req(`POST / HTTP/1.1\nContent-Length: 0\nCookie: ${field()}\nCookie: ${field()}\n`);
    const st = host(be);
    requestCookies(st, be, h);
    const srv = persistSelect(st, be) ?? be.servers[k % 2];
    for (const v of values(h, 'cookie')) assert.ok(!/[\r\n]/.test(v) && v.trim() !== '', JSON.stringify(v));
    const r = res(`HTTP/1.1 200 OK\nContent-Length: 0\nSet-Cookie: ${field()}\nSet-Cookie2: ${field()}\n`);
    cookieResponse(st, be, srv, h, r, 200);
    for (let i = 0; i < r.headers.count; i++) assert.ok(!/[\r\n]/.test(r.headers.value(i)), JSON.stringify(r.headers.value(i)));
  }
});
