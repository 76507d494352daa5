import type { Host } from '@labrig/core';
import { toHost } from '@labrig/testbed/state';
import type { TestbedState } from '@labrig/testbed/state';

/**
 * Testbed state -> inventory. Roles come from the config (`[roles]`); a host no role names is a
 * `worker`. Hosts behind the login host carry it as their ProxyJump.
 */
export function hostsFromTestbed(state: TestbedState, roles: Record<string, string[]>): Host[] {
  const login = state.login ? toHost(state.login, { roles: ['login'], labels: { platform: 'local' } }) : undefined;
  return state.hosts.map((h) => {
    const named = Object.entries(roles)
      .filter(([, names]) => names.includes(h.name))
      .map(([role]) => role);
    return toHost(h, {
      roles: named.length > 0 ? named : ['worker'],
      labels: { platform: 'local' },
      jump: h.behindLogin ? login : undefined,
    });
  });
}

/** Keep hosts whose name matches one of `names` (globs with `*`) and that have one of `roles`. */
export function filterHosts(hosts: Host[], names?: string[], roles?: string[]): Host[] {
  const patterns = (names ?? []).map(globToRegExp);
  return hosts.filter(
    (h) =>
      (patterns.length === 0 || patterns.some((re) => re.test(h.name))) &&
      (!roles || roles.length === 0 || h.roles.some((r) => roles.includes(r))),
  );
}

function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}
