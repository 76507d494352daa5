/**
 * Reconciling the state file with what the API shows: records whose create request never
 * answered (no id) get the id of the device that request made, found by the deployment tag and
 * the hostname; when no such device exists the create never happened and the record goes.
 */
import type { MetalDevice } from './metal/types.js';
import { LEAVING_STATES } from './metal/types.js';
import type { DeploymentState } from './state.js';

/** Settle records without id against `devices` (the deployment's, tag already checked). Returns whether anything changed. */
export function settlePending(state: DeploymentState, devices: readonly MetalDevice[]): boolean {
  const pending = state.devices.filter((r) => r.id === undefined);
  if (pending.length === 0) return false;
  const known = new Set(state.devices.flatMap((r) => (r.id ? [r.id] : [])));
  for (const r of pending) {
    const made = devices.find((d) => d.hostname === r.hostname && !known.has(d.id) && !LEAVING_STATES.has(d.state));
    if (made) {
      r.id = made.id;
      known.add(made.id);
    }
  }
  state.devices = state.devices.filter((r) => r.id !== undefined);
  return true;
}

/** A device the deployment tag and hostname say a create request made (for a create whose answer was lost). */
export function findByHostname(devices: readonly MetalDevice[], hostname: string, tag: string): MetalDevice | undefined {
  return devices.find((d) => d.hostname === hostname && d.tags?.includes(tag) && !LEAVING_STATES.has(d.state));
}
