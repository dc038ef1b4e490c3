/**
 * An HTTP-mode client connection on raw libuv handles (see raw-handle.ts):
 * HTTP/1.1 transactions one after another (keep-alive, pipelining), each
 * relayed on a server connection taken from the server's idle pool
 * (backend/server-pool.ts, `http-reuse`) or newly opened. Requests go out
 * keep-alive unless the client asked to close or the connection mode
 * (`option http-server-close` / `httpclose`) says otherwise; after a complete
 * response whose length did not depend on the close, with no
 * `connection: close` from the server, the connection is parked again.
 *
 * A reused connection may have been closed by the server just as the request
 * went out. When it fails before any response byte, an idempotent request
 * (RFC 9110 §9.2.2) whose bytes are still held (≤ RETRY_MAX) is sent once
 * more on a new connection; anything else gets a 502: a request is never
 * delivered twice unless it is idempotent.
 *
 * One transaction: read the request head (h1.ts; a malformed request gets
 * the parser's status and the connection closes: it never reaches a
 * server), pick the server, connect (retries and a final redispatch as in
 * TCP mode), send the head re-serialised without hop-by-hop fields (RFC 9110
 * §7.6.1), pass the body through (content-length: exactly N bytes; chunked:
 * byte for byte while ChunkedDecoder validates the framing; what follows the
 * body is the next pipelined request), read and validate the response head
 * (502 if malformed), forward interim 1xx responses (100-continue passes
 * through), the final head and the body (length, chunked, close-delimited or
 * none for HEAD/1xx/204/304), log one line, then wait for the next request
 * (`timeout http-keep-alive`) or close.
 *
 * Body bytes are forwarded as subarrays of the read buffers (Node never
 * reuses them), never copied; only head bytes split across reads are
 * concatenated, because the parser wants the whole head in one buffer.
 *
 * Handlers are module-level functions; a handle or request finds its stream
 * through a symbol, so a connection allocates no closures.
 */
import { type ProxyRuntime, type ServerRuntime, CONN_KEEP_ALIVE, CONN_CLOSE } from './proxy-runtime';
import { type IdleConn, REUSE_NEVER, REUSE_AGGRESSIVE, REUSE_ALWAYS, idleRead } from '../backend/server-pool';
import type { Engine } from './engine';
import type { ListenerRuntime } from './listener';
import {
  type RawStream, type WriteReq, type ShutdownReq,
  WriteWrap, ShutdownWrap, UV_EOF, readResult, readBytes, lastWriteWasAsync,
  peerAddress, localAddress,
} from './raw-handle';
import { connectToServer, planRetry, redispatchTarget, connectionSni, evalSni } from './server-connect';
import type { TlsInfo } from '../tls/accept';
import { LazyTimer } from './lazy-timer';
import {
  parseRequestHead, parseResponseHead, HeadScan,
  type RequestHead, type ResponseHead, type MessageHead,
  BODY_NONE, BODY_LENGTH, BODY_CHUNKED, BODY_CLOSE, BODY_TUNNEL, METH_CONNECT,
  METH_GET, METH_HEAD, METH_PUT, METH_DELETE, METH_OPTIONS, METH_TRACE,
} from '../http/h1';
import { ChunkedDecoder } from '../http/chunked';
import { type HeaderList, writeLatin1, copyBytes, latin1 } from '../http/headers';
import { earlyErrorResponse } from '../http/errors';
import type { LogRecord } from '../log/log-format';
import { RequestExtras, analyseRequest, analyseResponse, restrictRequest, finishRequest, monitorReply, logExtras, REQ_MONITOR } from '../http/analysers';
import { runRules, pickBackend, pickUseServer, yieldAt, ACT_WAIT_BODY, ACT_CONTINUE, ACT_STOP, ACT_DENY, ACT_TARPIT, ACT_DONE, ACT_ABORT, type RuleHost, type Rule } from '../rules/rule-set';
import type { VarScopes, TlsView, Sample } from '../rules/sample';
import { buildReply, errorReplyOf, type HttpReplySpec } from '../http/reply';
import { acceptSession } from './conn-rules';
import { countStatus } from '../stats/counters';
import { leaveQueue, takeOrQueue, SLOT_TAKEN, SLOT_QUEUE_FULL, type WaitQueue } from '../backend/queue';
import { RETRY_CONN_FAILURE, RETRY_EMPTY_RESPONSE, RETRY_JUNK_RESPONSE, RETRY_RESPONSE_TIMEOUT, retryStatusBit } from '../backend/retry';
import { type PersistTxn, persistSwitched, persistUseServer, requestCookies, persistSelect, cookieResponse, cookieDenied, cookieLogFlags, redispatchForbidden } from '../http/cookie-persist';
import { observeConnected, observeConnectFailed, observeHttpError, observeStatus, HANA_HTTP_RSP, HANA_HTTP_BROKEN_PIPE } from '../checks/observe';

const kStream = Symbol('switchyard.http.stream');
const kToClient = Symbol('switchyard.http.toClient');

/**
 * Request bytes kept for a retry on a new connection (HAProxy keeps the
 * request in its buffer for l7 retries: tune.bufsize). Larger requests are
 * not retried.
 */
const RETRY_MAX = 16384;

/* Phases of the current transaction. */
const P_HEAD = 0; // waiting for / reading a request head
const P_CONNECT = 1; // head parsed, server being chosen / connected
const P_TXN = 2; // connected: request body and response
const P_CLOSING = 3; // last bytes being flushed to the client
const P_TUNNEL = 4; // after 101 (Upgrade) or a 2xx to CONNECT: bytes relayed both ways

/** Body bytes `option http-buffer-request` holds at most before connecting (tune.bufsize). */
const BUFFERED_BODY_MAX = 16384;
const CONTINUE_100 = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');

const CR = 0x0d;
const LF = 0x0a;
const CONNECTION_PREFIX = 'connection: ';

export class HttpStream implements RuleHost {
  /** Accept date of the connection. */
  readonly acceptTime = clockNow();
  clientIp = '-';
  clientPort = 0;
  be: ProxyRuntime | null = null;
  srv: ServerRuntime | null = null;
  /** This stream counts in srv.cur (assign() until release()). */
  private srvHeld = false;
  client: RawStream | null;
  server: RawStream | null = null;
  /** The client connection's TLS (bind ... ssl), null in clear: %sslv, %sslc, the '~' of %ft. */
  tls: TlsInfo | null = null;
  /** Captures, unique-id, request counter of the current transaction (http/analysers.ts). */
  private readonly extras = new RequestExtras();
  /** Cookie persistence of the current transaction (http/cookie-persist.ts), made on first use. */
  persist: PersistTxn | null = null;

  private phase = P_HEAD;
  private finished = false;
  /** Unparsed client bytes: the head being read, or pipelined requests. */
  private cbuf: Buffer | null = null;
  private readonly scan = new HeadScan();
  private readonly sscan = new HeadScan();
  /** Reading wanted on each side (cliWant/srvWant) and actually started (cliReading/srvReading: wanted and no write pending the other way). */
  private cliWant = false;
  private srvWant = false;
  private cliReading = false;
  private srvReading = false;
  /**
   * The client handle is really being read (readStart, no readStop since).
   * Stopping is lazy: readClient(false) only records that reading is not
   * wanted, and the handle keeps polling until a read arrives that nobody
   * wants; that one is held (cliHeld, cliHeldEnd), the handle stopped, and
   * the read replayed once reading is wanted again. A keep-alive exchange
   * then costs no readStop/readStart pair, which is two epoll_ctl calls
   * (libuv re-adds the fd: EPOLL_CTL_ADD fails with EEXIST, then MOD).
   */
  private cliPolling = false;
  /** Client bytes read while reading was not wanted. */
  private cliHeld: Buffer | null = null;
  /** UV_EOF or a read error read while reading was not wanted (0: none). */
  private cliHeldEnd = 0;
  private cliReplay = false;
  /** Async writes in flight toward each side. */
  private cliPending = 0;
  private srvPending = 0;

  /* ---- the current transaction ---- */
  private txnCount = 0;
  /** Start of the transaction: accept, or the end of the previous one (HAProxy's idle start). */
  private txnStart = this.acceptTime;
  /** First byte of the request (-1: none yet). */
  private headStart = -1;
  private headDone = -1;
  private assignedAt = -1;

  /* Waiting for a server slot (backend/queue.ts QueueWaiter). */
  queuedAt = 0;
  waitQueue: WaitQueue | null = null;
  askedOf: ServerRuntime | null = null;
  /** Queue positions when queued (srv_queue/backend_queue in the log). */
  srvQueue = 0;
  backendQueue = 0;
  private queueTimer: NodeJS.Timeout | null = null;
  /** The server was chosen by use-server or persistence, not by the balancer. */
  private direct = false;
  private connectStart = 0;
  private connectedAt = -1;
  private respHeadAt = -1;
  private req: RequestHead | null = null;
  /**
   * The request line as received (%r, unique-id): null while it is the
   * head buffer's own bytes, decoded on first use (reqLine()); undefined
   * without a request.
   */
  private requestLine: string | null | undefined;
  /** Request bytes (head, then body) validated and waiting for the server connection. */
  private toServer: Buffer[] = [];
  private toServerLen = 0;
  /** `option http-buffer-request`: reading the body before choosing a server. */
  private bodyWait = false;
  private reqKind = BODY_NONE;
  private reqRemaining = 0;
  private reqDec: ChunkedDecoder | null = null;
  private reqDone = false;
  private sbuf: Buffer | null = null;
  private resp: ResponseHead | null = null;
  private respKind = BODY_NONE;
  private respRemaining = 0;
  private respDec: ChunkedDecoder | null = null;
  /** A rule turned the response into one without content: its body is read, not forwarded. */
  private discardBody = false;
  /** Some response byte (1xx or final head) went to the client. */
  private respStarted = false;
  /** The client connection stays open after this transaction. */
  private keepAlive = false;
  status = -1;
  private bytesIn = 0;
  private bytesOut = 0;
  private retries = 0;
  private redispatched = false;
  private tc = -1;
  private term1 = '-';
  private term2 = '-';
  private attemptsLeft = 0;
  private attempt = 0;
  /** This transaction is counted in its backend's beconn. */
  private beCounted = false;
  /** The request asks for a tunnel: Upgrade on HTTP/1.1, or CONNECT. */
  private upgrade = false;
  /* Tunnel half-closes: EOF read from a side, our write side toward it shut. */
  private cliEof = false;
  private srvEof = false;
  private cliShut = false;
  private srvShut = false;

  /* ---- server connection reuse ---- */
  /** The request asks the server to keep the connection (keep-alive toward it). */
  private srvKeep = false;
  /** The current server connection came from the idle pool. */
  private reused = false;
  /** Transactions completed on the current server connection before this one. */
  private srvUses = 0;
  /** Some byte came from the server for this transaction. */
  private respAny = false;
  /** The response ended exactly at its framing: the connection can be parked. */
  private respClean = false;
  /** Already retried once after a reused connection failed. */
  private reuseRetried = false;
  /** Request bytes sent so far, kept for that retry (idempotent requests only; null: none). */
  private reqCopy: Buffer[] | null = null;
  private reqCopyLen = 0;
  /** This session's previous server connection, parked in its server's pool. */
  private own: IdleConn | null = null;

  /* ---- timers ---- */
  /** http-request / http-keep-alive: a deadline, not inactivity. */
  private readonly headTimer = new LazyTimer(this, onHeadTimer);
  private connectTimer: NodeJS.Timeout | null = null;
  private turnaround: NodeJS.Timeout | null = null;
  /** client / server inactivity during a transaction. */
  private cliLast = 0;
  private cliTimeout = 0;
  private readonly cliTimer = new LazyTimer(this, onClientTimer);
  private srvLast = 0;
  private srvTimeout = 0;
  private readonly srvTimer = new LazyTimer(this, onServerTimer);

  constructor(readonly engine: Engine, readonly fe: ProxyRuntime, readonly listener: ListenerRuntime, handle: RawStream, wantAddress: boolean) {
    this.client = handle;
    handle.setNoDelay?.(true);
    handle[kStream] = this;
    handle.onread = onClientRead;
    if (wantAddress) {
      const a = peerAddress(handle);
      this.clientIp = a.address;
      this.clientPort = a.port;
    }
  }

  /**
   * accept-proxy (engine.ts), before start(): the client address of the
   * connection's PROXY header (null: the real one stays, LOCAL/UNKNOWN) and
   * the bytes that followed the header, parsed first by start().
   */
  proxied(ip: string | null, port: number, first: Buffer | null): void {
    if (ip !== null) { this.clientIp = ip; this.clientPort = port; }
    if (first !== null) { this.cbuf = first; this.bytesIn = first.length; this.fe.fe!.bin += first.length; }
  }

  /** `Connect from <ci>:<cp> to <fi>:<fp>` of HAProxy's default log. */
  describeConnect(): string {
    const l = localAddress(this.client!);
    return `Connect from ${this.clientIp}:${this.clientPort} to ${l.address}:${l.port} (${this.fe.cfg.name}/HTTP)`;
  }

  start(): void {
    const r = this.fe.rules;
    if (r !== null && r.tcpReqSess.length > 0 && !acceptSession(this)) return this.close();
    this.waitRequest(true);
  }

  /* ---------------- request head ---------------- */

  /** Wait for the next request head (first one, or after a keep-alive response). */
  private waitRequest(first: boolean): void {
    this.phase = P_HEAD;
    const t = this.fe.cfg.timeouts;
    // HAProxy: http-keep-alive, else http-request, else client between
    // requests; the first request has http-request (else client) from accept.
    const ms = first ? (t.httpRequest || t.client) : (t.httpKeepAlive || t.httpRequest || t.client);
    this.armHeadTimer(ms);
    if (this.cbuf !== null) this.parseHead();
    if (!this.finished && this.phase === P_HEAD) this.readClient(true);
  }

  private armHeadTimer(ms: number): void {
    this.headTimer.arm(ms, clockNow());
  }

  /** The request head did not arrive in time. */
  headTimeout(): void {
    if (this.finished) return;
    if (this.bodyWait) {
      // HAProxy's http_wait_for_request_body(): 408, client timeout during data.
      this.status = 408;
      this.setTerm('c', 'D');
      this.fe.fe!.ereq++;
      return this.replyAndClose(earlyErrorResponse(this.fe.cfg, 408));
    }
    if (this.phase !== P_HEAD) return;
    // Nothing received: see emptyRequest(); a partial head gets 408.
    if (this.headStart < 0) return this.emptyRequest(408, 'c');
    this.status = 408;
    this.setTerm('c', 'R');
    this.fe.fe!.ereq++;
    this.fe.fe!.reqTot++;
    this.replyAndClose(earlyErrorResponse(this.fe.cfg, 408));
  }

  clientData(buf: Buffer): void {
    const n = buf.length;
    this.cliLast = clockNow();
    this.bytesIn += n;
    this.fe.fe!.bin += n;
    if (this.phase === P_TUNNEL) return this.sendServer(buf);
    if ((this.phase === P_TXN || this.bodyWait) && !this.reqDone) {
      this.requestBody(buf, 0, n);
      if (this.bodyWait && !this.finished && (this.reqDone || this.toServerLen >= BUFFERED_BODY_MAX || (this.waitAtLeast > 0 && this.toServerLen >= this.waitAtLeast))) this.bodyBuffered();
      return;
    }
    this.cbuf = this.cbuf === null ? buf : Buffer.concat([this.cbuf, buf]);
    if (this.phase === P_HEAD) this.parseHead();
    else this.readClient(false); // pipelined bytes wait for their turn
  }

  /** The request line as received, undefined without a request. */
  private reqLine(): string | undefined {
    const l = this.requestLine;
    if (l !== null) return l;
    const h = this.req!;
    return (this.requestLine = latin1(h.headers.src!, h._ls, h._le));
  }

  private parseHead(): void {
    const buf = this.cbuf!;
    if (this.headStart < 0) {
      this.headStart = clockNow();
      // From the first byte on, the whole head must arrive within http-request.
      if (this.txnCount > 0) {
        const t = this.fe.cfg.timeouts;
        this.armHeadTimer(t.httpRequest || t.client);
      }
    }
    const r = parseRequestHead(buf, this.engine.h1Limits, this.scan);
    if (r.state === 'partial') return;
    this.fe.fe!.reqTot++;
    if (r.state === 'error') {
      // A malformed request never reaches a server (HAProxy logs `PR`).
      this.status = r.status;
      this.setTerm('P', 'R');
      this.fe.fe!.ereq++;
      return this.replyAndClose(earlyErrorResponse(this.fe.cfg, r.status));
    }
    const h = r.head;
    this.req = h;
    this.headDone = clockNow();
    this.headTimer.disarm();
    this.requestLine = h.lineRaw ? null : h.method + ' ' + h.target + (h.version === 11 ? ' HTTP/1.1' : ' HTTP/1.0');
    this.cbuf = r.headLength < buf.length ? buf.subarray(r.headLength) : null;
    this.scan.reset();
    this.readClient(false);
    this.phase = P_CONNECT;
    this.keepAlive = h.keepAlive && this.fe.connMode !== CONN_CLOSE;
    // monitor-uri and captures (http/analysers.ts), then the rules.
    if (analyseRequest(this.extras, this.fe, h) === REQ_MONITOR) {
      // Answered here (200, not logged); as in HAProxy the connection stays
      // open when the client keeps it and no body follows; a pipelined
      // request behind it closes the connection instead (no recursion into
      // the next head).
      const r = monitorReply(this.fe);
      if (h.bodyKind !== BODY_NONE || this.cbuf !== null || r.mustClose) this.keepAlive = false;
      const page = !this.keepAlive ? r.close : h.version === 11 ? r.keepAlive : r.keepAlive10;
      // A HEAD gets the head only (see afterGenerated).
      this.sendClient(h.methodCode === METH_HEAD && page.length !== 0 ? headOnly(page) : page);
      if (!this.keepAlive) return this.closeClient();
      this.txnCount++;
      this.resetTransaction();
      return this.waitRequest(false);
    }
    // `option http-buffer-request` on the frontend: the body (up to a
    // buffer) is read before the rules run, so that they see it (req.body),
    // as HAProxy's body analyser precedes the frontend's http-request rules.
    if (this.fe.cfg.options.httpBufferRequest && h.bodyKind !== BODY_NONE && h.bodyKind !== BODY_TUNNEL &&
      h.methodCode !== METH_CONNECT && !(h.connUpgrade && h.version === 11 && h.upgradeIndex >= 0)) {
      return this.bodyFirst(h);
    }
    this.processHead(h, null);
  }

  /** Starts reading the request body described by the head `h`. */
  private bodyStart(h: RequestHead): void {
    this.reqKind = h.bodyKind;
    this.reqRemaining = h.contentLength > 0 ? h.contentLength : 0;
    if (h.bodyKind === BODY_CHUNKED) {
      if (this.reqDec === null) this.reqDec = new ChunkedDecoder(false);
      else this.reqDec.reset();
    }
    this.reqDone = h.bodyKind === BODY_NONE;
  }

  /** wait-for-body: its time limit and size (0: none) while it waits. */
  private waitTimer: NodeJS.Timeout | null = null;
  private waitAtLeast = 0;

  /**
   * http-request wait-for-body time <t> [at-least <n>]: starts reading the
   * body (up to a buffer) unless it is already here or there is none; true
   * when the rules must pause until the body, the size or the time is reached.
   */
  waitForBody(ms: number, atLeast: number): boolean {
    const h = this.req;
    if (h === null || h.bodyKind === BODY_NONE || h.bodyKind === BODY_TUNNEL || this.heldBody !== null) return false;
    if (h.methodCode === METH_CONNECT || (h.connUpgrade && h.version === 11 && h.upgradeIndex >= 0)) return false;
    this.waitAtLeast = atLeast;
    this.bodyFirst(h);
    if (this.finished || !this.bodyWait) {
      // Already complete with the head: bodyFirst() went on (processHead) itself.
      return true;
    }
    this.headTimer.disarm();
    this.waitTimer = setTimeout(onWaitBody, Math.max(1, ms), this);
    return true;
  }

  /** wait-for-body's time is up: the rules go on with what came. */
  waitBodyTimeout(): void {
    this.waitTimer = null;
    if (this.finished || !this.bodyWait) return;
    this.bodyBuffered();
  }

  /** Body bytes held before the rules (frontend http-buffer-request); null otherwise. */
  private heldBody: Buffer[] | null = null;
  private heldBodyBuf: Buffer | null = null;

  /** Frontend http-buffer-request: reads the body into toServer first; processHead() follows (bodyBuffered). */
  private bodyFirst(h: RequestHead): void {
    this.bodyStart(h);
    this.reqCopy = null;
    this.bodyWait = true;
    this.heldBody = [];
    if (h.version === 11) {
      const list = h.headers;
      const i = list.indexOf('expect');
      if (i >= 0 && list.value(i).toLowerCase() === '100-continue') {
        list.removeAt(i);
        this.sendClient(CONTINUE_100);
      }
    }
    const rest = this.cbuf;
    if (rest !== null) {
      this.cbuf = null;
      this.requestBody(rest, 0, rest.length);
      if (this.finished || this.phase !== P_CONNECT) return;
    }
    if (this.reqDone || this.toServerLen >= BUFFERED_BODY_MAX || (this.waitAtLeast > 0 && this.toServerLen >= this.waitAtLeast)) {
      // Asynchronously when a rule asked (wait-for-body returns first).
      if (this.waitAtLeast > 0 || this.ruleStage !== 0) { process.nextTick(onBodyReady, this); return; }
      return this.bodyBuffered();
    }
    if (this.ruleStage === 0) {
      const t = this.fe.cfg.timeouts;
      const limit = t.httpRequest || t.client;
      if (limit > 0) this.armHeadTimer(Math.max(1, limit - (clockNow() - this.headStart)));
    }
    this.readClient(true);
  }

  bodyReady(): void {
    if (!this.finished && this.bodyWait) this.bodyBuffered();
  }

  /**
   * The rest of a request head's processing: rules, backend, connection
   * mode, forwarding headers, then the head (and a body already read) to
   * the server. `held`: body bytes read before the rules, else null.
   */
  private processHead(h: RequestHead, held: Buffer[] | null): void {
    // tcp-request content, http-request, use_backend and the header-name
    // policy of the frontend, then of the backend (HAProxy's analysers).
    if (!this.requestRules(h)) return;
    const be = this.be;
    // Connection mode (configuration.txt 4): the more closing of the
    // frontend's and the backend's wins.
    const mode = be !== null && be.connMode > this.fe.connMode ? be.connMode : this.fe.connMode;
    if (mode === CONN_CLOSE) this.keepAlive = false;
    this.srvKeep = mode === CONN_KEEP_ALIVE && h.keepAlive;
    this.reqCopy = idempotent(h.methodCode) ? [] : null;
    this.reqCopyLen = 0;
    // The persistence cookie (HAProxy's step 7, before unique-id): indirect/prefix stripped.
    if (be !== null && be.persist !== null && be.persist.cookie !== null) {
      // use-server first: its conditions see the Cookie field as the client sent it.
      persistUseServer(this, be);
      requestCookies(this, be, h);
    }
    // unique-id, X-Forwarded-For, X-Original-To (http/analysers.ts).
    finishRequest(this.extras, this.fe, be, h, this, this.txnStart, this.reqLine()!);
    // Upgrade (RFC 9110 §7.8, HTTP/1.1 only) and CONNECT go to the server as
    // they are, Upgrade kept; a 101 (a 2xx to CONNECT) makes the connection
    // a tunnel (tunnelStart). The server connection is not kept afterwards.
    this.upgrade = h.methodCode === METH_CONNECT || (h.connUpgrade && h.version === 11 && h.upgradeIndex >= 0);
    if (this.upgrade) this.srvKeep = false;
    if (held === null) this.bodyStart(h);
    const v11 = h.version === 11;
    // `option http-buffer-request` (frontend or backend): the body is read,
    // up to a buffer, before a server is chosen, under what is left of
    // `timeout http-request`; a 100-continue is then answered here and the
    // Expect field not forwarded, as HAProxy's http_handle_expect_hdr() does.
    this.bodyWait = held === null && !this.reqDone && !this.upgrade && (this.fe.cfg.options.httpBufferRequest || (be !== null && be.cfg.options.httpBufferRequest));
    if (this.bodyWait && v11) {
      const list = h.headers;
      const i = list.indexOf('expect');
      if (i >= 0 && list.value(i).toLowerCase() === '100-continue') {
        list.removeAt(i);
        this.sendClient(CONTINUE_100);
      }
    }
    const conn = this.upgrade ? (h.methodCode === METH_CONNECT ? null : 'upgrade') : this.srvKeep ? (v11 ? null : 'keep-alive') : (v11 ? 'close' : null);
    this.queueRequest(serializeHead(h.lineRaw ? null : headRewritten(h) ? h.method + ' ' + h.target + (v11 ? ' HTTP/1.1' : ' HTTP/1.0') : this.reqLine()!, h, conn, this.upgrade));
    // A body read before the rules goes after the head.
    if (held !== null) for (let i = 0; i < held.length; i++) this.queueRequest(held[i]);
    // Body bytes that came with the head are checked before any server is
    // contacted, so that a bad chunked body read at once reaches nobody.
    const rest = this.cbuf;
    if (held === null && rest !== null && !this.reqDone) {
      this.cbuf = null;
      this.requestBody(rest, 0, rest.length);
      if (this.finished || this.phase !== P_CONNECT) return;
    }
    if (this.bodyWait) {
      if (this.reqDone || this.toServerLen >= BUFFERED_BODY_MAX) return this.bodyBuffered();
      const t = this.fe.cfg.timeouts;
      const limit = t.httpRequest || t.client;
      if (limit > 0) this.armHeadTimer(Math.max(1, limit - (clockNow() - this.headStart)));
      this.readClient(true);
      return;
    }
    this.selectServer();
  }

  /* ---------------- rules ---------------- */

  /**
   * The request's rules in HAProxy's order: the frontend's tcp-request
   * content, http-request and header-name policy, then `use_backend` (else
   * default_backend), then the same for the backend when it is another
   * proxy. Sets this.be. False when the request was answered or the
   * connection closed.
   */
  private requestRules(h: RequestHead): boolean {
    const fe = this.fe;
    const fr = fe.rules;
    // A `wait-for-body` rule pauses the sets; they resume at ruleStage/ruleAt.
    if (this.ruleStage === 0) {
      this.be = null;
      if (fr !== null && fr.tcpReqCnt.length > 0 && !this.ruleVerdict(fr.tcpReqCnt, null, true)) return false;
      this.ruleStage = 1;
      this.ruleAt = 0;
    }
    if (this.ruleStage === 1) {
      if (fr !== null && fr.httpReq.length > 0 && !this.ruleVerdict(fr.httpReq, null, false)) return false;
      if (!restrictRequest(fe, h.headers)) return this.denyRequest(null);
      this.be = fr !== null && fr.switching.length > 0 ? (pickBackend(fr, this, true) ?? fe.defaultBackend) : fe.defaultBackend;
      if (this.be !== null && this.be.persist !== null) persistSwitched(this, this.be);
      this.ruleStage = 2;
      this.ruleAt = 0;
    }
    const be = this.be;
    if (be !== null && be !== fe) {
      const br = be.rules;
      if (this.ruleStage === 2) {
        if (br !== null && br.tcpReqCnt.length > 0 && !this.ruleVerdict(br.tcpReqCnt, be, true)) return false;
        this.ruleStage = 3;
        this.ruleAt = 0;
      }
      if (br !== null && br.httpReq.length > 0 && !this.ruleVerdict(br.httpReq, be, false)) return false;
      if (!restrictRequest(be, h.headers)) return this.denyRequest(be);
    }
    this.ruleStage = 0;
    this.ruleAt = 0;
    return true;
  }

  /** Where request rule evaluation resumes after a wait-for-body (0: from the start). */
  private ruleStage = 0;
  private ruleAt = 0;

  /** Runs a request rule set; on a final verdict, answers (deny, return, redirect…) and returns false. */
  private ruleVerdict(rules: readonly Rule[], be: ProxyRuntime | null, tcp: boolean): boolean {
    this.reply = null;
    const v = runRules(rules, this, true, tcp ? 0 : this.ruleAt);
    if (v === ACT_CONTINUE || v === ACT_STOP) return true;
    // wait-for-body: the body is being read (waitForBody); the set resumes at this rule.
    if (v === ACT_WAIT_BODY) { this.ruleAt = yieldAt; return false; }
    const c = this.fe.fe!;
    if (tcp || v === ACT_ABORT) {
      // tcp-request content reject, silent-drop: closed without a response, logged `PR`.
      c.dreq++;
      if (be !== null && be.be !== null) be.be.dreq++;
      this.setTerm('P', 'R');
      if (v === ACT_ABORT) this.client?.reset?.();
      this.reqDone = true;
      this.keepAlive = false;
      this.closeClient();
      return false;
    }
    let spec = this.reply as HttpReplySpec | null;
    if (v === ACT_DENY || v === ACT_TARPIT) {
      c.dreq++;
      if (be !== null && be.be !== null) be.be.dreq++;
      const px = be ?? this.fe;
      if (px.persist !== null && px.persist.cookie !== null) cookieDenied(this, px, this.req!);
      spec ??= { status: v === ACT_TARPIT ? 500 : 403, reason: null, errorfile: true, contentType: null, headers: [], body: null, term1: 'P' };
    } else if (v !== ACT_DONE || spec === null) {
      // ACT_ERROR: a rewrite that failed; HAProxy answers 500 and logs `PR`.
      spec = { status: 500, reason: null, errorfile: true, contentType: null, headers: [], body: null, term1: 'P' };
    }
    if (be !== null) this.be = be;
    if (v === ACT_TARPIT) {
      // Held for `timeout tarpit` (default: timeout connect), then answered.
      const t = (be ?? this.fe).cfg.timeouts;
      this.tarpitSpec = spec;
      this.tarpitBe = be;
      this.readClient(false);
      this.tarpitTimer = setTimeout(onTarpit, Math.max(1, t.tarpit || t.connect || 1), this);
      return false;
    }
    this.ruleReply(spec, be);
    return false;
  }

  private tarpitSpec: HttpReplySpec | null = null;
  private tarpitBe: ProxyRuntime | null = null;
  private tarpitTimer: NodeJS.Timeout | null = null;

  tarpitDone(): void {
    this.tarpitTimer = null;
    if (this.finished || this.tarpitSpec === null) return;
    const spec = this.tarpitSpec;
    this.tarpitSpec = null;
    this.setTerm('P', 'T');
    this.ruleReply(spec, this.tarpitBe);
  }

  /** `http-restrict-req-hdr-names reject`: a 403 from the proxy holding the policy. */
  private denyRequest(be: ProxyRuntime | null): boolean {
    this.fe.fe!.dreq++;
    if (be !== null && be.be !== null) be.be.dreq++;
    if (be !== null) this.be = be;
    this.ruleReply({ status: 403, reason: null, errorfile: true, contentType: null, headers: [], body: null, term1: 'P' }, be);
    return false;
  }

  /**
   * Sends a reply a rule produced for the request, then ends the
   * transaction: the connection stays open when the client keeps it and
   * nothing follows that we would have to read through.
   */
  private ruleReply(spec: HttpReplySpec, be: ProxyRuntime | null): void {
    const h = this.req!;
    const r = buildReply(spec, this.fe.cfg, be !== null ? be.cfg : null, this);
    this.status = spec.status;
    this.setTerm(spec.term1, 'R');
    if (h.bodyKind !== BODY_NONE || this.cbuf !== null || r.mustClose) this.keepAlive = false;
    this.respStarted = true;
    if (!r.empty) this.sendClient(this.afterGenerated(!this.keepAlive ? r.close : h.version === 11 ? r.keepAlive : r.keepAlive10));
    else this.keepAlive = false;
    if (this.finished) return;
    this.reqDone = true;
    this.responseDone();
  }

  /**
   * http-response rules on a final response head from the server: the
   * backend's, then the frontend's (HAProxy's http_process_res_common).
   * False when a rule answered instead (deny: 502, return, redirect).
   */
  private responseRules(): boolean {
    const be = this.be!;
    const br = be.rules;
    if (br !== null && br.httpRes.length > 0 && !this.resVerdict(br.httpRes)) return false;
    const fr = this.fe.rules;
    if (be !== this.fe && fr !== null && fr.httpRes.length > 0 && !this.resVerdict(fr.httpRes)) return false;
    return true;
  }

  private resVerdict(rules: readonly Rule[]): boolean {
    this.reply = null;
    const v = runRules(rules, this, true);
    if (v === ACT_CONTINUE || v === ACT_STOP) return true;
    const be = this.be!;
    let spec = this.reply as HttpReplySpec | null;
    if (v === ACT_DENY || v === ACT_TARPIT) {
      this.fe.fe!.dresp++;
      if (be.be !== null) be.be.dresp++;
      spec ??= { status: 502, reason: null, errorfile: true, contentType: null, headers: [], body: null, term1: 'P' };
    } else if (v === ACT_ABORT) {
      this.setTerm('P', 'H');
      this.client?.reset?.();
      this.close();
      return false;
    } else if (v !== ACT_DONE || spec === null) {
      spec = { status: 502, reason: null, errorfile: true, contentType: null, headers: [], body: null, term1: 'P' };
    }
    // The server's response is dropped with its connection.
    this.resp = null;
    this.closeServer();
    const r = buildReply(spec, this.fe.cfg, be.cfg, this);
    this.status = spec.status;
    this.setTerm(spec.term1, 'H');
    if (r.mustClose || !this.reqDone) this.keepAlive = false;
    this.respStarted = true;
    if (!r.empty) this.sendClient(this.afterGenerated(!this.keepAlive ? r.close : this.req!.version === 11 ? r.keepAlive : r.keepAlive10));
    else this.keepAlive = false;
    if (!this.finished) this.responseDone();
    return false;
  }

  /** A response we generated, parsed for http-after-response rules (null otherwise). */
  private generated: ResponseHead | null = null;

  /** Whether the backend or the frontend has http-after-response rules. */
  private hasAfterRules(): boolean {
    const b = this.be, f = this.fe.rules;
    return (f !== null && f.httpAfterRes.length > 0) || (b !== null && b !== this.fe && b.rules !== null && b.rules.httpAfterRes.length > 0);
  }

  /**
   * http-after-response rules on a final response head: the backend's, then
   * the frontend's. False when one failed (a rewrite that cannot be done):
   * the response is then replaced by a 500, as HAProxy does in strict mode.
   */
  private afterResponse(h: ResponseHead): boolean {
    if (!this.hasAfterRules()) return true;
    const be = this.be;
    let v = ACT_CONTINUE;
    if (be !== null && be !== this.fe && be.rules !== null && be.rules.httpAfterRes.length > 0) v = runRules(be.rules.httpAfterRes, this, true);
    const fr = this.fe.rules;
    if ((v === ACT_CONTINUE || v === ACT_STOP) && fr !== null && fr.httpAfterRes.length > 0) v = runRules(fr.httpAfterRes, this, true);
    if (v === ACT_CONTINUE || v === ACT_STOP) return true;
    // Only a failure can end this rule set: answer 500 instead (not run through the rules again).
    this.resp = null;
    this.closeServer();
    this.status = 500;
    this.setTerm('I', 'H');
    const r = errorReplyOf(this, this.fe.cfg, this.be?.cfg ?? null, 500)!;
    this.keepAlive = false;
    this.respStarted = true;
    this.sendClient(r.close);
    if (!this.finished) this.responseDone();
    return false;
  }

  /**
   * A page we generated (error, deny, return, redirect) through the
   * http-after-response rules: parsed, rewritten, serialised again. The
   * page as is when there are no such rules. The answer to a HEAD request
   * has no body (RFC 9110 §9.3.2; HAProxy's H1 mux drops it): a keep-alive
   * client would read it as the start of the next response.
   */
  private afterGenerated(page: Buffer): Buffer {
    if (page.length !== 0 && this.req !== null && this.req.methodCode === METH_HEAD) page = headOnly(page);
    if (page.length === 0 || !this.hasAfterRules()) return page;
    const r = parseResponseHead(page, this.req !== null ? this.req.methodCode : METH_GET, this.engine.h1Limits);
    if (r.state !== 'done') return page;
    const h = r.head;
    this.generated = h;
    const saveStatus = this.status;
    try {
      const be = this.be;
      let v = ACT_CONTINUE;
      if (be !== null && be !== this.fe && be.rules !== null && be.rules.httpAfterRes.length > 0) v = runRules(be.rules.httpAfterRes, this, true);
      const fr = this.fe.rules;
      if ((v === ACT_CONTINUE || v === ACT_STOP) && fr !== null && fr.httpAfterRes.length > 0) v = runRules(fr.httpAfterRes, this, true);
      if (v !== ACT_CONTINUE && v !== ACT_STOP) {
        this.status = 500;
        return errorReplyOf(this, this.fe.cfg, this.be?.cfg ?? null, 500)!.close;
      }
      if (h.status !== saveStatus) this.status = h.status;
      // The page's own `connection` field (the close / HTTP/1.0 keep-alive forms) stays last.
      const head = serializeHead(h.lineRaw ? null : statusLine(h), h, h.connClose ? 'close' : h.connKeepAlive ? 'keep-alive' : null, false);
      return r.headLength < page.length ? Buffer.concat([head, page.subarray(r.headLength)]) : head;
    } finally {
      this.generated = null;
    }
  }

  /* ---------------- what rules see (rules/sample.ts SampleContext) ---------------- */

  reply: unknown = null;
  readonly reqFinal = true;
  /** set-log-level for the current transaction (-2: not set). */
  logLevel = -2;
  /** set-timeout server / tunnel for the current transaction (0: the backend's). */
  private srvTimeoutSet = 0;
  private tunnelTimeoutSet = 0;

  timeoutOverride(which: 'server' | 'tunnel', ms: number): void {
    if (which === 'server') this.srvTimeoutSet = ms; else this.tunnelTimeoutSet = ms;
  }

  overrideAddress(which: 'src' | 'dst', ip: string, port: number | null): void {
    if (which === 'src') { this.clientIp = ip; if (port !== null) this.clientPort = port; }
    this.extras.overrideAddress(which, ip, port);
  }

  captureValue(response: boolean, id: number, value: string): void {
    const f = this.fe.http;
    const caps = f === null ? null : response ? f.resCaps : f.reqCaps;
    const out = response ? this.extras.resCaps : this.extras.reqCaps;
    if (caps === null || out === null || id >= caps.count) return;
    const len = caps.lens[id];
    out[id] = value.length > len ? value.slice(0, len) : value;
  }
  private varScopes: VarScopes | null = null;

  get vars(): VarScopes {
    return this.varScopes ??= { sess: new Map<string, Sample>(), txn: new Map<string, Sample>(), req: new Map<string, Sample>(), res: new Map<string, Sample>() };
  }
  get httpReq(): RequestHead | null { return this.req; }
  get httpRes(): ResponseHead | null { return this.generated ?? this.resp; }
  srcIp(): string { return this.extras.source(this); }
  srcPort(): number { return this.extras.sourcePort(this); }
  dstIp(): string { return this.extras.destination(this).address; }
  dstPort(): number { return this.extras.destination(this).port; }
  reqPayload(): Buffer | null { return null; }
  resPayload(): Buffer | null { return null; }
  tlsView(): TlsView | null { return this.tls; }
  /**
   * The buffered request body (option http-buffer-request), de-chunked as
   * HAProxy's req.body sees it; null when none was read before the rules.
   */
  reqBody(): Buffer | null {
    const held = this.heldBody;
    if (held === null || this.bodyWait) return null;
    if (this.heldBodyBuf === null) {
      const raw = held.length === 1 ? held[0] : Buffer.concat(held);
      this.heldBodyBuf = this.reqKind === BODY_CHUNKED ? dechunk(raw) : raw;
    }
    return this.heldBodyBuf;
  }

  /** The body is complete, or a buffer of it is held (`option http-buffer-request`): on to the server. */
  private bodyBuffered(): void {
    this.bodyWait = false;
    this.headTimer.disarm();
    if (this.waitTimer !== null) { clearTimeout(this.waitTimer); this.waitTimer = null; }
    this.waitAtLeast = 0;
    this.readClient(false);
    if (this.heldBody !== null) {
      // Frontend http-buffer-request: now the rules, with the body at hand.
      const held = this.toServer.splice(0);
      this.toServerLen = 0;
      this.heldBody = held;
      this.heldBodyBuf = null;
      this.reqCopy = idempotent(this.req!.methodCode) ? [] : null;
      this.reqCopyLen = 0;
      return this.processHead(this.req!, held);
    }
    this.selectServer();
  }

  /* ---------------- server selection and connect ---------------- */

  private selectServer(): void {
    const be = this.be;
    if (!be) return this.errorReply(503, 'S', 'C');
    be.beconn++;
    this.beCounted = true;
    const c = be.be!;
    c.stot++; c.connTot++; c.lastSess = clockNow();
    if (be.beconn > c.smax) c.smax = be.beconn;
    c.scur = be.beconn;
    this.attemptsLeft = be.cfg.retries + 1;
    const br = be.rules;
    // use-server, then the persistence cookie (http/cookie-persist.ts), then the balancer.
    const direct = be.persist !== null ? persistSelect(this, be) : br !== null && br.useServers.length > 0 ? pickUseServer(be, this) : null;
    if (direct !== null) return this.serverOrQueue(direct, false, true);
    const srv = be.pickWithRoom(this);
    if (!srv) return this.errorReply(503, 'S', 'C');
    this.serverOrQueue(srv, be.allFull, false);
  }

  /**
   * Use `srv` now when it has room, else wait in its queue (or, when the
   * balancer found every server full, the backend's) as HAProxy's
   * assign_server_and_queue does. A full `maxqueue` sends a request that
   * was sent to this server directly to the balancer with `option
   * redispatch`, else it gets a 503.
   */
  private serverOrQueue(srv: ServerRuntime, anyServer: boolean, direct: boolean): void {
    const be = this.be!;
    this.direct = direct;
    const r = takeOrQueue(be, srv, this, anyServer);
    if (r === SLOT_TAKEN) return this.dequeued(srv);
    if (r === SLOT_QUEUE_FULL) {
      const other = direct && be.cfg.redispatch !== 0 ? be.pickWithRoom(this) : undefined;
      if (other) return this.serverOrQueue(other, be.allFull, false);
      this.srv = srv;
      srv.counters.econ++;
      be.be!.econ++;
      return this.errorReply(503, 'S', 'Q');
    }
    this.srv = anyServer ? null : srv;
    const t = be.cfg.timeouts.queue || be.cfg.timeouts.connect;
    if (t > 0) this.queueTimer = setTimeout(onQueueTimeout, t, this);
  }

  /** The server this request waits for went down (backend/queue.ts QueueWaiter.requeue). */
  requeue(): void {
    if (this.waitQueue === null || this.finished || redispatchForbidden(this.persist)) return;
    const be = this.be!;
    leaveQueue(be, this);
    if (this.queueTimer !== null) { clearTimeout(this.queueTimer); this.queueTimer = null; }
    this.srv = null;
    this.redispatched = true;
    const srv = be.pickWithRoom(this);
    if (!srv) return this.errorReply(503, 'S', 'C');
    this.serverOrQueue(srv, be.allFull, false);
  }

  /** A slot of `srv` is this stream's (backend/queue.ts creditFreed). */
  dequeued(srv: ServerRuntime): void {
    if (this.queueTimer !== null) { clearTimeout(this.queueTimer); this.queueTimer = null; }
    this.assignedAt = clockNow();
    this.assign(srv);
    this.takeServerConnection();
  }

  /** `timeout queue` struck: 503, logged sQ (HAProxy's STRM_ET_QUEUE_TO). */
  queueTimedOut(): void {
    this.queueTimer = null;
    if (this.waitQueue === null || this.finished) return;
    const be = this.be!;
    leaveQueue(be, this);
    this.assignedAt = clockNow();
    if (this.srv !== null) this.srv.counters.econ++;
    be.be!.econ++;
    this.errorReply(503, 's', 'Q');
  }

  /** Out of any queue (client gone, stream ends). */
  private leaveQueues(): void {
    if (this.queueTimer !== null) { clearTimeout(this.queueTimer); this.queueTimer = null; }
    if (this.waitQueue !== null) {
      leaveQueue(this.be!, this);
      this.assignedAt = clockNow();
    }
  }

  /**
   * A parked connection when `http-reuse` allows one (HAProxy's
   * connect_server() reuse decision), else a new connection: the session's
   * own previous connection first (any mode); then with `safe` any shared
   * one, but not for the first request of the session; `aggressive` lets
   * a first request use only connections that served two transactions or
   * more (proven reusable); `always` any.
   */
  private takeServerConnection(): void {
    const srv = this.srv!;
    const pool = srv.pool;
    let ic: IdleConn | null = null;
    const own = this.own;
    if (own !== null) {
      this.own = null;
      // `sni <expr>`: the session's connection serves a request whose SNI is the same.
      if (own.pool === pool && (srv.sniExpr === null || connectionSni(own.handle) === evalSni(srv, this))) ic = pool.takeEntry(own);
      else if (own.pool === pool) pool.drop(own);
      // A private connection to another server is of no use to anyone.
      else if (!own.shared) own.pool.drop(own);
      else if (own.owner === this) own.owner = null;
    }
    const reuse = this.be!.reuse;
    if (ic === null && reuse !== REUSE_NEVER && this.srvKeep) {
      if (this.txnCount > 0 || reuse === REUSE_ALWAYS) ic = pool.takeShared(0);
      else if (reuse === REUSE_AGGRESSIVE) ic = pool.takeShared(2);
    }
    if (ic === null) return this.connectServer();
    const h = ic.handle;
    this.reused = true;
    this.srvUses = ic.uses;
    h[kStream] = this;
    this.server = h;
    this.srvReading = true; // an idle connection is read all along (server-pool.ts)
    this.connectStart = clockNow();
    this.connected(this.connectStart, true);
  }

  private assign(srv: ServerRuntime): void {
    this.release();
    this.srv = srv;
    srv.acquire();
    this.srvHeld = true;
    this.be!.be!.lbtot++;
  }

  /** Give the server slot back, once (the server stays known for the log). */
  private release(): void {
    if (!this.srvHeld) return;
    this.srvHeld = false;
    this.srv!.release();
  }

  private connectServer(): void {
    this.attemptsLeft--;
    this.attempt++;
    this.connectStart = clockNow();
    this.reused = false;
    this.srvUses = 0;
    const c = connectToServer(this.srv!, this.client!, this, this.attempt, this.be!.cfg.timeouts.connect);
    const h = c.handle;
    h[kStream] = this;
    this.server = h;
    this.connectTimer = c.timer;
    if (c.pending && this.cliPending === 0 && !this.srv!.cfg.tls) {
      // Read from the start (libuv allows it on a connecting TCP handle; no
      // byte is delivered before the connect completes): the fd then goes
      // into epoll once for the connect and the reads, instead of being
      // added again after the connect (EPOLL_CTL_ADD failing with EEXIST, then MOD).
      h.onread = onServerRead;
      this.srvWant = true;
      this.srvReading = h.readStart() === 0;
    }
  }

  connectDone(attempt: number, status: number, tlsHandle?: RawStream): void {
    if (attempt !== this.attempt || this.finished || this.phase !== P_CONNECT) return;
    if (status < 0) return this.connectFailed(attempt, false);
    if (this.connectTimer) { clearTimeout(this.connectTimer); this.connectTimer = null; }
    if (tlsHandle !== undefined) {
      // `ssl` server: from now on the TLSWrap is the server connection.
      tlsHandle[kStream] = this;
      this.server = tlsHandle;
      this.srvReading = false;
    }
    this.connected(clockNow(), false);
  }

  /**
   * The server connection is ready (new, or `reused` from the pool: its
   * onread is onServerRead already): send what is queued.
   */
  private connected(now: number, reused: boolean): void {
    observeConnected(this.srv!);
    this.connectedAt = now;
    this.tc = now - this.connectStart;
    this.phase = P_TXN;
    const h = this.server!;
    if (!reused) h.onread = onServerRead;
    this.srvLast = this.cliLast = now;
    this.armClientTimer(this.fe.cfg.timeouts.client);
    this.armServerTimer(this.srvTimeoutSet || this.be!.cfg.timeouts.server);
    this.readServer(true);
    const queued = this.toServer;
    for (let i = 0; i < queued.length; i++) {
      // A reused connection that failed at once: the retry holds every byte.
      if (this.finished || this.server !== h) return;
      this.sendServer(queued[i]);
    }
    queued.length = 0;
    this.toServerLen = 0;
    if (!this.finished && !this.reqDone) this.readClient(true);
  }

  connectFailed(attempt: number, timedOut: boolean): void {
    if (attempt !== this.attempt || this.finished || this.phase !== P_CONNECT) return;
    if (this.connectTimer) { clearTimeout(this.connectTimer); this.connectTimer = null; }
    const srv = this.srv!;
    observeConnectFailed(srv);
    const h = this.server;
    if (h) { h.onread = ignoreRead; h.close(); this.server = null; this.srvReading = false; }
    // `retry-on` without conn-failure: a failed connect is not retried.
    const left = (this.be!.cfg.retryOn & RETRY_CONN_FAILURE) !== 0 ? this.attemptsLeft : 0;
    const plan = planRetry(this.be!, srv, left, timedOut, this, this.direct, redispatchForbidden(this.persist));
    // HAProxy: a connection that cannot be established after the retries is a 503.
    if (plan === null) return this.errorReply(503, timedOut ? 's' : 'S', 'C');
    this.retries++;
    if (plan.redispatched) { this.redispatched = true; this.assign(plan.srv); }
    if (plan.delay === 0) return this.connectServer();
    this.turnaround = setTimeout(onTurnaround, plan.delay, this);
  }

  retryNow(): void {
    this.turnaround = null;
    if (!this.finished && this.phase === P_CONNECT) this.connectServer();
  }

  /* ---------------- request body ---------------- */

  private requestBody(buf: Buffer, s: number, e: number): void {
    let end = s;
    if (this.reqKind === BODY_LENGTH) {
      const n = Math.min(this.reqRemaining, e - s);
      end = s + n;
      this.reqRemaining -= n;
      if (this.reqRemaining === 0) this.reqDone = true;
    } else if (this.reqKind === BODY_CHUNKED) {
      const d = this.reqDec!;
      const r = d.feed(buf, s, e);
      if (r < 0) {
        // Invalid framing: the bad bytes are not forwarded; the server
        // connection is dropped and the client gets the parser's status.
        this.fe.fe!.ereq++;
        return this.errorReply(d.status, 'P', this.phase === P_TXN ? 'D' : 'R');
      }
      end = r;
      if (d.done) this.reqDone = true;
    }
    if (end > s) this.queueRequest(s === 0 && end === buf.length ? buf : buf.subarray(s, end));
    if (end < e) this.cbuf = this.cbuf === null ? buf.subarray(end, e) : Buffer.concat([this.cbuf, buf.subarray(end, e)]);
    if (this.reqDone) this.readClient(false);
  }

  /* ---------------- response ---------------- */

  serverData(buf: Buffer): void {
    const n = buf.length;
    this.respAny = true;
    this.srvLast = clockNow();
    this.be!.be!.bout += n;
    this.srv!.counters.bout += n;
    if (this.resp !== null) return this.responseBody(buf, 0, n, null);
    this.sbuf = this.sbuf === null ? buf : Buffer.concat([this.sbuf, buf]);
    this.parseResponse();
  }

  private parseResponse(): void {
    while (this.sbuf !== null && !this.finished) {
      const buf = this.sbuf;
      const r = parseResponseHead(buf, this.req!.methodCode, this.engine.h1Limits, this.sscan);
      if (r.state === 'partial') return;
      if (r.state === 'error') {
        this.be!.be!.eresp++;
        this.srv!.counters.eresp++;
        observeHttpError(this.srv!, HANA_HTTP_RSP);
        if (this.l7Retry(RETRY_JUNK_RESPONSE)) return;
        return this.errorReply(502, 'P', 'H');
      }
      const h = r.head;
      this.sscan.reset();
      if (h.status >= 401 && this.l7Retry(retryStatusBit(h.status))) return;
      const rest = r.headLength < buf.length ? buf.subarray(r.headLength) : null;
      this.sbuf = rest;
      if (h.status < 200 && h.status !== 101) {
        // Interim response (100-continue, 103): forwarded, the final one follows.
        dropFraming(h);
        this.respStarted = true;
        this.sendClient(serializeHead(h.lineRaw ? null : statusLine(h), h, null, false));
        continue;
      }
      observeStatus(this.srv!, h.status);
      if (h.bodyKind === BODY_TUNNEL) {
        // A 101 answers an Upgrade request only; a 2xx tunnel a CONNECT only.
        if (!this.upgrade || (h.status === 101) === (this.req!.methodCode === METH_CONNECT)) {
          this.be!.be!.eresp++;
          this.srv!.counters.eresp++;
          return this.errorReply(502, 'P', 'H');
        }
        return this.tunnelStart(h, rest);
      }
      this.resp = h;
      const status0 = h.status;
      analyseResponse(this.extras, this.fe, h.headers);
      this.sbuf = null;
      if ((this.be!.rules !== null || this.fe.rules !== null) && !this.responseRules()) return;
      const ps = this.be!.persist;
      if (ps !== null && ps.cookie !== null) cookieResponse(this, this.be!, this.srv, this.req!, h, status0);
      // A server's own 304 keeps its content-length (as haproxy 2.6.12).
      if (h.status === 204 || (h.status === 304 && status0 !== 304)) {
        // No content (RFC 9110 §6.4.1); a rule may have made it so
        // (set-status): the server's body, if any, is read but not passed on.
        if (status0 !== h.status && h.bodyKind !== BODY_NONE) this.discardBody = true;
        dropFraming(h);
      }
      this.respHeadAt = clockNow();
      this.status = h.status;
      this.respKind = h.bodyKind;
      this.respRemaining = h.contentLength > 0 ? h.contentLength : 0;
      if (h.bodyKind === BODY_CHUNKED) {
        if (this.respDec === null) this.respDec = new ChunkedDecoder(true);
        else this.respDec.reset();
      }
      // The client connection survives when both sides allow it and the
      // response length does not depend on the server closing.
      if (h.bodyKind === BODY_CLOSE) this.keepAlive = false;
      const v11 = this.req!.version === 11;
      const conn = this.keepAlive ? (v11 ? null : 'keep-alive') : (v11 ? 'close' : null);
      this.respStarted = true;
      if (!this.afterResponse(h)) return;
      const out = serializeHead(h.lineRaw ? null : statusLine(h), h, conn, false);
      // Body bytes read with the head go out in the same write (one writev, not two writes).
      if (rest !== null && h.bodyKind !== BODY_NONE) return this.responseBody(rest, 0, rest.length, out);
      this.sendClient(out);
      if (this.finished) return;
      if (h.bodyKind === BODY_NONE) { this.respClean = rest === null; return this.responseDone(); }
      return;
    }
  }

  /** `head`: the response head not sent yet, to go out with these body bytes. */
  private responseBody(buf: Buffer, s: number, e: number, head: Buffer | null): void {
    let end = e;
    let done = false;
    if (this.respKind === BODY_LENGTH) {
      const n = Math.min(this.respRemaining, e - s);
      end = s + n;
      this.respRemaining -= n;
      done = this.respRemaining === 0;
    } else if (this.respKind === BODY_CHUNKED) {
      const d = this.respDec!;
      const r = d.feed(buf, s, e);
      if (r < 0) {
        if (head !== null) { this.sendClient(head); if (this.finished) return; }
        this.be!.be!.eresp++;
        this.srv!.counters.eresp++;
        this.setTerm('S', 'D');
        return this.close();
      }
      end = r;
      done = d.done;
    } else if (this.respKind === BODY_NONE) {
      return;
    }
    if (end > s && !this.discardBody) {
      const body = s === 0 && end === buf.length ? buf : buf.subarray(s, end);
      if (head !== null) this.sendClientWithHead(head, body); else this.sendClient(body);
    } else if (head !== null) {
      this.sendClient(head);
    }
    // Bytes after the response are ignored: the server connection closes.
    if (done && !this.finished) { this.respClean = end === e; this.responseDone(); }
  }

  serverEof(): void {
    if (this.phase === P_TUNNEL) return this.tunnelEof(false);
    if (this.resp === null) {
      if (this.reusedFailed()) return;
      // Closed before a complete response head.
      observeHttpError(this.srv!, HANA_HTTP_BROKEN_PIPE);
      this.be!.be!.eresp++;
      this.srv!.counters.eresp++;
      this.srv!.counters.srvAbrt++;
      this.be!.be!.srvAbrt++;
      if (this.l7Retry(this.respAny ? RETRY_JUNK_RESPONSE : RETRY_EMPTY_RESPONSE)) return;
      return this.errorReply(502, 'S', 'H');
    }
    if (this.respKind === BODY_CLOSE) return this.responseDone();
    // Truncated body.
    this.srv!.counters.srvAbrt++;
    this.be!.be!.srvAbrt++;
    this.setTerm('S', 'D');
    this.close();
  }

  private responseDone(): void {
    if (!this.reqDone) this.keepAlive = false;
    this.endTransaction();
    if (!this.keepAlive) return this.closeClient();
    // Next request: pipelined bytes first.
    this.txnCount++;
    this.resetTransaction();
    this.waitRequest(false);
  }

  /** Request bytes toward the server, kept for a retry while small enough. */
  private queueRequest(buf: Buffer): void {
    const copy = this.reqCopy;
    if (copy !== null) {
      this.reqCopyLen += buf.length;
      if (this.reqCopyLen > RETRY_MAX) this.reqCopy = null;
      else copy.push(buf);
    }
    this.sendServer(buf);
  }

  /**
   * The server connection failed (EOF, reset, write error) before any
   * response byte. On a reused connection that is the keep-alive race, not
   * a server failure: an idempotent request still held is sent once more on
   * a new connection; anything else gets a 502 (it may have been processed).
   * Returns false when the connection was a new one (normal error path).
   */
  private reusedFailed(): boolean {
    if (!this.reused || this.respAny || this.finished) return false;
    this.closeServer();
    this.reused = false;
    const copy = this.reqCopy;
    if (copy === null || this.reuseRetried) {
      this.be!.be!.eresp++;
      this.srv!.counters.eresp++;
      if (!this.l7Retry(RETRY_EMPTY_RESPONSE)) this.errorReply(502, 'S', 'H');
      return true;
    }
    this.reuseRetried = true;
    this.retries++;
    this.resend(copy);
    return true;
  }

  /**
   * `retry-on` (HAProxy's do_l7_retry): the server failed the request in a
   * way `bit` names, before any byte of a response reached the client. An
   * idempotent request that went out whole and is still held (RETRY_MAX) is
   * sent again while `retries` allow, to the same server or, under `option
   * redispatch`, another (as a failed connect would be). Anything else: false,
   * the caller answers the error.
   */
  private l7Retry(bit: number): boolean {
    const be = this.be;
    const copy = this.reqCopy;
    if (be === null || bit === 0 || (be.cfg.retryOn & bit) === 0 || this.respStarted || this.finished ||
      copy === null || !this.reqDone || this.attemptsLeft <= 0 || this.srv === null) return false;
    this.closeServer();
    const srv = this.srv;
    const c = be.be!;
    this.retries++;
    srv.counters.wretr++;
    c.wretr++;
    const other = redispatchTarget(be, srv, this.attemptsLeft, this, this.direct, redispatchForbidden(this.persist));
    if (other !== null) {
      this.redispatched = true;
      srv.counters.wredis++;
      c.wredis++;
      this.assign(other);
    }
    this.resp = null;
    this.respAny = false;
    this.resend(copy);
    return true;
  }

  /** Send the held request again on a new server connection (reusedFailed, l7Retry). */
  private resend(copy: Buffer[]): void {
    this.reused = false;
    this.srvTimer.disarm();
    this.sbuf = null;
    this.sscan.reset();
    // The copy stays held (retry-on may need it again); the new connection gets its own list.
    this.toServer = copy.slice();
    this.toServerLen = this.reqCopyLen;
    this.phase = P_CONNECT;
    // Body bytes wait in the socket until the new connection is up (connected() resumes).
    this.readClient(false);
    this.connectServer();
  }

  /**
   * Park the server connection when the transaction left it reusable,
   * else close it. Reusable: we asked for keep-alive, the server did not
   * refuse it, the response ended at its framing, the request went out whole.
   */
  private releaseServer(): void {
    const h = this.server;
    if (h === null) return;
    const srv = this.srv;
    const resp = this.resp;
    if (srv === null || resp === null || !resp.keepAlive || !this.respClean || !this.srvKeep || !this.reqDone ||
      this.srvPending !== 0 || this.finished || this.engine.isStopping) return this.closeServer();
    // PROXY headers and a per-request SNI make a connection the session's own.
    const shared = this.be!.reuse !== REUSE_NEVER && !srv.cfg.sendProxy && !srv.cfg.sendProxyV2 && srv.sniExpr === null;
    // A private connection is only worth keeping for this session's next request.
    if (!shared && !this.keepAlive) return this.closeServer();
    const reading = this.srvReading;
    h[kStream] = undefined;
    this.server = null;
    this.srvReading = false;
    const ic = srv.pool.put(h, this.srvUses + 1, shared, this.keepAlive ? this : null, reading, clockNow());
    if (ic === null) { h.onread = ignoreRead; h.close(); return; }
    if (this.keepAlive) this.own = ic;
  }

  /** The session ends: its private idle connection goes, a shared one stays for others. */
  private dropOwn(): void {
    const own = this.own;
    if (own === null) return;
    this.own = null;
    if (!own.shared) own.pool.drop(own);
    else if (own.owner === this) own.owner = null;
  }

  /** Log the transaction and release its server side. */
  private endTransaction(): void {
    const st = this.status;
    if (st > 0) {
      // HAProxy (stream.c, http_ana.c): frontend and backend count every
      // final status at the end of the transaction, the server the
      // responses it sent, request and status together (req_tot, hrsp_*).
      countStatus(this.fe.fe!, st);
      if (this.be !== null) { this.be.be!.reqTot++; countStatus(this.be.be!, st); }
      if (this.resp !== null && this.srv !== null) { this.srv.counters.reqTot++; countStatus(this.srv.counters, st); }
    }
    this.releaseServer();
    this.clearTxnTimers();
    // Backend and server slots go before the log line, as in HAProxy 2.6
    // (a lone transaction logs 1/1/0/0/0; tcp-relay.ts does the same).
    if (this.beCounted) {
      this.beCounted = false;
      this.be!.beconn--;
      this.be!.be!.scur = this.be!.beconn;
    }
    this.release();
    if (this.engine.logsHttp(this.fe)) this.engine.logHttp(this, this.logRecord());
  }

  private resetTransaction(): void {
    const now = clockNow();
    this.txnStart = now;
    this.headStart = this.headDone = this.assignedAt = this.connectedAt = this.respHeadAt = -1;
    this.srvQueue = this.backendQueue = 0;
    this.discardBody = false;
    this.heldBody = null;
    this.heldBodyBuf = null;
    this.ruleStage = this.ruleAt = 0;
    this.logLevel = -2;
    this.srvTimeoutSet = this.tunnelTimeoutSet = 0;
    this.tc = -1;
    this.req = null;
    this.requestLine = undefined;
    this.toServer.length = 0;
    this.toServerLen = 0;
    this.bodyWait = false;
    this.reqKind = BODY_NONE;
    this.reqDone = false;
    this.sbuf = null;
    this.resp = null;
    this.respKind = BODY_NONE;
    this.respStarted = false;
    this.status = -1;
    this.bytesIn = this.bytesOut = 0;
    this.retries = 0;
    this.redispatched = false;
    this.term1 = this.term2 = '-';
    this.srv = null;
    this.be = null;
    this.attempt = 0;
    this.reused = false;
    this.srvUses = 0;
    this.respAny = this.respClean = this.reuseRetried = false;
    this.reqCopy = null;
    this.reqCopyLen = 0;
    this.upgrade = false;
    this.extras.reset();
    if (this.persist !== null) this.persist.reset();
    this.sscan.reset();
    const vs = this.varScopes;
    if (vs !== null) { vs.txn!.clear(); vs.req!.clear(); vs.res!.clear(); }
    // Bytes already received for the next request count for it.
    if (this.cbuf !== null) this.bytesIn = this.cbuf.length;
  }

  /** The transaction's log record as of now (the log line, lf-strings of rules). */
  logRecord(): LogRecord {
    const now = clockNow();
    const ti = this.headStart >= 0 ? this.headStart - this.txnStart : -1;
    // Captures, %rt and %ID come from http/analysers.ts.
    return logExtras(this.extras, this.fe, this, {
      clientIp: this.clientIp, clientPort: this.clientPort,
      acceptTime: this.txnStart,
      frontend: this.fe.cfg.name,
      backend: this.be?.cfg.name ?? this.fe.cfg.name,
      // A denied request names the server its cookie designated, as HAProxy's log does.
      server: this.srv?.cfg.name ?? this.persist?.direct?.cfg.name ?? '<NOSRV>',
      th: 0,
      ti,
      tR: this.headDone >= 0 ? this.headDone - this.headStart : -1,
      tw: this.assignedAt >= 0 ? this.assignedAt - this.headDone : -1,
      tc: this.tc,
      tr: this.respHeadAt >= 0 ? this.respHeadAt - this.connectedAt : -1,
      tt: now - this.txnStart,
      status: this.status,
      requestLine: this.reqLine(),
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      termState: this.term1 + this.term2,
      cookieFlags: cookieLogFlags(this.persist, this.be ?? this.fe),
      actconn: this.engine.actconn, feconn: this.fe.feconn, beconn: this.be?.beconn ?? 0, srvConn: this.srv?.cur ?? 0,
      retries: this.retries, redispatched: this.redispatched,
      srvQueue: this.srvQueue, backendQueue: this.backendQueue,
      ssl: this.tls !== null, sslVersion: this.tls?.version, sslCipher: this.tls?.cipher,
    });
  }

  /* ---------------- tunnel (Upgrade, CONNECT) ---------------- */

  /**
   * The server accepted the upgrade: forward its response head, then relay
   * bytes both ways until both sides have closed, under `timeout tunnel`
   * (the backend's; it supersedes client and server timeouts) as in TCP
   * mode. The transaction is logged when the tunnel ends.
   */
  private tunnelStart(h: ResponseHead, rest: Buffer | null): void {
    this.resp = h;
    analyseResponse(this.extras, this.fe, h.headers);
    const ps = this.be!.persist;
    if (ps !== null && ps.cookie !== null) cookieResponse(this, this.be!, this.srv, this.req!, h, h.status);
    this.sbuf = null;
    this.respHeadAt = clockNow();
    this.status = h.status;
    this.respKind = BODY_TUNNEL;
    this.respStarted = true;
    this.keepAlive = false;
    this.reqDone = true;
    this.reqCopy = null;
    this.phase = P_TUNNEL;
    this.sendClient(serializeHead(h.lineRaw ? null : statusLine(h), h, h.status === 101 ? 'upgrade' : null, true));
    if (this.finished) return;
    const tunnel = this.tunnelTimeoutSet || this.be!.cfg.timeouts.tunnel;
    this.armClientTimer(tunnel || this.fe.cfg.timeouts.client);
    this.armServerTimer(tunnel || this.srvTimeoutSet || this.be!.cfg.timeouts.server);
    if (rest !== null) this.sendClient(rest);
    // Bytes the client sent after its request, before the 101.
    const early = this.cbuf;
    this.cbuf = null;
    if (early !== null && !this.finished) this.sendServer(early);
    if (this.finished) return;
    this.readServer(true);
    this.readClient(true);
  }

  /** EOF from one side of the tunnel: shut our write side toward the other once its writes are out. */
  private tunnelEof(fromClient: boolean): void {
    let to: RawStream | null;
    if (fromClient) {
      this.cliEof = true;
      this.readClient(false);
      to = this.srvShut ? null : this.server;
      this.srvShut = true;
    } else {
      this.srvEof = true;
      this.readServer(false);
      to = this.cliShut ? null : this.client;
      this.cliShut = true;
    }
    if (to !== null) {
      const req = new ShutdownWrap() as ShutdownReq;
      req.handle = to;
      req.oncomplete = onTunnelShutdown;
      req[kStream] = this;
      if (to.shutdown(req) !== 0) return this.close();
    }
    // client-fin / server-fin once we have shut our side toward that peer (see tcp-relay.ts).
    const cfin = this.fe.cfg.timeouts.clientFin;
    if (cfin > 0 && this.cliShut) this.armClientTimer(cfin);
    const sfin = this.be!.cfg.timeouts.serverFin;
    if (sfin > 0 && this.srvShut) this.armServerTimer(sfin);
    if (to === null) this.tunnelShutDone();
  }

  /** Both directions ended and were passed on: the tunnel is over. */
  tunnelShutDone(): void {
    if (!this.finished && this.cliEof && this.srvEof && this.cliPending === 0 && this.srvPending === 0) this.close();
  }

  /* ---------------- writes ---------------- */

  private sendClient(buf: Buffer): void {
    const n = buf.length;
    this.bytesOut += n;
    this.fe.fe!.bout += n;
    this.write(this.client, buf, null, true);
  }

  /**
   * A response head and body bytes in one writev: one syscall (and one
   * loopback segment) instead of two. Counted as two writes would be: the
   * body only once the write went out.
   */
  private sendClientWithHead(head: Buffer, body: Buffer): void {
    this.bytesOut += head.length;
    this.fe.fe!.bout += head.length;
    this.write(this.client, head, body, true);
    if (this.finished) return;
    this.bytesOut += body.length;
    this.fe.fe!.bout += body.length;
  }

  private sendServer(buf: Buffer): void {
    if (this.phase < P_TXN) { this.toServer.push(buf); this.toServerLen += buf.length; return; }
    const n = buf.length;
    this.be!.be!.bin += n;
    this.srv!.counters.bin += n;
    this.write(this.server, buf, null, false);
  }

  /** Write `buf` (then `buf2`, in the same writev, when not null). */
  private write(h: RawStream | null, buf: Buffer, buf2: Buffer | null, toClient: boolean): void {
    if (h === null || buf.length === 0) return;
    let req = spareWrite;
    if (req === null) {
      req = new WriteWrap() as WriteReq;
      req.oncomplete = onWriteDone;
      req.async = false;
    }
    spareWrite = null;
    req.handle = h;
    req[kStream] = this;
    req[kToClient] = toClient;
    const chunks = buf2 === null ? null : [buf, buf2];
    const err = chunks === null ? h.writeBuffer(req, buf) : h.writev(req, chunks, true);
    const async = err === 0 && lastWriteWasAsync();
    if (!async) releaseWriteReq(req);
    if (err) return this.writeError(toClient);
    if (toClient) this.cliLast = clockNow(); else this.srvLast = clockNow();
    if (async) {
      // Keep the bytes alive until written; stop reading the other side until then.
      req.buffer = chunks === null ? buf : chunks;
      if (toClient) { this.cliPending++; this.readServer(this.srvWant); }
      else { this.srvPending++; this.readClient(this.cliWant); }
    }
  }

  writeDone(toClient: boolean, status: number): void {
    if (this.finished) return;
    if (toClient) this.cliPending--; else this.srvPending--;
    if (status < 0) return this.writeError(toClient);
    if (toClient) {
      this.cliLast = clockNow();
      if (this.cliPending === 0) this.readServer(this.srvWant);
    } else {
      this.srvLast = clockNow();
      if (this.srvPending === 0) this.readClient(this.cliWant);
    }
  }

  private writeError(toClient: boolean): void {
    if (this.finished) return;
    if (!toClient && this.resp === null && (this.reusedFailed() || this.l7Retry(this.respAny ? RETRY_JUNK_RESPONSE : RETRY_EMPTY_RESPONSE))) return;
    if (toClient) this.setTerm('C', this.phase === P_HEAD ? 'R' : 'D');
    else this.setTerm('S', this.resp === null ? 'H' : 'D');
    this.close();
  }

  /**
   * Whether we want to read a side; reading really happens only while the
   * opposite direction has no write pending (backpressure).
   */
  private readClient(want: boolean): void {
    this.cliWant = want;
    const h = this.client;
    if (h === null) return;
    const on = want && this.srvPending === 0;
    if (on === this.cliReading) return;
    this.cliReading = on;
    if (!on) return; // lazy: see cliPolling
    if (this.cliHeld !== null || this.cliHeldEnd !== 0) {
      if (!this.cliReplay) { this.cliReplay = true; setImmediate(onClientReplay, this); }
    } else if (!this.cliPolling) {
      h.readStart();
      this.cliPolling = true;
    }
  }

  /** A read event on the client handle. */
  clientRead(ab: ArrayBuffer | undefined, n: number): void {
    if (!this.cliReading) return this.holdClientRead(ab, n);
    if (n > 0) return this.clientData(readBytes(ab!, n));
    // libuv stops reading by itself at EOF and on errors.
    this.cliPolling = false;
    if (n === UV_EOF) return this.clientEof();
    this.clientReadError();
  }

  /** A read nobody wants now: keep it for later and really stop reading. */
  private holdClientRead(ab: ArrayBuffer | undefined, n: number): void {
    if (n > 0) {
      const b = readBytes(ab!, n);
      this.cliHeld = this.cliHeld === null ? b : Buffer.concat([this.cliHeld, b]);
    } else {
      this.cliHeldEnd = n;
    }
    if (this.cliPolling) { this.client!.readStop(); this.cliPolling = false; }
  }

  /** Deliver what holdClientRead kept, now that reading is wanted again. */
  clientReplay(): void {
    this.cliReplay = false;
    if (this.finished || !this.cliReading) return;
    const buf = this.cliHeld;
    this.cliHeld = null;
    if (buf !== null) {
      this.clientData(buf);
      if (this.finished || !this.cliReading) return;
    }
    const end = this.cliHeldEnd;
    if (end !== 0) {
      this.cliHeldEnd = 0;
      if (end === UV_EOF) return this.clientEof();
      return this.clientReadError();
    }
    if (!this.cliPolling && this.client !== null) {
      this.client.readStart();
      this.cliPolling = true;
    }
  }

  private readServer(want: boolean): void {
    this.srvWant = want;
    const h = this.server;
    if (h === null) return;
    const on = want && this.cliPending === 0;
    if (on === this.srvReading) return;
    if (on) h.readStart(); else h.readStop();
    this.srvReading = on;
  }

  /* ---------------- client events ---------------- */

  clientEof(): void {
    this.readClient(false);
    if (this.phase === P_HEAD) {
      if (this.headStart < 0) return this.emptyRequest(400, 'C');
      // A head cut short: HAProxy answers 400 (h1_handle_parsing_error).
      this.status = 400;
      this.setTerm('C', 'R');
      this.fe.fe!.reqTot++;
      this.fe.fe!.ereq++;
      return this.replyAndClose(earlyErrorResponse(this.fe.cfg, 400));
    }
    if (this.phase === P_CLOSING) return;
    if (this.phase === P_TUNNEL) return this.tunnelEof(true);
    if (!this.reqDone) {
      this.setTerm('C', this.waitQueue !== null ? 'Q' : this.phase === P_CONNECT ? 'C' : 'D');
      if (this.be !== null) this.be.be!.cliAbrt++;
      if (this.srv !== null) this.srv.counters.cliAbrt++;
      return this.close();
    }
    // A FIN after a complete request: the response still goes out, then close.
    this.keepAlive = false;
  }

  clientReadError(): void {
    this.setTerm('C', this.phase === P_HEAD ? 'R' : 'D');
    this.close();
  }

  /* ---------------- timeouts ---------------- */

  private armClientTimer(ms: number): void {
    this.cliTimeout = ms;
    this.cliTimer.arm(ms, clockNow());
  }

  private armServerTimer(ms: number): void {
    this.srvTimeout = ms;
    this.srvTimer.arm(ms, clockNow());
  }

  clientTimer(): void {
    if (this.finished) return;
    const now = clockNow();
    const idle = now - this.cliLast;
    // Waiting for the response with the request sent: only the server's timeout applies.
    if (idle < this.cliTimeout || (this.phase === P_TXN && this.reqDone && this.cliPending === 0)) {
      this.cliTimer.arm(Math.max(1, this.cliTimeout - idle), now);
      return;
    }
    this.setTerm('c', this.phase === P_HEAD ? 'R' : 'D');
    this.close();
  }

  serverTimer(): void {
    if (this.finished || (this.phase !== P_TXN && this.phase !== P_TUNNEL)) return;
    const now = clockNow();
    const idle = now - this.srvLast;
    if (idle < this.srvTimeout) {
      this.srvTimer.arm(this.srvTimeout - idle, now);
      return;
    }
    if (!this.respStarted) {
      if (this.resp === null && this.l7Retry(RETRY_RESPONSE_TIMEOUT)) return;
      return this.errorReply(504, 's', 'H');
    }
    this.setTerm('s', 'D');
    this.close();
  }

  private clearTxnTimers(): void {
    if (this.queueTimer !== null || this.waitQueue !== null) this.leaveQueues();
    if (this.tarpitTimer !== null) { clearTimeout(this.tarpitTimer); this.tarpitTimer = null; this.tarpitSpec = null; }
    if (this.waitTimer !== null) { clearTimeout(this.waitTimer); this.waitTimer = null; }
    if (this.connectTimer) { clearTimeout(this.connectTimer); this.connectTimer = null; }
    if (this.turnaround) { clearTimeout(this.turnaround); this.turnaround = null; }
    this.srvTimer.disarm();
    this.cliTimer.disarm();
  }

  /* ---------------- end ---------------- */

  private setTerm(a: string, b: string): void {
    if (this.term1 === '-') { this.term1 = a; this.term2 = b; }
  }

  /**
   * An error the proxy answers itself once a stream exists (502, 503,
   * 504, a bad chunked request body): the proxy's page (errorfile), then close.
   */
  private errorReply(status: number, t1: string, t2: string): void {
    this.setTerm(t1, t2);
    this.status = status;
    if (this.respStarted) return this.close();
    const r = errorReplyOf(this, this.fe.cfg, this.be?.cfg ?? null, status);
    this.closeServer();
    // A whole request from a keep-alive client: the page goes out in its
    // keep-alive form and the next request is awaited, as HAProxy does.
    if (r !== undefined && this.keepAlive && this.reqDone && !r.mustClose && this.req !== null) {
      this.respStarted = true;
      this.sendClient(this.afterGenerated(this.req.version === 11 ? r.keepAlive : r.keepAlive10));
      if (this.finished) return;
      return this.responseDone();
    }
    this.replyAndClose(r === undefined ? undefined : this.req !== null ? this.afterGenerated(r.close) : r.close);
  }

  /**
   * The client closed (400) or timed out (408) before its first request's
   * first byte: HAProxy 2.6's h1_handle_parsing_error() / h1_handle_req_tout()
   * on an empty connection. Silent between keep-alive requests and with
   * `option http-ignore-probes`; with `dontlognull`, not logged (and the
   * 408 not sent); otherwise answered and logged (`<BADREQ>`, CR / cR).
   */
  private emptyRequest(status: number, t1: string): void {
    if (this.txnCount > 0 || this.fe.cfg.options.httpIgnoreProbes) return this.close();
    const c = this.fe.fe!;
    c.reqTot++;
    c.ereq++;
    this.status = status;
    this.setTerm(t1, 'R');
    const page = earlyErrorResponse(this.fe.cfg, status);
    if (!this.fe.cfg.options.dontlognull) return this.replyAndClose(page);
    countStatus(c, status);
    this.keepAlive = false;
    if (status === 400 && page !== undefined && page.length > 0) this.sendClient(page);
    if (!this.finished) this.closeClient();
  }

  /** Send `msg` (may be empty / undefined: nothing), log, then close once it is flushed. */
  private replyAndClose(msg: Buffer | undefined): void {
    this.keepAlive = false;
    if (msg !== undefined && msg.length > 0) this.sendClient(msg);
    if (this.finished) return;
    this.endTransaction();
    this.closeClient();
  }

  /** Close toward the client once pending writes are out (shut our write side first while some are pending). */
  private closeClient(): void {
    this.phase = P_CLOSING;
    this.readClient(false);
    this.headTimer.disarm();
    const h = this.client;
    if (h === null) return this.close();
    // Every byte already with the kernel: close() sends them, then the FIN,
    // as shutdown() then close() in the next loop pass did (unread bytes
    // make it a reset either way), without the shutdown request and its callback.
    if (this.cliPending === 0) return this.close();
    // Bytes the client sends from now on stay unread (libuv's readStop costs no syscall).
    if (this.cliPolling) { h.readStop(); this.cliPolling = false; }
    this.cliLast = clockNow();
    this.armClientTimer(this.fe.cfg.timeouts.client);
    const req = new ShutdownWrap() as ShutdownReq;
    req.handle = h;
    req.oncomplete = onShutdown;
    req[kStream] = this;
    if (h.shutdown(req) !== 0) this.close();
  }

  private closeServer(): void {
    const h = this.server;
    if (h === null) return;
    h.onread = ignoreRead;
    h.close();
    this.server = null;
    this.srvReading = false;
    this.srvPending = 0;
  }

  /**
   * Hard stop (hard-stop-after, fast stop: 'K'), or the server went down
   * ('D', on-marked-down shutdown-sessions) or an active one came up ('U',
   * on-marked-up shutdown-backup-sessions).
   */
  kill(why = 'K'): void {
    this.setTerm(why, this.phase === P_TXN ? 'D' : 'C');
    this.close();
  }

  close(): void {
    if (this.finished) return;
    this.dropOwn();
    // A transaction that had begun is logged (an idle connection is not).
    const logIt = this.phase !== P_CLOSING && (this.headStart >= 0 || this.phase !== P_HEAD);
    if (logIt) this.endTransaction();
    this.finished = true;
    this.closeServer();
    this.clearTxnTimers();
    this.headTimer.stop();
    this.cliTimer.stop();
    this.srvTimer.stop();
    const h = this.client;
    if (h !== null) { h.onread = ignoreRead; h.close(); this.client = null; }
    if (this.beCounted) {
      this.beCounted = false;
      this.be!.beconn--;
      this.be!.be!.scur = this.be!.beconn;
    }
    this.release();
    this.srv = null;
    this.engine.streamEnded(this);
  }
}

function onQueueTimeout(st: HttpStream): void { st.queueTimedOut(); }

/* ---------------- write requests ---------------- */

/**
 * A write that completes at once (libuv's try-write took every byte, the
 * usual case) leaves its WriteWrap untouched by the native side, so the
 * next write can use it again instead of constructing one per write. A
 * write left pending keeps its request until oncomplete; the next one
 * constructs a new request.
 */
let spareWrite: WriteReq | null = null;

function releaseWriteReq(req: WriteReq): void {
  req.handle = null as unknown as RawStream;
  req[kStream] = null;
  spareWrite = req;
}

/* ---------------- serialisation ---------------- */

/**
 * Hop-by-hop fields (RFC 9110 §7.6.1) and the ones Connection names;
 * framing fields are kept. Each field's name length picks the names it can
 * be (te 2, upgrade 7, connection/keep-alive 10, proxy-connection 16):
 * most fields are compared with none.
 */
function stripHopByHop(list: HeaderList, tokens: string[] | null, keepUpgrade: boolean): void {
  if (tokens === null && !list.mayHave('upgrade') && !list.mayHave('connection') && !list.mayHave('proxy-connection') && !list.mayHave('te')) return;
  for (let i = list.count - 1; i >= 0; i--) {
    const len = list.nameLength(i);
    if (len === 7 && list.nameIs(i, 'upgrade')) {
      if (!keepUpgrade) list.removeAt(i);
      continue;
    }
    if ((len === 10 && (list.nameIs(i, 'connection') || list.nameIs(i, 'keep-alive'))) ||
      (len === 16 && list.nameIs(i, 'proxy-connection')) || (len === 2 && list.nameIs(i, 'te'))) {
      list.removeAt(i);
      continue;
    }
    if (tokens !== null) {
      for (let k = 0; k < tokens.length; k++) {
        const t = tokens[k];
        // Never let a Connection token remove the framing or the Host.
        if (t === 'content-length' || t === 'transfer-encoding' || t === 'host') continue;
        if (list.nameIs(i, t)) { list.removeAt(i); break; }
      }
    }
  }
}

/**
 * Start line, the fields minus hop-by-hop ones (Upgrade kept for an
 * upgrade), `connection: <conn>` when given, empty line.
 */
export function serializeHead(startLine: string | null, h: MessageHead, conn: string | null, keepUpgrade: boolean): Buffer {
  const list = h.headers;
  stripHopByHop(list, h.connectionTokens, keepUpgrade);
  const lineLen = startLine !== null ? startLine.length : h._le - h._ls;
  let len = lineLen + 2 + list.byteLength() + 2;
  if (conn !== null) len += CONNECTION_PREFIX.length + conn.length + 2;
  const out = Buffer.allocUnsafe(len);
  let off = startLine !== null ? writeLatin1(startLine, out, 0) : copyBytes(list.src!, h._ls, h._le, out, 0);
  out[off++] = CR; out[off++] = LF;
  off = list.writeTo(out, off);
  if (conn !== null) {
    off = writeLatin1(CONNECTION_PREFIX, out, off);
    off = writeLatin1(conn, out, off);
    out[off++] = CR; out[off++] = LF;
  }
  out[off++] = CR; out[off++] = LF;
  return out;
}

/**
 * 1xx and 204 have no content (RFC 9110 §8.6, RFC 9112 §6.1): a
 * Content-Length or Transfer-Encoding from the server is not passed on
 * (HAProxy's H1 mux drops them too).
 */
function dropFraming(h: ResponseHead): void {
  const list = h.headers;
  for (let i = list.count - 1; i >= 0; i--) {
    if (list.nameIs(i, 'content-length') || list.nameIs(i, 'transfer-encoding')) list.removeAt(i);
  }
}

/**
 * The payload of chunked bytes already validated by ChunkedDecoder (sizes,
 * extensions, trailers): the data of each chunk, up to the last chunk or
 * the end of what was buffered.
 */
function dechunk(b: Buffer): Buffer {
  const parts: Buffer[] = [];
  let p = 0;
  while (p < b.length) {
    let size = 0;
    let q = p;
    for (; q < b.length; q++) {
      const c = b[q];
      const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : (c | 0x20) >= 0x61 && (c | 0x20) <= 0x66 ? (c | 0x20) - 0x57 : -1;
      if (d < 0) break;
      size = size * 16 + d;
    }
    const eol = b.indexOf(0x0a, q);
    if (eol < 0 || size === 0) break;
    const start = eol + 1;
    const end = Math.min(start + size, b.length);
    parts.push(b.subarray(start, end));
    p = end + 2;
  }
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}

/** Idempotent methods (RFC 9110 §9.2.2): only these are sent again after a failed reused connection. */
function idempotent(m: number): boolean {
  return m === METH_GET || m === METH_HEAD || m === METH_OPTIONS || m === METH_PUT || m === METH_DELETE || m === METH_TRACE;
}

/** A rule rewrote the method or the target (http/actions.ts): the request line is rebuilt. */
function headRewritten(h: RequestHead): boolean {
  return (h as { rewritten?: boolean }).rewritten === true;
}

/** A generated page without its body (the head, up to its empty line). */
function headOnly(page: Buffer): Buffer {
  const eoh = page.indexOf(CRLFCRLF);
  return eoh < 0 || eoh + 4 === page.length ? page : page.subarray(0, eoh + 4);
}

const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');

/** The status line as received, version included (HAProxy keeps the server's version). */
function statusLine(h: ResponseHead): string {
  return (h.version === 11 ? 'HTTP/1.1 ' : 'HTTP/1.0 ') + h.status + ' ' + h.reason;
}

/* ---------------- handlers ---------------- */

/**
 * The time at the start of the read being handled, 0 outside one. A
 * request or a response is handled in one read callback, which used to
 * read the clock a dozen times (arrival, head done, server assigned,
 * connected, each write...): now once, as HAProxy's tasks all see the
 * now_ms of their poll loop. Elsewhere (timers, connects, write
 * completions) clockNow() reads the clock.
 */
let readNow = 0;

function clockNow(): number {
  return readNow !== 0 ? readNow : Date.now();
}

/** onread must stay a function (a native accessor asserts it). */
function ignoreRead(): void { /* closing */ }

function onClientRead(this: RawStream, ab: ArrayBuffer | undefined): void {
  const st = this[kStream] as HttpStream | undefined;
  if (!st) return;
  const n = readResult();
  if (n === 0) return;
  readNow = Date.now();
  try {
    st.clientRead(ab, n);
  } finally {
    readNow = 0;
  }
}

function onClientReplay(st: HttpStream): void { st.clientReplay(); }

function onServerRead(this: RawStream, ab: ArrayBuffer | undefined): void {
  const st = this[kStream] as HttpStream | undefined;
  // No stream: parked in the server's pool (the handle keeps this onread there).
  if (!st) return idleRead(this);
  const n = readResult();
  if (n === 0) return;
  readNow = Date.now();
  try {
    if (n > 0) st.serverData(readBytes(ab!, n));
    else st.serverEof();
  } finally {
    readNow = 0;
  }
}

function onWriteDone(this: WriteReq, status: number): void {
  this.buffer = null;
  const st = this[kStream] as HttpStream;
  // A write to a server connection that was dropped (retry, reuse) concerns nobody.
  if (this[kToClient] === false && this.handle !== st.server) return;
  st.writeDone(this[kToClient] as boolean, status);
}

function onShutdown(this: ShutdownReq): void {
  (this[kStream] as HttpStream).close();
}

function onTunnelShutdown(this: ShutdownReq): void {
  (this[kStream] as HttpStream).tunnelShutDone();
}

function onTarpit(st: HttpStream): void { st.tarpitDone(); }
function onWaitBody(st: HttpStream): void { st.waitBodyTimeout(); }
function onBodyReady(st: HttpStream): void { st.bodyReady(); }
function onTurnaround(st: HttpStream): void { st.retryNow(); }
function onHeadTimer(st: HttpStream): void { st.headTimeout(); }
function onClientTimer(st: HttpStream): void { st.clientTimer(); }
function onServerTimer(st: HttpStream): void { st.serverTimer(); }
