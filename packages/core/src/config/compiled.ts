/**
 * The compiled configuration: a plain, msgpack-safe object (no classes, no
 * functions, no Maps). The master builds it once per (re)load; it is all a
 * worker ever gets. Fields use HAProxy's words.
 */
import type { H1Limits } from '../http/h1';
import type { SslBindConf } from '../tls/crt-list';
import type { CompiledCertEntry } from '../tls/cert-store';
import type { BalanceConfig } from '../backend/lb-config';
import type { CheckRuleSet, ObserveConfig, ProxyCheckSource, ServerCheckOptions, ServerChecks } from '../checks/types';

/** Where a listener (or the runtime API) is bound. */
export type ListenAddress =
  | { kind: 'tcp'; host: string; port: number; family: 4 | 6 }
  | { kind: 'unix'; path: string; mode?: number; uid?: number; gid?: number }
  | { kind: 'fd'; fd: number };

export interface SourceRef {
  file: string;
  line: number;
}

/** Options of one `bind` line; bind keywords registered by features fill it. */
export interface BindOptions {
  name?: string;
  /** listen(2) backlog; default: the frontend's maxconn. */
  backlog?: number;
  /** Per-listener maxconn (0 = frontend's). */
  maxconn?: number;
  /** UNIX socket file mode/owner. */
  mode?: number;
  uid?: number;
  gid?: number;
  v6only?: boolean;
  /** `accept-proxy`: every connection starts with a PROXY protocol header (engine/proxy-protocol.ts). */
  acceptProxy?: boolean;
  /** `ssl` with `crt` / `crt-list` (tls/bind-ssl.ts): TLS is terminated here. */
  ssl?: boolean;
  crts?: Array<{ kind: 'crt' | 'crt-list'; path: string }>;
  /** The bind line's SSL options (alpn, ciphers, ssl-min-ver, verify, ca-file…). */
  sslConf?: SslBindConf;
  strictSni?: boolean;
  /** The certificates, loaded and checked by the master at compile. */
  tlsCerts?: CompiledCertEntry[];
  /** Session-ticket keys shared by every worker (tls/bind-ssl.ts). */
  tlsTicketKeys?: Uint8Array;
  /** `tls-ticket-keys <file>`: the keys come from this file (read by the master at load and reload). */
  tlsTicketKeysFile?: string;
}

export interface BindConfig extends SourceRef {
  /** One address per port of a range. */
  addresses: ListenAddress[];
  options: BindOptions;
}

export interface ListenerConfig extends SourceRef {
  /** Stable identity across reloads: the same key keeps the same socket. */
  key: string;
  address: ListenAddress;
  /** Index of the owning frontend (or listen) proxy in CompiledConfig.proxies. */
  proxy: number;
  options: BindOptions;
}

export type LogFormatKind = 'rfc3164' | 'rfc5424' | 'raw' | 'short' | 'timed' | 'iso' | 'priority' | 'local';

export type LogTargetAddress =
  | { kind: 'stdout' }
  | { kind: 'stderr' }
  | { kind: 'fd'; fd: number }
  | { kind: 'file'; path: string }
  | { kind: 'udp'; host: string; port: number; family: 4 | 6 }
  | { kind: 'unix-dgram'; path: string };

export interface LogTarget extends SourceRef {
  address: LogTargetAddress;
  /** Maximum line length (HAProxy `len`, default 1024). */
  maxLen: number;
  format: LogFormatKind;
  /** Syslog facility number (local0 = 16). */
  facility: number;
  /** Highest severity number that is sent (0 emerg .. 7 debug). */
  level: number;
  /** Lowest severity number a line is raised to. */
  minLevel: number;
}

export interface Timeouts {
  /** All in milliseconds; 0 means unset. */
  connect: number;
  client: number;
  server: number;
  clientFin: number;
  serverFin: number;
  tunnel: number;
  /** `timeout tarpit` (0: timeout connect). */
  tarpit: number;
  queue: number;
  httpRequest: number;
  httpKeepAlive: number;
  check: number;
}

/** Server options (the part `default-server` can preset). */
export interface ServerOptions {
  weight: number;
  maxconn: number;
  backup: boolean;
  disabled: boolean;
  /** `pool-max-conn`: idle connections kept per worker (-1 unlimited, the default; 0 none). */
  poolMaxConn: number;
  /** `pool-purge-delay` in ms (default 5000; 0 keeps none). */
  poolPurgeDelay: number;
  /** `send-proxy` / `send-proxy-v2`: a PROXY header opens each connection (v2 wins when both are set). */
  sendProxy?: boolean;
  sendProxyV2?: boolean;
  /** `proxy-v2-options`: PP2_OPT_* bits of engine/proxy-protocol.ts. */
  proxyV2Options?: number;
  /** `cookie <value>` (http/cookie-persist.ts); the dynamic one when `cookie ... dynamic` derived it. */
  cookie?: string;
  /** `ssl` and its options as written (tls/server-ssl.ts). */
  ssl?: boolean;
  sslVerify?: 'none' | 'required';
  sslCaFile?: string;
  sslCrt?: string;
  sslSni?: string;
  /** `sni <expr>` other than a constant: evaluated per connection. */
  sslSniExpr?: string;
  sslVerifyHost?: string;
  sslAlpn?: string[];
  sslCiphers?: string;
  sslCiphersuites?: string;
  sslMinVer?: string;
  sslMaxVer?: string;
  /** What the worker needs for TLS to this server, read and checked by the master. */
  tls?: ServerTlsConfig;
  /** `minconn` (backend/queue-keywords.ts): the dynamic limit's floor under `fullconn`; 0 = maxconn. */
  minconn?: number;
  /** `maxqueue`: requests waiting for this server beyond which others go elsewhere or get a 503 (0 = no limit). */
  maxqueue?: number;
  /** `slowstart` in ms: weight and maxconn ramp up this long after the server comes back. */
  slowstart?: number;
  /** Health-check keywords as written (checks/keywords.ts). */
  checkOpts?: ServerCheckOptions;
}

export interface ServerConfig extends SourceRef, ServerOptions {
  name: string;
  /** HAProxy's server id (`sid` in show stat), unique in its backend. */
  id: number;
  /** Address as written, for show servers state / logs. */
  addrText: string;
  /** Host name or IP as written; `ip` holds the resolved address. */
  host: string;
  ip: string;
  /** 0: use the port the client connected to. */
  port: number;
  family: 4 | 6;
  /** Forced by the `id` keyword. */
  forcedId: boolean;
  /** Health and agent checks, compiled (checks/keywords.ts); run by the master. */
  checks?: ServerChecks;
  /** `observe layer4|layer7`: what workers report of real traffic (checks/observe.ts). */
  observe?: ObserveConfig;
}

export interface ProxyConfig extends SourceRef {
  name: string;
  /** HAProxy's proxy id (`iid` in show stat). */
  id: number;
  forcedId: boolean;
  /** What the section can do: listen = both. */
  cap: { fe: boolean; be: boolean };
  mode: 'tcp' | 'http';
  disabled: boolean;
  /** Frontend maxconn (0 = inherit global). */
  maxconn: number;
  timeouts: Timeouts;
  binds: BindConfig[];
  defaultBackend: string | null;
  /** `use_backend` lines in order (rules/rule-set.ts). */
  useBackends: SwitchSource[];
  /** `use-server` lines in order (backends; rules/rule-set.ts). */
  useServers: UseServerSource[];
  /** `acl` lines, in order, the inherited defaults' first (rules/acl.ts). */
  acls: AclSource[];
  /** tcp-request/tcp-response/http-request/http-response/http-after-response lines, in order (rules/rule-set.ts). */
  rules: RuleSource[];
  /** `tcp-request inspect-delay` / `tcp-response inspect-delay` in ms (0: none). */
  inspectDelay: number;
  resInspectDelay: number;
  servers: ServerConfig[];
  /** `default-server` settings, applied to the servers declared after it. */
  defaultServer: ServerOptions;
  /** `balance`, `hash-type`, `hash-balance-factor`, `option allbackups` (backend/lb-config.ts). */
  balance: BalanceConfig;
  retries: number;
  /** `option redispatch [<interval>]`: redispatch on every Nth retry (N > 0) or the Nth before the last (N < 0); 0 = off. */
  redispatch: number;
  /** `retry-on`: RETRY_* bits (backend/retry.ts). */
  retryOn: number;
  /** `fullconn` (0: not set, computed from the frontends that use the backend). */
  fullconn: number;
  /** `log global` was given. */
  logGlobal: boolean;
  /** Proxy-level log targets (`log <target>` in the proxy). */
  logTargets: LogTarget[];
  /** Log format source (`log-format`, `option httplog [clf]`; `option tcplog` once finalized), null = none. Workers compile it. */
  logFormat: string | null;
  options: ProxyOptions;
  /**
   * `errorfile` pages per status, validated and normalised at parse time
   * (http/errors.ts), as latin1 strings; '' = send nothing (/dev/null).
   */
  errorFiles: Record<number, string>;
  /**
   * `http-error status <code>` pages built per request (lf-string, lf-file,
   * hdr values with %-variables), by status, as written (http/http-errors.ts;
   * compiled with the proxy's rules). A status is in errorFiles or here,
   * never both: the last keyword for a status wins. Absent when none.
   */
  errorReplies?: Record<number, ErrorReplySource>;
  /** `option forwardfor` (http/forwarding.ts), null when not set. */
  forwardFor: ForwardHeaderConfig | null;
  /** `option originalto` (http/forwarding.ts), null when not set. */
  originalTo: ForwardHeaderConfig | null;
  /** `option http-restrict-req-hdr-names` (http/restrict-hdr-names.ts). */
  restrictReqHdrNames: 'preserve' | 'delete' | 'reject';
  /** `monitor-uri` (http/monitor-uri.ts), null when none; frontends only. */
  monitorUri: string | null;
  /** `unique-id-format` source (http/unique-id.ts; checked at parse, compiled by the worker), null when none. */
  uniqueIdFormat: string | null;
  /** `unique-id-header`, null when none. */
  uniqueIdHeader: string | null;
  /** `capture request header` / `capture response header` (http/captures.ts), in declaration order. */
  reqCaptures: CaptureConfig[];
  resCaptures: CaptureConfig[];
  /**
   * `dispatch <addr>` (proxy/dispatch.ts): where a backend without servers
   * sends its connections, as a server HAProxy logs as `<NOSRV>`; null when none.
   */
  dispatch: ServerConfig | null;
  /** `cookie <name> ...` (http/cookie-persist.ts), null/absent when none. */
  cookie?: CookieConfig | null;
  /** `dynamic-cookie-key`. */
  dynamicCookieKey?: string;
  /** `force-persist` / `ignore-persist` lines in order (backends). */
  persistRules?: PersistRuleSource[];
  /** Check keywords being parsed (checks/keywords.ts); inherited from defaults. */
  checkSrc?: ProxyCheckSource;
  /** The tcp-check / http-check ruleset of the backend's health checks, compiled. */
  checkRules?: CheckRuleSet;
}

/** `cookie <name> [options]` of a backend, as parsed (http/cookie-persist.ts). */
export interface CookieConfig extends SourceRef {
  name: string;
  /** CK_* bits of http/cookie-persist.ts (HAProxy's PR_CK_*). */
  opts: number;
  /** `domain` values in order. */
  domains: string[];
  /** `maxidle` / `maxlife` in seconds (0: none). */
  maxIdle: number;
  maxLife: number;
  /** `attr` values in order. */
  attrs: string[];
}

/** `force-persist|ignore-persist { if | unless } <cond>` as written. */
export interface PersistRuleSource extends SourceRef {
  force: boolean;
  /** From 'if'/'unless' on. */
  cond: string[];
  /** `acl` lines of the section declared before this rule. */
  aclCount: number;
}

/** An `http-error` page rendered per request, as written (http/http-errors.ts). */
export interface ErrorReplySource extends SourceRef {
  status: number;
  contentType: string | null;
  /** The body: a log-format when `lf`, else literal text; null: none. */
  body: string | null;
  lf: boolean;
  /** `hdr <name> <fmt>` pairs, in order. */
  headers: Array<[string, string]>;
}

/** One `acl` line as written (rules/acl.ts compiles it). */
export interface AclSource extends SourceRef {
  name: string;
  /** Criterion, flags and patterns. */
  words: string[];
  /** '' for the section's own lines; the defaults section's name for inherited ones. */
  origin: string;
}

export type RuleSetName =
  | 'tcp-request connection' | 'tcp-request session' | 'tcp-request content'
  | 'tcp-response content' | 'http-request' | 'http-response' | 'http-after-response';

/** One rule line as written (rules/rule-set.ts compiles it). */
export interface RuleSource extends SourceRef {
  set: RuleSetName;
  /** The action and its arguments, then the condition. */
  words: string[];
  /** `acl` lines of the same origin declared before this rule. */
  aclCount: number;
  origin: string;
}

/** `use_backend <name> [if|unless <cond>]` as written. */
export interface SwitchSource extends SourceRef {
  backend: string;
  /** From 'if'/'unless' on; null when unconditional. */
  cond: string[] | null;
  aclCount: number;
}

/** `use-server <server> if|unless <cond>` as written. */
export interface UseServerSource extends SourceRef {
  /** Server name, or a log-format resolving to one. */
  server: string;
  cond: string[];
  aclCount: number;
}

/** One `userlist` section. */
export interface UserlistConfig extends SourceRef {
  name: string;
  users: Array<{ name: string; password: string | null; insecure: boolean; groups: string[] }>;
  groups: Array<{ name: string; users: string[] }>;
}

/** TLS toward one server (tls/server-ssl.ts): PEM texts and checked options. */
export interface ServerTlsConfig {
  verify: 'none' | 'required';
  servername: string | null;
  /** `sni` as an expression (checked by the master, compiled by each worker). */
  sniExpr?: string;
  verifyhost: string | null;
  alpn: string[] | null;
  ca?: string;
  cert?: string;
  key?: string;
  ciphers?: string;
  minVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  maxVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
}

/** An IPv4 or IPv6 network, its address bytes already masked (`except` of option forwardfor/originalto). */
export interface NetworkConfig {
  family: 4 | 6;
  /** 4 or 16 bytes. */
  addr: number[];
  mask: number[];
}

/** `option forwardfor` / `option originalto` of one proxy. */
export interface ForwardHeaderConfig {
  /** Header name as written (default X-Forwarded-For / X-Original-To). */
  header: string;
  /** No header for an address in this network. */
  except: NetworkConfig | null;
  /** `if-none` (forwardfor only): add the header only when the request has none. */
  ifNone: boolean;
}

/** One `capture request|response header <name> len <n>`. */
export interface CaptureConfig {
  name: string;
  len: number;
}

export interface ProxyOptions {
  tcplog: boolean;
  dontlognull: boolean;
  /** `http-reuse` (backends; default safe). */
  httpReuse: 'never' | 'safe' | 'aggressive' | 'always';
  /**
   * HTTP connection mode (configuration.txt 4): `option http-keep-alive`
   * (default), `http-server-close`, `httpclose`. Frontend and backend
   * combine: the more closing one wins.
   */
  httpConnMode: 'keep-alive' | 'server-close' | 'close';
  /**
   * `option http-buffer-request`: wait for the whole request body (at most
   * a buffer) before choosing and connecting a server. Frontend or backend.
   */
  httpBufferRequest: boolean;
  /**
   * `option http-ignore-probes`: a connection closed or timed out before its
   * first request's first byte is closed silently (no 400/408, no log).
   */
  httpIgnoreProbes: boolean;
  /** `option persist` (http/cookie-persist.ts): persistence also to a down server. */
  persist?: boolean;
}

export interface StatsSocketConfig extends SourceRef {
  address: ListenAddress;
  level: 'user' | 'operator' | 'admin';
  /** File mode for a UNIX socket (HAProxy `mode`), default 0600. */
  mode: number;
  uid?: number;
  gid?: number;
}

export interface GlobalConfig {
  maxconn: number;
  /** Number of worker processes (HAProxy's nbthread). */
  nbthread: number;
  pidfile: string | null;
  logTargets: LogTarget[];
  logTag: string;
  /** `log-send-hostname`: host name put in syslog headers, null when not sent. */
  logSendHostname: string | null;
  hardStopAfter: number;
  statsSockets: StatsSocketConfig[];
  /** Local peer name (-L or `localpeer`), defaults to the host name. */
  localPeer: string;
  node: string;
  /** `tune.bufsize` in bytes, rounded up to a multiple of 16 as HAProxy does (default 16384). */
  bufsize: number;
  /** `tune.http.maxhdr` (default 101). */
  maxHttpHdr: number;
  /** Head limits of the HTTP/1 parser, derived from the two above at compile (http/limits.ts). */
  h1Limits: H1Limits;
  /** `ssl-default-bind-*`, `ssl-default-server-*`, `ssl-server-verify` (tls/ssl-defaults.ts). */
  sslDefaultBind?: SslDefaults;
  sslDefaultServer?: SslDefaults;
  sslServerVerify?: 'none' | 'required';
}

/** Global TLS defaults of bind or server lines. */
export interface SslDefaults {
  ciphers?: string;
  ciphersuites?: string;
  curves?: string;
  sslMinVer?: 'TLSv1.0' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  sslMaxVer?: 'TLSv1.0' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
}

export interface CompiledConfig {
  /** Files the config was read from, in order. */
  files: string[];
  global: GlobalConfig;
  /** Every frontend, backend and listen section, in declaration order. */
  proxies: ProxyConfig[];
  listeners: ListenerConfig[];
  /** `userlist` sections (http/userlist.ts), by name. */
  userlists: Record<string, UserlistConfig>;
  /** Map and ACL pattern files the rules read (`-f`, map converters), by path as written, read by the master. */
  patternFiles: Record<string, string>;
  /** `http-errors` sections (http/http-errors.ts): name → status → page as in errorFiles; for `errorfiles <name>` in rule replies. */
  httpErrors?: Record<string, Record<number, string>>;
}

export function listenAddressKey(a: ListenAddress): string {
  switch (a.kind) {
    case 'tcp': return `tcp:[${a.host}]:${a.port}`;
    case 'unix': return `unix:${a.path}`;
    case 'fd': return `fd:${a.fd}`;
  }
}

export function formatListenAddress(a: ListenAddress): string {
  switch (a.kind) {
    case 'tcp': return a.family === 6 ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
    case 'unix': return a.path;
    case 'fd': return `fd@${a.fd}`;
  }
}
