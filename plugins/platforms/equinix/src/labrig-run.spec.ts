/**
 * The platform-kit's targets over this platform, as Nx runs them (`labrig-run
 * @labrig/platform-kit:<target> <project> configs/platforms/<name> --platform=<name>` processes in a
 * workspace with nx.json and the platform file): hosts, provision, exec, teardown (twice) against
 * the Metal stand-in and real sshd hosts; a missing token is a clear error; the token appears in no
 * output and no file of the workspace.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorld, writePlatformFile, type MetalWorld } from './testing/world.js';

const workspace = join(import.meta.dirname, '../../../..');
const bin = join(workspace, 'packages/runner/bin/labrig-run.mjs');
const TOKEN_ENV = 'LABRIG_E2E_METAL_TOKEN';
let w: MetalWorld;
let root: string;
const outputs: string[] = [];

async function kit(target: string, o: { token?: boolean; args?: string[] } = {}): Promise<{ exitCode: number; out: string }> {
  const r = await execa(process.execPath, [bin, `@labrig/platform-kit:${target}`, 'metal', 'configs/platforms/metal', '--platform=metal', ...(o.args ?? [])], {
    cwd: root,
    all: true,
    reject: false,
    env: { NO_COLOR: '1', ...(o.token === false ? {} : { [TOKEN_ENV]: w.token }) },
  });
  const out = r.all ?? '';
  outputs.push(out);
  return { exitCode: r.exitCode ?? -1, out };
}
async function ok(target: string, args: string[] = []): Promise<string> {
  const r = await kit(target, { args });
  if (r.exitCode !== 0) throw new Error(`${target} exited ${r.exitCode}:\n${r.out.slice(-3000)}`);
  return r.out;
}

beforeAll(async () => {
  w = await startWorld();
  mkdirSync(join(workspace, 'tmp'), { recursive: true });
  root = mkdtempSync(join(workspace, 'tmp', 'equinix-run-')); // inside the workspace: packages resolve from its node_modules
  writeFileSync(join(root, 'nx.json'), '{}\n');
  writePlatformFile(root, 'metal', w, { tokenEnv: TOKEN_ENV });
}, 120_000);

afterAll(async () => {
  await w?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('platform-kit targets with --platform=metal (equinix)', () => {
  it('without the token: exit 1 and an error naming the variable, no request made', async () => {
    const r = await kit('hosts', { token: false });
    expect(r.exitCode).toBe(1);
    expect(r.out).toContain(`✖ the Equinix Metal API token is missing: environment variable ${TOKEN_ENV} is not set`);
    expect(r.out).toMatch(/hint: Export LABRIG_E2E_METAL_TOKEN/);
    expect(w.fixture.requests).toEqual([]);
  });

  it('provision, hosts, exec, teardown twice', async () => {
    expect((await ok('hosts')).trim()).toMatch(/^NAME\s+ADDRESS\s+PORT\s+USER\s+ROLES\s+PRIVATE\s+JUMP$/);
    const provisioned = await ok('provision');
    expect(provisioned).toMatch(/equinix: tb-2: SSH answers on 127\.0\.62\.3:2362/);
    expect(provisioned).toContain('✔ metal: 3 host(s) ready');

    const hosts = JSON.parse(await ok('hosts', ['--json'])) as { name: string; address: string; roles: string[] }[];
    expect(hosts.map((h) => [h.name, h.address, h.roles])).toEqual([
      ['tb-0', '127.0.62.1', ['leader']],
      ['tb-1', '127.0.62.2', ['worker']],
      ['tb-2', '127.0.62.3', ['worker']],
    ]);

    const exec = await ok('exec', ['--cmd=id -un', '--output=plain']);
    for (let i = 0; i < 3; i++) expect(exec).toContain(`[tb-${i}] tb${w.testbed.id}h${i}`);

    expect(await ok('teardown')).toContain('✔ metal: released');
    expect(w.fixture.devices()).toEqual([]);
    expect(w.fixture.deletedIds).toHaveLength(3);
    expect(await ok('teardown')).toMatch(/nothing to release[\s\S]*✔ metal: released/);
  });

  it('the token is in no output and no file of the workspace (state, runs, journals, logs, known_hosts)', () => {
    expect(outputs).toHaveLength(7);
    expect(outputs.filter((o) => o.includes(w.token))).toEqual([]);
    const files = (dir: string): string[] =>
      readdirSync(dir).flatMap((e) => (statSync(join(dir, e)).isDirectory() ? files(join(dir, e)) : [join(dir, e)]));
    const labrig = files(join(root, '.labrig'));
    expect(labrig.some((f) => f.includes(`${join('.labrig', 'runs')}`))).toBe(true);
    expect(files(root).filter((f) => readFileSync(f).includes(w.token))).toEqual([]);
  });
});
