/**
 * The pretend CloudLab node inside a testbed host's home (~/.labrig-fixtures/, see
 * stand-ins/README.md): the stand-in tools on PATH, a fixture system root, and what the specs
 * read back (the calls the stand-ins logged, the files the steps wrote).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import type { TestbedHost } from '@labrig/testbed';
import type { HostSystem } from '../host-system.js';

export const FIXTURES_DIR = '.labrig-fixtures';
const STAND_INS = join(import.meta.dirname, 'stand-ins');

/** Copy the stand-in tools into `<dir>/bin` (readable and executable by every testbed user); returns it. */
export function installStandIns(dir: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true, mode: 0o755 });
  chmodSync(bin, 0o755);
  for (const name of readdirSync(STAND_INS).filter((f) => f !== 'README.md')) {
    copyFileSync(join(STAND_INS, name), join(bin, name));
    chmodSync(join(bin, name), 0o755);
  }
  return bin;
}

/** The host system the prepare steps see on a fixture host: the fixture root, the stand-ins first on PATH. */
export function fixtureSystem(bin: string): HostSystem {
  return { root: `${FIXTURES_DIR}/root`, asRoot: ['sudo', '-n'], env: { PATH: `${bin}:/usr/local/bin:/usr/bin:/bin` } };
}

/** An absolute path inside a host's fixture dir. */
export function fixturePath(h: TestbedHost, rel: string): string {
  return join(h.home, FIXTURES_DIR, rel);
}

export interface FixtureSeed {
  /** The unused partition /dev/sda4: no file system when `fstype` is unset. */
  device?: { fstype?: string; files?: Record<string, string> };
  /** What `ip -o -4 addr show` prints. */
  ipAddr: string;
  /** CPUs of NUMA node 1 (node 0 gets 0-1). */
  node1Cpus?: [number, number];
}

/** Write a file in the host's fixture dir (directories made as needed). */
export function writeFixture(h: TestbedHost, rel: string, text: string): void {
  const path = fixturePath(h, rel);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

/** Give the fixture dir to the host's user (the specs write it as another user). */
export function chownFixtures(h: TestbedHost): void {
  const { uid, gid } = statSync(h.home);
  execFileSync('chown', ['-R', `${uid}:${gid}`, join(h.home, FIXTURES_DIR)]);
}

const GRUB = `# If you change this file, run 'update-grub' afterwards to update
# /boot/grub/grub.cfg.
GRUB_DEFAULT=0
GRUB_TIMEOUT_STYLE=hidden
GRUB_TIMEOUT=0
GRUB_DISTRIBUTOR=\`lsb_release -i -s 2> /dev/null || echo Debian\`
GRUB_CMDLINE_LINUX_DEFAULT="quiet splash"
GRUB_CMDLINE_LINUX="console=ttyS0,115200"
`;

const FSTAB = `# /etc/fstab: static file system information.
UUID=6a1f1c2e-0b7d-4e55-9f3b-2f0c2d1e4a10 / ext4 errors=remount-ro 0 1
/dev/sda3 none swap sw 0 0
`;

/** A fresh pretend node: devices, mount table, system files, CPUs (all online), interfaces. */
export function seedFixtureHost(h: TestbedHost, seed: FixtureSeed): void {
  execFileSync('rm', ['-rf', join(h.home, FIXTURES_DIR)]);
  const dev = seed.device ?? {};
  writeFixture(h, 'calls.log', '');
  writeFixture(h, 'state/mounts', '');
  writeFixture(h, 'state/ip-addr', seed.ipAddr);
  mkdirSync(fixturePath(h, 'state/dev/sda4'), { recursive: true });
  if (dev.fstype) {
    writeFixture(h, 'state/dev/sda4/fstype', `${dev.fstype}\n`);
    writeFixture(h, 'state/dev/sda4/uuid', `${randomUUID()}\n`);
    mkdirSync(fixturePath(h, 'state/dev/sda4/files/lost+found'), { recursive: true });
    for (const [name, text] of Object.entries(dev.files ?? {})) writeFixture(h, `state/dev/sda4/files/${name}`, text);
  }
  writeFixture(h, 'root/etc/fstab', FSTAB);
  writeFixture(h, 'root/etc/default/grub', GRUB);
  writeFixture(h, 'root/proc/cmdline', 'BOOT_IMAGE=/boot/vmlinuz-6.8.0-49-generic root=UUID=6a1f1c2e-0b7d-4e55-9f3b-2f0c2d1e4a10 ro console=ttyS0,115200 quiet splash\n');
  writeFixture(h, 'root/proc/sys/kernel/random/boot_id', `${randomUUID()}\n`);
  const [a, b] = seed.node1Cpus ?? [2, 3];
  writeFixture(h, 'root/sys/devices/system/node/node0/cpulist', `0-${a - 1}\n`);
  writeFixture(h, 'root/sys/devices/system/node/node1/cpulist', `${a}-${b}\n`);
  for (let c = 0; c <= b; c++) {
    // cpu0 has no online switch, as on x86.
    if (c === 0) mkdirSync(fixturePath(h, 'root/sys/devices/system/cpu/cpu0'), { recursive: true });
    else writeFixture(h, `root/sys/devices/system/cpu/cpu${c}/online`, '1\n');
  }
  chownFixtures(h);
}

/** The stand-in calls logged on the host, one `tool args` per entry. */
export function readCalls(h: TestbedHost): string[] {
  const path = fixturePath(h, 'calls.log');
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];
}

export function readFixture(h: TestbedHost, rel: string): string {
  return readFileSync(fixturePath(h, rel), 'utf8');
}
