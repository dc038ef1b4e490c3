/**
 * Conditions of .if/.elif and -cc. Cases marked "haproxy 2.6.12:" were run as
 * `haproxy -cc '<cond>'` (exit 0 = true, 1 = false, 2 = error) and the comment
 * gives its answer; a script ran ~150 such conditions through both and only
 * the two differences documented below remained.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  compareVersion,
  evaluateCondition,
  evaluateConditionExpr,
  evaluateConditionText,
  opensslVersionNumber,
  splitVersion,
} from '../src/config/condition';
import type { LexOptions } from '../src/config/lexer';

const OPTS: LexOptions = {
  env: { FOO: 'x', EMPTY: '', COND: '1 && 0', SP: ' a ' },
  features: new Set(['OPENSSL', 'LINUX_SPLICE']),
  version: '2.6',
};

/** true, false or 'error' for a -cc style condition text. */
function cc(text: string, opts: LexOptions = OPTS): boolean | 'error' {
  const r = evaluateConditionText(text, opts);
  return 'error' in r ? 'error' : r.value;
}

function err(text: string, opts: LexOptions = OPTS): string {
  const r = evaluateConditionText(text, opts);
  assert.ok('error' in r, `expected an error for ${text}`);
  return r.error;
}

function check(cases: Array<[string, boolean | 'error']>, opts: LexOptions = OPTS): void {
  for (const [text, expected] of cases) assert.equal(cc(text, opts), expected, text);
}

test('empty conditions are false, blank ones are errors', () => {
  // haproxy 2.6.12: -cc '' -> 1; -cc ' ' -> "unparsable conditional sub-expression ' '"
  check([
    ['', false],
    [' ', 'error'],
  ]);
  assert.deepEqual(evaluateCondition([], OPTS), { value: false });
  assert.deepEqual(evaluateCondition([''], OPTS), { value: false });
});

test('integers: zero is false, any other integer true (C strtol rules)', () => {
  // haproxy 2.6.12: 0,+0,0x0 -> 1; 1,-1,010,0x10 -> 0; 08, 0x, 1abc -> 2
  check([
    ['0', false],
    ['+0', false],
    ['-0', false],
    ['0x0', false],
    ['000', false],
    ['1', true],
    ['-1', true],
    ['42', true],
    ['010', true],
    ['0x10', true],
    ['0X1f', true],
    ['99999999999999999999999', true],
    ['08', 'error'],
    ['0x', 'error'],
    ['1abc', 'error'],
  ]);
  assert.equal(err('08'), "unexpected character '8' at the end of conditional expression '08'");
});

test('plain words are errors, not true', () => {
  // haproxy 2.6.12: -cc yes -> "unparsable conditional expression 'yes'"
  check([
    ['yes', 'error'],
    ['true', 'error'],
    ['foo(1)', 'error'],
  ]);
  assert.equal(err('yes'), "unparsable conditional expression 'yes'");
});

test('negation, parentheses and precedence', () => {
  check([
    ['!0', true],
    ['! 0', true],
    ['!!1', true],
    ['!  !  1', true],
    ['!(0)', true],
    ['! (0 || 0)', true],
    ['( 1 )', true],
    ['((((1))))', true],
    ['!(!(1) && 0)', true],
    // && binds tighter than ||: haproxy 2.6.12 "1 && 0 || 1" -> 0, "0 || 1 && 0" -> 1
    ['1 && 0 || 1', true],
    ['0 || 1 && 0', false],
    ['0 || 1 && 1', true],
    ['(0 || 1) && 0', false],
    ['1&&1', true],
    ['0||1', true],
    ['1 && (0 || 1) && !0', true],
  ]);
});

test('operator and parenthesis syntax errors', () => {
  // all refused by haproxy 2.6.12 -cc
  check([
    ['!', 'error'],
    ['!!', 'error'],
    ['1 &&', 'error'],
    ['1 ||', 'error'],
    ['&& 1', 'error'],
    ['|| 1', 'error'],
    ['1 & 1', 'error'],
    ['1|1', 'error'],
    ['(1', 'error'],
    ['(1))', 'error'],
    ['()', 'error'],
    ['( )', 'error'],
    ['(', 'error'],
    ['1 # comment', 'error'], // no comments in -cc
  ]);
  assert.equal(err('(1'), "expected ')' after conditional expression '(1'");
  assert.equal(err('1 & 1'), "unexpected character '&' at the end of conditional expression '1 & 1'");
});

test('the whole expression is parsed before being evaluated', () => {
  // haproxy 2.6.12: "1 || foo" and "0 && streq(a)" are errors even though short-circuited
  check([
    ['1 || foo', 'error'],
    ['0 && foo', 'error'],
    ['0 && streq(a)', 'error'],
  ]);
});

test('evaluation stops early: errors at evaluation are only raised when reached', () => {
  // haproxy 2.6.12: "1 || openssl_version_atleast(x)" -> 0, "0 && openssl_version_atleast(x)" -> 1
  check([
    ['1 || openssl_version_atleast(x)', true],
    ['0 && openssl_version_atleast(x)', false],
    ['openssl_version_atleast(x)', 'error'],
  ]);
});

test('defined()', () => {
  check([
    ['defined(FOO)', true],
    ['defined(EMPTY)', true], // exists, even empty
    ['defined(NOPE)', false],
    ['!defined(NOPE)', true],
    // haproxy 2.6.12: without parentheses the argument is empty -> false
    ['defined', false],
    ['defined()', false],
    ['defined (FOO)', 'error'],
    ['(defined)', 'error'],
    ['defined(FOO,X)', 'error'],
    ['defined(FOO)x', 'error'],
  ]);
  assert.equal(err('defined(FOO,X)'), "expected ')' before ',X)' in argument 1 of predicate 'defined' used in conditional expression");
});

test('feature()', () => {
  check([
    ['feature(OPENSSL)', true],
    ['feature(openssl)', false], // case-sensitive, as in HAProxy
    ['feature(ZLIB)', false],
    ['!feature(QUIC)', true],
    ['feature(LINUX_SPLICE) && feature(OPENSSL)', true],
  ]);
});

test('streq() and strneq()', () => {
  check([
    ['streq(a,a)', true],
    ['streq(a,b)', false],
    ['strneq(a,b)', true],
    ['strneq(a,a)', false],
    ['streq(,)', true],
    // spaces are part of the arguments: haproxy 2.6.12 "streq(a, a)" -> 1 (false)
    ['streq(a, a)', false],
    ['streq( a,a)', false],
    // the config-level quotes are gone before the arguments are split:
    // haproxy 2.6.12 streq("a,b","a,b") -> error, 'streq("a,b","a,b")' -> true
    ['streq("a,b","a,b")', 'error'],
    [`'streq("a,b","a,b")'`, true],
    ['streq(\\"a,b\\",\\"a,b\\")', true],
    // the argument level has its own escapes: \<space>, \\, \", \', \t, \n, \r
    [`'streq(a\\ b,a b)'`, true],
    [`'streq(a\\tb,a"\\t"b)'`, true],
    // ...but not \x, which only the config level knows: haproxy 2.6.12 'streq(a\x41,aA)' -> false
    ['streq(a\\x41,aA)', true],
    [`'streq(a\\x41,aA)'`, false],
    // a backslash before ',' is a plain backslash and the comma still splits
    [`'streq("a,b",a\\,b)'`, 'error'],
    ['streq(a\\,b)', false],
    // words of a line are joined by single spaces: haproxy 2.6.12 streq("a b","a b") -> true
    ['streq("a b","a b")', true],
    ['streq("a  b","a b")', false],
    ['streq(a)', 'error'],
    ['streq()', 'error'],
    ['streq', 'error'],
    ['streq(a\\', 'error'],
    ['streq("a', 'error'],
    ['streq(a,b,c)', 'error'],
  ]);
  assert.equal(err('streq(a)'), "missing arguments (got 1/2), type 'string' expected in argument 1 of predicate 'streq' used in conditional expression");
  assert.equal(err('streq(a\\'), "failed to parse '\\' after 'a' as type 'string' at position 1 in argument 0 of predicate 'streq' used in conditional expression");
});

test('environment variables in conditions', () => {
  check([
    ['streq("$FOO",x)', true],
    ["streq('$FOO',x)", false], // single quotes: no expansion
    ['streq(${FOO},x)', false], // unquoted: no expansion
    ['"${COND}"', false],
    ['"${COND[*]}"', false],
    ['"${NOPE-1}"', true],
    ['"${EMPTY-1}"', false],
    ['"$FOO"', 'error'], // "x" is not a condition
    ['"${FOO"', 'error'],
    ['"$1"', 'error'],
  ]);
  assert.match(err('"${FOO"'), /^syntax error in condition: unmatched brace in environment variable name at position 3$/);
  assert.match(err('streq("a'), /unmatched quote/);
});

test('version_atleast() and version_before() against opts.version', () => {
  check([
    ['version_atleast(2.6)', true],
    ['version_atleast(2.6.0)', true],
    ['version_atleast(2.6.0.0)', true],
    ['version_atleast(2.5.99)', true],
    ['version_atleast(2)', true],
    ['version_atleast(2.6.1)', false],
    ['version_atleast(2.7)', false],
    ['version_atleast(3)', false],
    ['version_before(2.6.1)', true],
    ['version_before(2.7-dev0)', true],
    ['version_before(2.6)', false],
    ['version_before(2.5)', false],
    // a dev or rc version is older than the release: 2.6-dev < 2.6-rc1 < 2.6
    ['version_atleast(2.6-dev10)', true],
    ['version_atleast(2.6-rc1)', true],
    ['version_atleast(2.6-pre3)', true],
    ['version_atleast(2.4-dev19)', true],
    // a distribution suffix is ignored: haproxy 2.6.12-1+deb12u4 has version_atleast(2.6.12-1+deb12u5) true
    ['version_atleast(2.6-1+deb12u5)', true],
    ['version_before(2.6-1+deb12u5)', false],
  ]);
  check(
    [
      // haproxy 2.6.12 (its own version is 2.6.12-1+deb12u4):
      ['version_atleast(2.6.12)', true], // -> 0
      ['version_atleast(2.6.13)', false], // -> 1
      ['version_atleast(2.6.12-dev1)', true], // -> 0
      ['version_before(2.6.12.1)', true], // -> 0
      ['version_before(2.6.12-1+deb12u4)', false], // -> 1
    ],
    { ...OPTS, version: '2.6.12-1+deb12u4' },
  );
  check(
    [
      ['version_atleast(2.6-dev3)', true],
      ['version_atleast(2.6-dev4)', false],
      ['version_before(2.6-dev4)', true],
      ['version_before(2.6)', true],
      ['version_atleast(2.6-dev3-120)', false], // 120 commits after dev3
    ],
    { ...OPTS, version: '2.6-dev3-5' },
  );
});

test('unparsable versions behave like HAProxy: version_atleast true, version_before false', () => {
  // haproxy 2.6.12: version_atleast(abc) -> 0, version_before(abc) -> 1, version_atleast -> 0,
  // version_atleast(2.6.x) -> 0 (its comparison returns "unparsable", which tests as <= 0)
  check([
    ['version_atleast(abc)', true],
    ['version_before(abc)', false],
    ['version_atleast', true],
    ['version_before()', false],
    ['version_atleast(2.6.x)', true],
    ['version_before(2.6.x)', false],
  ]);
});

test('splitVersion and compareVersion', () => {
  assert.deepEqual(splitVersion('1.2.1-pre2'), [1, 2, 1, 0, 2, 2, 0]);
  assert.deepEqual(splitVersion('1.2.10.1'), [1, 2, 10, 1, 3, 0, 0]);
  assert.deepEqual(splitVersion('1.5-dev18-43'), [1, 5, 0, 0, 1, 18, 43]);
  assert.deepEqual(splitVersion('2.4-dev18-f6818d-20'), [2, 4, 0, 0, 1, 18, 20]);
  assert.deepEqual(splitVersion('2.6.12-1+deb12u4'), [2, 6, 12, 0, 3, 0, 0]);
  assert.deepEqual(splitVersion('2.6'), [2, 6, 0, 0, 3, 0, 0]);
  assert.equal(splitVersion(''), undefined);
  assert.equal(splitVersion('2.6.x'), undefined);
  assert.equal(splitVersion('2.6-devx'), undefined);
  assert.equal(compareVersion('2.6', '2.6.0'), 0);
  assert.equal(compareVersion('2.6', '2.6.1'), 1);
  assert.equal(compareVersion('2.6', '2.5'), -1);
  assert.equal(compareVersion('2.6', 'abc'), -3);
  assert.equal(compareVersion('abc', '2.6'), -2);
});

test('OpenSSL predicates use Node\'s OpenSSL', () => {
  const v = process.versions.openssl;
  assert.ok(v, 'this Node has OpenSSL');
  const [major, minor] = v.split('.');
  check([
    [`openssl_version_atleast(${major}.${minor}.0)`, true],
    [`openssl_version_before(${Number(major) + 1}.0.0)`, true],
    [`openssl_version_atleast(${Number(major) + 1}.0.0)`, false],
    ['openssl_version_before(1.1.1w)', false],
    ['openssl_version_atleast(abc)', 'error'],
    ['ssllib_name_startswith(OpenSSL)', true],
    [`'ssllib_name_startswith("OpenSSL ${major}.")'`, true],
    ['ssllib_name_startswith(openssl)', false],
    ['ssllib_name_startswith(LibreSSL)', false],
    ['ssllib_name_startswith()', true],
  ]);
  assert.match(err('openssl_version_atleast(abc)'), /cannot parse 'abc' as an OpenSSL version/);
});

test('opensslVersionNumber follows the MNNFFPPS layout', () => {
  assert.equal(opensslVersionNumber('0.9.8zh'), 0x0090821f);
  assert.equal(opensslVersionNumber('1.0.2u'), 0x1000215f);
  assert.equal(opensslVersionNumber('3.0.0-alpha17'), 0x30000000);
  assert.equal(opensslVersionNumber('3.0.0-beta2'), 0x30000002);
  assert.equal(opensslVersionNumber('3.0.0'), 0x3000000f);
  assert.equal(opensslVersionNumber('3.0.19'), 0x3001300f);
  assert.equal(opensslVersionNumber('abc'), 0);
  assert.equal(opensslVersionNumber('3.0.0-beta15'), 0);
});

test('depth limits are HAProxy\'s', () => {
  // haproxy 2.6.12: 340 nested parentheses pass, 341 fail; a chain of 1022 '&&'
  // (or '||') operands passes, 1023 fails.
  const nest = (k: number): string => '('.repeat(k) + '1' + ')'.repeat(k);
  assert.equal(cc(nest(340)), true);
  assert.equal(cc(nest(341)), 'error');
  assert.equal(cc(Array(1022).fill('1').join('&&')), true);
  assert.equal(cc(Array(1023).fill('1').join('&&')), 'error');
  assert.equal(cc(Array(1022).fill('0').join('||')), false);
  assert.equal(cc(Array(1023).fill('0').join('||')), 'error');
  assert.equal(cc('('.repeat(100) + Array(700).fill('0').join('||') + ')'.repeat(100)), false);
});

test('evaluateCondition joins words with single spaces', () => {
  assert.deepEqual(evaluateCondition(['1', '&&', '0'], OPTS), { value: false });
  assert.deepEqual(evaluateCondition(['streq(a', 'b,a', 'b)'], OPTS), { value: true });
  assert.deepEqual(evaluateCondition(['yes'], OPTS), { error: "unparsable conditional expression 'yes'" });
  // with the offset of the failure, for "at position" messages
  assert.deepEqual(evaluateConditionExpr('1 && foo', OPTS), { error: "unparsable conditional expression 'foo'", pos: 5 });
});

test('known differences from haproxy 2.6.12', () => {
  // feature() with an empty name: HAProxy scans its feature string with an empty
  // needle and answers true by accident; an empty name is no feature here.
  assert.equal(cc('feature()'), false);
  // HAProxy compares with OPENSSL_VERSION_NUMBER, whose layout changed in OpenSSL 3,
  // so with OpenSSL 3.0.x it finds openssl_version_atleast(3.0.1) false; we compare
  // like with like.
  if (process.versions.openssl?.startsWith('3.0.') && Number(process.versions.openssl.split('.')[2].replace(/\D.*$/, '')) >= 1) {
    assert.equal(cc('openssl_version_atleast(3.0.1)'), true);
  }
});
