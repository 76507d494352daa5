/**
 * bin/labrig-run end to end, in a temporary workspace with a fixture plugin (one executor) and a
 * fixture platform module: options reach the executor, the platform module comes from the bundle
 * and shares its @labrig/core, the bundle is reused until a source changes, errors exit clearly.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const bin = join(repo, 'packages/runner/bin/labrig-run.mjs');
let ws: string;

const HELLO = (word: string) => `
import { ConfigError, OptionError, loadPlatform } from '@labrig/core';
export default async function hello(o: { greeting: string; fail: boolean; platform?: string }, ctx: any): Promise<{ success: boolean }> {
  const info: Record<string, unknown> = { word: ${JSON.stringify(word)}, greeting: o.greeting, project: ctx.projectName, root: ctx.projectsConfigurations.projects[ctx.projectName].root, workspace: ctx.root };
  if (o.platform) {
    const p = await loadPlatform(ctx.root, o.platform);
    info.platform = p.platform.name;
    info.sameCore = (p.platform as any).makeError() instanceof ConfigError;
  }
  console.log(JSON.stringify(info));
  if (o.fail) throw new OptionError('fail', true, 'false (the fixture was asked to fail)');
  return { success: o.greeting !== 'unsuccessful' };
}
`;

function write(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

function run(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: join(ws, 'targets/app'), encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const cacheRoot = () => join(ws, 'node_modules/.cache/labrig-run');
const builds = () => readdirSync(cacheRoot()).flatMap((d) => readdirSync(join(cacheRoot(), d)).filter((b) => /^b[0-9a-z]+$/.test(b)));

beforeAll(() => {
  ws = mkdtempSync(join(tmpdir(), 'labrig-run-'));
  write(join(ws, 'nx.json'), '{}\n');
  write(join(ws, 'package.json'), '{ "name": "ws", "private": true, "type": "module" }\n');
  write(join(ws, 'targets/app/system.toml'), '# the project folder\n');
  write(join(ws, 'configs/platforms/fx/platform.toml'), 'platform = "fixture-platform"\n');
  // node_modules: the repository's packages, plus the two fixtures.
  mkdirSync(join(ws, 'node_modules/@labrig'), { recursive: true });
  for (const e of readdirSync(join(repo, 'node_modules'))) {
    if (e === '@labrig' || e === '.cache' || e === '.bin') continue;
    symlinkSync(join(repo, 'node_modules', e), join(ws, 'node_modules', e));
  }
  for (const e of ['core', 'runner']) symlinkSync(join(repo, 'packages', e), join(ws, 'node_modules/@labrig', e));
  write(join(ws, 'fixture-plugin/package.json'), JSON.stringify({ name: 'fixture-plugin', type: 'module', executors: './executors.json' }));
  write(join(ws, 'fixture-plugin/executors.json'), JSON.stringify({ executors: { hello: { implementation: './src/hello.ts', schema: './src/hello.json', description: 'x' } } }));
  write(join(ws, 'fixture-plugin/src/hello.json'), JSON.stringify({
    properties: { greeting: { type: 'string', default: 'hi' }, fail: { type: 'boolean', default: false }, platform: { type: 'string' } },
  }));
  write(join(ws, 'fixture-plugin/src/hello.ts'), HELLO('one'));
  write(join(ws, 'fixture-platform/package.json'), JSON.stringify({ name: 'fixture-platform', type: 'module', exports: './src/index.ts' }));
  write(join(ws, 'fixture-platform/src/index.ts'), `
import { ConfigError } from '@labrig/core';
export default {
  name: 'fx',
  configSchema: { type: 'object', properties: { platform: { type: 'string' } }, additionalProperties: false },
  inventory: async () => [],
  createConnector: () => ({}),
  makeError: () => new ConfigError('f', 'x', 'y'),
};
`);
  symlinkSync(join(ws, 'fixture-plugin'), join(ws, 'node_modules/fixture-plugin'));
  symlinkSync(join(ws, 'fixture-platform'), join(ws, 'node_modules/fixture-platform'));
});

afterAll(() => {
  if (ws && !process.env.KEEP) rmSync(ws, { recursive: true, force: true });
});

describe('labrig-run', () => {
  it('runs the executor with parsed options, from the workspace root found upwards', () => {
    const r = run('fixture-plugin:hello', 'app', 'targets/app', '--greeting', 'hello there');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ word: 'one', greeting: 'hello there', project: 'app', root: 'targets/app', workspace: ws });
  });

  it('loads a platform module from the bundle, sharing one @labrig/core with the executor', () => {
    const r = run('fixture-plugin:hello', 'app', 'targets/app', '--platform=fx');
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    expect(JSON.parse(r.stdout)).toMatchObject({ platform: 'fx', sameCore: true });
  });

  it('reuses the bundle until a bundled source changes, then runs the new code', () => {
    const before = builds();
    expect(before).toHaveLength(1);
    expect(JSON.parse(run('fixture-plugin:hello', 'app', 'targets/app').stdout).word).toBe('one');
    expect(builds()).toEqual(before);
    const file = join(ws, 'fixture-plugin/src/hello.ts');
    writeFileSync(file, HELLO('two'));
    utimesSync(file, new Date(), new Date(Date.now() + 2000)); // a new mtime even on a coarse clock
    expect(JSON.parse(run('fixture-plugin:hello', 'app', 'targets/app').stdout).word).toBe('two');
    expect(builds()).toHaveLength(2);
    const current = JSON.parse(readFileSync(join(cacheRoot(), readdirSync(cacheRoot())[0]!, 'current.json'), 'utf8')) as { build: string };
    expect(before).not.toContain(current.build);
  });

  it('exits 1 when the executor reports failure or throws (the error and its hint on stderr)', () => {
    expect(run('fixture-plugin:hello', 'app', 'targets/app', '--greeting=unsuccessful').status).toBe(1);
    const r = run('fixture-plugin:hello', 'app', 'targets/app', '--fail');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('✖ option --fail: got true, expected false (the fixture was asked to fail)');
    expect(r.stderr).toContain('hint:');
  });

  it('exits 2 naming an unknown option, an unknown executor or a missing package', () => {
    const a = run('fixture-plugin:hello', 'app', 'targets/app', '--greting=x');
    expect(a.status).toBe(2);
    expect(a.stderr).toContain('option --greting');
    expect(a.stderr).toContain('--greeting');
    const b = run('fixture-plugin:bye', 'app', 'targets/app');
    expect(b.status).toBe(2);
    expect(b.stderr).toContain('no executor "bye"');
    expect(b.stderr).toContain('hint: Use one of: hello.');
    const c = run('no-such-plugin:hello', 'app', 'targets/app');
    expect(c.status).toBe(2);
    expect(c.stderr).toContain('package no-such-plugin is not installed');
    expect(run().status).toBe(2);
    for (const r of [a, b, c]) expect(r.stderr).not.toMatch(/^\s+at /m); // no stack traces
  });

  it('a platform file naming a module that does not resolve breaks only the commands that use it', () => {
    write(join(ws, 'configs/platforms/typo/platform.toml'), 'platform = "fixture-platfrom"\n');
    try {
      // Without --platform every resolvable platform module is bundled; the typo is left out.
      const all = run('fixture-plugin:hello', 'app', 'targets/app');
      expect({ status: all.status, stderr: all.stderr }).toEqual({ status: 0, stderr: '' });
      const fx = run('fixture-plugin:hello', 'app', 'targets/app', '--platform=fx');
      expect({ status: fx.status, stderr: fx.stderr }).toEqual({ status: 0, stderr: '' });
      expect(JSON.parse(fx.stdout)).toMatchObject({ platform: 'fx', sameCore: true });
      // The platform with the typo: one ConfigError naming the file and the field, no bundler trace.
      const typo = run('fixture-plugin:hello', 'app', 'targets/app', '--platform=typo');
      expect(typo.status).toBe(1);
      expect(typo.stderr).toContain('✖ configs/platforms/typo/platform.toml: platform: "fixture-platfrom" is not an installed platform plugin');
      expect(typo.stderr).not.toMatch(/Could not resolve|^\s+at /m);
    } finally {
      rmSync(join(ws, 'configs/platforms/typo'), { recursive: true, force: true });
    }
  });
});
