import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Connector, Host, Remote, Step } from '../contracts.js';
import { HostUnreachable } from '../errors.js';
import type { AttemptStartEvent, HostStepResult, RunEvent, RunResult } from '../events.js';
import { readJournal } from '../journal/journal.js';
import { LocalConnector } from '../local/connector.js';
import { createJsonRenderer } from '../render/json.js';
import { createMemoryRenderer } from '../render/renderer.js';
import { formatSummary } from '../render/summary.js';
import { computeBackoffMs, normalizeBackoff } from './backoff.js';
import { runSteps, type RunOptions } from './run-steps.js';

function makeHosts(n: number, roles: (i: number) => string[] = () => ['worker']): Host[] {
  return Array.from({ length: n }, (_, i) => ({ name: `tb-${i}`, address: '127.0.0.1', roles: roles(i), labels: {} }));
}

function setup(n = 4, roles?: (i: number) => string[]) {
  const root = mkdtempSync(path.join(tmpdir(), 'labrig-engine-'));
  const hosts = makeHosts(n, roles);
  const connector = new LocalConnector({ homeFor: (h) => path.join(root, 'hosts', h.name) });
  const renderer = createMemoryRenderer();
  const base: RunOptions = { root, hosts, connector, output: renderer, backoff: { baseMs: 10, maxMs: 50 } };
  return { root, hosts, connector, renderer, base };
}

function result(r: RunResult, host: string, step: string): HostStepResult {
  const x = r.results.find((y) => y.host === host && y.step === step);
  if (!x) throw new Error(`no result for ${host} ${step}`);
  return x;
}

const statuses = (r: RunResult, step: string) =>
  Object.fromEntries(r.results.filter((x) => x.step === step).map((x) => [x.host, x.status]));

describe('runSteps', () => {
  it('an unreachable host is given to the platform to bring back once per run; back, the attempt runs again', async () => {
    const { base } = setup(3);
    let down = new Set(['tb-1', 'tb-2']);
    const asked: string[] = [];
    const step = (name: string): Step => ({
      name,
      run: async ({ host }) => {
        if (down.has(host.name)) throw new HostUnreachable(host.name, host.address, 'connection refused');
      },
    });
    const r = await runSteps([step('a'), step('b')], {
      ...base,
      failurePolicy: 'continue',
      recoverHost: async (h, why) => {
        asked.push(`${h.name}: ${why}`);
        if (h.name === 'tb-1') down = new Set([...down].filter((x) => x !== 'tb-1'));
        return h.name === 'tb-1' ? { ok: true, action: 'rebooted', detail: 'back after 1 s' } : { ok: false, action: 'rebooted', detail: 'still down' };
      },
    });
    expect(statuses(r, 'a')).toEqual({ 'tb-0': 'ok', 'tb-1': 'ok', 'tb-2': 'failed' });
    expect(result(r, 'tb-1', 'a').attempts).toBe(2);
    expect(asked).toEqual(['tb-1: tb-1 (127.0.0.1) is unreachable: connection refused', 'tb-2: tb-2 (127.0.0.1) is unreachable: connection refused']);
    const journal = await readJournal<RunEvent>(r.dir);
    expect(journal.filter((e) => e.type === 'host-recover').map((e) => e.type === 'host-recover' && `${e.host} ${e.ok} ${e.detail}`)).toEqual(['tb-1 true back after 1 s', 'tb-2 false still down']);
    // Down again in a later step of the same run: not asked again.
    down = new Set(['tb-1']);
    const again = await runSteps([step('c'), step('d')], {
      ...base,
      failurePolicy: 'continue',
      recoverHost: async (h) => (asked.push(h.name), { ok: false, action: 'rebooted' }),
    });
    expect(asked.slice(2)).toEqual(['tb-1']);
    expect(statuses(again, 'c')['tb-1']).toBe('failed');
    // A platform not set to recover: nothing journaled.
    const none = await runSteps([step('e')], { ...base, failurePolicy: 'continue', recoverHost: async () => undefined });
    expect((await readJournal<RunEvent>(none.dir)).some((e) => e.type === 'host-recover')).toBe(false);
  });

  it('respects bounded concurrency', async () => {
    const { base } = setup(12);
    let inFlight = 0;
    let max = 0;
    const step: Step = {
      name: 'work',
      concurrency: 3,
      run: async ({ remote }) => {
        inFlight++;
        max = Math.max(max, inFlight);
        await remote.exec(['sleep', '0.05']);
        inFlight--;
      },
    };
    const r = await runSteps([step, { ...step, name: 'work2', concurrency: undefined }], { ...base, concurrency: 5 });
    expect(r.ok).toBe(true);
    expect(max).toBe(5); // second step used the engine's 5; first step capped at 3 (checked below)
    max = 0;
    await runSteps([step], { ...base, concurrency: 5 });
    expect(max).toBe(3);
  });

  it('outputs flow to later steps; check skips and keeps its output', async () => {
    const { base } = setup(3, (i) => (i === 0 ? ['leader'] : ['worker']));
    const steps: Step[] = [
      {
        name: 'token',
        hosts: ['leader'],
        run: async ({ remote }) => (await remote.exec(['echo', 'join-123'])).stdout.trim(),
      },
      {
        name: 'join',
        hosts: ['worker'],
        check: async ({ host }) => (host.name === 'tb-2' ? { done: true, output: 'was joined' } : false),
        run: async ({ remote, outputs }) => {
          const token = outputs['token']?.['tb-0'] as string;
          return (await remote.exec(['echo', `joined with ${token}`])).stdout.trim();
        },
      },
    ];
    const r = await runSteps(steps, base);
    expect(r.ok).toBe(true);
    expect(r.outputs['token']).toEqual({ 'tb-0': 'join-123' });
    expect(r.outputs['join']).toEqual({ 'tb-1': 'joined with join-123', 'tb-2': 'was joined' });
    expect(result(r, 'tb-2', 'join').status).toBe('skipped');
    expect(r.results.filter((x) => x.step === 'token').map((x) => x.host)).toEqual(['tb-0']);
  });

  it('retries retryable errors with growing, bounded backoff; CommandFailed is not retried', async () => {
    const { base, renderer } = setup(1);
    const attemptsAt: number[] = [];
    const flaky: Step = {
      name: 'flaky',
      retries: 4,
      run: async ({ attempt, host }) => {
        attemptsAt.push(performance.now());
        if (attempt < 5) throw new HostUnreachable(host.name, host.address, 'connection refused');
        return 'finally';
      },
    };
    const backoff = { baseMs: 40, maxMs: 1000, factor: 2, jitter: 0.5 };
    const r = await runSteps([flaky], { ...base, backoff });
    expect(r.ok).toBe(true);
    expect(result(r, 'tb-0', 'flaky').attempts).toBe(5);
    const gaps = attemptsAt.slice(1).map((t, i) => t - attemptsAt[i]!);
    gaps.forEach((g, i) => {
      const d = 40 * 2 ** i;
      expect(g).toBeGreaterThanOrEqual(d * 0.5 - 2);
      expect(g).toBeLessThan(d + 60);
    });
    expect(gaps[3]!).toBeGreaterThan(gaps[0]!); // they grow
    const retryEvents = renderer.events.filter((e) => e.type === 'attempt-end' && e.retryInMs !== undefined);
    expect(retryEvents).toHaveLength(4);

    let calls = 0;
    const failing: Step = {
      name: 'cmd',
      retries: 3,
      run: async ({ remote }) => {
        calls++;
        await remote.exec(['sh', '-c', 'exit 7']);
      },
    };
    const r2 = await runSteps([failing], base);
    expect(calls).toBe(1);
    expect(result(r2, 'tb-0', 'cmd')).toMatchObject({ status: 'failed', exitCode: 7, attempts: 1 });
    calls = 0;
    await runSteps([{ ...failing, retryOn: 'any' }], base);
    expect(calls).toBe(4);
  });

  it('backoff delays are capped and jittered within bounds', () => {
    const b = normalizeBackoff({ baseMs: 500, maxMs: 10_000 });
    expect(computeBackoffMs(1, b, () => 0)).toBe(500);
    expect(computeBackoffMs(1, b, () => 1)).toBe(250);
    expect(computeBackoffMs(3, b, () => 0)).toBe(2000);
    expect(computeBackoffMs(10, b, () => 0)).toBe(10_000);
    for (let i = 0; i < 100; i++) {
      const d = computeBackoffMs(2, b);
      expect(d).toBeGreaterThanOrEqual(500);
      expect(d).toBeLessThanOrEqual(1000);
    }
  });

  it('a hanging host fails with StepTimeout on time while the others finish', async () => {
    const { base } = setup(4);
    const step: Step = {
      name: 'maybe-hang',
      timeoutMs: 400,
      run: async ({ remote, host }) => {
        // tb-2 hangs in a command that ignores TERM for a while (like a frozen host).
        if (host.name === 'tb-2') await remote.exec(['sh', '-c', 'trap "" TERM; sleep 5']);
        else await remote.exec(['sleep', '0.1']);
      },
    };
    const t0 = performance.now();
    const r = await runSteps([step], { ...base, failurePolicy: 'continue', abortGraceMs: 100 });
    const elapsed = performance.now() - t0;
    const hung = result(r, 'tb-2', 'maybe-hang');
    expect(hung.status).toBe('failed');
    expect(hung.error?.code).toBe('TIMEOUT');
    expect(hung.durationMs).toBeGreaterThanOrEqual(400);
    expect(hung.durationMs).toBeLessThan(400 + 250);
    expect(elapsed).toBeLessThan(2000);
    for (const h of ['tb-0', 'tb-1', 'tb-3']) expect(result(r, h, 'maybe-hang').status).toBe('ok');
  });

  it('fail-fast aborts in-flight hosts and runs no later step', async () => {
    const { base } = setup(4);
    const steps: Step[] = [
      {
        name: 'one',
        run: async ({ remote, host }) => {
          if (host.name === 'tb-1') await remote.exec(['sh', '-c', 'echo broken >&2; exit 7']);
          else await remote.exec(['sleep', '5']);
        },
      },
      { name: 'two', run: async () => 'never' },
    ];
    const t0 = performance.now();
    const r = await runSteps(steps, base);
    expect(performance.now() - t0).toBeLessThan(4000);
    expect(r.ok).toBe(false);
    expect(r.stopped).toMatch(/fail-fast: tb-1 failed step one/);
    expect(statuses(r, 'one')).toEqual({ 'tb-0': 'aborted', 'tb-1': 'failed', 'tb-2': 'aborted', 'tb-3': 'aborted' });
    expect(Object.values(statuses(r, 'two'))).toEqual(['not-run', 'not-run', 'not-run', 'not-run']);
    expect(result(r, 'tb-1', 'one').stderrTail).toBe('broken');
  });

  it('continue drops failed hosts and completes; the summary shows exactly the failed host', async () => {
    const { base } = setup(5);
    const steps: Step[] = [
      {
        name: 'setup',
        run: async ({ remote, host }) => {
          await remote.exec(['sh', '-c', host.name === 'tb-3' ? 'echo "E: no such package" >&2; exit 7' : 'true']);
        },
      },
      { name: 'deploy', run: async ({ remote }) => void (await remote.exec(['true'])) },
    ];
    const r = await runSteps(steps, { ...base, failurePolicy: 'continue' });
    expect(r.ok).toBe(false);
    expect(r.stopped).toBeUndefined();
    expect(statuses(r, 'deploy')).toEqual({ 'tb-0': 'ok', 'tb-1': 'ok', 'tb-2': 'ok', 'tb-3': 'not-run', 'tb-4': 'ok' });
    const s = formatSummary(r);
    const failedRows = s.split('\n').filter((l) => l.includes('FAILED (exit 7)'));
    expect(failedRows).toHaveLength(2); // its table row and its failure entry
    expect(failedRows[0]).toMatch(/^tb-3\s+FAILED \(exit 7\)\s+-$/);
    expect(s).toContain('tb-3 · setup: FAILED (exit 7)');
    expect(s).toContain('| E: no such package');
    expect(s).not.toMatch(/tb-[0124].*FAILED/);
  });

  it('max-fail=N% continues until more than N% of hosts failed', async () => {
    const failOn = (bad: Set<string>): Step[] => [
      {
        name: 's1',
        concurrency: 1,
        run: async ({ remote, host }) => void (await remote.exec(['sh', '-c', bad.has(host.name) ? 'exit 1' : 'true'])),
      },
      { name: 's2', run: async () => 'ok' },
    ];
    const { base } = setup(10);
    // 2 of 10 = 20% is not more than 20%: the run goes on.
    const r1 = await runSteps(failOn(new Set(['tb-1', 'tb-4'])), { ...base, failurePolicy: 'max-fail=20%' });
    expect(r1.stopped).toBeUndefined();
    expect(r1.counts.failed).toBe(2);
    expect(Object.values(statuses(r1, 's2')).filter((s) => s === 'ok')).toHaveLength(8);
    // 3 of 10 = 30% > 20%: stops after the third failure; the rest of s1 and all of s2 do not run.
    const r2 = await runSteps(failOn(new Set(['tb-1', 'tb-4', 'tb-5'])), { ...base, failurePolicy: 'max-fail=20%' });
    expect(r2.stopped).toMatch(/max-fail=20%: 3 of 10 hosts failed/);
    expect(statuses(r2, 's1')['tb-6']).toBe('not-run');
    expect(Object.values(statuses(r2, 's2')).every((s) => s === 'not-run')).toBe(true);
  });

  it('an outer signal aborts everything and the journal records it', async () => {
    const { base } = setup(3);
    const ctl = new AbortController();
    const steps: Step[] = [
      { name: 'long', run: async ({ remote }) => void (await remote.exec(['sleep', '10'])) },
      { name: 'after', run: async () => 'x' },
    ];
    setTimeout(() => ctl.abort(), 200);
    const t0 = performance.now();
    const r = await runSteps(steps, { ...base, signal: ctl.signal });
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(r.stopped).toBe('interrupted');
    expect(Object.values(statuses(r, 'long'))).toEqual(['aborted', 'aborted', 'aborted']);
    expect(Object.values(statuses(r, 'after'))).toEqual(['not-run', 'not-run', 'not-run']);
    const j = await readJournal<RunEvent>(r.dir);
    const end = j[j.length - 1]!;
    expect(end.type).toBe('run-end');
    expect(end.type === 'run-end' && end.stopped).toBe('interrupted');
  });

  it('connect errors count as the failure of the step on that host', async () => {
    const { base, connector } = setup(3);
    const flakyConnector: Connector = {
      connect: async (host: Host, signal?: AbortSignal): Promise<Remote> => {
        if (host.name === 'tb-1') throw new HostUnreachable(host.name, host.address, 'no route to host');
        return connector.connect(host, signal);
      },
      close: async () => undefined,
    };
    const r = await runSteps([{ name: 'ping', retries: 1, run: async ({ remote }) => void (await remote.exec(['true'])) }], {
      ...base,
      connector: flakyConnector,
      failurePolicy: 'continue',
    });
    expect(result(r, 'tb-1', 'ping')).toMatchObject({ status: 'failed', attempts: 2, error: { code: 'UNREACHABLE' } });
    expect(formatSummary(r)).toMatch(/tb-1\s+UNREACHABLE/);
  });

  it('journals every step on every host and logs hold the outputs', async () => {
    const { base } = setup(3);
    const steps: Step[] = [
      { name: 'a', run: async ({ remote, host }) => void (await remote.exec(['echo', `hello from ${host.name}`])) },
      {
        name: 'b',
        run: async ({ remote, log }) => {
          log('checking things');
          await remote.exec(['sh', '-c', 'echo to-stderr >&2']);
        },
      },
      { name: 'c', local: true, run: async ({ remote }) => (await remote.exec(['pwd'])).stdout.trim() },
    ];
    const r = await runSteps(steps, base);
    expect(r.ok).toBe(true);
    expect(r.outputs['c']?.['local']).toBe(base.root);
    const j = await readJournal<RunEvent>(r.dir);
    const types = j.map((e) => e.type);
    expect(types[0]).toBe('run-start');
    expect(types[types.length - 1]).toBe('run-end');
    const ends = j.filter((e) => e.type === 'host-end').map((e) => (e.type === 'host-end' ? `${e.host}/${e.step}` : ''));
    expect(ends.sort()).toEqual(['local/c', 'tb-0/a', 'tb-0/b', 'tb-1/a', 'tb-1/b', 'tb-2/a', 'tb-2/b']);
    expect(j.filter((e) => e.type === 'attempt-start')).toHaveLength(7);
    expect(j.filter((e) => e.type === 'step-start').map((e) => (e as { step: string }).step)).toEqual(['a', 'b', 'c']);
    expect(readdirSync(path.join(r.dir, 'logs')).sort()).toEqual(['local', 'tb-0', 'tb-1', 'tb-2']);
    const logA = readFileSync(path.join(r.dir, 'logs', 'tb-1', 'a.log'), 'utf8');
    expect(logA).toContain("$ exec echo 'hello from tb-1'"); // the exact command line the host ran
    expect(logA).toContain('hello from tb-1\n');
    expect(logA).toContain('# exit 0');
    const logB = readFileSync(path.join(r.dir, 'logs', 'tb-0', 'b.log'), 'utf8');
    expect(logB).toContain('checking things');
    expect(logB).toContain('to-stderr');
    expect(readFileSync(path.join(base.root, '.labrig', 'runs', 'latest', 'journal.jsonl'), 'utf8')).toContain(r.id);
  });

  it('redacts secrets in logs, journal and JSON output, even split across chunks', async () => {
    const { base } = setup(2);
    const secret = 'tok-9f8e7d6c5b4a';
    let json = '';
    const stdout = { write: (s: string) => ((json += s), true) } as unknown as NodeJS.WritableStream;
    const steps: Step[] = [
      {
        name: 'leak',
        run: async ({ remote, log }) => {
          log(`using ${secret}`);
          // The secret is printed in two writes with a pause between: two chunks on the pipe.
          // (\067 is "7": the script text itself does not contain the second half.)
          await remote.exec(['sh', '-c', 'printf "key=%s" tok-9f8e; sleep 0.1; printf "\\067d6c5b4a done\\n"; echo "$S" >&2; exit 3'], {
            env: { S: secret },
          });
        },
      },
    ];
    const r = await runSteps(steps, {
      ...base,
      output: createJsonRenderer(stdout),
      secrets: [secret],
      failurePolicy: 'continue',
    });
    expect(r.results[0]?.status).toBe('failed');
    const log = readFileSync(path.join(r.dir, 'logs', 'tb-0', 'leak.log'), 'utf8');
    const journal = readFileSync(path.join(r.dir, 'journal.jsonl'), 'utf8');
    for (const text of [log, journal, json, JSON.stringify(r.results)]) {
      expect(text).not.toContain(secret);
    }
    expect(log).not.toContain('key=tok-9f8e'); // the first half was not let through before the second arrived
    expect(log).toMatch(/key=\*\*\*(\*\*\*)? done/); // stderr's *** may land in between
    expect(log).toContain('using ***');
    expect(log).toContain('env S=*** sh -c');
    expect(json.trim().split('\n').map((l) => (JSON.parse(l) as RunEvent).type)).toContain('run-end');
    expect(journal).toContain('***');
  });

  it('emits attempt numbers per host in order', async () => {
    const { base, renderer } = setup(2);
    await runSteps([{ name: 'x', run: async () => undefined }], base);
    const starts = renderer.events.filter((e): e is AttemptStartEvent => e.type === 'attempt-start');
    expect(starts.map((e) => `${e.host}:${e.attempt}`).sort()).toEqual(['tb-0:1', 'tb-1:1']);
  });

  it('rejects duplicate step names and bad options before doing anything', async () => {
    const { base } = setup(1);
    await expect(runSteps([{ name: 'a', run: async () => 1 }, { name: 'a', run: async () => 2 }], base)).rejects.toThrow(/unique/);
    await expect(runSteps([], { ...base, failurePolicy: 'sometimes' })).rejects.toThrow(/--failure-policy/);
    await expect(runSteps([], { ...base, concurrency: 0 })).rejects.toThrow(/--concurrency/);
  });
});

