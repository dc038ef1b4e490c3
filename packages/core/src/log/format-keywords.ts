/**
 * Log format keywords: `log-format <fmt>` and `[no] option httplog [clf]`
 * (`option tcplog` is registered in log/keywords.ts; finalizeLogFormats()
 * turns it into its format string).
 *
 * HAProxy 2.6 keeps one format string per proxy and the last directive wins
 * (cfgparse-listen.c). Here `option tcplog` only sets options.tcplog, so
 * log-format and option httplog clear that flag: whichever came last is then
 * the one left standing, inherited from defaults included.
 */
import { PROXY_SECTIONS, registerKeywords, type KeywordContext, type ParseState } from '../registry';
import type { ProxyConfig } from '../config/compiled';
import { compileLogFormat, TCPLOG_FORMAT, HTTPLOG_FORMAT, CLFLOG_FORMAT } from './log-format';
import { patternFileReader } from '../rules/keywords';
import { AT_LOG } from '../rules/sample';

/** Where a proxy's format was declared, for messages given after parsing (HAProxy's lfs_file/lfs_line). */
type Origins = Map<ProxyConfig, { file: string; line: number }>;

function origins(state: ParseState): Origins {
  let m = state.scratch.get('log-format') as Origins | undefined;
  if (!m) { m = new Map(); state.scratch.set('log-format', m); }
  return m;
}

function directiveName(p: ProxyConfig): string {
  if (p.options.tcplog) return 'option tcplog';
  if (p.logFormat === HTTPLOG_FORMAT) return 'option httplog';
  if (p.logFormat === CLFLOG_FORMAT) return 'option httplog clf';
  return 'log-format';
}

/** Stores a format, with HAProxy's warnings for a defaults override and a backend. */
function setFormat(ctx: KeywordContext, fmt: string, what: string): void {
  const p = ctx.proxy!;
  if (ctx.section === 'defaults' && (p.logFormat != null || p.options.tcplog)) {
    ctx.warn(`'${what}' overrides previous '${directiveName(p)}' in 'defaults' section.`);
  }
  p.logFormat = fmt;
  p.options.tcplog = false;
  origins(ctx.state).set(p, { file: ctx.file, line: ctx.line });
  if (ctx.section === 'backend') ctx.warn(`backend '${p.name}' : '${what}' directive is ignored in backends.`);
}

function parseLogFormatKeyword(ctx: KeywordContext): void {
  if (!ctx.proxy) return;
  if (ctx.args.length === 0) return ctx.error(`'log-format' expects an argument.`);
  if (ctx.args.length > 1) return ctx.error(`'log-format' expects only one argument, don't forget to escape spaces!`);
  // Syntax and variable names are checked here, at the line; HTTP-only
  // variables are checked once the proxy's mode is known (finalizeLogFormats).
  const c = compileLogFormat(ctx.args[0], { http: true, skipSamples: true });
  if (!c.ok) return ctx.error(`failed to parse log-format : ${c.error}.`);
  setFormat(ctx, ctx.args[0], 'log-format');
}

function parseOptionHttplog(ctx: KeywordContext): void {
  if (!ctx.proxy) return;
  if (ctx.negated) return ctx.error(`negation/default is not supported for option 'httplog'`);
  let fmt = HTTPLOG_FORMAT;
  if (ctx.args.length > 0) {
    if (ctx.args[0] !== 'clf') return ctx.error(`keyword 'httplog' only supports option 'clf'.`);
    if (ctx.args.length > 1) return ctx.error(`cannot handle unexpected argument '${ctx.args[1]}'`);
    fmt = CLFLOG_FORMAT;
  }
  setFormat(ctx, fmt, fmt === CLFLOG_FORMAT ? 'option httplog clf' : 'option httplog');
}

/**
 * After parsing (HAProxy's check_config_validity): a proxy without frontend
 * capability keeps no format; `option tcplog` becomes its format string;
 * `option httplog` in a TCP proxy falls back to tcplog with HAProxy's warning;
 * HTTP-only variables in a TCP proxy are errors. Afterwards
 * `ProxyConfig.logFormat` is the one thing the engine needs.
 */
export function finalizeLogFormats(state: ParseState): void {
  const own = origins(state);
  for (const p of state.proxies) {
    if (!p.cap.fe) { p.logFormat = null; p.options.tcplog = false; continue; }
    if (p.options.tcplog) { p.logFormat = TCPLOG_FORMAT; continue; }
    if (p.logFormat === null || p.logFormat === undefined) continue;
    const where = own.get(p) ?? inheritedOrigin(state, p) ?? { file: p.file, line: p.line };
    const kind = p.cap.be ? 'proxy' : 'frontend';
    if (p.mode !== 'http' && (p.logFormat === HTTPLOG_FORMAT || p.logFormat === CLFLOG_FORMAT)) {
      state.diag.warn(where.file, where.line, 'option httplog', `'option httplog' not usable with ${kind} '${p.name}' (needs 'mode http'). Falling back to 'option tcplog'.`);
      p.logFormat = TCPLOG_FORMAT;
      p.options.tcplog = true;
      continue;
    }
    // Sample expressions are compiled here, names being known (the worker compiles them again).
    const env = { proxy: p, proxies: state.proxies, file: patternFileReader(state).read, at: AT_LOG, where: 'log-format' };
    const c = compileLogFormat(p.logFormat, { http: p.mode === 'http', env });
    if (!c.ok) state.diag.error(where.file, where.line, 'log-format', `failed to parse log-format : ${c.error}.`);
  }
}

/** The defaults section a proxy got its format from (the last one declaring that same string). */
function inheritedOrigin(state: ParseState, p: ProxyConfig): { file: string; line: number } | undefined {
  const own = origins(state);
  for (let i = state.defaults.length - 1; i >= 0; i--) {
    const d = state.defaults[i];
    if (d.logFormat === p.logFormat && own.has(d)) return own.get(d);
  }
  return undefined;
}

const FE_SECTIONS = PROXY_SECTIONS;

registerKeywords([
  {
    name: 'log-format',
    sections: FE_SECTIONS,
    usage: 'log-format <format>',
    parse: parseLogFormatKeyword,
  },
  {
    name: 'option httplog',
    sections: FE_SECTIONS,
    negatable: true,
    usage: 'option httplog [clf]',
    parse: parseOptionHttplog,
  },
]);
