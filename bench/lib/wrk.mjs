// One wrk run, pinned to the origin's core, parsed from wrk-summary.lua.
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { startPinned, stopProc } from './processes.mjs';

const LUA = fileURLToPath(new URL('./wrk-summary.lua', import.meta.url));

// `env`: extra environment for wrk (the TLS bench preloads wrk-no-resume.so).
export async function runWrk({ core, url, connections, seconds, closeConnection, env }) {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '-s', LUA];
  if (closeConnection) args.push('-H', 'Connection: close');
  args.push(url);
  const proc = startPinned(core, 'wrk', args, { capture: true, env: env ? { ...process.env, ...env } : undefined });
  const done = await Promise.race([proc.exitPromise.then(() => true), sleep((seconds + 30) * 1000, undefined, { ref: false }).then(() => false)]);
  if (!done) {
    await stopProc(proc, 1000);
    throw new Error(`wrk did not finish within ${seconds + 30} s`);
  }
  const line = proc.stdout.split('\n').find((l) => l.startsWith('WRKJSON '));
  if (proc.code !== 0 || !line) {
    throw new Error(`wrk failed (exit ${proc.code ?? proc.signal}): ${proc.stdout.trim().slice(-500)}`);
  }
  const s = JSON.parse(line.slice('WRKJSON '.length));
  const secs = s.duration_us / 1e6;
  return {
    ...s,
    command: `${env ? Object.entries(env).map(([k, v]) => `${k}=${v} `).join('') : ''}taskset -c ${core} wrk ${args.map((a) => (/\s/.test(a) ? `'${a}'` : a)).join(' ')}`,
    seconds: secs,
    rps: s.requests / secs,
    mbps: s.bytes / secs / 1e6,
    errors: s.connect_errors + s.read_errors + s.write_errors + s.status_errors + s.timeout_errors,
    text: proc.stdout.split('\n').filter((l) => !l.startsWith('WRKJSON ')).join('\n'),
  };
}
