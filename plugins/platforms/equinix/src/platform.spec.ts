/**
 * provision / inventory / teardown end to end: the Metal API stand-in hands out the addresses of
 * real sshd hosts (testbed), so waiting for SSH and the commands after it are real. Shown: devices
 * created and the inventory sorted (the stand-in lists newest first); provision idempotent and
 * resuming after a failure part-way, one at a time; a create whose answer was lost not made twice; teardown
 * deleting exactly what this workspace created (never someone else's device, even with the
 * deployment's tag), twice in a row; the token in no progress line and no file.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlatformContext } from '@labrig/core';
import { loadEquinixConfig, type EquinixConfig } from './config.js';
import { MetalApiError, StateLocked } from './errors.js';
import { createEquinixPlatform } from './platform.js';
import { readState, statePath } from './state.js';
import { startWorld, writePlatformFile, type MetalWorld } from './testing/world.js';

const CREATE = /^\/projects\/[^/]+\/devices$/;
let w: MetalWorld;
let root: string;
let ctx: PlatformContext;
let platform: ReturnType<typeof createEquinixPlatform>;
const lines: string[] = [];

const config = (count = 3): EquinixConfig => {
  writePlatformFile(root, 'metal', w, { count });
  return loadEquinixConfig(root, 'configs/platforms/metal/platform.toml');
};
const recorded = () => readState(ctx.stateDir)?.devices.map((d) => ({ hostname: d.hostname, id: d.id })) ?? [];
const posts = () => w.fixture.requestsTo('POST', CREATE).length;
const hostnames = () => w.fixture.devices().map((d) => d.hostname).sort();

beforeAll(async () => {
  w = await startWorld();
  root = mkdtempSync(join(tmpdir(), 'labrig-equinix-ws-'));
  ctx = { root, stateDir: join(root, '.labrig/state/metal') };
  platform = createEquinixPlatform({ report: (l) => void lines.push(l), env: { METAL_AUTH_TOKEN: w.token } });
  // Devices of other people in the same project: never in the inventory, never deleted.
  w.fixture.seed({ hostname: 'someone-0', publicAddress: '203.0.113.10' });
  w.fixture.seed({ hostname: 'tb-0', tags: ['labrig', 'labrig:deployment=other'], publicAddress: '203.0.113.11' });
});

afterAll(async () => {
  await w?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('equinix platform on the Metal stand-in and real sshd hosts', () => {
  it('provision creates the devices, waits for active and SSH; the inventory is sorted and only reads', async () => {
    const cfg = config();
    const hosts = await platform.provision!(cfg, ctx);
    const user = (i: number) => `tb${w.testbed.id}h${i}`;
    expect(hosts.map((h) => [h.name, h.address, h.port, h.user, h.roles])).toEqual([
      ['tb-0', '127.0.62.1', 2362, user(0), ['leader']],
      ['tb-1', '127.0.62.2', 2362, user(1), ['worker']],
      ['tb-2', '127.0.62.3', 2362, user(2), ['worker']],
    ]);
    expect(hosts[0]!.privateAddress).toMatch(/^10\.62\./);
    expect(posts()).toBe(3);
    expect(recorded().map((r) => r.hostname)).toEqual(['tb-0', 'tb-1', 'tb-2']);
    expect(lines).toContainEqual(expect.stringMatching(/^waiting for active: 0\/3 active; tb-0 provisioning, tb-1 provisioning, tb-2 provisioning/));
    expect(lines.filter((l) => / SSH answers on /.test(l))).toHaveLength(3);

    const before = w.fixture.requests.length;
    const inventory = await platform.inventory(cfg, ctx);
    expect(inventory).toEqual(hosts);
    expect(w.fixture.requests.slice(before).map((r) => r.method)).toEqual(['GET']);
    const connector = platform.createConnector(cfg, ctx);
    try {
      const r = await (await connector.connect(inventory[2]!)).exec(['id', '-un']);
      expect(r.stdout.trim()).toBe(user(2));
    } finally {
      await connector.close();
    }
  });

  it('provision again creates nothing and gives the same hosts; a second one at the same time is refused', async () => {
    const n = posts();
    const cfg = config();
    const [first, second] = await Promise.allSettled([platform.provision!(cfg, ctx), platform.provision!(cfg, ctx)]);
    expect(first.status === 'fulfilled' && first.value.map((h) => h.name)).toEqual(['tb-0', 'tb-1', 'tb-2']);
    expect(second.status === 'rejected' && second.reason).toBeInstanceOf(StateLocked);
    expect(posts()).toBe(n);
  });

  it('teardown deletes exactly the created devices, waits until gone, forgets their host keys; twice is fine', async () => {
    const cfg = config();
    const ids = recorded().map((r) => r.id);
    const knownHosts = join(root, '.labrig/known_hosts');
    expect(readFileSync(knownHosts, 'utf8')).toContain('[127.0.62.1]:2362 ');
    await platform.teardown!(cfg, ctx);
    expect(w.fixture.deletedIds).toEqual(ids);
    expect(hostnames()).toEqual(['someone-0', 'tb-0']); // the other people's devices
    expect(existsSync(statePath(ctx.stateDir))).toBe(false);
    expect(readFileSync(knownHosts, 'utf8')).not.toContain('127.0.62.');
    const n = w.fixture.requests.length;
    await platform.teardown!(cfg, ctx);
    expect(w.fixture.requests.length).toBe(n);
    expect(lines.at(-1)).toMatch(/^nothing to release/);
    expect(await platform.inventory(cfg, ctx)).toEqual([]);
  });

  it('a failure part-way (the 3rd create refused) leaves the state; teardown deletes exactly those created', async () => {
    const cfg = config();
    w.fixture.deletedIds.length = 0;
    w.fixture.inject({ method: 'POST', path: CREATE, skip: 2, status: 422, message: 'not enough capacity for c3.small.x86 in da' });
    const err = await platform.provision!(cfg, ctx).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MetalApiError);
    expect((err as Error).message).toBe(`creating tb-2: Equinix Metal API POST /projects/${w.projectId}/devices answered 422: not enough capacity for c3.small.x86 in da`);
    const created = recorded();
    expect(created.map((r) => r.hostname)).toEqual(['tb-0', 'tb-1']);
    expect(created.every((r) => w.fixture.devices().some((d) => d.id === r.id && !d.seeded))).toBe(true);
    await platform.teardown!(cfg, ctx);
    expect(w.fixture.deletedIds).toEqual(created.map((r) => r.id));
    expect(hostnames()).toEqual(['someone-0', 'tb-0']);
    await platform.teardown!(cfg, ctx);
  });

  it('provision after a failure creates only the missing indexes', async () => {
    const cfg = config();
    w.fixture.clearFaults();
    w.fixture.inject({ method: 'POST', path: CREATE, skip: 2, status: 422, message: 'not enough capacity' });
    await expect(platform.provision!(cfg, ctx)).rejects.toThrow(/answered 422: not enough capacity/);
    const n = posts();
    const hosts = await platform.provision!(cfg, ctx);
    expect(hosts.map((h) => h.name)).toEqual(['tb-0', 'tb-1', 'tb-2']);
    expect(posts()).toBe(n + 1);
    expect(recorded().map((r) => r.hostname)).toEqual(['tb-0', 'tb-1', 'tb-2']);
    await platform.teardown!(cfg, ctx);
    expect(hostnames()).toEqual(['someone-0', 'tb-0']);
  });

  it('a create whose answer is lost (connection dropped after the API acted) is found again, not made twice', async () => {
    const cfg = config(1);
    w.fixture.clearFaults();
    w.fixture.inject({ method: 'POST', path: CREATE, drop: true, dropAfterHandling: true });
    const n = posts();
    const hosts = await platform.provision!(cfg, ctx);
    expect(hosts.map((h) => h.name)).toEqual(['tb-0']);
    expect(posts()).toBe(n + 1);
    const mine = w.fixture.devices().filter((d) => d.tags.includes('labrig:deployment=e2e'));
    expect(mine.map((d) => d.id)).toEqual(recorded().map((r) => r.id));
    await platform.teardown!(cfg, ctx);
    expect(hostnames()).toEqual(['someone-0', 'tb-0']);
  });

  it("a device with the deployment's tag that this workspace did not create is reused, never deleted", async () => {
    const cfg = config();
    const theirs = w.fixture.seed({ hostname: 'tb-0', tags: ['labrig:deployment=e2e'], publicAddress: w.testbed.hosts[0]!.address });
    w.fixture.deletedIds.length = 0;
    const n = posts();
    const hosts = await platform.provision!(cfg, ctx);
    expect(hosts.map((h) => [h.name, h.labels['deviceId'] === theirs.id])).toEqual([
      ['tb-0', true],
      ['tb-1', false],
      ['tb-2', false],
    ]);
    expect(posts()).toBe(n + 2);
    expect(lines).toContainEqual(expect.stringMatching(/^tb-0: reusing device .* teardown leaves it$/));
    const created = recorded().map((r) => r.id);
    await platform.teardown!(cfg, ctx);
    expect(w.fixture.deletedIds).toEqual(created);
    expect(w.fixture.devices().some((d) => d.id === theirs.id)).toBe(true);
  });

  it('the token is in no progress line and no file labrig wrote', () => {
    expect(lines.length).toBeGreaterThan(20);
    expect(lines.filter((l) => l.includes(w.token))).toEqual([]);
    const files = (dir: string): string[] =>
      readdirSync(dir).flatMap((e) => (statSync(join(dir, e)).isDirectory() ? files(join(dir, e)) : [join(dir, e)]));
    const written = files(root);
    expect(written.length).toBeGreaterThan(1);
    expect(written.filter((f) => readFileSync(f, 'utf8').includes(w.token))).toEqual([]);
    expect(w.fixture.requests.every((r) => r.authorized)).toBe(true);
  });
});
