'use strict';
// node-http-proxy as a reverse proxy, the Node.js reference of the HTTP-mode
// bench: one process, keep-alive on both sides, every timeout set.
//   node node-http-proxy-server.cjs <port> <originPort> <npm prefix holding http-proxy>
const http = require('node:http');
const { createRequire } = require('node:module');
const path = require('node:path');

const [port, originPort, prefix] = process.argv.slice(2);
const httpProxy = createRequire(path.join(prefix, 'package.json'))('http-proxy');

// Upstream keep-alive pool, larger than wrk's connection count.
const agent = new http.Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 64, timeout: 60000 });
const proxy = httpProxy.createProxyServer({
  target: `http://127.0.0.1:${originPort}`,
  agent,
  proxyTimeout: 30000, // server side: no response byte for 30 s
  timeout: 30000, // client side socket idle
});
proxy.on('error', (err, req, res) => {
  if (res && typeof res.writeHead === 'function' && !res.headersSent) {
    res.writeHead(502, { 'content-type': 'text/plain', connection: 'close' });
    res.end('502 Bad Gateway\n');
  } else if (res && typeof res.destroy === 'function') {
    res.destroy();
  }
});

const server = http.createServer((req, res) => proxy.web(req, res));
server.keepAliveTimeout = 10000; // timeout http-keep-alive
server.headersTimeout = 10000; // timeout http-request
server.requestTimeout = 30000;
server.timeout = 30000; // timeout client
server.listen(Number(port), '127.0.0.1');

const stop = () => {
  server.close();
  agent.destroy();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
