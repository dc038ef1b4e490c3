/**
 * TLS ClientHello parser (tls/client-hello.ts): hellos captured live from
 * Node's tls.connect and from `openssl s_client`, every split point of each,
 * reads of random sizes, each class of malformed input with its error code,
 * HAProxy's own fetch kernels (req.ssl_hello_type, req.ssl_ver, SSLv2), and
 * looksLikeTls on the first bytes.
 *
 * The HAPROXY vectors were checked against haproxy 2.6.12 (Debian
 * 2.6.12-1+deb12u4): a frontend `mode tcp`, `tcp-request inspect-delay 2s`,
 * `acl ready req.ssl_hello_type 1` + `acl ready wait_end`, one
 * `tcp-request content set-var(sess.X) <fetch> if ready` per fetch
 * (req.ssl_sni, req.ssl_ver, req.ssl_hello_type, req.ssl_alpn,
 * req.ssl_ec_ext, req.ssl_st_ext; the request buffer is gone at log time)
 * and `log-format "sni=%[var(sess.sni)] ver=... "` to stdout; a node client
 * wrote each vector and half-closed. The strings below are haproxy's log
 * fields ('-' = no sample). NODE_ALPN and OPENSSL_TLS13 are hellos captured
 * from `tls.connect({servername:'a.example', ALPNProtocols:['h2','http/1.1']})`
 * (Node 20) and `openssl s_client -servername www.example.org -alpn
 * h2,http/1.1 -tls1_3` (OpenSSL 3.0), replayed to that haproxy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { spawn, spawnSync } from 'node:child_process';
import {
  parseClientHello, sslHelloType, reqSslVer, looksLikeTls, alpnProtocols, supportedVersions,
  TLS_NEED_MORE, TLS_NO_MATCH, HELLO_ERROR_MESSAGES,
  HELLO_ERR_RECORD_TYPE, HELLO_ERR_RECORD_VERSION, HELLO_ERR_RECORD_LENGTH, HELLO_ERR_NOT_CLIENT_HELLO,
  HELLO_ERR_FRAGMENTED, HELLO_ERR_TRAILING, HELLO_ERR_VERSION, HELLO_ERR_SESSION_ID, HELLO_ERR_CIPHERS,
  HELLO_ERR_COMPRESSION, HELLO_ERR_EXTENSIONS, HELLO_ERR_DUP_EXTENSION, HELLO_ERR_SNI, HELLO_ERR_ALPN,
  HELLO_ERR_EXT_LIST, HELLO_ERR_SSLV2, HELLO_ERR_SHORT,
  type ClientHello, type HelloParse,
} from '../src/tls/client-hello';

/* ---------------- builders ---------------- */

const hx = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const u16 = (n: number): Buffer => Buffer.from([n >> 8, n & 255]);
const u24 = (n: number): Buffer => Buffer.from([n >> 16, (n >> 8) & 255, n & 255]);
const ext = (type: number, body: Buffer): Buffer => Buffer.concat([u16(type), u16(body.length), body]);
/** server_name with entries `name` (host_name) or `[type, name]`. */
function sniExt(...names: (string | [number, string])[]): Buffer {
  const l = Buffer.concat(names.map(n => {
    const [t, s] = Array.isArray(n) ? n : [0, n];
    const b = Buffer.from(s, 'latin1');
    return Buffer.concat([Buffer.from([t]), u16(b.length), b]);
  }));
  return ext(0, Buffer.concat([u16(l.length), l]));
}
function alpnExt(...names: string[]): Buffer {
  const l = Buffer.concat(names.map(s => Buffer.concat([Buffer.from([s.length]), Buffer.from(s, 'latin1')])));
  return ext(16, Buffer.concat([u16(l.length), l]));
}
const groupsExt = (): Buffer => ext(10, hx('0006 001d 0017 0018'));
const stExt = (ticket = ''): Buffer => ext(35, hx(ticket));
const svExt = (...v: number[]): Buffer => ext(43, Buffer.concat([Buffer.from([v.length * 2]), ...v.map(u16)]));
const sigExt = (): Buffer => ext(13, hx('0004 0403 0804'));

interface BodyOpts { version?: number; sid?: number; ciphers?: string; comp?: string; exts?: Buffer[]; extLen?: number }
function body({ version = 0x0303, sid = 32, ciphers = '13011302c02f', comp = '00', exts, extLen }: BodyOpts = {}): Buffer {
  const parts = [u16(version), Buffer.alloc(32, 0xab), Buffer.from([sid]), Buffer.alloc(sid, 0xcd),
    u16(ciphers.length / 2), hx(ciphers), Buffer.from([comp.length / 2]), hx(comp)];
  if (exts) {
    const e = Buffer.concat(exts);
    parts.push(u16(extLen ?? e.length), e);
  }
  return Buffer.concat(parts);
}
const hs = (b: Buffer, type = 1, len = b.length): Buffer => Buffer.concat([Buffer.from([type]), u24(len), b]);
function record(h: Buffer, { type = 0x16, ver = 0x0301, len = h.length } = {}): Buffer {
  return Buffer.concat([Buffer.from([type]), u16(ver), u16(len), h]);
}
const hello = (o: BodyOpts = {}, r: { type?: number; ver?: number; len?: number } = {}): Buffer => record(hs(body(o)), r);
const STD = (): Buffer[] => [sniExt('Host.Example'), groupsExt(), sigExt(), alpnExt('h2', 'http/1.1'), stExt('0102'), svExt(0x0a0a, 0x0304, 0x0303)];

/** A hello cut into two records after `cut` bytes of its handshake message. */
function fragmented(h: Buffer, cut: number): Buffer {
  return Buffer.concat([record(h.subarray(0, cut)), record(h.subarray(cut))]);
}
const SSLV2_CIPHERS = '000039 000038 000035 000016 000013 00000a 07c0c0';
const SSLV2_CHALLENGE = 'f1e2d3c4b5a6978812345678aabbccdd';

/* ---------------- helpers ---------------- */

function ok(r: HelloParse, what = ''): ClientHello {
  assert.equal(r.status, 'ok', `${what}: expected a hello, got ${JSON.stringify(r)}`);
  return r as ClientHello;
}
function bad(buf: Buffer): number {
  const r = parseClientHello(buf);
  assert.equal(r.status, 'invalid', `expected invalid, got ${JSON.stringify(r)} for ${buf.toString('hex')}`);
  if (r.status !== 'invalid') return 0;
  assert.equal(r.reason, HELLO_ERROR_MESSAGES[r.code]);
  assert.ok(r.offset >= 0 && r.offset <= buf.length);
  return r.code;
}

/** HAProxy's log fields for the fetches, '-' for no sample, from our results. */
function fields(buf: Buffer): string {
  const r = parseClientHello(buf);
  const h = r.status === 'ok' ? r : undefined;
  const ver = reqSslVer(buf);
  const type = sslHelloType(buf);
  return [
    'sni=' + (h?.sni || '-'), // HAProxy logs an empty string as '-'
    'ver=' + (ver >= 0 ? ver : '-'),
    'type=' + (type >= 0 ? type : '-'),
    'alpn=' + (h?.alpn || '-'),
    'ec=' + (h?.ecExt ? 1 : '-'),
    'st=' + (h?.stExt ?? '-'),
  ].join(' ');
}

/** Every prefix is need-more with a `needed` that is past the prefix and exact once the record header is in. */
function checkEverySplit(buf: Buffer, full: HelloParse): void {
  for (let k = 0; k < buf.length; k++) {
    const r = parseClientHello(buf.subarray(0, k));
    assert.equal(r.status, 'need-more', `prefix ${k}/${buf.length}: ${JSON.stringify(r)}`);
    if (r.status !== 'need-more') return;
    assert.ok(r.needed > k && r.needed <= buf.length, `prefix ${k}: needed ${r.needed}`);
    if (k >= 5) assert.equal(r.needed, buf.length, `prefix ${k}: needed`);
  }
  assert.deepEqual(parseClientHello(buf), full);
}

/** Deterministic PRNG for the random read sizes and mutations. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 0x100000000;
  };
}

/* ---------------- live captures ---------------- */

/** Accepts one connection, returns its first TLS record (or SSLv2 hello) once complete, then closes it. */
function capture(connect: (port: number) => void): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer(s => {
      let got = Buffer.alloc(0);
      s.on('error', () => {});
      s.on('data', d => {
        got = Buffer.concat([got, d]);
        if (got.length >= 5 && got.length >= 5 + got.readUInt16BE(3)) {
          s.destroy();
          srv.close();
          resolve(got.subarray(0, 5 + got.readUInt16BE(3)));
        }
      });
      s.on('end', () => { srv.close(); reject(new Error(`client closed after ${got.length} bytes`)); });
    });
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => connect((srv.address() as net.AddressInfo).port));
  });
}

function nodeHello(opts: tls.ConnectionOptions): Promise<Buffer> {
  return capture(port => {
    const c = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...opts });
    c.on('error', () => {});
  });
}

const HAVE_OPENSSL = spawnSync('openssl', ['version']).status === 0;

function opensslHello(args: string[]): Promise<Buffer> {
  return capture(port => {
    const p = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, ...args], { stdio: ['pipe', 'ignore', 'ignore'] });
    p.on('error', () => {});
    p.stdin.end();
  });
}

interface LiveCase { name: string; get: () => Promise<Buffer>; sni?: string; alpn: string[]; maxVersion: number; sv: number[] }
const LIVE: LiveCase[] = [
  // Node keeps the servername's case as given: so does HAProxy's req.ssl_sni (both logged "Example.COM").
  { name: 'node: servername, no ALPN', get: () => nodeHello({ servername: 'Example.COM' }), sni: 'Example.COM', alpn: [], maxVersion: 0x0304, sv: [0x0304, 0x0303] },
  { name: 'node: h2,http/1.1', get: () => nodeHello({ servername: 'a.example', ALPNProtocols: ['h2', 'http/1.1'] }), sni: 'a.example', alpn: ['h2', 'http/1.1'], maxVersion: 0x0304, sv: [0x0304, 0x0303] },
  { name: 'node: three ALPN names', get: () => nodeHello({ servername: 'b.example', ALPNProtocols: ['acme-tls/1', 'h2', 'http/1.1'] }), sni: 'b.example', alpn: ['acme-tls/1', 'h2', 'http/1.1'], maxVersion: 0x0304, sv: [0x0304, 0x0303] },
  { name: 'node: TLS 1.2 only', get: () => nodeHello({ servername: 'x.test', minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ALPNProtocols: ['http/1.1'] }), sni: 'x.test', alpn: ['http/1.1'], maxVersion: 0x0303, sv: [] },
  { name: 'node: TLS 1.3 only', get: () => nodeHello({ servername: 'y.test', minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' }), sni: 'y.test', alpn: [], maxVersion: 0x0304, sv: [0x0304] },
  // An IP address as host: Node sends no server_name (RFC 6066 §3 forbids literal addresses).
  { name: 'node: no servername', get: () => nodeHello({}), alpn: [], maxVersion: 0x0304, sv: [0x0304, 0x0303] },
];
const LIVE_OPENSSL: LiveCase[] = [
  { name: 'openssl: -tls1_3 -alpn h2,http/1.1', get: () => opensslHello(['-servername', 'www.example.org', '-alpn', 'h2,http/1.1', '-tls1_3']), sni: 'www.example.org', alpn: ['h2', 'http/1.1'], maxVersion: 0x0304, sv: [0x0304] },
  { name: 'openssl: -tls1_2 -alpn acme-tls/1', get: () => opensslHello(['-servername', 'www.example.org', '-alpn', 'acme-tls/1', '-tls1_2']), sni: 'www.example.org', alpn: ['acme-tls/1'], maxVersion: 0x0303, sv: [] },
  { name: 'openssl: -noservername', get: () => opensslHello(['-noservername']), alpn: [], maxVersion: 0x0304, sv: [0x0304, 0x0303, 0x0302, 0x0301] },
];

for (const c of [...LIVE, ...LIVE_OPENSSL]) {
  test(`live hello, ${c.name}`, { skip: c.name.startsWith('openssl') && !HAVE_OPENSSL ? 'no openssl' : false }, async () => {
    const buf = await c.get();
    const h = ok(parseClientHello(buf), c.name);
    assert.equal(h.sni, c.sni);
    assert.deepEqual(alpnProtocols(buf, h), c.alpn);
    assert.equal(h.alpn, c.alpn[0]);
    assert.deepEqual(supportedVersions(buf, h), c.sv);
    assert.equal(h.maxVersion, c.maxVersion);
    // What haproxy 2.6.12 logged for these clients: TLS 1.2 legacy version,
    // ClientHello, supported_groups sent, an empty SessionTicket extension.
    assert.equal(h.version, 0x00030003);
    assert.equal(reqSslVer(buf), 196611);
    assert.equal(sslHelloType(buf), 1);
    assert.equal(h.ecExt, true);
    assert.equal(h.stExt, 1);
    assert.equal(h.length, buf.length);
    assert.equal(h.sslv2, false);
    assert.ok(h.sigAlgsLength > 0 && h.sigAlgsLength % 2 === 0);
    assert.equal(looksLikeTls(buf), 1);
    checkEverySplit(buf, h);
    // Random read sizes, the caller concatenating.
    const rand = rng(buf.length);
    for (let round = 0; round < 20; round++) {
      let have = 0;
      let r: HelloParse = parseClientHello(buf.subarray(0, 0));
      while (have < buf.length) {
        assert.equal(r.status, 'need-more');
        have = Math.min(buf.length, have + 1 + Math.floor(rand() * 200));
        r = parseClientHello(buf.subarray(0, have));
      }
      assert.deepEqual(r, h);
    }
    // What follows the hello (a pipelined byte) is not the parser's business.
    assert.deepEqual(parseClientHello(Buffer.concat([buf, hx('17')])), h);
  });
}

/* ---------------- pinned captures, checked against haproxy ---------------- */

const NODE_ALPN = hx(`160301017c010001780303e618918c9c49e1fe7abec35cf13a5dd3dfc14b61292dc19bcbd4bcd79b60dd2720da7c4f3456fb5adb158ccf051884f665fabd345047576115ed2b36cec1d1de750076130213031301c02fc02bc030c02c009ec0270067c028006b00a3009fcca9cca8ccaac0afc0adc0a3c09fc05dc061c057c05300a2c0aec0acc0a2c09ec05cc060c056c052c024006ac0230040c00ac01400390038c009c01300330032009dc0a1c09dc051009cc0a0c09cc050003d003c0035002f00ff010000b90000000e000c000009612e6578616d706c65000b000403000102000a00160014001d0017001e0019001801000101010201030104002300000010000e000c02683208687474702f312e310016000000170000000d002a0028040305030603080708080809080a080b080408050806040105010601030303010302040205020602002b00050403040303002d00020101003300260024001d0020adba0e59d90c7294ccbef0c43fdf90d5481f2c1069d72fb7815485efefae601b`);
const OPENSSL_TLS13 = hx(`1603010106010001020303a9985c303eda16dfa904c90121d9d5214eff6c1d599e4c15db019de9952739f6200168e698180bae5496351b8fc99f698e69a7fff7ef2808738adfd355b83336e2000813021303130100ff010000b100000014001200000f7777772e6578616d706c652e6f7267000b000403000102000a00160014001d0017001e0019001801000101010201030104002300000010000e000c02683208687474702f312e310016000000170000000d001e001c040305030603080708080809080a080b080408050806040105010601002b0003020304002d00020101003300260024001d00206ebcf559ce4b4863ff94dbabfdf729fede5cae8c7c4450d3618b1c4d2b9f2d29`);

test('pinned Node hello: fields and offsets', () => {
  const h = ok(parseClientHello(NODE_ALPN));
  assert.equal(fields(NODE_ALPN), 'sni=a.example ver=196611 type=1 alpn=h2 ec=1 st=1'); // haproxy 2.6.12
  assert.equal(h.recordVersion, 0x00030001);
  assert.equal(h.length, 385);
  assert.equal(h.sessionIdLength, 32);
  assert.equal(NODE_ALPN.subarray(h.sessionIdOffset, h.sessionIdOffset + 4).toString('hex'), 'da7c4f34');
  assert.equal(h.ciphersLength, 0x76);
  assert.equal(NODE_ALPN.subarray(h.ciphersOffset, h.ciphersOffset + 2).toString('hex'), '1302');
  assert.equal(h.extensionsOffset + h.extensionsLength, NODE_ALPN.length);
  assert.equal(NODE_ALPN.subarray(h.groupsOffset, h.groupsOffset + h.groupsLength).toString('hex'), '001d0017001e0019001801000101010201030104');
  assert.equal(h.sigAlgsLength, 0x28);
  assert.equal(NODE_ALPN.subarray(h.sigAlgsOffset, h.sigAlgsOffset + 2).toString('hex'), '0403');
});

test('pinned openssl TLS 1.3 hello', () => {
  assert.equal(fields(OPENSSL_TLS13), 'sni=www.example.org ver=196611 type=1 alpn=h2 ec=1 st=1'); // haproxy 2.6.12
  const h = ok(parseClientHello(OPENSSL_TLS13));
  assert.deepEqual(supportedVersions(OPENSSL_TLS13, h), [0x0304]);
  assert.equal(h.maxVersion, 0x0304);
  checkEverySplit(OPENSSL_TLS13, h);
});

/* ---------------- synthetic vectors, checked against haproxy ---------------- */

const SSLV2 = hx('802e 01 0301 0015 0000 0010' + SSLV2_CIPHERS + SSLV2_CHALLENGE);

/**
 * [name, bytes, haproxy 2.6.12's fields, ours when we differ (strict), code].
 * Where we differ we return invalid, so no sni/alpn/ec/st sample, while
 * req.ssl_ver and req.ssl_hello_type stay HAProxy's.
 */
const HAPROXY: [string, Buffer, string, string?, number?][] = [
  ['every extension we read', hello({ exts: STD() }), 'sni=Host.Example ver=196611 type=1 alpn=h2 ec=1 st=2'],
  ['no extension block', hello({}), 'sni=- ver=196611 type=1 alpn=- ec=- st=-'],
  ['SSLv3 client_version: no extension read', hello({ version: 0x0300, exts: STD() }), 'sni=- ver=196608 type=1 alpn=- ec=- st=-'],
  ['TLS 1.1 client_version', hello({ version: 0x0302, exts: [sniExt('v2.example')] }), 'sni=v2.example ver=196610 type=1 alpn=- ec=- st=0'],
  ['server_name first entry not host_name', hello({ exts: [sniExt([1, 'x'], 'b.example'), groupsExt()] }), 'sni=- ver=196611 type=1 alpn=- ec=1 st=0'],
  ['empty SessionTicket', hello({ exts: [stExt(), groupsExt()] }), 'sni=- ver=196611 type=1 alpn=- ec=1 st=1'],
  ['no SessionTicket', hello({ exts: [sniExt('n.example')] }), 'sni=n.example ver=196611 type=1 alpn=- ec=- st=0'],
  ['record version 3.0', hello({ exts: [sniExt('v.example')] }, { ver: 0x0300 }), 'sni=v.example ver=196611 type=1 alpn=- ec=- st=0'],
  ['SNI bytes as sent', hello({ exts: [sniExt('A\x01b\xe9.Ex')] }), 'sni=A\x01b\xe9.Ex ver=196611 type=1 alpn=- ec=- st=0'],
  ['SSLv2-compatible hello', SSLV2, 'sni=- ver=196609 type=- alpn=- ec=- st=-'],
  ['SSLv2 long header (padding)', hx('002e00 01 0301 0015 0000 0010' + SSLV2_CIPHERS + SSLV2_CHALLENGE), 'sni=- ver=196609 type=- alpn=- ec=- st=-', undefined, HELLO_ERR_RECORD_TYPE],
  ['pure SSLv2 hello', hx('802e 01 0002 0015 0000 0010' + SSLV2_CIPHERS + SSLV2_CHALLENGE), 'sni=- ver=2 type=- alpn=- ec=- st=-'],
  ['HTTP request', Buffer.from('GET / HTTP/1.0\r\n\r\n'), 'sni=- ver=- type=- alpn=- ec=- st=-', undefined, HELLO_ERR_RECORD_TYPE],
  ['alert record', hx('15030300020228'), 'sni=- ver=- type=- alpn=- ec=- st=-', undefined, HELLO_ERR_RECORD_TYPE],
  ['hello in an application_data record', hello({ exts: STD() }, { type: 0x17 }), 'sni=- ver=196611 type=1 alpn=- ec=- st=-', undefined, HELLO_ERR_RECORD_TYPE],
  ['ServerHello', record(hs(body({ exts: [sniExt('s.example')] }), 2)), 'sni=- ver=196611 type=2 alpn=- ec=- st=-', undefined, HELLO_ERR_NOT_CLIENT_HELLO],
  ['extension block longer than the hello', hello({ exts: [groupsExt(), sniExt('o.example')], extLen: 100 }), 'sni=- ver=196611 type=1 alpn=- ec=- st=-', undefined, HELLO_ERR_EXTENSIONS],
  // Below, HAProxy returns samples we refuse.
  ['hello fragmented early', fragmented(hs(body({ exts: STD() })), 60), 'sni=- ver=196611 type=1 alpn=- ec=- st=-', undefined, HELLO_ERR_FRAGMENTED],
  // HAProxy walks the second record's header as extension bytes: here they fall inside key_share-like padding.
  ['hello fragmented late', (() => { const h = hs(body({ exts: [sniExt('early.example'), ...STD().slice(1)] })); return fragmented(h, h.length - 10); })(),
    'sni=early.example ver=196611 type=1 alpn=h2 ec=1 st=2', 'sni=- ver=196611 type=1 alpn=- ec=- st=-', HELLO_ERR_FRAGMENTED],
  ['byte after the extension block', record(hs(Buffer.concat([body({ exts: [sniExt('t.example')] }), hx('00')]))),
    'sni=t.example ver=196611 type=1 alpn=- ec=- st=0', 'sni=- ver=196611 type=1 alpn=- ec=- st=-', HELLO_ERR_TRAILING],
  ['second handshake message in the record', record(Buffer.concat([hs(body({ exts: [sniExt('r.example')] })), hx('0e000000')])),
    'sni=r.example ver=196611 type=1 alpn=- ec=- st=0', 'sni=- ver=196611 type=1 alpn=- ec=- st=-', HELLO_ERR_TRAILING],
  ['3 stray bytes after the extensions', hello({ exts: [sniExt('e3.example'), hx('000000')] }),
    'sni=e3.example ver=196611 type=1 alpn=- ec=- st=0', 'sni=- ver=196611 type=1 alpn=- ec=- st=-', HELLO_ERR_EXTENSIONS],
  ['duplicate server_name', hello({ exts: [sniExt('one.example'), sniExt('two.example')] }),
    'sni=one.example ver=196611 type=1 alpn=- ec=- st=0', 'sni=- ver=196611 type=1 alpn=- ec=- st=-', HELLO_ERR_DUP_EXTENSION],
  ['record version 4.1', hello({ exts: [sniExt('v4.example')] }, { ver: 0x0401 }),
    'sni=v4.example ver=196611 type=1 alpn=- ec=- st=0', 'sni=- ver=196611 type=1 alpn=- ec=- st=-', HELLO_ERR_RECORD_VERSION],
  // HAProxy returns an empty first ALPN name (logged '-'); RFC 7301 forbids it.
  ['empty ALPN name', hello({ exts: [alpnExt('', 'h2')] }), 'sni=- ver=196611 type=1 alpn=- ec=- st=0', 'sni=- ver=196611 type=1 alpn=- ec=- st=-', HELLO_ERR_ALPN],
  ['empty host_name', hello({ exts: [sniExt('')] }), 'sni=- ver=196611 type=1 alpn=- ec=- st=0', 'sni=- ver=196611 type=1 alpn=- ec=- st=-', HELLO_ERR_SNI],
];

for (const [name, buf, haproxy, ours, code] of HAPROXY) {
  test(`haproxy 2.6.12 vector: ${name}`, () => {
    assert.equal(fields(buf), ours ?? haproxy);
    if (code !== undefined) assert.equal(bad(buf), code);
    else ok(parseClientHello(buf));
  });
}

test('SSLv2-compatible hello: parsed, every split, req.ssl_ver waits for it', () => {
  const h = ok(parseClientHello(SSLV2));
  assert.equal(h.sslv2, true);
  assert.equal(h.version, 0x00030001);
  assert.equal(h.maxVersion, 0x0301);
  assert.equal(h.ciphersOffset, 11);
  assert.equal(h.ciphersLength, 21);
  assert.equal(h.sessionIdLength, 0);
  assert.equal(h.sni, undefined);
  assert.equal(h.stExt, undefined);
  assert.equal(looksLikeTls(SSLV2), 1);
  for (let k = 0; k < SSLV2.length; k++) {
    const r = parseClientHello(SSLV2.subarray(0, k));
    assert.equal(r.status, 'need-more', `prefix ${k}`);
    if (r.status === 'need-more' && k >= 2) assert.equal(r.needed, SSLV2.length);
    assert.equal(reqSslVer(SSLV2.subarray(0, k)), TLS_NEED_MORE, `req.ssl_ver prefix ${k}`);
    assert.equal(sslHelloType(SSLV2.subarray(0, k)), k === 0 ? TLS_NEED_MORE : TLS_NO_MATCH);
  }
  // With a session id of 16.
  const sid = hx('803e 01 0301 0015 0010 0010' + SSLV2_CIPHERS + 'aa'.repeat(16) + SSLV2_CHALLENGE);
  const hs2 = ok(parseClientHello(sid));
  assert.equal(sid.subarray(hs2.sessionIdOffset, hs2.sessionIdOffset + 16).toString('hex'), 'aa'.repeat(16));
  // Malformed SSLv2: each check of smp_fetch_req_ssl_ver, and ours.
  const v2 = (ci: number, si: number, ch: number, rlen = 9 + ci + si + ch): Buffer =>
    Buffer.concat([u16(0x8000 | rlen), hx('01 0301'), u16(ci), u16(si), u16(ch), Buffer.alloc(ci + si + ch, 7)]);
  assert.equal(bad(v2(20, 0, 16)), HELLO_ERR_CIPHERS);
  assert.equal(reqSslVer(v2(20, 0, 16)), TLS_NO_MATCH);
  assert.equal(bad(v2(0, 0, 16)), HELLO_ERR_CIPHERS);
  assert.equal(bad(v2(21, 8, 16)), HELLO_ERR_SESSION_ID);
  assert.equal(reqSslVer(v2(21, 8, 16)), TLS_NO_MATCH);
  assert.equal(bad(v2(21, 0, 15)), HELLO_ERR_SSLV2);
  assert.equal(reqSslVer(v2(21, 0, 33)), TLS_NO_MATCH);
  assert.equal(bad(v2(21, 0, 16, 50)), HELLO_ERR_SSLV2);
  assert.equal(reqSslVer(v2(21, 0, 16, 50)), TLS_NO_MATCH);
  assert.equal(bad(hx('802e 02 0301')), HELLO_ERR_RECORD_TYPE);
  assert.equal(bad(hx('802e 01 0401')), HELLO_ERR_VERSION);
  assert.equal(bad(hx('802e 01 0003')), HELLO_ERR_VERSION);
  assert.equal(ok(parseClientHello(hx('802e 01 0002 0015 0000 0010' + SSLV2_CIPHERS + SSLV2_CHALLENGE))).version, 2);
  assert.equal(bad(hx('8005')), HELLO_ERR_SSLV2);
});

/* ---------------- HAProxy's waiting rules ---------------- */

test('req.ssl_hello_type waits for 9 + handshake length bytes, not for the record', () => {
  const buf = hello({ exts: STD() });
  for (let k = 0; k < buf.length; k++) assert.equal(sslHelloType(buf.subarray(0, k)), TLS_NEED_MORE, `prefix ${k}`);
  assert.equal(sslHelloType(buf), 1);
  // Fragmented: handshake length beyond the first record; HAProxy still answers 1 once enough bytes (any) are there.
  const frag = fragmented(hs(body({ exts: STD() })), 60);
  assert.equal(sslHelloType(frag.subarray(0, frag.length - 6)), TLS_NEED_MORE);
  assert.equal(sslHelloType(frag.subarray(0, frag.length - 5)), 1);
  assert.equal(sslHelloType(hx('16 0203 0004 01000000')), TLS_NO_MATCH); // record version < 3.0
  assert.equal(sslHelloType(hx('16 0301 0003 01000000')), TLS_NO_MATCH); // record too short for a handshake header
  assert.equal(sslHelloType(hx('ff 0300 0004 07000000')), 7); // 0xFF is accepted as in HAProxy
  assert.equal(sslHelloType(hx('18 0301 0004 01000000')), TLS_NO_MATCH); // heartbeat (24) is not
});

test('req.ssl_ver waits for the whole first record, capped at the first read limit', () => {
  const buf = hello({ exts: STD() });
  for (let k = 0; k < buf.length; k++) assert.equal(reqSslVer(buf.subarray(0, k)), TLS_NEED_MORE, `prefix ${k}`);
  assert.equal(reqSslVer(buf), 0x00030003);
  assert.equal(reqSslVer(hx('16 0301 0005 010000010303')), TLS_NO_MATCH); // record < 6
  assert.equal(reqSslVer(Buffer.concat([hx('16 0301'), u16(16384 + 2049), hx('010000000303')])), TLS_NO_MATCH);
  // A 2^14+2048 record: HAProxy stops waiting at bufsize - maxrewrite.
  const big = Buffer.concat([hx('16 0303'), u16(16384 + 2048), hx('010047fd0302'), Buffer.alloc(15360 - 6)]);
  assert.equal(reqSslVer(big.subarray(0, big.length - 1)), TLS_NEED_MORE);
  assert.equal(reqSslVer(big), 0x00030002);
  assert.equal(reqSslVer(big.subarray(0, 5 + 100), 100), 0x00030002);
});

/* ---------------- malformed inputs ---------------- */

test('each malformation has its code, and none throws', () => {
  assert.equal(bad(hx('17')), HELLO_ERR_RECORD_TYPE);
  assert.equal(bad(Buffer.from('SSH-2.0-OpenSSH_9.2\r\n')), HELLO_ERR_RECORD_TYPE);
  assert.equal(bad(hx('1602')), HELLO_ERR_RECORD_VERSION);
  assert.equal(bad(hx('16 0301 0000')), HELLO_ERR_RECORD_LENGTH);
  assert.equal(bad(hx('16 0301 4001')), HELLO_ERR_RECORD_LENGTH);
  assert.equal(bad(hx('16 0301 0100 02')), HELLO_ERR_NOT_CLIENT_HELLO);
  assert.equal(bad(hx('16 0301 0100 01 0000fd')), HELLO_ERR_FRAGMENTED);
  assert.equal(bad(hx('16 0301 0100 01 0000fb')), HELLO_ERR_TRAILING);
  assert.equal(bad(record(hs(hx('0303')))), HELLO_ERR_SHORT);
  assert.equal(bad(hello({ version: 0x0203 })), HELLO_ERR_VERSION);
  assert.equal(bad(hello({ version: 0x0401, exts: [sniExt('a')] })), HELLO_ERR_VERSION);
  assert.equal(bad(record(hs(Buffer.concat([body({ sid: 0 }).subarray(0, 34), hx('21'), Buffer.alloc(40)])))), HELLO_ERR_SESSION_ID);
  assert.equal(bad(record(hs(Buffer.concat([body({ sid: 0 }).subarray(0, 34), hx('08'), Buffer.alloc(4)])))), HELLO_ERR_SESSION_ID);
  assert.equal(bad(hello({ ciphers: '' })), HELLO_ERR_CIPHERS);
  assert.equal(bad(hello({ ciphers: '130113' })), HELLO_ERR_CIPHERS);
  assert.equal(bad(record(hs(Buffer.concat([body({ sid: 0 }).subarray(0, 35), hx('0010 1301')])))), HELLO_ERR_CIPHERS);
  assert.equal(bad(record(hs(body({ sid: 0 }).subarray(0, 43)))), HELLO_ERR_COMPRESSION);
  assert.equal(bad(hello({ comp: '' })), HELLO_ERR_COMPRESSION);
  assert.equal(bad(record(hs(Buffer.concat([body({ sid: 0 }).subarray(0, 43), hx('0300')])))), HELLO_ERR_COMPRESSION);
  assert.equal(bad(record(hs(Buffer.concat([body(), hx('00')])))), HELLO_ERR_EXTENSIONS); // 1 byte of extension block length
  assert.equal(bad(hello({ exts: [sniExt('a.b')], extLen: 5 })), HELLO_ERR_TRAILING);
  assert.equal(bad(hello({ exts: [hx('0000 0005 0003 00')] })), HELLO_ERR_EXTENSIONS); // extension overruns the block
  assert.equal(bad(hello({ exts: [hx('0017')] })), HELLO_ERR_EXTENSIONS); // half an extension header
  assert.equal(bad(hello({ exts: [groupsExt(), groupsExt()] })), HELLO_ERR_DUP_EXTENSION);
  assert.equal(bad(hello({ exts: [alpnExt('h2'), alpnExt('h2')] })), HELLO_ERR_DUP_EXTENSION);
  assert.equal(bad(hello({ exts: [stExt(), stExt()] })), HELLO_ERR_DUP_EXTENSION);
  // server_name
  assert.equal(bad(hello({ exts: [ext(0, hx('00'))] })), HELLO_ERR_SNI);
  assert.equal(bad(hello({ exts: [ext(0, hx('0000'))] })), HELLO_ERR_SNI); // empty list
  assert.equal(bad(hello({ exts: [ext(0, hx('0009 00 0003 616263'))] })), HELLO_ERR_SNI); // list longer than the extension
  assert.equal(bad(hello({ exts: [ext(0, hx('0006 00 0009 616263'))] })), HELLO_ERR_SNI); // host_name past the list
  assert.equal(bad(hello({ exts: [ext(0, hx('0007 00 0003 616263 00'))] })), HELLO_ERR_SNI); // half an entry
  // ALPN
  assert.equal(bad(hello({ exts: [ext(16, hx('0000'))] })), HELLO_ERR_ALPN);
  assert.equal(bad(hello({ exts: [ext(16, hx('0004 02 6832'))] })), HELLO_ERR_ALPN);
  assert.equal(bad(hello({ exts: [ext(16, hx('0003 05 6832'))] })), HELLO_ERR_ALPN);
  // lists
  assert.equal(bad(hello({ exts: [ext(43, hx('03 030403'))] })), HELLO_ERR_EXT_LIST);
  assert.equal(bad(hello({ exts: [ext(43, hx('00'))] })), HELLO_ERR_EXT_LIST);
  assert.equal(bad(hello({ exts: [ext(43, hx('04 0304'))] })), HELLO_ERR_EXT_LIST);
  assert.equal(bad(hello({ exts: [ext(13, hx('0003 040308'))] })), HELLO_ERR_EXT_LIST);
  assert.equal(bad(hello({ exts: [ext(10, hx('0000'))] })), HELLO_ERR_EXT_LIST);
  assert.equal(bad(hello({ exts: [ext(10, hx('0004 001d'))] })), HELLO_ERR_EXT_LIST);
});

test('malformed hellos are refused as soon as the header says so, without waiting for the record', () => {
  // A ServerHello, a fragmented hello, bytes after the hello: refused with 6 / 9 bytes.
  assert.equal(parseClientHello(hx('16 0303 0200 02')).status, 'invalid');
  assert.equal(parseClientHello(hx('16 0303 0200 01 000300')).status, 'invalid');
  assert.equal(parseClientHello(hx('16 0303 0200 01 0001fb')).status, 'invalid');
  // A good header with a body still missing: need-more, however wrong the body will be.
  assert.deepEqual(parseClientHello(hx('16 0303 0200 01 0001fc 02')), { status: 'need-more', needed: 5 + 0x200 });
});

test('random mutations and truncations: always one of the three outcomes, bounded, never a throw', () => {
  const rand = rng(12345);
  const seeds = [NODE_ALPN, OPENSSL_TLS13, hello({ exts: STD() }), SSLV2];
  let n = 0;
  for (let i = 0; i < 20000; i++) {
    const src = seeds[i % seeds.length]!;
    const m = Buffer.from(src);
    const flips = 1 + Math.floor(rand() * 3);
    for (let f = 0; f < flips; f++) m[Math.floor(rand() * m.length)] = Math.floor(rand() * 256);
    const cut = rand() < 0.3 ? Math.floor(rand() * m.length) : m.length;
    const b = m.subarray(0, cut);
    const r = parseClientHello(b);
    if (r.status === 'ok') {
      n++;
      assert.ok(r.length <= b.length);
      for (const [o, l] of [[r.alpnOffset, r.alpnLength], [r.sigAlgsOffset, r.sigAlgsLength], [r.groupsOffset, r.groupsLength], [r.supportedVersionsOffset, r.supportedVersionsLength], [r.extensionsOffset, r.extensionsLength]] as const) {
        if (o >= 0) assert.ok(o + l <= r.length);
      }
      alpnProtocols(b, r);
      supportedVersions(b, r);
    } else if (r.status === 'need-more') {
      assert.ok(r.needed > b.length);
    } else {
      assert.ok(r.code >= 1 && r.code < HELLO_ERROR_MESSAGES.length);
    }
    const t = sslHelloType(b);
    assert.ok(t >= 0 || t === TLS_NEED_MORE || t === TLS_NO_MATCH);
    const v = reqSslVer(b);
    assert.ok(v >= 0 || v === TLS_NEED_MORE || v === TLS_NO_MATCH);
  }
  assert.ok(n > 0, 'some mutations (random bytes, session ids) stay valid');
});

test('a hello of 2^14 bytes, the most one record holds, parses; one more byte is refused', () => {
  const pad = (total: number): Buffer => {
    const fixed = hello({ exts: [sniExt('big.example'), ext(21, Buffer.alloc(0))] }).length;
    return hello({ exts: [sniExt('big.example'), ext(21, Buffer.alloc(total - fixed))] });
  };
  const max = pad(5 + 16384);
  assert.equal(ok(parseClientHello(max)).sni, 'big.example');
  assert.equal(bad(pad(5 + 16385)), HELLO_ERR_RECORD_LENGTH);
});

/* ---------------- looksLikeTls ---------------- */

test('looksLikeTls tells TLS from HTTP, SSH, PROXY and the rest on the first bytes', () => {
  assert.equal(looksLikeTls(NODE_ALPN), 1);
  assert.equal(looksLikeTls(NODE_ALPN.subarray(0, 6)), 1);
  for (let k = 0; k < 6; k++) assert.equal(looksLikeTls(NODE_ALPN.subarray(0, k)), TLS_NEED_MORE, `prefix ${k}`);
  assert.equal(looksLikeTls(SSLV2.subarray(0, 4)), 1);
  for (let k = 0; k < 4; k++) assert.equal(looksLikeTls(SSLV2.subarray(0, k)), TLS_NEED_MORE, `SSLv2 prefix ${k}`);
  for (const s of ['GET / HTTP/1.1\r\n', 'PRI * HTTP/2.0\r\n', 'SSH-2.0-OpenSSH_9.2\r\n', 'PROXY TCP4 ', 'EHLO x\r\n', '\r\n\r\n\0\r\nQUIT\n'])
    assert.equal(looksLikeTls(Buffer.from(s, 'latin1').subarray(0, 1)), 0, s);
  assert.equal(looksLikeTls(hx('16 0303 0040 02')), 0); // ServerHello
  assert.equal(looksLikeTls(hx('16 0305')), 0);
  assert.equal(looksLikeTls(hx('16 0303 0000')), 0);
  assert.equal(looksLikeTls(hx('16 0303 4001')), 0);
  assert.equal(looksLikeTls(hx('15 0303 0002 0228')), 0); // alert
  assert.equal(looksLikeTls(hx('802e 02')), 0);
  assert.equal(looksLikeTls(hx('802e 01 0401')), 0);
});
