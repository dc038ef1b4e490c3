/**
 * Health-check keywords (configuration.txt 4.2 and 5.2, HAProxy's check.c,
 * tcpcheck.c and server.c parsers): the server line's `check`, `inter`,
 * `rise`, `agent-check`, `observe`… and the proxy's `option httpchk`,
 * `option tcp-check`, `tcp-check …`, `http-check …` and `timeout check`.
 * finalizeChecks() turns them into each server's ServerChecks and each
 * backend's CheckRuleSet, as HAProxy's check_proxy_tcpcheck() and
 * init_srv_check() do, with their errors and warnings.
 *
 * Not implemented (left to the HAProxy keyword tables, so they stay errors
 * at load): the other check types (ssl-hello-chk, mysql-check, ldap-check,
 * smtpchk, pgsql-check, redis-check, spop-check, external-check), the
 * log-format forms (send-lf, string-lf, uri-lf, body-lf, on-success /
 * on-error with expressions), set-var / unset-var, status-code, send-state,
 * check-proto, check-via-socks4.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import {
  registerKeywords, registerLineKeywords,
  type KeywordContext, type ParseState, type SectionKind,
} from '../registry';
import type { ProxyConfig, ServerConfig, ServerOptions, ServerTlsConfig } from '../config/compiled';
import { parseHostPort, parseInteger, parseTime } from '../config/args';
import { finalizeServerSsl } from '../tls/server-ssl';
import {
  HCHK_L4CON, HCHK_L4OK, HCHK_L4TOUT, HCHK_L6OK, HCHK_L6RSP, HCHK_L6TOUT, HCHK_L7OKCD, HCHK_L7OKD, HCHK_L7RSP,
  HCHK_L7STS, HCHK_L7TOUT, HCHK_UNKNOWN,
  OBSERVE_LAYER4, OBSERVE_LAYER7, OBSERVE_NONE, ONERR_FAILCHK, ONERR_FASTINTER, ONERR_MARKDWN, ONERR_SUDDTH,
  type CheckAddress, type CheckParams, type CheckRule, type CheckRuleSet, type CommentLine, type ConnectRule,
  type ExpectRule, type ExpectType, type HdrMatch, type HttpSendRule, type ProxyCheckSource, type SendRule,
  type ServerCheckOptions, type ServerChecks,
} from './types';

/** HAProxy's defaults (include/haproxy/defaults.h): DEF_CHKINTR, DEF_RISETIME, DEF_FALLTIME, DEF_AGENT_*, DEF_HANA_*. */
export const DEFAULT_INTER = 2000;
export const DEFAULT_RISE = 2;
export const DEFAULT_FALL = 3;
const DEFAULT_AGENT_RISE = 1;
const DEFAULT_AGENT_FALL = 1;
const DEFAULT_ERROR_LIMIT = 10;

/* ---------------- server line ---------------- */

/** Copy-on-write: `default-server` options are shared by reference until a server line changes one. */
function setOpt<K extends keyof ServerCheckOptions>(o: ServerOptions, k: K, v: ServerCheckOptions[K]): void {
  o.checkOpts = { ...o.checkOpts, [k]: v };
}

/** check.c's delay parser messages for inter / fastinter / downinter / agent-inter. */
function parseDelay(v: string, name: string): number | string {
  const t = parseTime(v);
  if (!t.ok) return t.error;
  if (t.value <= 0) return `invalid value ${t.value} for argument '${name}'`;
  return t.value;
}

function positive(v: string, name: string): number | string {
  const n = parseInteger(v, name, -0x80000000, 0x7fffffff);
  if (!n.ok) return n.error;
  if (n.value <= 0) return `'${name}' has to be > 0.`;
  return n.value;
}

function port(v: string, name: string): number | string {
  const n = parseInteger(v, name, 1, 65535);
  return n.ok ? n.value : n.error;
}

/** An `addr` / `agent-addr`: an IPv4/IPv6 address or a name, with an optional port (addr only). */
function checkAddrText(v: string, name: string, allowPort: boolean): string | undefined {
  const hp = parseHostPort(v, { allowRange: false, requirePort: false });
  if (!hp.ok) return hp.error;
  if (hp.value.host === '') return `'${name}' expects <ipv4|ipv6> as argument.`;
  if (hp.value.hasPort && !allowPort) return `parsing ${name} failed. Check if '${v}' is correct address.`;
  return undefined;
}

registerLineKeywords<ServerOptions>('server', [
  { name: 'check', args: 0, defaultServer: true, usage: 'check  enable health checks', parse(o) { setOpt(o, 'check', true); } },
  { name: 'no-check', args: 0, defaultServer: true, usage: 'no-check  disable health checks (cancels check)', parse(o) { setOpt(o, 'check', false); } },
  ...(['inter', 'fastinter', 'downinter'] as const).map(name => ({
    name, args: 1, defaultServer: true,
    usage: name === 'inter' ? 'inter <delay>  interval between two health checks (default 2s); also their timeout without "timeout check"'
      : name === 'fastinter' ? 'fastinter <delay>  interval while a server is going up or down (default: inter)'
        : 'downinter <delay>  interval while a server is down (default: inter)',
    parse(o: ServerOptions, [v]: string[]) { const d = parseDelay(v, name); if (typeof d === 'string') return d; setOpt(o, name, d); },
  })),
  ...(['rise', 'fall'] as const).map(name => ({
    name, args: 1, defaultServer: true,
    usage: name === 'rise' ? 'rise <count>  successful checks before a server is UP (default 2)' : 'fall <count>  failed checks before a server is DOWN (default 3)',
    parse(o: ServerOptions, [v]: string[]) { const n = positive(v, name); if (typeof n === 'string') return n; setOpt(o, name, n); },
  })),
  {
    name: 'port', args: 1, defaultServer: true, usage: 'port <port>  port of the health check (and of the agent without agent-port)',
    parse(o, [v]) { const n = port(v, 'port'); if (typeof n === 'string') return n; setOpt(o, 'port', n); },
  },
  {
    name: 'addr', args: 1, defaultServer: true, usage: 'addr <ip>[:<port>]  address of the health check (and of the agent without agent-addr)',
    parse(o, [v]) { const e = checkAddrText(v, 'addr', true); if (e) return e; setOpt(o, 'addr', v); },
  },
  { name: 'check-ssl', args: 0, defaultServer: true, usage: 'check-ssl  run health checks over TLS (the server\'s ssl settings)', parse(o) { setOpt(o, 'checkSsl', true); } },
  { name: 'no-check-ssl', args: 0, defaultServer: true, usage: 'no-check-ssl  cancels check-ssl', parse(o) { setOpt(o, 'checkSsl', false); } },
  { name: 'check-sni', args: 1, defaultServer: true, usage: 'check-sni <name>  SNI of TLS health checks', parse(o, [v]) { setOpt(o, 'checkSni', v); } },
  {
    name: 'check-alpn', args: 1, defaultServer: true, usage: 'check-alpn <proto>[,<proto>]*  ALPN of TLS health checks (default: the server\'s alpn)',
    parse(o, [v]) {
      const l = v.split(',');
      if (l.some(p => p.length === 0 || p.length > 255)) return `check-alpn: bad protocol list '${v}'`;
      setOpt(o, 'checkAlpn', l);
    },
  },
  { name: 'check-send-proxy', args: 0, defaultServer: true, usage: 'check-send-proxy  open health checks with a PROXY protocol header', parse(o) { setOpt(o, 'checkSendProxy', true); } },
  { name: 'no-check-send-proxy', args: 0, defaultServer: true, usage: 'no-check-send-proxy  cancels check-send-proxy', parse(o) { setOpt(o, 'checkSendProxy', false); } },
  { name: 'agent-check', args: 0, defaultServer: true, usage: 'agent-check  enable the agent check (needs agent-port or port)', parse(o) { setOpt(o, 'agent', true); } },
  { name: 'no-agent-check', args: 0, defaultServer: true, usage: 'no-agent-check  cancels agent-check', parse(o) { setOpt(o, 'agent', false); } },
  {
    name: 'agent-port', args: 1, defaultServer: true, usage: 'agent-port <port>  TCP port of the agent',
    parse(o, [v]) { const n = port(v, 'agent-port'); if (typeof n === 'string') return n; setOpt(o, 'agentPort', n); },
  },
  {
    name: 'agent-inter', args: 1, defaultServer: true, usage: 'agent-inter <delay>  interval between two agent checks (default 2s)',
    parse(o, [v]) { const d = parseDelay(v, 'agent-inter'); if (typeof d === 'string') return d; setOpt(o, 'agentInter', d); },
  },
  {
    name: 'agent-addr', args: 1, defaultServer: true, usage: 'agent-addr <ip|name>  address of the agent',
    parse(o, [v]) { const e = checkAddrText(v, 'agent-addr', false); if (e) return e; setOpt(o, 'agentAddr', v); },
  },
  { name: 'agent-send', args: 1, defaultServer: true, usage: 'agent-send <string>  sent to the agent once connected', parse(o, [v]) { setOpt(o, 'agentSend', v); } },
  {
    name: 'observe', args: 1, defaultServer: true, usage: 'observe none|layer4|layer7  count real traffic errors (see error-limit, on-error)',
    parse(o, [v]) {
      const m = v === 'none' ? OBSERVE_NONE : v === 'layer4' ? OBSERVE_LAYER4 : v === 'layer7' ? OBSERVE_LAYER7 : -1;
      if (m < 0) return `'observe' expects one of 'none', 'layer4', 'layer7' but got '${v}'`;
      setOpt(o, 'observe', m);
    },
  },
  {
    name: 'error-limit', args: 1, defaultServer: true, usage: 'error-limit <count>  consecutive observed errors that trigger on-error (default 10)',
    parse(o, [v]) { const n = positive(v, 'error-limit'); if (typeof n === 'string') return n; setOpt(o, 'errorLimit', n); },
  },
  {
    name: 'on-error', args: 1, defaultServer: true, usage: 'on-error fastinter|fail-check|sudden-death|mark-down  what error-limit observed errors do (default fail-check)',
    parse(o, [v]) {
      const m = v === 'fastinter' ? ONERR_FASTINTER : v === 'fail-check' ? ONERR_FAILCHK : v === 'sudden-death' ? ONERR_SUDDTH : v === 'mark-down' ? ONERR_MARKDWN : 0;
      if (!m) return `'on-error' expects one of 'fastinter', 'fail-check', 'sudden-death' or 'mark-down' but got '${v}'`;
      setOpt(o, 'onError', m);
    },
  },
  {
    name: 'on-marked-down', args: 1, defaultServer: true, usage: 'on-marked-down shutdown-sessions  close the server\'s sessions when it goes DOWN',
    parse(o, [v]) {
      if (v !== 'shutdown-sessions') return `'on-marked-down' expects 'shutdown-sessions' but got '${v}'`;
      setOpt(o, 'onMarkedDown', true);
    },
  },
  {
    name: 'on-marked-up', args: 1, defaultServer: true, usage: 'on-marked-up shutdown-backup-sessions  close the backup servers\' sessions when this one comes UP',
    parse(o, [v]) {
      if (v !== 'shutdown-backup-sessions') return `'on-marked-up' expects 'shutdown-backup-sessions' but got '${v}'`;
      setOpt(o, 'onMarkedUp', true);
    },
  },
]);

/* ---------------- proxy keywords ---------------- */

function source(p: ProxyConfig): ProxyCheckSource {
  return p.checkSrc ??= { type: null, tcp: [], tcpOwner: '', http: [], httpOwner: '', httpchk: null, disableOn404: false, file: p.file, line: p.line };
}

/** A section's own rules replace inherited ones (HAProxy names rulesets after the proxy that writes them). */
function ownList(p: ProxyConfig, which: 'tcp' | 'http'): Array<CheckRule | CommentLine> {
  const src = source(p);
  const me = `${p.file}:${p.line}`;
  if (which === 'tcp') {
    if (src.tcpOwner !== me) { src.tcp = []; src.tcpOwner = me; }
    return src.tcp;
  }
  if (src.httpOwner !== me) { src.http = []; src.httpOwner = me; }
  return src.http;
}

/** The index the next rule line of a list gets (HAProxy: previous index + 1; the option's request takes none). */
function nextIndex(list: Array<CheckRule | CommentLine>): number {
  let n = 0;
  for (const r of list) if (!(r.t === 'http-send' && r.fromOpt)) n++;
  return n;
}

/**
 * Check keywords are backend keywords: in a frontend HAProxy only warns that
 * they are ignored; here they are refused like the other backend keywords.
 */
const BE: SectionKind[] = ['defaults', 'backend', 'listen'];

/** Literal texts only: HAProxy takes log-format strings here; expressions are not implemented. */
function literal(v: string, what: string): string | undefined {
  return v.includes('%') ? `${what}: log-format expressions in health checks are not supported by Switchyard yet` : undefined;
}

/** tools.c parse_binary(): an even number of hex digits, as latin1 bytes. */
export function parseBinary(text: string): string | { error: string } {
  if (text.length % 2 !== 0) return { error: `'${text}' invalid binary string (an even number of hexadecimal digits is expected)` };
  if (!/^[0-9a-fA-F]*$/.test(text)) return { error: `'${text}' invalid binary string (only hexadecimal digits are allowed)` };
  return Buffer.from(text, 'hex').toString('latin1');
}

function compileRegex(src: string): string | undefined {
  try { new RegExp(src); return undefined; } catch (e) { return `invalid regex '${src}': ${(e as Error).message}`; }
}

/** parse_tcpcheck_connect(). */
export function parseConnect(args: string[], list: Array<CheckRule | CommentLine>, family: 'tcp-check' | 'http-check'): ConnectRule | string {
  for (const r of list) {
    if (r.t === 'connect') break;
    if (r.t === 'comment' || (r.t === 'http-send' && r.fromOpt)) continue;
    return "first step MUST also be a 'connect', optionally preceded by a 'set-var', an 'unset-var' or a 'comment', when there is a 'connect' step in the tcp-check ruleset";
  }
  const rule: ConnectRule = {
    t: 'connect', index: 0, comment: null, port: 0, addr: null, ssl: false, sni: null, alpn: null,
    sendProxy: false, linger: false, dflt: false, implicit: false,
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const v = args[i + 1];
    switch (a) {
      case 'default': rule.dflt = true; break;
      case 'addr': {
        if (!v) return `'addr' expects <ipv4|ipv6> as argument.`;
        const e = checkAddrText(v, 'addr', true);
        if (e) return `'addr' : ${e}.`;
        rule.addrText = v;
        i++;
        break;
      }
      case 'port': {
        if (!v) return `'port' expects a port number or a sample expression as argument.`;
        if (!/^\d+$/.test(v)) return `'port' : sample expressions are not supported by Switchyard yet (got '${v}')`;
        const n = Number(v);
        if (n < 1 || n > 65535) return `expects a valid TCP port (from range 1 to 65535) or a sample expression, got ${v}.`;
        rule.port = n;
        i++;
        break;
      }
      case 'comment':
        if (!v) return `'comment' expects a string as argument.`;
        rule.comment = v;
        i++;
        break;
      case 'send-proxy': rule.sendProxy = true; break;
      case 'linger': rule.linger = true; break;
      case 'ssl': rule.ssl = true; break;
      case 'sni':
        if (!v) return `'sni' expects a string as argument.`;
        rule.sni = v;
        i++;
        break;
      case 'alpn': {
        if (!v) return `'alpn' expects a string as argument.`;
        const l = v.split(',');
        if (l.some(p => p.length === 0 || p.length > 255)) return `'alpn' : bad protocol list '${v}'`;
        rule.alpn = l;
        i++;
        break;
      }
      case 'proto': case 'via-socks4':
        return `'${a}' is not supported by Switchyard yet in '${family} connect'`;
      default:
        return `expects 'comment', 'port', 'addr', 'send-proxy', 'ssl', 'sni', 'alpn' or 'via-socks4', 'linger', 'default' but got '${a}' as argument.`;
    }
  }
  return rule;
}

/** parse_tcpcheck_send(): `send <string>` / `send-binary <hex>` [comment <msg>]. */
export function parseSend(kind: 'send' | 'send-binary', args: string[]): SendRule | string {
  const data = args[0];
  if (data === undefined || data === '') return `'${kind}' expects a ${kind === 'send-binary' ? 'binary string' : 'string'} as argument`;
  const rule: SendRule = { t: 'send', index: 0, comment: null, data };
  for (let i = 1; i < args.length; i++) {
    if (args[i] !== 'comment') return `expects 'comment' but got '${args[i]}' as argument.`;
    if (!args[i + 1]) return `'comment' expects a string as argument.`;
    rule.comment = args[++i];
  }
  if (kind === 'send-binary') {
    const b = parseBinary(data);
    if (typeof b !== 'string') return b.error;
    rule.data = b;
  }
  return rule;
}

/** parse_tcpcheck_send_http(): `http-check send [meth <m>] [uri <u>] [ver <v>] [hdr <n> <v>]* [body <s>] [comment <msg>]`. */
export function parseHttpSend(args: string[]): HttpSendRule | string {
  const rule: HttpSendRule = { t: 'http-send', index: 0, comment: null, meth: null, uri: null, ver: null, hdrs: [], body: null, fromOpt: false };
  let host = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const v = args[i + 1];
    switch (a) {
      case 'meth': case 'uri': case 'ver': case 'body': case 'comment':
        if (!v) return `'${a}' expects a string as argument.`;
        if (a === 'meth') rule.meth = v;
        else if (a === 'uri') rule.uri = v;
        else if (a === 'ver') rule.ver = v;
        else if (a === 'body') rule.body = v;
        else rule.comment = v;
        i++;
        break;
      case 'uri-lf': case 'body-lf':
        return `'${a}': log-format expressions in health checks are not supported by Switchyard yet`;
      case 'hdr': {
        const n = args[i + 1], hv = args[i + 2];
        if (!n || !hv) return `'hdr' expects <name> and <value> as arguments`;
        i += 2;
        const ln = n.toLowerCase();
        if (ln === 'host') {
          if (host) return `'${n}' header already defined (previous value is '${rule.hdrs.find(h => h[0].toLowerCase() === 'host')![1]}')`;
          host = true;
        } else if (ln === 'content-length' || ln === 'transfer-encoding') {
          continue; // HAProxy computes the framing itself
        }
        const e = literal(hv, `header '${n}'`);
        if (e) return e;
        rule.hdrs.push([n, hv]);
        break;
      }
      default:
        return `expects 'comment', 'meth', 'uri', 'uri-lf', 'ver', 'hdr', 'body' or 'body-lf' but got '${a}' as argument.`;
    }
  }
  return rule;
}

const HTTP_EXPECT_HINT = "'only supports min-recv, [!]string', '[!]rstring', '[!]string-lf', '[!]status', '[!]rstatus', [!]hdr, [!]fhdr or comment but got '%s' as argument.";
const TCP_EXPECT_HINT = "'only supports min-recv, '[!]binary', '[!]string', '[!]rstring', '[!]string-lf''[!]rbinary', '[!]binary-lf' or comment but got '%s' as argument.";

const OK_STATUS: Record<string, number> = { l7ok: HCHK_L7OKD, l7okc: HCHK_L7OKCD, l6ok: HCHK_L6OK, l4ok: HCHK_L4OK };
const ERR_STATUS: Record<string, number> = { l7rsp: HCHK_L7RSP, l7sts: HCHK_L7STS, l7okc: HCHK_L7OKCD, l6rsp: HCHK_L6RSP, l4con: HCHK_L4CON };
const TOUT_STATUS: Record<string, number> = { l7tout: HCHK_L7TOUT, l6tout: HCHK_L6TOUT, l4tout: HCHK_L4TOUT };

/** parse_tcpcheck_expect(): `expect [min-recv <n>] [!] <match> <pattern> [options]`. */
export function parseExpect(args: string[], http: boolean): ExpectRule | string {
  if (args.length === 0) return 'expects at least a matching pattern as arguments';
  const rule: ExpectRule = {
    t: 'expect', index: 0, comment: null, type: 'string', pattern: '', codes: [], hdr: null, inverse: false, minRecv: -1,
    okStatus: HCHK_UNKNOWN, errStatus: HCHK_UNKNOWN, toutStatus: HCHK_UNKNOWN, onSuccess: null, onError: null, head: 0,
  };
  let type: ExpectType | null = null;
  const bad = (a: string): string => (http ? HTTP_EXPECT_HINT : TCP_EXPECT_HINT).replace('%s', a);
  for (let i = 0; i < args.length; i++) {
    let a = args[i];
    let inPattern = false;
    if (a.startsWith('!')) {
      inPattern = true;
      while (a.startsWith('!')) { rule.inverse = !rule.inverse; a = a.slice(1); }
      if (a === '') { i++; a = args[i] ?? ''; }
    }
    const v = args[i + 1];
    const optionOnly = (): string | undefined => (inPattern ? `[!] not supported with '${a}'` : undefined);
    switch (a) {
      case 'min-recv': {
        const e = optionOnly(); if (e) return e;
        if (!v) return `'min-recv' expects a integer as argument`;
        const n = Number(v);
        if (!/^-?\d+$/.test(v) || n < -1 || n > 0x7fffffff) return `'min-recv' expects -1 or an integer from 0 to INT_MAX`;
        rule.minRecv = n;
        i++;
        break;
      }
      case 'string': case 'rstring': case 'binary': case 'rbinary': case 'status': case 'rstatus': {
        if ((a === 'binary' || a === 'rbinary') && http) return bad(a);
        if ((a === 'status' || a === 'rstatus') && !http) return bad(a);
        if (type !== null) return 'only on pattern expected';
        if (!v) return `'${a}' expects a <pattern> as argument`;
        type = http && a === 'string' ? 'body' : http && a === 'rstring' ? 'rbody' : a;
        rule.pattern = v;
        i++;
        break;
      }
      case 'string-lf': case 'binary-lf':
        return `'${a}': log-format expressions in health checks are not supported by Switchyard yet`;
      case 'hdr': case 'fhdr': {
        if (!http) return bad(a);
        if (type !== null) return 'only on pattern expected';
        type = 'hdr';
        if ((args[i + 1] !== 'name' && args[i + 1] !== 'name-lf') || !args[i + 2]) return `'${a}' expects at the name keyword as first argument followed by a pattern`;
        if (args[i + 1] === 'name-lf') return `'${a}': log-format expressions in health checks are not supported by Switchyard yet`;
        i += 2;
        let nameMatch: HdrMatch = 'str';
        if (args[i] === '-m') {
          const m = args[i + 1];
          if (!m) return `'${a}' : '-m' expects at a matching pattern ('str', 'beg', 'end', 'sub' or 'reg')`;
          if (!isHdrMatch(m)) return `'${a}' : '-m' only supports 'str', 'beg', 'end', 'sub' or 'reg' (got '${m}')`;
          nameMatch = m;
          i += 2;
        }
        const name = args[i];
        if (!name) return `'${a}' expects at the name keyword as first argument followed by a pattern`;
        if (nameMatch === 'reg') { const e = compileRegex(name); if (e) return e; }
        rule.hdr = { name, nameMatch, value: null, valueMatch: 'str', full: a === 'fhdr' };
        if (args[i + 1] === 'value' || args[i + 1] === 'value-lf') {
          if (args[i + 1] === 'value-lf') return `'${a}': log-format expressions in health checks are not supported by Switchyard yet`;
          i++;
          if (args[i + 1] === '-m') {
            const m = args[i + 2];
            if (!m) return `'${a}' : '-m' expects at a matching pattern ('str', 'beg', 'end', 'sub' or 'reg')`;
            if (!isHdrMatch(m)) return `'${a}' : '-m' only supports 'str', 'beg', 'end', 'sub' or 'reg' (got '${m}')`;
            rule.hdr.valueMatch = m;
            i += 2;
          }
          const value = args[i + 1];
          if (!value) return `'${a}' expect a pattern with the value keyword`;
          if (rule.hdr.valueMatch === 'reg') { const e = compileRegex(value); if (e) return e; }
          rule.hdr.value = value;
          i++;
        }
        break;
      }
      case 'comment': case 'on-success': case 'on-error': {
        const e = optionOnly(); if (e) return e;
        if (!v) return `'${a}' expects a string as argument`;
        if (a === 'comment') rule.comment = v;
        else {
          const le = literal(v, `'${a}'`);
          if (le) return le;
          if (a === 'on-success') rule.onSuccess = v; else rule.onError = v;
        }
        i++;
        break;
      }
      case 'ok-status': case 'error-status': case 'tout-status': {
        const e = optionOnly(); if (e) return e;
        if (!v) return `'${a}' expects a string as argument`;
        const table = a === 'ok-status' ? OK_STATUS : a === 'error-status' ? ERR_STATUS : TOUT_STATUS;
        const st = table[v.toLowerCase()];
        if (st === undefined) {
          return a === 'ok-status' ? `'ok-status' only supports 'L4OK', 'L6OK', 'L7OK' or 'L7OKC' status (got '${v}').`
            : a === 'error-status' ? `'error-status' only supports 'L4CON', 'L6RSP', 'L7RSP' or 'L7STS' status (got '${v}').`
              : `'tout-status' only supports 'L4TOUT', 'L6TOUT' or 'L7TOUT' status (got '${v}').`;
        }
        if (a === 'ok-status') rule.okStatus = st; else if (a === 'error-status') rule.errStatus = st; else rule.toutStatus = st;
        i++;
        break;
      }
      case 'status-code':
        return `'status-code': sample expressions in health checks are not supported by Switchyard yet`;
      default:
        return bad(a);
    }
  }
  if (type === null) return 'pattern not found';
  rule.type = type;
  switch (type) {
    case 'status': {
      // "200", "200-399", "200,301-302"
      for (const part of rule.pattern.split(',')) {
        const m = /^(\d*)(?:-(\d*))?$/.exec(part);
        if (!m) return `invalid character '${part.replace(/[\d-]/g, '')[0] ?? ','}' in the list of status codes`;
        const c1 = Number(m[1] || 0), c2 = m[2] !== undefined ? Number(m[2] || 0) : c1;
        if (c1 > c2) return `invalid range of status codes '${rule.pattern}'`;
        rule.codes.push([c1, c2]);
      }
      break;
    }
    case 'binary': {
      const b = parseBinary(rule.pattern);
      if (typeof b !== 'string') return `invalid binary string (${b.error})`;
      rule.pattern = b;
      break;
    }
    case 'rstring': case 'rbinary': case 'rstatus': case 'rbody': {
      const e = compileRegex(rule.pattern);
      if (e) return e;
      break;
    }
    default: break;
  }
  return rule;
}

function isHdrMatch(m: string): m is HdrMatch {
  return m === 'str' || m === 'beg' || m === 'end' || m === 'sub' || m === 'reg';
}

/**
 * tcpcheck_add_http_rule(): the request of `option httpchk` and the first
 * `http-check send` are one rule; the one written last wins field by field.
 */
function addHttpRule(list: Array<CheckRule | CommentLine>, rule: CheckRule | CommentLine): void {
  const firstRule = (): number => {
    let i = list.findIndex(r => r.t !== 'comment');
    if (i >= 0 && list[i].t === 'connect') {
      const j = list.slice(i + 1).findIndex(r => r.t !== 'comment');
      i = j < 0 ? -1 : i + 1 + j;
    }
    return i;
  };
  if (rule.t === 'http-send' && rule.fromOpt) {
    const i = firstRule();
    const r = i >= 0 ? list[i] : undefined;
    if (!r || r.t !== 'http-send') list.unshift(rule);
    else if (r.fromOpt) list[i] = rule;
    else mergeHttpSend(r, rule);
    return;
  }
  if (rule.t === 'http-send') {
    const i = list.findIndex(r => r.t !== 'comment');
    const r = i >= 0 ? list[i] : undefined;
    if (r && r.t === 'http-send' && r.fromOpt) {
      mergeHttpSend(r, rule);
      list.splice(i, 1);
      r.fromOpt = false;
      r.index = rule.index;
      r.comment = rule.comment;
      list.push(r);
      return;
    }
  }
  list.push(rule);
}

/** tcpcheck_overwrite_send_http_rule(): the fields `from` sets replace those of `into`. */
function mergeHttpSend(into: HttpSendRule, from: HttpSendRule): void {
  if (from.meth !== null) into.meth = from.meth;
  if (from.uri !== null) into.uri = from.uri;
  if (from.ver !== null) into.ver = from.ver;
  if (from.hdrs.length) into.hdrs = from.hdrs;
  if (from.body !== null) into.body = from.body;
}

function ruleKeyword(family: 'tcp-check' | 'http-check', action: string, usage: string) {
  return {
    name: `${family} ${action}`,
    sections: BE,
    usage,
    parse(ctx: KeywordContext) {
      const p = ctx.proxy!;
      const list = ownList(p, family === 'tcp-check' ? 'tcp' : 'http');
      const index = nextIndex(list);
      let rule: CheckRule | CommentLine | string;
      if (action === 'comment') {
        if (!ctx.args[0]) return ctx.error('expects a string as argument.');
        if (ctx.args.length > 1) return ctx.error(`unexpected argument '${ctx.args[1]}'`);
        rule = { t: 'comment', comment: ctx.args[0] };
      } else if (action === 'connect') rule = parseConnect(ctx.args, list, family);
      else if (action === 'expect') rule = parseExpect(ctx.args, family === 'http-check');
      else if (family === 'http-check') rule = parseHttpSend(ctx.args);
      else rule = parseSend(action as 'send' | 'send-binary', ctx.args);
      if (typeof rule === 'string') return ctx.error(`${rule.endsWith('.') ? rule : rule + '.'}`);
      if (rule.t !== 'comment') rule.index = index;
      if (family === 'http-check') {
        const err = checkHttpOrder(list, rule);
        if (err) return ctx.error(err);
        addHttpRule(list, rule);
      } else {
        list.push(rule);
      }
    },
  };
}

/** tcpcheck_add_http_rule()'s ordering checks. */
function checkHttpOrder(list: Array<CheckRule | CommentLine>, rule: CheckRule | CommentLine): string | undefined {
  if (rule.t === 'comment') return undefined;
  let last: CheckRule | undefined;
  for (let i = list.length - 1; i >= 0; i--) { const r = list[i]; if (r.t !== 'comment') { last = r; break; } }
  if (!last || (last.t === 'http-send' && last.fromOpt)) return undefined;
  if (last.t !== 'connect' && rule.t === 'http-send') return `unable to add http-check send rule at step ${rule.index + 1} (missing connect rule).`;
  if (last.t !== 'http-send' && last.t !== 'expect' && rule.t === 'expect') return `unable to add http-check expect rule at step ${rule.index + 1} (missing send rule).`;
  if (last.t !== 'expect' && rule.t === 'connect') return `unable to add http-check connect rule at step ${rule.index + 1} (missing expect rule).`;
  return undefined;
}

/** proxy_parse_httpchk_req(): `option httpchk [<meth>] [<uri>] [<version>]`; `<uri>` alone is a URI. */
function parseHttpchk(ctx: KeywordContext): HttpSendRule | undefined {
  const args = ctx.args;
  if (args.length > 3) { ctx.error(`'option httpchk' cannot handle unexpected argument '${args[3]}'.`); return undefined; }
  const rule: HttpSendRule = { t: 'http-send', index: 0, comment: null, meth: null, uri: null, ver: null, hdrs: [], body: null, fromOpt: true };
  if (args.length === 1) rule.uri = args[0];
  else if (args.length >= 2) { rule.meth = args[0]; rule.uri = args[1]; }
  if (args.length === 3) {
    // The old way of adding headers: "HTTP/1.1\r\nHost:\ www" (deprecated, still honoured).
    let ver = args[2];
    const body = ver.indexOf('\r\n\r\n');
    const hdrs = ver.indexOf('\r\n');
    if (hdrs >= 0) {
      ctx.warn("hiding headers or body at the end of the version string is deprecated. Please, consider to use 'http-check send' directive instead.");
      const head = body >= 0 ? ver.slice(0, body) : ver;
      if (body >= 0) rule.body = ver.slice(body + 4);
      const lines = head.split('\r\n');
      ver = lines[0];
      for (const l of lines.slice(1)) {
        const c = l.indexOf(':');
        if (c <= 0) { ctx.error(`unable to parse the request '${l}'.`); return undefined; }
        rule.hdrs.push([l.slice(0, c).trim(), l.slice(c + 1).trim()]);
      }
    }
    rule.ver = ver;
  }
  return rule;
}

registerKeywords([
  {
    name: 'timeout check', sections: ['defaults', 'backend', 'listen'],
    usage: 'timeout check <time>  read timeout of health checks once connected; the connect then takes at most min(timeout connect, inter)',
    parse(ctx) {
      if (ctx.args.length !== 1) return ctx.error(ctx.args.length ? `unexpected argument '${ctx.args[1]}'; usage: timeout check <time>` : 'missing argument; usage: timeout check <time>');
      const t = parseTime(ctx.args[0]);
      if (!t.ok) return ctx.error(t.error);
      ctx.proxy!.timeouts.check = t.value;
    },
  },
  {
    name: 'option httpchk', sections: BE,
    usage: 'option httpchk [<method>] [<uri>] [<version>]  HTTP health checks (default OPTIONS / HTTP/1.0, expecting 2xx or 3xx)',
    parse(ctx) {
      const rule = parseHttpchk(ctx);
      if (!rule) return;
      const p = ctx.proxy!;
      const src = source(p);
      src.type = 'http';
      src.file = ctx.file; src.line = ctx.line;
      addHttpRule(ownList(p, 'http'), rule);
    },
  },
  {
    name: 'option tcp-check', sections: BE,
    usage: 'option tcp-check  health checks run the tcp-check rules',
    parse(ctx) {
      if (ctx.args.length) return ctx.error(`'option tcp-check' cannot handle unexpected argument '${ctx.args[0]}'.`);
      const src = source(ctx.proxy!);
      src.type = 'tcp-check';
      src.file = ctx.file; src.line = ctx.line;
    },
  },
  {
    name: 'http-check disable-on-404', sections: BE,
    usage: 'http-check disable-on-404  a 404 answer to a health check puts a running server in NOLB (no new traffic)',
    parse(ctx) {
      if (ctx.args.length) return ctx.error(`'http-check disable-on-404' cannot handle unexpected argument '${ctx.args[0]}'.`);
      source(ctx.proxy!).disableOn404 = true;
    },
  },
  ruleKeyword('tcp-check', 'connect', 'tcp-check connect [default] [port <n>] [addr <ip>] [ssl] [sni <name>] [alpn <list>] [send-proxy] [linger] [comment <msg>]  open a connection'),
  ruleKeyword('tcp-check', 'send', 'tcp-check send <string> [comment <msg>]  send a string'),
  ruleKeyword('tcp-check', 'send-binary', 'tcp-check send-binary <hex> [comment <msg>]  send bytes written in hexadecimal'),
  ruleKeyword('tcp-check', 'expect', 'tcp-check expect [min-recv <n>] [!] string|rstring|binary|rbinary <pattern> [comment|ok-status|error-status|tout-status|on-success|on-error <x>]  what the server must answer'),
  ruleKeyword('tcp-check', 'comment', 'tcp-check comment <text>  a comment reported with the failure of the rules after it'),
  ruleKeyword('http-check', 'connect', 'http-check connect [default] [port <n>] [addr <ip>] [ssl] [sni <name>] [alpn <list>] [send-proxy] [linger] [comment <msg>]  open a connection'),
  ruleKeyword('http-check', 'send', 'http-check send [meth <m>] [uri <uri>] [ver <v>] [hdr <name> <value>]* [body <string>] [comment <msg>]  the request of HTTP health checks'),
  ruleKeyword('http-check', 'expect', 'http-check expect [min-recv <n>] [!] status|rstatus|string|rstring|hdr|fhdr <pattern> [options]  what the response must match (default status 200-399)'),
  ruleKeyword('http-check', 'comment', 'http-check comment <text>  a comment reported with the failure of the rules after it'),
]);

/* ---------------- compile ---------------- */

/** check_proxy_tcpcheck(): the ruleset a backend's checks run. */
function buildRuleSet(p: ProxyConfig, state: ParseState): CheckRuleSet {
  const src = p.checkSrc;
  const me = `${p.file}:${p.line}`;
  const kind = src?.type === 'http' ? 'http' : src?.type === 'tcp-check' ? 'tcp-check' : 'default';
  if (src && src.http.some(r => r.t !== 'comment' && !(r.t === 'http-send' && r.fromOpt)) && kind !== 'http' && src.httpOwner === me) {
    state.diag.warn(p.file, p.line, 'http-check', `backend '${p.name}' uses http-check rules without 'option httpchk', so the rules are ignored.`);
  }
  if (src && src.tcp.length && kind !== 'tcp-check' && src.tcpOwner === me) {
    state.diag.warn(p.file, p.line, 'tcp-check', `backend '${p.name}' uses tcp-check rules without 'option tcp-check', so the rules are ignored.`);
  }
  const disableOn404 = src?.disableOn404 ?? false;
  if (disableOn404 && kind !== 'http') {
    state.diag.warn(p.file, p.line, 'http-check', `'disable-on-404' will be ignored for backend '${p.name}' (requires 'option httpchk').`);
  }
  // Deep copies: defaults sections' rules are shared by every proxy after them.
  const list: Array<CheckRule | CommentLine> = kind === 'http' ? structuredClone(src!.http) : kind === 'tcp-check' ? structuredClone(src!.tcp) : [];
  if (kind === 'http') {
    // The request of `option httpchk` goes after a leading connect.
    const first = list.findIndex(r => r.t !== 'comment');
    const f = list[first];
    if (f && f.t === 'http-send' && f.fromOpt) {
      const rest = list.slice(first + 1);
      const n = rest.findIndex(r => r.t !== 'comment');
      if (n >= 0 && rest[n].t === 'connect') {
        const conn = rest[n] as ConnectRule;
        list.splice(first, 1);
        list.splice(list.indexOf(conn) + 1, 0, f);
        f.index = conn.index + 1;
      }
    }
    // An HTTP check ending with a send expects a 2xx or 3xx (HAProxy's implicit expect).
    let last: CheckRule | undefined;
    for (let i = list.length - 1; i >= 0; i--) { const r = list[i]; if (r.t !== 'comment') { last = r; break; } }
    if (last && last.t === 'http-send') {
      const e = parseExpect(['status', '200-399'], true) as ExpectRule;
      e.index = last.index + 1;
      list.push(e);
    }
  }
  // An implicit connect when the rules do not start with one.
  const first = list.find(r => r.t !== 'comment');
  if (!first || first.t !== 'connect') {
    list.unshift({
      t: 'connect', index: 0, comment: null, port: 0, addr: null, ssl: false, sni: null, alpn: null,
      sendProxy: false, linger: false, dflt: true, implicit: true,
    });
  }
  // Comments go to the rules that follow them (until an action of another kind).
  const rules: CheckRule[] = [];
  let comment: string | null = null;
  let prev: string = 'comment';
  for (const r of list) {
    if (r.t !== prev && prev !== 'comment') comment = null;
    prev = r.t;
    if (r.t === 'comment') { comment = r.comment; continue; }
    if (r.comment === null && comment !== null) r.comment = comment;
    if (r.t === 'connect') comment = null;
    rules.push(r);
  }
  // Each expect resumes from the first inverted expect of its chain when more data comes.
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i];
    if (r.t !== 'expect') continue;
    r.head = i;
    for (let j = i - 1; j >= 0; j--) {
      const q = rules[j];
      if (q.t !== 'expect') break;
      if (q.inverse) r.head = j;
    }
  }
  return { kind, rules, disableOn404 };
}

async function resolveAddr(text: string): Promise<{ addr: CheckAddress; port: number } | string> {
  const hp = parseHostPort(text, { allowRange: false, requirePort: false });
  if (!hp.ok) return hp.error;
  const host = hp.value.host;
  if (isIP(host)) return { addr: { ip: host, family: isIP(host) === 6 ? 6 : 4 }, port: hp.value.port };
  try {
    const r = await lookup(host, { family: 4 });
    return { addr: { ip: r.address, family: 4 }, port: hp.value.port };
  } catch (e) {
    return `could not resolve address '${host}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
  }
}

/**
 * TLS settings of health checks over TLS: the server's own when it has
 * `ssl`, else read now with the same rules (ssl-server-verify, ca-file…),
 * with check-sni / check-alpn.
 */
function checkTls(p: ProxyConfig, s: ServerConfig, o: ServerCheckOptions, state: ParseState): ServerTlsConfig | null {
  let base = s.tls ?? null;
  if (!base) {
    const copy: ServerConfig = { ...s, ssl: true };
    finalizeServerSsl({ ...state, proxies: [{ ...p, servers: [copy] }] });
    base = copy.tls ?? null;
    if (!base) return null; // the error is reported with the server's file:line
  }
  const t: ServerTlsConfig = { ...base, sniExpr: undefined };
  // A server's `sni <expr>` is for traffic; checks send check-sni or nothing.
  if (base.sniExpr !== undefined) t.servername = null;
  if (o.checkSni !== undefined) t.servername = o.checkSni;
  if (o.checkAlpn !== undefined) t.alpn = o.checkAlpn;
  return t;
}

/**
 * Compile step: each backend's ruleset, each checked server's settings;
 * HAProxy's load-time errors ("has neither service port nor check port",
 * "does not have agent port").
 */
export async function finalizeChecks(state: ParseState): Promise<void> {
  const diag = state.diag;
  const jobs: Array<Promise<void>> = [];
  state.proxies.forEach((p, pi) => {
    if (!p.cap.be) { p.checkRules = undefined; return; }
    const needRules = p.servers.some(s => s.checkOpts?.check);
    const ruleSet = needRules ? buildRuleSet(p, state) : null;
    p.checkRules = ruleSet ?? undefined;
    if (ruleSet) {
      for (const r of ruleSet.rules) {
        if (r.t !== 'connect' || r.addrText === undefined) continue;
        const text = r.addrText;
        jobs.push(resolveAddr(text).then(a => {
          if (typeof a === 'string') { diag.error(p.file, p.line, 'tcp-check', `proxy '${p.name}': connect rule: ${a}`); return; }
          r.addr = a.addr;
          if (!r.port && a.port) r.port = a.port;
        }));
      }
    }
    p.servers.forEach((s, si) => {
      const o = s.checkOpts ?? {};
      const err = (reason: string): void => diag.error(s.file, s.line, 'server', reason);
      s.checks = undefined;
      s.observe = undefined;
      if (!o.check && !o.agent) return;
      const overridden = o.port !== undefined || o.addr !== undefined;
      const checks: ServerChecks = {
        health: null, agent: null,
        onError: o.onError ?? ONERR_FAILCHK, errorLimit: o.errorLimit ?? DEFAULT_ERROR_LIMIT,
        onMarkedDown: o.onMarkedDown ?? false, onMarkedUp: o.onMarkedUp ?? false, observe: o.observe ?? OBSERVE_NONE,
      };
      s.checks = checks;
      if (o.check) {
        // Without port/addr, checks use the traffic's transport (ssl, send-proxy).
        const ssl = o.checkSsl === true || (!overridden && o.checkSsl === undefined && s.ssl === true);
        const h: CheckParams = {
          inter: o.inter ?? DEFAULT_INTER, fastinter: o.fastinter ?? 0, downinter: o.downinter ?? 0,
          rise: o.rise ?? DEFAULT_RISE, fall: o.fall ?? DEFAULT_FALL,
          addr: null, port: o.port ?? 0, ssl, tls: null,
          sendProxy: o.checkSendProxy ? (s.sendProxyV2 ? 2 : 1) : !overridden && (s.sendProxy || s.sendProxyV2) ? (s.sendProxyV2 ? 2 : 1) : 0,
        };
        checks.health = h;
        if (ssl || ruleSet?.rules.some(r => r.t === 'connect' && r.ssl)) h.tls = checkTls(p, s, o, state);
        if (o.addr !== undefined) {
          jobs.push(resolveAddr(o.addr).then(a => {
            if (typeof a === 'string') return err(`server '${p.name}/${s.name}': 'addr' : ${a}`);
            h.addr = a.addr;
            if (!h.port && a.port) h.port = a.port;
          }));
        }
        if (p.mode !== 'http' && checks.observe === OBSERVE_LAYER7) err(`server '${p.name}/${s.name}': 'layer7' can only be used in http proxies.`);
        if (checks.observe !== OBSERVE_NONE) s.observe = { mode: checks.observe, p: pi, s: si, limit: checks.errorLimit };
      }
      if (o.agent) {
        const agentPort = o.agentPort ?? o.port;
        if (!agentPort) {
          err(`server ${s.name} does not have agent port. Agent check has been disabled.`);
        } else {
          const a: CheckParams & { send: string } = {
            inter: o.agentInter ?? DEFAULT_INTER, fastinter: 0, downinter: 0, rise: DEFAULT_AGENT_RISE, fall: DEFAULT_AGENT_FALL,
            addr: null, port: agentPort, ssl: false, tls: null, sendProxy: 0, send: o.agentSend ?? '',
          };
          checks.agent = a;
          const addrText = o.agentAddr ?? o.addr;
          if (addrText !== undefined) {
            jobs.push(resolveAddr(addrText).then(r => {
              if (typeof r === 'string') return err(`server '${p.name}/${s.name}': 'agent-addr' : ${r}`);
              a.addr = r.addr;
            }));
          }
        }
      }
    });
  });
  await Promise.all(jobs);
  // init_srv_check(): somewhere to connect to.
  for (const p of state.proxies) {
    const rs = p.checkRules;
    if (!rs) continue;
    for (const s of p.servers) {
      const h = s.checks?.health;
      if (!h || h.port !== 0 || s.port !== 0) continue;
      const first = rs.rules[0] as ConnectRule;
      if (first.implicit) {
        diag.error(s.file, s.line, 'server', `backend '${p.name}': server '${s.name}' has neither service port nor check port.`);
      } else if (!first.port) {
        diag.error(s.file, s.line, 'server', `backend '${p.name}': server '${s.name}' has neither service port nor check port nor tcp_check rule 'connect' with port information.`);
      } else if (rs.rules.some(r => r.t === 'connect' && !r.port)) {
        diag.error(s.file, s.line, 'server', `backend '${p.name}': server '${s.name}' has neither service port nor check port, and a tcp_check rule 'connect' with no port information.`);
      }
    }
  }
}
