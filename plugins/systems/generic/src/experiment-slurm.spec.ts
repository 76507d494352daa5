/**
 * Collection from Slurm job outputs: a run whose task submits a batch job (`sbatch --wait`) on the
 * testbed's real Slurm cluster (munge + slurmctld + slurmd) from its login host; the job writes
 * its output into the run's folder, and the plan collects it with the host's checksums.
 * One host, 127.0.37.1:2337.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { down, up } from '@labrig/testbed';

const workspace = join(import.meta.dirname, '../../../..');
const bin = join(workspace, 'packages/runner/bin/labrig-run.mjs');
let root: string;
let tbDir: string;

beforeAll(async () => {
  mkdirSync(join(workspace, 'tmp'), { recursive: true });
  root = mkdtempSync(join(workspace, 'tmp', 'e2e-slurm-'));
  tbDir = mkdtempSync(join(tmpdir(), 'labrig-slurm-tb-'));
  chmodSync(tbDir, 0o755);
  writeFileSync(join(root, 'nx.json'), '{}\n');
  mkdirSync(join(root, 'configs/platforms/hpc'), { recursive: true });
  writeFileSync(
    join(root, 'configs/platforms/hpc/platform.toml'),
    ['platform = "@labrig/platform-local"', '[testbed]', 'hosts = 1', `dir = ${JSON.stringify(tbDir)}`, 'addressBase = "127.0.37.0"', 'port = 2337', 'slurm = true'].join('\n'),
  );
  mkdirSync(join(root, 'targets/jobs/src'), { recursive: true });
  writeFileSync(join(root, 'targets/jobs/src/job.sh'), '#!/bin/sh\necho "job $1 of $SLURM_JOB_ID on $SLURMD_NODENAME"\n');
  writeFileSync(
    join(root, 'targets/jobs/system.toml'),
    [
      'system = "@labrig/system-generic"',
      'sources = ["src/*"]',
      '[build]',
      'command = ["sh", "-c", "mkdir -p \\"$0\\" && cp src/job.sh \\"$0/job.sh\\"", "{out}"]',
      'outputs = ["job.sh"]',
      '[[artifacts]]',
      'name = "job"',
      'path = "job.sh"',
      '[deploy]',
      'distribution = "ssh"',
      '[roles.login]',
      'hosts = { indexes = [0] }',
      '[tasks.job]',
      'role = "login"',
      'command = ["sbatch", "--wait", "--parsable", "--output={run.dir}/slurm-%j.out", "{dir}/job.sh", "{param.n}"]',
      'timeout = "2m"',
    ].join('\n'),
  );
  mkdirSync(join(root, 'configs/experiments'), { recursive: true });
  writeFileSync(
    join(root, 'configs/experiments/jobs.toml'),
    ['system = "jobs"', 'platform = "hpc"', 'task = "job"', 'collect = ["slurm-*.out"]', '[settings]', 'n = 0', '[sweep]', 'n = [1, 2]'].join('\n'),
  );
  await up({ dir: tbDir, hosts: 1, addressBase: '127.0.37.0', port: 2337, slurm: true });
  const b = await execa(process.execPath, [bin, '@labrig/system-generic:build', 'jobs', 'targets/jobs'], { cwd: root, all: true, reject: false });
  if (b.exitCode !== 0) throw new Error(`build failed:\n${b.all}`);
}, 240_000);

afterAll(async () => {
  if (tbDir) await down(tbDir);
  if (root) rmSync(root, { recursive: true, force: true });
  if (tbDir) rmSync(tbDir, { recursive: true, force: true });
});

describe('experiment runs as Slurm jobs', { timeout: 180_000 }, () => {
  it('collects each job output file from the run folder, verified against the host checksums', async () => {
    const r = await execa(process.execPath, [bin, '@labrig/system-generic:experiment', 'jobs', 'targets/jobs', '--plan=jobs', '--output=plain'], { cwd: root, all: true, reject: false });
    expect(r.exitCode, r.all).toBe(0);
    expect(r.all).toContain('2/2 runs done');
    const runs = readdirSync(join(root, 'results/jobs')).filter((d) => /-r1$/.test(d));
    expect(runs).toHaveLength(2);
    const seen: string[] = [];
    for (const run of runs) {
      const dir = join(root, 'results/jobs', run, 'attempt-1');
      const result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as { status: string; files: { path: string; sha256: string }[] };
      expect(result.status).toBe('done');
      const jobFile = result.files.find((f) => /^slurm-\d+\.out$/.test(f.path));
      expect(jobFile, JSON.stringify(result.files)).toBeDefined();
      const text = readFileSync(join(dir, 'hosts/tb-0', jobFile!.path), 'utf8');
      const jobId = /^slurm-(\d+)\.out$/.exec(jobFile!.path)![1];
      // The job's own environment: its id and the node it ran on.
      expect(text).toMatch(new RegExp(`^job [12] of ${jobId} on \\S+\\n$`));
      seen.push(text.split(' ')[1]!);
      // sbatch --parsable printed the job id on the run's stdout.
      expect(readFileSync(join(dir, 'hosts/tb-0/stdout'), 'utf8').trim()).toBe(jobId);
    }
    expect(seen.sort()).toEqual(['1', '2']);
  });
});
