/** On real testbed sshd hosts: the inventory of a manifest that lists them, and provision naming a host that does not answer. */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { down, kill, restart, type TestbedState } from '@labrig/testbed';
import { HostsNotAnswering } from './errors.js';
import { startTestbed, writeTestbedPlatform } from './testing/testbed.js';
import { makeWorkspace, openCloudlab } from './testing/workspace.js';

let root: string;
let state: TestbedState;

beforeAll(async () => {
  root = makeWorkspace('cl-prov');
  state = await startTestbed(root, 3);
  writeTestbedPlatform(root, 'cl', state, '[network]\nsubnet = "127.0.60.0/24"');
});

afterAll(async () => {
  if (state) await down(state.dir);
  rmSync(root, { recursive: true, force: true });
});

describe('provision on testbed hosts', () => {
  it('the inventory lists the testbed hosts as the manifest gives them', async () => {
    const p = await openCloudlab(root, 'cl');
    const hosts = await p.platform.inventory(p.cfg, p.ctx);
    expect(hosts.map((h) => ({ name: h.name, address: h.address, port: h.port, user: h.user, roles: h.roles, privateAddress: h.privateAddress }))).toEqual(
      state.hosts.map((h, i) => ({ name: h.name, address: h.address, port: h.port, user: h.user, roles: [i === 0 ? 'leader' : 'worker'], privateAddress: h.address })),
    );
  });

  it('every host answers: provision returns them; a killed host is named, with why', async () => {
    const p = await openCloudlab(root, 'cl');
    expect((await p.platform.provision!(p.cfg, p.ctx)).map((h) => h.name)).toEqual(['tb-0', 'tb-1', 'tb-2']);

    await kill(state, 'tb-1');
    try {
      const err = await p.platform.provision!(p.cfg, p.ctx).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(HostsNotAnswering);
      const e = err as HostsNotAnswering;
      expect(e.down.map((d) => d.host)).toEqual(['tb-1']);
      expect(e.down[0]!.reason).toMatch(/refused|unreachable/i);
      expect(e.message).toMatch(/^1 of 3 host\(s\) do not answer over SSH:\n  tb-1: /);
    } finally {
      await restart(state, 'tb-1');
    }
    expect((await p.platform.provision!(p.cfg, p.ctx)).length).toBe(3);
  });
});
