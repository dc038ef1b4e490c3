/**
 * Bodies are streamed, never buffered: 1 GiB uploads and downloads through
 * the real master (one worker), with content-length and chunked framing,
 * hashed at the far end, while the worker's resident memory is sampled from
 * /proc (no event tells when memory grows, so it is polled).
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { childPids, freePorts, procStatusKb, startProxy, within, type ProxyRun } from './helpers';
import { RawOrigin, bodyHash, hashBody, writeBody } from './http-wire';

const GIB = 1024 * 1024 * 1024;
const RSS_LIMIT_KB = 64 * 1024;
const WARMUP = 128 * 1024 * 1024;

/** Read one head from a socket; resolves with it and the bytes after it. */
function readHead(s: net.Socket): Promise<{ head: string; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d]);
      const e = buf.indexOf('\r\n\r\n');
      if (e < 0) return;
      s.off('data', onData);
      s.off('close', onClose);
      s.pause();
      resolve({ head: buf.subarray(0, e).toString('latin1'), rest: buf.subarray(e + 4) });
    };
    const onClose = (): void => reject(new Error(`closed before a head: ${JSON.stringify(buf.toString('latin1'))}`));
    s.on('data', onData);
    s.once('close', onClose);
  });
}

/** The `n` bytes of a body after its head (paused socket; resumed here). */
function readAll(s: net.Socket, first: Buffer, n: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = first;
    const check = (): void => { if (buf.length >= n) { s.off('data', onData); resolve(buf.subarray(0, n).toString('latin1')); } };
    const onData = (d: Buffer): void => { buf = Buffer.concat([buf, d]); check(); };
    s.on('data', onData);
    s.once('close', () => reject(new Error(`closed after ${buf.length} of ${n} bytes`)));
    s.resume();
    check();
  });
}

function framing(head: string): number | 'chunked' {
  if (/\r\ntransfer-encoding: *chunked/i.test(head)) return 'chunked';
  const m = /\r\ncontent-length: *(\d+)/i.exec(head);
  return m ? Number(m[1]) : 0;
}

/** Largest VmRSS growth of the worker processes over their value at start(). */
class RssWatch {
  private readonly base = new Map<number, number>();
  maxGrowthKb = 0;
  private timer: NodeJS.Timeout | null = null;
  constructor(private readonly pids: number[]) {}
  start(): void {
    for (const p of this.pids) this.base.set(p, procStatusKb(p, 'VmRSS'));
    this.timer = setInterval(() => this.sample(), 50);
  }
  sample(): void {
    for (const p of this.pids) this.maxGrowthKb = Math.max(this.maxGrowthKb, procStatusKb(p, 'VmRSS') - this.base.get(p)!);
  }
  stop(): number { clearInterval(this.timer!); this.sample(); return this.maxGrowthKb; }
}

describe('http streaming (1 GiB bodies)', () => {
  let run: ProxyRun;
  let origin: RawOrigin;
  let port = 0;
  let workers: number[] = [];

  before(async () => {
    origin = new RawOrigin(({ socket, head, rest }) => {
      const [method, path] = head.split(' ');
      if (method === 'POST') {
        // Upload: hash the payload, answer with the hash.
        void hashBody(socket, rest, framing(head)).then(r => {
          const text = `${r.bytes} ${r.sha256}`;
          socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${text.length}\r\n\r\n${text}`);
        }, () => socket.destroy());
        return;
      }
      // Download: GET /<size>/<cl|chunked>
      const [, size, kind] = path.split('/');
      const chunked = kind === 'chunked';
      socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n${chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${size}`}\r\n\r\n`);
      void writeBody(socket, Number(size), { chunked, seed: 11 }).catch(() => { /* client went away */ });
    });
    const originPort = await origin.listen();
    [port] = await freePorts(1);
    run = await startProxy([
      'global',
      '    nbthread 1',
      'defaults',
      '    mode http',
      '    timeout connect 5s',
      '    timeout client 60s',
      '    timeout server 60s',
      'frontend fe',
      `    bind 127.0.0.1:${port}`,
      '    default_backend be',
      'backend be',
      `    server s 127.0.0.1:${originPort}`,
      '',
    ].join('\n'));
    workers = childPids(run.master.pid);
    assert.equal(workers.length, 1, 'one worker');
    // Warm-up: a fresh worker's first large transfer grows its RSS by ~36 MiB
    // once (V8 sizing its young generation, JIT code), measured; the limit is
    // about what a transfer adds once the worker runs.
    const c = net.connect(port, '127.0.0.1');
    c.write(`POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: ${WARMUP}\r\n\r\n`);
    const answer = readHead(c);
    await writeBody(c, WARMUP);
    const { head, rest } = await within(answer, 10_000, 'warm-up response');
    assert.equal(await readAll(c, rest, framing(head) as number), `${WARMUP} ${bodyHash(WARMUP)}`);
    c.destroy();
  });

  after(async () => {
    await run?.stop();
    await origin?.close();
  });

  for (const chunked of [false, true]) {
    it(`upload 1 GiB ${chunked ? 'chunked' : 'content-length'}: hash matches at the origin, worker RSS grows < 64 MiB`, async t => {
      const c = net.connect(port, '127.0.0.1');
      await new Promise(r => c.once('connect', r));
      const rss = new RssWatch(workers);
      rss.start();
      c.write(`POST /up HTTP/1.1\r\nHost: a\r\n${chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${GIB}`}\r\n\r\n`);
      const answer = readHead(c);
      await writeBody(c, GIB, { chunked, seed: 1 });
      const hash = bodyHash(GIB, 1);
      const { head, rest } = await within(answer, 60_000, 'response');
      const text = await within(readAll(c, rest, framing(head) as number), 10_000, 'response body');
      const growth = rss.stop();
      c.destroy();
      assert.match(head, /^HTTP\/1\.1 200 /);
      assert.equal(text, `${GIB} ${hash}`, 'the origin got every byte, in order');
      t.diagnostic(`worker VmRSS growth: ${growth} kB`);
      assert.ok(growth < RSS_LIMIT_KB, `worker RSS grew by ${growth} kB`);
    });

    it(`download 1 GiB ${chunked ? 'chunked' : 'content-length'}: hash matches at the client, worker RSS grows < 64 MiB`, async t => {
      const c = net.connect(port, '127.0.0.1');
      await new Promise(r => c.once('connect', r));
      const rss = new RssWatch(workers);
      rss.start();
      const path = `/${GIB}/${chunked ? 'chunked' : 'cl'}`;
      c.write(`GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`);
      const { head, rest } = await within(readHead(c), 10_000, 'response head');
      const body = hashBody(c, rest, framing(head));
      c.resume();
      const got = await within(body, 60_000, 'body');
      const growth = rss.stop();
      c.destroy();
      assert.match(head, chunked ? /\r\ntransfer-encoding: chunked/i : new RegExp(`\\r\\ncontent-length: ${GIB}`, 'i'));
      assert.equal(got.bytes, GIB);
      assert.equal(got.sha256, bodyHash(GIB, 11));
      t.diagnostic(`worker VmRSS growth: ${growth} kB`);
      assert.ok(growth < RSS_LIMIT_KB, `worker RSS grew by ${growth} kB`);
    });
  }
});
