import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Host } from '@labrig/core';
import { filterHosts, formatInventory, rolesFor, runDefaultsOf, withCommonSections } from './common.js';
import { createNodesV2, kitTargets } from './nodes.js';

const host = (name: string, roles: string[]): Host => ({ name, address: `10.0.0.${name.length}`, port: 22, user: 'u', roles, labels: {} });

describe('common sections', () => {
  it('adds roles, ssh, run, build and artifacts to a platform schema without replacing its own properties', () => {
    const s = withCommonSections({ type: 'object', properties: { platform: { const: 'x' }, run: { type: 'string' } } });
    expect(Object.keys(s.properties!).sort()).toEqual(['artifacts', 'build', 'platform', 'roles', 'run', 'ssh']);
    expect(s.properties!['run']).toEqual({ type: 'string' });
  });

  it("a platform's own section of a common name keeps its fields and gains the common ones (aws's [artifacts])", () => {
    const s = withCommonSections({ type: 'object', properties: { artifacts: { type: 'object', additionalProperties: false, properties: { bucket: { type: 'string' } } } } });
    const a = s.properties!['artifacts'] as unknown as { properties: Record<string, unknown>; default: unknown };
    expect(Object.keys(a.properties).sort()).toEqual(['bucket', 'distribute']);
    expect(a.default).toEqual({});
  });

  it('roles by name with a fallback; run defaults; host filters by glob and role', () => {
    expect(rolesFor('n1', { leader: ['n1'], db: ['n1', 'n2'] }, ['worker'])).toEqual(['leader', 'db']);
    expect(rolesFor('n3', { leader: ['n1'] }, ['worker'])).toEqual(['worker']);
    expect(runDefaultsOf({ concurrency: 4, timeout: '2m', retries: 1, failurePolicy: 'continue' })).toEqual({ concurrency: 4, timeoutMs: 120_000, retries: 1, failurePolicy: 'continue' });
    const hs = [host('node-0', ['leader']), host('node-1', ['worker']), host('other', ['worker'])];
    expect(filterHosts(hs, ['node-*']).map((h) => h.name)).toEqual(['node-0', 'node-1']);
    expect(filterHosts(hs, undefined, ['worker']).map((h) => h.name)).toEqual(['node-1', 'other']);
    expect(filterHosts(hs, ['node-?'], ['worker']).map((h) => h.name)).toEqual(['node-1']);
    expect(formatInventory(hs).split('\n')[0]).toMatch(/^NAME\s+ADDRESS\s+PORT\s+USER\s+ROLES/);
  });
});

describe('the one platform entry (createNodesV2)', () => {
  it("gives every platform file the kit's targets plus those its plugin declares in package.json", async () => {
    const root = mkdtempSync(join(tmpdir(), 'labrig-kit-'));
    try {
      writeFileSync(join(root, 'package.json'), '{"name":"ws"}');
      mkdirSync(join(root, 'node_modules/@x/platform-lab'), { recursive: true });
      writeFileSync(
        join(root, 'node_modules/@x/platform-lab/package.json'),
        JSON.stringify({ name: '@x/platform-lab', labrig: { platform: { tags: ['platform:lab'], targets: { up: { executor: 'start', description: 'Start it', options: { config: '{platformFile}', name: '{platform}' } }, hosts: { executor: 'own-hosts' } } } } }),
      );
      for (const [name, text] of [
        ['lab', 'platform = "@x/platform-lab"\n'],
        ['unknown', 'platform = "@x/not-installed"\n'],
        ['none', 'hosts = 3\n'],
        ['broken', 'platform = "@x/platform-lab"\nthis is not toml ='],
      ] as const) {
        mkdirSync(join(root, 'configs/platforms', name), { recursive: true });
        writeFileSync(join(root, 'configs/platforms', name, 'platform.toml'), text);
      }
      const [, create] = createNodesV2;
      const out = await create(['lab', 'unknown', 'none', 'broken'].map((n) => `configs/platforms/${n}/platform.toml`), undefined, { workspaceRoot: root, nxJsonConfiguration: {} } as never);
      const projects = out.map(([, r]) => Object.values(r.projects!)[0]!);
      // Every file becomes its project, whatever is wrong with it: its targets report the error when run.
      expect(projects.map((p) => p.name)).toEqual(['lab', 'unknown', 'none', 'broken']);
      const lab = projects[0]!;
      expect(lab.tags).toEqual(['type:platform', 'platform:lab']);
      expect(Object.keys(lab.targets!).sort()).toEqual(['exec', 'hosts', 'prepare', 'provision', 'teardown', 'up']);
      expect(lab.targets!['up']!.options).toEqual({ executor: '@x/platform-lab:start', projectRoot: 'configs/platforms/lab', args: ['--config=configs/platforms/lab/platform.toml', '--name=lab'] });
      expect(lab.targets!['hosts']!.options).toEqual({ executor: '@x/platform-lab:own-hosts', projectRoot: 'configs/platforms/lab', args: [] });
      // A module that is not installed still becomes a project: its targets report the error when run.
      expect(Object.keys(projects[1]!.targets!).sort()).toEqual(['exec', 'hosts', 'prepare', 'provision', 'teardown']);
      expect(projects[1]!.targets!['exec']!.options).toEqual({ executor: '@labrig/platform-kit:exec', projectRoot: 'configs/platforms/unknown', args: ['--platform=unknown'] });
      // A file naming no module: the kit's targets, which report the missing field.
      expect(Object.keys(projects[2]!.targets!).sort()).toEqual(['exec', 'hosts', 'prepare', 'provision', 'teardown']);
      expect(kitTargets('x', 'configs/platforms/x')['exec']!.executor).toBe('@labrig/runner:run');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
