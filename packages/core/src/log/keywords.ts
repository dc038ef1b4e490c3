/**
 * Logging keywords, registered when this module is loaded (our INITCALL):
 *   global:  log, no log, log-tag, log-send-hostname
 *   proxies: log global, log <target> ..., no log, option tcplog,
 *            [no] option dontlognull
 *
 * Semantics follow HAProxy 2.6 parse_logsrv() (log.c) and
 * cfg_parse_global(); messages reuse HAProxy's wording where it has one.
 * There is no limit on the number of targets (the "up to two syslog
 * servers" in 8.1 is a leftover: 2.6 keeps a list).
 */
import * as net from 'node:net';
import * as os from 'node:os';
import { PROXY_SECTIONS, registerKeywords } from '../registry';
import type { KeywordContext, ParseState } from '../registry';
import type { GlobalConfig, LogFormatKind, LogTarget, LogTargetAddress } from '../config/compiled';
import { logFacilityNumber, logLevelNumber } from './tcplog';

const FORMATS: readonly LogFormatKind[] = ['local', 'rfc3164', 'rfc5424', 'priority', 'short', 'timed', 'iso', 'raw'];
const SYSLOG_PORT = 514;
const DEFAULT_LEN = 1024;
/*
 * HAProxy's limit for a UNIX socket path: sun_path (108) - 1 - room for the
 * ".<pid>.<bak|tmp>" suffix it uses when binding; applied to log sockets too.
 */
const MAX_UNIX_PATH = 97;

/** The `log-send-hostname` value, or null when the keyword was not given. */
export function getLogSendHostname(global: GlobalConfig): string | null {
  return global.logSendHostname;
}

interface LogScratch {
  /** Targets parsed without `format`; see defaultFormat(). */
  defaulted: LogTarget[];
}

function scratch(state: ParseState): LogScratch {
  let s = state.scratch.get('log') as LogScratch | undefined;
  if (!s) {
    s = { defaulted: [] };
    state.scratch.set('log', s);
  }
  return s;
}

/*
 * A target without `format` is HAProxy's LOG_FORMAT_UNSPEC: it is sent as
 * `local` (rfc3164 without hostname), or as `rfc3164` once log-send-hostname
 * provides a hostname. Targets parsed before log-send-hostname are switched
 * when it appears.
 */
function defaultFormat(state: ParseState): LogFormatKind {
  return getLogSendHostname(state.global) !== null ? 'rfc3164' : 'local';
}

type AddressResult = { address: LogTargetAddress } | { error: string };

/** Parses a log target address the way str2sa_range() does for `log`. */
export function parseLogAddress(word: string): AddressResult {
  if (word === 'stdout') return { address: { kind: 'stdout' } };
  if (word === 'stderr') return { address: { kind: 'stderr' } };
  if (word.startsWith('ring@')) {
    return { error: `ring buffers ('${word}') are not supported yet; use a syslog address, stdout/stderr, fd@ or file@` };
  }
  if (word.startsWith('file@')) {
    const path = word.slice(5);
    if (path === '') return { error: `missing file path in '${word}'` };
    return { address: { kind: 'file', path } };
  }

  let s = word;
  if (s.startsWith('dgram+')) s = s.slice(6);
  else if (s.startsWith('stream+')) return { error: `stream log servers ('${word}') are not supported yet` };

  for (const p of ['tcp@', 'tcp4@', 'tcp6@', 'uxst@']) {
    if (s.startsWith(p)) {
      return { error: `stream log servers ('${word}') need an implicit ring buffer, which is not supported yet` };
    }
  }
  if (s.startsWith('abns@')) {
    // Linux abstract namespace; UnixDgramSocket spells it '@name'.
    if (s.length === 5) return { error: `missing socket name in '${word}'` };
    return { address: { kind: 'unix-dgram', path: '@' + s.slice(5) } };
  }
  for (const p of ['sockpair@', 'quic4@', 'quic6@']) {
    if (s.startsWith(p)) return { error: `'${p}' addresses are not supported for log servers in '${word}'` };
  }

  if (s.startsWith('fd@')) {
    const n = s.slice(3);
    if (!/^[0-9]+$/.test(n)) return { error: `file descriptor '${n}' is not a valid integer in '${word}'` };
    const fd = Number(n);
    if (!Number.isSafeInteger(fd) || fd > 0x7fffffff) return { error: `file descriptor '${n}' is not a valid integer in '${word}'` };
    return { address: { kind: 'fd', fd } };
  }

  let path: string | undefined;
  if (s.startsWith('unix@') || s.startsWith('uxdg@')) path = s.slice(5);
  else if (s.startsWith('/')) path = s;
  if (path !== undefined) {
    if (path === '') return { error: `missing socket path in '${word}'` };
    if (Buffer.byteLength(path) > MAX_UNIX_PATH) return { error: `socket path '${word}' too long (max ${MAX_UNIX_PATH})` };
    return { address: { kind: 'unix-dgram', path } };
  }

  let family: 4 | 6 | 0 = 0;
  if (s.startsWith('udp@') || s.startsWith('ip@')) s = s.slice(s.indexOf('@') + 1);
  else if (s.startsWith('udp4@') || s.startsWith('ipv4@')) { s = s.slice(5); family = 4; }
  else if (s.startsWith('udp6@') || s.startsWith('ipv6@')) { s = s.slice(5); family = 6; }
  else if (/^[a-z0-9+]+@/.test(s)) return { error: `unknown address family '${s.slice(0, s.indexOf('@') + 1)}' in '${word}'` };

  // The port follows the last ':' unless a ']' comes after it, so a bare
  // IPv6 address needs brackets or a trailing ':' ("::1:" = [::1]:514).
  let host = s;
  let portText = '';
  let i = s.length - 1;
  while (i > 0 && s[i] !== ':' && s[i] !== ']') i--;
  if (i > 0 && s[i] === ':') {
    host = s.slice(0, i);
    portText = s.slice(i + 1);
  }
  let port = 0;
  if (portText !== '') {
    const c = portText[0];
    if (c === '+' || c === '-') return { error: `port offset not permitted here in '${word}'` };
    if (!/^[0-9]/.test(portText)) return { error: `invalid character '${c}' in port number '${portText}' in '${word}'` };
    if (portText.includes('-')) return { error: `port range not permitted here in '${word}'` };
    if (!/^[0-9]+$/.test(portText)) return { error: `invalid port '${portText}' in '${word}'` };
    port = Number(portText);
    if (port > 65535) return { error: `invalid port '${portText}'` };
  }
  // HAProxy: no port (or port 0) means the standard syslog port.
  if (port === 0) port = SYSLOG_PORT;

  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const ipFamily = net.isIP(host);
  if (ipFamily !== 0) {
    if (family !== 0 && family !== ipFamily) return { error: `invalid address: '${host}' in '${word}'` };
    return { address: { kind: 'udp', host, port, family: ipFamily as 4 | 6 } };
  }
  // A name: HAProxy resolves it at parse time; we resolve it once when the
  // sink is opened (config parsing is synchronous), IPv4 unless udp6@/ipv6@.
  if (!/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/.test(host)) {
    return { error: `invalid address: '${host}' in '${word}'` };
  }
  return { address: { kind: 'udp', host, port, family: family === 6 ? 6 : 4 } };
}

/** Parses `<target> [len <n>] [format <f>] [sample ..] <facility> [<level> [<minlevel>]]`. */
function parseLogTarget(ctx: KeywordContext, inProxy: boolean): LogTarget | undefined {
  const a = ctx.args;
  if (a[0] === 'global') {
    ctx.error(inProxy ? `'log global' takes no other argument` : `'global' is not supported for a global syslog server`);
    return undefined;
  }
  if (a.length < 2) {
    ctx.error(`expects <address> and <facility>${inProxy ? ' or global' : ''} as arguments`);
    return undefined;
  }

  // Order is fixed as in HAProxy: len, then format, then sample.
  let i = 1;
  let maxLen = DEFAULT_LEN;
  if (a[i] === 'len') {
    const v = a[i + 1] ?? '';
    const n = /^[0-9]+$/.test(v) ? Number(v) : NaN;
    if (!(n >= 80 && n <= 65535)) {
      ctx.error(`invalid log length '${v}', must be between 80 and 65535`);
      return undefined;
    }
    maxLen = n;
    i += 2;
  }
  let format: LogFormatKind | undefined;
  if (a[i] === 'format') {
    const v = a[i + 1] ?? '';
    if (!(FORMATS as readonly string[]).includes(v)) {
      ctx.error(`unknown log format '${v}' (expected one of ${FORMATS.join(', ')})`);
      return undefined;
    }
    format = v as LogFormatKind;
    i += 2;
  }
  if (a[i] === 'sample') {
    ctx.error(`'sample' (log sampling across servers) is not supported yet`);
    return undefined;
  }

  const facName = a[i];
  if (facName === undefined) {
    ctx.error(`missing <facility> after '${a[i - 1]}'`);
    return undefined;
  }
  const facility = logFacilityNumber(facName);
  if (facility < 0) {
    const hint = facName === 'len' || facName === 'format' || facName === 'sample'
      ? ` ('len', 'format' and 'sample' must follow the address in this order)`
      : '';
    ctx.error(`unknown log facility '${facName}'${hint}`);
    return undefined;
  }
  i++;

  let level = 7;
  if (a[i] !== undefined) {
    level = logLevelNumber(a[i]);
    if (level < 0) {
      ctx.error(`unknown optional log level '${a[i]}'`);
      return undefined;
    }
    i++;
  }
  let minLevel = 0;
  if (a[i] !== undefined) {
    minLevel = logLevelNumber(a[i]);
    if (minLevel < 0) {
      ctx.error(`unknown optional minimum log level '${a[i]}'`);
      return undefined;
    }
    i++;
  }
  if (a[i] !== undefined) {
    ctx.error(`cannot handle unexpected argument '${a[i]}'`);
    return undefined;
  }

  const addr = parseLogAddress(a[0]);
  if ('error' in addr) {
    ctx.error(addr.error);
    return undefined;
  }
  const target: LogTarget = {
    file: ctx.file,
    line: ctx.line,
    address: addr.address,
    maxLen,
    format: format ?? defaultFormat(ctx.state),
    facility,
    level,
    minLevel,
  };
  if (format === undefined) scratch(ctx.state).defaulted.push(target);
  return target;
}

function parseLog(ctx: KeywordContext): void {
  const inProxy = ctx.section !== 'global';
  if (inProxy && !ctx.proxy) return;

  if (ctx.negated) {
    // `no log`: forget inherited and earlier targets.
    if (ctx.args.length > 0) {
      ctx.error(`'no log' does not expect arguments`);
      return;
    }
    if (ctx.proxy) {
      ctx.proxy.logGlobal = false;
      ctx.proxy.logTargets = [];
    } else {
      ctx.state.global.logTargets = [];
    }
    return;
  }

  if (ctx.proxy && ctx.args.length === 1 && ctx.args[0] === 'global') {
    // Repeating it is harmless: HAProxy skips global targets already copied.
    ctx.proxy.logGlobal = true;
    return;
  }

  const target = parseLogTarget(ctx, inProxy);
  if (!target) return;
  // Fresh arrays: a proxy may still share its list with its defaults section.
  if (ctx.proxy) ctx.proxy.logTargets = [...ctx.proxy.logTargets, target];
  else ctx.state.global.logTargets = [...ctx.state.global.logTargets, target];
}

function parseLogTag(ctx: KeywordContext): void {
  if (ctx.args.length === 0 || ctx.args[0] === '') {
    ctx.error(`expects a tag for use in syslog`);
    return;
  }
  if (ctx.args.length > 1) {
    ctx.error(`cannot handle unexpected argument '${ctx.args[1]}'`);
    return;
  }
  ctx.state.global.logTag = ctx.args[0];
}

function parseLogSendHostname(ctx: KeywordContext): void {
  const g = ctx.state.global;
  if (g.logSendHostname !== null) {
    ctx.error(`already specified`);
    return;
  }
  if (ctx.args.length > 1) {
    // HAProxy silently ignores extra words here; say so instead.
    ctx.warn(`ignoring unexpected argument '${ctx.args[1]}'`);
  }
  const name = ctx.args.length > 0 && ctx.args[0] !== '' ? ctx.args[0] : os.hostname();
  g.logSendHostname = name;
  // Switch the targets that had no `format`, including the copies that
  // proxies made of their defaults section (same file:line).
  const defaulted = scratch(ctx.state).defaulted;
  const where = new Set(defaulted.map((t) => t.file + ':' + t.line));
  const flip = (t: LogTarget): void => {
    if (t.format === 'local' && where.has(t.file + ':' + t.line)) t.format = 'rfc3164';
  };
  defaulted.forEach(flip);
  for (const p of ctx.state.defaults) p.logTargets.forEach(flip);
  for (const p of ctx.state.proxies) p.logTargets.forEach(flip);
}

function noArgs(ctx: KeywordContext): boolean {
  if (ctx.args.length > 0) {
    ctx.error(`cannot handle unexpected argument '${ctx.args[0]}'`);
    return false;
  }
  return true;
}

function parseOptionTcplog(ctx: KeywordContext): void {
  if (!ctx.proxy) return;
  if (ctx.negated) {
    ctx.error(`negation/default is not supported for option 'tcplog'`);
    return;
  }
  if (!noArgs(ctx)) return;
  if (ctx.section === 'backend') {
    ctx.warn(`'option tcplog' directive is ignored in backends`);
    return;
  }
  ctx.proxy.options.tcplog = true;
}

function parseOptionDontlognull(ctx: KeywordContext): void {
  if (!ctx.proxy) return;
  if (!noArgs(ctx)) return;
  if (ctx.section === 'backend') {
    ctx.warn(`'dontlognull' ignored because backend '${ctx.proxy.name}' has no frontend capability`);
    return;
  }
  ctx.proxy.options.dontlognull = !ctx.negated;
}

registerKeywords([
  {
    name: 'log',
    sections: ['global', ...PROXY_SECTIONS],
    negatable: true,
    usage: 'log { global | <address> [len <length>] [format <format>] <facility> [<level> [<minlevel>]] } | no log',
    parse: parseLog,
  },
  {
    name: 'log-tag',
    sections: ['global'],
    usage: 'log-tag <string>',
    parse: parseLogTag,
  },
  {
    name: 'log-send-hostname',
    sections: ['global'],
    usage: 'log-send-hostname [<string>]',
    parse: parseLogSendHostname,
  },
  {
    name: 'option tcplog',
    sections: PROXY_SECTIONS,
    usage: 'option tcplog',
    parse: parseOptionTcplog,
  },
  {
    name: 'option dontlognull',
    sections: PROXY_SECTIONS,
    negatable: true,
    usage: '[no] option dontlognull',
    parse: parseOptionDontlognull,
  },
]);
