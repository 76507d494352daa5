/** Plans as data: the demo's deploy plan against a fixed inventory matches a golden file. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Host, PlatformInstance } from '@labrig/core';
import type { SystemContext } from './context.js';
import { formatPlan, placeholderOutputs } from '@labrig/system-kit';
import { distributionOf, planDeploy, planSetup, planStop, planTask, type BuiltArtifact } from './plan.js';
import { estimateSweep } from './executors/experiment/executor.js';
import type { Plan, RunRow } from '@labrig/experiments';
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

  it('distribution: the system file wins, else the platform file, else a chain where more than one host needs a file', () => {
    const withMode = (system: 'ssh' | 'store' | 'chain' | undefined, platform: string | undefined): SystemContext => {
      const ctx = demoContext();
      const { distribution: _d, ...deploy } = ctx.sys.deploy;
      return {
        ...ctx,
        sys: { ...ctx.sys, deploy: { ...deploy, ...(system ? { distribution: system } : {}) } },
        platform: { name: 'local', cfg: platform ? { artifacts: { distribute: platform } } : {} } as unknown as PlatformInstance,
      };
    };
    expect(distributionOf(withMode('store', 'chain'))).toBe('store');
    expect(distributionOf(withMode('ssh', 'chain'))).toBe('ssh');
    expect(distributionOf(withMode(undefined, 'ssh'))).toBe('ssh');
    expect(distributionOf(withMode(undefined, undefined))).toBe('auto');

    // auto: kvserver goes to tb-0 and tb-1, kvload to tb-2 and tb-3: one distribute step first.
    const plan = planDeploy(withMode(undefined, undefined), built);
    expect(plan.map((p) => p.name)).toEqual(['distribute', 'install:server', 'start:server', 'install:client']);
    const d = plan[0]!;
    expect(d.hosts.map((h) => h.name)).toEqual(['tb-0', 'tb-1', 'tb-2', 'tb-3']);
    const chains = d.actions(inventory[1]!, placeholderOutputs);
    expect(chains).toHaveLength(1);
    expect(chains[0]).toMatchObject({ kind: 'chain', name: 'kvserver', remote: '.labrig/systems/demo/bin/kvserver', mode: 0o755 });
    expect(chains[0]!.kind === 'chain' && chains[0]!.hosts.map((h) => h.name)).toEqual(['tb-0', 'tb-1']);
    expect(d.skipWhen!(inventory[3]!)).toEqual({ kind: 'files-match', files: [{ path: '.labrig/systems/demo/bin/kvload', sha256: 'b'.repeat(64) }] });
    // The install steps still copy from here where the chain did not deliver (their check skips the rest).
    expect(plan[1]!.actions(inventory[0]!, placeholderOutputs)[0]!.kind).toBe('put');
    expect(formatPlan(withMode(undefined, undefined), 'deploy', plan)).toContain('chain kvserver -> .labrig/systems/demo/bin/kvserver');

    // ssh on the platform, store in the system file: no distribute step.
    expect(planDeploy(withMode(undefined, 'ssh'), built).map((p) => p.name)).not.toContain('distribute');
    expect(planDeploy(withMode('store', 'chain'), built).map((p) => p.name)).not.toContain('distribute');
    // One host per file: nothing to chain.
    const one = withMode('chain', undefined);
    one.roles = { server: [inventory[0]!], client: [inventory[1]!] };
    expect(planDeploy(one, built).map((p) => p.name)).not.toContain('distribute');
  });

  it("a sweep's estimate: runs to go x the mean of those done, over parallel runs; the plan's timeout when none is done (an upper bound)", () => {
    const row = (status: RunRow['status'], durationMs?: number): RunRow => ({ id: 'x', experiments: [], repeat: 1, status, attempt: 1, params: {}, metrics: {}, ...(durationMs !== undefined ? { durationMs } : {}) });
    const plan = { timeoutMs: 60_000 } as Plan;
    expect(estimateSweep([row('done', 10_000), row('done', 20_000), row('pending'), row('failed'), row('pending')], plan, 1)).toEqual({ runs: 3, ms: 45_000, upperBound: false });
    expect(estimateSweep([row('done', 10_000), row('pending'), row('pending')], plan, 2)).toEqual({ runs: 2, ms: 10_000, upperBound: false });
    expect(estimateSweep([row('pending'), row('pending')], plan, 1)).toEqual({ runs: 2, ms: 120_000, upperBound: true });
    expect(estimateSweep([row('done', 5)], plan, 1)).toEqual({ runs: 0, ms: 0, upperBound: false });
  });

  it('setup is one stamped step on every host; stop goes in reverse role order', () => {
    const ctx = demoContext();
    const [setup] = planSetup(ctx);
    expect(setup!.hosts.map((h) => h.name)).toEqual(['tb-0', 'tb-1', 'tb-2', 'tb-3']);
    expect(setup!.skipWhen!(inventory[0]!)).toMatchObject({ kind: 'file-equals', path: '.labrig/systems/demo/.setup-stamp' });
    expect(planStop(ctx).map((s) => s.name)).toEqual(['stop:server']);
  });
});
