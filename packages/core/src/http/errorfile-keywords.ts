/**
 * `errorfile <code> <file>`: replace HAProxy's built-in page for <code>.
 * The file is read and validated while the configuration is parsed (like
 * HAProxy, which keeps it in memory: later changes to the file are not seen,
 * and workers never read it). Precedence at run time: http/errors.ts
 * errorReplyFor().
 *
 * Verified with haproxy 2.6.12 (`haproxy -c`): allowed in defaults,
 * frontend, backend and listen, also in `mode tcp` proxies (no warning);
 * codes without a built-in page are refused ("status code '418' not
 * handled."); a later errorfile for the same code replaces the earlier one,
 * also one inherited from defaults. The path is used as written (relative to
 * the working directory, as HAProxy does).
 * Stricter than HAProxy: the code must be all digits (HAProxy's atol() takes
 * "503abc" as 503 and "abc" as 0), and extra words are an error (HAProxy
 * ignores them).
 */
import { registerKeywords, PROXY_SECTIONS } from '../registry';
import { loadErrorFile, ERROR_STATUSES, type ValidateResult } from './errors';
import { sectionErrorfile } from './http-errors';

const USAGE = 'errorfile <code> <file>';

registerKeywords([
  {
    name: 'errorfile', sections: [...PROXY_SECTIONS, 'http-errors'],
    usage: `${USAGE}  send the HTTP response held in <file> instead of HAProxy's page for <code> (/dev/null: send nothing)`,
    parse(ctx) {
      const [codeText, path] = ctx.args;
      if (codeText === undefined || path === undefined || codeText === '' || path === '') {
        return ctx.error(`expects <status_code> and <file> as arguments; usage: ${USAGE}`);
      }
      if (ctx.args.length > 2) return ctx.error(`unexpected argument '${ctx.args[2]}'; usage: ${USAGE}`);
      const code = /^[0-9]{1,9}$/.test(codeText) ? Number(codeText) : NaN;
      if (!ERROR_STATUSES.includes(code)) {
        return ctx.error(`status code '${codeText}' not handled (supported: ${ERROR_STATUSES.join(', ')})`);
      }
      // A file named by several proxies is read once per load, as HAProxy does.
      let loaded = ctx.state.scratch.get('errorfile') as Map<string, ValidateResult> | undefined;
      if (!loaded) ctx.state.scratch.set('errorfile', loaded = new Map());
      let r = loaded.get(path);
      // Checked against tune.bufsize as set so far, as HAProxy does (global comes first).
      if (!r) loaded.set(path, r = loadErrorFile(path, ctx.state.global.bufsize));
      if (!r.ok) return ctx.error(r.reason);
      if (ctx.section === 'http-errors') return sectionErrorfile(ctx, code, r.bytes);
      const px = ctx.proxy!;
      (px.errorFiles ??= {})[code] = r.bytes.toString('latin1');
      // A later page for the status replaces an http-error one built per request.
      if (px.errorReplies !== undefined) delete px.errorReplies[code];
    },
  },
]);
