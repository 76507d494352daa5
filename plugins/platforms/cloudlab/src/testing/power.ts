/**
 * The power controller of the fixture hosts: the `reboot` stand-in leaves a request, and this
 * (in the spec's process) power-cycles the host as a reboot would: the sshd dies (connections
 * drop, the port refuses), the fixture system "boots" (kernel line from boot/grub/grub.cfg into
 * proc/cmdline, a new boot id, every CPU online, only fstab's mounts kept), then sshd starts again.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { kill, restart, type TestbedHost, type TestbedState } from '@labrig/testbed';
import { FIXTURES_DIR, chownFixtures, fixturePath, readFixture, writeFixture } from './fixture-host.js';

export interface PowerCycle {
  host: string;
  killedAt: number;
  restartedAt: number;
  bootId: string;
}

export interface PowerController {
  cycles: PowerCycle[];
  /** Stop watching; rejects when a power cycle failed. */
  stop(): Promise<void>;
}

/** The fixture system after a boot (see the module comment). */
function boot(h: TestbedHost): string {
  const cfg = existsSync(fixturePath(h, 'root/boot/grub/grub.cfg')) ? readFixture(h, 'root/boot/grub/grub.cfg') : '';
  const linux = /^\s*linux\s+(\S+)\s+(.*)$/m.exec(cfg);
  if (linux) writeFixture(h, 'root/proc/cmdline', `BOOT_IMAGE=${linux[1]} ${linux[2]!.trim()}\n`);
  const bootId = randomUUID();
  writeFixture(h, 'root/proc/sys/kernel/random/boot_id', `${bootId}\n`);
  const cpuDir = fixturePath(h, 'root/sys/devices/system/cpu');
  for (let c = 1; existsSync(`${cpuDir}/cpu${c}/online`); c++) writeFixture(h, `root/sys/devices/system/cpu/cpu${c}/online`, '1\n');
  const inFstab = new Set(
    readFixture(h, 'root/etc/fstab')
      .split('\n')
      .filter((l) => l.trim() && !l.trimStart().startsWith('#'))
      .map((l) => `${FIXTURES_DIR}/root${l.trim().split(/\s+/)[1]}`),
  );
  const mounts = readFixture(h, 'state/mounts').split('\n').filter((l) => inFstab.has(l.split(' ')[1] ?? ''));
  writeFixture(h, 'state/mounts', mounts.map((l) => `${l}\n`).join(''));
  chownFixtures(h);
  return bootId;
}

/** Watch `hosts` for reboot requests (polling every 100 ms); `downMs`: how long a host stays down. */
export function startPowerController(state: TestbedState, hosts: readonly TestbedHost[], downMs = 600): PowerController {
  const cycles: PowerCycle[] = [];
  const busy = new Set<string>();
  const running: Promise<void>[] = [];
  const failures: unknown[] = [];
  const cycle = async (h: TestbedHost): Promise<void> => {
    busy.add(h.name);
    try {
      await kill(state, h.name);
      const killedAt = Date.now();
      const bootId = boot(h);
      await sleep(downMs);
      await restart(state, h.name);
      cycles.push({ host: h.name, killedAt, restartedAt: Date.now(), bootId });
    } finally {
      busy.delete(h.name);
    }
  };
  const timer = setInterval(() => {
    for (const h of hosts) {
      const request = fixturePath(h, 'state/reboot-requested');
      if (busy.has(h.name) || !existsSync(request)) continue;
      rmSync(request);
      running.push(cycle(h).catch((e: unknown) => void failures.push(e)));
    }
  }, 100);
  return {
    cycles,
    async stop() {
      clearInterval(timer);
      await Promise.all(running);
      if (failures.length > 0) throw new Error(`power cycle failed: ${String(failures[0])}`, { cause: failures[0] });
    },
  };
}
