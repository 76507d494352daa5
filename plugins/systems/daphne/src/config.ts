/**
 * targets/<name>/system.toml of a DAPHNE deployment: its type, the checks the schema cannot make,
 * which mode a platform means, and the workers (SSH mode) or login node (Slurm mode) it runs on.
 */
import type { Host } from '@labrig/core';
import { ConfigError } from '@labrig/core';
import type { SystemDefinition } from '@labrig/system-kit';
import schema from './system.schema.json' with { type: 'json' };

export const configSchema: object = schema;

export interface DaphneConfig {
  system: string;
  version: string;
  description?: string;
  sources?: string[];
  mode: 'auto' | 'ssh' | 'slurm';
  path: string;
  port: number;
  workerBinary: string;
  daphneBinary: string;
  daphneArgs: string[];
  env: Record<string, string>;
  build: { command: string[]; cwd: string };
  package: { dir: string; include: string[]; scripts: string[] };
  container: { enabled: boolean; runtime: string; from: string; buildArgs: string[]; singularityArgs: string[] };
  ssh: { peers: string[]; workersPerHost: number; coordinator?: string; startTimeout: string };
  slurm: {
    numcores: number;
    partition?: string;
    time?: string;
    srunArgs: string[];
    sbatchArgs: string[];
    runSrunArgs: string[];
    workerAddress: string;
    startTimeout: string;
  };
}

/** One SSH-mode worker: the inventory host it runs on, and the address:port it listens on. */
export interface SshWorker {
  host: Host;
  address: string;
  port: number;
  /** `address:port`, as DISTRIBUTED_WORKERS lists it. */
  peer: string;
  /** Process name on the host (pid and log files). */
  name: string;
}

/** The label the slurm-hpc platform puts on its login host (launch settings as JSON). */
export const SLURM_LABEL = 'slurm.launch';

export type Mode = 'ssh' | 'slurm';

export function modeOf(cfg: DaphneConfig, inventory: Host[]): Mode {
  if (cfg.mode !== 'auto') return cfg.mode;
  return inventory.some((h) => h.labels[SLURM_LABEL] !== undefined) ? 'slurm' : 'ssh';
}

const DANGEROUS = new Set(['~', '~/', '/', '.', './', '', '$HOME']);

export function validate(cfg: DaphneConfig, file: string): void {
  if (DANGEROUS.has(cfg.path.trim()) || cfg.path.includes('..') || /[\s'"$`\\]/.test(cfg.path)) {
    throw new ConfigError(file, 'path', `${JSON.stringify(cfg.path)} is not a folder labrig may fill and delete (clean removes it)`, {
      hint: 'Use a folder of its own, e.g. "~/DaphneDistributedWorker" (no spaces, quotes, $ or ..).',
    });
  }
  for (const [i, b] of [cfg.workerBinary, cfg.daphneBinary].entries()) {
    if (b.startsWith('/') || b.includes('..')) throw new ConfigError(file, i === 0 ? 'workerBinary' : 'daphneBinary', `${JSON.stringify(b)} must be relative to path`);
  }
  const seen = new Map<string, number>();
  cfg.ssh.peers.forEach((p, i) => {
    const key = p.includes(':') ? p : `${p}:${cfg.port}`;
    const port = Number(key.split(':')[1]);
    if (port < 1 || port > 65535) throw new ConfigError(file, `ssh.peers[${i}]`, `port ${port} is not 1..65535`);
    if (seen.has(key)) throw new ConfigError(file, `ssh.peers[${i}]`, `${key} is listed twice (also ssh.peers[${seen.get(key)}]): each worker needs its own host:port`);
    seen.set(key, i);
  });
  if (cfg.port + Math.max(cfg.ssh.workersPerHost, cfg.slurm.numcores) - 1 > 65535 && cfg.ssh.peers.length === 0) {
    throw new ConfigError(file, 'port', `${cfg.port} leaves no room for ${Math.max(cfg.ssh.workersPerHost, cfg.slurm.numcores)} consecutive ports`);
  }
  for (const [k, v] of Object.entries(cfg.env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new ConfigError(file, `env.${k}`, 'is not an environment variable name');
    if (k === 'DISTRIBUTED_WORKERS') throw new ConfigError(file, `env.${k}`, `labrig sets DISTRIBUTED_WORKERS itself (value ${JSON.stringify(v)} would be ignored)`);
  }
}

/** The address other hosts reach a host at: its cluster address when the platform knows one. */
export const reachableAddress = (h: Host): string => h.privateAddress ?? h.address;

export function sshWorkers(cfg: DaphneConfig, inventory: Host[], file: string): SshWorker[] {
  const make = (host: Host, port: number): SshWorker => {
    const address = reachableAddress(host);
    return { host, address, port, peer: `${address}:${port}`, name: `daphne-worker-${port}` };
  };
  if (cfg.ssh.peers.length === 0) {
    if (inventory.length === 0) throw new ConfigError(file, 'ssh.peers', 'the platform has no hosts to run workers on');
    return inventory.flatMap((h) => Array.from({ length: cfg.ssh.workersPerHost }, (_, k) => make(h, cfg.port + k)));
  }
  return cfg.ssh.peers.map((p, i) => {
    const [name, port] = p.split(':') as [string, string | undefined];
    const host = inventory.find((h) => h.name === name || h.address === name || h.privateAddress === name);
    if (!host) {
      throw new ConfigError(file, `ssh.peers[${i}]`, `host ${JSON.stringify(name)} is not in the platform's inventory (hosts: ${inventory.map((h) => h.name).join(', ') || 'none'})`);
    }
    return make(host, port ? Number(port) : cfg.port);
  });
}

/** Hosts in first-seen order, each once. */
export function uniqueHosts(ws: SshWorker[]): Host[] {
  const out: Host[] = [];
  for (const w of ws) if (!out.some((h) => h.name === w.host.name)) out.push(w.host);
  return out;
}

export const definition: SystemDefinition<DaphneConfig> = {
  kind: 'daphne',
  configSchema,
  validate,
  assignRoles(cfg, inventory, file): Record<string, Host[]> {
    if (modeOf(cfg, inventory) === 'slurm') {
      const login = inventory.find((h) => h.labels[SLURM_LABEL] !== undefined) ?? inventory.find((h) => h.roles.includes('login'));
      if (!login) throw new ConfigError(file, 'mode', 'is "slurm" but the platform has no Slurm login node (use a slurm-hpc platform, or mode = "ssh")');
      return { login: [login] };
    }
    const ws = sshWorkers(cfg, inventory, file);
    const hosts = uniqueHosts(ws);
    let coordinator = hosts[0]!;
    if (cfg.ssh.coordinator !== undefined) {
      const c = inventory.find((h) => h.name === cfg.ssh.coordinator);
      if (!c) throw new ConfigError(file, 'ssh.coordinator', `host ${JSON.stringify(cfg.ssh.coordinator)} is not in the platform's inventory (hosts: ${inventory.map((h) => h.name).join(', ')})`);
      coordinator = c;
    }
    return { workers: hosts, coordinator: [coordinator] };
  },
};
