import type { ExecutorContext } from '@nx/devkit';
import type { Host } from '@labrig/core';
import { DEFAULT_CONFIG_FILE, loadLocalConfig } from '../../config.js';
import { localPlatform, platformContext } from '../../platform.js';
import { reportError } from '@labrig/core';
import type { HostsExecutorOptions } from './schema.js';

export function formatInventory(hosts: Host[]): string {
  const rows = [
    ['NAME', 'ADDRESS', 'PORT', 'USER', 'ROLES', 'JUMP'],
    ...hosts.map((h) => [h.name, h.address, String(h.port ?? 22), h.user ?? '', h.roles.join(','), h.jump?.name ?? '']),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

export default async function hostsExecutor(o: HostsExecutorOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  try {
    const cfg = loadLocalConfig(context.root, o.config ?? DEFAULT_CONFIG_FILE);
    const hosts = await localPlatform.inventory(cfg, platformContext(context.root));
    console.log(o.json ? JSON.stringify(hosts, null, 2) : formatInventory(hosts));
    return { success: true };
  } catch (err) {
    return reportError(err);
  }
}
