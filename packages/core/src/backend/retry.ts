/**
 * `retries`' companions: `option redispatch [<interval>]` (which retry goes
 * to another server) and `retry-on` (which failures are retried, HAProxy's
 * PR_RE_* flags). conn-failure retries happen before any byte reached the
 * server; every other kind replays a request the server may have seen, so
 * the HTTP stream only does it for a request it still holds whole and that
 * is idempotent (RFC 9110 9.2.2).
 */
import { registerKeywords, type KeywordContext } from '../registry';
import { parseInteger } from '../config/args';

export const RETRY_CONN_FAILURE = 0x0001;
export const RETRY_EMPTY_RESPONSE = 0x0002;
export const RETRY_JUNK_RESPONSE = 0x0004;
export const RETRY_RESPONSE_TIMEOUT = 0x0008;
export const RETRY_0RTT_REJECTED = 0x0010;
export const RETRY_401 = 0x0020;
export const RETRY_403 = 0x0040;
export const RETRY_404 = 0x0080;
export const RETRY_408 = 0x0100;
export const RETRY_425 = 0x0200;
export const RETRY_500 = 0x0400;
export const RETRY_501 = 0x0800;
export const RETRY_502 = 0x1000;
export const RETRY_503 = 0x2000;
export const RETRY_504 = 0x4000;
/** Every kind that replays a request the server may have received. */
export const RETRY_L7 = ~RETRY_CONN_FAILURE & 0x7fff;

const STATUS_BITS: Record<number, number> = {
  401: RETRY_401, 403: RETRY_403, 404: RETRY_404, 408: RETRY_408, 425: RETRY_425,
  500: RETRY_500, 501: RETRY_501, 502: RETRY_502, 503: RETRY_503, 504: RETRY_504,
};

const KEYWORD_BITS: Record<string, number> = {
  'none': 0,
  'conn-failure': RETRY_CONN_FAILURE,
  'empty-response': RETRY_EMPTY_RESPONSE,
  'junk-response': RETRY_JUNK_RESPONSE,
  'response-timeout': RETRY_RESPONSE_TIMEOUT,
  '0rtt-rejected': RETRY_0RTT_REJECTED,
  'all-retryable-errors': RETRY_CONN_FAILURE | RETRY_EMPTY_RESPONSE | RETRY_JUNK_RESPONSE | RETRY_RESPONSE_TIMEOUT |
    RETRY_0RTT_REJECTED | RETRY_500 | RETRY_502 | RETRY_503 | RETRY_504,
};

/** The retry-on bit of a response status, 0 when the status is not one retry-on can name. */
export function retryStatusBit(status: number): number {
  return STATUS_BITS[status] ?? 0;
}

/**
 * Whether retry number `retryNo` (1 = the first retry) of `retries` goes to
 * another server under `option redispatch <interval>` (HAProxy's
 * PR_O_REDISP with redispatch_after): every Nth retry for N > 0, the Nth
 * retry before the last for N < 0 (-1, the default: the last one).
 */
export function redispatchOnRetry(interval: number, retryNo: number, retries: number): boolean {
  if (interval === 0) return false;
  const every = interval > 0 ? interval : retries + 1 + interval;
  return every > 0 && retryNo % every === 0;
}

registerKeywords([
  {
    name: 'option redispatch',
    sections: ['defaults', 'backend', 'listen'],
    negatable: true,
    usage: '[no] option redispatch [<interval>]  let a retry go to another server (every <interval>th retry; -N: the Nth before the last, default -1)',
    parse(ctx: KeywordContext) {
      if (ctx.negated) {
        if (ctx.args.length > 0) return ctx.error("'no option redispatch' takes no argument");
        ctx.proxy!.redispatch = 0;
        return;
      }
      if (ctx.args.length > 1) return ctx.error(`unexpected argument '${ctx.args[1]}'; usage: option redispatch [<interval>]`);
      let n = -1;
      if (ctx.args.length === 1) {
        const v = parseInteger(ctx.args[0], 'redispatch interval', -1000, 1000);
        if (!v.ok) return ctx.error(v.error);
        n = v.value;
      }
      // HAProxy: an interval of 0 disables redispatching.
      ctx.proxy!.redispatch = n;
    },
  },
  {
    name: 'retry-on',
    sections: ['defaults', 'backend', 'listen'],
    usage: 'retry-on <kw>...  failures to retry: none, conn-failure (default), empty-response, junk-response, response-timeout, 0rtt-rejected, 401|403|404|408|425|500|501|502|503|504, all-retryable-errors',
    parse(ctx: KeywordContext) {
      if (ctx.args.length === 0) return ctx.error("missing argument; usage: retry-on <keyword> [<keyword>...]");
      let bits = 0;
      for (const w of ctx.args) {
        if (Object.hasOwn(KEYWORD_BITS, w)) {
          if (w === 'none' && ctx.args.length > 1) return ctx.error("'none' cannot be combined with other keywords");
          bits |= KEYWORD_BITS[w];
        } else if (/^\d+$/.test(w) && STATUS_BITS[Number(w)] !== undefined) {
          bits |= STATUS_BITS[Number(w)];
        } else {
          return ctx.error(`unknown keyword '${w}' (expected none, conn-failure, empty-response, junk-response, response-timeout, 0rtt-rejected, all-retryable-errors or one of the status codes ${Object.keys(STATUS_BITS).join(', ')})`);
        }
      }
      ctx.proxy!.retryOn = bits;
    },
  },
]);
