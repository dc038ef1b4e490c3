/**
 * Opening a connection to a server, shared by the TCP and HTTP streams:
 * a raw TCP handle with TCP_NODELAY, the connect request, and the connect
 * timeout. The stream is told the outcome through connectDone/connectFailed
 * with the attempt number it passed, so a late completion of an abandoned
 * attempt is recognised and ignored.
 */
import type { ServerRuntime } from './proxy-runtime';
import { type RawStream, type ConnectReq, newTcpSocket, newConnectReq, localAddress } from './raw-handle';

export interface ConnectOwner {
  connectDone(attempt: number, status: number): void;
  connectFailed(attempt: number, timedOut: boolean): void;
}

export interface ServerConnect {
  handle: RawStream;
  /** The `timeout connect` timer, null when none is set. */
  timer: NodeJS.Timeout | null;
}

const kOwner = Symbol('switchyard.connect.owner');
const kAttempt = Symbol('switchyard.connect.attempt');

/**
 * Connect to `srv` (to the port the client connected to when the server has
 * none). An immediate error is reported on the next tick, like a late one.
 */
export function connectToServer(srv: ServerRuntime, client: RawStream, owner: ConnectOwner, attempt: number, timeoutMs: number): ServerConnect {
  const cfg = srv.cfg;
  srv.counters.connect++;
  const h = newTcpSocket();
  h.setNoDelay?.(true);
  const req = newConnectReq();
  req.oncomplete = onConnect;
  req[kOwner] = owner;
  req[kAttempt] = attempt;
  const port = cfg.port || localAddress(client).port;
  const err = cfg.family === 6 ? h.connect6!(req, cfg.ip, port) : h.connect!(req, cfg.ip, port);
  if (err) {
    process.nextTick(connectFailedNT, owner, attempt);
    return { handle: h, timer: null };
  }
  return { handle: h, timer: timeoutMs > 0 ? setTimeout(onConnectTimeout, timeoutMs, owner, attempt) : null };
}

function onConnect(this: ConnectReq, status: number): void {
  (this[kOwner] as ConnectOwner).connectDone(this[kAttempt] as number, status);
}

function connectFailedNT(owner: ConnectOwner, attempt: number): void { owner.connectFailed(attempt, false); }
function onConnectTimeout(owner: ConnectOwner, attempt: number): void { owner.connectFailed(attempt, true); }
