/**
 * Custom error pages beyond `errorfile` (configuration.txt 3.8 and 4.2):
 *
 *   http-errors <name>               a named set of pages
 *     errorfile <code> <file>
 *   errorfiles <name> [<code> ...]   import a set's pages (all or some) into a proxy
 *   http-error status <code> [content-type <type>]
 *     [ default-errorfiles | errorfile <file> | errorfiles <name> | file <file> | string <str> ]
 *     [ hdr <name> <value> ]*        a page built from its parts
 *
 * All of them end in the proxy's `errorFiles` (status → page), like
 * `errorfile`: in declaration order, a later one overriding an earlier one;
 * precedence between frontend, backend and defaults is errorReplyFor()'s.
 * Pages are complete and validated at load; the forms HAProxy renders per
 * request (lf-string, lf-file, hdr values with %-variables) are refused with
 * a clear error rather than sent wrong.
 */
import { registerKeywords, registerSection, PROXY_SECTIONS, type KeywordContext, type ParseState } from '../registry';
import type { ProxyConfig } from '../config/compiled';
import { readFileSync } from 'node:fs';
import { validateErrorFile, loadErrorFile, ERROR_STATUSES } from './errors';
import { isValidHeaderName, isValidHeaderValue } from './headers';
import { reasonFor } from './reply';

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
    if (codes === null || codes.includes(c)) (px.errorFiles ??= {})[c] = sec.pages[c];
  }
}

function fileText(path: string): { ok: true; text: string } | { ok: false; reason: string } {
  try {
    return { ok: true, text: readFileSync(path, 'latin1') };
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
    usage: 'http-error status <code> [content-type <type>] [ default-errorfiles | errorfile <file> | errorfiles <name> | file <file> | string <str> ] [ hdr <name> <value> ]*',
    parse(ctx) {
      const a = ctx.args;
      if (a[0] !== 'status') return ctx.error(`expects 'status <code>' first`);
      const code = statusOf(a[1]);
      if (typeof code === 'string') return ctx.error(code);
      let ctype: string | null = null;
      let payload: string | null = null;
      let body: string | null = null;
      let page: string | null | undefined;
      const hdrs: Array<[string, string]> = [];
      for (let i = 2; i < a.length;) {
        const w = a[i];
        if (w === 'content-type') {
          if (a[i + 1] === undefined || !isValidHeaderValue(a[i + 1])) return ctx.error(`'content-type' expects a valid <type>`);
          ctype = a[i + 1]; i += 2; continue;
        }
        if (w === 'hdr') {
          const n = a[i + 1], v = a[i + 2];
          if (n === undefined || v === undefined) return ctx.error(`'hdr' expects <name> and <value> as arguments`);
          if (!isValidHeaderName(n)) return ctx.error(`'hdr' : invalid header name '${n}'`);
          if (v.includes('%')) return ctx.error(`'hdr ${n}' : log-format values in http-error are not supported by Switchyard yet (use a constant value)`);
          if (!isValidHeaderValue(v)) return ctx.error(`'hdr ${n}' : invalid header value`);
          const ln = n.toLowerCase();
          if (ln === 'content-length' || ln === 'transfer-encoding' || ln === 'content-type') ctx.warn(`header '${n}' always ignored by the http reply.`);
          else hdrs.push([n, v]);
          i += 3; continue;
        }
        if (w === 'lf-string' || w === 'lf-file') return ctx.error(`'${w}' in http-error is not supported by Switchyard yet (pages are built at load time)`);
        if (w === 'default-errorfiles' || w === 'errorfile' || w === 'errorfiles' || w === 'file' || w === 'string') {
          if (payload !== null) return ctx.error(`unexpected '${w}' argument, '${payload}' already defined`);
          payload = w;
          if (w === 'default-errorfiles') { page = null; i += 1; continue; }
          const v = a[i + 1];
          if (v === undefined) return ctx.error(`'${w}' expects an argument`);
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
          } else if (w === 'file') {
            const t = fileText(v);
            if (!t.ok) return ctx.error(t.reason);
            body = t.text;
          } else {
            body = v;
          }
          i += 2; continue;
        }
        return ctx.error(`unknown argument '${w}'`);
      }
      const px = ctx.proxy!;
      if (page === null) { if (px.errorFiles) delete px.errorFiles[code]; return; }
      if (page === undefined) {
        const b = body ?? '';
        if (b.length > 0 && ctype === null) return ctx.error('a content type must be defined when non-empty payload is configured');
        let text = `HTTP/1.1 ${code} ${reasonFor(code)}\r\n`;
        if (b.length > 0) text += `content-type: ${ctype}\r\n`;
        text += `content-length: ${b.length}\r\n`;
        for (const [n, v] of hdrs) text += `${n}: ${v}\r\n`;
        text += '\r\n' + b;
        const v = validateErrorFile(Buffer.from(text, 'latin1'), ctx.state.global.bufsize);
        if (!v.ok) return ctx.error(v.reason);
        page = v.bytes.toString('latin1');
      }
      (px.errorFiles ??= {})[code] = page;
    },
  },
]);

/** After parsing: `errorfiles` naming a section declared later. */
export function finalizeHttpErrors(state: ParseState): void {
  const m = sections(state);
  for (const p of pending(state)) {
    const sec = m.get(p.name);
    if (!sec) { state.diag.error(p.file, p.line, 'errorfiles', `unable to find http-errors section '${p.name}'`); continue; }
    importPages(p.proxy, sec, p.codes);
  }
}
