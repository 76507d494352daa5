/**
 * The aws platform file (`configs/platforms/<name>/platform.toml`): its JSON Schema (the platform's
 * own sections plus the kit's `[roles]`, `[ssh]`, `[run]`) and its type after validation, defaults
 * filled in. Credentials are not part of it: they come from the standard AWS chain.
 */
import { basename } from 'node:path';
import type { PlatformContext } from '@labrig/core';
import { platformFileOf } from '@labrig/core';
import { withCommonSections, type CommonSections } from '@labrig/platform-kit';
import schema from './config.schema.json' with { type: 'json' };

export interface LaunchTemplateRef {
  id?: string;
  name?: string;
  version: string;
}

/** `[instances]`: what provision creates. */
export interface InstancesSection {
  count: number;
  namePrefix: string;
  imageId?: string;
  launchTemplate?: LaunchTemplateRef;
  instanceType?: string;
  subnetId?: string;
  securityGroupIds?: string[];
  keyName?: string;
  tags: Record<string, string>;
}

export interface AwsPlatformConfig extends CommonSections {
  platform: '@labrig/platform-aws';
  region: string;
  profile?: string;
  deployment?: string;
  endpoints: { ec2?: string; s3?: string };
  instances?: InstancesSection;
  inventory: { by: 'tag' | 'vpc'; vpcId?: string };
  hosts: { user: string; port: number; address: 'public' | 'private' };
  wait: { running: string; ssh: string; terminated: string; interval: string };
  prepare: { waitCloudInit: boolean };
  /** The store (without `bucket`: none) and the common `distribute`. */
  artifacts: CommonSections['artifacts'] & { bucket?: string; prefix?: string; region?: string; registry?: string; registryInsecure?: boolean };
}

/** The schema the platform file is validated against (draft-07, descriptions and defaults). */
export const configSchema: object = withCommonSections(schema);

/**
 * The platform file a context belongs to, for messages: core keeps state under
 * `.labrig/state/<folder>` for the file `configs/platforms/<folder>/platform.toml`.
 */
export function configFileOf(ctx: PlatformContext): string {
  return platformFileOf(folderOf(ctx));
}

/** The platform folder name (`aws` for configs/platforms/aws/). */
export function folderOf(ctx: PlatformContext): string {
  return basename(ctx.stateDir);
}
