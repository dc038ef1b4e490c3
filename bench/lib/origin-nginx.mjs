// The origin: one nginx worker serving two static files from the run's temp
// dir. Keep-alive is effectively unlimited so scenario 1 never reconnects.
import { mkdirSync, writeFileSync, chmodSync, readFileSync } from 'node:fs';
import { startPinned, waitListening, tailFile } from './processes.mjs';

export const SMALL_PATH = '/small.txt';
export const LARGE_PATH = '/1m.bin';
export const SMALL_BYTES = 100;
export const LARGE_BYTES = 1 << 20;

export async function startNginx({ dir, port, core }) {
  const www = `${dir}/www`;
  mkdirSync(www, { recursive: true });
  mkdirSync(`${dir}/nginx-temp`, { recursive: true });
  // 99 printable bytes + newline.
  writeFileSync(`${www}${SMALL_PATH}`, 'x'.repeat(SMALL_BYTES - 1) + '\n');
  const big = Buffer.alloc(LARGE_BYTES);
  for (let i = 0; i < big.length; i++) big[i] = 97 + (i % 26);
  writeFileSync(`${www}${LARGE_PATH}`, big);
  // nginx workers drop root privileges to nobody: they must be able to read.
  for (const p of [dir, www]) chmodSync(p, 0o755);
  const conf = `${dir}/nginx.conf`;
  writeFileSync(
    conf,
    `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 65s;
  keepalive_requests 100000000;
  default_type application/octet-stream;
  client_body_temp_path ${dir}/nginx-temp/body;
  proxy_temp_path ${dir}/nginx-temp/proxy;
  fastcgi_temp_path ${dir}/nginx-temp/fastcgi;
  uwsgi_temp_path ${dir}/nginx-temp/uwsgi;
  scgi_temp_path ${dir}/nginx-temp/scgi;
  server {
    listen 127.0.0.1:${port} backlog=4096;
    root ${www};
  }
}
`,
  );
  const proc = startPinned(core, 'nginx', ['-e', `${dir}/nginx-error.log`, '-p', `${dir}/`, '-c', conf], {
    logBase: `${dir}/nginx`,
  });
  if (!(await waitListening(port, proc, 10000))) {
    throw new Error(`nginx did not start on 127.0.0.1:${port}:\n${tailFile(`${dir}/nginx-error.log`)}`);
  }
  return { proc, port, conf: readFileSync(conf, 'utf8') };
}
