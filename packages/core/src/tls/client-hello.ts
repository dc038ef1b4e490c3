/**
 * The TLS ClientHello as a client sends it, read but not decrypted: what
 * HAProxy's layer-6 fetches req.ssl_sni, req.ssl_alpn, req.ssl_ec_ext,
 * req.ssl_st_ext, req.ssl_hello_type and req.ssl_ver (src/payload.c) return
 * in `mode tcp` for TLS passthrough and SNI routing, plus the raw
 * supported_versions, signature_algorithms and supported_groups lists.
 *
 * Three entry points:
 *  - parseClientHello(): strict parse of the hello in the first record (or of
 *    an SSLv2-compatible hello). It returns "need more bytes" (with the total
 *    the buffer must reach), "invalid" (a stable code, a reason, the offset),
 *    or the parsed hello. It keeps no state: the caller concatenates what it
 *    read and calls again; an incomplete record costs a few byte reads, so
 *    re-running on each read is O(1) until the record is whole, then one
 *    bounded pass (a record holds at most 2^14 bytes, RFC 8446 §5.1).
 *  - sslHelloType(), reqSslVer(): HAProxy 2.6's smp_fetch_ssl_hello_type and
 *    smp_fetch_req_ssl_ver translated exactly (any record type 0x14-0x17/0xFF,
 *    any handshake type; SSLv2 headers of both forms for req.ssl_ver): they
 *    decide when `tcp-request content accept if { req.ssl_hello_type 1 }`
 *    stops waiting, so they must wait and fail exactly as HAProxy does.
 *  - looksLikeTls(): the first bytes only, to tell TLS from HTTP, SSH, etc.
 *    on one port.
 *
 * Where we match HAProxy 2.6 (checked against haproxy 2.6.12 logging the same
 * bytes, see test/tls-client-hello.test.ts): SNI bytes as sent (no case
 * folding, latin1 so one char per byte), the first entry of server_name and
 * only if it is a host_name; ALPN's first name for req.ssl_alpn (the ACL
 * iterates them all: alpnProtocols()); ec_ext true only when extension 10 is
 * present (HAProxy returns no sample rather than false otherwise); st_ext
 * 0/1/2; versions as major*65536+minor (TLS 1.2 = 0x00030003 = 196611, which
 * a TLS 1.3 hello also carries in legacy_version); no extension is read from
 * a hello whose client_version is below 3.1, or that has no extension block.
 *
 * Where we are stricter (HAProxy returns a sample, we return invalid; no
 * real client sends these):
 *  - A hello longer than its record (fragmented across records, RFC 8446
 *    §5.1 allows it): HAProxy reads only the first record's header and walks
 *    the following bytes as if contiguous, the next record's 5-byte header
 *    included; we refuse (HELLO_ERR_FRAGMENTED) rather than read that
 *    header as hello bytes. Bytes after the hello in its record likewise.
 *  - Lengths must tile: extension block length equal to what remains, each
 *    extension and each server_name/ALPN/list entry inside its parent; no
 *    empty host_name or ALPN name; no duplicate of an extension we read.
 *    HAProxy ignores trailing bytes, and reads a host_name length unchecked
 *    against its extension.
 *  - Record version major 3 and record length 1..2^14 (HAProxy: major >= 3).
 * And one wait HAProxy cuts short: for sni/alpn/ec/st HAProxy waits until
 * record header + hs_len bytes (4 short of the whole hello, its bleft is
 * counted after the record header, not after the handshake header) and may
 * then read 4 bytes past the data; we wait for the whole hello.
 *
 * No allocation beyond the result (the SNI and first ALPN strings included);
 * no regex; lists are reported as offsets into the buffer.
 */

/* ---------------- results ---------------- */

/** The buffer holds a prefix of what could still be a hello. */
export interface HelloNeedMore {
  status: 'need-more';
  /** Total bytes the buffer must hold (from its start) before anything new can be said. */
  needed: number;
}

/** Not a ClientHello, or a malformed one: no byte that arrives later can change it. */
export interface HelloInvalid {
  status: 'invalid';
  /** One of HELLO_ERR_*. */
  code: number;
  reason: string;
  /** Offset of the offending byte or field. */
  offset: number;
}

/** A ClientHello. Offsets index the buffer given; -1 when absent. */
export interface ClientHello {
  status: 'ok';
  /** An SSLv2-compatible hello (RFC 5246 appendix E.2): no extensions. */
  sslv2: boolean;
  /** Bytes of the buffer the hello's record holds (header included). */
  length: number;
  /** Record layer version as major*65536+minor (0 for SSLv2). */
  recordVersion: number;
  /** client_version (legacy_version) as major*65536+minor: req.ssl_ver's value. */
  version: number;
  /** Highest non-GREASE entry of supported_versions as 0x0304-style, else client_version likewise. */
  maxVersion: number;
  /** First host_name of server_name, as sent: req.ssl_sni. */
  sni: string | undefined;
  /** First protocol of ALPN: req.ssl_alpn as a log shows it. */
  alpn: string | undefined;
  /** supported_groups (elliptic_curves) present: req.ssl_ec_ext (HAProxy gives no sample when false). */
  ecExt: boolean;
  /** req.ssl_st_ext: 0 no SessionTicket, 1 empty, 2 with a ticket; undefined when HAProxy gives no sample. */
  stExt: number | undefined;
  /** Offset and length of legacy_session_id (SSLv2: session id). */
  sessionIdOffset: number;
  sessionIdLength: number;
  /** Cipher suites, 2 bytes each (SSLv2: 3-byte cipher specs). */
  ciphersOffset: number;
  ciphersLength: number;
  /** The extensions (each type, length, body), without the block's own length; -1 if none. */
  extensionsOffset: number;
  extensionsLength: number;
  /** ALPN's ProtocolNameList content (after its 2-byte length). */
  alpnOffset: number;
  alpnLength: number;
  /** supported_versions' list (after its 1-byte length), 2 bytes each. */
  supportedVersionsOffset: number;
  supportedVersionsLength: number;
  /** signature_algorithms' list (after its 2-byte length), 2 bytes each. */
  sigAlgsOffset: number;
  sigAlgsLength: number;
  /** supported_groups' list (after its 2-byte length), 2 bytes each. */
  groupsOffset: number;
  groupsLength: number;
}

export type HelloParse = HelloNeedMore | HelloInvalid | ClientHello;

/* ---------------- errors ---------------- */

/** First byte is neither a handshake record (0x16) nor an SSLv2 hello header. */
export const HELLO_ERR_RECORD_TYPE = 1;
/** Record version major is not 3. */
export const HELLO_ERR_RECORD_VERSION = 2;
/** Record length 0 or above 2^14. */
export const HELLO_ERR_RECORD_LENGTH = 3;
/** The handshake message is not a ClientHello (type 1). */
export const HELLO_ERR_NOT_CLIENT_HELLO = 4;
/** The hello is longer than its record (fragmented over several records). */
export const HELLO_ERR_FRAGMENTED = 5;
/** The record holds bytes after the hello, or the hello after its last field. */
export const HELLO_ERR_TRAILING = 6;
/** client_version major is not 3 (SSLv2: not 2 or 3). */
export const HELLO_ERR_VERSION = 7;
/** Session id longer than 32 (SSLv2: not 0 or 16), or past the hello. */
export const HELLO_ERR_SESSION_ID = 8;
/** Cipher suites empty, odd, or past the hello (SSLv2: not a multiple of 3). */
export const HELLO_ERR_CIPHERS = 9;
/** Compression methods empty or past the hello. */
export const HELLO_ERR_COMPRESSION = 10;
/** Extension block or an extension past its bounds, or not tiling the block. */
export const HELLO_ERR_EXTENSIONS = 11;
/** An extension we read appears twice (RFC 8446 §4.2). */
export const HELLO_ERR_DUP_EXTENSION = 12;
/** server_name malformed (RFC 6066 §3). */
export const HELLO_ERR_SNI = 13;
/** ALPN malformed (RFC 7301 §3.1). */
export const HELLO_ERR_ALPN = 14;
/** supported_versions, signature_algorithms or supported_groups malformed. */
export const HELLO_ERR_EXT_LIST = 15;
/** SSLv2 hello: challenge length or record length inconsistent. */
export const HELLO_ERR_SSLV2 = 16;
/** The hello ends before its version, random and session id length. */
export const HELLO_ERR_SHORT = 17;

export const HELLO_ERROR_MESSAGES: readonly string[] = [
  '',
  'not a TLS handshake record',
  'record version is not 3.x',
  'record length out of range',
  'handshake message is not a ClientHello',
  'ClientHello spans several records',
  'bytes after the ClientHello',
  'ClientHello version is not 3.x',
  'bad session id length',
  'bad cipher suites length',
  'bad compression methods length',
  'extension length out of bounds',
  'duplicate extension',
  'malformed server_name extension',
  'malformed ALPN extension',
  'malformed supported_versions, signature_algorithms or supported_groups',
  'malformed SSLv2 hello',
  'ClientHello too short',
];

/** Returned by sslHelloType, reqSslVer, looksLikeTls: HAProxy's SMP_F_MAY_CHANGE. */
export const TLS_NEED_MORE = -1;
/** Returned by sslHelloType, reqSslVer: no sample. */
export const TLS_NO_MATCH = -2;

/** Plaintext record limit (RFC 8446 §5.1). */
const MAX_RECORD = 16384;

const EXT_SERVER_NAME = 0;
const EXT_SUPPORTED_GROUPS = 10;
const EXT_SIG_ALGS = 13;
const EXT_ALPN = 16;
const EXT_SESSION_TICKET = 35;
const EXT_SUPPORTED_VERSIONS = 43;

function invalid(code: number, offset: number): HelloInvalid {
  return { status: 'invalid', code, reason: HELLO_ERROR_MESSAGES[code]!, offset };
}

function needMore(needed: number): HelloNeedMore {
  return { status: 'need-more', needed };
}

/** RFC 8701: 0x?A?A with both bytes equal. */
function isGrease(v: number): boolean {
  return (v & 0x0f0f) === 0x0a0a && (v >> 8) === (v & 0xff);
}

/* ---------------- strict parse ---------------- */

/**
 * Parses the ClientHello at the start of `buf` (`buf.length` bytes read so
 * far). Cheap to call again on a longer buffer: nothing is kept between calls.
 */
export function parseClientHello(buf: Buffer): HelloParse {
  const n = buf.length;
  if (n === 0) return needMore(5);
  const b0 = buf[0]!;
  if (b0 !== 0x16) {
    if (b0 & 0x80) return parseSslv2Hello(buf);
    return invalid(HELLO_ERR_RECORD_TYPE, 0);
  }
  if (n < 2) return needMore(5);
  if (buf[1] !== 3) return invalid(HELLO_ERR_RECORD_VERSION, 1);
  if (n < 5) return needMore(5);
  const recLen = (buf[3]! << 8) | buf[4]!;
  if (recLen === 0 || recLen > MAX_RECORD) return invalid(HELLO_ERR_RECORD_LENGTH, 3);
  // Reject early what the first bytes of the record already condemn.
  if (n < 6) return needMore(5 + recLen);
  if (buf[5] !== 1) return invalid(HELLO_ERR_NOT_CLIENT_HELLO, 5);
  if (n < 9) return needMore(5 + recLen);
  const hsLen = (buf[6]! << 16) | (buf[7]! << 8) | buf[8]!;
  if (4 + hsLen > recLen) return invalid(HELLO_ERR_FRAGMENTED, 6);
  if (4 + hsLen < recLen) return invalid(HELLO_ERR_TRAILING, 6);
  const end = 5 + recLen;
  if (n < end) return needMore(end);

  let p = 9;
  // client_version 2, random 32, session id length 1
  if (p + 35 > end) return invalid(HELLO_ERR_SHORT, p);
  if (buf[p] !== 3) return invalid(HELLO_ERR_VERSION, p);
  const version = 0x30000 | buf[p + 1]!;
  p += 34;
  const sidLen = buf[p]!;
  p += 1;
  if (sidLen > 32 || p + sidLen > end) return invalid(HELLO_ERR_SESSION_ID, p - 1);
  const sidOff = p;
  p += sidLen;
  if (p + 2 > end) return invalid(HELLO_ERR_CIPHERS, p);
  const csLen = (buf[p]! << 8) | buf[p + 1]!;
  p += 2;
  if (csLen < 2 || (csLen & 1) !== 0 || p + csLen > end) return invalid(HELLO_ERR_CIPHERS, p - 2);
  const csOff = p;
  p += csLen;
  if (p + 1 > end) return invalid(HELLO_ERR_COMPRESSION, p);
  const cmLen = buf[p]!;
  p += 1;
  if (cmLen < 1 || p + cmLen > end) return invalid(HELLO_ERR_COMPRESSION, p - 1);
  p += cmLen;

  const hello: ClientHello = {
    status: 'ok', sslv2: false, length: end,
    recordVersion: 0x30000 | buf[2]!, version, maxVersion: 0x0300 | buf[10]!,
    sni: undefined, alpn: undefined, ecExt: false, stExt: undefined,
    sessionIdOffset: sidOff, sessionIdLength: sidLen, ciphersOffset: csOff, ciphersLength: csLen,
    extensionsOffset: -1, extensionsLength: 0, alpnOffset: -1, alpnLength: 0,
    supportedVersionsOffset: -1, supportedVersionsLength: 0, sigAlgsOffset: -1, sigAlgsLength: 0,
    groupsOffset: -1, groupsLength: 0,
  };
  if (p === end) return hello; // no extension block: allowed before TLS 1.3 (RFC 5246 §7.4.1.2)
  if (p + 2 > end) return invalid(HELLO_ERR_EXTENSIONS, p);
  const extLen = (buf[p]! << 8) | buf[p + 1]!;
  p += 2;
  if (p + extLen !== end) return invalid(p + extLen > end ? HELLO_ERR_EXTENSIONS : HELLO_ERR_TRAILING, p - 2);
  hello.extensionsOffset = p;
  hello.extensionsLength = extLen;
  // HAProxy reads no extension of a hello below TLS 1.0 or without 2 bytes
  // beyond an empty extension block (its hs_len >= 45 test).
  const readExts = buf[10]! >= 1 && hsLen >= 45;
  let seen = 0; // bit per extension we read, to refuse duplicates
  while (p < end) {
    if (p + 4 > end) return invalid(HELLO_ERR_EXTENSIONS, p);
    const type = (buf[p]! << 8) | buf[p + 1]!;
    const len = (buf[p + 2]! << 8) | buf[p + 3]!;
    const body = p + 4;
    const next = body + len;
    if (next > end) return invalid(HELLO_ERR_EXTENSIONS, p);
    let bit = 0;
    switch (type) {
      case EXT_SERVER_NAME: {
        bit = 1;
        // ServerNameList: 2-byte length, then entries of type(1) len(2) name.
        if (len < 2 || 2 + ((buf[body]! << 8) | buf[body + 1]!) !== len) return invalid(HELLO_ERR_SNI, body);
        if (len < 2 + 3) return invalid(HELLO_ERR_SNI, body); // empty list
        let q = body + 2;
        let first = true;
        while (q < next) {
          if (q + 3 > next) return invalid(HELLO_ERR_SNI, q);
          const nt = buf[q]!;
          const nl = (buf[q + 1]! << 8) | buf[q + 2]!;
          if (nl === 0 || q + 3 + nl > next) return invalid(HELLO_ERR_SNI, q);
          // HAProxy looks at the first entry only.
          if (first && nt === 0 && readExts) hello.sni = buf.toString('latin1', q + 3, q + 3 + nl);
          first = false;
          q += 3 + nl;
        }
        break;
      }
      case EXT_ALPN: {
        bit = 2;
        // ProtocolNameList: 2-byte length, names of 1..255 bytes with a 1-byte length.
        if (len < 2 + 2 || 2 + ((buf[body]! << 8) | buf[body + 1]!) !== len) return invalid(HELLO_ERR_ALPN, body);
        let q = body + 2;
        while (q < next) {
          const nl = buf[q]!;
          if (nl === 0 || q + 1 + nl > next) return invalid(HELLO_ERR_ALPN, q);
          q += 1 + nl;
        }
        if (readExts) {
          hello.alpnOffset = body + 2;
          hello.alpnLength = len - 2;
          hello.alpn = buf.toString('latin1', body + 3, body + 3 + buf[body + 2]!);
        }
        break;
      }
      case EXT_SUPPORTED_GROUPS:
        bit = 4;
        if (len < 4 || 2 + ((buf[body]! << 8) | buf[body + 1]!) !== len || (len & 1) !== 0) return invalid(HELLO_ERR_EXT_LIST, body);
        if (readExts) {
          hello.ecExt = true;
          hello.groupsOffset = body + 2;
          hello.groupsLength = len - 2;
        }
        break;
      case EXT_SIG_ALGS:
        bit = 8;
        if (len < 4 || 2 + ((buf[body]! << 8) | buf[body + 1]!) !== len || (len & 1) !== 0) return invalid(HELLO_ERR_EXT_LIST, body);
        hello.sigAlgsOffset = body + 2;
        hello.sigAlgsLength = len - 2;
        break;
      case EXT_SUPPORTED_VERSIONS: {
        bit = 16;
        // ClientHello form: 1-byte length, 2..254 bytes (RFC 8446 §4.2.1).
        if (len < 3 || 1 + buf[body]! !== len || (len & 1) === 0) return invalid(HELLO_ERR_EXT_LIST, body);
        hello.supportedVersionsOffset = body + 1;
        hello.supportedVersionsLength = len - 1;
        let max = 0;
        for (let q = body + 1; q < next; q += 2) {
          const v = (buf[q]! << 8) | buf[q + 1]!;
          if (v > max && !isGrease(v)) max = v;
        }
        if (max !== 0) hello.maxVersion = max;
        break;
      }
      case EXT_SESSION_TICKET:
        bit = 32;
        if (readExts && hello.stExt === undefined) hello.stExt = len > 0 ? 2 : 1;
        break;
    }
    if (bit !== 0) {
      if (seen & bit) return invalid(HELLO_ERR_DUP_EXTENSION, p);
      seen |= bit;
    }
    p = next;
  }
  if (readExts && hello.stExt === undefined) hello.stExt = 0;
  return hello;
}

/**
 * SSLv2-compatible ClientHello (RFC 5246 appendix E.2, as HAProxy's
 * smp_fetch_req_ssl_ver reads it): 2-byte header with the high bit set,
 * msg_type 1, version, cipher_spec_length (multiple of 3), session_id_length
 * (0 or 16), challenge_length (16..32), then those three fields' bytes.
 * Version 3.x, or 0x0002 for a pure SSL 2.0 client (req.ssl_ver gives 2).
 * The 3-byte header form (padding) exists only in pure SSLv2 records, never
 * in a compatible hello: refused here, read by reqSslVer() like HAProxy.
 */
function parseSslv2Hello(buf: Buffer): HelloParse {
  const n = buf.length;
  if (n < 2) return needMore(2 + 9);
  const recLen = ((buf[0]! & 0x7f) << 8) | buf[1]!;
  if (recLen < 9) return invalid(HELLO_ERR_SSLV2, 0);
  const end = 2 + recLen;
  if (n < 3) return needMore(end);
  if (buf[2] !== 1) return invalid(HELLO_ERR_RECORD_TYPE, 2);
  if (n < 5) return needMore(end);
  // SSL 2.0 is 0x0002; a v2-compatible hello from an SSLv3/TLS client says 3.x.
  if (buf[3] !== 3 && (buf[3] !== 0 || buf[4] !== 2)) return invalid(HELLO_ERR_VERSION, 3);
  if (n < 11) return needMore(end);
  const ciLen = (buf[5]! << 8) | buf[6]!;
  const sidLen = (buf[7]! << 8) | buf[8]!;
  const chLen = (buf[9]! << 8) | buf[10]!;
  if (ciLen === 0 || ciLen % 3 !== 0) return invalid(HELLO_ERR_CIPHERS, 5);
  if (sidLen !== 0 && sidLen !== 16) return invalid(HELLO_ERR_SESSION_ID, 7);
  if (chLen < 16 || chLen > 32) return invalid(HELLO_ERR_SSLV2, 9);
  if (recLen !== 9 + ciLen + sidLen + chLen) return invalid(HELLO_ERR_SSLV2, 0);
  if (n < end) return needMore(end);
  const version = (buf[3]! << 16) | buf[4]!;
  return {
    status: 'ok', sslv2: true, length: end, recordVersion: 0, version, maxVersion: (buf[3]! << 8) | buf[4]!,
    sni: undefined, alpn: undefined, ecExt: false, stExt: undefined,
    sessionIdOffset: 11 + ciLen, sessionIdLength: sidLen, ciphersOffset: 11, ciphersLength: ciLen,
    extensionsOffset: -1, extensionsLength: 0, alpnOffset: -1, alpnLength: 0,
    supportedVersionsOffset: -1, supportedVersionsLength: 0, sigAlgsOffset: -1, sigAlgsLength: 0,
    groupsOffset: -1, groupsLength: 0,
  };
}

/** Every ALPN protocol in the client's order: the values req.ssl_alpn's ACL iterates. */
export function alpnProtocols(buf: Buffer, hello: ClientHello): string[] {
  const out: string[] = [];
  const end = hello.alpnOffset + hello.alpnLength;
  for (let q = hello.alpnOffset; q >= 0 && q < end; q += 1 + buf[q]!) out.push(buf.toString('latin1', q + 1, q + 1 + buf[q]!));
  return out;
}

/** supported_versions entries as 0x0304-style numbers, GREASE included, in the client's order. */
export function supportedVersions(buf: Buffer, hello: ClientHello): number[] {
  const out: number[] = [];
  const end = hello.supportedVersionsOffset + hello.supportedVersionsLength;
  for (let q = hello.supportedVersionsOffset; q >= 0 && q < end; q += 2) out.push((buf[q]! << 8) | buf[q + 1]!);
  return out;
}

/* ---------------- HAProxy's own fetch kernels ---------------- */

/**
 * req.ssl_hello_type / res.ssl_hello_type: HAProxy 2.6 smp_fetch_ssl_hello_type.
 * Any record type 0x14-0x17 or 0xFF with version >= 3.0 and length >= 4;
 * the type of the handshake message once 9 + its length bytes are there
 * (its length is not checked against the record's). SSLv2 gives no sample.
 * Returns the type, TLS_NEED_MORE or TLS_NO_MATCH.
 */
export function sslHelloType(buf: Uint8Array): number {
  const n = buf.length;
  if (n === 0) return TLS_NEED_MORE;
  const b0 = buf[0]!;
  if (!((b0 >= 0x14 && b0 <= 0x17) || b0 === 0xff)) return TLS_NO_MATCH;
  if (n < 9) return TLS_NEED_MORE;
  if (((buf[1]! << 16) | buf[2]!) < 0x30000) return TLS_NO_MATCH;
  if (((buf[3]! << 8) | buf[4]!) < 4) return TLS_NO_MATCH;
  const hsLen = (buf[6]! << 16) | (buf[7]! << 8) | buf[8]!;
  if (n < 9 + hsLen) return TLS_NEED_MORE;
  return buf[5]!;
}

/**
 * req.ssl_ver: HAProxy 2.6 smp_fetch_req_ssl_ver. SSLv3+ header (record type
 * 0x14-0x17/0xFF, any): the ClientHello version bytes 9-10 once the whole
 * record (6..2^14+2048 bytes) is there; else an SSLv2 hello header, short
 * (high bit) or long (padding) form, once its announced bytes are there.
 * HAProxy caps the wait at what its buffer can hold for a first read:
 * `bufLimit`, tune.bufsize - tune.maxrewrite (16384 - 1024 by default,
 * channel_recv_limit()).
 * Returns major*65536+minor, TLS_NEED_MORE or TLS_NO_MATCH.
 */
export function reqSslVer(buf: Uint8Array, bufLimit = 15360): number {
  const n = buf.length;
  if (n === 0) return TLS_NEED_MORE;
  const b0 = buf[0]!;
  let version: number;
  let msgLen: number;
  let left: number;
  if ((b0 >= 0x14 && b0 <= 0x17) || b0 === 0xff) {
    if (n < 11) return TLS_NEED_MORE;
    if (((buf[1]! << 16) | buf[2]!) < 0x30000) return TLS_NO_MATCH;
    msgLen = (buf[3]! << 8) | buf[4]!;
    if (msgLen < 6 || msgLen > (1 << 14) + 2048) return TLS_NO_MATCH;
    left = n - 5;
    version = (buf[9]! << 16) | buf[10]!;
  } else {
    let p: number;
    let rlen: number;
    let plen: number;
    if (b0 & 0x80) {
      if (n < 3) return TLS_NEED_MORE;
      rlen = ((b0 & 0x7f) << 8) | buf[1]!;
      plen = 0;
      p = 2;
    } else {
      if (n < 4) return TLS_NEED_MORE;
      rlen = ((b0 & 0x3f) << 8) | buf[1]!;
      plen = buf[2]!;
      p = 3;
    }
    if (buf[p] !== 1) return TLS_NO_MATCH;
    p++;
    if (n - p < 8) return TLS_NEED_MORE;
    version = (buf[p]! << 16) | buf[p + 1]!;
    const ciLen = (buf[p + 2]! << 8) | buf[p + 3]!;
    const sidLen = (buf[p + 4]! << 8) | buf[p + 5]!;
    const chLen = (buf[p + 6]! << 8) | buf[p + 7]!;
    p += 8;
    if (ciLen % 3 !== 0) return TLS_NO_MATCH;
    if (sidLen !== 0 && sidLen !== 16) return TLS_NO_MATCH;
    if (chLen < 16 || chLen > 32) return TLS_NO_MATCH;
    if (rlen !== 9 + ciLen + sidLen + chLen) return TLS_NO_MATCH;
    msgLen = ciLen + sidLen + chLen + plen;
    left = n - p;
  }
  if (msgLen > bufLimit) msgLen = bufLimit;
  if (left < msgLen) return TLS_NEED_MORE;
  return version;
}

/* ---------------- first-bytes sniffing ---------------- */

/**
 * Whether a connection's first bytes start a TLS ClientHello: 1 yes, 0 no,
 * TLS_NEED_MORE. Reads at most 6 bytes: a handshake record (0x16), version
 * 3.0-3.4, length 1..2^14, ClientHello (1); or an SSLv2-compatible hello
 * header (high bit, msg_type 1, version major 3 or 0 for SSL 2.0). HTTP methods, "SSH-",
 * PROXY protocol, SMTP/IMAP banners replies all begin with printable ASCII,
 * so they are told apart from the first byte.
 */
export function looksLikeTls(buf: Uint8Array): number {
  const n = buf.length;
  if (n === 0) return TLS_NEED_MORE;
  const b0 = buf[0]!;
  if (b0 === 0x16) {
    if (n < 2) return TLS_NEED_MORE;
    if (buf[1] !== 3) return 0;
    if (n < 3) return TLS_NEED_MORE;
    if (buf[2]! > 4) return 0;
    if (n < 5) return TLS_NEED_MORE;
    const len = (buf[3]! << 8) | buf[4]!;
    if (len === 0 || len > MAX_RECORD) return 0;
    if (n < 6) return TLS_NEED_MORE;
    return buf[5] === 1 ? 1 : 0;
  }
  if (b0 & 0x80) {
    if (n < 3) return TLS_NEED_MORE;
    if (buf[2] !== 1) return 0;
    if (n < 4) return TLS_NEED_MORE;
    return buf[3] === 3 || buf[3] === 0 ? 1 : 0;
  }
  return 0;
}
