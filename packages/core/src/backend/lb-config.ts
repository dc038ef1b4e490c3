/**
 * The load-balancing settings of a backend as the configuration gives them
 * (`balance`, `hash-type`, `hash-balance-factor`, `option allbackups`;
 * parsed by backend/balance-keywords.ts), part of the CompiledConfig the
 * workers get: a plain msgpack-safe object. No runtime dependency, so the
 * config, the master and the stats can use it.
 */
export type BalanceAlgo =
  | 'roundrobin' | 'static-rr' | 'leastconn' | 'first' | 'random'
  | 'source' | 'uri' | 'url_param' | 'hdr' | 'rdp-cookie' | 'hash';

export type HashFunctionName = 'sdbm' | 'djb2' | 'wt6' | 'crc32';

/** `balance`, `hash-type`, `hash-balance-factor` and `option allbackups` of a backend, as parsed (plain, msgpack-safe). */
export interface BalanceConfig {
  algo: BalanceAlgo;
  /**
   * url_param: the parameter name; hdr: the header name (lower-cased);
   * rdp-cookie: the cookie name; hash: the sample expression's text.
   */
  arg: string;
  /** uri: `whole` (hash the query string too), `path-only`, `len <n>`, `depth <n>` (0 = none). */
  uriWhole: boolean;
  uriPathOnly: boolean;
  uriLen: number;
  uriDepth: number;
  /** url_param: `check_post`, look in a buffered POST body when the query string lacks the parameter. */
  checkPost: boolean;
  /** hdr(): `use_domain_only`. */
  domainOnly: boolean;
  /** random(<draws>): servers drawn, the least loaded wins (default 2). */
  draws: number;
  hashType: 'map-based' | 'consistent';
  hashFunction: HashFunctionName;
  avalanche: boolean;
  /** `hash-balance-factor` in percent; 0 = off. */
  balanceFactor: number;
  /** `option allbackups`. */
  allBackups: boolean;
  /** Where `balance` was set (errors found after parsing, e.g. the `hash` expression); '' = built-in default. */
  file: string;
  line: number;
}

export function newBalanceConfig(): BalanceConfig {
  return {
    algo: 'roundrobin', arg: '',
    uriWhole: false, uriPathOnly: false, uriLen: 0, uriDepth: 0,
    checkPost: false, domainOnly: false, draws: 2,
    hashType: 'map-based', hashFunction: 'sdbm', avalanche: false,
    balanceFactor: 0, allBackups: false, file: '', line: 0,
  };
}

/** Algorithms that hash a request key (HAProxy's BE_LB_KIND_HI). */
export function isHashAlgo(algo: BalanceAlgo): boolean {
  return algo === 'source' || algo === 'uri' || algo === 'url_param' || algo === 'hdr' || algo === 'rdp-cookie' || algo === 'hash';
}

/** Algorithms that need an HTTP request (BE_LB_NEED_HTTP): outside mode http they become roundrobin. */
export function needsHttp(algo: BalanceAlgo): boolean {
  return algo === 'uri' || algo === 'url_param' || algo === 'hdr';
}

/**
 * Static algorithms ignore weight changes while a server is up (HAProxy's
 * algorithms without BE_LB_PROP_DYN): static-rr and map-based hashing. The
 * runtime API then only accepts weights 0% and 100%.
 */
export function isStaticBalance(b: BalanceConfig): boolean {
  return b.algo === 'static-rr' || (isHashAlgo(b.algo) && b.hashType === 'map-based');
}
