/** `experiment-status`: the plan's runs as a table, and the counts. */
import type { Plan } from './plan/load.js';
import type { RunRow } from './types.js';

export function formatStatus(plan: Plan, rows: readonly RunRow[]): string {
  const count = (s: string) => rows.filter((r) => r.status === s).length;
  const params = plan.paramNames.filter((p) => p !== 'duration_s' && new Set(rows.map((r) => String(r.params[p]))).size > 1);
  const head = ['run', 'experiments', ...params, 'status', 'attempt', 'time', 'reason'];
  const body = rows.map((r) => [
    r.id,
    r.experiments.join(';'),
    ...params.map((p) => String(r.params[p] ?? '')),
    r.status,
    r.attempt ? String(r.attempt) : '',
    r.durationMs !== undefined ? `${(r.durationMs / 1000).toFixed(1)} s` : '',
    (r.reason ?? '').slice(0, 100),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [
    `plan ${plan.name} (${plan.file}): ${plan.system} on ${plan.platform}`,
    `${rows.length} runs: ${count('done')} done, ${count('failed')} failed, ${count('running')} in flight, ${count('pending')} pending`,
    line(head),
    ...body.map(line),
  ].join('\n');
}
