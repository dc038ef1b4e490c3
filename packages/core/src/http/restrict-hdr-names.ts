/**
 * `option http-restrict-req-hdr-names preserve|delete|reject`
 * (configuration.txt 4.2): request header names with a character outside
 * [A-Za-z0-9-] are kept (default), removed, or make the request fail with
 * 403. Servers such as FastCGI ones map '_' and '-' to the same name, so
 * `X_Forwarded-For` could pass for `X-Forwarded-For`.
 *
 * HAProxy 2.6 applies it per proxy after the http-request rules
 * (http_process_req_common): the frontend's setting, then the backend's
 * when the backend is another proxy; a reject is a deny (403 with the
 * proxy's errorfile, `PR--` in the log, denied request counters).
 */
import { registerKeywords, PROXY_SECTIONS, type KeywordContext } from '../registry';
import type { ProxyConfig } from '../config/compiled';
import type { HeaderList } from './headers';

export const RESTRICT_PRESERVE = 0;
export const RESTRICT_DELETE = 1;
export const RESTRICT_REJECT = 2;

export function restrictMode(cfg: ProxyConfig): number {
  const m = cfg.restrictReqHdrNames;
  return m === 'reject' ? RESTRICT_REJECT : m === 'delete' ? RESTRICT_DELETE : RESTRICT_PRESERVE;
}

/** 1 for [A-Za-z0-9-]. */
const ALLOWED = new Uint8Array(256);
for (let c = 0x30; c <= 0x39; c++) ALLOWED[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) ALLOWED[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) ALLOWED[c] = 1;
ALLOWED[0x2d] = 1;

function nameAllowed(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c > 0xff || ALLOWED[c] === 0) return false;
  }
  return true;
}

/**
 * Apply `mode` (RESTRICT_*) to a request's fields. Returns false when the
 * request must be rejected (nothing is removed then).
 */
export function restrictHeaderNames(mode: number, headers: HeaderList): boolean {
  if (mode === RESTRICT_PRESERVE) return true;
  for (let i = headers.count - 1; i >= 0; i--) {
    if (nameAllowed(headers.name(i))) continue;
    if (mode === RESTRICT_REJECT) return false;
    headers.removeAt(i);
  }
  return true;
}

function parseRestrict(ctx: KeywordContext): void {
  const usage = `option 'http-restrict-req-hdr-names' expects 'preserve', 'reject' or 'delete' option.`;
  const v = ctx.args[0];
  if (v === undefined) return ctx.error(`missing parameter. ${usage}`);
  if (ctx.args.length > 1) return ctx.error(`'option' cannot handle unexpected argument '${ctx.args[1]}'.`);
  if (v !== 'preserve' && v !== 'delete' && v !== 'reject') return ctx.error(`invalid parameter '${v}'. ${usage}`);
  ctx.proxy!.restrictReqHdrNames = v;
}

registerKeywords([
  {
    name: 'option http-restrict-req-hdr-names',
    sections: PROXY_SECTIONS,
    usage: 'option http-restrict-req-hdr-names preserve|delete|reject  request header names outside [A-Za-z0-9-]: keep (default), remove, or refuse the request with 403',
    parse: parseRestrict,
  },
]);
