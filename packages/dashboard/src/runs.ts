/**
 * Runs as the dashboard shows them, read from `.labrig/runs/<id>/journal.jsonl` (the engine's
 * journal: events already redacted) and the per-host step logs beside it. Read-only; nothing
 * here writes. A run still going has no run-end yet: its hosts' states come from the events so far.
 */
import { existsSync, openSync, readSync, closeSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { JOURNAL_FILE, runsDir, stepLogPath, type HostStepStatus, type RunEvent } from '@labrig/core';
import { parseJsonLines } from '@labrig/experiments';

/** A run id as the engine makes them (createRunId): nothing else is a run folder. */
export const RUN_ID = /^[0-9]{8}-[0-9]{6}\.[0-9]{3}-[0-9a-f]{4}$/;

export type CellState = HostStepStatus | 'running' | 'pending';

export interface RunSummary {
  id: string;
  title: string;
  /** `demo:deploy` → system demo, target deploy (titles not of that shape: target = the title). */
  system?: string;
  target: string;
  platform?: string;
  startedAt: string;
  durationMs?: number;
  /** Still going: no run-end yet. */
  live: boolean;
  ok?: boolean;
  hosts: number;
  /** Per host: its worst state over the run's steps. */
  counts: Record<'ok' | 'skipped' | 'failed' | 'running' | 'other', number>;
}

export interface RunDetail extends RunSummary {
  steps: { name: string; title?: string }[];
  hostNames: string[];
  /** cells[host][step] */
  cells: Record<string, Record<string, { state: CellState; durationMs?: number; error?: string; attempts?: number }>>;
  stopped?: string;
}

export function runDir(root: string, id: string): string {
  return join(runsDir(root), id);
}

/** Every event of a run's journal (a line torn or still being written is skipped). */
export function readRunEvents(root: string, id: string): RunEvent[] {
  const file = join(runDir(root, id), JOURNAL_FILE);
  if (!existsSync(file)) return [];
  return parseJsonLines<RunEvent>(readFileSync(file, 'utf8'));
}

/** The run folders, newest first (ids sort by time). */
export function listRunIds(root: string): string[] {
  const dir = runsDir(root);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((d) => RUN_ID.test(d) && existsSync(join(dir, d, JOURNAL_FILE)))
    .sort()
    .reverse();
}

export function listRuns(root: string, limit = 200): RunSummary[] {
  return listRunIds(root)
    .slice(0, limit)
    .map((id) => summarize(id, readRunEvents(root, id)))
    .filter((r): r is RunSummary => r !== undefined);
}

export function readRun(root: string, id: string): RunDetail | undefined {
  if (!RUN_ID.test(id)) return undefined;
  return detail(id, readRunEvents(root, id));
}

/** Fold a run's events into its grid. */
export function detail(id: string, events: readonly RunEvent[]): RunDetail | undefined {
  const start = events.find((e) => e.type === 'run-start');
  if (!start || start.type !== 'run-start') return undefined;
  const steps = start.steps.map((s) => ({ name: s.name, ...(s.title !== undefined ? { title: s.title } : {}) }));
  const hostNames = start.hosts;
  const cells: RunDetail['cells'] = {};
  for (const h of hostNames) cells[h] = {};
  for (const s of start.steps) for (const h of s.hosts) (cells[h] ??= {})[s.name] = { state: 'pending' };
  let end: Extract<RunEvent, { type: 'run-end' }> | undefined;
  for (const e of events) {
    if (e.type === 'attempt-start') (cells[e.host] ??= {})[e.step] = { state: 'running', attempts: e.attempt };
    else if (e.type === 'host-end') {
      (cells[e.host] ??= {})[e.step] = {
        state: e.status,
        durationMs: e.durationMs,
        attempts: e.attempts,
        ...(e.error ? { error: `${e.error.code}: ${e.error.message}` } : {}),
      };
    } else if (e.type === 'run-end') end = e;
  }
  const title = start.title ?? id;
  const m = /^([A-Za-z0-9_.-]+):([A-Za-z0-9_.-]+)$/.exec(title);
  const counts = { ok: 0, skipped: 0, failed: 0, running: 0, other: 0 };
  for (const h of hostNames) {
    const states = Object.values(cells[h] ?? {}).map((c) => c.state);
    if (states.includes('failed')) counts.failed++;
    else if (states.includes('running')) counts.running++;
    else if (states.length > 0 && states.every((s) => s === 'skipped')) counts.skipped++;
    else if (states.length > 0 && states.every((s) => s === 'ok' || s === 'skipped')) counts.ok++;
    else counts.other++;
  }
  return {
    id,
    title,
    ...(m ? { system: m[1]!, target: m[2]! } : { target: title }),
    ...(start.platform !== undefined ? { platform: start.platform } : {}),
    startedAt: start.time,
    ...(end ? { durationMs: end.durationMs, ok: end.ok } : {}),
    live: !end,
    hosts: hostNames.length,
    counts,
    steps,
    hostNames,
    cells,
    ...(end?.stopped ? { stopped: end.stopped } : {}),
  };
}

function summarize(id: string, events: readonly RunEvent[]): RunSummary | undefined {
  const d = detail(id, events);
  if (!d) return undefined;
  const { steps: _s, hostNames: _h, cells: _c, stopped: _x, ...summary } = d;
  return summary;
}

/**
 * The last `maxBytes` of a host's step log (the engine redacted it as it wrote), or undefined
 * when the run has no such host and step.
 */
export function stepLogTail(root: string, id: string, host: string, step: string, maxBytes = 16_384): { text: string; truncated: boolean } | undefined {
  const run = readRun(root, id);
  if (!run || !run.hostNames.includes(host) || !run.steps.some((s) => s.name === step)) return undefined;
  const file = stepLogPath(runDir(root, id), host, step);
  if (!existsSync(file)) return { text: '', truncated: false };
  const size = statSync(file).size;
  const from = Math.max(0, size - maxBytes);
  const buf = Buffer.alloc(size - from);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buf, 0, buf.length, from);
  } finally {
    closeSync(fd);
  }
  let text = buf.toString('utf8');
  if (from > 0) text = text.slice(text.indexOf('\n') + 1);
  return { text, truncated: from > 0 };
}
