/** Which hosts a step runs on. */
import type { Host, Step } from '../contracts.js';

/** Hosts with any of the step's roles, or passing its predicate; all when the step names none. */
export function selectHosts(step: Pick<Step, 'hosts'>, hosts: readonly Host[]): Host[] {
  const sel = step.hosts;
  if (sel === undefined) return [...hosts];
  if (typeof sel === 'function') return hosts.filter((h) => sel(h));
  const roles = new Set(sel);
  return hosts.filter((h) => h.roles.some((r) => roles.has(r)));
}
