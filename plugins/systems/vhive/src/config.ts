/** targets/<name>/system.toml of a vHive system: its type, the checks the schema cannot express, and roles. */
import type { Host } from '@labrig/core';
import { ConfigError, parseDuration } from '@labrig/core';
import type { SystemDefinition } from '@labrig/system-kit';
import schema from './system.schema.json' with { type: 'json' };

export type Mode = 'firecracker' | 'gvisor' | 'stock-only';

export interface VhiveConfig {
  system: string;
  version?: string;
  description?: string;
  sources?: string[];
  mode: Mode;
  useStargz: boolean;
  cluster: 'multi-node' | 'single-node';
  layout: 'scripts' | 'setup_tool';
  master?: string;
  workers?: number;
  repo: { url: string; branch?: string; dir: string; depth: number };
  vhive: { snapshots: boolean; upf: boolean; dbg: boolean; extraFlags: string[]; ready: string };
  daemons: { containerd: string[]; firecracker: string[]; gvisor: string[]; ready: string };
  logDir: string;
  kubeletConf: string;
  env: Record<string, string>;
  timeouts: { setup: string; daemon: string; joinCommand: string; nodes: string; script: string; pods: string };
  functions: { file: string; endpoints: string; invoker: string };
}

export const MASTER = 'master';
export const WORKER = 'worker';

/** Field combinations the schema cannot check (each error names its field). */
export function validateConfig(cfg: VhiveConfig, file: string): void {
  if (cfg.useStargz && cfg.mode !== 'stock-only') {
    throw new ConfigError(file, 'useStargz', `use-stargz works only with mode = "stock-only" (mode is "${cfg.mode}")`, {
      hint: `vHive supports eStargz images only in native kubelet contexts without ${cfg.mode}: set mode = "stock-only", or useStargz = false.`,
    });
  }
  if (cfg.mode === 'stock-only') {
    for (const flag of ['snapshots', 'upf', 'dbg'] as const) {
      if (cfg.vhive[flag]) {
        throw new ConfigError(file, `vhive.${flag}`, `-${flag} is a flag of vhive, which does not run with mode = "stock-only"`, {
          hint: `Remove vhive.${flag}, or pick mode = "firecracker".`,
        });
      }
    }
  }
  if (cfg.vhive.upf && !cfg.vhive.snapshots) {
    throw new ConfigError(file, 'vhive.upf', '-upf needs -snapshots (vhive refuses user-level page faults without snapshots)', { hint: 'Set vhive.snapshots = true too.' });
  }
  if (cfg.cluster === 'single-node' && cfg.workers !== undefined) {
    throw new ConfigError(file, 'workers', 'a single-node cluster has no workers', { hint: 'Remove `workers`, or set cluster = "multi-node".' });
  }
  for (const [k, v] of Object.entries(cfg.timeouts)) {
    try {
      parseDuration(v);
    } catch {
      throw new ConfigError(file, `timeouts.${k}`, `${JSON.stringify(v)} is not a duration`);
    }
  }
}

/** master: the named host, else the host with role master/leader, else the first; workers: the rest (multi-node). */
export function assignRoles(cfg: VhiveConfig, inventory: Host[], file: string): Record<string, Host[]> {
  if (inventory.length === 0) throw new ConfigError(file, 'master', 'the platform has no hosts');
  let master: Host | undefined;
  if (cfg.master !== undefined) {
    master = inventory.find((h) => h.name === cfg.master);
    if (!master) throw new ConfigError(file, 'master', `no host ${JSON.stringify(cfg.master)} on the platform (hosts: ${inventory.map((h) => h.name).join(', ')})`);
  } else {
    master = inventory.find((h) => h.roles.includes('master')) ?? inventory.find((h) => h.roles.includes('leader')) ?? inventory[0]!;
  }
  if (cfg.cluster === 'single-node') return { [MASTER]: [master], [WORKER]: [] };
  const others = inventory.filter((h) => h !== master);
  if (others.length === 0) {
    throw new ConfigError(file, 'cluster', `a multi-node cluster needs at least 2 hosts (the platform has 1: ${master.name})`, { hint: 'Set cluster = "single-node", or add hosts.' });
  }
  if (cfg.workers !== undefined && cfg.workers > others.length) {
    throw new ConfigError(file, 'workers', `${cfg.workers} workers, but the platform has only ${others.length} hosts besides the master ${master.name}`);
  }
  return { [MASTER]: [master], [WORKER]: others.slice(0, cfg.workers ?? others.length) };
}

export const vhiveSystem: SystemDefinition<VhiveConfig> = {
  kind: 'vhive',
  configSchema: schema,
  validate: validateConfig,
  assignRoles,
};
