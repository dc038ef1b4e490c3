/**
 * ACLs and conditions (rules/acl.ts): criterion forms, flags, the
 * three-valued results (a MISS waits for data), AND/OR/negation, anonymous
 * ACLs, predefined ACLs, declaration order, and HAProxy's error texts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../src/features';
import { parseAclExpr, parseCondition, AclScope, ACL_PASS, ACL_FAIL, ACL_MISS } from '../src/rules/acl';
import { compileProxyRules, runRules, ACT_YIELD, ACT_DENY, ACT_CONTINUE, type RuleHost } from '../src/rules/rule-set';
import { newProxyConfig } from '../src/proxy/sections';
import type { CompileEnv, SampleContext } from '../src/rules/sample';
import { parseRequestHead, type RequestHead } from '../src/http/h1';

const files: Record<string, string> = { '/acl/nets.lst': '# nets\n10.0.0.0/8\n192.168.1.0/24\n', '/acl/paths.lst': '/a\n/b/\n' };
const proxy = newProxyConfig('p', 't.cfg', 1);
const env: CompileEnv = { proxy, proxies: [proxy], file: (p) => files[p], at: 255, where: 'test' };

function req(text: string): RequestHead {
  const r = parseRequestHead(Buffer.from(text.replace(/\n/g, '\r\n') + '\r\n\r\n', 'latin1'));
  if (r.state !== 'done') throw new Error('bad request');
  return r.head;
}

function ctx(over: Partial<SampleContext> & { payload?: Buffer | null; final?: boolean; src?: string } = {}): SampleContext {
  return {
    fe: null as never, be: null, srv: null, engine: { actconn: 0, proxies: [] },
    srcIp: () => over.src ?? '10.1.2.3', srcPort: () => 1234, dstIp: () => '127.0.0.1', dstPort: () => 80,
    reqPayload: () => over.payload ?? null, resPayload: () => null, reqFinal: over.final ?? true,
    tlsView: () => null, httpReq: over.httpReq ?? null, httpRes: null, reqBody: () => null, status: -1,
    vars: { sess: new Map(), txn: new Map(), req: new Map(), res: new Map() },
  };
}

function acl(words: string[]): ReturnType<typeof parseAclExpr> {
  return parseAclExpr(words, env);
}

test('criteria: fetches with their default method, derived keywords, converters switch to the output type', () => {
  const c = ctx({ httpReq: req('GET /Admin/x?u=1 HTTP/1.1\nHost: WWW.Example.com') });
  const cases: Array<[string[], number]> = [
    [['src', '10.0.0.0/8'], ACL_PASS],
    [['src', '-f', '/acl/nets.lst'], ACL_PASS],
    [['src', '192.168.1.0/24'], ACL_FAIL],
    [['path_beg', '/Admin'], ACL_PASS],
    [['path_beg', '/admin'], ACL_FAIL],
    [['path_beg', '-i', '/admin'], ACL_PASS],
    [['path', '-m', 'beg', '-i', '/admin'], ACL_PASS],
    [['hdr(host)', '-i', 'www.example.com'], ACL_PASS],
    [['hdr_dom(host)', '-i', 'example.com'], ACL_PASS],
    [['req.hdr(host),lower', 'www.example.com'], ACL_PASS],
    [['hdr_beg(host),lower', 'www'], ACL_FAIL], // converters: exact str match on the output, not beg (acl.c)
    [['hdr_beg(host),lower', 'www.example.com'], ACL_PASS],
    [['url_param(u)', '1'], ACL_PASS],
    [['url_param(u)', '-m', 'int', 'gt', '0'], ACL_PASS],
    [['dst_port', 'lt', '1024'], ACL_PASS],
    [['dst_port', '1:79'], ACL_FAIL],
    [['method', 'GET'], ACL_PASS],
    [['req.hdr(x-none)', '-m', 'found'], ACL_FAIL],
    [['req.hdr(host)', '-m', 'found'], ACL_PASS],
    [['always_true'], ACL_PASS],
    [['int(3)', '-m', 'bool'], ACL_PASS],
    [['path', '-m', 'beg', '-f', '/acl/paths.lst'], ACL_FAIL],
    [['path', '-i', '-m', 'beg', '-f', '/acl/paths.lst'], ACL_PASS],
    [['path', '--', '-x'], ACL_FAIL],
  ];
  for (const [w, want] of cases) {
    const e = acl(w);
    assert.notEqual(typeof e, 'string', `${w.join(' ')}: ${e}`);
    if (typeof e === 'string') continue;
    assert.equal(e.exec(c, true), want, w.join(' '));
  }
});

test('ACLs try every value of a multi-valued fetch (hdr without an occurrence, cookies), as HAProxy', () => {
  const c = ctx({ httpReq: req('GET / HTTP/1.1\nHost: a\nX-Forwarded-For: 1.1.1.1, 2.2.2.2\nX-Forwarded-For: 3.3.3.3\nCookie: a=1; b=x; a=2') });
  const cases: Array<[string[], number]> = [
    [['hdr(x-forwarded-for)', '1.1.1.1'], ACL_PASS],
    [['hdr(x-forwarded-for)', '2.2.2.2'], ACL_PASS],
    [['req.hdr(x-forwarded-for)', '3.3.3.3'], ACL_PASS],
    [['hdr(x-forwarded-for,1)', '1.1.1.1'], ACL_PASS],
    [['hdr(x-forwarded-for,-1)', '1.1.1.1'], ACL_FAIL],
    [['req.fhdr(x-forwarded-for)', '1.1.1.1, 2.2.2.2'], ACL_PASS],
    [['hdr_beg(x-forwarded-for)', '2.2.'], ACL_PASS],
    [['req.hdr(x-forwarded-for),ipmask(8)', '-m', 'str', '3.0.0.0'], ACL_PASS],
    [['req.cook(a)', '2'], ACL_PASS],
    [['req.cook(a)', '1'], ACL_PASS],
    [['req.cook(a)', '3'], ACL_FAIL],
    [['hdr(x-none)', '-m', 'found'], ACL_FAIL],
  ];
  for (const [w, want] of cases) {
    const e = acl(w);
    assert.notEqual(typeof e, 'string', `${w.join(' ')}: ${e}`);
    if (typeof e === 'string') continue;
    assert.equal(e.exec(c, true), want, w.join(' '));
  }
});

test('acl errors use HAProxy wording', () => {
  const cases: Array<[string[], RegExp]> = [
    [['nosuchfetch', 'x'], /unknown fetch method 'nosuchfetch'/],
    [['src', '-z', 'x'], /'-z' is not a valid ACL option. Please use '--' before any pattern beginning with a '-'/],
    [['src', '-m', 'nope'], /unknown matching method 'nope'/],
    [['path', '-f', '/missing.lst'], /failed to open pattern file <\/missing.lst>/],
    [['src', 'not-an-ip'], /not-an-ip/],
    [['req.payload(0,3)', 'abc'], /matching method must be specified first \(using '-m'\)/],
  ];
  for (const [w, re] of cases) {
    const e = acl(w);
    assert.equal(typeof e, 'string', w.join(' '));
    assert.match(e as string, re);
  }
});

test('conditions: implicit AND, ||, !, anonymous ACLs, unless, predefined ACLs', () => {
  const scope = new AclScope(env);
  scope.add({ file: 't', line: 1, name: 'lan', words: ['src', '10.0.0.0/8'], origin: '' });
  scope.add({ file: 't', line: 2, name: 'get', words: ['method', 'GET'], origin: '' });
  scope.add({ file: 't', line: 3, name: 'lan', words: ['src', '172.16.0.0/12'], origin: '' }); // ORed with line 1
  const c = ctx({ httpReq: req('GET / HTTP/1.1\nHost: a'), src: '172.16.5.5' });
  const cond = (w: string): number => {
    const r = parseCondition(w.split(' '), scope, 3, env);
    if (typeof r === 'string') throw new Error(r);
    return r.exec(c, true);
  };
  assert.equal(cond('if lan get'), ACL_PASS);
  assert.equal(cond('if lan !get'), ACL_FAIL);
  assert.equal(cond('if !lan || get'), ACL_PASS);
  assert.equal(cond('unless lan'), ACL_FAIL);
  // One-term conditions (evaluated without the suite loops): every ! / unless combination.
  assert.equal(cond('if lan'), ACL_PASS);
  assert.equal(cond('if !lan'), ACL_FAIL);
  assert.equal(cond('unless !lan'), ACL_PASS);
  assert.equal(cond('if FALSE'), ACL_FAIL);
  assert.equal(cond('unless FALSE'), ACL_PASS);
  assert.equal(cond('unless !FALSE'), ACL_FAIL);
  assert.equal(cond('if { src 172.16.5.5 } METH_GET'), ACL_PASS);
  assert.equal(cond('if !{ src 172.16.5.5 }'), ACL_FAIL);
  assert.equal(cond('if FALSE || TRUE'), ACL_PASS);
  assert.equal(cond('if LOCALHOST'), ACL_FAIL);
  assert.equal(cond('if HTTP_1.1 METH_GET'), ACL_PASS);
  // Declared after the use: unknown (HAProxy resolves at the rule's line).
  assert.match(parseCondition(['if', 'get'], scope, 1, env) as string, /no such ACL : 'get'/);
  assert.match(parseCondition(['if', 'lan', '||'], scope, 3, env) as string, /missing ACL after '\|\|'/);
  assert.match(parseCondition(['if', '{', 'src', '1.2.3.4'], scope, 3, env) as string, /missing closing '}'/);
});

test('three-valued results: a partial ClientHello is a MISS until final, then FAIL', () => {
  const e = acl(['req.ssl_sni', '-i', 'a.example']);
  assert.ok(typeof e !== 'string');
  if (typeof e === 'string') return;
  const partial = Buffer.from([0x16, 0x03, 0x01, 0x00, 0x80, 0x01]);
  assert.equal(e.exec(ctx({ payload: partial, final: false }), false), ACL_MISS);
  assert.equal(e.exec(ctx({ payload: partial, final: true }), true), ACL_FAIL);
  // MISS is kept through negation and AND with PASS, and a PASS wins an OR.
  const scope = new AclScope(env);
  const c = parseCondition(['if', '!{', 'req.ssl_sni', 'x', '}', '||', 'TRUE'], scope, 0, env);
  assert.ok(typeof c !== 'string');
  if (typeof c !== 'string') assert.equal(c.exec(ctx({ payload: partial, final: false }), false), ACL_PASS);
  const c2 = parseCondition(['if', '!{', 'req.ssl_sni', 'x', '}', 'TRUE'], scope, 0, env);
  if (typeof c2 !== 'string') assert.equal(c2.exec(ctx({ payload: partial, final: false }), false), ACL_MISS);
  // A one-term condition keeps the MISS through ! and unless.
  for (const w of [['if', '{', 'req.ssl_sni', 'x', '}'], ['unless', '{', 'req.ssl_sni', 'x', '}'], ['unless', '!{', 'req.ssl_sni', 'x', '}']]) {
    const c3 = parseCondition(w, scope, 0, env);
    if (typeof c3 !== 'string') assert.equal(c3.exec(ctx({ payload: partial, final: false }), false), ACL_MISS, w.join(' '));
  }
});

test('rule sets: a MISS yields and evaluation resumes at that rule; named defaults rules come first with their own ACLs', () => {
  const d = newProxyConfig('d', 't.cfg', 1);
  const p = newProxyConfig('fe', 't.cfg', 10);
  p.cap = { fe: true, be: false };
  p.acls.push({ file: 't.cfg', line: 2, name: 'inner', words: ['src', '10.0.0.0/8'], origin: 'd' });
  p.rules.push({ file: 't.cfg', line: 3, set: 'tcp-request content', words: ['set-var(sess.seen)', 'int(1)', 'if', 'inner'], aclCount: 1, origin: 'd' });
  p.rules.push({ file: 't.cfg', line: 11, set: 'tcp-request content', words: ['reject', 'if', '{', 'req.ssl_sni', 'evil.example', '}'], aclCount: 0, origin: '' });
  const errors: string[] = [];
  const rules = compileProxyRules(p, { proxies: [p, d], file: () => undefined }, { error: (_f, l, _k, m) => errors.push(`${l}: ${m}`), warn: () => undefined });
  assert.equal(errors.length, 0, errors.join('\n'));
  const c = ctx({ payload: Buffer.from([0x16, 0x03, 0x01]), final: false }) as unknown as RuleHost;
  c.reply = null;
  assert.equal(runRules(rules.tcpReqCnt, c, false), ACT_YIELD);
  assert.equal(c.vars.sess!.get('seen')?.n, 1, 'the defaults rule ran first');
  // A rule using the defaults' ACL from the proxy's own lines is refused.
  p.rules.push({ file: 't.cfg', line: 12, set: 'tcp-request content', words: ['accept', 'if', 'inner'], aclCount: 0, origin: '' });
  compileProxyRules(p, { proxies: [p, d], file: () => undefined }, { error: (_f, l, _k, m) => errors.push(`${l}: ${m}`), warn: () => undefined });
  assert.match(errors.join('\n'), /12: .*no such ACL : 'inner'/);
  assert.equal(runRules(rules.tcpReqCnt, ctx({ payload: Buffer.from('GET / HTTP/1.0\r\n\r\n'), final: true }) as unknown as RuleHost, true), ACT_CONTINUE);
  assert.notEqual(ACT_DENY, ACT_CONTINUE);
});
