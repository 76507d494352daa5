import { isAbsolute, join } from 'node:path';
import { loadConfigFile } from '@labrig/core';
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
    s3: boolean;
    registry: boolean;
    slurm: boolean;
  };
  roles: Record<string, string[]>;
  ssh: {
    knownHosts: string;
    hostKeyPolicy: 'accept-new' | 'strict' | 'off';
    maxHandshakes: number;
    maxChannelsPerHost: number;
    connectTimeout: string;
  };
  run: { concurrency: number; timeout: string; retries: number; failurePolicy: string };
}

export const configSchema: object = schema;

/** The platform file of the `local` platform, relative to the workspace root. */
export const DEFAULT_CONFIG_FILE = 'configs/platforms/local/platform.toml';

export function loadLocalConfig(root: string, file: string = DEFAULT_CONFIG_FILE): LocalPlatformConfig {
  const path = isAbsolute(file) ? file : join(root, file);
  return loadConfigFile<LocalPlatformConfig>(path, schema, { displayPath: file });
}

/** A path from the config, relative to the workspace root unless absolute. */
export function resolveFromRoot(root: string, p: string): string {
  return isAbsolute(p) ? p : join(root, p);
}
