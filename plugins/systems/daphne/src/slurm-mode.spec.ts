/**
 * Slurm mode for real through the testbed's Slurm (munge, slurmctld, slurmd on this machine;
 * login node tb-0 = 127.0.77.1:2377) on the slurm-hpc platform, with the FIXTURE singularity (no
 * Singularity/Apptainer here) so that the whole chain runs: image, build inside it, package,
 * transfer to the login node once, the workers as one Slurm job of 4 tasks (one worker per task on
 * 51100 + SLURM_LOCALID, each run by `singularity exec`), wait, run (srun, DISTRIBUTED_WORKERS set)
 * reaching all four, stop (scancel: no worker process remains). Errors: no runtime for the image,
 * a bad partition (Slurm's reason), run with no workers up.
 */
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { down, up } from '@labrig/testbed';
import type { TestbedState } from '@labrig/testbed';
import buildExecutor from './executors/build/executor.js';
import deployExecutor from './executors/deploy/executor.js';
import imageExecutor from './executors/image/executor.js';
import runExecutor from './executors/run/executor.js';
import statusExecutor from './executors/status/executor.js';
import stopExecutor from './executors/stop/executor.js';
import waitExecutor from './executors/wait/executor.js';
import workersExecutor from './executors/workers/executor.js';
import { ctxFor, errorOf, fixturesDir, lastRun, ok, run, statuses, tempRoot, writeFiles } from './testing/harness.js';

const root = tempRoot('daphne-slurm-');
const tb = mkdtempSync(join(tmpdir(), 'labrig-daphne-slurm-tb-'));
chmodSync(tb, 0o755);
// The fixture singularity and the calls log, readable and writable by the testbed's login user.
const fx = mkdtempSync(join(tmpdir(), 'labrig-daphne-fx-'));
chmodSync(fx, 0o755);
const singularity = join(fx, 'singularity');
const calls = join(fx, 'calls.log');
const o = { platform: 'hpc', output: 'plain' as const };
let state: TestbedState;

const system = (extra: string[] = [], slurm: string[] = []) =>
  [
    'system = "@labrig/system-daphne"',
    'version = "e2e"',
    'path = "~/DaphneDistributedWorker"',
    'port = 51100',
    ...extra,
    '[env]',
    `DAPHNE_FIXTURE_CALLS = ${JSON.stringify(calls)}`,
    '[build]',
    `command = ["sh", ${JSON.stringify(join(fixturesDir, 'build-fixture.sh'))}, "{out}"]`,
    '[package]',
    'dir = "{out}/tree"',
    '[container]',
    `runtime = ${JSON.stringify(singularity)}`,
    'from = "docker://daphneeu/daphne-dev:latest"',
    'singularityArgs = ["--cleanenv"]',
    '[slurm]',
    'numcores = 4',
    'workerAddress = "127.0.77.1"',
    'startTimeout = "60s"',
    'sbatchArgs = ["--overcommit"]',
    'runSrunArgs = ["--overcommit"]',
    ...slurm,
  ].join('\n');

const workerPids = async () => (await execa('pgrep', ['-f', 'lib/DistributedWorker.mjs 127\\.0\\.77\\.1:'], { reject: false })).stdout.split('\n').filter(Boolean);
const squeue = async () => (await execa('squeue', ['-h', '-o', '%i|%j|%T|%C'], { env: { SLURM_CONF: state.slurm!.confFile }, reject: false })).stdout.trim();

beforeAll(async () => {
  copyFileSync(join(fixturesDir, 'singularity'), singularity);
  chmodSync(singularity, 0o755);
  writeFileSync(calls, '');
  chmodSync(calls, 0o666);
  state = await up({ dir: tb, hosts: 1, addressBase: '127.0.77.0', port: 2377, slurm: true });
  const login = state.hosts[0]!;
  writeFiles(root, {
    'configs/platforms/hpc/platform.toml': [
      'platform = "@labrig/platform-slurm-hpc"',
      '[login]',
      `address = "${login.address}"`,
      `port = ${login.port}`,
      `user = "${login.user}"`,
      `identityFiles = [${JSON.stringify(state.identityFile)}]`,
      '[slurm]',
      'pollInterval = "200ms"',
      'stopTimeout = "30s"',
      '[run]',
      'timeout = "2m"',
    ].join('\n'),
    'targets/daphne/system.toml': system(),
    'targets/daphne/scripts/examples/hello.daphne': 'print("hello");\n',
    'targets/badpart/system.toml': system([], ['partition = "nosuchpartition"']),
    'targets/noruntime/system.toml': system().replace(`runtime = ${JSON.stringify(singularity)}`, 'runtime = "auto"'),
    'example.daphne': 'X = rand(2, 2, 0.0, 1.0, 1.0, 1);\nprint(sum(X));\n',
  });
}, 180_000);

afterAll(async () => {
  await run(() => stopExecutor(o, ctxFor(root, 'daphne')));
  await down(tb).catch(() => undefined);
  rmSync(root, { recursive: true, force: true });
  rmSync(tb, { recursive: true, force: true });
  rmSync(fx, { recursive: true, force: true });
});

describe('DAPHNE Slurm mode through the testbed Slurm', { timeout: 150_000 }, () => {
  it('image without singularity/apptainer on PATH: says so clearly', async () => {
    const path = process.env['PATH'];
    process.env['PATH'] = '/nonexistent';
    try {
      const r = await run(() => imageExecutor({}, ctxFor(root, 'noruntime')));
      expect(r.success).toBe(false);
      expect(r.out).toContain('neither singularity nor apptainer is on PATH');
      expect(r.out).toContain('container.enabled = false');
    } finally {
      process.env['PATH'] = path;
    }
  });

  it('image, then the build inside it, then the package (build + *.daphne scripts)', async () => {
    process.env['DAPHNE_FIXTURE_CALLS'] = calls;
    try {
      await ok(() => imageExecutor({}, ctxFor(root, 'daphne')));
    } finally {
      delete process.env['DAPHNE_FIXTURE_CALLS'];
    }
    expect(readFileSync(join(root, 'dist/targets/daphne-image/daphne.sif'), 'utf8')).toContain('docker://daphneeu/daphne-dev:latest');
    expect(await run(() => imageExecutor({}, ctxFor(root, 'daphne')))).toMatchObject({ success: true, out: expect.stringContaining('is up to date') });
    process.env['DAPHNE_FIXTURE_CALLS'] = calls;
    try {
      await ok(() => buildExecutor({}, ctxFor(root, 'daphne')));
    } finally {
      delete process.env['DAPHNE_FIXTURE_CALLS'];
    }
    const log = readFileSync(calls, 'utf8');
    expect(log).toMatch(/singularity build .*daphne\.sif\.tmp docker:\/\/daphneeu\/daphne-dev:latest/);
    expect(log).toMatch(/singularity exec --cleanenv .*daphne\.sif sh .*build-fixture\.sh/);
    const m = JSON.parse(readFileSync(join(root, 'dist/targets/daphne/daphne-package.json'), 'utf8')) as { entries: string[] };
    expect(m.entries).toEqual(expect.arrayContaining(['bin/DistributedWorker', 'bin/daphne', 'lib/DistributedWorker.mjs', 'scripts/examples/hello.daphne']));
  });

  it('deploy: transfer to the login node, the workers job (4 tasks, one worker each), wait sees all four', async () => {
    writeFileSync(calls, '');
    const out = await ok(() => deployExecutor(o, ctxFor(root, 'daphne')));
    const ev = await lastRun(root, 'daphne:deploy');
    expect(statuses(ev, 'transfer')).toEqual({ login: 'ok' });
    expect(statuses(ev, 'workers')).toEqual({ login: 'ok' });
    expect(statuses(ev, 'wait')).toEqual({ login: 'ok' });
    const home = state.hosts[0]!.home;
    expect(existsSync(join(home, 'DaphneDistributedWorker/daphne.sif'))).toBe(true);
    expect(existsSync(join(home, 'DaphneDistributedWorker/scripts/examples/hello.daphne'))).toBe(true);
    const peers = [51100, 51101, 51102, 51103].map((p) => `127.0.77.1:${p}`);
    expect(out).toContain(`DISTRIBUTED_WORKERS=${peers.join(',')}`);
    // One job named after the deployment, 4 tasks, running.
    const q = await squeue();
    expect(q).toMatch(/^\d+\|labrig-hpc-daphne-workers\|RUNNING\|/);
    expect(q.split('\n')).toHaveLength(1);
    expect(await workerPids()).toHaveLength(4);
    // Each worker ran inside the (fixture) container.
    expect(readFileSync(calls, 'utf8').match(/singularity exec --cleanenv daphne\.sif \.\/bin\/DistributedWorker 127\.0\.77\.1:5110\d/g)).toHaveLength(4);
    await ok(() => waitExecutor(o, ctxFor(root, 'daphne')));
    const st = await ok(() => statusExecutor(o, ctxFor(root, 'daphne')));
    for (const p of peers) expect(st).toContain(`worker ${p}: listening`);
  });

  it('run: the coordinator through srun reaches all four workers (script from a file)', async () => {
    const out = await ok(() => runExecutor({ ...o, script: 'example.daphne', args: ['k=1'] }, ctxFor(root, 'daphne')));
    expect(out).toMatch(/coordinator ran labrig-run-\w+\.daphne on 4 of 4 workers/);
    // The coordinator ran in the (fixture) container, as an srun step.
    expect(readFileSync(calls, 'utf8')).toMatch(/singularity exec --cleanenv daphne\.sif \.\/bin\/daphne --distributed scripts\/labrig-run-\w+\.daphne k=1/);
    const logs = join(state.hosts[0]!.home, 'DaphneDistributedWorker/logs');
    const files = readdirSync(logs).sort();
    expect(files).toEqual([51100, 51101, 51102, 51103].map((p) => `OUTPUT.127.0.77.1:${p}`));
    for (const f of files) expect(readFileSync(join(logs, f), 'utf8')).toMatch(/received: run labrig-run-\w+\.daphne sha=\w+ args=k=1/);
  });

  it('stop: scancel of the job; Slurm no longer lists it and no worker process remains; run then fails clearly', async () => {
    await ok(() => stopExecutor(o, ctxFor(root, 'daphne')));
    expect(statuses(await lastRun(root, 'daphne:stop'), 'stop')).toEqual({ login: 'ok' });
    expect(await squeue()).not.toContain('daphne-workers');
    expect(await workerPids()).toEqual([]);
    const r = await run(() => runExecutor({ ...o, script: 'example.daphne' }, ctxFor(root, 'daphne')));
    expect(r.success).toBe(false);
    expect(errorOf(await lastRun(root, 'daphne:run'), 'run')?.message).toContain('no DAPHNE worker is up');
  });

  it('a workers job that cannot start (bad partition): the error carries Slurm’s reason', async () => {
    await ok(() => imageExecutor({}, ctxFor(root, 'badpart')));
    await ok(() => buildExecutor({}, ctxFor(root, 'badpart')));
    const r = await run(() => workersExecutor(o, ctxFor(root, 'badpart')));
    expect(r.success).toBe(false);
    const err = errorOf(await lastRun(root, 'badpart:workers'), 'workers');
    expect(err?.message).toMatch(/invalid partition/i);
    expect(r.out).toMatch(/sbatch refused the job/);
    console.log(`bad partition: ${err?.message}`);
  });
});
