/**
 * SigmaOS passes the labrig System contract checks (@labrig/testkit) on the local platform, run the
 * way a third party would: one `checkSystemContract` call on a temp workspace whose system file
 * points at the plugin. Two real sshd testbed hosts (127.0.71.1-2:2371, one unix user each): a
 * leader and one follower, so every deploy step (including the swarm token hand-off) runs. What
 * cannot run here (docker, sudo, cloud-init, SigmaOS's own scripts) are the fixtures of
 * src/testing/fixtures, put first on the hosts' PATH through the system file's `env`; git is real.
 * Deploy needs no build output (the hosts clone the repository and pull the TAG's images), so
 * nothing is built first.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { down, up } from '@labrig/testbed';
import { checkSystemContract } from '@labrig/testkit';
import { FIXTURES, installFixtures, lastRun, makeFixtureRepo } from './testing/harness.js';

const workspace = join(import.meta.dirname, '../../../..');
const ADDRESS_BASE = '127.0.71.0';
const PORT = 2371;
let root: string;
let tbDir: string;
let fxDir: string;

beforeAll(async () => {
  mkdirSync(join(workspace, 'tmp'), { recursive: true });
  root = mkdtempSync(join(workspace, 'tmp', 'sigmaos-contract-')); // inside the workspace: plugins resolve from its node_modules
  tbDir = mkdtempSync(join(tmpdir(), 'labrig-sigmaos-contract-tb-'));
  fxDir = mkdtempSync(join(tmpdir(), 'labrig-sigmaos-contract-fx-'));
  const fx = installFixtures(fxDir);
  const repo = makeFixtureRepo(fxDir);
  writeFileSync(join(root, 'package.json'), '{ "name": "sigmaos-contract-ws", "private": true }\n');
  cpSync(join(FIXTURES, 'checkout'), join(root, 'checkout'), { recursive: true });
  mkdirSync(join(root, 'creds'));
  writeFileSync(join(root, 'creds/credentials'), '[sigmaos]\naws_access_key_id = AKIACONTRACT\naws_secret_access_key = contract-secret\n');
  writeFileSync(join(root, 'creds/config.json'), '{"auths":{}}\n');
  mkdirSync(join(root, 'configs/platforms/tb'), { recursive: true });
  writeFileSync(
    join(root, 'configs/platforms/tb/platform.toml'),
    ['platform = "@labrig/platform-local"', '[testbed]', 'hosts = 2', `dir = ${JSON.stringify(tbDir)}`, `addressBase = "${ADDRESS_BASE}"`, `port = ${PORT}`, '[run]', 'timeout = "1m"'].join('\n'),
  );
  const env = {
    PATH: `${fx.bin}:/usr/local/bin:/usr/bin:/bin`,
    FIXTURE_DIR: fx.shared,
    SIGMAOS_READY_DIR: fx.ready,
    FIXTURE_READY_DELAY: '1',
    GIT_CONFIG_GLOBAL: repo.gitconfig,
  };
  mkdirSync(join(root, 'targets/sigmaos'), { recursive: true });
  writeFileSync(
    join(root, 'targets/sigmaos/system.toml'),
    [
      'system = "@labrig/system-sigmaos"',
      'tag = "labrig-contract"',
      'source = "checkout"',
      'buildTarget = "remote"',
      'ncores = 2',
      `imageExport = ["sh", ${JSON.stringify(join(FIXTURES, 'export-image.sh'))}, "{image}", "{archive}"]`,
      'packages = ["docker.io", "jq"]',
      '[repo]',
      `url = ${JSON.stringify(repo.url)}`,
      '[credentials]',
      '".aws/credentials" = "creds/credentials"',
      '".docker/config.json" = "creds/config.json"',
      '[kernel]',
      `readyDir = ${JSON.stringify(fx.ready)}`,
      'readyTimeout = "30s"',
      '[bench]',
      `output = ${JSON.stringify(join(fx.shared, 'bench.out'))}`,
      `perfDir = ${JSON.stringify(join(fx.shared, 'perf'))}`,
      '[env]',
      ...Object.entries(env).map(([k, v]) => `${k} = ${JSON.stringify(v)}`),
    ].join('\n'),
  );
  await up({ dir: tbDir, hosts: 2, addressBase: ADDRESS_BASE, port: PORT });
}, 180_000);

afterAll(async () => {
  if (tbDir) await down(tbDir).catch(() => undefined);
  for (const d of [root, tbDir, fxDir]) if (d) rmSync(d, { recursive: true, force: true });
}, 120_000);

it('passes the System contract: typed errors, dry run, setup and deploy twice (the second skips), status, stop twice', async () => {
  const results = await checkSystemContract({
    root,
    project: 'sigmaos',
    platform: 'tb',
    // leader:join-token reads the leader's worker token (`docker swarm join-token -q worker`) on
    // every deploy: it changes nothing, and the leader cannot tell from its own host whether every
    // follower has joined, so it always hands the followers a current token (followers already in
    // the swarm skip the join).
    rerunSteps: ['leader:join-token'],
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
  ]);
  expect(results.every((r) => r.ok)).toBe(true);
  // rerunSteps hides nothing else: in the second deploy, the token read is the only step that ran.
  const { events } = await lastRun(root, 'sigmaos:deploy');
  const ran = events.filter((e) => e['type'] === 'host-end' && e['status'] !== 'skipped').map((e) => `${e['step']}@${e['host']}:${e['status']}`);
  expect(ran).toEqual(['leader:join-token@tb-0:ok']);
}, 180_000);
