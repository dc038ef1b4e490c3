/**
 * `capture request header <name> len <length>` and
 * `capture response header <name> len <length>` (configuration.txt 4.2):
 * the value of the last occurrence of each named header, cut to <length>
 * characters, shown in the log between braces (`%hr`/`%hs`, `%hrl`/`%hsl`,
 * httplog's `{a|b}` blocks) in declaration order; a missing header is empty.
 *
 * As in HAProxy 2.6: captures belong to the frontend (not allowed in
 * defaults nor backends, so every request of a frontend logs the same
 * blocks); request headers are captured as received, before any rule or
 * header rewrite (http_wait_for_request step 5), response headers as the
 * server sent them (http_wait_for_response step 3). A request answered by the
 * mux before a stream exists (unparsable request, `timeout http-request`)
 * logs no blocks at all.
 */
import { registerKeywords, type KeywordContext } from '../registry';
import type { CaptureConfig } from '../config/compiled';
import type { HeaderList } from './headers';
import { parseInteger } from '../config/args';

/** One frontend's captures of one direction, ready for the request path. */
export class CaptureList {
  /** Lower-case names, for HeaderList.nameIs(). */
  readonly names: readonly string[];
  readonly lens: readonly number[];
  constructor(caps: readonly CaptureConfig[]) {
    this.names = caps.map(c => c.name.toLowerCase());
    this.lens = caps.map(c => c.len);
  }
  get count(): number { return this.names.length; }
}

/** Fill `out` (one slot per capture, null = not seen) from `headers`: the last occurrence wins. */
export function captureHeaders(caps: CaptureList, headers: HeaderList, out: (string | null)[]): void {
  const names = caps.names, lens = caps.lens;
  for (let k = 0; k < names.length; k++) out[k] = null;
  for (let i = 0; i < headers.count; i++) {
    for (let k = 0; k < names.length; k++) {
      // '' : a slot for `http-request capture` / `declare capture`, filled by rules.
      if (names[k] === '' || !headers.nameIs(i, names[k])) continue;
      const v = headers.value(i);
      out[k] = v.length > lens[k] ? v.slice(0, lens[k]) : v;
    }
  }
}

function parseCapture(ctx: KeywordContext, dir: 'request' | 'response'): void {
  const [what, name, lenWord, lenText, extra] = ctx.args;
  if (what !== 'header') return ctx.error(`'capture' expects 'cookie' or 'request header' or 'response header'.`);
  if (extra !== undefined) return ctx.error(`'capture ${dir}' cannot handle unexpected argument '${extra}'.`);
  if (name === undefined || name === '' || lenWord !== 'len' || lenText === undefined || lenText === '') {
    return ctx.error(`'capture ${dir}' expects 'header' <header_name> 'len' <len>.`);
  }
  // HAProxy takes atol() of anything; a length that is not a number is refused here.
  const len = parseInteger(lenText, 'len', 0, 0x7fffffff);
  if (!len.ok) return ctx.error(`invalid length '${lenText}' for header '${name}' (expects an integer from 0 to 2147483647)`);
  const p = ctx.proxy!;
  (dir === 'request' ? p.reqCaptures : p.resCaptures).push({ name, len: len.value });
}

registerKeywords([
  {
    name: 'declare capture',
    sections: ['frontend', 'listen'],
    usage: 'declare capture request|response len <length>  a capture slot for http-request/http-response capture ... id <n>',
    parse(ctx) {
      const [dir, lenWord, lenText, extra] = ctx.args;
      if ((dir !== 'request' && dir !== 'response') || lenWord !== 'len' || lenText === undefined || extra !== undefined) {
        return ctx.error(`'declare capture' expects 'request' or 'response' then 'len' <length>`);
      }
      const len = parseInteger(lenText, 'len', 1, 0x7fffffff);
      if (!len.ok) return ctx.error(`invalid length '${lenText}'`);
      const p = ctx.proxy!;
      (dir === 'request' ? p.reqCaptures : p.resCaptures).push({ name: '', len: len.value });
    },
  },
  {
    name: 'capture request',
    sections: ['frontend', 'listen'],
    usage: 'capture request header <name> len <length>  log the last value of request header <name> (first <length> characters) in the {…} block',
    parse: ctx => parseCapture(ctx, 'request'),
  },
  {
    name: 'capture response',
    sections: ['frontend', 'listen'],
    usage: 'capture response header <name> len <length>  log the last value of response header <name> (first <length> characters) in the second {…} block',
    parse: ctx => parseCapture(ctx, 'response'),
  },
]);
