/**
 * The foundation, end to end on real sshd hosts: engine + SSH pool + testbed.
 * 32 hosts on 127.0.30.x (its own range: other suites run their own testbeds).
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecResult, Host, Renderer, RunResult } from '@labrig/core';
import { formatSummary, parseFailurePolicy, readJournal, runSteps } from '@labrig/core';
import { SshPool } from '@labrig/ssh';
import { acceptedConnections, down, freeze, kill, restart, rotateHostKey, thaw, up, type TestbedState } from '@labrig/testbed';
import { hostsFromTestbed } from './inventory.js';

const N = 32;
const quiet: Renderer = { onEvent() {}, close() {} };
let root: string;
let state: TestbedState;
let hosts: Host[];

const pool = (opts: Partial<ConstructorParameters<typeof SshPool>[0]> = {}) =>
  new SshPool({ knownHostsFile: join(root, '.labrig', 'known_hosts'), sshConfigFile: false, ...opts });
const byHost = (r: RunResult, step: string) => new Map(r.results.filter((x) => x.step === step).map((x) => [x.host, x]));

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'labrig-fanout-'));
  chmodSync(root, 0o755); // testbed users must traverse it to reach their homes
  state = await up({ dir: join(root, '.labrig', 'testbed'), hosts: N, addressBase: '127.0.30.0', port: 2330 });
  hosts = hostsFromTestbed(state, { leader: ['tb-0'] });
});

afterAll(async () => {
  if (state) await down(state.dir);
  rmSync(root, { recursive: true, force: true });
});

describe('fan-out on 32 hosts', () => {
  it('reports each host output and exit code, and a second step opens no new connection', async () => {
    const before = await Promise.all(hosts.map((h) => acceptedConnections(state, h.name)));
    const p = pool({ maxHandshakes: 8 });
    let result: RunResult;
    try {
      result = await runSteps(
        [
          {
            name: 'identify',
            // Each host prints its own user and name and exits with its index mod 4.
            run: ({ remote, host }) =>
              remote.shell(`echo "$(id -un) ${host.name}"; exit $(( ${Number(host.name.slice(3))} % 4 ))`, { allowFailure: true }),
          },
          { name: 'again', run: ({ remote }) => remote.exec(['echo', 'second step']) },
        ],
        { root, hosts, connector: p, output: quiet, failurePolicy: parseFailurePolicy('continue') },
      );
    } finally {
      await p.close();
    }
    expect(result.ok).toBe(true);
    const first = byHost(result, 'identify');
    for (const [i, h] of state.hosts.entries()) {
      const out = first.get(h.name)?.output as ExecResult;
      expect(out.stdout).toBe(`${h.user} ${h.name}\n`);
      expect(out.exitCode).toBe(i % 4);
      expect((byHost(result, 'again').get(h.name)?.output as ExecResult).stdout).toBe('second step\n');
    }
    // One connection per host for both steps: sshd logged exactly one new accepted login each.
    const after = await Promise.all(hosts.map((h) => acceptedConnections(state, h.name)));
    expect(after.map((a, i) => a - before[i]!)).toEqual(hosts.map(() => 1));

    // The journal lists every step on every host; each host's log holds its output.
    const events = await readJournal(result.dir);
    for (const step of ['identify', 'again']) {
      const ended = events.filter((e) => e['type'] === 'host-end' && e['step'] === step);
      expect(new Set(ended.map((e) => e['host']))).toEqual(new Set(hosts.map((h) => h.name)));
    }
    for (const h of state.hosts) {
      expect(readFileSync(join(result.dir, 'logs', h.name, 'identify.log'), 'utf8')).toContain(`${h.user} ${h.name}`);
    }
  });

  it('a failing command fails exactly that host, with its exit code in the summary', async () => {
    const p = pool();
    try {
      const result = await runSteps(
        [{ name: 'probe', run: ({ remote, host }) => remote.shell(host.name === 'tb-5' ? 'echo broken >&2; exit 3' : 'true') }],
        { root, hosts, connector: p, output: quiet, failurePolicy: parseFailurePolicy('continue') },
      );
      expect(result.ok).toBe(false);
      const failed = result.results.filter((r) => r.status === 'failed');
      expect(failed.map((r) => [r.host, r.exitCode])).toEqual([['tb-5', 3]]);
      const summary = formatSummary(result);
      expect(summary).toMatch(/tb-5.*exit 3/);
      expect(summary).toContain('broken');
    } finally {
      await p.close();
    }
  });
});

describe('faults', () => {
  it('a frozen host fails with StepTimeout within the timeout while the others finish (continue)', async () => {
    const p = pool();
    try {
      await runSteps([{ name: 'warm', run: ({ remote }) => remote.exec(['true']) }], { root, hosts, connector: p, output: quiet });
      await freeze(state, 'tb-3');
      const timeoutMs = 2000;
      const started = Date.now();
      const result = await runSteps(
        [
          { name: 'work', run: ({ remote }) => remote.exec(['sh', '-c', 'sleep 0.2; echo done']) },
          { name: 'after', run: ({ remote }) => remote.exec(['true']) },
        ],
        { root, hosts, connector: p, output: quiet, timeoutMs, failurePolicy: parseFailurePolicy('continue') },
      );
      const elapsed = Date.now() - started;
      const work = byHost(result, 'work');
      expect(work.get('tb-3')?.status).toBe('failed');
      expect(work.get('tb-3')?.error?.code).toBe('TIMEOUT');
      expect(work.get('tb-3')!.durationMs).toBeGreaterThanOrEqual(timeoutMs - 50);
      expect(work.get('tb-3')!.durationMs).toBeLessThan(timeoutMs + 1500);
      expect(elapsed).toBeLessThan(timeoutMs + 5000);
      expect([...work.values()].filter((r) => r.status === 'ok').length).toBe(N - 1);
      // `continue`: the run completes; only tb-3 failed, and it is dropped from the later step.
      expect(byHost(result, 'after').get('tb-3')?.status).not.toBe('ok');
      expect([...byHost(result, 'after').values()].filter((r) => r.status === 'ok').length).toBe(N - 1);
      const failedRows = formatSummary(result).split('\n').filter((l) => /TIMEOUT/.test(l));
      expect(failedRows.length).toBeGreaterThanOrEqual(1);
      expect(failedRows.every((l) => l.includes('tb-3'))).toBe(true);
    } finally {
      await thaw(state, 'tb-3');
      await p.close();
    }
  });

  it('a killed host is retried with backoff, then reported HostUnreachable', async () => {
    await kill(state, 'tb-6');
    const p = pool();
    try {
      const result = await runSteps(
        [{ name: 'ping', retries: 2, run: ({ remote }) => remote.exec(['true']) }],
        {
          root, hosts: hosts.slice(0, 8), connector: p, output: quiet,
          failurePolicy: parseFailurePolicy('continue'), backoff: { baseMs: 300, maxMs: 5000, factor: 2, jitter: 0.2 },
        },
      );
      const r = byHost(result, 'ping').get('tb-6')!;
      expect(r.status).toBe('failed');
      expect(r.error?.code).toBe('UNREACHABLE');
      expect(r.attempts).toBe(3);
      const attempts = (await readJournal(result.dir)).filter((e) => e['type'] === 'attempt-start' && e['host'] === 'tb-6');
      const t = attempts.map((e) => new Date(e['time'] as string).getTime());
      expect(t.length).toBe(3);
      const gap1 = t[1]! - t[0]!;
      const gap2 = t[2]! - t[1]!;
      expect(gap1).toBeGreaterThanOrEqual(300 * 0.8);
      expect(gap2).toBeGreaterThan(gap1 * 1.2); // exponential
      expect([...byHost(result, 'ping').values()].filter((x) => x.status === 'ok').length).toBe(7);
    } finally {
      await restart(state, 'tb-6');
      await p.close();
    }
  });

  it('records new hosts in known_hosts and refuses a changed key with HostKeyMismatch', async () => {
    const khRoot = mkdtempSync(join(tmpdir(), 'labrig-kh-'));
    const kh = join(khRoot, 'known_hosts');
    const some = hosts.slice(8, 12);
    let p = new SshPool({ knownHostsFile: kh, sshConfigFile: false });
    try {
      const first = await runSteps([{ name: 'k', run: ({ remote }) => remote.exec(['true']) }], { root, hosts: some, connector: p, output: quiet });
      expect(first.ok).toBe(true);
      const lines = readFileSync(kh, 'utf8').trim().split('\n');
      expect(lines.length).toBe(4);
      for (const h of some) expect(lines.some((l) => l.startsWith(`[${h.address}]:${h.port} `))).toBe(true);
      await p.close();
      await rotateHostKey(state, 'tb-9');
      p = new SshPool({ knownHostsFile: kh, sshConfigFile: false });
      const second = await runSteps([{ name: 'k', retries: 2, run: ({ remote }) => remote.exec(['true']) }], {
        root, hosts: some, connector: p, output: quiet, failurePolicy: parseFailurePolicy('continue'),
      });
      const r = byHost(second, 'k').get('tb-9')!;
      expect(r.status).toBe('failed');
      expect(r.error?.code).toBe('HOST_KEY_MISMATCH');
      expect(r.error?.message).toContain('tb-9');
      expect(r.attempts).toBe(1); // never retried
      expect(`${r.error?.message} ${r.error?.hint}`).toContain(kh);
    } finally {
      await p.close();
      rmSync(khRoot, { recursive: true, force: true });
    }
  });
});
