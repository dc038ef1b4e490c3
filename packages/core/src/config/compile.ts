/**
 * After parsing: resolve names, assign ids, resolve server addresses, build
 * the listener list and check everything HAProxy checks before starting.
 * Produces the CompiledConfig that workers get.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { readFileSync } from 'node:fs';
import type { ParseState } from '../registry';
import type { CompiledConfig, ListenerConfig, ProxyConfig, ListenAddress } from './compiled';
import { listenAddressKey, formatListenAddress } from './compiled';
import { finalizeLogFormats } from '../log/format-keywords';
import { finalizeForwarding } from '../http/forwarding';
import { finalizeMonitorUri } from '../http/monitor-uri';
import { finalizeDispatch } from '../proxy/dispatch';
import { compileHttpLimits } from '../http/tune-keywords';
import { finalizeBindSsl } from '../tls/bind-ssl';
import { finalizeServerSsl } from '../tls/server-ssl';
import { finalizeRules } from '../rules/keywords';
import { finalizeHttpErrors, httpErrorPages } from '../http/http-errors';
import { finalizeUserlists } from '../http/userlist';
import { finalizeCookies } from '../http/cookie-persist';
import { patternFileReader } from '../rules/keywords';
import { finalizeBalance } from '../backend/balance-keywords';
import { finalizeChecks } from '../checks/keywords';

export async function compileConfig(state: ParseState, files: string[]): Promise<CompiledConfig | undefined> {
  const diag = state.diag;
  const g = state.global;
  if (g.maxconn === 0) g.maxconn = defaultMaxconn();
  compileHttpLimits(state);
  finalizeHttpErrors(state);
  finalizeBindSsl(state);
  finalizeServerSsl(state);

  const proxies = state.proxies;
  assignIds(proxies, state);
  // option tcplog/httplog/log-format become one compiled-once format string.
  finalizeLogFormats(state);

  const byName = (name: string, be: boolean) => proxies.find(p => p.name === name && (be ? p.cap.be : p.cap.fe));
  for (const p of proxies) {
    if (p.cap.fe) {
      if (p.defaultBackend !== null) {
        const be = byName(p.defaultBackend, true);
        if (!be) diag.error(p.file, p.line, 'default_backend', `proxy '${p.name}': unable to find required default_backend '${p.defaultBackend}'`);
        else checkModes(p, be, state, p.file, p.line, 'default_backend');
      }
      for (const u of p.useBackends) {
        // A log-format name (`use_backend be_%[req.hdr(host)]`) is looked up per request.
        if (u.backend.includes('%')) continue;
        const be = byName(u.backend, true);
        if (!be) diag.error(u.file, u.line, 'use_backend', `proxy '${p.name}': unable to find required use_backend '${u.backend}'`);
        else checkModes(p, be, state, u.file, u.line, 'use_backend');
      }
      if (p.binds.length === 0 && !p.disabled) diag.warn(p.file, p.line, p.cap.be ? 'listen' : 'frontend', `proxy '${p.name}' has no 'bind' directive. Please declare it as a backend if this was intended.`);
      if (!p.cap.be && p.defaultBackend === null && p.useBackends.length === 0) diag.warn(p.file, p.line, 'frontend', `proxy '${p.name}' has no backend: no default_backend nor use_backend; its connections will be closed`);
    } else {
      p.defaultBackend = null;
    }
    if (!p.cap.be) { p.servers = []; }
    warnMissingTimeouts(p, state);
  }

  // HTTP-only options outside mode http are dropped with HAProxy's warnings.
  finalizeForwarding(state);
  finalizeMonitorUri(state);
  finalizeBalance(state);
  await resolveServers(proxies, state);
  await finalizeDispatch(state);
  // Dynamic server cookies hash the resolved addresses.
  finalizeCookies(state, patternFileReader(state).read);
  // Health checks: rulesets, servers' check settings, check addresses (checks/keywords.ts).
  await finalizeChecks(state);
  const listeners = buildListeners(proxies, state);
  const userlists = finalizeUserlists(state);
  // ACLs, rules, use_backend: compiled once here for their errors (rules/keywords.ts).
  const patternFiles = finalizeRules(state);

  if (diag.hasErrors) return undefined;
  return { files, global: g, proxies, listeners, patternFiles, userlists, httpErrors: httpErrorPages(state) };
}

/** HAProxy's warning for a proxy that would wait forever on an idle peer. */
function warnMissingTimeouts(p: ProxyConfig, state: ParseState): void {
  if (p.disabled) return;
  const missing: string[] = [];
  if (p.cap.fe && !p.timeouts.client) missing.push("'client'");
  if (p.cap.be && !p.timeouts.connect) missing.push("'connect'");
  if (p.cap.be && !p.timeouts.server) missing.push("'server'");
  if (missing.length === 0) return;
  const kind = p.cap.fe && p.cap.be ? 'listen' : p.cap.fe ? 'frontend' : 'backend';
  state.diag.warn(p.file, p.line, kind, `missing timeouts for ${kind} '${p.name}'. While not properly invalid, you will certainly encounter various problems with such a configuration. To fix this, please ensure that all following timeouts are set to a non-zero value: ${missing.join(', ')}.`);
}

function checkModes(fe: ProxyConfig, be: ProxyConfig, state: ParseState, file: string, line: number, keyword: 'default_backend' | 'use_backend'): void {
  // HAProxy: an HTTP frontend cannot use a TCP backend (the reverse is an upgrade and is allowed).
  if (fe.mode === 'http' && be.mode === 'tcp') {
    state.diag.error(file, line, keyword, `frontend '${fe.name}' is in 'mode http' but backend '${be.name}' is in 'mode tcp'`);
  }
}

/** HAProxy assigns ids to the proxies and servers that have none, skipping forced ones. */
function assignIds(proxies: ProxyConfig[], state: ParseState): void {
  const used = new Map<number, ProxyConfig>();
  for (const p of proxies) {
    if (!p.forcedId) continue;
    const other = used.get(p.id);
    if (other) state.diag.error(p.file, p.line, 'id', `proxy '${p.name}' has the same id ${p.id} as proxy '${other.name}' (${other.file}:${other.line})`);
    used.set(p.id, p);
  }
  let next = 1;
  for (const p of proxies) {
    if (p.forcedId) continue;
    while (used.has(next)) next++;
    p.id = next;
    used.set(next, p);
  }
  for (const p of proxies) {
    const sids = new Map<number, string>();
    for (const s of p.servers) {
      if (!s.forcedId) continue;
      const other = sids.get(s.id);
      if (other !== undefined) state.diag.error(s.file, s.line, 'id', `server '${p.name}/${s.name}' has the same id ${s.id} as server '${other}'`);
      sids.set(s.id, s.name);
    }
    // cfgparse.c: the next automatic id moves past every server, a forced
    // one too (s1, s2 id 7, s3 → 1, 7, 3): consistent hashing places points by id.
    let n = 1;
    for (const s of p.servers) {
      if (!s.forcedId) {
        while (sids.has(n)) n++;
        s.id = n;
        sids.set(n, s.name);
      }
      n++;
    }
  }
}

/**
 * Host names are resolved once at load, as HAProxy's `init-addr libc` does:
 * with gethostbyname(), so IPv4 unless `ipv6@` asked for IPv6 (then a name
 * without an IPv6 address is an error, as in haproxy 2.6). Asking for any
 * family would give ::1 for `localhost` on dual-stack hosts.
 */
async function resolveServers(proxies: ProxyConfig[], state: ParseState): Promise<void> {
  const jobs: Promise<void>[] = [];
  for (const p of proxies) {
    for (const s of p.servers) {
      if (isIP(s.host)) { s.ip = s.host; continue; }
      jobs.push(lookup(s.host, { family: s.family }).then(
        r => { s.ip = r.address; s.family = r.family === 6 ? 6 : 4; },
        (e: NodeJS.ErrnoException) => state.diag.error(s.file, s.line, 'server', `could not resolve address '${s.host}' of server '${p.name}/${s.name}': ${e.code ?? e.message}`),
      ));
    }
  }
  await Promise.all(jobs);
}

function buildListeners(proxies: ProxyConfig[], state: ParseState): ListenerConfig[] {
  const out: ListenerConfig[] = [];
  const byKey = new Map<string, ListenerConfig>();
  proxies.forEach((p, index) => {
    if (!p.cap.fe || p.disabled) return;
    for (const b of p.binds) {
      for (const address of b.addresses) {
        const key = listenAddressKey(address);
        const prev = byKey.get(key) ?? findOverlap(out, address);
        if (prev) {
          state.diag.error(b.file, b.line, 'bind', `address ${formatListenAddress(address)} is already bound by '${proxies[prev.proxy].name}' at ${prev.file}:${prev.line}`);
          continue;
        }
        const l: ListenerConfig = { file: b.file, line: b.line, key, address, proxy: index, options: b.options };
        byKey.set(key, l);
        out.push(l);
      }
    }
  });
  return out;
}

/**
 * The master binds every socket before any of them listens, so the kernel
 * does not catch a wildcard and a specific address on the same port: check it
 * here, as the later listen() would fail.
 */
function findOverlap(existing: ListenerConfig[], a: ListenAddress): ListenerConfig | undefined {
  if (a.kind !== 'tcp') return undefined;
  const wild = (x: { host: string }) => x.host === '0.0.0.0' || x.host === '::';
  for (const l of existing) {
    const b = l.address;
    if (b.kind !== 'tcp' || b.port !== a.port) continue;
    const v6any = (x: { host: string }) => x.host === '::' && !l.options.v6only;
    if (a.family === b.family && (wild(a) || wild(b))) return l;
    if ((v6any(a) && b.family === 4) || (v6any(b) && a.family === 4)) return l;
  }
  return undefined;
}

/** Like HAProxy without a configured maxconn: half the file descriptor limit (two per proxied connection). */
function defaultMaxconn(): number {
  try {
    const limits = readFileSync('/proc/self/limits', 'utf8');
    const m = /Max open files\s+(\d+)/.exec(limits);
    if (m) return Math.max(100, Math.min(1_000_000, Math.floor((Number(m[1]) - 100) / 2)));
  } catch { /* not Linux */ }
  return 4096;
}
