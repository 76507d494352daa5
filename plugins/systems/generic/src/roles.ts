/** Which inventory hosts play which system role. */
import type { Host } from '@labrig/core';
import { ConfigError, didYouMean, listNames } from '@labrig/core';
import type { SystemFile } from './system-file.js';

const START_MORE = 'Start more hosts (for the local platform: [testbed] hosts in its platform.toml) or change the selector.';

/**
 * role name → its hosts, in inventory order. Every selector must match at least one host; a
 * selector naming a host or platform role the inventory does not have is a ConfigError on that
 * selector's field, with a did-you-mean when a known name is close and the known names.
 */
export function assignRoles(sys: SystemFile, inventory: Host[], file: string): Record<string, Host[]> {
  const out: Record<string, Host[]> = {};
  const hostNames = inventory.map((h) => h.name);
  const platformRoles = [...new Set(inventory.flatMap((h) => h.roles))].sort();
  const unknownName = (field: string, kind: string, bad: readonly string[], known: string[], hint: (guesses: [string, string | undefined][]) => string) => {
    const guesses = bad.map((n) => [n, didYouMean(n, known)] as [string, string | undefined]);
    const named = guesses.map(([n, g]) => `"${n}"${g ? ` (did you mean "${g}"?)` : ''}`).join(', ');
    return new ConfigError(file, field, `names ${named}, ${bad.length === 1 ? `not a ${kind}` : `not ${kind}s`} of the platform; known ${kind}s: ${listNames(known)}`, { hint: hint(guesses) });
  };
  const replaceHint = (field: string, guesses: [string, string | undefined][], otherwise: string) =>
    guesses.every(([, g]) => g !== undefined) ? `Replace ${guesses.map(([n, g]) => `"${n}" with "${g}"`).join(', ')} in ${field} in ${file}.` : otherwise;

  for (const [role, spec] of Object.entries(sys.roles)) {
    const sel = spec.hosts;
    const at = `roles.${role}.hosts`;
    const badNames = (sel.names ?? []).filter((n) => !hostNames.includes(n));
    if (badNames.length > 0) {
      throw unknownName(`${at}.names`, 'host', badNames, hostNames, (g) => replaceHint(`${at}.names`, g, START_MORE));
    }
    const badRoles = (sel.platformRoles ?? []).filter((r) => !platformRoles.includes(r));
    if (badRoles.length > 0) {
      throw unknownName(`${at}.platformRoles`, 'role', badRoles, platformRoles, (g) =>
        replaceHint(`${at}.platformRoles`, g, `Use roles the platform's hosts have (its [roles] section names them; \`nx run <platform>:hosts\` lists them), or change the selector.`),
      );
    }
    const badIndexes = (sel.indexes ?? []).filter((i) => i >= inventory.length);
    if (badIndexes.length > 0) {
      throw new ConfigError(file, `${at}.indexes`, `${badIndexes.map((i) => `index ${i}`).join(', ')} not in the inventory (the platform has ${inventory.length} hosts, indexes 0 to ${inventory.length - 1}: ${listNames(hostNames)})`, {
        hint: START_MORE,
      });
    }
    const picked = inventory.filter((h, i) => {
      if (sel.names && !sel.names.includes(h.name)) return false;
      if (sel.indexes && !sel.indexes.includes(i)) return false;
      if (sel.platformRoles && !h.roles.some((r) => sel.platformRoles!.includes(r))) return false;
      if (sel.labels && !Object.entries(sel.labels).every(([k, v]) => h.labels[k] === v)) return false;
      return true;
    });
    if (picked.length === 0) {
      throw new ConfigError(file, at, `selects no host (the platform has ${inventory.length} hosts: ${listNames(hostNames)})`, { hint: START_MORE });
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
