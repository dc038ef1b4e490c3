/**
 * Loading configuration text in unit tests through the real loader: each
 * file gets its own temporary directory (removed after its tests), and the
 * diagnostics come back as `line: keyword: reason` strings.
 */
import { after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load';
import type { CompiledConfig, ProxyConfig } from '../src/config/compiled';

/** A defaults section with the timeouts that keep the loader from warning. */
export const HEAD = 'defaults\n  mode http\n  timeout client 1s\n  timeout server 1s\n  timeout connect 1s\n';

export type Loaded = { config: CompiledConfig | undefined; errors: string[]; warnings: string[] };

/** A loader writing into a directory named after `prefix`. */
export function configLoader(prefix: string): (text: string) => Promise<Loaded> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return async (text: string): Promise<Loaded> => {
    const path = join(dir, `c${Math.random().toString(36).slice(2)}.cfg`);
    writeFileSync(path, text);
    const r = await loadConfig([path], {});
    const pick = (sev: string): string[] => r.diag.items.filter(d => d.severity === sev).map(d => `${d.line}: ${d.keyword ? d.keyword + ': ' : ''}${d.reason}`);
    return { config: r.config, errors: pick('alert'), warnings: pick('warning') };
  };
}

export function proxy(c: CompiledConfig, name: string): ProxyConfig {
  const p = c.proxies.find(x => x.name === name);
  assert.ok(p, name);
  return p;
}
