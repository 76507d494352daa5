/** targets/<name>/system.toml of a CFiddle deployment: its type, the checks the schema cannot make, the roles. */
import type { Host } from '@labrig/core';
import { parseDuration, ConfigError, didYouMean, listNames } from '@labrig/core';
import type { SystemDefinition } from '@labrig/system-kit';
import schema from './system.schema.json' with { type: 'json' };

export interface CfiddleConfig {
  system: '@labrig/system-cfiddle';
  version?: string;
  description?: string;
  sources?: string[];
  mode: 'auto' | 'cluster' | 'slurm';
  env: Record<string, string>;
  sudo: boolean;
  head?: string;
  workers?: number;
  headAddress?: string;
  dockerInstall: string[];
  repo: { url: string; ref: string; dir: string; cfiddleUrl: string; cfiddleRef: string; delegateFunctionUrl: string; delegateFunctionRef: string };
  images: { tag: string; registry?: string; dockerhubUser?: string };
  stack: { name: string; composeFile: string; workerServices: number; healthTimeout: string; slurmTimeout: string; stopTimeout: string };
  users: { cfiddle: string; cfiddleUid: number; test: string[]; jovyan: boolean; mungeUid: number; mungeGid: number };
  nfs: { exportsFile: string; home: string; munge: string; install: string[] };
  jupyter: { port: number; tokenEnv: string };
  slurm: { sandboxImage?: string; delegateConfig: string; temporaryFileRoot: string; delegateExecutable: string; partition?: string; jobTimeout: string };
}

/** The images the seed's compose file builds, in its order. */
export const IMAGES = ['cfiddle-cluster', 'cfiddle-user', 'cfiddle-sandbox'] as const;

/** The platform name (Platform.name) of @labrig/platform-slurm-hpc. */
export const SLURM_HPC = 'slurm-hpc';

/** Which procedure applies: the whole cluster, or only the sandbox + config on an existing Slurm. */
export function modeOf(cfg: CfiddleConfig, platformName: string | undefined): 'cluster' | 'slurm' {
  if (cfg.mode !== 'auto') return cfg.mode;
  return platformName === SLURM_HPC ? 'slurm' : 'cluster';
}

const platformOf = (inventory: Host[]): string | undefined => inventory[0]?.labels['platform'];

export const cfiddleSystem: SystemDefinition<CfiddleConfig> = {
  kind: 'cfiddle',
  configSchema: schema,
  validate(cfg, file) {
    for (const f of ['healthTimeout', 'slurmTimeout', 'stopTimeout'] as const) {
      try {
        parseDuration(cfg.stack[f]);
      } catch {
        throw new ConfigError(file, `stack.${f}`, `${JSON.stringify(cfg.stack[f])} is not a duration`);
      }
    }
    if (cfg.users.test.includes(cfg.users.cfiddle)) {
      throw new ConfigError(file, 'users.test', `names ${cfg.users.cfiddle}, which is the sandbox account (users.cfiddle)`);
    }
    if (cfg.mode === 'slurm' && cfg.head !== undefined) {
      throw new ConfigError(file, 'head', 'has no meaning with mode = "slurm" (the login node is the only host used)', { hint: 'Remove it, or use mode = "cluster".' });
    }
  },
  assignRoles(cfg, inventory, file): Record<string, Host[]> {
    if (inventory.length === 0) throw new ConfigError(file, 'system', 'the platform has no hosts');
    if (modeOf(cfg, platformOf(inventory)) === 'slurm') return { login: [inventory[0]!] };
    let head = inventory.find((h) => h.roles.includes('leader')) ?? inventory[0]!;
    if (cfg.head !== undefined) {
      const named = inventory.find((h) => h.name === cfg.head);
      if (!named) {
        const names = inventory.map((h) => h.name);
        const guess = didYouMean(cfg.head, names);
        throw new ConfigError(file, 'head', `${JSON.stringify(cfg.head)} is not a host of the platform${guess ? ` (did you mean "${guess}"?)` : ''}; hosts: ${listNames(names)}`, {
          hint: `Set head to ${guess ? `"${guess}"` : 'one of the hosts'} in ${file}, or remove it (the leader, else the first host, is the head).`,
        });
      }
      head = named;
    }
    const others = inventory.filter((h) => h.name !== head.name);
    if (others.length === 0) {
      throw new ConfigError(file, 'workers', `the platform has only ${head.name}: a CFiddle cluster needs a head node and at least one worker`, {
        hint: 'Give the platform a second host.',
      });
    }
    if (cfg.workers !== undefined && cfg.workers > others.length) {
      throw new ConfigError(file, 'workers', `${cfg.workers} workers asked, but the platform has ${others.length} host${others.length === 1 ? '' : 's'} besides the head ${head.name}`);
    }
    return { head: [head], worker: others.slice(0, cfg.workers ?? others.length) };
  },
};
