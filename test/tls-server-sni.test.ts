/**
 * `server ... ssl sni <expr>`: the SNI sent to the server comes from the
 * request (here the Host header), the certificate is checked against it,
 * and a kept-alive server connection only serves a request whose SNI is
 * the same.
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as https from 'node:https';
import * as tls from 'node:tls';
import * as net from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeCa } from './certs';
import { startMaster, tempDir, writeConfig, freePorts, within, runSwitchyard, type Master } from './helpers';

const tmp = tempDir('sy-srvsni-');
const dir = tmp.dir;
/** Keep-alive requests on one connection, one per Host; returns each response body. */
async function requests(port: number, hosts: string[]): Promise<string[]> {
  const c = net.connect(port, '127.0.0.1');
  const out: string[] = [];
  let buf = '';
  for (const h of hosts) {
    c.write(`GET / HTTP/1.1\r\nHost: ${h}\r\n\r\n`);
    for (;;) {
      const eoh = buf.indexOf('\r\n\r\n');
      if (eoh >= 0) {
        const len = Number(/\r\ncontent-length: *(\d+)/i.exec(buf.slice(0, eoh))?.[1] ?? 0);
        if (buf.length >= eoh + 4 + len) {
          out.push(`${buf.split(' ')[1]} ${buf.slice(eoh + 4, eoh + 4 + len)}`);
          buf = buf.slice(eoh + 4 + len);
          break;
        }
      }
      const more = await new Promise<string | null>(r => { c.once('data', d => r(d.toString('latin1'))); c.once('close', () => r(null)); });
      if (more === null) { c.destroy(); return out; }
      buf += more;
    }
  }
  c.destroy();
  return out;
}

describe('server sni <expression>', () => {
  let master: Master;
  let origin: https.Server;
  let handshakes = 0;
  let port = 0;

  before(async () => {
    const { issue } = makeCa(dir, 'SNI CA');
    issue('a', 'a.example', 1);
    issue('b', 'b.example', 2);
    const ctx = (n: string): tls.SecureContext => tls.createSecureContext({ key: readFileSync(join(dir, `${n}.key`)), cert: readFileSync(join(dir, `${n}.crt`)) });
    const ca = ctx('a'), cb = ctx('b');
    origin = https.createServer({ SNICallback: (name, done) => done(null, name === 'b.example' ? cb : ca) }, (req, res) => {
      res.end(`sni=${(req.socket as tls.TLSSocket).servername || '-'}`);
    });
    origin.on('secureConnection', () => { handshakes++; });
    const o = await new Promise<number>(r => origin.listen(0, '127.0.0.1', () => r((origin.address() as net.AddressInfo).port)));
    [port] = await freePorts(1);
    master = await startMaster(writeConfig(dir, `
global
  nbthread 1
defaults
  mode http
  timeout connect 2s
  timeout client 5s
  timeout server 5s
frontend f
  bind 127.0.0.1:${port}
  default_backend b
backend b
  retries 0
  server s 127.0.0.1:${o} ssl verify required ca-file ${dir}/ca.crt sni req.hdr(host),lower
`));
    await master.ready();
  });

  after(async () => {
    await master?.stop();
    origin?.close();
    tmp.cleanup();
  });

  it('sends the SNI the expression gives, verifies the certificate against it, reuses only a matching connection', async () => {
    const before0 = handshakes;
    const r = await within(requests(port, ['A.example', 'a.example', 'b.example', 'b.example']), 10_000, 'requests');
    assert.deepEqual(r, ['200 sni=a.example', '200 sni=a.example', '200 sni=b.example', '200 sni=b.example']);
    assert.equal(handshakes - before0, 2, 'one connection per SNI');
  });

  it('a name the server certificate does not carry fails verification: 503', async () => {
    const r = await within(requests(port, ['c.example']), 10_000, 'c.example');
    assert.match(r[0], /^503 /);
  });

  it('a bad expression is a config error naming the server line', async () => {
    const cfg = writeConfig(dir, `
defaults
  mode http
  timeout connect 2s
  timeout client 5s
  timeout server 5s
backend b
  server s 127.0.0.1:1 ssl verify none sni req.hdr(host),nosuchconv
`, 'bad.cfg');
    const res = await runSwitchyard(['-c', '-f', cfg]);
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /bad\.cfg:8\].*sni 'req\.hdr\(host\),nosuchconv': unknown converter 'nosuchconv'/);
  });
});
