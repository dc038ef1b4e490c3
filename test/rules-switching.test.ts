/**
 * Content switching through the real master: `tcp-request inspect-delay` +
 * `tcp-request content` + `use_backend` on the TLS ClientHello (SNI
 * passthrough to two TLS origins, nothing decrypted), one port serving
 * TLS, HTTP and SSH-like traffic by payload inspection, `tcp-request
 * connection reject`, HTTP `use_backend` on ACLs (named, anonymous, `-f`
 * files, `||`, `!`), and the ssl_fc* / ssl_c_* fetches in a log-format.
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import * as http from 'node:http';
import * as tls from 'node:tls';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeCa } from './certs';
import { startMaster, tempDir, writeConfig, freePorts, waitForLog, logMark, within, type Master } from './helpers';

const tmp = tempDir('sy-rules-');
const dir = tmp.dir;
/** A TLS origin answering every line with `<tag>:<line>`. */
function tlsOrigin(tag: string, name: string): Promise<{ server: tls.Server; port: number }> {
  const server = tls.createServer({ key: readFileSync(join(dir, `${name}.key`)), cert: readFileSync(join(dir, `${name}.crt`)) }, (s) => {
    s.on('data', (d) => s.write(`${tag}:${d.toString('latin1')}`));
    s.on('error', () => undefined);
  });
  return new Promise(r => server.listen(0, '127.0.0.1', () => r({ server, port: (server.address() as net.AddressInfo).port })));
}

/** A plain origin answering `<tag>:<bytes>` to what it receives first. */
function plainOrigin(tag: string): Promise<{ server: net.Server; port: number }> {
  const server = net.createServer((s) => {
    s.once('data', (d) => s.end(`${tag}:${d.toString('latin1')}`));
    s.on('error', () => undefined);
  });
  return new Promise(r => server.listen(0, '127.0.0.1', () => r({ server, port: (server.address() as net.AddressInfo).port })));
}

/** An HTTP origin answering `<tag>:<path>`. */
function httpOrigin(tag: string): Promise<{ server: net.Server; port: number }> {
  const server = http.createServer((req, res) => res.end(`${tag}:${req.url}`));
  return new Promise(r => server.listen(0, '127.0.0.1', () => r({ server, port: (server.address() as net.AddressInfo).port })));
}

/** TLS through the proxy with SNI `sni`: the certificate CN seen and the origin's echo of "hello". */
function tlsThrough(port: number, sni: string | undefined): Promise<{ cn: string; reply: string }> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ port, host: '127.0.0.1', servername: sni, ca: readFileSync(join(dir, 'ca.crt')), checkServerIdentity: () => undefined }, () => {
      s.write('hello');
    });
    s.once('data', (d) => {
      resolve({ cn: String(s.getPeerCertificate().subject?.CN ?? ''), reply: d.toString('latin1') });
      s.destroy();
    });
    s.on('error', reject);
  });
}

/** Sends `bytes` on a plain connection; resolves with everything received until the close. */
function rawExchange(port: number, bytes: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(bytes));
    let out = '';
    s.on('data', (d) => { out += d.toString('latin1'); });
    s.on('close', () => resolve(out));
    s.on('error', (e) => (out === '' ? reject(e) : resolve(out)));
  });
}

describe('content switching', () => {
  let master: Master;
  const servers: Array<net.Server> = [];
  let ports: number[] = [];

  before(async () => {
    const { issue } = makeCa(dir, 'Rules Test CA');
    issue('a', 'a.example', 1);
    issue('b', 'b.example', 2);
    issue('d', 'default.example', 3);
    issue('client', 'client one', 4);
    const oa = await tlsOrigin('A', 'a');
    const ob = await tlsOrigin('B', 'b');
    const od = await tlsOrigin('D', 'd');
    const ssh = await plainOrigin('SSH');
    const web = await plainOrigin('WEB');
    const other = await plainOrigin('OTHER');
    const hs = await httpOrigin('SSH');
    const hw = await httpOrigin('WEB');
    const ho = await httpOrigin('OTHER');
    servers.push(oa.server, ob.server, od.server, ssh.server, web.server, other.server, hs.server, hw.server, ho.server);
    ports = await freePorts(9);
    writeFileSync(join(dir, 'admins.lst'), '# admin paths\n/admin\n/ops\n');
    const cfg = writeConfig(dir, `
defaults
  timeout connect 2s
  timeout client 5s
  timeout server 5s
  log stdout format raw local0

frontend sni
  mode tcp
  bind 127.0.0.1:${ports[0]}
  tcp-request inspect-delay 5s
  tcp-request content accept if { req.ssl_hello_type 1 }
  acl is_b req.ssl_sni -i b.example
  use_backend tls_a if { req.ssl_sni -i a.example }
  use_backend tls_b if is_b
  default_backend tls_d

frontend mux
  mode tcp
  bind 127.0.0.1:${ports[1]}
  tcp-request inspect-delay 2s
  tcp-request content reject if { req.payload(0,5) -m bin 474f4f4e53 }
  tcp-request content accept if { req.ssl_hello_type 1 }
  tcp-request content accept if { req.payload(0,7) -m bin 5353482d322e30 }
  tcp-request content accept if HTTP
  use_backend tls_a if { req.ssl_sni -m found }
  use_backend ssh if { req.payload(0,4) -m bin 5353482d }
  use_backend web if HTTP
  default_backend other

frontend guarded
  mode tcp
  bind 127.0.0.1:${ports[2]}
  tcp-request connection reject if { src 127.0.0.0/8 } !{ dst_port 1 }
  default_backend other

frontend dyn
  mode http
  bind 127.0.0.1:${ports[8]}
  use_backend h_%[req.hdr(x-to),lower] if { req.hdr(x-to) -m found }
  default_backend pair

frontend sess
  mode tcp
  bind 127.0.0.1:${ports[5]}
  tcp-request session reject if { dst_port ${ports[5]} }
  default_backend other

frontend resp
  mode tcp
  bind 127.0.0.1:${ports[6]}
  default_backend filtered

frontend resp_rej
  mode tcp
  bind 127.0.0.1:${ports[7]}
  default_backend filtered_rej

frontend www
  mode http
  bind 127.0.0.1:${ports[3]}
  acl admin path_beg -f ${dir}/admins.lst
  acl api hdr(host) -i api.example
  acl api hdr_end(host) -i .api.example
  use_backend h_ssh if admin || { url_param(to) -m str ssh }
  use_backend h_web if api !admin
  default_backend h_other

frontend mtls
  mode tcp
  bind 127.0.0.1:${ports[4]} ssl crt ${dir}/d.pem ca-file ${dir}/ca.crt verify optional
  log-format "%ci:%cp mtls %[ssl_fc] %[ssl_fc_sni] %[ssl_fc_protocol] %[ssl_c_used] %[ssl_c_verify] %{+Q}[ssl_c_s_dn] %{+Q}[ssl_c_i_dn]"
  default_backend other

backend tls_a
  mode tcp
  server s 127.0.0.1:${oa.port}
backend tls_b
  mode tcp
  server s 127.0.0.1:${ob.port}
backend tls_d
  mode tcp
  server s 127.0.0.1:${od.port}
backend ssh
  server s 127.0.0.1:${ssh.port}
backend web
  server s 127.0.0.1:${web.port}
backend other
  server s 127.0.0.1:${other.port}
backend filtered
  mode tcp
  tcp-response inspect-delay 2s
  tcp-response content reject if { res.payload(0,3) -m bin 424144 }
  tcp-response content accept if { res.len ge 3 }
  server s 127.0.0.1:${other.port}
backend filtered_rej
  mode tcp
  tcp-response inspect-delay 2s
  tcp-response content reject if { res.payload(0,5) -m bin 4f54484552 }
  server s 127.0.0.1:${other.port}
backend pair
  mode http
  use-server two if { req.hdr(x-srv) two }
  use-server %[req.hdr(x-name)] if { req.hdr(x-name) -m found }
  server one 127.0.0.1:${hw.port}
  server two 127.0.0.1:${ho.port} weight 0
backend h_ssh
  mode http
  server s 127.0.0.1:${hs.port}
backend h_web
  mode http
  server s 127.0.0.1:${hw.port}
backend h_other
  mode http
  server s 127.0.0.1:${ho.port}
`);
    master = await startMaster(cfg);
    await master.ready();
  });

  after(async () => {
    await master?.stop();
    for (const s of servers) s.close();
    tmp.cleanup();
  });

  it('routes TLS by SNI without terminating it (req.ssl_sni after tcp-request inspect-delay)', async () => {
    const a = await within(tlsThrough(ports[0], 'a.example'), 5000, 'a.example');
    assert.deepEqual(a, { cn: 'a.example', reply: 'A:hello' });
    const b = await within(tlsThrough(ports[0], 'B.EXAMPLE'), 5000, 'B.EXAMPLE');
    assert.deepEqual(b, { cn: 'b.example', reply: 'B:hello' }, '-i matches whatever the case');
    const none = await within(tlsThrough(ports[0], undefined), 5000, 'no SNI');
    assert.deepEqual(none, { cn: 'default.example', reply: 'D:hello' });
    const other = await within(tlsThrough(ports[0], 'c.example'), 5000, 'c.example');
    assert.equal(other.reply, 'D:hello');
  });

  it('waits for a ClientHello sent in pieces before choosing', async () => {
    // The hello arrives a few bytes at a time through a relay socket.
    const relay = net.createServer((c) => {
      const up = net.connect(ports[0], '127.0.0.1');
      c.on('data', (d) => { for (let i = 0; i < d.length; i += 7) up.write(d.subarray(i, i + 7)); });
      up.on('data', (d) => c.write(d));
      c.on('close', () => up.destroy());
      up.on('close', () => c.destroy());
      c.on('error', () => undefined);
      up.on('error', () => undefined);
    });
    const rp = await new Promise<number>(r => relay.listen(0, '127.0.0.1', () => r((relay.address() as net.AddressInfo).port)));
    try {
      const b = await within(tlsThrough(rp, 'b.example'), 5000, 'split hello');
      assert.deepEqual(b, { cn: 'b.example', reply: 'B:hello' });
    } finally {
      relay.close();
    }
  });

  it('serves TLS, SSH-like and HTTP traffic on one port by payload inspection', async () => {
    const t = await within(tlsThrough(ports[1], 'a.example'), 5000, 'tls on mux');
    assert.deepEqual(t, { cn: 'a.example', reply: 'A:hello' });
    assert.equal(await within(rawExchange(ports[1], 'SSH-2.0-OpenSSH_9.2\r\n'), 5000, 'ssh'), 'SSH:SSH-2.0-OpenSSH_9.2\r\n');
    const http = 'GET / HTTP/1.1\r\nHost: x\r\n\r\n';
    assert.equal(await within(rawExchange(ports[1], http), 5000, 'http'), 'WEB:' + http);
    // A request head in two pieces is only recognised once complete.
    const split = await within(new Promise<string>((resolve, reject) => {
      const s = net.connect(ports[1], '127.0.0.1', () => {
        s.write('GET / HT');
        setTimeout(() => s.write('TP/1.1\r\nHost: x\r\n\r\n'), 100);
      });
      let out = '';
      s.on('data', (d) => { out += d.toString('latin1'); });
      s.on('close', () => resolve(out));
      s.on('error', reject);
    }), 5000, 'split http');
    assert.equal(split, 'WEB:' + http);
    // Unknown bytes wait for the inspect delay, then go to the default backend.
    const started = Date.now();
    const unknown = await within(new Promise<string>((resolve, reject) => {
      const s = net.connect(ports[1], '127.0.0.1', () => s.write('xyz'));
      let out = '';
      s.on('data', (d) => { out += d.toString('latin1'); });
      s.on('close', () => resolve(out));
      s.on('error', reject);
    }), 8000, 'unknown');
    assert.equal(unknown, 'OTHER:xyz');
    assert.ok(Date.now() - started >= 1900, 'decided at the end of tcp-request inspect-delay');
    // A rejected payload: closed, nothing forwarded.
    assert.equal(await within(rawExchange(ports[1], 'GOONS and more'), 5000, 'reject'), '');
  });

  it('tcp-request connection reject closes at accept, before anything is read', async () => {
    const mark = logMark(master);
    // Closed with the client's bytes unread: a FIN or a reset, nothing else.
    const out = await within(rawExchange(ports[2], 'ping').catch((e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? '' : Promise.reject(e))), 5000, 'rejected');
    assert.equal(out, '');
    // Not logged (HAProxy logs nothing for tcp-request connection rejects).
    await new Promise(r => setTimeout(r, 200));
    assert.doesNotMatch(master.stdout.slice(mark), / guarded /);
  });

  it('use_backend with a log-format name; use-server (static, log-format, a weight-0 server)', async () => {
    const body = async (extra: string): Promise<string> => {
      const out = await within(rawExchange(ports[8], `GET /d HTTP/1.1\r\nHost: a\r\n${extra}Connection: close\r\n\r\n`), 5000, extra);
      return out.slice(out.indexOf('\r\n\r\n') + 4).split(':')[0];
    };
    assert.equal(await body('X-To: SSH\r\n'), 'SSH', 'h_ssh from the header, lower-cased');
    assert.equal(await body('X-To: nowhere\r\n'), 'WEB', 'no such backend: default_backend (pair, server one)');
    assert.equal(await body(''), 'WEB', 'load balancing skips the weight-0 server');
    assert.equal(await body('X-Srv: two\r\n'), 'OTHER', 'use-server picks it');
    assert.equal(await body('X-Name: two\r\n'), 'OTHER', 'use-server with a log-format name');
    assert.equal(await body('X-Name: nope\r\n'), 'WEB', 'unknown server name: load balancing');
  });

  it('tcp-request session reject closes the session without a log line', async () => {
    const mark = logMark(master);
    const out = await within(rawExchange(ports[5], 'ping').catch((e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? '' : Promise.reject(e))), 5000, 'session reject');
    assert.equal(out, '');
    await new Promise(r => setTimeout(r, 200));
    assert.doesNotMatch(master.stdout.slice(mark), / sess /);
  });

  it('tcp-response content: the first server bytes are held until a rule decides; a reject closes both sides', async () => {
    assert.equal(await within(rawExchange(ports[6], 'abc'), 5000, 'accepted'), 'OTHER:abc');
    const refused = await within(rawExchange(ports[7], 'abc').catch((e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? '' : Promise.reject(e))), 5000, 'refused');
    assert.equal(refused, '');
  });

  it('HTTP use_backend on named ACLs (several lines ORed, -f file), anonymous ACLs, || and !', async () => {
    const req = (path: string, host: string): string => `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;
    const origin = async (path: string, host: string): Promise<string> => {
      const out = await within(rawExchange(ports[3], req(path, host)), 5000, path);
      const body = out.slice(out.indexOf('\r\n\r\n') + 4);
      return body.split(':')[0] ?? '';
    };
    assert.equal(await origin('/admin/x', 'a'), 'SSH', 'path_beg from the -f file');
    assert.equal(await origin('/ops', 'api.example'), 'SSH', 'admin wins (first rule)');
    assert.equal(await origin('/x?to=ssh', 'a'), 'SSH', '|| anonymous ACL');
    assert.equal(await origin('/x', 'API.example'), 'WEB', 'hdr(host) -i');
    assert.equal(await origin('/x', 'v1.api.example'), 'WEB', 'second acl line of the same name');
    assert.equal(await origin('/x', 'example'), 'OTHER', 'default_backend');
    assert.equal(await origin('/xadmin', 'a'), 'OTHER');
  });

  it('ssl_fc, ssl_fc_sni, ssl_fc_protocol, ssl_c_used, ssl_c_verify, ssl_c_s_dn, ssl_c_i_dn in a log-format', async () => {
    const mark = logMark(master);
    const withCert = await within(new Promise<number>((resolve, reject) => {
      const s = tls.connect({
        port: ports[4], host: '127.0.0.1', servername: 'mtls.example', ca: readFileSync(join(dir, 'ca.crt')), checkServerIdentity: () => undefined,
        key: readFileSync(join(dir, 'client.key')), cert: readFileSync(join(dir, 'client.crt')),
      }, () => { const p = s.localPort!; s.end('x'); resolve(p); });
      s.on('error', reject);
      s.on('data', () => undefined);
    }), 5000, 'mtls');
    const line = await waitForLog(master, withCert, { from: mark });
    assert.equal(line, `127.0.0.1:${withCert} mtls 1 mtls.example TLSv1.3 1 0 "/CN=client one" "/CN=Rules Test CA"`);
    const noCert = await within(new Promise<number>((resolve, reject) => {
      const s = tls.connect({ port: ports[4], host: '127.0.0.1', ca: readFileSync(join(dir, 'ca.crt')), checkServerIdentity: () => undefined }, () => {
        const p = s.localPort!; s.end('x'); resolve(p);
      });
      s.on('error', reject);
      s.on('data', () => undefined);
    }), 5000, 'no client cert');
    assert.equal(await waitForLog(master, noCert, { from: mark }), `127.0.0.1:${noCert} mtls 1 - TLSv1.3 0 0 "" ""`);
  });
});
