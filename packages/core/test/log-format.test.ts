/*
 * log-format compiler and renderer. The HAPROXY_* lines were captured from
 * haproxy 2.6.12 (Debian 2.6.12-1+deb12u4) run as `TZ=UTC haproxy -db -f h.cfg`
 * with `global log 127.0.0.1:18409 local0` and a node dgram listener on that
 * port printing each datagram; the origin was a node http server answering
 * `hello\n` with `X-Srv: a|b`; clients were curl and raw node sockets. The
 * syslog header (`<134>Nov 24 19:13:49 haproxy[pid]: `) and final LF are cut.
 * The records below give the values haproxy printed for each line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  compileLogFormat, renderLogFormat, TCPLOG_FORMAT, HTTPLOG_FORMAT, CLFLOG_FORMAT, LOG_FORMAT_VARIABLES,
  type CompiledLogFormat, type LogRecord,
} from '../src/log/log-format';
import { formatTcpLog } from './tcplog-oracle';
import '../src/features';
import { finalizeLogFormats } from '../src/log/format-keywords';
import { lexConfig } from '../src/config/lexer';
import { newParseState, parseLines } from '../src/config/parser';
import { Diagnostics, formatDiagnostic } from '../src/config/diagnostics';
import type { ProxyConfig } from '../src/config/compiled';

/** Lex + parse + finalizeLogFormats, as config load does. */
function parseConfigText(text: string) {
  const diag = new Diagnostics();
  const state = newParseState(diag);
  parseLines(lexConfig(text, 't.cfg', diag, { env: {}, features: new Set(), version: '2.6' }), state);
  finalizeLogFormats(state);
  const all = [...state.proxies, ...state.defaults];
  return {
    proxy: (name: string): ProxyConfig => all.find(p => p.name === name)!,
    errors: diag.items.filter(d => d.severity === 'alert').map(formatDiagnostic),
    warnings: diag.items.filter(d => d.severity === 'warning').map(formatDiagnostic),
  };
}

process.env.TZ = 'UTC';

function rec(over: Partial<LogRecord> = {}): LogRecord {
  return {
    clientIp: '127.0.0.1', clientPort: 1, acceptTime: 0, frontend: 'fe', backend: 'be', server: 's1',
    tw: 0, tc: 0, tt: 0, bytesOut: 0, termState: '--', actconn: 0, feconn: 0, beconn: 0, srvConn: 0,
    retries: 0, redispatched: false, srvQueue: 0, backendQueue: 0, ...over,
  };
}

function compile(fmt: string, http = true): CompiledLogFormat {
  const c = compileLogFormat(fmt, { http });
  if (!c.ok) throw new Error(c.error);
  return c.fmt;
}

function render(fmt: string, r: Partial<LogRecord> = {}): string {
  return renderLogFormat(compile(fmt), rec(r));
}

const T0 = Date.parse('2026-11-24T19:13:49.003Z');

/* ---- lines from haproxy 2.6.12 ---- */

// frontend ftcp (mode tcp), curl to it, origin answered 140 bytes.
const FTCP_FORMAT = '%ci:%cp %fi:%fp %bi %si:%sp [%t] %ft %f %b %s %Tw %Tc %Tt %Th %Td %Tu %B %U %ts %tsc %ac %fc %bc %sc %rc %sq %bq %{+Q}b %{+X}ci:%{+X}cp %{+X}fi %ST %ID %hr %hs %{+Q}ID x%%y %-z  a   b ';
const HAPROXY_FTCP = '127.0.0.1:46352 127.0.0.1:18402 127.0.0.1 127.0.0.1:18401 [24/Nov/2026:19:13:49.003] ftcp ftcp b s1 1 0 13 0 13 13 140 68 -- ---- 1 1 0 0 0 0 0 "b" 7F000001:B510 7F000001 0 - "" x%y -z a b ';
// `option httplog`, request `GET /p/a?q=1&r="2"` with Host `ex|am{p}le` and User-Agent `ua"1]` captured.
const HAPROXY_HTTPLOG = '127.0.0.1:46238 [24/Nov/2026:19:13:49.023] fhttp bh/s1 0/0/0/0/0 200 115 - - ---- 1/1/0/0/0 0/0 {ex#7Cam#7Bp#7Dle|ua#221]} {a#7Cb} "GET /p/a?q=1&r=#222#22 HTTP/1.1"';
// `option httplog clf`, Host `h` captured.
const HAPROXY_CLF = '127.0.0.1 - - [24/Nov/2026:19:13:49 +0000] "GET /clf?x=1 HTTP/1.1" 200 115 "" "" 37070 032 "fclf" "bh" "s1" 0 0 0 0 0 ---- 1 1 0 0 0 0 0 "" "" "h" "a#7Cb"';
// frontend fx, request headers X-A `v"1\]`, no X-B.
const FX_FORMAT = '%HM|%HU|%HP|%HPO|%HQ|%HV|%{+Q}HQ|%r|%{+E}r|%ST|%TR|%Tq|%Ta|%Tr|%Ti|%Th|%CC|%{+Q}CS|%hrl|%{+Q}hsl|%{+E}hr|%{+Q,+E}s|%{+Q}ft';
const HAPROXY_FX1 = 'GET|/a/b?c=d|/a/b|/a/b|?c=d|HTTP/1.1|"?c=d"|GET /a/b?c=d HTTP/1.1|GET /a/b?c=d HTTP/1.1|200|0|0|1|1|0|0|-|""|v#221\\] -|"a#7Cb"|{v#221\\\\\\]|}|"s1"|"fx"';
// frontend fx, raw `GET http://h.example/abs/p?k=v HTTP/1.1`.
const HAPROXY_FX2 = 'GET|http://h.example/abs/p?k=v|http://h.example/abs/p|/abs/p|?k=v|HTTP/1.1|"?k=v"|GET http://h.example/abs/p?k=v HTTP/1.1|GET http://h.example/abs/p?k=v HTTP/1.1|200|0|1|4|4|1|0|-|""|- -|"a#7Cb"|{|}|"s1"|"fx"';
// `option tcplog` frontend, 5 bytes sent, origin answered 47 bytes (400).
const HAPROXY_TCPLOG = '127.0.0.1:56830 [24/Nov/2026:19:14:07.262] ftcplog b/s1 1/0/2 47 -- 1/1/0/0/0 0/0';

test('haproxy 2.6.12: custom format in a TCP frontend', () => {
  assert.equal(render(FTCP_FORMAT, {
    clientPort: 46352, frontendIp: '127.0.0.1', frontendPort: 18402, backendSrcIp: '127.0.0.1', serverIp: '127.0.0.1', serverPort: 18401,
    acceptTime: T0, frontend: 'ftcp', backend: 'b', tw: 1, tc: 0, tt: 13, bytesOut: 140, bytesIn: 68, actconn: 1, feconn: 1,
  }).replace(/ \d+ 127\.0\.0\.1:18401/, ' 127.0.0.1:18401'), HAPROXY_FTCP.replace(/ \d+ 127\.0\.0\.1:18401/, ' 127.0.0.1:18401'));
});

test('haproxy 2.6.12: option httplog', () => {
  const line = renderLogFormat(compile(HTTPLOG_FORMAT), rec({
    clientPort: 46238, acceptTime: Date.parse('2026-11-24T19:13:49.023Z'), frontend: 'fhttp', backend: 'bh',
    th: 0, ti: 0, tR: 0, tr: 0, tt: 0, status: 200, bytesOut: 115, actconn: 1, feconn: 1,
    reqCaptures: ['ex|am{p}le', 'ua"1]'], resCaptures: ['a|b'], requestLine: 'GET /p/a?q=1&r="2" HTTP/1.1',
  }));
  assert.equal(line, HAPROXY_HTTPLOG);
});

test('haproxy 2.6.12: option httplog clf', () => {
  const line = renderLogFormat(compile(CLFLOG_FORMAT), rec({
    clientPort: 37070, acceptTime: Date.parse('2026-11-24T19:13:49.032Z'), frontend: 'fclf', backend: 'bh',
    th: 0, ti: 0, tR: 0, tr: 0, tt: 0, status: 200, bytesOut: 115, actconn: 1, feconn: 1,
    reqCaptures: ['h'], resCaptures: ['a|b'], requestLine: 'GET /clf?x=1 HTTP/1.1',
  }));
  assert.equal(line, HAPROXY_CLF);
});

test('haproxy 2.6.12: request-line variables, flags and captures', () => {
  const base = { frontend: 'fx', backend: 'bh', resCaptures: ['a|b'], status: 200 };
  assert.equal(renderLogFormat(compile(FX_FORMAT), rec({
    ...base, th: 0, ti: 0, tR: 0, tr: 1, tt: 1, requestLine: 'GET /a/b?c=d HTTP/1.1', reqCaptures: ['v"1\\]', null],
  })), HAPROXY_FX1);
  assert.equal(renderLogFormat(compile(FX_FORMAT), rec({
    ...base, th: 0, ti: 1, tR: 0, tr: 4, tt: 5, requestLine: 'GET http://h.example/abs/p?k=v HTTP/1.1', reqCaptures: [null, null],
  })), HAPROXY_FX2);
});

test('haproxy 2.6.12: tcplog, and tcplog through the compiler is byte-identical to formatTcpLog', () => {
  const c = compile(TCPLOG_FORMAT, false);
  const r = rec({ clientPort: 56830, acceptTime: Date.parse('2026-11-24T19:14:07.262Z'), frontend: 'ftcplog', backend: 'b', tw: 1, tc: 0, tt: 2, bytesOut: 47, actconn: 1, feconn: 1 });
  assert.equal(renderLogFormat(c, r), HAPROXY_TCPLOG);
  assert.equal(formatTcpLog(r), HAPROXY_TCPLOG);
  // Many records: pseudo-random but reproducible.
  let seed = 12345;
  const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
  const terms = ['--', 'SC', 'cD', 'CD', 'sQ', 'SD', 'PR'];
  for (let i = 0; i < 2000; i++) {
    const x = rec({
      clientIp: rnd(2) ? `10.${rnd(256)}.${rnd(256)}.${rnd(256)}` : `2001:db8::${rnd(65535).toString(16)}`,
      clientPort: rnd(65536), acceptTime: 1_700_000_000_000 + rnd(1_000_000_000) * 37,
      frontend: 'fe' + rnd(5), backend: 'be' + rnd(5), server: rnd(4) ? 's' + rnd(9) : '<NOSRV>',
      tw: rnd(5) - 1, tc: rnd(500) - 1, tt: rnd(100000), bytesOut: rnd(1 << 30), termState: terms[rnd(terms.length)],
      actconn: rnd(1000), feconn: rnd(1000), beconn: rnd(1000), srvConn: rnd(100), retries: rnd(4), redispatched: rnd(5) === 0,
      srvQueue: rnd(10), backendQueue: rnd(10),
    });
    assert.equal(renderLogFormat(c, x), formatTcpLog(x));
  }
});

/* ---- every variable ---- */

test('each variable renders from its record field', () => {
  const r: Partial<LogRecord> = {
    clientIp: '192.168.1.2', clientPort: 443, frontendIp: '10.0.0.1', frontendPort: 80, backendSrcIp: '10.0.0.2', backendSrcPort: 40000,
    serverIp: '10.0.0.3', serverPort: 8080, acceptTime: Date.parse('2026-01-02T03:04:05.006Z'), tw: 1, tc: 2, tt: 100,
    bytesOut: 1234, bytesIn: 56, th: 3, ti: 4, tR: 5, tr: 6, status: 404, termState: 'SC', cookieFlags: 'NI',
    actconn: 7, feconn: 8, beconn: 9, srvConn: 10, retries: 2, redispatched: true, srvQueue: 11, backendQueue: 12,
    cliCookie: 'cc', srvCookie: 'cs', uniqueId: 'abc', requestCounter: 77, logCount: 5, ssl: true, sslCipher: 'AES', sslVersion: 'TLSv1.3',
    requestLine: 'POST /x/y?z=1 HTTP/1.0',
  };
  const cases: Array<[string, string]> = [
    ['%ci', '192.168.1.2'], ['%cp', '443'], ['%fi', '10.0.0.1'], ['%fp', '80'], ['%bi', '10.0.0.2'], ['%bp', '40000'],
    ['%si', '10.0.0.3'], ['%sp', '8080'], ['%t', '02/Jan/2026:03:04:05.006'], ['%T', '02/Jan/2026:03:04:05 +0000'],
    ['%Tl', '02/Jan/2026:03:04:05 +0000'], ['%Ts', '' + Math.floor(Date.parse('2026-01-02T03:04:05Z') / 1000)], ['%ms', '006'],
    ['%tr', '02/Jan/2026:03:04:05.013'], ['%trg', '02/Jan/2026:03:04:05 +0000'], ['%trl', '02/Jan/2026:03:04:05 +0000'],
    ['%f', 'fe'], ['%ft', 'fe~'], ['%b', 'be'], ['%s', 's1'], ['%Th', '3'], ['%Ti', '4'], ['%TR', '5'], ['%Tq', '12'],
    ['%Tw', '1'], ['%Tc', '2'], ['%Tr', '6'], ['%Td', '79'], ['%Ta', '93'], ['%Tt', '100'], ['%Tu', '96'],
    ['%ST', '404'], ['%B', '1234'], ['%U', '56'], ['%CC', 'cc'], ['%CS', 'cs'], ['%ts', 'SC'], ['%tsc', 'SCNI'],
    ['%ac', '7'], ['%fc', '8'], ['%bc', '9'], ['%sc', '10'], ['%rc', '+2'], ['%sq', '11'], ['%bq', '12'],
    ['%ID', 'abc'], ['%rt', '77'], ['%lc', '5'], ['%pid', '' + process.pid], ['%sslc', 'AES'], ['%sslv', 'TLSv1.3'],
    ['%r', 'POST /x/y?z=1 HTTP/1.0'], ['%HM', 'POST'], ['%HU', '/x/y?z=1'], ['%HP', '/x/y'], ['%HPO', '/x/y'], ['%HQ', '?z=1'], ['%HV', 'HTTP/1.0'],
  ];
  for (const [f, want] of cases) assert.equal(render(f, r), want, f);
  assert.ok(render('%H').length > 0);
  // Every variable in the table is accepted.
  for (const v of LOG_FORMAT_VARIABLES) assert.ok(compileLogFormat('%' + v).ok, v);
});

test('absent values render as haproxy does', () => {
  assert.equal(render('%fi %fp %bi %bp %si %sp %CC %CS %ID %sslc'), '- - - - - - - - - -');
  assert.equal(render('%{+Q}CC %{+Q}fi'), '"" ""');
  assert.equal(render('%ST %U %Th %Ti %TR %Tq %Tr %rt'), '0 0 0 -1 -1 -1 -1 0');
  assert.equal(render('%r %HM %HU %HV %HQ'), '<BADREQ> <BADREQ> <BADREQ> <BADREQ> <BADREQ>');
  assert.equal(render('a %hr %hs %hrl %hsl b'), 'a b'); // no captures: nothing, and spaces merge
  assert.equal(render('%tsc'), '----');
  assert.equal(render('%Td', { tc: -1, tt: 5 }), '-1');
  assert.equal(render('%{-M}o%CC|'), '|');
});

/* ---- flags ---- */

test('+Q quotes text variables only; %o sets defaults; -Q cancels', () => {
  assert.equal(render('%{+Q}b %{+Q}s %{+Q}f %{+Q}ft %{+Q}ci %{+Q}cp %{+Q}B %{+Q}Tt %{+Q}ts'), '"be" "s1" "fe" "fe" "127.0.0.1" 1 0 0 --');
  assert.equal(render('%{+Q}o %b %{-Q}s %f'), '"be" s1 "fe"');
});

test('+X writes addresses, ports, %Ts %ms %pid %rt in hex', () => {
  const r = { clientIp: '10.1.2.254', clientPort: 0x1f90, acceptTime: 0x65000000 * 1000 + 10, requestCounter: 0x2a };
  assert.equal(render('%{+X}ci:%{+X}cp %{+X}Ts %{+X}ms %{+X}rt', r), '0A0102FE:1F90 65000000 0A 002A');
  assert.equal(render('%{+X}ci', { clientIp: '2001:db8::1' }), '20010DB8000000000000000000000001');
  assert.equal(render('%{+X}ci', { clientIp: '::ffff:1.2.3.4' }), '00000000000000000000FFFF01020304');
  assert.equal(render('%{+X}ci', { clientIp: 'fe80::1:2' }), 'FE800000000000000000000000010002');
  assert.equal(render('%{+X}pid'), process.pid.toString(16).toUpperCase().padStart(4, '0'));
});

test('+E escapes " \\ ] in text variables', () => {
  assert.equal(render('%{+E}b %{+Q,+E}s', { backend: 'a"b\\c]d', server: 'x]' }), 'a\\"b\\\\c\\]d "x\\]"');
  assert.equal(render('%b', { backend: 'a"b' }), 'a"b');
});

test('%r and captures encode control characters, " and # (and {|} in headers)', () => {
  assert.equal(render('%r', { requestLine: 'GET /a#b\x01 HTTP/1.1' }), 'GET /a#23b#01 HTTP/1.1');
  assert.equal(render('%hr', { reqCaptures: ['a{b}|c#'] }), '{a#7Bb#7D#7Cc#23}');
  assert.equal(render('%{+Q}hr %{+Q}hrl', { reqCaptures: ['x', null] }), '"{x|}" "x" ""');
  assert.equal(render('%HV', { requestLine: 'GET /' }), 'HTTP/0.9');
  assert.equal(render('%HM', { requestLine: 'GET' }), '<BADREQ>');
  assert.equal(render('%HQ', { requestLine: 'GET / HTTP/1.1' }), '');
});

/* ---- literal text ---- */

test('literal text, %%, merged spaces and a dropped % before punctuation', () => {
  assert.equal(render('100%% done'), '100% done');
  assert.equal(render('  lead   and trail  '), 'lead and trail ');
  assert.equal(render('%-x %.y'), '-x .y');
  assert.equal(render('[%b]\t{%s}'), '[be]\t{s1}');
});

/* ---- errors ---- */

test('errors use haproxy 2.6 wording', () => {
  const err = (f: string, http = true) => { const c = compileLogFormat(f, { http }); return c.ok ? 'OK' : c.error; };
  assert.equal(err('%foo'), `no such format variable 'foo'. If you wanted to emit the '%' character verbatim, you need to use '%%'`);
  assert.equal(err('%bother'), `no such format variable 'bother'. If you wanted to emit the '%' character verbatim, you need to use '%%'`);
  assert.equal(err('%r', false), `format variable 'r' is reserved for HTTP mode`);
  assert.equal(err('%CC', false), `format variable 'CC' is reserved for HTTP mode`);
  assert.equal(err('50%'), `truncated line after '%'`);
  assert.equal(err('%{+Q'), `truncated line after '+Q'`);
  assert.equal(err('%{+Q} x'), `parse argument modifier without variable name near '%{+Q}'`);
  assert.match(err('a %1'), /^unexpected variable name near '1' at position 3/);
  assert.equal(err('%[src]'), `sample expressions are not allowed here ('%[src]')`);
  assert.equal(err('%{+Q}[src,lower]'), `sample expressions are not allowed here ('%{+Q}[src,lower]')`);
  assert.equal(err('%{+Q,+nonsense,Q}b'), 'OK'); // unknown flags are ignored
});

/* ---- keywords ---- */

test('log-format / option httplog / option tcplog: last one wins, tcplog becomes its format', () => {
  const run = (body: string) => parseConfigText(`defaults\n  mode tcp\n${body}\nbackend b\n  server s 127.0.0.1:1\n`);
  let s = run('frontend f\n  bind :1\n  option tcplog\n  log-format %ci');
  assert.equal(s.proxy('f').logFormat, '%ci');
  s = run('frontend f\n  bind :1\n  log-format %ci\n  option tcplog');
  assert.equal(s.proxy('f').logFormat, TCPLOG_FORMAT);
  s = run('frontend f\n  bind :1\n  log-format %ci\\ %b');
  assert.equal(s.proxy('f').logFormat, '%ci %b');
  s = run('frontend f\n  bind :1\n  log-format "%ci %b"\n  mode http');
  assert.equal(s.proxy('f').logFormat, '%ci %b');
  assert.deepEqual(s.errors, []);
});

test('option httplog in a TCP frontend falls back to tcplog with haproxy\'s warning', () => {
  const s = parseConfigText('frontend f\n  bind :1\n  option httplog\n  default_backend b\nbackend b\n  server s 127.0.0.1:1\n');
  assert.equal(s.proxy('f').logFormat, TCPLOG_FORMAT);
  assert.equal(s.proxy('f').options.tcplog, true);
  assert.ok(s.warnings.some(w => w.includes(`'option httplog' not usable with frontend 'f' (needs 'mode http'). Falling back to 'option tcplog'.`)), s.warnings.join('\n'));
  const h = parseConfigText('frontend f\n  mode http\n  bind :1\n  option httplog clf\n');
  assert.equal(h.proxy('f').logFormat, CLFLOG_FORMAT);
});

test('log-format errors carry the directive line', () => {
  let s = parseConfigText('frontend f\n  bind :1\n  log-format %foo\n');
  assert.match(s.errors.join('\n'), /:3.*failed to parse log-format : no such format variable 'foo'/);
  s = parseConfigText('frontend f\n  bind :1\n  log-format %r\n');
  assert.match(s.errors.join('\n'), /:3.*failed to parse log-format : format variable 'r' is reserved for HTTP mode/);
  s = parseConfigText('frontend f\n  bind :1\n  log-format a b\n');
  assert.match(s.errors.join('\n'), /expects only one argument, don't forget to escape spaces!/);
  s = parseConfigText('frontend f\n  bind :1\n  option httplog foo\n');
  assert.match(s.errors.join('\n'), /keyword 'httplog' only supports option 'clf'/);
  s = parseConfigText('defaults\n  option tcplog\n  log-format %ci\n');
  assert.match(s.warnings.join('\n'), /'log-format' overrides previous 'option tcplog' in 'defaults' section/);
  s = parseConfigText('backend b\n  log-format %ci\n');
  assert.equal(s.proxy('b').logFormat, null);
});
