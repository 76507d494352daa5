/** A testbed host as an inventory Host (what the connectors take). */
import type { Host } from '@labrig/core';
import type { TestbedHost } from './types.js';

/**
 * `h` as a Host: its address (also its private address: the testbed has one network), port, user
 * and key; roles and labels as given (default none), and the jump host when given.
 */
export function toHost(h: TestbedHost, extra: { roles?: string[]; jump?: Host; labels?: Record<string, string> } = {}): Host {
  return {
    name: h.name,
    address: h.address,
    port: h.port,
    user: h.user,
    roles: extra.roles ?? [],
    labels: extra.labels ?? {},
    privateAddress: h.address,
    identityFiles: [h.identityFile],
    ...(extra.jump ? { jump: extra.jump } : {}),
  };
}
