/**
 * The `aws` platform: EC2 instances (provisioned with the SDK, or existing ones found by VPC) as
 * SSH hosts, an S3 bucket as the artifact store, background processes over SSH.
 */
import type { Host, Platform, PlatformContext } from '@labrig/core';
import { BackgroundLauncher } from '@labrig/core';
import { createSshPool, runDefaultsOf } from '@labrig/platform-kit';
import { artifactStoreOf } from './artifact-store.js';
import { configSchema, folderOf, type AwsPlatformConfig } from './config.js';
import { ec2For } from './ec2.js';
import { listHosts } from './inventory.js';
import { prepareSteps } from './prepare-steps.js';
import { stderrProgress, type Progress } from './progress.js';
import { provision } from './provision.js';
import { teardown } from './teardown.js';

export interface AwsPlatformOptions {
  /** Where provision and teardown report progress. Default: lines on stderr. */
  progress?: Progress;
}

/** The platform object; `options` only change where progress goes. */
export function createAwsPlatform(options: AwsPlatformOptions = {}): Platform<AwsPlatformConfig> {
  const progressFor = (ctx: PlatformContext): Progress => options.progress ?? stderrProgress(folderOf(ctx));
  return {
    name: 'aws',
    configSchema,
    /** DescribeInstances only: lists, never changes. */
    async inventory(cfg, ctx): Promise<Host[]> {
      const ec2 = await ec2For(cfg, ctx);
      try {
        return await listHosts(ec2, cfg, ctx);
      } finally {
        ec2.close();
      }
    },
    createConnector(cfg, ctx) {
      return createSshPool(ctx.root, cfg.ssh);
    },
    runDefaults: (cfg) => runDefaultsOf(cfg.run),
    provision: (cfg, ctx) => provision(cfg, ctx, progressFor(ctx)),
    teardown: (cfg, ctx) => teardown(cfg, ctx, progressFor(ctx)),
    prepare: prepareSteps,
    artifactStore: async (cfg) => artifactStoreOf(cfg),
    launcher: new BackgroundLauncher(),
  };
}

export const awsPlatform: Platform<AwsPlatformConfig> = createAwsPlatform();
