/**
 * Log sinks: where formatted syslog lines go, one per configured target.
 *
 *  - stdout, stderr, fd@N, file@path: pino.destination (sonic-boom), async
 *    and non-blocking; a full destination buffers up to MAX_BUFFERED bytes
 *    and then drops lines (counted), instead of stalling traffic.
 *  - UDP: one unbound, unref'd dgram socket per address family, shared by
 *    all targets, like HAProxy's single logfdinet; sends never block.
 *  - unix datagram (/dev/log): UnixDgramSocket; EAGAIN and other errors
 *    drop the line, as HAProxy does (its DroppedLogs counter).
 *
 * log() never throws and does no I/O wait: every failure ends in `dropped`.
 */
import * as dgram from 'node:dgram';
import * as dns from 'node:dns';
import * as fs from 'node:fs';
import * as net from 'node:net';
import pino from 'pino';
import type { LogTarget } from '../config/compiled';
import { formatSyslogLine, type SyslogContext } from './syslog';
import { UnixDgramSocket, unixDgramAvailable, unixDgramUnavailableReason } from '../util/unix-dgram';

type Destination = ReturnType<typeof pino.destination>;

/** Bytes a stream destination may hold while its fd is busy; then lines drop. */
const MAX_BUFFERED = 8 * 1024 * 1024;
/** close() gives up waiting on a stuck destination after this long. */
const CLOSE_TIMEOUT_MS = 2000;

interface StreamSink {
  kind: 'stream';
  target: LogTarget;
  dest: Destination;
  /** end() closes the fd: only for our own files (sonic-boom never closes 1/2). */
  end: boolean;
}

interface UdpSink {
  kind: 'udp';
  target: LogTarget;
  socket: dgram.Socket;
  /** Null until a host name is resolved; lines are dropped meanwhile. */
  ip: string | null;
  port: number;
}

interface UnixSink {
  kind: 'unix';
  target: LogTarget;
  path: string;
}

/** A target that could not be opened: its lines are counted as dropped. */
interface DeadSink {
  kind: 'dead';
  target: LogTarget;
}

type Sink = StreamSink | UdpSink | UnixSink | DeadSink;

export interface LogSinksContext {
  tag: string;
  pid: number;
  hostname: string | null;
}

export class LogSinks {
  /** Lines not delivered: full buffers, EAGAIN, send errors, unresolved hosts. */
  dropped = 0;
  /** The last delivery error, for `show info`-style diagnostics. */
  lastError: Error | null = null;

  readonly #sinks: Sink[] = [];
  readonly #fmt: SyslogContext;
  #udp4: dgram.Socket | undefined;
  #udp6: dgram.Socket | undefined;
  #unix: UnixDgramSocket | undefined;
  #closed = false;
  /** Set when close() times out: sonic-boom stops retrying EAGAIN. */
  #giveUp = false;
  readonly #retryEAGAIN = (): boolean => !this.#giveUp;
  /** Pending host name lookups; see ready(). */
  readonly #lookups: Promise<void>[] = [];
  /* Created once: the hot path passes these, it never allocates closures. */
  readonly #onSent = (err: Error | null): void => {
    if (err) this.#fail(err);
  };
  readonly #onError = (err: Error): void => {
    this.#fail(err);
  };
  readonly #onDrop = (): void => {
    this.dropped++;
  };

  constructor(targets: LogTarget[], ctx: LogSinksContext) {
    this.#fmt = { tag: ctx.tag, pid: ctx.pid, hostname: ctx.hostname, now: new Date(0) };
    for (const t of targets) {
      try {
        this.#sinks.push(this.#open(t));
      } catch (err) {
        // A target that cannot be opened drops its lines; others still work.
        this.lastError = err instanceof Error ? err : new Error(String(err));
        this.#sinks.push({ kind: 'dead', target: t });
      }
    }
  }

  /**
   * Resolves once every UDP host name has been looked up (at once when all
   * targets are IP literals); a failed lookup leaves lastError set and that
   * target dropping its lines. Never rejects.
   */
  ready(): Promise<void> {
    return Promise.all(this.#lookups).then(() => undefined);
  }

  #open(t: LogTarget): Sink {
    const a = t.address;
    switch (a.kind) {
      // sonic-boom never closes fds 1 and 2, so end() is safe for them.
      case 'stdout':
        return this.#stream(t, 1, true);
      case 'stderr':
        return this.#stream(t, 2, true);
      case 'fd':
        // An inherited fd is not ours to close. pino reads dest 0 as
        // "stdout", so fd 0 is reached through its /proc alias (our own fd).
        return a.fd === 0 ? this.#stream(t, openAppend('/proc/self/fd/0'), true) : this.#stream(t, a.fd, a.fd <= 2);
      case 'file':
        // Opened here, synchronously (once per (re)load, not per line), so a
        // bad path is reported at once in lastError, and sonic-boom never
        // holds an unopened file that pino's exit hook would try to flush.
        // Node keeps fds 0-2 open, so this is never 0 (pino's "stdout").
        return this.#stream(t, openAppend(a.path), true);
      case 'udp': {
        const socket = this.#udpSocket(a.family);
        const sink: UdpSink = { kind: 'udp', target: t, socket, ip: net.isIP(a.host) ? a.host : null, port: a.port };
        if (sink.ip === null) {
          // HAProxy resolves at parse time; ours is synchronous, so resolve
          // once here and drop lines until the answer arrives.
          this.#lookups.push(new Promise<void>((resolve) => {
            dns.lookup(a.host, { family: a.family }, (err, address) => {
              if (err) this.lastError = err;
              else sink.ip = address;
              resolve();
            });
          }));
        }
        return sink;
      }
      case 'unix-dgram': {
        if (!this.#unix) {
          if (!unixDgramAvailable()) throw new Error(`log target ${a.path}: ${unixDgramUnavailableReason()}`);
          this.#unix = new UnixDgramSocket();
        }
        return { kind: 'unix', target: t, path: a.path };
      }
    }
  }

  #stream(target: LogTarget, fd: number, end: boolean): StreamSink {
    return { kind: 'stream', target, dest: this.#destination(fd), end };
  }

  #destination(fd: number): Destination {
    const dest = pino.destination({
      dest: fd, sync: false, mkdir: false, contentMode: 'buffer', maxLength: MAX_BUFFERED, retryEAGAIN: this.#retryEAGAIN,
    });
    dest.on('error', this.#onError);
    dest.on('drop', this.#onDrop);
    return dest;
  }

  #udpSocket(family: 4 | 6): dgram.Socket {
    let s = family === 6 ? this.#udp6 : this.#udp4;
    if (!s) {
      s = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
      s.on('error', this.#onError);
      // Logging must never keep the process alive.
      s.unref();
      if (family === 6) this.#udp6 = s;
      else this.#udp4 = s;
    }
    return s;
  }

  #fail(err: Error): void {
    // pino's sonic-boom wrapper re-emits errors, so one failure can arrive twice.
    if (err === this.lastError) return;
    this.lastError = err;
    this.dropped++;
  }

  /** Sends one line at `level` (0 emerg .. 7 debug) to every target that accepts it. */
  log(level: number, message: string): void {
    if (this.#closed) return;
    const fmt = this.#fmt;
    let dated = false;
    for (let i = 0; i < this.#sinks.length; i++) {
      const s = this.#sinks[i];
      // HAProxy: a target only takes levels up to its max level; minlevel
      // raises more severe ones (applied in formatSyslogLine).
      if (level > s.target.level) continue;
      if (!dated) {
        fmt.now = new Date();
        dated = true;
      }
      try {
        const line = formatSyslogLine(s.target, level, message, fmt);
        switch (s.kind) {
          case 'stream':
            // contentMode 'buffer' takes Buffers; the typings only say string.
            (s.dest.write as unknown as (b: Buffer) => boolean).call(s.dest, line);
            break;
          case 'udp':
            if (s.ip === null) this.dropped++;
            else s.socket.send(line, s.port, s.ip, this.#onSent);
            break;
          case 'unix':
            if (this.#unix === undefined || this.#unix.send(s.path, line) !== 0) this.dropped++;
            break;
          case 'dead':
            this.dropped++;
            break;
        }
      } catch (err) {
        this.#fail(err instanceof Error ? err : new Error(String(err)));
      }
    }
  }

  /**
   * Reopens file@ targets (log rotation): new lines go to a fresh open of the
   * path, lines still buffered finish in the old file, whose fd is then
   * closed. A failed open keeps the old file.
   */
  reopen(): void {
    if (this.#closed) return;
    for (const s of this.#sinks) {
      if (s.kind !== 'stream' || s.target.address.kind !== 'file') continue;
      try {
        const fd = openAppend(s.target.address.path);
        const old = s.dest;
        s.dest = this.#destination(fd);
        old.end();
      } catch (err) {
        this.#fail(err instanceof Error ? err : new Error(String(err)));
      }
    }
  }

  /** Flushes stream targets, closes our files and sockets. Never rejects. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const streams: StreamSink[] = [];
    for (const s of this.#sinks) if (s.kind === 'stream') streams.push(s);
    let timer: NodeJS.Timeout | undefined;
    const done = await Promise.race([
      Promise.all(streams.map(settle)).then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(resolve, CLOSE_TIMEOUT_MS, false);
        timer.unref();
      }),
    ]);
    if (timer) clearTimeout(timer);
    if (!done) {
      // A reader that never drains (a paused pipe): stop sonic-boom's EAGAIN
      // retries, so no timer keeps the process alive, and once its write has
      // failed close the fds that are ours. Buffered lines are dropped.
      this.#giveUp = true;
      for (const s of streams) {
        const d = s.dest as Destination & { destroyed?: boolean };
        if (s.end && !d.destroyed) d.once('error', () => { try { d.destroy(); } catch { /* closed */ } });
      }
    }
    for (const s of [this.#udp4, this.#udp6]) {
      if (!s) continue;
      try {
        s.close();
      } catch {
        /* already closed */
      }
    }
    this.#udp4 = this.#udp6 = undefined;
    this.#unix?.close();
    this.#unix = undefined;
  }
}

/**
 * open(O_WRONLY|O_APPEND|O_CREAT|O_NONBLOCK, 0666): O_NONBLOCK so a FIFO
 * without a reader fails (ENXIO) instead of hanging the process.
 */
function openAppend(path: string): number {
  const c = fs.constants;
  return fs.openSync(path, c.O_WRONLY | c.O_APPEND | c.O_CREAT | c.O_NONBLOCK, 0o666);
}

/** Resolves once a stream target has written what it holds (and closed, if ours). */
function settle(s: StreamSink): Promise<void> {
  const dest = s.dest as Destination & { _writing?: boolean; _len?: number; destroyed?: boolean };
  return new Promise<void>((resolve) => {
    if (dest.destroyed) return resolve();
    dest.once('error', () => resolve());
    if (s.end) {
      dest.once('close', () => resolve());
      try {
        dest.end();
      } catch {
        resolve();
      }
      return;
    }
    // Not ours to close (fd@N): wait until sonic-boom is idle.
    if (!dest._writing && !dest._len) return resolve();
    dest.once('drain', () => resolve());
  });
}
