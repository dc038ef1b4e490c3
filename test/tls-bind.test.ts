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
    tmp.cleanup();
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
