// The HTTP-mode proxies under test (issue 3): HAProxy and Switchyard share one
// HAProxy-syntax config; nginx as a reverse proxy and node-http-proxy are the
// other references. All of them have every timeout set.
import { mkdirSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import http from 'node:http';
import { startPinned, waitListening, tailFile } from './processes.mjs';

// HAProxy's default HTTP connection mode is `option http-keep-alive` (client
// and server side keep-alive); it is not written out because Switchyard
// rejects the keyword (not implemented yet), and the text must be identical.
// `timeout queue` is omitted for the same reason: HAProxy then uses
// `timeout connect` for it, and nothing queues here (no maxconn on the server).
// `frontendLines`: extra frontend lines (already indented) before
// default_backend; the rules bench (bench/rules-mode.mjs) puts its rule set there.
export function httpConfig({ port, originPort, nbthread, frontendLines = '' }) {
  return `global
    nbthread ${nbthread}

defaults
    mode http
    # option http-keep-alive: HAProxy's default, see bench/lib/http-proxies.mjs
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    timeout http-request 10s
    timeout http-keep-alive 10s
    timeout client-fin 30s
    timeout server-fin 30s
    timeout tunnel 1h

frontend fe_bench
    bind 127.0.0.1:${port}
${frontendLines}    default_backend be_origin

backend be_origin
    server origin 127.0.0.1:${originPort}
`;
}

// nginx as a reverse proxy: 1 worker, HTTP/1.1 to an upstream keep-alive
// pool large enough for every wrk connection, no spill of responses to disk.
export function nginxProxyConfig({ dir, port, originPort }) {
  return `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  tcp_nodelay on;
  keepalive_timeout 10s;
  keepalive_requests 100000000;
  client_header_timeout 10s;
  client_body_timeout 30s;
  send_timeout 30s;
  reset_timedout_connection on;
  client_body_temp_path ${dir}/temp/body;
  proxy_temp_path ${dir}/temp/proxy;
  fastcgi_temp_path ${dir}/temp/fastcgi;
  uwsgi_temp_path ${dir}/temp/uwsgi;
  scgi_temp_path ${dir}/temp/scgi;
  upstream origin {
    server 127.0.0.1:${originPort};
    keepalive 64;
    keepalive_requests 100000000;
    keepalive_timeout 60s;
  }
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_connect_timeout 5s;
      proxy_send_timeout 30s;
      proxy_read_timeout 30s;
      proxy_max_temp_file_size 0;
    }
  }
}
`;
}

function startFailure(name, proc, port, timeoutMs, logs) {
  const why = proc.exited
    ? `exited (${proc.error ? proc.error.message : `code ${proc.code ?? proc.signal}`})`
    : `not listening on 127.0.0.1:${port} within ${timeoutMs / 1000} s`;
  const log = logs.map((f) => tailFile(f)).filter(Boolean).join('\n');
  return `${name} ${why}${log ? `; its output:\n${log}` : ''}`;
}

export async function startNginxProxy({ dir, core, port, originPort, timeoutMs = 10000 }) {
  const d = `${dir}/nginx-rp`;
  mkdirSync(`${d}/temp`, { recursive: true });
  const cfg = `${d}/nginx.conf`;
  const text = nginxProxyConfig({ dir: d, port, originPort });
  writeFileSync(cfg, text);
  const proc = startPinned(core, 'nginx', ['-e', `${d}/error.log`, '-p', `${d}/`, '-c', cfg], { logBase: `${d}/nginx` });
  const ok = await waitListening(port, proc, timeoutMs);
  return { ok, proc, cfg, cfgText: text, reason: ok ? null : startFailure('nginx (reverse proxy)', proc, port, timeoutMs, [`${d}/error.log`, `${d}/nginx.err`]) };
}

// npm install --prefix <dir> http-proxy: only the npm registry is needed.
// Returns { ok, prefix, version, reason }.
export function installNodeHttpProxy(dir) {
  const prefix = `${dir}/node-http-proxy`;
  mkdirSync(prefix, { recursive: true });
  const r = spawnSync('npm', ['install', '--prefix', prefix, '--no-audit', '--no-fund', '--no-save', '--loglevel=error', 'http-proxy'], {
    encoding: 'utf8',
    timeout: 120000,
  });
  const pkg = `${prefix}/node_modules/http-proxy/package.json`;
  if (r.error || r.status !== 0 || !existsSync(pkg)) {
    const why = r.error ? r.error.message : `exit ${r.status ?? r.signal}`;
    const out = `${r.stdout || ''}${r.stderr || ''}`.trim().split('\n').slice(-8).join('\n');
    return { ok: false, prefix, reason: `"npm install --prefix ${prefix} http-proxy" failed (${why})${out ? `:\n${out}` : ''}` };
  }
  return { ok: true, prefix, version: JSON.parse(readFileSync(pkg, 'utf8')).version };
}

const NODE_PROXY_SCRIPT = fileURLToPath(new URL('./node-http-proxy-server.cjs', import.meta.url));

export async function startNodeHttpProxy({ dir, core, port, originPort, prefix, timeoutMs = 10000 }) {
  const logBase = `${dir}/node-http-proxy-server`;
  const args = [NODE_PROXY_SCRIPT, String(port), String(originPort), prefix];
  const proc = startPinned(core, process.execPath, args, { logBase });
  const ok = await waitListening(port, proc, timeoutMs);
  const cfgText = `${process.execPath} ${args.join(' ')}\n\n${readFileSync(NODE_PROXY_SCRIPT, 'utf8')}`;
  return { ok, proc, cfgText, reason: ok ? null : startFailure('node-http-proxy', proc, port, timeoutMs, [`${logBase}.err`, `${logBase}.out`]) };
}

// One GET through a freshly started proxy, so a proxy that answers wrongly is
// reported as such instead of as a row full of wrk errors. Resolves null when
// the status is 200 and the body has `bytes` bytes, else a reason.
export function checkGet(port, path, bytes, timeoutMs = 5000) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, timeout: timeoutMs }, (res) => {
      let n = 0;
      res.on('data', (d) => (n += d.length));
      res.on('end', () => {
        if (res.statusCode !== 200) resolve(`GET ${path}: status ${res.statusCode}`);
        else if (n !== bytes) resolve(`GET ${path}: body of ${n} bytes, want ${bytes}`);
        else resolve(null);
      });
      res.on('error', (err) => resolve(`GET ${path}: ${err.message}`));
    });
    req.on('timeout', () => req.destroy(new Error(`no complete response within ${timeoutMs} ms`)));
    req.on('error', (err) => resolve(`GET ${path}: ${err.message}`));
  });
}
