/**
 * sd_notify from the master, received by a python3 stand-in for systemd's
 * notify socket (Node cannot receive unix datagrams). Waits on python's
 * output lines, never on timers.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import {
  notifyReady,
  notifyReloading,
  notifyStatus,
  notifyStopping,
  sdNotify,
  sdNotifyLastError,
} from '../src/systemd';

/* Binds each argv target ('@name' = abstract) and prints, per datagram, the
 * target, the text, and CLOCK_MONOTONIC in µs at receipt; {"ready":…} first
 * carries the same clock at bind time. Exits when stdin closes. */
const NOTIFY_SOCKET_STUB = `
import json, select, socket, sys, time
def usec():
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
socks = {}
for t in sys.argv[1:]:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind('\\0' + t[1:] if t.startswith('@') else t)
    socks[s.fileno()] = (t, s)
print(json.dumps({'ready': usec()}), flush=True)
while True:
    ready, _, _ = select.select(list(socks) + [sys.stdin], [], [])
    for fd in ready:
        if fd is sys.stdin:
            if not sys.stdin.buffer.read1(4096):
                sys.exit(0)
            continue
        t, s = socks[fd]
        data = s.recv(65536)
        print(json.dumps({'target': t, 'text': data.decode(), 'usec': usec()}), flush=True)
`;

interface Received {
  target: string;
  text: string;
  usec: bigint;
}

class NotifySocketStub {
  readonly #proc: ChildProcessWithoutNullStreams;
  readonly #lines: AsyncIterator<string>;

  constructor(targets: string[]) {
    this.#proc = spawn('python3', ['-c', NOTIFY_SOCKET_STUB, ...targets]);
    this.#proc.stderr.pipe(process.stderr);
    this.#lines = readline.createInterface({ input: this.#proc.stdout })[Symbol.asyncIterator]();
  }

  async #line(): Promise<Record<string, unknown>> {
    const r = await this.#lines.next();
    if (r.done) throw new Error(`notify socket stub exited (code ${this.#proc.exitCode})`);
    return JSON.parse(r.value) as Record<string, unknown>;
  }

  /** CLOCK_MONOTONIC (µs) once the sockets are bound. */
  async ready(): Promise<bigint> {
    return BigInt(String((await this.#line())['ready']));
  }

  async next(): Promise<Received> {
    const m = await this.#line();
    return { target: String(m['target']), text: String(m['text']), usec: BigInt(String(m['usec'])) };
  }

  async stop(): Promise<void> {
    if (this.#proc.exitCode !== null || this.#proc.signalCode !== null) return;
    const exited = once(this.#proc, 'exit');
    this.#proc.stdin.end();
    await exited;
  }
}

describe('sd_notify', { skip: process.platform !== 'linux' && 'Linux only' }, () => {
  const saved = process.env['NOTIFY_SOCKET'];
  let dir: string;
  let pathSocket: string;
  const abstractSocket = `@switchyard-notify-${process.pid}-${Math.random().toString(16).slice(2)}`;
  let stub: NotifySocketStub;
  let boundAt: bigint;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-notify-'));
    pathSocket = path.join(dir, 'notify');
    stub = new NotifySocketStub([pathSocket, abstractSocket]);
    boundAt = await stub.ready();
  });

  beforeEach(() => {
    process.env['NOTIFY_SOCKET'] = pathSocket;
  });

  after(async () => {
    if (saved === undefined) delete process.env['NOTIFY_SOCKET'];
    else process.env['NOTIFY_SOCKET'] = saved;
    await stub?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('sdNotify delivers READY=1 exactly to $NOTIFY_SOCKET', async () => {
    assert.equal(sdNotify('READY=1'), true);
    assert.equal(sdNotifyLastError(), null);
    const r = await stub.next();
    assert.equal(r.target, pathSocket);
    assert.equal(r.text, 'READY=1');
  });

  test("an abstract $NOTIFY_SOCKET ('@name') works", async () => {
    process.env['NOTIFY_SOCKET'] = abstractSocket;
    assert.equal(sdNotify('READY=1'), true);
    const r = await stub.next();
    assert.equal(r.target, abstractSocket);
    assert.equal(r.text, 'READY=1');
  });

  test('unset $NOTIFY_SOCKET is a no-op returning false', () => {
    delete process.env['NOTIFY_SOCKET'];
    assert.equal(sdNotify('READY=1'), false);
    assert.equal(notifyReady(), false);
    assert.equal(sdNotifyLastError(), null);
  });

  test('an unreachable or unsupported $NOTIFY_SOCKET returns false with a reason', () => {
    process.env['NOTIFY_SOCKET'] = path.join(dir, 'gone');
    assert.equal(sdNotify('READY=1'), false);
    assert.match(sdNotifyLastError() ?? '', /ENOENT/);
    process.env['NOTIFY_SOCKET'] = 'vsock:2:1234';
    assert.equal(sdNotify('READY=1'), false);
    assert.match(sdNotifyLastError() ?? '', /vsock:2:1234/);
  });

  test('notifyReady with a status sends both assignments', async () => {
    assert.equal(notifyReady('2 workers'), true);
    assert.equal((await stub.next()).text, 'READY=1\nSTATUS=2 workers');
  });

  test('notifyStatus folds newlines so they cannot start a new assignment', async () => {
    assert.equal(notifyStatus('line one\nREADY=1'), true);
    assert.equal((await stub.next()).text, 'STATUS=line one READY=1');
  });

  test('notifyStopping sends STOPPING=1', async () => {
    assert.equal(notifyStopping(), true);
    assert.equal((await stub.next()).text, 'STOPPING=1');
  });

  test('notifyReloading stamps MONOTONIC_USEC from CLOCK_MONOTONIC', async () => {
    assert.equal(notifyReloading(), true);
    const r = await stub.next();
    const m = /^RELOADING=1\nSTATUS=[^\n]*\nMONOTONIC_USEC=(\d+)$/.exec(r.text);
    assert.ok(m, `unexpected message ${JSON.stringify(r.text)}`);
    // Python read CLOCK_MONOTONIC when it bound the socket and again when the
    // datagram arrived; our stamp must fall in between. CLOCK_REALTIME is
    // decades off, CLOCK_BOOTTIME is off by any time spent suspended.
    const usec = BigInt(m[1]!);
    assert.ok(boundAt <= usec && usec <= r.usec, `${boundAt} <= ${usec} <= ${r.usec}`);
  });
});
