/**
 * Integration-test helpers: start the real `switchyard` master on a real
 * config, real origins on loopback, raw clients. Everything waits on events
 * (process output, sockets), never on sleeps.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as net from 'node:net';

export const ROOT = join(__dirname, '..', '..');
export const BIN = join(ROOT, 'packages', 'master', 'bin', 'switchyard.js');

export function tempDir(prefix = 'sy-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A free TCP port on 127.0.0.1 (bound then released). It is picked below the
 * kernel's ephemeral range: a port from that range (what listen(0) returns)
 * can be taken, between release and use, as the local port of any outgoing
 * connection, and load tests running in parallel make thousands of those.
 */
export async function freePort(): Promise<number> {
  let ephemeralStart = 32768;
  try { ephemeralStart = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || ephemeralStart; } catch { /* not Linux */ }
  const low = 10_000;
  for (let attempt = 0; attempt < 50 && ephemeralStart - low > 1000; attempt++) {
    const port = low + Math.floor(Math.random() * (ephemeralStart - low));
    if (await canListen(port)) return port;
  }
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function canListen(port: number): Promise<boolean> {
  return new Promise(resolve => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen({ port, host: '127.0.0.1', exclusive: true }, () => s.close(() => resolve(true)));
  });
}

export async function freePorts(n: number): Promise<number[]> {
  const out: number[] = [];
  while (out.length < n) {
    const p = await freePort();
    if (!out.includes(p)) out.push(p);
  }
  return out;
}

export interface RunResult { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/** Run switchyard to completion (e.g. -c, -cc, -v). */
export function runSwitchyard(args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', d => { stdout += d; });
    child.stderr.on('data', d => { stderr += d; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`switchyard ${args.join(' ')} timed out\n${stderr}`)); }, opts.timeoutMs ?? 30_000);
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }); });
  });
}

/** A running master with its output captured; `waitFor` resolves on a matching line. */
/**
 * Masters still running when this test process exits (a timed-out or
 * cancelled test) are killed, so that no proxy outlives its test file.
 */
const liveMasters = new Set<ChildProcess>();
process.on('exit', () => { for (const c of liveMasters) c.kill('SIGKILL'); });

export class Master {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  private waiters: Array<{ re: RegExp; from: number; resolve: (m: RegExpMatchArray) => void }> = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(args: string[], opts: { env?: NodeJS.ProcessEnv; stdio?: Array<unknown> } = {}) {
    const stdio = (opts.stdio ?? ['ignore', 'pipe', 'pipe']) as never;
    this.child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...opts.env }, stdio });
    this.child.stdout?.on('data', d => { this.stdout += d; this.check(); });
    this.child.stderr?.on('data', d => { this.stderr += d; this.check(); });
    liveMasters.add(this.child);
    this.exited = new Promise(resolve => this.child.on('exit', (code, signal) => { liveMasters.delete(this.child); resolve({ code, signal }); }));
  }

  get pid(): number { return this.child.pid!; }

  get output(): string { return this.stdout + this.stderr; }

  private check(): void {
    const out = this.output;
    this.waiters = this.waiters.filter(w => {
      const m = out.slice(w.from).match(w.re);
      if (m) { w.resolve(m); return false; }
      return true;
    });
  }

  /** Resolves when `re` matches output printed after `from` (default: from the start). */
  waitFor(re: RegExp, timeoutMs = 20_000, from = 0): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const m = this.output.slice(from).match(re);
      if (m) return resolve(m);
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re}; output:\n${this.output}`)), timeoutMs);
      this.waiters.push({ re, from, resolve: x => { clearTimeout(timer); resolve(x); } });
    });
  }

  /** Wait until the master logs that startup completed. */
  ready(timeoutMs = 20_000): Promise<RegExpMatchArray> {
    return this.waitFor(/Switchyard [\d.]+ started/, timeoutMs);
  }

  signal(sig: NodeJS.Signals): void { this.child.kill(sig); }

  /**
   * Position in the captured output: pass it as `from` to `waitFor` to only
   * match lines printed after this point. (Offsets are into stdout+stderr;
   * the master logs on stderr, so keep traffic logs off stdout when using it.)
   */
  mark(): number { return this.output.length; }

  /**
   * SIGUSR2, then wait for the outcome the master logs: `reload complete…`
   * (ok) or `reload refused…`. Resolves with the whole log line.
   */
  async reload(timeoutMs = 30_000): Promise<{ ok: boolean; line: string }> {
    const from = this.mark();
    this.signal('SIGUSR2');
    const m = await this.waitFor(/[^\n]*reload (complete|refused)[^\n]*/, timeoutMs, from);
    return { ok: m[1] === 'complete', line: m[0] };
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(t);
  }
}

export function writeConfig(dir: string, text: string, name = 'switchyard.cfg'): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** Worker PIDs of a master (children in /proc). */
export function childPids(pid: number): number[] {
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return text ? text.split(/\s+/).map(Number) : [];
  } catch { return []; }
}

/** Send one Runtime API command line over a UNIX socket; resolves with the full reply. */
export function apiCommand(path: string, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect(path);
    let out = '';
    c.setEncoding('utf8');
    c.on('connect', () => c.write(line + '\n'));
    c.on('data', d => { out += d; });
    c.on('end', () => resolve(out));
    c.on('error', reject);
  });
}

/** An echo / greeting TCP origin that counts connections. */
export class Origin {
  readonly server: net.Server;
  connections = 0;
  active = 0;
  maxActive = 0;
  readonly sockets = new Set<net.Socket>();

  constructor(readonly name: string, handler?: (s: net.Socket, o: Origin) => void) {
    this.server = net.createServer({ allowHalfOpen: true }, s => {
      this.connections++;
      this.active++;
      this.maxActive = Math.max(this.maxActive, this.active);
      this.sockets.add(s);
      s.on('close', () => { this.active--; this.sockets.delete(s); });
      s.on('error', () => { /* client went away */ });
      if (handler) handler(s, this);
      else { s.write(`${name}\n`); s.pipe(s); }
    });
  }

  listen(port = 0): Promise<number> {
    return new Promise(resolve => this.server.listen(port, '127.0.0.1', () => resolve((this.server.address() as net.AddressInfo).port)));
  }

  get port(): number { return (this.server.address() as net.AddressInfo).port; }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise(resolve => this.server.close(() => resolve()));
  }
}

/** Connect, read the first line (the origin's name), close. */
export function greet(port: number, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, host);
    let buf = '';
    c.setEncoding('utf8');
    c.on('data', d => {
      buf += d;
      const i = buf.indexOf('\n');
      if (i >= 0) { c.destroy(); resolve(buf.slice(0, i)); }
    });
    c.on('error', reject);
    c.on('end', () => { if (!buf.includes('\n')) reject(new Error(`connection closed before a line: '${buf}'`)); });
  });
}


/* ------------------------------------------------------------------ */
/* Process model and Runtime API helpers (reload, workers, signals,    */
/* runtime-api tests). Clients expect the default Origin: it greets     */
/* with its name, then echoes.                                          */
/* ------------------------------------------------------------------ */

/**
 * One exchange through the proxy: connect, send `line`, read the origin's
 * greeting and the echo of `line`, close. Resolves with the origin's name;
 * rejects on an error, a reset, a timeout or a connection that ends before the
 * whole reply (what a user would call a lost connection).
 */
export function exchange(port: number, line: string, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1');
    let buf = '';
    let done = false;
    const finish = (err: Error | null, name?: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) { c.destroy(); reject(err); } else { c.end(); resolve(name!); }
    };
    const timer = setTimeout(() => finish(new Error(`no reply within ${timeoutMs} ms (got '${buf}')`)), timeoutMs);
    c.setEncoding('utf8');
    c.on('connect', () => c.write(line + '\n'));
    c.on('data', d => {
      buf += d;
      const lines = buf.split('\n');
      if (lines.length < 3) return;
      if (lines[1] !== line) finish(new Error(`bad echo: '${buf}'`));
      else finish(null, lines[0]);
    });
    c.on('error', e => finish(e));
    c.on('end', () => finish(new Error(buf ? `closed after a partial reply: '${buf}'` : 'closed with an empty reply')));
    c.on('close', () => finish(new Error('closed')));
  });
}

/** `n` exchanges one after another; resolves with the origins' names in order. */
export async function exchanges(port: number, n: number, prefix = 'x'): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(await exchange(port, `${prefix}-${i}`));
  return out;
}

export interface LoadResult { ok: number; failures: string[] }

/**
 * `concurrency` client loops doing `exchange` back to back until `stop()`.
 * Every failed exchange is recorded with its reason.
 */
export function loadLoops(port: number, concurrency: number): { stop(): Promise<LoadResult>; result: LoadResult } {
  const result: LoadResult = { ok: 0, failures: [] };
  let running = true;
  const loops: Promise<void>[] = [];
  for (let i = 0; i < concurrency; i++) {
    loops.push((async () => {
      for (let n = 0; running; n++) {
        try { await exchange(port, `loop${i}-${n}`); result.ok++; } catch (e) { result.failures.push(`${(e as NodeJS.ErrnoException).code ?? ''} ${(e as Error).message}`); }
      }
    })());
  }
  return { result, stop: async () => { running = false; await Promise.all(loops); return result; } };
}

/** A long-lived connection through the proxy to an echo Origin. */
export class LineClient {
  greeting = '';
  private buf = '';
  private waiting: { line: string; resolve: () => void; reject: (e: Error) => void } | null = null;
  /** Resolves when the socket closes, with the error if it failed. */
  readonly closed: Promise<{ error: Error | null; at: number }>;
  private constructor(readonly socket: net.Socket) {
    this.closed = new Promise(resolve => {
      let error: Error | null = null;
      socket.on('error', e => { error = e; });
      socket.on('close', () => {
        this.waiting?.reject(error ?? new Error(`closed while waiting for an echo (buffer '${this.buf}')`));
        this.waiting = null;
        resolve({ error, at: Date.now() });
      });
    });
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      this.buf += d;
      if (this.waiting && this.buf.includes(this.waiting.line + '\n')) {
        const w = this.waiting;
        this.waiting = null;
        this.buf = '';
        w.resolve();
      }
    });
  }

  /** Connect and read the greeting (the origin's name). */
  static connect(port: number): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1');
      const c = new LineClient(s);
      s.once('error', reject);
      c.waitLine().then(name => { c.greeting = name; resolve(c); }, reject);
    });
  }

  private waitLine(): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const i = this.buf.indexOf('\n');
        if (i < 0) return false;
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        this.socket.off('data', onData);
        resolve(line);
        return true;
      };
      const onData = (): void => { check(); };
      if (check()) return;
      this.socket.on('data', onData);
      this.socket.once('close', () => reject(new Error('closed before the greeting')));
    });
  }

  /** Send a line and wait for its echo. */
  ask(line: string, timeoutMs = 5_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.waiting = null; reject(new Error(`no echo of '${line}' within ${timeoutMs} ms`)); }, timeoutMs);
      this.waiting = { line, resolve: () => { clearTimeout(timer); resolve(); }, reject: e => { clearTimeout(timer); reject(e); } };
      this.socket.write(line + '\n');
    });
  }

  /** Close our side and wait for the proxy to close the connection. */
  async end(): Promise<void> {
    this.socket.end();
    await this.closed;
  }

  destroy(): void { this.socket.destroy(); }
}

/** Outcome of one TCP connection attempt (no data exchanged). */
export function tryConnect(port: number): Promise<'connected' | string> {
  return new Promise(resolve => {
    const c = net.connect(port, '127.0.0.1');
    c.on('connect', () => { c.destroy(); resolve('connected'); });
    c.on('error', e => resolve((e as NodeJS.ErrnoException).code ?? e.message));
  });
}

/** Poll `cond` (state that has no event, e.g. a /proc entry) until true. */
export async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise(r => setTimeout(r, 25));
  }
}

/** Whether a process exists (zombies count as gone). */
export function pidAlive(pid: number): boolean {
  try { process.kill(pid, 0); } catch { return false; }
  try { return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z'; } catch { return false; }
}

interface ProcTcpEntry { localPort: number; remotePort: number; state: number; inode: string }

function procTcp(): ProcTcpEntry[] {
  const out: ProcTcpEntry[] = [];
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try { text = readFileSync(f, 'utf8'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const w = line.trim().split(/\s+/);
      if (w.length < 10) continue;
      out.push({
        localPort: parseInt(w[1].split(':')[1], 16),
        remotePort: parseInt(w[2].split(':')[1], 16),
        state: parseInt(w[3], 16),
        inode: w[9],
      });
    }
  }
  return out;
}

/** Inode of the socket listening on TCP `port` (the identity of the socket: a re-bind changes it). */
export function listenInode(port: number): string | undefined {
  return procTcp().find(e => e.localPort === port && e.state === 0x0a)?.inode;
}

/** Inode of the established connection whose local port is `localPort` and peer port `remotePort`. */
export function connectionInode(localPort: number, remotePort: number): string | undefined {
  return procTcp().find(e => e.localPort === localPort && e.remotePort === remotePort && e.state === 0x01)?.inode;
}

/** Which of `pids` holds a descriptor on socket `inode`. */
export function socketHolders(inode: string, pids: number[]): number[] {
  const want = `socket:[${inode}]`;
  return pids.filter(pid => {
    try {
      return readdirSync(`/proc/${pid}/fd`).some(fd => { try { return readlinkSync(`/proc/${pid}/fd/${fd}`) === want; } catch { return false; } });
    } catch { return false; }
  });
}

/** `show stat` CSV as one record per row, keyed by the header's field names. */
export function parseStatCsv(text: string): Array<Record<string, string>> {
  const lines = text.split('\n').filter(l => l !== '');
  if (!lines[0]?.startsWith('# ')) throw new Error(`not a show stat reply: ${text}`);
  const names = lines[0].slice(2).split(',');
  return lines.slice(1).map(l => {
    const v = l.split(',');
    const r: Record<string, string> = {};
    names.forEach((n, i) => { if (n) r[n] = v[i] ?? ''; });
    return r;
  });
}

/** The row of `show stat` for proxy `px` and svname `sv` (FRONTEND, BACKEND or a server). */
export function statRow(rows: Array<Record<string, string>>, px: string, sv: string): Record<string, string> {
  const r = rows.find(x => x.pxname === px && x.svname === sv);
  if (!r) throw new Error(`no show stat row ${px}/${sv}`);
  return r;
}

/** `show info` as a map of field to value. */
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf(': ');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 2);
  }
  return out;
}

/** Start the master on `cfgPath` and wait until it logs that it started; kills it if it does not. */
export function startMaster(cfgPath: string, extraArgs: string[] = []): Promise<Master> {
  return launch(['-f', cfgPath, ...extraArgs]);
}

/* ------------------------------------------------------------------ */
/* Configuration-language and CLI helpers (config-errors, cli,         */
/* conditions, fd-listener, bind-conflict tests).                      */
/* ------------------------------------------------------------------ */

/** `defaults` for TCP proxies with every timeout set (no warnings). */
export const TCP_DEFAULTS = `defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
`;

/**
 * Start a master with any arguments/environment/stdio and wait until it has
 * started; rejects (after killing it) with its output if it exits first.
 */
export async function launch(args: string[], opts: { env?: NodeJS.ProcessEnv; stdio?: Array<unknown> } = {}): Promise<Master> {
  const m = new Master(args, opts);
  try {
    await Promise.race([
      m.ready(),
      m.exited.then(e => { throw new Error(`master exited during startup (${e.signal ?? e.code}):\n${m.output}`); }),
    ]);
  } catch (e) {
    await m.stop();
    throw e;
  }
  return m;
}

/** The `[ALERT]` lines of an output. */
export function alertLines(text: string): string[] {
  return text.split('\n').filter(l => l.startsWith('[ALERT]'));
}

/** The `[WARNING]` lines of an output. */
export function warningLines(text: string): string[] {
  return text.split('\n').filter(l => l.startsWith('[WARNING]'));
}

/**
 * PIDs of the processes (other than this one) whose command line or
 * environment contains `needle`. Workers inherit the master's environment,
 * so a unique environment variable given to the master finds them all.
 */
export function processesWith(needle: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    for (const f of ['cmdline', 'environ']) {
      try {
        if (readFileSync(`/proc/${name}/${f}`).includes(needle)) { out.push(Number(name)); break; }
      } catch { /* gone or not ours */ }
    }
  }
  return out.filter(pidAlive);
}

/** Connect (TCP or UNIX socket), read the first line, close. */
export function greetAt(opts: net.NetConnectOpts, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect(opts);
    let buf = '';
    const timer = setTimeout(() => { c.destroy(); reject(new Error(`no line within ${timeoutMs} ms (got '${buf}')`)); }, timeoutMs);
    c.setEncoding('utf8');
    c.on('data', d => {
      buf += d;
      const i = buf.indexOf('\n');
      if (i >= 0) { clearTimeout(timer); c.destroy(); resolve(buf.slice(0, i)); }
    });
    c.on('error', e => { clearTimeout(timer); reject(e); });
    c.on('end', () => { clearTimeout(timer); if (!buf.includes('\n')) reject(new Error(`connection closed before a line: '${buf}'`)); });
  });
}

/**
 * `n` consecutive free TCP ports on 127.0.0.1 (for `bind addr:a-b` ranges);
 * resolves with the first. Taken below the kernel's ephemeral range
 * (32768-60999 by default), where neither freePort() nor outgoing
 * connections can take one of them between the probe and the bind.
 */
export async function consecutiveFreePorts(n: number): Promise<number> {
  const canListen = (port: number): Promise<boolean> => new Promise(resolve => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + Math.floor(Math.random() * (12000 - n));
    let ok = true;
    for (let p = base; p < base + n && ok; p++) ok = await canListen(p);
    if (ok) return base;
  }
  throw new Error(`no ${n} consecutive free ports`);
}

/* ------------------------------------------------------------------ */
/* TCP engine helpers (tcp-proxy, tcp-timeouts, tcp-balance,            */
/* tcp-limits, tcp-log tests): raw clients with timestamps, traffic    */
/* log lines, a black-holed port, a UDP syslog receiver, streamed       */
/* SHA-256 payloads.                                                    */
/* ------------------------------------------------------------------ */

/** A master started on config text in its own temp dir; `stop()` also removes the dir. */
export interface ProxyRun { master: Master; dir: string; cfgPath: string; stop(): Promise<void> }

export async function startProxy(cfgText: string): Promise<ProxyRun> {
  const t = tempDir('sy-tcp-');
  const cfgPath = writeConfig(t.dir, cfgText);
  let master: Master;
  try { master = await startMaster(cfgPath); } catch (e) { t.cleanup(); throw e; }
  return { master, dir: t.dir, cfgPath, stop: async () => { await master.stop(); t.cleanup(); } };
}

/**
 * A raw client socket that records what happens to it, with timestamps
 * (Date.now() at the event): data received, `end` (peer's FIN), `close`,
 * and the error if any. `allowHalfOpen` (default true) keeps our write side
 * open after the peer's FIN, so a test decides when to end it.
 */
export class TcpClient {
  readonly connectedAt: number;
  readonly localPort: number;
  received = Buffer.alloc(0);
  endAt = -1;
  closeAt = -1;
  error: NodeJS.ErrnoException | null = null;
  readonly ended: Promise<number>;
  readonly closed: Promise<number>;
  private dataWaiters: Array<() => void> = [];

  private constructor(readonly socket: net.Socket) {
    this.connectedAt = Date.now();
    this.localPort = socket.localPort!;
    socket.on('data', (d: Buffer) => {
      this.received = Buffer.concat([this.received, d]);
      for (const w of this.dataWaiters.splice(0)) w();
    });
    socket.on('error', e => { this.error = e; });
    this.ended = new Promise(resolve => socket.on('end', () => { this.endAt = Date.now(); resolve(this.endAt); }));
    this.closed = new Promise(resolve => socket.on('close', () => {
      this.closeAt = Date.now();
      for (const w of this.dataWaiters.splice(0)) w();
      resolve(this.closeAt);
    }));
  }

  static open(port: number, opts: { allowHalfOpen?: boolean } = {}): Promise<TcpClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: opts.allowHalfOpen ?? true });
      s.once('error', reject);
      s.once('connect', () => { s.off('error', reject); resolve(new TcpClient(s)); });
    });
  }

  get text(): string { return this.received.toString('utf8'); }

  /** Resolves once at least `n` bytes (or a string containing `s`) arrived; rejects if the socket closes first. */
  waitData(what: number | string, timeoutMs = 10_000): Promise<void> {
    const ok = (): boolean => (typeof what === 'number' ? this.received.length >= what : this.text.includes(what));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${JSON.stringify(what)} within ${timeoutMs} ms (got '${this.text.slice(0, 200)}')`)), timeoutMs);
      const check = (): void => {
        if (ok()) { clearTimeout(timer); resolve(); return; }
        if (this.closeAt >= 0) { clearTimeout(timer); reject(new Error(`closed before ${JSON.stringify(what)} (got '${this.text.slice(0, 200)}', error ${this.error?.code ?? 'none'})`)); return; }
        this.dataWaiters.push(check);
      };
      check();
    });
  }

  /**
   * Close with a TCP RST. Not after our own end(): Node 20's resetAndDestroy()
   * with a shutdown pending leaves the handle spinning the event loop at
   * 100% CPU forever, so a half-closed socket is destroyed normally instead.
   */
  reset(): void {
    if (this.socket.writableEnded) this.socket.destroy();
    else this.socket.resetAndDestroy();
  }
}

/** Resolve `p`, or reject after `ms` with `what` in the message. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms); }),
  ]);
}

/**
 * HAProxy's `option tcplog` line (configuration.txt 8.2.2):
 *   %ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq
 */
export const TCPLOG_RE = /^(?<ip>[\d.]+):(?<port>\d+) \[(?<date>\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d\.\d{3})\] (?<fe>\S+) (?<be>\S+)\/(?<srv>\S+) (?<tw>-?\d+)\/(?<tc>-?\d+)\/(?<tt>\d+) (?<bytes>\d+) (?<ts>[-A-Za-z]{2}) (?<ac>\d+)\/(?<fc>\d+)\/(?<bc>\d+)\/(?<sc>\d+)\/(?<rc>\+?\d+) (?<sq>\d+)\/(?<bq>\d+)$/;

export type TcpLog = Record<'ip' | 'port' | 'date' | 'fe' | 'be' | 'srv' | 'tw' | 'tc' | 'tt' | 'bytes' | 'ts' | 'ac' | 'fc' | 'bc' | 'sc' | 'rc' | 'sq' | 'bq', string>;

export function parseTcplog(line: string): TcpLog {
  const m = TCPLOG_RE.exec(line);
  if (!m) throw new Error(`not a tcplog line: '${line}'`);
  return m.groups as TcpLog;
}

/** Position in the master's stdout (where traffic logs go), for `waitForLog(…, { from })`. */
export function logMark(master: Master): number { return master.stdout.length; }

/**
 * The complete traffic log line (up to its LF) on the master's stdout whose
 * text starts with `127.0.0.1:<clientPort> ` (after `prefix`, e.g.
 * `Connect from `), printed after stdout offset `from` (see logMark: client
 * ports get reused, so take a mark before opening the client), and naming
 * frontend `fe` if given.
 */
export function waitForLog(master: Master, clientPort: number, opts: { from?: number; prefix?: string; fe?: string; timeoutMs?: number } = {}): Promise<string> {
  const re = new RegExp(`^${opts.prefix ?? ''}127\\.0\\.0\\.1:${clientPort}[ ][^\\n]*(?=\\n)`, 'gm');
  const fe = opts.fe;
  const ofFrontend = (line: string): boolean => fe === undefined || line.includes(` ${fe} `) || line.includes(`(${fe}/`);
  const from = opts.from ?? 0;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const stdout = master.child.stdout!;
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const line = [...master.stdout.slice(from).matchAll(re)].map(m => m[0]).find(ofFrontend);
      if (line === undefined) return false;
      clearTimeout(timer);
      stdout.off('data', check);
      resolve(line);
      return true;
    };
    const timer = setTimeout(() => {
      stdout.off('data', check);
      reject(new Error(`no log line for client port ${clientPort} within ${timeoutMs} ms; stdout:\n${master.stdout.slice(from)}`));
    }, timeoutMs);
    // Master's own listener, registered first, has appended the chunk already.
    if (!check()) stdout.on('data', check);
  });
}

/** The traffic log lines printed so far whose client port is `clientPort`. */
export function logLinesFor(master: Master, clientPort: number): string[] {
  return master.stdout.split('\n').filter(l => l.includes(`127.0.0.1:${clientPort} `));
}

/**
 * A port where connect() hangs: a child process listens with backlog 1 and
 * then blocks its event loop (Atomics.wait, no CPU), so it never accepts;
 * `fill()` completes the two handshakes the kernel queues for backlog 1,
 * after which Linux drops further SYNs and a connect() stays pending.
 */
export class Blackhole {
  private readonly fillers: net.Socket[] = [];
  private constructor(readonly child: ChildProcess, readonly port: number) {}

  static async start(): Promise<Blackhole> {
    const code = `const net = require('node:net'); const s = net.createServer();
      s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
        require('node:fs').writeSync(1, s.address().port + '\\n');
        // Blocked, not spinning; bounded so an orphan (test process killed) goes away.
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300000);
        process.exit(0);
      });`;
    const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', d => { out += d; if (out.includes('\n')) resolve(Number(out.trim())); });
      child.once('exit', c => reject(new Error(`blackhole child exited (${c})`)));
    });
    const b = new Blackhole(child, port);
    await b.fill();
    return b;
  }

  private async fill(): Promise<void> {
    for (let i = 0; i < 2; i++) {
      const c = net.connect(this.port, '127.0.0.1');
      c.on('error', () => { /* closed at the end */ });
      await new Promise<void>((resolve, reject) => { c.once('connect', resolve); c.once('error', reject); });
      this.fillers.push(c);
    }
  }

  close(): void {
    for (const c of this.fillers) c.destroy();
    this.child.kill('SIGKILL');
  }
}

/** A bound UDP socket collecting syslog datagrams. */
export class SyslogReceiver {
  readonly messages: Buffer[] = [];
  private waiters: Array<() => void> = [];
  private constructor(readonly socket: import('node:dgram').Socket, readonly port: number) {
    socket.on('message', m => { this.messages.push(m); for (const w of this.waiters.splice(0)) w(); });
  }

  static async start(): Promise<SyslogReceiver> {
    const dgram = await import('node:dgram');
    const s = dgram.createSocket('udp4');
    await new Promise<void>(resolve => s.bind(0, '127.0.0.1', () => resolve()));
    return new SyslogReceiver(s, s.address().port);
  }

  /** The first datagram containing `needle`. */
  waitFor(needle: string, timeoutMs = 10_000): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no datagram with '${needle}' within ${timeoutMs} ms; got:\n${this.messages.join('')}`)), timeoutMs);
      const check = (): void => {
        const m = this.messages.find(x => x.includes(needle));
        if (m) { clearTimeout(timer); resolve(m); } else this.waiters.push(check);
      };
      check();
    });
  }

  close(): void { this.socket.close(); }
}

/**
 * Write `total` bytes of a deterministic pattern (seeded; every 64 KiB chunk
 * carries its index, so reordering changes the hash) with backpressure, then
 * end unless `end` is false. Resolves with the SHA-256 of what was written.
 * Only one chunk is alive at a time beyond what the socket holds;
 * `progress.bytes` follows what has been handed to the socket.
 */
export async function sendPattern(socket: net.Socket, total: number, seed: number, end = true, progress?: { bytes: number }): Promise<string> {
  const { createHash } = await import('node:crypto');
  const hash = createHash('sha256');
  const CHUNK = 64 * 1024;
  const base = Buffer.allocUnsafe(CHUNK);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < CHUNK; i += 4) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; base.writeUInt32LE(x >>> 0, i); }
  let sent = 0;
  for (let n = 0; sent < total; n++) {
    const len = Math.min(CHUNK, total - sent);
    const chunk = Buffer.from(base.subarray(0, len));
    if (len >= 8) { chunk.writeUInt32LE(n, 0); chunk.writeUInt32LE(seed, 4); }
    hash.update(chunk);
    sent += len;
    if (progress) progress.bytes = sent;
    if (!socket.write(chunk)) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = (): void => { socket.off('close', onClose); resolve(); };
        const onClose = (): void => { socket.off('drain', onDrain); reject(new Error(`closed after ${sent} bytes written`)); };
        socket.once('drain', onDrain);
        socket.once('close', onClose);
      });
    }
  }
  if (end) socket.end();
  return hash.digest('hex');
}

/** Hash everything `socket` receives until its end; resolves with byte count and SHA-256. */
export async function hashIncoming(socket: net.Socket): Promise<{ bytes: number; sha256: string }> {
  const { createHash } = await import('node:crypto');
  const hash = createHash('sha256');
  let bytes = 0;
  return new Promise((resolve, reject) => {
    socket.on('data', (d: Buffer) => { bytes += d.length; hash.update(d); });
    socket.once('end', () => resolve({ bytes, sha256: hash.digest('hex') }));
    socket.once('close', () => reject(new Error(`closed without end after ${bytes} bytes`)));
  });
}

/** A field of /proc/<pid>/status in kB (VmRSS, VmHWM…). */
export function procStatusKb(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]);
}
