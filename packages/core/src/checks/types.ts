/**
 * Health checks as the configuration describes them (HAProxy's check.c /
 * tcpcheck.c vocabulary): what a `server` line asks for, the compiled
 * tcp-check / http-check rule sets, and HAProxy's check status table. All
 * plain, msgpack-safe data: the master runs the checks (master/src/checks/),
 * workers only read `observe` (checks/observe.ts).
 */
import type { ServerTlsConfig } from '../config/compiled';

/* ---------------- HAProxy's check statuses (include/haproxy/check-t.h) ---------------- */

/** HCHK_STATUS_*: the numbers `show servers state` prints as srv_check_status. */
export const HCHK_UNKNOWN = 0;
export const HCHK_INI = 1;
export const HCHK_START = 2;
export const HCHK_CHECKED = 3;
export const HCHK_HANA = 4;
export const HCHK_SOCKERR = 5;
export const HCHK_L4OK = 6;
export const HCHK_L4TOUT = 7;
export const HCHK_L4CON = 8;
export const HCHK_L6OK = 9;
export const HCHK_L6TOUT = 10;
export const HCHK_L6RSP = 11;
export const HCHK_L7TOUT = 12;
export const HCHK_L7RSP = 13;
/** Statuses above this one carry a layer 5-7 code (check_code). */
export const HCHK_L57DATA = 14;
export const HCHK_L7OKD = 15;
export const HCHK_L7OKCD = 16;
export const HCHK_L7STS = 17;

/** CHK_RES_*: what a status means for the health counter. */
export const CHK_RES_UNKNOWN = 0;
export const CHK_RES_NEUTRAL = 1;
export const CHK_RES_FAILED = 2;
export const CHK_RES_PASSED = 3;
export const CHK_RES_CONDPASS = 4;

/** check_statuses[] of check.c: result, short name (check_status), description (check_desc). */
export const CHECK_STATUSES: ReadonlyArray<{ readonly result: number; readonly info: string; readonly desc: string }> = [
  { result: CHK_RES_UNKNOWN, info: 'UNK', desc: 'Unknown' },
  { result: CHK_RES_UNKNOWN, info: 'INI', desc: 'Initializing' },
  { result: CHK_RES_UNKNOWN, info: 'UNK', desc: 'Unknown' }, // START: special, never shown
  { result: CHK_RES_NEUTRAL, info: 'CHECKED', desc: 'No status change' },
  { result: CHK_RES_FAILED, info: 'HANA', desc: 'Health analyze' },
  { result: CHK_RES_FAILED, info: 'SOCKERR', desc: 'Socket error' },
  { result: CHK_RES_PASSED, info: 'L4OK', desc: 'Layer4 check passed' },
  { result: CHK_RES_FAILED, info: 'L4TOUT', desc: 'Layer4 timeout' },
  { result: CHK_RES_FAILED, info: 'L4CON', desc: 'Layer4 connection problem' },
  { result: CHK_RES_PASSED, info: 'L6OK', desc: 'Layer6 check passed' },
  { result: CHK_RES_FAILED, info: 'L6TOUT', desc: 'Layer6 timeout' },
  { result: CHK_RES_FAILED, info: 'L6RSP', desc: 'Layer6 invalid response' },
  { result: CHK_RES_FAILED, info: 'L7TOUT', desc: 'Layer7 timeout' },
  { result: CHK_RES_FAILED, info: 'L7RSP', desc: 'Layer7 invalid response' },
  { result: CHK_RES_UNKNOWN, info: 'UNK', desc: 'Unknown' }, // L57DATA: dummy
  { result: CHK_RES_PASSED, info: 'L7OK', desc: 'Layer7 check passed' },
  { result: CHK_RES_CONDPASS, info: 'L7OKC', desc: 'Layer7 check conditionally passed' },
  { result: CHK_RES_FAILED, info: 'L7STS', desc: 'Layer7 wrong status' },
];

/* ---------------- server line ---------------- */

/** HANA_ONERR_* of `on-error`. */
export const ONERR_FASTINTER = 1;
export const ONERR_FAILCHK = 2;
export const ONERR_SUDDTH = 3;
export const ONERR_MARKDWN = 4;

/** HANA_OBS_* of `observe`. */
export const OBSERVE_NONE = 0;
export const OBSERVE_LAYER4 = 1;
export const OBSERVE_LAYER7 = 2;

/**
 * The check keywords of a `server` / `default-server` line as written
 * (ServerOptions.checkOpts). Absent fields take HAProxy's defaults when the
 * server is compiled (checks/keywords.ts finalizeChecks).
 */
export interface ServerCheckOptions {
  check?: boolean;
  inter?: number;
  fastinter?: number;
  downinter?: number;
  rise?: number;
  fall?: number;
  port?: number;
  /** `addr` as written (an IP or a name resolved at load). */
  addr?: string;
  checkSsl?: boolean;
  checkSni?: string;
  checkAlpn?: string[];
  checkSendProxy?: boolean;
  agent?: boolean;
  agentPort?: number;
  agentInter?: number;
  agentAddr?: string;
  agentSend?: string;
  observe?: number;
  errorLimit?: number;
  onError?: number;
  onMarkedDown?: boolean;
  onMarkedUp?: boolean;
}

/** Where a check connects when its rule names no address: resolved at load. */
export interface CheckAddress {
  ip: string;
  family: 4 | 6;
}

/** One check (health or agent) of one server, compiled. */
export interface CheckParams {
  inter: number;
  fastinter: number;
  downinter: number;
  rise: number;
  fall: number;
  /** `addr` / `agent-addr`, null: the server's address. */
  addr: CheckAddress | null;
  /** `port` / `agent-port`, 0: the server's port. */
  port: number;
  /** The default connect runs over TLS (`check-ssl`, or the server's `ssl` when port and addr are not overridden). */
  ssl: boolean;
  /** TLS settings for the default connect (the server's, with check-sni / check-alpn). */
  tls: ServerTlsConfig | null;
  /** `check-send-proxy`, or the server's send-proxy when port and addr are not overridden: 0 none, 1 v1, 2 v2. */
  sendProxy: number;
}

/** What the master needs to check one server (ServerConfig.checks). */
export interface ServerChecks {
  /** `check`: the health check; null without it. */
  health: CheckParams | null;
  /** `agent-check`: null without it. */
  agent: (CheckParams & { send: string }) | null;
  onError: number;
  errorLimit: number;
  onMarkedDown: boolean;
  onMarkedUp: boolean;
  /** `observe`: OBSERVE_* (0 none). */
  observe: number;
}

/**
 * What a worker needs to report real traffic to the master (`observe`):
 * set on ServerConfig.observe only for observed servers, so that the
 * streams' test is one property load.
 */
export interface ObserveConfig {
  /** OBSERVE_LAYER4 or OBSERVE_LAYER7. */
  mode: number;
  /** Indexes of the proxy and the server in CompiledConfig. */
  p: number;
  s: number;
  /** `error-limit`: a worker counts the runs this long it saw whole between two successes. */
  limit: number;
}

/* ---------------- tcp-check / http-check rules ---------------- */

/** Ruleset kind, from `option tcp-check` / `option httpchk` / neither (a plain connect). */
export type CheckKind = 'default' | 'tcp-check' | 'http' | 'agent';

interface RuleBase {
  /** Step number - 1 as HAProxy counts them (the implicit connect is step 0). */
  index: number;
  /** `comment` of the rule, or of the `comment` line before it. */
  comment: string | null;
}

export interface ConnectRule extends RuleBase {
  t: 'connect';
  /** 0: the check's port, else the server's. */
  port: number;
  addr: CheckAddress | null;
  /** `addr` as written, resolved at load into addr. */
  addrText?: string;
  ssl: boolean;
  sni: string | null;
  alpn: string[] | null;
  sendProxy: boolean;
  linger: boolean;
  /** `default`: the server's check settings (check-ssl, check-sni, send-proxy). */
  dflt: boolean;
  /** Inserted before a ruleset that does not start with a connect. */
  implicit: boolean;
}

export interface SendRule extends RuleBase {
  t: 'send';
  /** Bytes to send, as a latin1 string (`send-binary` decoded). */
  data: string;
}

export interface HttpSendRule extends RuleBase {
  t: 'http-send';
  meth: string | null;
  uri: string | null;
  ver: string | null;
  hdrs: Array<[string, string]>;
  body: string | null;
  /** The request of `option httpchk` (merged with the first `http-check send`). */
  fromOpt: boolean;
}

export type ExpectType =
  | 'string' | 'rstring' | 'binary' | 'rbinary'
  | 'status' | 'rstatus' | 'hdr' | 'body' | 'rbody'
  /** The agent's reply (tcpcheck_agent_expect_reply). */
  | 'agent';

export type HdrMatch = 'str' | 'beg' | 'end' | 'sub' | 'reg';

export interface ExpectRule extends RuleBase {
  t: 'expect';
  type: ExpectType;
  /** The pattern (latin1 bytes for `binary`; a regex source for r*). */
  pattern: string;
  /** `status <codes>`: inclusive ranges. */
  codes: Array<[number, number]>;
  /** `expect hdr|fhdr name ... [value ...]`. */
  hdr: { name: string; nameMatch: HdrMatch; value: string | null; valueMatch: HdrMatch; full: boolean } | null;
  inverse: boolean;
  /** `min-recv`, -1 when unset. */
  minRecv: number;
  /** HCHK_* of ok-status / error-status / tout-status, HCHK_UNKNOWN when unset. */
  okStatus: number;
  errStatus: number;
  toutStatus: number;
  /** on-success / on-error texts (literal: log-format expressions are refused at load). */
  onSuccess: string | null;
  onError: string | null;
  /**
   * Position in the ruleset of the first inverted expect of the chain of
   * expects this one ends (or itself): where evaluation resumes when more
   * data arrives (tcpcheck.c, expect.head).
   */
  head: number;
}

export type CheckRule = ConnectRule | SendRule | HttpSendRule | ExpectRule;

/** A proxy's compiled check ruleset (ProxyConfig.checkRules). */
export interface CheckRuleSet {
  kind: CheckKind;
  rules: CheckRule[];
  /** `http-check disable-on-404`. */
  disableOn404: boolean;
}

/** Parse-time state of a proxy's check keywords (ProxyConfig.checkSrc); copied from defaults with the rest. */
export interface ProxyCheckSource {
  /** The last of `option httpchk` / `option tcp-check`; null: a plain connect. */
  type: 'tcp-check' | 'http' | null;
  /** `tcp-check` / `http-check` lines in order, and the section ('file:line') that wrote them. */
  tcp: Array<CheckRule | CommentLine>;
  tcpOwner: string;
  http: Array<CheckRule | CommentLine>;
  httpOwner: string;
  /** The request of `option httpchk`, null when none. */
  httpchk: HttpSendRule | null;
  disableOn404: boolean;
  /** Where `option httpchk` / `option tcp-check` was written, for messages. */
  file: string;
  line: number;
}

/** A `tcp-check comment` / `http-check comment` line: its text goes to the rules after it. */
export interface CommentLine {
  t: 'comment';
  comment: string;
}
