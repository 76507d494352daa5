/** The plan's runs as rows (state from the journal, metrics from the stored files). */
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { readMetrics } from './metrics.js';
import type { Plan } from './plan/load.js';
import { attemptDir, foldEvents, planDir, readPlanEvents, type PlanEvent } from './store/run-store.js';
import type { RunRow } from './types.js';

/** `events`: a journal read elsewhere (a coordinator's); metrics are then read only where `root` holds the run. */
export async function planRows(root: string, plan: Plan, events?: readonly PlanEvent[]): Promise<{ rows: RunRow[]; problems: string[] }> {
  const states = foldEvents(events ?? (await readPlanEvents(root, plan.name)));
  const problems: string[] = [];
  const rows = plan.runs.map((r): RunRow => {
    const s = states.get(r.id);
    const attempt = s?.doneAttempt ?? s?.attempt ?? 0;
    const dir = attempt ? attemptDir(root, plan.name, r.id, attempt) : undefined;
    let metrics: Record<string, number> = {};
    if (s?.status === 'done' && dir && existsSync(dir)) {
      const m = readMetrics(plan, dir);
      metrics = m.metrics;
      problems.push(...m.problems.map((p) => `${r.id}: ${p}`));
    }
    return {
      id: r.id,
      experiments: r.experiments,
      repeat: r.repeat,
      status: s?.status ?? 'pending',
      attempt,
      params: r.params,
      metrics,
      ...(s?.startedAt ? { startedAt: s.startedAt } : {}),
      ...(s?.endedAt ? { endedAt: s.endedAt } : {}),
      ...(s?.durationMs !== undefined ? { durationMs: s.durationMs } : {}),
      ...(s?.reason ? { reason: s.reason } : {}),
      ...(dir ? { dir: relative(planDir(root, plan.name), dir) } : {}),
    };
  });
  return { rows, problems };
}

export const reportDir = (root: string, plan: string) => join(planDir(root, plan), 'report');
