import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestbedHost, TestbedSlurm } from '../types.js';
import { pidAlive, which } from './common.js';
import { serviceStatus, startSlurm, stopServices } from './index.js';

const me = os.userInfo().username;
const loginHost: TestbedHost = {
  name: 'tb-login',
  address: '127.0.1.1',
  port: 2222,
  user: me,
  home: os.homedir(),
  identityFile: '',
  pidFile: '',
  logFile: '',
  index: -1,
  configFile: '',
  hostKeyFile: '',
};

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('startSlurm (munged + slurmctld + slurmd)', () => {
  let dir: string;
  let slurm: TestbedSlurm;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'labrig-slurm-'));
    await chmod(dir, 0o755); // munge: every dir on the socket path must be o+x
    const t = Date.now();
    slurm = await startSlurm(dir, { loginHost, nodes: 2, cpus: 2 });
    console.log(`slurm (munged, slurmctld, 2 slurmd) ready in ${Date.now() - t} ms`);
    env = { SLURM_CONF: slurm.confFile };
  });

  afterAll(async () => {
    await stopServices(dir);
    await rm(dir, { recursive: true, force: true });
  });

  it('returns the cluster info and writes the login host sshd include', async () => {
    expect(slurm).toMatchObject({ loginHost: 'tb-login', clusterName: 'labrig', partition: 'debug' });
    expect(slurm.nodes).toEqual(['node1', 'node2']);
    expect(slurm.confFile).toBe(path.join(dir, 'services', 'slurm', 'slurm.conf'));
    const inc = await readFile(path.join(dir, 'hosts', 'tb-login', 'sshd_slurm.conf'), 'utf8');
    expect(inc).toContain(`SetEnv SLURM_CONF=${slurm.confFile}\n`);
  });

  it('sinfo lists the partition with all nodes idle', async () => {
    const r = await execa('sinfo', ['-h', '-o', '%P %a %D %T %N'], { env });
    expect(r.stdout.trim()).toBe('debug* up 2 idle node[1-2]');
  });

  it('srun -N1 hostname prints this machine hostname; -N2 runs on both nodes', async () => {
    const one = await execa('srun', ['-N1', 'hostname'], { env, timeout: 30_000 });
    expect(one.stdout.trim()).toBe(os.hostname());
    const two = await execa('srun', ['-N2', '-l', 'printenv', 'SLURMD_NODENAME'], { env, timeout: 30_000 });
    expect(two.stdout.split('\n').map((l) => l.replace(/^\d+: /, '').trim()).sort()).toEqual(['node1', 'node2']);
  });

  it('an sbatch --wrap job runs to COMPLETED', async () => {
    const out = path.join(dir, 'job-%j.out');
    const sub = await execa('sbatch', ['--parsable', `--output=${out}`, '--wrap', 'echo job-ok on $(hostname)'], {
      env,
    });
    const id = sub.stdout.trim().split(';')[0] ?? '';
    expect(id).toMatch(/^\d+$/);
    const t = Date.now();
    let state = '';
    while (Date.now() - t < 30_000) {
      const r = await execa('scontrol', ['show', 'job', id], { env, reject: false });
      state = /JobState=(\S+)/.exec(r.stdout)?.[1] ?? '';
      if (['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL'].includes(state)) break;
      await delay(200);
    }
    console.log(`sbatch job ${id} ${state} after ${Date.now() - t} ms`);
    expect(state).toBe('COMPLETED');
    expect(await readFile(out.replace('%j', id), 'utf8')).toBe(`job-ok on ${os.hostname()}\n`);
  });

  it('a non-root user can run jobs with the same SLURM_CONF (munge socket reachable)', async (ctx) => {
    const runuser = await which('runuser');
    if (process.getuid?.() !== 0 || !runuser) {
      ctx.skip();
      return;
    }
    const r = await execa(runuser, ['-u', 'nobody', '--', 'env', `SLURM_CONF=${slurm.confFile}`, 'srun', '-N1', 'id', '-un'], {
      cwd: os.tmpdir(),
      timeout: 30_000,
    });
    expect(r.stdout.trim()).toBe('nobody');
  });

  it('is idempotent: a second start returns the same cluster, same pids', async () => {
    const before = await serviceStatus(dir);
    expect(before.slurm.running).toBe(true);
    const t = Date.now();
    expect(await startSlurm(dir, { loginHost, nodes: 2 })).toEqual(slurm);
    console.log(`slurm second start (already running) in ${Date.now() - t} ms`);
    expect((await serviceStatus(dir)).slurm.pids).toEqual(before.slurm.pids);
  });

  it('stopServices leaves no process behind (safe twice); a restart comes back idle', async () => {
    const pids = Object.values((await serviceStatus(dir)).slurm.pids).filter((p): p is number => p !== undefined);
    expect(pids).toHaveLength(4); // munged, slurmctld, 2 slurmd
    // A job still running at stop time: its processes must go too.
    const marker = path.join(dir, 'still-running');
    const sub = await execa('sbatch', ['--parsable', '--output=/dev/null', '--wrap', `echo $$ > ${marker}; exec sleep 300`], {
      env,
    });
    const jobId = sub.stdout.trim();
    let jobPid: number | undefined;
    for (let i = 0; i < 150 && !jobPid; i++) {
      jobPid = Number.parseInt(await readFile(marker, 'utf8').catch(() => ''), 10) || undefined;
      if (!jobPid) await delay(100);
    }
    expect(jobPid, `job ${jobId} started`).toBeDefined();
    pids.push(jobPid as number);
    let t = Date.now();
    await stopServices(dir);
    console.log(`slurm stop in ${Date.now() - t} ms`);
    await stopServices(dir);
    for (const pid of pids) expect(pidAlive(pid), `pid ${pid}`).toBe(false);
    expect((await serviceStatus(dir)).slurm.running).toBe(false);

    t = Date.now();
    const again = await startSlurm(dir, { loginHost, nodes: 2 });
    console.log(`slurm restart in ${Date.now() - t} ms`);
    expect(again.nodes).toEqual(slurm.nodes);
    const r = await execa('srun', ['-N1', 'hostname'], { env: { SLURM_CONF: again.confFile }, timeout: 30_000 });
    expect(r.stdout.trim()).toBe(os.hostname());
  });
});

describe('startSlurm options and errors', () => {
  it('serves on another loopback address when asked (address option)', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'labrig-slurm-addr-'));
    await chmod(dir, 0o755);
    try {
      const t = Date.now();
      const s = await startSlurm(dir, { loginHost, address: '127.0.0.2', cpus: 1 });
      console.log(`slurm on 127.0.0.2 (1 node) ready in ${Date.now() - t} ms`);
      const conf = await readFile(s.confFile, 'utf8');
      expect(conf).toContain(`SlurmctldHost=${os.hostname()}(127.0.0.2)`);
      expect(conf).toContain('NodeAddr=127.0.0.2');
      const st = await serviceStatus(dir);
      expect(st.slurm.endpoint).toMatch(/^127\.0\.0\.2:\d+ /);
      const r = await execa('srun', ['hostname'], { env: { SLURM_CONF: s.confFile }, timeout: 30_000 });
      expect(r.stdout.trim()).toBe(os.hostname());
    } finally {
      await stopServices(dir);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('says which directory blocks other users (0700 testbed dir) and which user is missing', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'labrig-slurm-0700-'));
    try {
      await expect(startSlurm(dir, { loginHost })).rejects.toMatchObject({
        message: expect.stringMatching(/not searchable by other users/),
        hint: expect.stringMatching(/chmod o\+x/),
      });
      await chmod(dir, 0o755);
      await expect(startSlurm(dir, { loginHost: { ...loginHost, user: 'labrig-no-such-user' } })).rejects.toThrow(
        /'labrig-no-such-user' is not a unix user/,
      );
      expect((await serviceStatus(dir)).slurm.running).toBe(false);
    } finally {
      await stopServices(dir);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
