/**
 * The platform file: the shipped example is valid and shows the defaults; a bad file is one
 * ConfigError naming the file and the field (through core's loadPlatform, as every target loads
 * it); a missing token is a clear error naming the variable, before any request.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadPlatform } from '@labrig/core';
import { configSchema, loadEquinixConfig, type EquinixConfig } from './config.js';
import { MetalTokenMissing } from './errors.js';
import { createEquinixPlatform } from './platform.js';

const FILE = 'configs/platforms/metal/platform.toml';
const MINIMAL = [
  'platform = "@labrig/platform-equinix"',
  'project = "p-1"',
  'deployment = "demo"',
  '[devices]',
  'count = 2',
  'plan = "c3.small.x86"',
  'metro = "da"',
  'operatingSystem = "ubuntu_22_04"',
].join('\n');
let root: string;
const write = (text: string) => {
  mkdirSync(join(root, 'configs/platforms/metal'), { recursive: true });
  writeFileSync(join(root, FILE), `${text}\n`);
};
const load = () => loadPlatform<EquinixConfig>(root, 'metal', { importModule: async () => import('./index.js') });

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'labrig-equinix-cfg-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('platform file', () => {
  it('the shipped example is valid; defaults fill what a minimal file leaves out', async () => {
    const shipped = readFileSync(join(import.meta.dirname, '../../../../configs/platforms/equinix/platform.toml'), 'utf8');
    write(shipped);
    const ex = loadEquinixConfig(root, FILE);
    expect(ex).toMatchObject({ deployment: 'cfiddle-demo', devices: { count: 3, hostnamePrefix: 'cfiddle' }, roles: { leader: ['cfiddle-0'] } });
    write(MINIMAL);
    const p = await load();
    expect(p.platform.name).toBe('equinix');
    expect(p.platform.configSchema).toBe(configSchema);
    expect(p.cfg).toMatchObject({
      apiUrl: 'https://api.equinix.com/metal/v1',
      tokenEnv: 'METAL_AUTH_TOKEN',
      devices: { billingCycle: 'hourly', tags: [] },
      login: { user: 'root', port: 22, network: 'public' },
      wait: { active: '30m', pollInterval: '10s' },
      retry: { attempts: 6 },
      ssh: { hostKeyPolicy: 'accept-new' },
      run: { failurePolicy: 'fail-fast' },
    });
  });

  const cases: [string, string, RegExp][] = [
    ['wrong type', MINIMAL.replace('count = 2', 'count = "two"'), /: devices\.count: .*integer/],
    ['unknown key', `${MINIMAL}\nplna = "x"`, /: devices\.plna: unknown key `plna` \(did you mean `plan`\?\)/],
    ['missing field', MINIMAL.replace('project = "p-1"\n', ''), /: project: missing required field `project`/],
    ['bad API URL', `${MINIMAL.split('\n[devices]')[0]}\napiUrl = "ftp://metal.example"\n[devices]\n${MINIMAL.split('[devices]\n')[1]}`, /: apiUrl: /],
    ['bad deployment id', MINIMAL.replace('"demo"', '"Demo Cluster"'), /: deployment: /],
  ];
  for (const [what, text, field] of cases) {
    it(`${what}: one ConfigError naming the file and the field`, async () => {
      write(text);
      const err = await load().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ConfigError);
      const first = (err as ConfigError).message.split('\n')[0]!;
      expect(first.startsWith(`${FILE}: `)).toBe(true);
      expect(first).toMatch(field);
    });
  }

  it('a missing token is MetalTokenMissing naming the variable, before any request', async () => {
    write(`${MINIMAL.replace('deployment = "demo"', 'deployment = "demo"\ntokenEnv = "MY_METAL_TOKEN"\napiUrl = "http://127.0.0.1:9/metal/v1"')}`);
    const { cfg } = await load();
    const platform = createEquinixPlatform({ env: {}, report: () => undefined });
    const ctx = { root, stateDir: join(root, '.labrig/state/metal') };
    for (const call of [() => platform.inventory(cfg, ctx), () => platform.provision!(cfg, ctx), () => platform.teardown!(cfg, ctx)]) {
      const err = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(MetalTokenMissing);
      expect((err as Error).message).toBe('the Equinix Metal API token is missing: environment variable MY_METAL_TOKEN is not set');
    }
  });

  it('a role naming a host that is not one of the deployment\'s hostnames is a ConfigError, before the token or any request', async () => {
    write(`${MINIMAL.replace('deployment = "demo"', 'deployment = "demo"\ntokenEnv = "MY_METAL_TOKEN"\napiUrl = "http://127.0.0.1:9/metal/v1"')}\n[roles]\nleader = ["demo-1"]\nbench = ["demo-2"]`);
    const { cfg } = await load();
    const platform = createEquinixPlatform({ env: {}, report: () => undefined });
    const ctx = { root, stateDir: join(root, '.labrig/state/metal') };
    for (const call of [() => platform.inventory(cfg, ctx), () => platform.provision!(cfg, ctx)]) {
      const err = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ConfigError);
      expect(err).toMatchObject({ file: FILE, field: 'roles.bench', problem: 'names "demo-2" (did you mean "demo-0"?), not a host of this platform; known hosts: demo-0, demo-1' });
    }
  });
});
