/**
 * `http-request use-service <name>` / `tcp-request content use-service
 * <name>` (HAProxy's applets: prometheus-exporter, Lua services): the
 * stream is handed to a service that answers instead of a server.
 *
 * This module is the hook: services register themselves here, as fetches
 * and actions do, and the action resolves the name when the rule is read.
 * No service exists in this version yet (the Prometheus exporter and the
 * stats page will be the first), so every `use-service` line is refused at
 * load with the reason, never ignored.
 */
import { registerActions, type ActionDef, type Action } from '../rules/rule-set';
import type { RuleSetName } from '../config/compiled';

export interface ServiceDef {
  /** As written after use-service (HAProxy: `prometheus-exporter`, `lua.<name>`). */
  name: string;
  /** The rule sets it may be used from. */
  sets: readonly RuleSetName[];
  /** The action that hands the stream over (ACT_DONE once the service owns the reply). */
  action(words: string[]): Action | string;
}

const services = new Map<string, ServiceDef>();

export function registerService(def: ServiceDef): void {
  if (services.has(def.name)) throw new Error(`service '${def.name}' registered twice`);
  services.set(def.name, def);
}

const SETS: readonly RuleSetName[] = ['http-request', 'tcp-request content'];

const useService: ActionDef = {
  name: 'use-service',
  sets: SETS,
  usage: 'use-service <service-name>  answer with a service instead of a server',
  parse(words, env) {
    const name = words[1];
    if (name === undefined) return "expects a service name";
    if (words.length > 2) return `unexpected argument '${words[2]}' after the service name`;
    const def = services.get(name);
    if (def === undefined) {
      const known = [...services.keys()];
      return known.length === 0
        ? `unknown service '${name}': no service is available in this version yet (HAProxy's prometheus-exporter arrives with the metrics)`
        : `unknown service '${name}' (available: ${known.join(', ')})`;
    }
    if (!def.sets.includes(env.set)) return `service '${name}' cannot be used from '${env.set}'`;
    return def.action(words);
  },
};

registerActions([useService]);
