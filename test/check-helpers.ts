/**
 * Helpers of the health-check integration tests: a master with an admin
 * socket and traffic logs on stdout, HTTP origins whose answers a test
 * changes, a plain HTTP client.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import { join } from 'node:path';
import { apiCommand, parseStatCsv, startMaster, statRow, tempDir, writeConfig, type Master } from './helpers';

/** `global` + `defaults` with traffic and server-state logs on stdout. */
export function checkGlobals(sock: string, opts: { nbthread?: number; mode?: 'http' | 'tcp' } = {}): string {
  return `global
    nbthread ${opts.nbthread ?? 1}
    log stdout format raw local0
    stats socket ${sock} level admin
defaults
    mode ${opts.mode ?? 'http'}
    log global
    timeout connect 1s
    timeout client 10s
    timeout server 10s
`;
}

export interface CheckRun {
  m: Master;
  dir: string;
  sock: string;
  admin(cmd: string): Promise<string>;
  /** The `show stat` row of a server (or BACKEND). */
  row(be: string, sv: string): Promise<Record<string, string>>;
  /** Resolves with the first log line (stdout) matching `re` printed after `from` (a `mark()`). */
  line(re: RegExp, from?: number, timeoutMs?: number): Promise<string>;
  mark(): number;
  stop(): Promise<void>;
}

/** The first line of the master's stdout (traffic and server-state logs) after offset `from` matching `re`. */
function stdoutLine(m: Master, re: RegExp, from: number, timeoutMs: number): Promise<string> {
  const out = m.child.stdout!;
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const hit = re.exec(m.stdout.slice(from));
      if (!hit) return false;
      clearTimeout(timer);
      out.off('data', check);
      resolve(hit[0]);
      return true;
    };
    const timer = setTimeout(() => { out.off('data', check); reject(new Error(`no log line ${re} within ${timeoutMs} ms; stdout since the mark:\n${m.stdout.slice(from)}`)); }, timeoutMs);
    // The Master's own listener was registered first: m.stdout already has the chunk.
    if (!check()) out.on('data', check);
  });
}

/** Start a master on `cfg(sockPath, dir)`; `t.after` stops it. */
export async function startChecked(t: { after(fn: () => Promise<void> | void): void }, cfg: (sock: string, dir: string) => string): Promise<CheckRun> {
  const tmp = tempDir('sy-chk-');
  const sock = join(tmp.dir, 'admin.sock');
  const path = writeConfig(tmp.dir, cfg(sock, tmp.dir));
  let m: Master | undefined;
  t.after(async () => { await m?.stop(); tmp.cleanup(); });
  m = await startMaster(path);
  const master = m;
  return {
    m: master, dir: tmp.dir, sock,
    admin: cmd => apiCommand(sock, cmd),
    row: async (be, sv) => statRow(parseStatCsv(await apiCommand(sock, 'show stat')), be, sv),
    line: (re, from = 0, timeoutMs = 10_000) => stdoutLine(master, new RegExp(`^${re.source}$`, 'm'), from, timeoutMs),
    mark: () => master.stdout.length,
    stop: async () => { await master.stop(); },
  };
}

/** An HTTP origin: `status` and `body` may change at any time; requests are counted per path. */
export class HttpOrigin {
  status = 200;
  body = 'ok';
  /** Answer health checks (`/health`) with this status when set, traffic with `status`. */
  healthStatus: number | null = null;
  readonly hits = new Map<string, number>();
  readonly server: http.Server;

  constructor(readonly name: string) {
    this.server = http.createServer((req, res) => {
      const path = req.url ?? '/';
      this.hits.set(path, (this.hits.get(path) ?? 0) + 1);
      res.statusCode = path === '/health' && this.healthStatus !== null ? this.healthStatus : this.status;
      res.setHeader('x-origin', this.name);
      res.end(this.body);
    });
    this.server.keepAliveTimeout = 100;
  }

  listen(): Promise<number> {
    return new Promise(resolve => this.server.listen(0, '127.0.0.1', () => resolve(this.port)));
  }

  get port(): number { return (this.server.address() as net.AddressInfo).port; }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise(resolve => this.server.close(() => resolve()));
  }
}

/** GET through the proxy on a new connection: status, body and the answering origin. */
export function httpGet(port: number, path = '/'): Promise<{ status: number; body: string; origin: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false }, res => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', d => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, origin: String(res.headers['x-origin'] ?? '') }));
    });
    req.on('error', reject);
  });
}

/** A TCP server answering each connection with `reply(data so far)` once it returns non-null (then closing unless `keep`). */
export class LineServer {
  readonly server: net.Server;
  connections = 0;
  private readonly sockets = new Set<net.Socket>();
  constructor(public reply: (received: string) => string | null, public keep = false) {
    this.server = net.createServer(s => {
      this.connections++;
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      let got = '';
      let done = false;
      s.on('error', () => { /* checks close as they like */ });
      const answer = (): void => {
        if (done) return;
        const r = this.reply(got);
        if (r === null) return;
        done = true;
        if (this.keep) s.write(r); else s.end(r);
      };
      s.on('data', d => { got += d.toString('latin1'); answer(); });
      answer();
    });
  }

  listen(): Promise<number> {
    return new Promise(resolve => this.server.listen(0, '127.0.0.1', () => resolve(this.port)));
  }

  get port(): number { return (this.server.address() as net.AddressInfo).port; }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise(resolve => this.server.close(() => resolve()));
  }
}
