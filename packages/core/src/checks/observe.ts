/**
 * `observe layer4|layer7` (HAProxy's health_adjust()): the streams report
 * what real traffic tells about a server, the master counts consecutive
 * errors against `error-limit` and applies `on-error`
 * (master/src/checks/scheduler.ts).
 *
 * Reporting is per server and aggregated: each worker keeps, for the
 * current batch, the errors before the first success (head), the number of
 * successes, the errors after the last one (tail) and how many whole runs of
 * `error-limit` errors it saw between two successes (inner). The master
 * rebuilds the consecutive count from these as if the events were one
 * sequence, which they are per worker. A batch goes out at most every
 * FLUSH_MS, as one 'observe' message whatever the traffic.
 *
 * Which outcomes count (check.c analyze_statuses[]): a failed connection is
 * an error in both modes; a connection is a success in layer4 only; in
 * layer7, an HTTP status from 100 to 499, 501 or 505 is a success (501 and
 * 505 are triggered by the client), others, an invalid response, or a server
 * that closes or times out before responding are errors.
 */
import type { ObserveConfig } from './types';
import { OBSERVE_LAYER4 } from './types';
import type { WorkerMessage } from '../ipc/messages';

/** The slice of ServerRuntime this module reads (cfg.observe), so streams pass their server as is. */
interface Observed { readonly cfg: { readonly observe?: ObserveConfig } }

/** HANA_STATUS_* of the last error (check.c analyze_statuses[]), for the master's message. */
export const HANA_L4_ERR = 2;
export const HANA_HTTP_STS = 4;
export const HANA_HTTP_RSP = 6;
export const HANA_HTTP_BROKEN_PIPE = 9;
export const HANA_DESC: Readonly<Record<number, string>> = {
  [HANA_L4_ERR]: 'L4 unsuccessful connection',
  [HANA_HTTP_STS]: 'Wrong http response',
  [HANA_HTTP_RSP]: 'Invalid http response',
  [HANA_HTTP_BROKEN_PIPE]: 'Close from server (http)',
};

interface Tally {
  cfg: ObserveConfig;
  head: number;
  oks: number;
  tail: number;
  inner: number;
  /** HANA_* of the last error. */
  last: number;
  dirty: boolean;
}

const FLUSH_MS = 20;

const tallies = new Map<ObserveConfig, Tally>();
const dirty: Tally[] = [];
let sink: ((m: WorkerMessage) => void) | null = null;
let timer: NodeJS.Timeout | null = null;

/** The worker's channel to the master (set once at start). */
export function setObserveSink(fn: ((m: WorkerMessage) => void) | null): void {
  sink = fn;
}

function tally(o: ObserveConfig): Tally {
  let t = tallies.get(o);
  if (t === undefined) {
    t = { cfg: o, head: 0, oks: 0, tail: 0, inner: 0, last: 0, dirty: false };
    tallies.set(o, t);
  }
  if (!t.dirty) {
    t.dirty = true;
    dirty.push(t);
    if (timer === null) timer = setTimeout(flush, FLUSH_MS);
  }
  return t;
}

function error(o: ObserveConfig, kind: number): void {
  const t = tally(o);
  if (t.oks === 0) t.head++; else t.tail++;
  t.last = kind;
}

function success(o: ObserveConfig): void {
  const t = tally(o);
  if (t.oks > 0) { t.inner += Math.floor(t.tail / o.limit); t.tail = 0; }
  t.oks++;
}

/** A connection attempt to the server failed (each attempt: retries count too). */
export function observeConnectFailed(srv: Observed): void {
  const o = srv.cfg.observe;
  if (o !== undefined) error(o, HANA_L4_ERR);
}

/** The connection to the server is established. */
export function observeConnected(srv: Observed): void {
  const o = srv.cfg.observe;
  if (o !== undefined && o.mode === OBSERVE_LAYER4) success(o);
}

/** The server's final response status (layer7). */
export function observeStatus(srv: Observed, status: number): void {
  const o = srv.cfg.observe;
  if (o === undefined || o.mode === OBSERVE_LAYER4) return;
  if (status >= 100 && (status < 500 || status === 501 || status === 505)) success(o); else error(o, HANA_HTTP_STS);
}

/** An invalid response (HANA_HTTP_RSP), or the server closed before responding (HANA_HTTP_BROKEN_PIPE); layer7. */
export function observeHttpError(srv: Observed, kind: number): void {
  const o = srv.cfg.observe;
  if (o !== undefined && o.mode !== OBSERVE_LAYER4) error(o, kind);
}

/** Sends the batch: [p, s, head, oks, tail, inner, last] per server. */
export function flush(): void {
  timer = null;
  if (dirty.length === 0) return;
  const r: number[] = [];
  for (const t of dirty) {
    r.push(t.cfg.p, t.cfg.s, t.head, t.oks, t.tail, t.inner, t.last);
    t.head = t.oks = t.tail = t.inner = t.last = 0;
    t.dirty = false;
  }
  dirty.length = 0;
  sink?.({ t: 'observe', r });
}

/**
 * The master's side: the consecutive error count after a batch, and how many
 * times it reached `limit` (each time it starts again from 0, as
 * __health_adjust() resets consecutive_errors once it acted).
 */
export function applyObserved(consecutive: number, limit: number, head: number, oks: number, tail: number, inner: number): { consecutive: number; triggers: number } {
  let c = consecutive + head;
  let triggers = Math.floor(c / limit);
  c -= triggers * limit;
  if (oks > 0) {
    triggers += inner;
    c = tail;
    const t = Math.floor(c / limit);
    triggers += t;
    c -= t * limit;
  }
  return { consecutive: c, triggers };
}
