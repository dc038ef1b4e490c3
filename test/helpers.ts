/**
 * Integration-test helpers: start the real `switchyard` master on a real
 * config, real origins on loopback, raw clients. Everything waits on events
 * (process output, sockets), never on sleeps.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as net from 'node:net';

export const ROOT = join(__dirname, '..', '..');
export const BIN = join(ROOT, 'packages', 'master', 'bin', 'switchyard.js');

export function tempDir(prefix = 'sy-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A free TCP port on 127.0.0.1 (bound then released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
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
    this.exited = new Promise(resolve => this.child.on('exit', (code, signal) => resolve({ code, signal })));
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

/** Resolve once something accepts TCP connections on port. */
export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>(resolve => {
      const c = net.connect(port, '127.0.0.1');
      c.on('connect', () => { c.destroy(); resolve(true); });
      c.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port}`);
    await new Promise(r => setTimeout(r, 50));
  }
}
