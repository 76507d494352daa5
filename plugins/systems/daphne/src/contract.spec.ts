/**
 * The DAPHNE system passes the labrig System contract checks (@labrig/testkit) in SSH mode on the
 * local platform: two real sshd testbed hosts (127.0.79.x:2379), three FIXTURE workers (the fixture
 * build's bin/DistributedWorker: a TCP listener, see src/testing/fixtures/) — two on tb-0 on distinct
 * ports, one on tb-1 — built first by the build executor, as `nx run daphne:deploy` would.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { down, up } from '@labrig/testbed';
import { checkSystemContract } from '@labrig/testkit';
import buildExecutor from './executors/build/executor.js';
import stopExecutor from './executors/stop/executor.js';
import { ctxFor, fixturesDir, ok, run, tempRoot, writeFiles } from './testing/harness.js';

const root = tempRoot('daphne-contract-');
const tb = mkdtempSync(join(tmpdir(), 'labrig-daphne-contract-tb-'));
chmodSync(tb, 0o755);
const testbed = { dir: tb, hosts: 2, addressBase: '127.0.79.0', port: 2379 };

const workerPids = async () => (await execa('pgrep', ['-f', 'lib/DistributedWorker.mjs 127\\.0\\.79\\.'], { reject: false })).stdout.split('\n').filter(Boolean);

beforeAll(async () => {
  writeFiles(root, {
    'configs/platforms/tb/platform.toml': ['platform = "@labrig/platform-local"', '[testbed]', 'hosts = 2', `dir = ${JSON.stringify(tb)}`, 'addressBase = "127.0.79.0"', 'port = 2379', '[run]', 'timeout = "1m"'].join('\n'),
    'targets/daphne/system.toml': [
      'system = "@labrig/system-daphne"',
      'version = "contract"',
      'path = "~/dw"',
      '[build]',
      `command = ["sh", ${JSON.stringify(join(fixturesDir, 'build-fixture.sh'))}, "{out}"]`,
      '[package]',
      'dir = "{out}/tree"',
      '[container]',
      'enabled = false',
      '[ssh]',
      'peers = ["tb-0:51500", "tb-0:51501", "tb-1:51500"]',
      'startTimeout = "20s"',
    ].join('\n'),
  });
  await up(testbed);
  // deploy depends on build (the package it copies to each host).
  await ok(() => buildExecutor({}, ctxFor(root, 'daphne')));
}, 180_000);

afterAll(async () => {
  await run(() => stopExecutor({ platform: 'tb', output: 'plain' }, ctxFor(root, 'daphne')));
  await down(tb).catch(() => undefined);
  rmSync(root, { recursive: true, force: true });
  rmSync(tb, { recursive: true, force: true });
});

it('passes the System contract: typed errors, dry run, deploy twice (the second skips), status, stop twice', async () => {
  const results = await checkSystemContract({
    root,
    project: 'daphne',
    platform: 'tb',
    // `wait` is deploy's readiness check: it has no work to skip, it probes every worker port on
    // every deploy by design (the transfer and worker:<i> steps are the ones that must skip).
    rerunSteps: ['wait'],
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
  ]);
  expect(results.every((r) => r.ok)).toBe(true);
  // The contract ended with stop: no worker process of this testbed is left.
  expect(await workerPids()).toEqual([]);
}, 120_000);
