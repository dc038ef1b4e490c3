/**
 * TLS toward servers (configuration.txt 5.2): `server ... ssl [verify
 * none|required] [ca-file <f>] [crt <pem>] [sni str(<name>)] [verifyhost
 * <name>] [alpn ...] [ciphers ...] [ciphersuites ...] [ssl-min-ver ...]
 * [ssl-max-ver ...]`. The master reads and checks the files when it
 * compiles the configuration (errors with file:line); the worker builds one
 * SecureContext per server and engine/server-connect.ts runs the handshake
 * on the new TCP connection, then hands the TLSWrap to the stream.
 * As in HAProxy 2.6 (`ssl-server-verify required` by default), a server
 * with `ssl` verifies its certificate unless `verify none`, so a CA file is
 * required; the name is checked against `verifyhost`, else the SNI, else not.
 */
import * as tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { registerLineKeywords, type ParseState } from '../registry';
import type { ServerConfig, ServerOptions, ServerTlsConfig } from '../config/compiled';
import { compileSampleExpr, AT_REQ_CNT, AT_HTTP_REQ } from '../rules/sample';

const VERSIONS = ['TLSv1.0', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;
const NODE_VERSION: Record<string, tls.SecureVersion> = { 'TLSv1.0': 'TLSv1', 'TLSv1.1': 'TLSv1.1', 'TLSv1.2': 'TLSv1.2', 'TLSv1.3': 'TLSv1.3' };

registerLineKeywords<ServerOptions>('server', [
  { name: 'ssl', args: 0, defaultServer: true, usage: 'ssl  connect to the server over TLS', parse(o) { o.ssl = true; } },
  { name: 'no-ssl', args: 0, defaultServer: true, usage: 'no-ssl  cancels ssl', parse(o) { o.ssl = false; } },
  {
    name: 'verify', args: 1, defaultServer: true, usage: 'verify none|required  check the server certificate (default required)',
    parse(o, [v]) { if (v !== 'none' && v !== 'required') return `verify: unknown method '${v}', expected 'none' or 'required'`; o.sslVerify = v; },
  },
  { name: 'ca-file', args: 1, defaultServer: true, usage: 'ca-file <file>  CAs that sign the server certificate', parse(o, [v]) { o.sslCaFile = v; } },
  { name: 'crt', args: 1, defaultServer: true, usage: 'crt <pem>  client certificate (chain + key) shown to the server', parse(o, [v]) { o.sslCrt = v; } },
  {
    name: 'sni', args: 1, defaultServer: true, usage: 'sni <expression>  server name sent in the TLS handshake (e.g. req.hdr(host), str(name))',
    parse(o, [v]) {
      // A constant is resolved now; any other expression per connection.
      const m = /^str\(([^()]*)\)$/.exec(v);
      if (m) { o.sslSni = m[1]; o.sslSniExpr = undefined; } else { o.sslSniExpr = v; o.sslSni = undefined; }
    },
  },
  { name: 'verifyhost', args: 1, defaultServer: true, usage: 'verifyhost <name>  name the server certificate must carry', parse(o, [v]) { o.sslVerifyHost = v; } },
  {
    name: 'alpn', args: 1, defaultServer: true, usage: 'alpn <proto>[,<proto>]*  protocols offered to the server',
    parse(o, [v]) {
      const l = v.split(',');
      if (l.some(p => p.length === 0 || p.length > 255)) return `alpn: bad protocol list '${v}'`;
      if (l.includes('h2')) return "alpn: 'h2' toward servers needs HTTP/2, which is not supported yet";
      o.sslAlpn = l;
    },
  },
  { name: 'ciphers', args: 1, defaultServer: true, usage: 'ciphers <list>  TLS 1.2 cipher list', parse(o, [v]) { o.sslCiphers = v; } },
  { name: 'ciphersuites', args: 1, defaultServer: true, usage: 'ciphersuites <list>  TLS 1.3 cipher suites', parse(o, [v]) { o.sslCiphersuites = v; } },
  ...(['ssl-min-ver', 'ssl-max-ver'] as const).map(name => ({
    name, args: 1, defaultServer: true, usage: `${name} TLSv1.0|TLSv1.1|TLSv1.2|TLSv1.3  ${name === 'ssl-min-ver' ? 'lowest' : 'highest'} TLS version`,
    parse(o: ServerOptions, [v]: string[]) {
      if (!(VERSIONS as readonly string[]).includes(v)) return `${name}: unknown version '${v}' (expected one of ${VERSIONS.join(', ')})`;
      if (name === 'ssl-min-ver') o.sslMinVer = v; else o.sslMaxVer = v;
    },
  })),
]);

/** Compile step: read and check each TLS server's files into plain data. */
export function finalizeServerSsl(state: ParseState): void {
  const diag = state.diag;
  for (const p of state.proxies) {
    for (const s of p.servers) {
      if (!s.ssl) continue;
      const err = (reason: string): void => diag.error(s.file, s.line, 'server', `server '${p.name}/${s.name}': ${reason}`);
      const verify = s.sslVerify ?? state.global.sslServerVerify ?? 'required';
      const d = state.global.sslDefaultServer ?? {};
      const t: ServerTlsConfig = { verify, servername: s.sslSni ?? null, verifyhost: s.sslVerifyHost ?? null, alpn: s.sslAlpn ?? null };
      if (s.sslSniExpr !== undefined) {
        // Evaluated with the stream when the connection is made (HAProxy: at
        // server connection time, request data available).
        const e = compileSampleExpr(s.sslSniExpr, { proxy: p, proxies: state.proxies, file: () => undefined, at: SNI_AT, where: 'server sni' });
        if (typeof e === 'string') { err(`sni '${s.sslSniExpr}': ${e}`); continue; }
        t.sniExpr = s.sslSniExpr;
      }
      if (verify === 'required') {
        if (!s.sslCaFile) { err("verify is enabled (the default) but no CA file is specified: add 'ca-file <file>' or 'verify none'"); continue; }
      }
      if (s.sslCaFile) {
        try { t.ca = readFileSync(s.sslCaFile, 'latin1'); new X509Certificate(t.ca); } catch (e) { err(`ca-file '${s.sslCaFile}': ${(e as Error).message}`); continue; }
      }
      if (s.sslCrt) {
        let pem: string;
        try { pem = readFileSync(s.sslCrt, 'latin1'); } catch (e) { err(`crt '${s.sslCrt}': ${(e as Error).message}`); continue; }
        const keyM = /-----BEGIN (?:RSA |EC )?PRIVATE KEY-----[\s\S]*?-----END (?:RSA |EC )?PRIVATE KEY-----/.exec(pem);
        if (!keyM) { err(`crt '${s.sslCrt}': no private key in the file`); continue; }
        try {
          const cert = new X509Certificate(pem);
          if (!cert.checkPrivateKey(createPrivateKey(keyM[0]))) { err(`crt '${s.sslCrt}': the private key does not match the certificate`); continue; }
        } catch (e) { err(`crt '${s.sslCrt}': ${(e as Error).message}`); continue; }
        t.cert = pem.replace(keyM[0], '');
        t.key = keyM[0];
      }
      // The server line's options win over global ssl-default-server-*.
      const ciphers = s.sslCiphers ?? d.ciphers, suites = s.sslCiphersuites ?? d.ciphersuites;
      if (ciphers !== undefined || suites !== undefined) t.ciphers = [suites, ciphers].filter(Boolean).join(':');
      const minV = s.sslMinVer ?? d.sslMinVer, maxV = s.sslMaxVer ?? d.sslMaxVer;
      if (minV) t.minVersion = NODE_VERSION[minV];
      if (maxV) t.maxVersion = NODE_VERSION[maxV];
      try { tls.createSecureContext(contextOptions(t)); } catch (e) { err((e as Error).message); continue; }
      s.tls = t;
    }
  }
}

function contextOptions(t: ServerTlsConfig): tls.SecureContextOptions {
  const o: tls.SecureContextOptions = {};
  if (t.ca) o.ca = t.ca;
  if (t.cert) { o.cert = t.cert; o.key = t.key; }
  if (t.ciphers) o.ciphers = t.ciphers;
  if (t.minVersion) o.minVersion = t.minVersion;
  if (t.maxVersion) o.maxVersion = t.maxVersion;
  return o;
}

/** Worker side: the connect options of a server, built once per server config. */
const cache = new WeakMap<ServerConfig, tls.ConnectionOptions>();

export function serverTlsOptions(cfg: ServerConfig): tls.ConnectionOptions {
  let o = cache.get(cfg);
  if (o === undefined) {
    const t = cfg.tls!;
    const check = t.verifyhost ?? t.servername;
    o = {
      secureContext: tls.createSecureContext(contextOptions(t)),
      servername: t.servername ?? undefined,
      rejectUnauthorized: t.verify === 'required',
      ALPNProtocols: t.alpn ?? undefined,
      // HAProxy checks the name only against verifyhost, else the SNI.
      checkServerIdentity: check === null ? noIdentityCheck : (_host, cert) => tls.checkServerIdentity(check, cert),
    };
    cache.set(cfg, o);
  }
  return o;
}

function noIdentityCheck(): undefined { return undefined; }

/** Where a server's `sni` expression runs: the connection is made once the request (or content) is known. */
export const SNI_AT = AT_REQ_CNT | AT_HTTP_REQ;

/**
 * The options for one connection whose SNI comes from an expression: the
 * name is sent, and checked against the certificate unless `verifyhost`
 * names another (HAProxy verifies against verifyhost, else the SNI).
 */
export function dynamicSniOptions(cfg: ServerConfig, sni: string | null): tls.ConnectionOptions {
  const base = serverTlsOptions(cfg);
  const t = cfg.tls!;
  const check = t.verifyhost ?? sni;
  return {
    ...base,
    servername: sni ?? undefined,
    checkServerIdentity: check === null ? noIdentityCheck : (_host, cert) => tls.checkServerIdentity(check, cert),
  };
}
