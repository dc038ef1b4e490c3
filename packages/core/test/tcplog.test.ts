/*
 * The tcplog line. The two expected lines were logged by haproxy 2.6.12 for
 * one TCP connection to an `option tcplog` frontend (see syslog.test.ts for
 * how they were captured): once with TZ=UTC and a refused server connection
 * (retry counted), once with TZ=America/St_Johns and no server up (<NOSRV>).
 */
import { formatTcpLog } from './tcplog-oracle';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatAcceptDate, LOG_LEVELS, LOG_FACILITIES, logLevelNumber, logFacilityNumber,
  type StreamLogRecord,
} from '../src/log/tcplog';

function rec(over: Partial<StreamLogRecord>): StreamLogRecord {
  return {
    clientIp: '127.0.0.1', clientPort: 1, acceptTime: 0, frontend: 'fe', backend: 'be', server: 's1',
    tw: 0, tc: 0, tt: 0, bytesOut: 0, termState: '--', actconn: 0, feconn: 0, beconn: 0, srvConn: 0,
    retries: 0, redispatched: false, srvQueue: 0, backendQueue: 0, ...over,
  };
}

test('matches haproxy 2.6.12: server reached after a retry (UTC)', () => {
  process.env.TZ = 'UTC';
  const line = formatTcpLog(rec({
    clientPort: 52102, acceptTime: Date.parse('2026-11-24T17:57:10.146Z'),
    tw: 1, tc: -1, tt: 0, termState: '--', actconn: 1, feconn: 1, retries: 1,
  }));
  assert.equal(line, '127.0.0.1:52102 [24/Nov/2026:17:57:10.146] fe be/s1 1/-1/0 0 -- 1/1/0/0/1 0/0');
});

test('matches haproxy 2.6.12: no server (<NOSRV>, SC), local time -03:30', () => {
  process.env.TZ = 'America/St_Johns';
  const line = formatTcpLog(rec({
    clientPort: 43748, acceptTime: Date.parse('2026-11-24T14:26:40.050-03:30'), server: '<NOSRV>',
    tw: -1, tc: -1, tt: 0, termState: 'SC', actconn: 1, feconn: 1,
  }));
  assert.equal(line, '127.0.0.1:43748 [24/Nov/2026:14:26:40.050] fe be/<NOSRV> -1/-1/0 0 SC 1/1/0/0/0 0/0');
});

test('redispatch prefixes the retry count with +; IPv6 client printed bare', () => {
  process.env.TZ = 'UTC';
  const line = formatTcpLog(rec({
    clientIp: '::1', clientPort: 40000, acceptTime: Date.parse('2009-02-06T12:12:51.443Z'),
    backend: 'bck', server: 'srv1', frontend: 'fnt', tw: 0, tc: 0, tt: 5007, bytesOut: 212,
    retries: 3, redispatched: true, actconn: 10, feconn: 9, beconn: 8, srvConn: 7, srvQueue: 2, backendQueue: 4,
  }));
  assert.equal(line, '::1:40000 [06/Feb/2009:12:12:51.443] fnt bck/srv1 0/0/5007 212 -- 10/9/8/7/+3 2/4');
});

test('accept date: zero padding, millisecond rollover, second cache', () => {
  process.env.TZ = 'UTC';
  assert.equal(formatAcceptDate(Date.parse('2026-01-02T03:04:05.007Z')), '02/Jan/2026:03:04:05.007');
  assert.equal(formatAcceptDate(Date.parse('2026-01-02T03:04:05.999Z')), '02/Jan/2026:03:04:05.999');
  assert.equal(formatAcceptDate(Date.parse('2026-01-02T03:04:06.000Z')), '02/Jan/2026:03:04:06.000');
  assert.equal(formatAcceptDate(Date.parse('2026-12-31T23:59:59.050Z')), '31/Dec/2026:23:59:59.050');
});

test('levels and facilities use HAProxy numbering', () => {
  assert.equal(LOG_LEVELS.length, 8);
  assert.equal(LOG_FACILITIES.length, 24);
  assert.equal(logLevelNumber('emerg'), 0);
  assert.equal(logLevelNumber('info'), 6);
  assert.equal(logLevelNumber('debug'), 7);
  assert.equal(logLevelNumber('error'), -1);
  assert.equal(logFacilityNumber('kern'), 0);
  assert.equal(logFacilityNumber('daemon'), 3);
  assert.equal(logFacilityNumber('local0'), 16);
  assert.equal(logFacilityNumber('local7'), 23);
  assert.equal(logFacilityNumber('local8'), -1);
});
