// Starting, watching and stopping the processes of a bench run. Every process
// is started in its own process group and its pid is appended to
// $BENCH_TMP/pids, so run.sh's trap can stop it even if this driver dies.
import { spawn } from 'node:child_process';
import { appendFileSync, openSync, closeSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { groupMembers } from './proc-cpu.mjs';

const live = new Set();

function pidFile() {
  return `${process.env.BENCH_TMP}/pids`;
}

// Start `cmd args` pinned to `core` with taskset (which execs, so the pid we
// get is the program's own; its children inherit the affinity).
// stdout/stderr go to <logBase>.out/.err unless `capture` is set.
export function startPinned(core, cmd, args, { logBase, capture = false, env } = {}) {
  const stdio = ['ignore', 'pipe', 'pipe'];
  let fds = [];
  if (!capture) {
    fds = [openSync(`${logBase}.out`, 'a'), openSync(`${logBase}.err`, 'a')];
    stdio[1] = fds[0];
    stdio[2] = fds[1];
  }
  const child = spawn('taskset', ['-c', String(core), cmd, ...args], {
    detached: true,
    stdio,
    env: env ?? process.env,
  });
  for (const fd of fds) closeSync(fd);
  const proc = { child, pid: child.pid, cmd, logBase, exited: false, code: null, signal: null, stdout: '' };
  if (child.pid === undefined) {
    proc.exited = true;
    proc.exitPromise = Promise.resolve();
    child.on('error', () => {});
    return proc;
  }
  appendFileSync(pidFile(), `${child.pid}\n`);
  live.add(proc);
  if (capture) {
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d) => (proc.stdout += d));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d) => (proc.stdout += d));
  }
  proc.exitPromise = new Promise((resolve) => {
    child.on('error', (err) => {
      proc.error = err;
      proc.exited = true;
      live.delete(proc);
      resolve();
    });
    child.on('exit', (code, signal) => {
      proc.exited = true;
      proc.code = code;
      proc.signal = signal;
      live.delete(proc);
      resolve();
    });
  });
  return proc;
}

function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    /* group already gone */
  }
}

// SIGTERM the process (the documented way to stop HAProxy and Switchyard),
// then SIGKILL its whole group after graceMs. Returns the pids that were still
// in the group after the leader exited (a worker the master left behind).
export async function stopProc(proc, graceMs = 5000) {
  if (!proc.exited) {
    try {
      process.kill(proc.pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
    await Promise.race([proc.exitPromise, sleep(graceMs, undefined, { ref: false })]);
  }
  // Give workers a moment to notice their master is gone.
  let stragglers = groupMembers(proc.pid);
  for (let i = 0; i < 20 && stragglers.length; i++) {
    await sleep(100);
    stragglers = groupMembers(proc.pid);
  }
  if (!proc.exited || stragglers.length) killGroup(proc.pid, 'SIGKILL');
  await Promise.race([proc.exitPromise, sleep(1000, undefined, { ref: false })]);
  return stragglers;
}

export async function stopAll() {
  await Promise.all([...live].map((p) => stopProc(p, 2000)));
}

// Resolves true once 127.0.0.1:port accepts a TCP connection; false if the
// process exits first or timeoutMs passes.
export async function waitListening(port, proc, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc && proc.exited) return false;
    const ok = await new Promise((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return true;
    await sleep(100);
  }
  return false;
}

function portFree(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host: '127.0.0.1', port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

// `count` free loopback ports at or above `base`, skipping used ones.
export async function pickPorts(base, count) {
  const out = [];
  for (let port = base; out.length < count; port++) {
    if (port > 65535) throw new Error(`no ${count} free ports at or above ${base}`);
    if (await portFree(port)) out.push(port);
  }
  return out;
}

export function tailFile(path, lines = 15) {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
