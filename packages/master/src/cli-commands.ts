/**
 * The Runtime API commands, registered like HAProxy's cli_kw tables. Each
 * reply is HAProxy 2.6.12's, byte for byte: usage lines, error messages and
 * their (sometimes missing) trailing newlines. The dispatcher in
 * runtime-api.ts adds the empty line that ends every reply.
 */
import { weightChange } from './checks/weight';
import { registerCliCommands, allCliCommands, type CliCommandDef, type CliContext, type CliLevel } from '@switchyard/core/registry';
import type { CompiledConfig, ProxyConfig, ServerConfig } from '@switchyard/core/config/compiled';
import type { WorkerStats } from '@switchyard/core/stats/counters';
import { ADMF_FMAINT, ADMF_FDRAIN } from '@switchyard/core/proxy/server-state';
import { isStaticBalance } from '@switchyard/core/backend/lb-config';
import {
  aggregateWorkerStats, buildStatRows, formatInfo, formatProc, formatServersState,
  formatStatCsv, formatStatJson, formatStatTyped, type InfoFormat, type StatOptions,
} from './stats-format';
import type { RuntimeApiHost } from './runtime-api';

/** A worker selected by an `@<n>` / `@!<pid>` prefix. */
export interface CliTarget {
  pid: number;
  relPid: number;
  startedAt: number;
}

/** What commands see through CliContext.host. */
export interface CliEnv {
  host: RuntimeApiHost;
  /** Level of the socket (not of the session): HAProxy shows addresses by it. */
  socketLevel: CliLevel;
  /** Routing prefix in effect for this command, null = all workers summed. */
  target: CliTarget | null;
  setLevel(level: CliLevel): void;
  togglePrompt(): void;
  quit(): void;
  /** Process facts that need I/O, gathered by the runtime API. */
  system(): { ulimitN: number; cliConnections: number; releaseDate: string };
}

export const LEVEL_RANK: Record<CliLevel, number> = { user: 0, operator: 1, admin: 2 };

function env(ctx: CliContext): CliEnv {
  return ctx.host as CliEnv;
}

/* ---------------- help and the unknown-command message ---------------- */

/**
 * How many words of the command line are compared with a keyword, and how
 * many are fingerprinted for suggestions (HAProxy's CLI_PREFIX_KW_NB).
 */
const PREFIX_WORDS = 5;
const MAX_MATCHES = 5;

/**
 * Letter-transition fingerprint of words, used to suggest commands: one slot
 * per character class seen (a-z case-insensitive, digit, other) and one per
 * transition between classes, with word start and end as "other". This is
 * the scoring HAProxy 2.6 uses, so the suggested commands are the same.
 */
function fingerprint(words: readonly string[]): Uint16Array {
  const fp = new Uint16Array(1024);
  for (const w of words) {
    let from = 28;
    for (let i = 0; i < w.length; i++) {
      const c = w.charCodeAt(i) | 0x20;
      const to = c >= 0x61 && c <= 0x7a ? c - 0x60 : (w.charCodeAt(i) >= 0x30 && w.charCodeAt(i) <= 0x39 ? 27 : 28);
      fp[to] = 1;
      fp[32 * from + to]++;
      from = to;
    }
    fp[32 * from + 28]++;
  }
  return fp;
}

function fingerprintDistance(a: Uint16Array, b: Uint16Array): number {
  let d = 0;
  for (let i = 0; i < 1024; i++) d += Math.abs(a[i] - b[i]);
  return d;
}

/** Number of leading words of `words` equal to the first words of `kw`. */
function prefixMatch(kw: readonly string[], words: readonly string[], limit: number): number {
  let n = 0;
  while (n < limit && n < kw.length && n < words.length && words[n] !== '' && kw[n] === words[n]) n++;
  return n;
}

const FIXED_HELP =
  '  help [<command>]                        : list matching or all commands\n' +
  '  prompt                                  : toggle interactive mode with prompt\n' +
  '  quit                                    : disconnect\n';

/**
 * The usage screen: `help [<command>]`, and the reply to unknown commands
 * (the full list, or the closest commands when some words matched).
 */
export function usageMessage(args: readonly string[]): string {
  let words = args;
  const isHelp = words[0] === 'help';
  if (isHelp) words = words.slice(1);
  const cmds = allCliCommands();

  let length = 0;
  for (const c of cmds) length = Math.max(length, prefixMatch(c.words, words, PREFIX_WORDS));

  let out: string;
  if (isHelp) out = 'The following commands are valid at this level:\n';
  else if (length === 0 && !words[0]) out = 'Unknown command. Please enter one of the following commands only:\n';
  else out = 'Unknown command, but maybe one of the following ones is a better match:\n';

  const matches: Array<{ def: CliCommandDef; dist: number }> = [];
  if (words[length]) {
    const rest = words.slice(length, PREFIX_WORDS);
    const restSig = fingerprint(rest);
    const restLen = rest.reduce((n, w) => n + w.length, 0);
    for (const c of cmds) {
      if (!c.help || c.words.length < length || prefixMatch(c.words, words, length) !== length) continue;
      const kwRest = c.words.slice(length, PREFIX_WORDS);
      const dist = fingerprintDistance(restSig, fingerprint(kwRest));
      const totlen = restLen + kwRest.reduce((n, w) => n + w.length, 0);
      if (dist >= Math.floor((5 * totlen) / 2)) continue;
      // Keep the MAX_MATCHES closest; ties keep the earlier registered one.
      if (matches.length === MAX_MATCHES && dist >= matches[MAX_MATCHES - 1].dist) continue;
      if (matches.length === MAX_MATCHES) matches.pop();
      let at = matches.length;
      while (at > 0 && matches[at - 1].dist > dist) at--;
      matches.splice(at, 0, { def: c, dist });
    }
  }

  let entries: CliCommandDef[];
  if (matches.length) {
    const limit = Math.floor((5 * matches[0].dist) / 2);
    entries = [];
    for (const m of matches) {
      if (m.dist > limit) break;
      entries.push(m.def);
    }
  } else {
    entries = cmds.filter((c) => c.help && c.words.length >= length && prefixMatch(c.words, words, length) === length);
  }
  entries.sort((a, b) => (a.help < b.help ? -1 : a.help > b.help ? 1 : 0));
  for (const e of entries) out += `  ${e.help}\n`;
  return out + FIXED_HELP;
}

/* ---------------- lookups ---------------- */

/** C atoi(): optional blanks and sign, then digits; 0 when none. */
function atoi(s: string): number {
  const m = /^[ \t\n\v\f\r]*([+-]?\d+)/.exec(s);
  if (!m) return 0;
  const n = Number(m[1]);
  return Math.max(-2147483648, Math.min(2147483647, n));
}

/** proxy_find_by_name(): by name, or `#<id>`; `cap` restricts to backends. */
function findProxy(config: CompiledConfig, name: string, backendOnly: boolean, skipDisabled = false): number {
  const ok = (p: ProxyConfig) => (!backendOnly || p.cap.be) && (!skipDisabled || !p.disabled);
  if (name.startsWith('#')) {
    const id = atoi(name.slice(1));
    return config.proxies.findIndex((p) => p.id === id && ok(p));
  }
  return config.proxies.findIndex((p) => p.name === name && ok(p));
}

interface FoundServer {
  p: number;
  s: number;
  px: ProxyConfig;
  sv: ServerConfig;
}

/**
 * get_backend_server() on `<backend>/<server>`: either part by name or by
 * `#<id>`. Returns the error reply on failure.
 */
function findServer(config: CompiledConfig, arg: string | undefined, checkDisabled: boolean): FoundServer | string {
  const text = arg ?? '';
  const slash = text.indexOf('/');
  const bk = slash < 0 ? text : text.slice(0, slash);
  const sn = slash < 0 ? '' : text.slice(slash + 1);
  if (!bk || !sn) return "Require 'backend/server'.\n";
  const p = findProxy(config, bk, true);
  if (p < 0) return 'No such backend.\n';
  const px = config.proxies[p];
  const sid = sn.startsWith('#') ? atoi(sn.slice(1)) : -1;
  const s = px.servers.findIndex((sv) => (sid >= 0 ? sv.id === sid : sv.name === sn));
  if (s < 0) return 'No such server.\n';
  if (checkDisabled && px.disabled) return 'Proxy is disabled.\n';
  return { p, s, px, sv: px.servers[s] };
}

/* ---------------- state changes ---------------- */

/* HAProxy's srv_adm_set_ready/drain/maint; CMAINT stays as the record of the configuration. */
const SET_READY = { set: 0, clear: ADMF_FMAINT | ADMF_FDRAIN };
const SET_DRAIN = { set: ADMF_FDRAIN, clear: ADMF_FMAINT };
const SET_MAINT = { set: ADMF_FMAINT, clear: ADMF_FDRAIN };

/**
 * server_parse_weight_change_request(): `<n>` (0..256) or `<n>%` of the
 * initial weight. The two "garbage" messages have no trailing newline in
 * HAProxy 2.6, so their reply has no empty line after it either.
 */
async function parseWeightChange(e: CliEnv, f: FoundServer, text: string | undefined): Promise<string> {
  if (!text) return 'Require <weight> or <weight%>.\n';
  const state = e.host.serverStates()[f.p]?.[f.s];
  const w = weightChange(text, state?.iweight ?? f.sv.weight, isStaticBalance(f.px.balance));
  if (typeof w === 'string') return w;
  await e.host.setServerWeight(f.p, f.s, w);
  return '';
}

const SET_SERVER_USAGE =
  'usage: set server <backend>/<server> addr | agent | agent-addr | agent-port | agent-send | check-addr | check-port | fqdn | health | ssl | state | weight\n';

/** `set server` options HAProxy has and we do not implement yet. */
const SET_SERVER_UNSUPPORTED = new Set(['addr', 'agent-addr', 'agent-port', 'agent-send', 'check-addr', 'check-port', 'fqdn', 'ssl']);

/* ---------------- stats ---------------- */

async function collect(e: CliEnv): Promise<WorkerStats[]> {
  return e.host.collectStats(e.target?.pid);
}

function processStart(e: CliEnv, stats: readonly WorkerStats[]): number {
  if (e.target) return e.target.startedAt;
  let min = Infinity;
  for (const w of stats) if (w.startedAt < min) min = w.startedAt;
  return Number.isFinite(min) ? min : e.host.startedAt;
}

async function showInfo(ctx: CliContext): Promise<string> {
  const e = env(ctx);
  let format: InfoFormat = 'plain';
  for (const a of ctx.args) {
    if (a === 'typed') format = 'typed';
    else if (a === 'json') format = 'json';
    // `desc` (field descriptions) and `float` are accepted and ignored.
  }
  const config = e.host.config();
  const stats = await collect(e);
  const agg = aggregateWorkerStats(config, stats);
  const sys = e.system();
  let bytesOut = 0;
  for (const p of agg.proxies) bytesOut += p?.fe?.bout ?? 0;
  const listeners = config.listeners.length + config.global.statsSockets.length;
  return formatInfo({
    // Name and Version say what answers: tools key on the layout and field
    // names, while a product name of "HAProxy" would make them assume
    // HAProxy's features and bugs. Build info carries our version too.
    name: 'Switchyard',
    version: e.host.version,
    releaseDate: sys.releaseDate,
    nbthread: config.global.nbthread,
    processNum: e.target?.relPid ?? 1,
    pid: e.target?.pid ?? e.host.masterPid,
    startedAt: e.target?.startedAt ?? e.host.startedAt,
    now: Date.now(),
    ulimitN: sys.ulimitN,
    maxsock: sys.ulimitN,
    maxconn: config.global.maxconn,
    currConns: agg.currConns,
    cumConns: agg.cumConns,
    cumReq: 0,
    node: config.global.node,
    stopping: false,
    jobs: listeners + agg.currConns + sys.cliConnections,
    listeners,
    totalBytesOut: bytesOut,
    poolAllocBytes: 0,
    poolUsedBytes: 0,
  }, format);
}

async function showStat(ctx: CliContext): Promise<string> {
  const e = env(ctx);
  const args = ctx.args;
  const config = e.host.config();
  let a = 0;
  if (args[a] === 'domain') {
    if (args[a + 1] === 'proxy') a += 2;
    else if (args[a + 1] === 'resolvers') return '# id,pid,\n'; // no resolvers sections yet
    else return 'Invalid statistics domain.\n';
  }
  const opts: StatOptions = {};
  if (args[a] && args[a + 1] && args[a + 2]) {
    const p = findProxy(config, args[a], false, true);
    const iid = p >= 0 ? config.proxies[p].id : atoi(args[a]);
    if (!iid) return 'No such proxy.\n';
    opts.bound = { iid, type: atoi(args[a + 1]), sid: atoi(args[a + 2]) };
    a += 3;
  }
  let format: 'csv' | 'typed' | 'json' = 'csv';
  for (; a < args.length; a++) {
    if (args[a] === 'typed') format = 'typed';
    else if (args[a] === 'json') format = 'json';
    else if (args[a] === 'no-maint') opts.hideMaint = true;
    else if (args[a] === 'up') opts.hideDown = true;
  }
  const stats = await collect(e);
  const agg = aggregateWorkerStats(config, stats);
  const now = Date.now();
  const checks = e.host.checks?.views(config, e.host.serverStates(), now);
  const rows = buildStatRows({
    config,
    states: e.host.serverStates(),
    checks: checks?.servers,
    backends: checks?.backends,
    proxies: agg.proxies,
    now: Date.now(),
    processStart: processStart(e, stats),
    processNum: e.target?.relPid ?? 1,
    showLegends: LEVEL_RANK[e.socketLevel] >= LEVEL_RANK.operator,
  }, opts);
  if (format === 'typed') return formatStatTyped(rows);
  if (format === 'json') return formatStatJson(rows);
  return formatStatCsv(rows);
}

/* ---------------- the table ---------------- */

const LEVEL_NAMES: CliLevel[] = ['user', 'operator', 'admin'];

const commands: CliCommandDef[] = [
  // help, prompt and quit are keywords without a usage line: HAProxy prints
  // them at the end of every usage screen instead.
  { words: ['help'], help: '', level: 'user', run: (ctx) => usageMessage(['help', ...ctx.args]) },
  { words: ['prompt'], help: '', level: 'user', run: (ctx) => { env(ctx).togglePrompt(); return ''; } },
  { words: ['quit'], help: '', level: 'user', run: (ctx) => { env(ctx).quit(); return ''; } },
  {
    words: ['operator'], level: 'operator',
    help: 'operator                                : lower the level of the current CLI session to operator',
    run: (ctx) => { env(ctx).setLevel('operator'); return ''; },
  },
  {
    words: ['user'], level: 'user',
    help: 'user                                    : lower the level of the current CLI session to user',
    run: (ctx) => { env(ctx).setLevel('user'); return ''; },
  },
  {
    words: ['show', 'cli', 'level'], level: 'user',
    help: 'show cli level                          : display the level of the current CLI session',
    run: (ctx) => `${LEVEL_NAMES[LEVEL_RANK[ctx.level]]}\n`,
  },
  {
    words: ['show', 'info'], level: 'user',
    help: 'show info [desc|json|typed|float]*      : report information about the running process',
    run: showInfo,
  },
  {
    words: ['show', 'stat'], level: 'user',
    help: 'show stat [desc|json|no-maint|typed|up]*: report counters for each proxy and server',
    run: showStat,
  },
  {
    words: ['show', 'servers', 'state'], level: 'user',
    help: 'show servers state [<backend>]          : dump volatile server information (all or for a single backend)',
    run: (ctx) => {
      const e = env(ctx);
      const config = e.host.config();
      let only: number | undefined;
      if (ctx.args[0]) {
        only = findProxy(config, ctx.args[0], true);
        if (only < 0) return "Can't find backend.\n";
      }
      const now = Date.now();
      const checks = e.host.checks?.views(config, e.host.serverStates(), now).servers;
      return formatServersState({ config, states: e.host.serverStates(), checks, now }, only);
    },
  },
  {
    words: ['show', 'proc'], level: 'user',
    help: 'show proc                               : show processes status',
    run: (ctx) => formatProc(env(ctx).host.processes(), Date.now()),
  },
  {
    words: ['disable', 'server'], level: 'admin',
    help: "disable server (DEPRECATED)             : disable a server for maintenance (use 'set server' instead)",
    run: async (ctx) => {
      const e = env(ctx);
      const f = findServer(e.host.config(), ctx.args[0], true);
      if (typeof f === 'string') return f;
      await e.host.setServerAdmin(f.p, f.s, SET_MAINT.set, SET_MAINT.clear);
      return '';
    },
  },
  {
    words: ['enable', 'server'], level: 'admin',
    help: "enable server  (DEPRECATED)             : enable a disabled server (use 'set server' instead)",
    run: async (ctx) => {
      const e = env(ctx);
      const f = findServer(e.host.config(), ctx.args[0], true);
      if (typeof f === 'string') return f;
      await e.host.setServerAdmin(f.p, f.s, SET_READY.set, SET_READY.clear);
      return '';
    },
  },
  ...(['enable', 'disable'] as const).flatMap(verb => (['agent', 'health'] as const).map((what): CliCommandDef => ({
    words: [verb, what], level: 'admin',
    help: `${verb} ${what}`.padEnd(40, ' ') + `: ${verb} ${what === 'agent' ? 'agent' : 'health'} checks`,
    run: (ctx) => {
      const e = env(ctx);
      const f = findServer(e.host.config(), ctx.args[0], true);
      if (typeof f === 'string') return f;
      return e.host.checks?.setEnabled(f.p, f.s, what === 'agent', verb === 'enable')
        ?? (verb === 'enable' ? (what === 'agent' ? 'Agent was not configured on this server, cannot enable.\n' : 'Health check was not configured on this server, cannot enable.\n') : '');
    },
  }))),
  {
    words: ['get', 'weight'], level: 'user',
    help: "get weight <bk>/<srv>                   : report a server's current weight",
    run: (ctx) => {
      const e = env(ctx);
      const f = findServer(e.host.config(), ctx.args[0], false);
      if (typeof f === 'string') return f;
      const st = e.host.serverStates()[f.p]?.[f.s];
      return `${st?.uweight ?? f.sv.weight} (initial ${st?.iweight ?? f.sv.weight})\n`;
    },
  },
  {
    words: ['set', 'weight'], level: 'admin',
    help: "set weight <bk>/<srv>  (DEPRECATED)     : change a server's weight (use 'set server' instead)",
    run: (ctx) => {
      const e = env(ctx);
      const f = findServer(e.host.config(), ctx.args[0], true);
      if (typeof f === 'string') return f;
      return parseWeightChange(e, f, ctx.args[1]);
    },
  },
  {
    words: ['set', 'server'], level: 'admin',
    help: "set server <bk>/<srv> [opts]            : change a server's state, weight, address or ssl",
    run: async (ctx) => {
      const e = env(ctx);
      const f = findServer(e.host.config(), ctx.args[0], true);
      if (typeof f === 'string') return f;
      const what = ctx.args[1] ?? '';
      if (what === 'weight') return parseWeightChange(e, f, ctx.args[2]);
      if (what === 'state') {
        const to = ctx.args[2];
        const change = to === 'ready' ? SET_READY : to === 'drain' ? SET_DRAIN : to === 'maint' ? SET_MAINT : null;
        if (!change) return "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n";
        await e.host.setServerAdmin(f.p, f.s, change.set, change.clear);
        return '';
      }
      if (what === 'health') {
        const to = ctx.args[2];
        if (to !== 'up' && to !== 'stopping' && to !== 'down') return "'set server <srv> health' expects 'up', 'stopping', or 'down'.\n";
        await e.host.checks?.setHealth(f.p, f.s, to);
        return '';
      }
      if (what === 'agent') {
        return (await e.host.checks?.setAgent(f.p, f.s, ctx.args[2] ?? '')) ?? 'agent checks are not enabled on this server.\n';
      }
      if (SET_SERVER_UNSUPPORTED.has(what)) return `'set server <srv> ${what}' is not supported by Switchyard yet.\n`;
      return SET_SERVER_USAGE;
    },
  },
];

registerCliCommands(commands);
