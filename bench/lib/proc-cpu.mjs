// CPU accounting from /proc, so the proxies are charged for exactly the CPU
// they burn: utime+stime of a process and all of its descendants.
import { readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

// Clock ticks per second for the utime/stime fields (usually 100).
export const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

// Fields of /proc/<pid>/stat, 1-based as in proc(5). `comm` (field 2) may hold
// spaces and parentheses, so split after the last ')'.
function readStat(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const field = (n) => Number(rest[n - 3]);
  return { pid, ppid: field(4), pgrp: field(5), utime: field(14), stime: field(15) };
}

// Direct children of every thread of pid (/proc/<pid>/task/*/children). Falls
// back to a /proc scan on kernels built without CONFIG_PROC_CHILDREN.
function childrenOf(pid) {
  let tasks;
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const out = [];
  let supported = true;
  for (const tid of tasks) {
    try {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (text) for (const c of text.split(/\s+/)) out.push(Number(c));
    } catch (err) {
      if (err.code === 'ENOENT' && tid === String(pid)) supported = false;
    }
  }
  if (!supported) {
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      const st = readStat(name);
      if (st && st.ppid === pid) out.push(Number(name));
    }
  }
  return out;
}

// pid and all its descendants, root first.
export function processTree(root) {
  const seen = [];
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop();
    if (seen.includes(pid)) continue;
    if (!readStat(pid)) continue;
    seen.push(pid);
    stack.push(...childrenOf(pid));
  }
  return seen;
}

// { pids, ticks } summed over the tree. Ticks of a descendant that exits
// between two snapshots are lost, so callers compare the pid lists too.
export function treeCpu(root) {
  const pids = processTree(root);
  let ticks = 0;
  for (const pid of pids) {
    const st = readStat(pid);
    if (st) ticks += st.utime + st.stime;
  }
  return { pids, ticks };
}

// Every live process in a process group (to find stragglers after a stop).
export function groupMembers(pgrp) {
  const out = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = readStat(name);
    if (st && st.pgrp === pgrp) out.push(st.pid);
  }
  return out;
}

// "Cpus_allowed_list" of a process, e.g. "0" or "0-1".
export function cpusAllowed(pid) {
  try {
    const m = /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? m[1] : '?';
  } catch {
    return '?';
  }
}

// Per-core jiffies from /proc/stat: busy = everything but idle and iowait
// (guest time is already included in user).
export function coreTimes() {
  const out = {};
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const [user, nice, system, idle, iowait, irq, softirq, steal] = m[2].split(/\s+/).map(Number);
    const busy = user + nice + system + irq + softirq + steal;
    out[m[1]] = { busy, softirq, total: busy + idle + iowait };
  }
  return out;
}

// Busy fraction of each core between two coreTimes() samples.
export function coreBusy(before, after) {
  return coreShare(before, after, 'busy');
}

// Fraction of each core spent in softirq (loopback TCP is processed there).
export function coreSoftirq(before, after) {
  return coreShare(before, after, 'softirq');
}

function coreShare(before, after, key) {
  const out = {};
  for (const core of Object.keys(after)) {
    const dt = after[core].total - (before[core]?.total ?? 0);
    out[core] = dt > 0 ? (after[core][key] - before[core][key]) / dt : 0;
  }
  return out;
}
