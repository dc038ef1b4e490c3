/**
 * The master's and workers' own lifecycle logger (start, reload, worker
 * exits), as opposed to traffic logs which go through LogSinks. JSON lines
 * on stderr via an async sonic-boom, so a slow terminal never stalls the
 * event loop; pino flushes it on exit.
 *   -q  only errors (HAProxy's "quiet")
 *   -d  debug
 */
import pino from 'pino';

export interface ProcessLoggerOptions {
  debug: boolean;
  quiet: boolean;
  name: 'master' | 'worker';
}

export function createProcessLogger(opts: ProcessLoggerOptions): pino.Logger {
  // -q wins over -d: quiet is asked for explicitly to silence output.
  const level = opts.quiet ? 'error' : opts.debug ? 'debug' : 'info';
  return pino(
    { name: opts.name, level, base: { pid: process.pid } },
    pino.destination({ dest: 2, sync: false }),
  );
}
