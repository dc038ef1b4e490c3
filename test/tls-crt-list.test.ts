/**
 * crt-list lines with their own protocol options: the ClientHello is read
 * before the handshake so that the line its SNI selects applies its verify
 * mode and TLS versions (OpenSSL's SNI callback alone would only swap the
 * certificate).
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tls from 'node:tls';
import * as net from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeCa } from './certs';
import { startMaster, tempDir, writeConfig, freePorts, within, type Master } from './helpers';

const tmp = tempDir('sy-crtlist-');
const dir = tmp.dir;
type Outcome = { ok: true; cn: string; version: string | null; reply: string } | { ok: false; error: string };

function attempt(port: number, sni: string, extra: tls.ConnectionOptions = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const s = tls.connect({ port, host: '127.0.0.1', servername: sni, ca: readFileSync(join(dir, 'ca.crt')), checkServerIdentity: () => undefined, ...extra }, () => {
      s.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    });
    let data = '';
    s.on('data', (d) => { data += d.toString('latin1'); });
    s.on('end', () => {
      resolve({ ok: true, cn: String(s.getPeerCertificate().subject?.CN ?? ''), version: s.getProtocol(), reply: data.slice(data.indexOf('\r\n\r\n') + 4) });
      s.destroy();
    });
    s.on('error', (e) => resolve({ ok: false, error: e.message }));
  });
}

describe('crt-list per-line options', () => {
  let master: Master;
  let port = 0;
  let ppPort = 0;
  let origin: net.Server;

  before(async () => {
    const { issue } = makeCa(dir, 'CrtList CA');
    issue('open', 'open.example', 1);
    issue('strict', 'strict.example', 2);
    issue('modern', 'modern.example', 3);
    issue('client', 'client', 4);
    writeFileSync(join(dir, 'list.txt'), [
      `${dir}/open.pem open.example`,
      `${dir}/strict.pem [verify required ca-file ${dir}/ca.crt] strict.example`,
      `${dir}/modern.pem [ssl-min-ver TLSv1.3] modern.example`,
      '',
    ].join('\n'));
    origin = net.createServer((c) => { c.on('data', () => c.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok')); c.on('error', () => undefined); });
    const op = await new Promise<number>(r => origin.listen(0, '127.0.0.1', () => r((origin.address() as net.AddressInfo).port)));
    [port, ppPort] = await freePorts(2);
    const cfg = writeConfig(dir, `
defaults
  mode http
  timeout connect 2s
  timeout client 5s
  timeout server 5s
frontend f
  bind 127.0.0.1:${port} ssl crt-list ${dir}/list.txt
  default_backend b
frontend pp
  bind 127.0.0.1:${ppPort} accept-proxy ssl crt-list ${dir}/list.txt
  log stdout format raw local0
  log-format "pp %ci:%cp %[ssl_fc_sni] %ST"
  default_backend b
backend b
  server s 127.0.0.1:${op}
`);
    master = await startMaster(cfg);
    await master.ready();
  });

  after(async () => {
    await master?.stop();
    origin?.close();
    tmp.cleanup();
  });

  it('accept-proxy with ssl: the PROXY header first, then the handshake; the header gives the client address', async () => {
    const raw = net.connect(ppPort, '127.0.0.1');
    await new Promise<void>((r, j) => { raw.once('connect', () => r()); raw.once('error', j); });
    raw.write('PROXY TCP4 192.0.2.7 127.0.0.1 4567 443\r\n');
    const r = await within(attempt(0, 'open.example', { socket: raw }), 5000, 'proxied TLS');
    assert.deepEqual(r.ok && [r.cn, r.reply], ['open.example', 'ok']);
    await master.waitFor(/pp 192\.0\.2\.7:4567 open\.example 200/, 5000);
    // Per-line options still apply behind the header.
    const raw2 = net.connect(ppPort, '127.0.0.1');
    await new Promise<void>((r2, j) => { raw2.once('connect', () => r2()); raw2.once('error', j); });
    raw2.write('PROXY TCP4 192.0.2.8 127.0.0.1 4568 443\r\n');
    const refused = await within(attempt(0, 'modern.example', { socket: raw2, maxVersion: 'TLSv1.2' }), 5000, 'proxied modern 1.2');
    assert.equal(refused.ok, false);
  });

  it('a line without options: no client certificate asked', async () => {
    const r = await within(attempt(port, 'open.example'), 5000, 'open');
    assert.deepEqual(r.ok && [r.cn, r.reply], ['open.example', 'ok']);
  });

  it('a line with [verify required ca-file]: refused without a client certificate, served with one', async () => {
    const no = await within(attempt(port, 'strict.example'), 5000, 'strict without cert');
    // TLS 1.3: the server's refusal arrives as an alert after the client's handshake completes.
    assert.ok(!no.ok || no.reply === '', `expected a refusal, got ${JSON.stringify(no)}`);
    const yes = await within(attempt(port, 'strict.example', { key: readFileSync(join(dir, 'client.key')), cert: readFileSync(join(dir, 'client.crt')) }), 5000, 'strict with cert');
    assert.deepEqual(yes.ok && [yes.cn, yes.reply], ['strict.example', 'ok']);
  });

  it('a line with [ssl-min-ver TLSv1.3]: a TLS 1.2 client is refused there and served on the other names', async () => {
    const refused = await within(attempt(port, 'modern.example', { maxVersion: 'TLSv1.2' }), 5000, 'modern 1.2');
    assert.equal(refused.ok, false);
    const ok13 = await within(attempt(port, 'modern.example'), 5000, 'modern 1.3');
    assert.deepEqual(ok13.ok && [ok13.cn, ok13.version], ['modern.example', 'TLSv1.3']);
    const other12 = await within(attempt(port, 'open.example', { maxVersion: 'TLSv1.2' }), 5000, 'open 1.2');
    assert.deepEqual(other12.ok && [other12.cn, other12.version, other12.reply], ['open.example', 'TLSv1.2', 'ok']);
  });
});
