/**
 * Metrics of a run, read from its collected files by the plan's `[metrics]` table: each host's
 * file (default stdout) holds a JSON object (or JSON lines: the last one counts); each field is a
 * dotted path in it; the hosts of a run combine by sum, mean, max or min.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Plan } from './plan/load.js';

export interface MetricsResult {
  metrics: Record<string, number>;
  /** Why a field could not be read, per host. */
  problems: string[];
}

function lookup(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** The JSON object of one host's metrics file. */
export function parseMetricsText(text: string, format: 'json' | 'jsonl'): unknown {
  const lines = text.split('\n').map((l) => l.replace(/^\[[^\]]+\] /, '').trim()).filter(Boolean);
  if (format === 'jsonl') return JSON.parse(lines[lines.length - 1] ?? 'null');
  return JSON.parse(lines.join('\n'));
}

/** Hosts' values of one metric combined (12 significant digits: no float noise in the CSV). */
export function combine(values: number[], how: 'sum' | 'mean' | 'max' | 'min'): number {
  return Number(combineExact(values, how).toPrecision(12));
}

function combineExact(values: number[], how: 'sum' | 'mean' | 'max' | 'min'): number {
  switch (how) {
    case 'sum':
      return values.reduce((a, b) => a + b, 0);
    case 'mean':
      return values.reduce((a, b) => a + b, 0) / values.length;
    case 'max':
      return Math.max(...values);
    case 'min':
      return Math.min(...values);
  }
}

/** Metrics of one collected attempt (`<attempt>/hosts/<host>/...`). */
export function readMetrics(plan: Plan, attemptPath: string): MetricsResult {
  const m = plan.metrics;
  if (!m) return { metrics: {}, problems: [] };
  const hostsDir = join(attemptPath, 'hosts');
  const hosts = existsSync(hostsDir) ? readdirSync(hostsDir).sort() : [];
  const problems: string[] = [];
  const per: Record<string, number[]> = {};
  for (const h of hosts) {
    const file = join(hostsDir, h, m.file);
    if (!existsSync(file)) continue; // hosts whose command wrote no metrics file (e.g. servers)
    let doc: unknown;
    try {
      doc = parseMetricsText(readFileSync(file, 'utf8'), m.format);
    } catch (e) {
      problems.push(`${h}: ${m.file} is not ${m.format === 'json' ? 'a JSON object' : 'JSON lines'} (${(e as Error).message})`);
      continue;
    }
    for (const [name, f] of Object.entries(m.fields)) {
      const v = lookup(doc, f.path);
      if (typeof v === 'number' && Number.isFinite(v)) (per[name] ??= []).push(v);
      else problems.push(`${h}: ${m.file}: ${f.path} is ${v === undefined ? 'missing' : `not a number (${JSON.stringify(v)})`}`);
    }
  }
  const metrics: Record<string, number> = {};
  for (const [name, f] of Object.entries(m.fields)) if (per[name]?.length) metrics[name] = combine(per[name]!, f.combine);
  return { metrics, problems };
}
