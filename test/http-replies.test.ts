/**
 * The reply forms of issue 5 through the real master: `http-error` pages
 * built per request (lf-string, lf-file, hdr values with samples) for every
 * response that uses the proxy's page (errors the stream sends, deny without
 * a payload, `default-errorfiles`), and `errorfiles <name>` in a rule's
 * reply. Expected bytes marked "haproxy" are what haproxy 2.6.12 sent for
 * the same config (raw sockets on loopback).
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import * as http from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startMaster, tempDir, writeConfig, freePorts, within, runSwitchyard, type Master } from './helpers';

const tmp = tempDir('sy-replies-');
const dir = tmp.dir;

/**
 * One keep-alive connection: each exchange sends a request and resolves
 * with the whole response (head and content-length bytes, none for HEAD),
 * as raw text; `closed` tells whether the proxy closed after it.
 */
class Conn {
  private readonly s: net.Socket;
  private buf = '';
  private ended = false;
  private wake: (() => void) | null = null;

  constructor(port: number) {
    this.s = net.connect(port, '127.0.0.1');
    this.s.on('data', (d) => { this.buf += d.toString('latin1'); this.wake?.(); });
    this.s.on('close', () => { this.ended = true; this.wake?.(); });
    this.s.on('error', () => { /* close follows */ });
  }

  async exchange(req: string, head = false): Promise<{ text: string; closed: boolean }> {
    this.s.write(req);
    for (;;) {
      const eoh = this.buf.indexOf('\r\n\r\n');
      if (eoh >= 0) {
        const m = /\r\ncontent-length: (\d+)/i.exec(this.buf.slice(0, eoh + 2));
        const end = eoh + 4 + (head || m === null ? 0 : Number(m[1]));
        if (this.buf.length >= end) {
          const text = this.buf.slice(0, end);
          this.buf = this.buf.slice(end);
          // A response that closes the connection ends it right after.
          if (/\r\nconnection: close\r\n/i.test(text)) await this.closedSoon();
          return { text, closed: this.ended };
        }
      }
      if (this.ended) throw new Error(`connection closed after ${JSON.stringify(this.buf)}`);
      await new Promise<void>((r) => { this.wake = r; });
      this.wake = null;
    }
  }

  private async closedSoon(): Promise<void> {
    while (!this.ended) {
      await new Promise<void>((r) => { this.wake = r; });
      this.wake = null;
    }
  }

  destroy(): void { this.s.destroy(); }
}

const GET = (path: string, extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: h.example\r\n${extra}\r\n`;

describe('HTTP replies: http-error pages built per request, errorfiles in rule replies', () => {
  let master: Master;
  let origin: http.Server;
  let ports: number[] = [];

  before(async () => {
    writeFileSync(join(dir, 'e403.http'), 'HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 9\r\nX-From: section\r\n\r\nsection!\n');
    writeFileSync(join(dir, 'e500.http'), 'HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\nfile page\n');
    writeFileSync(join(dir, 'body.lf'), 'body of %[path] via lf-file\n');
    origin = http.createServer((req, res) => res.end(`origin ${req.url}`));
    const o = await new Promise<number>(r => origin.listen(0, '127.0.0.1', () => r((origin.address() as net.AddressInfo).port)));
    ports = await freePorts(3);
    master = await startMaster(writeConfig(dir, `
defaults
  mode http
  timeout connect 2s
  timeout client 5s
  timeout server 5s
  http-error status 502 content-type text/plain lf-string "defaults page for %[path]" hdr X-Level defaults

http-errors site
  errorfile 403 ${dir}/e403.http

frontend fe
  bind 127.0.0.1:${ports[0]}
  http-error status 503 content-type text/plain lf-string "no server for %[path] on %[req.hdr(host)]" hdr X-Req "%[method]" hdr X-Empty "%[req.hdr(nope)]" hdr X-Const c1
  http-error status 404 content-type text/plain lf-file ${dir}/body.lf
  http-error status 400 content-type text/plain lf-string "bad %[path]" hdr X-A "%[req.hdr(host)]"
  http-error status 500 content-type text/plain lf-string "replaced by the errorfile below"
  errorfile 500 ${dir}/e500.http
  http-request deny status 403 errorfiles site if { path /s403 }
  http-request deny status 404 errorfiles site if { path /s404 }
  http-request return status 404 default-errorfiles if { path /r404 }
  http-request deny deny_status 400 if { path /d400 }
  http-request deny deny_status 500 if { path /d500 }
  http-request deny deny_status 502 if { path /d502 }
  use_backend be_lf if { path_beg /be }
  default_backend empty

frontend after
  bind 127.0.0.1:${ports[1]}
  http-after-response set-header X-After %[status]
  http-request deny deny_status 502
  default_backend empty

frontend resp
  bind 127.0.0.1:${ports[2]}
  timeout tarpit 100ms
  http-request tarpit status 403 errorfiles site if { path /tarpit }
  http-response deny status 403 errorfiles site if { path /refused }
  default_backend be_origin

backend be_origin
  server o 127.0.0.1:${o}
backend empty
backend be_lf
  http-error status 503 content-type text/html lf-string "<p>backend says %[path]</p>"
`));
    await master.ready();
  });

  after(async () => {
    await master?.stop();
    await new Promise(r => origin?.close(r));
    tmp.cleanup();
  });

  it('an error the stream sends uses the frontend\'s per-request page (haproxy bytes), keep-alive kept', async () => {
    const c = new Conn(ports[0]);
    try {
      const r = await within(c.exchange(GET('/x?q=1')), 5000, '503');
      assert.equal(r.text, 'HTTP/1.1 503 Service Unavailable\r\nx-req: GET\r\nx-const: c1\r\ncontent-length: 29\r\ncontent-type: text/plain\r\n\r\nno server for /x on h.example');
      assert.equal(r.closed, false);
      // The same connection, another request: rendered again for it.
      const r2 = await within(c.exchange(GET('/y', 'Connection: close\r\n')), 5000, '503 close');
      assert.equal(r2.text, 'HTTP/1.1 503 Service Unavailable\r\nx-req: GET\r\nx-const: c1\r\ncontent-length: 29\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nno server for /y on h.example');
      assert.equal(r2.closed, true);
    } finally {
      c.destroy();
    }
  });

  it('the backend\'s page wins over the frontend\'s; HEAD gets the head only and the connection goes on', async () => {
    const c = new Conn(ports[0]);
    try {
      const r = await within(c.exchange(GET('/be/a')), 5000, 'backend 503');
      assert.equal(r.text, 'HTTP/1.1 503 Service Unavailable\r\ncontent-length: 25\r\ncontent-type: text/html\r\n\r\n<p>backend says /be/a</p>');
      // haproxy: the same head, no body.
      const h = await within(c.exchange('HEAD /be/b HTTP/1.1\r\nHost: h.example\r\n\r\n', true), 5000, 'HEAD');
      assert.equal(h.text, 'HTTP/1.1 503 Service Unavailable\r\ncontent-length: 25\r\ncontent-type: text/html\r\n\r\n');
      const again = await within(c.exchange(GET('/be/c')), 5000, 'after HEAD');
      assert.match(again.text, /<p>backend says \/be\/c<\/p>$/);
      // HTTP/1.0 without keep-alive: the close form.
      const old = await within(c.exchange('GET /be/d HTTP/1.0\r\nHost: h.example\r\n\r\n'), 5000, 'HTTP/1.0');
      assert.equal(old.text, 'HTTP/1.1 503 Service Unavailable\r\ncontent-length: 25\r\ncontent-type: text/html\r\nconnection: close\r\n\r\n<p>backend says /be/d</p>');
    } finally {
      c.destroy();
    }
  });

  it('deny without a payload and default-errorfiles render the page; lf-file bodies (haproxy bytes)', async () => {
    const c = new Conn(ports[0]);
    try {
      const d = await within(c.exchange(GET('/d400')), 5000, 'deny 400');
      assert.equal(d.text, 'HTTP/1.1 400 Bad Request\r\nx-a: h.example\r\ncontent-length: 9\r\ncontent-type: text/plain\r\n\r\nbad /d400');
      const r = await within(c.exchange(GET('/r404')), 5000, 'return 404');
      assert.equal(r.text, 'HTTP/1.1 404 Not Found\r\ncontent-length: 26\r\ncontent-type: text/plain\r\n\r\nbody of /r404 via lf-file\n');
      // An errorfile after the http-error for the same status replaces it.
      const e = await within(c.exchange(GET('/d500')), 5000, 'deny 500');
      assert.equal(e.text, 'HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/plain\r\ncontent-length: 10\r\n\r\nfile page\n');
      // Inherited from the defaults section.
      const p = await within(c.exchange(GET('/d502')), 5000, 'deny 502');
      assert.equal(p.text, 'HTTP/1.1 502 Bad Gateway or Proxy Error\r\nx-level: defaults\r\ncontent-length: 23\r\ncontent-type: text/plain\r\n\r\ndefaults page for /d502');
    } finally {
      c.destroy();
    }
  });

  it('errorfiles <name> in a reply: the section\'s page, or a reply without payload (haproxy bytes)', async () => {
    const c = new Conn(ports[0]);
    try {
      const s = await within(c.exchange(GET('/s403')), 5000, 'section 403');
      assert.equal(s.text, 'HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 9\r\nx-from: section\r\n\r\nsection!\n');
      const n = await within(c.exchange(GET('/s404')), 5000, 'section without 404');
      assert.equal(n.text, 'HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n');
      assert.equal(n.closed, false);
    } finally {
      c.destroy();
    }
    assert.match(master.stderr, /status '404' referenced by an http reply not declared in http-errors section 'site'/);
  });

  it('errorfiles <name> in tarpit and http-response deny replies', async () => {
    const c = new Conn(ports[2]);
    try {
      const ok = await within(c.exchange(GET('/fine')), 5000, 'origin');
      assert.match(ok.text, /origin \/fine$/);
      const t = await within(c.exchange(GET('/tarpit')), 5000, 'tarpit');
      assert.equal(t.text, 'HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 9\r\nx-from: section\r\n\r\nsection!\n');
      const r = await within(c.exchange(GET('/refused')), 5000, 'response deny');
      assert.equal(r.text, 'HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 9\r\nx-from: section\r\n\r\nsection!\n');
    } finally {
      c.destroy();
    }
  });

  it('http-after-response rules run on a page rendered per request (names as the rule writes them)', async () => {
    const c = new Conn(ports[1]);
    try {
      const r = await within(c.exchange(GET('/z')), 5000, 'after');
      assert.equal(r.text, 'HTTP/1.1 502 Bad Gateway or Proxy Error\r\nx-level: defaults\r\ncontent-length: 20\r\ncontent-type: text/plain\r\nX-After: 502\r\n\r\ndefaults page for /z');
    } finally {
      c.destroy();
    }
  });

  it('errors at load: file:line of the http-error or rule, HAProxy\'s words', async () => {
    const text = `defaults
  mode http
  timeout connect 1s
  timeout client 5s
  timeout server 5s
frontend fe
  bind 127.0.0.1:1
  http-error status 502 content-type t lf-string "%[nope]"
  http-error status 504 content-type t string "x" hdr X-A "%[req.hdr(a),frob]"
  http-request deny errorfiles nosuch
  default_backend be
backend be
`;
    const cfg = writeConfig(dir, text, 'bad.cfg');
    const r = await runSwitchyard(['-c', '-f', cfg]);
    assert.equal(r.code, 1, r.stderr);
    // haproxy 2.6.12: "parsing [bad.cfg:8] : http-error : failed to parse sample expression <nope]> : unknown fetch method 'nope'"
    assert.match(r.stderr, new RegExp(`parsing \\[${cfg}:8\\] : 'http-error' : failed to parse sample expression <nope> : unknown fetch method 'nope'`));
    assert.match(r.stderr, new RegExp(`parsing \\[${cfg}:9\\] : 'http-error' : failed to parse sample expression <req.hdr\\(a\\),frob> : unknown converter 'frob'`));
    assert.match(r.stderr, new RegExp(`parsing \\[${cfg}:10\\] : 'http-request' : 'http-request deny' : unknown http-errors section 'nosuch' referenced by an http reply`));

    const noType = writeConfig(dir, text.replace('content-type t lf-string "%[nope]"', 'lf-string "x"'), 'notype.cfg');
    const r2 = await runSwitchyard(['-c', '-f', noType]);
    assert.equal(r2.code, 1, r2.stderr);
    // haproxy 2.6.12: "parsing [notype.cfg:8] : http-error : a content type must be defined with a log-format payload"
    assert.match(r2.stderr, new RegExp(`parsing \\[${noType}:8\\] : 'http-error' : a content type must be defined with a log-format payload`));
  });
});
