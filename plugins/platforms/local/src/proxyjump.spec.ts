/** Hosts reached only through a testbed login host, from the local platform's inventory. */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ExecResult, Renderer } from '@labrig/core';
import { parseFailurePolicy, runSteps } from '@labrig/core';
import { SshPool } from '@labrig/ssh';
import { down, up, type TestbedState } from '@labrig/testbed';
import { hostsFromTestbed } from './inventory.js';

const quiet: Renderer = { onEvent() {}, close() {} };
let root: string;
let state: TestbedState;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'labrig-jump-'));
  chmodSync(root, 0o755); // testbed users must traverse it to reach their homes
  state = await up({ dir: join(root, 'tb'), hosts: 3, login: true, hostsBehindLogin: 2, addressBase: '127.0.31.0', port: 2331 });
});
afterAll(async () => {
  if (state) await down(state.dir);
  rmSync(root, { recursive: true, force: true });
});

it('runs on hosts behind the login host through ProxyJump, and they are not reachable directly', async () => {
  const hosts = hostsFromTestbed(state, {});
  const behind = hosts.filter((h) => h.jump);
  expect(behind.length).toBe(2);
  const pool = new SshPool({ knownHostsFile: join(root, 'known_hosts'), sshConfigFile: false, readyTimeoutMs: 3000 });
  try {
    const result = await runSteps([{ name: 'who', run: ({ remote }) => remote.exec(['id', '-un']) }], {
      root, hosts, connector: pool, output: quiet,
    });
    expect(result.ok).toBe(true);
    for (const h of hosts) {
      const out = result.results.find((r) => r.host === h.name)?.output as ExecResult;
      expect(out.stdout.trim()).toBe(h.user);
    }
    // The same hosts without their jump host cannot be reached.
    const direct = behind.map(({ jump: _jump, ...h }) => h);
    const failed = await runSteps([{ name: 'who', run: ({ remote }) => remote.exec(['true']) }], {
      root, hosts: direct, connector: pool, output: quiet, timeoutMs: 5000, failurePolicy: parseFailurePolicy('continue'),
    });
    expect(failed.results.map((r) => r.status)).toEqual(['failed', 'failed']);
  } finally {
    await pool.close();
  }
});
