/**
 * cfiddle passes the labrig System contract (@labrig/testkit) in its SSH-cluster mode on the local
 * platform: the repository's system file on 4 real sshd testbed hosts (127.0.78.1-4:2378; tb-0 is
 * the head), with the fixtures of src/testing/fixtures/ (docker, sudo, useradd, exportfs, git, ...)
 * on the hosts' PATH through the file's [env] table, as cluster.spec.ts does. The images go
 * through images.registry, a name the docker fixture keeps its "registry" under (nothing listens
 * there). cfiddle has no build target: deploy builds the images on the head node.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { down, up, type TestbedState } from '@labrig/testbed';
import { checkSystemContract } from '@labrig/testkit';
import { fixtureCluster } from './testing/workspace.js';

const BASE = '127.0.78.0';
const PORT = 2378;
let root: string;
let tb: string;
let fx: string;
let state: TestbedState;

beforeAll(async () => {
  ({ root, tb, fx } = fixtureCluster({ prefix: 'cfiddle-contract', base: BASE, port: PORT, registry: false, healthTimeout: '20s' }));
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
