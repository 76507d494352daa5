/**
 * The slurm-hpc platform passes the labrig Platform contract checks (@labrig/testkit) on the
 * testbed's real Slurm: testbed host tb-0 (127.0.66.1:2366) is the cluster's login node.
 *
 * Before the checks, one job of this deployment is started and seen RUNNING, so the inventory has
 * a compute node too (login first, then node1) and teardown has a job to cancel.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { loadPlatform } from '@labrig/core';
import { down, up } from '@labrig/testbed';
import { checkPlatformContract } from '@labrig/testkit';
import type { SlurmHpcConfig } from './config.js';
import type { SlurmLauncher } from './launcher.js';

const NAME = 'hpc';
const workspace = join(import.meta.dirname, '../../../..');
mkdirSync(join(workspace, 'tmp'), { recursive: true });
const root = mkdtempSync(join(workspace, 'tmp', 'slurm-hpc-contract-')); // inside the workspace: the plugin resolves from its node_modules
const tb = mkdtempSync(join(tmpdir(), 'labrig-slurm-hpc-contract-tb-'));
chmodSync(tb, 0o755);

afterAll(async () => {
  await down(tb).catch(() => undefined); // also cancels any job left and stops the Slurm daemons
  rmSync(root, { recursive: true, force: true });
  rmSync(tb, { recursive: true, force: true });
});

it('passes the Platform contract: provision twice, inventory, the login node answers, teardown twice', async () => {
  const state = await up({ dir: tb, hosts: 1, addressBase: '127.0.66.0', port: 2366, slurm: true });
  const [login] = state.hosts;
  writeFileSync(join(root, 'nx.json'), '{}\n');
  mkdirSync(join(root, 'configs/platforms', NAME), { recursive: true });
  writeFileSync(
    join(root, 'configs/platforms', NAME, 'platform.toml'),
    [
      'platform = "@labrig/platform-slurm-hpc"',
      '[login]',
      `address = "${login!.address}"`,
      `port = ${login!.port}`,
      `user = "${login!.user}"`,
      `identityFiles = [${JSON.stringify(state.identityFile)}]`,
      '[slurm]',
      'sbatchArgs = ["--overcommit"]',
      'pollInterval = "200ms"',
      'stopTimeout = "30s"',
    ].join('\n'),
  );

  // A running job of this deployment: its node joins the inventory (from <stateDir>/jobs.json).
  const p = await loadPlatform<SlurmHpcConfig>(root, NAME);
  const launcher = p.platform.launcher as SlurmLauncher;
  const pool = p.platform.createConnector(p.cfg, p.ctx);
  try {
    const remote = await pool.connect((await p.platform.inventory(p.cfg, p.ctx))[0]!);
    await launcher.start(remote, { name: 'sleeper', argv: ['sleep', '3605'] });
    for (let t = Date.now(); (await launcher.status(remote, 'sleeper')).state !== 'RUNNING'; ) {
      if (Date.now() - t > 30_000) throw new Error('the job did not start running within 30 s');
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await pool.close();
  }
  expect((await p.platform.inventory(p.cfg, p.ctx)).map((h) => h.name)).toEqual(['login', 'node1']);

  // The inventory lists the login node first, then the compute nodes of our jobs. Compute nodes
  // are reached through the login node by their Slurm node name (ProxyJump), which the testbed
  // cannot resolve (slurmd runs on this machine, no sshd per node): only the login node is SSH-
  // reachable here, so the command check is limited to it with maxHosts = 1.
  const results = await checkPlatformContract({ root, platform: NAME, maxHosts: 1 });
  expect(results.map((r) => r.name)).toEqual([
    'loads with the contract shape',
    'a config with an unknown field is a ConfigError naming file and field',
    'provision runs twice with the same hosts',
    'inventory: well-formed hosts, unchanged when asked twice',
    'every host answers a command through the connector (the first 1 of 2)',
    'a host that does not answer is a typed error (HostUnreachable)',
    'teardown runs twice',
  ]);
  expect(results.filter((r) => !r.ok)).toEqual([]);
  console.log(results.map((r) => `${r.name}: ${r.ms} ms`).join('\n'));

  // Teardown cancelled the job: the inventory is the login node again.
  expect((await p.platform.inventory(p.cfg, p.ctx)).map((h) => h.name)).toEqual(['login']);
}, 180_000);
