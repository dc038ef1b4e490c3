/**
 * TLS termination on `bind ... ssl crt ...` through the real master:
 * certificates of a local CA made with the `openssl` command, SNI selection
 * over three names, a wildcard and the default, HTTP and TCP over TLS,
 * client certificates (`verify required ca-file`), the handshake-failure
 * log line, certificate errors with file:line, and a renewed certificate
 * picked up by a reload.
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { startMaster, tempDir, writeConfig, freePorts, runSwitchyard, waitForLog, logMark, within, type Master } from './helpers';

const tmp = tempDir('sy-tls-');
const dir = tmp.dir;
const ssl = (...args: string[]): string => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' }).toString();

/** A key and a certificate for `cn` with `sans`, signed by the test CA; writes `<name>.pem` (chain + key). */
function issue(name: string, cn: string, sans: string[], serial: number): void {
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
  writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${sans.map(s => `DNS:${s}`).join(',')}\n`);
  ssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', String(serial), '-days', '30', '-extfile', `${name}.ext`, '-out', `${name}.crt`);
  writeFileSync(join(dir, `${name}.pem`), readFileSync(join(dir, `${name}.crt`), 'latin1') + readFileSync(join(dir, `${name}.key`), 'latin1'));
}

/** TLS connect with SNI `servername`; resolves with the server certificate's CN and the HTTP answer to GET `path`. */
function get(port: number, servername: string | undefined, path: string, extra: tls.ConnectionOptions = {}): Promise<{ cn: string; body: string; alpn: string | false | null }> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ port, host: '127.0.0.1', servername, ca: readFileSync(join(dir, 'ca.crt')), checkServerIdentity: () => undefined, ...extra }, () => {
      s.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    });
    let data = '';
    s.on('data', d => { data += d.toString('latin1'); });
    s.on('error', reject);
    s.on('end', () => {
      const cn = String(s.getPeerCertificate().subject?.CN ?? '');
      resolve({ cn, body: data.slice(data.indexOf('\r\n\r\n') + 4), alpn: s.alpnProtocol });
      s.destroy();
    });
  });
}

describe('bind ssl: TLS termination', () => {
  let master: Master;
  let origin: http.Server;
  let ports: number[] = [];
  let cfgPath = '';
  let cfgText = '';

  before(async () => {
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '30', '-subj', '/CN=Switchyard Test CA');
    issue('a', 'a.example', ['a.example'], 1);
    issue('b', 'b.example', ['b.example'], 2);
    issue('wild', 'wild', ['*.wild.example'], 3);
    issue('client', 'client one', ['client.example'], 4);
    copyFileSync(join(dir, 'a.pem'), join(dir, 'rot.pem'));
    origin = http.createServer((req, res) => res.end(`origin ${req.url}`));
    const o = await new Promise<number>(r => origin.listen(0, '127.0.0.1', () => r((origin.address() as net.AddressInfo).port)));
    ports = await freePorts(4);
    cfgText = `
global
  nbthread 2
defaults
  mode http
  log stdout format raw local0
  option httplog
  timeout connect 2s
  timeout client 5s
  timeout server 5s
frontend https
  bind 127.0.0.1:${ports[0]} ssl crt ${dir}/a.pem crt ${dir}/b.pem crt ${dir}/wild.pem alpn http/1.1
  default_backend be
frontend tcps
  mode tcp
  log-format "%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %sslv %sslc"
  bind 127.0.0.1:${ports[1]} ssl crt ${dir}/b.pem
  default_backend be
frontend mtls
  bind 127.0.0.1:${ports[2]} ssl crt ${dir}/a.pem verify required ca-file ${dir}/ca.crt
  default_backend be
frontend rotating
  bind 127.0.0.1:${ports[3]} ssl crt ${dir}/rot.pem
  default_backend be
backend be
  server s1 127.0.0.1:${o}
`;
    cfgPath = writeConfig(dir, cfgText);
    master = await startMaster(cfgPath);
  });

  after(async () => {
    await master?.stop();
    origin?.close();
  });

  it('picks the certificate by SNI: exact names, a one-label wildcard, the first one by default', async () => {
    for (const [sni, cn] of [['a.example', 'a.example'], ['b.example', 'b.example'], ['x.wild.example', 'wild'], ['unknown.example', 'a.example'], [undefined, 'a.example']] as const) {
      const r = await within(get(ports[0], sni, '/p'), 5000, `GET with SNI ${sni}`);
      assert.equal(r.cn, cn, `SNI ${sni}`);
      assert.equal(r.body, 'origin /p');
    }
    // The wildcard covers one label only.
    assert.equal((await get(ports[0], 'y.x.wild.example', '/')).cn, 'a.example');
  });

  it('negotiates ALPN http/1.1 and logs the request like plain HTTP', async () => {
    const mark = logMark(master);
    const s = tls.connect({ port: ports[0], host: '127.0.0.1', servername: 'b.example', ca: readFileSync(join(dir, 'ca.crt')), checkServerIdentity: () => undefined, ALPNProtocols: ['h2', 'http/1.1'] });
    await new Promise<void>((resolve, reject) => { s.once('secureConnect', () => resolve()); s.once('error', reject); });
    assert.equal(s.alpnProtocol, 'http/1.1');
    const port = s.localPort!;
    s.write('GET /logged HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    s.resume();
    await new Promise(r => s.on('end', r));
    s.destroy();
    const line = await waitForLog(master, port, { from: mark, fe: 'https~' });
    assert.match(line, / https~ be\/s1 .* 200 .* "GET \/logged HTTP\/1\.1"$/);
  });

  it('a session resumes on either worker (ticket keys shared by the master), 20 reconnections', async () => {
    const ca = readFileSync(join(dir, 'ca.crt'));
    const once = (session?: Buffer): Promise<{ reused: boolean; session: Buffer | undefined }> => new Promise((resolve, reject) => {
      let saved: Buffer | undefined;
      const s = tls.connect({ port: ports[0], host: '127.0.0.1', servername: 'a.example', ca, checkServerIdentity: () => undefined, session, maxVersion: 'TLSv1.2' });
      s.on('session', (b: Buffer) => { saved = b; });
      s.on('error', reject);
      s.once('secureConnect', () => {
        const reused = s.isSessionReused();
        s.write('GET /r HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
        s.resume();
        s.on('end', () => { s.destroy(); resolve({ reused, session: saved }); });
      });
    });
    const first = await once();
    assert.equal(first.reused, false);
    assert.ok(first.session, 'a ticket was issued');
    let reused = 0;
    for (let i = 0; i < 20; i++) if ((await once(first.session)).reused) reused++;
    // nbthread 2: the kernel spreads the 20 connections over both workers.
    assert.equal(reused, 20, 'every reconnection resumed without a full handshake');
  });

  it('%sslv, %sslc and the ~ of %ft describe the client connection', async () => {
    const mark = logMark(master);
    const s = tls.connect({ port: ports[1], host: '127.0.0.1', servername: 'b.example', ca: readFileSync(join(dir, 'ca.crt')), checkServerIdentity: () => undefined });
    await new Promise<void>((resolve, reject) => { s.once('secureConnect', () => resolve()); s.once('error', reject); });
    const port = s.localPort!;
    const version = s.getProtocol();
    const cipher = s.getCipher().name;
    s.end('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    s.resume();
    await new Promise(r => s.on('close', r));
    const line = await waitForLog(master, port, { from: mark, fe: 'tcps~' });
    assert.match(line, new RegExp(` tcps~ be/s1 .* ${version} ${cipher}$`));
  });

  it('terminates TLS in mode tcp too', async () => {
    const r = await get(ports[1], 'b.example', '/tcp');
    assert.equal(r.cn, 'b.example');
    assert.equal(r.body, 'origin /tcp');
  });

  it('verify required: a client certificate from the CA is accepted, none is refused', async () => {
    const ok = await get(ports[2], 'a.example', '/mtls', { cert: readFileSync(join(dir, 'client.crt')), key: readFileSync(join(dir, 'client.key')) });
    assert.equal(ok.body, 'origin /mtls');
    const refused = await get(ports[2], 'a.example', '/mtls').then(() => 'served', (e: NodeJS.ErrnoException) => e.code ?? e.message);
    assert.notEqual(refused, 'served');
  });

  it('a client speaking plain HTTP to a TLS port fails the handshake; HAProxy\'s line is logged', async () => {
    const mark = logMark(master);
    const c = net.connect(ports[0], '127.0.0.1');
    await new Promise(r => c.once('connect', r));
    const port = c.localPort!;
    c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise(r => c.once('close', r));
    const line = await waitForLog(master, port, { from: mark });
    assert.match(line, /^127\.0\.0\.1:\d+ \[[^\]]+\] https\/1: SSL handshake failure$/);
  });

  it('a renewed certificate is served after a reload', async () => {
    assert.equal((await get(ports[3], 'a.example', '/')).cn, 'a.example');
    copyFileSync(join(dir, 'b.pem'), join(dir, 'rot.pem'));
    const r = await master.reload();
    assert.ok(r.ok, r.line);
    assert.equal((await get(ports[3], 'a.example', '/')).cn, 'b.example');
  });

  it('certificate problems refuse the configuration with file:line', async () => {
    writeFileSync(join(dir, 'mismatch.pem'), readFileSync(join(dir, 'a.crt'), 'latin1') + readFileSync(join(dir, 'b.key'), 'latin1'));
    const cases: Array<[string, RegExp]> = [
      [`bind 127.0.0.1:1 ssl crt ${dir}/missing.pem`, /missing\.pem/],
      [`bind 127.0.0.1:1 ssl crt ${dir}/mismatch.pem`, /key/i],
      ['bind 127.0.0.1:1 ssl', /requires at least one 'crt'/],
      [`bind 127.0.0.1:1 ssl crt ${dir}/a.pem alpn h2,http/1.1`, /HTTP\/2 is not supported yet/],
    ];
    for (const [bind, re] of cases) {
      const p = writeConfig(dir, `defaults\n  mode http\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\nfrontend f\n  ${bind}\n  default_backend b\nbackend b\n  server s 127.0.0.1:1\n`, 'bad.cfg');
      const r = await runSwitchyard(['-c', '-f', p]);
      assert.equal(r.code, 1, `${bind}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, new RegExp(`bad\\.cfg:7`), `${bind}: ${r.stderr}`);
      assert.match(r.stderr, re, bind);
    }
  });
});

describe('global ssl-default-bind-* / ssl-server-verify', () => {
  it('ssl-default-bind-options ssl-min-ver TLSv1.3 refuses a TLS 1.2 client; a bind line overrides it', async () => {
    const [p1, p2] = await freePorts(2);
    const m = await startMaster(writeConfig(dir, `
global
  nbthread 1
  ssl-default-bind-options ssl-min-ver TLSv1.3
  ssl-server-verify none
defaults
  mode tcp
  timeout connect 1s
  timeout client 5s
  timeout server 5s
frontend strict
  bind 127.0.0.1:${p1} ssl crt ${dir}/a.pem
  default_backend b
frontend lenient
  bind 127.0.0.1:${p2} ssl crt ${dir}/a.pem ssl-min-ver TLSv1.2
  default_backend b
backend b
  server s 127.0.0.1:1 ssl
`, 'defaults.cfg'));
    try {
      const hello = (port: number, maxVersion: tls.SecureVersion): Promise<string> => new Promise(resolve => {
        const c = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false, maxVersion });
        c.once('secureConnect', () => { resolve(String(c.getProtocol())); c.destroy(); });
        c.once('error', e => resolve(`error ${(e as NodeJS.ErrnoException).code ?? e.message}`));
      });
      assert.equal(await hello(p1, 'TLSv1.3'), 'TLSv1.3');
      assert.match(await hello(p1, 'TLSv1.2'), /^error /);
      assert.equal(await hello(p2, 'TLSv1.2'), 'TLSv1.2');
    } finally {
      await m.stop();
    }
  });
});

describe('server ... ssl: TLS to servers', () => {
  let master: Master;
  let origin: https.Server;
  let tlsConns = 0;
  let ports: number[] = [];
  const tmp2 = tempDir('sy-tls-srv-');
  const d2 = tmp2.dir;

  before(async () => {
    // The CA and certificates of the suite above live in `dir` (made in its before()).
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'other-ca.key', '-out', 'other-ca.crt', '-days', '30', '-subj', '/CN=Other CA');
    origin = https.createServer({ cert: readFileSync(join(dir, 'a.crt')), key: readFileSync(join(dir, 'a.key')) }, (req, res) => res.end(`tls origin ${req.url}`));
    origin.on('secureConnection', () => { tlsConns++; });
    const o = await new Promise<number>(r => origin.listen(0, '127.0.0.1', () => r((origin.address() as net.AddressInfo).port)));
    ports = await freePorts(4);
    master = await startMaster(writeConfig(d2, `
global
  nbthread 1
defaults
  mode http
  timeout connect 2s
  timeout client 5s
  timeout server 5s
frontend good
  bind 127.0.0.1:${ports[0]}
  default_backend b_good
frontend badca
  bind 127.0.0.1:${ports[1]}
  default_backend b_badca
frontend noverify
  bind 127.0.0.1:${ports[2]}
  default_backend b_noverify
frontend wrongname
  bind 127.0.0.1:${ports[3]}
  default_backend b_wrongname
backend b_good
  server s 127.0.0.1:${o} ssl verify required ca-file ${dir}/ca.crt sni str(a.example)
backend b_badca
  retries 1
  server s 127.0.0.1:${o} ssl verify required ca-file ${dir}/other-ca.crt
backend b_noverify
  server s 127.0.0.1:${o} ssl verify none
backend b_wrongname
  server s 127.0.0.1:${o} ssl ca-file ${dir}/ca.crt verifyhost b.example
`));
  });

  after(async () => {
    await master?.stop();
    origin?.close();
    tmp2.cleanup();
    tmp.cleanup();
  });

  /** Keep-alive GETs on one client connection; returns the statuses and bodies. */
  const requests = async (port: number, n: number): Promise<string[]> => {
    const c = net.connect(port, '127.0.0.1');
    const out: string[] = [];
    let buf = '';
    for (let i = 0; i < n; i++) {
      c.write(`GET /r${i} HTTP/1.1\r\nHost: x\r\n\r\n`);
      for (;;) {
        const eoh = buf.indexOf('\r\n\r\n');
        if (eoh >= 0) {
          const head = buf.slice(0, eoh);
          const len = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
          if (buf.length >= eoh + 4 + len) {
            out.push(`${head.split(' ')[1]} ${buf.slice(eoh + 4, eoh + 4 + len)}`);
            buf = buf.slice(eoh + 4 + len);
            break;
          }
        }
        const more = await new Promise<string | null>(r => { c.once('data', d => r(d.toString('latin1'))); c.once('close', () => r(null)); });
        if (more === null) { c.destroy(); out.push(`closed: ${buf.slice(0, 40)}`); return out; }
        buf += more;
      }
    }
    c.destroy();
    return out;
  };

  it('verify required with the right CA and SNI: served; the TLS connection is reused', async () => {
    const before0 = tlsConns;
    assert.deepEqual(await requests(ports[0], 3), ['200 tls origin /r0', '200 tls origin /r1', '200 tls origin /r2']);
    assert.equal(tlsConns - before0, 1, 'one TLS connection to the origin for three requests');
  });

  it('a certificate from another CA fails the connect: 503 after the retries', async () => {
    const r = await requests(ports[1], 1);
    assert.match(r[0], /^503 /);
  });

  it('verify none connects without checking', async () => {
    assert.deepEqual(await requests(ports[2], 1), ['200 tls origin /r0']);
  });

  it('verifyhost: a certificate for another name fails', async () => {
    assert.match((await requests(ports[3], 1))[0], /^503 /);
  });

  it('a server with ssl and no ca-file is refused at load (verify required by default)', async () => {
    const p = writeConfig(d2, 'defaults\n  mode http\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\nfrontend f\n  bind 127.0.0.1:1\n  default_backend b\nbackend b\n  server s 127.0.0.1:1 ssl\n', 'bad.cfg');
    const r = await runSwitchyard(['-c', '-f', p]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /bad\.cfg:10.*no CA file/);
  });
});
