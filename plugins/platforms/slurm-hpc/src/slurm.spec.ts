/**
 * The slurm-hpc platform on the testbed's real Slurm (munged + slurmctld + slurmd): testbed host
 * tb-0 is the cluster's login node, reached through tb-1 as jump host (127.0.63.0/24, port 2363).
 *
 * How "one squeue call per poll" is proven: `slurm.binDir` points at a folder on the login node
 * whose Slurm commands are stand-ins that exec the real ones; the squeue stand-in also appends
 * its arguments to ~/squeue.calls. So every squeue the platform runs is counted on the host itself.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlatformInstance, Remote } from '@labrig/core';
import { CommandFailed, loadPlatform, quote } from '@labrig/core';
import { createSshPool } from '@labrig/platform-kit';
import { down, up, type TestbedState } from '@labrig/testbed';
import type { SlurmHpcConfig } from './config.js';
import { PartitionNotFound } from './errors.js';
import { jobsFile } from './job-state.js';
import { SlurmLauncher, type SlurmProcessStatus } from './launcher.js';
import { CLUSTER_FILE } from './provision.js';

const workspace = join(import.meta.dirname, '../../../..');
const runner = join(workspace, 'packages/runner/bin/labrig-run.mjs');
const NAME = 'hpc';
const PREFIX = `labrig-${NAME}-`;

let tb: TestbedState;
let tbDir: string;
let root: string;
let p: PlatformInstance<SlurmHpcConfig>;
let pool: ReturnType<typeof createSshPool>;
let remote: Remote;
let launcher: SlurmLauncher;

/** A shell command on the login node as its user, through the testbed's OpenSSH config. */
async function onLogin(script: string): Promise<string> {
  const r = await execa('ssh', ['-F', tb.sshConfigFile, 'tb-0', quote(['sh', '-c', script])]);
  return r.stdout;
}

/** Stand-ins for the Slurm commands (exec the real ones); the squeue one counts its calls. */
const STAND_INS = `mkdir -p "$HOME/slurm-bin" && : > "$HOME/squeue.calls"
for c in sbatch srun squeue scancel sinfo sacct; do
  real=$(command -v $c) || { echo "no $c" >&2; exit 1; }
  { echo '#!/bin/sh'; [ $c = squeue ] && echo 'echo "$*" >> "$HOME/squeue.calls"'; echo "exec $real \\"\\$@\\""; } > "$HOME/slurm-bin/$c"
  chmod 755 "$HOME/slurm-bin/$c"
done
echo "$HOME/slurm-bin"`;

const squeueCalls = async (): Promise<string[]> => (await remote.exec(['cat', 'squeue.calls'])).stdout.split('\n').filter(Boolean);
const readHome = async (path: string) => (await remote.exec(['cat', path.replace(/^~\//, '')], { allowFailure: true })).stdout;
const labrigRun = (...args: string[]) => execa(process.execPath, [runner, ...args, `--platform=${NAME}`], { cwd: root, all: true, reject: false });
const kit = (executor: string, ...opts: string[]) => labrigRun(`@labrig/platform-kit:${executor}`, NAME, `configs/platforms/${NAME}`, ...opts);

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const t = Date.now();
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() - t > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const workers = {
  name: 'workers',
  argv: ['sh', '-c', 'echo "task $SLURM_PROCID of $SLURM_NTASKS on $SLURMD_NODENAME"; exec sleep 3601'],
  stamp: 'workers-v1',
};

beforeAll(async () => {
  tbDir = mkdtempSync(join(tmpdir(), 'labrig-slurm-hpc-'));
  chmodSync(tbDir, 0o755);
  const t = Date.now();
  tb = await up({ dir: tbDir, hosts: 2, addressBase: '127.0.63.0', port: 2363, slurm: true });
  console.log(`testbed with Slurm up in ${Date.now() - t} ms`);
  const binDir = (await onLogin(STAND_INS)).trim();
  const [login, gw] = tb.hosts;
  mkdirSync(join(workspace, 'tmp'), { recursive: true });
  root = mkdtempSync(join(workspace, 'tmp', 'slurm-hpc-'));
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
      `identityFiles = [${JSON.stringify(tb.identityFile)}]`,
      '[login.jump]',
      'name = "gw"',
      `address = "${gw!.address}"`,
      `port = ${gw!.port}`,
      `user = "${gw!.user}"`,
      `identityFiles = [${JSON.stringify(tb.identityFile)}]`,
      '[slurm]',
      `binDir = ${JSON.stringify(binDir)}`,
      '# The testbed has one node with 2 CPUs: 4 tasks share them.',
      'sbatchArgs = ["--overcommit"]',
      'pollInterval = "200ms"',
      'stopTimeout = "30s"',
      '[slurm.jobs.workers]',
      'ntasks = 4',
      'srunArgs = ["--label"]',
    ].join('\n'),
  );
  p = await loadPlatform<SlurmHpcConfig>(root, NAME);
  pool = p.platform.createConnector(p.cfg, p.ctx) as ReturnType<typeof createSshPool>;
  const [loginHost] = await p.platform.inventory(p.cfg, p.ctx);
  remote = await pool.connect(loginHost!);
  launcher = p.platform.launcher as SlurmLauncher;
}, 180_000);

afterAll(async () => {
  await pool?.close();
  if (tbDir) await down(tbDir);
  if (root) rmSync(root, { recursive: true, force: true });
  if (tbDir) rmSync(tbDir, { recursive: true, force: true });
});

describe('slurm-hpc on a real Slurm cluster', { timeout: 90_000 }, () => {
  it('provision: the login node answers through the jump host, Slurm answers, the partition is reported', async () => {
    const hosts = await p.platform.provision!(p.cfg, p.ctx);
    expect(hosts.map((h) => h.name)).toEqual(['login']);
    expect(hosts[0]!.labels['slurm.partitions']).toMatch(/^debug\*\(up, 1 node: 1 idle\)$/);
    const report = JSON.parse(readFileSync(join(p.ctx.stateDir, CLUSTER_FILE), 'utf8')) as { partitions: { name: string; nodes: string[] }[] };
    expect(report.partitions).toMatchObject([{ name: 'debug', nodes: ['node1'] }]);
    const wrong = { ...p.cfg, slurm: { ...p.cfg.slurm, partition: 'gpu' } };
    await expect(p.platform.provision!(wrong, p.ctx)).rejects.toThrow(PartitionNotFound);
    await expect(p.platform.provision!(wrong, p.ctx)).rejects.toThrow(/configs\/platforms\/hpc\/platform\.toml: slurm\.partition: the cluster has no partition "gpu" \(sinfo lists: debug\)/);
  });

  it('start: 4 tasks as one job, seen running with one squeue per poll, one log per task', async () => {
    const started = await launcher.start(remote, workers);
    expect(started).toMatchObject({ running: true, jobName: `${PREFIX}workers`, stamp: 'workers-v1', ntasks: 4 });
    const before = (await squeueCalls()).length;
    let polls = 0;
    const st = await until('the job to run', async () => {
      polls++;
      const s = await launcher.status(remote, 'workers');
      return s.state === 'RUNNING' ? s : undefined;
    });
    expect((await squeueCalls()).length - before).toBe(polls);
    expect(st).toMatchObject({ running: true, jobId: started.jobId, nodes: ['node1'], stamp: 'workers-v1', ntasks: 4 });
    expect(st.taskLogs).toEqual([0, 1, 2, 3].map((t) => `~/.labrig/slurm/${PREFIX}workers-${st.jobId}-${t}.log`));
    // Each task wrote its own log; srunArgs (--label) reached srun.
    const logs = await until('every task to log', async () => {
      const texts = await Promise.all(st.taskLogs.map(readHome));
      return texts.every((x) => x.trim() !== '') ? texts : undefined;
    });
    expect(logs.map((x) => x.trim())).toEqual([0, 1, 2, 3].map((t) => `${t}: task ${t} of 4 on node1`));
    expect((await remote.exec(['pgrep', '-c', '-u', tb.hosts[0]!.user, '-f', '^sleep 3601'])).stdout.trim()).toBe('4');
    // The inventory now has the job's node (from state, no host contacted).
    const hosts = await p.platform.inventory(p.cfg, p.ctx);
    expect(hosts.map((h) => [h.name, h.roles[0], h.jump?.name])).toEqual([
      ['login', 'login', 'gw'],
      ['node1', 'compute', 'login'],
    ]);
  });

  it('status of several jobs is one squeue call; a second start of a running name is refused', async () => {
    await launcher.start(remote, { name: 'solo', argv: ['sleep', '3602'], stamp: 'solo-v1' });
    const before = (await squeueCalls()).length;
    const [a, b] = await Promise.all([launcher.status(remote, 'workers'), launcher.status(remote, 'solo')]);
    const calls = await squeueCalls();
    expect(calls.length - before).toBe(1);
    expect(calls.at(-1)).toMatch(new RegExp(`--name=(${PREFIX}workers,${PREFIX}solo|${PREFIX}solo,${PREFIX}workers) `));
    expect([a.running, b.running]).toEqual([true, true]);
    const again = launcher.start(remote, workers);
    await expect(again).rejects.toBeInstanceOf(CommandFailed);
    await expect(again).rejects.toThrow(new RegExp(`${PREFIX}workers is already RUNNING as job ${a.jobId}`));
  });

  it('a fresh launcher with a new SSH pool, and a fresh process, re-find the job by name with its stamp', async () => {
    const first = await launcher.status(remote, 'workers');
    rmSync(jobsFile(p.ctx.stateDir)); // the local record is lost: Slurm is the truth
    const pool2 = createSshPool(root, p.cfg.ssh);
    try {
      const [login] = await p.platform.inventory(p.cfg, p.ctx);
      const fresh = new SlurmLauncher();
      const r2 = await pool2.connect(login!);
      const [w, s] = await Promise.all([fresh.status(r2, 'workers'), fresh.status(r2, 'solo')]);
      expect(w).toMatchObject({ running: true, jobId: first.jobId, stamp: 'workers-v1', ntasks: 4, nodes: ['node1'] });
      expect(s).toMatchObject({ running: true, stamp: 'solo-v1', ntasks: 1 });
      expect(fresh.queue.squeueCalls).toBe(1);
    } finally {
      await pool2.close();
    }
    // Both jobs are recorded again, so the inventory has their node again.
    expect((await p.platform.inventory(p.cfg, p.ctx)).map((h) => h.name)).toEqual(['login', 'node1']);
    const script = join(root, 'status.ts');
    writeFileSync(
      script,
      [
        "import { loadPlatform } from '@labrig/core';",
        `const p = await loadPlatform(process.cwd(), ${JSON.stringify(NAME)});`,
        'const [login] = await p.platform.inventory(p.cfg, p.ctx);',
        'const pool = p.platform.createConnector(p.cfg, p.ctx);',
        'try { console.log(JSON.stringify(await p.platform.launcher!.status(await pool.connect(login!), process.argv[2]!))); } finally { await pool.close(); }',
      ].join('\n'),
    );
    const r = await execa(join(workspace, 'node_modules/.bin/tsx'), [script, 'workers'], { cwd: root, all: true, reject: false });
    expect(r.exitCode, r.all).toBe(0);
    expect(JSON.parse(r.stdout) as SlurmProcessStatus).toMatchObject({ running: true, jobId: first.jobId, stamp: 'workers-v1', state: 'RUNNING' });
  });

  it('stop: scancel, then squeue no longer lists the job and none of its processes is left', async () => {
    const t = Date.now();
    expect(await launcher.stop(remote, 'workers')).toEqual({ wasRunning: true });
    console.log(`stop (scancel + wait until gone) in ${Date.now() - t} ms`);
    expect(await onLogin(`squeue --me --noheader --name=${PREFIX}workers`)).toBe('');
    expect((await remote.exec(['pgrep', '-u', tb.hosts[0]!.user, '-f', '^sleep 3601'], { allowFailure: true })).stdout).toBe('');
    // An ended job: squeue still lists it (MinJobAge) with its final state. sacct is asked once for
    // its exit status; the testbed keeps no accounting (sacct: "accounting storage is disabled"),
    // so from then on squeue alone answers.
    const sacct = launcher.queue.sacctCalls;
    expect(await launcher.status(remote, 'workers')).toMatchObject({ running: false, state: 'CANCELLED' });
    expect(launcher.queue.sacctCalls - sacct).toBe(1);
    expect(await launcher.status(remote, 'workers')).not.toHaveProperty('exitCode');
    expect(launcher.queue.sacctCalls - sacct).toBe(1);
    expect(await onLogin('sacct --noheader 2>&1 || true')).toMatch(/accounting storage is disabled/);
    expect(await launcher.stop(remote, 'workers')).toEqual({ wasRunning: false });
    // Its node stays in the inventory while another of our jobs runs there (as recorded by the last status of that job).
    await until('solo to run', async () => ((await launcher.status(remote, 'solo')).state === 'RUNNING' ? true : undefined));
    const node = (await p.platform.inventory(p.cfg, p.ctx)).find((h) => h.name === 'node1');
    expect(node?.labels['slurm.jobs']).toMatch(new RegExp(`^${PREFIX}solo:\\d+$`));
  });

  it("the kit's executors (labrig-run, fresh processes): hosts, exec, provision, then teardown twice cancels only this deployment's jobs", async () => {
    // A job of this deployment that no record knows, and someone else's job.
    await onLogin(`sbatch --parsable -J ${PREFIX}orphan --overcommit --output=/dev/null --wrap "sleep 3603"`);
    const foreign = (await onLogin('sbatch --parsable -J not-labrig --overcommit --output=/dev/null --wrap "sleep 3604"')).trim();
    try {
      const hosts = await kit('hosts');
      expect(hosts.exitCode, hosts.all).toBe(0);
      expect(hosts.stdout).toMatch(/^login\s+127\.0\.63\.1\s+2363\s+\S+\s+login\s+gw$/m);
      expect(hosts.stdout).toMatch(/^node1\s+node1\s+22\s+\S+\s+compute\s+login$/m);
      const exec = await kit('exec', '--cmd=echo "$(id -un) sees $(sinfo --noheader --format=%P)"', '--roles=login', '--output=plain');
      expect(exec.exitCode, exec.all).toBe(0);
      expect(exec.stdout).toContain(`[login] ${tb.hosts[0]!.user} sees debug*`);
      const prov = await kit('provision');
      expect(prov.exitCode, prov.all).toBe(0);
      expect(prov.stdout).toMatch(/host\(s\) ready/);

      const td = await kit('teardown');
      expect(td.exitCode, td.all).toBe(0);
      expect(await onLogin('squeue --me --noheader --format=%j')).toBe('not-labrig');
      expect(existsSync(jobsFile(p.ctx.stateDir))).toBe(false);
      expect((await p.platform.inventory(p.cfg, p.ctx)).map((h) => h.name)).toEqual(['login']);
      const again = await kit('teardown');
      expect(again.exitCode, again.all).toBe(0);
      expect(await onLogin('squeue --me --noheader --format=%j')).toBe('not-labrig');
      expect((await remote.exec(['pgrep', '-u', tb.hosts[0]!.user, '-f', '^sleep 360[23]'], { allowFailure: true })).stdout).toBe('');
    } finally {
      await onLogin(`scancel ${foreign}`);
    }
  });
});
