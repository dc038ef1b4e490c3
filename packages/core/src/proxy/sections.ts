/**
 * Sections (global, defaults, frontend, backend, listen) and the keywords of
 * the proxy core: mode, maxconn, timeouts, backend switching, retries, and
 * the global process settings (`balance` is in backend/balance-keywords.ts).
 */
import {
  registerSection, registerKeywords, PROXY_SECTIONS,
  type KeywordContext, type ParseState, type SectionKind,
} from '../registry';
import type { ProxyConfig, Timeouts } from '../config/compiled';
import { parseInteger, parseTime, parseFileMode, parseBindAddress } from '../config/args';
import { os } from '../util/os';
import { newBalanceConfig } from '../backend/lb-config';

const NAME_RE = /^[A-Za-z0-9_.:-]+$/;

function newTimeouts(): Timeouts {
  return { connect: 0, client: 0, server: 0, clientFin: 0, serverFin: 0, tunnel: 0, tarpit: 0, queue: 0, httpRequest: 0, httpKeepAlive: 0, check: 0 };
}

export function newProxyConfig(name: string, file: string, line: number): ProxyConfig {
  return {
    name, id: 0, forcedId: false, file, line,
    cap: { fe: false, be: false },
    mode: 'tcp',
    disabled: false,
    maxconn: 0,
    timeouts: newTimeouts(),
    binds: [],
    defaultBackend: null,
    useBackends: [],
    useServers: [],
    acls: [],
    rules: [],
    inspectDelay: 0,
    resInspectDelay: 0,
    servers: [],
    // pool-max-conn -1: unlimited; pool-purge-delay 5s: HAProxy's defaults.
    defaultServer: { weight: 1, maxconn: 0, backup: false, disabled: false, poolMaxConn: -1, poolPurgeDelay: 5000 },
    balance: newBalanceConfig(),
    retries: 3,
    redispatch: 0,
    retryOn: 1, // RETRY_CONN_FAILURE (backend/retry.ts)
    fullconn: 0,
    logGlobal: false,
    logTargets: [],
    logFormat: null,
    options: { tcplog: false, dontlognull: false, httpReuse: 'safe', httpConnMode: 'keep-alive', httpBufferRequest: false, httpIgnoreProbes: false },
    errorFiles: {},
    forwardFor: null,
    originalTo: null,
    restrictReqHdrNames: 'preserve',
    monitorUri: null,
    uniqueIdFormat: null,
    uniqueIdHeader: null,
    reqCaptures: [],
    resCaptures: [],
    dispatch: null,
  };
}

/** HAProxy copies a defaults section into each proxy that follows it. */
function fromDefaults(def: ProxyConfig | undefined, name: string, file: string, line: number): ProxyConfig {
  if (!def) return newProxyConfig(name, file, line);
  const p = structuredClone(def);
  p.name = name; p.file = file; p.line = line; p.id = 0; p.forcedId = false;
  p.binds = []; p.servers = []; p.useBackends = []; p.useServers = []; p.defaultBackend = def.defaultBackend;
  // ACLs and rules of a named defaults section stay in its own namespace
  // (rules/rule-set.ts): they are evaluated first and see only its ACLs.
  for (const a of p.acls) if (a.origin === '') a.origin = def.name;
  for (const r of p.rules) if (r.origin === '') r.origin = def.name;
  return p;
}

function findDefaults(state: ParseState, args: string[], file: string, line: number): { def: ProxyConfig | undefined; ok: boolean } {
  const fromIdx = args.indexOf('from');
  if (fromIdx >= 0) {
    const name = args[fromIdx + 1];
    if (!name) { state.diag.error(file, line, 'from', `'from' expects the name of a defaults section`); return { def: undefined, ok: false }; }
    for (let i = state.defaults.length - 1; i >= 0; i--) if (state.defaults[i].name === name) return { def: state.defaults[i], ok: true };
    state.diag.error(file, line, 'from', `defaults section '${name}' not found (it must be declared before use)`);
    return { def: undefined, ok: false };
  }
  return { def: state.scratch.get('lastDefaults') as ProxyConfig | undefined, ok: true };
}

function openProxy(kind: SectionKind, state: ParseState, args: string[], file: string, line: number): ProxyConfig | undefined {
  const name = args[0];
  if (!name || name === 'from') { state.diag.error(file, line, kind, `'${kind}' expects a name`); return undefined; }
  if (!NAME_RE.test(name)) { state.diag.error(file, line, kind, `invalid character in ${kind} name '${name}' (allowed: letters, digits, '-', '_', '.', ':')`); return undefined; }
  const extra = args.slice(1).filter((w, i, a) => !(w === 'from' || a[i - 1] === 'from'));
  if (extra.length) state.diag.error(file, line, kind, `unexpected argument '${extra[0]}' after ${kind} name`);
  const { def, ok } = findDefaults(state, args.slice(1), file, line);
  if (!ok) return undefined;
  const p = fromDefaults(def, name, file, line);
  p.cap = { fe: kind !== 'backend', be: kind !== 'frontend' };
  for (const other of state.proxies) {
    if (other.name === name && ((other.cap.fe && p.cap.fe) || (other.cap.be && p.cap.be))) {
      state.diag.error(file, line, kind, `${kind} '${name}' has the same name as the ${other.cap.fe && other.cap.be ? 'listen' : other.cap.fe ? 'frontend' : 'backend'} declared at ${other.file}:${other.line}`);
      return undefined;
    }
  }
  state.proxies.push(p);
  return p;
}

registerSection({ name: 'global', open: () => undefined });
registerSection({
  name: 'defaults',
  open(state, args, file, line) {
    let name = '';
    let rest = args;
    if (args[0] && args[0] !== 'from') { name = args[0]; rest = args.slice(1); }
    if (name && !NAME_RE.test(name)) { state.diag.error(file, line, 'defaults', `invalid character in defaults name '${name}'`); return undefined; }
    // A defaults section resets every default (HAProxy): it starts from the
    // built-in values unless `from <name>` names another defaults section.
    const { def, ok } = rest.includes('from') ? findDefaults(state, rest, file, line) : { def: undefined, ok: true };
    if (!ok) return undefined;
    const p = fromDefaults(def, name, file, line);
    p.cap = { fe: true, be: true };
    state.defaults.push(p);
    state.scratch.set('lastDefaults', p);
    return p;
  },
});
registerSection({ name: 'frontend', open: (s, a, f, l) => openProxy('frontend', s, a, f, l) });
registerSection({ name: 'backend', open: (s, a, f, l) => openProxy('backend', s, a, f, l) });
registerSection({ name: 'listen', open: (s, a, f, l) => openProxy('listen', s, a, f, l) });

const FE: SectionKind[] = ['defaults', 'frontend', 'listen'];
const BE: SectionKind[] = ['defaults', 'backend', 'listen'];

function needArgs(ctx: KeywordContext, n: number, usage: string): boolean {
  if (ctx.args.length < n) { ctx.error(`missing argument; usage: ${usage}`); return false; }
  if (ctx.args.length > n) { ctx.error(`unexpected argument '${ctx.args[n]}'; usage: ${usage}`); return false; }
  return true;
}

function timeoutKeyword(word: string, field: keyof Timeouts, sections: SectionKind[], doc: string) {
  return {
    name: `timeout ${word}`,
    sections,
    usage: `timeout ${word} <time>  ${doc}`,
    parse(ctx: KeywordContext) {
      if (!needArgs(ctx, 1, `timeout ${word} <time>`)) return;
      const t = parseTime(ctx.args[0]);
      if (!t.ok) return ctx.error(t.error);
      ctx.proxy!.timeouts[field] = t.value;
    },
  };
}

registerKeywords([
  /* ---- global ---- */
  {
    name: 'maxconn', sections: ['global', ...FE], usage: 'maxconn <n>  maximum concurrent connections (global: whole process; proxy: per frontend)',
    parse(ctx) {
      if (!needArgs(ctx, 1, 'maxconn <n>')) return;
      const v = parseInteger(ctx.args[0], 'maxconn', 0, 10_000_000);
      if (!v.ok) return ctx.error(v.error);
      if (ctx.section === 'global') ctx.state.global.maxconn = v.value; else ctx.proxy!.maxconn = v.value;
    },
  },
  {
    name: 'nbthread', sections: ['global'], usage: 'nbthread <n>  number of worker processes (default: number of CPUs)',
    parse(ctx) {
      if (!needArgs(ctx, 1, 'nbthread <n>')) return;
      const v = parseInteger(ctx.args[0], 'nbthread', 1, 256);
      if (!v.ok) return ctx.error(v.error);
      ctx.state.global.nbthread = v.value;
    },
  },
  {
    name: 'pidfile', sections: ['global'], usage: 'pidfile <path>  write the master PID there (removed at exit)',
    parse(ctx) { if (needArgs(ctx, 1, 'pidfile <path>')) ctx.state.global.pidfile = ctx.args[0]; },
  },
  {
    name: 'hard-stop-after', sections: ['global'], usage: 'hard-stop-after <time>  bound on how long old workers may finish their connections after a reload or graceful stop',
    parse(ctx) {
      if (!needArgs(ctx, 1, 'hard-stop-after <time>')) return;
      const t = parseTime(ctx.args[0]);
      if (!t.ok) return ctx.error(t.error);
      ctx.state.global.hardStopAfter = t.value;
    },
  },
  {
    name: 'daemon', sections: ['global'], usage: 'daemon  accepted for compatibility; Switchyard stays in the foreground (systemd supervises it)',
    parse(ctx) { needArgs(ctx, 0, 'daemon'); },
  },
  {
    name: 'master-worker', sections: ['global'], usage: 'master-worker  accepted; master-worker is the only mode',
    parse(ctx) { if (ctx.args.length && ctx.args[0] !== 'no-exit-on-failure') ctx.error(`unexpected argument '${ctx.args[0]}'`); },
  },
  {
    name: 'node', sections: ['global'], usage: 'node <name>  node name shown in show info and the stats page',
    parse(ctx) { if (needArgs(ctx, 1, 'node <name>')) ctx.state.global.node = ctx.args[0]; },
  },
  {
    name: 'stats socket', sections: ['global'], usage: 'stats socket <path|unix@path|ipv4@addr:port|fd@n> [mode <octal>] [uid <n>] [gid <n>] [user <name>] [group <name>] [level user|operator|admin]  the Runtime API',
    parse(ctx) {
      const [addrText, ...opts] = ctx.args;
      if (!addrText) return ctx.error('missing address; usage: stats socket <path|ipv4@addr:port|fd@n> [options]');
      const a = parseBindAddress(addrText);
      if (!a.ok) return ctx.error(a.error);
      if (a.value.length !== 1) return ctx.error('a port range is not allowed for stats socket');
      const sock = { file: ctx.file, line: ctx.line, address: a.value[0], level: 'operator' as 'user' | 'operator' | 'admin', mode: 0o600, uid: undefined as number | undefined, gid: undefined as number | undefined };
      for (let i = 0; i < opts.length; i++) {
        const k = opts[i], v = opts[i + 1];
        if (v === undefined) return ctx.error(`'${k}' expects an argument`);
        i++;
        if (k === 'level') {
          if (v !== 'user' && v !== 'operator' && v !== 'admin') return ctx.error(`'level' only supports 'user', 'operator', and 'admin'`);
          sock.level = v;
        } else if (k === 'mode') {
          const m = parseFileMode(v); if (!m.ok) return ctx.error(m.error); sock.mode = m.value;
        } else if (k === 'uid' || k === 'gid') {
          const n = parseInteger(v, k, 0, 0x7fffffff); if (!n.ok) return ctx.error(n.error);
          if (k === 'uid') sock.uid = n.value; else sock.gid = n.value;
        } else if (k === 'user' || k === 'group') {
          const id = os.lookupId(k, v);
          if (id === undefined) return ctx.error(`unknown ${k} '${v}'`);
          if (k === 'user') sock.uid = id; else sock.gid = id;
        } else {
          return ctx.error(`unknown stats socket option '${k}' (supported: mode, uid, gid, user, group, level)`);
        }
      }
      ctx.state.global.statsSockets.push(sock);
    },
  },

  /* ---- proxies ---- */
  {
    name: 'mode', sections: PROXY_SECTIONS, usage: 'mode tcp|http',
    parse(ctx) {
      if (!needArgs(ctx, 1, 'mode tcp|http')) return;
      const m = ctx.args[0];
      if (m !== 'tcp' && m !== 'http') return ctx.error(`unknown proxy mode '${m}' (expected 'tcp' or 'http')`);
      ctx.proxy!.mode = m;
    },
  },
  {
    name: 'disabled', sections: PROXY_SECTIONS, usage: 'disabled  the proxy is parsed but not started',
    parse(ctx) { if (needArgs(ctx, 0, 'disabled')) ctx.proxy!.disabled = true; },
  },
  {
    name: 'enabled', sections: PROXY_SECTIONS, usage: 'enabled  cancels a disabled inherited from defaults',
    parse(ctx) { if (needArgs(ctx, 0, 'enabled')) ctx.proxy!.disabled = false; },
  },
  {
    name: 'id', sections: ['frontend', 'backend', 'listen'], usage: 'id <n>  force the proxy id (iid in show stat)',
    parse(ctx) {
      if (!needArgs(ctx, 1, 'id <n>')) return;
      const v = parseInteger(ctx.args[0], 'id', 1, 0x7fffffff);
      if (!v.ok) return ctx.error(v.error);
      ctx.proxy!.id = v.value; ctx.proxy!.forcedId = true;
    },
  },
  {
    name: 'default_backend', sections: FE, usage: 'default_backend <backend>',
    parse(ctx) { if (needArgs(ctx, 1, 'default_backend <backend>')) ctx.proxy!.defaultBackend = ctx.args[0]; },
  },
  {
    name: 'retries', sections: BE, usage: 'retries <n>  connection attempts after a failure (default 3)',
    parse(ctx) {
      if (!needArgs(ctx, 1, 'retries <n>')) return;
      const v = parseInteger(ctx.args[0], 'retries', 0, 1000);
      if (!v.ok) return ctx.error(v.error);
      ctx.proxy!.retries = v.value;
    },
  },
  timeoutKeyword('connect', 'connect', BE, 'maximum time to wait for a connection to a server'),
  timeoutKeyword('client', 'client', FE, 'client-side inactivity timeout'),
  timeoutKeyword('server', 'server', BE, 'server-side inactivity timeout'),
  timeoutKeyword('client-fin', 'clientFin', FE, 'client-side inactivity once the client has half-closed'),
  timeoutKeyword('server-fin', 'serverFin', BE, 'server-side inactivity once the server has half-closed'),
  timeoutKeyword('tunnel', 'tunnel', BE, 'inactivity timeout of an established tunnel, supersedes client and server timeouts'),
  timeoutKeyword('tarpit', 'tarpit', ['defaults', 'frontend', 'backend', 'listen'], 'how long a tarpitted request is held before its error is sent (default: timeout connect)'),
]);
