/**
 * Launch settings: what the Slurm launcher needs from the platform file and context (binaries,
 * partition, account, time, task counts, extra sbatch/srun arguments, log and state folders,
 * job-name prefix).
 *
 * Why they travel on the login Host (label `slurm.launch`): core's `Platform.launcher` is one
 * object per plugin, called as `start(remote, spec)` without the platform's config or context.
 * The inventory puts these settings on the hosts it returns, so the launcher a system takes from
 * `platform.launcher` acts with the right settings for whichever deployment the remote belongs
 * to, in any process, without a registry of configs kept in module state.
 */
import { basename } from 'node:path';
import type { Host, PlatformContext, ProcessSpec } from '@labrig/core';
import { parseDuration } from '@labrig/core';
import type { JobShape, SlurmHpcConfig } from './config.js';
import { NotASlurmHost } from './errors.js';

/** The label of the login Host that carries the launch settings (JSON). */
export const LAUNCH_LABEL = 'slurm.launch';

export interface LaunchSettings {
  /** Directory of the Slurm commands on the cluster; undefined: from PATH. */
  binDir?: string;
  partition?: string;
  account?: string;
  time?: string;
  ntasks: number;
  nodes?: number;
  sbatchArgs: string[];
  srunArgs: string[];
  /** Job and task logs (relative to the cluster user's home unless absolute). */
  logDir: string;
  /** Job name = jobPrefix + process name. */
  jobPrefix: string;
  accounting: 'auto' | 'off';
  pollIntervalMs: number;
  stopTimeoutMs: number;
  /** Per process name: the shape of its job. */
  jobs: Record<string, JobShape>;
  /** Where the jobs labrig started are recorded (the platform's state directory); undefined: not recorded. */
  stateDir?: string;
}

/** The job-name prefix when the platform file sets none: `labrig-<platform folder name>-`. */
export function defaultJobPrefix(ctx: PlatformContext): string {
  const instance = basename(ctx.stateDir).replace(/[^A-Za-z0-9_.-]/g, '-');
  return `labrig-${instance}-`;
}

/** The settings a platform file and context give. */
export function launchSettingsOf(cfg: SlurmHpcConfig, ctx: PlatformContext): LaunchSettings {
  const s = cfg.slurm;
  return {
    ...(s.binDir !== undefined ? { binDir: s.binDir } : {}),
    ...(s.partition !== undefined ? { partition: s.partition } : {}),
    ...(s.account !== undefined ? { account: s.account } : {}),
    ...(s.time !== undefined ? { time: s.time } : {}),
    ntasks: s.ntasks,
    ...(s.nodes !== undefined ? { nodes: s.nodes } : {}),
    sbatchArgs: s.sbatchArgs,
    srunArgs: s.srunArgs,
    logDir: s.logDir,
    jobPrefix: s.jobPrefix ?? defaultJobPrefix(ctx),
    accounting: s.accounting,
    pollIntervalMs: parseDuration(s.pollInterval, 'slurm.pollInterval'),
    stopTimeoutMs: parseDuration(s.stopTimeout, 'slurm.stopTimeout'),
    jobs: s.jobs,
    stateDir: ctx.stateDir,
  };
}

/** The settings a host of this platform's inventory carries; NotASlurmHost when it carries none. */
export function settingsFromHost(host: Host): LaunchSettings {
  const text = host.labels[LAUNCH_LABEL];
  if (text === undefined) throw new NotASlurmHost(host.name, `it has no \`${LAUNCH_LABEL}\` label`);
  try {
    return JSON.parse(text) as LaunchSettings;
  } catch (cause) {
    throw new NotASlurmHost(host.name, `its \`${LAUNCH_LABEL}\` label is not JSON`, { cause });
  }
}

/** A ProcessSpec a Slurm-aware system may widen with the shape of its job (wins over the platform file). */
export interface SlurmProcessSpec extends ProcessSpec {
  slurm?: JobShape;
}

/** What one job is submitted with: platform-wide settings, then [slurm.jobs.<name>], then the spec's own. */
export interface ResolvedShape {
  ntasks: number;
  nodes?: number;
  partition?: string;
  account?: string;
  time?: string;
  sbatchArgs: string[];
  srunArgs: string[];
}

/** The last defined value: later layers win. */
function lastDefined<T>(base: T | undefined, layers: (T | undefined)[]): T | undefined {
  return layers.reduce<T | undefined>((v, x) => x ?? v, base);
}

export function resolveShape(s: LaunchSettings, spec: SlurmProcessSpec): ResolvedShape {
  const layers = [s.jobs[spec.name] ?? {}, spec.slurm ?? {}];
  const nodes = lastDefined(s.nodes, layers.map((l) => l.nodes));
  const partition = lastDefined(s.partition, layers.map((l) => l.partition));
  const time = lastDefined(s.time, layers.map((l) => l.time));
  return {
    ntasks: lastDefined(s.ntasks, layers.map((l) => l.ntasks)) ?? 1,
    ...(nodes !== undefined ? { nodes } : {}),
    ...(partition !== undefined ? { partition } : {}),
    ...(s.account !== undefined ? { account: s.account } : {}),
    ...(time !== undefined ? { time } : {}),
    sbatchArgs: [...s.sbatchArgs, ...layers.flatMap((l) => l.sbatchArgs ?? [])],
    srunArgs: [...s.srunArgs, ...layers.flatMap((l) => l.srunArgs ?? [])],
  };
}

const PROCESS_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** The Slurm job name of a process: prefix + name (names as the background launcher allows them). */
export function jobNameOf(s: LaunchSettings, name: string): string {
  if (!PROCESS_NAME.test(name)) throw new TypeError(`process name ${JSON.stringify(name)}: use letters, digits, '.', '_', '-' (max 64)`);
  return `${s.jobPrefix}${name}`;
}

/** A Slurm command's path on the cluster (`binDir/cmd`, or the bare name for PATH lookup). */
export function slurmBin(s: Pick<LaunchSettings, 'binDir'>, cmd: 'sbatch' | 'srun' | 'squeue' | 'scancel' | 'sinfo' | 'sacct'): string {
  return s.binDir ? `${s.binDir.replace(/\/+$/, '')}/${cmd}` : cmd;
}
