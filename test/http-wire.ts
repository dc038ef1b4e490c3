/**
 * Raw-socket HTTP/1.1 pieces for the `mode http` integration tests: a client
 * that splits what it receives into responses, a raw origin that hands over
 * each request head, a streaming chunked decoder and a deterministic body
 * generator that hashes what it writes. Bytes matter in these tests, so no
 * HTTP library sits on the measured side.
 */
import * as net from 'node:net';
import { createHash, type Hash } from 'node:crypto';

/** One response split from raw bytes. */
export interface Resp { status: number; head: string; headers: Map<string, string>; body: Buffer; raw: Buffer }

/**
 * Split `buf` into responses for `methods` (interim 1xx ones included, not
 * counted). Returns null while the last one is incomplete. A response
 * without length runs to the end of `buf` (complete once the peer closed).
 */
export function parseResponses(buf: Buffer, methods: string[], closed = false): Resp[] | null {
  const out: Resp[] = [];
  let p = 0;
  let mi = 0;
  while (mi < methods.length) {
    const eoh = buf.indexOf('\r\n\r\n', p);
    if (eoh < 0) return null;
    const head = buf.subarray(p, eoh).toString('latin1');
    const lines = head.split('\r\n');
    const status = Number(lines[0].split(' ')[1]);
    const headers = new Map<string, string>();
    for (const l of lines.slice(1)) { const i = l.indexOf(':'); headers.set(l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()); }
    let q = eoh + 4;
    let body: Buffer = Buffer.alloc(0);
    if (status < 200) { out.push({ status, head, headers, body, raw: buf.subarray(p, q) }); p = q; continue; }
    const method = methods[mi];
    if (method === 'HEAD' || status === 204 || status === 304) {
      // no body
    } else if (headers.get('transfer-encoding')?.toLowerCase() === 'chunked') {
      const parts: Buffer[] = [];
      for (;;) {
        const le = buf.indexOf('\r\n', q);
        if (le < 0) return null;
        const size = parseInt(buf.subarray(q, le).toString('latin1'), 16);
        q = le + 2;
        if (size === 0) {
          // trailers, then the empty line
          for (;;) {
            const te = buf.indexOf('\r\n', q);
            if (te < 0) return null;
            const empty = te === q;
            q = te + 2;
            if (empty) break;
          }
          break;
        }
        if (buf.length < q + size + 2) return null;
        parts.push(buf.subarray(q, q + size));
        q += size + 2;
      }
      body = Buffer.concat(parts);
    } else if (headers.has('content-length')) {
      const n = Number(headers.get('content-length'));
      if (buf.length < q + n) return null;
      body = buf.subarray(q, q + n);
      q += n;
    } else {
      if (!closed) return null;
      body = buf.subarray(q);
      q = buf.length;
    }
    out.push({ status, head, headers, body, raw: buf.subarray(p, q) });
    p = q;
    mi++;
  }
  return out;
}

/** A raw client socket recording everything it receives. */
export class RawClient {
  readonly socket: net.Socket;
  received = Buffer.alloc(0);
  closed = false;
  closedAt = -1;
  private waiters: Array<() => void> = [];
  readonly connected: Promise<void>;
  /** Our port (kept after the close, for log lookups). */
  localPort = 0;

  constructor(port: number) {
    this.socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: false });
    this.connected = new Promise(r => this.socket.once('connect', () => { this.localPort = this.socket.localPort!; r(); }));
    this.socket.on('data', d => { this.received = Buffer.concat([this.received, d]); this.wake(); });
    this.socket.on('error', () => { /* reset: seen as close */ });
    this.socket.on('close', () => { this.closed = true; this.closedAt = Date.now(); this.wake(); });
  }

  get text(): string { return this.received.toString('latin1'); }

  private wake(): void { for (const w of this.waiters.splice(0)) w(); }
  /** Resolves at the next data or close. */
  change(): Promise<void> { return new Promise(r => this.waiters.push(r)); }

  send(data: string | Buffer): void { this.socket.write(data); }

  /** Wait until `methods.length` final responses arrived after offset `from`. */
  async responses(methods: string[], from = 0): Promise<Resp[]> {
    for (;;) {
      const r = parseResponses(this.received.subarray(from), methods, this.closed);
      if (r !== null) return r;
      if (this.closed) throw new Error(`closed before ${methods.length} responses: ${JSON.stringify(this.text)}`);
      await this.change();
    }
  }

  /** Wait until the received text contains `s`. */
  async until(s: string): Promise<void> {
    while (!this.text.includes(s)) {
      if (this.closed) throw new Error(`closed before ${JSON.stringify(s)}: ${JSON.stringify(this.text)}`);
      await this.change();
    }
  }

  async waitClose(): Promise<void> { while (!this.closed) await this.change(); }
  destroy(): void { this.socket.destroy(); }
}

/** Each request head a raw origin got, with its socket and the bytes after it. */
export interface RawRequest { socket: net.Socket; head: string; rest: Buffer }

/**
 * A raw TCP origin: every connection's first request head goes to `onHead`
 * (the handler owns the socket afterwards). Counts connections and records
 * every byte received, for "the origin got nothing" assertions.
 */
export class RawOrigin {
  readonly server: net.Server;
  connections = 0;
  bytes = 0;
  readonly heads: string[] = [];
  private readonly sockets = new Set<net.Socket>();

  constructor(onHead: (r: RawRequest) => void) {
    this.server = net.createServer({ allowHalfOpen: true }, s => {
      this.connections++;
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => { /* proxy side went away */ });
      s.on('data', (d: Buffer) => { this.bytes += d.length; });
      let buf = Buffer.alloc(0);
      const onData = (d: Buffer): void => {
        buf = Buffer.concat([buf, d]);
        const e = buf.indexOf('\r\n\r\n');
        if (e < 0) return;
        s.off('data', onData);
        const head = buf.subarray(0, e).toString('latin1');
        this.heads.push(head);
        onHead({ socket: s, head, rest: buf.subarray(e + 4) });
      };
      s.on('data', onData);
    });
  }

  listen(): Promise<number> {
    return new Promise(resolve => this.server.listen(0, '127.0.0.1', () => resolve((this.server.address() as net.AddressInfo).port)));
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise(resolve => this.server.close(() => resolve()));
  }
}

/**
 * Incremental chunked-body decoder for the far end of a transfer: feeds the
 * payload to `onData`, stops after the last chunk and its trailers, which it
 * keeps as text. Framing errors throw.
 */
export class ChunkedReader {
  done = false;
  trailers = '';
  private state: 'size' | 'data' | 'crlf' | 'trailers' = 'size';
  private line = '';
  private left = 0;

  constructor(private readonly onData: (b: Buffer) => void) {}

  /** Returns the bytes after the end of the body (none while not done). */
  push(b: Buffer): Buffer {
    let p = 0;
    while (p < b.length && !this.done) {
      if (this.state === 'data') {
        const n = Math.min(this.left, b.length - p);
        this.onData(b.subarray(p, p + n));
        p += n;
        this.left -= n;
        if (this.left === 0) { this.state = 'crlf'; this.line = ''; }
        continue;
      }
      const lf = b.indexOf(0x0a, p);
      const end = lf < 0 ? b.length : lf + 1;
      this.line += b.subarray(p, end).toString('latin1');
      p = end;
      if (lf < 0) continue;
      const line = this.line;
      this.line = '';
      if (this.state === 'crlf') {
        if (line !== '\r\n') throw new Error(`bad chunk end ${JSON.stringify(line)}`);
        this.state = 'size';
      } else if (this.state === 'size') {
        const size = parseInt(line, 16);
        if (!/^[0-9a-fA-F]+(;[^\r\n]*)?\r\n$/.test(line) || Number.isNaN(size)) throw new Error(`bad chunk size ${JSON.stringify(line)}`);
        if (size === 0) this.state = 'trailers';
        else { this.left = size; this.state = 'data'; }
      } else {
        if (line === '\r\n') this.done = true;
        else this.trailers += line;
      }
    }
    return b.subarray(p);
  }
}

/** One 1 MiB piece of the pattern of `seed`; piece `n` differs by the stamps written by stamp(). */
function patternBase(seed: number): Buffer {
  const base = Buffer.allocUnsafe(PIECE);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < PIECE; i += 4) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; base.writeUInt32LE(x >>> 0, i); }
  return base;
}

/** Stamp every 64 KiB of piece `n` with its position: reordered data changes the hash. */
function stamp(piece: Buffer, n: number, len: number): void {
  for (let o = 0; o + 4 <= len; o += 65536) piece.writeUInt32LE(n * 16 + o / 65536, o);
}

/*
 * 1 MiB pieces, one buffer re-stamped after each drain (then the kernel has
 * the previous bytes), no per-piece copy, and the expected hash computed once
 * per (size, seed): the test process, not the proxy, bounds the speed of a
 * loopback transfer.
 */
const PIECE = 1024 * 1024;
const hashes = new Map<string, string>();

/** SHA-256 of the body writeBody(…, total, { seed }) sends (memoized). */
export function bodyHash(total: number, seed = 7): string {
  const key = `${total}/${seed}`;
  let h = hashes.get(key);
  if (h === undefined) {
    const hash = createHash('sha256');
    const piece = patternBase(seed);
    for (let n = 0, done = 0; done < total; n++) {
      const len = Math.min(PIECE, total - done);
      stamp(piece, n, len);
      hash.update(piece.subarray(0, len));
      done += len;
    }
    hashes.set(key, h = hash.digest('hex'));
  }
  return h;
}

/**
 * A deterministic body written with backpressure: `total` bytes of the
 * pattern of `seed` (see bodyHash), optionally as chunked framing (one chunk
 * per 1 MiB piece, then `0\r\n\r\n`). `progress.bytes` follows the payload
 * handed to the socket.
 */
export async function writeBody(socket: net.Socket, total: number, opts: { chunked?: boolean; seed?: number; progress?: { bytes: number } } = {}): Promise<void> {
  const piece = patternBase(opts.seed ?? 7);
  let sent = 0;
  for (let n = 0; sent < total; n++) {
    const len = Math.min(PIECE, total - sent);
    stamp(piece, n, len);
    const data = len === PIECE ? piece : piece.subarray(0, len);
    sent += len;
    if (opts.progress) opts.progress.bytes = sent;
    let ok: boolean;
    if (opts.chunked) {
      socket.cork();
      socket.write(`${len.toString(16)}\r\n`);
      socket.write(data);
      ok = socket.write('\r\n');
      socket.uncork();
    } else ok = socket.write(data);
    // A 1 MiB write is over the high-water mark: false until it is flushed,
    // and 'drain' tells when the buffer can be re-stamped.
    if (!ok) await drained(socket, sent);
  }
  if (opts.chunked) socket.write('0\r\n\r\n');
}

function drained(socket: net.Socket, sent: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = (): void => { socket.off('close', onClose); resolve(); };
    const onClose = (): void => { socket.off('drain', onDrain); reject(new Error(`closed after ${sent} bytes written`)); };
    socket.once('drain', onDrain);
    socket.once('close', onClose);
  });
}

/**
 * Hash a body arriving on `socket` after its head (`first` = bytes already
 * read past the head): exactly `length` bytes, or chunked when length is
 * 'chunked'. Resolves with byte count and SHA-256 of the payload.
 */
export function hashBody(socket: net.Socket, first: Buffer, length: number | 'chunked'): Promise<{ bytes: number; sha256: string; trailers: string }> {
  const hash: Hash = createHash('sha256');
  let bytes = 0;
  return new Promise((resolve, reject) => {
    const reader = length === 'chunked' ? new ChunkedReader(b => { bytes += b.length; hash.update(b); }) : null;
    const finish = (): void => {
      socket.off('data', onData);
      socket.off('close', onClose);
      resolve({ bytes, sha256: hash.digest('hex'), trailers: reader?.trailers ?? '' });
    };
    const onData = (d: Buffer): void => {
      try {
        if (reader !== null) { reader.push(d); if (reader.done) finish(); return; }
        const n = Math.min(d.length, (length as number) - bytes);
        hash.update(n === d.length ? d : d.subarray(0, n));
        bytes += n;
        if (bytes === length) finish();
      } catch (e) { socket.off('data', onData); reject(e as Error); }
    };
    const onClose = (): void => reject(new Error(`closed after ${bytes} body bytes`));
    socket.on('data', onData);
    socket.once('close', onClose);
    if (first.length > 0 || length === 0) onData(first);
  });
}

/**
 * httplog line (configuration.txt 8.2.3):
 *   %ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r
 */
export const HTTPLOG_RE = /^(?<ip>[\d.]+):(?<port>\d+) \[(?<date>\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d\.\d{3})\] (?<fe>\S+) (?<be>\S+)\/(?<srv>\S+) (?<TR>-?\d+)\/(?<Tw>-?\d+)\/(?<Tc>-?\d+)\/(?<Tr>-?\d+)\/(?<Ta>\+?-?\d+) (?<st>-?\d+) (?<bytes>\+?\d+) (?<cc>\S+) (?<cs>\S+) (?<ts>\S{4}) (?<ac>\d+)\/(?<fc>\d+)\/(?<bc>\d+)\/(?<sc>\d+)\/(?<rc>\+?\d+) (?<sq>\d+)\/(?<bq>\d+) "(?<req>[^"]*)"$/;

export type HttpLog = Record<'ip' | 'port' | 'date' | 'fe' | 'be' | 'srv' | 'TR' | 'Tw' | 'Tc' | 'Tr' | 'Ta' | 'st' | 'bytes' | 'cc' | 'cs' | 'ts' | 'ac' | 'fc' | 'bc' | 'sc' | 'rc' | 'sq' | 'bq' | 'req', string>;

export function parseHttplog(line: string): HttpLog {
  const m = HTTPLOG_RE.exec(line);
  if (!m) throw new Error(`not an httplog line: '${line}'`);
  return m.groups as HttpLog;
}
