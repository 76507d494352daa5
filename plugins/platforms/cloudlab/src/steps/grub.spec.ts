/** GRUB_CMDLINE_LINUX_DEFAULT edits and the /proc/cmdline check. */
import { describe, expect, it } from 'vitest';
import { missingParams, setGrubParams, withParams } from './grub.js';

const GRUB = 'GRUB_DEFAULT=0\n#GRUB_CMDLINE_LINUX_DEFAULT="old"\nGRUB_CMDLINE_LINUX_DEFAULT="quiet splash isolcpus=1"\nGRUB_CMDLINE_LINUX=""\n';

describe('setGrubParams', () => {
  it('adds new parameters, replaces a key=value in place, leaves comments and other lines alone', () => {
    const e = setGrubParams(GRUB, ['mitigations=off', 'isolcpus=2-7']);
    expect(e.changed).toBe(true);
    expect(e.text).toBe('GRUB_DEFAULT=0\n#GRUB_CMDLINE_LINUX_DEFAULT="old"\nGRUB_CMDLINE_LINUX_DEFAULT="quiet splash isolcpus=2-7 mitigations=off"\nGRUB_CMDLINE_LINUX=""\n');
    expect(setGrubParams(e.text, ['mitigations=off', 'isolcpus=2-7'])).toMatchObject({ changed: false, text: e.text });
  });

  it('edits the last assignment (the one that counts), reads unquoted values, adds the line when missing', () => {
    expect(setGrubParams("GRUB_CMDLINE_LINUX_DEFAULT='a'\nGRUB_CMDLINE_LINUX_DEFAULT=quiet\n", ['nosmt']).text).toBe("GRUB_CMDLINE_LINUX_DEFAULT='a'\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet nosmt\"\n");
    expect(setGrubParams('GRUB_DEFAULT=0', ['nosmt']).text).toBe('GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT="nosmt"\n');
  });

  it('drops later duplicates of a replaced key', () => {
    expect(withParams(['a=1', 'b', 'a=2'], ['a=3'])).toEqual(['a=3', 'b']);
  });
});

describe('missingParams', () => {
  it('a key=value counts only with that value, as the last of its key', () => {
    const cmdline = 'BOOT_IMAGE=/boot/vmlinuz ro quiet isolcpus=1 mitigations=off isolcpus=2-7\n';
    expect(missingParams(cmdline, ['mitigations=off', 'isolcpus=2-7'])).toEqual([]);
    expect(missingParams(cmdline, ['isolcpus=1', 'nosmt'])).toEqual(['isolcpus=1', 'nosmt']);
  });
});
