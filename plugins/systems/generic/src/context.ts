/** Everything a system target needs: the system file, the platform instance, the inventory, roles. */
import { join } from 'node:path';
import type { Host, PlatformInstance } from '@labrig/core';
import { ConfigError, loadPlatform } from '@labrig/core';
import type { PlanContext } from '@labrig/system-kit';
import { platformKnownHostsFile } from '@labrig/system-kit';
import { assignRoles } from './roles.js';
import { loadSystemFile, systemName, type SystemFile } from './system-file.js';
import { expand } from './template.js';
import { resolveEnv } from './plan.js';

export interface SystemContext extends PlanContext {
  root: string;
  /** targets/<name> */
  projectRoot: string;
  name: string;
  /** The system file, relative to the root. */
  file: string;
  sys: SystemFile;
  /** Build outputs: <root>/dist/<projectRoot>. */
  outDir: string;
  platform: PlatformInstance;
  inventory: Host[];
  roles: Record<string, Host[]>;
  /** Install folder on the hosts (relative to the login home). */
  dir: string;
  /** The system-wide env, secrets resolved. */
  env: Record<string, string>;
  /** Secret values (redacted from logs, journal, output). */
  secrets: string[];
  missingSecrets: string[];
}

/** The laptop's known_hosts file of the platform (its `[ssh] knownHosts`, default .labrig/known_hosts). */
export function knownHostsFileOf(ctx: SystemContext): string {
  return platformKnownHostsFile(ctx.root, ctx.platform);
}

export function outDirOf(root: string, projectRoot: string): string {
  return join(root, 'dist', projectRoot);
}

export { requirePlatformName } from '@labrig/system-kit';

export async function openSystem(root: string, projectRoot: string, platformName: string, opts: { requireSecrets?: boolean } = {}): Promise<SystemContext> {
  const platform = await loadPlatform(root, platformName);
  return openSystemOn(root, projectRoot, platform, await platform.platform.inventory(platform.cfg, platform.ctx), opts);
}

/** The system on a platform already loaded, with its inventory. */
export function openSystemOn(root: string, projectRoot: string, platform: PlatformInstance, inventory: Host[], opts: { requireSecrets?: boolean } = {}): SystemContext {
  const sys = loadSystemFile(root, projectRoot);
  const name = systemName(projectRoot);
  const file = `${projectRoot}/system.toml`;
  const roles = assignRoles(sys, inventory, file);
  const dir = expand(sys.deploy.dir, { system: name }, { file, field: 'deploy.dir' });
  const ctx: SystemContext = {
    root, projectRoot, name, file, sys, outDir: outDirOf(root, projectRoot), platform, inventory, roles, dir,
    env: {}, secrets: [], missingSecrets: [],
  };
  ctx.env = resolveEnv(ctx, sys.env, 'env');
  if (opts.requireSecrets && ctx.missingSecrets.length > 0) {
    throw new ConfigError(file, ctx.missingSecrets[0]!.split(' ')[0]!, `the secret ${ctx.missingSecrets[0]} is not set in labrig's environment`, {
      hint: 'Export it before running (it is passed to the hosts and redacted; labrig never writes it to disk).',
    });
  }
  return ctx;
}
