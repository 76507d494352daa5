import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, OptionError, type Host } from '@labrig/core';
import { normalizeArch, ociArch } from './arch.js';
import { placeBuild, resolveBuildHost } from './remote-build.js';
import { listSources } from './sources.js';

let root: string;
const write = (path: string, text: string) => {
  mkdirSync(join(root, path, '..'), { recursive: true });
  writeFileSync(join(root, path), text);
};
const FILE = 'targets/kv/system.toml';
const thrown = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('did not throw');
};

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'labrig-place-'));
  write('configs/platforms/lab/platform.toml', 'platform = "@x/lab"\n');
  write('configs/platforms/arm/platform.toml', 'platform = "@x/arm"\n[build]\nhost = "builder"\narch = "arm64"\n');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('where a build runs', () => {
  it('here when neither file nor option names a host', () => {
    expect(placeBuild(root, FILE, undefined, {})).toBeUndefined();
    expect(placeBuild(root, FILE, {}, { platform: 'lab' })).toBeUndefined();
  });

  it("on the platform file's [build] host, for its arch; the system file wins; a typed value is named as the command line's", () => {
    expect(placeBuild(root, FILE, {}, { platform: 'arm' })).toEqual({
      platform: 'arm',
      on: 'builder',
      onFrom: { file: 'configs/platforms/arm/platform.toml', field: 'build.host' },
      arch: 'aarch64',
      archFrom: { file: 'configs/platforms/arm/platform.toml', field: 'build.arch' },
    });
    expect(placeBuild(root, FILE, { on: 'node3', arch: 'x86_64' }, { platform: 'arm' })).toMatchObject({
      on: 'node3',
      onFrom: { file: FILE, field: 'build.on' },
      arch: 'x86_64',
      archFrom: { file: FILE, field: 'build.arch' },
    });
    // The configuration's own values (aliases included) keep the file as their source.
    expect(placeBuild(root, FILE, {}, { platform: 'arm', buildOn: 'builder', arch: 'aarch64' })!.archFrom.field).toBe('build.arch');
    expect(placeBuild(root, FILE, {}, { platform: 'arm', arch: 'x86_64' })!.archFrom).toEqual({ file: 'the command line', field: '--arch' });
  });

  it('refuses a host without a platform, and a host without an arch, naming where to fix it', () => {
    const noPlatform = thrown(() => placeBuild(root, FILE, { on: 'node0' }, {}));
    expect(noPlatform).toBeInstanceOf(OptionError);
    expect((noPlatform as Error).message).toContain('build.on = "node0"` in targets/kv/system.toml names, one of: arm | lab');
    expect((thrown(() => placeBuild(root, FILE, undefined, { buildOn: 'node0' })) as Error).message).toContain('--buildOn=node0');
    const noArch = thrown(() => placeBuild(root, FILE, { on: 'node0' }, { platform: 'lab' }));
    expect(noArch).toBeInstanceOf(ConfigError);
    expect((noArch as ConfigError).field).toBe('build.arch');
    expect((noArch as ConfigError).hint).toContain('configs/platforms/lab/platform.toml');
  });

  it('resolves a host name, then a system role, then a platform role; an unknown one lists both', () => {
    const h = (name: string, roles: string[] = []): Host => ({ name, address: '127.0.0.1', roles, labels: {} });
    const inv = [h('n0', ['leader']), h('n1', ['worker']), h('n2', ['worker'])];
    const where = { file: FILE, field: 'build.on' };
    expect(resolveBuildHost(inv, 'n2', where).name).toBe('n2');
    expect(resolveBuildHost(inv, 'server', where, { server: [inv[1]!, inv[2]!] }).name).toBe('n1');
    expect(resolveBuildHost(inv, 'worker', where).name).toBe('n1');
    const e = thrown(() => resolveBuildHost(inv, 'n9', where, { server: [inv[1]!] })) as ConfigError;
    expect(e.message).toContain('"n9" is neither a host nor a role of the platform (hosts: n0, n1, n2; roles: server, leader, worker)');
  });

  it('spells architectures as uname -m does, and as OCI does', () => {
    expect(['amd64', 'X86_64', 'x64'].map(normalizeArch)).toEqual(['x86_64', 'x86_64', 'x86_64']);
    expect(normalizeArch('arm64')).toBe('aarch64');
    expect([ociArch('x86_64'), ociArch('arm64'), ociArch('riscv64')]).toEqual(['amd64', 'arm64', 'riscv64']);
  });
});

describe('the sources a remote build sends', () => {
  it('match the globs (dot files too), skip .git and node_modules and what exclude names; none is an error', async () => {
    for (const f of ['src/a.c', 'src/.hidden.c', 'src/sub/b.c', 'src/x.txt', '.git/HEAD', 'node_modules/m/i.c', 'bin/out.c']) write(`targets/kv/${f}`, f);
    const dir = join(root, 'targets/kv');
    const got = await listSources(dir, ['**/*.c'], { file: FILE, field: 'sources' }, ['bin/**']);
    expect(got.map((f) => f.path)).toEqual(['src/.hidden.c', 'src/a.c', 'src/sub/b.c']);
    expect(got[0]).toMatchObject({ size: 'src/.hidden.c'.length, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const none = await listSources(dir, ['*.rs'], { file: FILE, field: 'sources' }).catch((e: unknown) => e);
    expect(none).toBeInstanceOf(ConfigError);
    expect((none as ConfigError).field).toBe('sources');
  });
});
