/**
 * For the experiment specs: a temporary workspace (under the repository's tmp/) holding the demo
 * system, a `local` platform named `e2e` over a testbed of 4 real sshd hosts with S3 and a
 * registry, and the demo built; commands run through `labrig-run`.
 */
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { parseJsonLines } from '@labrig/experiments';
import { down, up } from '@labrig/testbed';

export const repository = join(import.meta.dirname, '../../../../..');
export const labrigRun = join(repository, 'packages/runner/bin/labrig-run.mjs');

export interface DemoWorkspace {
  root: string;
  tbDir: string;
  /** Host name -> its home folder. */
  homes(): Record<string, string>;
  /** Stop the demo, stop the testbed, remove both folders. */
  close(): Promise<void>;
}

export async function startDemoWorkspace(o: { prefix: string; addressBase: string; port: number; system?: (toml: string) => string }): Promise<DemoWorkspace> {
  mkdirSync(join(repository, 'tmp'), { recursive: true });
  const root = mkdtempSync(join(repository, 'tmp', `e2e-${o.prefix}-`));
  const tbDir = mkdtempSync(join(tmpdir(), `labrig-${o.prefix}-tb-`));
  chmodSync(tbDir, 0o755);
  writeFileSync(join(root, 'nx.json'), '{}\n');
  mkdirSync(join(root, 'configs/platforms/e2e'), { recursive: true });
  mkdirSync(join(root, 'configs/experiments'), { recursive: true });
  writeFileSync(
    join(root, 'configs/platforms/e2e/platform.toml'),
    ['platform = "@labrig/platform-local"', '[testbed]', 'hosts = 4', `dir = ${JSON.stringify(tbDir)}`, `addressBase = "${o.addressBase}"`, `port = ${o.port}`, 's3 = true', 'registry = true', '[run]', 'timeout = "1m"'].join('\n'),
  );
  cpSync(join(repository, 'targets/demo/src'), join(root, 'targets/demo/src'), { recursive: true });
  const sys = readFileSync(join(repository, 'targets/demo/system.toml'), 'utf8');
  writeFileSync(join(root, 'targets/demo/system.toml'), o.system ? o.system(sys) : sys);
  await up({ dir: tbDir, hosts: 4, addressBase: o.addressBase, port: o.port, s3: true, registry: true, s3Buckets: ['labrig-artifacts'] });
  const b = await execa(process.execPath, [labrigRun, '@labrig/system-generic:build', 'demo', 'targets/demo'], { cwd: root, all: true, reject: false });
  if (b.exitCode !== 0) throw new Error(`build failed:\n${b.all}`);
  return {
    root,
    tbDir,
    homes: () => Object.fromEntries((JSON.parse(readFileSync(join(tbDir, 'state.json'), 'utf8')) as { hosts: { name: string; home: string }[] }).hosts.map((h) => [h.name, h.home])),
    async close() {
      await execa(process.execPath, [labrigRun, '@labrig/system-generic:stop', 'demo', 'targets/demo', '--platform=e2e', '--output=plain'], { cwd: root, reject: false });
      await down(tbDir);
      rmSync(root, { recursive: true, force: true });
      rmSync(tbDir, { recursive: true, force: true });
    },
  };
}

/** The JSON lines of a journal (a line torn by a kill is skipped); none when the file is missing. */
export function readJsonLines<T>(file: string): T[] {
  return existsSync(file) ? parseJsonLines<T>(readFileSync(file, 'utf8')) : [];
}
