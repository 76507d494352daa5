/** Platform files (the example, and bad ones naming file and field) and the inventory they give, from state only. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '@labrig/core';
import { loadSlurmConfig } from './config.js';
import { inventoryOf } from './inventory.js';
import { jobsFile } from './job-state.js';
import { settingsFromHost } from './settings.js';

const workspace = join(import.meta.dirname, '../../../..');
const EXAMPLE = 'configs/platforms/slurm-hpc/platform.toml';
const FILE = 'configs/platforms/hpc/platform.toml';
let root: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'labrig-slurm-cfg-'));
  mkdirSync(join(root, 'configs/platforms/hpc'), { recursive: true });
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const write = (lines: string[]) => writeFileSync(join(root, FILE), lines.join('\n'));
const base = ['platform = "@labrig/platform-slurm-hpc"', '[login]', 'address = "login.example.org"'];

describe('platform files', () => {
  it('the example validates, defaults filled in', () => {
    const cfg = loadSlurmConfig(workspace, EXAMPLE);
    expect(cfg.login).toMatchObject({ name: 'login', port: 22, jump: { name: 'gateway', port: 22 } });
    expect(cfg.sharedFilesystem).toBe(true);
    expect(cfg.slurm).toMatchObject({ partition: 'debug', accounting: 'auto', stopTimeout: '2m', jobs: { DAPHNEworkers: { ntasks: 128 } } });
    expect(cfg.ssh.knownHosts).toBe('.labrig/known_hosts');
  });

  const cases: [string, string[], RegExp][] = [
    ['an sbatch option labrig sets itself', ['[slurm]', 'sbatchArgs = ["--mem=1G", "--job-name=x"]'], /slurm\.sbatchArgs\[1\]: .*--job-name, --output/],
    ['a short form of one', ['[slurm]', 'srunArgs = ["-ofile"]'], /slurm\.srunArgs\[0\]/],
    ['a misspelt key', ['[login.jump]', 'adress = "gw"'], /login\.jump\.adress: unknown key .*did you mean `address`/],
    ['a bad time limit', ['[slurm.jobs.srv]', 'time = "2 hours"'], /slurm\.jobs\.srv\.time: .*Slurm time limit/],
    ['a missing login address', ['[login]', 'user = "me"'], /login\.address: missing required field/],
  ];
  for (const [what, extra, message] of cases) {
    it(`${what}: a ConfigError naming the file and the field`, () => {
      write(what === 'a missing login address' ? ['platform = "@labrig/platform-slurm-hpc"', ...extra] : [...base, ...extra]);
      let err: unknown;
      try {
        loadSlurmConfig(root, FILE);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).file).toBe(FILE);
      expect((err as ConfigError).message).toMatch(message);
    });
  }
});

describe('inventory', () => {
  it('is the login node (launch settings and filesystem in its labels) plus the nodes of recorded alive jobs', async () => {
    write([...base, 'user = "alice"', '[login.jump]', 'address = "gw.example.org"', '[roles]', 'leader = ["node2"]', '[ssh]', 'identityFiles = ["keys/id_hpc"]']);
    const cfg = loadSlurmConfig(root, FILE);
    const ctx = { root, stateDir: join(root, '.labrig/state/hpc') };
    const [only, ...none] = await inventoryOf(cfg, ctx);
    expect(none).toEqual([]);
    expect(only).toMatchObject({ name: 'login', address: 'login.example.org', user: 'alice', roles: ['login'], labels: { sharedFilesystem: 'true', filesystem: 'slurm:login' } });
    expect(only!.jump).toMatchObject({ name: 'jump', address: 'gw.example.org', port: 22, identityFiles: [join(root, 'keys/id_hpc')] });
    expect(only!.identityFiles).toEqual([join(root, 'keys/id_hpc')]);
    expect(settingsFromHost(only!)).toMatchObject({ jobPrefix: 'labrig-hpc-', logDir: '.labrig/slurm', stateDir: ctx.stateDir, stopTimeoutMs: 120_000 });

    mkdirSync(ctx.stateDir, { recursive: true });
    const rec = (name: string, jobId: string, state: string, nodes: string[]) => ({ name, jobName: `labrig-hpc-${name}`, jobId, login: 'login', ntasks: 2, state, nodes, since: '' });
    writeFileSync(
      jobsFile(ctx.stateDir),
      JSON.stringify({ version: 1, jobs: { a: rec('a', '7', 'RUNNING', ['node2', 'node10']), b: rec('b', '8', 'RUNNING', ['node2']), c: rec('c', '5', 'CANCELLED', ['node3']) } }),
    );
    const hosts = await inventoryOf(cfg, ctx);
    expect(hosts.map((h) => [h.name, h.roles.join(','), h.labels['slurm.jobs']])).toEqual([
      ['login', 'login', undefined],
      ['node2', 'leader', 'labrig-hpc-a:7,labrig-hpc-b:8'],
      ['node10', 'compute', 'labrig-hpc-a:7'],
    ]);
    // Compute nodes are reached through the login node (which itself goes through the jump host).
    expect(hosts[1]).toMatchObject({ address: 'node2', user: 'alice', jump: { name: 'login', jump: { name: 'jump' } } });
  });

  it('[roles]: compute nodes may be named before a job runs on them; the jump host (never an inventory host) may not', async () => {
    write([...base, '[login.jump]', 'address = "gw.example.org"', '[roles]', 'leader = ["node7"]', 'gateway = ["jump"]']);
    const cfg = loadSlurmConfig(root, FILE);
    const err = await inventoryOf(cfg, { root, stateDir: join(root, '.labrig/state/hpc') }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).toMatchObject({ file: FILE, field: 'roles.gateway', problem: 'names "jump", not a host of this platform; known hosts: login' });
  });
});
