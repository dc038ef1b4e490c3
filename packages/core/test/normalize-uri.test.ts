/**
 * normalize-uri (http/normalize-uri.ts). The tables are HAProxy 2.6's
 * reg-tests/http-rules/normalize_uri.vtc (request URL before → after);
 * rows marked "haproxy 2.6.12" were run through the real binary with raw
 * sockets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  normalizeTarget, parseNormalizer, uriPathStart, replacePath, replaceQuery, stripDotdot, sortQuery,
  NORM_MERGE_SLASHES, NORM_STRIP_DOT, NORM_STRIP_DOTDOT, NORM_STRIP_DOTDOT_FULL, NORM_QUERY_SORT,
  NORM_PERCENT_UPPER, NORM_PERCENT_UPPER_STRICT, NORM_PERCENT_DECODE, NORM_PERCENT_DECODE_STRICT,
  NORM_FRAGMENT_STRIP, NORM_FRAGMENT_ENCODE,
} from '../src/http/normalize-uri';

function table(code: number, rows: ReadonlyArray<readonly [string, string | null]>): void {
  for (const [before, after] of rows) assert.equal(normalizeTarget(code, before), after, `${before}`);
}

test('path-merge-slashes (normalize_uri.vtc c1)', () => {
  table(NORM_MERGE_SLASHES, [
    ['/foo/bar', '/foo/bar'],
    ['/foo//bar', '/foo/bar'],
    ['/foo///bar', '/foo/bar'],
    ['///foo///bar', '/foo/bar'],
    ['///foo/bar', '/foo/bar'],
    ['///foo///bar///', '/foo/bar/'],
    ['///', '/'],
    ['/foo?bar=///', '/foo?bar=///'],
    ['//foo?bar=///', '/foo?bar=///'],
    ['*', '*'],
    ['//nm//a//b?c//d', '/nm/a/b?c//d'], // haproxy 2.6.12
  ]);
});

test('path-strip-dotdot and path-strip-dotdot full (normalize_uri.vtc c2)', () => {
  const rows: Array<[string, string, string]> = [
    ['/foo/bar', '/foo/bar', '/foo/bar'],
    ['/foo/..', '/', '/'],
    ['/foo/../', '/', '/'],
    ['/foo/bar/../', '/foo/', '/foo/'],
    ['/foo/../bar', '/bar', '/bar'],
    ['/foo/../bar/', '/bar/', '/bar/'],
    ['/foo/../../bar/', '/../bar/', '/bar/'],
    ['/foo//../../bar/', '/bar/', '/bar/'],
    ['/foo/?bar=/foo/../', '/foo/?bar=/foo/../', '/foo/?bar=/foo/../'],
    ['/foo/../?bar=/foo/../', '/?bar=/foo/../', '/?bar=/foo/../'],
    ['*', '*', '*'],
  ];
  for (const [before, after, full] of rows) {
    assert.equal(normalizeTarget(NORM_STRIP_DOTDOT, before), after, before);
    assert.equal(normalizeTarget(NORM_STRIP_DOTDOT_FULL, before), full, before + ' full');
  }
  // More "/.." than segments, without "full": all the excess is kept.
  assert.equal(stripDotdot('/../../a', false), '/../../a');
  assert.equal(stripDotdot('/../../a', true), '/a');
  assert.equal(stripDotdot('/a/b/../../..', false), '/../');
});

test('query-sort-by-name (normalize_uri.vtc c3)', () => {
  table(NORM_QUERY_SORT, [
    ['/?a=a', '/?a=a'],
    ['/?a=a&z=z', '/?a=a&z=z'],
    ['/?z=z&a=a', '/?a=a&z=z'],
    ['/?a=z&z=a', '/?a=z&z=a'],
    ['/?z=a&a=z', '/?a=z&z=a'],
    ['/?c&b&a&z&x&y', '/?a&b&c&x&y&z'],
    ['/?a=&aa=&aaa=&aaaa=', '/?a=&aa=&aaa=&aaaa='],
    ['/?aaaa=&a=&aa=&aaa=', '/?a=&aa=&aaa=&aaaa='],
    ['/?a=5&a=3&a=1&a=2&a=4', '/?a=5&a=3&a=1&a=2&a=4'],
    ['/?a=5&b=3&a=1&a=2&b=4', '/?a=5&a=1&a=2&b=3&b=4'],
    ['/', '/'],
    ['/?', '/?'],
    ['*', '*'],
    ['/ns?b=1&a=2&b=0&a', '/ns?a=2&a&b=1&b=0'], // haproxy 2.6.12
  ]);
  // istsplit() quirks: no empty piece after a final '&', a leading one stays.
  assert.equal(sortQuery('?b&a&'), '?a&b');
  assert.equal(sortQuery('?&b'), '?&b');
});

test('percent-to-uppercase [strict] (normalize_uri.vtc c4, c5)', () => {
  table(NORM_PERCENT_UPPER, [
    ['/a?a=a', '/a?a=a'],
    ['/%aa?a=%aa', '/%AA?a=%AA'],
    ['/%zz?a=%zz', '/%zz?a=%zz'],
    ['*', '*'],
  ]);
  table(NORM_PERCENT_UPPER_STRICT, [
    ['/a?a=a', '/a?a=a'],
    ['/%aa?a=%aa', '/%AA?a=%AA'],
    ['/%zz?a=%zz', null], // 400
    ['/a%', null],
    ['/a%4', null],
  ]);
});

test('path-strip-dot (normalize_uri.vtc c6)', () => {
  table(NORM_STRIP_DOT, [
    ['/', '/'],
    ['/a/b', '/a/b'],
    ['/.', '/'],
    ['/./', '/'],
    ['/a/.', '/a/'],
    ['/a.', '/a.'],
    ['/.a', '/.a'],
    ['/a/./', '/a/'],
    ['/a/./a', '/a/a'],
    ['/a/../', '/a/../'],
    ['/a/../a', '/a/../a'],
    ['/?a=/./', '/?a=/./'],
  ]);
});

test('percent-decode-unreserved [strict] (normalize_uri.vtc c7, c8)', () => {
  table(NORM_PERCENT_DECODE, [
    ['/a?a=a', '/a?a=a'],
    ['/%61?%61=%61', '/a?a=a'],
    ['/%3F?foo=bar', '/%3F?foo=bar'],
    ['/%%36%36', '/%66'],
    ['*', '*'],
    ['/nd%61%3f', '/nda%3f'], // haproxy 2.6.12: the reserved one keeps its case
    ['/%7e%2D%5F%2e%41%30', '/~-_.A0'],
  ]);
  table(NORM_PERCENT_DECODE_STRICT, [
    ['/a?a=a', '/a?a=a'],
    ['/%61?%61=%61', '/a?a=a'],
    ['/%3F?foo=bar', '/%3F?foo=bar'],
    ['/%%36%36', null], // 400
    ['/nd%zz', null], // haproxy 2.6.12: 400, logged PR
  ]);
});

test('fragment-strip and fragment-encode (normalize_uri.vtc c9, c10)', () => {
  table(NORM_FRAGMENT_STRIP, [
    ['/#foo', '/'],
    ['/%23foo', '/%23foo'],
    ['*', '*'],
  ]);
  table(NORM_FRAGMENT_ENCODE, [
    ['/#foo', '/%23foo'],
    ['/#foo/#foo', '/%23foo/%23foo'],
    ['/%23foo', '/%23foo'],
    ['*', '*'],
  ]);
});

test('absolute-form targets: only the path part changes, none without a path', () => {
  assert.equal(normalizeTarget(NORM_MERGE_SLASHES, 'http://h.example//a//b?x//y'), 'http://h.example/a/b?x//y');
  assert.equal(normalizeTarget(NORM_QUERY_SORT, 'http://h.example/p?b&a'), 'http://h.example/p?a&b');
  assert.equal(normalizeTarget(NORM_PERCENT_DECODE, 'http://h.example/%61'), 'http://h.example/a');
  assert.equal(normalizeTarget(NORM_MERGE_SLASHES, 'http://h.example'), 'http://h.example');
  assert.equal(normalizeTarget(NORM_MERGE_SLASHES, 'h.example:443'), 'h.example:443');
});

test('http_parse_path, set-path and set-query splitting', () => {
  assert.equal(uriPathStart('/a'), 0);
  assert.equal(uriPathStart('*'), -1);
  assert.equal(uriPathStart(''), -1);
  assert.equal(uriPathStart('http://h/a?b'), 8);
  assert.equal(uriPathStart('http://h?b'), -1); // the authority ends at '/' only
  assert.equal(uriPathStart('h.example:443'), -1);
  assert.equal(replacePath('/a/b?x', '/c', false), '/c?x');
  assert.equal(replacePath('/a/b?x', '/c', true), '/c');
  assert.equal(replacePath('http://h/a?x', '/c', false), 'http://h/c?x');
  assert.equal(replacePath('http://h', '/c', false), '/c'); // no path: the whole target is replaced (HAProxy)
  assert.equal(replaceQuery('/a?x', '?q=1'), '/a?q=1');
  assert.equal(replaceQuery('/a', '?q=1'), '/a?q=1');
  assert.equal(replaceQuery('/a', '?'), '/a');
  assert.equal(replaceQuery('/a?x', '?'), '/a?'); // the '?' stays
});

test('normalizer arguments (parse_http_normalize_uri)', () => {
  assert.deepEqual(parseNormalizer(['normalize-uri', 'path-strip-dotdot'], 1), { code: NORM_STRIP_DOTDOT, next: 2 });
  assert.deepEqual(parseNormalizer(['normalize-uri', 'path-strip-dotdot', 'full'], 1), { code: NORM_STRIP_DOTDOT_FULL, next: 3 });
  assert.deepEqual(parseNormalizer(['normalize-uri', 'percent-to-uppercase', 'strict'], 1), { code: NORM_PERCENT_UPPER_STRICT, next: 3 });
  assert.deepEqual(parseNormalizer(['normalize-uri', 'percent-decode-unreserved'], 1), { code: NORM_PERCENT_DECODE, next: 2 });
  assert.deepEqual(parseNormalizer(['normalize-uri', 'fragment-encode'], 1), { code: NORM_FRAGMENT_ENCODE, next: 2 });
  assert.deepEqual(parseNormalizer(['normalize-uri', 'fragment-strip', 'x'], 1), { code: NORM_FRAGMENT_STRIP, next: 2 });
  assert.equal(parseNormalizer(['normalize-uri'], 1), 'missing argument <normalizer>');
  assert.equal(parseNormalizer(['normalize-uri', 'foo'], 1), "unknown normalizer 'foo'");
  assert.equal(parseNormalizer(['normalize-uri', 'path-strip-dotdot', 'bar'], 1), "unknown argument 'bar' for 'path-strip-dotdot' normalizer");
  assert.equal(parseNormalizer(['normalize-uri', 'percent-to-uppercase', 'full'], 1), "unknown argument 'full' for 'percent-to-uppercase' normalizer");
});
