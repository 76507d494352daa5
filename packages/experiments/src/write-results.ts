/** `results`: from the stored runs, `results/<plan>/report/`: runs.csv, one SVG + PNG per plot, report.html. */
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Plan } from './plan/load.js';
import { plotSpecs, renderPlots, writeCsv, writeReport } from './results/index.js';
import { planRows, reportDir } from './rows.js';

export interface WrittenResults {
  /** Paths relative to the workspace root. */
  report: string;
  csv: string;
  plots: string[];
  rows: number;
  done: number;
  failed: number;
  /** Metrics that could not be read (run: host: why). */
  problems: string[];
}

export async function writeResults(root: string, plan: Plan): Promise<WrittenResults> {
  const { rows, problems } = await planRows(root, plan);
  const dir = reportDir(root, plan.name);
  await mkdir(dir, { recursive: true });
  const csv = join(dir, 'runs.csv');
  await writeCsv(csv, rows);
  const specs = plotSpecs(rows, plan.results);
  const files = await renderPlots(dir, specs);
  const plots = specs.map((s) => ({ name: s.name, title: s.title, svg: readFileSync(join(dir, `${s.name}.svg`), 'utf8') }));
  const report = await writeReport(dir, {
    plan: plan.name,
    generatedAt: new Date().toISOString(),
    rows,
    plots,
    csvFile: 'runs.csv',
  });
  const rel = (p: string) => relative(root, p);
  return { report: rel(report), csv: rel(csv), plots: files.map(rel), rows: rows.length, done: rows.filter((r) => r.status === 'done').length, failed: rows.filter((r) => r.status === 'failed').length, problems };
}
