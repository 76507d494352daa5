/**
 * `nx g @labrig/core:platform acme` in a temporary workspace (the real Nx CLI): the generated
 * plugin typechecks and its own spec — the Platform contract checks on two testbed sshd hosts —
 * passes unmodified. Bad names are refused.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGeneratorWorkspace, type GeneratorWorkspace } from '../generator-workspace.js';
import { normalizeOptions } from './generator.js';

let gw: GeneratorWorkspace;
beforeAll(() => {
  gw = createGeneratorWorkspace('gen-platform-');
});
afterAll(() => gw?.remove());

describe('nx g @labrig/core:platform', { timeout: 240_000 }, () => {
  it('scaffolds a plugin that typechecks and passes the Platform contract checks as generated', async () => {
    const g = await gw.nx(['g', '@labrig/core:platform', 'acme', '--no-interactive']);
    expect(g.exitCode, g.all).toBe(0);
    const dir = join(gw.dir, 'plugins/platforms/acme');
    for (const f of ['package.json', 'project.json', 'tsconfig.json', 'vitest.config.ts', 'src/index.ts', 'src/config.schema.json', 'src/contract.spec.ts', 'example/platform.toml']) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
    gw.link('@labrig/platform-acme', dir);
    const tsc = await gw.tsc(join(dir, 'tsconfig.json'));
    expect(tsc.exitCode, tsc.all).toBe(0);
    const test = await gw.vitest(dir);
    expect(test.exitCode, test.all?.slice(-3000)).toBe(0);
    expect(test.all).toContain('passes the Platform contract');
    // A second run of the generator refuses to overwrite.
    const again = await gw.nx(['g', '@labrig/core:platform', 'acme', '--no-interactive']);
    expect(again.exitCode).not.toBe(0);
    expect(again.all).toContain('exists already');
  });

  it('refuses a name that is not lowercase letters, digits and dashes', () => {
    expect(() => normalizeOptions({ name: 'Acme Cloud' })).toThrow(/--name: got "Acme Cloud"/);
    expect(normalizeOptions({ name: 'acme' })).toMatchObject({ packageName: '@labrig/platform-acme', directory: 'plugins/platforms/acme', offset: '../../..' });
  });
});
