// The proxies under test. Both get the same HAProxy-syntax config; only the
// binary differs.
import { writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startPinned, waitListening, tailFile } from './processes.mjs';

export function tcpConfig({ port, originPort, nbthread, statsSocket }) {
  return `global
    nbthread ${nbthread}
${statsSocket ? `    stats socket ${statsSocket} level admin\n` : ''}
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend fe_bench
    bind 127.0.0.1:${port}
    default_backend be_origin

backend be_origin
    server origin 127.0.0.1:${originPort}
`;
}

export function proxyDefs(switchyardBin) {
  return {
    haproxy: { name: 'haproxy', bin: 'haproxy', args: (cfg) => ['-db', '-f', cfg] },
    switchyard: switchyardDef(switchyardBin),
  };
}

// BENCH_SWITCHYARD_NODE_ARGS: node options for Switchyard's master and
// workers, e.g. '--cpu-prof --cpu-prof-dir=/tmp/prof' to profile under load
// (--cpu-prof is refused in NODE_OPTIONS). Switchyard then runs as
// `node <args> packages/master/bin/switchyard.js`; node:cluster workers
// inherit the master's execArgv.
const MASTER_JS = fileURLToPath(new URL('../../packages/master/bin/switchyard.js', import.meta.url));

function switchyardDef(bin) {
  const nodeArgs = (process.env.BENCH_SWITCHYARD_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  if (!nodeArgs.length) return { name: 'switchyard', bin, args: (cfg) => ['-f', cfg] };
  return { name: 'switchyard', bin: process.execPath, args: (cfg) => [...nodeArgs, MASTER_JS, '-f', cfg] };
}

export function versionOf(bin, flag = '-v') {
  try {
    return execFileSync(bin, [flag], { encoding: 'utf8', timeout: 10000, stdio: ['ignore', 'pipe', 'pipe'] })
      .trim()
      .split('\n')[0];
  } catch (err) {
    return null;
  }
}

// Writes the config, starts the proxy pinned to `core` and waits until its
// frontend accepts. Returns { ok, proc, cfg, cfgText, reason }.
// `config` builds the config text (default: tcpConfig; HTTP mode passes httpConfig).
export async function startProxy(def, { dir, core, tag, port, originPort, nbthread, statsSocket, config = tcpConfig, timeoutMs = 10000 }) {
  const cfg = `${dir}/${tag}.cfg`;
  const text = config({ port, originPort, nbthread, statsSocket });
  writeFileSync(cfg, text);
  const logBase = `${dir}/${tag}`;
  const proc = startPinned(core, def.bin, def.args(cfg), { logBase });
  const ok = await waitListening(port, proc, timeoutMs);
  if (ok) return { ok, proc, cfg, cfgText: text };
  const why = proc.exited
    ? `exited (${proc.error ? proc.error.message : `code ${proc.code ?? proc.signal}`})`
    : `not listening on 127.0.0.1:${port} within ${timeoutMs / 1000} s`;
  const log = [tailFile(`${logBase}.err`), tailFile(`${logBase}.out`)].filter(Boolean).join('\n');
  return { ok, proc, cfg, cfgText: text, reason: `${def.name} ${why}${log ? `; its output:\n${log}` : ''}` };
}
