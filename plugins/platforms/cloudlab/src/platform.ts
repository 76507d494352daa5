/**
 * The `cloudlab` platform: the hosts of a CloudLab experiment. Two ways:
 * - made by hand on the portal (no `[experiment]`): `provision` checks that the listed hosts
 *   answer; `teardown` releases nothing (labrig made nothing);
 * - made by labrig (`[experiment]`): `provision` creates or adopts the experiment through the
 *   Portal API, waits until it is ready, saves its manifest, then checks the hosts answer;
 *   `teardown --yes` terminates it (portal/experiment.ts).
 */
import type { ArtifactStoreConfig, Host, Platform, PlatformContext, Step } from '@labrig/core';
import { BackgroundLauncher, parseDuration } from '@labrig/core';
import { createSshPool, runDefaultsOf } from '@labrig/platform-kit';
import { configSchema, type CloudlabConfig, type StoreConfig } from './config.js';
import { REAL_SYSTEM } from './host-system.js';
import { cloudlabInventory } from './inventory.js';
import { requireAnswers } from './provision.js';
import { prepareSteps } from './steps/index.js';
import { checkExpiryBefore, expiryHandOffOf, provisionExperiment, readExperimentState, recoverNode, terminateRecordedExperiment } from './portal/experiment.js';
import { platformFilesOf } from './paths.js';

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
    if (cfg.experiment) await provisionExperiment({ ...cfg, experiment: cfg.experiment }, ctx, { log: (l) => console.log(l) });
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
  async teardown(cfg, ctx): Promise<void> {
    if (!cfg.experiment) {
      console.log(`${platformFilesOf(ctx).name}: the experiment was made on the portal, not by labrig: nothing to release (terminate it on the portal)`);
      return;
    }
    await terminateRecordedExperiment({ ...cfg, experiment: cfg.experiment }, ctx, { yes: ctx.confirmed === true, log: (l) => console.log(l) });
  },
  async recoverHost(cfg, ctx, host, _why, signal) {
    if (!cfg.experiment || cfg.experiment.recover === 'none') return undefined; // [experiment] recover = "reboot" turns it on
    return recoverNode({ ...cfg, experiment: cfg.experiment }, ctx, host, signal);
  },
  async expiry(cfg, ctx) {
    const s = cfg.experiment ? readExperimentState(ctx) : undefined;
    return s?.expiresAt && s.phase !== 'terminated' ? { what: `CloudLab experiment ${s.project}/${s.name}`, expiresAt: s.expiresAt } : undefined;
  },
  async beforeLongRun(cfg, ctx, run): Promise<void> {
    if (cfg.experiment) await checkExpiryBefore({ ...cfg, experiment: cfg.experiment }, ctx, run);
  },
  async expiryHandOff(cfg, ctx, run) {
    return cfg.experiment ? expiryHandOffOf({ ...cfg, experiment: cfg.experiment }, ctx, run) : undefined;
  },
  prepare(cfg: CloudlabConfig, ctx): Step[] {
    return prepareSteps(cfg, REAL_SYSTEM, ctx);
  },
  async artifactStore(cfg): Promise<ArtifactStoreConfig | undefined> {
    return artifactStoreOf(cfg.store);
  },
  launcher: new BackgroundLauncher(),
};
