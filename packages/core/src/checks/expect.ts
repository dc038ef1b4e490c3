/**
 * tcp-check and http-check `expect` evaluation, as tcpcheck.c's
 * tcpcheck_eval_expect() / tcpcheck_eval_expect_http() and their failure
 * messages. Pure functions over what was received: the master's probes
 * (master/src/checks/probe.ts) feed them, unit tests too.
 */
import {
  HCHK_L4OK, HCHK_L6OK, HCHK_L7OKCD, HCHK_L7OKD, HCHK_L7RSP, HCHK_L7STS, HCHK_UNKNOWN,
  type CheckKind, type ExpectRule, type HdrMatch,
} from './types';

/** Outcome of one rule: go on with the next rule, wait for more data, or stop (failed). */
export const EVAL_CONTINUE = 0;
export const EVAL_WAIT = 1;
export const EVAL_STOP = 2;

export interface ExpectResult {
  ret: number;
  /** When stopped: the HCHK_* status and the info text. */
  status: number;
  desc: string;
}

/** An expect rule with its pattern compiled once (buffers, regexes). */
export interface CompiledExpect {
  rule: ExpectRule;
  bytes: Buffer | null;
  re: RegExp | null;
  nameRe: RegExp | null;
  valueRe: RegExp | null;
}

export function compileExpect(rule: ExpectRule): CompiledExpect {
  const c: CompiledExpect = { rule, bytes: null, re: null, nameRe: null, valueRe: null };
  switch (rule.type) {
    case 'string': case 'binary': case 'body':
      c.bytes = Buffer.from(rule.pattern, 'latin1');
      break;
    case 'rstring': case 'rbinary': case 'rstatus': case 'rbody':
      // regex_comp(pattern, cs=1): case-sensitive, unanchored search.
      c.re = new RegExp(rule.pattern);
      break;
    case 'hdr':
      // The name regex is case-insensitive (regex_comp(cs=0)), the value one is not.
      if (rule.hdr!.nameMatch === 'reg') c.nameRe = new RegExp(rule.hdr!.name, 'i');
      if (rule.hdr!.valueMatch === 'reg' && rule.hdr!.value !== null) c.valueRe = new RegExp(rule.hdr!.value);
      break;
    default: break;
  }
  return c;
}

/** tcpcheck_get_step_id(): the step number shown in messages. */
export function stepOf(rule: { index: number; t: string; implicit?: boolean }): number {
  return rule.index === 0 && rule.t === 'connect' && rule.implicit ? 0 : rule.index + 1;
}

const CONTINUE: ExpectResult = Object.freeze({ ret: EVAL_CONTINUE, status: HCHK_UNKNOWN, desc: '' }) as ExpectResult;
const WAIT: ExpectResult = Object.freeze({ ret: EVAL_WAIT, status: HCHK_UNKNOWN, desc: '' }) as ExpectResult;

/** tcpcheck_expect_onerror_message(). */
function onErrorMessage(kind: CheckKind, c: CompiledExpect, match: boolean, info: string): string {
  const rule = c.rule;
  let msg: string;
  if (info !== '') msg = info;
  else if (rule.onError !== null) msg = rule.onError;
  else if (kind !== 'tcp-check') msg = '';
  else {
    msg = match ? 'TCPCHK matched unwanted content' : 'TCPCHK did not match content';
    const step = stepOf(rule);
    switch (rule.type) {
      case 'status': msg += `(status codes) at step ${step}`; break;
      case 'string': case 'body': msg += ` '${rule.pattern}' at step ${step}`; break;
      case 'binary': msg += ` (binary) at step ${step}`; break;
      case 'rstring': case 'rstatus': case 'rbody': msg += ` (regex) at step ${step}`; break;
      case 'rbinary': msg += ` (binary regex) at step ${step}`; break;
      case 'agent': msg += ` (custom function) at step ${step}`; break;
      case 'hdr': msg += ` (header pattern) at step ${step}`; break;
    }
  }
  if (rule.comment !== null) msg += ` comment: ${rule.comment}`;
  return msg;
}

function fail(kind: CheckKind, c: CompiledExpect, status: number, match: boolean, info: string): ExpectResult {
  return { ret: EVAL_STOP, status, desc: onErrorMessage(kind, c, match, info) };
}

/** dump_binary(): upper-case hexadecimal. */
function hexDump(buf: Buffer): string {
  return buf.toString('hex').toUpperCase();
}

/**
 * tcpcheck_eval_expect(): `buf` holds what was received since the last
 * connect or send; `lastRead`: the connection is closed (or the buffer full),
 * nothing more will come.
 */
export function evalTcpExpect(kind: CheckKind, c: CompiledExpect, buf: Buffer, lastRead: boolean): ExpectResult {
  const rule = c.rule;
  if (!lastRead) {
    if ((rule.type === 'string' || rule.type === 'binary') && buf.length < c.bytes!.length) return WAIT;
    if (rule.minRecv > 0 && buf.length < rule.minRecv) return WAIT;
  }
  let match: boolean;
  switch (rule.type) {
    case 'string': case 'binary': match = buf.indexOf(c.bytes!) >= 0; break;
    case 'rstring': match = c.re!.test(buf.toString('latin1')); break;
    case 'rbinary': match = c.re!.test(hexDump(buf)); break;
    default: return fail(kind, c, HCHK_L7RSP, false, '');
  }
  // A mismatch may still become a match with more data, unless min-recv says enough was read.
  if (!match && !lastRead && rule.minRecv === -1) return WAIT;
  if (match !== rule.inverse) return CONTINUE;
  return fail(kind, c, rule.errStatus !== HCHK_UNKNOWN ? rule.errStatus : HCHK_L7RSP, match, '');
}

/** An HTTP response as far as it was received. */
export interface HttpCheckResponse {
  status: number;
  reason: string;
  headers: Array<[string, string]>;
  /** Body bytes received so far (decoded when chunked). */
  body: Buffer;
  /** The whole message is in. */
  complete: boolean;
}

function matchText(v: string, pat: string, how: HdrMatch, re: RegExp | null, caseless: boolean): boolean {
  if (caseless) { v = v.toLowerCase(); pat = pat.toLowerCase(); }
  switch (how) {
    case 'str': return v === pat;
    case 'beg': return v.startsWith(pat);
    case 'end': return v.endsWith(pat);
    case 'sub': return v.includes(pat);
    case 'reg': return re!.test(v);
  }
}

/** http_find_*_header() + value matching: each comma-separated value unless `fhdr`. */
function headerMatches(c: CompiledExpect, headers: Array<[string, string]>): boolean {
  const h = c.rule.hdr!;
  for (const [name, value] of headers) {
    if (!matchText(name, h.name, h.nameMatch, c.nameRe, h.nameMatch !== 'reg')) continue;
    if (h.value === null) return true;
    const values = h.full ? [value.trim()] : value.split(',').map(v => v.trim());
    for (const v of values) if (matchText(v, h.value, h.valueMatch, c.valueRe, false)) return true;
  }
  return false;
}

/**
 * tcpcheck_eval_expect_http(). `resp` is null until the response head is in.
 * `disable404`: `http-check disable-on-404` and the server is not down; a
 * 404 then passes the rule (the check ends L7OKC).
 */
export function evalHttpExpect(c: CompiledExpect, resp: HttpCheckResponse | null, lastRead: boolean, disable404: boolean): ExpectResult {
  const rule = c.rule;
  if (resp === null) {
    if (lastRead) return fail('http', c, HCHK_L7RSP, false, '');
    return WAIT;
  }
  lastRead ||= resp.complete;
  if (disable404 && resp.status === 404) return CONTINUE;
  let match: boolean;
  let status = rule.errStatus;
  let info = '';
  switch (rule.type) {
    case 'status':
      match = rule.codes.some(([a, b]) => resp.status >= a && resp.status <= b);
      if (status === HCHK_UNKNOWN) status = HCHK_L7STS;
      if (rule.onError === null) info = resp.reason;
      break;
    case 'rstatus':
      match = c.re!.test(String(resp.status));
      if (status === HCHK_UNKNOWN) status = HCHK_L7STS;
      if (rule.onError === null) info = resp.reason;
      break;
    case 'hdr':
      match = headerMatches(c, resp.headers);
      if (status === HCHK_UNKNOWN) status = HCHK_L7STS;
      if (rule.onError === null) info = resp.reason;
      break;
    case 'body': case 'rbody': {
      const body = resp.body;
      if (body.length === 0) {
        if (!lastRead) return WAIT;
        return fail('http', c, status !== HCHK_UNKNOWN ? status : HCHK_L7RSP, false, rule.onError === null ? 'HTTP content check could not find a response body' : '');
      }
      if (!lastRead && ((rule.type === 'body' && body.length < c.bytes!.length) || (rule.minRecv > 0 && body.length < rule.minRecv))) return WAIT;
      match = rule.type === 'body' ? body.indexOf(c.bytes!) >= 0 : c.re!.test(body.toString('latin1'));
      if (!match && !lastRead && rule.minRecv === -1) return WAIT;
      if (status === HCHK_UNKNOWN) status = HCHK_L7RSP;
      if (rule.onError === null) info = rule.inverse ? 'HTTP check matched unwanted content' : 'HTTP content check did not match';
      break;
    }
    default:
      return fail('http', c, status !== HCHK_UNKNOWN ? status : HCHK_L7RSP, false, '');
  }
  if (match !== rule.inverse) return CONTINUE;
  return fail('http', c, status, false, info);
}

/**
 * The end of a ruleset that ran to its last rule (tcpcheck_main): the status
 * and info text of the success. `last`: the last rule evaluated; `code`: the
 * HTTP status when the check is an HTTP one (404 + disable-on-404 is L7OKC).
 */
export function successOf(kind: CheckKind, last: { t: string; implicit?: boolean; okStatus?: number; onSuccess?: string | null }, tls: boolean,
  code: number, disable404: boolean): { status: number; desc: string } {
  if (last.t === 'expect') {
    if (disable404 && code === 404) return { status: HCHK_L7OKCD, desc: '' };
    const desc = last.onSuccess ?? (kind === 'tcp-check' ? '(tcp-check)' : '');
    return { status: last.okStatus !== undefined && last.okStatus !== HCHK_UNKNOWN ? last.okStatus : HCHK_L7OKD, desc };
  }
  if (last.t === 'connect') return { status: tls ? HCHK_L6OK : HCHK_L4OK, desc: last.implicit ? '' : '(tcp-check)' };
  return { status: HCHK_L7OKD, desc: '(tcp-check)' };
}
