/**
 * Responses produced by rules (http-request deny/return/redirect/auth/
 * tarpit, http-response deny/return): an action describes the reply in an
 * HttpReplySpec (RuleHost.reply); the stream turns it into bytes with
 * buildReply() and sends it like an error page (keep-alive kept when the
 * request allows it, HAProxy's H1 serialisation: lower-case names,
 * content-length, `connection` last).
 */
import type { ProxyConfig } from '../config/compiled';
import { errorReplyFor, makeReply, type ErrorReply } from './errors';

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

/** The bytes of a rule's reply, in the forms an error page has (errors.ts ErrorReply). */
export function buildReply(spec: HttpReplySpec, fe: ProxyConfig, be: ProxyConfig | null): ErrorReply {
  if (spec.errorfile) {
    if (spec.page) return makeReply(spec.page);
    const r = errorReplyFor(fe, be, spec.status);
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
