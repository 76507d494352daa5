import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@labrig/core';
import { systemFileError } from './executor.js';

let root: string;
const write = (rel: string, text: string | Buffer) => {
  mkdirSync(join(root, rel, '..'), { recursive: true });
  writeFileSync(join(root, rel), text);
};
const error = (text: string | Buffer) => {
  write('targets/x/system.toml', text);
  const e = systemFileError(root, 'targets/x/system.toml');
  expect(e).toBeInstanceOf(ConfigError);
  return { message: e.message, hint: e.hint, field: e.field };
};

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'labrig-invalid-system-'));
  write('package.json', '{"name":"ws"}');
  write('node_modules/@x/system-kv/package.json', JSON.stringify({ name: '@x/system-kv', labrig: { system: { targets: {} } } }));
  write('node_modules/@x/platform-lab/package.json', JSON.stringify({ name: '@x/platform-lab', labrig: { platform: {} } }));
  write('node_modules/plain/package.json', JSON.stringify({ name: 'plain' }));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('systemFileError: why a system file gives its project no plugin', () => {
  it('a misspelled module: did-you-mean among the installed system plugins (not the platform ones)', () => {
    const e = error('system = "@x/sytem-kv"\n');
    expect(e.field).toBe('system');
    expect(e.message).toBe('targets/x/system.toml: system: "@x/sytem-kv" is not an installed system plugin; did you mean "@x/system-kv"?');
    expect(e.hint).toContain('(installed system plugins: @x/system-kv)');
    expect(e.hint).not.toContain('platform-lab');
  });

  it('an installed package that is no system plugin', () => {
    expect(error('system = "plain"\n').message).toContain('"plain" is installed but is not a labrig system plugin');
  });

  it('no `system`, a `system` of the wrong type, an empty file, invalid TOML, binary data', () => {
    expect(error('sources = []\n').message).toBe('targets/x/system.toml: system: missing required field `system` (the system plugin module)');
    expect(error('system = 3\n').message).toBe("targets/x/system.toml: system: expected the system plugin's module name, got 3");
    expect(error('  \n').message).toBe('targets/x/system.toml: system: the file is empty');
    expect(error('system = "@x/system-kv"\nthis is = = not toml').message).toMatch(/^targets\/x\/system\.toml:2:\d+: invalid TOML/);
    expect(error(Buffer.from([0x73, 0, 0xff])).message).toBe('targets/x/system.toml: (top level): is not a text file (a NUL byte at offset 1)');
  });
});
