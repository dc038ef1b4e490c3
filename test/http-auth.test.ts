/**
 * userlist sections and HTTP basic authentication through the real master:
 * `http-request auth unless { http_auth(<userlist>) }`, group checks with
 * http_auth_group, SHA-512 crypt (openssl passwd -6), bcrypt and
 * insecure-password users, and the hashes we refuse at load.
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import { execFileSync } from 'node:child_process';
import { startMaster, tempDir, writeConfig, freePorts, within, runSwitchyard, type Master } from './helpers';

const tmp = tempDir('sy-auth-');
const dir = tmp.dir;

function get(port: number, path: string, auth?: string): Promise<{ status: number; wwwAuth: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = auth ? { Authorization: 'Basic ' + Buffer.from(auth).toString('base64') } : {};
    const r = http.get({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode!, wwwAuth: res.headers['www-authenticate'] as string | undefined, body }));
    });
    r.on('error', reject);
  });
}

describe('userlist and http_auth', () => {
  let master: Master;
  let origin: http.Server;
  let port = 0;

  before(async () => {
    const sha512 = execFileSync('openssl', ['passwd', '-6', '-salt', 's4ltS4lt', 'wonder']).toString().trim();
    origin = http.createServer((req, res) => res.end(`origin ${req.url}`));
    const o = await new Promise<number>(r => origin.listen(0, '127.0.0.1', () => r((origin.address() as net.AddressInfo).port)));
    [port] = await freePorts(1);
    master = await startMaster(writeConfig(dir, `
userlist admins
  group ops
  group dev users carol
  user alice password ${sha512} groups ops
  user bob insecure-password builder
  user carol password $2b$06$2KIGjat0Ko5ndz3i.pubCuPB0T6rQRjssHIdSUlzap.l9UUx.qVDa

defaults
  mode http
  timeout connect 2s
  timeout client 5s
  timeout server 5s

frontend fe
  bind 127.0.0.1:${port}
  http-request auth realm Admin unless { http_auth(admins) }
  http-request deny if { path_beg /ops } !{ http_auth_group(admins) ops }
  http-request deny if { path_beg /dev } !{ http_auth_group(admins) dev ops }
  default_backend be

backend be
  server s 127.0.0.1:${o}
`));
    await master.ready();
  });

  after(async () => {
    await master?.stop();
    origin?.close();
    tmp.cleanup();
  });

  it('no or wrong credentials: 401 with the realm', async () => {
    const none = await within(get(port, '/'), 5000, 'none');
    assert.deepEqual([none.status, none.wwwAuth], [401, 'Basic realm="Admin"']);
    for (const bad of ['alice:wrong', 'bob:Builder', 'nobody:x', 'carol:pW']) {
      const r = await within(get(port, '/', bad), 5000, bad);
      assert.equal(r.status, 401, bad);
    }
  });

  it('SHA-512 crypt, bcrypt and insecure-password users get in (twice: the cached outcome too)', async () => {
    for (const good of ['alice:wonder', 'bob:builder', 'carol:pw', 'alice:wonder', 'carol:pw']) {
      const r = await within(get(port, '/x', good), 5000, good);
      assert.deepEqual([r.status, r.body], [200, 'origin /x'], good);
    }
  });

  it('http_auth_group: membership from the user line and from the group line', async () => {
    assert.equal((await get(port, '/ops/a', 'alice:wonder')).status, 200, 'alice is in ops (user ... groups)');
    assert.equal((await get(port, '/ops/a', 'bob:builder')).status, 403, 'bob is in no group');
    assert.equal((await get(port, '/dev/a', 'carol:pw')).status, 200, 'carol is in dev (group ... users)');
    assert.equal((await get(port, '/dev/a', 'alice:wonder')).status, 200, 'any listed group');
  });

  it('hashes that cannot be checked are config errors naming the line; unknown userlist in http_auth too', async () => {
    const cfg = (user: string, ul = 'l'): string => writeConfig(dir, `
userlist l
  ${user}
defaults
  mode http
  timeout connect 2s
  timeout client 5s
  timeout server 5s
frontend f
  bind 127.0.0.1:1
  http-request auth unless { http_auth(${ul}) }
  default_backend b
backend b
  server s 127.0.0.1:1
`, 'bad.cfg');
    const md5 = await runSwitchyard(['-c', '-f', cfg('user x password $1$abc$OGyl6dDvZCDiGmIVbeuCq/')]);
    assert.notEqual(md5.code, 0);
    assert.match(md5.stderr, /bad\.cfg:3\].*MD5-crypt \(\$1\$\) passwords are not supported/);
    const group = await runSwitchyard(['-c', '-f', cfg('user x insecure-password y groups nope')]);
    assert.match(group.stderr, /unable to find group 'nope'/);
    const unknown = await runSwitchyard(['-c', '-f', cfg('user x insecure-password y', 'other')]);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /unable to find userlist 'other'/);
  });
});
