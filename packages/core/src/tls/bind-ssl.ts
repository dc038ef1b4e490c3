/**
 * TLS termination on `bind` lines (configuration.txt 5.1): `ssl`, `crt`,
 * `crt-list`, `strict-sni` and the per-bind SSL options HAProxy also accepts
 * per crt-list line (tls/crt-list.ts). The certificates are loaded by the
 * master when the configuration is compiled (cert-store.ts: every error with
 * file:line, so a bad certificate refuses the start or the reload) and the
 * worker rebuilds the contexts from the compiled entries (tls/accept.ts).
 */
import { registerLineKeywords, type LineKeywordDef, type ParseState } from '../registry';
import type { BindOptions } from '../config/compiled';
import { SSL_BIND_KEYWORDS } from './crt-list';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadCertificates, type CertSpec } from './cert-store';

/**
 * TLS session-ticket keys (48 bytes: name, HMAC and AES keys), made once
 * per master and given to every worker with the configuration, so that a
 * client resumes its session on any worker and across reloads.
 */
let TICKET_KEYS: Uint8Array = randomBytes(48);

/** The master's ticket keys (the config may be compiled in a thread of its own: it gets them from here). */
export function ticketKeys(): Uint8Array { return TICKET_KEYS; }
export function useTicketKeys(k: Uint8Array): void { TICKET_KEYS = k; }

/** Options Node's TLS cannot apply yet; kept refused until they can be. */
const NOT_YET = new Set(['npn', 'allow-0rtt', 'ecdhe', 'no-ca-names', 'ca-verify-file']);

const defs: LineKeywordDef<BindOptions>[] = [
  { name: 'ssl', args: 0, usage: 'ssl  terminate TLS on this listener (needs crt or crt-list)', parse(o) { o.ssl = true; } },
  {
    name: 'crt', args: 1, usage: 'crt <file|dir>  PEM bundle (chain + key), or every bundle of a directory',
    parse(o, [v]) { (o.crts ??= []).push({ kind: 'crt', path: v }); },
  },
  {
    name: 'crt-list', args: 1, usage: 'crt-list <file>  certificates with per-line SNI filters and SSL options',
    parse(o, [v]) { (o.crts ??= []).push({ kind: 'crt-list', path: v }); },
  },
  {
    name: 'tls-ticket-keys', args: 1, usage: 'tls-ticket-keys <keyfile>  session-ticket keys (base64, one per line; the penultimate encrypts)',
    parse(o, [v]) { o.tlsTicketKeysFile = v; },
  },
  {
    name: 'strict-sni', args: 0, usage: 'strict-sni  refuse a handshake whose SNI matches no certificate (no default)',
    parse(o) { o.strictSni = true; },
  },
];

for (const [name, kw] of SSL_BIND_KEYWORDS) {
  if (NOT_YET.has(name)) continue;
  defs.push({
    name, args: kw.args,
    usage: `${name}${kw.args ? ' <arg>' : ''}  SSL option of this listener (also per crt-list line)`,
    parse(o, args) {
      const conf = (o.sslConf ??= {});
      const err = kw.parse(conf, args[0] ?? '', name);
      if (err) return err;
      // ALPN h2 needs the HTTP/2 mux, which does not exist yet.
      if (name === 'alpn' && conf.alpn!.includes('h2')) return "'h2' cannot be advertised: HTTP/2 is not supported yet";
    },
  });
}

registerLineKeywords<BindOptions>('bind', defs);

/**
 * Compile step: load the certificates of every `ssl` bind line into the
 * bind options (plain data for the workers); errors and warnings carry the
 * bind line's or the crt-list's file:line.
 */
export function finalizeBindSsl(state: ParseState): void {
  const diag = state.diag;
  for (const p of state.proxies) {
    for (const b of p.binds) {
      const o = b.options;
      if (!o.ssl) {
        if (o.crts?.length) diag.warn(b.file, b.line, 'bind', "'crt' and 'crt-list' are ignored without 'ssl'");
        continue;
      }
      if (!o.crts?.length) {
        diag.error(b.file, b.line, 'bind', "'ssl' requires at least one 'crt' or 'crt-list'");
        continue;
      }
      const specs: CertSpec[] = o.crts.map(c => ({ kind: c.kind, path: c.path, file: b.file, line: b.line }));
      // The bind line's options win over global ssl-default-bind-* (field by field).
      const bindConf = { ...state.global.sslDefaultBind, ...o.sslConf };
      o.sslConf = bindConf;
      const r = loadCertificates(specs, { bindConf, strictSni: o.strictSni });
      for (const e of r.errors) diag.error(e.file, e.line, e.keyword, e.reason);
      for (const w of r.warnings) diag.warn(w.file, w.line, w.keyword, w.reason);
      o.tlsCerts = r.compiled;
      if (o.tlsTicketKeysFile !== undefined) {
        const k = ticketKeysFromFile(o.tlsTicketKeysFile);
        if (typeof k === 'string') diag.error(b.file, b.line, 'bind', `'tls-ticket-keys' : ${k}`);
        else o.tlsTicketKeys = k;
      } else {
        o.tlsTicketKeys = TICKET_KEYS;
      }
    }
  }
}

/** HAProxy's TLS_TICKETS_NO: keys a tls-ticket-keys file must hold at least. */
const TLS_TICKETS_NO = 3;

/**
 * A `tls-ticket-keys` file (ssl_sock_load_tlskeys / tls_sess_key_128): one
 * base64 key per line, 48 bytes each (name, AES key, HMAC key); the
 * penultimate key encrypts new tickets (the last one is the next, for
 * rotation by appending and reloading). Node's TLS takes one 48-byte key
 * ordered name, HMAC, AES, and decrypts with that same key only: a ticket
 * made with an older key of the file gets a full handshake. 80-byte
 * (AES-256) keys cannot be given to Node's TLS.
 */
export function ticketKeysFromFile(path: string): Uint8Array | string {
  let text: string;
  try { text = readFileSync(path, 'latin1'); } catch (e) {
    return `unable to load ssl tickets keys file '${path}' : ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
  }
  const keys: Buffer[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(line) || line.length % 4 !== 0) return `'${path}' line ${i + 1}: invalid base64`;
    const k = Buffer.from(line, 'base64');
    if (k.length === 80) return `'${path}' line ${i + 1}: 80-byte (AES-256) ticket keys are not supported (Node's TLS takes 48-byte keys)`;
    if (k.length !== 48) return `'${path}' line ${i + 1}: a key must be 48 bytes once decoded, not ${k.length}`;
    keys.push(k);
  }
  if (keys.length < TLS_TICKETS_NO) return `'${path}' holds ${keys.length} key(s); at least ${TLS_TICKETS_NO} are needed`;
  const k = keys[keys.length - 2];
  // HAProxy: name[16] aes[16] hmac[16]; Node: name, HMAC secret, AES key.
  return new Uint8Array(Buffer.concat([k.subarray(0, 16), k.subarray(32, 48), k.subarray(16, 32)]));
}
