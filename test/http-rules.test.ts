/**
 * http-request / http-response / http-after-response rules through the real
 * master: deny, return, redirect (scheme https with ssl_fc), tarpit, auth,
 * header and URL rewrites, set-var into the log, response rewrites and
 * deny, after-response rules on server and generated responses, and the
 * CR/LF guard on values built from samples.
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startMaster, tempDir, writeConfig, freePorts, within, waitForLog, logMark, type Master } from './helpers';

const tmp = tempDir('sy-httprules-');
const dir = tmp.dir;

interface Seen { method: string; url: string; headers: Record<string, string | string[] | undefined>; raw: string[] }

/** One response: status line, headers (lower-cased names, in order), body. */
interface Reply { status: number; reason: string; headers: Array<[string, string]>; body: string }

function header(r: Reply, name: string): string | undefined {
  return r.headers.find(([n]) => n === name)?.[1];
}

/** Sends raw request bytes (one request, Connection: close), parses the response. */
function send(port: number, text: string, tlsOpts?: tls.ConnectionOptions): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const onConnect = (): void => { s.write(text); };
    const s: net.Socket = tlsOpts ? tls.connect({ port, host: '127.0.0.1', ...tlsOpts }, onConnect) : net.connect(port, '127.0.0.1', onConnect);
    let data = '';
    s.on('data', (d) => { data += d.toString('latin1'); });
    s.on('error', reject);
    s.on('close', () => {
      const eoh = data.indexOf('\r\n\r\n');
      if (eoh < 0) return reject(new Error(`no response: ${JSON.stringify(data)}`));
      const lines = data.slice(0, eoh).split('\r\n');
      const m = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(lines[0]);
      if (!m) return reject(new Error(`bad status line: ${lines[0]}`));
      const headers = lines.slice(1).map((l): [string, string] => { const c = l.indexOf(':'); return [l.slice(0, c).toLowerCase(), l.slice(c + 1).trim()]; });
      resolve({ status: Number(m[1]), reason: m[2], headers, body: data.slice(eoh + 4) });
    });
  });
}

const GET = (path: string, extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: www.example\r\n${extra}Connection: close\r\n\r\n`;

describe('HTTP rules', () => {
  let master: Master;
  let origin: http.Server;
  const seen: Seen[] = [];
  let ports: number[] = [];

  before(async () => {
    const ssl = (...args: string[]): string => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' }).toString();
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'k.key', '-out', 'k.crt', '-days', '30', '-subj', '/CN=www.example');
    writeFileSync(join(dir, '403.http'), 'HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 11\r\n\r\nsite denied');
    writeFileSync(join(dir, '404.http'), 'HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\ncontent-length: 9\r\n\r\nsite gone');
    writeFileSync(join(dir, 'k.pem'), readFileSync(join(dir, 'k.crt'), 'latin1') + readFileSync(join(dir, 'k.key'), 'latin1'));
    origin = http.createServer((req, res) => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, raw: req.rawHeaders });
      const u = new URL(req.url!, 'http://x');
      if (u.searchParams.has('status')) res.statusCode = Number(u.searchParams.get('status'));
      if (u.searchParams.has('delay')) { setTimeout(() => res.end('late'), Number(u.searchParams.get('delay'))); return; }
      res.setHeader('X-Server', 'origin');
      res.setHeader('X-Secret', 'internal');
      res.end(`origin ${req.method} ${req.url}`);
    });
    const o = await new Promise<number>(r => origin.listen(0, '127.0.0.1', () => r((origin.address() as net.AddressInfo).port)));
    ports = await freePorts(5);
    master = await startMaster(writeConfig(dir, `
defaults
  mode http
  timeout connect 2s
  timeout client 5s
  timeout server 5s
  timeout tarpit 300ms
  log stdout format raw local0

frontend fe
  bind 127.0.0.1:${ports[0]}
  bind 127.0.0.1:${ports[1]} ssl crt ${dir}/k.pem
  log-format "%ci:%cp %ST %tsc who=%[var(txn.who)] method=%[method]"
  acl blocked path_beg /blocked
  acl api path_beg /api/
  http-request deny if blocked
  http-request deny deny_status 429 content-type text/plain string "slow down\\n" if { path /busy }
  http-request return status 200 content-type text/plain lf-string "hello %[src] %[method]\\n" hdr X-Made-By switchyard if { path /hello }
  http-request redirect scheme https code 301 if { path_beg /secure } !{ ssl_fc }
  http-request redirect prefix https://new.example drop-query if { path_beg /moved }
  http-request tarpit if { path /tarpit }
  http-request auth realm Private if { path_beg /private } !{ req.hdr(authorization) -m found }
  http-request set-log-level silent if { path /quiet }
  http-request set-src req.hdr(x-real-ip) if { req.hdr(x-real-ip) -m found }
  http-request set-timeout server 200ms if { path /impatient }
  option forwardfor
  http-request set-var(txn.who) req.hdr(x-user),lower
  http-request set-var(txn.path) path
  http-request set-header X-Forwarded-Proto https if { ssl_fc }
  http-request set-header X-Forwarded-Proto http unless { ssl_fc }
  http-request add-header X-Client %[src]
  http-request del-header X-Remove-Me
  http-request replace-header X-Agent ^(\\w+)/.* \\1
  http-request set-header X-Echo %[url_param(v),url_dec]
  http-request set-path /v2%[path,regsub(^/api,)] if api
  http-request set-query rewritten=1 if { path /query }
  http-request set-method POST if { path /post-me }
  http-request normalize-uri path-merge-slashes
  http-response set-header X-Via switchyard
  http-response del-header X-Secret
  http-response set-status 202 reason Accepted-By-Rule if { status 200 } { var(txn.path) -m str /status }
  http-response deny if { status 418 }
  http-after-response set-header X-After yes
  default_backend be

frontend bodies
  bind 127.0.0.1:${ports[3]}
  option http-buffer-request
  log-format "%ci:%cp bodies %hr"
  declare capture request len 3
  http-request capture req.hdr(x-tag) len 4
  http-request capture method id 0
  http-request deny if { req.body -m sub forbidden }
  http-request set-header X-Body-Len %[req.body_len]
  http-request set-header X-Body-Param %[req.body_param(user)]
  default_backend be

frontend waiter
  bind 127.0.0.1:${ports[4]}
  http-request wait-for-body time 2s at-least 4 if METH_POST
  http-request deny if { req.body -m sub forbidden }
  http-request set-header X-Body-Len %[req.body_len]
  default_backend be

frontend nosrv
  bind 127.0.0.1:${ports[2]}
  http-after-response set-header X-After-Error yes
  errorfiles site 403
  http-error status 429 content-type text/plain string "calm down" hdr Retry-After 10
  http-request deny if { path /denied }
  http-request deny deny_status 429 if { path /slow }
  http-request deny deny_status 404 if { path /gone }
  default_backend empty

http-errors site
  errorfile 403 ${dir}/403.http
  errorfile 404 ${dir}/404.http

backend be
  server s 127.0.0.1:${o}
backend empty
`));
    await master.ready();
  });

  after(async () => {
    await master?.stop();
    origin?.close();
    tmp.cleanup();
  });

  const last = (): Seen => seen[seen.length - 1];

  it('deny: 403 page, logged PR, nothing reaches the origin; deny_status with a body', async () => {
    const n = seen.length;
    const mark = logMark(master);
    const r = await within(send(ports[0], GET('/blocked/x')), 5000, 'deny');
    assert.equal(r.status, 403);
    assert.match(r.body, /403 Forbidden/);
    assert.equal(header(r, 'x-after'), 'yes', 'http-after-response runs on the pages we generate');
    assert.equal(seen.length, n, 'the origin saw nothing');
    assert.match(master.stdout.slice(mark) + (await master.waitFor(/ 403 PR-- /, 5000, 0))[0], / 403 PR-- /);
    const busy = await within(send(ports[0], GET('/busy')), 5000, 'busy');
    assert.equal(busy.status, 429);
    assert.equal(header(busy, 'content-type'), 'text/plain');
    assert.equal(busy.body, 'slow down\n');
  });

  it('return: status, content-type, lf-string body with samples, extra header', async () => {
    const r = await within(send(ports[0], GET('/hello')), 5000, 'return');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'hello 127.0.0.1 GET\n');
    assert.equal(header(r, 'x-made-by'), 'switchyard');
    assert.equal(header(r, 'content-length'), String(r.body.length));
  });

  it('redirect scheme https unless ssl_fc; redirect prefix with drop-query', async () => {
    const r = await within(send(ports[0], GET('/secure/a?b=1')), 5000, 'redirect');
    assert.equal(r.status, 301);
    assert.equal(header(r, 'location'), 'https://www.example/secure/a?b=1');
    const over = await within(send(ports[1], GET('/secure/a'), { rejectUnauthorized: false }), 5000, 'over tls');
    assert.equal(over.status, 200, 'already over TLS: no redirect');
    assert.equal(last().headers['x-forwarded-proto'], 'https');
    const m = await within(send(ports[0], GET('/moved/here?x=1')), 5000, 'prefix');
    assert.equal(m.status, 302);
    assert.equal(header(m, 'location'), 'https://new.example/moved/here');
  });

  it('tarpit: held for timeout tarpit, then 500, logged PT', async () => {
    const n = seen.length;
    const t0 = Date.now();
    const r = await within(send(ports[0], GET('/tarpit')), 5000, 'tarpit');
    assert.equal(r.status, 500);
    assert.ok(Date.now() - t0 >= 280, `answered after ${Date.now() - t0} ms`);
    assert.equal(seen.length, n);
    await master.waitFor(/ 500 PT-- /, 5000);
  });

  it('auth: 401 with the realm', async () => {
    const r = await within(send(ports[0], GET('/private/x')), 5000, 'auth');
    assert.equal(r.status, 401);
    assert.equal(header(r, 'www-authenticate'), 'Basic realm="Private"');
    const ok = await within(send(ports[0], GET('/private/x', 'Authorization: Basic eDp5\r\n')), 5000, 'auth ok');
    assert.equal(ok.status, 200);
  });

  it('request rewrites: set/add/del/replace-header, set-path with a regsub, set-query, set-method, normalize-uri', async () => {
    await within(send(ports[0], GET('/api//users?id=3', 'X-Remove-Me: 1\r\nX-Agent: curl/8.1 (x)\r\n')), 5000, 'api');
    const s = last();
    assert.equal(s.url, '/v2/users?id=3', 'normalize-uri ran last; set-path kept the query');
    assert.equal(s.headers['x-forwarded-proto'], 'http');
    assert.equal(s.headers['x-client'], '127.0.0.1');
    assert.equal(s.headers['x-remove-me'], undefined);
    assert.equal(s.headers['x-agent'], 'curl');
    await within(send(ports[0], GET('/query?a=1')), 5000, 'query');
    assert.equal(last().url, '/query?rewritten=1');
    await within(send(ports[0], GET('/post-me')), 5000, 'method');
    assert.equal(last().method, 'POST');
  });

  it('a sample holding CR/LF cannot add a header: it is %-encoded', async () => {
    await within(send(ports[0], GET('/x?v=a%0d%0aInjected:%20yes')), 5000, 'inject');
    const s = last();
    assert.equal(s.headers['x-echo'], 'a%0D%0AInjected: yes');
    assert.equal(s.headers['injected'], undefined);
  });

  it('response rules: set-header, del-header, set-status with reason, deny on status; after-response on server responses', async () => {
    const r = await within(send(ports[0], GET('/plain')), 5000, 'plain');
    assert.equal(r.status, 200);
    assert.equal(header(r, 'x-via'), 'switchyard');
    assert.equal(header(r, 'x-secret'), undefined);
    assert.equal(header(r, 'x-after'), 'yes');
    const st = await within(send(ports[0], GET('/status')), 5000, 'status');
    assert.equal(st.status, 202);
    assert.equal(st.reason, 'Accepted-By-Rule');
    assert.equal(st.body, 'origin GET /status');
    const teapot = await within(send(ports[0], GET('/tea?status=418')), 5000, 'deny response');
    assert.equal(teapot.status, 502);
    assert.equal(header(teapot, 'x-after'), 'yes');
  });

  it('set-var in a rule, var() in the log-format', async () => {
    const mark = logMark(master);
    const s = net.connect(ports[0], '127.0.0.1');
    await new Promise<void>(r => s.once('connect', () => r()));
    const port = s.localPort!;
    s.write(GET('/logged', 'X-User: ALICE\r\n'));
    s.resume();
    await within(new Promise(r => s.on('close', r)), 5000, 'response');
    const line = await waitForLog(master, port, { from: mark });
    assert.match(line, / 200 ---- who=alice method=GET$/);
  });

  it('http-errors sections, errorfiles with a code list, http-error status with a string body and a header', async () => {
    const d = await within(send(ports[2], GET('/denied')), 5000, 'site 403');
    assert.deepEqual([d.status, d.body], [403, 'site denied']);
    const slow = await within(send(ports[2], GET('/slow')), 5000, 'http-error 429');
    assert.deepEqual([slow.status, slow.body, header(slow, 'retry-after'), header(slow, 'content-type')], [429, 'calm down', '10', 'text/plain']);
    // 404 was not imported (errorfiles site 403): HAProxy's own page.
    const gone = await within(send(ports[2], GET('/gone')), 5000, 'builtin 404');
    assert.equal(gone.status, 404);
    assert.match(gone.body, /404 Not Found/);
  });

  it('set-log-level silent, set-src (log and X-Forwarded-For), set-timeout server', async () => {
    const quiet = net.connect(ports[0], '127.0.0.1');
    await new Promise<void>(r => quiet.once('connect', () => r()));
    const qport = quiet.localPort!;
    quiet.write(GET('/quiet'));
    quiet.resume();
    await within(new Promise(r => quiet.on('close', r)), 5000, 'quiet');
    const loud = net.connect(ports[0], '127.0.0.1');
    await new Promise<void>(r => loud.once('connect', () => r()));
    loud.write(GET('/loud', 'X-Real-IP: 203.0.113.9\r\n'));
    loud.resume();
    await within(new Promise(r => loud.on('close', r)), 5000, 'loud');
    assert.equal(last().headers['x-forwarded-for'], '203.0.113.9');
    // The loud line (client address replaced) is logged, the quiet one never is.
    await master.waitFor(/^203\.0\.113\.9:\d+ 200 /m, 5000);
    assert.doesNotMatch(master.stdout, new RegExp(`^127\\.0\\.0\\.1:${qport} `, 'm'));
    const t0 = Date.now();
    const slow = await within(send(ports[0], GET('/impatient?delay=2000')), 5000, 'impatient');
    assert.equal(slow.status, 504);
    assert.ok(Date.now() - t0 < 1500, 'the rule\'s 200 ms, not the 5 s of the backend');
  });

  it('req.body and friends in http-request rules with option http-buffer-request (content-length and chunked)', async () => {
    const post = (body: string, chunked: boolean): string => chunked
      ? `POST /form HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`
      : `POST /form HTTP/1.1\r\nHost: a\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
    const ok = await within(send(ports[3], post('user=alice&x=1', false).replace('Host: a\r\n', 'Host: a\r\nX-Tag: abcdef\r\n')), 5000, 'cl body');
    assert.equal(ok.status, 200);
    // declare capture + capture ... id, and capture ... len: slots in %hr.
    await master.waitFor(/ bodies \{POS\|abcd\}/, 5000);
    assert.equal(last().headers['x-body-len'], '14');
    assert.equal(last().headers['x-body-param'], 'alice');
    const chunked = await within(send(ports[3], post('user=bob', true)), 5000, 'chunked body');
    assert.equal(chunked.status, 200);
    assert.equal(last().headers['x-body-param'], 'bob', 'the de-chunked body');
    const n = seen.length;
    const denied = await within(send(ports[3], post('a=this+is+forbidden', false)), 5000, 'deny on body');
    assert.equal(denied.status, 403);
    assert.equal(seen.length, n, 'nothing reached the origin');
  });

  it('wait-for-body: the rules after it see a body that arrives later; a GET does not wait', async () => {
    const late = await within(new Promise<Reply>((resolve, reject) => {
      const c = net.connect(ports[4], '127.0.0.1', () => {
        c.write('POST /w HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\nConnection: close\r\n\r\n');
        setTimeout(() => c.write('abcdefghi'), 150);
      });
      let data = '';
      c.on('data', (d) => { data += d.toString('latin1'); });
      c.on('error', reject);
      c.on('close', () => {
        const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
        resolve({ status: m ? Number(m[1]) : 0, reason: '', headers: [], body: data });
      });
    }), 5000, 'late body');
    assert.equal(late.status, 200);
    assert.equal(last().headers['x-body-len'], '9', 'the rule after wait-for-body saw the body');
    const n = seen.length;
    const denied = await within(send(ports[4], 'POST /w HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\nConnection: close\r\n\r\nforbidden'), 5000, 'denied');
    assert.equal(denied.status, 403);
    assert.equal(seen.length, n);
    const get = await within(send(ports[4], GET('/g')), 5000, 'get');
    assert.equal(get.status, 200);
  });

  it('http-after-response also runs on a 503 the proxy generates', async () => {
    const r = await within(send(ports[2], GET('/')), 5000, '503');
    assert.equal(r.status, 503);
    assert.equal(header(r, 'x-after-error'), 'yes');
  });
});
