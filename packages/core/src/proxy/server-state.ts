/**
 * Runtime state of a server, owned by the master (admin commands, health
 * checks) and replicated to every worker. The encodings are HAProxy's so that
 * `show servers state` and server-state files read the same.
 */

/** HAProxy SRV_ADMF_* admin flags (include/haproxy/server-t.h). */
export const ADMF_FMAINT = 0x01; // forced maintenance (CLI)
export const ADMF_IMAINT = 0x02; // inherited maintenance (tracked server)
export const ADMF_CMAINT = 0x04; // configured maintenance (`disabled`)
export const ADMF_FDRAIN = 0x08; // forced drain (CLI)
export const ADMF_IDRAIN = 0x10; // inherited drain
export const ADMF_RMAINT = 0x20; // maintenance because of DNS resolution
export const ADMF_HMAINT = 0x40; // maintenance because of `set server ... addr`
/** HAProxy's SRV_ADMF_MAINT mask (0x23): CMAINT only records that the configuration said `disabled`. */
export const ADMF_MAINT = ADMF_FMAINT | ADMF_IMAINT | ADMF_RMAINT;
export const ADMF_DRAIN = ADMF_FDRAIN | ADMF_IDRAIN;

/** HAProxy SRV_ST_* operational states. */
export const SRV_ST_STOPPED = 0;
export const SRV_ST_STARTING = 1;
export const SRV_ST_RUNNING = 2;
export const SRV_ST_STOPPING = 3;

export interface ServerRuntimeState {
  /** Bitfield of ADMF_* flags. */
  admin: number;
  /** SRV_ST_* */
  op: number;
  /** Current user weight (0..256), `set server weight` changes it. */
  uweight: number;
  /** Initial weight from the configuration. */
  iweight: number;
  /** Unix ms of the last state change. */
  lastChange: number;
}

/** A server is eligible for new traffic from the load balancer. */
/** Up and not in maintenance, whatever its weight (use-server may pick a weight-0 server). */
export function serverUp(s: ServerRuntimeState): boolean {
  return (s.admin & ADMF_MAINT) === 0 && s.op !== SRV_ST_STOPPED;
}

export function serverUsable(s: ServerRuntimeState): boolean {
  // NOLB (stopping: disable-on-404, `set server health stopping`) takes no new traffic either.
  return (s.admin & (ADMF_MAINT | ADMF_DRAIN)) === 0 && s.op !== SRV_ST_STOPPED && s.op !== SRV_ST_STOPPING && s.uweight > 0;
}

/** Master → worker: the whole state table, indexed [proxyIndex][serverIndex]. */
export type ServerStateTable = ServerRuntimeState[][];
