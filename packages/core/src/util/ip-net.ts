/**
 * IPv4 and IPv6 networks as HAProxy's `except <network>` arguments take them
 * (str2net / str62net in src/tools.c): `a.b.c.d`, `a.b.c.d/<bits>`,
 * `a.b.c.d/<dotted mask>`, `<ipv6>` or `<ipv6>/<bits>`; and the match of
 * ipcmp2net(): an address of the other family never matches (an IPv4 client
 * seen as `::ffff:a.b.c.d` on an IPv6 listener is an IPv6 address).
 *
 * Matching parses the address text into a reused scratch array: no
 * allocation per request.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { NetworkConfig } from '../config/compiled';

const scratch = new Uint8Array(16);

/** Parses an IP address into `out`; returns 4, 6, or 0 when `s` is not an IP address. */
export function parseIpInto(s: string, out: Uint8Array): 0 | 4 | 6 {
  if (s.indexOf(':') >= 0) return parseIPv6Into(s, out) ? 6 : 0;
  return parseIPv4Into(s, 0, s.length, out, 0) ? 4 : 0;
}

/** A canonical dotted quad (no heading zeroes, 0-255) from s[from, to) into out[at..at+4). */
export function parseIPv4Into(s: string, from: number, to: number, out: Uint8Array, at: number): boolean {
  let part = 0, digits = 0, val = 0;
  for (let i = from; i <= to; i++) {
    const c = i < to ? s.charCodeAt(i) : 0x2e;
    if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && val === 0) return false; // heading zero
      val = val * 10 + (c - 0x30);
      if (val > 255) return false;
      digits++;
    } else if (c === 0x2e) {
      if (digits === 0 || part === 4) return false;
      out[at + part++] = val;
      val = 0;
      digits = 0;
    } else {
      return false;
    }
  }
  return part === 4;
}

/** IPv6 text as inet_pton(3) accepts it (hex groups, one `::`, an optional trailing dotted quad), into out[0..16). */
export function parseIPv6Into(s: string, out: Uint8Array): boolean {
  const n = s.length;
  let i = 0, o = 0, gap = -1;
  if (n < 2) return false;
  if (s.charCodeAt(0) === 0x3a) {
    if (s.charCodeAt(1) !== 0x3a) return false;
    gap = 0;
    i = 2;
    if (i === n) { out.fill(0); return true; } // "::"
  }
  while (i < n) {
    // one group: hex digits, or a dotted quad at the end
    const gs = i;
    let val = 0;
    while (i < n && i - gs < 5) {
      const d = hexVal(s.charCodeAt(i));
      if (d < 0) break;
      val = val * 16 + d;
      i++;
    }
    if (i < n && s.charCodeAt(i) === 0x2e) {
      if (o > 12 || !parseIPv4Into(s, gs, n, out, o)) return false;
      o += 4;
      i = n;
      break;
    }
    if (i === gs || i - gs > 4 || o > 14) return false;
    out[o++] = val >> 8;
    out[o++] = val & 0xff;
    if (i === n) break;
    if (s.charCodeAt(i) !== 0x3a) return false;
    i++;
    if (i < n && s.charCodeAt(i) === 0x3a) {
      if (gap >= 0) return false;
      gap = o;
      i++;
      if (i === n) break;
    } else if (i === n) {
      return false; // trailing single ':'
    }
  }
  if (gap >= 0) {
    if (o === 16) return false;
    const tail = o - gap;
    for (let k = 1; k <= tail; k++) { out[16 - k] = out[gap + tail - k]; }
    for (let k = gap; k < 16 - tail; k++) out[k] = 0;
  } else if (o !== 16) {
    return false;
  }
  return true;
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/** `except` argument → network, or undefined when it is not one (no host names). */
export function parseNetwork(text: string): NetworkConfig | undefined {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const maskText = slash < 0 ? undefined : text.slice(slash + 1);
  const bytes = new Uint8Array(16);
  let family: 4 | 6;
  if (isIPv4(addrText)) family = 4;
  else if (isIPv6(addrText)) family = 6;
  else return undefined;
  if (parseIpInto(addrText, bytes) !== family) return undefined;
  const size = family === 4 ? 4 : 16;
  const mask = new Array<number>(size).fill(0);
  if (maskText === undefined) {
    mask.fill(255);
  } else if (/^\d{1,3}$/.test(maskText)) {
    const bits = Number(maskText);
    if (bits > size * 8) return undefined;
    for (let b = 0; b < bits; b++) mask[b >> 3] |= 0x80 >> (b & 7);
  } else if (family === 4 && isIPv4(maskText)) {
    // A dotted mask (str2net accepts any, as inet_aton would).
    const m = new Uint8Array(16);
    parseIpInto(maskText, m);
    for (let k = 0; k < 4; k++) mask[k] = m[k];
  } else {
    return undefined;
  }
  const addr = new Array<number>(size);
  for (let k = 0; k < size; k++) addr[k] = bytes[k] & mask[k];
  return { family, addr, mask };
}

/** Whether address text `ip` is in `net` (ipcmp2net() == 0). */
export function inNetwork(ip: string, net: NetworkConfig): boolean {
  const family = parseIpInto(ip, scratch);
  if (family !== net.family) return false;
  const a = net.addr, m = net.mask;
  for (let k = 0; k < a.length; k++) if ((scratch[k] & m[k]) !== a[k]) return false;
  return true;
}
