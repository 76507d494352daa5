/**
 * SSH mode for real on the local platform's testbed (sshd hosts tb-0..tb-2 on 127.0.76.x:2376):
 * the fixture build, deploy (package once per host, three workers: two on tb-0 on distinct ports,
 * one on tb-1), status (process alive AND port listening), run (the fixture coordinator reaches
 * every worker of DISTRIBUTED_WORKERS, a script from a file and from standard input), a second
 * deploy that skips everything, a killed worker that status reports, a taken port, stop (no worker
 * process left), run with no workers up, clean. Assertions come from journals and the workers' logs.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { down, up } from '@labrig/testbed';
import type { TestbedState } from '@labrig/testbed';
import buildExecutor from './executors/build/executor.js';
import cleanExecutor from './executors/clean/executor.js';
import deployExecutor from './executors/deploy/executor.js';
import runExecutor from './executors/run/executor.js';
import statusExecutor from './executors/status/executor.js';
import stopExecutor from './executors/stop/executor.js';
import workersExecutor from './executors/workers/executor.js';
import { ctxFor, errorOf, fixturesDir, lastRun, ok, run, statuses, tempRoot, workspace, writeFiles } from './testing/harness.js';

const root = tempRoot('daphne-ssh-');
const tb = mkdtempSync(join(tmpdir(), 'labrig-daphne-ssh-tb-'));
chmodSync(tb, 0o755);
const o = { platform: 'e2e', output: 'plain' as const };
let state: TestbedState;
let foreign: Server | undefined;

const system = (peers: string[]) =>
  [
    'system = "@labrig/system-daphne"',
    'version = "e2e"',
    'sources = ["scripts/**/*"]',
    'path = "~/dw"',
    '[build]',
    `command = ["sh", ${JSON.stringify(join(fixturesDir, 'build-fixture.sh'))}, "{out}"]`,
    '[package]',
    'dir = "{out}/tree"',
    '[container]',
    'enabled = false',
    '[ssh]',
    `peers = ${JSON.stringify(peers)}`,
    'startTimeout = "20s"',
  ].join('\n');

const workerPids = async () => (await execa('pgrep', ['-f', 'lib/DistributedWorker.mjs 127\\.0\\.76\\.'], { reject: false })).stdout.split('\n').filter(Boolean);
const logOf = (host: number, port: number) => readFileSync(join(state.hosts[host]!.home, '.labrig/procs', `daphne-worker-${port}`, 'log'), 'utf8');

beforeAll(async () => {
  writeFiles(root, {
    'configs/platforms/e2e/platform.toml': ['platform = "@labrig/platform-local"', '[testbed]', 'hosts = 3', `dir = ${JSON.stringify(tb)}`, 'addressBase = "127.0.76.0"', 'port = 2376', '[run]', 'timeout = "1m"'].join('\n'),
    'targets/daphne/system.toml': system(['tb-0:51000', 'tb-0:51001', 'tb-1:51000']),
    'targets/daphne/scripts/hello.daphne': 'print("hello");\n',
    'targets/taken/system.toml': system(['tb-1:51002']),
    'example.daphne': 'X = rand(2, 2, 0.0, 1.0, 1.0, 1);\nprint(sum(X));\n',
  });
  state = await up({ dir: tb, hosts: 3, addressBase: '127.0.76.0', port: 2376 });
  await ok(() => buildExecutor({}, ctxFor(root, 'daphne')));
  await ok(() => buildExecutor({}, ctxFor(root, 'taken')));
}, 180_000);

afterAll(async () => {
  foreign?.close();
  await run(() => stopExecutor(o, ctxFor(root, 'daphne')));
  await run(() => stopExecutor(o, ctxFor(root, 'taken')));
  await down(tb).catch(() => undefined);
  rmSync(root, { recursive: true, force: true });
  rmSync(tb, { recursive: true, force: true });
});

describe('DAPHNE SSH mode on testbed hosts', { timeout: 120_000 }, () => {
  it('deploy: the package once per host, three workers listening, DISTRIBUTED_WORKERS for the coordinator', async () => {
    const out = await ok(() => deployExecutor(o, ctxFor(root, 'daphne')));
    const ev = await lastRun(root, 'daphne:deploy');
    // The package went into the cluster once (chain: the platform's default for several hosts).
    expect(statuses(ev, 'distribute')).toEqual({ 'tb-0': 'ok', 'tb-1': 'ok' });
    expect(statuses(ev, 'transfer')).toEqual({ 'tb-0': 'ok', 'tb-1': 'ok' });
    expect(statuses(ev, 'worker:0')).toEqual({ 'tb-0': 'ok', 'tb-1': 'ok' });
    expect(statuses(ev, 'worker:1')).toEqual({ 'tb-0': 'ok' });
    expect(statuses(ev, 'wait')).toEqual({ 'tb-0': 'ok', 'tb-1': 'ok' });
    expect(out).toContain('DISTRIBUTED_WORKERS=127.0.76.1:51000,127.0.76.1:51001,127.0.76.2:51000');
    expect(readFileSync(join(root, '.labrig/daphne/daphne.e2e.env'), 'utf8')).toBe('DISTRIBUTED_WORKERS=127.0.76.1:51000,127.0.76.1:51001,127.0.76.2:51000\n');
    // Unpacked once per host (bin, lib, the *.daphne scripts); nothing on tb-2 (no worker there).
    for (const h of [0, 1]) expect(existsSync(join(state.hosts[h]!.home, 'dw/bin/DistributedWorker'))).toBe(true);
    expect(existsSync(join(state.hosts[0]!.home, 'dw/scripts/hello.daphne'))).toBe(true);
    expect(existsSync(join(state.hosts[2]!.home, 'dw'))).toBe(false);
    expect(logOf(0, 51001)).toContain('listening on 127.0.76.1:51001');
    expect(await workerPids()).toHaveLength(3);
  });

  it('status: every worker process alive and its port listening', async () => {
    const out = await ok(() => statusExecutor(o, ctxFor(root, 'daphne')));
    const ev = await lastRun(root, 'daphne:status');
    expect(statuses(ev, 'status:0')).toEqual({ 'tb-0': 'ok', 'tb-1': 'ok' });
    expect(statuses(ev, 'status:1')).toEqual({ 'tb-0': 'ok' });
    expect(out).toContain('worker 127.0.76.1:51001: running, listening');
  });

  it('run: the coordinator reaches all three workers with the script from a file, then from standard input', async () => {
    const out = await ok(() => runExecutor({ ...o, script: 'example.daphne', args: 'n=2,m=3' }, ctxFor(root, 'daphne')));
    expect(out).toContain('coordinator ran labrig-run-');
    expect(out).toMatch(/on 3 of 3 workers/);
    for (const [h, p] of [[0, 51000], [0, 51001], [1, 51000]] as const) expect(logOf(h, p)).toMatch(/received: run labrig-run-\w+\.daphne sha=\w+ args=n=2,m=3/);
    // Standard input, through labrig-run as a user would pipe a script.
    const bin = join(workspace, 'packages/runner/bin/labrig-run.mjs');
    const r = await execa(process.execPath, [bin, '@labrig/system-daphne:run', 'daphne', 'targets/daphne', '--platform=e2e', '--output=plain'], { cwd: root, input: 'print("from stdin");\n', all: true, reject: false });
    expect(r.exitCode, r.all).toBe(0);
    expect(r.all).toMatch(/on 3 of 3 workers/);
  });

  it('a second deploy with nothing changed skips the transfer and every worker (same pids)', async () => {
    const before = (await workerPids()).sort();
    await ok(() => deployExecutor(o, ctxFor(root, 'daphne')));
    const ev = await lastRun(root, 'daphne:deploy');
    expect(statuses(ev, 'distribute')).toEqual({ 'tb-0': 'skipped', 'tb-1': 'skipped' });
    expect(statuses(ev, 'transfer')).toEqual({ 'tb-0': 'skipped', 'tb-1': 'skipped' });
    expect(statuses(ev, 'worker:0')).toEqual({ 'tb-0': 'skipped', 'tb-1': 'skipped' });
    expect((await workerPids()).sort()).toEqual(before);
  });

  it('a killed worker: status fails for it (its pid file is there, the process is not), the others pass', async () => {
    const pid = (await execa('pgrep', ['-f', 'lib/DistributedWorker.mjs 127\\.0\\.76\\.1:51001'])).stdout.trim();
    await execa('kill', [pid]);
    const r = await run(() => statusExecutor({ ...o, failurePolicy: 'continue' }, ctxFor(root, 'daphne')));
    expect(r.success).toBe(false);
    const ev = await lastRun(root, 'daphne:status');
    expect(statuses(ev, 'status:0')).toEqual({ 'tb-0': 'ok', 'tb-1': 'ok' });
    expect(statuses(ev, 'status:1')).toEqual({ 'tb-0': 'failed' });
    expect(errorOf(ev, 'status:1')?.message).toMatch(/daphne-worker-51001 is not running on tb-0/);
    // The workers target brings it back (the two running ones are skipped).
    await ok(() => workersExecutor(o, ctxFor(root, 'daphne')));
    const w = await lastRun(root, 'daphne:workers');
    expect(statuses(w, 'worker:1')).toEqual({ 'tb-0': 'ok' });
    expect(statuses(w, 'worker:0')).toEqual({ 'tb-0': 'skipped', 'tb-1': 'skipped' });
  });

  it('a worker port already taken by another process: a clear error naming host:port', async () => {
    foreign = createServer();
    await new Promise<void>((res) => foreign!.listen(51002, '127.0.76.2', res));
    const r = await run(() => workersExecutor(o, ctxFor(root, 'taken')));
    expect(r.success).toBe(false);
    const ev = await lastRun(root, 'taken:workers');
    expect(statuses(ev, 'worker:0')).toEqual({ 'tb-1': 'failed' });
    expect(errorOf(ev, 'worker:0')?.message).toContain('127.0.76.2:51002 is already taken by another process');
    foreign.close();
    foreign = undefined;
  });

  it('stop: no worker process remains; run then fails clearly: no worker is up; clean removes the folder', async () => {
    await ok(() => stopExecutor(o, ctxFor(root, 'daphne')));
    expect(statuses(await lastRun(root, 'daphne:stop'), 'stop')).toEqual({ 'tb-0': 'ok', 'tb-1': 'ok' });
    expect(await workerPids()).toEqual([]);
    const r = await run(() => runExecutor({ ...o, script: 'example.daphne' }, ctxFor(root, 'daphne')));
    expect(r.success).toBe(false);
    expect(errorOf(await lastRun(root, 'daphne:run'), 'run')?.message).toContain('no DAPHNE worker is up');
    await ok(() => cleanExecutor(o, ctxFor(root, 'daphne')));
    expect(existsSync(join(state.hosts[0]!.home, 'dw'))).toBe(false);
  });
});
