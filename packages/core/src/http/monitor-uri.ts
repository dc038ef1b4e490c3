/**
 * `monitor-uri <uri>` (configuration.txt 4.2): a request for <uri> is
 * answered by the proxy itself with HAProxy's 200 page (the frontend's
 * `errorfile 200` when it has one) and never forwarded.
 *
 * HAProxy 2.6 (http_wait_for_request, step 2) checks it first, before
 * captures and any rule; when <uri> starts with '/' it is compared with the
 * request's path (for an absolute-form target: what follows the authority,
 * query string included), else with the request-target as received; the
 * comparison is exact. Monitor requests are not logged (SF_MONITOR), and the
 * connection stays open afterwards when the client keeps it alive and the
 * request has no body (verified with haproxy 2.6.12).
 */
import { registerKeywords, type ParseState } from '../registry';
import { type RequestHead, TARGET_ORIGIN, TARGET_ABSOLUTE } from './h1';

/** Whether request `h` asks for monitor URI `uri`. */
export function isMonitorRequest(uri: string, h: RequestHead): boolean {
  const target = h.target;
  if (target === uri) return true;
  if (uri.charCodeAt(0) !== 47 /* / */) return false;
  if (h.targetForm === TARGET_ORIGIN) return false; // the whole target is the path: already compared
  if (h.targetForm !== TARGET_ABSOLUTE) return false;
  const ps = h._ps - h._ts;
  return ps < target.length && target.length - ps === uri.length && target.endsWith(uri);
}

/** HAProxy (proxy_cfg_ensure_no_http): ignored, with a warning, outside `mode http`; only frontends keep it. */
export function finalizeMonitorUri(state: ParseState): void {
  for (const p of state.proxies) {
    if (p.monitorUri === null) continue;
    if (!p.cap.fe) { p.monitorUri = null; continue; }
    if (p.mode !== 'http') {
      if (!p.disabled) state.diag.warn(p.file, p.line, '', `monitor-uri will be ignored for ${p.cap.be ? 'listen' : 'frontend'} '${p.name}' (needs 'mode http').`);
      p.monitorUri = null;
    }
  }
}

registerKeywords([
  {
    name: 'monitor-uri',
    sections: ['defaults', 'frontend', 'listen'],
    usage: "monitor-uri <uri>  answer requests for <uri> with 200 (HAProxy's page) without forwarding or logging them",
    parse(ctx) {
      if (ctx.args.length === 0 || ctx.args[0] === '') return ctx.error(`'monitor-uri' expects an URI.`);
      if (ctx.args.length > 1) return ctx.error(`'monitor-uri' cannot handle unexpected argument '${ctx.args[1]}'.`);
      ctx.proxy!.monitorUri = ctx.args[0];
    },
  },
]);
