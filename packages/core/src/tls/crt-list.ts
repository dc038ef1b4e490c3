/**
 * `crt-list <file>` parsing (haproxy 2.6 ssl_crtlist.c crtlist_parse_file /
 * crtlist_parse_line) and the per-certificate ssl options it accepts
 * (cfgparse-ssl.c ssl_bind_kws). Each line is
 *     <crtfile> [\[<sslbindconf> ...\]] [[!]<snifilter> ...]
 * Only syntax is checked here; files named by options are read by cert-store.
 */

export type TlsVersionName = 'SSLv3' | 'TLSv1.0' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
export type VerifyMode = 'none' | 'optional' | 'required';

/** HAProxy's ssl_bind_conf: per-bind options, overridden field by field per crt-list line. */
export interface SslBindConf {
  alpn?: string[];
  npn?: string[];
  ciphers?: string;
  ciphersuites?: string;
  curves?: string;
  ecdhe?: string;
  sslMinVer?: TlsVersionName;
  sslMaxVer?: TlsVersionName;
  verify?: VerifyMode;
  caFile?: string;
  caVerifyFile?: string;
  crlFile?: string;
  allow0rtt?: boolean;
  noCaNames?: boolean;
}

interface SslBindKeyword {
  /** Arguments taken after the keyword (the `skip` of ssl_bind_kws). */
  args: 0 | 1;
  /** Returns an error reason, or undefined. */
  parse(conf: SslBindConf, arg: string, kw: string): string | undefined;
}

/** methodVersions[] names, haproxy 2.6 ssl_sock.c. */
const TLS_VERSIONS: readonly TlsVersionName[] = ['SSLv3', 'TLSv1.0', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/** ssl_sock_parse_alpn: comma list, each name 1..255 bytes. */
function parseProtoList(arg: string, what: string): string[] | string {
  if (!arg) return `missing the comma-delimited ${what} protocol suite`;
  const list = arg.split(',');
  for (const p of list) {
    if (p.length === 0) return `empty ${what} protocol name in '${arg}'`;
    if (Buffer.byteLength(p) > 255) return `${what} protocol name too long : '${p}'`;
  }
  return list;
}

function need(arg: string, what: string): string | undefined {
  return arg ? undefined : what;
}

/**
 * The keywords a crt-list line accepts between brackets: exactly ssl_bind_kws
 * of haproxy 2.6 (cfgparse-ssl.c), with its error wording.
 */
export const SSL_BIND_KEYWORDS: ReadonlyMap<string, SslBindKeyword> = new Map<string, SslBindKeyword>([
  ['allow-0rtt', { args: 0, parse: c => { c.allow0rtt = true; return undefined; } }],
  ['alpn', { args: 1, parse: (c, a) => { const l = parseProtoList(a, 'ALPN'); if (typeof l === 'string') return l; c.alpn = l; return undefined; } }],
  ['ca-file', { args: 1, parse: (c, a) => need(a, 'missing CAfile path') ?? void (c.caFile = a) }],
  ['ca-verify-file', { args: 1, parse: (c, a) => need(a, 'missing CAfile path') ?? void (c.caVerifyFile = a) }],
  ['ciphers', { args: 1, parse: (c, a) => need(a, 'missing cipher suite') ?? void (c.ciphers = a) }],
  ['ciphersuites', { args: 1, parse: (c, a) => need(a, 'missing cipher suite') ?? void (c.ciphersuites = a) }],
  ['crl-file', { args: 1, parse: (c, a) => need(a, 'missing CRLfile path') ?? void (c.crlFile = a) }],
  ['curves', { args: 1, parse: (c, a) => need(a, 'missing curve suite') ?? void (c.curves = a) }],
  ['ecdhe', { args: 1, parse: (c, a) => need(a, 'missing named curve') ?? void (c.ecdhe = a) }],
  ['no-ca-names', { args: 0, parse: c => { c.noCaNames = true; return undefined; } }],
  ['npn', { args: 1, parse: (c, a) => { const l = parseProtoList(a, 'NPN'); if (typeof l === 'string') return l; c.npn = l; return undefined; } }],
  ['ssl-min-ver', { args: 1, parse: (c, a) => parseVersion(c, a, 'sslMinVer') }],
  ['ssl-max-ver', { args: 1, parse: (c, a) => parseVersion(c, a, 'sslMaxVer') }],
  ['verify', {
    args: 1, parse: (c, a) => {
      if (!a) return 'missing verify method';
      if (a !== 'none' && a !== 'optional' && a !== 'required') return `unknown verify method '${a}', only 'none', 'optional', and 'required' are supported`;
      c.verify = a;
      return undefined;
    },
  }],
]);

function parseVersion(c: SslBindConf, a: string, field: 'sslMinVer' | 'sslMaxVer'): string | undefined {
  if (!a) return 'missing the ssl/tls version';
  const v = TLS_VERSIONS.find(n => n === a);
  if (!v) return `'${a}' : unknown ssl/tls version (expected one of ${TLS_VERSIONS.join(', ')})`;
  c[field] = v;
  return undefined;
}

/** One crt-list line after parsing. */
export interface CrtListEntry {
  line: number;
  crt: string;
  /** Present only when the line had brackets, as HAProxy allocates ssl_conf only then. */
  conf?: SslBindConf;
  filters: string[];
}

export interface CrtListError { line: number; code: 'CRTLIST_SYNTAX' | 'CRTLIST_UNKNOWN_KW' | 'CRTLIST_BAD_ARG'; reason: string }

/** CRT_LINESIZE of haproxy 2.6 include/haproxy/defaults.h. */
const CRT_LINESIZE = 65536;
/** MAX_CRT_ARGS of haproxy 2.6. */
const MAX_CRT_ARGS = 2048;

/**
 * Splits a line as crtlist_parse_line does: whitespace separates words, and
 * '[' / ']' separate words too (so `[alpn h2]` and `[ alpn h2 ]` are the same).
 * We are stricter than 2.6 in two places it silently misparses: a '[' with no
 * ']' (2.6 turns the options into SNI filters) and words between the cert and
 * '[' (2.6 drops them); both are errors here.
 */
export function parseCrtListLine(text: string, line: number): { entry?: CrtListEntry; error?: CrtListError } {
  const words: string[] = [];
  let open = -1, close = -1;
  let cur = '';
  const flush = (): void => { if (cur) { words.push(cur); cur = ''; } };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n' || ch === '\v' || ch === '\f') { flush(); continue; }
    if (ch === '[') {
      flush();
      if (open >= 0) return { error: { line, code: 'CRTLIST_SYNTAX', reason: "too many '['" } };
      if (words.length === 0) return { error: { line, code: 'CRTLIST_SYNTAX', reason: 'file must start with a cert' } };
      open = words.length;
      continue;
    }
    if (ch === ']') {
      flush();
      if (close >= 0) return { error: { line, code: 'CRTLIST_SYNTAX', reason: "too many ']'" } };
      if (open < 0) return { error: { line, code: 'CRTLIST_SYNTAX', reason: "missing '['" } };
      close = words.length;
      continue;
    }
    cur += ch;
  }
  flush();
  if (words.length === 0) return {};
  if (words.length > MAX_CRT_ARGS) return { error: { line, code: 'CRTLIST_SYNTAX', reason: 'too many args' } };
  if (open >= 0 && close < 0) return { error: { line, code: 'CRTLIST_SYNTAX', reason: "missing ']'" } };
  if (open > 1) return { error: { line, code: 'CRTLIST_SYNTAX', reason: `unexpected '${words[1]}' between the certificate and '[' : SNI filters go after ']'` } };

  const entry: CrtListEntry = { line, crt: words[0], filters: [] };
  let i = 1;
  if (open >= 0) {
    const conf: SslBindConf = {};
    for (i = open; i < close;) {
      const kw = words[i];
      const def = SSL_BIND_KEYWORDS.get(kw);
      if (!def) {
        const hint = nearest(kw, [...SSL_BIND_KEYWORDS.keys()]);
        return { error: { line, code: 'CRTLIST_UNKNOWN_KW', reason: `unknown ssl keyword ${kw}${hint ? ` (did you mean '${hint}' maybe ?)` : ''}` } };
      }
      if (i + 1 + def.args > close) return { error: { line, code: 'CRTLIST_BAD_ARG', reason: `ssl args out of '[]' for ${kw}` } };
      const err = def.parse(conf, def.args ? words[i + 1] : '', kw);
      if (err) return { error: { line, code: 'CRTLIST_BAD_ARG', reason: `'${kw}' : ${err}` } };
      i += 1 + def.args;
    }
    entry.conf = conf;
    i = close;
  }
  entry.filters = words.slice(i);
  return { entry };
}

/**
 * Whole file, as crtlist_parse_file: '#' in the first column and empty lines
 * are skipped; the last line must end with LF (2.6 refuses a file "that might
 * have been truncated"). Unlike 2.6 we do not stop at the first bad line, so
 * every error is reported at once.
 */
export function parseCrtList(text: string): { entries: CrtListEntry[]; errors: CrtListError[] } {
  const entries: CrtListEntry[] = [];
  const errors: CrtListError[] = [];
  const lines = text.split('\n');
  const last = lines.length - 1;
  for (let n = 0; n < lines.length; n++) {
    const l = lines[n];
    if (n === last) {
      if (l.length > 0) errors.push({ line: n + 1, code: 'CRTLIST_SYNTAX', reason: `Missing LF on last line, file might have been truncated at position ${l.length + 1}` });
      break;
    }
    if (l.length >= CRT_LINESIZE - 1) { errors.push({ line: n + 1, code: 'CRTLIST_SYNTAX', reason: `line too long, limit is ${CRT_LINESIZE - 1} characters` }); continue; }
    if (l.includes('\0')) { errors.push({ line: n + 1, code: 'CRTLIST_SYNTAX', reason: `Stray NUL character at position ${l.indexOf('\0') + 1}` }); continue; }
    if (l.length === 0 || l[0] === '#' || l[0] === '\r') continue;
    const r = parseCrtListLine(l, n + 1);
    if (r.error) errors.push(r.error);
    else if (r.entry) entries.push(r.entry);
  }
  return { entries, errors };
}

/** Closest keyword within a couple of edits, for "did you mean" hints. */
function nearest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = levenshtein(word, c);
    if (d < bestD) { bestD = d; best = c; }
  }
  return bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}
