/**
 * HAProxy's `option tcplog` line (configuration.txt 8.2.2), which HAProxy
 * declares as the custom format
 *   %ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq
 * plus the syslog level and facility names every log module shares.
 */
import { MONTHS, pad2, pad3 } from './date-parts';

/** Syslog severities in HAProxy's order: the index is the number (8.1, RFC 5424 6.2.1). */
export const LOG_LEVELS = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

/** HAProxy's 24 facilities; the index is the number (local0 = 16). */
export const LOG_FACILITIES = [
  'kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news',
  'uucp', 'cron', 'auth2', 'ftp', 'ntp', 'audit', 'alert', 'cron2',
  'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7',
] as const;
export type LogFacilityName = (typeof LOG_FACILITIES)[number];

export const LOG_EMERG = 0;
export const LOG_ALERT = 1;
export const LOG_CRIT = 2;
export const LOG_ERR = 3;
export const LOG_WARNING = 4;
export const LOG_NOTICE = 5;
export const LOG_INFO = 6;
export const LOG_DEBUG = 7;

/** Level number for a name, or -1 (HAProxy's get_log_level). */
export function logLevelNumber(name: string): number {
  return (LOG_LEVELS as readonly string[]).indexOf(name);
}

/** Facility number for a name, or -1 (HAProxy's get_log_facility). */
export function logFacilityNumber(name: string): number {
  return (LOG_FACILITIES as readonly string[]).indexOf(name);
}

export interface StreamLogRecord {
  clientIp: string;
  clientPort: number;
  /** Accept date, ms since the epoch. */
  acceptTime: number;
  frontend: string;
  backend: string;
  /** '<NOSRV>' if the stream never reached a server. */
  server: string;
  /** Timers in ms; -1 = that step was never reached (printed as -1). */
  tw: number;
  tc: number;
  tt: number;
  /** %B: bytes sent to the client. */
  bytesOut: number;
  /** Two termination-state characters (8.5), e.g. `--`, `SC`, `cD`. */
  termState: string;
  actconn: number;
  feconn: number;
  beconn: number;
  srvConn: number;
  retries: number;
  /** A redispatch happened: HAProxy prefixes %rc with '+'. */
  redispatched: boolean;
  srvQueue: number;
  backendQueue: number;
}


/*
 * %t is `dd/Mmm/yyyy:HH:MM:SS.mmm` in local time. Streams accepted within the
 * same second share the formatted prefix, so the Date work is done once a
 * second, not once a line.
 */
let cachedSec = NaN;
let cachedPrefix = '';

/** `24/Nov/2026:14:22:31.` for the second holding `ms`. */
function acceptDatePrefix(ms: number): string {
  const sec = Math.floor(ms / 1000);
  if (sec !== cachedSec) {
    const d = new Date(sec * 1000);
    cachedPrefix = pad2(d.getDate()) + '/' + MONTHS[d.getMonth()] + '/' + d.getFullYear() + ':' +
      pad2(d.getHours()) + ':' + pad2(d.getMinutes()) + ':' + pad2(d.getSeconds()) + '.';
    cachedSec = sec;
  }
  return cachedPrefix;
}

/** HAProxy's `%t`: `dd/Mmm/yyyy:HH:MM:SS.mmm`, local time. */
export function formatAcceptDate(ms: number): string {
  return acceptDatePrefix(ms) + pad3(((ms % 1000) + 1000) % 1000);
}

