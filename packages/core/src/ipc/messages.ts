/**
 * Master ↔ worker messages. They travel as msgpack frames (msgpackr) over the
 * node:cluster IPC channel, several per frame: Channel batches everything sent
 * in one event-loop turn into one frame, which is what keeps health-state and
 * stick-table storms cheap (see bench/ipc.mjs for the measured rate).
 * Listening sockets cannot be msgpack'd: they go as separate IPC messages
 * carrying the handle (HandleMessage).
 */
import type { CompiledConfig } from '../config/compiled';
import type { ServerRuntimeState, ServerStateTable } from '../proxy/server-state';
import type { WorkerStats } from '../stats/counters';

export type MasterMessage =
  /** The whole configuration; the worker starts once it also has every listener's handle. */
  | { t: 'config'; gen: number; cfg: CompiledConfig; workerIndex: number; workerCount: number; masterPid: number; states: ServerStateTable }
  /** One server's runtime state changed (admin command, health check). */
  | { t: 'srv'; p: number; s: number; st: ServerRuntimeState }
  /**
   * Close every stream using this server now, logged with termination cause
   * `why`: 'D' on-marked-down shutdown-sessions, 'U' on-marked-up
   * shutdown-backup-sessions, 'K' `shutdown sessions server`.
   */
  | { t: 'srv-shutdown'; p: number; s: number; why: 'D' | 'U' | 'K' }
  /** Credits of a server's node-wide maxconn granted (share: the worker's starting share, not an answer to its requests), and the most this worker may keep now (-1: no cap) (backend/queue.ts). */
  | { t: 'slot'; p: number; s: number; grant: number; cap: number; share?: boolean }
  /** Counts of the other workers: [proxy, server (-1: the backend), connections, queued]... (engine/node-sync.ts). */
  | { t: 'load'; v: number[] }
  | { t: 'stats-req'; id: number }
  /** Stop accepting; exit once in-flight connections are done (graceful) or now. */
  | { t: 'stop'; graceful: boolean; hardStopAfter: number };

export type WorkerMessage =
  /** Every listener is listening. */
  | { t: 'ready'; gen: number }
  | { t: 'stats-res'; id: number; stats: WorkerStats }
  /** n more credits of a server's maxconn wanted (n < 0: waiters left before getting theirs). */
  | { t: 'slot-want'; p: number; s: number; n: number }
  /** n credits of a server's maxconn go back to the master. */
  | { t: 'slot-give'; p: number; s: number; n: number }
  /** This worker's counts that changed: [proxy, server (-1: backend), connections, queued]... */
  | { t: 'load'; v: number[] }
  /** A listener could not listen (e.g. an inherited fd that is not a socket). */
  | { t: 'listen-error'; key: string; error: string }
  /** The worker paused a listener at maxconn and wants its handle again. */
  | { t: 'need-listener'; key: string }
  /** A log line for the master's own logger (lifecycle events, not traffic). */
  | { t: 'log'; level: 'info' | 'warn' | 'error'; msg: string }
  /**
   * `observe`: outcomes of real traffic per server since the last report,
   * flat [p, s, head, oks, tail, inner, last]* (checks/observe.ts).
   */
  | { t: 'observe'; r: number[] };

/** Sent with a listening handle attached (not msgpack). */
export interface HandleMessage {
  sy: 'listener';
  key: string;
  gen: number;
}

export function isHandleMessage(m: unknown): m is HandleMessage {
  return typeof m === 'object' && m !== null && (m as HandleMessage).sy === 'listener';
}
