/**
 * 100,000-entry IP ACL and map files through the real master: lookups by
 * the workers, a reload picking up a changed map, and the reload's compile
 * (which reads and indexes them) running off the master's event loop: the
 * runtime API answers while it is under way.
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startMaster, tempDir, writeConfig, freePorts, within, apiCommand, type Master } from './helpers';

const tmp = tempDir('sy-large-');
const dir = tmp.dir;

/** 100k networks: 10.x.y.z/32 hosts and 11.x.y.0/24 nets, then the entries the tests look for. */
function bigList(extra: string[]): string {
  const lines: string[] = ['# generated'];
  for (let i = 0; lines.length < 100_000 - extra.length; i++) {
    lines.push(i % 2 === 0 ? `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` : `11.${(i >> 16) & 255}.${(i >> 8) & 255}.0/24`);
  }
  return lines.concat(extra).join('\n') + '\n';
}

function bigMap(extra: string[]): string {
  const lines: string[] = [];
  for (let i = 0; lines.length < 100_000 - extra.length; i++) lines.push(`12.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32 region-${i % 7}`);
  return lines.concat(extra).join('\n') + '\n';
}

function get(port: number, path: string): Promise<{ status: number; region: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode!, region: res.headers['x-region'] as string | undefined, body }));
    }).on('error', reject);
  });
}

describe('100k-entry ACL and map files', () => {
  let master: Master;
  let origin: http.Server;
  let port = 0;
  const sock = join(dir, 'api.sock');

  before(async () => {
    writeFileSync(join(dir, 'deny.lst'), bigList(['192.0.2.0/24']));
    writeFileSync(join(dir, 'regions.map'), bigMap(['127.0.0.0/8 loopback']));
    origin = http.createServer((req, res) => res.end(`region=${req.headers['x-region'] ?? '-'}`));
    const o = await new Promise<number>(r => origin.listen(0, '127.0.0.1', () => r((origin.address() as net.AddressInfo).port)));
    [port] = await freePorts(1);
    master = await startMaster(writeConfig(dir, `
global
  stats socket ${sock} level admin
defaults
  mode http
  timeout connect 2s
  timeout client 5s
  timeout server 5s
frontend fe
  bind 127.0.0.1:${port}
  http-request deny if { src -f ${dir}/deny.lst }
  http-request deny if { req.hdr(x-ip),field(1,:) -m ip -f ${dir}/deny.lst }
  http-request set-header X-Region %[src,map_ip(${dir}/regions.map,unknown)]
  http-request set-header X-Region %[req.hdr(x-ip),map_ip(${dir}/regions.map,unknown)] if { req.hdr(x-ip) -m found }
  http-request return status 200 content-type text/plain lf-string "%[req.hdr(x-region)]" if { path /region }
  default_backend be
backend be
  server s 127.0.0.1:${o}
`));
    await master.ready(60_000);
  });

  after(async () => {
    await master?.stop();
    origin?.close();
    tmp.cleanup();
  });

  it('matches an address against 100k networks and maps it through a 100k-entry map', async () => {
    const r = await within(get(port, '/'), 5000, 'loopback');
    assert.deepEqual([r.status, r.body], [200, 'region=loopback']);
    const lookups: Array<[string, number, string]> = [
      ['10.0.1.2', 403, ''], // a /32 of the list (i = 258)
      ['11.0.1.77', 403, ''], // inside a /24 of the list (i = 257)
      ['192.0.2.200', 403, ''], // the last line
      ['10.0.1.3', 200, 'unknown'], // odd i: not a /32 of the list, and not in the map
      ['12.0.0.5', 200, 'region-5'],
      ['12.1.134.158', 200, `region-${99998 % 7}`], // the last generated entry
    ];
    for (const [ip, status, region] of lookups) {
      const res = await within(new Promise<{ status: number; body: string }>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port, path: '/region', agent: false, headers: { 'X-IP': ip } }, (rs) => {
          let b = '';
          rs.on('data', (d) => { b += d; });
          rs.on('end', () => resolve({ status: rs.statusCode!, body: b }));
        }).on('error', reject);
      }), 5000, ip);
      assert.equal(res.status, status, ip);
      if (status === 200) assert.equal(res.body, region, ip);
    }
  });

  it('a reload reads the changed map (compiled in the master\'s config thread)', async () => {
    writeFileSync(join(dir, 'regions.map'), bigMap(['127.0.0.0/8 loopback-v2']));
    const r0 = await master.reload(60_000);
    assert.ok(r0.ok, r0.line);
    assert.match(await apiCommand(sock, 'show info'), /^Name: /m);
    const r = await within(get(port, '/'), 5000, 'after reload');
    assert.equal(r.body, 'region=loopback-v2');
  });
});
