/**
 * Traffic counters kept by each worker and summed by the master for
 * `show stat`, the stats page and Prometheus. Field names are HAProxy's
 * stat column names (doc/management.txt, "9.1. CSV format") so that the
 * formatter maps them one to one. Plain objects: they cross IPC as msgpack.
 */

/**
 * HTTP counters shared by frontends, backends and servers: `req_tot` and
 * the `hrsp_*` columns (responses by status class).
 */
export interface HttpCounters {
  reqTot: number;
  hrsp1xx: number;
  hrsp2xx: number;
  hrsp3xx: number;
  hrsp4xx: number;
  hrsp5xx: number;
  hrspOther: number;
}

export interface FrontendCounters extends HttpCounters {
  scur: number;
  smax: number;
  stot: number;
  bin: number;
  bout: number;
  dreq: number;
  dresp: number;
  ereq: number;
  /** Connections accepted (conn_tot). */
  connTot: number;
  /** Denied connections by tcp-request connection rules. */
  dcon: number;
  dses: number;
}

export interface BackendCounters extends HttpCounters {
  /** Requests waiting in the queue now, and the most ever (qcur, qmax). */
  qcur: number;
  qmax: number;
  scur: number;
  smax: number;
  stot: number;
  bin: number;
  bout: number;
  dreq: number;
  dresp: number;
  econ: number;
  eresp: number;
  wretr: number;
  wredis: number;
  /** Times a server was selected by the load balancer. */
  lbtot: number;
  cliAbrt: number;
  srvAbrt: number;
  connTot: number;
  /** Unix ms of the last session, 0 if none. */
  lastSess: number;
}

export interface ServerCounters extends HttpCounters {
  /** Requests waiting in the queue now, and the most ever (qcur, qmax). */
  qcur: number;
  qmax: number;
  scur: number;
  smax: number;
  stot: number;
  bin: number;
  bout: number;
  econ: number;
  eresp: number;
  wretr: number;
  wredis: number;
  lbtot: number;
  cliAbrt: number;
  srvAbrt: number;
  connect: number;
  lastSess: number;
}

/** Count a response status in its hrsp_* column (HAProxy: 1xx..5xx, anything else "other"). */
export function countStatus(c: HttpCounters, status: number): void {
  if (status < 100) return;
  switch ((status / 100) | 0) {
    case 1: c.hrsp1xx++; break;
    case 2: c.hrsp2xx++; break;
    case 3: c.hrsp3xx++; break;
    case 4: c.hrsp4xx++; break;
    case 5: c.hrsp5xx++; break;
    default: c.hrspOther++;
  }
}

export function newFrontendCounters(): FrontendCounters {
  return { reqTot: 0, hrsp1xx: 0, hrsp2xx: 0, hrsp3xx: 0, hrsp4xx: 0, hrsp5xx: 0, hrspOther: 0, scur: 0, smax: 0, stot: 0, bin: 0, bout: 0, dreq: 0, dresp: 0, ereq: 0, connTot: 0, dcon: 0, dses: 0 };
}

export function newBackendCounters(): BackendCounters {
  return { reqTot: 0, hrsp1xx: 0, hrsp2xx: 0, hrsp3xx: 0, hrsp4xx: 0, hrsp5xx: 0, hrspOther: 0, scur: 0, smax: 0, stot: 0, bin: 0, bout: 0, dreq: 0, dresp: 0, econ: 0, eresp: 0, wretr: 0, wredis: 0, lbtot: 0, cliAbrt: 0, srvAbrt: 0, connTot: 0, lastSess: 0, qcur: 0, qmax: 0 };
}

export function newServerCounters(): ServerCounters {
  return { reqTot: 0, hrsp1xx: 0, hrsp2xx: 0, hrsp3xx: 0, hrsp4xx: 0, hrsp5xx: 0, hrspOther: 0, scur: 0, smax: 0, stot: 0, bin: 0, bout: 0, econ: 0, eresp: 0, wretr: 0, wredis: 0, lbtot: 0, cliAbrt: 0, srvAbrt: 0, connect: 0, lastSess: 0, qcur: 0, qmax: 0 };
}

/** One proxy's counters from one worker. */
export interface ProxyStats {
  name: string;
  fe: FrontendCounters | null;
  be: BackendCounters | null;
  /** Indexed like ProxyConfig.servers. */
  servers: ServerCounters[];
}

/** What a worker answers to a stats request. */
export interface WorkerStats {
  pid: number;
  /** Worker's start time, unix ms. */
  startedAt: number;
  /** Current connections handled by the worker (CurrConns). */
  currConns: number;
  cumConns: number;
  maxConnReached: number;
  /** Indexed like CompiledConfig.proxies. */
  proxies: ProxyStats[];
}
