/**
 * Prepare step `mount-partition`: the large partition CloudLab leaves unused (e.g. /dev/sda4 on
 * c220g5; the root file system is ~15 GB) mounted on a data directory, for good (one /etc/fstab
 * line). Destructive only where nothing can be lost: it makes a file system only on a device
 * that has none, and refuses, before changing anything, when the device is mounted elsewhere,
 * holds files, or the mount point is taken or not empty (unless `force`).
 */
import type { Step, StepContext } from '@labrig/core';
import { CommandFailed } from '@labrig/core';
import type { PartitionConfig } from '../config.js';
import { PrepareRefused } from '../errors.js';
import { refusalOf, runScript, systemPath, type HostSystem } from '../host-system.js';
import { loginUserOf } from './login-user.js';

export const MOUNT_PARTITION = 'mount-partition';

/** Exit 0 when $1 is mounted on $3, /etc/fstab ($4) mounts something on $2 and $3 belongs to $5 (when set). */
const CHECK_SCRIPT = `dev=$1 mp=$2 target=$3 fstab=$4 owner=$5
findmnt -rn -o TARGET --source "$dev" 2>/dev/null | grep -qxF "$target" || exit 1
awk -v mp="$mp" '$1 !~ /^#/ && $2 == mp { found = 1 } END { exit !found }' "$fstab" 2>/dev/null || exit 1
[ -z "$owner" ] || [ "$(stat -c %U "$target")" = "$owner" ] || exit 1`;

/**
 * As root: $1 device, $2 mount point (as /etc/fstab names it), $3 the mount point on this host,
 * $4 fstab, $5 fs type to make, $6 mount options, $7 force (1/0), $8 owner ('' = leave it).
 * Every refusal (exit 3) comes before the first change; the only action before it is mounting an
 * existing file system to see whether it holds files (undone when it does). A whole disk (with
 * partitions or a partition table) and a device in use as swap, LVM, RAID or LUKS are refused
 * even with force: nothing there is "unused".
 */
const RUN_SCRIPT = `dev=$1 mp=$2 target=$3 fstab=$4 fstype=$5 opts=$6 force=$7 owner=$8
refuse() { echo "refused: $*" >&2; exit 3; }
fail() { echo "$*" >&2; exit 4; }
lsblk -dn -o TYPE "$dev" >/dev/null 2>&1 || fail "$dev is not a block device on this host (lsblk does not list it): set blockDevice to the unused partition lsblk shows"
parts=$(lsblk -nr -o NAME "$dev" 2>/dev/null | sed 1d | tr '\n' ' ')
[ -z "$parts" ] || refuse "$dev has partitions ($parts): set blockDevice to the large one with no mount point"
pt=$(blkid -p -s PTTYPE -o value "$dev" 2>/dev/null) || pt=
[ -z "$pt" ] || refuse "$dev holds a partition table ($pt): set blockDevice to a partition"
here=no others=
for w in $(findmnt -rn -o TARGET --source "$dev" 2>/dev/null); do
  if [ "$w" = "$target" ]; then here=yes; else others="$others $w"; fi
done
fs=$(blkid -p -s TYPE -o value "$dev" 2>/dev/null) || fs=
case $fs in swap|LVM2_member|crypto_LUKS|linux_raid_member|zfs_member|bcache) refuse "$dev is a $fs device, not a file system to mount" ;; esac
uuid=
[ -z "$fs" ] || uuid=$(blkid -p -s UUID -o value "$dev" 2>/dev/null) || uuid=
entry=$(awk -v mp="$mp" '$1 !~ /^#/ && $2 == mp { print $1; exit }' "$fstab" 2>/dev/null)
if [ -n "$entry" ] && [ "$entry" != "$dev" ] && { [ -z "$uuid" ] || [ "$entry" != "UUID=$uuid" ]; }; then
  refuse "$fstab already mounts $entry on $mp: remove that line or choose another mountPoint"
fi
if [ -n "$others" ] && [ "$force" != 1 ]; then
  refuse "$dev is mounted on$others (in use?): set force = true to unmount it and mount it on $mp"
fi
if [ "$here" = no ]; then
  taken=$(findmnt -rn -o SOURCE --mountpoint "$target" 2>/dev/null) || taken=
  [ -z "$taken" ] || refuse "$taken is already mounted on $mp: choose another mountPoint"
  if [ "$force" != 1 ] && [ -d "$target" ] && [ -n "$(ls -A "$target")" ]; then
    refuse "$mp is not empty (the mount would hide its files): empty it, choose another mountPoint, or set force = true"
  fi
fi
for w in $others; do umount "$w" || fail "umount $w failed"; echo "unmounted $dev from $w"; done
made=no
if [ -z "$fs" ]; then
  mkfs -t "$fstype" "$dev" >/dev/null || fail "mkfs -t $fstype $dev failed"
  fs=$fstype made=yes
  uuid=$(blkid -p -s UUID -o value "$dev" 2>/dev/null) || uuid=
  echo "made a $fstype file system on $dev"
fi
if [ "$here" = no ]; then
  mkdir -p "$target" || fail "cannot make $mp"
  mount -t "$fs" -o "$opts" "$dev" "$target" || fail "mount $dev on $mp failed"
  if [ "$made" = no ] && [ "$force" != 1 ]; then
    files=$(ls -A "$target" | grep -vx 'lost+found' | head -n 3 | tr '\\n' ' ')
    if [ -n "$files" ]; then
      umount "$target" || fail "umount $target failed"
      refuse "$dev holds a file system ($fs) with files ($files...): set force = true to mount it as it is (labrig never reformats a file system)"
    fi
  fi
  echo "mounted $dev on $mp"
fi
if [ -z "$entry" ]; then
  src=$dev
  [ -z "$uuid" ] || src="UUID=$uuid"
  if [ -s "$fstab" ] && [ -n "$(tail -c 1 "$fstab")" ]; then echo >> "$fstab"; fi
  printf '%s %s %s %s 0 2\\n' "$src" "$mp" "$fs" "$opts" >> "$fstab" || fail "cannot write $fstab"
  echo "added to /etc/fstab: $src $mp $fs $opts 0 2"
fi
if [ -n "$owner" ]; then chown "$owner:" "$target" || fail "chown $owner $mp failed"; fi`;

export interface PartitionOutput {
  device: string;
  mountPoint: string;
  /** What the run changed (none when the check found it done). */
  changes: string[];
}

/** Where the mount point and fstab are on the host. */
function placesOf(p: PartitionConfig, sys: HostSystem): { target: string; fstab: string } {
  return { target: systemPath(sys, p.mountPoint), fstab: systemPath(sys, '/etc/fstab') };
}

export function partitionStep(p: PartitionConfig, sys: HostSystem): Step<PartitionOutput> {
  const owner = async ({ remote, signal }: StepContext): Promise<string> => (p.chown ? loginUserOf(remote, signal) : '');
  return {
    name: MOUNT_PARTITION,
    title: `mount ${p.blockDevice} on ${p.mountPoint}`,
    async check(ctx) {
      const { target, fstab } = placesOf(p, sys);
      const r = await runScript(ctx.remote, sys, CHECK_SCRIPT, [p.blockDevice, p.mountPoint, target, fstab, await owner(ctx)], { signal: ctx.signal });
      return r.exitCode === 0 ? { done: true, output: { device: p.blockDevice, mountPoint: p.mountPoint, changes: [] } } : false;
    },
    async run(ctx) {
      const { target, fstab } = placesOf(p, sys);
      const args = [p.blockDevice, p.mountPoint, target, fstab, p.fsType, p.mountOptions, p.force ? '1' : '0', await owner(ctx)];
      const r = await runScript(ctx.remote, sys, RUN_SCRIPT, args, { asRoot: true, signal: ctx.signal });
      const refused = refusalOf(r);
      if (refused) {
        throw new PrepareRefused(ctx.host.name, MOUNT_PARTITION, refused, `Nothing was changed on ${ctx.host.name}. Check the device with lsblk there; set force = true in [prepare.partition] only when what it names may be unmounted or hidden.`);
      }
      if (r.exitCode !== 0) throw new CommandFailed(ctx.host.name, `${MOUNT_PARTITION} ${p.blockDevice} ${p.mountPoint}`, r);
      const changes = r.stdout.split('\n').filter((l) => l.trim() !== '');
      for (const line of changes) ctx.log(line);
      return { device: p.blockDevice, mountPoint: p.mountPoint, changes };
    },
  };
}
