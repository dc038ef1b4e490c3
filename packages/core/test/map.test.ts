/*
 * Map converters (map.c of haproxy 2.6): the 29 names, file reading, each
 * match kind, output types, defaults and load errors, and 100k/10k-entry
 * maps. Cases marked "haproxy 2.6.12:" were run through /usr/sbin/haproxy as
 * `http-request return ... lf-string "%[req.fhdr(x),map_xxx(file,none)]"`
 * (or `haproxy -c` for errors) and the comment gives its answer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../src/rules/map';
import { loadMapText, MapDescriptor } from '../src/rules/map';
import {
  AT_HTTP_REQ, compileSampleExpr, findConverter, registerFetches, T_ADDR, T_IPV4, T_IPV6, T_SINT, T_STR, USE_INTERNAL,
} from '../src/rules/sample';
import type { CompileEnv, SampleContext, SampleExpr } from '../src/rules/sample';
import type { ProxyConfig } from '../src/config/compiled';

// Test-only fetches: the sample is whatever the test put in `input`.
let input = '';
let inputInt = 0;
registerFetches([
  { name: 't_in', out: T_STR, use: USE_INTERNAL, fetch: (smp) => smp.setStr(input) },
  { name: 't_int', out: T_SINT, use: USE_INTERNAL, fetch: (smp) => smp.setInt(inputInt) },
]);

const files = new Map<string, string>();

const env: CompileEnv = {
  proxy: { name: 'fe' } as unknown as ProxyConfig,
  proxies: [],
  file: (p) => files.get(p),
  at: AT_HTTP_REQ,
  where: 'http-request',
};

const ctx = {} as SampleContext;

function expr(text: string): SampleExpr {
  const e = compileSampleExpr(text, env);
  if (typeof e === 'string') assert.fail(`${text}: ${e}`);
  return e;
}

function exprError(text: string): string {
  const e = compileSampleExpr(text, env);
  assert.equal(typeof e, 'string', `expected an error for ${text}`);
  return e as string;
}

/** The converter's answer as text for each key ('' : no sample). */
function run(e: SampleExpr, key: string): string | null {
  input = key;
  return e.evalText(ctx);
}

function check(e: SampleExpr, rows: Array<[string, string | null]>): void {
  for (const [k, want] of rows) assert.equal(run(e, k), want, k);
}

function descriptor(e: SampleExpr): MapDescriptor {
  const d = e.convs[0].args[0];
  assert.ok(d instanceof MapDescriptor);
  return d;
}

test('the converters of map.c sample_conv_kws, with their types', () => {
  const expected: Array<[string, number, number]> = [
    ['map', T_STR, T_STR], ['map_str', T_STR, T_STR], ['map_beg', T_STR, T_STR], ['map_sub', T_STR, T_STR],
    ['map_dir', T_STR, T_STR], ['map_dom', T_STR, T_STR], ['map_end', T_STR, T_STR], ['map_reg', T_STR, T_STR],
    ['map_regm', T_STR, T_STR], ['map_int', T_SINT, T_STR], ['map_ip', T_ADDR, T_STR],
    ['map_str_int', T_STR, T_SINT], ['map_beg_int', T_STR, T_SINT], ['map_sub_int', T_STR, T_SINT], ['map_dir_int', T_STR, T_SINT],
    ['map_dom_int', T_STR, T_SINT], ['map_end_int', T_STR, T_SINT], ['map_reg_int', T_STR, T_SINT], ['map_int_int', T_SINT, T_SINT],
    ['map_ip_int', T_ADDR, T_SINT],
    ['map_str_ip', T_STR, T_ADDR], ['map_beg_ip', T_STR, T_ADDR], ['map_sub_ip', T_STR, T_ADDR], ['map_dir_ip', T_STR, T_ADDR],
    ['map_dom_ip', T_STR, T_ADDR], ['map_end_ip', T_STR, T_ADDR], ['map_reg_ip', T_STR, T_ADDR], ['map_int_ip', T_SINT, T_ADDR],
    ['map_ip_ip', T_ADDR, T_ADDR],
  ];
  for (const [name, i, o] of expected) {
    const c = findConverter(name);
    assert.ok(c, name);
    assert.equal(c.in, i, name);
    assert.equal(c.out, o, name);
    assert.equal(c.args!.length, 2, name);
    assert.equal(c.args![1].optional, true, name);
  }
  // 2.6 has no map_len, map_bin, map_regm_int...
  for (const name of ['map_len', 'map_bin', 'map_regm_int', 'map_regm_ip', 'map_found']) assert.equal(findConverter(name), undefined, name);
});

test('loadMapText: key, blanks, value to the end of the line less trailing blanks', () => {
  // haproxy 2.6.12: "k1 v1\r\n" and "k2\tv2 \r\n" give v1 and v2; see also the map_str case below.
  const text = 'k v1\nk v2\n  # not comment   val with  spaces  \t \n#c x\nonly\n\n   \n\tkey2\t\tv\r\nx  y z\r\nlast one';
  assert.deepEqual(loadMapText(text, 'm.map'), [
    { key: 'k', value: 'v1', line: 1 },
    { key: 'k', value: 'v2', line: 2 },
    { key: '#', value: 'not comment   val with  spaces', line: 3 },
    { key: 'only', value: '', line: 5 },
    { key: 'key2', value: 'v', line: 8 },
    { key: 'x', value: 'y z', line: 9 },
    { key: 'last', value: 'one', line: 10 },
  ]);
  assert.deepEqual(loadMapText('', 'e.map'), []);
});

test('map / map_str: exact keys, first duplicate wins, default, no sample without default', () => {
  files.set('/m/str.map', 'k v1\nk v2\n  # not comment   val with  spaces  \t \n#c x\nonly\n');
  // haproxy 2.6.12: k -> v1, # -> "not comment   val with  spaces", only -> "", #c -> none
  const e = expr('t_in,map_str(/m/str.map,none)');
  check(e, [['k', 'v1'], ['#', 'not comment   val with  spaces'], ['only', ''], ['#c', 'none'], ['K', 'none']]);
  // haproxy 2.6.12: no default -> no sample (empty in lf-string)
  const nodef = expr('t_in,map(/m/str.map)');
  check(nodef, [['zz', null], ['k', 'v1']]);
  assert.equal(descriptor(nodef).count, 4);
});

test('map_beg: the longest prefix wins, whatever the line order', () => {
  files.set('/m/beg.map', '/a A\n/ab AB\n/abc ABC1\n/abc ABC2\n');
  files.set('/m/beg2.map', '/ab AB\n/a A\n');
  // haproxy 2.6.12: /abcd ABC1, /ab AB, /a A, /b none; beg2: /abc AB
  check(expr('t_in,map_beg(/m/beg.map,none)'), [['/abcd', 'ABC1'], ['/ab', 'AB'], ['/a', 'A'], ['/b', 'none'], ['', 'none']]);
  check(expr('t_in,map_beg(/m/beg2.map,none)'), [['/abc', 'AB']]);
});

test('map_end, map_sub, map_dir, map_dom: the first line in file order wins', () => {
  files.set('/m/end.map', '.com A\nexample.com B\n');
  files.set('/m/dom.map', 'example.com D1\n.org D2\n');
  files.set('/m/sub.map', 'admin S1\nmin S2\n');
  files.set('/m/dir.map', 'img I1\n/static/ I2\n');
  // haproxy 2.6.12: end www.example.com -> A; dom www.example.com -> D1, www.example.com.org -> D1, wwwexample.com -> none
  check(expr('t_in,map_end(/m/end.map,none)'), [['www.example.com', 'A'], ['example.co', 'none']]);
  check(expr('t_in,map_dom(/m/dom.map,none)'), [['www.example.com', 'D1'], ['www.example.com.org', 'D1'], ['wwwexample.com', 'none'], ['a.org', 'D2']]);
  check(expr('t_in,map_sub(/m/sub.map,none)'), [['/administrator', 'S1'], ['/minimal', 'S2'], ['/x', 'none']]);
  check(expr('t_in,map_dir(/m/dir.map,none)'), [['/static/img/a.png', 'I1'], ['/static/x', 'I2'], ['/imgs/', 'none']]);
  // no -i in maps: case matters
  check(expr('t_in,map_end(/m/end.map,none)'), [['WWW.EXAMPLE.COM', 'none']]);
});

test('map_reg and map_regm (\\N back-references, \\xHH, \\c)', () => {
  files.set('/m/reg.map', '^/api/v[0-9]+/ API\n\\.php$ PHP\n');
  check(expr('t_in,map_reg(/m/reg.map,none)'), [['/api/v2/x', 'API'], ['/x.php', 'PHP'], ['/api/x.php', 'PHP'], ['/API/v1/', 'none']]);
  files.set('/m/regm.map', '^/([a-z]+)/([0-9]+) \\2-\\1-\\9-\\x41\\q\n^/(x)(y)? [\\2|\\1|\\0]\n^/bad bad\\\n');
  const e = expr('t_in,map_regm(/m/regm.map,none)');
  // haproxy 2.6.12: /abc/123/x -> "123-abc--Aq", /x -> "[|x|/x]", /xy -> "[y|x|/xy]", /bad -> no sample
  check(e, [['/abc/123/x', '123-abc--Aq'], ['/x', '[|x|/x]'], ['/xy', '[y|x|/xy]'], ['zzz', 'none']]);
  // A value ending in '\' makes exp_replace() fail: no sample, and not the default.
  check(e, [['/bad', null]]);
});

test('map_int: integer keys and ranges; the input is cast to an integer', () => {
  files.set('/m/int.map', '80 http\n443 https\n1024:65535 high\n:0 neg\n80 dup\n');
  // haproxy 2.6.12: 80 http, 8080 high, -5 neg, 22 other
  const e = expr('t_int,map_int(/m/int.map,other)');
  for (const [n, want] of [[80, 'http'], [443, 'https'], [8080, 'high'], [-5, 'neg'], [22, 'other']] as const) {
    inputInt = n;
    assert.equal(e.evalText(ctx), want, String(n));
  }
  // a string sample is cast (c_str2int)
  check(expr('t_in,map_int(/m/int.map,other)'), [['443', 'https'], ['2000', 'high']]);
  // haproxy 2.6.12: "'10:5' is not a valid number range at line 1 of file '/tmp/hv/e/rng.map'"
  files.set('/m/rng.map', '10:5 a\n');
  assert.equal(exprError('t_int,map_int(/m/rng.map)'), `converter 'map_int' : '10:5' is not a valid number range at line 1 of file '/m/rng.map'`);
  // no operators in files
  files.set('/m/op.map', 'lt x\n');
  assert.equal(exprError('t_int,map_int(/m/op.map)'), `converter 'map_int' : 'lt' is not a number at line 1 of file '/m/op.map'`);
});

test('map_ip: longest prefix over IPv4 and IPv6 entries, crossed as HAProxy does', () => {
  files.set('/m/ip.map', '10.0.0.0/8 eight\n10.1.0.0/16 sixteen\n10.1.0.0/16 sixteen2\n::ffff:10.1.2.3 v6mapped\n' +
    '192.168.0.0/255.255.0.255 noncontig\n2001:db8::/32 v6net\n0.0.0.0/0 any4\n');
  const e = expr('t_in,map_ip(/m/ip.map,none)');
  // haproxy 2.6.12, same file and keys:
  check(e, [['10.1.2.3', 'sixteen'], ['10.1.2.4', 'sixteen'], ['10.2.2.4', 'eight'], ['192.168.5.0', 'any4'], ['11.168.5.0', 'any4'],
    ['::ffff:10.1.2.3', 'v6mapped'], ['::ffff:10.3.2.3', 'eight'], ['2002:0a01:0203::', 'sixteen'], ['2001:db8::5', 'v6net'],
    ['2001:db9::5', 'none'], ['::1', 'any4']]);
  // Not an address: the cast fails, no sample, not even the default (haproxy 2.6.12: "not-an-ip" -> empty).
  check(e, [['not-an-ip', null]]);
  // haproxy 2.6.12: "'foo' is not a valid IPv4 or IPv6 address at line 1 of file '/tmp/hv/e/ipk.map'"
  files.set('/m/ipk.map', 'foo 1\n1.2.3.4 x\n');
  assert.equal(exprError('t_in,map_ip(/m/ipk.map)'), `converter 'map_ip' : 'foo' is not a valid IPv4 or IPv6 address at line 1 of file '/m/ipk.map'`);
  // maps never take the 127.1 shorthand (PAT_MF_NO_DNS)
  files.set('/m/short.map', '127.1 x\n');
  assert.equal(exprError('t_in,map_ip(/m/short.map)'), `converter 'map_ip' : '127.1' is not a valid IPv4 or IPv6 address at line 1 of file '/m/short.map'`);
});

test('_int outputs: values parsed at load (read_int64, whole value), default is a signed integer', () => {
  files.set('/m/toint.map', 'a 1\nb -20\nc +7\nd\ne 99999999999999999999\n');
  // haproxy 2.6.12: b -20, c 7, d 0, e 9223372036854775807
  const e = expr('t_in,map_str_int(/m/toint.map,-1)');
  check(e, [['a', '1'], ['b', '-20'], ['c', '7'], ['d', '0'], ['zz', '-1']]);
  input = 'a';
  assert.equal(e.eval(ctx)!.t, T_SINT);
  input = 'e';
  assert.equal(e.eval(ctx)!.n, 9223372036854775807);
  // haproxy 2.6.12: "unable to parse 'x2' at line 2 of file '/tmp/hv/e/int.map'"
  files.set('/m/badint.map', 'a 1\nb x2\n');
  assert.equal(exprError('t_in,map_str_int(/m/badint.map)'), `converter 'map_str_int' : unable to parse 'x2' at line 2 of file '/m/badint.map'`);
  files.set('/m/badint2.map', 'a 1 2\n');
  assert.equal(exprError('t_in,map_beg_int(/m/badint2.map)'), `converter 'map_beg_int' : unable to parse '1 2' at line 1 of file '/m/badint2.map'`);
  // The default is parsed as a signed integer (haproxy: "failed to parse 'zz' as type 'integer' at position 2").
  assert.match(exprError('t_in,map_str_int(/m/toint.map,zz)'), /failed to parse 'zz' as type 'signed integer' at position 2/);
  // The first bad line reports, key or value: line 1's key before line 2's value.
  files.set('/m/order.map', 'x:y 1\n5 bad\n');
  assert.equal(exprError('t_int,map_int_int(/m/order.map)'), `converter 'map_int_int' : 'x:y' is not a valid number range at line 1 of file '/m/order.map'`);
  files.set('/m/order2.map', '5 bad\nx:y 1\n');
  assert.equal(exprError('t_int,map_int_int(/m/order2.map)'), `converter 'map_int_int' : unable to parse 'bad' at line 1 of file '/m/order2.map'`);
  inputInt = 3;
  files.set('/m/ii.map', '1:5 10\n');
  assert.equal(expr('t_int,map_int_int(/m/ii.map)').evalText(ctx), '10');
  // haproxy 2.6.12: 10.9.9.9 10, 2001::1 6, 11.0.0.1 6 (as ::ffff:11.0.0.1 in the IPv6 tree)
  files.set('/m/ipint.map', '10.0.0.0/8 10\n::/0 6\n');
  check(expr('t_in,map_ip_int(/m/ipint.map,0)'), [['10.9.9.9', '10'], ['2001::1', '6'], ['11.0.0.1', '6']]);
});

test('_ip outputs: IPv4 or IPv6 values (buf2ip then inet_pton), default parsed at load', () => {
  files.set('/m/toip.map', 'a 10.0.0.1\nb 2001:db8::1\nc 010.001.2.3\nd 1.2.3.4 trailing\n');
  // haproxy 2.6.12: b 2001:db8::1, c 10.1.2.3, d 1.2.3.4, zz ::2
  const e = expr('t_in,map_str_ip(/m/toip.map,::2)');
  check(e, [['a', '10.0.0.1'], ['b', '2001:db8::1'], ['c', '10.1.2.3'], ['d', '1.2.3.4'], ['zz', '::2']]);
  input = 'a';
  assert.equal(e.eval(ctx)!.t, T_IPV4);
  input = 'b';
  assert.equal(e.eval(ctx)!.t, T_IPV6);
  input = 'zz';
  assert.equal(e.eval(ctx)!.t, T_IPV6);
  const v4dflt = expr('t_in,map_beg_ip(/m/toip.map,192.168.0.1)');
  check(v4dflt, [['zz', '192.168.0.1'], ['a', '10.0.0.1']]);
  // haproxy 2.6.12: "unable to parse 'x' at line 1 of file '/tmp/hv/e/ipv.map'" and
  // "map: cannot parse default ip <zz>."
  files.set('/m/badip.map', '1.2.3.4 x\n');
  assert.equal(exprError('t_in,map_str_ip(/m/badip.map)'), `converter 'map_str_ip' : unable to parse 'x' at line 1 of file '/m/badip.map'`);
  assert.equal(exprError('t_in,map_str_ip(/m/toip.map,zz)'), `converter 'map_str_ip' : map: cannot parse default ip <zz>.`);
  for (const name of ['map_sub_ip', 'map_dir_ip', 'map_dom_ip', 'map_end_ip', 'map_reg_ip']) {
    check(expr(`t_in,${name}(/m/toip.map)`), [['a', '10.0.0.1']]);
  }
  files.set('/m/ipip.map', '10.0.0.0/8 ::ffff:1.2.3.4\n');
  check(expr('t_in,map_ip_ip(/m/ipip.map)'), [['10.1.1.1', '::ffff:1.2.3.4'], ['9.1.1.1', null]]);
  inputInt = 7;
  files.set('/m/intip.map', '7 7.7.7.7\n');
  assert.equal(expr('t_int,map_int_ip(/m/intip.map)').evalText(ctx), '7.7.7.7');
});

test('load errors: missing file, regex, arguments', () => {
  // haproxy 2.6.12: "invalid args in converter 'map' : failed to open pattern file </tmp/hv/e/missing.map>."
  assert.equal(exprError('t_in,map(/m/missing.map)'), `converter 'map' : failed to open pattern file </m/missing.map>`);
  files.set('/m/badreg.map', 'ok 1\n([a 2\n');
  assert.match(exprError('t_in,map_reg(/m/badreg.map)'), /^converter 'map_reg' : regex '\(\[a' is invalid \(error=.+\) at line 2 of file '\/m\/badreg.map'$/);
  assert.match(exprError('t_in,map_str'), /missing arguments/);
  assert.match(exprError('t_in,map_str(/m/str.map,a,b)'), /end of arguments expected/);
});

test('map_ip with 100,000 networks: O(prefix bits) per lookup', () => {
  let text = '';
  for (let i = 0; i < 100000; i++) {
    const n = (Math.imul(i, 2654435761) >>> 0) & 0xffffff00;
    text += `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.0/24 v${i}\n`;
  }
  text += '0.0.0.0/0 default\n2001:db8::/32 six\n';
  files.set('/m/big-ip.map', text);
  const e = expr('t_in,map_ip(/m/big-ip.map,none)');
  const d = descriptor(e);
  assert.equal(d.count, 100002);
  let maxSteps = 0;
  for (let i = 0; i < 100000; i += 7) {
    const n = (Math.imul(i, 2654435761) >>> 0) & 0xffffff00;
    const key = `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.77`;
    // Two /24s may coincide (hash collisions): the first line wins.
    const got = run(e, key)!;
    assert.ok(got.startsWith('v'), key);
    assert.ok(Number(got.slice(1)) <= i, key);
    maxSteps = Math.max(maxSteps, d.set.steps);
  }
  assert.ok(maxSteps <= 33, `steps ${maxSteps}`);
  check(e, [['2001:db8::1', 'six']]);
  assert.ok(d.set.steps <= 129 + 33, `steps ${d.set.steps}`);
});

test('map_beg and map_str with 10,000 entries', () => {
  let beg = '';
  let str = '';
  for (let i = 0; i < 10000; i++) {
    beg += `/t${i}/ B${i}\n`;
    str += `host${i}.example.com S${i}\n`;
  }
  files.set('/m/big-beg.map', beg + '/ root\n');
  files.set('/m/big-str.map', str);
  const b = expr('t_in,map_beg(/m/big-beg.map,none)');
  const d = descriptor(b);
  for (let i = 0; i < 10000; i += 37) {
    assert.equal(run(b, `/t${i}/index.html`), `B${i}`);
    // Trie depth for these keys (root, "/", "t", one node per digit, "/"), not the 10,001 lines.
    assert.ok(d.set.steps <= 8, `steps ${d.set.steps}`);
  }
  check(b, [['/t1x/', 'root'], ['x', 'none']]);
  const s = expr('t_in,map_str(/m/big-str.map,none)');
  for (let i = 0; i < 10000; i += 37) assert.equal(run(s, `host${i}.example.com`), `S${i}`);
  check(s, [['host10000.example.com', 'none']]);
});
