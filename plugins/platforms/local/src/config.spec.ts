/** Bad platform files: one clear error naming the file and the field, and no step runs. */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ExecutorContext } from '@nx/devkit';
import { ConfigError } from '@labrig/core';
import { loadLocalConfig } from './config.js';
import execExecutor from './executors/exec/executor.js';

const FILE = 'configs/platforms/local/platform.toml';
let root: string;
const write = (text: string) => {
  mkdirSync(join(root, 'configs/platforms/local'), { recursive: true });
  writeFileSync(join(root, FILE), text);
};

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'labrig-cfg-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const cases: [string, string, RegExp][] = [
  ['wrong type', 'platform = "@labrig/platform-local"\n[testbed]\nhosts = "four"\n', /testbed\.hosts.*integer/i],
  ['unknown key', 'platform = "@labrig/platform-local"\n[testbed]\nhsots = 4\n', /testbed.*unknown key.*hsots.*hosts/is],
  ['missing field', '[testbed]\nhosts = 4\n', /missing.*\bplatform\b/i],
  ['invalid TOML', 'platform = "@labrig/platform-local"\n[testbed\nhosts = 4\n', /:2:\d+: invalid TOML/],
  ['bad failure policy', 'platform = "@labrig/platform-local"\n[run]\nfailurePolicy = "sometimes"\n', /run\.failurePolicy/],
  ['bad uplink rate', 'platform = "@labrig/platform-local"\n[testbed]\nlogin = true\nuplink = "20 Mbit/s"\n', /testbed\.uplink/],
  ['bad build arch', 'platform = "@labrig/platform-local"\n[build]\narch = "x86-64"\n', /build\.arch/],
];

describe('platform file errors', () => {
  for (const [what, text, field] of cases) {
    it(`${what}: a ConfigError naming the file and field`, () => {
      write(text);
      let err: unknown;
      try {
        loadLocalConfig(root, FILE);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      const msg = (err as ConfigError).message;
      // One error: its first line names the file and the field; any further lines only quote the file.
      const [first] = msg.split('\n');
      expect(first).toContain(FILE);
      expect(first).toMatch(field);
      expect(msg.match(/expected|unknown key|missing|invalid TOML/g)?.length).toBe(1);
    });
  }

  it('the exec target reports the error and runs no step', async () => {
    write('platform = "@labrig/platform-local"\n[testbed]\nhosts = "four"\n');
    const errors: string[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void errors.push(a.join(' ')));
    try {
      const res = await execExecutor({ cmd: 'touch /tmp/should-not-run' }, { root } as ExecutorContext);
      expect(res.success).toBe(false);
    } finally {
      spy.mockRestore();
    }
    expect(errors.join('\n')).toContain(`${FILE}: testbed.hosts`);
    expect(errors.join('\n')).toMatch(/hint:/);
    expect(existsSync(join(root, '.labrig', 'runs'))).toBe(false);
  });

  it('the shipped platform file is valid and has the documented defaults', () => {
    const shipped = readFileSync(join(import.meta.dirname, '../../../../configs/platforms/local/platform.toml'), 'utf8');
    write(shipped);
    const cfg = loadLocalConfig(root, FILE);
    expect(cfg.testbed.hosts).toBe(4);
    expect(cfg.run.failurePolicy).toBe('fail-fast');
    expect(cfg.roles).toEqual({ leader: ['tb-0'] });
  });
});
