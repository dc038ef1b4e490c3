/**
 * One run of a check: connect, send and expect as the ruleset says, over
 * node:net (and node:tls for `ssl` connects), with HAProxy's timeouts and
 * failure statuses (tcpcheck.c tcpcheck_main(), check.c
 * chk_report_conn_err()). The master runs one per server and interval; the
 * scheduler (scheduler.ts) turns the result into health.
 *
 * Timeouts, as HAProxy: a connect may take `inter`, or min(inter, timeout
 * connect) when `timeout check` is set; once connected the rest of the check
 * has `timeout check` if set, else what remains of `inter`. Expiring while
 * connecting is L4TOUT, during the TLS handshake L6TOUT, later L7TOUT (or the
 * expect rule's tout-status).
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import { parseResponseHead, METH_HEAD, METH_OTHER, BODY_CHUNKED, BODY_LENGTH, BODY_NONE, BODY_CLOSE, DEFAULT_H1_LIMITS } from '@switchyard/core/http/h1';
import { ChunkedDecoder } from '@switchyard/core/http/chunked';
import { buildProxyV1, buildProxyV2 } from '@switchyard/core/engine/proxy-protocol';
import {
  compileExpect, evalHttpExpect, evalTcpExpect, stepOf, successOf,
  EVAL_CONTINUE, EVAL_STOP, EVAL_WAIT, type CompiledExpect, type HttpCheckResponse,
} from '@switchyard/core/checks/expect';
import { parseAgentReply, type AgentReply } from '@switchyard/core/checks/agent';
import {
  HCHK_L4CON, HCHK_L4TOUT, HCHK_L6RSP, HCHK_L6TOUT, HCHK_L7RSP, HCHK_L7TOUT, HCHK_SOCKERR, HCHK_UNKNOWN,
  type CheckKind, type CheckRule, type ConnectRule, type ExpectRule, type HttpSendRule,
} from '@switchyard/core/checks/types';

/** A rule ready to run: expects carry their compiled pattern. */
export type RunRule = Exclude<CheckRule, ExpectRule> | (ExpectRule & { compiled: CompiledExpect });

export function compileRules(rules: readonly CheckRule[]): RunRule[] {
  return rules.map(r => (r.t === 'expect' ? { ...r, compiled: compileExpect(r) } : r));
}

/** Everything one run needs, resolved by the scheduler. */
export interface ProbeSpec {
  kind: CheckKind;
  rules: readonly RunRule[];
  /** Where a connect without addr/port goes (check addr/port, else the server's). */
  ip: string;
  family: 4 | 6;
  /** The check's own port (`port`, `agent-port`), 0 when none. */
  checkPort: number;
  serverPort: number;
  /** The default connect: TLS and PROXY header. */
  ssl: boolean;
  tlsOptions: tls.ConnectionOptions | null;
  sendProxy: number;
  /** PROXY v2 options of the server (send-proxy on a connect rule uses the server's version). */
  serverSendProxy: number;
  inter: number;
  timeoutConnect: number;
  timeoutCheck: number;
  /** disable-on-404 applies: the server is not down. */
  disable404: boolean;
}

export interface ProbeResult {
  /** HCHK_* status; HCHK_UNKNOWN with `agent`: the agent's reply decides. */
  status: number;
  code: number;
  desc: string;
  /** Agent checks: the reply line, or null when the agent closed before a full line. */
  agent?: AgentReply | null;
}

/** strerror() texts for the errors a check connection meets. */
const STRERROR: Record<string, string> = {
  ECONNREFUSED: 'Connection refused',
  ECONNRESET: 'Connection reset by peer',
  ETIMEDOUT: 'Connection timed out',
  EHOSTUNREACH: 'No route to host',
  ENETUNREACH: 'Network is unreachable',
  EPIPE: 'Broken pipe',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  ECONNABORTED: 'Software caused connection abort',
  EADDRINUSE: 'Address already in use',
};

function strerror(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return (code && STRERROR[code]) ?? (code ?? (e as Error | undefined)?.message ?? '');
}

/** The HAProxy tune.bufsize: a check reads at most a buffer, then evaluates as if the server were done. */
const BUFSIZE = 16384;

const PHASE_L4 = 0;
const PHASE_L6 = 1;
const PHASE_L7 = 2;

/** Runs `spec` once; `done` is called exactly once, unless abort() is called first. */
export class Probe {
  private i = 0;
  private sock: net.Socket | null = null;
  private conn: ConnectRule | null = null;
  private tlsUsed = false;
  private phase = PHASE_L4;
  private bi: Buffer = Buffer.alloc(0);
  private eof = false;
  private sockErr: unknown = null;
  private waiting = false;
  private timer: NodeJS.Timeout | null = null;
  private finished = false;
  /** HTTP: the method of the request in flight (response framing), the HTTP status seen. */
  private reqMethod = METH_OTHER;
  private code = 0;
  private readonly started = Date.now();

  constructor(private readonly spec: ProbeSpec, private readonly done: (r: ProbeResult) => void) {}

  start(): void {
    this.step();
  }

  abort(): void {
    this.finished = true;
    this.clearTimer();
    this.sock?.destroy();
    this.sock = null;
  }

  private finish(status: number, desc: string, agent?: AgentReply | null): void {
    if (this.finished) return;
    this.finished = true;
    this.clearTimer();
    this.sock?.destroy();
    this.sock = null;
    const r: ProbeResult = { status, code: this.code, desc };
    if (agent !== undefined) r.agent = agent;
    this.done(r);
  }

  private clearTimer(): void {
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
  }

  private arm(ms: number): void {
    this.clearTimer();
    this.timer = setTimeout(() => this.expired(), Math.max(0, ms));
  }

  /** Evaluates rules from `this.i` until one must wait or the check ends. */
  private step(): void {
    const rules = this.spec.rules;
    this.waiting = false;
    while (!this.finished && this.i < rules.length) {
      const r = rules[this.i];
      this.code = 0;
      switch (r.t) {
        case 'connect':
          if (this.sock !== null && this.conn === r) { this.i++; continue; }
          if (this.sock !== null) { this.sock.destroy(); this.sock = null; }
          return this.connect(r);
        case 'send':
          this.reset();
          if (r.data.length) this.write(Buffer.from(r.data, 'latin1'));
          this.i++;
          continue;
        case 'http-send':
          this.reset();
          this.write(this.httpRequest(r));
          this.i++;
          continue;
        case 'expect': {
          if (this.sockErr !== null && this.bi.length === 0) return this.socketError();
          const lastRead = this.eof || this.sockErr !== null || this.bi.length >= BUFSIZE;
          if (this.bi.length === 0 && !lastRead) { this.waiting = true; return; }
          if (this.bi.length === 0 && lastRead) {
            const st = r.errStatus !== HCHK_UNKNOWN ? r.errStatus : HCHK_L7RSP;
            return this.finish(st, `TCPCHK got an empty response at step ${stepOf(r)}${r.comment !== null ? ` comment: '${r.comment}'` : ''}`);
          }
          if (r.type === 'agent') {
            const reply = parseAgentReply(this.bi.toString('latin1'));
            if (reply === null && !lastRead) { this.waiting = true; return; }
            return this.finish(HCHK_UNKNOWN, '', reply);
          }
          const res = this.spec.kind === 'http' ? this.evalHttp(r, lastRead) : evalTcpExpect(this.spec.kind, r.compiled, this.bi, lastRead);
          if (res.ret === EVAL_WAIT) {
            // More data: evaluation starts again at the chain's first inverted expect.
            this.i = r.head;
            this.waiting = true;
            return;
          }
          if (res.ret !== EVAL_CONTINUE) return this.finish(res.status, res.desc);
          this.i++;
          continue;
        }
      }
    }
    if (this.finished) return;
    const last = rules[rules.length - 1];
    const s = successOf(this.spec.kind, last.t === 'expect' ? last : { t: last.t, implicit: last.t === 'connect' ? last.implicit : false },
      this.tlsUsed, this.code, this.spec.disable404);
    this.finish(s.status, s.desc);
  }

  /** Input is per request: a send or a connect starts a new one. */
  private reset(): void {
    this.bi = Buffer.alloc(0);
    this.eof = false;
  }

  private write(b: Buffer): void {
    this.sock?.write(b);
  }

  private connect(r: ConnectRule): void {
    const spec = this.spec;
    const dflt = r.dflt || r.implicit;
    const ip = r.addr?.ip ?? spec.ip;
    const family = r.addr?.family ?? spec.family;
    const port = r.port || spec.checkPort || spec.serverPort;
    const useTls = r.ssl || (dflt && spec.ssl);
    const sendProxy = r.sendProxy ? (spec.serverSendProxy || 1) : dflt ? spec.sendProxy : 0;
    this.conn = r;
    this.reset();
    this.sockErr = null;
    this.phase = PHASE_L4;
    this.tlsUsed = useTls;
    // A connect may take inter, or min(inter, timeout connect) with `timeout check`.
    this.arm(spec.timeoutCheck && spec.timeoutConnect ? Math.min(spec.inter, spec.timeoutConnect) : spec.inter);
    const raw = net.connect({ host: ip, port, family, noDelay: true });
    this.sock = raw;
    raw.on('error', e => this.onError(raw, e));
    raw.once('connect', () => {
      if (this.sock !== raw) return;
      if (sendProxy) raw.write(sendProxy === 2 ? buildProxyV2(null, 0, null) : buildProxyV1(null));
      if (!useTls) return this.connected(raw);
      this.phase = PHASE_L6;
      const o: tls.ConnectionOptions = { ...(spec.tlsOptions ?? { rejectUnauthorized: false }), socket: raw };
      if (r.sni !== null) o.servername = r.sni;
      if (r.alpn !== null) o.ALPNProtocols = r.alpn;
      const t = tls.connect(o);
      this.sock = t;
      t.on('error', e => this.onError(t, e));
      t.once('secureConnect', () => { if (this.sock === t) this.connected(t); });
    });
  }

  private connected(s: net.Socket): void {
    this.phase = PHASE_L7;
    // Once connected, the rest of the check has `timeout check`, when set.
    if (this.spec.timeoutCheck) this.arm(this.spec.timeoutCheck);
    s.on('data', (d: Buffer) => {
      if (this.sock !== s || this.finished) return;
      if (this.bi.length < BUFSIZE) this.bi = this.bi.length === 0 ? d : Buffer.concat([this.bi, d]);
      if (this.waiting) this.step();
    });
    s.on('end', () => {
      if (this.sock !== s || this.finished) return;
      this.eof = true;
      if (this.waiting) this.step();
    });
    this.i++;
    this.step();
  }

  private onError(s: net.Socket, e: unknown): void {
    if (this.sock !== s || this.finished) return;
    if (this.phase === PHASE_L4) return this.finish(HCHK_L4CON, strerror(e) + this.where());
    if (this.phase === PHASE_L6) return this.finish(HCHK_L6RSP, 'SSL handshake failure' + this.where());
    // An error after data is the end of the response; reported as such only without data.
    this.sockErr = e;
    if (this.waiting) this.step();
  }

  private socketError(): void {
    this.finish(HCHK_SOCKERR, strerror(this.sockErr) + this.where());
  }

  private expired(): void {
    this.timer = null;
    if (this.finished) return;
    if (this.phase === PHASE_L4) return this.finish(HCHK_L4TOUT, this.where());
    if (this.phase === PHASE_L6) return this.finish(HCHK_L6TOUT, this.where());
    const r = this.spec.rules[this.i];
    const st = r && r.t === 'expect' && r.toutStatus !== HCHK_UNKNOWN ? r.toutStatus : HCHK_L7TOUT;
    this.finish(st, this.where());
  }

  /** chk_report_conn_err()'s step information, for `option tcp-check` rulesets only. */
  private where(): string {
    if (this.spec.kind !== 'tcp-check') return '';
    const r = this.spec.rules[Math.min(this.i, this.spec.rules.length - 1)];
    const step = stepOf(r as { index: number; t: string; implicit?: boolean });
    if (step === 0) return ' at initial connection step of tcp-check';
    let s = ` at step ${step} of tcp-check`;
    if (r.t === 'connect') s += r.port ? ` (connect port ${r.port})` : ' (connect)';
    else if (r.t === 'expect') {
      switch (r.type) {
        case 'string': s += ` (expect string '${r.pattern}')`; break;
        case 'binary': s += ` (expect binary '${r.pattern}')`; break;
        case 'rstring': s += ' (expect regex)'; break;
        case 'rbinary': s += ' (expect binary regex)'; break;
        default: break;
      }
    } else if (r.t === 'send') s += ' (send)';
    if (r.comment !== null) s += ` comment: '${r.comment}'`;
    return s;
  }

  /** The check's HTTP/1 request, as HAProxy's H1 mux writes it (header names in lower case). */
  private httpRequest(r: HttpSendRule): Buffer {
    const meth = r.meth ?? 'OPTIONS';
    const uri = r.uri ?? '/';
    const ver = r.ver ?? 'HTTP/1.0';
    const v11 = /^HTTP\/(?:1\.[1-9]|[2-9])/.test(ver);
    this.reqMethod = meth.toUpperCase() === 'HEAD' ? METH_HEAD : METH_OTHER;
    let head = `${meth} ${uri} ${ver}\r\n`;
    let conn: string | null = null;
    for (const [n, v] of r.hdrs) {
      if (n.toLowerCase() === 'connection') { conn = v; continue; }
      head += `${n.toLowerCase()}: ${v}\r\n`;
    }
    const body = r.body ?? '';
    if (body.length) head += `content-length: ${Buffer.byteLength(body, 'latin1')}\r\n`;
    // The check closes after the response: HTTP/1.1 says so, HTTP/1.0 does by default.
    const lc = conn?.toLowerCase() ?? null;
    if (v11 && lc !== 'keep-alive') head += `connection: ${conn ?? 'close'}\r\n`;
    else if (!v11 && lc === 'keep-alive') head += `connection: ${conn}\r\n`;
    return Buffer.from(head + '\r\n' + body, 'latin1');
  }

  private evalHttp(r: ExpectRule & { compiled: CompiledExpect }, lastRead: boolean) {
    const resp = this.httpResponse();
    if (resp === 'error') return { ret: EVAL_STOP, status: HCHK_L7RSP, desc: (r.onError ?? '') + (r.comment !== null ? ` comment: ${r.comment}` : '') };
    if (resp !== null) this.code = resp.status;
    return evalHttpExpect(r.compiled, resp, lastRead, this.spec.disable404);
  }

  /** The response as received so far: null while the head is incomplete. */
  private httpResponse(): HttpCheckResponse | null | 'error' {
    let buf = this.bi;
    for (;;) {
      const res = parseResponseHead(buf, this.reqMethod, DEFAULT_H1_LIMITS);
      if (res.state === 'partial') return null;
      if (res.state === 'error') return 'error';
      const h = res.head;
      // Interim responses (1xx) are skipped.
      if (h.status < 200 && h.status !== 101) { buf = buf.subarray(res.headLength); continue; }
      const headers: Array<[string, string]> = [];
      for (let k = 0; k < h.headers.count; k++) headers.push([h.headers.name(k), h.headers.value(k)]);
      const rest = buf.subarray(res.headLength);
      let body: Buffer = rest;
      let complete = false;
      if (h.bodyKind === BODY_NONE) { body = Buffer.alloc(0); complete = true; }
      else if (h.bodyKind === BODY_LENGTH) { body = rest.subarray(0, h.contentLength); complete = rest.length >= h.contentLength; }
      else if (h.bodyKind === BODY_CHUNKED) {
        const d = new ChunkedDecoder(true);
        const n = d.feed(rest, 0, rest.length);
        if (n < 0) return 'error';
        const parts: Buffer[] = [];
        for (let k = 0; k < d.dataCount; k++) parts.push(rest.subarray(d.dataStarts[k], d.dataEnds[k]));
        body = Buffer.concat(parts);
        complete = d.done;
      } else if (h.bodyKind === BODY_CLOSE) {
        complete = this.eof;
      }
      return { status: h.status, reason: h.reason, headers, body, complete };
    }
  }

  get elapsed(): number {
    return Date.now() - this.started;
  }
}
