#!/usr/bin/env node
/**
 * `switchyard`: the master process for its whole life (no re-exec, no
 * wrapper), so its PID is the service's PID. It parses and validates the
 * configuration, binds every socket, forks the workers, serves the Runtime
 * API and handles the signals: USR2 reloads, USR1 drains then stops,
 * TERM/INT stop now.
 */
import { writeFileSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadConfig, lexOptions, builtFeatures, HAPROXY_CONFIG_LEVEL } from '@switchyard/core/config/load';
import { evaluateConditionText } from '@switchyard/core/config/condition';
import { formatDiagnostic, type Diagnostics } from '@switchyard/core/config/diagnostics';
import type { CompiledConfig } from '@switchyard/core/config/compiled';
import { createProcessLogger } from '@switchyard/core/log/logger';
import { LogSinks } from '@switchyard/core/log/sinks';
import { parseArgs, USAGE, type CliOptions } from './cli';
import { ListenerSet } from './listeners';
import { Supervisor } from './supervisor';
import { RuntimeApi } from './runtime-api';
import { ServerAdmin } from './server-admin';
import { HealthChecker } from './checks/scheduler';
import { checkApi } from './checks/view';
import { notifyReady, notifyReloading, notifyStopping, sdNotifyLastError } from './systemd';
import { VERSION, RELEASE_DATE } from './version';
import { Piscina } from 'piscina';
import { ticketKeys } from '@switchyard/core/tls/bind-ssl';
import type { ConfigTask, ConfigTaskResult } from './config-thread';

/** One thread for reload compilations, started on the first reload and kept a while. */
let pool: Piscina | null = null;
function configThread(): Piscina {
  return pool ??= new Piscina({ filename: join(__dirname, 'config-thread.js'), minThreads: 0, maxThreads: 1, idleTimeout: 60_000 });
}

function printVersion(level: 1 | 2): void {
  const out = [`Switchyard version ${VERSION} ${RELEASE_DATE} - HAProxy ${HAPROXY_CONFIG_LEVEL} configuration language`];
  if (level === 2) {
    out.push(`Running on: Node.js ${process.version} (${process.platform} ${process.arch})`);
    const flags = [...builtFeatures()].map(([k, v]) => (v ? '+' : '-') + k).join(' ');
    out.push(`Feature list : ${flags}`);
    out.push(`Default settings :\n  nbthread = number of CPUs (${String(require('node:os').availableParallelism())}), one worker process each`);
  }
  process.stdout.write(out.join('\n') + '\n');
}

function printDiagnostics(diag: Diagnostics, quiet: boolean, diagMode: boolean): void {
  for (const d of diag.items) {
    if (quiet && d.severity !== 'alert') continue;
    // `.diag` messages only show in diagnostic mode (-dD), as in HAProxy.
    if (d.severity === 'diag' && !diagMode) continue;
    process.stderr.write(formatDiagnostic(d) + '\n');
  }
}

async function main(): Promise<void> {
  const parsed = parseArgs(process.argv.slice(2));
  if (!parsed.ok) {
    process.stderr.write(`[ALERT] ${parsed.error}\n${USAGE}`);
    process.exit(1);
  }
  const opts = parsed.opts;
  if (opts.help) { process.stdout.write(USAGE); process.exit(0); }
  if (opts.version) { printVersion(opts.version); process.exit(0); }
  if (opts.checkCondition !== null) {
    const r = evaluateConditionText(opts.checkCondition, lexOptions());
    if ('error' in r) { process.stderr.write(`[ALERT] Failed to evaluate condition: ${r.error}\n`); process.exit(2); }
    process.exit(r.value ? 0 : 1);
  }
  if (opts.files.length === 0) {
    process.stderr.write(`[ALERT] No configuration file specified (use -f <file|dir>).\n${USAGE}`);
    process.exit(1);
  }
  const { config, diag } = await loadConfig(opts.files);
  printDiagnostics(diag, opts.quiet, opts.diag);
  if (!config) {
    process.stderr.write(`[ALERT] Fatal errors found in configuration.\n`);
    process.exit(1);
  }
  applyCliOverrides(config, opts);
  if (opts.check) {
    if (!opts.quiet) process.stdout.write('Configuration file is valid\n');
    process.exit(0);
  }
  await run(config, opts);
}

function applyCliOverrides(cfg: CompiledConfig, opts: CliOptions): void {
  if (opts.pidfile) cfg.global.pidfile = opts.pidfile;
  if (opts.localPeer) cfg.global.localPeer = opts.localPeer;
}

async function run(initial: CompiledConfig, opts: CliOptions): Promise<void> {
  const log = createProcessLogger({ debug: opts.debug, quiet: opts.quiet, name: 'master' });
  const startedAt = Date.now();
  const sockets = new ListenerSet();
  const fatal = (msg: string): never => {
    process.stderr.write(`[ALERT] ${msg}\n`);
    sockets.closeAll();
    log.flush();
    process.exit(1);
  };

  // Every socket is bound before anything is forked.
  try { sockets.bindAll(initial.listeners); } catch (e) { return fatal(`Starting proxies: ${(e as Error).message}`); }
  const workerEntry = join(dirname(require.resolve('@switchyard/worker/main')), 'entry.js');
  const supervisor = new Supervisor(workerEntry, sockets, log);
  let trafficLog = new LogSinks(initial.global.logTargets, { tag: initial.global.logTag, pid: process.pid, hostname: initial.global.logSendHostname });
  // Server state changes are logged like HAProxy's send_log(proxy): to the
  // backend's `log global` targets and its own.
  const proxyLogs = (cfg: CompiledConfig): Array<LogSinks | null> => cfg.proxies.map(p => (p.logTargets.length
    ? new LogSinks(p.logTargets, { tag: cfg.global.logTag, pid: process.pid, hostname: cfg.global.logSendHostname }) : null));
  let backendLogs = proxyLogs(initial);
  const admin = new ServerAdmin(supervisor, (p, level, msg) => {
    if (supervisor.config.proxies[p]?.logGlobal) trafficLog.log(level, msg);
    backendLogs[p]?.log(level, msg);
    // And on the master's own log, as HAProxy also prints them on stderr
    // (ha_warning/ha_alert): an operator sees a server go down without syslog.
    if (level <= 3) log.error(msg); else if (level <= 5) log.warn(msg); else log.info(msg);
  });
  const checker = new HealthChecker(supervisor, admin);
  let api: RuntimeApi;
  try {
    api = await RuntimeApi.start(initial.global.statsSockets, {
      config: () => supervisor.config,
      version: VERSION,
      masterPid: process.pid,
      startedAt,
      collectStats: pid => supervisor.collectStats(pid),
      serverStates: () => supervisor.states,
      setServerAdmin: (p, s, set, clear) => admin.setAdmin(p, s, set, clear),
      setServerWeight: (p, s, w) => admin.setWeight(p, s, w),
      checks: checkApi(checker, admin, () => supervisor.applied()),
      processes: () => [
        { pid: process.pid, role: 'master', relPid: 0, reloads: supervisor.reloads, failedReloads: supervisor.failedReloads, startedAt, version: VERSION },
        ...supervisor.currentWorkers().map(w => ({ pid: w.pid, role: 'worker' as const, relPid: w.index + 1, reloads: supervisor.reloads, startedAt: w.startedAt, version: VERSION })),
        ...supervisor.oldWorkers().map(w => ({ pid: w.pid, role: 'worker' as const, relPid: w.index + 1, reloads: supervisor.reloads, startedAt: w.startedAt, version: VERSION, old: true })),
      ],
    });
  } catch (e) {
    return fatal(`Starting the Runtime API: ${(e as Error).message}`);
  }

  let pidfile = initial.global.pidfile;
  if (pidfile) {
    try { writeFileSync(pidfile, `${process.pid}\n`); } catch (e) { await api.close(); return fatal(`Cannot create pidfile ${pidfile}: ${(e as Error).message}`); }
  }
  const removePidfile = (): void => { if (pidfile) { try { unlinkSync(pidfile); } catch { /* gone */ } } };

  try {
    // The first generation's state table exists as soon as it starts: checks
    // show in the Runtime API from then on, and start while workers come up.
    const started = supervisor.startGeneration(initial);
    checker.start(initial);
    await started;
  } catch (e) {
    checker.stop();
    await supervisor.stopAll(false);
    await api.close();
    removePidfile();
    return fatal(`Starting workers: ${(e as Error).message}`);
  }
  log.info(`Switchyard ${VERSION} started: master ${process.pid}, ${initial.global.nbthread} worker(s), ${initial.listeners.length} listener(s)`);
  if (!notifyReady() && process.env.NOTIFY_SOCKET) log.warn(`systemd notification failed: ${sdNotifyLastError()}`);

  /* ---------------- reload ---------------- */
  let reloading = false;
  let reloadAgain = false;
  const reload = async (): Promise<void> => {
    if (reloading) { reloadAgain = true; return; }
    reloading = true;
    notifyReloading();
    log.info('reloading the configuration (SIGUSR2)');
    try {
      // Compiled in a thread of its own (config-thread.ts): large map/ACL
      // files do not stall the master's event loop.
      const { config, diag } = await configThread().run({ files: opts.files, env: process.env, ticketKeys: ticketKeys() } satisfies ConfigTask) as ConfigTaskResult;
      for (const d of diag) (d.severity === 'alert' ? log.error.bind(log) : log.warn.bind(log))(formatDiagnostic(d));
      if (!config) {
        supervisor.failedReloads++;
        log.error('reload refused: the new configuration has errors; still serving the previous one');
        return;
      }
      applyCliOverrides(config, opts);
      const before = new Set(supervisor.config.listeners.map(l => l.key));
      try {
        sockets.bindAll(config.listeners);
        await api.update(config.global.statsSockets);
        await supervisor.startGeneration(config);
      } catch (e) {
        // Undo what this reload bound; the old generation keeps serving.
        sockets.retain(new Set([...before]));
        supervisor.failedReloads++;
        log.error(`reload refused: ${(e as Error).message}; still serving the previous configuration`);
        return;
      }
      supervisor.reloads++;
      sockets.retain(new Set(config.listeners.map(l => l.key)));
      const oldLog = trafficLog;
      trafficLog = new LogSinks(config.global.logTargets, { tag: config.global.logTag, pid: process.pid, hostname: config.global.logSendHostname });
      void oldLog.close();
      const oldBackendLogs = backendLogs;
      backendLogs = proxyLogs(config);
      for (const l of oldBackendLogs) void l?.close();
      // The new generation serves: checks go on with its servers.
      checker.reload(config);
      if (config.global.pidfile !== pidfile) {
        removePidfile();
        pidfile = config.global.pidfile;
        if (pidfile) { try { writeFileSync(pidfile, `${process.pid}\n`); } catch (e) { log.error(`cannot write pidfile ${pidfile}: ${(e as Error).message}`); } }
      }
      log.info(`reload complete: generation with ${config.global.nbthread} worker(s) is serving`);
    } finally {
      reloading = false;
      notifyReady();
      if (reloadAgain) { reloadAgain = false; void reload(); }
    }
  };

  /* ---------------- stop ---------------- */
  let stopping = false;
  const stop = async (graceful: boolean, why: string): Promise<void> => {
    if (stopping) {
      // A second TERM during a graceful stop makes it immediate.
      if (!graceful) await supervisor.stopAll(false);
      return;
    }
    stopping = true;
    notifyStopping();
    checker.stop();
    log.info(`${why}: stopping${graceful ? ' after in-flight connections finish' : ''}`);
    const stopped = supervisor.stopAll(graceful);
    // The workers have been told to stop accepting. Our copies of the
    // listening sockets would keep them in LISTEN state until the last
    // in-flight connection ends, so new clients would complete the handshake
    // into a backlog nobody accepts from, then be reset. Close them now, as
    // HAProxy's soft-stop unbinds: new connections are refused at once.
    sockets.closeAll();
    await stopped;
    await api.close();
    removePidfile();
    await admin.drained();
    await trafficLog.close();
    for (const l of backendLogs) await l?.close();
    log.info('all workers exited; master exiting');
    log.flush();
    process.exit(0);
  };

  process.on('SIGUSR2', () => { void reload(); });
  process.on('SIGHUP', () => { log.info('SIGHUP ignored (use SIGUSR2 to reload)'); });
  process.on('SIGUSR1', () => { void stop(true, 'SIGUSR1'); });
  process.on('SIGTERM', () => { void stop(false, 'SIGTERM'); });
  process.on('SIGINT', () => { void stop(false, 'SIGINT'); });
}

main().catch(e => {
  process.stderr.write(`[ALERT] ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
