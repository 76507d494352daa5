import { join } from 'node:path';
import type { ArtifactStoreConfig, Host, Platform, PlatformContext } from '@labrig/core';
import { BackgroundLauncher } from '@labrig/core';
import { loadState, type TestbedState } from '@labrig/testbed/state';
import { configSchema, resolveFromRoot, type LocalPlatformConfig } from './config.js';
import { checkRoles, platformFileOfContext } from '@labrig/platform-kit';
import { configuredHostNames, hostsFromTestbed } from './inventory.js';
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
    ...(t.uplink ? { uplink: t.uplink } : {}),
    sharedUser: t.sharedUser,
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
    // [roles] is checked against the file before the testbed is looked at: a wrong name is the file's mistake.
    const file = platformFileOfContext(ctx);
    const described = configuredHostNames(cfg.testbed);
    checkRoles(cfg.roles, described, file);
    return hostsFromTestbed(await loadState(testbedDir(cfg, ctx)), cfg.roles, file, described);
  },
  createConnector(cfg, ctx) {
    return createPool(ctx.root, cfg);
  },
  runDefaults: runDefaultsOf,
  launcher: new BackgroundLauncher(),
  async provision(cfg, ctx): Promise<Host[]> {
    const file = platformFileOfContext(ctx);
    const described = configuredHostNames(cfg.testbed);
    checkRoles(cfg.roles, described, file);
    return hostsFromTestbed(await startTestbed(cfg, ctx), cfg.roles, file, described);
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

/**
 * The context of the platform file `file` (default configs/platforms/local/platform.toml): state
 * under `.labrig/state/<folder>`, as core's loadPlatform gives it, so messages name that file.
 */
export function platformContext(root: string, file?: string): PlatformContext {
  const folder = file ? /(?:^|\/)configs\/platforms\/([^/]+)\/platform\.toml$/.exec(file)?.[1] : undefined;
  return { root, stateDir: join(root, '.labrig', 'state', folder ?? 'local') };
}
