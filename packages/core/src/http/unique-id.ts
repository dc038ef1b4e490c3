/**
 * `unique-id-format <fmt>` and `unique-id-header <name>`
 * (configuration.txt 4.2): an identifier built per request from a
 * log-format string, sent to the server in <name> and logged as `%ID`.
 *
 * The format is checked at its line and compiled once per worker with the
 * log-format compiler (log/log-format.ts). HAProxy 2.6 builds the ID in
 * http_process_request (after the http-request rules, before
 * X-Forwarded-For), from the frontend's format, with HTTP variables allowed;
 * a request that never gets there (a denied one) gets its ID when it is
 * logged, from the log-time values (strm_log). The ID is at most
 * UNIQUEID_LEN - 1 = 127 characters. Without a format, unique-id-header does
 * nothing.
 */
import { registerKeywords, type KeywordContext } from '../registry';
import type { ProxyConfig } from '../config/compiled';
import { compileLogFormat, renderLogFormat, type CompiledLogFormat, type LogRecord } from '../log/log-format';
import type { CompileEnv, SampleContext } from '../rules/sample';
import { isValidHeaderName, isValidHeaderValue, type HeaderList } from './headers';

/** HAProxy's UNIQUEID_LEN (128) minus the terminating NUL. */
const UNIQUEID_MAX = 127;

/** A frontend's unique-id settings, compiled. */
export class UniqueIdFormat {
  constructor(readonly fmt: CompiledLogFormat, readonly header: string | null) {}
}

/** Compiled from the frontend's config, null without a format. */
export function uniqueIdFormat(cfg: ProxyConfig, env?: CompileEnv): UniqueIdFormat | null {
  if (cfg.uniqueIdFormat === null) return null;
  const c = compileLogFormat(cfg.uniqueIdFormat, { http: true, env });
  // Checked by the master at parse time: a failure cannot happen here.
  return c.ok ? new UniqueIdFormat(c.fmt, cfg.uniqueIdHeader) : null;
}

export function renderUniqueId(u: UniqueIdFormat, rec: LogRecord, ctx?: SampleContext): string {
  const id = renderLogFormat(u.fmt, rec, ctx);
  return id.length > UNIQUEID_MAX ? id.slice(0, UNIQUEID_MAX) : id;
}

/** Sends the ID in the configured header, if any. */
export function addUniqueIdHeader(u: UniqueIdFormat, headers: HeaderList, id: string): void {
  // The format's output is the proxy's own text; a value a header cannot
  // carry (not possible with the variables we have) is not sent.
  if (u.header !== null && isValidHeaderValue(id)) headers.add(u.header, id);
}

function oneArgument(ctx: KeywordContext): string | undefined {
  if (ctx.args.length === 0 || ctx.args[0] === '') { ctx.error(`${ctx.keyword} expects an argument.`); return undefined; }
  if (ctx.args.length > 1) { ctx.error(`${ctx.keyword} expects only one argument, don't forget to escape spaces!`); return undefined; }
  return ctx.args[0];
}

registerKeywords([
  {
    name: 'unique-id-format',
    sections: ['defaults', 'frontend', 'listen'],
    usage: 'unique-id-format <log-format>  build an ID for each request (logged as %ID)',
    parse(ctx) {
      const fmt = oneArgument(ctx);
      if (fmt === undefined) return;
      const c = compileLogFormat(fmt, { http: true, skipSamples: true });
      if (!c.ok) return ctx.error(`failed to parse unique-id : ${c.error}.`);
      ctx.proxy!.uniqueIdFormat = fmt;
    },
  },
  {
    name: 'unique-id-header',
    sections: ['defaults', 'frontend', 'listen'],
    usage: 'unique-id-header <name>  send the unique-id-format ID to the server in header <name>',
    parse(ctx) {
      const name = oneArgument(ctx);
      if (name === undefined) return;
      if (!isValidHeaderName(name)) return ctx.error(`invalid header name '${name}' (letters, digits and !#$%&'*+-.^_\`|~ only)`);
      ctx.proxy!.uniqueIdHeader = name;
    },
  },
]);
