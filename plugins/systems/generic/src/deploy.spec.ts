/**
 * The generic system end to end on the local platform (real sshd hosts, S3 API server, OCI
 * registry): build, push, setup, deploy of the demo, the load task, a second run that skips
 * everything, a source change that redeploys only what uses it, and failing readiness.
 * Assertions come from the runs' journals and logs. Hosts on 127.0.34.x:2334.
 */
import { appendFileSync, chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runsDir } from '@labrig/core';
import { executorContext, expectSuccess, hostStatuses, lastRun as lastRunOf, runExecutor } from '@labrig/testkit';
import { down, up } from '@labrig/testbed';
import buildExecutor from './executors/build/executor.js';
import deployExecutor from './executors/deploy/executor.js';
import pushExecutor from './executors/push/executor.js';
import setupExecutor from './executors/setup/executor.js';
import statusExecutor from './executors/status/executor.js';
import stopExecutor from './executors/stop/executor.js';
import taskExecutor from './executors/task/executor.js';

const workspace = join(import.meta.dirname, '../../../..');
let root: string;
let tbDir: string;
const o = { platform: 'e2e', output: 'plain' as const };
const ctxFor = (project: string) => executorContext(root, project);

/** Journal events of the newest run with this title. */
const lastRun = (title: string) => lastRunOf(root, title);
const statuses = hostStatuses;
const run = runExecutor;
const ok = expectSuccess;

beforeAll(async () => {
  mkdirSync(join(workspace, 'tmp'), { recursive: true });
  root = mkdtempSync(join(workspace, 'tmp', 'e2e-generic-')); // inside the workspace: plugins resolve from its node_modules
  tbDir = mkdtempSync(join(tmpdir(), 'labrig-e2e-tb-'));
  chmodSync(tbDir, 0o755);
  mkdirSync(join(root, 'configs/platforms/e2e'), { recursive: true });
  writeFileSync(
    join(root, 'configs/platforms/e2e/platform.toml'),
    ['platform = "@labrig/platform-local"', '[testbed]', 'hosts = 4', `dir = ${JSON.stringify(tbDir)}`, 'addressBase = "127.0.34.0"', 'port = 2334', 's3 = true', 'registry = true', '[run]', 'timeout = "1m"'].join('\n'),
  );
  cpSync(join(workspace, 'targets/demo/system.toml'), join(root, 'targets/demo/system.toml'));
  cpSync(join(workspace, 'targets/demo/src'), join(root, 'targets/demo/src'), { recursive: true });
  await up({ dir: tbDir, hosts: 4, addressBase: '127.0.34.0', port: 2334, s3: true, registry: true, s3Buckets: ['labrig-artifacts'] });
}, 180_000);

afterAll(async () => {
  if (root) await run(() => stopExecutor(o, ctxFor('demo')));
  if (tbDir) await down(tbDir);
  rmSync(root, { recursive: true, force: true });
  rmSync(tbDir, { recursive: true, force: true });
});

describe('demo on the local platform', () => {
  it('first deploy: everything runs and the demo answers requests', { timeout: 60_000 }, async () => {
    await ok(() => buildExecutor({}, ctxFor('demo')));
    const push = await ok(() => pushExecutor(o, ctxFor('demo')));
    expect(push).toMatch(/kvserver: uploaded \d+ bytes/);
    expect(push).toMatch(/image kvserver: pushed/);
    await ok(() => setupExecutor(o, ctxFor('demo')));
    expect(statuses((await lastRun('demo:setup')).events, 'setup')).toEqual({ 'tb-0': 'ok', 'tb-1': 'ok', 'tb-2': 'ok', 'tb-3': 'ok' });
    await ok(() => deployExecutor(o, ctxFor('demo')));
    const deploy = (await lastRun('demo:deploy')).events;
    expect(statuses(deploy, 'start:server')).toEqual({ 'tb-0': 'ok', 'tb-1': 'ok' });
    expect(statuses(deploy, 'install:client')).toEqual({ 'tb-2': 'ok', 'tb-3': 'ok' });
    const load = await ok(() => taskExecutor({ ...o, task: 'load' }, ctxFor('demo')));
    const results = [...load.matchAll(/\[(tb-\d)\] (\{.*\})/g)].map((m) => [m[1], JSON.parse(m[2]!)] as const);
    expect(results.map(([h]) => h).sort()).toEqual(['tb-2', 'tb-3']);
    for (const [, r] of results) {
      expect(r.errors).toBe(0);
      expect(r.ops).toBeGreaterThan(1000);
      expect(r.servers).toEqual(['127.0.34.1:7000', '127.0.34.2:7000']);
    }
  });

  it('second run with nothing changed: push sends nothing, setup and deploy skip every host', async () => {
    const push = await ok(() => pushExecutor(o, ctxFor('demo')));
    expect(push).toMatch(/kvserver: already in the store/);
    expect(push).toMatch(/kvload: already in the store/);
    expect(push).toMatch(/image kvserver: already in the registry/);
    expect(push).not.toMatch(/uploaded \d+ bytes/);
    await ok(() => setupExecutor(o, ctxFor('demo')));
    expect(Object.values(statuses((await lastRun('demo:setup')).events, 'setup'))).toEqual(['skipped', 'skipped', 'skipped', 'skipped']);
    await ok(() => deployExecutor(o, ctxFor('demo')));
    const deploy = (await lastRun('demo:deploy')).events;
    for (const step of ['install:server', 'start:server', 'install:client']) {
      expect(new Set(Object.values(statuses(deploy, step)))).toEqual(new Set(['skipped']));
    }
  });

  it('a changed load-generator source: only kvload is uploaded and installed; servers keep running', async () => {
    const pidsBefore = await ok(() => statusExecutor(o, ctxFor('demo')));
    // A change that reaches the binary (a comment would not: the build is reproducible).
    appendFileSync(join(root, 'targets/demo/src/kvload.c'), '\n__attribute__((used)) static const char labrig_changed[] = "changed";\n');
    await ok(() => buildExecutor({}, ctxFor('demo')));
    const push = await ok(() => pushExecutor(o, ctxFor('demo')));
    expect(push).toMatch(/kvload: uploaded \d+ bytes/);
    expect(push).toMatch(/kvserver: already in the store/);
    await ok(() => deployExecutor(o, ctxFor('demo')));
    const deploy = (await lastRun('demo:deploy')).events;
    expect(statuses(deploy, 'install:client')).toEqual({ 'tb-2': 'ok', 'tb-3': 'ok' });
    expect(statuses(deploy, 'install:server')).toEqual({ 'tb-0': 'skipped', 'tb-1': 'skipped' });
    expect(statuses(deploy, 'start:server')).toEqual({ 'tb-0': 'skipped', 'tb-1': 'skipped' });
    const pidsAfter = await ok(() => statusExecutor(o, ctxFor('demo')));
    const pids = (s: string) => [...s.matchAll(/(tb-\d)\s+demo-server\s+running pid (\d+)/g)].map((m) => `${m[1]}:${m[2]}`).sort();
    expect(pids(pidsAfter)).toHaveLength(2);
    expect(pids(pidsAfter)).toEqual(pids(pidsBefore));
  });

  it('readiness that never passes is a TIMEOUT naming role and probe; a start that exits shows its exit and stderr', async () => {
    mkdirSync(join(root, 'targets/bad'), { recursive: true });
    writeFileSync(
      join(root, 'targets/bad/system.toml'),
      [
        'system = "@labrig/system-generic"',
        '[build]',
        'command = ["sh", "-c", "mkdir -p \\"$0\\" && echo x > \\"$0/x\\"", "{out}"]',
        'outputs = ["x"]',
        '[roles.slow]',
        'hosts = { indexes = [0] }',
        'start = ["sleep", "60"]',
        'ready = { port = 7999, timeout = "2s" }',
        '[roles.dies]',
        'hosts = { indexes = [1] }',
        'start = ["sh", "-c", "echo boom >&2; exit 3"]',
        'ready = { port = 7998, timeout = "20s" }',
      ].join('\n'),
    );
    await ok(() => buildExecutor({}, ctxFor('bad')));
    const t0 = Date.now();
    const r = await run(() => deployExecutor({ ...o, failurePolicy: 'continue' }, ctxFor('bad')));
    expect(r.success).toBe(false);
    expect(Date.now() - t0).toBeLessThan(15_000);
    const events = (await lastRun('bad:deploy')).events;
    const end = (step: string) => events.find((e) => e['type'] === 'host-end' && e['step'] === step) as { error?: { code: string; message: string } };
    expect(end('start:slow').error?.code).toBe('TIMEOUT');
    expect(end('start:slow').error?.message).toMatch(/role slow on tb-0 was not ready within 2 s: waited for port 127\.0\.34\.1:7999/);
    expect(end('start:dies').error?.code).toBe('COMMAND_FAILED');
    expect(end('start:dies').error?.message).toMatch(/exited with 3/);
    expect(end('start:dies').error?.message).toContain('boom');
    await run(() => stopExecutor(o, ctxFor('bad')));
  });

  it('ssh distribution and a secret: the process gets it, no journal or log holds it', async () => {
    const secret = `s3cr3t-${process.pid}-${Date.now()}`;
    mkdirSync(join(root, 'targets/plain/src'), { recursive: true });
    writeFileSync(join(root, 'targets/plain/src/run.sh'), '#!/bin/sh\necho "token=$TOKEN" > "$HOME/.labrig/plain-ready"\nexec sleep 600\n');
    writeFileSync(
      join(root, 'targets/plain/system.toml'),
      [
        'system = "@labrig/system-generic"',
        'sources = ["src/*"]',
        '[build]',
        'command = ["sh", "-c", "mkdir -p \\"$0\\" && cp src/run.sh \\"$0/run.sh\\"", "{out}"]',
        'outputs = ["run.sh"]',
        '[[artifacts]]',
        'name = "run"',
        'path = "run.sh"',
        '[deploy]',
        'distribution = "ssh"',
        '[env]',
        'TOKEN = { secret = "LABRIG_E2E_TOKEN" }',
        '[roles.worker]',
        'hosts = { indexes = [2] }',
        'start = ["sh", "{dir}/run.sh"]',
        'ready = { file = ".labrig/plain-ready", timeout = "10s" }',
      ].join('\n'),
    );
    await ok(() => buildExecutor({}, ctxFor('plain')));
    // Without the secret in the environment: one clear error, nothing runs.
    delete process.env['LABRIG_E2E_TOKEN'];
    const missing = await run(() => deployExecutor(o, ctxFor('plain')));
    expect(missing.success).toBe(false);
    expect(missing.out).toMatch(/targets\/plain\/system\.toml: env\.TOKEN.*LABRIG_E2E_TOKEN/);
    process.env['LABRIG_E2E_TOKEN'] = secret;
    try {
      await ok(() => setupExecutor(o, ctxFor('plain')));
      await ok(() => deployExecutor(o, ctxFor('plain')));
      const first = await lastRun('plain:deploy');
      expect(statuses(first.events, 'install:worker')).toEqual({ 'tb-2': 'ok' });
      expect(statuses(first.events, 'start:worker')).toEqual({ 'tb-2': 'ok' });
      const exec = await ok(() => statusExecutor(o, ctxFor('plain')));
      expect(exec).toMatch(/tb-2\s+plain-worker\s+running pid \d+/);
      // The process saw the secret; nothing labrig wrote contains it.
      const { readFileSync: read } = await import('node:fs');
      const state = JSON.parse(read(join(tbDir, 'state.json'), 'utf8')) as { hosts: { name: string; home: string }[] };
      const home = state.hosts.find((h) => h.name === 'tb-2')!.home;
      expect(read(join(home, '.labrig/plain-ready'), 'utf8')).toBe(`token=${secret}\n`);
      expect(read(join(home, '.labrig/procs/plain-worker/log'), 'utf8')).toContain('=== ');
      expect(read(join(home, '.labrig/procs/plain-worker/log'), 'utf8')).not.toContain(secret);
      const written = (dir: string): string[] =>
        readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
          d.isDirectory() ? written(join(dir, d.name)) : d.isFile() ? [read(join(dir, d.name), 'utf8')] : [],
        );
      const all = written(runsDir(root)).join('\n');
      expect(all.length).toBeGreaterThan(0);
      expect(all).not.toContain(secret);
      // Again: copied files and the running process are recognised, nothing moves.
      await ok(() => deployExecutor(o, ctxFor('plain')));
      const second = await lastRun('plain:deploy');
      expect(statuses(second.events, 'install:worker')).toEqual({ 'tb-2': 'skipped' });
      expect(statuses(second.events, 'start:worker')).toEqual({ 'tb-2': 'skipped' });
    } finally {
      await run(() => stopExecutor(o, ctxFor('plain')));
      delete process.env['LABRIG_E2E_TOKEN'];
    }
  });
});
