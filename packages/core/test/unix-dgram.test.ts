/**
 * UnixDgramSocket against a real receiver. Node cannot receive unix
 * datagrams, so python3 binds the sockets and prints one JSON line per
 * datagram; the tests wait on those lines, never on timers.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import {
  UnixDgramSocket,
  unixDgramAvailable,
  unixDgramUnavailableReason,
} from '../src/util/unix-dgram';

/* argv: targets to read from, then '--' and targets bound but never read
 * (their queue fills up). Prints {"ready":true} once everything is bound,
 * then {"target","hex"} per datagram; exits when stdin closes. */
const RECEIVER = `
import json, select, socket, sys
args = sys.argv[1:]
split = args.index('--')
def bind(t):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind('\\0' + t[1:] if t.startswith('@') else t)
    return s
readers = {s.fileno(): (t, s) for t, s in ((t, bind(t)) for t in args[:split])}
idle = [bind(t) for t in args[split + 1:]]
print(json.dumps({'ready': True}), flush=True)
while True:
    ready, _, _ = select.select(list(readers) + [sys.stdin], [], [])
    for fd in ready:
        if fd is sys.stdin:
            if not sys.stdin.buffer.read1(4096):
                sys.exit(0)
            continue
        t, s = readers[fd]
        print(json.dumps({'target': t, 'hex': s.recv(65536).hex()}), flush=True)
`;

interface Datagram {
  target: string;
  data: Buffer;
}

class Receiver {
  readonly #proc: ChildProcessWithoutNullStreams;
  readonly #lines: AsyncIterator<string>;

  constructor(read: string[], idle: string[]) {
    this.#proc = spawn('python3', ['-c', RECEIVER, ...read, '--', ...idle]);
    this.#proc.stderr.pipe(process.stderr);
    this.#lines = readline.createInterface({ input: this.#proc.stdout })[Symbol.asyncIterator]();
  }

  async #line(): Promise<Record<string, unknown>> {
    const r = await this.#lines.next();
    if (r.done) throw new Error(`receiver exited (code ${this.#proc.exitCode})`);
    return JSON.parse(r.value) as Record<string, unknown>;
  }

  async ready(): Promise<void> {
    assert.deepEqual(await this.#line(), { ready: true });
  }

  async next(): Promise<Datagram> {
    const m = await this.#line();
    return { target: String(m['target']), data: Buffer.from(String(m['hex']), 'hex') };
  }

  async stop(): Promise<void> {
    if (this.#proc.exitCode !== null || this.#proc.signalCode !== null) return;
    const exited = once(this.#proc, 'exit');
    this.#proc.stdin.end();
    await exited;
  }
}

const { ENOENT, EAGAIN, ENAMETOOLONG, EINVAL, EBADF } = os.constants.errno;

describe('unix datagram socket', { skip: process.platform !== 'linux' && 'Linux only' }, () => {
  let dir: string;
  let pathTarget: string;
  let fullTarget: string;
  const abstractTarget = `@switchyard-test-${process.pid}-${Math.random().toString(16).slice(2)}`;
  let receiver: Receiver;
  let sock: UnixDgramSocket;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-dgram-'));
    pathTarget = path.join(dir, 'rx.sock');
    fullTarget = path.join(dir, 'full.sock');
    receiver = new Receiver([pathTarget, abstractTarget], [fullTarget]);
    await receiver.ready();
    sock = new UnixDgramSocket();
  });

  after(async () => {
    sock?.close();
    await receiver?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the addon is built and loads', () => {
    assert.equal(unixDgramUnavailableReason(), null);
    assert.equal(unixDgramAvailable(), true);
  });

  test('a datagram reaches a socket path byte for byte', async () => {
    const payload = Buffer.from('<134>switchyard[1]: GET / \u00e9\n\0end');
    assert.equal(sock.send(pathTarget, payload), 0);
    assert.deepEqual(await receiver.next(), { target: pathTarget, data: payload });
  });

  test("a datagram reaches an abstract name written '@name'", async () => {
    assert.equal(sock.send(abstractTarget, Buffer.from('READY=1')), 0);
    assert.deepEqual(await receiver.next(), { target: abstractTarget, data: Buffer.from('READY=1') });
  });

  test('an empty datagram is still a datagram', async () => {
    assert.equal(sock.send(pathTarget, Buffer.alloc(0)), 0);
    assert.deepEqual(await receiver.next(), { target: pathTarget, data: Buffer.alloc(0) });
  });

  test('a missing path returns ENOENT instead of throwing', () => {
    assert.equal(sock.send(path.join(dir, 'missing.sock'), Buffer.from('x')), ENOENT);
  });

  test('targets that cannot be addressed return errno', () => {
    // sun_path is 108 bytes including the path's terminating NUL.
    assert.equal(sock.send('/' + 'x'.repeat(107), Buffer.from('x')), ENAMETOOLONG);
    assert.equal(sock.send('/' + 'x'.repeat(106), Buffer.from('x')), ENOENT);
    assert.equal(sock.send('@' + 'x'.repeat(108), Buffer.from('x')), ENAMETOOLONG);
    assert.equal(sock.send('', Buffer.from('x')), EINVAL);
    assert.equal(sock.send('@', Buffer.from('x')), EINVAL);
    assert.equal(sock.send(`${pathTarget}\0junk`, Buffer.from('x')), EINVAL);
  });

  test('a receiver that does not read gives EAGAIN, never blocks', () => {
    // The kernel queues at most net.unix.max_dgram_qlen datagrams (default
    // 512) or the send buffer's worth; a blocking send would hang here.
    const payload = Buffer.alloc(1024);
    let errno = 0;
    let sent = 0;
    while (sent < 1_000_000 && (errno = sock.send(fullTarget, payload)) === 0) sent++;
    assert.equal(errno, EAGAIN);
    assert.ok(sent > 0, 'the first datagrams are queued');
  });

  test('close is idempotent and a closed socket returns EBADF', () => {
    const s = new UnixDgramSocket();
    s.close();
    s.close();
    assert.equal(s.send(pathTarget, Buffer.from('x')), EBADF);
  });

  test('the socket is close-on-exec and non-blocking', () => {
    // Each open socket shows as a socket:[inode] link in /proc/self/fd; the
    // flags line of its fdinfo has O_NONBLOCK (04000) and O_CLOEXEC (02000000).
    const before = socketFds();
    const s = new UnixDgramSocket();
    try {
      const added = socketFds().filter((fd) => !before.includes(fd));
      assert.equal(added.length, 1);
      const flags = /^flags:\s*([0-7]+)$/m.exec(fs.readFileSync(`/proc/self/fdinfo/${added[0]}`, 'utf8'));
      assert.ok(flags);
      const f = parseInt(flags[1]!, 8);
      assert.equal(f & 0o4000, 0o4000, 'O_NONBLOCK');
      assert.equal(f & 0o2000000, 0o2000000, 'O_CLOEXEC');
    } finally {
      s.close();
    }
    assert.deepEqual(socketFds(), before, 'close() releases the fd');
  });

  test('a wrong handle or argument type is a TypeError from the addon', () => {
    const s = new UnixDgramSocket();
    try {
      assert.throws(() => s.send(42 as unknown as string, Buffer.from('x')), TypeError);
      assert.throws(() => s.send(pathTarget, 'x' as unknown as Buffer), TypeError);
    } finally {
      s.close();
    }
  });
});

function socketFds(): string[] {
  return fs.readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:');
    } catch {
      return false; // the fd readdir itself used
    }
  });
}
