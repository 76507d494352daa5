/**
 * The `equinix` platform: devices of one deployment in an Equinix Metal project, found by their
 * deployment tag (inventory), created and deleted through the Metal API (provision, teardown; one
 * at a time per workspace), reached over SSH through the kit's pool, long-lived processes started
 * in the background.
 */
import { BackgroundLauncher, type Host, type Platform, type PlatformContext } from '@labrig/core';
import { createSshPool, platformFileOfContext, runDefaultsOf } from '@labrig/platform-kit';
import { configSchema, type EquinixConfig } from './config.js';
import { listDeploymentDevices } from './deployment.js';
import { checkEquinixRoles, hostsOf } from './inventory.js';
import { withStateLock } from './lock.js';
import type { MetalClient } from './metal/client.js';
import { openClient } from './open-client.js';
import { reportToStderr, type Report } from './progress.js';
import { provisionDevices } from './provision.js';
import { teardownDevices } from './teardown.js';

export interface EquinixPlatformOptions {
  /** Where progress lines go. Default: stderr. */
  report?: Report;
  /** Where the token is read from. Default: process.env. */
  env?: NodeJS.ProcessEnv;
}

/** A platform object; the module's default export is `createEquinixPlatform()`. */
export function createEquinixPlatform(o: EquinixPlatformOptions = {}): Platform<EquinixConfig> {
  const report = o.report ?? reportToStderr;
  const client = (cfg: EquinixConfig, ctx: PlatformContext): MetalClient =>
    openClient(cfg, { report, ...(ctx.signal ? { signal: ctx.signal } : {}), ...(o.env ? { env: o.env } : {}) });
  return {
    name: 'equinix',
    configSchema,
    async inventory(cfg, ctx): Promise<Host[]> {
      checkEquinixRoles(cfg, platformFileOfContext(ctx));
      return hostsOf(await listDeploymentDevices(client(cfg, ctx), cfg), cfg, ctx.root);
    },
    createConnector(cfg, ctx) {
      return createSshPool(ctx.root, cfg.ssh);
    },
    runDefaults: (cfg) => runDefaultsOf(cfg.run),
    launcher: new BackgroundLauncher(),
    async provision(cfg, ctx): Promise<Host[]> {
      checkEquinixRoles(cfg, platformFileOfContext(ctx)); // before any device is created
      const api = client(cfg, ctx); // a missing token fails here, before any connection
      const connector = createSshPool(ctx.root, cfg.ssh);
      try {
        return await withStateLock(ctx.stateDir, () => provisionDevices(cfg, ctx, { client: api, connector, report }));
      } finally {
        await connector.close();
      }
    },
    async teardown(cfg, ctx): Promise<void> {
      const api = client(cfg, ctx);
      await withStateLock(ctx.stateDir, () => teardownDevices(cfg, ctx, { client: api, report }));
    },
  };
}

export const equinixPlatform: Platform<EquinixConfig> = createEquinixPlatform();
