/**
 * `bind ... tls-ticket-keys <file>`: the session-ticket keys come from a
 * file, so a ticket survives a restart of the whole proxy (the built-in
 * keys are new per master) and is shared with other nodes that read the same
 * file, haproxy 2.6.12 included. Bad files are config errors with file:line.
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tls from 'node:tls';
import * as net from 'node:net';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startMaster, tempDir, writeConfig, freePorts, within, runSwitchyard, alertLines } from './helpers';

const tmp = tempDir('sy-tkeys-');
const dir = tmp.dir;
const ssl = (...args: string[]): string => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' }).toString();

function connectOnce(port: number, session?: Buffer): Promise<{ reused: boolean; session: Buffer | undefined }> {
  return new Promise((resolve, reject) => {
    let saved: Buffer | undefined;
    const s = tls.connect({ port, host: '127.0.0.1', servername: 'k.example', ca: readFileSync(join(dir, 'ca.crt')), checkServerIdentity: () => undefined, session, maxVersion: 'TLSv1.2' });
    s.on('session', (b: Buffer) => { saved = b; });
    s.on('error', reject);
    s.once('secureConnect', () => {
      const reused = s.isSessionReused();
      s.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      s.resume();
      s.on('end', () => { s.destroy(); resolve({ reused, session: saved }); });
    });
  });
}

describe('tls-ticket-keys', () => {
  let origin: net.Server;
  let originPort = 0;

  before(async () => {
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '30', '-subj', '/CN=Keys CA');
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'k.key', '-out', 'k.csr', '-subj', '/CN=k.example');
    ssl('x509', '-req', '-in', 'k.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', '1', '-days', '30', '-out', 'k.crt');
    writeFileSync(join(dir, 'k.pem'), readFileSync(join(dir, 'k.crt'), 'latin1') + readFileSync(join(dir, 'k.key'), 'latin1'));
    writeFileSync(join(dir, 'keys'), [1, 2, 3].map(() => randomBytes(48).toString('base64')).join('\n') + '\n');
    origin = net.createServer((c) => { c.on('data', () => c.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok')); c.on('error', () => undefined); });
    originPort = await new Promise<number>(r => origin.listen(0, '127.0.0.1', () => r((origin.address() as net.AddressInfo).port)));
  });

  after(() => { origin?.close(); tmp.cleanup(); });

  const config = (port: number, keys: string): string => `
defaults
  mode http
  timeout connect 2s
  timeout client 5s
  timeout server 5s
frontend f
  bind 127.0.0.1:${port} ssl crt ${dir}/k.pem tls-ticket-keys ${keys}
  default_backend b
backend b
  server s 127.0.0.1:${originPort}
`;

  it('a ticket from one master resumes on a new master reading the same file', async () => {
    const [port] = await freePorts(1);
    const cfg = writeConfig(dir, config(port, join(dir, 'keys')), 'a.cfg');
    let m = await startMaster(cfg);
    await m.ready();
    const first = await within(connectOnce(port), 5000, 'first');
    assert.equal(first.reused, false);
    await m.stop();
    m = await startMaster(cfg);
    await m.ready();
    try {
      const again = await within(connectOnce(port, first.session), 5000, 'after restart');
      assert.equal(again.reused, true, 'resumed with the key of the file');
    } finally {
      await m.stop();
    }
  });

  it('tickets are shared with haproxy 2.6 reading the same file, both ways', { skip: !existsSync('/usr/sbin/haproxy') }, async () => {
    const [hp, sp] = await freePorts(2);
    writeFileSync(join(dir, 'h.cfg'), config(hp, join(dir, 'keys')));
    const h = spawn('/usr/sbin/haproxy', ['-f', join(dir, 'h.cfg'), '-db'], { stdio: 'ignore' });
    try {
      await within((async () => {
        for (;;) {
          const ok = await new Promise<boolean>(r => { const s = net.connect(hp, '127.0.0.1', () => { s.destroy(); r(true); }); s.on('error', () => r(false)); });
          if (ok) return;
          await new Promise(r => setTimeout(r, 50));
        }
      })(), 10_000, 'haproxy listening');
      const fromHaproxy = await within(connectOnce(hp), 5000, 'haproxy');
      const m = await startMaster(writeConfig(dir, config(sp, join(dir, 'keys')), 'b.cfg'));
      await m.ready();
      try {
        const onUs = await within(connectOnce(sp, fromHaproxy.session), 5000, 'switchyard');
        assert.equal(onUs.reused, true, 'the ticket haproxy issued was accepted');
        const ours = await within(connectOnce(sp), 5000, 'switchyard ticket');
        const onHaproxy = await within(connectOnce(hp, ours.session), 5000, 'back to haproxy');
        assert.equal(onHaproxy.reused, true, 'and the reverse');
      } finally {
        await m.stop();
      }
    } finally {
      h.kill('SIGKILL');
    }
  });

  it('bad key files are config errors naming the bind line', async () => {
    const [port] = await freePorts(1);
    const cases: Array<[string, RegExp]> = [
      [randomBytes(48).toString('base64') + '\n', /holds 1 key\(s\); at least 3 are needed/],
      [[1, 2, 3].map(() => randomBytes(80).toString('base64')).join('\n'), /80-byte \(AES-256\) ticket keys are not supported/],
      ['not base64!\n', /line 1: invalid base64/],
    ];
    for (const [text, re] of cases) {
      writeFileSync(join(dir, 'bad'), text);
      const cfg = writeConfig(dir, config(port, join(dir, 'bad')), 'bad.cfg');
      const r = await runSwitchyard(['-c', '-f', cfg]);
      assert.notEqual(r.code, 0);
      const alert = alertLines(r.stderr).find(l => l.includes("'tls-ticket-keys'"));
      assert.ok(alert, r.stderr);
      assert.match(alert, re);
      assert.match(alert, /bad\.cfg:8\]/);
    }
    const r = await runSwitchyard(['-c', '-f', writeConfig(dir, config(port, join(dir, 'missing')), 'miss.cfg')]);
    assert.match(r.stderr, /unable to load ssl tickets keys file '.*missing'/);
  });
});
