/**
 * HAProxy's tcplog line written out by hand: the reference the log-format
 * compiler's TCPLOG_FORMAT rendering is checked against (production code
 * renders tcplog through log-format.ts).
 */
import { formatAcceptDate, type StreamLogRecord } from '../src/log/tcplog';

export function formatTcpLog(r: StreamLogRecord): string {
  return r.clientIp + ':' + r.clientPort +
    ' [' + formatAcceptDate(r.acceptTime) + '] ' +
    r.frontend + ' ' + r.backend + '/' + r.server + ' ' +
    r.tw + '/' + r.tc + '/' + r.tt + ' ' +
    r.bytesOut + ' ' + r.termState + ' ' +
    r.actconn + '/' + r.feconn + '/' + r.beconn + '/' + r.srvConn + '/' +
    (r.redispatched ? '+' : '') + r.retries + ' ' +
    r.srvQueue + '/' + r.backendQueue;
}
