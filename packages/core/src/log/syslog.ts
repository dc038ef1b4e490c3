/**
 * Syslog framing, byte for byte as HAProxy 2.6 builds it (log.c,
 * build_log_header / __do_send_log), checked against lines captured from
 * haproxy 2.6.12 (see test/syslog.test.ts):
 *
 *   local     <PRI>Mmm dd HH:MM:SS tag[pid]: msg
 *   rfc3164   <PRI>Mmm dd HH:MM:SS host tag[pid]: msg     (host "localhost" if unset)
 *   rfc5424   <PRI>1 ISO host tag pid - - msg              (unset fields are "-")
 *   priority  <PRI>msg
 *   short     <LVL>msg                                     (facility ignored)
 *   timed     <LVL>ISO msg
 *   iso       ISO msg
 *   raw       msg
 *
 * PRI = facility * 8 + level; ISO = local time with microseconds and a
 * numeric offset (`2026-11-24T14:22:30.170584-03:30`, `+00:00` for UTC).
 * Every line ends with one LF.
 *
 * Truncation differs per target kind, as in HAProxy:
 *  - datagrams (UDP, unix): header + message cut to `len` bytes, then LF,
 *    so a datagram is at most len + 1 bytes;
 *  - fd-like (stdout, stderr, fd@, file@): header + message cut to len - 1
 *    bytes, then LF, so a line is at most len bytes (fd_write_frag_line keeps
 *    one byte for the LF).
 */
import type { LogTarget } from '../config/compiled';
import { MONTHS, pad2, pad3 } from './date-parts';

export interface SyslogContext {
  tag: string;
  pid: number;
  /** `log-send-hostname`, or null when not configured. */
  hostname: string | null;
  now: Date;
}


/** `<0>` .. `<191>`, built once: the PRI field costs no allocation per line. */
const PRI: string[] = [];
for (let i = 0; i < 24 * 8; i++) PRI.push('<' + i + '>');

/*
 * Date prefixes are rebuilt once a second (HAProxy caches its legacy
 * timestamp the same way, keyed by the second).
 */
let legacySec = NaN;
/** `Nov 24 14:22:30 ` (day space-padded, "%s %2d %02d:%02d:%02d "). */
let legacyPrefix = '';
let isoSec = NaN;
/** `2026-11-24T14:22:30.` */
let isoPrefix = '';
/** `-03:30 ` including the separating space. */
let isoSuffix = '';

function legacyTimestamp(now: Date): string {
  const sec = Math.floor(now.getTime() / 1000);
  if (sec !== legacySec) {
    const d = now.getDate();
    legacyPrefix = MONTHS[now.getMonth()] + (d < 10 ? '  ' : ' ') + d + ' ' +
      pad2(now.getHours()) + ':' + pad2(now.getMinutes()) + ':' + pad2(now.getSeconds()) + ' ';
    legacySec = sec;
  }
  return legacyPrefix;
}

function refreshIso(now: Date): void {
  const sec = Math.floor(now.getTime() / 1000);
  if (sec === isoSec) return;
  isoPrefix = now.getFullYear() + '-' + pad2(now.getMonth() + 1) + '-' + pad2(now.getDate()) + 'T' +
    pad2(now.getHours()) + ':' + pad2(now.getMinutes()) + ':' + pad2(now.getSeconds()) + '.';
  // getTimezoneOffset() is minutes *behind* UTC; recomputed each second so a
  // DST change shows up at once.
  const off = -now.getTimezoneOffset();
  const abs = Math.abs(off);
  isoSuffix = (off < 0 ? '-' : '+') + pad2(Math.floor(abs / 60)) + ':' + pad2(abs % 60) + ' ';
  isoSec = sec;
}

/**
 * ISO timestamp with microseconds. A Date only carries milliseconds, so the
 * last three digits are always 000 (HAProxy prints real microseconds).
 */
function isoMicros(now: Date): string {
  return pad3(((now.getTime() % 1000) + 1000) % 1000) + '000';
}

function isDatagram(target: LogTarget): boolean {
  const k = target.address.kind;
  return k === 'udp' || k === 'unix-dgram';
}

/**
 * Writes `s` at `off` without passing `limit`; returns the new offset.
 * Buffer#write never splits a UTF-8 sequence, so a cut lands on a character
 * boundary (HAProxy may cut inside one; only non-ASCII text can differ).
 */
function put(buf: Buffer, off: number, limit: number, s: string): number {
  if (off >= limit || s.length === 0) return off;
  return off + buf.write(s, off, limit - off, 'utf8');
}

/**
 * One syslog line for `target`, LF-terminated. `level` is capped to the
 * target's minLevel here (HAProxy: MAX(level, minlvl)); the caller filters
 * on target.level.
 */
export function formatSyslogLine(target: LogTarget, level: number, message: string, ctx: SyslogContext): Buffer {
  if (level < target.minLevel) level = target.minLevel;
  if (level < 0) level = 0;
  else if (level > 7) level = 7;

  // HAProxy strips trailing LFs and NULs: the LF is added back below.
  let end = message.length;
  while (end > 0) {
    const c = message.charCodeAt(end - 1);
    if (c !== 10 && c !== 0) break;
    end--;
  }
  if (end !== message.length) message = message.slice(0, end);

  const maxLen = target.maxLen > 0 ? target.maxLen : 1024;
  const limit = isDatagram(target) ? maxLen : maxLen - 1;

  // Upper bound of the bytes this line can take (UTF-8 is at most 3 bytes
  // per UTF-16 unit; the fixed header parts fit in 96), so one buffer of
  // the right size is allocated and only sliced, never copied.
  const hostLen = ctx.hostname === null ? 9 : ctx.hostname.length * 3;
  const bound = Math.min(limit, 96 + ctx.tag.length * 3 + hostLen + message.length * 3);
  const buf = Buffer.allocUnsafe(bound + 1);

  const fac = target.facility;
  let off = 0;
  switch (target.format) {
    case 'local':
    case 'rfc3164':
      off = put(buf, off, bound, PRI[fac * 8 + level]);
      off = put(buf, off, bound, legacyTimestamp(ctx.now));
      if (target.format === 'rfc3164') {
        // The hostname is mandatory in RFC 3164; HAProxy fills in "localhost".
        off = put(buf, off, bound, ctx.hostname === null || ctx.hostname === '' ? 'localhost' : ctx.hostname);
        off = put(buf, off, bound, ' ');
      }
      // An empty tag drops the whole `tag[pid]: ` part, as HAProxy does.
      if (ctx.tag.length > 0) {
        off = put(buf, off, bound, ctx.tag);
        off = put(buf, off, bound, '[');
        off = put(buf, off, bound, '' + ctx.pid);
        off = put(buf, off, bound, ']: ');
      }
      break;
    case 'rfc5424':
      off = put(buf, off, bound, PRI[fac * 8 + level]);
      off = put(buf, off, bound, '1 ');
      refreshIso(ctx.now);
      off = put(buf, off, bound, isoPrefix);
      off = put(buf, off, bound, isoMicros(ctx.now));
      off = put(buf, off, bound, isoSuffix);
      off = put(buf, off, bound, ctx.hostname === null || ctx.hostname === '' ? '-' : ctx.hostname);
      off = put(buf, off, bound, ' ');
      off = put(buf, off, bound, ctx.tag.length > 0 ? ctx.tag : '-');
      off = put(buf, off, bound, ' ');
      off = put(buf, off, bound, '' + ctx.pid);
      // MSGID and STRUCTURED-DATA: HAProxy sends "-" for both by default.
      off = put(buf, off, bound, ' - - ');
      break;
    case 'priority':
      off = put(buf, off, bound, PRI[fac * 8 + level]);
      break;
    case 'short':
      off = put(buf, off, bound, PRI[level]);
      break;
    case 'timed':
      off = put(buf, off, bound, PRI[level]);
      refreshIso(ctx.now);
      off = put(buf, off, bound, isoPrefix);
      off = put(buf, off, bound, isoMicros(ctx.now));
      off = put(buf, off, bound, isoSuffix);
      break;
    case 'iso':
      refreshIso(ctx.now);
      off = put(buf, off, bound, isoPrefix);
      off = put(buf, off, bound, isoMicros(ctx.now));
      off = put(buf, off, bound, isoSuffix);
      break;
    case 'raw':
      break;
  }
  off = put(buf, off, bound, message);
  buf[off++] = 10;
  return off === buf.length ? buf : buf.subarray(0, off);
}
