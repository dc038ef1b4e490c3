/**
 * Keywords of HTTP mode's stream: the HTTP timeouts (configuration.txt 4.2).
 * `timeout http-request` bounds the time to receive a whole request head;
 * `timeout http-keep-alive` bounds the idle time between two requests of a
 * keep-alive connection (it falls back to http-request, then client).
 */
import { registerKeywords, type KeywordContext, type SectionKind } from '../registry';
import type { Timeouts } from '../config/compiled';
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
