/**
 * Responses produced by rules (http-request deny/return/redirect/auth/
 * tarpit, http-response deny/return): an action describes the reply in an
 * HttpReplySpec (RuleHost.reply); the stream turns it into bytes with
 * buildReply() and sends it like an error page (keep-alive kept when the
 * request allows it, HAProxy's H1 serialisation: lower-case names,
 * content-length, `connection` last).
 */
import type { ProxyConfig, ErrorReplySource } from '../config/compiled';
import { errorReplyFor, defaultErrorReply, makeReply, type ErrorReply } from './errors';
import { compileRuleFormat, type RuleFormat } from '../rules/rule-format';
import type { RuleHost, RuleReport } from '../rules/rule-set';
import { AT_HTTP_REQ, AT_HTTP_RES, type CompileEnv } from '../rules/sample';
import { haproxyReason } from './actions';

export interface HttpReplySpec {
  status: number;
  /** Reason phrase; null: the standard one for the status. */
  reason: string | null;
  /**
   * Send the proxy's errorfile (or HAProxy's built-in page) for `status`
   * instead of the fields below: `deny` without a body, `errorfile(s)`.
   */
  errorfile: boolean;
  /** Errorfile page to use (already validated text), when `errorfile` names a specific one. */
  page?: Buffer | null;
  contentType: string | null;
  /** Extra fields, values already rendered and checked (no CR/LF/NUL). */
  headers: Array<[string, string]>;
  body: Buffer | null;
  /** First termination flag for the log: 'P' (deny, auth, tarpit), 'L' (return, redirect). */
  term1: string;
}

/** RFC 9110 reason phrases (HAProxy's http_get_reason()). */
const REASONS: Readonly<Record<number, string>> = {
  100: 'Continue', 101: 'Switching Protocols', 102: 'Processing', 103: 'Early Hints',
  200: 'OK', 201: 'Created', 202: 'Accepted', 203: 'Non-Authoritative Information', 204: 'No Content',
  205: 'Reset Content', 206: 'Partial Content', 207: 'Multi-Status', 208: 'Already Reported', 226: 'IM Used',
  300: 'Multiple Choices', 301: 'Moved Permanently', 302: 'Found', 303: 'See Other', 304: 'Not Modified',
  305: 'Use Proxy', 307: 'Temporary Redirect', 308: 'Permanent Redirect',
  400: 'Bad Request', 401: 'Unauthorized', 402: 'Payment Required', 403: 'Forbidden', 404: 'Not Found',
  405: 'Method Not Allowed', 406: 'Not Acceptable', 407: 'Proxy Authentication Required', 408: 'Request Timeout',
  409: 'Conflict', 410: 'Gone', 411: 'Length Required', 412: 'Precondition Failed', 413: 'Payload Too Large',
  414: 'URI Too Long', 415: 'Unsupported Media Type', 416: 'Range Not Satisfiable', 417: 'Expectation Failed',
  418: "I'm a teapot", 421: 'Misdirected Request', 422: 'Unprocessable Content', 423: 'Locked', 424: 'Failed Dependency',
  425: 'Too Early', 426: 'Upgrade Required', 428: 'Precondition Required', 429: 'Too Many Requests',
  431: 'Request Header Fields Too Large', 451: 'Unavailable For Legal Reasons',
  500: 'Internal Server Error', 501: 'Not Implemented', 502: 'Bad Gateway', 503: 'Service Unavailable',
  504: 'Gateway Timeout', 505: 'HTTP Version Not Supported', 506: 'Variant Also Negotiates',
  507: 'Insufficient Storage', 508: 'Loop Detected', 510: 'Not Extended', 511: 'Network Authentication Required',
};

export function reasonFor(status: number): string {
  return REASONS[status] ?? (status < 200 ? 'Informational' : status < 300 ? 'Success' : status < 400 ? 'Redirection' : status < 500 ? 'Client Error' : 'Server Error');
}

/**
 * The bytes of a rule's reply, in the forms an error page has (errors.ts
 * ErrorReply). `host`: the stream, for a proxy page rendered per request
 * (errorReplyOf()).
 */
export function buildReply(spec: HttpReplySpec, fe: ProxyConfig, be: ProxyConfig | null, host: RuleHost | null = null): ErrorReply {
  if (spec.errorfile) {
    if (spec.page) return makeReply(spec.page);
    const r = errorReplyOf(host, fe, be, spec.status);
    if (r !== undefined) return r;
  }
  const body = spec.body;
  let head = `HTTP/1.1 ${spec.status} ${spec.reason ?? reasonFor(spec.status)}\r\n`;
  for (const [n, v] of spec.headers) head += n.toLowerCase() + ': ' + v + '\r\n';
  // 1xx, 204 and 304 carry no content (RFC 9110 §8.6).
  const noBody = spec.status < 200 || spec.status === 204 || spec.status === 304;
  if (!noBody) head += 'content-length: ' + (body === null ? 0 : body.length) + '\r\n';
  if (spec.contentType !== null && !noBody) head += 'content-type: ' + spec.contentType + '\r\n';
  head += '\r\n';
  const h = Buffer.from(head, 'latin1');
  return makeReply(body === null || noBody ? h : Buffer.concat([h, body]));
}

/* ---------------- http-error pages rendered per request ---------------- */

/** An `http-error` page with a log-format body or header values (ErrorReplySource), compiled. */
class ErrorReplyTemplate {
  constructor(
    private readonly status: number,
    private readonly contentType: string | null,
    /** A log-format body, literal bytes, or none. */
    private readonly body: RuleFormat | Buffer | null,
    private readonly hdrs: ReadonlyArray<{ readonly name: string; readonly fmt: RuleFormat }>,
  ) {}

  /**
   * The page for this request (http_reply_to_htx()): a header whose value
   * comes out empty is left out, as is one whose value could not be a field
   * value (a config text with CR/LF, a non-latin1 sample).
   */
  render(host: RuleHost): ErrorReply {
    const headers: Array<[string, string]> = [];
    for (let i = 0; i < this.hdrs.length; i++) {
      const v = this.hdrs[i].fmt.fieldValue(host);
      if (v !== null && v !== '') headers.push([this.hdrs[i].name, v]);
    }
    let body: Buffer | null = null;
    const b = this.body;
    if (b !== null && !Buffer.isBuffer(b)) {
      const text = (b as RuleFormat).render(host);
      if (text.length > 0) body = Buffer.from(text, 'latin1');
    } else body = b;
    return buildReply({
      status: this.status, reason: haproxyReason(this.status), errorfile: false,
      contentType: body !== null ? this.contentType : null, headers, body, term1: '',
    }, host.fe.cfg, null);
  }
}

/** Compiled per-request pages, by proxy (the worker's ProxyConfig objects are the streams' fe.cfg / be.cfg). */
const templates = new WeakMap<ProxyConfig, Map<number, ErrorReplyTemplate>>();

/**
 * Compiles a proxy's `errorReplies` (run with its rules, by the master for
 * the errors, with file:line, and by each worker to use them). The samples
 * may read the request and the response (HAProxy's ARGC_HERR context).
 */
export function compileErrorReplies(p: ProxyConfig, env: (at: number, where: string) => CompileEnv, report: RuleReport): void {
  const srcs = p.errorReplies;
  if (srcs === undefined) return;
  const out = new Map<number, ErrorReplyTemplate>();
  const e = env(AT_HTTP_REQ | AT_HTTP_RES, 'http-error');
  for (const k of Object.keys(srcs)) {
    const src: ErrorReplySource = srcs[Number(k)];
    const fail = (msg: string): void => report.error(src.file, src.line, 'http-error', msg);
    const hdrs: Array<{ name: string; fmt: RuleFormat }> = [];
    let ok = true;
    for (const [name, value] of src.headers) {
      const f = compileRuleFormat(value, e);
      if (typeof f === 'string') { fail(f); ok = false; continue; }
      hdrs.push({ name, fmt: f });
    }
    let body: RuleFormat | Buffer | null = null;
    if (src.body !== null) {
      if (src.lf) {
        const f = compileRuleFormat(src.body, e);
        if (typeof f === 'string') { fail(f); ok = false; } else body = f;
      } else body = Buffer.from(src.body, 'latin1');
    }
    if (ok) out.set(src.status, new ErrorReplyTemplate(src.status, src.contentType, body, hdrs));
  }
  templates.set(p, out);
}

/** The proxy's own page for `status`: rendered for this request, its errorfile, or undefined. */
function proxyPage(host: RuleHost | null, px: ProxyConfig, status: number): ErrorReply | undefined {
  if (host !== null && px.errorReplies !== undefined) {
    const t = templates.get(px)?.get(status);
    if (t !== undefined) return t.render(host);
  }
  return px.errorFiles[status] !== undefined ? errorReplyFor(px, null, status) : undefined;
}

/**
 * errorReplyFor() with the pages rendered per request (http_error_message()
 * then http_reply_to_htx()): the backend's page for `status`, else the
 * frontend's, else HAProxy's built-in one; undefined for a status HAProxy
 * has no page for. `host` null: per-request pages are not rendered.
 */
export function errorReplyOf(host: RuleHost | null, fe: ProxyConfig, be: ProxyConfig | null, status: number): ErrorReply | undefined {
  if (fe.errorReplies === undefined && (be === null || be.errorReplies === undefined)) return errorReplyFor(fe, be, status);
  return (be !== null && be !== fe ? proxyPage(host, be, status) : undefined) ?? proxyPage(host, fe, status) ?? defaultErrorReply(status);
}
