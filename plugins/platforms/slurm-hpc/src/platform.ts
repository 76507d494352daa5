/**
 * The slurm-hpc platform: a Slurm cluster reached over SSH through its login node (optionally
 * behind a jump host). Inventory = login node + the nodes of the jobs labrig started; processes
 * run as Slurm jobs (SlurmLauncher); provision checks the login node and Slurm; teardown cancels
 * this deployment's jobs.
 */
import type { Host, Platform, PlatformContext } from '@labrig/core';
import { createSshPool, runDefaultsOf } from '@labrig/platform-kit';
import { configSchema, type SlurmHpcConfig } from './config.js';
import { PLATFORM_NAME, inventoryOf } from './inventory.js';
import { SlurmLauncher } from './launcher.js';
import { provisionCluster } from './provision.js';
import { teardownJobs } from './teardown.js';

/** Run `f` with a fresh SSH pool for this platform file, closed afterwards. */
async function withConnector<T>(cfg: SlurmHpcConfig, ctx: PlatformContext, f: (c: ReturnType<typeof createSshPool>) => Promise<T>): Promise<T> {
  const connector = createSshPool(ctx.root, cfg.ssh);
  try {
    return await f(connector);
  } finally {
    await connector.close();
  }
}

export const slurmHpcPlatform: Platform<SlurmHpcConfig> = {
  name: PLATFORM_NAME,
  configSchema,
  inventory(cfg, ctx): Promise<Host[]> {
    return inventoryOf(cfg, ctx);
  },
  createConnector(cfg, ctx) {
    return createSshPool(ctx.root, cfg.ssh);
  },
  runDefaults(cfg) {
    return runDefaultsOf(cfg.run);
  },
  provision(cfg, ctx): Promise<Host[]> {
    return withConnector(cfg, ctx, (c) => provisionCluster(cfg, ctx, c));
  },
  async teardown(cfg, ctx): Promise<void> {
    await withConnector(cfg, ctx, (c) => teardownJobs(cfg, ctx, c));
  },
  launcher: new SlurmLauncher(),
};
