import * as nodeOs from 'node:os';
import { readFileSync } from 'node:fs';

/** Host facts, in one place so tests and the CLI agree. */
export const os = {
  cpuCount(): number {
    return typeof nodeOs.availableParallelism === 'function' ? nodeOs.availableParallelism() : nodeOs.cpus().length;
  },
  hostname(): string {
    return nodeOs.hostname();
  },
  /** Resolve a user or group name to its numeric id from /etc/passwd or /etc/group. */
  lookupId(kind: 'user' | 'group', name: string): number | undefined {
    if (/^\d+$/.test(name)) return Number(name);
    try {
      const text = readFileSync(kind === 'user' ? '/etc/passwd' : '/etc/group', 'utf8');
      for (const line of text.split('\n')) {
        const f = line.split(':');
        if (f[0] === name && f[2] !== undefined) return Number(f[2]);
      }
    } catch { /* no such file: unknown */ }
    return undefined;
  },
};
