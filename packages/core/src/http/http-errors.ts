/**
 * Custom error pages beyond `errorfile` (configuration.txt 3.8 and 4.2):
 *
 *   http-errors <name>               a named set of pages
 *     errorfile <code> <file>
 *   errorfiles <name> [<code> ...]   import a set's pages (all or some) into a proxy
 *   http-error status <code> [content-type <type>]
 *     [ default-errorfiles | errorfile <file> | errorfiles <name> | file <file> |
 *       string <str> | lf-file <file> | lf-string <fmt> ]
 *     [ hdr <name> <fmt> ]*          a page built from its parts
 *
 * All of them end in the proxy's `errorFiles` (status → page), like
 * `errorfile`: in declaration order, a later one overriding an earlier one;
 * precedence between frontend, backend and defaults is errorReplyFor()'s.
 * Pages are complete and validated at load, except an `http-error` whose
 * body (lf-string, lf-file) or a header value holds a log-format: that one
 * goes to the proxy's `errorReplies` and is rendered for each response that
 * uses the page (HAProxy's HTTP_REPLY_LOGFMT reply in proxy->replies[]):
 * every error the proxy sends with that status, and rule replies with
 * `default-errorfiles` or a deny without a payload (http/reply.ts). Its
 * samples are compiled with the proxy's rules, for file:line errors.
 *
 * HAProxy writes these pages as http_reply_to_htx() builds them (checked
 * with haproxy 2.6.12): `HTTP/1.1 <code> <http_get_reason()>`, the `hdr`
 * fields in order (names lower-case, an empty value left out),
 * content-length, content-type when there is a body, then the body.
 */
import { registerKeywords, registerSection, PROXY_SECTIONS, type KeywordContext, type ParseState } from '../registry';
import type { ProxyConfig } from '../config/compiled';
import { readFileSync } from 'node:fs';
import { validateErrorFile, loadErrorFile, ERROR_STATUSES } from './errors';
import { isValidHeaderName, isValidHeaderValue } from './headers';
import { haproxyReason } from './actions';
import { compileLogFormat } from '../log/log-format';
import type { ErrorReplySource } from '../config/compiled';
import { registerProxyCompiler } from '../rules/rule-set';
import { compileErrorReplies } from './reply';

interface HttpErrorsSection {
  name: string;
  file: string;
  line: number;
  /** status → page (latin1), as errorFiles. */
  pages: Record<number, string>;
}

const NAME_RE = /^[A-Za-z0-9_.:-]+$/;

function sections(state: ParseState): Map<string, HttpErrorsSection> {
  let m = state.scratch.get('httpErrors') as Map<string, HttpErrorsSection> | undefined;
  if (!m) { m = new Map(); state.scratch.set('httpErrors', m); }
  return m;
}

registerSection({
  name: 'http-errors',
  open: () => undefined,
  proxyless(state, args, file, line) {
    const name = args[0];
    if (name === undefined || name === '') { state.diag.error(file, line, 'http-errors', `'http-errors' expects a name`); return false; }
    if (!NAME_RE.test(name)) { state.diag.error(file, line, 'http-errors', `invalid character in http-errors name '${name}'`); return false; }
    if (args.length > 1) { state.diag.error(file, line, 'http-errors', `unexpected argument '${args[1]}' after the section name`); return false; }
    const m = sections(state);
    const prev = m.get(name);
    if (prev) { state.diag.error(file, line, 'http-errors', `http-errors section '${name}' has the same name as the one declared at ${prev.file}:${prev.line}`); return false; }
    const sec: HttpErrorsSection = { name, file, line, pages: {} };
    m.set(name, sec);
    state.scratch.set('httpErrorsCurrent', sec);
    return true;
  },
});

/** `errorfile <code> <file>` inside an http-errors section (the proxy form is in errorfile-keywords.ts). */
export function sectionErrorfile(ctx: KeywordContext, code: number, bytes: Buffer): void {
  const sec = ctx.state.scratch.get('httpErrorsCurrent') as HttpErrorsSection | undefined;
  if (sec) sec.pages[code] = bytes.toString('latin1');
}

function statusOf(text: string | undefined): number | string {
  const code = text !== undefined && /^[0-9]{1,9}$/.test(text) ? Number(text) : NaN;
  if (!ERROR_STATUSES.includes(code)) return `status code '${text}' not handled (supported: ${ERROR_STATUSES.join(', ')})`;
  return code;
}

/** Pending `errorfiles` naming a section declared later: applied by finalizeHttpErrors(). */
interface PendingImport { proxy: ProxyConfig; name: string; codes: number[] | null; file: string; line: number }

function pending(state: ParseState): PendingImport[] {
  let l = state.scratch.get('httpErrorsPending') as PendingImport[] | undefined;
  if (!l) { l = []; state.scratch.set('httpErrorsPending', l); }
  return l;
}

function importPages(px: ProxyConfig, sec: HttpErrorsSection, codes: number[] | null): void {
  for (const k of Object.keys(sec.pages)) {
    const c = Number(k);
    if (codes === null || codes.includes(c)) setPage(px, c, sec.pages[c]);
  }
}

/** The page for `code` becomes `page` ('' sends nothing), replacing a per-request one. */
function setPage(px: ProxyConfig, code: number, page: string): void {
  (px.errorFiles ??= {})[code] = page;
  if (px.errorReplies !== undefined) delete px.errorReplies[code];
}

/** `http-errors` sections by name: status → page (CompiledConfig.httpErrors, `errorfiles <name>` in rule replies). */
export function httpErrorPages(state: ParseState): Record<string, Record<number, string>> {
  const out: Record<string, Record<number, string>> = {};
  for (const [name, sec] of sections(state)) out[name] = sec.pages;
  return out;
}

/** A body file (`file`, `lf-file`), at most one buffer (HAProxy: "exceeds the buffer size"). */
function fileText(path: string, bufsize: number): { ok: true; text: string } | { ok: false; reason: string } {
  try {
    const text = readFileSync(path, 'latin1');
    if (text.length > bufsize) return { ok: false, reason: `file '${path}' exceeds the buffer size (${text.length} > ${bufsize})` };
    return { ok: true, text };
  } catch (e) {
    return { ok: false, reason: `error opening file '${path}' (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
  }
}

registerKeywords([
  {
    name: 'errorfiles', sections: PROXY_SECTIONS, usage: 'errorfiles <name> [<code> ...]  import the pages of an http-errors section',
    parse(ctx) {
      const [name, ...rest] = ctx.args;
      if (name === undefined || name === '') return ctx.error(`expects <name> as argument (an http-errors section)`);
      const codes: number[] = [];
      for (const w of rest) {
        const c = statusOf(w);
        if (typeof c === 'string') return ctx.error(c);
        codes.push(c);
      }
      const sec = sections(ctx.state).get(name);
      if (sec) return importPages(ctx.proxy!, sec, codes.length ? codes : null);
      pending(ctx.state).push({ proxy: ctx.proxy!, name, codes: codes.length ? codes : null, file: ctx.file, line: ctx.line });
    },
  },
  {
    name: 'http-error', sections: PROXY_SECTIONS,
    usage: 'http-error status <code> [content-type <type>] [ default-errorfiles | errorfile <file> | errorfiles <name> | file <file> | string <str> | lf-file <file> | lf-string <fmt> ] [ hdr <name> <fmt> ]*',
    parse(ctx) {
      const a = ctx.args;
      if (a[0] !== 'status') return ctx.error(`expects 'status <code>' first`);
      const code = statusOf(a[1]);
      if (typeof code === 'string') return ctx.error(code);
      let ctype: string | null = null;
      let payload: string | null = null;
      let body: string | null = null;
      let lf = false;
      let page: string | null | undefined;
      const hdrs: Array<[string, string]> = [];
      /** A header value or the body holds a log-format: the page is rendered per request. */
      let dynamic = false;
      for (let i = 2; i < a.length;) {
        const w = a[i];
        if (w === 'content-type') {
          if (a[i + 1] === undefined || !isValidHeaderValue(a[i + 1])) return ctx.error(`'content-type' expects a valid <type>`);
          ctype = a[i + 1]; i += 2; continue;
        }
        if (w === 'hdr') {
          const n = a[i + 1], v = a[i + 2];
          if (n === undefined || v === undefined || n === '' || v === '') return ctx.error(`'hdr' expects <name> and <value> as arguments`);
          const ln = n.toLowerCase();
          if (ln === 'content-length' || ln === 'transfer-encoding' || ln === 'content-type') {
            ctx.warn(`header '${n}' always ignored by the http reply.`);
            i += 3; continue;
          }
          if (!isValidHeaderName(n)) return ctx.error(`'hdr' : invalid header name '${n}'`);
          const f = checkFormat(v, true);
          if (f !== null) return ctx.error(`'hdr ${n}' : ${f}`);
          if (v.includes('%')) dynamic = true;
          hdrs.push([n, v]);
          i += 3; continue;
        }
        if (w === 'default-errorfiles' || w === 'errorfile' || w === 'errorfiles' || w === 'file' || w === 'string' || w === 'lf-file' || w === 'lf-string') {
          if (payload !== null) return ctx.error(`unexpected '${w}' argument, '${payload}' already defined`);
          payload = w;
          if (w === 'default-errorfiles') { page = null; i += 1; continue; }
          const v = a[i + 1];
          if (v === undefined || v === '') return ctx.error(`'${w}' expects an argument`);
          if (w === 'errorfile') {
            const r = loadErrorFile(v, ctx.state.global.bufsize);
            if (!r.ok) return ctx.error(r.reason);
            page = r.bytes.toString('latin1');
          } else if (w === 'errorfiles') {
            const sec = sections(ctx.state).get(v);
            if (!sec) return ctx.error(`unable to find http-errors section '${v}' (declare it before use)`);
            // Not in the section: the proxy's pages stay (HAProxy).
            if (sec.pages[code] === undefined) return;
            page = sec.pages[code];
          } else if (w === 'file' || w === 'lf-file') {
            const t = fileText(v, ctx.state.global.bufsize);
            if (!t.ok) return ctx.error(t.reason);
            body = t.text;
          } else {
            body = v;
          }
          if (w === 'lf-file' || w === 'lf-string') {
            const f = checkFormat(body!);
            if (f !== null) return ctx.error(`'${w}' : ${f}`);
            lf = true;
          }
          i += 2; continue;
        }
        return ctx.error(`unknown argument '${w}'`);
      }
      const px = ctx.proxy!;
      if (page === null) {
        if (px.errorFiles) delete px.errorFiles[code];
        if (px.errorReplies) delete px.errorReplies[code];
        return;
      }
      if (page !== undefined) {
        // An errorfile: its own fields only (HAProxy ignores hdr and content-type then).
        if (hdrs.length > 0) ctx.warn('hdr parameters ignored by the http reply when used with an errorfile.');
        return setPage(px, code, page);
      }
      if (lf) {
        if (ctype === null) return ctx.error('a content type must be defined with a log-format payload');
        dynamic = true;
      } else if ((body ?? '').length > 0 && ctype === null) {
        return ctx.error('a content type must be defined when non-empty payload is configured');
      }
      if (dynamic) {
        const src: ErrorReplySource = {
          file: ctx.file, line: ctx.line, status: code, contentType: ctype, body: body !== null && body.length > 0 ? body : null, lf, headers: hdrs,
        };
        if (src.body === null) src.contentType = null;
        (px.errorReplies ??= {})[code] = src;
        if (px.errorFiles) delete px.errorFiles[code];
        return;
      }
      const b = body ?? '';
      let text = `HTTP/1.1 ${code} ${haproxyReason(code)}\r\n`;
      for (const [n, v] of hdrs) text += `${n.toLowerCase()}: ${v}\r\n`;
      text += `content-length: ${b.length}\r\n`;
      if (b.length > 0) text += `content-type: ${ctype}\r\n`;
      text += '\r\n' + b;
      const v = validateErrorFile(Buffer.from(text, 'latin1'), ctx.state.global.bufsize);
      if (!v.ok) return ctx.error(v.reason);
      setPage(px, code, v.bytes.toString('latin1'));
    },
  },
]);

/**
 * A log-format's syntax, checked while parsing (`%[...]` samples are
 * compiled later with the rules, when every proxy is known): an error text
 * or null.
 */
function checkFormat(text: string, field = false): string | null {
  const r = compileLogFormat(text, { http: true, rule: true, skipSamples: true });
  if (!r.ok) return r.error;
  // A header value's literal text must be a field value (samples are escaped when rendered).
  if (field) for (const t of r.fmt.texts) if (!isValidHeaderValue(t)) return 'invalid header value';
  return null;
}

// Per-request pages are compiled with the proxy's rules (samples need every proxy known).
registerProxyCompiler(compileErrorReplies);

/** After parsing: `errorfiles` naming a section declared later. */
export function finalizeHttpErrors(state: ParseState): void {
  const m = sections(state);
  for (const p of pending(state)) {
    const sec = m.get(p.name);
    if (!sec) { state.diag.error(p.file, p.line, 'errorfiles', `unable to find http-errors section '${p.name}'`); continue; }
    importPages(p.proxy, sec, p.codes);
  }
}
