import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { down, loadState } from './index.js';

const TOOL = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../tools/testbed');

describe('tools/testbed', () => {
  let dir: string;
  const run = (...args: string[]) => execa(TOOL, args, { reject: false, cwd: tmpdir(), timeout: 60_000 });

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'labrig-tbcli-'));
  });
  afterAll(async () => {
    await down(dir);
    await rm(dir, { recursive: true, force: true });
  });

  it('up, hosts, status, down (from outside the workspace)', async () => {
    const upRun = await run('up', '--hosts', '2', '--dir', dir, '--address-base', '127.0.10.100', '--port', '2314');
    expect(upRun.exitCode, upRun.stderr).toBe(0);
    expect(upRun.stdout).toMatch(/2\/2 hosts up/);
    expect(upRun.stdout).toMatch(/testbed up at .*: 2 host\(s\)/);
    const state = await loadState(dir);
    expect(state.hosts.map((h) => h.address)).toEqual(['127.0.10.101', '127.0.10.102']);

    const hosts = await run('hosts', '--dir', dir);
    expect(hosts.stdout).toContain(state.hosts[1]!.user);
    const st = await run('status', '--dir', dir, '--json');
    expect(st.exitCode).toBe(0);
    expect(JSON.parse(st.stdout).ok).toBe(true);

    const killed = await run('kill', 'tb-1', '--dir', dir);
    expect(killed.exitCode, killed.stderr).toBe(0);
    expect((await run('status', '--dir', dir)).exitCode).toBe(1);
    expect((await run('restart', 'tb-1', '--dir', dir)).exitCode).toBe(0);

    const d = await run('down', '--dir', dir);
    expect(d.stdout).toMatch(/down: 2 host\(s\) stopped, 2 user\(s\) removed/);
    expect((await run('down', '--dir', dir)).stdout).toMatch(/nothing to do/);
  });

  it('bad options: a clear error naming the option and the value', async () => {
    const r1 = await run('up', '--hosts', 'many', '--dir', dir);
    expect(r1.exitCode).toBe(2);
    expect(r1.stderr).toMatch(/--hosts: "many"/);
    const r2 = await run('up', '--hosts', '2', '--port', '0', '--dir', dir);
    expect(r2.stderr).toMatch(/--port: "0"/);
    const r3 = await run('up', '--hosts', '2', '--address-base', '192.0.2.0', '--dir', dir);
    expect(r3.stderr).toMatch(/--address-base: "192.0.2.0" is not a loopback address/);
    const r4 = await run('hosts', '--dir', path.join(dir, 'none'));
    expect(r4.exitCode).toBe(1);
    expect(r4.stderr).toMatch(/no testbed at .*\nhint: Start it with `npx nx run local:up` or `tools\/testbed up`\./);
    const r5 = await run('frobnicate');
    expect(r5.stderr).toMatch(/unknown command "frobnicate"/);
  });
});
