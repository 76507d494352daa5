/**
 * The testbed of an ssh integration spec (test-only: not part of the build). `useTestbed` starts
 * sshd hosts in a fresh temp dir (mode 0755, so the host users can reach their files) before the
 * spec's tests (or the enclosing describe's), and after them closes the pools it made and tears
 * the testbed down. Each spec keeps its own address range: spec files run one at a time, but
 * their ranges never overlap all the same.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Host } from '@labrig/core';
import { down, toHost, up } from '@labrig/testbed';
import type { TestbedState, UpOptions } from '@labrig/testbed';
import { afterAll, beforeAll } from 'vitest';
import { SshPool } from '../pool.js';
import type { SshPoolOptions } from '../pool.js';

export interface SpecTestbed {
  readonly dir: string;
  readonly state: TestbedState;
  /** `state.hosts` as Hosts (no roles, no labels). */
  readonly hosts: Host[];
  /**
   * A new pool that uses nothing of this machine's ssh setup (no ssh config, agent or default
   * keys), with known_hosts `<dir>/known_hosts.labrig`; `opts` override. Closed at teardown.
   */
  pool(opts?: Partial<SshPoolOptions>): SshPool;
}

/** Start the testbed (`up` in a fresh temp dir named after `name`); `stop` closes its pools and removes it. */
export async function startTestbed(name: string, opts: Omit<UpOptions, 'dir'>): Promise<SpecTestbed & { stop(): Promise<void> }> {
  const dir = mkdtempSync(path.join(tmpdir(), `labrig-ssh-${name}-`));
  chmodSync(dir, 0o755);
  const pools: SshPool[] = [];
  const stop = async (): Promise<void> => {
    try {
      for (const p of pools.splice(0)) await p.close();
    } finally {
      await down(dir);
      rmSync(dir, { recursive: true, force: true });
    }
  };
  let state: TestbedState;
  try {
    state = await up({ dir, ...opts });
  } catch (e) {
    await stop().catch(() => undefined);
    throw e;
  }
  return {
    dir,
    state,
    hosts: state.hosts.map((h) => toHost(h)),
    pool(o = {}) {
      const p = new SshPool({
        knownHostsFile: path.join(dir, 'known_hosts.labrig'),
        sshConfigFile: false,
        agent: false,
        defaultIdentityFiles: [],
        ...o,
      });
      pools.push(p);
      return p;
    },
    stop,
  };
}

/**
 * startTestbed in a beforeAll, stop in an afterAll (hooks of the current describe, or of the file).
 * The returned object reads through to the testbed once that beforeAll ran.
 */
export function useTestbed(name: string, opts: Omit<UpOptions, 'dir'>): SpecTestbed {
  let tb: (SpecTestbed & { stop(): Promise<void> }) | undefined;
  beforeAll(async () => {
    tb = await startTestbed(name, opts);
  });
  afterAll(async () => {
    await tb?.stop();
    tb = undefined;
  });
  const live = (): SpecTestbed => {
    if (!tb) throw new Error(`the ${name} testbed is not up (used outside its describe, or before beforeAll?)`);
    return tb;
  };
  return {
    get dir() {
      return live().dir;
    },
    get state() {
      return live().state;
    },
    get hosts() {
      return live().hosts;
    },
    pool: (o) => live().pool(o),
  };
}
