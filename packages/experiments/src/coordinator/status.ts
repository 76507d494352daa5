/** `experiment-status` of a sweep handed to a coordinator: its state read over SSH, nothing changed. */
import type { Host, Remote } from '@labrig/core';
import { fmtS } from '../engine/progress.js';
import type { Plan } from '../plan/load.js';
import { planRows } from '../rows.js';
import { formatStatus } from '../status.js';
import type { RunRow } from '../types.js';
import { expiryLine, expiryNote } from './expiry.js';
import { lastStart, probeCoordinator } from './remote-state.js';
import { coordinatorDir, type CoordinatorEvent } from './spec.js';

export interface CoordinatorStatus {
  host: string;
  dir: string;
  /** running: a live coordinator; ended: it finished (or was stopped); dead: gone without an end; none: never handed over. */
  coordinator: 'running' | 'ended' | 'dead' | 'none';
  pid?: number;
  startedAt?: string;
  endedAt?: string;
  error?: string;
  counts: { total: number; done: number; failed: number; running: number; pending: number };
  /** Remaining runs x mean duration of the runs done so far / parallel runs; undefined before the first. */
  etaMs?: number;
  /** The machines' expiry as the coordinator last saw it, and what it last did about it. */
  expiry?: Extract<CoordinatorEvent, { type: 'expiry' }>;
  rows: RunRow[];
}

export async function coordinatorStatus(root: string, plan: Plan, host: Host, remote: Remote, signal?: AbortSignal): Promise<CoordinatorStatus> {
  const p = await probeCoordinator(remote, plan.name, signal ? { signal } : {});
  const remoteRows = (await planRows(root, plan, p.planEvents)).rows;
  // Runs done in this machine's store (before the hand-off, or collected since) are done.
  const localRows = new Map((await planRows(root, plan)).rows.map((r) => [r.id, r]));
  const rows = remoteRows.map((r) => (r.status !== 'done' && localRows.get(r.id)?.status === 'done' ? localRows.get(r.id)! : r));
  const last = lastStart(p.events);
  const count = (s: string) => rows.filter((r) => r.status === s).length;
  const counts = { total: rows.length, done: count('done'), failed: count('failed'), running: count('running'), pending: count('pending') };
  const session = [...p.planEvents].reverse().find((e) => e.type === 'session-start');
  const parallel = Number((session as { options?: Record<string, unknown> } | undefined)?.options?.['parallelRuns'] ?? 1) || 1;
  const durations = rows.filter((r) => r.status === 'done' && r.durationMs !== undefined).map((r) => r.durationMs!);
  const coordinator = p.alive ? 'running' : !p.exists || !last.start ? 'none' : last.end ? 'ended' : 'dead';
  const etaMs = coordinator === 'running' && durations.length ? ((counts.pending + counts.running) * (durations.reduce((a, b) => a + b, 0) / durations.length)) / parallel : undefined;
  return {
    host: host.name,
    dir: coordinatorDir(plan.name),
    coordinator,
    ...(p.pid !== undefined ? { pid: p.pid } : last.start ? { pid: last.start.pid } : {}),
    ...(last.start ? { startedAt: last.start.time } : {}),
    ...(last.end ? { endedAt: last.end.time } : {}),
    ...(last.error ? { error: last.error } : {}),
    counts,
    ...(etaMs !== undefined ? { etaMs } : {}),
    ...(last.expiry ? { expiry: last.expiry } : {}),
    rows,
  };
}

export function formatCoordinatorStatus(plan: Plan, s: CoordinatorStatus): string {
  const head =
    s.coordinator === 'running'
      ? `coordinator on ${s.host}: running (pid ${s.pid}, since ${s.startedAt})${s.etaMs !== undefined ? `, ETA ${fmtS(s.etaMs)}` : ''}`
      : s.coordinator === 'ended'
        ? `coordinator on ${s.host}: not running (ended ${s.endedAt})${s.error ? ` with an error: ${s.error}` : ''}`
        : s.coordinator === 'dead'
          ? `coordinator on ${s.host}: DEAD (pid ${s.pid} is gone without finishing${s.error ? `: ${s.error}` : ''}) — run the same experiment --coordinator command to restart it; nothing done is lost`
          : `coordinator on ${s.host}: none (the plan was never handed to ${s.host})`;
  const x = s.expiry;
  const late = x && s.etaMs !== undefined && Date.now() + s.etaMs > Date.parse(x.expiresAt);
  const expiry = x ? `\n${late ? '! ' : ''}${expiryNote(x)}${late ? ', before the sweep\'s ETA' : ''}${x.action !== 'watching' ? ` — coordinator: ${expiryLine(x)}` : ''}` : '';
  return `${head}${expiry}\n${formatStatus(plan, s.rows)}\nstore: ${s.dir}/results/${plan.name}/ on ${s.host} (collect fetches finished runs)`;
}
