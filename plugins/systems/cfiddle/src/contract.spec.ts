/**
 * cfiddle passes the labrig System contract (@labrig/testkit) in its SSH-cluster mode on the local
 * platform: the repository's system file on 4 real sshd testbed hosts (127.0.78.1-4:2378; tb-0 is
 * the head), with the fixtures of src/testing/fixtures/ (docker, sudo, useradd, exportfs, git, ...)
 * on the hosts' PATH through the file's [env] table, as cluster.spec.ts does. The images go
 * through images.registry, a name the docker fixture keeps its "registry" under (nothing listens
 * there). cfiddle has no build target: deploy builds the images on the head node.
 */
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { down, up, type TestbedState } from '@labrig/testbed';
import { checkSystemContract } from '@labrig/testkit';
import { copySystemFile, tempWorkspace, writeIn } from './testing/workspace.js';

const BASE = '127.0.78.0';
const PORT = 2378;
let root: string;
let tb: string;
let fx: string;
let state: TestbedState;

beforeAll(async () => {
  root = tempWorkspace('cfiddle-contract-');
  tb = mkdtempSync(join(tmpdir(), 'labrig-cfiddle-contract-tb-'));
  chmodSync(tb, 0o755);
  fx = join(tb, 'fx');
  // Fixture bin dir (readable by every testbed user), state and "system" folders (writable by all).
  cpSync(join(import.meta.dirname, 'testing/fixtures'), join(fx, 'bin'), { recursive: true });
  chmodSync(fx, 0o755);
  for (const d of ['state', 'etc', 'home']) {
    mkdirSync(join(fx, d), { recursive: true });
    chmodSync(join(fx, d), 0o777);
  }
  writeFileSync(join(fx, 'etc/exports'), '/srv/data *(ro,no_subtree_check)\n');
  chmodSync(join(fx, 'etc/exports'), 0o666);
  writeIn(
    root,
    'configs/platforms/tb/platform.toml',
    ['platform = "@labrig/platform-local"', '[testbed]', 'hosts = 4', `dir = ${JSON.stringify(tb)}`, `addressBase = "${BASE}"`, `port = ${PORT}`, 's3 = false', 'registry = false', '[run]', 'timeout = "2m"'].join('\n'),
  );
  copySystemFile(root);
  const file = join(root, 'targets/cfiddle/system.toml');
  writeFileSync(
    file,
    readFileSync(file, 'utf8')
      .replace('[env]\n', `[env]\nPATH = "${join(fx, 'bin')}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"\nCFIDDLE_FIXTURE_STATE = "${join(fx, 'state')}"\n`)
      .replace('# registry = "10.10.1.1:5000"', 'registry = "registry.cfiddle.test:5000"')
      .replace('exportsFile = "/etc/exports"', `exportsFile = "${join(fx, 'etc/exports')}"`)
      .replace('home = "/home"', `home = "${join(fx, 'home')}"`)
      .replace('munge = "/etc/munge"', `munge = "${join(fx, 'etc/munge')}"`)
      .replace('healthTimeout = "10m"', 'healthTimeout = "20s"')
      .replace('slurmTimeout = "5m"', 'slurmTimeout = "20s"')
      .replace('stopTimeout = "5m"', 'stopTimeout = "20s"'),
  );
  delete process.env['CFIDDLE_JUPYTER_TOKEN'];
  state = await up({ dir: tb, hosts: 4, addressBase: BASE, port: PORT });
}, 180_000);

afterAll(async () => {
  if (tb) await down(tb).catch(() => undefined);
  if (root) rmSync(root, { recursive: true, force: true });
  if (tb) rmSync(tb, { recursive: true, force: true });
});

it('passes the System contract on an SSH cluster: typed errors, dry run, deploy twice (the second skips), status, stop twice, teardown twice', async () => {
  expect(state.hosts.map((h) => h.address)).toEqual(['127.0.78.1', '127.0.78.2', '127.0.78.3', '127.0.78.4']);
  const results = await checkSystemContract({
    root,
    project: 'cfiddle',
    platform: 'tb',
    teardown: true,
    // Steps that re-check on every deploy by design (read-only; nothing on a host changes):
    rerunSteps: [
      'reachable', // every node answers over SSH (uname -n)
      'join-token', // reads the swarm's worker join token for the join step (a secret capture)
      'node-ids', // reads each node's swarm node ID for the label step
      'health-services', // the health wait: every service of the stack n/n
      'health-slurm', // the health check: sinfo answers in the userhost, a test job runs
    ],
  });
  expect(results.map((r) => r.name)).toEqual([
    'declares deploy, stop and status, each an executor whose schema takes platform and dryRun',
    'a system file with an unknown field is a ConfigError naming the file and the field; nothing runs',
    'a bad option value is an OptionError naming the option',
    'a dry run prints the plan and touches no host',
    'deploy runs (waiting until the system is ready)',
    'a second deploy skips every host',
    'status succeeds on the deployed system',
    'stop runs twice',
    'teardown runs twice',
  ]);
  expect(results.every((r) => r.ok)).toBe(true);
  // The contract ran on the cluster: the swarm was made once, and teardown left it.
  const calls = readFileSync(join(fx, 'state/calls.log'), 'utf8');
  expect(calls.match(/\tdocker swarm init /g)).toHaveLength(1);
  expect(readFileSync(join(fx, 'state/members'), 'utf8')).toBe('');
}, 180_000);
