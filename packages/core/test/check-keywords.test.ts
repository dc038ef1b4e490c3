/*
 * Health-check keywords (checks/keywords.ts): server options with HAProxy's
 * defaults and default-server inheritance, the rulesets compiled from
 * option httpchk / option tcp-check / tcp-check / http-check lines as
 * HAProxy's check_proxy_tcpcheck() builds them, and the load-time errors
 * (texts as haproxy 2.6 writes them).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configLoader, proxy, HEAD } from './config-loader';
import type { CompiledConfig, ServerConfig } from '../src/config/compiled';
import type { CheckRule, ConnectRule, ExpectRule, HttpSendRule } from '../src/checks/types';
import { HCHK_L7OKCD, HCHK_UNKNOWN, OBSERVE_LAYER7, ONERR_FAILCHK, ONERR_MARKDWN } from '../src/checks/types';

const load = configLoader('sy-chk-unit-');

async function ok(text: string): Promise<CompiledConfig> {
  const r = await load(text);
  assert.deepEqual(r.errors, []);
  return r.config!;
}

function server(c: CompiledConfig, be: string, name: string): ServerConfig {
  const s = proxy(c, be).servers.find(x => x.name === name);
  assert.ok(s, name);
  return s;
}

/** The rules as `<t>[:<detail>]@<step>` for compact assertions. */
function shape(rules: readonly CheckRule[]): string[] {
  return rules.map(r => {
    const step = r.t === 'connect' && r.implicit ? 'implicit' : String(r.index + 1);
    switch (r.t) {
      case 'connect': return `connect${r.port ? ':' + r.port : ''}@${step}`;
      case 'send': return `send:${JSON.stringify(r.data)}@${step}`;
      case 'http-send': return `http-send:${r.meth ?? '-'} ${r.uri ?? '-'} ${r.ver ?? '-'}@${step}`;
      case 'expect': return `expect:${r.inverse ? '!' : ''}${r.type} ${r.type === 'status' ? r.codes.map(c => c.join('-')).join(',') : JSON.stringify(r.pattern)}@${step}`;
    }
  });
}

test('server check options: HAProxy defaults, default-server, overrides, agent port from port', async () => {
  const c = await ok(`${HEAD}
backend b
  default-server inter 3s fall 5 observe layer7 error-limit 4 on-error mark-down
  server a 127.0.0.1:80 check
  server b 127.0.0.1:81 check rise 4 fastinter 500 downinter 10s port 9000 agent-check agent-inter 1s
  server c 127.0.0.1:82
  server d 127.0.0.1:83 agent-check agent-port 7000 agent-send "ping\\n" no-check
`);
  const a = server(c, 'b', 'a').checks!;
  assert.deepEqual([a.health!.inter, a.health!.fastinter, a.health!.downinter, a.health!.rise, a.health!.fall], [3000, 0, 0, 2, 5]);
  assert.equal(a.agent, null);
  assert.equal(a.errorLimit, 4);
  assert.equal(a.onError, ONERR_MARKDWN);
  assert.equal(a.observe, OBSERVE_LAYER7);
  assert.deepEqual(server(c, 'b', 'a').observe, { mode: OBSERVE_LAYER7, p: 0, s: 0, limit: 4 });
  const b = server(c, 'b', 'b').checks!;
  assert.deepEqual([b.health!.inter, b.health!.fastinter, b.health!.downinter, b.health!.rise, b.health!.fall, b.health!.port], [3000, 500, 10000, 4, 5, 9000]);
  // agent-port defaults to port; agent-inter is its own (default 2s), rise/fall 1.
  assert.deepEqual([b.agent!.port, b.agent!.inter, b.agent!.rise, b.agent!.fall, b.agent!.send], [9000, 1000, 1, 1, '']);
  assert.equal(server(c, 'b', 'c').checks, undefined);
  assert.equal(server(c, 'b', 'c').observe, undefined);
  const d = server(c, 'b', 'd').checks!;
  assert.equal(d.health, null);
  assert.deepEqual([d.agent!.port, d.agent!.inter, d.agent!.send], [7000, 2000, 'ping\n']);
  // observe without a health check has nothing to adjust.
  assert.equal(server(c, 'b', 'd').observe, undefined);
  assert.equal(proxy(c, 'b').defaultServer.checkOpts?.check, undefined, 'a server line does not change default-server');
  const e = (await ok(`${HEAD}\nbackend x\n  server s 127.0.0.1:1 check\n`)).proxies[0].servers[0].checks!;
  assert.deepEqual([e.health!.inter, e.health!.rise, e.health!.fall, e.onError, e.errorLimit, e.observe], [2000, 2, 3, ONERR_FAILCHK, 10, 0]);
});

test('checks follow the traffic\'s TLS and PROXY protocol unless port or addr override them', async () => {
  const c = await ok(`${HEAD}
backend b
  server a 127.0.0.1:443 ssl verify none check send-proxy-v2
  server b 127.0.0.1:443 ssl verify none check port 8443
  server c 127.0.0.1:443 ssl verify none check port 8443 check-ssl check-sni health.local check-send-proxy
  server d 127.0.0.1:80 check addr 127.0.0.2:8080 check-ssl verify none
`);
  const a = server(c, 'b', 'a').checks!.health!;
  assert.deepEqual([a.ssl, a.sendProxy, a.tls?.verify], [true, 2, 'none']);
  const b = server(c, 'b', 'b').checks!.health!;
  assert.deepEqual([b.ssl, b.sendProxy, b.tls], [false, 0, null]);
  const s = server(c, 'b', 'c').checks!.health!;
  assert.deepEqual([s.ssl, s.sendProxy, s.tls?.servername], [true, 1, 'health.local']);
  const d = server(c, 'b', 'd').checks!.health!;
  assert.deepEqual([d.ssl, d.addr, d.port, d.tls?.verify], [true, { ip: '127.0.0.2', family: 4 }, 8080, 'none']);
});

test('option httpchk: the default request, the <uri> and <meth> <uri> <ver> forms, the implicit expect', async () => {
  const c = await ok(`${HEAD}
backend a
  option httpchk
  server s 127.0.0.1:80 check
backend b
  option httpchk /health
  server s 127.0.0.1:80 check
backend c
  option httpchk GET /h HTTP/1.1
  http-check expect status 200,204-206
  server s 127.0.0.1:80 check
`);
  assert.deepEqual(shape(proxy(c, 'a').checkRules!.rules), ['connect@implicit', 'http-send:- - -@1', 'expect:status 200-399@2']);
  assert.equal(proxy(c, 'a').checkRules!.kind, 'http');
  assert.deepEqual(shape(proxy(c, 'b').checkRules!.rules), ['connect@implicit', 'http-send:- /health -@1', 'expect:status 200-399@2']);
  assert.deepEqual(shape(proxy(c, 'c').checkRules!.rules), ['connect@implicit', 'http-send:GET /h HTTP/1.1@1', 'expect:status 200-200,204-206@1']);
});

test('http-check send merges with option httpchk\'s request, whichever comes first', async () => {
  const c = await ok(`${HEAD}
backend a
  option httpchk GET /a
  http-check send hdr Host example.com body hi
  server s 127.0.0.1:80 check
backend b
  http-check send meth HEAD hdr host b.example
  option httpchk
  server s 127.0.0.1:80 check
`);
  const a = proxy(c, 'a').checkRules!.rules[1] as HttpSendRule;
  assert.deepEqual([a.meth, a.uri, a.ver, a.hdrs, a.body], ['GET', '/a', null, [['Host', 'example.com']], 'hi']);
  const b = proxy(c, 'b').checkRules!.rules[1] as HttpSendRule;
  // The option's defaults (OPTIONS, /, HTTP/1.0) do not override what the send line set.
  assert.deepEqual([b.meth, b.uri, b.hdrs], ['HEAD', null, [['host', 'b.example']]]);
});

test('tcp-check rules: an implicit connect, decoded send-binary, comments and expect chains', async () => {
  const c = await ok(`${HEAD}
backend b
  mode tcp
  option tcp-check
  tcp-check comment "greeting"
  tcp-check expect string +OK
  tcp-check send-binary 50494e470d0a
  tcp-check expect ! string -ERR
  tcp-check expect rstring ^\\+PONG
  tcp-check send QUIT\\r\\n comment bye
  server s 127.0.0.1:6379 check
`);
  const rs = proxy(c, 'b').checkRules!;
  assert.equal(rs.kind, 'tcp-check');
  assert.deepEqual(shape(rs.rules), ['connect@implicit', 'expect:string "+OK"@2', 'send:"PING\\r\\n"@3', 'expect:!string "-ERR"@4', 'expect:rstring "^\\\\+PONG"@5', 'send:"QUIT\\r\\n"@6']);
  assert.equal(rs.rules[1].comment, 'greeting', 'a comment line goes to the rule after it');
  assert.equal(rs.rules[2].comment, null, '…and not past a rule of another kind');
  assert.equal(rs.rules[5].comment, 'bye');
  // The second expect of a chain resumes at the inverted one before it.
  assert.equal((rs.rules[4] as ExpectRule).head, 3);
  assert.equal((rs.rules[3] as ExpectRule).head, 3);
  assert.equal((rs.rules[1] as ExpectRule).head, 1);
});

test('tcp-check connect options; an explicit first connect replaces the implicit one', async () => {
  const c = await ok(`${HEAD}
backend b
  mode tcp
  option tcp-check
  tcp-check connect port 25 comment smtp
  tcp-check expect min-recv 3 binary 323230 error-status L7STS tout-status L6TOUT
  tcp-check connect port 587 ssl sni mail.local alpn h2,http/1.1 linger send-proxy
  server s 127.0.0.1:80 check verify none
`);
  const rules = proxy(c, 'b').checkRules!.rules;
  assert.deepEqual(shape(rules), ['connect:25@1', 'expect:binary "220"@2', 'connect:587@3']);
  const e = rules[1] as ExpectRule;
  assert.deepEqual([e.minRecv, e.errStatus, e.toutStatus, e.okStatus], [3, 17, 10, HCHK_UNKNOWN]);
  const c2 = rules[2] as ConnectRule;
  assert.deepEqual([c2.ssl, c2.sni, c2.alpn, c2.linger, c2.sendProxy, c2.comment], [true, 'mail.local', ['h2', 'http/1.1'], true, true, null]);
  assert.equal(rules[0].comment, 'smtp');
});

test('rules written in defaults are used by backends that write none; a backend\'s own replace them', async () => {
  const c = await ok(`${HEAD}
  option tcp-check
  tcp-check send PING\\r\\n
  tcp-check expect string PONG
backend inherits
  mode tcp
  server s 127.0.0.1:80 check
backend own
  mode tcp
  tcp-check expect string READY
  server s 127.0.0.1:80 check
`);
  assert.deepEqual(shape(proxy(c, 'inherits').checkRules!.rules), ['connect@implicit', 'send:"PING\\r\\n"@1', 'expect:string "PONG"@2']);
  assert.deepEqual(shape(proxy(c, 'own').checkRules!.rules), ['connect@implicit', 'expect:string "READY"@1']);
});

test('http-check disable-on-404, expect options and header matches', async () => {
  const c = await ok(`${HEAD}
backend b
  option httpchk
  http-check disable-on-404
  http-check send uri /s
  http-check expect ! rstring ^ERR ok-status L7OKC on-error "bad body"
  http-check expect hdr name -m beg x-state value -m sub ready
  server s 127.0.0.1:80 check
`);
  const rs = proxy(c, 'b').checkRules!;
  assert.equal(rs.disableOn404, true);
  const e = rs.rules[2] as ExpectRule;
  assert.deepEqual([e.type, e.inverse, e.okStatus, e.onError], ['rbody', true, HCHK_L7OKCD, 'bad body']);
  const h = rs.rules[3] as ExpectRule;
  assert.deepEqual(h.hdr, { name: 'x-state', nameMatch: 'beg', value: 'ready', valueMatch: 'sub', full: false });
});

test('load-time errors and warnings, with HAProxy\'s texts', async () => {
  const r = await load(`${HEAD}
backend b
  mode tcp
  tcp-check expect status 200
  tcp-check send-binary 0g
  tcp-check expect string-lf %[src]
  tcp-check expect rstring (
  tcp-check expect string
  http-check expect binary 00
  tcp-check connect port 0
  tcp-check connect proto h2
  server a 127.0.0.1 check
  server b 127.0.0.1:80 check inter 0 rise 0 observe layer5 on-error later
  server c 127.0.0.1:80 agent-check
  server d 127.0.0.1:80 check observe layer7 on-marked-down now
`);
  const has = (line: number, text: string): void => assert.ok(r.errors.some(e => e.startsWith(`${line}: `) && e.includes(text)), `line ${line}: ${text}\n${r.errors.join('\n')}`);
  assert.equal(r.config, undefined);
  has(9, "'only supports min-recv, '[!]binary', '[!]string', '[!]rstring', '[!]string-lf''[!]rbinary', '[!]binary-lf' or comment but got 'status' as argument.");
  has(10, "'0g' invalid binary string");
  has(11, 'log-format expressions in health checks are not supported by Switchyard yet');
  has(12, "invalid regex '('");
  has(13, "'string' expects a <pattern> as argument");
  has(14, "but got 'binary' as argument.");
  has(15, 'expects a valid TCP port (from range 1 to 65535)');
  has(16, "'proto' is not supported by Switchyard yet");
  has(18, "'inter' : invalid value 0 for argument 'inter'");
  has(18, "'rise' : 'rise' has to be > 0.");
  has(18, "'observe' expects one of 'none', 'layer4', 'layer7' but got 'layer5'");
  has(18, "'on-error' expects one of 'fastinter', 'fail-check', 'sudden-death' or 'mark-down' but got 'later'");
  has(20, "'on-marked-down' expects 'shutdown-sessions' but got 'now'");
  const r2 = await load(`${HEAD}
backend b
  mode tcp
  server a 127.0.0.1 check
  server c 127.0.0.1:80 agent-check
  server d 127.0.0.1:80 check observe layer7
backend w
  http-check expect status 200
  tcp-check expect string x
  http-check disable-on-404
  server s 127.0.0.1:80 check
`);
  assert.deepEqual(r2.errors.sort(), [
    '10: server: server c does not have agent port. Agent check has been disabled.',
    "11: server: server 'b/d': 'layer7' can only be used in http proxies.",
    "9: server: backend 'b': server 'a' has neither service port nor check port.",
  ]);
  assert.ok(r2.warnings.includes("12: http-check: backend 'w' uses http-check rules without 'option httpchk', so the rules are ignored."), r2.warnings.join('\n'));
  assert.ok(r2.warnings.includes("12: tcp-check: backend 'w' uses tcp-check rules without 'option tcp-check', so the rules are ignored."), r2.warnings.join('\n'));
  assert.ok(r2.warnings.includes("12: http-check: 'disable-on-404' will be ignored for backend 'w' (requires 'option httpchk')."), r2.warnings.join('\n'));
});

test('http-check rules in the wrong order are refused as HAProxy refuses them', async () => {
  const r = await load(`${HEAD}
backend b
  option httpchk
  http-check connect
  http-check expect status 200
  http-check send uri /
  http-check expect status 200
  http-check connect port 81
  http-check connect port 82
  server s 127.0.0.1:80 check
`);
  assert.deepEqual(r.errors, [
    '10: http-check expect: unable to add http-check expect rule at step 2 (missing send rule).',
    '14: http-check connect: unable to add http-check connect rule at step 5 (missing expect rule).',
  ]);
});

test('a backend without checked servers compiles no ruleset; an empty send-binary is refused', async () => {
  const c = await ok(`${HEAD}
backend b
  mode tcp
  option tcp-check
  tcp-check send-binary 00
  server s 127.0.0.1:80
`);
  assert.equal(proxy(c, 'b').checkRules, undefined);
  assert.equal(proxy(c, 'b').servers[0].checks, undefined);
  const r = await load(`${HEAD}\nbackend b\n  mode tcp\n  tcp-check send-binary ""\n`);
  assert.deepEqual(r.errors, ["9: tcp-check send-binary: 'send-binary' expects a binary string as argument."]);
});
