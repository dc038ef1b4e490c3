/**
 * Typed argument parsers shared by every keyword: times, sizes, integers,
 * addresses. Each returns a value or a string describing what is wrong, so the
 * caller can report it with file:line.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { ListenAddress } from './compiled';

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = <T>(error: string): Parsed<T> => ({ ok: false, error });

/** HAProxy's largest timer: 2^31-1 ms (about 24.8 days). */
const MAX_TIME_MS = 2147483647;

const TIME_UNITS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60000, h: 3600000, d: 86400000 };

/** `<number>[us|ms|s|m|h|d]`, in milliseconds; `defaultUnit` applies to bare numbers. */
export function parseTime(text: string, defaultUnit: keyof typeof TIME_UNITS = 'ms'): Parsed<number> {
  const m = /^(\d+)([a-z]*)$/.exec(text);
  if (!m) return bad(`invalid time value '${text}': expected a number with an optional unit (us, ms, s, m, h, d)`);
  const unit = m[2] === '' ? defaultUnit : m[2];
  const mult = TIME_UNITS[unit];
  if (mult === undefined) return bad(`invalid time unit '${m[2]}' in '${text}': expected us, ms, s, m, h or d`);
  const ms = Number(m[1]) * mult;
  if (ms > MAX_TIME_MS) return bad(`timer overflow in '${text}': the maximum is 2147483647 ms (24.8 days)`);
  // Sub-millisecond values round up so that "1us" still means "not zero".
  return ok(ms > 0 && ms < 1 ? 1 : Math.round(ms));
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 * 1024, g: 1024 * 1024 * 1024 };

/** `<number>[k|m|g]` in bytes. */
export function parseSize(text: string): Parsed<number> {
  const m = /^(\d+)([kmgKMG]?)$/.exec(text);
  if (!m) return bad(`invalid size '${text}': expected a number with an optional unit (k, m, g)`);
  const v = Number(m[1]) * SIZE_UNITS[m[2].toLowerCase()];
  if (!Number.isSafeInteger(v)) return bad(`size '${text}' is too large`);
  return ok(v);
}

/** A decimal integer within [min, max]. */
export function parseInteger(text: string | undefined, what: string, min: number, max: number): Parsed<number> {
  if (text === undefined || text === '') return bad(`'${what}' expects an integer argument`);
  if (!/^-?\d+$/.test(text)) return bad(`'${what}' expects an integer, got '${text}'`);
  const v = Number(text);
  if (v < min || v > max) return bad(`'${what}' value ${text} is out of range (${min}..${max})`);
  return ok(v);
}

/** An octal file mode such as 600 or 0660. */
export function parseFileMode(text: string | undefined): Parsed<number> {
  if (!text || !/^[0-7]{1,4}$/.test(text)) return bad(`invalid file mode '${text ?? ''}': expected an octal number such as 0600`);
  return ok(parseInt(text, 8));
}

export interface HostPort {
  host: string;
  /** First port; 0 if none was given. */
  port: number;
  /** Last port of a range (== port when not a range). */
  portEnd: number;
  family: 4 | 6 | 0;
  hasPort: boolean;
}

/**
 * `host:port`, `[v6]:port`, `v6:port` (the last colon separates the port, as
 * HAProxy does), `*:port`, `:port`, `host` alone; `port` may be a range
 * `a-b` when `allowRange`. `family` is forced by an `ipv4@`/`ipv6@` prefix.
 */
export function parseHostPort(text: string, opts: { allowRange: boolean; requirePort: boolean; family?: 4 | 6 }): Parsed<HostPort> {
  let host: string;
  let portText: string | undefined;
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    if (end < 0) return bad(`missing ']' in address '${text}'`);
    host = text.slice(1, end);
    const rest = text.slice(end + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) return bad(`unexpected '${rest}' after ']' in address '${text}'`);
      portText = rest.slice(1);
    }
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) {
      host = text;
    } else {
      host = text.slice(0, colon);
      portText = text.slice(colon + 1);
      // "::1" without port: every colon belongs to the address.
      if (host.includes(':') && !isIPv6(host) && isIPv6(text)) { host = text; portText = undefined; }
    }
  }
  if (host === '*' ) host = '';
  let port = 0, portEnd = 0;
  if (portText !== undefined) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(portText);
    if (!m) return bad(`invalid port '${portText}' in address '${text}'`);
    port = Number(m[1]);
    portEnd = m[2] !== undefined ? Number(m[2]) : port;
    if (m[2] !== undefined && !opts.allowRange) return bad(`port ranges are not allowed here: '${text}'`);
    if (port < 1 || port > 65535 || portEnd < port || portEnd > 65535) return bad(`invalid port '${portText}' in address '${text}': ports are 1-65535`);
  } else if (opts.requirePort) {
    return bad(`missing port in address '${text}'`);
  }
  let family: 4 | 6 | 0 = 0;
  if (host === '') family = opts.family ?? 0;
  else if (isIPv4(host)) family = 4;
  else if (isIPv6(host)) family = 6;
  if (opts.family && family && family !== opts.family) return bad(`address '${host}' is not an IPv${opts.family} address`);
  if (opts.family && !family) family = opts.family;
  return ok({ host, port, portEnd, family, hasPort: portText !== undefined });
}

/**
 * A `bind` address: `[ipv4@|ipv6@]addr:port[-end]`, `unix@path`, `/path`,
 * `fd@<n>`. Returns one ListenAddress per port of a range.
 */
export function parseBindAddress(text: string): Parsed<ListenAddress[]> {
  const at = text.indexOf('@');
  let prefix = '';
  let rest = text;
  if (at > 0 && !text.startsWith('/') && !text.startsWith('[')) {
    prefix = text.slice(0, at);
    rest = text.slice(at + 1);
  }
  if (prefix === 'unix' || (prefix === '' && text.startsWith('/'))) {
    if (rest === '') return bad(`empty UNIX socket path in '${text}'`);
    if (Buffer.byteLength(rest) > 107) return bad(`UNIX socket path '${rest}' is too long (at most 107 bytes)`);
    return ok([{ kind: 'unix', path: rest }]);
  }
  if (prefix === 'fd') {
    const fd = parseInteger(rest, 'fd@', 0, 65535);
    if (!fd.ok) return bad(`invalid file descriptor in '${text}'`);
    return ok([{ kind: 'fd', fd: fd.value }]);
  }
  if (prefix === 'abns' || prefix === 'sockpair' || prefix === 'udp' || prefix === 'udp4' || prefix === 'udp6' || prefix === 'quic4' || prefix === 'quic6' || prefix === 'uxdg' || prefix === 'uxst') {
    return bad(`address family '${prefix}@' is not supported by Switchyard`);
  }
  let family: 4 | 6 | undefined;
  if (prefix === 'ipv4' || prefix === 'tcp4') family = 4;
  else if (prefix === 'ipv6' || prefix === 'tcp6') family = 6;
  else if (prefix !== '' && prefix !== 'tcp') return bad(`unknown address prefix '${prefix}@' in '${text}'`);
  const hp = parseHostPort(rest, { allowRange: true, requirePort: true, family });
  if (!hp.ok) return hp;
  const { host, port, portEnd } = hp.value;
  if (host !== '' && hp.value.family === 0) return bad(`bind address '${host}' must be an IP address, not a host name`);
  // "*:port"/":port": IPv4 any unless ipv6@ forces IPv6 any (HAProxy binds 0.0.0.0 by default).
  const fam: 4 | 6 = hp.value.family === 6 ? 6 : 4;
  const h = host === '' ? (fam === 6 ? '::' : '0.0.0.0') : host;
  if (portEnd - port >= 1024) return bad(`port range '${port}-${portEnd}' is too large (at most 1024 ports)`);
  const out: ListenAddress[] = [];
  for (let p = port; p <= portEnd; p++) out.push({ kind: 'tcp', host: h, port: p, family: fam });
  return ok(out);
}

/** on/off keywords. */
export function parseOnOff(text: string | undefined, what: string): Parsed<boolean> {
  if (text === 'on') return ok(true);
  if (text === 'off') return ok(false);
  return bad(`'${what}' expects 'on' or 'off', got '${text ?? ''}'`);
}
