/**
 * Certificate store for `bind ... ssl crt <file|dir> crt-list <file>`: loads
 * the files once, reports every problem with file:line, builds one
 * SecureContext per certificate instance and selects one by SNI the way
 * haproxy 2.6 ssl_sock_switchctx_cbk does.
 *
 * Two steps so the master can check and the worker can build without reading
 * config files (STYLE: workers never read config files):
 *   master: loadCertificates(specs, opts) → { store, compiled, errors, warnings }
 *   worker: buildCertStore(compiled, opts) → store (same contexts, no file I/O)
 * `compiled` is plain data (strings, arrays), msgpack-safe.
 */
import { readdirSync, statSync } from 'node:fs';
import { createSecureContext, DEFAULT_CIPHERS, type SecureContext, type SecureContextOptions } from 'node:tls';
import type { ConfigDiagnostic } from '../config/diagnostics';
import { certificateNames, loadPemBundle, parsePem, readConfigFile, type CertErrorCode, type PemBundle, type PemProblem } from './pem';
import { parseCrtList, type SslBindConf, type TlsVersionName } from './crt-list';

export type { CertErrorCode } from './pem';
export type { SslBindConf } from './crt-list';

export interface CertSpec {
  kind: 'crt' | 'crt-list';
  /** The argument as written on the bind line. */
  path: string;
  /** Config file and line of the bind line. */
  file: string;
  line: number;
}

export interface CertLoadOptions {
  /** global `crt-base`: prefix for relative crt paths (also inside crt-lists). */
  crtBase?: string;
  /** global `ca-base`: prefix for relative ca-file / crl-file paths. */
  caBase?: string;
  /** ssl-load-extra-files "key" (default true) and ssl-load-extra-del-ext (default false). */
  extraKeyFile?: boolean;
  extraDelExt?: boolean;
  /** The bind line's own ssl options; crt-list options override them field by field. */
  bindConf?: SslBindConf;
  /** bind `strict-sni`: no default certificate for unknown names. */
  strictSni?: boolean;
  /** Clock for the validity warnings (tests). */
  now?: Date;
}

export type CertDiagnostic = ConfigDiagnostic & { code: CertErrorCode };

/** One certificate instance (HAProxy's ckch_inst) as plain data. */
export interface CompiledCertEntry {
  /** Certificate file, and where it was declared (config or crt-list file:line). */
  path: string;
  file: string;
  line: number;
  conf: SslBindConf;
  /** Exact and wildcard SNI keys, lower-cased; wildcard keys keep only the part after '*' (".example.com"). */
  exact: string[];
  wild: string[];
  /** Negative exact filters of this line: they exclude this line's wildcard matches only. */
  negative: string[];
  options: SecureContextOptions;
}

export interface CertEntry extends Readonly<CompiledCertEntry> {
  readonly context: SecureContext;
}

export class CertStore {
  /** First declared certificate: used without SNI or when nothing matches (unless strict-sni). */
  readonly default: CertEntry | undefined;
  readonly entries: readonly CertEntry[];
  private readonly exact = new Map<string, CertEntry>();
  private readonly wild = new Map<string, CertEntry[]>();
  private readonly negatives = new Map<CertEntry, ReadonlySet<string>>();
  private readonly strictSni: boolean;

  constructor(entries: CertEntry[], strictSni: boolean) {
    this.entries = entries;
    this.default = entries[0];
    this.strictSni = strictSni;
    // Duplicates keep insertion order, and the first non-negative one wins, as
    // ebmb_next_dup walks the sni tree in ssl_sock_switchctx_cbk.
    for (const e of entries) {
      if (e.negative.length) this.negatives.set(e, new Set(e.negative));
      for (const k of e.exact) if (!this.exact.has(k)) this.exact.set(k, e);
      for (const k of e.wild) {
        const l = this.wild.get(k);
        if (!l) this.wild.set(k, [e]);
        else if (!l.includes(e)) l.push(e);
      }
    }
    this.sniCallback = this.sniCallback.bind(this);
  }

  /**
   * The entry for a client's server_name: exact name, then the wildcard of
   * everything after the first label, then the default. Case-insensitive.
   */
  entryFor(servername: string | undefined | null): CertEntry | undefined {
    if (!servername) return this.strictSni ? undefined : this.default;
    const name = servername.toLowerCase();
    const e = this.exact.get(name);
    if (e) return e;
    const dot = name.indexOf('.');
    if (dot >= 0) {
      const list = this.wild.get(name.slice(dot));
      if (list) {
        for (const w of list) {
          // "look for an exclusion on the same crt-list line" (ssl_sock.c)
          if (!this.negatives.get(w)?.has(name)) return w;
        }
      }
    }
    return this.strictSni ? undefined : this.default;
  }

  contextFor(servername: string | undefined | null): SecureContext | undefined {
    return this.entryFor(servername)?.context;
  }

  /** For tls.createServer({ SNICallback }). Bound once in the constructor. */
  sniCallback(servername: string, cb: (err: Error | null, ctx?: SecureContext) => void): void {
    const ctx = this.contextFor(servername);
    // strict-sni without a match: HAProxy aborts with unrecognized_name.
    if (!ctx) cb(new Error(`no certificate for SNI '${servername}' (strict-sni)`));
    else cb(null, ctx);
  }

  /**
   * ALPN choice for a servername: server preference order, as OpenSSL's
   * SSL_select_next_proto used by HAProxy. Undefined when nothing is configured
   * or nothing overlaps (HAProxy then continues without ALPN).
   */
  selectAlpn(servername: string | undefined, offered: readonly string[]): string | undefined {
    const alpn = this.entryFor(servername)?.conf.alpn;
    if (!alpn) return undefined;
    for (const p of alpn) if (offered.includes(p)) return p;
    return undefined;
  }
}

/* ------------------------------------------------------------------ */

/** Files a directory load skips (crtlist_load_cert_dir, haproxy 2.6). */
const RESERVED_EXT = new Set(['.key', '.ocsp', '.issuer', '.sctl']);
/** SSL_SOCK_KEYTYPE_NAMES: a missing `crt foo.pem` may be a bundle foo.pem.{dsa,ecdsa,rsa}. */
const BUNDLE_EXT = ['dsa', 'ecdsa', 'rsa'];
const NODE_TLS_VERSION: Record<TlsVersionName, SecureContextOptions['minVersion'] | undefined> = {
  SSLv3: undefined, 'TLSv1.0': 'TLSv1', 'TLSv1.1': 'TLSv1.1', 'TLSv1.2': 'TLSv1.2', 'TLSv1.3': 'TLSv1.3',
};
const VERSION_ORDER: TlsVersionName[] = ['SSLv3', 'TLSv1.0', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];
// Node takes TLS 1.2 ciphers and TLS 1.3 suites in one `ciphers` string and
// caps the context at TLS 1.2 when no TLS_ suite is in it; HAProxy sets them
// apart (SSL_CTX_set_cipher_list / SSL_CTX_set_ciphersuites). So the side the
// user did not set keeps Node's default.
const DEFAULT_TLS13 = DEFAULT_CIPHERS.split(':').filter(c => c.startsWith('TLS_')).join(':');
const DEFAULT_TLS12 = DEFAULT_CIPHERS.split(':').filter(c => !c.startsWith('TLS_')).join(':');

interface Ctx {
  opts: CertLoadOptions;
  errors: CertDiagnostic[];
  warnings: CertDiagnostic[];
  bundles: Map<string, PemBundle | PemProblem>;
  files: Map<string, string | PemProblem>;
  compiled: CompiledCertEntry[];
  built: CertEntry[];
  /** Which entry first provided each name, for the duplicate warning. */
  owners: Map<string, CompiledCertEntry>;
}

/**
 * Loads every `crt` / `crt-list` of one bind line, in order. Always returns a
 * store (of whatever loaded); the caller refuses to start if `errors` is not empty.
 */
export function loadCertificates(specs: readonly CertSpec[], opts: CertLoadOptions = {}): {
  store: CertStore; compiled: CompiledCertEntry[]; errors: CertDiagnostic[]; warnings: CertDiagnostic[];
} {
  const c: Ctx = { opts, errors: [], warnings: [], bundles: new Map(), files: new Map(), compiled: [], built: [], owners: new Map() };
  for (const s of specs) {
    if (!s.path) { err(c, s.file, s.line, s.kind, 'CRT_NOT_FOUND', 'missing certificate location'); continue; }
    if (s.kind === 'crt') loadCrt(c, s);
    else loadCrtList(c, s);
  }
  if (c.built.length === 0 && specs.length > 0 && c.errors.length === 0) {
    const s = specs[0];
    err(c, s.file, s.line, s.kind, 'CRT_NONE', 'no SSL certificate loaded for this bind line');
  }
  return { store: new CertStore(c.built, !!opts.strictSni), compiled: c.compiled, errors: c.errors, warnings: c.warnings };
}

/**
 * Worker side: rebuilds the contexts from what the master compiled. The master
 * already built each one, so a failure here means a different OpenSSL; it throws.
 */
export function buildCertStore(compiled: readonly CompiledCertEntry[], opts: { strictSni?: boolean } = {}): CertStore {
  return new CertStore(compiled.map(e => ({ ...e, context: createSecureContext({ ...e.options, sessionIdContext: SESSION_ID_CONTEXT }) })), !!opts.strictSni);
}

/**
 * HAProxy's session id context (SHCTX_APPNAME, SSL_CTX_set_session_id_context):
 * a session (ticket) records it and resumes only where it is the same, so
 * ours is the same, and tickets made by haproxy nodes sharing a
 * tls-ticket-keys file resume here and the reverse.
 */
const SESSION_ID_CONTEXT = 'haproxy';

function err(c: Ctx, file: string, line: number, keyword: string, code: CertErrorCode, reason: string): void {
  c.errors.push({ severity: 'alert', file, line, keyword, reason, code });
}
function warn(c: Ctx, file: string, line: number, keyword: string, code: CertErrorCode, reason: string): void {
  c.warnings.push({ severity: 'warning', file, line, keyword, reason, code });
}

function withBase(base: string | undefined, p: string): string {
  // HAProxy prefixes only relative paths, and otherwise leaves them relative to
  // the working directory (bind_parse_crt, crtlist_parse_file).
  return base && !p.startsWith('/') ? `${base}/${p}` : p;
}

function loadCrt(c: Ctx, s: CertSpec): void {
  const path = withBase(c.opts.crtBase, s.path);
  let st;
  try { st = statSync(path); } catch { /* maybe a bundle */ }
  if (st?.isDirectory()) return loadDir(c, s, path);
  if (!st) {
    // ssl_sock_load_cert: "stat failed, could be a bundle"
    const found = BUNDLE_EXT.map(e => `${path}.${e}`).filter(p => { try { return statSync(p).isFile(); } catch { return false; } });
    if (found.length === 0) return err(c, s.file, s.line, 'crt', 'CRT_NOT_FOUND', `unable to stat SSL certificate from file '${path}' : No such file or directory`);
    for (const p of found) addInstance(c, p, s.file, s.line, 'crt', undefined, []);
    return;
  }
  addInstance(c, path, s.file, s.line, 'crt', undefined, []);
}

/** `crt <dir>`: regular files in byte order (alphasort in the C locale), reserved extensions and dot files skipped. */
function loadDir(c: Ctx, s: CertSpec, dir: string): void {
  let names: string[];
  try { names = readdirSync(dir); } catch (e) {
    return err(c, s.file, s.line, 'crt', 'CRT_UNREADABLE', `unable to scan directory '${dir}' : ${(e as Error).message}`);
  }
  names.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  let n = 0;
  for (const name of names) {
    const dot = name.lastIndexOf('.');
    if (name.startsWith('.') || (dot >= 0 && RESERVED_EXT.has(name.slice(dot)))) continue;
    const p = `${dir.replace(/\/+$/, '')}/${name}`;
    try { if (!statSync(p).isFile()) continue; } catch (e) {
      err(c, s.file, s.line, 'crt', 'CRT_UNREADABLE', `unable to stat SSL certificate from file '${p}' : ${(e as Error).message}`);
      continue;
    }
    addInstance(c, p, s.file, s.line, 'crt', undefined, []);
    n++;
  }
  if (n === 0) warn(c, s.file, s.line, 'crt', 'CRT_DIR', `directory '${dir}' holds no certificate file`);
}

function loadCrtList(c: Ctx, s: CertSpec): void {
  const r = readConfigFile(s.path);
  if (!('text' in r)) return err(c, s.file, s.line, 'crt-list', r.code, r.code === 'CRT_NOT_FOUND' ? `cannot open file '${s.path}' : No such file or directory` : r.reason);
  const { entries, errors } = parseCrtList(r.text);
  for (const e of errors) err(c, s.path, e.line, 'crt-list', e.code, e.reason);
  for (const e of entries) {
    const path = withBase(c.opts.crtBase, e.crt);
    let exists = false;
    try { exists = statSync(path).isFile(); } catch { /* checked below */ }
    if (exists) { addInstance(c, path, s.path, e.line, 'crt-list', e.conf, e.filters); continue; }
    const found = BUNDLE_EXT.map(x => `${path}.${x}`).filter(p => { try { return statSync(p).isFile(); } catch { return false; } });
    if (found.length === 0) { err(c, s.path, e.line, 'crt-list', 'CRT_NOT_FOUND', `unable to stat SSL certificate from file '${path}' : No such file or directory`); continue; }
    for (const p of found) addInstance(c, p, s.path, e.line, 'crt-list', e.conf, e.filters);
  }
}

/** ckch_inst_new_load_store + ssl_sock_prepare_ctx: one context per (cert, ssl conf). */
function addInstance(c: Ctx, path: string, file: string, line: number, kw: string, lineConf: SslBindConf | undefined, filters: string[]): void {
  let b = c.bundles.get(path);
  if (!b) b = loadPem(c, path);
  if (!('leaf' in b)) return err(c, file, line, kw, b.code, b.reason);
  const bundle = b;

  // Validity: HAProxy 2.6 does not check dates at all; we warn, never refuse.
  const now = (c.opts.now ?? new Date()).getTime();
  const from = Date.parse(bundle.leaf.validFrom), to = Date.parse(bundle.leaf.validTo);
  if (to < now) warn(c, file, line, kw, 'CRT_EXPIRED', `certificate '${path}' expired on ${bundle.leaf.validTo}`);
  else if (from > now) warn(c, file, line, kw, 'CRT_NOT_YET_VALID', `certificate '${path}' is not valid before ${bundle.leaf.validFrom}`);

  const conf: SslBindConf = { ...c.opts.bindConf, ...definedOnly(lineConf) };
  const options = contextOptions(c, bundle, conf, file, line, kw);
  if (!options) return;
  let context: SecureContext;
  try { context = createSecureContext(options); } catch (e) {
    return err(c, file, line, kw, 'SSL_CONTEXT', `unable to build the SSL context for '${path}' : ${(e as Error).message}`);
  }

  // SNI keys: the filters if any, else SAN DNS then CN (ckch_inst_new_load_store).
  const entry: CompiledCertEntry = { path, file, line, conf, exact: [], wild: [], negative: [], options };
  let sources: string[];
  if (filters.length) sources = filters;
  else {
    const n = certificateNames(bundle.leaf);
    sources = [...n.san, ...n.cn];
    if (sources.length === 0 && c.built.length > 0) warn(c, file, line, kw, 'CRT_NO_NAME', `certificate '${path}' has neither SAN DNS names nor a CN: it can only be the default`);
  }
  for (const raw of sources) addSniKey(c, entry, raw, filters.length > 0, kw);

  c.compiled.push(entry);
  c.built.push({ ...entry, context });
}

/** ckch_inst_add_cert_sni: '!' negates, a leading '*' makes a wildcard keyed on what follows. */
function addSniKey(c: Ctx, e: CompiledCertEntry, raw: string, isFilter: boolean, kw: string): void {
  let name = raw;
  const neg = name.startsWith('!');
  if (neg) name = name.slice(1);
  const wild = name.startsWith('*');
  if (wild) name = name.slice(1);
  if (neg && wild) {
    // "!* filter is a nop" in 2.6, and so is any negative wildcard.
    if (name !== '') warn(c, e.file, e.line, kw, 'CRT_FILTER', `negative wildcard filter '${raw}' has no effect (only '!*' is meaningful, and it is a no-op)`);
    return;
  }
  if (!name) return;
  const key = name.toLowerCase();
  if (wild && !key.startsWith('.')) {
    // The lookup key is the servername from its first dot, so '*foo.com' can never match.
    if (isFilter) warn(c, e.file, e.line, kw, 'CRT_FILTER', `wildcard filter '${raw}' never matches: '*' must be followed by '.'`);
  }
  if (neg) { if (!e.negative.includes(key)) e.negative.push(key); return; }
  const list = wild ? e.wild : e.exact;
  if (list.includes(key)) return; // CN repeating a SAN entry is the norm
  list.push(key);
  const ownerKey = (wild ? '*' : '') + key;
  const owner = c.owners.get(ownerKey);
  if (!owner) c.owners.set(ownerKey, e);
  else {
    warn(c, e.file, e.line, kw, 'CRT_DUP_NAME', `'${wild ? '*' : ''}${key}' of '${e.path}' is already provided by '${owner.path}' (${owner.file}:${owner.line}); the first one declared is used`);
  }
}

function loadPem(c: Ctx, path: string): PemBundle | PemProblem {
  // One load per file, as ckchs_lookup shares the ckch_store between instances.
  const r = loadPemBundle(path, { key: c.opts.extraKeyFile ?? true, delExt: !!c.opts.extraDelExt });
  const v = 'bundle' in r ? r.bundle : r;
  c.bundles.set(path, v);
  return v;
}

function definedOnly(conf: SslBindConf | undefined): Partial<SslBindConf> {
  const out: Record<string, unknown> = {};
  if (conf) for (const [k, v] of Object.entries(conf)) if (v !== undefined) out[k] = v;
  return out as Partial<SslBindConf>;
}

/** Reads a CA or CRL file once per load; returns its PEM text or reports. */
function readPemFile(c: Ctx, p: string, want: 'CERTIFICATE' | 'X509 CRL', file: string, line: number, kw: string, opt: string): string | undefined {
  let v = c.files.get(p + '\0' + want);
  if (v === undefined) {
    const code: CertErrorCode = want === 'CERTIFICATE' ? 'SSL_CA_FILE' : 'SSL_CRL_FILE';
    const r = readConfigFile(p);
    if (!('text' in r)) v = { code, reason: `'${opt}' : unable to load ${p} : ${r.code === 'CRT_NOT_FOUND' ? 'No such file or directory' : r.reason}` };
    else {
      const parsed = parsePem(r.text);
      if ('error' in parsed) v = { code, reason: `'${opt}' : unable to load ${p} : malformed PEM : ${parsed.error}` };
      else {
        const blocks = parsed.blocks.filter(b => b.label === want);
        v = blocks.length ? blocks.map(b => b.text).join('') : { code, reason: `'${opt}' : unable to load ${p} : no ${want === 'CERTIFICATE' ? 'certificate' : 'CRL'} in it` };
      }
    }
    c.files.set(p + '\0' + want, v);
  }
  if (typeof v === 'string') return v;
  err(c, file, line, kw, v.code, v.reason);
  return undefined;
}

/** ssl_sock_prepare_ctx, in Node's terms. */
function contextOptions(c: Ctx, b: PemBundle, conf: SslBindConf, file: string, line: number, kw: string): SecureContextOptions | undefined {
  // HAProxy sets SSL_OP_CIPHER_SERVER_PREFERENCE unless prefer-client-ciphers.
  const o: SecureContextOptions = { key: b.keyPem, cert: b.certPem, honorCipherOrder: true };
  if (b.dhparam) o.dhparam = b.dhparam;
  let ok = true;
  if (conf.ciphers !== undefined || conf.ciphersuites !== undefined) {
    o.ciphers = [conf.ciphersuites ?? DEFAULT_TLS13, conf.ciphers ?? DEFAULT_TLS12].filter(Boolean).join(':');
  }
  const curves = conf.curves ?? conf.ecdhe;
  if (curves) o.ecdhCurve = curves;
  for (const [field, opt] of [['sslMinVer', 'minVersion'], ['sslMaxVer', 'maxVersion']] as const) {
    const v = conf[field];
    if (!v) continue;
    const nv = NODE_TLS_VERSION[v];
    if (!nv) { err(c, file, line, kw, 'SSL_UNSUPPORTED', `'${field === 'sslMinVer' ? 'ssl-min-ver' : 'ssl-max-ver'} ${v}' : Node's TLS does not support ${v}`); ok = false; }
    else o[opt] = nv;
  }
  if (conf.sslMinVer && conf.sslMaxVer && VERSION_ORDER.indexOf(conf.sslMinVer) > VERSION_ORDER.indexOf(conf.sslMaxVer)) {
    err(c, file, line, kw, 'CRTLIST_BAD_ARG', `ssl-min-ver ${conf.sslMinVer} is above ssl-max-ver ${conf.sslMaxVer}`);
    ok = false;
  }
  const verify = conf.verify ?? 'none';
  const ca: string[] = [];
  if (conf.caFile) {
    const t = readPemFile(c, withBase(c.opts.caBase, conf.caFile), 'CERTIFICATE', file, line, kw, 'ca-file');
    if (t === undefined) ok = false; else ca.push(t);
  }
  if (conf.caVerifyFile) {
    const t = readPemFile(c, withBase(c.opts.caBase, conf.caVerifyFile), 'CERTIFICATE', file, line, kw, 'ca-verify-file');
    if (t === undefined) ok = false; else ca.push(t);
  }
  if (conf.crlFile) {
    const t = readPemFile(c, withBase(c.opts.caBase, conf.crlFile), 'X509 CRL', file, line, kw, 'crl-file');
    if (t === undefined) ok = false; else o.crl = t;
  }
  if (ca.length) o.ca = ca.join('');
  if (verify !== 'none' && !conf.caFile && !conf.caVerifyFile) {
    err(c, file, line, kw, 'SSL_CA_FILE', `verify is enabled but no CA file specified for '${b.path}'`);
    ok = false;
  }
  // Parsed (so a typo is still an error) but Node's TLS offers no knob for them.
  if (conf.allow0rtt) warn(c, file, line, kw, 'SSL_UNSUPPORTED', "'allow-0rtt' is ignored: Node's TLS has no 0-RTT early data");
  if (conf.npn) warn(c, file, line, kw, 'SSL_UNSUPPORTED', "'npn' is ignored: Node's TLS no longer supports NPN, use 'alpn'");
  if (conf.noCaNames) warn(c, file, line, kw, 'SSL_UNSUPPORTED', "'no-ca-names' is ignored: Node always sends the ca-file names");
  if (conf.caVerifyFile) warn(c, file, line, kw, 'SSL_UNSUPPORTED', "'ca-verify-file' CAs are also sent as CA names: Node cannot keep them verify-only");
  return ok ? o : undefined;
}
