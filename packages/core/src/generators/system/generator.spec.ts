/**
 * `nx g @labrig/core:system kvtoy` in a temporary workspace (the real Nx CLI): the generated
 * plugin typechecks, its own spec — the System contract checks on two testbed sshd hosts — passes
 * unmodified, and its example system file becomes an Nx project with the declared targets. Bad
 * names are refused.
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGeneratorWorkspace, type GeneratorWorkspace } from '../generator-workspace.js';
import { normalizeOptions } from './generator.js';

let gw: GeneratorWorkspace;
beforeAll(() => {
  gw = createGeneratorWorkspace('gen-system-');
});
afterAll(() => gw?.remove());

describe('nx g @labrig/core:system', { timeout: 240_000 }, () => {
  it('scaffolds a plugin that typechecks and passes the System contract checks as generated', async () => {
    const g = await gw.nx(['g', '@labrig/core:system', 'kvtoy', '--no-interactive']);
    expect(g.exitCode, g.all).toBe(0);
    const dir = join(gw.dir, 'plugins/systems/kvtoy');
    for (const f of ['package.json', 'project.json', 'tsconfig.json', 'vitest.config.ts', 'src/index.ts', 'executors.json', 'src/system.ts', 'src/system.schema.json', 'src/contract.spec.ts', 'src/executors/deploy/executor.ts', 'src/executors/deploy/schema.json', 'example/system.toml']) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
    gw.link('@labrig/system-kvtoy', dir);
    const tsc = await gw.tsc(join(dir, 'tsconfig.json'));
    expect(tsc.exitCode, tsc.all).toBe(0);
    const test = await gw.vitest(dir);
    expect(test.exitCode, test.all?.slice(-3000)).toBe(0);
    expect(test.all).toContain('passes the System contract');
    // Its example as a project: the Nx entry of system-kit gives it the declared targets.
    mkdirSync(join(gw.dir, 'targets/kvtoy'), { recursive: true });
    copyFileSync(join(dir, 'example/system.toml'), join(gw.dir, 'targets/kvtoy/system.toml'));
    const show = await gw.nx(['show', 'project', 'kvtoy', '--json']);
    expect(show.exitCode, show.all).toBe(0);
    const project = JSON.parse(show.stdout) as { tags: string[]; targets: Record<string, { dependsOn?: unknown[] }> };
    // Its declared targets, and the dashboard every system project gets.
    expect(Object.keys(project.targets).sort()).toEqual(['dashboard', 'deploy', 'setup', 'status', 'stop']);
    expect(project.tags).toContain('system:kvtoy');
    expect(project.targets['deploy']!.dependsOn).toEqual([{ target: 'setup', params: 'forward' }]);
    // A second run of the generator refuses to overwrite.
    const again = await gw.nx(['g', '@labrig/core:system', 'kvtoy', '--no-interactive']);
    expect(again.exitCode).not.toBe(0);
    expect(again.all).toContain('exists already');
  });

  it('refuses a name that is not lowercase letters, digits and dashes', () => {
    expect(() => normalizeOptions({ name: 'KV Toy' })).toThrow(/--name: got "KV Toy"/);
    expect(normalizeOptions({ name: 'kvtoy' })).toMatchObject({ packageName: '@labrig/system-kvtoy', directory: 'plugins/systems/kvtoy', offset: '../../..' });
    expect(normalizeOptions({ name: 'kvtoy' }).addressBase).toMatch(/^127\.2\.\d+\.0$/);
  });
});
