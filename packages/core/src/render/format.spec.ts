/** The size and duration texts every command prints: their unit boundaries. */
import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration, formatLongDuration } from './format.js';

describe('text of sizes and durations', () => {
  it('formatBytes: B, KiB, MiB, GiB at their boundaries', () => {
    expect([0, 1023, 1024, 1536, 1024 ** 2 - 1, 1024 ** 2, 64 * 1024 ** 2, 1024 ** 3 - 1, 1024 ** 3, 1.25 * 1024 ** 3].map(formatBytes)).toEqual([
      '0 B',
      '1023 B',
      '1.0 KiB',
      '1.5 KiB',
      '1024.0 KiB',
      '1.0 MiB',
      '64.0 MiB',
      '1024.0 MiB',
      '1.00 GiB',
      '1.25 GiB',
    ]);
  });

  it('formatDuration: ms, s, then minutes and seconds', () => {
    expect([350, 1234, 42_400, 125_000].map(formatDuration)).toEqual(['350 ms', '1.2 s', '42 s', '2m05s']);
  });

  it('formatLongDuration: seconds, minutes, hours and minutes, days and hours', () => {
    expect([40_000, 45 * 60_000, 3 * 3600_000, 190 * 60_000, 47 * 3600_000, 52 * 3600_000, 72 * 3600_000].map(formatLongDuration)).toEqual(['40 s', '45 min', '3 h', '3 h 10 min', '47 h', '2 d 4 h', '3 d']);
  });
});
