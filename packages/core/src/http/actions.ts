/**
 * HTTP rule actions (configuration.txt 4.2, HAProxy 2.6 src/http_act.c,
 * src/http_htx.c http_parse_http_reply, src/http_ana.c): allow, deny,
 * tarpit, return, redirect, auth, the header rewrites, the request-line
 * rewrites, normalize-uri and set-status, registered for http-request,
 * http-response and http-after-response as HAProxy's keyword tables do
 * (end of this file).
 *
 * Arguments, checks and error texts follow the C parsers. An empty word
 * ends the arguments, as in HAProxy where `""` cannot be told from a
 * missing argument (`set-header X ""` is "expects exactly 2 arguments").
 * Values are log-format strings compiled once, in rule mode (spaces kept,
 * control characters of samples written %XX): a sample cannot split a
 * header, and a value that is still not a valid field value (CR/LF from a
 * config escape, haproxy 2.6.12 sends those as is) fails the rule with
 * ACT_ERROR, HAProxy's failed rewrite in strict mode (500 for requests,
 * 502 for responses).
 *
 * Answers (deny, tarpit, return, redirect, auth) set `host.reply` to an
 * HttpReplySpec (./reply.ts) and return ACT_DENY, ACT_TARPIT or ACT_DONE;
 * the stream sends it. Termination flags as haproxy 2.6.12 logs them
 * (verified): deny and tarpit `P` (SF_ERR_PRXCOND), return, redirect and
 * auth `L` (SF_ERR_LOCAL).
 *
 * Where we are stricter than haproxy 2.6.12, on purpose:
 *   - header names must be RFC 9110 tokens (haproxy takes `set-header "X A"`);
 *   - a rewritten method or request-target must be one our H1 parser would
 *     accept (no SP, CTL, '#', non-ASCII; origin/absolute/authority/`*`
 *     forms), else ACT_ERROR; haproxy forwards anything;
 *   - rules never change message framing: setting, adding or rewriting
 *     content-length / transfer-encoding fails the rule (ACT_ERROR), and
 *     deleting them is a no-op. haproxy's H1 mux re-frames the message
 *     itself (del-header transfer-encoding still sends chunked, a wrong
 *     content-length gets a 500, verified); our relay frames by what was
 *     parsed, so a rewritten length would desynchronise the server;
 *   - normalize-uri is accepted without `expose-experimental-directives`.
 */
import {
  registerActions, ACT_CONTINUE, ACT_STOP, ACT_DONE, ACT_DENY, ACT_ERROR, ACT_TARPIT,
  type Action, type ActionEnv, type RuleHost, type RuleSetName,
} from '../rules/rule-set';
import { RuleFormat, compileRuleFormat } from '../rules/rule-format';
import { isValidHeaderName, isValidHeaderValue, valueElementEnd, FIELD_VALUE, type HeaderList } from './headers';
import { TARGET_ABSOLUTE, TARGET_AUTHORITY, type MessageHead, type RequestHead } from './h1';
import { validateErrorFile, ERROR_STATUSES, DEFAULT_BUFSIZE, type ErrorReply } from './errors';
import { errorReplyOf, type HttpReplySpec } from './reply';
import { compileRegex } from '../rules/pattern';
import { parseNormalizer, normalizeTarget, uriPathStart, replacePath, replaceQuery } from './normalize-uri';

/* ---------------- shared pieces ---------------- */

/** HAProxy 2.6 http_get_reason() (src/http.c): the reason of generated status lines and of set-status. */
const REASONS: Readonly<Record<number, string>> = {
  100: 'Continue', 101: 'Switching Protocols', 102: 'Processing', 200: 'OK', 201: 'Created', 202: 'Accepted',
  203: 'Non-Authoritative Information', 204: 'No Content', 205: 'Reset Content', 206: 'Partial Content',
  207: 'Multi-Status', 210: 'Content Different', 226: 'IM Used', 300: 'Multiple Choices', 301: 'Moved Permanently',
  302: 'Moved Temporarily', 303: 'See Other', 304: 'Not Modified', 305: 'Use Proxy', 307: 'Temporary Redirect',
  308: 'Permanent Redirect', 310: 'Too many Redirects', 400: 'Bad Request', 401: 'Unauthorized', 402: 'Payment Required',
  403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 406: 'Not Acceptable', 407: 'Proxy Authentication Required',
  408: 'Request Time-out', 409: 'Conflict', 410: 'Gone', 411: 'Length Required', 412: 'Precondition Failed',
  413: 'Request Entity Too Large', 414: 'Request-URI Too Long', 415: 'Unsupported Media Type',
  416: 'Requested range unsatisfiable', 417: 'Expectation failed', 418: "I'm a teapot", 421: 'Misdirected Request',
  422: 'Unprocessable Content', 423: 'Locked', 424: 'Method failure', 425: 'Too Early', 426: 'Upgrade Required',
  428: 'Precondition Required', 429: 'Too Many Requests', 431: 'Request Header Fields Too Large', 449: 'Retry With',
  450: 'Blocked by Windows Parental Controls', 451: 'Unavailable For Legal Reasons', 456: 'Unrecoverable Error',
  499: 'client has closed connection', 500: 'Internal Server Error', 501: 'Not Implemented',
  502: 'Bad Gateway or Proxy Error', 503: 'Service Unavailable', 504: 'Gateway Time-out',
  505: 'HTTP Version not supported', 506: 'Variant also negotiate', 507: 'Insufficient storage', 508: 'Loop detected',
  509: 'Bandwidth Limit Exceeded', 510: 'Not extended', 511: 'Network authentication required',
  520: 'Web server is returning an unknown error',
};

export function haproxyReason(status: number): string {
  const r = REASONS[status];
  if (r !== undefined) return r;
  return status >= 100 && status < 200 ? 'Informational' : status >= 200 && status < 300 ? 'Success'
    : status >= 300 && status < 400 ? 'Redirection' : status >= 400 && status < 500 ? 'Client Error'
    : status >= 500 && status < 600 ? 'Server Error' : 'Other';
}

/**
 * Specs shared by every stream (static replies) are frozen: whoever wants
 * to change one (http-after-response on a generated reply) must copy it.
 */
function frozen(spec: HttpReplySpec): HttpReplySpec {
  Object.freeze(spec.headers);
  return Object.freeze(spec);
}

/** A rule's log-format value (rules/rule-format.ts). */
type Fmt = RuleFormat;

function compileFmt(text: string, env: ActionEnv): Fmt | string {
  return compileRuleFormat(text, env);
}

/** The action's words up to the first empty one (HAProxy's end of arguments). */
function argv(words: string[]): string[] {
  const e = words.indexOf('');
  return e < 0 ? words : words.slice(0, e);
}

/** HAProxy's message for words left after an action's arguments. */
function trailing(a: readonly string[], i: number): string | undefined {
  if (i < a.length) return `expects either 'if' or 'unless' followed by a condition but found '${a[i]}'`;
  return undefined;
}

/** atol(): optional blanks and sign, then digits up to the first other character ("302abc" is 302, "x" is 0). */
function atol(s: string): number {
  const m = /^[ \t\n\v\f\r]*([-+]?[0-9]+)/.exec(s);
  return m === null ? 0 : Number(m[1]);
}

/** Fields whose rewriting would change the framing our relay decided at parse time (see the file comment). */
function isFraming(lname: string): boolean {
  return lname === 'content-length' || lname === 'transfer-encoding';
}

function fieldIsFraming(list: HeaderList, i: number): boolean {
  return list.nameIs(i, 'content-length') || list.nameIs(i, 'transfer-encoding');
}

function isReqSet(set: RuleSetName): boolean {
  return set === 'http-request';
}

/** The message a header action of `set` works on: the request in http-request, else the response. */
function headOf(host: RuleHost, req: boolean): MessageHead | null {
  return req ? host.httpReq : host.httpRes;
}

/**
 * http_update_authority(): after a rule set the Host field of a request
 * whose target carries an authority (absolute-form, CONNECT), the target's
 * authority follows. False when the new target is not valid.
 */
function hostToAuthority(h: RequestHead, host: string): boolean {
  if (h.targetForm !== TARGET_ABSOLUTE && h.targetForm !== TARGET_AUTHORITY) return true;
  const t = h.target;
  let as = 0;
  let ae = t.length;
  if (h.targetForm === TARGET_ABSOLUTE) {
    as = t.indexOf('://') + 3;
    const slash = t.indexOf('/', as);
    ae = slash < 0 ? t.length : slash;
    const at = t.lastIndexOf('@', ae - 1);
    if (at >= as) as = at + 1;
  } else {
    const slash = t.indexOf('/');
    if (slash >= 0) ae = slash;
  }
  if (t.slice(as, ae) === host) return true;
  return setTarget(h, t.slice(0, as) + host + t.slice(ae));
}

/**
 * http_update_host(): after set-uri/replace-uri, an absolute-form target's
 * authority (as written, port included: haproxy 2.6.12 sends
 * `host: other.example:8080`, verified) becomes the value of every Host
 * field; a CONNECT target is itself the authority.
 */
function authorityToHost(h: RequestHead): boolean {
  let auth: string;
  const t = h.target;
  if (h.targetForm === TARGET_ABSOLUTE) {
    const as = t.indexOf('://') + 3;
    const slash = t.indexOf('/', as);
    auth = t.slice(as, slash < 0 ? t.length : slash);
    const at = auth.lastIndexOf('@');
    if (at >= 0) auth = auth.slice(at + 1);
  } else if (h.targetForm === TARGET_AUTHORITY) {
    auth = t;
  } else return true;
  if (auth.length === 0 || !isValidHeaderValue(auth)) return false;
  const list = h.headers;
  let changed = false;
  for (let i = 0; i < list.count; i++) {
    if (list.nameIs(i, 'host') && list.value(i) !== auth) { list.setValueAt(i, auth); changed = true; }
  }
  if (changed) h.headersChanged();
  return true;
}

function setTarget(h: RequestHead, t: string): boolean {
  try {
    h.setTarget(t);
    return true;
  } catch {
    return false;
  }
}

/**
 * exp_replace() (src/regex.c): `\0`..`\9` are the match's groups (nothing
 * for a group that did not participate), `\xHH` a byte (HAProxy's lax hex
 * arithmetic kept), `\c` the character c. A trailing backslash fails the
 * rewrite (null).
 */
export function expReplace(tpl: string, m: RegExpExecArray): string | null {
  let out = '';
  let run = 0;
  const n = tpl.length;
  let i = 0;
  while (i < n) {
    if (tpl.charCodeAt(i) !== 0x5c) { i++; continue; }
    out += tpl.slice(run, i);
    i++;
    if (i >= n) return null;
    const c = tpl.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      const g = m[c - 0x30];
      if (g !== undefined) out += g;
      i++;
    } else if (c === 0x78 /* x */) {
      i++;
      if (i >= n) return null;
      const h1 = laxHex(tpl.charCodeAt(i++));
      if (i >= n) return null;
      const h2 = laxHex(tpl.charCodeAt(i++));
      out += String.fromCharCode(((h1 << 4) + h2) & 0xff);
    } else {
      out += tpl[i];
      i++;
    }
    run = i;
  }
  return run === 0 ? tpl : out + tpl.slice(run);
}

/** exp_replace()'s hex digit: toupper(c) - '0', minus 7 above 9, in unsigned char arithmetic. */
function laxHex(c: number): number {
  if (c >= 0x61 && c <= 0x7a) c -= 0x20;
  let h = (c - 0x30) & 0xff;
  if (h > 9) h = (h - 7) & 0xff;
  return h;
}

function isLws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

function trimLws(v: string): string {
  let s = 0;
  let e = v.length;
  while (s < e && isLws(v.charCodeAt(s))) s++;
  while (e > s && isLws(v.charCodeAt(e - 1))) e--;
  return s === 0 && e === v.length ? v : v.slice(s, e);
}

/**
 * The character every match of `re` starts with when the regex is anchored
 * by a literal one ("^v1$", "^gzip"), else -1. replace-header and
 * replace-value skip, without running the regex, the values and elements
 * that do not start with it. Only plain sources qualify: no flags, no
 * alternation anywhere, a letter or digit after the '^' that no quantifier
 * may make optional.
 */
export function anchoredFirstChar(re: RegExp): number {
  const s = re.source;
  if (re.flags !== '' || s.length < 2 || s.charCodeAt(0) !== 0x5e || s.indexOf('|') >= 0) return -1;
  const c = s.charCodeAt(1);
  const alnum = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
  if (!alnum) return -1;
  const q = s.charCodeAt(2);
  return q === 0x3f || q === 0x2a || q === 0x7b ? -1 : c;
}

/**
 * The value with its regex-matching part rewritten as HAProxy's
 * http_replace_hdrs(): the value without its surrounding blanks is matched
 * (a search, not anchored) and, on a match, entirely replaced, blanks
 * included, by exp_replace(tpl). Null when exp_replace fails. `first`:
 * anchoredFirstChar(re).
 */
function replaceWhole(v: string, re: RegExp, tpl: string, first: number): string | null {
  const t = trimLws(v);
  if (first >= 0 && t.charCodeAt(0) !== first) return v;
  const m = re.exec(t);
  if (m === null) return v;
  return expReplace(tpl, m);
}

/**
 * replace-value: each comma-separated element (commas inside a quoted
 * string do not split, http_find_hdr_value_end()) is matched and replaced
 * as replaceWhole() does, the blanks around it included: "abc, a2" with
 * `^(.*)$` → `<\1>` gives "<abc>,<a2>" (haproxy 2.6.12, verified).
 */
function replaceItems(v: string, re: RegExp, tpl: string, first: number): string | null {
  let out = '';
  /** Where the text not copied to out yet starts: elements left as they are are copied in one piece. */
  let kept = 0;
  let changed = false;
  let p = 0;
  const n = v.length;
  for (;;) {
    const e = valueElementEnd(v, p, n);
    let skip = false;
    if (first >= 0) {
      // An element that cannot match is not cut out of the value at all.
      let ts = p;
      while (ts < e && isLws(v.charCodeAt(ts))) ts++;
      skip = ts === e || v.charCodeAt(ts) !== first;
    }
    if (!skip) {
      const item = p === 0 && e === n ? v : v.slice(p, e);
      const r = replaceWhole(item, re, tpl, first);
      if (r === null) return null;
      if (r !== item) {
        out += v.slice(kept, p) + r;
        kept = e;
        changed = true;
      }
    }
    if (e >= n) break;
    p = e + 1;
  }
  // Nothing replaced: the value itself (the caller then changes nothing).
  return changed ? out + v.slice(kept) : v;
}

/* ---------------- allow ---------------- */

const STOP: Action = { run: () => ACT_STOP };

function parseAllow(words: string[]): Action | string {
  return trailing(argv(words), 1) ?? STOP;
}

/* ---------------- replies: deny, tarpit, return ---------------- */

const K_EMPTY = 0;
/** An errorfile: the proxy's page for the status (default-errorfiles) or a given one. */
const K_ERRMSG = 1;
/** `string` / `file`: a body fixed at parse time. */
const K_RAW = 2;
/** `lf-string` / `lf-file`: a body rendered per request. */
const K_LF = 3;

interface ReplyHdr {
  readonly name: string;
  readonly fmt: Fmt;
}

interface ParsedReply {
  status: number;
  kind: number;
  page: Buffer | null;
  ctype: string | null;
  body: Buffer | null;
  bodyFmt: Fmt | null;
  hdrs: ReplyHdr[];
  next: number;
}

const PAYLOAD_ARG: Readonly<Record<string, string>> = {
  'errorfiles': 'name', 'errorfile': 'fmt', 'file': 'file', 'string': 'str', 'lf-file': 'file', 'lf-string': 'fmt',
};

/** Reads a file named by a reply argument (text, one char per byte), checking HAProxy's size limit. */
function replyFile(path: string, env: ActionEnv): string | { error: string } {
  const text = env.file(path);
  if (text === undefined) return { error: `error opening file '${path}'` };
  // tune.bufsize is not known here: HAProxy's default.
  if (text.length > DEFAULT_BUFSIZE) return { error: `file '${path}' exceeds the buffer size (${text.length} > ${DEFAULT_BUFSIZE})` };
  return text;
}

/**
 * http_parse_http_reply(): `[status <code>] [content-type <type>]
 * [default-errorfiles | errorfile <file> | errorfiles <name> | file <file> |
 * lf-file <file> | string <str> | lf-string <fmt>] [hdr <name> <fmt>]*` in
 * any order from a[from]; stops at the first other word.
 */
function parseReply(a: readonly string[], from: number, defStatus: number, env: ActionEnv): ParsedReply | string {
  const r: ParsedReply = { status: defStatus, kind: K_EMPTY, page: null, ctype: null, body: null, bodyFmt: null, hdrs: [], next: from };
  let actArg = '';
  let lfText: string | null = null;
  let errorfiles: string | null = null;
  let i = from;
  while (i < a.length) {
    const w = a[i];
    if (w === 'status') {
      if (i + 1 >= a.length) return `'${w}' expects <status_code> as argument`;
      r.status = atol(a[i + 1]);
      if (r.status < 200 || r.status > 599) return `Unexpected status code '${r.status}'`;
      i += 2;
    } else if (w === 'content-type') {
      if (i + 1 >= a.length) return `'${w}' expects <ctype> as argument`;
      r.ctype = a[i + 1];
      if (!isValidHeaderValue(r.ctype)) return `invalid content-type '${r.ctype}'`;
      i += 2;
    } else if (w === 'default-errorfiles' || PAYLOAD_ARG[w] !== undefined) {
      if (r.kind !== K_EMPTY) return `unexpected '${w}' argument, '${actArg}' already defined`;
      actArg = w;
      if (w === 'default-errorfiles') { r.kind = K_ERRMSG; i++; continue; }
      if (i + 1 >= a.length) return `'${w}' expects <${PAYLOAD_ARG[w]}> as argument`;
      const v = a[i + 1];
      switch (w) {
        case 'errorfiles':
          // Resolved below, once the status is known (http_check_http_reply()).
          errorfiles = v;
          r.kind = K_ERRMSG;
          break;
        case 'errorfile': {
          const text = env.file(v);
          if (text === undefined) return `error opening file '${v}'`;
          const vr = validateErrorFile(Buffer.from(text, 'latin1'));
          if (!vr.ok) return `'${v}': ${vr.reason}`;
          r.page = vr.bytes;
          r.kind = K_ERRMSG;
          break;
        }
        case 'file': case 'lf-file': {
          const text = replyFile(v, env);
          if (typeof text !== 'string') return text.error;
          if (w === 'file') { r.body = Buffer.from(text, 'latin1'); r.kind = K_RAW; } else { lfText = text; r.kind = K_LF; }
          break;
        }
        case 'string': r.body = Buffer.from(v, 'latin1'); r.kind = K_RAW; break;
        case 'lf-string': lfText = v; r.kind = K_LF; break;
      }
      i += 2;
    } else if (w === 'hdr') {
      if (i + 2 >= a.length) return `'${w}' expects <name> and <value> as arguments`;
      const name = a[i + 1];
      const ln = name.toLowerCase();
      if (ln === 'content-length' || ln === 'transfer-encoding' || ln === 'content-type') {
        env.warn(`header '${name}' always ignored by the http reply.`);
        i += 3;
        continue;
      }
      if (!isValidHeaderName(name)) return `'hdr' : invalid header name '${name}'`;
      const f = compileFmt(a[i + 2], env);
      if (typeof f === 'string') return f;
      r.hdrs.push({ name, fmt: f });
      i += 3;
    } else break;
  }
  r.next = i;
  if (r.kind === K_EMPTY) {
    if (r.ctype !== null) {
      env.warn(`content-type '${r.ctype}' ignored by the http reply because neither errorfile nor payload defined.`);
      r.ctype = null;
    }
  } else if (r.kind === K_ERRMSG) {
    if (r.page === null && !ERROR_STATUSES.includes(r.status)) {
      return `status code '${r.status}' not handled by default with '${actArg}' argument.`;
    }
    if (r.ctype !== null) {
      env.warn(`content-type '${r.ctype}' ignored by the http reply when used with an errorfile.`);
      r.ctype = null;
    }
    if (r.hdrs.length > 0) {
      env.warn('hdr parameters ignored by the http reply when used with an errorfile.');
      r.hdrs = [];
    }
    if (errorfiles !== null) {
      // The section's page for the status; none: a reply without payload
      // (HAProxy's HTTP_REPLY_INDIRECT to nothing: status line and
      // content-length: 0, verified with 2.6.12).
      const sec = env.httpErrors?.[errorfiles];
      if (sec === undefined) return `unknown http-errors section '${errorfiles}' referenced by an http reply`;
      const page = sec[r.status];
      if (page === undefined) {
        env.warn(`status '${r.status}' referenced by an http reply not declared in http-errors section '${errorfiles}'.`);
        r.kind = K_EMPTY;
      } else r.page = Buffer.from(page, 'latin1');
    }
  } else if (r.kind === K_RAW) {
    const len = r.body!.length;
    if ((r.status === 204 || r.status === 304) && len > 0) return `No body expected for ${r.status} responses`;
    if (r.ctype === null && len > 0) return 'a content type must be defined when non-empty payload is configured';
    if (r.ctype !== null && len === 0) {
      env.warn(`content-type '${r.ctype}' ignored by the http reply when used with an empty payload.`);
      r.ctype = null;
    }
    if (len === 0) r.body = null;
  } else {
    if (r.status === 204 || r.status === 304) return `No body expected for ${r.status} responses`;
    if (r.ctype === null) return 'a content type must be defined with a log-format payload';
    const f = compileFmt(lfText!, env);
    if (typeof f === 'string') return f;
    r.bodyFmt = f;
  }
  return r;
}

/** deny, tarpit, return: answers with the reply parsed by parseReply(). */
class ReplyAction implements Action {
  /** The spec when nothing in it depends on the request (shared: the stream only reads it). */
  private readonly fixed: HttpReplySpec | null;
  private readonly reason: string;

  constructor(private readonly r: ParsedReply, private readonly verdict: number, private readonly term1: string) {
    this.reason = haproxyReason(r.status);
    if (r.kind === K_ERRMSG) {
      this.fixed = frozen({ status: r.status, reason: null, errorfile: true, page: r.page, contentType: null, headers: [], body: null, term1 });
    } else if (r.kind !== K_LF && r.hdrs.length === 0) {
      this.fixed = frozen({
        status: r.status, reason: this.reason, errorfile: false, contentType: r.body !== null ? r.ctype : null, headers: [], body: r.body, term1,
      });
    } else this.fixed = null;
  }

  run(host: RuleHost): number {
    if (this.fixed !== null) {
      host.reply = this.fixed;
      return this.verdict;
    }
    const r = this.r;
    const headers: Array<[string, string]> = [];
    for (let i = 0; i < r.hdrs.length; i++) {
      const v = r.hdrs[i].fmt.fieldValue(host);
      if (v === null) return ACT_ERROR;
      // http_reply_to_htx(): a header whose value is empty is not sent.
      if (v === '') continue;
      headers.push([r.hdrs[i].name, v]);
    }
    let body = r.body;
    if (r.bodyFmt !== null) {
      const text = r.bodyFmt.render(host);
      body = text.length === 0 ? null : Buffer.from(text, 'latin1');
    }
    const spec: HttpReplySpec = {
      status: r.status, reason: this.reason, errorfile: false, contentType: body !== null ? r.ctype : null, headers, body, term1: this.term1,
    };
    host.reply = spec;
    return this.verdict;
  }
}

/**
 * parse_http_deny(): `deny|tarpit [deny_status <code>] [reply args]`.
 * Without arguments, or with only deny_status, the proxy's errorfile for
 * the status (default 403, tarpit 500, http-response 502).
 */
function parseDeny(words: string[], env: ActionEnv): Action | string {
  const a = argv(words);
  const tarpit = a[0] === 'tarpit';
  const def = isReqSet(env.set) ? (tarpit ? 500 : 403) : 502;
  let r: ParsedReply | string;
  let next: number;
  if (a.length === 1) {
    r = parseReply(['default-errorfiles'], 0, def, env);
    next = 1;
  } else if (a[1] === 'deny_status' && a.length <= 3) {
    r = parseReply(a.length === 3 ? ['status', a[2], 'default-errorfiles'] : ['status'], 0, def, env);
    next = a.length;
  } else {
    const b = a[1] === 'deny_status' ? ['', 'status', ...a.slice(2)] : a;
    r = parseReply(b, 1, def, env);
    next = typeof r === 'string' ? 0 : r.next;
  }
  if (typeof r === 'string') return r;
  return trailing(a, next) ?? new ReplyAction(r, tarpit ? ACT_TARPIT : ACT_DENY, 'P');
}

/** parse_http_return(): `return [reply args]`, default status 200. */
function parseReturn(words: string[], env: ActionEnv): Action | string {
  const a = argv(words);
  const r = parseReply(a, 1, 200, env);
  if (typeof r === 'string') return r;
  return trailing(a, r.next) ?? new ReplyAction(r, ACT_DONE, 'L');
}

/* ---------------- redirect ---------------- */

const RDR_LOCATION = 1;
const RDR_PREFIX = 2;
const RDR_SCHEME = 3;

/** http_apply_redirect_rule()'s status lines. */
const REDIRECT_LINES: Readonly<Record<number, string>> = {
  301: 'HTTP/1.1 301 Moved Permanently\r\n', 302: 'HTTP/1.1 302 Found\r\n', 303: 'HTTP/1.1 303 See Other\r\n',
  307: 'HTTP/1.1 307 Temporary Redirect\r\n', 308: 'HTTP/1.1 308 Permanent Redirect\r\n',
};

/**
 * A redirect answers with HAProxy's exact bytes, built here and handed to
 * the stream as a ready page (spec.page): haproxy 2.6.12 sends (verified)
 *   HTTP/1.1 302 Found
 *   content-length: 0
 *   location: https://h.example:81/s2
 *   cache-control: no-cache          (302, 303 and 307 only)
 *   set-cookie: FOO=bar; path=/;     (set-cookie/clear-cookie)
 * and `connection: close` last when the request has a body still coming
 * (makeReply()'s close form, which the stream picks then).
 */
class Redirect implements Action {
  constructor(
    private readonly type: number,
    private readonly fmt: Fmt | null,
    private readonly code: number,
    private readonly cookie: string | null,
    private readonly dropQuery: boolean,
    private readonly appendSlash: boolean,
    private readonly ignoreEmpty: boolean,
  ) {}

  run(host: RuleHost): number {
    let loc: string;
    if (this.type === RDR_LOCATION) {
      loc = this.fmt!.render(host);
      if (loc.length === 0 && this.ignoreEmpty) return ACT_CONTINUE;
    } else {
      const h = host.httpReq;
      if (h === null) return ACT_ERROR;
      // http_parse_path(): the path with its query, "/" when the target has none.
      const t = h.target;
      const ps = uriPathStart(t);
      let path = ps < 0 ? '/' : ps === 0 ? t : t.slice(ps);
      if (ps >= 0 && this.dropQuery) {
        const q = path.indexOf('?');
        if (q >= 0) path = path.slice(0, q);
      }
      if (this.type === RDR_SCHEME) {
        // The first element of the first Host field (http_find_header(), not full).
        let host_ = '';
        const i = h.headers.indexOf('host');
        if (i >= 0) {
          const v = h.headers.value(i);
          const c = v.indexOf(',');
          host_ = trimLws(c < 0 ? v : v.slice(0, c));
        }
        loc = this.fmt!.render(host) + '://' + host_ + path;
      } else {
        // A prefix of "/" adds nothing: a self-redirection (http_parse_redirect_rule()).
        loc = (this.fmt === null ? '' : this.fmt.render(host)) + path;
      }
      if (this.appendSlash && loc.length > 0 && loc.charCodeAt(loc.length - 1) !== 0x2f) loc += '/';
    }
    if (!isValidHeaderValue(loc)) return ACT_ERROR;
    const c = this.code;
    let head = REDIRECT_LINES[c] + 'content-length: 0\r\nlocation: ' + loc + '\r\n';
    if (c === 302 || c === 303 || c === 307) head += 'cache-control: no-cache\r\n';
    if (this.cookie !== null) head += 'set-cookie: ' + this.cookie + '\r\n';
    head += '\r\n';
    const spec: HttpReplySpec = {
      status: c, reason: null, errorfile: true, page: Buffer.from(head, 'latin1'), contentType: null, headers: [], body: null, term1: 'L',
    };
    host.reply = spec;
    return ACT_DONE;
  }
}

/**
 * http_parse_redirect_rule(): `redirect location|prefix|scheme <fmt>
 * [code <n>] [set-cookie NAME[=value]] [clear-cookie NAME[=]]
 * [drop-query] [append-slash] [ignore-empty]`, any order; http-response
 * only has `location`.
 */
function parseRedirect(words: string[], env: ActionEnv): Action | string {
  const a = argv(words);
  let type = 0;
  let dest = '';
  let code = 302;
  let cookie: string | null = null;
  let cookieSet = false;
  let dropQuery = false, appendSlash = false, ignoreEmpty = false;
  for (let i = 1; i < a.length; i++) {
    const w = a[i];
    switch (w) {
      case 'location': case 'prefix': case 'scheme': case 'set-cookie': case 'clear-cookie': case 'code':
        if (i + 1 >= a.length) return `missing argument for '${w}'`;
        i++;
        if (w === 'code') {
          code = atol(a[i]);
          if (REDIRECT_LINES[code] === undefined) return `'${w}': unsupported HTTP code '${a[i]}' (must be one of 301, 302, 303, 307 or 308)`;
        } else if (w === 'set-cookie' || w === 'clear-cookie') {
          cookie = a[i];
          cookieSet = w === 'set-cookie';
        } else {
          type = w === 'location' ? RDR_LOCATION : w === 'prefix' ? RDR_PREFIX : RDR_SCHEME;
          dest = a[i];
        }
        break;
      case 'drop-query': dropQuery = true; break;
      case 'append-slash': appendSlash = true; break;
      case 'ignore-empty': ignoreEmpty = true; break;
      default:
        return `expects 'code', 'prefix', 'location', 'scheme', 'set-cookie', 'clear-cookie', 'drop-query', 'ignore-empty' or 'append-slash' (was '${w}')`;
    }
  }
  if (type === 0) return `redirection type expected ('prefix', 'location', or 'scheme')`;
  if (!isReqSet(env.set) && type !== RDR_LOCATION) return `response only supports redirect type 'location'`;
  let fmt: Fmt | null = null;
  if (!(type === RDR_PREFIX && dest === '/')) {
    const f = compileFmt(dest, env);
    if (typeof f === 'string') return f;
    fmt = f;
  }
  if (cookie !== null) {
    cookie += cookieSet ? '; path=/;' : '; path=/; Max-Age=0;';
    if (!isValidHeaderValue(cookie)) return `invalid cookie '${cookie}'`;
  }
  return new Redirect(type, fmt, code, cookie, dropQuery, appendSlash, ignoreEmpty);
}

/* ---------------- auth ---------------- */

/**
 * http_action_auth(): the proxy's 401 page (errorfile or built-in, as
 * http_error_message() picks it) with every WWW-Authenticate field removed
 * and `www-authenticate: Basic realm="<realm>"` added last; haproxy 2.6.12
 * sends it after content-type (verified). The realm defaults to the name of
 * the proxy holding the rule. 407/Proxy-Authenticate needs `option
 * http-use-proxy-header`, which Switchyard does not have.
 */
class Auth implements Action {
  /** One spec per page it was built from (a proxy's or the built-in one). */
  private readonly specs = new WeakMap<ErrorReply, HttpReplySpec>();
  constructor(private readonly field: string) {}

  run(host: RuleHost): number {
    const page = errorReplyOf(host, host.fe.cfg, host.be !== null ? host.be.cfg : null, 401);
    if (page === undefined) return ACT_ERROR;
    let spec = this.specs.get(page);
    if (spec === undefined) {
      spec = frozen({ status: 401, reason: null, errorfile: true, page: withField(page.keepAlive, this.field), contentType: null, headers: [], body: null, term1: 'L' });
      this.specs.set(page, spec);
    }
    host.reply = spec;
    return ACT_DONE;
  }
}

/** A normalised page (errors.ts) with `line` as its last field, before a final `connection: close`, WWW-Authenticate removed. */
function withField(msg: Buffer, line: string): Buffer {
  if (msg.length === 0) return msg;
  const text = msg.toString('latin1');
  const eoh = text.indexOf('\r\n\r\n');
  const lines = text.slice(0, eoh).split('\r\n').filter((l, i) => i === 0 || !l.startsWith('www-authenticate:'));
  let at = lines.length;
  if (lines[at - 1] === 'connection: close') at--;
  lines.splice(at, 0, line);
  return Buffer.from(lines.join('\r\n') + text.slice(eoh), 'latin1');
}

function parseAuth(words: string[], env: ActionEnv): Action | string {
  const a = argv(words);
  let i = 1;
  let realm = env.proxy.name;
  if (a[1] === 'realm') {
    if (a.length < 3) return 'missing realm value';
    realm = a[2];
    i = 3;
  }
  const field = `www-authenticate: Basic realm="${realm}"`;
  if (!isValidHeaderValue(field)) return `invalid realm '${realm}'`;
  return trailing(a, i) ?? new Auth(field);
}

/* ---------------- header rewrites ---------------- */

class SetHeader implements Action {
  private readonly lname: string;
  private readonly framing: boolean;
  constructor(private readonly req: boolean, private readonly name: string, private readonly fmt: Fmt, private readonly add: boolean) {
    this.lname = name.toLowerCase();
    this.framing = isFraming(this.lname);
  }

  run(host: RuleHost): number {
    const h = headOf(host, this.req);
    if (h === null) return ACT_CONTINUE;
    if (this.framing) return ACT_ERROR;
    const v = this.fmt.fieldValue(host);
    if (v === null) return ACT_ERROR;
    // Name checked at load, value by fieldValue().
    if (this.add) h.headers.addChecked(this.name, v, this.lname);
    else h.headers.setChecked(this.name, this.lname, v);
    h.headersChanged();
    if (this.req && this.lname === 'host' && !hostToAuthority(h as RequestHead, v)) return ACT_ERROR;
    return ACT_CONTINUE;
  }
}

/** parse_http_set_header(): `set-header|add-header <name> <fmt>`. */
function parseSetHeader(words: string[], env: ActionEnv): Action | string {
  const a = argv(words);
  if (a.length < 3) return 'expects exactly 2 arguments';
  const name = a[1];
  if (!isValidHeaderName(name)) return `invalid header name '${name}'`;
  if (isFraming(name.toLowerCase())) env.warn(`'${name}' cannot be rewritten by a rule (the message framing is kept): this rule will fail at run time`);
  const f = compileFmt(a[2], env);
  if (typeof f === 'string') return f;
  return trailing(a, 3) ?? new SetHeader(isReqSet(env.set), name, f, a[0] === 'add-header');
}

const M_STR = 0, M_BEG = 1, M_END = 2, M_SUB = 3, M_REG = 4;
const DEL_METHODS: Readonly<Record<string, number>> = { str: M_STR, beg: M_BEG, end: M_END, sub: M_SUB, reg: M_REG };

class DelHeader implements Action {
  constructor(private readonly req: boolean, private readonly lname: string, private readonly method: number, private readonly re: RegExp | null) {}

  private matches(list: HeaderList, i: number): boolean {
    if (this.method === M_STR) return list.nameIs(i, this.lname);
    // HTX holds names lower-case: every method, the regex too, sees them so.
    const n = list.name(i).toLowerCase();
    switch (this.method) {
      case M_BEG: return n.startsWith(this.lname);
      case M_END: return n.endsWith(this.lname);
      case M_SUB: return n.includes(this.lname);
      default: return this.re!.test(n);
    }
  }

  run(host: RuleHost): number {
    const h = headOf(host, this.req);
    if (h === null) return ACT_CONTINUE;
    const list = h.headers;
    if (this.method === M_STR && !list.mayHave(this.lname)) return ACT_CONTINUE;
    let removed = false;
    for (let i = list.count - 1; i >= 0; i--) {
      // Framing stays (see the file comment): haproxy re-frames anyway.
      if (this.matches(list, i) && !fieldIsFraming(list, i)) {
        list.removeAt(i);
        removed = true;
      }
    }
    if (removed) h.headersChanged();
    return ACT_CONTINUE;
  }
}

/** parse_http_del_header(): `del-header <name> [-m str|beg|end|sub|reg]`. */
function parseDelHeader(words: string[], env: ActionEnv): Action | string {
  const a = argv(words);
  if (a.length < 2) return 'expects at least 1 argument';
  const name = a[1];
  let method = M_STR;
  let re: RegExp | null = null;
  let i = 2;
  if (a[2] === '-m') {
    if (a.length < 4) return '-m flag expects exactly 1 argument';
    const m = DEL_METHODS[a[3]];
    if (m === undefined) return `-m with unsupported matching method '${a[3]}'`;
    method = m;
    if (m === M_REG) {
      const r = compileRegex(name, false);
      if (typeof r === 'string') return r;
      re = r;
    }
    i = 4;
  }
  return trailing(a, i) ?? new DelHeader(isReqSet(env.set), method === M_REG ? name : name.toLowerCase(), method, re);
}

class ReplaceHeader implements Action {
  constructor(
    private readonly req: boolean,
    private readonly lname: string,
    private readonly re: RegExp,
    private readonly fmt: Fmt,
    private readonly full: boolean,
  ) {
    this.first = anchoredFirstChar(re);
  }

  /** anchoredFirstChar(re). */
  private readonly first: number;

  run(host: RuleHost): number {
    const h = headOf(host, this.req);
    if (h === null) return ACT_CONTINUE;
    const list = h.headers;
    if (!list.mayHave(this.lname)) return ACT_CONTINUE;
    let tpl: string | null = null;
    let changed = false;
    for (let i = 0; i < list.count; i++) {
      if (!list.nameIs(i, this.lname)) continue;
      tpl ??= this.fmt.render(host);
      const v = list.value(i);
      const nv = this.full ? replaceWhole(v, this.re, tpl, this.first) : replaceItems(v, this.re, tpl, this.first);
      if (nv === null) return ACT_ERROR;
      if (nv === v) continue;
      if (!isValidHeaderValue(nv) || isFraming(this.lname)) return ACT_ERROR;
      list.setValueUnchecked(i, nv);
      changed = true;
      if (this.req && this.lname === 'host' && !hostToAuthority(h as RequestHead, nv)) return ACT_ERROR;
    }
    if (changed) h.headersChanged();
    return ACT_CONTINUE;
  }
}

/** parse_http_replace_header(): `replace-header|replace-value <name> <regex> <fmt>`. */
function parseReplaceHeader(words: string[], env: ActionEnv): Action | string {
  const a = argv(words);
  if (a.length < 4) return 'expects exactly 3 arguments';
  const name = a[1];
  if (!isValidHeaderName(name)) return `invalid header name '${name}'`;
  const re = compileRegex(a[2], false);
  if (typeof re === 'string') return re;
  const f = compileFmt(a[3], env);
  if (typeof f === 'string') return f;
  return trailing(a, 4) ?? new ReplaceHeader(isReqSet(env.set), name.toLowerCase(), re, f, a[0] === 'replace-header');
}

/* ---------------- request line ---------------- */

const RL_METHOD = 0;
const RL_PATH = 1;
const RL_QUERY = 2;
const RL_URI = 3;
const RL_PATHQ = 4;

/** http_req_replace_stline(): `v` as the method, path, query, URI or path+query of the request. */
function replaceLine(h: RequestHead, what: number, v: string): boolean {
  if (what === RL_METHOD) {
    try {
      h.setMethod(v);
      return true;
    } catch {
      return false;
    }
  }
  const t = h.target;
  const nt = what === RL_PATH ? replacePath(t, v, false) : what === RL_PATHQ ? replacePath(t, v, true)
    : what === RL_QUERY ? replaceQuery(t, '?' + v) : v;
  if (nt !== t && !setTarget(h, nt)) return false;
  return what !== RL_URI || authorityToHost(h);
}

class SetReqLine implements Action {
  constructor(private readonly what: number, private readonly fmt: Fmt) {}

  run(host: RuleHost): number {
    const h = host.httpReq;
    if (h === null) return ACT_CONTINUE;
    return replaceLine(h, this.what, this.fmt.render(host)) ? ACT_CONTINUE : ACT_ERROR;
  }
}

const SET_LINE: Readonly<Record<string, number>> = {
  'set-method': RL_METHOD, 'set-path': RL_PATH, 'set-query': RL_QUERY, 'set-uri': RL_URI, 'set-pathq': RL_PATHQ,
};

/** parse_set_req_line(): `set-method|set-path|set-pathq|set-query|set-uri <fmt>`. */
function parseSetReqLine(words: string[], env: ActionEnv): Action | string {
  const a = argv(words);
  if (a.length !== 2) return 'expects exactly 1 argument <format>';
  const f = compileFmt(a[1], env);
  if (typeof f === 'string') return f;
  return new SetReqLine(SET_LINE[a[0]], f);
}

class ReplaceReqLine implements Action {
  constructor(private readonly what: number, private readonly re: RegExp, private readonly fmt: Fmt) {}

  run(host: RuleHost): number {
    const h = host.httpReq;
    if (h === null) return ACT_CONTINUE;
    // The part matched: replace-path the path, replace-pathq the path and
    // query, replace-uri the whole target (http_action_replace_uri()).
    let part = h.target;
    if (this.what !== RL_URI) {
      const ps = uriPathStart(part);
      if (ps < 0) return ACT_CONTINUE;
      part = part.slice(ps);
      if (this.what === RL_PATH) {
        const q = part.indexOf('?');
        if (q >= 0) part = part.slice(0, q);
      }
    }
    if (part.length === 0) return ACT_CONTINUE;
    const m = this.re.exec(part);
    if (m === null) return ACT_CONTINUE;
    const out = expReplace(this.fmt.render(host), m);
    if (out === null) return ACT_ERROR;
    return replaceLine(h, this.what, out) ? ACT_CONTINUE : ACT_ERROR;
  }
}

const REPLACE_LINE: Readonly<Record<string, number>> = { 'replace-path': RL_PATH, 'replace-pathq': RL_PATHQ, 'replace-uri': RL_URI };

/** parse_replace_uri(): `replace-path|replace-pathq|replace-uri <match-regex> <replace-fmt>`. */
function parseReplaceReqLine(words: string[], env: ActionEnv): Action | string {
  const a = argv(words);
  if (a.length !== 3) return 'expects exactly 2 arguments <match-regex> and <replace-format>';
  const re = compileRegex(a[1], false);
  if (typeof re === 'string') return `failed to parse the regex : ${re}`;
  const f = compileFmt(a[2], env);
  if (typeof f === 'string') return f;
  return new ReplaceReqLine(REPLACE_LINE[a[0]], re, f);
}

/**
 * normalize-uri with a strict normalizer on an invalid '%' sequence: HAProxy
 * answers 400 with the proxy's page and logs `PR` (ACT_RET_INV, verified).
 */
const BAD_REQUEST: HttpReplySpec = frozen({
  status: 400, reason: null, errorfile: true, page: null, contentType: null, headers: [], body: null, term1: 'P',
});

class NormalizeUri implements Action {
  constructor(private readonly code: number) {}

  run(host: RuleHost): number {
    const h = host.httpReq;
    if (h === null) return ACT_CONTINUE;
    const t = h.target;
    const nt = normalizeTarget(this.code, t);
    if (nt === null) {
      host.reply = BAD_REQUEST;
      return ACT_DONE;
    }
    if (nt !== t && !setTarget(h, nt)) return ACT_ERROR;
    return ACT_CONTINUE;
  }
}

/** parse_http_normalize_uri(): `normalize-uri <normalizer> [full|strict]`. */
function parseNormalizeUri(words: string[]): Action | string {
  const a = argv(words);
  const r = parseNormalizer(a, 1);
  if (typeof r === 'string') return r;
  return trailing(a, r.next) ?? new NormalizeUri(r.code);
}

/* ---------------- set-status ---------------- */

class SetStatus implements Action {
  constructor(private readonly status: number, private readonly reason: string) {}

  run(host: RuleHost): number {
    const h = host.httpRes;
    if (h === null) return ACT_CONTINUE;
    h.setStatus(this.status, this.reason);
    return ACT_CONTINUE;
  }
}

/**
 * parse_http_set_status(): `set-status <code> [reason <str>]`, 100..999;
 * the reason is a plain string in 2.6 (not a log-format), HAProxy's
 * http_get_reason() when absent ("Moved Temporarily" for 302).
 */
function parseSetStatus(words: string[]): Action | string {
  const a = argv(words);
  if (a.length < 2) return 'expects 1 argument: <status>; or 3 arguments: <status> reason <fmt>';
  // strtol() must consume the whole word.
  const m = /^[ \t\n\v\f\r]*([-+]?[0-9]+)$/.exec(a[1]);
  const status = m === null ? 0 : Number(m[1]);
  if (m === null || status < 100 || status > 999) return 'expects an integer status code between 100 and 999';
  let reason = haproxyReason(status);
  let i = 2;
  if (a[2] === 'reason' && a.length > 3) {
    reason = a[3];
    for (let k = 0; k < reason.length; k++) {
      const c = reason.charCodeAt(k);
      if (c > 0xff || FIELD_VALUE[c] !== 1) return `invalid reason '${reason}' (control characters are not allowed in a reason phrase)`;
    }
    i = 4;
  }
  return trailing(a, i) ?? new SetStatus(status, reason);
}

/* ---------------- keyword tables (HAProxy's http_req/res/after_res_actions) ---------------- */

const REQ: readonly RuleSetName[] = ['http-request'];
const REQ_RES: readonly RuleSetName[] = ['http-request', 'http-response'];
const ALL: readonly RuleSetName[] = ['http-request', 'http-response', 'http-after-response'];

registerActions([
  { name: 'allow', sets: ALL, usage: 'allow', parse: parseAllow },
  {
    name: 'deny', sets: REQ_RES, parse: parseDeny,
    usage: 'deny [deny_status <code>] [status <code>] [content-type <type>] [default-errorfiles | errorfile <file> | file <file> | lf-file <file> | string <str> | lf-string <fmt>] [hdr <name> <fmt>]*',
  },
  {
    name: 'tarpit', sets: REQ, parse: parseDeny,
    usage: 'tarpit [deny_status <code>] [status <code>] [content-type <type>] [default-errorfiles | errorfile <file> | file <file> | lf-file <file> | string <str> | lf-string <fmt>] [hdr <name> <fmt>]*',
  },
  {
    name: 'return', sets: REQ_RES, parse: parseReturn,
    usage: 'return [status <code>] [content-type <type>] [default-errorfiles | errorfile <file> | file <file> | lf-file <file> | string <str> | lf-string <fmt>] [hdr <name> <fmt>]*',
  },
  {
    name: 'redirect', sets: REQ_RES, parse: parseRedirect,
    usage: 'redirect location|prefix|scheme <fmt> [code <n>] [drop-query] [append-slash] [ignore-empty] [set-cookie NAME[=value]] [clear-cookie NAME[=]]',
  },
  { name: 'auth', sets: REQ, usage: 'auth [realm <realm>]', parse: parseAuth },
  { name: 'set-header', sets: ALL, usage: 'set-header <name> <fmt>', parse: parseSetHeader },
  { name: 'add-header', sets: ALL, usage: 'add-header <name> <fmt>', parse: parseSetHeader },
  { name: 'del-header', sets: ALL, usage: 'del-header <name> [-m str|beg|end|sub|reg]', parse: parseDelHeader },
  { name: 'replace-header', sets: ALL, usage: 'replace-header <name> <match-regex> <replace-fmt>', parse: parseReplaceHeader },
  { name: 'replace-value', sets: ALL, usage: 'replace-value <name> <match-regex> <replace-fmt>', parse: parseReplaceHeader },
  { name: 'set-method', sets: REQ, usage: 'set-method <fmt>', parse: parseSetReqLine },
  { name: 'set-path', sets: REQ, usage: 'set-path <fmt>', parse: parseSetReqLine },
  { name: 'set-pathq', sets: REQ, usage: 'set-pathq <fmt>', parse: parseSetReqLine },
  { name: 'set-query', sets: REQ, usage: 'set-query <fmt>', parse: parseSetReqLine },
  { name: 'set-uri', sets: REQ, usage: 'set-uri <fmt>', parse: parseSetReqLine },
  { name: 'replace-path', sets: REQ, usage: 'replace-path <match-regex> <replace-fmt>', parse: parseReplaceReqLine },
  { name: 'replace-pathq', sets: REQ, usage: 'replace-pathq <match-regex> <replace-fmt>', parse: parseReplaceReqLine },
  { name: 'replace-uri', sets: REQ, usage: 'replace-uri <match-regex> <replace-fmt>', parse: parseReplaceReqLine },
  {
    name: 'normalize-uri', sets: REQ, parse: parseNormalizeUri,
    usage: 'normalize-uri path-merge-slashes | path-strip-dot | path-strip-dotdot [full] | percent-decode-unreserved [strict] | percent-to-uppercase [strict] | query-sort-by-name | fragment-strip | fragment-encode',
  },
  { name: 'set-status', sets: ['http-response', 'http-after-response'], usage: 'set-status <code> [reason <str>]', parse: parseSetStatus },
]);

