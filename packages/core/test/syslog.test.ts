/*
 * Syslog framing against real HAProxy output.
 *
 * The CAPTURED_* lines come from haproxy 2.6.12 (/usr/sbin/haproxy), run as
 * `haproxy -db -f <cfg>` with one `log 127.0.0.1:<port> [len N] [format F]
 * <facility> [level [minlevel]]` per format plus `log stdout ...` and
 * `log stderr ...`; a Python UDP receiver printed each datagram as JSON and
 * stdout/stderr were redirected to files. Traffic: one TCP connection to an
 * `option tcplog` frontend (info), and for run B a `check`ed server with
 * nothing listening (alert "Server ... is DOWN", emerg "no server available").
 *
 * Run A: TZ=UTC (container default), no log-send-hostname, default tag
 *        "haproxy", pid 20004.
 * Run B: TZ=America/St_Johns (-03:30, to see the offset), `log-send-hostname
 *        myhost`, `log-tag sw`, pid 18977.
 *
 * HAProxy prints real microseconds in ISO stamps; a Date has milliseconds, so
 * we print them followed by 000 and compare against the capture with its last
 * three microsecond digits zeroed (msOnly below). Nothing else is adjusted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LogFormatKind, LogTarget, LogTargetAddress } from '../src/config/compiled';
import { formatSyslogLine } from '../src/log/syslog';

const UDP: LogTargetAddress = { kind: 'udp', host: '127.0.0.1', port: 514, family: 4 };

function target(format: LogFormatKind, opts: Partial<LogTarget> = {}): LogTarget {
  return { file: 't.cfg', line: 1, address: UDP, maxLen: 1024, format, facility: 16, level: 7, minLevel: 0, ...opts };
}

/** The ISO stamp's microseconds with the sub-millisecond digits zeroed. */
function msOnly(line: string): string {
  return line.replace(/(T\d\d:\d\d:\d\d\.\d{3})\d{3}([+-]\d\d:\d\d )/, '$1000$2');
}

function isoDate(line: string): Date {
  const m = /(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})\d{3}([+-]\d\d:\d\d)/.exec(line);
  assert.ok(m, `no ISO stamp in ${line}`);
  return new Date(m[1] + m[2]);
}

function fmt(t: LogTarget, level: number, msg: string, ctx: { tag: string; pid: number; hostname: string | null; now: Date }): string {
  return formatSyslogLine(t, level, msg, ctx).toString('latin1');
}

/* ---------------- run A: UTC, no hostname, tag haproxy ---------------- */

const A_MSG = '127.0.0.1:52102 [24/Nov/2026:17:57:10.146] fe be/s1 1/-1/0 0 -- 1/1/0/0/1 0/0';
const A_ISO = '<134>1 2026-11-24T17:57:10.146240+00:00 - haproxy 20004 - - ' + A_MSG + '\n';
const CAPTURED_A: Array<[string, LogTarget, string]> = [
  ['default format (= local)', target('local'), '<134>Nov 24 17:57:10 haproxy[20004]: ' + A_MSG + '\n'],
  ['rfc3164 without hostname', target('rfc3164'), '<134>Nov 24 17:57:10 localhost haproxy[20004]: ' + A_MSG + '\n'],
  ['rfc5424 without hostname', target('rfc5424'), A_ISO],
  ['short', target('short'), '<6>' + A_MSG + '\n'],
  ['raw', target('raw'), A_MSG + '\n'],
  ['timed', target('timed'), '<6>2026-11-24T17:57:10.146260+00:00 ' + A_MSG + '\n'],
  ['iso', target('iso'), '2026-11-24T17:57:10.146263+00:00 ' + A_MSG + '\n'],
  ['priority', target('priority'), '<134>' + A_MSG + '\n'],
  ['local', target('local'), '<134>Nov 24 17:57:10 haproxy[20004]: ' + A_MSG + '\n'],
  // `len 80` over UDP: 80 bytes of header+message, then the LF (81 bytes).
  ['udp len 80', target('local', { maxLen: 80 }), '<134>Nov 24 17:57:10 haproxy[20004]: 127.0.0.1:52102 [24/Nov/2026:17:57:10.146] \n'],
  ['local0 debug err (info is not raised)', target('local', { minLevel: 3 }), '<134>Nov 24 17:57:10 haproxy[20004]: ' + A_MSG + '\n'],
  // `log stdout format raw local0` and `log stderr local0`
  ['stdout raw', target('raw', { address: { kind: 'stdout' } }), A_MSG + '\n'],
  ['stderr default', target('local', { address: { kind: 'stderr' } }), '<134>Nov 24 17:57:10 haproxy[20004]: ' + A_MSG + '\n'],
];

test('run A (UTC, no hostname): every format matches haproxy 2.6.12', () => {
  process.env.TZ = 'UTC';
  const now = isoDate(A_ISO);
  for (const [name, t, captured] of CAPTURED_A) {
    assert.equal(fmt(t, 6, A_MSG, { tag: 'haproxy', pid: 20004, hostname: null, now }), msOnly(captured), name);
  }
});

/* ------------- run B: -03:30, log-send-hostname myhost, tag sw ------------- */

const B_DOWN = 'Server be/s1 is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: 0ms. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.';
const B_NOSRV = 'backend be has no server available!';
const B_TCP = '127.0.0.1:43748 [24/Nov/2026:14:26:40.050] fe be/<NOSRV> -1/-1/0 0 SC 1/1/0/0/0 0/0';

/** [target config, [level, message, captured line, ISO line giving its date]] */
const B_DOWN_ISO = '<129>1 2026-11-24T14:26:38.820298-03:30 myhost sw 18977 - - ' + B_DOWN + '\n';
const B_NOSRV_ISO = '<128>1 2026-11-24T14:26:38.820436-03:30 myhost sw 18977 - - ' + B_NOSRV + '\n';
const B_TCP_ISO = '<134>1 2026-11-24T14:26:40.050651-03:30 myhost sw 18977 - - ' + B_TCP + '\n';

const CAPTURED_B: Array<[string, LogTarget, Array<[number, string, string, string]>]> = [
  // No `format` + log-send-hostname: HAProxy sends rfc3164 with the hostname.
  ['default format with hostname (= rfc3164)', target('rfc3164'), [
    [1, B_DOWN, '<129>Nov 24 14:26:38 myhost sw[18977]: ' + B_DOWN + '\n', B_DOWN_ISO],
    [0, B_NOSRV, '<128>Nov 24 14:26:38 myhost sw[18977]: ' + B_NOSRV + '\n', B_NOSRV_ISO],
    [6, B_TCP, '<134>Nov 24 14:26:40 myhost sw[18977]: ' + B_TCP + '\n', B_TCP_ISO],
  ]],
  ['rfc5424 with hostname', target('rfc5424'), [
    [1, B_DOWN, B_DOWN_ISO, B_DOWN_ISO],
    [0, B_NOSRV, B_NOSRV_ISO, B_NOSRV_ISO],
    [6, B_TCP, B_TCP_ISO, B_TCP_ISO],
  ]],
  ['short', target('short'), [
    [1, B_DOWN, '<1>' + B_DOWN + '\n', B_DOWN_ISO],
    [0, B_NOSRV, '<0>' + B_NOSRV + '\n', B_NOSRV_ISO],
    [6, B_TCP, '<6>' + B_TCP + '\n', B_TCP_ISO],
  ]],
  ['rfc5424 len 80 over UDP', target('rfc5424', { maxLen: 80 }), [
    [1, B_DOWN, '<129>1 2026-11-24T14:26:38.820385-03:30 myhost sw 18977 - - Server be/s1 is DOWN\n', '<129>1 2026-11-24T14:26:38.820385-03:30 '],
    [0, B_NOSRV, '<128>1 2026-11-24T14:26:38.820443-03:30 myhost sw 18977 - - backend be has no se\n', '<128>1 2026-11-24T14:26:38.820443-03:30 '],
    [6, B_TCP, '<134>1 2026-11-24T14:26:40.050666-03:30 myhost sw 18977 - - 127.0.0.1:43748 [24/\n', '<134>1 2026-11-24T14:26:40.050666-03:30 '],
  ]],
  ['timed', target('timed'), [
    [1, B_DOWN, '<1>2026-11-24T14:26:38.820390-03:30 ' + B_DOWN + '\n', '2026-11-24T14:26:38.820390-03:30 '],
    [0, B_NOSRV, '<0>2026-11-24T14:26:38.820447-03:30 ' + B_NOSRV + '\n', '2026-11-24T14:26:38.820447-03:30 '],
    [6, B_TCP, '<6>2026-11-24T14:26:40.050670-03:30 ' + B_TCP + '\n', '2026-11-24T14:26:40.050670-03:30 '],
  ]],
  ['local, facility local1', target('local', { facility: 17 }), [
    [1, B_DOWN, '<137>Nov 24 14:26:38 sw[18977]: ' + B_DOWN + '\n', B_DOWN_ISO],
    [0, B_NOSRV, '<136>Nov 24 14:26:38 sw[18977]: ' + B_NOSRV + '\n', B_NOSRV_ISO],
    [6, B_TCP, '<142>Nov 24 14:26:40 sw[18977]: ' + B_TCP + '\n', B_TCP_ISO],
  ]],
  // `format priority local0 debug err`: alert and emerg are raised to err.
  ['priority, minlevel err', target('priority', { minLevel: 3 }), [
    [1, B_DOWN, '<131>' + B_DOWN + '\n', B_DOWN_ISO],
    [0, B_NOSRV, '<131>' + B_NOSRV + '\n', B_NOSRV_ISO],
    [6, B_TCP, '<134>' + B_TCP + '\n', B_TCP_ISO],
  ]],
  ['short, minlevel err', target('short', { minLevel: 3 }), [
    [1, B_DOWN, '<3>' + B_DOWN + '\n', B_DOWN_ISO],
    [0, B_NOSRV, '<3>' + B_NOSRV + '\n', B_NOSRV_ISO],
    [6, B_TCP, '<6>' + B_TCP + '\n', B_TCP_ISO],
  ]],
  // `log stdout len 80 format raw local0`: on an fd the whole line including
  // its LF is at most len bytes (79 + LF), unlike UDP (80 + LF).
  ['stdout len 80 raw', target('raw', { maxLen: 80, address: { kind: 'stdout' } }), [
    [1, B_DOWN, 'Server be/s1 is DOWN, reason: Layer4 connection problem, info: "Connection refu\n', B_DOWN_ISO],
    [0, B_NOSRV, B_NOSRV + '\n', B_NOSRV_ISO],
    [6, B_TCP, '127.0.0.1:43748 [24/Nov/2026:14:26:40.050] fe be/<NOSRV> -1/-1/0 0 SC 1/1/0/0/0\n', B_TCP_ISO],
  ]],
  // `log stderr len 80 local0 info`, default format with hostname.
  ['stderr len 80 default format', target('rfc3164', { maxLen: 80, level: 6, address: { kind: 'stderr' } }), [
    [1, B_DOWN, '<129>Nov 24 14:26:38 myhost sw[18977]: Server be/s1 is DOWN, reason: Layer4 con\n', B_DOWN_ISO],
    [0, B_NOSRV, '<128>Nov 24 14:26:38 myhost sw[18977]: ' + B_NOSRV + '\n', B_NOSRV_ISO],
    [6, B_TCP, '<134>Nov 24 14:26:40 myhost sw[18977]: 127.0.0.1:43748 [24/Nov/2026:14:26:40.05\n', B_TCP_ISO],
  ]],
];

test('run B (-03:30, hostname, tag): every format matches haproxy 2.6.12', () => {
  process.env.TZ = 'America/St_Johns';
  for (const [name, t, lines] of CAPTURED_B) {
    for (const [level, msg, captured, dated] of lines) {
      const now = isoDate(dated);
      assert.equal(fmt(t, level, msg, { tag: 'sw', pid: 18977, hostname: 'myhost', now }), msOnly(captured), `${name} level ${level}`);
    }
  }
});

test('rfc3164 pads single-digit days with a space, and the cached second moves on', () => {
  process.env.TZ = 'UTC';
  const t = target('local');
  const ctx = { tag: 'haproxy', pid: 1, hostname: null, now: new Date('2026-03-04T05:06:07.000Z') };
  assert.equal(fmt(t, 6, 'x', ctx), '<134>Mar  4 05:06:07 haproxy[1]: x\n');
  ctx.now = new Date('2026-03-04T05:06:08.999Z');
  assert.equal(fmt(t, 6, 'x', ctx), '<134>Mar  4 05:06:08 haproxy[1]: x\n');
  ctx.now = new Date('2026-12-31T23:59:59.001Z');
  assert.equal(fmt(target('iso'), 6, 'x', ctx), '2026-12-31T23:59:59.001000+00:00 x\n');
});

test('trailing LFs and NULs are stripped; exactly one LF ends the line', () => {
  const ctx = { tag: 'sw', pid: 1, hostname: null, now: new Date() };
  assert.equal(fmt(target('raw'), 6, 'hello\n\n\0', ctx), 'hello\n');
  assert.equal(fmt(target('raw'), 6, '', ctx), '\n');
});

test('an empty tag drops the tag[pid]: part; rfc5424 prints "-"', () => {
  process.env.TZ = 'UTC';
  const now = new Date('2026-11-24T17:57:10.146Z');
  assert.equal(fmt(target('local'), 6, 'm', { tag: '', pid: 7, hostname: null, now }), '<134>Nov 24 17:57:10 m\n');
  assert.equal(fmt(target('rfc5424'), 6, 'm', { tag: '', pid: 7, hostname: null, now }), '<134>1 2026-11-24T17:57:10.146000+00:00 - - 7 - - m\n');
});

test('truncation: datagram len+LF, fd-like len including LF, header may be cut too', () => {
  const ctx = { tag: 'sw', pid: 1, hostname: null, now: new Date() };
  const long = 'x'.repeat(5000);
  assert.equal(formatSyslogLine(target('raw'), 6, long, ctx).length, 1025);
  assert.equal(formatSyslogLine(target('raw', { address: { kind: 'file', path: '/x' } }), 6, long, ctx).length, 1024);
  assert.equal(formatSyslogLine(target('raw', { address: { kind: 'fd', fd: 3 } }), 6, long, ctx).length, 1024);
  assert.equal(formatSyslogLine(target('raw', { address: { kind: 'unix-dgram', path: '/dev/log' } }), 6, long, ctx).length, 1025);
  const big = formatSyslogLine(target('raw', { maxLen: 65535 }), 6, long, ctx);
  assert.equal(big.length, 5001);
  // A tag longer than len: HAProxy cuts inside the header as well.
  const hdr = fmt(target('local', { maxLen: 80 }), 6, 'm', { ...ctx, tag: 't'.repeat(200) });
  assert.equal(hdr.length, 81);
  assert.ok(hdr.endsWith('ttt\n'));
  // UTF-8 is never cut inside a character.
  const u = formatSyslogLine(target('raw', { maxLen: 80 }), 6, 'é'.repeat(100), ctx);
  assert.equal(u.length, 81);
  assert.equal(u.toString('utf8'), 'é'.repeat(40) + '\n');
});
