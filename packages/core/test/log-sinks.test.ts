/*
 * LogSinks over real sockets and files: UDP datagrams byte for byte, level
 * filtering and minlevel, file@ appends, fd@ left open, stdout flushed by
 * close(), and /dev/log-style unix datagrams received by a python3 socket.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { once } from 'node:events';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import * as readline from 'node:readline';
import type { LogFormatKind, LogTarget, LogTargetAddress } from '../src/config/compiled';
import { LogSinks } from '../src/log/sinks';
import { unixDgramAvailable, unixDgramUnavailableReason } from '../src/util/unix-dgram';

const CTX = { tag: 'sw', pid: 4242, hostname: null };

function target(address: LogTargetAddress, format: LogFormatKind, opts: Partial<LogTarget> = {}): LogTarget {
  return { file: 't.cfg', line: 1, address, maxLen: 1024, format, facility: 16, level: 7, minLevel: 0, ...opts };
}

/** A UDP receiver on loopback that hands out datagrams in arrival order. */
async function udpReceiver(type: 'udp4' | 'udp6'): Promise<{ port: number; next(): Promise<Buffer>; close(): void }> {
  const sock = dgram.createSocket(type);
  const queue: Buffer[] = [];
  const waiters: Array<(b: Buffer) => void> = [];
  sock.on('message', (msg) => {
    const w = waiters.shift();
    if (w) w(msg);
    else queue.push(msg);
  });
  sock.bind(0, type === 'udp6' ? '::1' : '127.0.0.1');
  await once(sock, 'listening');
  return {
    port: sock.address().port,
    next: () => {
      const b = queue.shift();
      return b ? Promise.resolve(b) : new Promise<Buffer>((r) => waiters.push(r));
    },
    close: () => sock.close(),
  };
}

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'sw-log-'));
}

test('UDP target receives the exact datagram', async () => {
  const rx = await udpReceiver('udp4');
  const sinks = new LogSinks([target({ kind: 'udp', host: '127.0.0.1', port: rx.port, family: 4 }, 'priority')], CTX);
  await sinks.ready();
  sinks.log(6, 'hello world');
  assert.equal((await rx.next()).toString('latin1'), '<134>hello world\n');
  // The rfc3164-style header carries tag[pid].
  const s2 = new LogSinks([target({ kind: 'udp', host: '127.0.0.1', port: rx.port, family: 4 }, 'local', { maxLen: 80 })], CTX);
  s2.log(3, 'x'.repeat(200));
  const d = (await rx.next()).toString('latin1');
  assert.match(d, /^<131>[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d sw\[4242\]: x+\n$/);
  assert.equal(d.length, 81);
  assert.equal(sinks.dropped + s2.dropped, 0);
  await sinks.close();
  await s2.close();
  rx.close();
});

test('level filtering and minlevel raising per target', async () => {
  const rx = await udpReceiver('udp4');
  const addr: LogTargetAddress = { kind: 'udp', host: '127.0.0.1', port: rx.port, family: 4 };
  // `local0 notice err`: info/debug are not sent; emerg..crit are raised to err.
  const sinks = new LogSinks([target(addr, 'short', { level: 5, minLevel: 3 })], CTX);
  sinks.log(7, 'debug');
  sinks.log(6, 'info');
  sinks.log(5, 'notice');
  sinks.log(0, 'emerg');
  sinks.log(4, 'warning');
  assert.equal((await rx.next()).toString(), '<5>notice\n');
  assert.equal((await rx.next()).toString(), '<3>emerg\n');
  assert.equal((await rx.next()).toString(), '<4>warning\n');
  // Nothing else arrives: a sentinel from a second sink is next.
  const probe = new LogSinks([target(addr, 'raw')], CTX);
  probe.log(7, 'sentinel');
  assert.equal((await rx.next()).toString(), 'sentinel\n');
  await sinks.close();
  await probe.close();
  rx.close();
});

test('IPv6 UDP target and a host name resolved before ready()', async (t) => {
  let rx6: Awaited<ReturnType<typeof udpReceiver>> | undefined;
  try {
    rx6 = await udpReceiver('udp6');
  } catch (err) {
    t.skip(`no IPv6 loopback here: ${(err as Error).message}`);
    return;
  }
  const rx4 = await udpReceiver('udp4');
  const sinks = new LogSinks([
    target({ kind: 'udp', host: '::1', port: rx6.port, family: 6 }, 'raw'),
    target({ kind: 'udp', host: 'localhost', port: rx4.port, family: 4 }, 'raw'),
  ], CTX);
  await sinks.ready();
  assert.equal(sinks.lastError, null);
  sinks.log(6, 'both');
  assert.equal((await rx6.next()).toString(), 'both\n');
  assert.equal((await rx4.next()).toString(), 'both\n');
  await sinks.close();
  rx6.close();
  rx4.close();
});

test('an unresolvable host drops its lines without throwing', async () => {
  const sinks = new LogSinks([target({ kind: 'udp', host: 'no-such-host.invalid', port: 514, family: 4 }, 'raw')], CTX);
  await sinks.ready();
  assert.ok(sinks.lastError);
  sinks.log(6, 'lost');
  sinks.log(6, 'lost');
  assert.equal(sinks.dropped, 2);
  await sinks.close();
});

test('file@ target appends lines; close() flushes', async () => {
  const dir = tmpDir();
  const file = path.join(dir, 'sw.log');
  fs.writeFileSync(file, 'existing\n');
  const sinks = new LogSinks([target({ kind: 'file', path: file }, 'raw', { level: 6 })], CTX);
  for (let i = 0; i < 1000; i++) sinks.log(6, `line ${i}`);
  sinks.log(7, 'filtered');
  await sinks.close();
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  assert.equal(lines[0], 'existing');
  assert.equal(lines[1], 'line 0');
  assert.equal(lines[1000], 'line 999');
  assert.equal(lines.length, 1002);
  assert.equal(lines[1001], '');
  // Logging after close is a no-op, not a throw.
  sinks.log(6, 'late');
  assert.equal(sinks.dropped, 0);
  fs.rmSync(dir, { recursive: true });
});

test('file@ in a missing directory: errors are counted, log() never throws', async () => {
  const dir = tmpDir();
  const sinks = new LogSinks([target({ kind: 'file', path: path.join(dir, 'nope', 'x.log') }, 'raw')], CTX);
  sinks.log(6, 'a');
  await sinks.close();
  assert.ok(sinks.lastError);
  assert.ok(sinks.dropped >= 1);
  assert.equal(fs.existsSync(path.join(dir, 'nope')), false);
  fs.rmSync(dir, { recursive: true });
});

test('reopen(): file@ rotation moves new lines to a fresh file', async () => {
  const dir = tmpDir();
  const file = path.join(dir, 'sw.log');
  const sinks = new LogSinks([target({ kind: 'file', path: file }, 'raw')], CTX);
  sinks.log(6, 'before');
  fs.renameSync(file, file + '.1');
  sinks.reopen();
  sinks.log(6, 'after');
  await sinks.close();
  assert.equal(fs.readFileSync(file + '.1', 'utf8'), 'before\n');
  assert.equal(fs.readFileSync(file, 'utf8'), 'after\n');
  fs.rmSync(dir, { recursive: true });
});

test('a reader that never drains: lines drop, log() stays fast, close() gives up', async () => {
  const dir = tmpDir();
  const fifo = path.join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  // Our own read end keeps the FIFO open, and is never read.
  const rd = fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
  const sinks = new LogSinks([target({ kind: 'file', path: fifo }, 'raw')], CTX);
  assert.equal(sinks.lastError, null);
  const line = 'z'.repeat(1000);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < 12000; i++) sinks.log(6, line); // ~12 MB, pipe holds 64 KB
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  assert.ok(ms < 2000, `log() took ${ms} ms`);
  assert.ok(sinks.dropped > 0, 'lines beyond the buffer limit are dropped');
  await sinks.close();
  fs.closeSync(rd);
  fs.rmSync(dir, { recursive: true });
});

test('fd@ target writes to the fd and close() leaves it open', async () => {
  const dir = tmpDir();
  const file = path.join(dir, 'fd.log');
  const fd = fs.openSync(file, 'a');
  const sinks = new LogSinks([target({ kind: 'fd', fd }, 'short')], CTX);
  sinks.log(6, 'via fd');
  await sinks.close();
  assert.equal(fs.readFileSync(file, 'utf8'), '<6>via fd\n');
  fs.fstatSync(fd); // still open
  fs.closeSync(fd);
  fs.rmSync(dir, { recursive: true });
});

test('stdout target in a child process: lines are flushed by close()', () => {
  const sinksJs = require.resolve('../src/log/sinks');
  const script = `
    const { LogSinks } = require(${JSON.stringify(sinksJs)});
    const s = new LogSinks([{ file: 'x', line: 1, address: { kind: 'stdout' }, maxLen: 1024, format: 'raw', facility: 16, level: 7, minLevel: 0 }], { tag: 'sw', pid: 1, hostname: null });
    for (let i = 0; i < 3; i++) s.log(6, 'out ' + i);
    s.close().then(() => process.stdout.write('closed\\n'));
  `;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'out 0\nout 1\nout 2\nclosed\n');
});

function havePython(): boolean {
  try {
    execFileSync('python3', ['-c', 'import socket'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test('unix datagram target (like /dev/log) received by python3', async (t) => {
  if (!unixDgramAvailable()) {
    t.skip(`native unix datagram addon unavailable: ${unixDgramUnavailableReason()}`);
    return;
  }
  if (!havePython()) {
    t.skip('python3 not found: it provides the unix datagram receiver');
    return;
  }
  const dir = tmpDir();
  const sockPath = path.join(dir, 'log.sock');
  const py = spawn('python3', ['-u', '-c', [
    'import socket, sys',
    's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
    's.bind(sys.argv[1])',
    'print("ready", flush=True)',
    'while True:',
    '    print(s.recv(70000).hex(), flush=True)',
  ].join('\n'), sockPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: py.stdout! })[Symbol.asyncIterator]();
  try {
    assert.equal((await lines.next()).value, 'ready');
    const sinks = new LogSinks([
      target({ kind: 'unix-dgram', path: sockPath }, 'local', { maxLen: 80 }),
      target({ kind: 'unix-dgram', path: path.join(dir, 'missing.sock') }, 'raw'),
    ], CTX);
    sinks.log(4, 'to the socket ' + 'y'.repeat(100));
    const got = Buffer.from((await lines.next()).value as string, 'hex').toString('latin1');
    // Datagram framing: 80 bytes then LF, as over UDP.
    assert.equal(got.length, 81);
    assert.match(got, /^<132>[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d sw\[4242\]: to the socket y+\n$/);
    // The second target has no receiver: ENOENT counts as a dropped line.
    assert.equal(sinks.dropped, 1);
    await sinks.close();
  } finally {
    py.kill();
    await once(py, 'exit');
    fs.rmSync(dir, { recursive: true });
  }
});
