/**
 * The generic system seen through the real Nx CLI, in a throwaway git repository holding the demo
 * and a second, trivial system `other`: the inferred project and task graph, build caching (a hit
 * does not compile, a deleted dist/ comes back from the cache, a source change rebuilds), and
 * `--affected` picking exactly the system whose files changed. No hosts are started.
 *
 * A cache hit replays the task's recorded terminal output, compiler lines included, so whether the
 * compiler ran is read from a `cc` wrapper on PATH that logs each call, not from Nx's output.
 */
import { appendFileSync, chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const workspace = join(import.meta.dirname, '../../../..');
const nxBin = join(workspace, 'node_modules/nx/dist/bin/nx.js');
let root: string;
let env: Record<string, string>;

/** Run nx in the temporary repository; its output (stdout and stderr) without colours. */
async function nx(...args: string[]): Promise<string> {
  const r = await execa('node', [nxBin, ...args], { cwd: root, env, extendEnv: false, all: true, reject: false });
  const out = stripVTControlCharacters(r.all ?? '');
  if (r.exitCode !== 0) throw new Error(`nx ${args.join(' ')} exited with ${r.exitCode}:\n${out.slice(-4000)}`);
  return out;
}
async function git(...args: string[]): Promise<string> {
  return (await execa('git', args, { cwd: root, env, extendEnv: false })).stdout.trim();
}
const sha256 = (file: string) => createHash('sha256').update(readFileSync(join(root, file))).digest('hex');
/** Every compiler call made so far (one line each, the wrapper's argv). */
const compiles = () => (existsSync(join(root, '.bin/cc.log')) ? readFileSync(join(root, '.bin/cc.log'), 'utf8').split('\n').filter(Boolean) : []);

interface Target {
  executor?: string;
  options?: Record<string, unknown>;
  dependsOn?: (string | { target: string; params?: string })[];
  configurations?: Record<string, unknown>;
  defaultConfiguration?: string;
  cache?: boolean;
  outputs?: string[];
}
interface GraphFile {
  graph: { nodes: Record<string, unknown>; dependencies: Record<string, { target: string }[]> };
  tasks?: { tasks: Record<string, unknown>; dependencies: Record<string, string[]> };
}

beforeAll(async () => {
  mkdirSync(join(workspace, 'tmp'), { recursive: true });
  root = mkdtempSync(join(workspace, 'tmp', 'nx-graph-')); // git-ignored by the main repository
  for (const f of ['nx.json', 'package.json', 'tsconfig.base.json', 'targets/demo/system.toml', 'configs/platforms/local/platform.toml']) {
    cpSync(join(workspace, f), join(root, f));
  }
  const src = join(workspace, 'targets/demo/src');
  for (const f of readdirSync(src).filter((n) => /\.[ch]$/.test(n) || n === 'Makefile')) cpSync(join(src, f), join(root, 'targets/demo/src', f));
  mkdirSync(join(root, 'targets/other'), { recursive: true });
  writeFileSync(
    join(root, 'targets/other/system.toml'),
    [
      'system = "@labrig/system-generic"',
      '[build]',
      'command = ["sh", "-c", "mkdir -p \\"$0\\" && echo hi > \\"$0/x\\"", "{out}"]',
      'outputs = ["x"]',
      '[roles.main]',
      'hosts = { indexes = [0] }',
      '',
    ].join('\n'),
  );
  // Stand-ins of the workspace's own packages (package.json + project.json + a source file), so
  // the graph has the plugin projects the systems depend on, and core behind them.
  const stub = (dir: string, pkg: string, project: string, source: string) => {
    mkdirSync(join(root, dir, 'src'), { recursive: true });
    const deps = source.includes('@labrig/core') ? { dependencies: { '@labrig/core': '0.1.0' } } : {};
    writeFileSync(join(root, dir, 'package.json'), JSON.stringify({ name: pkg, version: '0.1.0', type: 'module', ...deps }));
    writeFileSync(join(root, dir, 'project.json'), JSON.stringify({ name: project, projectType: 'library' }));
    writeFileSync(join(root, dir, 'src/index.ts'), source);
  };
  stub('packages/core', '@labrig/core', 'core', 'export const core = 1;\n');
  stub('plugins/systems/generic', '@labrig/system-generic', 'system-generic', "import { core } from '@labrig/core';\nexport const generic = core;\n");
  stub('plugins/platforms/local', '@labrig/platform-local', 'platform-local', "import { core } from '@labrig/core';\nexport const local = core;\n");
  stub('packages/unrelated', '@labrig/unrelated', 'unrelated', 'export const u = 1;\n');
  symlinkSync(join(workspace, 'node_modules'), join(root, 'node_modules'));
  writeFileSync(join(root, '.gitignore'), 'node_modules\ndist\n.nx\n.bin\n');

  // A `cc` ahead of the real one on PATH (make's default $(CC)) that records each call.
  const realCc = (await execa('sh', ['-c', 'command -v cc'])).stdout.trim();
  mkdirSync(join(root, '.bin'));
  writeFileSync(join(root, '.bin/cc'), `#!/bin/sh\necho "$*" >> '${join(root, '.bin/cc.log')}'\nexec '${realCc}' "$@"\n`);
  chmodSync(join(root, '.bin/cc'), 0o755);

  // No NX_* from an enclosing Nx run (NX_WORKSPACE_ROOT_PATH would point nx at the main workspace).
  // Nx 23 keeps its cache and task database under ~/.nx/<repo id>/ by default: keep them in the repo.
  env = {
    ...Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => !e[0].startsWith('NX_') && e[1] !== undefined)),
    PATH: `${join(root, '.bin')}:${process.env['PATH'] ?? ''}`,
    NX_DAEMON: 'false',
    NX_NO_CLOUD: 'true',
    NX_TUI: 'false',
    NX_CACHE_DIRECTORY: join(root, '.nx/cache'),
    NX_WORKSPACE_DATA_DIRECTORY: join(root, '.nx/workspace-data'),
  };
  await git('init', '-q');
  await git('config', 'user.name', 'labrig test');
  await git('config', 'user.email', 'test@labrig.invalid');
  await git('add', '-A');
  await git('commit', '-q', '-m', 'base');
}, 60_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('the generic system through the Nx CLI', { timeout: 120_000 }, () => {
  it('infers the project, its targets and the task graph', async () => {
    const demo = JSON.parse(await nx('show', 'project', 'demo', '--json')) as { targets: Record<string, Target> };
    const t = demo.targets;
    expect(Object.keys(t).sort()).toEqual([
      'bench', 'build', 'collect', 'dashboard', 'deploy', 'exec', 'experiment', 'experiment-status', 'load', 'logs', 'noop', 'push', 'results', 'setup', 'status', 'stop', 'teardown',
    ]);
    // experiment builds first; its platform comes from the plan, not from a configuration.
    expect(t['experiment']?.dependsOn).toEqual(['build']);
    expect(t['experiment']?.configurations ?? {}).toEqual({});
    // Platform targets run their executor through the runner's executor (a cached bundle, options as data); build stays an executor.
    expect(t['load']?.executor).toBe('@labrig/runner:run');
    expect(t['load']?.options).toEqual({ executor: '@labrig/system-generic:task', projectRoot: 'targets/demo', args: ['--task=load'] });
    expect(t['deploy']?.options).toEqual({ executor: '@labrig/system-generic:deploy', projectRoot: 'targets/demo', args: [] });
    expect(t['build']?.executor).toBe('@labrig/system-generic:build');
    const dependsOn = (name: string) => (t[name]?.dependsOn ?? []).map((d) => (typeof d === 'string' ? d : d.target));
    expect(dependsOn('deploy')).toEqual(expect.arrayContaining(['build', 'push', 'setup']));
    expect(dependsOn('push')).toEqual(['build']);
    expect(t['setup']?.dependsOn).toBeUndefined();
    for (const name of ['deploy', 'push', 'setup']) {
      expect(t[name]?.configurations).toEqual({ local: { args: ['--platform=local'] } });
      expect(t[name]?.defaultConfiguration).toBeUndefined(); // a mistyped -c must not run on local
    }
    expect(t['build']?.cache).toBe(true);
    expect(t['build']?.outputs).toEqual(['{workspaceRoot}/dist/{projectRoot}']);

    // The project graph: both systems, the platform, and the stand-ins of the plugin packages.
    await nx('graph', `--file=${join(root, '.nx/graph.json')}`);
    const projects = JSON.parse(readFileSync(join(root, '.nx/graph.json'), 'utf8')) as GraphFile;
    expect(Object.keys(projects.graph.nodes).sort()).toEqual(['core', 'demo', 'local', 'other', 'platform-local', 'system-generic', 'unrelated']);
    // A system depends on its plugins (implicit edges from the generic plugin's createDependencies).
    expect(projects.graph.dependencies['demo']?.map((d) => d.target).sort()).toEqual(['platform-local', 'system-generic']);

    // The task graph of deploy (no configuration: none is the default, the platform must be named).
    await nx('graph', '--targets=deploy', `--file=${join(root, '.nx/tasks.json')}`);
    const tasks = (JSON.parse(readFileSync(join(root, '.nx/tasks.json'), 'utf8')) as GraphFile).tasks!;
    expect(tasks.dependencies['demo:deploy']?.slice().sort()).toEqual(['demo:build', 'demo:push', 'demo:setup']);
    expect(tasks.dependencies['demo:push']).toEqual(['demo:build']);
    expect(tasks.dependencies['demo:setup']).toEqual([]);
    expect(tasks.dependencies['other:deploy']?.slice().sort()).toEqual(['other:build', 'other:push', 'other:setup']);

    // `nx run -c local --graph=<file>` writes the task graph with the configuration and runs nothing.
    await nx('run', 'demo:deploy', '-c', 'local', `--graph=${join(root, '.nx/run.json')}`);
    const run = (JSON.parse(readFileSync(join(root, '.nx/run.json'), 'utf8')) as GraphFile).tasks!;
    expect(run.dependencies).toEqual({
      'demo:deploy:local': ['demo:build', 'demo:push:local', 'demo:setup:local'],
      'demo:build': [],
      'demo:push:local': ['demo:build'],
      'demo:setup:local': [],
    });
    expect(existsSync(join(root, 'dist'))).toBe(false);
    expect(compiles()).toEqual([]);
  });

  it('caches build: a hit does not compile, a deleted dist/ is restored, a source change rebuilds', async () => {
    const bin = (n: string) => `dist/targets/demo/bin/${n}`;
    const first = await nx('run', 'demo:build');
    expect(first).toMatch(/^> nx run demo:build\s*$/m);
    expect(first).toMatch(new RegExp(`^cc .* -o ${join(root, bin('kvserver'))} `, 'm'));
    expect(first).toMatch(/Cache: +0\/1 hit/);
    expect(compiles().filter((l) => l.includes(`-o ${join(root, bin('kvserver'))}`))).toHaveLength(1);
    expect(compiles().filter((l) => l.includes(`-o ${join(root, bin('kvload'))}`))).toHaveLength(1);
    const server = sha256(bin('kvserver'));
    const load = sha256(bin('kvload'));
    expect(existsSync(join(root, 'dist/targets/demo/images/kvserver.oci.tar'))).toBe(true);

    const hit = await nx('run', 'demo:build');
    expect(hit).toMatch(/^> nx run demo:build {2}\[local cache\]$/m);
    expect(hit).toContain('Nx read the output from the cache instead of running the command for 1 out of 1 tasks.');
    expect(compiles()).toHaveLength(2);

    rmSync(join(root, 'dist'), { recursive: true });
    const restored = await nx('run', 'demo:build');
    expect(restored).toMatch(/^> nx run demo:build {2}\[local cache\]$/m);
    expect(sha256(bin('kvserver'))).toBe(server);
    expect(sha256(bin('kvload'))).toBe(load);
    expect(existsSync(join(root, 'dist/targets/demo/artifacts.json'))).toBe(true);
    expect(compiles()).toHaveLength(2);

    // A change that reaches the binary (the build is reproducible; a comment would not).
    appendFileSync(join(root, 'targets/demo/src/kvload.c'), '\n__attribute__((used)) static const char x[] = "y";\n');
    const rebuilt = await nx('run', 'demo:build');
    expect(rebuilt).not.toContain('[local cache]');
    expect(rebuilt).toMatch(/Cache: +0\/1 hit/);
    expect(compiles().slice(2).filter((l) => l.includes(`-o ${join(root, bin('kvload'))}`))).toHaveLength(1);
    expect(sha256(bin('kvload'))).not.toBe(load);
    expect(sha256(bin('kvserver'))).toBe(server);
  });

  it('--affected lists exactly the system whose files changed', async () => {
    const affected = async (base: string) => JSON.parse(await nx('show', 'projects', '--affected', `--base=${base}`, '--head=HEAD', '--json')) as string[];
    let base = await git('rev-parse', 'HEAD');
    appendFileSync(join(root, 'targets/demo/src/kvload.c'), '\n/* affected */\n');
    await git('add', 'targets/demo/src/kvload.c');
    await git('commit', '-q', '-m', 'demo: change kvload.c');
    const a = await affected(base);
    expect(a).toContain('demo');
    expect(a).not.toContain('other');

    base = await git('rev-parse', 'HEAD');
    writeFileSync(join(root, 'targets/other/notes.txt'), 'a change to other only\n');
    await git('add', 'targets/other');
    await git('commit', '-q', '-m', 'other: notes');
    const b = await affected(base);
    expect(b).toContain('other');
    expect(b).not.toContain('demo');

    // A system depends on its system plugin and the configured platforms' plugins (and, through
    // them, on what they import); not on an unrelated package.
    const change = async (file: string) => {
      base = await git('rev-parse', 'HEAD');
      appendFileSync(join(root, file), '// changed\n');
      await git('add', file);
      await git('commit', '-q', '-m', `change ${file}`);
      return affected(base);
    };
    expect((await change('plugins/systems/generic/src/index.ts')).sort()).toEqual(['demo', 'other', 'system-generic']);
    expect((await change('plugins/platforms/local/src/index.ts')).sort()).toEqual(['demo', 'other', 'platform-local']);
    expect((await change('packages/core/src/index.ts')).sort()).toEqual(['core', 'demo', 'other', 'platform-local', 'system-generic']);
    expect(await change('packages/unrelated/src/index.ts')).toEqual(['unrelated']);
  });
});
