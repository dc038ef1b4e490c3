/*
 * ACL pattern matching (pattern.c of haproxy 2.6): parsing, every match
 * method, -i, the int operators, IPv4/IPv6 crossing, and the indexes that
 * keep 100k-entry lists O(key). Cases marked "haproxy 2.6.12:" were run
 * through /usr/sbin/haproxy (an `http-request return ... if { <acl> }` per
 * case, fed by a request header) and the comment gives its answer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  compilePatterns, defaultMethod, hasDefaultMethod, methodInput, readPatternFile, asciiLower,
  PrefixTrie, StrTrie,
} from '../src/rules/pattern';
import type { MatchMethod, PatternOptions, PatternSet, PatternSource } from '../src/rules/pattern';
import {
  Sample, castTo, T_ADDR, T_ANY, T_BIN, T_BOOL, T_IPV4, T_IPV6, T_METH, T_SINT, T_STR,
} from '../src/rules/sample';

function compile(method: MatchMethod, pats: readonly (string | PatternSource)[], opts: Partial<PatternOptions> = {}): PatternSet {
  const r = compilePatterns(method, pats.map(p => typeof p === 'string' ? { text: p } : p), { ignoreCase: false, ...opts });
  if (typeof r === 'string') assert.fail(`unexpected error: ${r}`);
  return r;
}

function compileError(method: MatchMethod, pats: readonly (string | PatternSource)[], opts: Partial<PatternOptions> = {}): string {
  const r = compilePatterns(method, pats.map(p => typeof p === 'string' ? { text: p } : p), { ignoreCase: false, ...opts });
  assert.equal(typeof r, 'string', `expected an error for ${JSON.stringify(pats)}`);
  return r as string;
}

function str(s: string): Sample { const x = new Sample(); x.setStr(s); return x; }
function int(n: number): Sample { const x = new Sample(); x.setInt(n); return x; }
function ip(text: string): Sample {
  const x = new Sample();
  assert.ok(x.setIpText(text), text);
  return x;
}
/** A sample cast the way the ACL does before match(). */
function asInput(method: MatchMethod, smp: Sample): Sample {
  assert.ok(castTo(smp, methodInput(method)));
  return smp;
}

/** [sample text, expected] rows against one set of string patterns. */
function checkStr(set: PatternSet, rows: Array<[string, boolean]>): void {
  for (const [s, want] of rows) assert.equal(set.match(str(s)), want, JSON.stringify(s));
}

test('input types and default methods (pattern.c pat_match_types, acl.c defaults)', () => {
  assert.equal(methodInput('found'), T_ANY);
  assert.equal(methodInput('bool'), T_BOOL);
  assert.equal(methodInput('int'), T_SINT);
  assert.equal(methodInput('ip'), T_ADDR);
  assert.equal(methodInput('bin'), T_BIN);
  assert.equal(methodInput('meth'), T_METH);
  for (const m of ['len', 'str', 'beg', 'end', 'sub', 'reg', 'dom', 'dir'] as const) assert.equal(methodInput(m), T_STR, m);
  assert.equal(defaultMethod(T_BOOL), 'bool');
  assert.equal(defaultMethod(T_SINT), 'int');
  assert.equal(defaultMethod(T_IPV4), 'ip');
  assert.equal(defaultMethod(T_IPV6), 'ip');
  assert.equal(defaultMethod(T_ADDR), 'ip');
  assert.equal(defaultMethod(T_STR), 'str');
  assert.equal(defaultMethod(T_BIN), 'bin');
  assert.equal(defaultMethod(T_METH), 'meth');
  // HAProxy: "matching method must be specified first (using '-m')" for bin and meth.
  assert.equal(hasDefaultMethod(T_BIN), false);
  assert.equal(hasDefaultMethod(T_METH), false);
  assert.equal(hasDefaultMethod(T_STR), true);
  assert.equal(hasDefaultMethod(T_IPV6), true);
});

test('readPatternFile: comments in column 1 only, leading blanks stripped, trailing kept, CR ends', () => {
  const p = readPatternFile('  a b  \n#c\n\n\tlt 5\n #x\r\nlast', 'p.lst');
  assert.deepEqual(p, [
    { text: 'a b  ', where: 'p.lst:1', fromFile: true },
    { text: 'lt 5', where: 'p.lst:4', fromFile: true },
    { text: '#x', where: 'p.lst:5', fromFile: true },
    { text: 'last', where: 'p.lst:6', fromFile: true },
  ]);
  // haproxy 2.6.12: { str("a b  ") -f p.lst } matches, { str("a b") -f p.lst } does not;
  // a file line "lt 5" is the string "lt 5" (operators are ACL-line words).
  const set = compile('str', p);
  checkStr(set, [['a b  ', true], ['a b', false], ['lt 5', true], ['#x', true]]);
  assert.deepEqual(readPatternFile('', 'e.lst'), []);
  assert.deepEqual(readPatternFile('\n\n   \n\t\n', 'e.lst'), []);
});

test('int: values, ranges with ":" or "-", open ranges, first match in order', () => {
  const set = compile('int', ['80', '1024:65535', ':10', '50-60', '100000:']);
  for (const [v, want] of [[80, true], [81, false], [1024, true], [65535, true], [65536, false], [-3, true], [10, true],
    [11, false], [50, true], [55, true], [61, false], [100000, true], [1e12, true]] as const) {
    assert.equal(set.match(int(v)), want, String(v));
  }
  assert.equal(set.count, 5);
  // lookup() returns the first pattern in order, be it exact or a range.
  const ordered = compile('int', ['1:100', '5', '5']);
  assert.equal(ordered.lookup(int(5)), 0);
  assert.equal(compile('int', ['5', '1:100']).lookup(int(5)), 0);
  assert.equal(compile('int', ['7', '1:100', '5']).lookup(int(5)), 1);
  assert.equal(compile('int', ['7', '1:100', '5']).lookup(int(500)), -1);
  // Strings are cast as HAProxy's c_str2int: "12ab" is 12.
  assert.equal(set.match(asInput('int', str('80'))), true);
});

test('int: "-5" is the range ":5" (the first ":" or "-" splits, pat_parse_int)', () => {
  const set = compile('int', ['-5']);
  assert.equal(set.match(int(-100)), true);
  assert.equal(set.match(int(5)), true);
  assert.equal(set.match(int(6)), false);
});

test('int: operators apply to the values after them (acl.c parse_acl_expr)', () => {
  const lt = compile('int', ['lt', '1024']);
  assert.equal(lt.count, 1);
  assert.equal(lt.match(int(1023)), true);
  assert.equal(lt.match(int(1024)), false);
  const le = compile('int', ['le', '1024']);
  assert.equal(le.match(int(1024)), true);
  assert.equal(le.match(int(1025)), false);
  const gt = compile('int', ['gt', '5']);
  assert.equal(gt.match(int(5)), false);
  assert.equal(gt.match(int(6)), true);
  const ge = compile('int', ['ge', '5']);
  assert.equal(ge.match(int(5)), true);
  assert.equal(ge.match(int(4)), false);
  // The operator stays in force, and can change: "gt 100 eq 7" is >100 or ==7.
  const mixed = compile('int', ['gt', '100', '200', 'eq', '7']);
  assert.equal(mixed.count, 3);
  for (const [v, want] of [[101, true], [100, false], [7, true], [8, false]] as const) assert.equal(mixed.match(int(v)), want, String(v));
  // haproxy 2.6.12: `lt 0` matches -1, not 0 (configuration.txt's negative content-length example).
  const neg = compile('int', ['lt', '0']);
  assert.equal(neg.match(int(-1)), true);
  assert.equal(neg.match(int(0)), false);
  // haproxy 2.6.12: `ge -5` matches 5 and -100, not 6: a value with '-' is a range, operator ignored.
  const geNeg = compile('int', ['ge', '-5']);
  assert.equal(geNeg.match(int(5)), true);
  assert.equal(geNeg.match(int(-100)), true);
  assert.equal(geNeg.match(int(6)), false);
  // haproxy 2.6.12: `ne 5` matches 5 and not 6 (get_std_op knows "ne", parse_acl_expr rewrites nothing).
  const ne = compile('int', ['ne', '5']);
  assert.equal(ne.match(int(5)), true);
  assert.equal(ne.match(int(6)), false);
  // haproxy 2.6.12: `lt 3.9` matches 2, not 3 (the value is cut at the dot).
  const dotted = compile('int', ['lt', '3.9']);
  assert.equal(dotted.match(int(2)), true);
  assert.equal(dotted.match(int(3)), false);
  // Operators also work with len (pat_parse_int as well).
  const len = compile('len', ['gt', '3']);
  assert.equal(len.match(str('abcd')), true);
  assert.equal(len.match(str('abc')), false);
});

test('int: errors in HAProxy words, with the file and line of -f patterns', () => {
  // haproxy 2.6.12 messages (acl ... -m int <pattern>)
  assert.equal(compileError('int', ['lt', 'x']), `'x' is neither a number nor a supported operator`);
  assert.equal(compileError('int', ['1:x']), `'1:x' is not a valid number range`);
  assert.equal(compileError('int', ['10:5']), `'10:5' is not a valid number range`);
  assert.equal(compileError('int', ['3.5']), `'3.5' is not a number`);
  assert.equal(compileError('int', ['x']), `'x' is not a number`);
  assert.equal(compileError('int', ['']), `'' is not a valid number range`);
  assert.equal(compileError('int', [':']), `':' is not a valid number range`);
  assert.equal(compileError('int', ['99999999999999999999']), `'99999999999999999999' is not a number`);
  assert.equal(compileError('int', ['+5']), `'+5' is not a number`);
  // haproxy 2.6.12: "'a1' is not a number at line 1 of file '/tmp/hv/e/int.lst'"
  assert.equal(compileError('int', readPatternFile('7\na1\n', '/etc/int.lst')), `'a1' is not a number at line 2 of file '/etc/int.lst'`);
  assert.equal(compileError('int', readPatternFile('lt 5\n', 'p.lst')), `'lt 5' is not a number at line 1 of file 'p.lst'`);
  assert.equal(compileError('int', readPatternFile('lt\n', 'p.lst')), `'lt' is not a number at line 1 of file 'p.lst'`);
  assert.equal(compileError('len', [{ text: 'z', where: 'inline' }]), `'z' is not a number (inline)`);
});

test('len: string length against int patterns', () => {
  // haproxy 2.6.12: -m len 0 matches an empty header
  const set = compile('len', ['0', '3:4']);
  checkStr(set, [['', true], ['a', false], ['abc', true], ['abcd', true], ['abcde', false]]);
  const bin = new Sample();
  bin.setBin(Buffer.from([0, 1, 2]));
  assert.equal(set.match(bin), true);
});

test('ip: addresses, CIDR and dotted masks, IPv6', () => {
  const set = compile('ip', ['10.0.0.0/8', '192.168.1.7', '172.16.0.0/255.240.0.0', '2001:db8::/32', '::1']);
  for (const [a, want] of [['10.1.2.3', true], ['11.0.0.1', false], ['192.168.1.7', true], ['192.168.1.8', false],
    ['172.31.255.255', true], ['172.32.0.0', false], ['2001:db8:1::5', true], ['2001:db9::', false], ['::1', true], ['::2', false]] as const) {
    assert.equal(set.match(ip(a)), want, a);
  }
  // Host bits of the pattern are ignored; /0 matches every IPv4 address.
  assert.equal(compile('ip', ['10.9.9.9/8']).match(ip('10.0.0.1')), true);
  assert.equal(compile('ip', ['1.2.3.4/0']).match(ip('200.1.1.1')), true);
  // A string sample is cast to an address first (c_str2addr): IPv4 or IPv6.
  assert.equal(set.match(asInput('ip', str('10.4.4.4'))), true);
  assert.equal(set.match(asInput('ip', str('2001:db8::9'))), true);
  // an integer sample is an IPv4 address
  assert.equal(set.match(asInput('ip', int(0x0a000001))), true);
});

test('ip: non-contiguous dotted masks (list after the trees)', () => {
  // haproxy 2.6.12: -m ip 10.0.0.0/255.0.255.0 matches 10.9.0.9, ::ffff:10.9.0.9 and 2002:0a09:0009::1, not 10.9.1.9
  const set = compile('ip', ['10.0.0.0/255.0.255.0']);
  assert.equal(set.match(ip('10.9.0.9')), true);
  assert.equal(set.match(ip('10.9.1.9')), false);
  assert.equal(set.match(ip('::ffff:10.9.0.9')), true);
  assert.equal(set.match(ip('2002:0a09:0009::1')), true);
  assert.equal(set.match(ip('2003:0a09:0009::1')), false);
});

test('ip: IPv4 sample against IPv6 patterns and the reverse (configuration.txt 7.1.6)', () => {
  // haproxy 2.6.12: -m ip ::ffff:10.0.0.0/104 matches 10.1.2.3, not 11.1.2.3
  const v6 = compile('ip', ['::ffff:10.0.0.0/104']);
  assert.equal(v6.match(ip('10.1.2.3')), true);
  assert.equal(v6.match(ip('11.1.2.3')), false);
  const v4 = compile('ip', ['10.0.0.0/8']);
  assert.equal(v4.match(ip('::ffff:10.1.2.3')), true); // mapped
  assert.equal(v4.match(ip('::10.1.2.3')), true); // compatible
  assert.equal(v4.match(ip('2002:a01:203::1')), true); // 6to4
  assert.equal(v4.match(ip('2003:a01:203::1')), false);
  assert.equal(v4.match(ip('::1:ffff:10.1.2.3')), false);
  // "::1" is the compatible form of 0.0.0.1 (haproxy 2.6.12 map_ip: "::1" -> the 0.0.0.0/0 entry).
  assert.equal(compile('ip', ['0.0.0.0/8']).match(ip('::1')), true);
});

test('ip: lookup() returns the longest prefix; trees before the list (map semantics)', () => {
  const pats = ['10.0.0.0/8', '10.1.0.0/16', '10.1.0.0/16', '::ffff:10.1.2.3', '192.168.0.0/255.255.0.255', '2001:db8::/32', '0.0.0.0/0'];
  const set = compile('ip', pats);
  // haproxy 2.6.12 map_ip with these lines: 10.1.2.3 sixteen, 10.2.2.4 eight, 192.168.5.0 any4 (the tree
  // beats the non-contiguous list), ::ffff:10.1.2.3 v6mapped, ::ffff:10.3.2.3 eight, 2002:0a01:0203:: sixteen,
  // 2001:db8::5 v6net, 2001:db9::5 none, ::1 any4.
  const rows: Array<[string, number]> = [['10.1.2.3', 1], ['10.1.2.4', 1], ['10.2.2.4', 0], ['192.168.5.0', 6], ['11.168.5.0', 6],
    ['::ffff:10.1.2.3', 3], ['::ffff:10.3.2.3', 0], ['2002:0a01:0203::', 1], ['2001:db8::5', 5], ['2001:db9::5', -1], ['::1', 6]];
  for (const [a, want] of rows) assert.equal(set.lookup(ip(a)), want, a);
  // Without the /0, the non-contiguous entry answers.
  const noAny = compile('ip', pats.slice(0, 6));
  assert.equal(noAny.lookup(ip('192.168.5.0')), 4);
  assert.equal(noAny.lookup(ip('192.168.5.1')), -1);
});

test('ip: the 127.1 shorthand needs the resolver path (no -n); names are never resolved', () => {
  // haproxy 2.6.12: -m ip 127.1 matches 127.0.0.1; -m ip 010.0.0.1 matches 8.0.0.1 (inet_aton octal), not 10.0.0.1;
  // -m ip -n 127.1 is "'127.1' is not a valid IPv4 or IPv6 address".
  assert.equal(compile('ip', ['127.1']).match(ip('127.0.0.1')), true);
  assert.equal(compile('ip', ['10.12/8']).match(ip('10.0.0.12')), true);
  assert.equal(compile('ip', ['192.168.1']).match(ip('192.168.0.1')), true);
  const oct = compile('ip', ['010.0.0.1']);
  assert.equal(oct.match(ip('8.0.0.1')), true);
  assert.equal(oct.match(ip('10.0.0.1')), false);
  // haproxy 2.6.12: 10.12/8 matches 10.0.0.12; a -f line 2130706433 matches 127.0.0.1
  assert.equal(compile('ip', ['2130706433']).match(ip('127.0.0.1')), true);
  assert.equal(compileError('ip', ['127.1'], { noDns: true }), `'127.1' is not a valid IPv4 or IPv6 address`);
  assert.equal(compileError('ip', ['010.0.0.1'], { noDns: true }), `'010.0.0.1' is not a valid IPv4 or IPv6 address`);
  for (const bad of ['localhost', 'foo.invalid', '1.2.3.', '08.1.1.1', '1.2.3.256', '1.2.3.4.5', '::1/129', '1.2.3.4/33',
    '1.2.3.4/', '::1/', '::1/255.0.0.0', '1.2.3.4/255.0.0.256', '1::2::3', '']) {
    assert.equal(compileError('ip', [bad]), `'${bad}' is not a valid IPv4 or IPv6 address`, bad);
  }
  assert.equal(compileError('ip', readPatternFile('10.0.0.0/8\nbad\n', '/etc/ips.lst')),
    `'bad' is not a valid IPv4 or IPv6 address at line 2 of file '/etc/ips.lst'`);
});

test('ip: mask parsing follows strtol/strtoul', () => {
  // "+8" and " 8" are 8 (haproxy 2.6.12, -f lines "10.0.0.0/+8", "10.0.0.0/ 8": 10.200.0.1 matches, 11.0.0.1 not);
  // "-0" is 0; 4294967304 wraps to 8 when cast to unsigned (accepted by haproxy 2.6.12).
  assert.equal(compile('ip', ['10.0.0.0/+8']).match(ip('10.200.0.1')), true);
  assert.equal(compile('ip', ['10.0.0.0/ 8']).match(ip('10.200.0.1')), true);
  assert.equal(compile('ip', ['10.0.0.0/-0']).match(ip('99.0.0.1')), true);
  assert.equal(compile('ip', ['10.0.0.0/4294967304']).match(ip('10.200.0.1')), true);
  assert.equal(compile('ip', ['10.0.0.0/4294967304']).match(ip('11.200.0.1')), false);
  assert.equal(compile('ip', ['2001:db8::/+32']).match(ip('2001:db8:ff::1')), true);
  compileError('ip', ['10.0.0.0/8 ']);
  compileError('ip', ['10.0.0.0/-1']);
});

test('ip: 100,000 IPv4 networks are looked up in O(prefix bits)', () => {
  const pats: PatternSource[] = [];
  // Distinct /24s spread over the space, plus /16s and /32s.
  for (let i = 0; i < 100000; i++) {
    const n = (Math.imul(i, 2654435761) >>> 0) & 0xffffff00;
    const plen = i % 10 === 0 ? 16 : i % 10 === 1 ? 32 : 24;
    pats.push({ text: `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${(n & 255) | (plen === 32 ? 7 : 0)}/${plen}` });
  }
  const set = compile('ip', pats);
  assert.equal(set.count, 100000);
  let maxSteps = 0;
  let hits = 0;
  for (let i = 0; i < 100000; i++) {
    const n = (Math.imul(i, 2654435761) >>> 0) & 0xffffff00;
    const s = new Sample();
    s.setIPv4(n | (i % 10 === 1 ? 7 : 200));
    if (set.lookup(s) >= 0) hits++;
    maxSteps = Math.max(maxSteps, set.steps);
  }
  assert.equal(hits, 100000);
  // One trie node per bit at most: a linear scan would visit up to 100,000.
  assert.ok(maxSteps <= 33, `steps ${maxSteps}`);
  // misses too
  const miss = new Sample();
  miss.setIPv4(0x7f000001);
  set.lookup(miss);
  assert.ok(set.steps <= 33 + 129, `steps ${set.steps}`);
});

test('PrefixTrie: longest prefix, duplicates keep the first, branch nodes', () => {
  const t = new PrefixTrie();
  const k = new Uint32Array(1);
  const add = (a: number, plen: number, idx: number): void => { k[0] = a; t.insert(k, plen, idx); };
  add(0x0a000000, 8, 0);
  add(0x0a010000, 16, 1);
  add(0x0a010000, 16, 2);
  add(0x0b000000, 8, 3);
  add(0x0a010203, 32, 4);
  add(0x00000000, 0, 5);
  assert.equal(t.size, 5);
  const q = (a: number): number => { k[0] = a; return t.longest(k, 32, false); };
  assert.equal(q(0x0a010203), 4);
  assert.equal(q(0x0a010204), 1);
  assert.equal(q(0x0a020204), 0);
  assert.equal(q(0x0b020204), 3);
  assert.equal(q(0x0c020204), 5);
  k[0] = 0x0a010203;
  assert.equal(t.longest(k, 32, true), 5); // any: the first (shortest) found
});

test('str: exact, hashed; -i folds ASCII only', () => {
  const set = compile('str', ['www.example.com', 'Foo', '']);
  checkStr(set, [['www.example.com', true], ['www.example.co', false], ['WWW.example.com', false], ['Foo', true], ['foo', false], ['', true]]);
  const ci = compile('str', ['www.Example.com', 'ÀB'], { ignoreCase: true });
  // haproxy 2.6.12: -m str -i abc matches "ABC"; { str(Àb) -m str -i ÀB } matches, { str(àb) -m str -i ÀB } does not
  checkStr(ci, [['WWW.EXAMPLE.COM', true], ['www.example.com', true], ['ÀB', true], ['Àb', true], ['àb', false]]);
  assert.equal(asciiLower('ÀBC'), 'Àbc');
  assert.equal(asciiLower('abc'), 'abc');
  assert.equal(asciiLower('ABC'), 'abc');
  // Duplicates: the first wins (ebst lookup).
  assert.equal(compile('str', ['a', 'b', 'a']).lookup(str('a')), 0);
});

test('beg: prefixes in a trie; the longest wins (ebmb_lookup_longest)', () => {
  const set = compile('beg', ['/a', '/ab', '/abc', '/abc', '/static/']);
  // haproxy 2.6.12 map_beg: /abcd -> the first "/abc" line, /ab -> "/ab", /a -> "/a", /b -> none
  assert.equal(set.lookup(str('/abcd')), 2);
  assert.equal(set.lookup(str('/ab')), 1);
  assert.equal(set.lookup(str('/a')), 0);
  assert.equal(set.lookup(str('/b')), -1);
  assert.equal(set.lookup(str('')), -1);
  // haproxy 2.6.12: with "/ab" before "/a", /abc still gives "/ab"
  assert.equal(compile('beg', ['/ab', '/a']).lookup(str('/abc')), 0);
  checkStr(set, [['/static/x.css', true], ['/stat', false], ['/Static/', false]]);
  const ci = compile('beg', ['/Static/', 'ab'], { ignoreCase: true });
  checkStr(ci, [['/STATIC/x', true], ['/static/', true], ['/stati', false], ['ABC', true]]);
  // An empty pattern is a prefix of everything.
  checkStr(compile('beg', ['']), [['', true], ['x', true]]);
});

test('beg: 10,000 prefixes: one trie node per matched label, not a scan', () => {
  const pats: string[] = [];
  for (let i = 0; i < 10000; i++) pats.push(`/api/v${i % 7}/tenant${i}/`);
  const set = compile('beg', pats);
  for (let i = 0; i < 10000; i += 97) {
    const key = `/api/v${i % 7}/tenant${i}/items/42`;
    assert.equal(set.lookup(str(key)), i, key);
    assert.ok(set.steps <= 10, `steps ${set.steps}`);
  }
  assert.equal(set.lookup(str('/api/v1/tenant')), -1);
  assert.ok(set.steps <= 10);
});

test('StrTrie: split labels, reverse, smallest index policy', () => {
  const t = new StrTrie(true, false);
  t.insert('example.com', 0);
  t.insert('.com', 1);
  t.insert('com', 2);
  t.insert('le.com', 3);
  assert.equal(t.find('www.example.com', false, false), 0);
  assert.equal(t.find('www.sample.com', false, false), 1);
  assert.equal(t.find('xcom', false, false), 2);
  assert.equal(t.find('co', false, false), -1);
});

test('end: suffixes; the first in order wins (a list in HAProxy)', () => {
  // haproxy 2.6.12 map_end with ".com A" then "example.com B": www.example.com -> A
  const set = compile('end', ['.com', 'example.com']);
  assert.equal(set.lookup(str('www.example.com')), 0);
  assert.equal(compile('end', ['example.com', '.com']).lookup(str('www.example.com')), 0);
  assert.equal(compile('end', ['example.com', '.com']).lookup(str('www.sample.com')), 1);
  checkStr(set, [['x.com', true], ['com', false], ['example.co', false]]);
  // haproxy 2.6.12: -m end -i .JPG matches A.JpG
  checkStr(compile('end', ['.JPG'], { ignoreCase: true }), [['a.jpg', true], ['A.JpG', true], ['a.jpeg', false]]);
  checkStr(compile('end', ['']), [['', true], ['abc', true]]);
});

test('sub: substrings; -i lower-cases the sample once', () => {
  const set = compile('sub', ['admin', 'x']);
  checkStr(set, [['/admin/', true], ['/ADMIN/', false], ['xyz', true], ['', false]]);
  // haproxy 2.6.12: -m sub -i ab matches "xxAbyy"
  checkStr(compile('sub', ['ab'], { ignoreCase: true }), [['xxAbyy', true], ['a b', false]]);
  assert.equal(compile('sub', ['zz', 'b', 'a']).lookup(str('abc')), 1);
});

test('dom: dot-delimited words (also "/", "?", ":"); delimiters around the pattern ignored', () => {
  // haproxy 2.6.12: -m dom .example.com. matches www.example.com:80, not www.example.community
  const set = compile('dom', ['.example.com.']);
  checkStr(set, [['www.example.com:80', true], ['www.example.community', false], ['example.com', true],
    ['http://example.com/x', true], ['wwwexample.com', false], ['example.com?x', true], ['myexample.com', false]]);
  // haproxy 2.6.12: example.com?x and http://example.com/x match .example.com., myexample.com does not;
  // map_dom: "www.example.com.org" matches "example.com"
  checkStr(compile('dom', ['example.com', '.org']), [['www.example.com.org', true], ['x.org', true], ['x.orgy', false]]);
  checkStr(compile('dom', ['WWW'], { ignoreCase: true }), [['www.a.b', true], ['a.Www', true], ['awww', false]]);
  // haproxy 2.6.12: -m dom . (empty once stripped) matches neither "a." nor "a"
  checkStr(compile('dom', ['.']), [['a.', false], ['a', false], ['', false]]);
  // haproxy 2.6.12 (-m dom b.c): a.b.c yes, ab.c no, a.b.cd no, b.c.d yes
  checkStr(compile('dom', ['b.c']), [['a.b.c', true], ['ab.c', false], ['a.b.cd', false], ['b.c.d', true]]);
});

test('dir: slash-delimited words (also "?")', () => {
  // haproxy 2.6.12: -m dir /img/ matches /static/img/x.png and /static/img, not /static/imgs/x
  const set = compile('dir', ['/img/']);
  checkStr(set, [['/static/img/x.png', true], ['/static/img', true], ['/static/imgs/x', false], ['img', true],
    ['/a/img?x=1', true], ['/a.img/', false]]);
  // haproxy 2.6.12: img and /a/img?x=1 match /img/, /a.img/ does not; -m dir a/b: /x/a/b/c yes, /xa/b no
  checkStr(compile('dir', ['a/b']), [['/x/a/b/c', true], ['/xa/b', false]]);
  checkStr(compile('dir', ['IMG'], { ignoreCase: true }), [['/img/', true], ['/Img', true]]);
});

test('reg: compiled once, unanchored, -i, (?i), captures for map_regm', () => {
  const set = compile('reg', ['^/api/v[0-9]+/', 'login$']);
  checkStr(set, [['/api/v2/x', true], ['/API/v2/x', false], ['/user/login', true], ['/login/x', false]]);
  checkStr(compile('reg', ['^/api/'], { ignoreCase: true }), [['/API/x', true]]);
  checkStr(compile('reg', ['(?i)^/api/']), [['/Api/x', true]]);
  const cap = compile('reg', ['^/([a-z]+)/([0-9]+)'], { captures: true });
  assert.equal(cap.lookup(str('/abc/123/x')), 0);
  assert.deepEqual([...cap.lastMatch!], ['/abc/123', 'abc', '123']);
  assert.equal(cap.lookup(str('nope')), -1);
  assert.equal(cap.lastMatch, null);
  // haproxy 2.6.12 (PCRE2): "regex '([a' is invalid (error=missing terminating ] for character class, erroffset=3)"
  const e = compileError('reg', ['([a']);
  assert.match(e, /^regex '\(\[a' is invalid \(error=.+\)$/);
  assert.match(compileError('reg', readPatternFile('ok\n(\n', 'r.lst')), /^regex '\(' is invalid \(error=.+\) at line 2 of file 'r.lst'$/);
});

test('bin: hex blocks, same length and bytes', () => {
  // haproxy 2.6.12: -m bin 414243 matches "ABC", not "ABCD"
  const set = compile('bin', ['414243', '00ff']);
  const b = (x: number[] | string): Sample => { const s = new Sample(); s.setBin(typeof x === 'string' ? Buffer.from(x) : Buffer.from(x)); return s; };
  assert.equal(set.match(b('ABC')), true);
  assert.equal(set.match(b('ABCD')), false);
  assert.equal(set.match(b([0, 255])), true);
  assert.equal(set.match(asInput('bin', str('ABC'))), true);
  // haproxy 2.6.12 messages
  assert.equal(compileError('bin', ['4g']), `an hex digit is expected (found 'g')`);
  assert.equal(compileError('bin', readPatternFile('zz\n', '/tmp/bin.lst')), `an hex digit is expected (found 'z') at line 1 of file '/tmp/bin.lst'`);
  assert.equal(compileError('bin', readPatternFile('abc\n', '/tmp/bin2.lst')), `an even number of hex digit is expected at line 1 of file '/tmp/bin2.lst'`);
});

test('bool and found', () => {
  const bool = compile('bool', []);
  // haproxy 2.6.12: -m bool on a header: "0" no, "12" yes, "abc" no
  assert.equal(bool.match(asInput('bool', str('0'))), false);
  assert.equal(bool.match(asInput('bool', str('12'))), true);
  assert.equal(bool.match(asInput('bool', str('abc'))), false);
  assert.equal(bool.match(asInput('bool', int(-1))), true);
  // patterns are accepted and ignored
  assert.equal(compile('bool', ['whatever']).match(int(0)), false);
  const found = compile('found', ['x']);
  assert.equal(found.match(str('')), true);
  assert.equal(found.count, 1);
});

test('meth: known methods by code (exact), others as strings (-i honoured)', () => {
  const m = (s: string): Sample => { const x = new Sample(); x.setMeth(s); return x; };
  const set = compile('meth', ['GET', 'PURGE']);
  assert.equal(set.match(m('GET')), true);
  assert.equal(set.match(m('POST')), false);
  assert.equal(set.match(m('PURGE')), true);
  assert.equal(set.match(m('purge')), false);
  // haproxy 2.6.12: `method -i get` does not match GET ("get" is not a known method, GET is);
  // `method -i purge` matches PURGE; `method purge` does not.
  const ci = compile('meth', ['get', 'purge'], { ignoreCase: true });
  assert.equal(ci.match(m('GET')), false);
  assert.equal(ci.match(m('PURGE')), true);
  assert.equal(ci.match(m('Purge')), true);
  assert.equal(compile('meth', ['purge']).match(m('PURGE')), false);
  // a str sample cast to meth
  assert.equal(set.match(asInput('meth', str('GET'))), true);
});

test('unknown method name', () => {
  const r = compilePatterns('nope' as MatchMethod, [], { ignoreCase: false });
  assert.equal(r, `unknown matching method 'nope'`);
});

test('small sets: match() compares directly and agrees with the indexed lookup() and with large sets', () => {
  // A str set of at most 8 patterns answers match() by direct comparison,
  // dom and dir by a substring prefilter, meth without the method table;
  // lookup() and a set padded past 8 patterns take the indexed path. All
  // three must agree on every sample (beg and end are there as a check of
  // the match()/lookup() pair only).
  const pad = (pats: string[]): string[] => [...pats, ...Array.from({ length: 9 }, (_, i) => `zz-pad-${i}-never`)];
  const cases: Array<[MatchMethod, string[]]> = [
    ['str', ['localhost', '127.0.0.1', 'Example.com', 'www.example.com', '']],
    ['beg', ['/api/', '/v1/', '/V2/', '/', '']],
    ['beg', ['/admin', '/wp-admin', '/phpmyadmin']],
    ['end', ['.css', '.JS', '.png', 'x', '.txt']],
    ['dom', ['example.com', 'Example.org', '.com.']],
    ['dir', ['upload', 'Uploads', '/a/b/']],
    ['meth', ['GET', 'HEAD']],
    ['meth', ['GET', 'PURGE', 'purge']],
  ];
  const samples = [
    '', '/', 'localhost', 'LOCALHOST', '127.0.0.1', 'example.com', 'EXAMPLE.COM', 'www.example.com', 'www.example.com.',
    '/api/', '/API/x', '/v1', '/v2/x', '/V2/X', '/admin', '/Admin/x', '/wp-admin/', '/small.txt', '/a.CSS', 'x.js',
    'a.JS', 'x', 'a.example.org', 'a.EXAMPLE.ORG:80', 'foo.com.bar', '/upload/a', '/x/uploads', '/x/UPLOADS?', '/a/b',
    'GET', 'get', 'HEAD', 'PURGE', 'purge', 'Purge', 'POST', 'z\xe9\xc9',
  ];
  for (const [method, pats] of cases) {
    for (const icase of [false, true]) {
      const small = compile(method, pats, { ignoreCase: icase });
      const large = compile(method, pad(pats), { ignoreCase: icase });
      for (const s of samples) {
        const smp = (): Sample => (method === 'meth' ? (() => { const x = new Sample(); x.setMeth(s); return x; })() : str(s));
        const what = `${method}${icase ? ' -i' : ''} ${JSON.stringify(pats)} on ${JSON.stringify(s)}`;
        const m = small.match(smp());
        assert.equal(m, small.lookup(smp()) >= 0, `match/lookup: ${what}`);
        assert.equal(m, large.match(smp()), `small/large: ${what}`);
      }
    }
  }
});
