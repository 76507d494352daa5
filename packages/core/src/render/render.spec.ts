import { describe, expect, it } from 'vitest';
import type { HostStepResult, RunEvent } from '../events.js';
import { countStatuses, isJournaled } from '../events.js';
import { createJsonRenderer } from './json.js';
import { createPlainRenderer, formatPlainEvent } from './plain.js';
import { compressHostNames, formatSummary, type SummaryInput } from './summary.js';
import { createTtyRenderer } from './tty.js';

const time = '2026-11-22T15:30:12.000Z';

function sink() {
  let text = '';
  const stream = { write: (s: string) => ((text += s), true) } as unknown as NodeJS.WritableStream;
  return { stream, text: () => text };
}

function summaryInput(results: HostStepResult[], steps: string[], hosts: string[]): SummaryInput {
  return { id: '20261122-153012-ab12', ok: !results.some((r) => r.status === 'failed'), durationMs: 12_345, steps, hosts, results, counts: countStatuses(results) };
}

const fail7: HostStepResult = {
  host: 'tb-3',
  step: 'setup',
  status: 'failed',
  attempts: 1,
  durationMs: 800,
  exitCode: 7,
  error: { name: 'CommandFailed', code: 'COMMAND_FAILED', message: 'on tb-3: `apt-get install foo` exited with 7', hint: 'See the log.' },
  stderrTail: 'line 1\nline 2\nline 3\nE: Unable to locate package foo',
};

describe('formatSummary', () => {
  it('aligns a host × step table, shows failures with the last 3 stderr lines and the hint, and totals', () => {
    const r = (host: string, step: string, status: HostStepResult['status'], extra: Partial<HostStepResult> = {}): HostStepResult => ({
      host, step, status, attempts: status === 'not-run' ? 0 : 1, durationMs: 100, ...extra,
    });
    const results = [
      r('tb-0', 'build', 'ok'), r('tb-0', 'setup', 'ok'), r('tb-0', 'deploy', 'ok'),
      r('tb-1', 'build', 'ok'), r('tb-1', 'setup', 'skipped'), r('tb-1', 'deploy', 'ok'),
      r('tb-3', 'build', 'ok'), fail7, r('tb-3', 'deploy', 'not-run'),
      r('longer-host-name', 'build', 'ok'),
      r('longer-host-name', 'setup', 'failed', { error: { name: 'StepTimeout', code: 'TIMEOUT', message: 'x', hint: 'raise it' } }),
      r('longer-host-name', 'deploy', 'not-run'),
    ];
    const s = formatSummary(summaryInput(results, ['build', 'setup', 'deploy'], ['tb-0', 'tb-1', 'tb-3', 'longer-host-name']));
    const lines = s.split('\n');
    expect(lines.slice(0, 5)).toEqual([
      'host              build  setup            deploy',
      'tb-0              ok     ok               ok',
      'tb-1              ok     skipped          ok',
      'tb-3              ok     FAILED (exit 7)  -',
      'longer-host-name  ok     TIMEOUT          -',
    ]);
    expect(s).toContain('  tb-3 · setup: FAILED (exit 7)\n    on tb-3: `apt-get install foo` exited with 7\n    | line 2\n    | line 3\n    | E: Unable to locate package foo\n    hint: See the log.');
    expect(s).not.toContain('| line 1');
    expect(s).toContain('4 hosts × 3 steps: 7 ok, 1 skipped, 2 failed, 0 aborted, 2 not run in 12 s — run 20261122-153012-ab12 FAILED');
    expect(s).not.toContain('\x1b[');
    expect(formatSummary(summaryInput(results, ['build', 'setup', 'deploy'], ['tb-0']), { color: true })).toContain('\x1b[');
  });

  it('keeps 64 hosts × 10 steps readable: identical rows merged, failures listed', () => {
    const steps = Array.from({ length: 10 }, (_, i) => `step-${i}`);
    const hosts = Array.from({ length: 64 }, (_, i) => `tb-${i}`);
    const results: HostStepResult[] = [];
    for (const h of hosts) {
      for (const s of steps) {
        if (h === 'tb-17' && s === 'step-4') results.push({ ...fail7, host: h, step: s });
        else if (h === 'tb-17' && s > 'step-4') results.push({ host: h, step: s, status: 'not-run', attempts: 0, durationMs: 0 });
        else results.push({ host: h, step: s, status: 'ok', attempts: 1, durationMs: 10 });
      }
    }
    const s = formatSummary(summaryInput(results, steps, hosts));
    const table = s.split('\n\n')[0]!.split('\n');
    expect(table).toHaveLength(3);
    expect(table[1]).toMatch(/^tb-\[0-16,18-63\] \(63\)\s+ok\s+ok/);
    expect(table[2]).toMatch(/^tb-17\s+ok\s+ok\s+ok\s+ok\s+FAILED \(exit 7\)\s+-/);
    // Columns line up: every status starts at the header's column.
    const col = table[0]!.indexOf('step-4');
    expect(table[2]!.indexOf('FAILED')).toBe(col);
    expect(table[1]!.slice(col, col + 2)).toBe('ok');
    expect(s).toContain('64 hosts × 10 steps: 634 ok');
  });

  it('compresses host names', () => {
    expect(compressHostNames(['tb-0', 'tb-1', 'tb-2', 'tb-7', 'db'])).toBe('db, tb-[0-2,7]');
  });
});

describe('renderers', () => {
  it('plain: one prefixed line per host result', () => {
    expect(formatPlainEvent({ type: 'host-end', time, step: 'setup', host: 'tb-3', status: 'ok', attempts: 1, durationMs: 1234 })).toBe('[tb-3] setup: ok (1.2 s)');
    expect(
      formatPlainEvent({ type: 'host-end', time, step: 'setup', host: 'tb-3', status: 'failed', attempts: 1, durationMs: 10, exitCode: 7, error: fail7.error!, stderrTail: fail7.stderrTail! }),
    ).toBe('[tb-3] setup: FAILED exit 7: E: Unable to locate package foo');
    expect(
      formatPlainEvent({ type: 'attempt-end', time, step: 's', host: 'h', attempt: 1, status: 'failed', durationMs: 5, retryInMs: 500, error: { name: 'HostUnreachable', code: 'UNREACHABLE', message: 'h is unreachable', hint: '' } }),
    ).toBe('[h] s: attempt 1 failed (UNREACHABLE: h is unreachable); retrying in 500 ms');
  });

  const events: RunEvent[] = [
    { type: 'run-start', time, runId: 'r1', dir: '/x/.labrig/runs/r1', hosts: ['tb-0', 'tb-1'], steps: [{ name: 'setup', hosts: ['tb-0', 'tb-1'] }], failurePolicy: 'continue', concurrency: 32 },
    { type: 'step-start', time, step: 'setup', hosts: ['tb-0', 'tb-1'] },
    { type: 'attempt-start', time, step: 'setup', host: 'tb-0', attempt: 1 },
    { type: 'attempt-start', time, step: 'setup', host: 'tb-1', attempt: 1 },
    { type: 'host-end', time, step: 'setup', host: 'tb-0', status: 'ok', attempts: 1, durationMs: 100 },
    { type: 'host-end', time, step: 'setup', host: 'tb-1', status: 'failed', attempts: 1, durationMs: 100, exitCode: 7, error: fail7.error!, stderrTail: 'boom' },
    { type: 'step-end', time, step: 'setup', durationMs: 100, counts: { ok: 1, skipped: 0, failed: 1, aborted: 0, 'not-run': 0 } },
    {
      type: 'run-end', time, runId: 'r1', dir: '/x/.labrig/runs/r1', ok: false, durationMs: 100, counts: { ok: 1, skipped: 0, failed: 1, aborted: 0, 'not-run': 0 },
      steps: ['setup'], hosts: ['tb-0', 'tb-1'],
      results: [
        { host: 'tb-0', step: 'setup', status: 'ok', attempts: 1, durationMs: 100 },
        { host: 'tb-1', step: 'setup', status: 'failed', attempts: 1, durationMs: 100, exitCode: 7, error: fail7.error!, stderrTail: 'boom' },
      ],
    },
  ];

  it('plain renderer writes lines and the summary', () => {
    const out = sink();
    const r = createPlainRenderer({ stream: out.stream });
    events.forEach((e) => r.onEvent(e));
    expect(out.text()).toContain('[tb-1] setup: FAILED exit 7: boom\n');
    expect(out.text()).toMatch(/tb-1\s+FAILED \(exit 7\)/);
  });

  it('json renderer writes one event per line', () => {
    const out = sink();
    const r = createJsonRenderer(out.stream);
    events.forEach((e) => r.onEvent(e));
    const lines = out.text().trim().split('\n');
    expect(lines).toHaveLength(events.length);
    expect(lines.map((l) => (JSON.parse(l) as RunEvent).type)).toEqual(events.map((e) => e.type));
  });

  it("a step's progress: a line in plain output, the host's row on a terminal, never in the journal", async () => {
    const progress: RunEvent = { type: 'progress', time, step: 'distribute', host: 'tb-0', text: 'blob [##########..........] 32.0 MiB/64.0 MiB up, 0/8 hosts' };
    expect(formatPlainEvent(progress)).toBe('[tb-0] distribute: blob [##########..........] 32.0 MiB/64.0 MiB up, 0/8 hosts');
    expect(isJournaled(progress)).toBe(false);
    const out = sink();
    const r = createTtyRenderer({ stream: out.stream, listrRenderer: 'simple', color: false, summary: false });
    r.onEvent(events[0]!);
    r.onEvent({ type: 'attempt-start', time, step: 'distribute', host: 'tb-0', attempt: 1 });
    await new Promise((res) => setTimeout(res, 50));
    r.onEvent(progress);
    await new Promise((res) => setTimeout(res, 50));
    r.onEvent(events.at(-1)!);
    await r.close();
    expect(out.text()).toContain('distribute: blob [##########..........] 32.0 MiB/64.0 MiB up, 0/8 hosts');
  });

  it('tty renderer (listr2) shows a row per host and ends with the summary', async () => {
    const out = sink();
    const r = createTtyRenderer({ stream: out.stream, listrRenderer: 'simple', color: false });
    events.forEach((e) => r.onEvent(e));
    await r.close();
    const text = out.text();
    expect(text).toContain('tb-0  done (1 step)');
    expect(text).toContain('setup: FAILED exit 7: boom');
    expect(text).toMatch(/host\s+setup\ntb-0\s+ok\ntb-1\s+FAILED \(exit 7\)/);
  });
});
