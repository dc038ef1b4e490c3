/**
 * PEM bundles as HAProxy's `crt` reads them (ssl_ckch.c, haproxy 2.6
 * ssl_sock_load_pem_into_ckch / ssl_sock_load_files_into_ckch): one file with
 * the leaf certificate first, then its chain, and the private key anywhere in
 * it; DH parameters optional. The key may instead come from `<file>.key`.
 * Parsing is done by Node's crypto (X509Certificate, createPrivateKey); this
 * file only splits the blocks so errors can say which one is wrong.
 */
import { readFileSync, statSync } from 'node:fs';
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';

export type CertErrorCode =
  | 'CRT_NOT_FOUND' | 'CRT_UNREADABLE' | 'CRT_BAD_PEM' | 'CRT_BAD_CERT' | 'CRT_NO_CERT'
  | 'CRT_NO_KEY' | 'CRT_BAD_KEY' | 'CRT_KEY_ENCRYPTED' | 'CRT_KEY_MISMATCH'
  | 'CRT_EXPIRED' | 'CRT_NOT_YET_VALID' | 'CRT_DUP_NAME' | 'CRT_NO_NAME' | 'CRT_FILTER'
  | 'CRT_DIR' | 'CRT_NONE' | 'CRTLIST_SYNTAX' | 'CRTLIST_UNKNOWN_KW' | 'CRTLIST_BAD_ARG'
  | 'SSL_CA_FILE' | 'SSL_CRL_FILE' | 'SSL_CONTEXT' | 'SSL_UNSUPPORTED';

export interface PemProblem { code: CertErrorCode; reason: string }

export interface PemBlock {
  label: string;
  /** The whole block, BEGIN to END lines, as Node's PEM readers want it. */
  text: string;
  /** RFC 1421 headers (legacy encrypted keys: `Proc-Type: 4,ENCRYPTED`). */
  headers: string[];
  der: Buffer;
  /** 1-based line of the BEGIN line in the file. */
  line: number;
}

const BEGIN = /^-----BEGIN ([A-Z0-9 ]+)-----\s*$/;
const END = /^-----END ([A-Z0-9 ]+)-----\s*$/;
const BASE64_LINE = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Splits PEM text into blocks. Text outside blocks is ignored (OpenSSL's
 * PEM_read_bio skips it too: `openssl x509 -text` output in front of a cert is
 * common); a block that is not closed, closed with another label or whose body
 * is not base64 is malformed.
 */
export function parsePem(text: string): { blocks: PemBlock[] } | { error: string } {
  const lines = text.split(/\r?\n/);
  const blocks: PemBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const b = BEGIN.exec(lines[i]);
    if (!b) {
      if (END.test(lines[i])) return { error: `'-----END' without '-----BEGIN' at line ${i + 1}` };
      continue;
    }
    const label = b[1];
    const start = i;
    const headers: string[] = [];
    let body = '';
    let closed = false;
    for (i++; i < lines.length; i++) {
      const l = lines[i].trim();
      const e = END.exec(l);
      if (e) {
        if (e[1] !== label) return { error: `'-----BEGIN ${label}' at line ${start + 1} closed by '-----END ${e[1]}' at line ${i + 1}` };
        closed = true;
        break;
      }
      if (BEGIN.test(l)) return { error: `'-----BEGIN ${label}' at line ${start + 1} is not closed before line ${i + 1}` };
      if (body === '' && l.includes(':')) { headers.push(l); continue; }
      if (l === '') continue;
      if (!BASE64_LINE.test(l)) return { error: `invalid base64 in '${label}' block at line ${i + 1}` };
      body += l;
    }
    if (!closed) return { error: `'-----BEGIN ${label}' at line ${start + 1} is not closed` };
    const der = Buffer.from(body, 'base64');
    if (der.length === 0) return { error: `empty '${label}' block at line ${start + 1}` };
    blocks.push({ label, text: lines.slice(start, i + 1).map(s => s.trim()).join('\n') + '\n', headers, der, line: start + 1 });
  }
  return { blocks };
}

const CERT_LABELS = new Set(['CERTIFICATE', 'X509 CERTIFICATE', 'TRUSTED CERTIFICATE']);
const KEY_LABELS = new Set(['PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY', 'DSA PRIVATE KEY', 'ENCRYPTED PRIVATE KEY']);

/** A loaded `crt` file: HAProxy's ckch (cert, key, chain, DH). Plain strings so it can be shipped to a worker. */
export interface PemBundle {
  path: string;
  /** Leaf first, then the chain, in file order. */
  certPem: string;
  keyPem: string;
  dhparam?: string;
  /** Where the key came from: the bundle itself or `<path>.key`. */
  keyPath: string;
  leaf: X509Certificate;
}

export interface ExtraFiles {
  /** ssl-load-extra-files "key": look for `<crt>.key` (default on). */
  key: boolean;
  /** ssl-load-extra-del-ext: `foo.crt` → `foo.key` instead of `foo.crt.key`. */
  delExt: boolean;
}

/** Reads a file, mapping the errno to the two codes a user can act on. */
export function readConfigFile(path: string): { text: string } | PemProblem {
  try {
    return { text: readFileSync(path, 'utf8') };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { code: 'CRT_NOT_FOUND', reason: `unable to stat SSL certificate from file '${path}' : No such file or directory` };
    return { code: 'CRT_UNREADABLE', reason: `cannot open the file '${path}' : ${(err as Error).message}` };
  }
}

function readKey(block: PemBlock, path: string): { key: KeyObject } | PemProblem {
  // Both encodings of an encrypted key: PKCS#8 "ENCRYPTED PRIVATE KEY" and the
  // legacy OpenSSL "Proc-Type: 4,ENCRYPTED" header. HAProxy reads keys with no
  // passphrase callback, so such a key cannot be loaded there either.
  if (block.label === 'ENCRYPTED PRIVATE KEY' || block.headers.some(h => /^Proc-Type:\s*4,\s*ENCRYPTED/i.test(h))) {
    return { code: 'CRT_KEY_ENCRYPTED', reason: `private key at line ${block.line} of '${path}' is encrypted; passphrases are not supported, store it decrypted (openssl pkey -in key.pem -out plain.pem)` };
  }
  try {
    return { key: createPrivateKey(block.text) };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_MISSING_PASSPHRASE') {
      return { code: 'CRT_KEY_ENCRYPTED', reason: `private key at line ${block.line} of '${path}' is encrypted; passphrases are not supported` };
    }
    return { code: 'CRT_BAD_KEY', reason: `unable to load private key at line ${block.line} of '${path}' : ${(err as Error).message}` };
  }
}

/**
 * Loads one `crt` file. Order of checks follows ssl_sock_load_files_into_ckch:
 * PEM (cert required), then `<path>.key`, then key/cert consistency.
 */
export function loadPemBundle(path: string, extra: ExtraFiles): { bundle: PemBundle } | PemProblem {
  const r = readConfigFile(path);
  if (!('text' in r)) return r;
  const parsed = parsePem(r.text);
  if ('error' in parsed) return { code: 'CRT_BAD_PEM', reason: `malformed PEM in '${path}' : ${parsed.error}` };

  const certs: PemBlock[] = [];
  let keyBlock: PemBlock | undefined;
  let dhparam: string | undefined;
  for (const b of parsed.blocks) {
    if (CERT_LABELS.has(b.label)) certs.push(b);
    // The first key wins, as PEM_read_bio_PrivateKey stops at the first one.
    else if (KEY_LABELS.has(b.label)) keyBlock ??= b;
    else if (b.label === 'DH PARAMETERS') dhparam ??= b.text;
    // Anything else (EC PARAMETERS from `openssl ecparam -genkey`, ...) is skipped, as OpenSSL does.
  }
  if (certs.length === 0) return { code: 'CRT_NO_CERT', reason: `unable to load certificate from file '${path}' : no certificate found` };

  let leaf: X509Certificate;
  const chain: string[] = [];
  for (let i = 0; i < certs.length; i++) {
    try {
      const x = new X509Certificate(certs[i].der);
      if (i === 0) leaf = x;
      chain.push(x.toString());
    } catch (err) {
      return { code: 'CRT_BAD_CERT', reason: `unable to load certificate at line ${certs[i].line} of '${path}' : ${(err as Error).message}` };
    }
  }

  let key: KeyObject | undefined;
  let keyPem = '';
  let keyPath = path;
  if (keyBlock) {
    const k = readKey(keyBlock, path);
    if (!('key' in k)) return k;
    key = k.key;
    keyPem = keyBlock.text;
  }
  if (extra.key) {
    let base = path;
    if (extra.delExt && base.endsWith('.crt')) base = base.slice(0, -4);
    const kp = base + '.key';
    // haproxy 2.6 loads `<crt>.key` whenever it exists, even if the bundle
    // already held a key (the SWAP in ssl_sock_load_key_into_ckch replaces it).
    let exists = false;
    try { exists = statSync(kp).isFile(); } catch { /* absent */ }
    if (exists) {
      const kr = readConfigFile(kp);
      if (!('text' in kr)) return { code: kr.code, reason: `'${kp}' is present but cannot be read or parsed : ${kr.reason}` };
      const kparsed = parsePem(kr.text);
      if ('error' in kparsed) return { code: 'CRT_BAD_PEM', reason: `malformed PEM in '${kp}' : ${kparsed.error}` };
      const kb = kparsed.blocks.find(b => KEY_LABELS.has(b.label));
      if (!kb) return { code: 'CRT_NO_KEY', reason: `'${kp}' is present but holds no private key` };
      const k = readKey(kb, kp);
      if (!('key' in k)) return k;
      key = k.key;
      keyPem = kb.text;
      keyPath = kp;
    }
  }
  if (!key) {
    const where = extra.key ? `'${path}' nor in '${(extra.delExt && path.endsWith('.crt') ? path.slice(0, -4) : path) + '.key'}'` : `'${path}'`;
    return { code: 'CRT_NO_KEY', reason: `No Private Key found in ${where}` };
  }
  if (!leaf!.checkPrivateKey(key)) {
    return { code: 'CRT_KEY_MISMATCH', reason: `inconsistencies between private key and certificate loaded '${path}' : the key from '${keyPath}' does not match the certificate's public key` };
  }
  const bundle: PemBundle = { path, certPem: chain.join(''), keyPem, keyPath, leaf: leaf! };
  if (dhparam) bundle.dhparam = dhparam;
  return { bundle };
}

/**
 * Names a certificate answers for in SNI, as ckch_inst_new_load_store (haproxy
 * 2.6 ssl_sock.c) collects them: every SAN dNSName, then every subject CN.
 * HAProxy adds the CNs even when SAN DNS names exist (the CN loop is outside
 * the `if (names)` block), so we do too.
 */
export function certificateNames(x: X509Certificate): { san: string[]; cn: string[] } {
  const san: string[] = [];
  const alt = x.subjectAltName;
  if (alt) {
    // Node joins entries with ", " and JSON-quotes values that contain a
    // separator or quote (since the CVE-2021-44532 fix).
    const re = /(?:^|, )([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)/g;
    for (let m = re.exec(alt); m; m = re.exec(alt)) {
      if (m[1] !== 'DNS') continue;
      san.push(m[2].startsWith('"') ? JSON.parse(m[2]) as string : m[2]);
    }
  }
  const cn: string[] = [];
  const subj = x.toLegacyObject().subject as unknown as Record<string, string | string[] | undefined> | undefined;
  const v = subj?.CN;
  if (typeof v === 'string') cn.push(v);
  else if (Array.isArray(v)) cn.push(...v);
  return { san, cn };
}
