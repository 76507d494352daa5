import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { installedPlugins, loadPlatform } from './load.js';

let root: string;
const write = (rel: string, text: string | Buffer) => {
  mkdirSync(join(root, rel, '..'), { recursive: true });
  writeFileSync(join(root, rel), text);
};
async function failure(text: string | Buffer): Promise<ConfigError> {
  write('configs/platforms/p/platform.toml', text);
  const e = await loadPlatform(root, 'p').catch((x: unknown) => x);
  expect(e).toBeInstanceOf(ConfigError);
  return e as ConfigError;
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'labrig-load-platform-'));
  write('package.json', '{"name":"ws"}');
  write('node_modules/@acme/platform-lab/package.json', JSON.stringify({ name: '@acme/platform-lab', labrig: { platform: {} } }));
  write('node_modules/platform-cloud/package.json', JSON.stringify({ name: 'platform-cloud', labrig: { platform: { tags: [] } } }));
  write('node_modules/@acme/system-kv/package.json', JSON.stringify({ name: '@acme/system-kv', labrig: { system: {} } }));
  write('node_modules/left-pad/package.json', JSON.stringify({ name: 'left-pad' }));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('installedPlugins', () => {
  it('lists the packages that declare a labrig section of the kind, scoped or not', () => {
    expect(installedPlugins(root, 'platform')).toEqual(['@acme/platform-lab', 'platform-cloud']);
    expect(installedPlugins(root, 'system')).toEqual(['@acme/system-kv']);
  });
});

describe('loadPlatform: a bad platform file is one ConfigError naming the file and the field', () => {
  it('a module that is not installed: the installed platform plugins and a did-you-mean', async () => {
    const e = await failure('platform = "@acme/platform-lb"\n');
    expect(e.field).toBe('platform');
    expect(e.message).toBe('configs/platforms/p/platform.toml: platform: "@acme/platform-lb" is not an installed platform plugin; did you mean "@acme/platform-lab"?');
    expect(e.hint).toContain('Set `platform = "@acme/platform-lab"` in configs/platforms/p/platform.toml (installed platform plugins: @acme/platform-lab, platform-cloud)');
  });

  it('no close name: no guess, still the list', async () => {
    const e = await failure('platform = "something-else"\n');
    expect(e.message).toBe('configs/platforms/p/platform.toml: platform: "something-else" is not an installed platform plugin');
    expect(e.hint).toContain('installed platform plugins: @acme/platform-lab, platform-cloud');
  });

  it('empty, binary, not UTF-8, huge', async () => {
    expect((await failure('\n  \n')).message).toBe('configs/platforms/p/platform.toml: platform: the file is empty');
    expect((await failure(Buffer.from('platform = "x"\0'))).message).toBe('configs/platforms/p/platform.toml: (top level): is not a text file (a NUL byte at offset 14)');
    expect((await failure(Buffer.from([0x70, 0xc3, 0x28]))).message).toBe('configs/platforms/p/platform.toml: (top level): is not UTF-8 text (binary data or another encoding)');
    expect((await failure(`# ${'x'.repeat(5 * 1024 * 1024)}\n`)).message).toMatch(/^configs\/platforms\/p\/platform\.toml: \(top level\): is 5\.0 MiB; a config file larger than 4 MiB is refused$/);
  });
});
