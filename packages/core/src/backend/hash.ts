/**
 * HAProxy's hash functions (src/hash.c) and Bob Jenkins' full avalanche
 * (include/haproxy/intops.h __full_hash()): one copy, used by the hashing
 * converters (rules/converters.ts) and by the hash-based balancing
 * algorithms (`hash-type ... sdbm|djb2|wt6|crc32 [avalanche]`,
 * backend/lb-hash.ts). Results are uint32 numbers, as the C functions'
 * `unsigned int`, so that a key reaches the server HAProxy would pick.
 *
 * Each function hashes b[s, e) (default: all of b): the balancer hashes a
 * slice of a header or body buffer in place, without copying it.
 */

/** Bob Jenkins' full avalanche (intops.h __full_hash()): the `avalanche` modifier, consistent hashing's node keys. */
export function fullHash(a: number): number {
  a = (a + 0x7ed55d16 + (a << 12)) >>> 0;
  a = (a ^ 0xc761c23c ^ (a >>> 19)) >>> 0;
  a = (a + 0x165667b1 + (a << 5)) >>> 0;
  a = ((a + 0xd3a2646c) ^ (a << 9)) >>> 0;
  a = (a + 0xfd7046c5 + (a << 3)) >>> 0;
  a = (a ^ 0xb55a4f09 ^ (a >>> 16)) >>> 0;
  return Math.imul(a, 3221225473) >>> 0;
}

export function hashDjb2(b: Uint8Array, s = 0, e = b.length): number {
  let h = 5381;
  for (let i = s; i < e; i++) h = (Math.imul(h, 33) + b[i]) >>> 0;
  return h;
}

export function hashSdbm(b: Uint8Array, s = 0, e = b.length): number {
  let h = 0;
  for (let i = s; i < e; i++) h = (b[i] + (h << 6) + (h << 16) - h) >>> 0;
  return h;
}

export function hashWt6(b: Uint8Array, s = 0, e = b.length): number {
  let h0 = 0xa53c965a, h1 = 0x5ca6953a;
  let step0 = 6, step1 = 18;
  for (let i = s; i < e; i++) {
    let t = b[i];
    h0 = ~(h0 ^ t) >>> 0;
    h1 = ~(h1 + t) >>> 0;
    t = ((h1 << step0) | (h1 >>> (32 - step0))) >>> 0;
    h1 = ((h0 << step1) | (h0 >>> (32 - step1))) >>> 0;
    h0 = t;
    t = ((h0 >>> 16) ^ h1) & 0xffff;
    step0 = t & 0x1f;
    step1 = t >>> 11;
  }
  return (h0 ^ h1) >>> 0;
}

function crcTable(poly: number): Uint32Array {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
}
const CRC32 = crcTable(0xedb88320);
/** CRC32C (Castagnoli, RFC 4960 appendix B): hash.c's crctable[]. */
const CRC32C = crcTable(0x82f63b78);

export function hashCrc32(b: Uint8Array, s = 0, e = b.length): number {
  let c = 0xffffffff;
  for (let i = s; i < e; i++) c = CRC32[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function hashCrc32c(b: Uint8Array, s = 0, e = b.length): number {
  let c = 0xffffffff;
  for (let i = s; i < e; i++) c = CRC32C[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export type HashFunction = (b: Uint8Array, s?: number, e?: number) => number;
