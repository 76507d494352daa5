/** The local platform's targets as Nx runs them: up, hosts, exec (filters, failures), down. */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import type { ExecutorContext } from '@nx/devkit';
import { loadState, status } from '@labrig/testbed';
import downExecutor from './executors/down/executor.js';
import execExecutor from './executors/exec/executor.js';
import hostsExecutor from './executors/hosts/executor.js';
import upExecutor from './executors/up/executor.js';

let root: string;
let ctx: ExecutorContext;
const config = 'configs/platforms/local/platform.toml';

/** Run an executor and capture what it printed. */
async function capture(fn: () => Promise<{ success: boolean }>): Promise<{ success: boolean; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (out.push(String(chunk)), true));
  try {
    const r = await fn();
    return { success: r.success, out: out.join('\n'), err: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
    write.mockRestore();
  }
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'labrig-exec-'));
  chmodSync(root, 0o755);
  mkdirSync(join(root, 'configs/platforms/local'), { recursive: true });
  writeFileSync(
    join(root, config),
    ['platform = "@labrig/platform-local"', '[testbed]', 'hosts = 3', 'addressBase = "127.0.32.0"', 'port = 2332', '[roles]', 'leader = ["tb-0"]', '[run]', 'timeout = "20s"'].join('\n'),
  );
  ctx = { root } as ExecutorContext;
});

afterAll(async () => {
  await downExecutor({ config }, ctx);
  rmSync(root, { recursive: true, force: true });
});

it('up starts the hosts, hosts prints them, exec runs on the selected ones, down stops them', async () => {
  const up = await capture(() => upExecutor({ config }, ctx));
  expect(up.success).toBe(true);
  expect(up.out).toMatch(/testbed up: 3 hosts/);
  const state = await loadState(join(root, '.labrig/testbed'));

  const hosts = await capture(() => hostsExecutor({ config }, ctx));
  expect(hosts.out).toMatch(/tb-0\s+127\.0\.32\.1\s+2332\s+\S+\s+leader/);
  expect(hosts.out).toMatch(/tb-2\s+127\.0\.32\.3\s+2332\s+\S+\s+worker/);

  const ran = await capture(() => execExecutor({ config, cmd: 'echo "$(id -un) here"', hosts: 'tb-1,tb-2', output: 'plain' }, ctx));
  expect(ran.success).toBe(true);
  expect(ran.out).toContain(`[tb-1] ${state.hosts[1]!.user} here`);
  expect(ran.out).toContain(`[tb-2] ${state.hosts[2]!.user} here`);
  expect(ran.out).not.toContain('[tb-0]');

  // A command that fails on one host: that host's stderr is shown and the target fails.
  const failing = await capture(() =>
    execExecutor({ config, cmd: 'if [ "$(id -un)" = "' + state.hosts[0]!.user + '" ]; then echo oops >&2; exit 4; fi; echo fine', failurePolicy: 'continue', output: 'plain' }, ctx),
  );
  expect(failing.success).toBe(false);
  expect(failing.out).toContain('[tb-0] stderr: oops');
  expect(failing.out).toContain('[tb-1] fine');
  expect(failing.out).toMatch(/tb-0\s+FAILED \(exit 4\)/);

  // Bad options name the option.
  const badRoles = await capture(() => execExecutor({ config, cmd: 'true', roles: 'nosuchrole' }, ctx));
  expect(badRoles.success).toBe(false);
  expect(badRoles.err).toMatch(/--roles.*nosuchrole/);
  const badPolicy = await capture(() => execExecutor({ config, cmd: 'true', failurePolicy: 'sometimes' }, ctx));
  expect(badPolicy.err).toMatch(/failure-policy.*sometimes/);

  const down = await capture(() => downExecutor({ config }, ctx));
  expect(down.success).toBe(true);
  const st = await status(join(root, '.labrig/testbed')).catch(() => undefined);
  expect(st === undefined || st.hosts.every((h: { alive: boolean }) => !h.alive)).toBe(true);
  expect(existsSync(join(root, '.labrig/testbed/state.json'))).toBe(false);
});
