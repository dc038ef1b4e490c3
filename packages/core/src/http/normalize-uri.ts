/**
 * `http-request normalize-uri <normalizer>` (configuration.txt 4.2) and the
 * request-target splitting HAProxy's URL rewrites share (src/http.c
 * http_parse_path, src/http_htx.c http_replace_req_path/query).
 *
 * Every normalizer is a port of HAProxy 2.6 src/uri_normalizer.c, quirks
 * included, on latin1 strings (one char per byte):
 *   - path-strip-dot / fragment-encode / query-sort-by-name split with
 *     istsplit(), which never yields the empty piece after a final
 *     delimiter: "?a&" sorts as "?a" (the '&' is lost), "?&a" keeps its
 *     empty parameter;
 *   - path-strip-dotdot walks backwards and counts an empty segment as a
 *     segment ("/foo//../../bar/" gives "/bar/");
 *   - query-sort-by-name compares names up to '=' like memcmp (a shorter
 *     name first) and keeps equal names in their order.
 * Which part each one rewrites follows http_action_normalize_uri(): the
 * path-* normalizers see the path without the query; percent-*, fragment-*
 * see the path with the query; query-sort-by-name the query. A target
 * without a path (`*`, authority-form, "http://host") is left alone.
 *
 * Expectations are HAProxy's reg-tests/http-rules/normalize_uri.vtc; the
 * results on real requests were checked against haproxy 2.6.12
 * ("//nm//a//b?c//d" → "/nm/a/b?c//d", "/nd%61%3f" → "/nda%3f",
 * "/ns?b=1&a=2&b=0&a" → "/ns?a=2&a&b=1&b=0", a bad '%' in strict mode → 400).
 */

/* ---------------- the request-target (src/http.c) ---------------- */

function isAlpha(c: number): boolean {
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x7a;
}

function isSchemeChar(c: number): boolean {
  return isAlpha(c) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e;
}

/**
 * http_parse_path(): where the path (query included) starts in target `t`,
 * -1 when there is none: empty, "*...", authority-form, "scheme://authority"
 * with nothing after the authority. The authority ends at the first '/'
 * only ("http://h?x" has no path, as in HAProxy).
 */
export function uriPathStart(t: string): number {
  const n = t.length;
  if (n === 0) return -1;
  const c0 = t.charCodeAt(0);
  if (c0 === 0x2f) return 0;
  if (c0 === 0x2a) return -1;
  if (!isAlpha(c0)) return -1;
  let i = 1;
  while (i < n && isSchemeChar(t.charCodeAt(i))) i++;
  if (i + 3 > n || t.charCodeAt(i) !== 0x3a || t.charCodeAt(i + 1) !== 0x2f || t.charCodeAt(i + 2) !== 0x2f) return -1;
  const slash = t.indexOf('/', i + 3);
  return slash < 0 ? -1 : slash;
}

/**
 * http_replace_req_path(): `t` with its path replaced by `path`; the query
 * is kept unless `withQuery` (set-pathq). Without a path, HAProxy treats the
 * whole target as the path.
 */
export function replacePath(t: string, path: string, withQuery: boolean): string {
  let ps = uriPathStart(t);
  if (ps < 0) ps = 0;
  let pe = t.length;
  if (!withQuery) {
    const q = t.indexOf('?', ps);
    if (q >= 0) pe = q;
  }
  return t.slice(0, ps) + path + t.slice(pe);
}

/**
 * http_replace_req_query(): `query` starts with '?'. The first '?' of the
 * target is kept and what follows replaced; without one, the query is
 * appended only when it is not empty ("?" alone changes nothing).
 */
export function replaceQuery(t: string, query: string): string {
  const q = t.indexOf('?');
  if (q >= 0) return t.slice(0, q + 1) + query.slice(1);
  return query.length > 1 ? t + query : t;
}

/* ---------------- normalizers (src/uri_normalizer.c) ---------------- */

/** path-merge-slashes: runs of '/' become one. */
export function mergeSlashes(path: string): string {
  let out = '';
  let run = 0;
  for (let i = 0; i < path.length; i++) {
    if (path.charCodeAt(i) !== 0x2f) continue;
    let j = i + 1;
    while (j < path.length && path.charCodeAt(j) === 0x2f) j++;
    if (j > i + 1) {
      out += path.slice(run, i + 1);
      run = j;
    }
    i = j - 1;
  }
  return run === 0 ? path : out + path.slice(run);
}

/** path-strip-dot: "." segments go with the '/' after them. */
export function stripDot(path: string): string {
  const segs = path.split('/');
  const last = segs.length - 1;
  let out = '';
  for (let i = 0; i <= last; i++) {
    if (segs[i] === '.') continue;
    out += segs[i];
    if (i < last) out += '/';
  }
  return out;
}

/**
 * path-strip-dotdot [full]: each "/../" removes the segment before it. The
 * "/.." in excess stay at the start, unless `full`.
 */
export function stripDotdot(path: string, full: boolean): string {
  let head = '';
  let offset = path.length - 1;
  let up = 0;
  // A final "/.." without a trailing slash.
  if (offset >= 2 && path.startsWith('/..', offset - 2)) {
    up++;
    offset -= 2;
  }
  while (offset >= 0) {
    if (offset >= 3 && path.startsWith('/../', offset - 3)) {
      up++;
      offset -= 3;
      continue;
    }
    if (up > 0) {
      offset--; // the slash
      if (offset >= 0) {
        up--;
        while (offset >= 0 && path.charCodeAt(offset) !== 0x2f) offset--;
      }
    } else {
      const end = offset + 1;
      offset--; // the slash (or the first character)
      while (offset >= 0 && path.charCodeAt(offset) !== 0x2f) offset--;
      head = path.slice(offset + 1, end) + head;
    }
  }
  if (up > 0) {
    head = '/' + head;
    if (!full) head = '/..'.repeat(up) + head;
  }
  return head;
}

/** istdiff() of the parameter names (up to '='): memcmp order, a prefix first. */
function paramCmp(a: string, b: string): number {
  let ea = a.indexOf('=');
  if (ea < 0) ea = a.length;
  let eb = b.indexOf('=');
  if (eb < 0) eb = b.length;
  const n = ea < eb ? ea : eb;
  for (let i = 0; i < n; i++) {
    const d = a.charCodeAt(i) - b.charCodeAt(i);
    if (d !== 0) return d;
  }
  return ea - eb;
}

/** query-sort-by-name: `query` starts with '?' (or is empty: nothing to sort). */
export function sortQuery(query: string): string {
  if (query.length <= 1) return query;
  const params = query.slice(1).split('&');
  // istsplit() yields no empty piece after a final '&'.
  if (params.length > 1 && params[params.length - 1] === '') params.pop();
  // Array#sort is stable: equal names keep their order (HAProxy compares pointers).
  params.sort(paramCmp);
  return '?' + params.join('&');
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

function isUnreserved(c: number): boolean {
  return isAlpha(c) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e;
}

/**
 * percent-to-uppercase [strict]: "%aa" → "%AA". A '%' not followed by two
 * hex digits is kept, or with `strict` makes the request invalid (null:
 * HAProxy answers 400).
 */
export function percentToUpper(s: string, strict: boolean): string | null {
  let out = '';
  let run = 0;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) !== 0x25) continue;
    if (i + 2 < s.length && hexVal(s.charCodeAt(i + 1)) >= 0 && hexVal(s.charCodeAt(i + 2)) >= 0) {
      const hex = s.slice(i + 1, i + 3);
      const up = hex.toUpperCase();
      if (up !== hex) {
        out += s.slice(run, i + 1) + up;
        run = i + 3;
      }
      i += 2;
      continue;
    }
    if (strict) return null;
  }
  return run === 0 ? s : out + s.slice(run);
}

/**
 * percent-decode-unreserved [strict]: "%61" → "a" for RFC 3986 unreserved
 * characters only (ALPHA, DIGIT, "-._~"); others keep their encoding as
 * written. Invalid '%' as in percentToUpper().
 */
export function percentDecodeUnreserved(s: string, strict: boolean): string | null {
  let out = '';
  let run = 0;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) !== 0x25) continue;
    if (i + 2 < s.length) {
      const h1 = hexVal(s.charCodeAt(i + 1));
      const h2 = hexVal(s.charCodeAt(i + 2));
      if (h1 >= 0 && h2 >= 0) {
        const c = (h1 << 4) | h2;
        if (isUnreserved(c)) {
          out += s.slice(run, i) + String.fromCharCode(c);
          run = i + 3;
        }
        i += 2;
        continue;
      }
    }
    if (strict) return null;
  }
  return run === 0 ? s : out + s.slice(run);
}

/** fragment-strip: everything from the first '#'. */
export function fragmentStrip(s: string): string {
  const h = s.indexOf('#');
  return h < 0 ? s : s.slice(0, h);
}

/** fragment-encode: '#' becomes "%23". */
export function fragmentEncode(s: string): string {
  return s.indexOf('#') < 0 ? s : s.split('#').join('%23');
}

/* ---------------- the action's normalizers ---------------- */

export const NORM_MERGE_SLASHES = 0;
export const NORM_STRIP_DOT = 1;
export const NORM_STRIP_DOTDOT = 2;
export const NORM_STRIP_DOTDOT_FULL = 3;
export const NORM_QUERY_SORT = 4;
export const NORM_PERCENT_UPPER = 5;
export const NORM_PERCENT_UPPER_STRICT = 6;
export const NORM_PERCENT_DECODE = 7;
export const NORM_PERCENT_DECODE_STRICT = 8;
export const NORM_FRAGMENT_STRIP = 9;
export const NORM_FRAGMENT_ENCODE = 10;

/**
 * parse_http_normalize_uri(): `<normalizer> [full|strict]` from words[from].
 * Returns the NORM_* code and the index after it, or an error.
 */
export function parseNormalizer(words: readonly string[], from: number): { code: number; next: number } | string {
  const w = words[from] ?? '';
  const opt = words[from + 1] ?? '';
  const withOpt = (name: string, optName: string, plain: number, withIt: number): { code: number; next: number } | string => {
    if (opt === optName) return { code: withIt, next: from + 2 };
    if (opt === '') return { code: plain, next: from + 1 };
    return `unknown argument '${opt}' for '${name}' normalizer`;
  };
  switch (w) {
    case '': return 'missing argument <normalizer>';
    case 'path-merge-slashes': return { code: NORM_MERGE_SLASHES, next: from + 1 };
    case 'path-strip-dot': return { code: NORM_STRIP_DOT, next: from + 1 };
    case 'path-strip-dotdot': return withOpt(w, 'full', NORM_STRIP_DOTDOT, NORM_STRIP_DOTDOT_FULL);
    case 'query-sort-by-name': return { code: NORM_QUERY_SORT, next: from + 1 };
    case 'percent-to-uppercase': return withOpt(w, 'strict', NORM_PERCENT_UPPER, NORM_PERCENT_UPPER_STRICT);
    case 'percent-decode-unreserved': return withOpt(w, 'strict', NORM_PERCENT_DECODE, NORM_PERCENT_DECODE_STRICT);
    case 'fragment-strip': return { code: NORM_FRAGMENT_STRIP, next: from + 1 };
    case 'fragment-encode': return { code: NORM_FRAGMENT_ENCODE, next: from + 1 };
  }
  return `unknown normalizer '${w}'`;
}

/**
 * Applies normalizer `code` to request-target `t`: the new target (the same
 * string when nothing changes), or null when a strict normalizer finds an
 * invalid '%' sequence (HAProxy's ACT_RET_INV: 400 Bad Request).
 */
export function normalizeTarget(code: number, t: string): string | null {
  const ps = uriPathStart(t);
  if (ps < 0) return t;
  const pq = ps === 0 ? t : t.slice(ps);
  let qs = pq.indexOf('?');
  if (qs < 0) qs = pq.length;
  const path = pq.slice(0, qs);
  switch (code) {
    case NORM_MERGE_SLASHES: return withPath(t, ps, qs, path, mergeSlashes(path));
    case NORM_STRIP_DOT: return withPath(t, ps, qs, path, stripDot(path));
    case NORM_STRIP_DOTDOT: return withPath(t, ps, qs, path, stripDotdot(path, false));
    case NORM_STRIP_DOTDOT_FULL: return withPath(t, ps, qs, path, stripDotdot(path, true));
    case NORM_QUERY_SORT: {
      if (qs === pq.length) return t;
      const q = pq.slice(qs);
      const sorted = sortQuery(q);
      return sorted === q ? t : replaceQuery(t, sorted);
    }
    case NORM_PERCENT_UPPER: case NORM_PERCENT_UPPER_STRICT: {
      const r = percentToUpper(pq, code === NORM_PERCENT_UPPER_STRICT);
      return r === null ? null : r === pq ? t : t.slice(0, ps) + r;
    }
    case NORM_PERCENT_DECODE: case NORM_PERCENT_DECODE_STRICT: {
      const r = percentDecodeUnreserved(pq, code === NORM_PERCENT_DECODE_STRICT);
      return r === null ? null : r === pq ? t : t.slice(0, ps) + r;
    }
    case NORM_FRAGMENT_STRIP: {
      const r = fragmentStrip(pq);
      return r === pq ? t : t.slice(0, ps) + r;
    }
    case NORM_FRAGMENT_ENCODE: {
      const r = fragmentEncode(pq);
      return r === pq ? t : t.slice(0, ps) + r;
    }
  }
  return t;
}

function withPath(t: string, ps: number, qs: number, path: string, np: string): string {
  return np === path ? t : t.slice(0, ps) + np + t.slice(ps + qs);
}
