/**
 * A reload's configuration is loaded and compiled in a worker thread
 * (piscina): reading and compiling large map and ACL files (100k entries)
 * or many certificates takes the master's CPU for a while, and its event
 * loop keeps serving the runtime API, the workers' IPC and (later) health
 * checks meanwhile. The result is plain data (CompiledConfig), cloned back.
 */
import { loadConfig } from '@switchyard/core/config/load';
import { useTicketKeys } from '@switchyard/core/tls/bind-ssl';
import type { CompiledConfig } from '@switchyard/core/config/compiled';
import type { ConfigDiagnostic } from '@switchyard/core/config/diagnostics';

export interface ConfigTask {
  files: string[];
  env: NodeJS.ProcessEnv;
  /** The master's session-ticket keys: the same across reloads. */
  ticketKeys: Uint8Array;
}

export interface ConfigTaskResult {
  config: CompiledConfig | undefined;
  diag: ConfigDiagnostic[];
}

export default async function loadInThread(task: ConfigTask): Promise<ConfigTaskResult> {
  useTicketKeys(task.ticketKeys);
  const { config, diag } = await loadConfig(task.files, task.env);
  return { config, diag: diag.items };
}
