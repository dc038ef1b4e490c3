/**
 * PROXY protocol reader and builders (engine/proxy-protocol.ts): valid v1
 * and v2 headers of every family and command, each class of malformed
 * header with the error HAProxy reports for it, every split of a header
 * across two reads and byte-by-byte delivery, the TLV checks, CRC32C, and
 * the builders against bytes captured from haproxy 2.6.12.
 *
 * The HAPROXY_* vectors were captured with haproxy 2.6.12 (Debian
 * 2.6.12-1+deb12u4): frontends `bind 127.0.0.1:N accept-proxy` whose backend
 * has one `server s 127.0.0.1:21100 <options>`, a node listener on 21100
 * printing in hex what each connection brought. Each client sent a PROXY
 * header for 192.0.2.1:12345 → 198.51.100.2:443 (v1 TCP4, v1 TCP6 with
 * 2001:db8::1 → 2001:db8::2, or v2 TCP4 with an AUTHORITY TLV
 * `example.com`), then `hello`, so haproxy's header is deterministic.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ProxyHeaderReader, parseProxyHeader, buildProxyV1, buildProxyV2, crc32c, parseIPv6, formatIPv6, parseIPv4,
  PP_ERR_NOT_HDR, PP_ERR_BAD_HDR, PP_ERR_BAD_PROTO, PP2_OPTION_NAMES, type ProxyHeader, type ProxyEndpoints,
} from '../src/engine/proxy-protocol';

const SIG = '0d0a0d0a000d0a515549540a';

function hx(s: string): Buffer { return Buffer.from(s.replace(/\s+/g, ''), 'hex'); }

/** A v2 header: command/version byte, family byte, body (addresses + TLVs). */
function v2(verCmd: number, fam: number, body: Buffer, len = body.length): Buffer {
  const h = Buffer.alloc(16);
  hx(SIG).copy(h);
  h[12] = verCmd; h[13] = fam; h.writeUInt16BE(len, 14);
  return Buffer.concat([h, body]);
}

function tlv(type: number, value: Buffer | string): Buffer {
  const v = typeof value === 'string' ? Buffer.from(value) : value;
  const t = Buffer.alloc(3);
  t[0] = type; t.writeUInt16BE(v.length, 1);
  return Buffer.concat([t, v]);
}

const ADDR4 = hx('c0000201 c6336402 3039 01bb'); // 192.0.2.1 198.51.100.2 12345 443
const ADDR6 = hx('20010db8000000000000000000000001 20010db8000000000000000000000002 3039 01bb');

/** Insert a CRC32C TLV (computed over the whole header) as the first TLV after `addrLen` address bytes. */
function withCrc(verCmd: number, fam: number, addr: Buffer, tlvs: Buffer[]): Buffer {
  const h = v2(verCmd, fam, Buffer.concat([addr, tlv(3, Buffer.alloc(4)), ...tlvs]));
  h.writeUInt32BE(crc32c(h), 16 + addr.length + 3);
  return h;
}

function ok(buf: Buffer): { header: ProxyHeader; length: number } {
  const r = parseProxyHeader(buf);
  assert.ok(r !== 'partial' && 'header' in r, `expected a header, got ${JSON.stringify(r)} for ${buf.toString('hex')}`);
  return r;
}

function err(buf: Buffer): number {
  const r = parseProxyHeader(buf);
  assert.ok(r !== 'partial' && 'error' in r, `expected an error, got ${r === 'partial' ? 'partial' : 'a header'} for ${JSON.stringify(buf.toString('latin1'))}`);
  return r.error;
}

/* ---------------- CRC32C ---------------- */

test('CRC32C: the standard check value and RFC 3720 B.4 vectors', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.equal(crc32c(Buffer.alloc(32)), 0x8a9136aa);
  assert.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43);
  assert.equal(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => i))), 0x46dd794e);
  assert.equal(crc32c(Buffer.alloc(0)), 0);
});

/* ---------------- addresses ---------------- */

test('IPv4 text: canonical dotted quads only', () => {
  assert.deepEqual([...parseIPv4('0.0.0.0')!], [0, 0, 0, 0]);
  assert.deepEqual([...parseIPv4('255.255.255.255')!], [255, 255, 255, 255]);
  for (const bad of ['01.2.3.4', '1.2.3.04', '256.1.1.1', '1.2.3', '1.2.3.4.5', '1..2.3', '.1.2.3', '1.2.3.4.', '', 'a.b.c.d', '1.2.3.4 ', '0000.1.1.1']) {
    assert.equal(parseIPv4(bad), null, bad);
  }
});

test('IPv6 text: inet_pton forms in, inet_ntop forms out', () => {
  const round = (s: string): string | null => { const b = parseIPv6(s); return b === null ? null : formatIPv6(b, 0); };
  assert.equal(round('::'), '::');
  assert.equal(round('::1'), '::1');
  assert.equal(round('1::'), '1::');
  assert.equal(round('2001:DB8:0:0:0:0:0:1'), '2001:db8::1');
  assert.equal(round('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1'); // first of two equal runs
  assert.equal(round('2001:0:0:1:0:0:0:1'), '2001:0:0:1::1'); // longest run
  assert.equal(round('1:0:2:3:4:5:6:7'), '1:0:2:3:4:5:6:7'); // a single zero group stays
  assert.equal(round('::ffff:1.2.3.4'), '::ffff:1.2.3.4');
  assert.equal(round('::ffff:0102:0304'), '::ffff:1.2.3.4');
  assert.equal(round('::1.2.3.4'), '::1.2.3.4');
  assert.equal(round('1:2:3:4:5:6:1.2.3.4'), '1:2:3:4:5:6:102:304');
  assert.equal(round('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'), 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff');
  assert.equal(round('1:2:3:4:5:6:7::'), '1:2:3:4:5:6:7:0');
  for (const bad of [':', ':1', '1:', ':::', '1:::2', '1::2::3', '12345::', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '1::2:3:4:5:6:7:8',
    'g::', '::1.2.3', '::01.2.3.4', '1:2:3:4:5:6:7:1.2.3.4', '1.2.3.4', '', '::%eth0', 'fe80::1%lo']) {
    assert.equal(parseIPv6(bad), null, bad);
  }
  // Node prints addresses the same way (libuv's inet_ntop).
  for (const s of ['2001:db8::1', '::ffff:127.0.0.1', '::1', '1:0:0:1::1']) assert.equal(round(s), s);
});

/* ---------------- valid headers ---------------- */

test('v1 TCP4, TCP6, UNKNOWN', () => {
  let r = ok(Buffer.from('PROXY TCP4 192.0.2.1 198.51.100.2 12345 443\r\nGET /'));
  assert.equal(r.length, 45);
  assert.deepEqual(
    [r.header.version, r.header.proxied, r.header.family, r.header.srcIp, r.header.srcPort, r.header.dstIp, r.header.dstPort],
    [1, true, 4, '192.0.2.1', 12345, '198.51.100.2', 443]);
  r = ok(Buffer.from('PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n'));
  assert.deepEqual([r.header.srcIp, r.header.srcPort, r.header.dstIp, r.header.dstPort], ['0.0.0.0', 0, '255.255.255.255', 65535]);
  r = ok(Buffer.from('PROXY TCP6 2001:DB8:0:0:0:0:0:1 ::ffff:198.51.100.2 12345 443\r\n'));
  assert.deepEqual([r.header.family, r.header.srcIp, r.header.dstIp], [6, '2001:db8::1', '::ffff:198.51.100.2']);
  r = ok(Buffer.from('PROXY UNKNOWN\r\nxyz'));
  assert.equal(r.length, 15);
  assert.equal(r.header.proxied, false);
  // Spec 2.1: after UNKNOWN the receiver ignores the rest of the line (HAProxy 2.6 refuses it).
  const worst = 'PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n';
  assert.equal(worst.length, 107);
  r = ok(Buffer.from(worst));
  assert.equal(r.length, 107);
  assert.equal(r.header.proxied, false);
  // The longest TCP6 line.
  const l6 = 'PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n';
  assert.equal(ok(Buffer.from(l6)).length, 104);
});

test('v2 PROXY over IPv4 and IPv6, LOCAL, and the families that keep the real addresses', () => {
  let r = ok(Buffer.concat([v2(0x21, 0x11, ADDR4), Buffer.from('data')]));
  assert.equal(r.length, 28);
  assert.deepEqual(
    [r.header.version, r.header.proxied, r.header.family, r.header.srcIp, r.header.srcPort, r.header.dstIp, r.header.dstPort],
    [2, true, 4, '192.0.2.1', 12345, '198.51.100.2', 443]);
  r = ok(v2(0x21, 0x21, ADDR6));
  assert.deepEqual([r.header.family, r.header.srcIp, r.header.dstIp, r.header.dstPort], [6, '2001:db8::1', '2001:db8::2', 443]);
  // LOCAL: the block is skipped unread, whatever it holds (spec 2.2, HAProxy).
  r = ok(v2(0x20, 0x00, Buffer.alloc(0)));
  assert.equal(r.length, 16);
  assert.equal(r.header.proxied, false);
  r = ok(v2(0x20, 0x77, Buffer.from('junk that is not TLVs')));
  assert.equal(r.header.proxied, false);
  assert.equal(r.length, 16 + 21);
  // PROXY with AF_UNSPEC, AF_UNIX, UDP: accepted, addresses not used.
  assert.equal(ok(v2(0x21, 0x00, Buffer.alloc(0))).header.proxied, false);
  assert.equal(ok(v2(0x21, 0x00, tlv(4, 'pad'))).header.proxied, false);
  assert.equal(ok(v2(0x21, 0x31, Buffer.alloc(216))).header.proxied, false);
  assert.equal(ok(v2(0x21, 0x32, Buffer.alloc(216))).header.proxied, false);
  assert.equal(ok(v2(0x21, 0x12, ADDR4)).header.proxied, false);
  assert.equal(ok(v2(0x21, 0x22, ADDR6)).header.proxied, false);
  // Extra address bytes are not allowed: the rest must be TLVs (here a NOOP).
  assert.equal(ok(v2(0x21, 0x11, Buffer.concat([ADDR4, tlv(4, '')]))).length, 16 + 12 + 3);
});

test('v2 TLVs: known ones kept, NOOP and custom ones skipped, CRC32C verified', () => {
  const ssl = Buffer.concat([hx('07 00000000'), tlv(0x21, 'TLSv1.3'), tlv(0x22, 'client.example'), tlv(0x23, 'TLS_AES_128_GCM_SHA256'),
    tlv(0x24, 'SHA256'), tlv(0x25, 'RSA2048'), tlv(0x29, 'unknown sub-TLV')]);
  const h = withCrc(0x21, 0x11, ADDR4, [
    tlv(1, 'h2'), tlv(2, 'example.com'), tlv(4, Buffer.alloc(10)), tlv(5, Buffer.alloc(128, 0x41)), tlv(0x20, ssl),
    tlv(0x30, 'blue'), tlv(0xe0, 'custom'), tlv(0xf8, ''),
  ]);
  const r = ok(h);
  assert.equal(r.length, h.length);
  assert.equal(r.header.crc32c, true);
  assert.equal(r.header.alpn!.toString(), 'h2');
  assert.equal(r.header.authority!.toString(), 'example.com');
  assert.equal(r.header.uniqueId!.length, 128);
  assert.equal(r.header.netns, 'blue');
  assert.deepEqual(r.header.ssl, {
    client: 7, verify: 0, version: 'TLSv1.3', cn: 'client.example', cipher: 'TLS_AES_128_GCM_SHA256', sigAlg: 'SHA256', keyAlg: 'RSA2048',
  });
  // Empty values and the limits themselves.
  const e = ok(v2(0x21, 0x11, Buffer.concat([ADDR4, tlv(2, Buffer.alloc(255, 0x61)), tlv(5, '')])));
  assert.equal(e.header.authority!.length, 255);
  assert.equal(e.header.uniqueId!.length, 0);
  // A CRC32C TLV anywhere among the TLVs.
  const late = v2(0x21, 0x21, Buffer.concat([ADDR6, tlv(4, 'x'), tlv(3, Buffer.alloc(4))]));
  late.writeUInt32BE(crc32c(late), late.length - 4);
  assert.equal(ok(late).header.crc32c, true);
});

/* ---------------- malformed headers ---------------- */

test('v1: every malformed class is refused with HAProxy\'s error', () => {
  const cases: Array<[string, number]> = [
    ['GET / HTTP/1.1\r\n\r\n', PP_ERR_NOT_HDR],
    ['PROXX TCP4 1.2.3.4 1.2.3.5 1 2\r\n', PP_ERR_NOT_HDR],
    ['PROXY\tTCP4 1.2.3.4 1.2.3.5 1 2\r\n', PP_ERR_NOT_HDR],
    ['proxy TCP4 1.2.3.4 1.2.3.5 1 2\r\n', PP_ERR_NOT_HDR],
    ['PROXY TCP5 1.2.3.4 1.2.3.5 1 2\r\n', PP_ERR_BAD_PROTO],
    ['PROXY UDP4 1.2.3.4 1.2.3.5 1 2\r\n', PP_ERR_BAD_PROTO],
    ['PROXY tcp4 1.2.3.4 1.2.3.5 1 2\r\n', PP_ERR_BAD_PROTO],
    ['PROXY TCP4\r\n', PP_ERR_BAD_PROTO],
    ['PROXY  TCP4 1.2.3.4 1.2.3.5 1 2\r\n', PP_ERR_BAD_PROTO],
    ['PROXY UNKNOWNX\r\n', PP_ERR_BAD_PROTO],
    ['PROXY UNKNOWN\n', PP_ERR_BAD_PROTO],
    ['PROXY \r\n', PP_ERR_BAD_PROTO],
    ['PROXY TCP4 1.2.3.4  1.2.3.5 1 2\r\n', PP_ERR_BAD_HDR],
    ['PROXY TCP4 1.2.3.4 1.2.3.5 1 2 \r\n', PP_ERR_BAD_HDR],
    ['PROXY TCP4 1.2.3.4 1.2.3.5 1\r\n', PP_ERR_BAD_HDR],
    ['PROXY TCP4 1.2.3.4 1.2.3.5 1 2 3\r\n', PP_ERR_BAD_HDR],
    ['PROXY TCP4  1.2.3.4 1.2.3.5 1 2\r\n', PP_ERR_BAD_HDR],
    ['PROXY TCP4 01.2.3.4 1.2.3.5 1 2\r\n', PP_ERR_BAD_HDR],
    ['PROXY TCP4 256.2.3.4 1.2.3.5 1 2\r\n', PP_ERR_BAD_HDR],
    ['PROXY TCP4 1.2.3 1.2.3.5 1 2\r\n', PP_ERR_BAD_HDR],
    ['PROXY TCP4 1.2.3.4 1.2.3.5 01 2\r\n', PP_ERR_BAD_HDR],
    ['PROXY TCP4 1.2.3.4 1.2.3.5 1 65536\r\n', PP_ERR_BAD_HDR],
    ['PROXY TCP4 1.2.3.4 1.2.3.5 1 99999\r\n', PP_ERR_BAD_HDR],
    ['PROXY TCP4 1.2.3.4 1.2.3.5 -1 2\r\n', PP_ERR_BAD_HDR],
    ['PROXY TCP4 ::1 ::1 1 2\r\n', PP_ERR_BAD_HDR],
    ['PROXY TCP4 a.b.c.d 1.2.3.5 1 2\r\n', PP_ERR_BAD_HDR],
    ['PROXY TCP6 1.2.3.4 1.2.3.5 1 2\r\n', PP_ERR_BAD_HDR],
    ['PROXY TCP6 ::1 1::2::3 1 2\r\n', PP_ERR_BAD_HDR],
    ['PROXY TCP6 ::1 ::g 1 2\r\n', PP_ERR_BAD_HDR],
    ['PROXY TCP6 ::1 ::1%lo 1 2\r\n', PP_ERR_BAD_HDR],
    ['PROXY TCP4 1.2.3.4 1.2.3.5 1 2\n', PP_ERR_BAD_HDR],
    ['PROXY TCP4 1.2.3.4 1.2.3.5 1 2\r\r\n', PP_ERR_BAD_HDR],
    ['PROXY TCP4 1.2.3.4\r1.2.3.5 1 2\r\n', PP_ERR_BAD_HDR],
    ['PROXY TCP4 1.2.3.4 1.2.3.5 1 2\0\r\n', PP_ERR_BAD_HDR],
    ['PROXY UNKNOWN ' + 'x'.repeat(100) + '\r\n', PP_ERR_BAD_HDR],
    ['PROXY UNKNOWN \r\rx\r\n', PP_ERR_BAD_HDR],
  ];
  for (const [text, code] of cases) assert.equal(err(Buffer.from(text, 'latin1')), code, JSON.stringify(text));
});

test('v1: a line without CRLF in 107 bytes is refused at the 107th byte', () => {
  const r = new ProxyHeaderReader();
  const line = Buffer.from('PROXY UNKNOWN ' + 'x'.repeat(200));
  for (let i = 0; i < 106; i++) assert.equal(r.feed(line.subarray(i, i + 1)), 0, `byte ${i}`);
  assert.equal(r.feed(line.subarray(106, 107)), -PP_ERR_BAD_HDR);
});

test('v1: impossible bytes are refused as soon as they arrive', () => {
  const early = (text: string, at: number, code: number): void => {
    const r = new ProxyHeaderReader();
    const b = Buffer.from(text, 'latin1');
    for (let i = 0; i < at; i++) assert.equal(r.feed(b.subarray(i, i + 1)), 0, `${JSON.stringify(text)} byte ${i}`);
    assert.equal(r.feed(b.subarray(at, at + 1)), -code, JSON.stringify(text));
  };
  early('G', 0, PP_ERR_NOT_HDR);
  early('PROXZ', 4, PP_ERR_NOT_HDR);
  early('PROXY TCP7', 9, PP_ERR_BAD_PROTO);
  early('PROXY TCP4 1.2.x', 15, PP_ERR_BAD_HDR);
  early('PROXY TCP6 fe80:z', 16, PP_ERR_BAD_HDR);
  early('PROXY TCP4 1.2.3.4\n', 18, PP_ERR_BAD_HDR);
  early('PROXY TCP4 1.2.3.4\rx', 19, PP_ERR_BAD_HDR);
});

test('v2: every malformed class is refused with HAProxy\'s error', () => {
  const badSig = v2(0x21, 0x11, ADDR4); badSig[6] = 0x0b;
  const cases: Array<[string, Buffer, number]> = [
    ['bad signature', badSig, PP_ERR_NOT_HDR],
    ['signature of another protocol', Buffer.from('\r\nGET / HTTP/1.1\r\n\r\n'), PP_ERR_NOT_HDR],
    ['version 1', v2(0x11, 0x11, ADDR4), PP_ERR_NOT_HDR],
    ['version 3', v2(0x31, 0x11, ADDR4), PP_ERR_NOT_HDR],
    ['command 2', v2(0x22, 0x11, ADDR4), PP_ERR_BAD_HDR],
    ['command 15', v2(0x2f, 0x11, ADDR4), PP_ERR_BAD_HDR],
    ['family 4', v2(0x21, 0x41, ADDR4), PP_ERR_BAD_HDR],
    ['transport 3', v2(0x21, 0x13, ADDR4), PP_ERR_BAD_HDR],
    ['INET with UNSPEC transport', v2(0x21, 0x10, ADDR4), PP_ERR_BAD_HDR],
    ['UNSPEC with STREAM transport', v2(0x21, 0x01, Buffer.alloc(0)), PP_ERR_BAD_HDR],
    ['length shorter than IPv4 addresses', v2(0x21, 0x11, ADDR4.subarray(0, 11)), PP_ERR_BAD_HDR],
    ['length shorter than IPv6 addresses', v2(0x21, 0x21, ADDR6.subarray(0, 35)), PP_ERR_BAD_HDR],
    ['length shorter than UNIX addresses', v2(0x21, 0x31, Buffer.alloc(215)), PP_ERR_BAD_HDR],
    ['longer than 16384 bytes', v2(0x21, 0x11, Buffer.alloc(0), 16369), PP_ERR_BAD_HDR],
    ['TLV header cut', v2(0x21, 0x11, Buffer.concat([ADDR4, hx('0400')])), PP_ERR_BAD_HDR],
    ['one stray byte', v2(0x21, 0x11, Buffer.concat([ADDR4, hx('04')])), PP_ERR_BAD_HDR],
    ['TLV value past the end', v2(0x21, 0x11, Buffer.concat([ADDR4, hx('040005 0000')])), PP_ERR_BAD_HDR],
    ['UNSPEC TLV past the end', v2(0x21, 0x00, hx('020010 61')), PP_ERR_BAD_HDR],
    ['CRC32C of 3 bytes', v2(0x21, 0x11, Buffer.concat([ADDR4, tlv(3, Buffer.alloc(3))])), PP_ERR_BAD_HDR],
    ['CRC32C of 5 bytes', v2(0x21, 0x11, Buffer.concat([ADDR4, tlv(3, Buffer.alloc(5))])), PP_ERR_BAD_HDR],
    ['CRC32C mismatch', (() => { const h = withCrc(0x21, 0x11, ADDR4, [tlv(2, 'a')]); h[h.length - 1] ^= 1; return h; })(), PP_ERR_BAD_HDR],
    ['CRC32C wrong', (() => { const h = withCrc(0x21, 0x11, ADDR4, []); h[h.length - 1] ^= 0x80; return h; })(), PP_ERR_BAD_HDR],
    ['two CRC32C', (() => {
      const h = v2(0x21, 0x11, Buffer.concat([ADDR4, tlv(3, Buffer.alloc(4)), tlv(3, Buffer.alloc(4))]));
      const c = crc32c(h); h.writeUInt32BE(c, 31); h.writeUInt32BE(c, 38); return h;
    })(), PP_ERR_BAD_HDR],
    ['AUTHORITY of 256 bytes', v2(0x21, 0x11, Buffer.concat([ADDR4, tlv(2, Buffer.alloc(256, 0x61))])), PP_ERR_BAD_HDR],
    ['UNIQUE_ID of 129 bytes', v2(0x21, 0x11, Buffer.concat([ADDR4, tlv(5, Buffer.alloc(129))])), PP_ERR_BAD_HDR],
    ['two AUTHORITY', v2(0x21, 0x11, Buffer.concat([ADDR4, tlv(2, 'a'), tlv(2, 'b')])), PP_ERR_BAD_HDR],
    ['two ALPN', v2(0x21, 0x11, Buffer.concat([ADDR4, tlv(1, 'h2'), tlv(1, 'h2')])), PP_ERR_BAD_HDR],
    ['SSL shorter than 5 bytes', v2(0x21, 0x11, Buffer.concat([ADDR4, tlv(0x20, hx('01000000'))])), PP_ERR_BAD_HDR],
    ['SSL sub-TLV past the SSL TLV', v2(0x21, 0x11, Buffer.concat([ADDR4, tlv(0x20, hx('01 00000000 210009 544c53'))])), PP_ERR_BAD_HDR],
    ['SSL sub-TLV header cut', v2(0x21, 0x11, Buffer.concat([ADDR4, tlv(0x20, hx('01 00000000 21'))])), PP_ERR_BAD_HDR],
  ];
  for (const [what, buf, code] of cases) assert.equal(err(buf), code, what);
});

test('v2: impossible bytes are refused as soon as they arrive', () => {
  const at = (buf: Buffer, n: number, code: number, what: string): void => {
    const r = new ProxyHeaderReader();
    for (let i = 0; i < n; i++) assert.equal(r.feed(buf.subarray(i, i + 1)), 0, `${what}: byte ${i}`);
    assert.equal(r.feed(buf.subarray(n, n + 1)), -code, what);
  };
  const sig = v2(0x21, 0x11, ADDR4); sig[11] = 0;
  at(sig, 11, PP_ERR_NOT_HDR, 'last signature byte');
  at(v2(0x12, 0x11, ADDR4), 12, PP_ERR_NOT_HDR, 'version');
  at(v2(0x23, 0x11, ADDR4), 12, PP_ERR_BAD_HDR, 'command');
  at(v2(0x21, 0x51, ADDR4), 13, PP_ERR_BAD_HDR, 'family');
  at(v2(0x21, 0x11, ADDR4, 11), 15, PP_ERR_BAD_HDR, 'length');
  at(v2(0x21, 0x11, ADDR4, 0xffff), 15, PP_ERR_BAD_HDR, 'length');
});

/* ---------------- incremental delivery ---------------- */

const VALID: Array<[string, Buffer]> = [
  ['v1 TCP4', Buffer.from('PROXY TCP4 192.0.2.1 198.51.100.2 12345 443\r\n')],
  ['v1 TCP6', Buffer.from('PROXY TCP6 2001:db8::1 ::ffff:198.51.100.2 12345 443\r\n')],
  ['v1 UNKNOWN', Buffer.from('PROXY UNKNOWN\r\n')],
  ['v1 UNKNOWN long', Buffer.from('PROXY UNKNOWN 1.2.3.4 5.6.7.8 1 2\r\n')],
  ['v2 IPv4', v2(0x21, 0x11, ADDR4)],
  ['v2 IPv6 TLVs CRC', withCrc(0x21, 0x21, ADDR6, [tlv(2, 'example.com'), tlv(5, 'id-1'), tlv(0x20, hx('00 00000000'))])],
  ['v2 LOCAL', v2(0x20, 0x00, Buffer.alloc(0))],
  ['v2 LOCAL with a block', v2(0x20, 0x11, ADDR4)],
  ['v2 UNIX', v2(0x21, 0x31, Buffer.concat([Buffer.alloc(216), tlv(4, 'x')]))],
  ['v2 large NOOP', v2(0x21, 0x11, Buffer.concat([ADDR4, tlv(4, Buffer.alloc(16384 - 16 - 12 - 3))]))],
];

test('every split of a valid header in two reads gives the same header and the data after it', () => {
  const data = Buffer.from('GET / HTTP/1.1\r\n\r\n');
  for (const [what, hdr] of VALID) {
    const whole = Buffer.concat([hdr, data]);
    const expected = ok(whole).header;
    for (let k = 1; k < whole.length; k++) {
      const r = new ProxyHeaderReader();
      const a = r.feed(whole.subarray(0, k));
      if (k < hdr.length) {
        assert.equal(a, 0, `${what} split ${k}`);
        const b = r.feed(whole.subarray(k));
        assert.equal(b, hdr.length - k, `${what} split ${k}`);
      } else {
        assert.equal(a, hdr.length, `${what} split ${k}`);
      }
      assert.deepEqual(r.header, expected, `${what} split ${k}`);
    }
  }
});

test('byte by byte: nothing before the last header byte, which completes it', () => {
  for (const [what, hdr] of VALID) {
    const r = new ProxyHeaderReader();
    for (let i = 0; i < hdr.length - 1; i++) assert.equal(r.feed(hdr.subarray(i, i + 1)), 0, `${what} byte ${i}`);
    assert.equal(r.feed(Buffer.concat([hdr.subarray(hdr.length - 1), Buffer.from('x')])), 1, what);
    assert.equal(r.received, hdr.length);
    assert.deepEqual(r.header, ok(hdr).header);
  }
});

test('split delivery of a malformed header never yields a header and fails with the same code', () => {
  const bad: Array<[Buffer, number]> = [
    [Buffer.from('PROXY TCP4 1.2.3.4 1.2.3.5 1 65536\r\n'), PP_ERR_BAD_HDR],
    [Buffer.from('PROXY TCP9 1.2.3.4 1.2.3.5 1 2\r\n'), PP_ERR_BAD_PROTO],
    [(() => { const h = withCrc(0x21, 0x11, ADDR4, [tlv(2, 'abc')]); h[20] ^= 1; return h; })(), PP_ERR_BAD_HDR],
    [v2(0x21, 0x11, Buffer.concat([ADDR4, hx('040009 00')])), PP_ERR_BAD_HDR],
  ];
  for (const [buf, code] of bad) {
    for (let k = 1; k < buf.length; k++) {
      const r = new ProxyHeaderReader();
      let res = r.feed(buf.subarray(0, k));
      if (res === 0) res = r.feed(buf.subarray(k));
      assert.equal(res, -code, `${buf.toString('hex')} split ${k}`);
      assert.equal(r.header, null);
    }
  }
});

/* ---------------- builders ---------------- */

const E4: ProxyEndpoints = { srcIp: '192.0.2.1', srcPort: 12345, dstIp: '198.51.100.2', dstPort: 443 };
const E6: ProxyEndpoints = { srcIp: '2001:db8::1', srcPort: 12345, dstIp: '2001:db8::2', dstPort: 443 };

/* What haproxy 2.6.12 sent to the server (see the file comment). */
const HAPROXY_V1_TCP4 = '50524f58592054435034203139322e302e322e31203139382e35312e3130302e32203132333435203434330d0a';
const HAPROXY_V1_TCP6 = '50524f5859205443503620323030313a6462383a3a3120323030313a6462383a3a32203132333435203434330d0a';
const HAPROXY_V2_TCP4 = SIG + '2111000cc0000201c6336402303901bb';
const HAPROXY_V2_TCP6 = SIG + '2121002420010db800000000000000000000000120010db8000000000000000000000002303901bb';
/* proxy-v2-options authority,unique-id,ssl,cert-cn,crc32c (no unique-id-format: an empty UNIQUE_ID). */
const HAPROXY_V2OPT_TCP4 = SIG + '2111001ec0000201c6336402303901bb' + '03000410caf43d' + '050000' + '2000050000000000';
const HAPROXY_V2OPT_TCP6 = SIG + '2121003620010db800000000000000000000000120010db8000000000000000000000002303901bb' +
  '030004b924c47c' + '050000' + '2000050000000000';
/* The same, the client's header carrying AUTHORITY example.com: passed on. */
const HAPROXY_V2OPT_AUTH = SIG + '2111002cc0000201c6336402303901bb' + '0300047eeb9b19' + '02000b6578616d706c652e636f6d' + '050000' +
  '2000050000000000';
/* proxy-v2-options crc32c */
const HAPROXY_V2CRC_TCP4 = SIG + '21110013c0000201c6336402303901bb' + '030004c8ccd4b7';
const HAPROXY_V2CRC_TCP6 = SIG + '2121002b20010db800000000000000000000000120010db8000000000000000000000002303901bb' + '0300047d9338c4';
/* A v1 header `PROXY TCP6 ::ffff:1.2.3.4 ::1 1 2` relayed by `send-proxy`. */
const HAPROXY_V1_MAPPED = '50524f58592054435036203a3a666666663a312e322e332e34203a3a31203120320d0a';

const opts = (...names: string[]): number => names.reduce((b, n) => b | PP2_OPTION_NAMES[n], 0);

test('send-proxy: v1 lines as haproxy 2.6.12 writes them', () => {
  assert.equal(buildProxyV1(E4).toString('hex'), HAPROXY_V1_TCP4);
  assert.equal(buildProxyV1(E6).toString('hex'), HAPROXY_V1_TCP6);
  const relayed = ok(Buffer.from('PROXY TCP6 ::ffff:1.2.3.4 ::1 1 2\r\n')).header;
  assert.equal(buildProxyV1(relayed).toString('hex'), HAPROXY_V1_MAPPED);
  // Mixed families: TCP6 with the IPv4 side mapped (make_proxy_line_v1).
  assert.equal(buildProxyV1({ srcIp: '10.0.0.1', srcPort: 1, dstIp: '::1', dstPort: 2 }).toString(), 'PROXY TCP6 ::ffff:10.0.0.1 ::1 1 2\r\n');
  // Not IP (a UNIX socket client): UNKNOWN.
  assert.equal(buildProxyV1(null).toString(), 'PROXY UNKNOWN\r\n');
  assert.equal(buildProxyV1({ srcIp: 'unix', srcPort: 0, dstIp: '1.2.3.4', dstPort: 1 }).toString(), 'PROXY UNKNOWN\r\n');
});

test('send-proxy-v2 and proxy-v2-options: headers as haproxy 2.6.12 writes them', () => {
  assert.equal(buildProxyV2(E4, 0, null).toString('hex'), HAPROXY_V2_TCP4);
  assert.equal(buildProxyV2(E6, 0, null).toString('hex'), HAPROXY_V2_TCP6);
  const all = opts('authority', 'unique-id', 'ssl', 'cert-cn', 'crc32c');
  assert.equal(buildProxyV2(E4, all, null).toString('hex'), HAPROXY_V2OPT_TCP4);
  assert.equal(buildProxyV2(E6, all, { authority: null, uniqueId: null }).toString('hex'), HAPROXY_V2OPT_TCP6);
  assert.equal(buildProxyV2(E4, all, { authority: Buffer.from('example.com'), uniqueId: null }).toString('hex'), HAPROXY_V2OPT_AUTH);
  assert.equal(buildProxyV2(E4, opts('crc32c'), null).toString('hex'), HAPROXY_V2CRC_TCP4);
  assert.equal(buildProxyV2(E6, opts('crc32c'), null).toString('hex'), HAPROXY_V2CRC_TCP6);
  // Without the authority option, a received AUTHORITY is not passed on (HAPROXY_V2_TCP4 came from such a client).
  assert.equal(buildProxyV2(E4, 0, { authority: Buffer.from('example.com'), uniqueId: null }).toString('hex'), HAPROXY_V2_TCP4);
  // Mixed families: IPv6 with the IPv4 side mapped; not IP: LOCAL, AF_UNSPEC.
  const mixed = ok(buildProxyV2({ srcIp: '10.0.0.1', srcPort: 1, dstIp: '::1', dstPort: 2 }, 0, null)).header;
  assert.deepEqual([mixed.family, mixed.srcIp, mixed.dstIp], [6, '::ffff:10.0.0.1', '::1']);
  assert.equal(buildProxyV2(null, 0, null).toString('hex'), SIG + '20000000');
  assert.equal(buildProxyV2(null, opts('crc32c'), null).subarray(12, 16).toString('hex'), '20000007');
});

test('what the builders write, the reader reads back', () => {
  for (const e of [E4, E6]) {
    const h1 = ok(buildProxyV1(e)).header;
    assert.deepEqual([h1.srcIp, h1.srcPort, h1.dstIp, h1.dstPort], [e.srcIp, e.srcPort, e.dstIp, e.dstPort]);
    const h2 = ok(buildProxyV2(e, opts('authority', 'unique-id', 'ssl', 'crc32c'), { authority: Buffer.from('a.example'), uniqueId: Buffer.from('u-1') })).header;
    assert.deepEqual([h2.srcIp, h2.srcPort, h2.dstIp, h2.dstPort], [e.srcIp, e.srcPort, e.dstIp, e.dstPort]);
    assert.equal(h2.crc32c, true);
    assert.equal(h2.authority!.toString(), 'a.example');
    assert.equal(h2.uniqueId!.toString(), 'u-1');
    assert.deepEqual(h2.ssl, { client: 0, verify: 0, version: null, cn: null, cipher: null, sigAlg: null, keyAlg: null });
  }
  // haproxy's own headers parse, CRC32C included.
  for (const h of [HAPROXY_V2OPT_TCP4, HAPROXY_V2OPT_TCP6, HAPROXY_V2OPT_AUTH, HAPROXY_V2CRC_TCP4, HAPROXY_V2CRC_TCP6]) {
    assert.equal(ok(hx(h)).header.crc32c, true);
  }
});
