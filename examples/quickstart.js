#!/usr/bin/env node
// `pnpm start`: runs two tiny HTTP origins on 127.0.0.1:8081 and :8082 and the
// real switchyard master on examples/quickstart.cfg in front of them. Signals
// are forwarded to the master (Ctrl-C stops everything, SIGUSR2 reloads).
'use strict';
const http = require('node:http');
const { spawn } = require('node:child_process');
const { join } = require('node:path');

const origins = [['A', 8081], ['B', 8082]].map(([name, port]) => {
  const s = http.createServer((req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end(`hello from origin ${name} (port ${port}): ${req.method} ${req.url}\n`);
  });
  s.listen(port, '127.0.0.1');
  return s;
});

const bin = join(__dirname, '..', 'packages', 'master', 'bin', 'switchyard.js');
const cfg = join(__dirname, 'quickstart.cfg');
const master = spawn(process.execPath, [bin, '-f', cfg, ...process.argv.slice(2)], { stdio: 'inherit' });
console.error(`switchyard master pid ${master.pid}; try: curl http://127.0.0.1:8080/`);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGUSR1', 'SIGUSR2']) process.on(sig, () => master.kill(sig));
master.on('exit', (code, signal) => {
  for (const s of origins) s.close();
  process.exit(code ?? (signal ? 1 : 0));
});
