/** The contract checks fail where a platform breaks the contract, naming each broken check. */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostUnreachable, registerModules, type Host, type Platform, type Remote } from '@labrig/core';
import { checkPlatformContract, ContractFailed } from './platform-contract.js';

const repo = join(import.meta.dirname, '../../..');
let root: string;

/** A fixture platform module (JavaScript, no dependencies) with the given body. */
function fixturePlatform(name: string, body: string): void {
  const dir = join(root, 'node_modules', name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, type: 'module', exports: './index.js' }));
  writeFileSync(join(dir, 'index.js'), body);
}
function platformFile(folder: string, module: string): void {
  mkdirSync(join(root, 'configs/platforms', folder), { recursive: true });
  writeFileSync(join(root, 'configs/platforms', folder, 'platform.toml'), `platform = "${module}"\n`);
}

const remote = `{ exec: async (argv) => ({ exitCode: 0, signal: null, stdout: argv.includes('echo labrig-testkit') ? 'labrig-testkit\\n' : '', stderr: '', durationMs: 1 }) }`;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'labrig-testkit-'));
  writeFileSync(join(root, 'package.json'), '{"name":"ws"}');
  mkdirSync(join(root, 'node_modules'), { recursive: true });
  for (const e of readdirSync(join(repo, 'node_modules'))) if (e !== '.bin' && e !== '.cache') symlinkSync(join(repo, 'node_modules', e), join(root, 'node_modules', e));
  // A platform that keeps the contract, registered the way labrig-run registers bundled modules.
  const answer = async (argv: readonly string[]) => ({ exitCode: 0, signal: null, stdout: argv.includes('echo labrig-testkit') ? 'labrig-testkit\n' : '', stderr: '', durationMs: 1 });
  const good: Platform = {
    name: 'good',
    configSchema: { type: 'object', additionalProperties: false, properties: { platform: { type: 'string' } } },
    inventory: async () => [
      { name: 'h0', address: '10.0.0.1', port: 22, user: 'u', roles: ['leader'], labels: {} },
      { name: 'h1', address: '10.0.0.2', port: 22, user: 'u', roles: ['worker'], labels: {} },
    ],
    createConnector: () => ({
      connect: async (h: Host) => {
        if (h.name.endsWith('-gone')) throw new HostUnreachable(h.name, h.address, 'connection refused');
        return { host: h, exec: answer } as unknown as Remote;
      },
      close: async () => undefined,
    }),
  };
  registerModules({ 'fixture-good': async () => ({ default: good }) });
  fixturePlatform(
    'fixture-bad',
    `let calls = 0;
export default {
  name: 'bad',
  configSchema: { type: 'object' },
  inventory: async () => [{ name: 'h0', address: '10.0.0.1', roles: ['worker'], labels: {} }, { name: 'h0', address: '10.0.0.2', roles: ['worker'], labels: {} }],
  createConnector: () => ({ connect: async () => (${remote}), close: async () => {} }),
  provision: async () => [{ name: 'n' + calls++, address: 'x', roles: ['worker'], labels: {} }],
  teardown: async () => { throw new Error('boom'); },
};`,
  );
  platformFile('good', 'fixture-good');
  platformFile('bad', 'fixture-bad');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('checkPlatformContract', () => {
  it('passes a platform that keeps the contract', async () => {
    const r = await checkPlatformContract({ root, platform: 'good' });
    expect(r.every((c) => c.ok)).toBe(true);
    expect(r.map((c) => c.name)).toContain('every host answers a command through the connector');
    expect(r.map((c) => c.name)).toContain('a host that does not answer is a typed error (HostUnreachable)');
  });

  it('fails a platform whose connector pretends an unreachable host answered', async () => {
    fixturePlatform('fixture-liar', `export default {
  name: 'liar',
  configSchema: { type: 'object', additionalProperties: false, properties: { platform: { type: 'string' } } },
  inventory: async () => [{ name: 'h0', address: '10.0.0.1', port: 22, user: 'u', roles: ['leader'], labels: {} }],
  createConnector: () => ({ connect: async () => (${remote}), close: async () => {} }),
};`);
    platformFile('liar', 'fixture-liar');
    const e = await checkPlatformContract({ root, platform: 'liar' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ContractFailed);
    expect((e as ContractFailed).results.filter((c) => !c.ok).map((c) => c.name)).toEqual(['a host that does not answer is a typed error (HostUnreachable)']);
  });

  it('names every broken check: unknown fields accepted, provision not idempotent, duplicate hosts, untyped teardown error', async () => {
    const e = await checkPlatformContract({ root, platform: 'bad' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ContractFailed);
    const failed = (e as ContractFailed).results.filter((c) => !c.ok);
    expect(failed.map((c) => c.name)).toEqual([
      'a config with an unknown field is a ConfigError naming file and field',
      'provision runs twice with the same hosts',
      'inventory: well-formed hosts, unchanged when asked twice',
      'teardown runs twice',
    ]);
    expect(failed[2]!.detail).toContain('duplicate name');
    expect(failed[3]!.detail).toBe('untyped Error: boom');
    expect((e as Error).message).toContain('✖ inventory: well-formed hosts');
  });

  it('stops at a module that does not load', async () => {
    platformFile('missing', 'fixture-not-installed');
    const e = await checkPlatformContract({ root, platform: 'missing' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ContractFailed);
    expect((e as ContractFailed).results[0]).toMatchObject({ name: 'loads with the contract shape', ok: false });
    expect((e as ContractFailed).results[0]!.detail).toMatch(/ConfigError: configs\/platforms\/missing\/platform\.toml: platform: "fixture-not-installed" is not an installed platform plugin/);
  });
});
