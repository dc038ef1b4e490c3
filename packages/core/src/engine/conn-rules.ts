/**
 * `tcp-request connection` rules, run at accept before anything else (TLS
 * handshake, PROXY header, stream): only the connection's addresses and
 * internal state can be fetched (HAProxy's SMP_VAL_FE_CON_ACC). A reject
 * closes the socket at once, counted in the frontend's denied connections
 * (`dcon`) and not logged, as HAProxy does.
 */
import type { ProxyRuntime, ServerRuntime } from './proxy-runtime';
import { type RawStream, peerAddress, localAddress } from './raw-handle';
import { runRules, ACT_CONTINUE, ACT_STOP, ACT_ABORT, type RuleHost } from '../rules/rule-set';
import type { VarScopes, TlsView } from '../rules/sample';
import { EMPTY_LOG_RECORD, type LogRecord } from '../log/log-format';

class ConnectionHost implements RuleHost {
  reply: unknown = null;
  readonly be: ProxyRuntime | null = null;
  readonly srv: ServerRuntime | null = null;
  readonly httpReq = null;
  readonly httpRes = null;
  readonly status = -1;
  readonly reqFinal = true;
  /** Only the session scope exists here; what is set is lost with this object (no session yet). */
  readonly vars: VarScopes = { sess: null, txn: null, req: null, res: null };
  private src: { address: string; port: number } | null = null;
  private dst: { address: string; port: number } | null = null;

  constructor(readonly fe: ProxyRuntime, readonly engine: RuleHost['engine'], private readonly h: RawStream) {}

  srcIp(): string { return (this.src ??= peerAddress(this.h)).address; }
  srcPort(): number { return (this.src ??= peerAddress(this.h)).port; }
  dstIp(): string { return (this.dst ??= localAddress(this.h)).address; }
  dstPort(): number { return (this.dst ??= localAddress(this.h)).port; }
  reqPayload(): Buffer | null { return null; }
  resPayload(): Buffer | null { return null; }
  tlsView(): TlsView | null { return null; }
  reqBody(): Buffer | null { return null; }
  logRecord(): LogRecord {
    return { ...EMPTY_LOG_RECORD, clientIp: this.srcIp(), clientPort: this.srcPort(), frontendIp: this.dstIp(), frontendPort: this.dstPort(), acceptTime: Date.now(), frontend: this.fe.cfg.name };
  }
}

/** Runs the frontend's tcp-request connection rules; false when the connection was closed. */
export function acceptConnection(fe: ProxyRuntime, engine: RuleHost['engine'], h: RawStream): boolean {
  const v = runRules(fe.rules!.tcpReqConn, new ConnectionHost(fe, engine, h), true);
  if (v === ACT_CONTINUE || v === ACT_STOP) return true;
  fe.fe!.dcon++;
  if (v === ACT_ABORT && h.reset) h.reset();
  else h.close();
  return false;
}

/**
 * `tcp-request session` rules, once the session exists (after the TLS
 * handshake and the PROXY header, before any stream processing). False when
 * a rule rejected it: the caller closes without a log line, counted in the
 * frontend's denied sessions (`dses`), as HAProxy does.
 */
export function acceptSession(host: RuleHost): boolean {
  const fe = host.fe;
  const v = runRules(fe.rules!.tcpReqSess, host, true);
  if (v === ACT_CONTINUE || v === ACT_STOP) return true;
  fe.fe!.dses++;
  return false;
}
