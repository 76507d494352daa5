/** The SigmaOS system file (targets/<name>/system.toml), its checks, and who is leader. */
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import type { Host } from '@labrig/core';
import { ConfigError, parseDuration } from '@labrig/core';
import { firstHosts, type SystemDefinition } from '@labrig/system-kit';
import schema from './system.schema.json' with { type: 'json' };

export const configSchema: object = schema;

export interface SigmaosConfig {
  system: string;
  version: string;
  description?: string;
  sources?: string[];
  source: string;
  tag: string;
  branch: string;
  n?: number;
  ncores: number;
  buildTarget: 'aws' | 'remote';
  bucket?: string;
  registry?: string;
  imageExport: string[];
  build?: { on?: string; arch?: string; timeout: string };
  repo: { url: string; dir: string };
  packages: string[];
  credentials: Record<string, string>;
  nofile: number;
  swap: 'off' | 'keep';
  network: string;
  kernel: { readyDir: string; readyTimeout: string; reserveMcpu: number; netproxy: boolean; overlays: boolean };
  bench: { output: string; perfDir: string };
  env: Record<string, string>;
}

/** The two images build.sh makes (local name `<name>-<target>`), pushed as `<registry>/<name>:TAG`. */
export const IMAGES = ['sigmaos', 'sigmauser'] as const;

export const sigmaos: SystemDefinition<SigmaosConfig> = {
  kind: 'sigmaos',
  configSchema,
  validate(cfg, file) {
    try {
      parseDuration(cfg.kernel.readyTimeout);
    } catch {
      throw new ConfigError(file, 'kernel.readyTimeout', `${JSON.stringify(cfg.kernel.readyTimeout)} is not a duration`, { hint: 'e.g. "10m", "90s"' });
    }
    for (const remote of Object.keys(cfg.credentials)) {
      if (isAbsolute(remote) || remote.split('/').includes('..')) {
        throw new ConfigError(file, `credentials."${remote}"`, 'the remote path must be relative to the host user\'s home, without ".."');
      }
    }
    if (!cfg.imageExport.some((a) => a.includes('{archive}'))) {
      throw new ConfigError(file, 'imageExport', 'the command never names {archive}: where should the OCI archive go?');
    }
    if (cfg.env['PATH'] !== undefined && !cfg.env['PATH'].includes('/')) {
      throw new ConfigError(file, 'env.PATH', 'must be a full PATH (folders separated by ":"); it replaces the host\'s');
    }
  },
  assignRoles(_cfg, inventory, file) {
    if (inventory.length === 0) throw new ConfigError(file, 'system', 'the platform has no hosts');
    const ordered = leaderFirst(inventory);
    return { leader: ordered.slice(0, 1), follower: ordered.slice(1) };
  },
};

/** The inventory with the leader first: a host with the role `leader`, else the first (servers.txt order). */
export function leaderFirst(inventory: Host[]): Host[] {
  const i = inventory.findIndex((h) => h.roles.includes('leader'));
  if (i <= 0) return inventory;
  return [inventory[i]!, ...inventory.slice(0, i), ...inventory.slice(i + 1)];
}

/** The hosts a target works on: the first N (`--n`, else the file's `n`, else all), leader first. */
export function clusterHosts(cfg: SigmaosConfig, inventory: Host[], file: string, n: number | undefined): Host[] {
  const ordered = leaderFirst(inventory);
  if (n !== undefined) return firstHosts(ordered, n, { option: 'n' });
  return firstHosts(ordered, cfg.n, { file, field: 'n' });
}

/** The kernel id on a host: stable (theirs adds a random suffix), so a re-run finds the kernel it started. */
export const kernelId = (h: Host): string => `sigma-${h.name.replace(/[^A-Za-z0-9_.-]/g, '-')}`;

/** The address SigmaOS talks on: the cluster LAN address when the platform knows it. */
export const clusterAddress = (h: Host): string => h.privateAddress ?? h.address;

/** argv with the system file's `env` in front (`env K=V … argv`); unchanged when there is none. */
export function withEnv(cfg: SigmaosConfig, argv: string[]): string[] {
  const pairs = Object.entries(cfg.env).sort(([a], [b]) => a.localeCompare(b));
  return pairs.length ? ['env', ...pairs.map(([k, v]) => `${k}=${v}`), ...argv] : argv;
}

/** A shell script run in the host's clone: `sh -c SCRIPT sh <dir> ARGS…` (values stay arguments). */
export function inRepo(cfg: SigmaosConfig, script: string, ...args: string[]): string[] {
  return withEnv(cfg, ['sh', '-c', `cd "$1" && shift && ${script}`, 'sh', cfg.repo.dir, ...args]);
}

/** A local path of the system file: `~/` is the user's home. */
export function localPath(p: string, root: string): string {
  if (p === '~') return homedir();
  if (p.startsWith('~/')) return join(homedir(), p.slice(2));
  return isAbsolute(p) ? p : join(root, p);
}

export const bucketOf = (cfg: SigmaosConfig): string => cfg.bucket ?? cfg.tag;
