/*
 * Certificate store (src/tls/cert-store.ts): HAProxy 2.6 `crt`, `crt <dir>`
 * and `crt-list` loading, errors with file:line, SNI selection, and real TLS
 * handshakes through SNICallback. Certificates are made by the `openssl`
 * command in a temp dir (`openssl ca -startdate/-enddate` for the dated ones).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { loadCertificates, buildCertStore, type CertSpec, type CertDiagnostic, type CertStore } from '../src/tls/cert-store';
import { parseCrtListLine } from '../src/tls/crt-list';

let dir = '';
const ssl = (...args: string[]): void => { execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' }); };
const rd = (f: string): string => readFileSync(join(dir, f), 'utf8');
const wr = (f: string, s: string): void => writeFileSync(join(dir, f), s);

/** Makes <name>.crt (leaf + CA chain) and <name>.k, signed by the test CA. */
function makeCert(name: string, cn: string, san: string[] | undefined, dates?: [string, string]): void {
  ssl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.k`, '-out', `${name}.csr`,
    '-subj', `/CN=${cn}`, ...(san ? ['-addext', `subjectAltName=${san.map(s => `DNS:${s}`).join(',')}`] : []));
  ssl('ca', '-batch', '-config', 'ca.cnf', '-cert', 'ca.pem', '-keyfile', 'ca.key', '-in', `${name}.csr`, '-out', `${name}.crt`, '-notext',
    ...(dates ? ['-startdate', dates[0], '-enddate', dates[1]] : ['-days', '30']));
  wr(`${name}.crt`, rd(`${name}.crt`) + rd('ca.pem'));
}
const bundle = (name: string, keyFirst = false): string => keyFirst ? rd(`${name}.k`) + rd(`${name}.crt`) : rd(`${name}.crt`) + rd(`${name}.k`);

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'sy-certs-'));
  wr('ca.cnf', '[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\ndefault_md = sha256\n' +
    'policy = p\ncopy_extensions = copy\nunique_subject = no\n[p]\ncommonName = supplied\n');
  wr('index.txt', '');
  wr('serial', '01\n');
  ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=Switchyard Test CA', '-days', '30');
  makeCert('def', 'default.test', ['default.test']);
  makeCert('multi', 'multi.test', ['a.test', 'b.test', 'c.test']);
  makeCert('wild', 'wild', ['*.wild.test']);
  makeCert('cnonly', 'cnonly.test', undefined);
  makeCert('other', 'other.test', ['other.test']);
  makeCert('old', 'old.test', ['old.test'], ['20200101000000Z', '20210101000000Z']);
  makeCert('future', 'future.test', ['future.test'], ['20990101000000Z', '21000101000000Z']);
  wr('def.pem', bundle('def', true)); // key first
  for (const n of ['multi', 'wild', 'cnonly', 'other', 'old', 'future']) wr(`${n}.pem`, bundle(n));
  wr('sep.pem', rd('other.crt'));
  wr('sep.pem.key', rd('other.k'));
  wr('nokey.pem', rd('other.crt'));
  wr('nocert.pem', rd('other.k'));
  wr('mismatch.pem', rd('multi.crt') + rd('other.k'));
  ssl('pkey', '-in', 'other.k', '-aes256', '-passout', 'pass:secret', '-out', 'enc8.k');
  ssl('pkey', '-in', 'other.k', '-traditional', '-aes256', '-passout', 'pass:secret', '-out', 'encl.k');
  wr('enc.pem', rd('other.crt') + rd('enc8.k'));
  wr('enclegacy.pem', rd('other.crt') + rd('encl.k'));
  wr('malformed.pem', rd('other.k') + rd('other.crt').split('-----END')[0]);
  wr('badb64.pem', '-----BEGIN CERTIFICATE-----\nnot*base64!\n-----END CERTIFICATE-----\n');
  mkdirSync(join(dir, 'd'));
  mkdirSync(join(dir, 'd', 'sub.pem'));
  writeFileSync(join(dir, 'd', 'b.pem'), bundle('multi'));
  writeFileSync(join(dir, 'd', 'B.pem'), bundle('wild')); // 'B' < 'b' in byte order
  writeFileSync(join(dir, 'd', 'a.pem'), bundle('cnonly'));
  for (const junk of ['orphan.key', 'x.ocsp', 'x.issuer', 'x.sctl', '.hidden.pem']) writeFileSync(join(dir, 'd', junk), 'junk\n');
});

after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

const crt = (path: string, line = 1): CertSpec => ({ kind: 'crt', path, file: 'haproxy.cfg', line });
const crtList = (path: string, line = 1): CertSpec => ({ kind: 'crt-list', path, file: 'haproxy.cfg', line });
const opts = () => ({ crtBase: dir, caBase: dir });
const pick = (store: CertStore, name: string | undefined): string | undefined => store.entryFor(name)?.path.slice(dir.length + 1);
const brief = (d: CertDiagnostic[]) => d.map(x => ({ code: x.code, file: x.file.startsWith(dir) ? x.file.slice(dir.length + 1) : x.file, line: x.line }));

test('crt files: SAN names, CN (also added with SAN, as 2.6), wildcard one label, default = first crt', () => {
  const { store, errors, warnings } = loadCertificates([crt('def.pem', 10), crt('multi.pem', 11), crt('wild.pem', 12), crt('cnonly.pem', 13)], opts());
  assert.deepEqual(errors, []);
  assert.deepEqual(warnings, []);
  assert.equal(pick(store, 'default.test'), 'def.pem');
  for (const n of ['a.test', 'b.test', 'c.test', 'multi.test', 'B.TEST']) assert.equal(pick(store, n), 'multi.pem', n);
  assert.equal(pick(store, 'cnonly.test'), 'cnonly.pem');
  assert.equal(pick(store, 'x.wild.test'), 'wild.pem');
  assert.equal(pick(store, 'WWW.Wild.Test'), 'wild.pem');
  // '*' stands for exactly one label
  assert.equal(pick(store, 'a.b.wild.test'), 'def.pem');
  assert.equal(pick(store, 'wild.test'), 'def.pem');
  assert.equal(pick(store, 'unknown.example'), 'def.pem');
  assert.equal(pick(store, undefined), 'def.pem');
  assert.equal(store.contextFor('a.test'), store.entryFor('a.test')!.context);
  // one context per instance, built once at load
  assert.equal(store.contextFor('a.test'), store.contextFor('b.test'));
  assert.notEqual(store.contextFor('a.test'), store.contextFor('x.wild.test'));
  assert.deepEqual(store.entryFor('a.test')!.exact, ['a.test', 'b.test', 'c.test', 'multi.test']);
  assert.deepEqual(store.entryFor('x.wild.test')!.wild, ['.wild.test']);
});

test('strict-sni: no default for unknown names', () => {
  const { store } = loadCertificates([crt('def.pem'), crt('multi.pem')], { ...opts(), strictSni: true });
  assert.equal(store.contextFor('nope.test'), undefined);
  assert.equal(pick(store, 'a.test'), 'multi.pem');
});

test('<file>.key next to a bundle without key (ssl-load-extra-files key)', () => {
  const r = loadCertificates([crt('sep.pem', 3)], opts());
  assert.deepEqual(r.errors, []);
  assert.equal(pick(r.store, 'other.test'), 'sep.pem');
  const off = loadCertificates([crt('sep.pem', 3)], { ...opts(), extraKeyFile: false });
  assert.deepEqual(brief(off.errors), [{ code: 'CRT_NO_KEY', file: 'haproxy.cfg', line: 3 }]);
});

test('crt <directory>: byte order, reserved extensions, dot files and sub-directories skipped', () => {
  const { store, errors, warnings } = loadCertificates([crt('d', 7)], opts());
  assert.deepEqual(errors, []);
  assert.deepEqual(warnings, []);
  assert.deepEqual(store.entries.map(e => e.path.slice(dir.length + 1)), ['d/B.pem', 'd/a.pem', 'd/b.pem']);
  assert.equal(pick(store, 'nothing.test'), 'd/B.pem'); // first file is the default
  assert.equal(pick(store, 'cnonly.test'), 'd/a.pem');
  assert.equal(pick(store, 'a.test'), 'd/b.pem');
  assert.ok(store.entries.every(e => e.file === 'haproxy.cfg' && e.line === 7));
});

test('crt-list: filters replace names, negative filters, options per line, first line is the default', () => {
  wr('good.lst', [
    '# comment',
    'def.pem !*',
    'multi.pem [alpn h2,http/1.1 ssl-min-ver TLSv1.2 ciphers ECDHE-ECDSA-AES128-GCM-SHA256] a.test B.Test',
    '',
    'wild.pem *.wild.test !hidden.wild.test',
    'cnonly.pem *.wild.test',
    'other.pem [verify optional ca-file ca.pem]',
    '',
  ].join('\n'));
  const { store, errors, warnings } = loadCertificates([crtList(join(dir, 'good.lst'), 20)], opts());
  assert.deepEqual(errors, []);
  assert.equal(store.default!.path, join(dir, 'def.pem'));
  assert.deepEqual(store.default!.exact, []); // '!*': no names at all
  assert.equal(pick(store, 'default.test'), 'def.pem');
  assert.equal(pick(store, 'a.test'), 'multi.pem');
  assert.equal(pick(store, 'b.test'), 'multi.pem');
  assert.equal(pick(store, 'c.test'), 'def.pem'); // in the SAN, not in the filters
  assert.equal(pick(store, 'multi.test'), 'def.pem');
  assert.equal(pick(store, 'x.wild.test'), 'wild.pem');
  // the negative filter excludes its own line's wildcard only: the next line's wildcard takes it
  assert.equal(pick(store, 'hidden.wild.test'), 'cnonly.pem');
  assert.equal(pick(store, 'other.test'), 'other.pem');
  const multi = store.entryFor('a.test')!;
  assert.equal(multi.file, join(dir, 'good.lst'));
  assert.equal(multi.line, 3);
  assert.deepEqual(multi.conf.alpn, ['h2', 'http/1.1']);
  assert.equal(multi.options.minVersion, 'TLSv1.2');
  assert.match(String(multi.options.ciphers), /^TLS_.*:ECDHE-ECDSA-AES128-GCM-SHA256$/); // TLS 1.3 suites kept
  assert.equal(store.entryFor('other.test')!.conf.verify, 'optional');
  assert.match(String(store.entryFor('other.test')!.options.ca), /BEGIN CERTIFICATE/);
  assert.equal(store.selectAlpn('a.test', ['http/1.1', 'h2']), 'h2');
  assert.equal(store.selectAlpn('other.test', ['h2']), undefined);
  assert.deepEqual(brief(warnings), [{ code: 'CRT_DUP_NAME', file: 'good.lst', line: 6 }]);
  assert.match(warnings[0].reason, /'\*\.wild\.test'.*already provided by .*wild\.pem.*good\.lst:5/);
});

test('crt-list line syntax (crtlist_parse_line)', () => {
  assert.deepEqual(parseCrtListLine('c.pem [ alpn h2 ]  x.test  !y.test', 1).entry,
    { line: 1, crt: 'c.pem', conf: { alpn: ['h2'] }, filters: ['x.test', '!y.test'] });
  assert.deepEqual(parseCrtListLine('c.pem[no-ca-names allow-0rtt]', 2).entry,
    { line: 2, crt: 'c.pem', conf: { noCaNames: true, allow0rtt: true }, filters: [] });
  assert.deepEqual(parseCrtListLine('   \t ', 3), {});
  const bad: Array<[string, string]> = [
    ['[alpn h2] c.pem', 'file must start with a cert'],
    ['c.pem [alpn h2', "missing ']'"],
    ['c.pem alpn h2]', "missing '['"],
    ['c.pem [[alpn h2]', "too many '['"],
    ['c.pem [alpn h2]]', "too many ']'"],
    ['c.pem x.test [alpn h2]', 'SNI filters go after'],
    ['c.pem [alpn] x.test', "ssl args out of '[]' for alpn"],
    ['c.pem [alpn h2,,h3]', 'empty ALPN protocol name'],
    [`c.pem [alpn ${'x'.repeat(256)}]`, 'ALPN protocol name too long'],
    ['c.pem [ssl-min-ver TLSv1.4]', 'unknown ssl/tls version'],
    ['c.pem [verify maybe]', "unknown verify method 'maybe'"],
    ['c.pem [ciphersuite TLS_AES_128_GCM_SHA256]', "unknown ssl keyword ciphersuite (did you mean 'ciphersuites' maybe ?)"],
    ['c.pem [strict-sni]', 'unknown ssl keyword strict-sni'],
  ];
  for (const [line, why] of bad) {
    const r = parseCrtListLine(line, 9);
    assert.ok(r.error, line);
    assert.equal(r.error.line, 9);
    assert.ok(r.error.reason.includes(why), `${line}: ${r.error.reason}`);
  }
});

test('crt errors carry the bind line, and every one is reported', () => {
  const specs = [
    crt('missing.pem', 1), crt('nocert.pem', 2), crt('nokey.pem', 3), crt('mismatch.pem', 4), crt('enc.pem', 5),
    crt('enclegacy.pem', 6), crt('malformed.pem', 7), crt('badb64.pem', 8), crt('def.pem', 9),
  ];
  const { store, errors } = loadCertificates(specs, opts());
  assert.deepEqual(errors.map(e => [e.code, e.file, e.line, e.keyword]), [
    ['CRT_NOT_FOUND', 'haproxy.cfg', 1, 'crt'],
    ['CRT_NO_CERT', 'haproxy.cfg', 2, 'crt'],
    ['CRT_NO_KEY', 'haproxy.cfg', 3, 'crt'],
    ['CRT_KEY_MISMATCH', 'haproxy.cfg', 4, 'crt'],
    ['CRT_KEY_ENCRYPTED', 'haproxy.cfg', 5, 'crt'],
    ['CRT_KEY_ENCRYPTED', 'haproxy.cfg', 6, 'crt'],
    ['CRT_BAD_PEM', 'haproxy.cfg', 7, 'crt'],
    ['CRT_BAD_PEM', 'haproxy.cfg', 8, 'crt'],
  ]);
  assert.match(errors[0].reason, /missing\.pem' : No such file/);
  assert.match(errors[2].reason, /No Private Key found in '.*nokey\.pem' nor in '.*nokey\.pem\.key'/);
  assert.match(errors[3].reason, /inconsistencies between private key and certificate loaded '.*mismatch\.pem'/);
  assert.match(errors[6].reason, /'-----BEGIN CERTIFICATE' at line 6 is not closed/);
  assert.match(errors[7].reason, /invalid base64 in 'CERTIFICATE' block at line 2/);
  assert.equal(pick(store, 'default.test'), 'def.pem'); // what loaded still loads
  // nothing loadable at all
  const none = loadCertificates([crt('d/x.ocsp', 4)], opts());
  assert.deepEqual(brief(none.errors), [{ code: 'CRT_NO_CERT', file: 'haproxy.cfg', line: 4 }]);
  const empty = loadCertificates([crt('d/sub.pem', 4)], opts());
  assert.deepEqual(brief(empty.warnings), [{ code: 'CRT_DIR', file: 'haproxy.cfg', line: 4 }]);
  assert.deepEqual(brief(empty.errors), [{ code: 'CRT_NONE', file: 'haproxy.cfg', line: 4 }]);
});

test('crt-list errors carry the crt-list file:line', () => {
  wr('bad.lst', [
    'missing.pem',
    'multi.pem [alpn]',
    'multi.pem [bogus-kw x]',
    'multi.pem [verify maybe]',
    '[alpn h2] multi.pem',
    'multi.pem [alpn h2',
    'mismatch.pem',
    'enc.pem',
    'multi.pem [ssl-min-ver TLSv1.3 ssl-max-ver TLSv1.2]',
    'multi.pem [ciphers NOPE-CIPHER]',
    'multi.pem [verify required]',
    'multi.pem [ca-file nope.pem verify optional]',
    'multi.pem [crl-file ca.pem]',
    'multi.pem [ssl-max-ver SSLv3]',
    'def.pem', // no LF at the end
  ].join('\n'));
  const { errors } = loadCertificates([crtList(join(dir, 'bad.lst'), 30), crtList(join(dir, 'nope.lst'), 31)], opts());
  assert.deepEqual(brief(errors), [
    { code: 'CRTLIST_BAD_ARG', file: 'bad.lst', line: 2 },
    { code: 'CRTLIST_UNKNOWN_KW', file: 'bad.lst', line: 3 },
    { code: 'CRTLIST_BAD_ARG', file: 'bad.lst', line: 4 },
    { code: 'CRTLIST_SYNTAX', file: 'bad.lst', line: 5 },
    { code: 'CRTLIST_SYNTAX', file: 'bad.lst', line: 6 },
    { code: 'CRTLIST_SYNTAX', file: 'bad.lst', line: 15 },
    { code: 'CRT_NOT_FOUND', file: 'bad.lst', line: 1 },
    { code: 'CRT_KEY_MISMATCH', file: 'bad.lst', line: 7 },
    { code: 'CRT_KEY_ENCRYPTED', file: 'bad.lst', line: 8 },
    { code: 'CRTLIST_BAD_ARG', file: 'bad.lst', line: 9 },
    { code: 'SSL_CONTEXT', file: 'bad.lst', line: 10 },
    { code: 'SSL_CA_FILE', file: 'bad.lst', line: 11 },
    { code: 'SSL_CA_FILE', file: 'bad.lst', line: 12 },
    { code: 'SSL_CRL_FILE', file: 'bad.lst', line: 13 },
    { code: 'SSL_UNSUPPORTED', file: 'bad.lst', line: 14 },
    { code: 'CRT_NOT_FOUND', file: 'haproxy.cfg', line: 31 },
  ]);
  assert.ok(errors.every(e => e.keyword === 'crt-list'));
  assert.match(errors[5].reason, /Missing LF on last line/);
  assert.match(errors[10].reason, /no cipher match/);
});

test('warnings: expired, not yet valid, duplicate names; still loaded', () => {
  const { store, errors, warnings } = loadCertificates([crt('def.pem', 1), crt('old.pem', 2), crt('future.pem', 3), crt('multi.pem', 4), crt('d/b.pem', 5)], opts());
  assert.deepEqual(errors, []);
  assert.deepEqual(brief(warnings), [
    { code: 'CRT_EXPIRED', file: 'haproxy.cfg', line: 2 },
    { code: 'CRT_NOT_YET_VALID', file: 'haproxy.cfg', line: 3 },
    { code: 'CRT_DUP_NAME', file: 'haproxy.cfg', line: 5 },
    { code: 'CRT_DUP_NAME', file: 'haproxy.cfg', line: 5 },
    { code: 'CRT_DUP_NAME', file: 'haproxy.cfg', line: 5 },
    { code: 'CRT_DUP_NAME', file: 'haproxy.cfg', line: 5 },
  ]);
  assert.match(warnings[0].reason, /expired on Jan  1 00:00:00 2021 GMT/);
  assert.equal(pick(store, 'old.test'), 'old.pem');
  assert.equal(pick(store, 'a.test'), 'multi.pem'); // the first declared wins
  // the clock is the caller's: in 2020 'old' is fine
  assert.deepEqual(loadCertificates([crt('old.pem')], { ...opts(), now: new Date('2020-06-01') }).warnings, []);
});

test('compiled form is plain data and rebuilds the same selection without files', () => {
  const { compiled } = loadCertificates([crt('def.pem'), crt('multi.pem'), crt('wild.pem')], opts());
  const copy = JSON.parse(JSON.stringify(compiled)) as typeof compiled;
  const store = buildCertStore(copy);
  assert.equal(pick(store, 'b.test'), 'multi.pem');
  assert.equal(pick(store, 'q.wild.test'), 'wild.pem');
  assert.equal(pick(store, 'zzz'), 'def.pem');
});

interface Seen { cn: string; san: string; authorized: boolean; protocol: string | null; alpn: string | false | null; cipher: string }

async function handshake(port: number, servername: string | undefined, extra: tls.ConnectionOptions = {}): Promise<Seen> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca: rd('ca.pem'), servername, checkServerIdentity: () => undefined, ...extra }, () => {
      const c = s.getPeerCertificate();
      resolve({ cn: String(c.subject.CN), san: c.subjectaltname ?? '', authorized: s.authorized, protocol: s.getProtocol(), alpn: s.alpnProtocol, cipher: s.getCipher().name });
      s.end();
    });
    s.on('error', reject);
  });
}

async function withServer(store: CertStore, fn: (port: number) => Promise<void>, alpn = false): Promise<void> {
  const server = tls.createServer({
    ...store.default!.options,
    SNICallback: store.sniCallback,
    ...(alpn ? { ALPNCallback: ({ servername, protocols }: { servername: string; protocols: string[] }) => store.selectAlpn(servername, protocols) ?? protocols[0] } : {}),
  }, sock => sock.end());
  server.on('tlsClientError', () => { /* strict-sni refusals */ });
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
  try { await fn((server.address() as AddressInfo).port); } finally { await new Promise(r => server.close(r)); }
}

test('real handshakes: SNICallback serves each name its certificate, chain verifies against the CA', async () => {
  const { store, errors } = loadCertificates([crt('def.pem'), crt('multi.pem'), crt('wild.pem'), crt('cnonly.pem')], opts());
  assert.deepEqual(errors, []);
  await withServer(store, async port => {
    const cases: Array<[string | undefined, string, string]> = [
      ['a.test', 'multi.test', 'DNS:a.test, DNS:b.test, DNS:c.test'],
      ['b.test', 'multi.test', 'DNS:a.test, DNS:b.test, DNS:c.test'],
      ['C.TEST', 'multi.test', 'DNS:a.test, DNS:b.test, DNS:c.test'],
      ['www.wild.test', 'wild', 'DNS:*.wild.test'],
      ['cnonly.test', 'cnonly.test', ''],
      ['default.test', 'default.test', 'DNS:default.test'],
      ['a.b.wild.test', 'default.test', 'DNS:default.test'],
      ['unknown.test', 'default.test', 'DNS:default.test'],
      [undefined, 'default.test', 'DNS:default.test'], // no SNI at all
    ];
    for (const [name, cn, san] of cases) {
      const seen = await handshake(port, name);
      assert.equal(seen.cn, cn, String(name));
      assert.equal(seen.san, san, String(name));
      assert.equal(seen.authorized, true, String(name));
    }
    // hostname checks a client would do pass for the SAN names
    const s = await new Promise<tls.TLSSocket>((res, rej) => { const t = tls.connect({ host: '127.0.0.1', port, ca: rd('ca.pem'), servername: 'x.wild.test' }, () => res(t)); t.on('error', rej); });
    assert.equal(s.authorized, true);
    s.end();
  });
});

test('real handshakes through a crt-list: strict-sni refuses unknown and excluded names', async () => {
  wr('tls.lst', 'def.pem\nmulti.pem [alpn h2,http/1.1] a.test\nwild.pem *.wild.test !no.wild.test\n');
  const { store, errors } = loadCertificates([crtList(join(dir, 'tls.lst'))], { ...opts(), strictSni: true });
  assert.deepEqual(errors, []);
  await withServer(store, async port => {
    const a = await handshake(port, 'a.test', { ALPNProtocols: ['http/1.1', 'h2'] });
    assert.equal(a.cn, 'multi.test');
    assert.equal(a.alpn, 'h2'); // server preference
    assert.equal((await handshake(port, 'x.wild.test')).cn, 'wild');
    await assert.rejects(handshake(port, 'no.wild.test')); // excluded, and strict-sni: no default
    await assert.rejects(handshake(port, 'b.test'));
  }, true);
});

/*
 * Node's SNICallback swaps only the certificate, key and chain (UseSNIContext);
 * the protocol version and cipher list stay those of the server's first
 * context, since OpenSSL fixed them before the cert callback. So per-line
 * versions and ciphers take effect when the socket is created with the
 * entry's context, picked before the handshake (what the engine will do from
 * the ClientHello's server_name). This test drives the contexts that way.
 */
test('per-line options live in the entry context: ciphers keep TLS 1.3, ssl-max-ver, ALPN', async () => {
  wr('opts.lst', 'multi.pem [alpn h2,http/1.1 ciphers ECDHE-ECDSA-CHACHA20-POLY1305] a.test\nwild.pem [ssl-max-ver TLSv1.2] *.wild.test\n');
  const { store, errors } = loadCertificates([crtList(join(dir, 'opts.lst'))], opts());
  assert.deepEqual(errors, []);
  const server = net.createServer(sock => {
    // the engine reads server_name from the ClientHello; here each port serves one entry
    const e = store.entryFor(servers.get((sock.address() as AddressInfo).port))!;
    const t = new tls.TLSSocket(sock, { isServer: true, secureContext: e.context, ALPNProtocols: e.conf.alpn });
    t.on('secure', () => t.end());
    t.on('error', () => sock.destroy());
  });
  const servers = new Map<number, string>();
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  try {
    servers.set(port, 'a.test');
    const a13 = await handshake(port, 'a.test', { ALPNProtocols: ['http/1.1', 'h2'] });
    assert.equal(a13.protocol, 'TLSv1.3'); // setting `ciphers` did not turn TLS 1.3 off
    assert.equal(a13.alpn, 'h2');
    const a12 = await handshake(port, 'a.test', { maxVersion: 'TLSv1.2' });
    assert.equal(a12.cipher, 'ECDHE-ECDSA-CHACHA20-POLY1305'); // not the default first choice (AES128-GCM)
    servers.set(port, 'x.wild.test');
    const w = await handshake(port, 'x.wild.test');
    assert.equal(w.cn, 'wild');
    assert.equal(w.protocol, 'TLSv1.2');
  } finally { await new Promise(r => server.close(r)); }
});
