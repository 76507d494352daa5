/**
 * The system file (defaults as in the seed, errors naming file and field) and the dry-run plan of
 * `deploy -c cloudlab` (SSH mode) against a golden file. No host is contacted.
 */
import { readFileSync, rmSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfigFile } from '@labrig/core';
import { configSchema, definition, sshWorkers, validate, type DaphneConfig } from './config.js';
import deployExecutor from './executors/deploy/executor.js';
import runExecutor from './executors/run/executor.js';
import { ctxFor, run, tempRoot, writeFiles } from './testing/harness.js';

const root = tempRoot('daphne-plan-');
afterAll(() => rmSync(root, { recursive: true, force: true }));

const cloudlab = ['platform = "@labrig/platform-cloudlab"', '[hosts]', 'serversFile = "servers.txt"', 'user = "alice"'].join('\n');
const servers = ['node0 c220g5-110531.wisc.cloudlab.us', 'node1 c220g5-110532.wisc.cloudlab.us', 'node2 c220g5-110533.wisc.cloudlab.us', 'node3 c220g5-110534.wisc.cloudlab.us', ''].join('\n');

writeFiles(root, {
  'configs/platforms/cloudlab/platform.toml': cloudlab,
  'configs/platforms/cloudlab/servers.txt': servers,
  // The seed's deployment: every default, two workers on node0.
  'targets/daphne/system.toml': ['system = "@labrig/system-daphne"', 'version = "v0.3"', '[ssh]', 'peers = ["node0", "node0:50001", "node1", "node2", "node3"]'].join('\n'),
  // What the build target leaves (fixed, so that the plan is stable).
  'dist/targets/daphne/daphne-package.json': JSON.stringify({ file: 'daphne-package.tgz', sha256: 'ab'.repeat(32), size: 1, entries: [] }),
  'dist/targets/daphne/daphne-package.tgz': 'x',
  'example.daphne': 'print(1);\n',
});

function load(text: string): DaphneConfig {
  writeFileSync(join(root, 'sys.toml'), text);
  const cfg = loadConfigFile<DaphneConfig>(join(root, 'sys.toml'), configSchema, { displayPath: 'targets/x/system.toml' });
  validate(cfg, 'targets/x/system.toml');
  return cfg;
}

describe('system file', () => {
  it('has the seed defaults: numcores 128, port 50000, path ~/DaphneDistributedWorker, --distributed', () => {
    const cfg = load('system = "@labrig/system-daphne"\n');
    expect(cfg.slurm.numcores).toBe(128);
    expect(cfg.port).toBe(50000);
    expect(cfg.path).toBe('~/DaphneDistributedWorker');
    expect(cfg.daphneArgs).toEqual(['--distributed']);
    expect(cfg.container).toMatchObject({ enabled: true, runtime: 'auto', singularityArgs: [] });
    expect(cfg.slurm.srunArgs).toEqual([]);
    expect(cfg.mode).toBe('auto');
  });

  it('overrides: numcores, port, path, srun and singularity arguments', () => {
    const cfg = load(['system = "@labrig/system-daphne"', 'port = 6000', 'path = "/scratch/dw"', '[slurm]', 'numcores = 8', 'srunArgs = ["-t", "120"]', '[container]', 'singularityArgs = ["-B", "/data"]'].join('\n'));
    expect([cfg.port, cfg.path, cfg.slurm.numcores, cfg.slurm.srunArgs, cfg.container.singularityArgs]).toEqual([6000, '/scratch/dw', 8, ['-t', '120'], ['-B', '/data']]);
  });

  it('an unknown field, a duplicated peer, a path clean could not safely delete: ConfigError naming the field', () => {
    const err = (text: string) => {
      try {
        load(text);
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('no error');
    };
    const unknown = err('system = "@labrig/system-daphne"\n[slurm]\nnumcore = 4\n');
    expect(unknown).toBeInstanceOf(ConfigError);
    expect(unknown.message).toMatch(/targets\/x\/system\.toml.*numcore/);
    const dup = err('system = "@labrig/system-daphne"\n[ssh]\npeers = ["a", "a:50000"]\n');
    expect(dup.field).toBe('ssh.peers[1]');
    expect(dup.message).toContain('a:50000 is listed twice');
    expect(err('system = "@labrig/system-daphne"\npath = "~"\n').field).toBe('path');
  });

  it('peers: host[:port] by name or address, default port; several workers per host on distinct ports', () => {
    const cfg = load('system = "@labrig/system-daphne"\n[ssh]\npeers = ["h0", "10.0.0.2:51001", "h0:50001"]\n');
    const inv = [
      { name: 'h0', address: '10.0.0.1', port: 22, roles: [], labels: {} },
      { name: 'h1', address: '10.0.0.2', port: 22, roles: [], labels: {} },
    ];
    expect(sshWorkers(cfg, inv, 'f').map((w) => `${w.host.name} ${w.peer} ${w.name}`)).toEqual(['h0 10.0.0.1:50000 daphne-worker-50000', 'h1 10.0.0.2:51001 daphne-worker-51001', 'h0 10.0.0.1:50001 daphne-worker-50001']);
    expect(() => sshWorkers(load('system = "@labrig/system-daphne"\n[ssh]\npeers = ["nope"]\n'), inv, 'f')).toThrow(/ssh.peers\[0\].*"nope" is not in the platform's inventory/);
    expect(definition.assignRoles(cfg, inv, 'f')).toMatchObject({ workers: [{ name: 'h0' }, { name: 'h1' }], coordinator: [{ name: 'h0' }] });
  });
});

describe('dry runs', () => {
  it('deploy -c cloudlab (SSH mode) matches the golden plan', async () => {
    const r = await run(() => deployExecutor({ platform: 'cloudlab', dryRun: true, script: 'example.daphne', args: 'n=3' }, ctxFor(root, 'daphne')));
    expect(r.success, r.out).toBe(true);
    const golden = join(import.meta.dirname, '__golden__/daphne-deploy-cloudlab.plan.txt');
    const plan = `${r.out.trimEnd()}\n`;
    if (process.env['UPDATE_GOLDEN'] === '1') {
      mkdirSync(join(import.meta.dirname, '__golden__'), { recursive: true });
      writeFileSync(golden, plan);
    }
    expect(existsSync(golden), `${golden} is missing: run with UPDATE_GOLDEN=1`).toBe(true);
    expect(plan).toBe(readFileSync(golden, 'utf8'));
    // The plan itself: the package once per host (4 hosts), 5 workers, DISTRIBUTED_WORKERS of all five.
    expect(plan.match(/copy daphne-package\.tgz/g)).toHaveLength(4);
    expect(plan.match(/start daphne-worker-/g)).toHaveLength(5);
    expect(plan).toContain('DISTRIBUTED_WORKERS');
    expect(plan).toContain('c220g5-110531.wisc.cloudlab.us:50001');
  });

  it('run reads a script file; a missing one is an option error', async () => {
    const r = await run(() => runExecutor({ platform: 'cloudlab', dryRun: true, script: 'nope.daphne' }, ctxFor(root, 'daphne')));
    expect(r.success).toBe(false);
    expect(r.out).toMatch(/script.*nope\.daphne/);
  });
});
