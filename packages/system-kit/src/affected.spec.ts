/**
 * `nx affected` on system projects, through the real Nx CLI in a throwaway git repository: the
 * sigmaos and vhive systems (targets/<name>/system.toml naming the real plugin packages) next to
 * stand-ins of the workspace's packages (core, the two system plugins, the local platform plugin:
 * package.json + project.json + one source file). What the CI recipe (tools/ci/affected.sh) relies
 * on: a change to one system's files affects only that system; a change to a system plugin affects
 * the systems it runs; a change to core affects every system. No hosts are started.
 */
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';

const workspace = join(import.meta.dirname, '../../..');
const nxBin = join(workspace, 'node_modules/nx/dist/bin/nx.js');
let root: string;
let env: Record<string, string>;

async function nx(...args: string[]): Promise<string> {
  const r = await execa('node', [nxBin, ...args], { cwd: root, env, extendEnv: false, all: true, reject: false });
  if (r.exitCode !== 0) throw new Error(`nx ${args.join(' ')} exited with ${r.exitCode}:\n${stripVTControlCharacters(r.all ?? '').slice(-4000)}`);
  return r.stdout;
}
const git = async (...args: string[]) => (await execa('git', args, { cwd: root, env, extendEnv: false })).stdout.trim();

beforeAll(async () => {
  mkdirSync(join(workspace, 'tmp'), { recursive: true });
  root = mkdtempSync(join(workspace, 'tmp', 'affected-')); // git-ignored by the main repository
  for (const f of ['nx.json', 'package.json', 'tsconfig.base.json', 'configs/platforms/local/platform.toml']) cpSync(join(workspace, f), join(root, f));
  for (const [name, extra] of [['sigmaos', 'tag = "v1"'], ['vhive', 'mode = "firecracker"']] as const) {
    mkdirSync(join(root, 'targets', name), { recursive: true });
    writeFileSync(join(root, 'targets', name, 'system.toml'), `system = "@labrig/system-${name}"\n# ${extra}\n`);
    writeFileSync(join(root, 'targets', name, 'notes.md'), `${name}\n`);
  }
  const stub = (dir: string, pkg: string, project: string, source: string) => {
    mkdirSync(join(root, dir, 'src'), { recursive: true });
    const deps = source.includes('@labrig/core') ? { dependencies: { '@labrig/core': '0.1.0' } } : {};
    writeFileSync(join(root, dir, 'package.json'), JSON.stringify({ name: pkg, version: '0.1.0', type: 'module', ...deps }));
    writeFileSync(join(root, dir, 'project.json'), JSON.stringify({ name: project, projectType: 'library' }));
    writeFileSync(join(root, dir, 'src/index.ts'), source);
  };
  stub('packages/core', '@labrig/core', 'core', 'export const core = 1;\n');
  stub('plugins/systems/sigmaos', '@labrig/system-sigmaos', 'system-sigmaos', "import { core } from '@labrig/core';\nexport const sigmaos = core;\n");
  stub('plugins/systems/vhive', '@labrig/system-vhive', 'system-vhive', "import { core } from '@labrig/core';\nexport const vhive = core;\n");
  stub('plugins/platforms/local', '@labrig/platform-local', 'platform-local', "import { core } from '@labrig/core';\nexport const local = core;\n");
  symlinkSync(join(workspace, 'node_modules'), join(root, 'node_modules'));
  writeFileSync(join(root, '.gitignore'), 'node_modules\ndist\n.nx\n');
  env = {
    ...Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => !e[0].startsWith('NX_') && e[1] !== undefined)),
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

it('a change affects exactly the systems that use what changed', async () => {
  const systems = (JSON.parse(await nx('show', 'projects', '--projects=tag:type:system', '--json')) as string[]).sort();
  expect(systems).toEqual(['sigmaos', 'vhive']);
  const change = async (file: string): Promise<string[]> => {
    const base = await git('rev-parse', 'HEAD');
    appendFileSync(join(root, file), file.endsWith('.ts') ? '// changed\n' : 'changed\n');
    await git('add', file);
    await git('commit', '-q', '-m', `change ${file}`);
    return (JSON.parse(await nx('show', 'projects', '--affected', `--base=${base}`, '--head=HEAD', '--json')) as string[]).sort();
  };
  expect(await change('targets/sigmaos/notes.md')).toEqual(['sigmaos']);
  expect(await change('targets/vhive/system.toml')).toEqual(['vhive']);
  expect(await change('plugins/systems/vhive/src/index.ts')).toEqual(['system-vhive', 'vhive']);
  expect(await change('plugins/systems/sigmaos/src/index.ts')).toEqual(['sigmaos', 'system-sigmaos']);
  expect(await change('plugins/platforms/local/src/index.ts')).toEqual(['platform-local', 'sigmaos', 'vhive']);
  expect(await change('packages/core/src/index.ts')).toEqual(['core', 'platform-local', 'sigmaos', 'system-sigmaos', 'system-vhive', 'vhive']);
}, 120_000);
