/**
 * The PROXY protocol (HAProxy's doc/proxy-protocol.txt), both versions: an
 * incremental, strict reader for `bind ... accept-proxy` and the header
 * builders for `server ... send-proxy | send-proxy-v2 [proxy-v2-options]`.
 *
 * Reading. A header arrives in any number of reads; ProxyHeaderReader.feed()
 * takes each one, copies only the header's bytes (at most 107 for v1, the
 * announced length for v2) and reports as early as possible that the bytes
 * cannot be a header (first byte, signature, protocol word, a character that
 * cannot appear on the line, an out-of-bounds length), so a bad client is
 * closed without waiting. HAProxy 2.6 (conn_recv_proxy) peeks once and fails a
 * header that is not complete in its first read; we wait for the rest, bounded
 * by `timeout client` (listener.ts).
 *
 * Strictness. Version 1 follows the spec's syntax exactly: single spaces,
 * CRLF within 107 bytes, canonical IPv4 (no heading zeroes, 0-255), IPv6 as
 * inet_pton(3) reads it, ports 0-65535 without heading zeroes. HAProxy 2.6 is
 * laxer on numbers (it takes `01.2.3.4`, and a port of 99999 wraps to 34463);
 * it is stricter on `PROXY UNKNOWN <anything>\r\n`, which it refuses although
 * the spec says the receiver must ignore what follows UNKNOWN: we accept it.
 * Version 2: signature, version 2, command LOCAL or PROXY, for PROXY a family
 * and transport the spec defines and a length that holds their address block;
 * the TLVs must tile the rest exactly, CRC32C (if present) must be 4 bytes and
 * match, AUTHORITY is at most 255 bytes and UNIQUE_ID 128 (HAProxy's limits),
 * the SSL TLV's sub-TLVs must tile it, and a known TLV may appear only once.
 * A LOCAL header's address block and TLVs are skipped unread, as the spec and
 * HAProxy do. A whole v2 header is at most 16384 bytes (HAProxy's default
 * tune.bufsize, the most it can peek).
 *
 * Addresses. Only TCP over IPv4/IPv6 replaces the connection's addresses
 * (`proxied`); UNKNOWN, LOCAL, AF_UNSPEC, AF_UNIX and UDP keep the real ones,
 * like HAProxy. IPv6 addresses are printed as libuv (so Node's getpeername)
 * and glibc's inet_ntop print them: the log shows the same text for a real
 * and a proxied client.
 */
import { parseIPv4Into, parseIPv6Into } from '../util/ip-net';

/* ---------------- errors (HAProxy's CO_ER_PRX_*) ---------------- */

/** Closed before any byte. */
export const PP_ERR_EMPTY = 1;
/** Read error before the header was complete. */
export const PP_ERR_ABORT = 2;
export const PP_ERR_TIMEOUT = 3;
/** Closed in the middle of the header. */
export const PP_ERR_TRUNCATED = 4;
/** The first bytes are neither `PROXY ` nor the v2 signature. */
export const PP_ERR_NOT_HDR = 5;
export const PP_ERR_BAD_HDR = 6;
/** v1 protocol other than TCP4, TCP6, UNKNOWN. */
export const PP_ERR_BAD_PROTO = 7;

/** HAProxy's conn_err_code_str() texts, logged for a failed handshake. */
export const PP_ERROR_MESSAGES: readonly string[] = [
  '',
  'Connection closed while waiting for PROXY protocol header',
  'Connection error while waiting for PROXY protocol header',
  'Timeout while waiting for PROXY protocol header',
  'Truncated PROXY protocol header received',
  'Received something which does not look like a PROXY protocol header',
  'Received an invalid PROXY protocol header',
  'Received an unhandled protocol in the PROXY protocol header',
];

/* ---------------- constants of the format ---------------- */

export const PP1_MAX_LEN = 107;
export const PP2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
export const PP2_HEADER_LEN = 16;
/** HAProxy's default tune.bufsize: the largest header it can take in. */
export const PP2_MAX_LEN = 16384;

export const PP2_TYPE_ALPN = 0x01;
export const PP2_TYPE_AUTHORITY = 0x02;
export const PP2_TYPE_CRC32C = 0x03;
export const PP2_TYPE_NOOP = 0x04;
export const PP2_TYPE_UNIQUE_ID = 0x05;
export const PP2_TYPE_SSL = 0x20;
export const PP2_SUBTYPE_SSL_VERSION = 0x21;
export const PP2_SUBTYPE_SSL_CN = 0x22;
export const PP2_SUBTYPE_SSL_CIPHER = 0x23;
export const PP2_SUBTYPE_SSL_SIG_ALG = 0x24;
export const PP2_SUBTYPE_SSL_KEY_ALG = 0x25;
export const PP2_TYPE_NETNS = 0x30;
/** HAProxy's PP2_AUTHORITY_MAX and UNIQUEID_LEN. */
export const PP2_AUTHORITY_MAX = 255;
export const PP2_UNIQUE_ID_MAX = 128;

const P = 0x50, CR = 0x0d, LF = 0x0a, SP = 0x20;
const V1_PREFIX = 'PROXY ';

/* ---------------- the parsed header ---------------- */

export interface ProxySslTlv {
  /** PP2_CLIENT_SSL (1), PP2_CLIENT_CERT_CONN (2), PP2_CLIENT_CERT_SESS (4). */
  client: number;
  verify: number;
  version: string | null;
  cn: string | null;
  cipher: string | null;
  sigAlg: string | null;
  keyAlg: string | null;
}

export interface ProxyHeader {
  version: 1 | 2;
  /**
   * TCP over IPv4/IPv6 (v1 TCP4/TCP6, v2 PROXY with a TCP family): the
   * addresses below replace the connection's. False for UNKNOWN, LOCAL and
   * the families we do not use: the connection's own addresses stay.
   */
  proxied: boolean;
  /** 4 or 6 when proxied, else 0. */
  family: 0 | 4 | 6;
  srcIp: string;
  srcPort: number;
  dstIp: string;
  dstPort: number;
  /** v2 TLVs (null: absent). */
  alpn: Buffer | null;
  authority: Buffer | null;
  uniqueId: Buffer | null;
  ssl: ProxySslTlv | null;
  netns: string | null;
  /** A CRC32C TLV was present (and matched). */
  crc32c: boolean;
}

function emptyHeader(version: 1 | 2): ProxyHeader {
  return {
    version, proxied: false, family: 0, srcIp: '', srcPort: 0, dstIp: '', dstPort: 0,
    alpn: null, authority: null, uniqueId: null, ssl: null, netns: null, crc32c: false,
  };
}

/* ---------------- incremental reader ---------------- */

const V_UNKNOWN = 0, V_1 = 1, V_2 = 2;
/* v1 protocol word, once known */
const PROTO_NONE = 0, PROTO_TCP4 = 1, PROTO_TCP6 = 2, PROTO_UNKNOWN = 3;

/**
 * One connection's header being read. feed() returns 0 while more bytes are
 * needed, a negative PP_ERR_* code when the bytes cannot be a valid header,
 * or, once the header is complete, how many bytes of that last chunk it took
 * (> 0): the rest of the chunk is data for the stream. `header` is then set.
 */
export class ProxyHeaderReader {
  header: ProxyHeader | null = null;
  /** Why the header was refused (for tests and debugging; logs use the code). */
  reason = '';
  private buf = Buffer.allocUnsafe(PP1_MAX_LEN);
  private len = 0;
  private version = V_UNKNOWN;
  private proto = PROTO_NONE;
  /** v2: whole header length once bytes 14-15 are in. */
  private total = 0;

  /** Bytes of header received so far. */
  get received(): number { return this.len; }

  feed(chunk: Buffer): number {
    if (this.header !== null) return this.fail(PP_ERR_BAD_HDR, 'header already complete');
    if (chunk.length === 0) return 0;
    if (this.version === V_UNKNOWN) {
      const b = chunk[0];
      // Spec 2.2: the v2 signature starts with CR, v1 with "PROXY".
      if (b === P) this.version = V_1;
      else if (b === CR) this.version = V_2;
      else return this.fail(PP_ERR_NOT_HDR, 'neither "PROXY " nor the v2 signature');
    }
    return this.version === V_1 ? this.feedV1(chunk) : this.feedV2(chunk);
  }

  private fail(code: number, reason: string): number {
    this.reason = reason;
    return -code;
  }

  /* ---- version 1 ---- */

  private feedV1(chunk: Buffer): number {
    const start = this.len;
    const take = Math.min(chunk.length, PP1_MAX_LEN - start);
    chunk.copy(this.buf, start, 0, take);
    this.len = start + take;
    const buf = this.buf;
    for (let i = start; i < this.len; i++) {
      const c = buf[i];
      if (i < 6) {
        if (c !== V1_PREFIX.charCodeAt(i)) return this.fail(PP_ERR_NOT_HDR, 'not "PROXY "');
        continue;
      }
      if (this.proto === PROTO_NONE) {
        const r = this.protoByte(i, c);
        if (r < 0) return r;
        continue;
      }
      if (c === LF) {
        if (buf[i - 1] !== CR) return this.fail(PP_ERR_BAD_HDR, 'LF without CR');
        this.len = i + 1;
        const r = this.parseV1Line(i + 1);
        return r < 0 ? r : i + 1 - start;
      }
      if (buf[i - 1] === CR) return this.fail(PP_ERR_BAD_HDR, 'CR without LF');
      if (c === CR) continue;
      if (!this.v1CharOk(c)) return this.fail(PP_ERR_BAD_HDR, `unexpected byte 0x${c.toString(16)}`);
    }
    if (this.len >= PP1_MAX_LEN) return this.fail(PP_ERR_BAD_HDR, `no CRLF in the first ${PP1_MAX_LEN} bytes`);
    return 0;
  }

  /** Bytes 6.. until the protocol word is known: TCP4 / TCP6 / UNKNOWN. */
  private protoByte(i: number, c: number): number {
    const k = i - 6;
    if (k < 4) {
      // "TCP4", "TCP6" or "UNKN"…
      const t = 'TCP'.charCodeAt(k), u = 'UNKNOWN'.charCodeAt(k);
      const first = this.buf[6];
      if (k === 3 && first === 0x54) {
        if (c === 0x34) return 0;
        if (c === 0x36) return 0;
        return this.fail(PP_ERR_BAD_PROTO, 'unknown protocol');
      }
      if ((first === 0x54 && c === t) || (first === 0x55 && c === u)) return 0;
      return this.fail(PP_ERR_BAD_PROTO, 'unknown protocol');
    }
    if (this.buf[6] === 0x54) {
      // k === 4: the space after TCP4/TCP6
      if (c !== SP) return this.fail(PP_ERR_BAD_PROTO, 'unknown protocol');
      this.proto = this.buf[9] === 0x34 ? PROTO_TCP4 : PROTO_TCP6;
      return 0;
    }
    if (k < 7) return c === 'UNKNOWN'.charCodeAt(k) ? 0 : this.fail(PP_ERR_BAD_PROTO, 'unknown protocol');
    // k === 7: UNKNOWN ends with CRLF or a space (the rest of the line is ignored).
    if (c !== CR && c !== SP) return this.fail(PP_ERR_BAD_PROTO, 'unknown protocol');
    this.proto = PROTO_UNKNOWN;
    return 0;
  }

  private v1CharOk(c: number): boolean {
    if (c === SP || (c >= 0x30 && c <= 0x39)) return true;
    if (this.proto === PROTO_TCP4) return c === 0x2e;
    if (this.proto === PROTO_TCP6) return c === 0x2e || c === 0x3a || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
    return true; // UNKNOWN: anything up to the CRLF
  }

  /** The complete line buf[0..end) (CRLF included). */
  private parseV1Line(end: number): number {
    const h = emptyHeader(1);
    if (this.proto === PROTO_UNKNOWN) {
      this.header = h;
      return 0;
    }
    const words = this.buf.toString('latin1', 11, end - 2).split(' ');
    if (words.length !== 4) return this.fail(PP_ERR_BAD_HDR, 'expected 4 fields after the protocol');
    const v6 = this.proto === PROTO_TCP6;
    const src = v6 ? parseIPv6(words[0]) : parseIPv4(words[0]);
    const dst = v6 ? parseIPv6(words[1]) : parseIPv4(words[1]);
    if (src === null || dst === null) return this.fail(PP_ERR_BAD_HDR, 'bad address');
    const sport = parsePort(words[2]), dport = parsePort(words[3]);
    if (sport < 0 || dport < 0) return this.fail(PP_ERR_BAD_HDR, 'bad port');
    h.proxied = true;
    h.family = v6 ? 6 : 4;
    h.srcIp = v6 ? formatIPv6(src, 0) : words[0];
    h.dstIp = v6 ? formatIPv6(dst, 0) : words[1];
    h.srcPort = sport;
    h.dstPort = dport;
    this.header = h;
    return 0;
  }

  /* ---- version 2 ---- */

  private feedV2(chunk: Buffer): number {
    const start = this.len;
    let off = 0;
    if (this.len < PP2_HEADER_LEN) {
      const take = Math.min(chunk.length, PP2_HEADER_LEN - this.len);
      chunk.copy(this.buf, this.len, 0, take);
      off = take;
      for (let i = this.len; i < this.len + take; i++) {
        const r = this.fixedByte(i, this.buf[i]);
        if (r < 0) return r;
      }
      this.len += take;
      if (this.len < PP2_HEADER_LEN) return 0;
      const total = PP2_HEADER_LEN + this.buf.readUInt16BE(14);
      if (total > PP2_MAX_LEN) return this.fail(PP_ERR_BAD_HDR, `header longer than ${PP2_MAX_LEN} bytes`);
      if ((this.buf[12] & 0x0f) === 1 && total - PP2_HEADER_LEN < addrLen(this.buf[13])) {
        return this.fail(PP_ERR_BAD_HDR, 'length shorter than the address block');
      }
      this.total = total;
      if (total > this.buf.length) {
        const b = Buffer.allocUnsafe(total);
        this.buf.copy(b, 0, 0, PP2_HEADER_LEN);
        this.buf = b;
      }
    }
    const take = Math.min(chunk.length - off, this.total - this.len);
    chunk.copy(this.buf, this.len, off, off + take);
    this.len += take;
    if (this.len < this.total) return 0;
    const r = this.parseV2();
    // start + consumed === total; consumed > 0 since this call brought the last byte
    return r < 0 ? r : this.total - start;
  }

  /** Bytes 0-13: signature, version/command, family/transport. */
  private fixedByte(i: number, c: number): number {
    if (i < 12) return c === PP2_SIGNATURE[i] ? 0 : this.fail(PP_ERR_NOT_HDR, 'not the v2 signature');
    if (i === 12) {
      // HAProxy: a version other than 2 is "not a header"; a command other than LOCAL/PROXY a bad one.
      if ((c & 0xf0) !== 0x20) return this.fail(PP_ERR_NOT_HDR, 'version is not 2');
      const cmd = c & 0x0f;
      return cmd <= 1 ? 0 : this.fail(PP_ERR_BAD_HDR, `unknown command ${cmd}`);
    }
    if (i === 13) {
      // LOCAL: the receiver discards the protocol block, family included (spec 2.2).
      if ((this.buf[12] & 0x0f) === 0) return 0;
      return addrLen(c) >= 0 ? 0 : this.fail(PP_ERR_BAD_HDR, `unknown family/transport 0x${c.toString(16)}`);
    }
    return 0;
  }

  private parseV2(): number {
    const buf = this.buf;
    const h = emptyHeader(2);
    if ((buf[12] & 0x0f) === 0) {
      this.header = h;
      return 0;
    }
    const fam = buf[13];
    let off = PP2_HEADER_LEN;
    if (fam === 0x11) {
      h.proxied = true;
      h.family = 4;
      h.srcIp = formatIPv4(buf, 16);
      h.dstIp = formatIPv4(buf, 20);
      h.srcPort = buf.readUInt16BE(24);
      h.dstPort = buf.readUInt16BE(26);
    } else if (fam === 0x21) {
      h.proxied = true;
      h.family = 6;
      h.srcIp = formatIPv6(buf, 16);
      h.dstIp = formatIPv6(buf, 32);
      h.srcPort = buf.readUInt16BE(48);
      h.dstPort = buf.readUInt16BE(50);
    }
    off += addrLen(fam);
    const r = this.parseTlvs(h, off);
    if (r < 0) return r;
    this.header = h;
    return 0;
  }

  private parseTlvs(h: ProxyHeader, off: number): number {
    const buf = this.buf, total = this.total;
    let seen = 0;
    while (off < total) {
      if (off + 3 > total) return this.fail(PP_ERR_BAD_HDR, 'truncated TLV header');
      const type = buf[off];
      const len = buf.readUInt16BE(off + 1);
      const v = off + 3;
      if (v + len > total) return this.fail(PP_ERR_BAD_HDR, `TLV 0x${type.toString(16)} longer than the header`);
      const bit = knownTlvBit(type);
      if (bit !== 0) {
        if ((seen & bit) !== 0) return this.fail(PP_ERR_BAD_HDR, `TLV 0x${type.toString(16)} repeated`);
        seen |= bit;
      }
      switch (type) {
        case PP2_TYPE_CRC32C: {
          if (len !== 4) return this.fail(PP_ERR_BAD_HDR, 'CRC32C TLV is not 4 bytes');
          // The checksum of the whole header with this field as zeroes (spec 2.2.3).
          let crc = crc32cUpdate(0xffffffff, buf, 0, v);
          crc = crc32cUpdate(crc, ZERO4, 0, 4);
          crc = crc32cUpdate(crc, buf, v + 4, total);
          if (((crc ^ 0xffffffff) >>> 0) !== buf.readUInt32BE(v)) return this.fail(PP_ERR_BAD_HDR, 'CRC32C mismatch');
          h.crc32c = true;
          break;
        }
        case PP2_TYPE_ALPN: h.alpn = Buffer.from(buf.subarray(v, v + len)); break;
        case PP2_TYPE_AUTHORITY:
          if (len > PP2_AUTHORITY_MAX) return this.fail(PP_ERR_BAD_HDR, 'AUTHORITY TLV too long');
          h.authority = Buffer.from(buf.subarray(v, v + len));
          break;
        case PP2_TYPE_UNIQUE_ID:
          if (len > PP2_UNIQUE_ID_MAX) return this.fail(PP_ERR_BAD_HDR, 'UNIQUE_ID TLV too long');
          h.uniqueId = Buffer.from(buf.subarray(v, v + len));
          break;
        case PP2_TYPE_SSL: {
          const ssl = parseSslTlv(buf, v, v + len);
          if (ssl === null) return this.fail(PP_ERR_BAD_HDR, 'malformed SSL TLV');
          h.ssl = ssl;
          break;
        }
        case PP2_TYPE_NETNS: h.netns = buf.toString('latin1', v, v + len); break;
        default: break; // NOOP, custom, experimental, future: skipped (spec 2.2)
      }
      off = v + len;
    }
    return 0;
  }
}

const ZERO4 = Buffer.alloc(4);

function knownTlvBit(type: number): number {
  switch (type) {
    case PP2_TYPE_ALPN: return 1;
    case PP2_TYPE_AUTHORITY: return 2;
    case PP2_TYPE_CRC32C: return 4;
    case PP2_TYPE_UNIQUE_ID: return 8;
    case PP2_TYPE_SSL: return 16;
    case PP2_TYPE_NETNS: return 32;
    default: return 0;
  }
}

/** Address block length of a v2 family/transport byte; -1: not one the spec defines. */
function addrLen(fam: number): number {
  switch (fam) {
    case 0x00: return 0;
    case 0x11: case 0x12: return 12;
    case 0x21: case 0x22: return 36;
    case 0x31: case 0x32: return 216;
    default: return -1;
  }
}

/** pp2_tlv_ssl: client (1), verify (4), then sub-TLVs that tile the rest. */
function parseSslTlv(buf: Buffer, s: number, e: number): ProxySslTlv | null {
  if (e - s < 5) return null;
  const ssl: ProxySslTlv = { client: buf[s], verify: buf.readUInt32BE(s + 1), version: null, cn: null, cipher: null, sigAlg: null, keyAlg: null };
  let off = s + 5;
  while (off < e) {
    if (off + 3 > e) return null;
    const type = buf[off];
    const len = buf.readUInt16BE(off + 1);
    const v = off + 3;
    if (v + len > e) return null;
    const text = buf.toString('utf8', v, v + len);
    switch (type) {
      case PP2_SUBTYPE_SSL_VERSION: ssl.version = text; break;
      case PP2_SUBTYPE_SSL_CN: ssl.cn = text; break;
      case PP2_SUBTYPE_SSL_CIPHER: ssl.cipher = text; break;
      case PP2_SUBTYPE_SSL_SIG_ALG: ssl.sigAlg = text; break;
      case PP2_SUBTYPE_SSL_KEY_ALG: ssl.keyAlg = text; break;
      default: break;
    }
    off = v + len;
  }
  return ssl;
}

/** Parse one complete header (tests, tools): the header and its length, or a PP_ERR_* code. */
export function parseProxyHeader(buf: Buffer): { header: ProxyHeader; length: number } | { error: number; reason: string } | 'partial' {
  const r = new ProxyHeaderReader();
  const n = r.feed(buf);
  if (n < 0) return { error: -n, reason: r.reason };
  if (n === 0) return 'partial';
  return { header: r.header!, length: n };
}

/* ---------------- CRC32C (Castagnoli, RFC 4960 appendix B) ---------------- */

const CRC32C_TABLE = ((): Uint32Array => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32cUpdate(crc: number, buf: Uint8Array, s: number, e: number): number {
  for (let i = s; i < e; i++) crc = CRC32C_TABLE[(crc ^ buf[i]) & 0xff] ^ (crc >>> 8);
  return crc;
}

/** CRC32C of buf[s..e) (zlib.crc32 is CRC-32/ISO-HDLC, a different polynomial). */
export function crc32c(buf: Uint8Array, s = 0, e = buf.length): number {
  return (crc32cUpdate(0xffffffff, buf, s, e) ^ 0xffffffff) >>> 0;
}

/* ---------------- addresses ---------------- */

/** Canonical dotted quad (spec 2.1: no heading zeroes, 0-255), as 4 bytes; null if not (util/ip-net.ts). */
export function parseIPv4(s: string): Uint8Array | null {
  const out = new Uint8Array(4);
  return parseIPv4Into(s, 0, s.length, out, 0) ? out : null;
}

/** IPv6 text as inet_pton(3) accepts it, as 16 bytes; null if not (util/ip-net.ts). */
export function parseIPv6(s: string): Uint8Array | null {
  const out = new Uint8Array(16);
  return parseIPv6Into(s, out) ? out : null;
}

/** Decimal port 0-65535 without heading zeroes; -1 if not. */
function parsePort(s: string): number {
  const n = s.length;
  if (n === 0 || n > 5 || (n > 1 && s.charCodeAt(0) === 0x30)) return -1;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return -1;
    v = v * 10 + (c - 0x30);
  }
  return v <= 65535 ? v : -1;
}

function formatIPv4(b: Uint8Array, off: number): string {
  return b[off] + '.' + b[off + 1] + '.' + b[off + 2] + '.' + b[off + 3];
}

/**
 * inet_ntop(AF_INET6) as glibc and libuv write it (the BIND code): the
 * longest run of two or more zero groups (the first on a tie) becomes `::`,
 * lowercase hex, and `::ffff:a.b.c.d` / `::a.b.c.d` for embedded IPv4.
 */
export function formatIPv6(b: Uint8Array, off: number): string {
  let bestBase = -1, bestLen = 0, curBase = -1, curLen = 0;
  for (let i = 0; i < 8; i++) {
    if (b[off + 2 * i] === 0 && b[off + 2 * i + 1] === 0) {
      if (curBase < 0) { curBase = i; curLen = 1; } else curLen++;
    } else if (curBase >= 0) {
      if (bestBase < 0 || curLen > bestLen) { bestBase = curBase; bestLen = curLen; }
      curBase = -1;
    }
  }
  if (curBase >= 0 && (bestBase < 0 || curLen > bestLen)) { bestBase = curBase; bestLen = curLen; }
  if (bestBase >= 0 && bestLen < 2) bestBase = -1;
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase >= 0 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) s += ':';
      continue;
    }
    if (i !== 0) s += ':';
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && b[off + 10] === 0xff && b[off + 11] === 0xff))) {
      return s + formatIPv4(b, off + 12);
    }
    s += ((b[off + 2 * i] << 8) | b[off + 2 * i + 1]).toString(16);
  }
  if (bestBase >= 0 && bestBase + bestLen === 8) s += ':';
  return s;
}

/** 4 bytes for an IPv4 text, 16 for IPv6 (Node's getpeername/getsockname texts), null for anything else (UNIX socket). */
function addressBytes(ip: string): Uint8Array | null {
  return ip.indexOf(':') >= 0 ? parseIPv6(ip) : parseIPv4(ip);
}

function v4Mapped(a: Uint8Array): Uint8Array {
  if (a.length === 16) return a;
  const m = new Uint8Array(16);
  m[10] = 0xff; m[11] = 0xff;
  m.set(a, 12);
  return m;
}

/* ---------------- builders (HAProxy's make_proxy_line_v1/v2) ---------------- */

/** What a header sent to a server says: the stream's client and the address it connected to. */
export interface ProxyEndpoints {
  srcIp: string;
  srcPort: number;
  dstIp: string;
  dstPort: number;
}

/**
 * `PROXY TCP4|TCP6 <src> <dst> <sport> <dport>\r\n`; TCP6 with IPv4-mapped
 * addresses when the families differ; `PROXY UNKNOWN\r\n` when either side
 * is not an IP address (a UNIX socket).
 */
export function buildProxyV1(e: ProxyEndpoints | null): Buffer {
  const src = e === null ? null : addressBytes(e.srcIp);
  const dst = e === null ? null : addressBytes(e.dstIp);
  if (src === null || dst === null) return Buffer.from('PROXY UNKNOWN\r\n', 'latin1');
  let line: string;
  if (src.length === 4 && dst.length === 4) {
    line = 'PROXY TCP4 ' + formatIPv4(src, 0) + ' ' + formatIPv4(dst, 0);
  } else {
    line = 'PROXY TCP6 ' + formatIPv6(v4Mapped(src), 0) + ' ' + formatIPv6(v4Mapped(dst), 0);
  }
  return Buffer.from(line + ' ' + e!.srcPort + ' ' + e!.dstPort + '\r\n', 'latin1');
}

/* proxy-v2-options bits (HAProxy's SRV_PP_V2_*). */
export const PP2_OPT_SSL = 0x01;
export const PP2_OPT_CERT_CN = 0x02;
export const PP2_OPT_SSL_CIPHER = 0x04;
export const PP2_OPT_CERT_SIG = 0x08;
export const PP2_OPT_CERT_KEY = 0x10;
export const PP2_OPT_AUTHORITY = 0x20;
export const PP2_OPT_CRC32C = 0x40;
export const PP2_OPT_UNIQUE_ID = 0x80;

/** The option names of configuration.txt 5.2 `proxy-v2-options`; the ssl family implies `ssl`. */
export const PP2_OPTION_NAMES: Readonly<Record<string, number>> = {
  ssl: PP2_OPT_SSL,
  'cert-cn': PP2_OPT_SSL | PP2_OPT_CERT_CN,
  'ssl-cipher': PP2_OPT_SSL | PP2_OPT_SSL_CIPHER,
  'cert-sig': PP2_OPT_SSL | PP2_OPT_CERT_SIG,
  'cert-key': PP2_OPT_SSL | PP2_OPT_CERT_KEY,
  authority: PP2_OPT_AUTHORITY,
  crc32c: PP2_OPT_CRC32C,
  'unique-id': PP2_OPT_UNIQUE_ID,
};

/** What the client connection gives the v2 TLVs. */
export interface ProxyV2Extras {
  /** AUTHORITY received in the client's own PROXY header (HAProxy's conn->proxy_authority; SNI once TLS exists). */
  authority: Buffer | null;
  /** The stream's unique-id (unique-id-format; empty without one, as HAProxy sends it). */
  uniqueId: Buffer | null;
}

/**
 * A v2 header: PROXY with TCP over IPv4 (both sides IPv4) or IPv6 (IPv4
 * mapped), else LOCAL with AF_UNSPEC; then, in HAProxy's order, CRC32C,
 * AUTHORITY, UNIQUE_ID and SSL TLVs as `opts` asks. There is no ALPN TLV
 * (HAProxy sends the ALPN negotiated by TLS on the client connection; we
 * have no TLS yet) and no NETNS TLV (no namespaces). The SSL TLV describes
 * a client connection without TLS, the only kind Switchyard accepts so far:
 * client 0, verify 0, no sub-TLV, byte for byte what HAProxy 2.6 sends for
 * a plain connection.
 */
export function buildProxyV2(e: ProxyEndpoints | null, opts: number, extras: ProxyV2Extras | null): Buffer {
  const src = e === null ? null : addressBytes(e.srcIp);
  const dst = e === null ? null : addressBytes(e.dstIp);
  const inet = src !== null && dst !== null;
  const v4 = inet && src.length === 4 && dst.length === 4;
  const alen = !inet ? 0 : v4 ? 12 : 36;
  const authority = (opts & PP2_OPT_AUTHORITY) !== 0 ? extras?.authority ?? null : null;
  const uniqueId = (opts & PP2_OPT_UNIQUE_ID) !== 0 ? extras?.uniqueId ?? EMPTY : null;
  let total = PP2_HEADER_LEN + alen;
  if ((opts & PP2_OPT_CRC32C) !== 0) total += 7;
  if (authority !== null) total += 3 + authority.length;
  if (uniqueId !== null) total += 3 + uniqueId.length;
  if ((opts & PP2_OPT_SSL) !== 0) total += 8;
  const out = Buffer.alloc(total);
  PP2_SIGNATURE.copy(out, 0);
  out[12] = inet ? 0x21 : 0x20;
  out[13] = !inet ? 0x00 : v4 ? 0x11 : 0x21;
  out.writeUInt16BE(total - PP2_HEADER_LEN, 14);
  let off = PP2_HEADER_LEN;
  if (inet) {
    if (v4) {
      out.set(src, 16); out.set(dst, 20);
      out.writeUInt16BE(e!.srcPort, 24); out.writeUInt16BE(e!.dstPort, 26);
    } else {
      out.set(v4Mapped(src), 16); out.set(v4Mapped(dst), 32);
      out.writeUInt16BE(e!.srcPort, 48); out.writeUInt16BE(e!.dstPort, 50);
    }
    off += alen;
  }
  let crcAt = -1;
  if ((opts & PP2_OPT_CRC32C) !== 0) {
    out[off] = PP2_TYPE_CRC32C; out.writeUInt16BE(4, off + 1);
    crcAt = off + 3;
    off += 7;
  }
  if (authority !== null) off = putTlv(out, off, PP2_TYPE_AUTHORITY, authority);
  if (uniqueId !== null) off = putTlv(out, off, PP2_TYPE_UNIQUE_ID, uniqueId);
  if ((opts & PP2_OPT_SSL) !== 0) {
    out[off] = PP2_TYPE_SSL; out.writeUInt16BE(5, off + 1);
    off += 8; // client 0, verify 0
  }
  if (crcAt >= 0) out.writeUInt32BE(crc32c(out), crcAt);
  return out;
}

const EMPTY = Buffer.alloc(0);

function putTlv(out: Buffer, off: number, type: number, v: Uint8Array): number {
  out[off] = type;
  out.writeUInt16BE(v.length, off + 1);
  out.set(v, off + 3);
  return off + 3 + v.length;
}
