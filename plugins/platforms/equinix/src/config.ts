/**
 * The platform file of an Equinix Metal platform (`configs/platforms/<name>/platform.toml`): its
 * JSON Schema (this plugin's sections plus the kit's `[roles]`, `[ssh]`, `[run]`) and its typed,
 * validated form. An invalid file is one ConfigError naming the file and the field.
 */
import { isAbsolute, join } from 'node:path';
import { loadConfigFile } from '@labrig/core';
import { withCommonSections, type CommonSections } from '@labrig/platform-kit';
import ownSections from './config.schema.json' with { type: 'json' };

/** `[devices]`: what provision creates. */
export interface DevicesSection {
  count: number;
  /** Default: the deployment id (see `hostnamePrefixOf`). */
  hostnamePrefix?: string;
  plan: string;
  metro: string;
  operatingSystem: string;
  billingCycle: 'hourly' | 'daily' | 'monthly' | 'yearly';
  tags: string[];
}

/** `[login]`: how the devices are reached over SSH. */
export interface LoginSection {
  /** May hold `{index}` and `{hostname}`. */
  user: string;
  port: number;
  network: 'public' | 'private';
}

/** `[wait]`: durations (`30m`, `10s`, ...). */
export interface WaitSection {
  active: string;
  ssh: string;
  deleted: string;
  pollInterval: string;
}

/** `[retry]`: how API requests are retried. */
export interface RetrySection {
  attempts: number;
  baseDelay: string;
  maxDelay: string;
  requestTimeout: string;
}

/** A validated platform file, defaults filled in. */
export interface EquinixConfig extends CommonSections {
  platform: '@labrig/platform-equinix';
  project: string;
  deployment: string;
  apiUrl: string;
  tokenEnv: string;
  devices: DevicesSection;
  login: LoginSection;
  wait: WaitSection;
  retry: RetrySection;
}

/** JSON Schema (draft-07) of the platform file. */
export const configSchema: object = withCommonSections(ownSections as { properties: Record<string, unknown> });

/** Read and validate a platform file (`file` relative to `root` unless absolute). */
export function loadEquinixConfig(root: string, file: string): EquinixConfig {
  return loadConfigFile<EquinixConfig>(isAbsolute(file) ? file : join(root, file), configSchema, { displayPath: file });
}

/** The hostname prefix: `[devices] hostnamePrefix`, else the deployment id. */
export function hostnamePrefixOf(cfg: EquinixConfig): string {
  return cfg.devices.hostnamePrefix ?? cfg.deployment;
}
