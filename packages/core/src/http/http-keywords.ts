/**
 * Keywords of HTTP mode's stream: the HTTP timeouts (configuration.txt 4.2)
 * and the connection mode options (`option http-keep-alive`,
 * `http-server-close`, `httpclose`; configuration.txt 4 "HTTP connection
 * management").
 * `timeout http-request` bounds the time to receive a whole request head;
 * `timeout http-keep-alive` bounds the idle time between two requests of a
 * keep-alive connection (it falls back to http-request, then client).
 */
import { registerKeywords, PROXY_SECTIONS, type KeywordContext, type SectionKind } from '../registry';
import type { Timeouts, ProxyOptions } from '../config/compiled';
import { parseTime } from '../config/args';

const FE: SectionKind[] = ['defaults', 'frontend', 'listen'];

function timeoutKeyword(word: string, field: keyof Timeouts, doc: string) {
  const usage = `timeout ${word} <time>`;
  return {
    name: `timeout ${word}`,
    sections: FE,
    usage: `${usage}  ${doc}`,
    parse(ctx: KeywordContext) {
      if (ctx.args.length < 1) return ctx.error(`missing argument; usage: ${usage}`);
      if (ctx.args.length > 1) return ctx.error(`unexpected argument '${ctx.args[1]}'; usage: ${usage}`);
      const t = parseTime(ctx.args[0]);
      if (!t.ok) return ctx.error(t.error);
      ctx.proxy!.timeouts[field] = t.value;
    },
  };
}

registerKeywords([
  timeoutKeyword('http-request', 'httpRequest', 'maximum time to receive a complete HTTP request head (408 after it)'),
  timeoutKeyword('http-keep-alive', 'httpKeepAlive', 'maximum idle time between two requests of a keep-alive connection'),
]);

type ConnMode = NonNullable<ProxyOptions['httpConnMode']>;

/**
 * The three options replace one another. `no option X` only cancels X when
 * it is the current mode (back to keep-alive), as cfgparse-listen.c does.
 */
function connModeOption(word: string, mode: ConnMode, doc: string) {
  return {
    name: `option ${word}`,
    sections: PROXY_SECTIONS,
    negatable: true,
    usage: `[no] option ${word}  ${doc}`,
    parse(ctx: KeywordContext) {
      if (ctx.args.length > 0) return ctx.error(`'option ${word}' takes no argument`);
      const o = ctx.proxy!.options;
      if (!ctx.negated) o.httpConnMode = mode;
      else if (o.httpConnMode === mode) o.httpConnMode = 'keep-alive';
    },
  };
}

registerKeywords([
  connModeOption('http-keep-alive', 'keep-alive', 'keep client and server connections open between transactions (default)'),
  connModeOption('http-server-close', 'server-close', 'close the server connection after each response; the client side stays keep-alive'),
  connModeOption('httpclose', 'close', 'close both connections after each transaction'),
]);

registerKeywords([{
  name: 'option http-buffer-request',
  sections: PROXY_SECTIONS,
  negatable: true,
  usage: '[no] option http-buffer-request  wait for the whole request body (up to a buffer) before connecting to a server',
  parse(ctx: KeywordContext) {
    if (ctx.args.length > 0) return ctx.error("'option http-buffer-request' takes no argument");
    ctx.proxy!.options.httpBufferRequest = !ctx.negated;
  },
}]);

registerKeywords([{
  name: 'option http-ignore-probes',
  sections: FE,
  negatable: true,
  usage: '[no] option http-ignore-probes  close connections that never sent a byte silently (no 400/408, no log), e.g. browser pre-connects',
  parse(ctx: KeywordContext) {
    if (ctx.args.length > 0) return ctx.error("'option http-ignore-probes' takes no argument");
    ctx.proxy!.options.httpIgnoreProbes = !ctx.negated;
  },
}]);
