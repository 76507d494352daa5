/**
 * The generic system passes the labrig System contract checks (@labrig/testkit) on the local
 * platform: a small system file (a setup command, one role whose process is ready when its file
 * appears) on two real sshd testbed hosts (127.0.38.x:2338).
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { down, up } from '@labrig/testbed';
import { ContractFailed, checkSystemContract, executorContext } from '@labrig/testkit';
import buildExecutor from './executors/build/executor.js';

const workspace = join(import.meta.dirname, '../../../..');
let root: string;
let tb: string;

beforeAll(async () => {
  mkdirSync(join(workspace, 'tmp'), { recursive: true });
  root = mkdtempSync(join(workspace, 'tmp', 'generic-contract-')); // inside the workspace: plugins resolve from its node_modules
  tb = mkdtempSync(join(tmpdir(), 'labrig-generic-contract-tb-'));
  chmodSync(tb, 0o755);
  writeFileSync(join(root, 'package.json'), '{ "name": "contract-ws", "private": true }\n');
  mkdirSync(join(root, 'configs/platforms/tb'), { recursive: true });
  writeFileSync(
    join(root, 'configs/platforms/tb/platform.toml'),
    ['platform = "@labrig/platform-local"', '[testbed]', 'hosts = 2', `dir = ${JSON.stringify(tb)}`, 'addressBase = "127.0.38.0"', 'port = 2338', '[run]', 'timeout = "1m"'].join('\n'),
  );
  mkdirSync(join(root, 'targets/tick'), { recursive: true });
  writeFileSync(
    join(root, 'targets/tick/system.toml'),
    [
      'system = "@labrig/system-generic"',
      'version = "1"',
      'sources = []',
      '[build]',
      'command = ["sh", "-c", "mkdir -p {out} && echo tick > {out}/VERSION"]',
      'outputs = ["VERSION"]',
      '[[setup]]',
      'name = "marker"',
      'command = ["sh", "-c", "mkdir -p {dir} && date > {dir}/setup-ran"]',
      '[roles.ticker]',
      'hosts = { indexes = [0, 1] }',
      'start = ["sh", "-c", "touch ticker-ready; exec sleep 3600"]',
      'ready = { file = "ticker-ready", timeout = "10s" }',
    ].join('\n'),
  );
  await up({ dir: tb, hosts: 2, addressBase: '127.0.38.0', port: 2338 });
  expect((await buildExecutor({}, executorContext(root, 'tick'))).success).toBe(true);
}, 180_000);

afterAll(async () => {
  if (tb) await down(tb).catch(() => undefined);
  rmSync(root, { recursive: true, force: true });
  rmSync(tb, { recursive: true, force: true });
});

it('fails it, naming the check, when the system never becomes ready', async () => {
  const file = join(root, 'targets/tick/system.toml');
  const good = readFileSync(file, 'utf8');
  writeFileSync(file, good.replace('ready = { file = "ticker-ready", timeout = "10s" }', 'ready = { file = "never-there", timeout = "1s" }'));
  try {
    const err = await checkSystemContract({ root, project: 'tick', platform: 'tb' }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ContractFailed);
    const failed = (err as ContractFailed).results.filter((r) => !r.ok);
    expect(failed.map((r) => r.name)).toEqual(['deploy runs (waiting until the system is ready)']);
    expect(failed[0]!.detail).toMatch(/never-there/);
    expect((err as Error).message).toMatch(/system tick .* fails the labrig System contract/);
  } finally {
    writeFileSync(file, good);
  }
}, 180_000);

it('passes the System contract: typed errors, dry run, setup and deploy twice (the second skips), status, stop twice, teardown twice', async () => {
  const results = await checkSystemContract({ root, project: 'tick', platform: 'tb', teardown: true });
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
