import { join } from 'node:path';
import type { ArtifactStoreConfig, Host, Platform, PlatformContext } from '@labrig/core';
import { BackgroundLauncher } from '@labrig/core';
import { loadState, type TestbedState } from '@labrig/testbed/state';
import { configSchema, resolveFromRoot, type LocalPlatformConfig } from './config.js';
import { hostsFromTestbed } from './inventory.js';
import { createPool, runDefaultsOf } from './session.js';

/** The bucket `push` uses on the testbed's S3 server. */
export const LOCAL_BUCKET = 'labrig-artifacts';

function testbedDir(cfg: LocalPlatformConfig, ctx: PlatformContext): string {
  return resolveFromRoot(ctx.root, cfg.testbed.dir);
}

/** Start (or extend) the testbed the config describes; idempotent. */
export async function startTestbed(cfg: LocalPlatformConfig, ctx: PlatformContext): Promise<TestbedState> {
  const t = cfg.testbed;
  const { up } = await import('@labrig/testbed'); // what starts a testbed loads only when one starts
  return up({
    dir: testbedDir(cfg, ctx),
    hosts: t.hosts,
    addressBase: t.addressBase,
    port: t.port,
    login: t.login,
    hostsBehindLogin: t.hostsBehindLogin,
    s3: t.s3,
    ...(t.s3 ? { s3Buckets: [LOCAL_BUCKET] } : {}),
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
  createConnector(cfg, ctx) {
    return createPool(ctx.root, cfg);
  },
  runDefaults: runDefaultsOf,
  launcher: new BackgroundLauncher(),
  async provision(cfg, ctx): Promise<Host[]> {
    return hostsFromTestbed(await startTestbed(cfg, ctx), cfg.roles);
  },
  async teardown(cfg, ctx): Promise<void> {
    const { down } = await import('@labrig/testbed');
    await down(testbedDir(cfg, ctx));
  },
  async artifactStore(cfg, ctx): Promise<ArtifactStoreConfig | undefined> {
    if (!cfg.testbed.s3 && !cfg.testbed.registry) return undefined;
    // Endpoints are known once the testbed runs: they come from its state.
    const state = await loadState(testbedDir(cfg, ctx));
    return {
      ...(state.s3
        ? {
            s3: {
              bucket: LOCAL_BUCKET,
              endpoint: state.s3.endpoint,
              region: state.s3.region,
              forcePathStyle: true,
              credentials: { accessKeyId: state.s3.accessKeyId, secretAccessKey: state.s3.secretAccessKey },
            },
          }
        : {}),
      ...(state.registry ? { registry: { address: state.registry.address, insecure: true } } : {}),
    };
  },
};

export function platformContext(root: string): PlatformContext {
  return { root, stateDir: join(root, '.labrig', 'state', 'local') };
}
