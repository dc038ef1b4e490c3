/**
 * TCP-mode relaying with the real master (nbthread 2) and real origins:
 * bulk transfer integrity both ways at once, backpressure, half-close in
 * both directions, and abuse (garbage, resets at every stage) that must end
 * streams, never workers.
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { randomBytes } from 'node:crypto';
import {
  Blackhole, Origin, TcpClient, childPids, freePorts, hashIncoming, procStatusKb, sendPattern, startProxy,
  within, type ProxyRun,
} from './helpers';

const MiB = 1024 * 1024;

/** A promise with its resolve function, for origins that report to a test. */
function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>(r => { resolve = r; });
  return { promise, resolve };
}

describe('tcp proxy', () => {
  let run: ProxyRun;
  let hole: Blackhole;
  const origins: Origin[] = [];
  let ports: Record<string, number> = {};
  /** Per-test hooks: the origin's handler for the `bulk` and `half` frontends. */
  let bulkHandler: (s: net.Socket) => void = s => s.destroy();
  let halfHandler: (s: net.Socket) => void = s => s.destroy();

  before(async () => {
    hole = await Blackhole.start();
    const mk = async (name: string, h?: (s: net.Socket, o: Origin) => void): Promise<number> => {
      const o = new Origin(name, h);
      origins.push(o);
      return o.listen();
    };
    const oBulk = await mk('bulk', s => bulkHandler(s));
    const oHalf = await mk('half', s => halfHandler(s));
    const oEcho = await mk('echo'); // greets with "echo\n", then echoes
    // Streams 8 MiB at whoever connects (abuse: a client that stops reading, then resets).
    const oBig = await mk('big', s => { s.resume(); void sendPattern(s, 8 * MiB, 7).catch(() => { /* reset */ }); });
    // Resets the connection after the first bytes it receives.
    const oRst = await mk('rst', s => { s.once('data', () => s.resetAndDestroy()); });
    const names = ['bulk', 'half', 'echo', 'big', 'rst', 'hole'];
    const p = await freePorts(names.length);
    ports = Object.fromEntries(names.map((n, i) => [n, p[i]]));
    const pair = (name: string, port: number, extra = ''): string =>
      `frontend fe_${name}\n    bind 127.0.0.1:${ports[name]}\n    default_backend be_${name}\nbackend be_${name}\n${extra}    server ${name} 127.0.0.1:${port}\n`;
    run = await startProxy([
      'global',
      '    nbthread 2',
      'defaults',
      '    mode tcp',
      '    timeout connect 5s',
      '    timeout client 30s',
      '    timeout server 30s',
      pair('bulk', oBulk),
      pair('half', oHalf),
      pair('echo', oEcho),
      pair('big', oBig),
      pair('rst', oRst),
      pair('hole', hole.port, '    retries 0\n'),
      '',
    ].join('\n'));
  });

  after(async () => {
    await run?.stop();
    hole?.close();
    await Promise.all(origins.map(o => o.close()));
  });

  it('100 MiB each way at the same time arrive intact (SHA-256), streamed without buffering them', async () => {
    const SIZE = 100 * MiB;
    const atOrigin = deferred<{ received: Promise<{ bytes: number; sha256: string }>; sent: Promise<string> }>();
    bulkHandler = s => atOrigin.resolve({ received: hashIncoming(s), sent: sendPattern(s, SIZE, 0xb0b) });
    const workers = childPids(run.master.pid);
    const hwmBefore = workers.map(w => procStatusKb(w, 'VmHWM'));
    const t0 = Date.now();
    const c = await TcpClient.open(ports.bulk);
    c.socket.removeAllListeners('data'); // hash, do not keep the bytes
    const clientReceived = hashIncoming(c.socket);
    const clientSent = sendPattern(c.socket, SIZE, 0xa11ce);
    const o = await within(atOrigin.promise, 10_000, 'origin connection');
    const [up, down, originGot, clientGot] = await within(Promise.all([clientSent, o.sent, o.received, clientReceived]), 60_000, '100 MiB transfer');
    const ms = Date.now() - t0;
    assert.equal(originGot.bytes, SIZE, 'bytes the origin received');
    assert.equal(originGot.sha256, up, 'SHA-256 client → origin');
    assert.equal(clientGot.bytes, SIZE, 'bytes the client received');
    assert.equal(clientGot.sha256, down, 'SHA-256 origin → client');
    await within(c.closed, 5000, 'connection closed after both ends');
    // The worker relays; it must not have held the transfer in memory.
    const growthMiB = Math.max(...workers.map((w, i) => procStatusKb(w, 'VmHWM') - hwmBefore[i])) / 1024;
    assert.ok(growthMiB < 64, `a worker's peak RSS grew by ${growthMiB.toFixed(1)} MiB`);
    console.log(`# 2 × 100 MiB through the proxy in ${ms} ms (${(200 / (ms / 1000)).toFixed(0)} MiB/s total), worker peak RSS +${growthMiB.toFixed(1)} MiB`);
  });

  it('backpressure: while the origin does not read, the client cannot push more than socket buffers hold', async () => {
    const SIZE = 96 * MiB;
    const atOrigin = deferred<{ socket: net.Socket; received: Promise<{ bytes: number; sha256: string }> }>();
    bulkHandler = s => { s.pause(); atOrigin.resolve({ socket: s, received: hashIncoming(s) }); s.pause(); s.end(); };
    const workers = childPids(run.master.pid);
    const rssBefore = Math.max(...workers.map(w => procStatusKb(w, 'VmRSS')));
    const c = await TcpClient.open(ports.bulk);
    const progress = { bytes: 0 };
    const sent = sendPattern(c.socket, SIZE, 0xfeed, true, progress);
    const o = await within(atOrigin.promise, 10_000, 'origin connection');
    // Observation window (not a synchronisation): with the origin stalled,
    // a relay without backpressure would take all 96 MiB in well under a
    // second. Kernel buffers on the path (autotuned, up to tcp_rmem/tcp_wmem
    // max) hold about 10 MiB here.
    await new Promise(resolve => setTimeout(resolve, 500));
    const stalledAt = progress.bytes;
    const rssStalled = Math.max(...childPids(run.master.pid).map(w => procStatusKb(w, 'VmRSS')));
    assert.ok(stalledAt < 64 * MiB, `the client pushed ${(stalledAt / MiB).toFixed(1)} MiB into a stalled path`);
    assert.ok(rssStalled - rssBefore < 32 * 1024, `worker RSS grew by ${((rssStalled - rssBefore) / 1024).toFixed(1)} MiB while stalled`);
    o.socket.resume();
    const [hash, got] = await within(Promise.all([sent, o.received]), 30_000, 'transfer after the origin resumed');
    assert.equal(got.bytes, SIZE);
    assert.equal(got.sha256, hash);
    console.log(`# stalled origin: client blocked after ${(stalledAt / MiB).toFixed(1)} MiB, worker RSS +${((rssStalled - rssBefore) / 1024).toFixed(1)} MiB`);
  });

  it('half-close by the client: the origin sees end of stream and its reply still reaches the client', async () => {
    const seen = deferred<{ data: string; replied: boolean }>();
    halfHandler = s => {
      let data = '';
      s.setEncoding('utf8');
      s.on('data', (d: string) => { data += d; });
      s.on('end', () => {
        // Our read side is done; the write side is still open.
        const replied = s.write(`reply to ${data}`);
        s.end();
        seen.resolve({ data, replied: replied || true });
      });
    };
    const c = await TcpClient.open(ports.half);
    c.socket.end('question');
    const o = await within(seen.promise, 5000, 'origin saw the end of the request');
    assert.equal(o.data, 'question');
    await within(c.ended, 5000, 'reply and end reached the client');
    assert.equal(c.text, 'reply to question');
    await within(c.closed, 5000, 'closed');
    assert.equal(c.error, null);
  });

  it('half-close by the origin: the client sees end of stream and can still send data that reaches the origin', async () => {
    const got = deferred<string>();
    halfHandler = s => {
      let data = '';
      s.setEncoding('utf8');
      s.on('data', (d: string) => { data += d; });
      s.on('end', () => got.resolve(data));
      s.end('banner\n'); // the origin is done talking at once
    };
    const c = await TcpClient.open(ports.half);
    await within(c.ended, 5000, 'origin end relayed to the client');
    assert.equal(c.text, 'banner\n');
    c.socket.write('sent after the origin ended, ');
    c.socket.end('and more');
    assert.equal(await within(got.promise, 5000, 'origin received the late data'), 'sent after the origin ended, and more');
    await within(c.closed, 5000, 'closed');
    assert.equal(c.error, null);
  });

  it('garbage and resets at every stage end streams, never a worker', async () => {
    const master = run.master;
    const before = childPids(master.pid).sort();
    assert.equal(before.length, 2, `workers: ${before}`);
    const outBefore = master.output.length;
    const settle = (p: Promise<unknown>): Promise<void> => p.then(() => undefined, () => undefined);
    const abuse: Array<() => Promise<void>> = [
      // random bytes to the echo origin, reset while the echo comes back
      async () => {
        const c = await TcpClient.open(ports.echo);
        c.socket.write(randomBytes(256 * 1024));
        await settle(c.waitData(64 * 1024, 5000));
        c.reset();
      },
      // reset right after connect (server connect still in progress)
      async () => { (await TcpClient.open(ports.echo)).reset(); },
      // data and FIN right after connect, then close at once
      async () => { const c = await TcpClient.open(ports.echo); c.socket.end('x'); c.socket.destroy(); },
      // stop reading a large response (relay paused on us), then reset
      async () => {
        const c = await TcpClient.open(ports.big);
        await settle(c.waitData(1, 5000));
        c.socket.pause();
        c.socket.write(randomBytes(1024));
        await new Promise(resolve => setTimeout(resolve, 100)); // a client stalled for 100 ms
        c.reset();
      },
      // the origin resets while we are sending
      async () => {
        const c = await TcpClient.open(ports.rst, { allowHalfOpen: false });
        c.socket.write(randomBytes(512 * 1024));
        await settle(within(c.closed, 5000, 'closed after the origin reset'));
      },
      // reset while the server connect hangs (black hole)
      async () => { const c = await TcpClient.open(ports.hole); c.socket.write('hello?'); c.reset(); },
      // reset with data in flight both ways
      async () => {
        const c = await TcpClient.open(ports.echo);
        c.socket.write(randomBytes(64 * 1024));
        await settle(c.waitData(1000, 2000));
        c.reset();
      },
      // half-close with data in flight, then go away
      async () => {
        const c = await TcpClient.open(ports.echo);
        c.socket.end(randomBytes(64 * 1024));
        await settle(c.waitData(1000, 2000));
        c.socket.destroy();
      },
      // a raw socket that writes and destroys before even reading
      async () => {
        await new Promise<void>(resolve => {
          const s = net.connect(ports.big, '127.0.0.1', () => { s.write(randomBytes(100)); s.destroy(); resolve(); });
          s.on('error', () => resolve());
        });
      },
    ];
    const jobs: Promise<void>[] = [];
    for (let round = 0; round < 6; round++) for (const f of abuse) jobs.push(settle(f()));
    await within(Promise.all(jobs), 30_000, 'abuse round');
    // Still the same two workers, nothing died, and the proxy still serves.
    assert.deepEqual(childPids(master.pid).sort(), before, 'worker PIDs changed: a worker died and was respawned');
    const after = master.output.slice(outBefore);
    assert.doesNotMatch(after, /died|uncaught|exception/i, after);
    for (let i = 0; i < 4; i++) {
      const c = await TcpClient.open(ports.echo);
      c.socket.write('still alive\n');
      await c.waitData('echo\nstill alive\n', 5000);
      c.socket.end();
      await within(c.closed, 5000, 'clean close');
    }
  });
});
