/**
 * `nx g @labrig/core:system kvtoy` in a temporary workspace (the real Nx CLI): the generated
 * plugin typechecks, its own spec — the System contract checks on two testbed sshd hosts — passes
 * unmodified, and its example system file becomes an Nx project with the declared targets. Bad
 * names are refused.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, realpathSync, rmSync, symlinkSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeOptions } from './generator.js';

const repo = join(import.meta.dirname, '../../../../..');
let ws: string;

beforeAll(() => {
  mkdirSync(join(repo, 'tmp'), { recursive: true });
  ws = mkdtempSync(join(repo, 'tmp', 'gen-system-'));
  for (const f of ['nx.json', 'package.json', 'tsconfig.base.json', 'vitest.shared.ts']) copyFileSync(join(repo, f), join(ws, f));
  // node_modules: the repository's packages, with @labrig/* linked one by one so the new plugin can join them.
  mkdirSync(join(ws, 'node_modules/@labrig'), { recursive: true });
  for (const e of readdirSync(join(repo, 'node_modules'))) {
    if (e === '@labrig' || e === '.cache') continue;
    symlinkSync(join(repo, 'node_modules', e), join(ws, 'node_modules', e));
  }
  for (const e of readdirSync(join(repo, 'node_modules/@labrig'))) {
    const target = readlinkSync(join(repo, 'node_modules/@labrig', e));
    symlinkSync(realpathSync(join(repo, 'node_modules/@labrig', target)), join(ws, 'node_modules/@labrig', e));
  }
});
afterAll(() => {
  if (ws) rmSync(ws, { recursive: true, force: true });
});

const env = () => ({ ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NX_') && !k.startsWith('VITEST'))), NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', NX_CACHE_DIRECTORY: join(ws, '.nx/cache'), NX_WORKSPACE_DATA_DIRECTORY: join(ws, '.nx/data') });

describe('nx g @labrig/core:system', { timeout: 240_000 }, () => {
  it('scaffolds a plugin that typechecks and passes the System contract checks as generated', async () => {
    const g = await execa('node', [join(ws, 'node_modules/nx/dist/bin/nx.js'), 'g', '@labrig/core:system', 'kvtoy', '--no-interactive'], { cwd: ws, env: env(), extendEnv: false, all: true, reject: false });
    expect(g.exitCode, g.all).toBe(0);
    const dir = join(ws, 'plugins/systems/kvtoy');
    for (const f of ['package.json', 'project.json', 'tsconfig.json', 'vitest.config.ts', 'src/index.ts', 'executors.json', 'src/system.ts', 'src/system.schema.json', 'src/contract.spec.ts', 'src/executors/deploy/executor.ts', 'src/executors/deploy/schema.json', 'example/system.toml']) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
    // What `npm install` does for a new workspace package: link it.
    symlinkSync(dir, join(ws, 'node_modules/@labrig/system-kvtoy'));
    const tsc = await execa('node', [join(ws, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')], { cwd: ws, all: true, reject: false });
    expect(tsc.exitCode, tsc.all).toBe(0);
    const test = await execa('node', [join(ws, 'node_modules/vitest/vitest.mjs'), 'run'], { cwd: dir, env: env(), extendEnv: false, all: true, reject: false });
    expect(test.exitCode, test.all?.slice(-3000)).toBe(0);
    expect(test.all).toContain('passes the System contract');
    // Its example as a project: the Nx entry of system-kit gives it the declared targets.
    mkdirSync(join(ws, 'targets/kvtoy'), { recursive: true });
    copyFileSync(join(dir, 'example/system.toml'), join(ws, 'targets/kvtoy/system.toml'));
    const show = await execa('node', [join(ws, 'node_modules/nx/dist/bin/nx.js'), 'show', 'project', 'kvtoy', '--json'], { cwd: ws, env: env(), extendEnv: false, all: true, reject: false });
    expect(show.exitCode, show.all).toBe(0);
    const project = JSON.parse(show.stdout) as { tags: string[]; targets: Record<string, { dependsOn?: unknown[] }> };
    expect(Object.keys(project.targets).sort()).toEqual(['deploy', 'setup', 'status', 'stop']);
    expect(project.tags).toContain('system:kvtoy');
    expect(project.targets['deploy']!.dependsOn).toEqual([{ target: 'setup', params: 'forward' }]);
    // A second run of the generator refuses to overwrite.
    const again = await execa('node', [join(ws, 'node_modules/nx/dist/bin/nx.js'), 'g', '@labrig/core:system', 'kvtoy', '--no-interactive'], { cwd: ws, env: env(), extendEnv: false, all: true, reject: false });
    expect(again.exitCode).not.toBe(0);
    expect(again.all).toContain('exists already');
  });

  it('refuses a name that is not lowercase letters, digits and dashes', () => {
    expect(() => normalizeOptions({ name: 'KV Toy' })).toThrow(/--name: got "KV Toy"/);
    expect(normalizeOptions({ name: 'kvtoy' })).toMatchObject({ packageName: '@labrig/system-kvtoy', directory: 'plugins/systems/kvtoy', offset: '../../..' });
    expect(normalizeOptions({ name: 'kvtoy' }).addressBase).toMatch(/^127\.2\.\d+\.0$/);
  });
});
