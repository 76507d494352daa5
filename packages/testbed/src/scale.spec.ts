import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { down, status, up } from './index.js';

describe('scale', () => {
  it('64 hosts come up in well under a minute, all answering', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'labrig-tb64-'));
    try {
      const t0 = Date.now();
      const state = await up({ dir, hosts: 64, addressBase: '127.0.10.0', port: 2312 });
      const upMs = Date.now() - t0;
      const st = await status(dir);
      const t1 = Date.now();
      await down(dir);
      console.log(`up 64 hosts: ${upMs} ms, down: ${Date.now() - t1} ms`);
      expect(state.hosts).toHaveLength(64);
      expect(st.ok).toBe(true);
      expect(upMs).toBeLessThan(30_000);
    } finally {
      await down(dir);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
