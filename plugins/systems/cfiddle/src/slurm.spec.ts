/**
 * cfiddle on slurm-hpc, for real on the testbed's Slurm (munged, slurmctld, slurmd on this machine;
 * testbed host tb-0 at 127.0.75.1:2375 is the login node): mode auto picks "slurm"; the sandbox
 * image is pulled on every compute node by a Slurm job, the delegate-function chain is written, and
 * a test job runs the sandbox through srun. Only `docker` is a fixture (src/testing/fixtures/docker):
 * the jobs that call it are real Slurm jobs (the fixture records their SLURM_JOB_ID).
 */
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { down, up, type TestbedState } from '@labrig/testbed';
import deploy from './executors/deploy/executor.js';
import status from './executors/status/executor.js';
import teardown from './executors/teardown/executor.js';
import { capture, ctxFor, ok, tempWorkspace, writeIn } from './testing/workspace.js';

let root: string;
let tb: string;
let fx: string;
let state: TestbedState;
const o = { platform: 'hpc', output: 'plain' as const };
const IMAGE = 'registry.test:5000/cfiddle-sandbox:latest';

beforeAll(async () => {
  root = tempWorkspace('cfiddle-slurm-');
  tb = mkdtempSync(join(tmpdir(), 'labrig-cfiddle-slurm-tb-'));
  chmodSync(tb, 0o755);
  fx = join(tb, 'fx');
  cpSync(join(import.meta.dirname, 'testing/fixtures'), join(fx, 'bin'), { recursive: true });
  chmodSync(fx, 0o755);
  mkdirSync(join(fx, 'state/registry'), { recursive: true });
  for (const d of ['state', 'state/registry']) chmodSync(join(fx, d), 0o777);
  writeFileSync(join(fx, 'state/registry', IMAGE.replace(/\//g, '%')), 'sandbox image\n');
  state = await up({ dir: tb, hosts: 1, addressBase: '127.0.75.0', port: 2375, slurm: true });
  const login = state.hosts[0]!;
  writeIn(
    root,
    'configs/platforms/hpc/platform.toml',
    [
      'platform = "@labrig/platform-slurm-hpc"',
      '[login]',
      `address = "${login.address}"`,
      `port = ${login.port}`,
      `user = "${login.user}"`,
      `identityFiles = [${JSON.stringify(state.identityFile)}]`,
      '[slurm]',
      'sbatchArgs = ["--overcommit"]',
    ].join('\n'),
  );
  writeIn(
    root,
    'targets/cfiddle/system.toml',
    [
      'system = "@labrig/system-cfiddle"',
      '[env]',
      `PATH = "${join(fx, 'bin')}:/usr/local/bin:/usr/bin:/bin"`,
      `CFIDDLE_FIXTURE_STATE = "${join(fx, 'state')}"`,
      '[slurm]',
      `sandboxImage = "${IMAGE}"`,
      'jobTimeout = "2m"',
    ].join('\n'),
  );
}, 180_000);

afterAll(async () => {
  if (tb) await down(tb).catch(() => undefined);
  if (root) rmSync(root, { recursive: true, force: true });
  if (tb) rmSync(tb, { recursive: true, force: true });
});

describe('cfiddle on the testbed Slurm (slurm-hpc)', () => {
  it('deploy: the sandbox pulled by a Slurm job, the delegate-function chain written, a test job runs the sandbox', async () => {
    const out = await ok(() => deploy(o, ctxFor(root)));
    const login = state.hosts[0]!;
    // The chain, with absolute paths under the cluster user's home.
    const chain = readFileSync(join(login.home, '.cfiddle/delegate-function.yml'), 'utf8');
    expect(chain).toContain('  - type: SlurmDelegate\n');
    expect(chain).toContain(`    temporary_file_root: ${login.home}/cfiddle-tmp\n`);
    expect(chain).toContain('    docker_image: cfiddle-sandbox:latest\n');
    expect(existsSync(join(login.home, 'cfiddle-tmp'))).toBe(true);
    // Every Slurm node pulled and tagged the image (calls made inside the job); the test job ran it.
    const calls = readFileSync(join(fx, 'state/calls.log'), 'utf8');
    expect(calls).toContain(`docker pull ${IMAGE}`);
    expect(calls).toContain(`docker tag ${IMAGE} cfiddle-sandbox:latest`);
    const runs = readFileSync(join(fx, 'state/runs.log'), 'utf8').trim().split('\n');
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatch(/run cfiddle-sandbox:latest in job \d+ on node\d/);
    const job = /in job (\d+)/.exec(runs[0]!)![1];
    expect(out).toContain(`test job ${job} ran the sandbox`);
    expect(out).toMatch(/\[login\] cfiddle-sandbox-ok/);
    expect(calls).not.toMatch(/swarm|stack/);
    const st = await ok(() => status(o, ctxFor(root)));
    expect(st).toMatch(/\[login\] config \.cfiddle\/delegate-function\.yml present/);
  }, 180_000);

  it('a sandbox image the registry does not have fails the pull job with docker\'s message', async () => {
    writeIn(root, 'targets/missing/system.toml', readFileSync(join(root, 'targets/cfiddle/system.toml'), 'utf8').replace(IMAGE, 'registry.test:5000/nope:latest'));
    const r = await capture(() => deploy(o, ctxFor(root, 'missing')));
    expect(r.success).toBe(false);
    expect(r.out).toMatch(/manifest for registry\.test:5000\/nope:latest not found/);
  }, 180_000);

  it('teardown cancels its jobs and removes the chain (twice)', async () => {
    await ok(() => teardown(o, ctxFor(root)));
    expect(existsSync(join(state.hosts[0]!.home, '.cfiddle/delegate-function.yml'))).toBe(false);
    await ok(() => teardown(o, ctxFor(root)));
  }, 120_000);
});
