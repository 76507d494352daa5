/**
 * vHive passes the labrig System contract checks (@labrig/testkit) on the local platform: 2 real
 * sshd testbed hosts (127.0.73.x:2373; 1 master, 1 worker) whose PATH (the system file's `env`)
 * starts with the fixtures of src/testing/fixtures (sudo, git, go, kubeadm, kubectl, the
 * containerd daemons, vHive's scripts in a fixture checkout), as a third party would run it:
 * setup and deploy twice (the second skips), status, stop twice, teardown twice.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { down, up } from '@labrig/testbed';
import { checkSystemContract } from '@labrig/testkit';
import { installFixtures } from './testing/install.js';

const workspace = join(import.meta.dirname, '../../../..');
const ADDRESS_BASE = '127.0.73.0';
const PORT = 2373;
let root: string;
let tb: string;
let fx: string; // the fixtures, readable by every testbed user
let state: string; // the fixtures' shared state (calls.log, cluster)

beforeAll(async () => {
  mkdirSync(join(workspace, 'tmp'), { recursive: true });
  root = mkdtempSync(join(workspace, 'tmp', 'vhive-contract-')); // inside the workspace: the plugin resolves from its node_modules
  tb = mkdtempSync(join(tmpdir(), 'labrig-vhive-contract-tb-'));
  chmodSync(tb, 0o755);
  ({ fx, state } = installFixtures('labrig-vhive-contract'));
  writeFileSync(join(root, 'package.json'), '{ "name": "vhive-contract-ws", "private": true }\n');
  mkdirSync(join(root, 'configs/platforms/tb'), { recursive: true });
  writeFileSync(
    join(root, 'configs/platforms/tb/platform.toml'),
    ['platform = "@labrig/platform-local"', '[testbed]', 'hosts = 2', `dir = ${JSON.stringify(tb)}`, `addressBase = "${ADDRESS_BASE}"`, `port = ${PORT}`, 's3 = false', 'registry = false', '[run]', 'timeout = "1m"'].join('\n'),
  );
  mkdirSync(join(root, 'targets/vhive'), { recursive: true });
  writeFileSync(
    join(root, 'targets/vhive/system.toml'),
    [
      'system = "@labrig/system-vhive"',
      'mode = "firecracker"',
      'logDir = "vhive-logs"',
      'kubeletConf = ".vhive-fixture/etc/kubernetes/kubelet.conf"', // where the fixture kubeadm join writes it
      '[repo]',
      'url = "https://github.com/vhive-serverless/vhive.git"',
      '[daemons]', // the fixture daemon is on PATH (the seed's absolute path is not on this machine)
      'firecracker = ["firecracker-containerd", "--config", "/etc/firecracker-containerd/config.toml"]',
      '[env]',
      `PATH = ${JSON.stringify(`${fx}/bin:/usr/local/bin:/usr/bin:/bin`)}`,
      `VHIVE_FIXTURE_STATE = ${JSON.stringify(state)}`,
      '[timeouts]',
      ...['daemon', 'joinCommand', 'nodes', 'script', 'pods'].map((k) => `${k} = "30s"`),
      '',
    ].join('\n'),
  );
  await up({ dir: tb, hosts: 2, addressBase: ADDRESS_BASE, port: PORT });
}, 180_000);

afterAll(async () => {
  if (tb) await down(tb).catch(() => undefined);
  for (const d of [root, tb, fx, state]) if (d) rmSync(d, { recursive: true, force: true });
}, 120_000);

it('passes the System contract: typed errors, dry run, setup and deploy twice (the second skips), status, stop twice, teardown twice', async () => {
  const results = await checkSystemContract({
    root,
    project: 'vhive',
    platform: 'tb',
    teardown: true,
    // `joined` is a read-only check (`sudo test -f <kubeletConf>` on each worker) that runs on
    // every deploy by design: its capture is how the `nodes` wait counts the workers that joined
    // in this run (a failed worker is dropped), and a skipped step captures nothing.
    rerunSteps: ['joined'],
  });
  expect(results.map((r) => r.name)).toEqual([
    'declares deploy, stop and status, each an executor whose schema takes platform and dryRun',
    'a system file with an unknown field is a ConfigError naming the file and the field; nothing runs',
    'a bad option value is an OptionError naming the option',
    'a dry run prints the plan and touches no host',
    'setup runs, and a second setup skips every host',
    'deploy runs (waiting until the system is ready)',
    'a second deploy skips every host',
    'status succeeds on the deployed system',
    'stop runs twice',
    'teardown runs twice',
  ]);
  expect(results.every((r) => r.ok)).toBe(true);
}, 180_000);
