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

export { filterHosts } from '@labrig/platform-kit';
