/**
 * `uplink`: a tc token bucket on the veth into the login host's namespace, so the controller reaches
 * the hosts behind the login host through a thin pipe (a laptop's uplink) while they talk among
 * themselves at loopback speed. Real netns, veth, tc and sshd; 127.0.150.x:2550.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { down } from './down.js';
import { parseRate, uplinkBytes } from './netns.js';
import type { TestbedState } from './types.js';
import { up } from './up.js';

const opts = { hosts: 2, login: true, hostsBehindLogin: 2, addressBase: '127.0.150.0', port: 2550 };
let dir: string;
let state: TestbedState;

const qdisc = async (dev: string) => (await execa('tc', ['qdisc', 'show', 'dev', dev])).stdout;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'labrig-tbup-'));
  state = await up({ dir, ...opts, uplink: '8mbit' });
}, 120_000);

afterAll(async () => {
  if (dir) {
    await down(dir);
    await rm(dir, { recursive: true, force: true });
  }
}, 60_000);

describe('an uplink rate limit into the cluster', () => {
  it('puts a token bucket of that rate on the veth, recorded in the state', async () => {
    expect(state.netns?.uplink).toBe('8mbit');
    expect(await qdisc(state.netns!.vethRoot)).toMatch(/qdisc tbf \S+ root .*rate 8Mbit/);
  });

  it('a file sent to a host behind the login host crosses the veth at about that rate', async () => {
    const size = 2 * 1024 * 1024;
    const file = path.join(dir, 'payload');
    await writeFile(file, randomBytes(size)); // incompressible
    const before = await uplinkBytes(state.netns!);
    const t0 = Date.now();
    const r = await execa('ssh', ['-F', state.sshConfigFile, '-o', 'Compression=no', 'tb-1', 'wc -c'], { inputFile: file, reject: false, timeout: 60_000 });
    const ms = Date.now() - t0;
    expect(r.exitCode, r.stderr).toBe(0);
    expect(Number(r.stdout.trim())).toBe(size);
    expect((await uplinkBytes(state.netns!)) - before).toBeGreaterThanOrEqual(size);
    // 2 MiB at 8 Mbit/s is 2.1 s: well below that, the limit did not hold.
    expect(ms, `2 MiB took ${ms} ms`).toBeGreaterThan(0.7 * ((size * 8) / 8e6) * 1000);
  });

  it('up again without it removes the limit; a bad rate or one without a login host is refused', async () => {
    state = await up({ dir, ...opts });
    expect(state.netns?.uplink).toBeUndefined();
    expect(await qdisc(state.netns!.vethRoot)).not.toContain('tbf');
    await expect(up({ dir, ...opts, uplink: '8 megabits' })).rejects.toThrow('--uplink: "8 megabits" is not a rate like 500kbit, 20mbit or 1gbit');
    await expect(up({ dir, hosts: 2, uplink: '8mbit', addressBase: '127.0.150.0', port: 2550 })).rejects.toThrow(/--uplink: 8mbit .* needs --login/);
    expect([parseRate('500kbit'), parseRate('20mbit'), parseRate('1.5gbit'), parseRate('0mbit'), parseRate('20')]).toEqual([5e5, 2e7, 1.5e9, undefined, undefined]);
  });
});
