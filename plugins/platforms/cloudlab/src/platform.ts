/**
 * The `cloudlab` platform: the hosts of a CloudLab experiment someone made on the portal. labrig
 * cannot create or release CloudLab machines (there is no API it could use), so `provision` checks
 * that the listed hosts answer and there is no `teardown`: labrig started nothing to release here
 * (the kit's teardown target says so; processes a system started are stopped by its `stop` phase).
 */
import type { ArtifactStoreConfig, Host, Platform, PlatformContext, Step } from '@labrig/core';
import { BackgroundLauncher, parseDuration } from '@labrig/core';
import { createSshPool, runDefaultsOf } from '@labrig/platform-kit';
import { configSchema, type CloudlabConfig, type StoreConfig } from './config.js';
import { REAL_SYSTEM } from './host-system.js';
import { cloudlabInventory } from './inventory.js';
import { requireAnswers } from './provision.js';
import { prepareSteps } from './steps/index.js';

/** The `[store]` section as the artifact store (credentials: the standard AWS chain, never the file). */
export function artifactStoreOf(store: StoreConfig | undefined): ArtifactStoreConfig | undefined {
  if (!store || (!store.bucket && !store.registry)) return undefined;
  return {
    ...(store.bucket
      ? {
          s3: {
            bucket: store.bucket,
            ...(store.endpoint ? { endpoint: store.endpoint } : {}),
            ...(store.region ? { region: store.region } : {}),
            ...(store.prefix !== undefined ? { prefix: store.prefix } : {}),
            ...(store.forcePathStyle ? { forcePathStyle: true } : {}),
          },
        }
      : {}),
    ...(store.registry ? { registry: { address: store.registry, ...(store.registryInsecure ? { insecure: true } : {}) } } : {}),
  };
}

export const cloudlabPlatform: Platform<CloudlabConfig> = {
  name: 'cloudlab',
  configSchema,
  async inventory(cfg: CloudlabConfig, ctx: PlatformContext): Promise<Host[]> {
    return cloudlabInventory(cfg, ctx);
  },
  createConnector(cfg, ctx) {
    return createSshPool(ctx.root, cfg.ssh);
  },
  runDefaults: (cfg) => runDefaultsOf(cfg.run),
  async provision(cfg, ctx): Promise<Host[]> {
    const hosts = await cloudlabInventory(cfg, ctx);
    const connector = createSshPool(ctx.root, cfg.ssh);
    try {
      return await requireAnswers(hosts, connector, {
        timeoutMs: parseDuration(cfg.ssh.connectTimeout) + 5_000,
        concurrency: cfg.run.concurrency,
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      });
    } finally {
      await connector.close();
    }
  },
  prepare(cfg: CloudlabConfig, ctx): Step[] {
    return prepareSteps(cfg, REAL_SYSTEM, ctx);
  },
  async artifactStore(cfg): Promise<ArtifactStoreConfig | undefined> {
    return artifactStoreOf(cfg.store);
  },
  launcher: new BackgroundLauncher(),
};
