import { isAbsolute, join } from 'node:path';
import { loadConfigFile } from '@labrig/core';
import { resolveFromRoot, withCommonSections, type RunSection, type SshSection } from '@labrig/platform-kit';
import schema from './config.schema.json' with { type: 'json' };

/** configs/platforms/local/platform.toml, after validation and defaults. */
export interface LocalPlatformConfig {
  platform: '@labrig/platform-local';
  testbed: {
    hosts: number;
    dir: string;
    addressBase: string;
    port: number;
    login: boolean;
    hostsBehindLogin: number;
    uplink?: string;
    sharedUser: boolean;
    s3: boolean;
    registry: boolean;
    slurm: boolean;
  };
  roles: Record<string, string[]>;
  ssh: SshSection;
  run: RunSection;
}

/** The local schema with the [ssh] and [run] sections every SSH platform shares (its own [roles] wins). */
export const configSchema: object = withCommonSections(schema);

/** The platform file of the `local` platform, relative to the workspace root. */
export const DEFAULT_CONFIG_FILE = 'configs/platforms/local/platform.toml';

export function loadLocalConfig(root: string, file: string = DEFAULT_CONFIG_FILE): LocalPlatformConfig {
  const path = isAbsolute(file) ? file : join(root, file);
  return loadConfigFile<LocalPlatformConfig>(path, configSchema, { displayPath: file });
}

export { resolveFromRoot };
