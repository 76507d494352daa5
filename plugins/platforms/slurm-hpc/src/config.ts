/**
 * The platform file of a slurm-hpc platform (configs/platforms/<name>/platform.toml): its JSON
 * Schema (with the [roles]/[ssh]/[run] sections every SSH platform shares) and its typed shape
 * after validation, defaults filled in.
 */
import { isAbsolute, join } from 'node:path';
import { loadConfigFile } from '@labrig/core';
import { withCommonSections, type CommonSections } from '@labrig/platform-kit';
import schema from './config.schema.json' with { type: 'json' };

export const PLATFORM_MODULE = '@labrig/platform-slurm-hpc';

/** The shape of one job: what [slurm] gives every job, what [slurm.jobs.<process>] overrides. */
export interface JobShape {
  ntasks?: number;
  nodes?: number;
  partition?: string;
  time?: string;
  sbatchArgs?: string[];
  srunArgs?: string[];
}

/** The jump host in front of the login node. */
export interface JumpConfig {
  name: string;
  address: string;
  port: number;
  user?: string;
  identityFiles?: string[];
}

export interface LoginConfig {
  name: string;
  address: string;
  port: number;
  user?: string;
  identityFiles?: string[];
  jump?: JumpConfig;
}

export interface SlurmSection {
  binDir?: string;
  partition?: string;
  account?: string;
  time?: string;
  ntasks: number;
  nodes?: number;
  sbatchArgs: string[];
  srunArgs: string[];
  logDir: string;
  jobPrefix?: string;
  accounting: 'auto' | 'off';
  pollInterval: string;
  stopTimeout: string;
  jobs: Record<string, JobShape>;
}

/** A validated slurm-hpc platform file. */
export interface SlurmHpcConfig extends CommonSections {
  platform: typeof PLATFORM_MODULE;
  login: LoginConfig;
  sharedFilesystem: boolean;
  slurm: SlurmSection;
}

/** The platform file's JSON Schema (draft-07), common sections included. */
export const configSchema: object = withCommonSections(schema);

/**
 * Read and validate a platform file outside the platform loader (tests, tools). Errors are one
 * ConfigError naming the file (as `displayPath`, default `file`) and the field.
 */
export function loadSlurmConfig(root: string, file: string): SlurmHpcConfig {
  return loadConfigFile<SlurmHpcConfig>(isAbsolute(file) ? file : join(root, file), configSchema, { displayPath: file });
}
