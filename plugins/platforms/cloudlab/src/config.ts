/**
 * The CloudLab platform file (configs/platforms/<name>/platform.toml): its typed shape after
 * validation (defaults filled in), its JSON Schema, and a loader for tools and tests.
 */
import { isAbsolute, join } from 'node:path';
import { loadConfigFile } from '@labrig/core';
import { withCommonSections, type CommonSections } from '@labrig/platform-kit';
import raw from './config.schema.json' with { type: 'json' };
import type { ExperimentConfig } from './portal/experiment.js';

export const PLATFORM_MODULE = '@labrig/platform-cloudlab';

/** `[prepare.partition]`: mount the large unused partition. */
export interface PartitionConfig {
  blockDevice: string;
  mountPoint: string;
  fsType: 'ext4' | 'xfs';
  mountOptions: string;
  chown: boolean;
  force: boolean;
}

/** `[prepare.kernel]`: kernel boot parameters, then a reboot. */
export interface KernelConfig {
  params: string[];
  rebootTimeout: string;
}

/** `[prepare.numa]`: one NUMA node's CPUs offline. */
export interface NumaConfig {
  offlineNode: number;
}

/** `[store]`: where artifacts go (no credentials: the standard AWS chain applies). */
export interface StoreConfig {
  bucket?: string;
  endpoint?: string;
  region?: string;
  prefix?: string;
  forcePathStyle?: boolean;
  registry?: string;
  registryInsecure?: boolean;
}

/** A validated CloudLab platform file. */
export interface CloudlabConfig extends CommonSections {
  platform: typeof PLATFORM_MODULE;
  hosts: { manifest?: string; serversFile?: string; user?: string; port: number };
  network: { subnet: string };
  prepare: { partition?: PartitionConfig; kernel?: KernelConfig; numa?: NumaConfig; clusterAddress: boolean };
  linkTest: { method: 'tcp' | 'ping'; timeout: string };
  store?: StoreConfig;
  /** Made, watched, extended and terminated through the Portal API (portal/experiment.ts). */
  experiment?: ExperimentConfig;
}

/** The platform file's JSON Schema, with the shared `[roles]`, `[ssh]` and `[run]` sections. */
export const configSchema: object = withCommonSections(raw);

/**
 * Read and validate a CloudLab platform file; a problem is one ConfigError naming the file
 * (`file` as given, relative to `root`) and the field.
 */
export function loadCloudlabConfig(root: string, file: string): CloudlabConfig {
  return loadConfigFile<CloudlabConfig>(isAbsolute(file) ? file : join(root, file), configSchema, { displayPath: file });
}
