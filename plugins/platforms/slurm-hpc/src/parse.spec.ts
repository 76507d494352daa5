/** The pure pieces: host lists, job comments, squeue/sacct/sinfo output, the batch script, copy targets. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Host } from '@labrig/core';
import { decodeComment, encodeComment } from './comment.js';
import { expandHostlist } from './hostlist.js';
import { parseExitCode, parseSacct } from './sacct.js';
import { renderBatchScript, parseJobId, buildSubmitArgv } from './script.js';
import { resolveShape, type LaunchSettings } from './settings.js';
import { copyTargets } from './shared-fs.js';
import { describePartitions, parseSinfo } from './sinfo.js';
import { parseSqueue, pickJob } from './squeue.js';

describe('expandHostlist', () => {
  it('expands ranges, lists, zero padding and several bracket groups like scontrol show hostnames', () => {
    expect(expandHostlist('node1')).toEqual(['node1']);
    expect(expandHostlist('node[1-3,7]')).toEqual(['node1', 'node2', 'node3', 'node7']);
    expect(expandHostlist('cn[008-010],gpu1')).toEqual(['cn008', 'cn009', 'cn010', 'gpu1']);
    expect(expandHostlist('r[1-2]-n[1-2]')).toEqual(['r1-n1', 'r1-n2', 'r2-n1', 'r2-n2']);
    expect(expandHostlist('')).toEqual([]);
    expect(expandHostlist('(null)')).toEqual([]);
    expect(() => expandHostlist('node[1-')).toThrow(/unclosed/);
  });
});

describe('job comments', () => {
  it('carry ntasks and the stamp exactly, base64url when it is not one printable line', () => {
    expect(encodeComment({ ntasks: 4, stamp: 'sha256:ab|cd e' })).toBe('labrig ntasks=4 stamp=sha256:ab|cd e');
    for (const stamp of ['sha256:ab|cd e', 'two\nlines', 'naïve', undefined]) {
      const c = { ntasks: 2, ...(stamp !== undefined ? { stamp } : {}) };
      expect(decodeComment(encodeComment(c))).toEqual(c);
    }
    expect(decodeComment('site policy comment')).toBeUndefined();
  });
});

describe('squeue and sacct output', () => {
  const out = [
    '12|labrig-t-srv|RUNNING|None|node[1-2]|labrig ntasks=4 stamp=v1|x',
    '9|labrig-t-srv|CANCELLED|None|node1|labrig ntasks=4 stamp=v0',
    '13|labrig-t-other|PENDING|Resources||',
    '',
  ].join('\n');

  it('parses every field, the comment being the last (it may hold |)', () => {
    const [a, , c] = parseSqueue(out);
    expect(a).toEqual({ jobId: '12', jobName: 'labrig-t-srv', state: 'RUNNING', reason: 'None', nodes: ['node1', 'node2'], comment: { ntasks: 4, stamp: 'v1|x' } });
    expect(c).toEqual({ jobId: '13', jobName: 'labrig-t-other', state: 'PENDING', reason: 'Resources', nodes: [] });
  });

  it('a name stands for its newest alive job, else its newest job', () => {
    const e = parseSqueue(out).filter((x) => x.jobName === 'labrig-t-srv');
    expect(pickJob(e)?.jobId).toBe('12');
    expect(pickJob(e.map((x) => ({ ...x, state: 'CANCELLED' })))?.jobId).toBe('12');
    expect(pickJob([])).toBeUndefined();
  });

  it('sacct gives exit codes (128+signal when killed) and its own node lists', () => {
    expect(parseExitCode('2:0')).toBe(2);
    expect(parseExitCode('0:15')).toBe(143);
    expect(parseSacct('41|labrig-t-srv|CANCELLED by 1005|0:15|cn[1-2]\n')).toEqual([
      { jobId: '41', jobName: 'labrig-t-srv', state: 'CANCELLED', reason: 'None', nodes: ['cn1', 'cn2'], exitCode: 143 },
    ]);
  });

  it('sbatch --parsable prints the id, with the cluster on federations', () => {
    expect(parseJobId('42\n')).toBe('42');
    expect(parseJobId('42;cluster-a\n')).toBe('42');
    expect(parseJobId('sbatch: error: x')).toBeUndefined();
  });
});

describe('sinfo output', () => {
  it('groups the lines of a partition and marks the default one', () => {
    const ps = parseSinfo('debug*|up|infinite|1|idle|node1\ndebug*|up|infinite|2|mixed|node[2-3]\nlong|up|7-00:00:00|0|n/a|\n');
    expect(ps.map((p) => [p.name, p.isDefault, p.nodes.length])).toEqual([
      ['debug', true, 3],
      ['long', false, 0],
    ]);
    expect(describePartitions(ps)).toBe('debug*(up, 3 nodes: 1 idle, 2 mixed) long(up, 0 nodes: 0 n/a)');
  });
});

const settings: LaunchSettings = {
  ntasks: 1,
  partition: 'debug',
  account: 'proj',
  sbatchArgs: ['--mem-per-cpu=1G'],
  srunArgs: ['--cpu-bind=cores'],
  logDir: 'logs dir',
  jobPrefix: 'labrig-t-',
  accounting: 'auto',
  pollIntervalMs: 100,
  stopTimeoutMs: 1000,
  jobs: { srv: { ntasks: 4, time: '10', sbatchArgs: ['--overcommit'] } },
};

describe('the batch job', () => {
  const spec = { name: 'srv', argv: ['sh', '-c', 'echo "it\'s $SLURM_PROCID"'], env: { GREETING: "a 'quoted' $value" }, cwd: 'work dir', stamp: 's1' };

  it('layers the job shape: platform, [slurm.jobs.<name>], then the spec', () => {
    expect(resolveShape(settings, spec)).toEqual({
      ntasks: 4, partition: 'debug', account: 'proj', time: '10', sbatchArgs: ['--mem-per-cpu=1G', '--overcommit'], srunArgs: ['--cpu-bind=cores'],
    });
    expect(resolveShape(settings, { ...spec, slurm: { ntasks: 2, partition: 'long' } })).toMatchObject({ ntasks: 2, partition: 'long' });
  });

  it('the script keeps every value intact through the shell; sbatch gets the shape', () => {
    const shape = resolveShape(settings, spec);
    // The script runs with a stand-in srun (binDir) that prints its arguments and the environment.
    const bin = mkdtempSync(join(tmpdir(), 'labrig-srun-'));
    try {
      writeFileSync(join(bin, 'srun'), '#!/bin/sh\nprintf "<%s>" "$@"; printf "\\n%s" "$GREETING"\n', { mode: 0o755 });
      const script = renderBatchScript({ ...settings, binDir: bin }, spec, shape, 'labrig-t-srv');
      const out = execFileSync('sh', ['-c', script], { env: { HOME: '/home/u', PATH: process.env['PATH'] ?? '' } }).toString();
      expect(out).toBe(`<--output=/home/u/logs dir/%x-%j-%t.log><--cpu-bind=cores><sh><-c><echo "it's $SLURM_PROCID">\na 'quoted' $value`);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
    expect(buildSubmitArgv(settings, spec, shape, 'labrig-t-srv').slice(4)).toEqual([
      'logs dir', 'sbatch', '--parsable', '--job-name=labrig-t-srv', '--ntasks=4', '--partition=debug', '--account=proj', '--time=10',
      '--comment=labrig ntasks=4 stamp=s1', '--chdir=work dir', '--mem-per-cpu=1G', '--overcommit',
    ]);
  });
});

describe('copyTargets', () => {
  const h = (name: string, roles: string[], labels: Record<string, string>): Host => ({ name, address: name, roles, labels });
  it('copies once per shared filesystem (its login host) and to every host that shares nothing', () => {
    const shared = { sharedFilesystem: 'true', filesystem: 'slurm:login' };
    const hosts = [h('node1', ['compute'], shared), h('login', ['login'], shared), h('node2', ['compute'], shared), h('lonely', ['worker'], {})];
    expect(copyTargets(hosts).map((x) => x.name)).toEqual(['login', 'lonely']);
    const unshared = hosts.map((x) => ({ ...x, labels: { sharedFilesystem: 'false' } }));
    expect(copyTargets(unshared).map((x) => x.name)).toEqual(['node1', 'login', 'node2', 'lonely']);
  });
});
