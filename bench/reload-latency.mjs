import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
// Runtime API latency while a reload compiles 100k-entry ACL and map files.
// Usage: node bench/reload-latency.mjs  (after pnpm build)
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const dir = mkdtempSync(join(tmpdir(), 'sy-reload-lat-'));
const lines = []; for (let i = 0; i < 100000; i++) lines.push(`10.${(i>>16)&255}.${(i>>8)&255}.${i&255}`);
writeFileSync(`${dir}/deny.lst`, lines.join('\n') + '\n');
const m = []; for (let i = 0; i < 100000; i++) m.push(`12.${(i>>16)&255}.${(i>>8)&255}.${i&255}/32 r${i%7}`);
writeFileSync(`${dir}/r.map`, m.join('\n') + '\n');
writeFileSync(`${dir}/c.cfg`, `global\n  stats socket ${dir}/api.sock level admin\ndefaults\n  mode http\n  timeout connect 2s\n  timeout client 5s\n  timeout server 5s\nfrontend fe\n  bind 127.0.0.1:29111\n  http-request deny if { src -f ${dir}/deny.lst }\n  http-request set-header X-R %[src,map_ip(${dir}/r.map,x)]\n  default_backend be\nbackend be\n  server s 127.0.0.1:9\n`);
const p = spawn(process.execPath, [new URL('../packages/master/bin/switchyard.js', import.meta.url).pathname, '-f', `${dir}/c.cfg`], { stdio: ['ignore', 'pipe', 'pipe'] });
let out = ''; p.stderr.on('data', d => { out += d; }); p.stdout.on('data', () => {});
const api = () => new Promise((res) => { const t = process.hrtime.bigint(); const c = net.connect(`${dir}/api.sock`, () => c.write('show info\n')); c.on('data', () => {}); c.on('end', () => res(Number(process.hrtime.bigint() - t) / 1e6)); c.on('error', () => res(-1)); });
while (!/started/.test(out)) await new Promise(r => setTimeout(r, 50));
const from = out.length;
p.kill('SIGUSR2');
let max = 0, n = 0;
while (!/reload (complete|refused)/.test(out.slice(from))) { const l = await api(); if (l > max) max = l; n++; }
console.log(`api requests during reload: ${n}, max latency ${max.toFixed(1)} ms; ${out.slice(from).match(/reload (complete|refused)/)[0]}`);
p.kill('SIGTERM');
