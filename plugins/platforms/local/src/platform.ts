import { join } from 'node:path';
import type { ArtifactStoreConfig, Host, Platform, PlatformContext } from '@labrig/core';
import { down, loadState, up, type TestbedState } from '@labrig/testbed';
import { configSchema, resolveFromRoot, type LocalPlatformConfig } from './config.js';
import { hostsFromTestbed } from './inventory.js';

function testbedDir(cfg: LocalPlatformConfig, ctx: PlatformContext): string {
  return resolveFromRoot(ctx.root, cfg.testbed.dir);
}

/** Start (or extend) the testbed the config describes; idempotent. */
export async function startTestbed(cfg: LocalPlatformConfig, ctx: PlatformContext): Promise<TestbedState> {
  const t = cfg.testbed;
  return up({
    dir: testbedDir(cfg, ctx),
    hosts: t.hosts,
    addressBase: t.addressBase,
    port: t.port,
    login: t.login,
    hostsBehindLogin: t.hostsBehindLogin,
    s3: t.s3,
    registry: t.registry,
    slurm: t.slurm,
  });
}

/** The `local` platform: hosts are testbed sshd processes on this machine's loopback. */
export const localPlatform: Platform<LocalPlatformConfig> = {
  name: 'local',
  configSchema,
  async inventory(cfg, ctx): Promise<Host[]> {
    return hostsFromTestbed(await loadState(testbedDir(cfg, ctx)), cfg.roles);
  },
  async provision(cfg, ctx): Promise<Host[]> {
    return hostsFromTestbed(await startTestbed(cfg, ctx), cfg.roles);
  },
  async teardown(cfg, ctx): Promise<void> {
    await down(testbedDir(cfg, ctx));
  },
  artifactStore(cfg): ArtifactStoreConfig | undefined {
    // Endpoints are only known once the testbed runs; callers read them from the testbed state.
    if (!cfg.testbed.s3 && !cfg.testbed.registry) return undefined;
    return {};
  },
};

export function platformContext(root: string): PlatformContext {
  return { root, stateDir: join(root, '.labrig', 'state', 'local') };
}
