/**
 * The request and response steps of HAProxy 2.6's HTTP analysers that act on
 * a parsed head, in HAProxy's order, for HttpStream to call once per head:
 *
 *   http_wait_for_request   1. monitor-uri (answered here, never forwarded)
 *                           2. request header captures      (analyseRequest)
 *   http_process_req_common 3. after each proxy's http-request rules (the
 *                              stream runs them): http-restrict-req-hdr-names,
 *                              frontend then backend (restrictRequest)
 *   http_process_request    4. unique-id (frontend's format and header)
 *                           5. X-Forwarded-For   6. X-Original-To (finishRequest)
 *   http_wait_for_response  7. response header captures     (analyseResponse)
 *
 * Each feature lives in its own module; what a proxy configured is compiled
 * once per worker into HttpFeatures (ProxyRuntime.http), and what one
 * transaction gathered (captures, unique-id, request counter) is kept in the
 * stream's RequestExtras, reused from one transaction to the next.
 */
import type { ProxyConfig } from '../config/compiled';
import type { ProxyRuntime } from '../engine/proxy-runtime';
import { type RawStream, peerAddress, localAddress } from '../engine/raw-handle';
import { proxyHeaderOf } from '../engine/listener';
import type { LogRecord } from '../log/log-format';
import type { CompileEnv, SampleContext } from '../rules/sample';
import type { RequestHead } from './h1';
import type { HeaderList } from './headers';
import { errorReplyFor, type ErrorReply } from './errors';
import { ForwardHeader, forwardHeader, addForwardedFor, addOriginalTo } from './forwarding';
import { restrictMode, restrictHeaderNames } from './restrict-hdr-names';
import { isMonitorRequest } from './monitor-uri';
import { UniqueIdFormat, uniqueIdFormat, renderUniqueId, addUniqueIdHeader } from './unique-id';
import { CaptureList, captureHeaders } from './captures';

/* Verdicts of analyseRequest(). */
export const REQ_FORWARD = 0;
/** monitor-uri: answer 200, do not log. */
export const REQ_MONITOR = 1;

/** One proxy's HTTP features, compiled from its config once per worker. */
export class HttpFeatures {
  readonly monitorUri: string | null;
  readonly reqCaps: CaptureList | null;
  readonly resCaps: CaptureList | null;
  readonly restrict: number;
  readonly uniqueId: UniqueIdFormat | null;
  readonly forwardFor: ForwardHeader | null;
  readonly originalTo: ForwardHeader | null;

  constructor(cfg: ProxyConfig, env: CompileEnv) {
    this.monitorUri = cfg.monitorUri;
    this.reqCaps = cfg.reqCaptures.length > 0 ? new CaptureList(cfg.reqCaptures) : null;
    this.resCaps = cfg.resCaptures.length > 0 ? new CaptureList(cfg.resCaptures) : null;
    this.restrict = restrictMode(cfg);
    this.uniqueId = cfg.cap.fe ? uniqueIdFormat(cfg, env) : null;
    this.forwardFor = forwardHeader(cfg.forwardFor);
    this.originalTo = forwardHeader(cfg.originalTo);
  }
}

/** null for a proxy not in `mode http`. */
export function httpFeatures(cfg: ProxyConfig, env: CompileEnv): HttpFeatures | null {
  return cfg.mode === 'http' ? new HttpFeatures(cfg, env) : null;
}

/** What the stream exposes to the analysers. */
export interface StreamView {
  readonly clientIp: string;
  readonly clientPort: number;
  readonly client: RawStream | null;
  readonly engine: { readonly actconn: number };
}

/**
 * HAProxy's per-process stream counter (uniq_id, `%rt`): one per request,
 * monitor requests included. Per worker here.
 */
let requestCounter = 0;

/** The current transaction's captures, unique-id and counter; one per connection. */
export class RequestExtras {
  /** The request head went through the analysers: the log shows its captures. */
  parsed = false;
  reqCaps: (string | null)[] | null = null;
  resCaps: (string | null)[] | null = null;
  uniqueId: string | undefined = undefined;
  counter = -1;
  /** The connection's addresses, fetched once when something needs them. */
  private srcIp: string | null = null;
  private srcPort = 0;
  private dst: { address: string; port: number } | null = null;

  reset(): void {
    this.parsed = false;
    this.uniqueId = undefined;
    this.counter = -1;
  }

  /** set-src / set-dst: the rule's addresses replace the connection's for the rest of the session. */
  overrideAddress(which: 'src' | 'dst', ip: string, port: number | null): void {
    if (which === 'src') {
      this.srcIp = ip;
      if (port !== null) this.srcPort = port;
    } else {
      this.dst = { address: ip, port: port ?? this.dst?.port ?? 0 };
    }
  }

  /** The client's address (the stream only fetches it when it logs). */
  source(st: StreamView): string {
    if (st.clientIp !== '-') return st.clientIp;
    if (this.srcIp === null) {
      const a = st.client !== null ? peerAddress(st.client) : { address: 'unix', port: 0 };
      this.srcIp = a.address;
      this.srcPort = a.port;
    }
    return this.srcIp;
  }

  sourcePort(st: StreamView): number {
    if (st.clientIp !== '-') return st.clientPort;
    this.source(st);
    return this.srcPort;
  }

  /** The address the client connected to (%fi/%fp, X-Original-To). */
  destination(st: StreamView): { address: string; port: number } {
    if (this.dst === null) {
      // accept-proxy: the PROXY header's destination is the connection's (listener.ts).
      const h = st.client !== null ? proxyHeaderOf(st.client) : null;
      this.dst = h !== null && h.proxied ? { address: h.dstIp, port: h.dstPort }
        : st.client !== null ? localAddress(st.client) : { address: 'unix', port: 0 };
    }
    return this.dst;
  }
}

/** Steps 1-2 on a request head, before the rules; returns REQ_FORWARD or REQ_MONITOR. */
export function analyseRequest(x: RequestExtras, fe: ProxyRuntime, h: RequestHead): number {
  const f = fe.http;
  x.counter = requestCounter++;
  if (f === null) return REQ_FORWARD;
  if (f.monitorUri !== null && isMonitorRequest(f.monitorUri, h)) return REQ_MONITOR;
  x.parsed = true;
  if (f.reqCaps !== null) captureHeaders(f.reqCaps, h.headers, x.reqCaps ??= new Array<string | null>(f.reqCaps.count));
  if (f.resCaps !== null) (x.resCaps ??= new Array<string | null>(f.resCaps.count)).fill(null);
  return REQ_FORWARD;
}

/**
 * Step 3 for one proxy, after its http-request rules (http_process_req_common):
 * false when its `http-restrict-req-hdr-names reject` refuses the request.
 */
export function restrictRequest(px: ProxyRuntime, headers: HeaderList): boolean {
  const f = px.http;
  return f === null || restrictHeaderNames(f.restrict, headers);
}

/** Steps 4-6, once the backend is chosen and every rule has run (http_process_request). */
export function finishRequest(x: RequestExtras, fe: ProxyRuntime, be: ProxyRuntime | null, h: RequestHead, st: StreamView & SampleContext, txnStart: number, requestLine: string): void {
  const f = fe.http;
  if (f === null) return;
  const headers = h.headers;
  const b = be !== null ? be.http : null;
  if (f.uniqueId !== null) {
    x.uniqueId = renderUniqueId(f.uniqueId, requestRecord(x, fe, be, st, txnStart, requestLine), st);
    addUniqueIdHeader(f.uniqueId, headers, x.uniqueId);
  }
  const bff = b !== null ? b.forwardFor : null;
  if (f.forwardFor !== null || bff !== null) addForwardedFor(f.forwardFor, bff, headers, x.source(st));
  const bot = b !== null ? b.originalTo : null;
  if (f.originalTo !== null || bot !== null) addOriginalTo(f.originalTo, bot, headers, x.destination(st).address);
}

/** Step 7, on the final response head. */
export function analyseResponse(x: RequestExtras, fe: ProxyRuntime, headers: HeaderList): void {
  const f = fe.http;
  if (f !== null && f.resCaps !== null && x.resCaps !== null) captureHeaders(f.resCaps, headers, x.resCaps);
}

/** The page answering a REQ_MONITOR request (200): the frontend's errorfile, else HAProxy's. */
export function monitorReply(fe: ProxyRuntime): ErrorReply {
  return errorReplyFor(fe.cfg, null, 200)!;
}

/** What the log-format variables can know while the request is analysed (lf-strings of rules too). */
export function requestRecord(x: RequestExtras, fe: ProxyRuntime, be: ProxyRuntime | null, st: StreamView, txnStart: number, requestLine: string): LogRecord {
  const dst = x.destination(st);
  return {
    clientIp: x.source(st), clientPort: x.sourcePort(st),
    frontendIp: dst.address, frontendPort: dst.port,
    acceptTime: txnStart,
    frontend: fe.cfg.name,
    backend: be !== null ? be.cfg.name : fe.cfg.name,
    server: '<NOSRV>',
    tw: -1, tc: -1, tt: Date.now() - txnStart, tr: -1,
    status: -1,
    requestLine,
    bytesOut: 0,
    termState: '--',
    actconn: st.engine.actconn, feconn: fe.feconn, beconn: be !== null ? be.beconn : 0, srvConn: 0,
    retries: 0, redispatched: false, srvQueue: 0, backendQueue: 0,
    requestCounter: x.counter,
  };
}

/**
 * Completes a transaction's log record: captures (when the head was
 * analysed), `%rt`, and `%ID`, built now from the log-time values when the
 * request stopped before step 4 (HAProxy's strm_log does the same).
 */
export function logExtras(x: RequestExtras, fe: ProxyRuntime, st: StreamView, rec: LogRecord): LogRecord {
  if (x.counter >= 0) rec.requestCounter = x.counter;
  if (!x.parsed) return rec;
  if (x.reqCaps !== null) rec.reqCaptures = x.reqCaps;
  if (x.resCaps !== null) rec.resCaptures = x.resCaps;
  const f = fe.http;
  if (f !== null && f.uniqueId !== null) {
    if (x.uniqueId === undefined) {
      const dst = x.destination(st);
      x.uniqueId = renderUniqueId(f.uniqueId, { ...rec, frontendIp: dst.address, frontendPort: dst.port }, st as StreamView & SampleContext);
    }
    rec.uniqueId = x.uniqueId;
  }
  return rec;
}
