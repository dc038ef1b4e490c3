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
  if (s.indexOf(':') >= 0) return parseIpv6(s, out) ? 6 : 0;
  return parseIpv4(s, 0, s.length, out, 0) ? 4 : 0;
}

function parseIpv4(s: string, from: number, to: number, out: Uint8Array, at: number): boolean {
  let part = 0, digits = 0, v = 0;
  for (let i = from; i <= to; i++) {
    const c = i < to ? s.charCodeAt(i) : 46;
    if (c === 46 /* . */) {
      if (digits === 0 || part > 3) return false;
      out[at + part++] = v;
      v = 0; digits = 0;
    } else if (c >= 48 && c <= 57) {
      v = v * 10 + (c - 48);
      if (++digits > 3 || v > 255) return false;
    } else {
      return false;
    }
  }
  return part === 4;
}

function parseIpv6(s: string, out: Uint8Array): boolean {
  const n = s.length;
  let i = 0;
  let w = 0; // bytes written
  let gap = -1; // byte index of '::'
  if (n >= 2 && s.charCodeAt(0) === 58 && s.charCodeAt(1) === 58) { gap = 0; i = 2; }
  else if (n > 0 && s.charCodeAt(0) === 58) return false;
  while (i < n) {
    let j = i;
    let v = 0;
    while (j < n) {
      const c = s.charCodeAt(j);
      let d: number;
      if (c >= 48 && c <= 57) d = c - 48;
      else if (c >= 97 && c <= 102) d = c - 87;
      else if (c >= 65 && c <= 70) d = c - 55;
      else break;
      v = v * 16 + d;
      j++;
    }
    if (j < n && s.charCodeAt(j) === 46 /* . */) {
      // Embedded IPv4 in the last 32 bits.
      if (w > 12 || !parseIpv4(s, i, n, out, w)) return false;
      w += 4;
      break;
    }
    if (j === i || j - i > 4) return false;
    if (w > 14) return false;
    out[w++] = v >> 8; out[w++] = v & 255;
    if (j === n) break;
    if (s.charCodeAt(j) !== 58) return false;
    j++;
    if (j < n && s.charCodeAt(j) === 58) {
      if (gap >= 0) return false;
      gap = w;
      j++;
    } else if (j === n) {
      return false;
    }
    i = j;
  }
  if (gap < 0) return w === 16;
  if (w === 16) return false;
  const tail = w - gap;
  for (let k = 1; k <= tail; k++) out[16 - k] = out[w - k];
  for (let k = gap; k < 16 - tail; k++) out[k] = 0;
  return true;
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
