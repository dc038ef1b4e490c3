/**
 * Reads configuration files (a directory contributes its *.cfg files in
 * lexical order, as HAProxy does), lexes, parses and compiles them.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import '../features';
import { Diagnostics } from './diagnostics';
import { lexConfig, type LexOptions } from './lexer';
import { newParseState, parseLines } from './parser';
import { compileConfig } from './compile';
import type { CompiledConfig } from './compiled';

/** The HAProxy configuration language level we implement (for version_atleast()). */
export const HAPROXY_CONFIG_LEVEL = '2.6';

export interface LoadResult {
  config: CompiledConfig | undefined;
  diag: Diagnostics;
}

/** Feature names for `feature(NAME)` in conditions and `-vv`. */
export function builtFeatures(): Map<string, boolean> {
  return new Map<string, boolean>([
    ['LINUX_SPLICE', false], ['TPROXY', false], ['OPENSSL', false], ['LUA', false], ['PROMEX', false],
    ['ZLIB', false], ['SLZ', false], ['PCRE2', false], ['SYSTEMD', process.platform === 'linux'],
    ['THREAD', false], ['CPU_AFFINITY', false], ['ACCEPT4', true], ['GETADDRINFO', true],
    ['NS', false], ['QUIC', false], ['PROCCTL', false], ['BACKTRACE', false], ['STATIC_PCRE2', false],
  ]);
}

export function lexOptions(env: NodeJS.ProcessEnv = process.env): LexOptions {
  const features = new Set<string>();
  for (const [k, v] of builtFeatures()) if (v) features.add(k);
  return { env, features, version: HAPROXY_CONFIG_LEVEL };
}

/** Expands `-f` arguments: files as given, directories to their *.cfg files sorted. */
export function expandConfigPaths(paths: string[], diag: Diagnostics): string[] {
  const out: string[] = [];
  for (const p of paths) {
    let st;
    try { st = statSync(p); } catch (e) {
      diag.error(p, 0, '', `cannot open configuration file/directory '${p}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      continue;
    }
    if (st.isDirectory()) {
      const names = readdirSync(p).filter(n => n.endsWith('.cfg')).sort();
      for (const n of names) if (statSync(join(p, n)).isFile()) out.push(join(p, n));
    } else {
      out.push(p);
    }
  }
  return out;
}

export async function loadConfig(paths: string[], env: NodeJS.ProcessEnv = process.env): Promise<LoadResult> {
  const diag = new Diagnostics();
  const files = expandConfigPaths(paths, diag);
  if (files.length === 0 && !diag.hasErrors) diag.error('', 0, '', 'no configuration file given (use -f <file|dir>)');
  const state = newParseState(diag);
  const opts = lexOptions(env);
  for (const file of files) {
    let text: string;
    try { text = readFileSync(file, 'utf8'); } catch (e) {
      diag.error(file, 0, '', `cannot read configuration file '${file}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      continue;
    }
    parseLines(lexConfig(text, file, diag, opts), state);
  }
  if (diag.hasErrors) return { config: undefined, diag };
  const config = await compileConfig(state, files);
  return { config, diag };
}
