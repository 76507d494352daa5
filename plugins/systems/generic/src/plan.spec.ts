/** Plans as data: the demo's deploy plan against a fixed inventory matches a golden file. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Host, PlatformInstance } from '@labrig/core';
import type { SystemContext } from './context.js';
import { formatPlan, placeholderOutputs } from '@labrig/system-kit';
import { planDeploy, planSetup, planStop, planTask, type BuiltArtifact } from './plan.js';
import { assignRoles } from './roles.js';
import { loadSystemFile } from './system-file.js';

const root = join(import.meta.dirname, '../../../..');
const host = (i: number): Host => ({ name: `tb-${i}`, address: `127.0.1.${i + 1}`, port: 2222, user: `u${i}`, roles: [], labels: {} });
const inventory = [0, 1, 2, 3].map(host);

function demoContext(): SystemContext {
  const sys = loadSystemFile(root, 'targets/demo');
  return {
    root,
    projectRoot: 'targets/demo',
    name: 'demo',
    file: 'targets/demo/system.toml',
    sys,
    outDir: 'dist/targets/demo',
    platform: { name: 'local' } as PlatformInstance,
    inventory,
    roles: assignRoles(sys, inventory, 'targets/demo/system.toml'),
    dir: '.labrig/systems/demo',
    env: {},
    secrets: [],
    missingSecrets: [],
  };
}

const built: BuiltArtifact[] = [
  { name: 'kvserver', path: 'bin/kvserver', sha256: 'a'.repeat(64), size: 1, key: `labrig/demo/sha256/${'a'.repeat(64)}` },
  { name: 'kvload', path: 'bin/kvload', sha256: 'b'.repeat(64), size: 1, key: `labrig/demo/sha256/${'b'.repeat(64)}` },
];

function golden(name: string, text: string): void {
  const file = join(import.meta.dirname, '__golden__', name);
  if (process.env['UPDATE_GOLDEN'] === '1' || !existsSync(file)) writeFileSync(file, `${text}\n`);
  expect(text).toBe(readFileSync(file, 'utf8').replace(/\n$/, ''));
}

describe('plans', () => {
  it('the demo deploy plan matches the golden file', () => {
    const ctx = demoContext();
    golden('demo-deploy.plan.txt', formatPlan(ctx, 'deploy', planDeploy(ctx, built)));
  });

  it('servers start on their own address; clients get every server endpoint', () => {
    const ctx = demoContext();
    const start = planDeploy(ctx, built).find((s) => s.name === 'start:server')!;
    const a = start.actions(inventory[1]!, placeholderOutputs)[0]!;
    expect(a.kind).toBe('start');
    if (a.kind !== 'start') return;
    expect(a.spec.argv).toEqual(['.labrig/systems/demo/bin/kvserver', '--port', '7000', '--bind', '127.0.1.2', '--threads', '4']);
    expect(a.probe).toEqual({ port: 7000, address: '127.0.1.2' });
    const load = planTask(ctx, 'load')[0]!;
    expect(load.hosts.map((h) => h.name)).toEqual(['tb-2', 'tb-3']);
    const run = load.actions(inventory[3]!, placeholderOutputs)[0]!;
    expect(run.kind === 'run' && run.argv).toContain('127.0.1.1:7000,127.0.1.2:7000');
    expect(run.kind === 'run' && run.argv.at(-1)).toBe('1'); // {host.index} within the client role
  });

  it('a changed artifact changes only the stamp of the roles that use it', () => {
    const ctx = demoContext();
    const stampOf = (b: BuiltArtifact[]) => {
      const s = planDeploy(ctx, b).find((p) => p.name === 'start:server')!.skipWhen!(inventory[0]!);
      return s.kind === 'running' ? s.stamp : '';
    };
    const changedLoad = built.map((b) => (b.name === 'kvload' ? { ...b, sha256: 'c'.repeat(64) } : b));
    const changedServer = built.map((b) => (b.name === 'kvserver' ? { ...b, sha256: 'c'.repeat(64) } : b));
    expect(stampOf(changedLoad)).toBe(stampOf(built));
    expect(stampOf(changedServer)).not.toBe(stampOf(built));
  });

  it('setup is one stamped step on every host; stop goes in reverse role order', () => {
    const ctx = demoContext();
    const [setup] = planSetup(ctx);
    expect(setup!.hosts.map((h) => h.name)).toEqual(['tb-0', 'tb-1', 'tb-2', 'tb-3']);
    expect(setup!.skipWhen!(inventory[0]!)).toMatchObject({ kind: 'file-equals', path: '.labrig/systems/demo/.setup-stamp' });
    expect(planStop(ctx).map((s) => s.name)).toEqual(['stop:server']);
  });
});
