/**
 * The prepare steps through the engine, over SSH, on real testbed hosts made to look like CloudLab
 * nodes: the tools that cannot run there (mkfs, mount, update-grub, reboot, ip, sudo...) are the
 * stand-ins of src/testing/stand-ins/ on PATH, the system files a fixture root in each home, and a
 * reboot is a real sshd kill + restart by the spec's power controller (src/testing/power.ts).
 */
import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Host, PlatformInstance, RunResult, Step } from '@labrig/core';
import { runSteps } from '@labrig/core';
import { down, type TestbedHost, type TestbedState } from '@labrig/testbed';
import type { CloudlabConfig } from './config.js';
import type { HostSystem } from './host-system.js';
import { readClusterAddresses } from './state.js';
import { prepareSteps } from './steps/index.js';
import { kernelStep } from './steps/kernel.js';
import { partitionStep } from './steps/partition.js';
import { chownFixtures, fixtureSystem, installStandIns, readCalls, readFixture, seedFixtureHost, writeFixture } from './testing/fixture-host.js';
import { startPowerController, type PowerController } from './testing/power.js';
import { startTestbed, writeTestbedPlatform } from './testing/testbed.js';
import { makeWorkspace, openCloudlab, quiet } from './testing/workspace.js';

let root: string;
let state: TestbedState;
let sys: HostSystem;
let p: PlatformInstance<CloudlabConfig>;
let inventory: Host[];
let power: PowerController;

/** What `ip -o -4 addr show` prints on node i: loopback, the control network, the experiment LAN (10.10.2.x). */
const ipAddr = (i: number): string =>
  [
    '1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever',
    `2: eno1    inet 128.110.218.${10 + i}/21 brd 128.110.223.255 scope global eno1\\       valid_lft forever preferred_lft forever`,
    `4: enp94s0f0    inet 10.10.2.${i + 1}/24 brd 10.10.2.255 scope global enp94s0f0\\       valid_lft forever preferred_lft forever`,
  ].join('\n') + '\n';

const tb = (name: string): TestbedHost => state.hosts.find((h) => h.name === name)!;
const tools = (h: TestbedHost): string[] => readCalls(h).map((c) => c.split(' ')[0]!);
const result = (r: RunResult, step: string, host: string) => r.results.find((x) => x.step === step && x.host === host)!;
const fstabLinesFor = (h: TestbedHost, mountPoint: string) => readFixture(h, 'root/etc/fstab').split('\n').filter((l) => l.split(/\s+/)[1] === mountPoint);

async function run(steps: Step[], names: string[]): Promise<RunResult> {
  const connector = p.platform.createConnector(p.cfg, p.ctx);
  try {
    return await runSteps(steps, { root, hosts: inventory.filter((h) => names.includes(h.name)), connector, output: quiet, failurePolicy: 'continue' });
  } finally {
    await connector.close();
  }
}

beforeAll(async () => {
  root = makeWorkspace('cl-prep');
  state = await startTestbed(root, 3);
  sys = fixtureSystem(installStandIns(join(root, 'stand-ins')));
  writeTestbedPlatform(
    root,
    'cl',
    state,
    ['[prepare.partition]', 'blockDevice = "/dev/sda4"', 'mountPoint = "/data"', '[prepare.kernel]', 'params = ["mitigations=off", "isolcpus=2-3"]', 'rebootTimeout = "20s"', '[prepare.numa]', '[run]', 'timeout = "60s"'].join('\n'),
    (i) => `10.10.1.${i + 1}`,
  );
  p = await openCloudlab(root, 'cl');
  inventory = await p.platform.inventory(p.cfg, p.ctx);
  seedFixtureHost(tb('tb-0'), { ipAddr: ipAddr(0) });
  seedFixtureHost(tb('tb-1'), { ipAddr: ipAddr(1) });
  seedFixtureHost(tb('tb-2'), { ipAddr: ipAddr(2), device: { fstype: 'ext4', files: { 'results.csv': 'run,latency_us\n1,182\n' } } });
  // tb-2 is left out on purpose: its reboot never comes back (the timeout case).
  power = startPowerController(state, [tb('tb-0'), tb('tb-1')]);
});

afterAll(async () => {
  await power?.stop();
  if (state) await down(state.dir);
  rmSync(root, { recursive: true, force: true });
});

describe('prepare steps on fixture CloudLab nodes', () => {
  it('first run: partition, kernel parameters with a reboot waited for over SSH, NUMA CPUs offline, cluster addresses recorded', async () => {
    const steps = prepareSteps(p.cfg, sys, p.ctx);
    expect(steps.map((s) => s.name)).toEqual(['mount-partition', 'kernel-params', 'numa-offline', 'cluster-address']);
    const r = await run(steps, ['tb-0', 'tb-1']);
    expect(r.results.filter((x) => x.status !== 'ok')).toEqual([]);

    for (const name of ['tb-0', 'tb-1']) {
      const h = tb(name);
      const t = tools(h);
      // In order: probe the device, make the file system, mount, boot loader, reboot, then read the interfaces.
      const at = (tool: string) => t.indexOf(tool);
      expect(at('lsblk')).toBeGreaterThanOrEqual(0);
      expect([at('lsblk') < at('mkfs'), at('blkid') < at('mkfs'), at('mkfs') < at('mount'), at('mount') < at('update-grub'), at('update-grub') < at('reboot'), at('reboot') < at('ip')]).toEqual([true, true, true, true, true, true]);
      expect(t.filter((x) => x === 'mkfs' || x === 'reboot')).toEqual(['mkfs', 'reboot']);

      const uuid = readFixture(h, 'state/dev/sda4/uuid').trim();
      expect(fstabLinesFor(h, '/data')).toEqual([`UUID=${uuid} /data ext4 defaults,nofail 0 2`]);
      expect(readFixture(h, 'state/mounts')).toBe('/dev/sda4 .labrig-fixtures/root/data ext4\n');
      expect(readFixture(h, 'root/etc/default/grub')).toContain('\nGRUB_CMDLINE_LINUX_DEFAULT="quiet splash mitigations=off isolcpus=2-3"\n');
      expect(readFixture(h, 'root/etc/default/grub.labrig-orig')).toContain('GRUB_CMDLINE_LINUX_DEFAULT="quiet splash"');
      expect(readFixture(h, 'root/proc/cmdline')).toMatch(/ quiet splash mitigations=off isolcpus=2-3$/m);
      expect(['cpu1', 'cpu2', 'cpu3'].map((c) => readFixture(h, `root/sys/devices/system/cpu/${c}/online`).trim())).toEqual(['1', '0', '0']);

      // The reboot: the sshd was killed and restarted once, and the step came back on that new boot.
      const cycles = power.cycles.filter((c) => c.host === name);
      expect(cycles).toHaveLength(1);
      const kernel = result(r, 'kernel-params', name).output as { rebooted: boolean; bootId: string; waitedMs: number };
      expect(kernel.rebooted).toBe(true);
      expect(kernel.bootId).toBe(cycles[0]!.bootId);
      expect(kernel.waitedMs).toBeGreaterThanOrEqual(cycles[0]!.restartedAt - cycles[0]!.killedAt);
    }

    // Recorded on the coordinator; the inventory now gives the address `ip` showed (not the manifest's).
    const recorded = await readClusterAddresses(p.ctx.stateDir);
    expect(Object.fromEntries(Object.entries(recorded).map(([n, x]) => [n, `${x.clusterAddress} ${x.interface}`]))).toEqual({ 'tb-0': '10.10.2.1 enp94s0f0', 'tb-1': '10.10.2.2 enp94s0f0' });
    const again = await p.platform.inventory(p.cfg, p.ctx);
    expect(again.map((h) => h.privateAddress)).toEqual(['10.10.2.1', '10.10.2.2', '10.10.1.3']);
  });

  it('second run: every step is skipped by its check and nothing changes (no root command at all)', async () => {
    const hosts = ['tb-0', 'tb-1'].map(tb);
    const callsBefore = hosts.map((h) => readCalls(h).length);
    const fstabBefore = hosts.map((h) => readFixture(h, 'root/etc/fstab'));
    const onlineFile = (h: TestbedHost) => join(h.home, '.labrig-fixtures/root/sys/devices/system/cpu/cpu2/online');
    const mtimes = hosts.map((h) => statSync(onlineFile(h)).mtimeMs);
    const cycles = power.cycles.length;

    const r = await run(prepareSteps(p.cfg, sys, p.ctx), ['tb-0', 'tb-1']);
    expect(r.ok).toBe(true);
    expect(r.results.map((x) => x.status)).toEqual(Array(8).fill('skipped'));
    hosts.forEach((h, i) => {
      const fresh = readCalls(h).slice(callsBefore[i]).map((c) => c.split(' ')[0]);
      expect(fresh.length).toBeGreaterThan(0);
      expect(fresh.filter((x) => !['findmnt', 'ip'].includes(x!))).toEqual([]);
      expect(readFixture(h, 'root/etc/fstab')).toBe(fstabBefore[i]);
      expect(fstabLinesFor(h, '/data')).toHaveLength(1);
      expect(statSync(onlineFile(h)).mtimeMs).toBe(mtimes[i]);
    });
    expect(power.cycles.length).toBe(cycles);
  });

  it('a device with files, or mounted elsewhere, is refused before any change; force mounts it as it is', async () => {
    const h = tb('tb-2');
    const partition = p.cfg.prepare.partition!;
    const fstab = readFixture(h, 'root/etc/fstab');

    const withData = await run([partitionStep(partition, sys)], ['tb-2']);
    const refusal = result(withData, 'mount-partition', 'tb-2');
    expect(refusal.status).toBe('failed');
    expect(refusal.error?.code).toBe('REFUSED');
    expect(refusal.error?.message).toMatch(/^mount-partition on tb-2 refused: \/dev\/sda4 holds a file system \(ext4\) with files \(results\.csv \.\.\.\): set force = true/);
    expect(tools(h)).not.toContain('mkfs');
    expect(readFixture(h, 'state/dev/sda4/files/results.csv')).toBe('run,latency_us\n1,182\n');
    expect(readFixture(h, 'state/mounts')).toBe('');
    expect(readFixture(h, 'root/etc/fstab')).toBe(fstab);

    // The same device mounted on /mnt/scratch (its files there, as the mount stand-in leaves them).
    writeFixture(h, 'root/mnt/scratch/results.csv', readFixture(h, 'state/dev/sda4/files/results.csv'));
    rmSync(join(h.home, '.labrig-fixtures/state/dev/sda4/files'), { recursive: true });
    writeFixture(h, 'state/mounts', '/dev/sda4 .labrig-fixtures/root/mnt/scratch ext4\n');
    chownFixtures(h);
    const mounted = result(await run([partitionStep(partition, sys)], ['tb-2']), 'mount-partition', 'tb-2');
    expect(mounted.error?.code).toBe('REFUSED');
    expect(mounted.error?.message).toMatch(/\/dev\/sda4 is mounted on \.labrig-fixtures\/root\/mnt\/scratch \(in use\?\): set force = true to unmount it/);
    expect(tools(h).filter((x) => ['mkfs', 'mount', 'umount'].includes(x))).toEqual(['mount', 'umount']); // the look inside the first time, undone

    const forced = await run([partitionStep({ ...partition, force: true }, sys)], ['tb-2']);
    expect(forced.ok).toBe(true);
    expect(tools(h)).not.toContain('mkfs');
    expect(readFixture(h, 'root/data/results.csv')).toBe('run,latency_us\n1,182\n');
    expect(readFixture(h, 'state/mounts')).toBe('/dev/sda4 .labrig-fixtures/root/data ext4\n');
    expect(existsSync(join(h.home, '.labrig-fixtures/root/mnt/scratch/results.csv'))).toBe(false);
    expect(fstabLinesFor(h, '/data')).toEqual([`UUID=${readFixture(h, 'state/dev/sda4/uuid').trim()} /data ext4 defaults,nofail 0 2`]);

    // Unmounted by hand (its fstab line stays): the next run mounts it again and writes no second line.
    writeFixture(h, 'state/mounts', '');
    writeFixture(h, 'state/dev/sda4/files/results.csv', readFixture(h, 'root/data/results.csv'));
    rmSync(join(h.home, '.labrig-fixtures/root/data/results.csv'));
    chownFixtures(h);
    const remounted = await run([partitionStep({ ...partition, force: true }, sys)], ['tb-2']);
    expect(result(remounted, 'mount-partition', 'tb-2').output).toMatchObject({ changes: ['mounted /dev/sda4 on /data'] });
    expect(fstabLinesFor(h, '/data')).toHaveLength(1);
    expect(readFixture(h, 'root/data/results.csv')).toBe('run,latency_us\n1,182\n');
  });

  it('a whole disk is refused even with force: its partitions are not "unused"', async () => {
    const h = tb('tb-2');
    writeFixture(h, 'state/dev/sda/pttype', 'gpt\n');
    writeFixture(h, 'state/dev/sda/children', 'sda1\nsda2\nsda3\nsda4\n');
    chownFixtures(h);
    const r = await run([partitionStep({ ...p.cfg.prepare.partition!, blockDevice: '/dev/sda', force: true }, sys)], ['tb-2']);
    const refused = result(r, 'mount-partition', 'tb-2');
    expect(refused.error?.code).toBe('REFUSED');
    expect(refused.error?.message).toMatch(/\/dev\/sda has partitions \(sda1 sda2 sda3 sda4 \): set blockDevice to the large one with no mount point/);
    expect(readCalls(h).filter((c) => /^(mkfs|mount|umount) .*\/dev\/sda( |$)/.test(c))).toEqual([]);
  });

  it('a host that does not come back after the reboot fails the step when the wait times out', async () => {
    const started = Date.now();
    const r = await run([kernelStep({ params: ['mitigations=off'], rebootTimeout: '2s' }, sys)], ['tb-2']);
    const failed = result(r, 'kernel-params', 'tb-2');
    expect(failed.status).toBe('failed');
    expect(failed.error?.code).toBe('REBOOT_TIMEOUT');
    expect(failed.error?.message).toMatch(/^tb-2 did not come back over SSH within 2 s of the reboot \(last: not rebooted yet\)/);
    expect(tools(tb('tb-2'))).toContain('reboot');
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});
