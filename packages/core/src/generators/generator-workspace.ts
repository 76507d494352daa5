/**
 * For the generator specs (not part of the library build): a temporary workspace under the
 * repository's tmp/ whose node_modules are the repository's, with @labrig/* linked one by one so
 * a generated plugin can join them, and the commands a user runs there (nx, tsc, vitest) with
 * Nx's cache and data kept inside it.
 */
import { mkdirSync, mkdtempSync, copyFileSync, readdirSync, readlinkSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';

const repo = join(import.meta.dirname, '../../../..');

export interface CommandResult {
  exitCode: number | undefined;
  stdout: string;
  /** stdout and stderr interleaved. */
  all: string;
}

export interface GeneratorWorkspace {
  dir: string;
  /** `nx <args>` in the workspace (`env`: variables added for this command). */
  nx(args: string[], env?: Record<string, string>): Promise<CommandResult>;
  /** `tsc -p <project>`. */
  tsc(project: string): Promise<CommandResult>;
  /** `vitest run` in a folder of the workspace. */
  vitest(cwd: string): Promise<CommandResult>;
  /** What `npm install` does for a new workspace package: link it under node_modules. */
  link(packageName: string, dir: string): void;
  remove(): void;
}

export function createGeneratorWorkspace(prefix: string): GeneratorWorkspace {
  mkdirSync(join(repo, 'tmp'), { recursive: true });
  const dir = mkdtempSync(join(repo, 'tmp', prefix));
  for (const f of ['nx.json', 'package.json', 'tsconfig.base.json', 'vitest.shared.ts']) copyFileSync(join(repo, f), join(dir, f));
  mkdirSync(join(dir, 'node_modules/@labrig'), { recursive: true });
  for (const e of readdirSync(join(repo, 'node_modules'))) {
    if (e === '@labrig' || e === '.cache') continue;
    symlinkSync(join(repo, 'node_modules', e), join(dir, 'node_modules', e));
  }
  for (const e of readdirSync(join(repo, 'node_modules/@labrig'))) {
    const target = readlinkSync(join(repo, 'node_modules/@labrig', e));
    symlinkSync(realpathSync(join(repo, 'node_modules/@labrig', target)), join(dir, 'node_modules/@labrig', e));
  }
  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NX_') && !k.startsWith('VITEST'))),
    NX_DAEMON: 'false',
    NX_NO_CLOUD: 'true',
    NX_TUI: 'false',
    NX_CACHE_DIRECTORY: join(dir, '.nx/cache'),
    NX_WORKSPACE_DATA_DIRECTORY: join(dir, '.nx/data'),
  };
  const node = async (args: string[], cwd: string, withEnv: boolean, more: Record<string, string> = {}): Promise<CommandResult> => {
    const r = await execa('node', args, { cwd, ...(withEnv ? { env: { ...env, ...more }, extendEnv: false } : {}), all: true, reject: false });
    return { exitCode: r.exitCode, stdout: r.stdout, all: r.all };
  };
  return {
    dir,
    nx: (args, more) => node([join(dir, 'node_modules/nx/dist/bin/nx.js'), ...args], dir, true, more),
    tsc: (project) => node([join(dir, 'node_modules/typescript/bin/tsc'), '-p', project], dir, false),
    vitest: (cwd) => node([join(dir, 'node_modules/vitest/vitest.mjs'), 'run'], cwd, true),
    link: (packageName, pkgDir) => symlinkSync(pkgDir, join(dir, 'node_modules', packageName)),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
