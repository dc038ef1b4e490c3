/**
 * HAProxy's hash functions (src/hash.c) and Bob Jenkins' full avalanche
 * (include/haproxy/intops.h __full_hash()): one copy, used by the hashing
 * converters (rules/converters.ts) and by the hash-based balancing
 * algorithms (`hash-type ... sdbm|djb2|wt6|crc32 [avalanche]`,
 * backend/lb-hash.ts). Values are the C functions' `unsigned int`, so that
 * a key reaches the server HAProxy would pick. Each function hashes
 * b[s, e), so the balancer hashes a slice of a header or a body in place.
 */

/*
 * Each function leaves its uint32 in out[0]. A uint32 above 2^30 is no small
 * integer for V8: returned from a call that is not inlined it is boxed, one
 * allocation per hash; the balancer's pick() keeps its hashes in typed
 * arrays for that reason. The plain forms (hashSdbm() …, fullHash()) return
 * the number, for the converters and the consistent-hash ring's build.
 */

/** Bob Jenkins' full avalanche (intops.h __full_hash()) of out[0], in place: the `avalanche` modifier, consistent hashing's node keys. */
export function avalancheInto(out: Uint32Array): void {
  let a = out[0];
  a = (a + 0x7ed55d16 + (a << 12)) >>> 0;
  a = (a ^ 0xc761c23c ^ (a >>> 19)) >>> 0;
  a = (a + 0x165667b1 + (a << 5)) >>> 0;
  a = ((a + 0xd3a2646c) ^ (a << 9)) >>> 0;
  a = (a + 0xfd7046c5 + (a << 3)) >>> 0;
  a = (a ^ 0xb55a4f09 ^ (a >>> 16)) >>> 0;
  out[0] = Math.imul(a, 3221225473);
}

export function djb2Into(out: Uint32Array, b: Uint8Array, s: number, e: number): void {
  let h = 5381;
  for (let i = s; i < e; i++) h = (Math.imul(h, 33) + b[i]) | 0;
  out[0] = h;
}

export function sdbmInto(out: Uint32Array, b: Uint8Array, s: number, e: number): void {
  let h = 0;
  for (let i = s; i < e; i++) h = (b[i] + (h << 6) + (h << 16) - h) | 0;
  out[0] = h;
}

export function wt6Into(out: Uint32Array, b: Uint8Array, s: number, e: number): void {
  let h0 = 0xa53c965a | 0, h1 = 0x5ca6953a;
  let step0 = 6, step1 = 18;
  for (let i = s; i < e; i++) {
    let t = b[i];
    h0 = ~(h0 ^ t);
    h1 = ~(h1 + t);
    t = (h1 << step0) | (h1 >>> (32 - step0));
    h1 = (h0 << step1) | (h0 >>> (32 - step1));
    h0 = t;
    t = ((h0 >>> 16) ^ h1) & 0xffff;
    step0 = t & 0x1f;
    step1 = t >>> 11;
  }
  out[0] = h0 ^ h1;
}

function crcTable(poly: number): Int32Array {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1;
    t[n] = c;
  }
  return t;
}
const CRC32 = crcTable(0xedb88320);
/** CRC32C (Castagnoli, RFC 4960 appendix B): hash.c's crctable[]. */
const CRC32C = crcTable(0x82f63b78);

export function crc32Into(out: Uint32Array, b: Uint8Array, s: number, e: number): void {
  let c = -1;
  for (let i = s; i < e; i++) c = CRC32[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  out[0] = ~c;
}

function crc32cInto(out: Uint32Array, b: Uint8Array, s: number, e: number): void {
  let c = -1;
  for (let i = s; i < e; i++) c = CRC32C[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  out[0] = ~c;
}

const OUT = new Uint32Array(1);

export function fullHash(a: number): number {
  OUT[0] = a;
  avalancheInto(OUT);
  return OUT[0];
}

export function hashDjb2(b: Uint8Array, s = 0, e = b.length): number { djb2Into(OUT, b, s, e); return OUT[0]; }
export function hashSdbm(b: Uint8Array, s = 0, e = b.length): number { sdbmInto(OUT, b, s, e); return OUT[0]; }
export function hashWt6(b: Uint8Array, s = 0, e = b.length): number { wt6Into(OUT, b, s, e); return OUT[0]; }
export function hashCrc32(b: Uint8Array, s = 0, e = b.length): number { crc32Into(OUT, b, s, e); return OUT[0]; }
export function hashCrc32c(b: Uint8Array, s = 0, e = b.length): number { crc32cInto(OUT, b, s, e); return OUT[0]; }
