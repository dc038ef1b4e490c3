/**
 * Global tuning keywords of the HTTP layer: `tune.bufsize` and
 * `tune.http.maxhdr` (src/cfgparse-global.c). What they limit is computed in
 * ./limits.ts when the configuration is compiled.
 *
 * Matching haproxy 2.6.12 (`haproxy -c`): bufsize is rounded up to a
 * multiple of 16, 0 or negative is refused ("expects a positive integer
 * argument"); maxhdr must be 1..32767. Stricter: both must be plain decimal
 * integers (HAProxy's atol/atoi take "16k" as 16 and "1x" as 1).
 */
import { registerKeywords, type KeywordContext, type ParseState } from '../registry';
import type { SourceRef } from '../config/compiled';
import { parseInteger } from '../config/args';
import { roundBufsize, h1LimitsFor } from './limits';
import { builtinPageProblem } from './errors';

/** Fewest fields in a built-in page (400 and 408 have 4): maxhdr must exceed it. */
const BUILTIN_PAGE_FIELDS = 4;

function oneArg(ctx: KeywordContext, usage: string): string | undefined {
  if (ctx.args.length === 0 || ctx.args[0] === '') { ctx.error(`'${ctx.keyword}' expects an integer argument; usage: ${usage}`); return undefined; }
  if (ctx.args.length > 1) { ctx.error(`unexpected argument '${ctx.args[1]}'; usage: ${usage}`); return undefined; }
  return ctx.args[0];
}

registerKeywords([
  {
    name: 'tune.bufsize', sections: ['global'],
    usage: 'tune.bufsize <number>  buffer size in bytes (default 16384, rounded up to a multiple of 16): a request head larger than about bufsize − 1024 gets 400, a response head 502',
    parse(ctx) {
      const text = oneArg(ctx, 'tune.bufsize <number>');
      if (text === undefined) return;
      const v = parseInteger(text, 'tune.bufsize', -0x80000000, 0x7fffffff);
      if (!v.ok) return ctx.error(v.error);
      if (v.value <= 0) return ctx.error(`'tune.bufsize' expects a positive integer argument`);
      ctx.state.global.bufsize = roundBufsize(v.value);
      ctx.state.scratch.set('tune.bufsize', { file: ctx.file, line: ctx.line });
    },
  },
  {
    name: 'tune.http.maxhdr', sections: ['global'],
    usage: 'tune.http.maxhdr <number>  maximum number of header lines of a message, start line included (default 101, 1..32767): more gives 400 (502 for a response)',
    parse(ctx) {
      const text = oneArg(ctx, 'tune.http.maxhdr <number>');
      if (text === undefined) return;
      const v = parseInteger(text, 'tune.http.maxhdr', 1, 32767);
      if (!v.ok) return ctx.error(`'tune.http.maxhdr' expects a numeric value between 1 and 32767 (${v.error})`);
      ctx.state.global.maxHttpHdr = v.value;
      ctx.state.scratch.set('tune.http.maxhdr', { file: ctx.file, line: ctx.line });
    },
  },
]);

/**
 * At compile: the parser's limits, and HAProxy's start-up check that its
 * built-in error pages fit (haproxy 2.6.12 refuses `tune.bufsize 256` and
 * `tune.http.maxhdr 4`: "invalid default message for HTTP return code 400").
 */
export function compileHttpLimits(state: ParseState): void {
  const g = state.global;
  g.h1Limits = h1LimitsFor(g.bufsize, g.maxHttpHdr);
  const at = (k: string): SourceRef => (state.scratch.get(k) as SourceRef | undefined) ?? { file: '', line: 0 };
  const p = builtinPageProblem(g.bufsize);
  if (p !== undefined) {
    const { file, line } = at('tune.bufsize');
    state.diag.error(file, line, 'tune.bufsize', `${g.bufsize} is too small: invalid default message for HTTP return code ${p.status}: ${p.reason}`);
  }
  if (g.maxHttpHdr <= BUILTIN_PAGE_FIELDS) {
    const { file, line } = at('tune.http.maxhdr');
    state.diag.error(file, line, 'tune.http.maxhdr', `${g.maxHttpHdr} is too small: the built-in error pages for 400 and 408 have ${BUILTIN_PAGE_FIELDS} header fields (at least ${BUILTIN_PAGE_FIELDS + 1} is needed)`);
  }
}
