import type { Host } from '@labrig/core';
import { assignRoles } from '@labrig/platform-kit';
import { toHost } from '@labrig/testbed/state';
import type { TestbedState } from '@labrig/testbed/state';

/**
 * Testbed state -> inventory. Roles come from the config (`[roles]`); a host no role names is a
 * `worker` (the login host: `login`). Hosts behind the login host carry it as their ProxyJump.
 * A role naming a host the testbed does not have is a ConfigError on `file` (the kit's rule);
 * `alsoKnown` are the hosts the platform file describes, running or not.
 */
export function hostsFromTestbed(state: TestbedState, roles: Record<string, string[]>, file = 'configs/platforms/local/platform.toml', alsoKnown: readonly string[] = []): Host[] {
  const all = state.login ? [...state.hosts, state.login] : state.hosts;
  const assigned = assignRoles(
    all.map((h) => h.name),
    roles,
    file,
    (_, i) => (i < state.hosts.length ? ['worker'] : ['login']),
    { alsoKnown },
  );
  const login = state.login ? toHost(state.login, { roles: assigned[state.hosts.length]!, labels: { platform: 'local' } }) : undefined;
  return state.hosts.map((h, i) =>
    toHost(h, {
      roles: assigned[i]!,
      labels: { platform: 'local' },
      jump: h.behindLogin ? login : undefined,
    }),
  );
}

/**
 * The hosts a local platform file describes, running or not: `tb-0` … `tb-<hosts-1>` and
 * `tb-login` with `login` (the testbed's naming, packages/testbed/src/naming.ts).
 */
export function configuredHostNames(testbed: { hosts: number; login: boolean }): string[] {
  return [...Array.from({ length: testbed.hosts }, (_, i) => `tb-${i}`), ...(testbed.login ? ['tb-login'] : [])];
}

export { filterHosts } from '@labrig/platform-kit';
