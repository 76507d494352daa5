/** Which inventory hosts play which system role. */
import type { Host } from '@labrig/core';
import { ConfigError } from '@labrig/core';
import type { SystemFile } from './system-file.js';

/** role name → its hosts, in inventory order. Every selector must match at least one host. */
export function assignRoles(sys: SystemFile, inventory: Host[], file: string): Record<string, Host[]> {
  const out: Record<string, Host[]> = {};
  for (const [role, spec] of Object.entries(sys.roles)) {
    const sel = spec.hosts;
    const picked = inventory.filter((h, i) => {
      if (sel.names && !sel.names.includes(h.name)) return false;
      if (sel.indexes && !sel.indexes.includes(i)) return false;
      if (sel.platformRoles && !h.roles.some((r) => sel.platformRoles!.includes(r))) return false;
      if (sel.labels && !Object.entries(sel.labels).every(([k, v]) => h.labels[k] === v)) return false;
      return true;
    });
    const missing = [
      ...(sel.names ?? []).filter((n) => !inventory.some((h) => h.name === n)).map((n) => `host ${n}`),
      ...(sel.indexes ?? []).filter((i) => i >= inventory.length).map((i) => `index ${i}`),
    ];
    if (picked.length === 0 || missing.length > 0) {
      throw new ConfigError(file, `roles.${role}.hosts`, `${missing.length ? `${missing.join(', ')} not in the inventory` : 'selects no host'} (the platform has ${inventory.length} hosts: ${inventory.map((h) => h.name).join(', ')})`, {
        hint: 'Start more hosts (for the local platform: [testbed] hosts in its platform.toml) or change the selector.',
      });
    }
    out[role] = picked;
  }
  return out;
}

/** Hosts of the given roles (all roles when undefined), each once, in inventory order. */
export function hostsOfRoles(assigned: Record<string, Host[]>, roles: string[] | undefined, inventory: Host[]): Host[] {
  const names = new Set(Object.entries(assigned).filter(([r]) => !roles || roles.includes(r)).flatMap(([, hs]) => hs.map((h) => h.name)));
  return inventory.filter((h) => names.has(h.name));
}
