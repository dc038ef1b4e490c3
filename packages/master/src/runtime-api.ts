/**
 * The Runtime API (HAProxy's "stats socket"), served by the master. It binds
 * every `stats socket`, reads commands with HAProxy's CLI framing and runs
 * them through the registry (cli-commands.ts registers them).
 *
 * Framing, as HAProxy 2.6 does it:
 *  - a request is a line; an unescaped `;` also ends a command, `\` escapes;
 *  - every reply ends with one empty line (the "\n" after the output), or
 *    with "\n> " in interactive mode (`prompt`);
 *  - without `prompt`, the connection closes once the buffered commands are
 *    answered; `quit` closes at once; an unterminated line is never run;
 *  - a line ending in `<<` starts a payload that ends at an empty line;
 *  - master-CLI prefixes `@<n>`, `@!<pid>` and `@`/`@master` pick a worker
 *    (for `show info` / `show stat`), alone on a command they stick.
 */
import * as net from 'node:net';
import { chmod, chown, rename, unlink, lstat, stat, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { CompiledConfig, StatsSocketConfig } from '@switchyard/core/config/compiled';
import { listenAddressKey, formatListenAddress } from '@switchyard/core/config/compiled';
import type { WorkerStats } from '@switchyard/core/stats/counters';
import type { ServerStateTable } from '@switchyard/core/proxy/server-state';
import { findCliCommand, type CliContext, type CliLevel } from '@switchyard/core/registry';
import { BindError } from './listeners';
import { RELEASE_DATE } from './version';
// Importing cli-commands also registers the commands (our INITCALL for the CLI).
import { LEVEL_RANK, usageMessage, type CliEnv, type CliTarget } from './cli-commands';

export interface ProcInfo {
  pid: number;
  role: 'master' | 'worker';
  /** 1.. for workers, 0 for the master. */
  relPid: number;
  reloads: number;
  /** Unix ms. */
  startedAt: number;
  version: string;
  /** An old worker still finishing its connections after a reload. */
  old?: boolean;
  failedReloads?: number;
}

export interface RuntimeApiHost {
  /** The current configuration. */
  config(): CompiledConfig;
  /** e.g. '0.1.0' */
  version: string;
  masterPid: number;
  /** Unix ms (master start). */
  startedAt: number;
  /**
   * Ask current workers for counters; `pid` limits to one worker. Resolves
   * within ~1s even if a worker is stuck (missing ones omitted).
   */
  collectStats(pid?: number): Promise<WorkerStats[]>;
  /** Indexed [proxyIndex][serverIndex] like config().proxies[i].servers. */
  serverStates(): ServerStateTable;
  /** ADMF_* flags. A promise delays the reply until the workers apply the change. */
  setServerAdmin(proxyIndex: number, serverIndex: number, set: number, clear: number): void | Promise<void>;
  setServerWeight(proxyIndex: number, serverIndex: number, weight: number): void | Promise<void>;
  processes(): ProcInfo[];
  /** Health and agent checks (checks/view.ts); absent: none run. */
  checks?: import('./checks/view').CheckApi;
}

export interface RuntimeApiOptions {
  /** Idle timeout of a CLI connection (HAProxy's `stats timeout`, 10s by default). */
  timeoutMs?: number;
  /** Longest accepted command line or payload; longer input closes the connection. */
  maxLineBytes?: number;
  /** Concurrent connections per socket; more are refused. */
  maxConnections?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_LINE = 64 * 1024;
const DEFAULT_MAX_CONNECTIONS = 128;
/** HAProxy's MAX_CLI_ARGS: words past this are ignored. */
const MAX_CLI_ARGS = 64;

interface Endpoint {
  key: string;
  cfg: StatsSocketConfig;
  server: net.Server;
  /** UNIX socket path and the inode we created, removed on close if unchanged. */
  path?: string;
  ino?: number;
}

export class RuntimeApi {
  private readonly endpoints = new Map<string, Endpoint>();
  private readonly sessions = new Set<CliSession>();
  private readonly opts: Required<RuntimeApiOptions>;
  private ulimitN = 0;
  private closed = false;

  private constructor(readonly host: RuntimeApiHost, opts: RuntimeApiOptions) {
    this.opts = {
      timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      maxLineBytes: opts.maxLineBytes ?? DEFAULT_MAX_LINE,
      maxConnections: opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
    };
  }

  /**
   * Bind every socket (UNIX path with mode/uid/gid, `fd@n`, TCP). Rejects with
   * an Error naming the address and the OS reason if any bind fails, after
   * closing the ones already bound.
   */
  static async start(sockets: StatsSocketConfig[], host: RuntimeApiHost, opts: RuntimeApiOptions = {}): Promise<RuntimeApi> {
    const api = new RuntimeApi(host, opts);
    api.ulimitN = await readOpenFilesLimit();
    const wanted = uniqueByKey(sockets);
    const bound: Endpoint[] = [];
    try {
      for (const [key, cfg] of wanted) bound.push(await api.bind(key, cfg));
    } catch (e) {
      await Promise.all(bound.map((b) => api.closeEndpoint(b)));
      throw e;
    }
    for (const b of bound) api.endpoints.set(b.key, b);
    return api;
  }

  /**
   * On reload: keep sockets whose address key is unchanged (their level and
   * file mode follow the new config), close removed ones, bind new ones.
   * Rejects, changing nothing, if a new bind fails.
   */
  async update(sockets: StatsSocketConfig[]): Promise<void> {
    if (this.closed) throw new Error('the Runtime API is closed');
    const wanted = uniqueByKey(sockets);
    const added: Endpoint[] = [];
    try {
      for (const [key, cfg] of wanted) if (!this.endpoints.has(key)) added.push(await this.bind(key, cfg));
    } catch (e) {
      await Promise.all(added.map((b) => this.closeEndpoint(b)));
      throw e;
    }
    for (const b of added) this.endpoints.set(b.key, b);
    for (const [key, ep] of [...this.endpoints]) {
      const cfg = wanted.get(key);
      if (!cfg) {
        this.endpoints.delete(key);
        // Connections already open on a removed socket finish normally.
        await this.closeEndpoint(ep, false);
        continue;
      }
      const before = ep.cfg;
      ep.cfg = cfg;
      if (ep.path !== undefined && (before.mode !== cfg.mode || before.uid !== cfg.uid || before.gid !== cfg.gid)) {
        await applyUnixPerms(ep.path, cfg).catch(() => { /* kept socket: the old permissions stay */ });
      }
    }
  }

  /** Stop listening, drop every CLI connection, remove the socket files. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.sessions) s.destroy();
    this.sessions.clear();
    const eps = [...this.endpoints.values()];
    this.endpoints.clear();
    await Promise.all(eps.map((ep) => this.closeEndpoint(ep)));
  }

  /* ---------------- sockets ---------------- */

  private async bind(key: string, cfg: StatsSocketConfig): Promise<Endpoint> {
    const server = net.createServer({ allowHalfOpen: true });
    server.maxConnections = this.opts.maxConnections;
    const ep: Endpoint = { key, cfg, server };
    server.on('connection', (sock) => this.accept(ep, sock));
    server.on('error', () => { /* after listen, errors are per connection */ });
    const a = cfg.address;
    const text = formatListenAddress(a);
    const fail = (e: unknown): never => {
      const code = (e as NodeJS.ErrnoException).code ?? 'EINVAL';
      throw new BindError(text, code, cfg.file, cfg.line);
    };
    if (a.kind === 'tcp') {
      await listen(server, { host: a.host, port: a.port, exclusive: true }).catch(fail);
    } else if (a.kind === 'fd') {
      await listen(server, { fd: a.fd }).catch(fail);
    } else {
      // Like HAProxy: bind a temporary name, set its mode and owner, then
      // rename it over the final path. A stale socket from a previous run is
      // replaced atomically and the path never exists with loose permissions.
      const tmp = `${a.path}.${process.pid}.tmp`;
      await unlink(tmp).catch(() => { /* not there */ });
      try {
        await listen(server, { path: tmp });
        await applyUnixPerms(tmp, cfg);
        await rename(tmp, a.path);
        ep.path = a.path;
        ep.ino = (await lstat(a.path)).ino;
      } catch (e) {
        server.close();
        await unlink(tmp).catch(() => { /* not created */ });
        // libuv reports a missing directory as EACCES for UNIX sockets.
        const err = e as NodeJS.ErrnoException;
        if (err.code === 'EACCES' && !(await stat(dirname(a.path)).catch(() => undefined))) err.code = 'ENOENT';
        fail(err);
      }
    }
    return ep;
  }

  private async closeEndpoint(ep: Endpoint, wait = true): Promise<void> {
    const done = new Promise<void>((resolve) => ep.server.close(() => resolve()));
    if (ep.path !== undefined) {
      // Remove the file only if it is still the socket we created.
      const st = await lstat(ep.path).catch(() => undefined);
      if (st && st.ino === ep.ino) await unlink(ep.path).catch(() => { /* raced */ });
    }
    if (wait) await done;
  }

  private accept(ep: Endpoint, sock: net.Socket): void {
    if (this.closed) { sock.destroy(); return; }
    const session = new CliSession(this, ep.cfg.level, sock, this.opts);
    this.sessions.add(session);
    sock.once('close', () => this.sessions.delete(session));
  }

  /* ---------------- used by sessions ---------------- */

  /** @internal */
  systemFacts(): { ulimitN: number; cliConnections: number; releaseDate: string } {
    return { ulimitN: this.ulimitN, cliConnections: this.sessions.size, releaseDate: RELEASE_DATE };
  }

  /**
   * Resolve `@`, `@master`, `@<n>` (n-th current worker) or `@!<pid>`.
   * null = the master, i.e. every worker summed; undefined = no such process.
   * @internal
   */
  resolveTarget(word: string): CliTarget | null | undefined {
    if (word === '@' || word === '@master') return null;
    const procs = this.host.processes();
    if (word.startsWith('@!')) {
      const pid = strictInt(word.slice(2));
      const p = procs.find((x) => x.pid === pid);
      if (!p) return undefined;
      return p.role === 'master' ? null : { pid: p.pid, relPid: p.relPid, startedAt: p.startedAt };
    }
    const n = strictInt(word.slice(1));
    const p = procs.find((x) => x.role === 'worker' && !x.old && x.relPid === n);
    return p ? { pid: p.pid, relPid: p.relPid, startedAt: p.startedAt } : undefined;
  }
}

/* ------------------------------------------------------------------ */
/* One CLI connection                                                  */
/* ------------------------------------------------------------------ */

class CliSession {
  private level: CliLevel;
  private prompt = false;
  /** Payload lines being gathered after a line ending in `<<`. */
  private payload: string[] | null = null;
  private payloadBytes = 0;
  private sticky: CliTarget | null = null;
  private buf = '';
  private readonly decoder = new StringDecoder('utf8');
  private busy = false;
  private eof = false;
  private closing = false;
  private quitRequested = false;
  private paused = false;

  constructor(private readonly api: RuntimeApi, private readonly socketLevel: CliLevel, private readonly sock: net.Socket,
    private readonly opts: Required<RuntimeApiOptions>) {
    this.level = socketLevel;
    sock.setTimeout(opts.timeoutMs, () => sock.destroy());
    sock.on('error', () => { /* EPIPE, ECONNRESET: the peer is gone */ });
    sock.on('data', (chunk: Buffer) => this.onData(chunk));
    sock.on('end', () => { this.eof = true; void this.pump(); });
  }

  destroy(): void {
    this.closing = true;
    this.sock.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.closing) return;
    this.buf += this.decoder.write(chunk);
    if (this.buf.length > this.opts.maxLineBytes) {
      // Bound memory: stop reading until the buffered commands are served.
      if (!this.paused) { this.paused = true; this.sock.pause(); }
    }
    void this.pump();
  }

  /**
   * Next complete line or `;`-separated command, without its terminator and
   * a trailing CR. undefined = incomplete, null = over-long (drop the client,
   * as HAProxy does when a request fills its buffer).
   */
  private nextSegment(): string | undefined | null {
    const b = this.buf;
    const limit = Math.min(b.length, this.opts.maxLineBytes + 1);
    let end = -1;
    if (this.payload) {
      end = b.indexOf('\n');
      if (end > this.opts.maxLineBytes) return null;
    } else {
      for (let i = 0; i < limit; i++) {
        const c = b.charCodeAt(i);
        if (c === 0x5c /* \ */) { i++; continue; }
        if (c === 0x0a || c === 0x3b /* ; */) { end = i; break; }
      }
    }
    if (end < 0) return b.length > this.opts.maxLineBytes ? null : undefined;
    let line = b.slice(0, end);
    this.buf = b.slice(end + 1);
    if (line.endsWith('\r')) line = line.slice(0, -1);
    return line;
  }

  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (!this.closing) {
        const line = this.nextSegment();
        if (line === null) { this.destroy(); return; }
        if (line === undefined) break;
        await this.handleLine(line);
        if (this.closing) return;
        // Non-interactive mode: answer what was sent in one go, then close.
        if (!this.prompt && !this.payload && this.buf.length === 0) { this.finish(); return; }
      }
      if (this.paused && this.buf.length <= this.opts.maxLineBytes) { this.paused = false; this.sock.resume(); }
      // The client closed its side: what is left is an unterminated line,
      // which HAProxy never runs.
      if (this.eof && !this.closing) this.finish();
    } catch {
      this.destroy();
    } finally {
      this.busy = false;
    }
  }

  private async handleLine(line: string): Promise<void> {
    if (this.payload) {
      if (line !== '') {
        this.payloadBytes += line.length + 1;
        if (this.payloadBytes > this.opts.maxLineBytes) { this.destroy(); return; }
        this.payload.push(line);
        if (this.prompt) await this.write('+ ');
        return;
      }
      const cmd = this.payload[0];
      this.payload = null;
      this.payloadBytes = 0;
      await this.execute(cmd);
      return;
    }
    if (line.endsWith('<<')) {
      // Commands with a payload: none of ours reads it, but gather it like
      // HAProxy so that the next lines are not run as commands.
      this.payload = [line];
      this.payloadBytes = line.length;
      if (this.prompt) await this.write('+ ');
      return;
    }
    await this.execute(line);
  }

  private async execute(line: string): Promise<void> {
    let words = tokenize(line);
    let target = this.sticky;
    if (words.length && words[0].startsWith('@')) {
      const t = this.api.resolveTarget(words[0]);
      if (t === undefined) {
        // The master CLI answers this and drops the connection.
        await this.write(`Can't find the target PID matching the prefix '${words[0]}'\n`);
        this.finish();
        return;
      }
      if (words.length === 1) {
        this.sticky = t;
        if (this.prompt) await this.write('> ');
        return;
      }
      target = t;
      words = words.slice(1);
    }

    let reply: string;
    const found = words.length ? findCliCommand(words) : undefined;
    if (!found) {
      reply = usageMessage(words);
    } else if (LEVEL_RANK[this.level] < LEVEL_RANK[found.def.level]) {
      reply = 'Permission denied\n';
    } else {
      const ctx: CliContext = { args: words.slice(found.used), level: this.level, host: this.env(target) };
      try {
        reply = await found.def.run(ctx);
      } catch {
        reply = 'Internal error.\n';
      }
    }
    if (this.quitRequested) { this.finish(); return; }
    await this.write(reply + (this.prompt ? '\n> ' : '\n'));
  }

  private env(target: CliTarget | null): CliEnv {
    return {
      host: this.api.host,
      socketLevel: this.socketLevel,
      target,
      setLevel: (l) => { if (LEVEL_RANK[l] < LEVEL_RANK[this.level]) this.level = l; },
      togglePrompt: () => { this.prompt = !this.prompt; },
      quit: () => { this.quitRequested = true; },
      system: () => this.api.systemFacts(),
    };
  }

  private write(s: string): Promise<void> {
    if (this.closing || this.sock.destroyed) return Promise.resolve();
    if (this.sock.write(s)) return Promise.resolve();
    // Slow reader: wait for the kernel to take the reply (or the timeout).
    return new Promise((resolve) => {
      const done = () => { this.sock.off('drain', done); this.sock.off('close', done); resolve(); };
      this.sock.on('drain', done);
      this.sock.on('close', done);
    });
  }

  private finish(): void {
    if (this.closing) return;
    this.closing = true;
    this.sock.end();
  }
}

/* ------------------------------------------------------------------ */
/* helpers                                                             */
/* ------------------------------------------------------------------ */

/**
 * HAProxy's CLI word splitting: blanks separate words, `\x` stands for x
 * (`\\` for a backslash), and a `<<` word starts the payload.
 */
function tokenize(line: string): string[] {
  const words: string[] = [];
  let i = 0;
  const n = line.length;
  while (words.length < MAX_CLI_ARGS && i < n) {
    while (i < n && (line[i] === ' ' || line[i] === '\t')) i++;
    if (i >= n) break;
    if (i + 2 === n && line.startsWith('<<', i)) break;
    let w = '';
    while (i < n && line[i] !== ' ' && line[i] !== '\t') {
      if (line[i] === '\\') {
        i++;
        if (i < n) w += line[i++];
        continue;
      }
      w += line[i++];
    }
    words.push(w);
  }
  return words;
}

function strictInt(s: string): number {
  return /^\d+$/.test(s) ? Number(s) : NaN;
}

function uniqueByKey(sockets: readonly StatsSocketConfig[]): Map<string, StatsSocketConfig> {
  const out = new Map<string, StatsSocketConfig>();
  for (const s of sockets) {
    const key = listenAddressKey(s.address);
    if (out.has(key)) {
      throw new Error(`${s.file}:${s.line}: stats socket ${formatListenAddress(s.address)} is declared twice`);
    }
    out.set(key, s);
  }
  return out;
}

/** `{ fd }` listens on an inherited descriptor (Node's listen(handle) form). */
function listen(server: net.Server, opts: net.ListenOptions | { fd: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => { server.off('listening', onListening); reject(e); };
    const onListening = () => { server.off('error', onError); resolve(); };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(opts as net.ListenOptions);
  });
}

/** Mode (default 0600: only the owner may talk to the API) and owner of a UNIX socket. */
async function applyUnixPerms(path: string, cfg: StatsSocketConfig): Promise<void> {
  const a = cfg.address.kind === 'unix' ? cfg.address : undefined;
  await chmod(path, cfg.mode ?? a?.mode ?? 0o600);
  const uid = cfg.uid ?? a?.uid;
  const gid = cfg.gid ?? a?.gid;
  if (uid !== undefined || gid !== undefined) await chown(path, uid ?? -1, gid ?? -1);
}

/** Soft RLIMIT_NOFILE (show info's Ulimit-n); 0 where /proc is missing. */
async function readOpenFilesLimit(): Promise<number> {
  try {
    const text = await readFile('/proc/self/limits', 'utf8');
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(text);
    return m && m[1] !== 'unlimited' ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}
