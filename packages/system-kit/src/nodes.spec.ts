import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDependencies, createNodesV2 } from './nodes.js';

let root: string;
const write = (path: string, text: string) => {
  mkdirSync(join(root, path, '..'), { recursive: true });
  writeFileSync(join(root, path), text);
};

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'labrig-syskit-'));
  write('package.json', '{"name":"ws"}');
  write('configs/platforms/lab/platform.toml', 'platform = "@x/platform-lab"\n');
  write('configs/platforms/cloud/platform.toml', 'platform = "@x/platform-cloud"\n');
  write(
    'node_modules/@x/system-kv/package.json',
    JSON.stringify({
      name: '@x/system-kv',
      labrig: {
        system: {
          tags: ['system:kv'],
          tasks: { executor: 'task' },
          targets: {
            build: { kind: 'build', description: 'Build it' },
            deploy: { executor: 'deploy', platform: true, dependsOn: ['build'] },
            report: { executor: 'report' },
            noop: { kind: 'noop' },
          },
        },
      },
    }),
  );
  write('node_modules/@x/not-a-system/package.json', JSON.stringify({ name: '@x/not-a-system' }));
  write('targets/kv/system.toml', 'system = "@x/system-kv"\nsources = ["src/*.c"]\n[tasks.load]\ndescription = "Load it"\n');
  write('targets/other/system.toml', 'system = "@x/not-a-system"\n');
  write('targets/broken/system.toml', 'system = "@x/system-kv"\nthis is = = not toml');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

async function projects() {
  const [glob, create] = createNodesV2;
  expect(glob).toBe('targets/*/system.toml');
  const out = await create(['kv', 'other', 'broken'].map((n) => `targets/${n}/system.toml`), undefined, { workspaceRoot: root, nxJsonConfiguration: {} } as never);
  return Object.fromEntries(out.map(([, r]) => Object.values(r.projects!)[0]!).map((p) => [p.name!, p]));
}

describe('the one system entry', () => {
  it('makes the targets a system plugin declares, per-platform configurations, and one target per task', async () => {
    const p = await projects();
    expect(Object.keys(p).sort()).toEqual(['broken', 'kv', 'other']);
    const t = p['kv']!.targets!;
    expect(p['kv']!.tags).toEqual(['type:system', 'system:kv']);
    expect(Object.keys(t).sort()).toEqual(['build', 'dashboard', 'deploy', 'load', 'noop', 'report']);
    expect(t['dashboard']).toMatchObject({ executor: '@labrig/runner:run', options: { executor: '@labrig/dashboard:serve' }, cache: false });
    expect(t['build']).toMatchObject({ executor: '@x/system-kv:build', cache: true, inputs: ['{projectRoot}/src/*.c', '{projectRoot}/system.toml'], outputs: ['{workspaceRoot}/dist/{projectRoot}'] });
    expect(t['deploy']).toMatchObject({
      executor: '@labrig/runner:run',
      options: { executor: '@x/system-kv:deploy', projectRoot: 'targets/kv', args: [] },
      configurations: { cloud: { args: ['--platform=cloud'] }, lab: { args: ['--platform=lab'] } },
      dependsOn: ['build'],
    });
    expect(t['deploy']!.defaultConfiguration).toBeUndefined(); // never: Nx would run a mistyped -c as the default
    expect(t['report']!.configurations).toBeUndefined();
    expect(t['load']!.options).toEqual({ executor: '@x/system-kv:task', projectRoot: 'targets/kv', args: ['--task=load'] });
    expect(t['noop']!.executor).toBe('nx:noop');
    // An invalid system file still becomes a project (its targets report the TOML error).
    expect(Object.keys(p['broken']!.targets!)).toContain('deploy');
    // So does one whose module is no system plugin: every target reports why, on any platform.
    expect(p['other']!.targets!['deploy']).toMatchObject({
      executor: '@labrig/runner:run',
      options: { executor: '@labrig/system-kit:invalid-system', projectRoot: 'targets/other', args: ['--file=targets/other/system.toml'] },
      configurations: { cloud: { args: ['--platform=cloud'] }, lab: { args: ['--platform=lab'] } },
    });
  });

  it('gives build a configuration per platform whose builds run on a platform host, carrying host and arch (so both are in its Nx hash)', async () => {
    expect((await projects())['kv']!.targets!['build']!.configurations).toBeUndefined(); // builds here: one cache entry
    // The platform file says where its builds run; the system file's [build] wins over it.
    write('configs/platforms/lab/platform.toml', 'platform = "@x/platform-lab"\n[build]\nhost = "node-0"\narch = "arm64"\n');
    expect((await projects())['kv']!.targets!['build']!.configurations).toEqual({ lab: { platform: 'lab', buildOn: 'node-0', arch: 'aarch64' } });
    write('targets/kv/system.toml', 'system = "@x/system-kv"\nsources = ["src/*.c"]\n[build]\non = "builder"\narch = "x86_64"\n');
    expect((await projects())['kv']!.targets!['build']!.configurations).toEqual({
      cloud: { platform: 'cloud', buildOn: 'builder', arch: 'x86_64' },
      lab: { platform: 'lab', buildOn: 'builder', arch: 'x86_64' },
    });
    // amd64 and x86_64 are the same machines: the same options, the same hash.
    write('targets/kv/system.toml', 'system = "@x/system-kv"\nsources = ["src/*.c"]\n[build]\non = "builder"\narch = "amd64"\n');
    expect((await projects())['kv']!.targets!['build']!.configurations!['cloud']).toEqual({ platform: 'cloud', buildOn: 'builder', arch: 'x86_64' });
  });

  it('adds edges from each system to its plugin and every configured platform plugin', async () => {
    const p = await projects();
    write('plugins/kv/package.json', '{"name":"@x/system-kv"}');
    write('plugins/lab/package.json', '{"name":"@x/platform-lab"}');
    const deps = await createDependencies(undefined, {
      workspaceRoot: root,
      projects: { kv: p['kv']!, 'system-kv': { root: 'plugins/kv' }, 'platform-lab': { root: 'plugins/lab' } },
    } as never);
    expect(deps.map((d) => `${d.source}->${d.target}`).sort()).toEqual(['kv->platform-lab', 'kv->system-kv']);
  });
});
