/**
 * configs/experiments/<name>.toml: read, validate (schema, then what a schema cannot say), expand.
 * Every problem is one ConfigError naming the file, the field and the fix, raised before anything
 * is deployed.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, isAbsolute, join, relative } from 'node:path';
import { ConfigError, listPlatforms, loadConfigFile, parseDuration } from '@labrig/core';
import type { Params, ParamValue, ResultSpec } from '../types.js';
import { expandRuns, type ExperimentInput, type RunSpec } from './expand.js';
import schema from './plan.schema.json' with { type: 'json' };

export const EXPERIMENTS_DIR = 'configs/experiments';
export const planSchema: object = schema;

export interface MetricField {
  path: string;
  combine: 'sum' | 'mean' | 'max' | 'min';
}

export interface PlanFile {
  description?: string;
  system: string;
  platform: string;
  task: string;
  repeats: number;
  duration?: string;
  timeout: string;
  settings?: Params;
  sweep?: Record<string, ParamValue[]>;
  points?: Params[];
  collect?: string[];
  metrics?: { file: string; format: 'json' | 'jsonl'; fields: Record<string, MetricField> };
  experiments?: { name: string; description?: string; task?: string; repeats?: number; settings?: Params; sweep?: Record<string, ParamValue[]>; points?: Params[] }[];
  results?: ResultSpec[];
  coordinator?: string | CoordinatorSettings;
}

/** `coordinator = ...` of a plan: where the sweep runs when the laptop hands it over. */
export interface CoordinatorSettings {
  host: string;
  node?: string;
  nodeDist?: string;
  minFree?: string;
}

export interface Plan {
  /** The plan's name: its file name without .toml (the results folder's name). */
  name: string;
  /** The file, relative to the workspace root (for messages). */
  file: string;
  system: string;
  platform: string;
  timeoutMs: number;
  collect: string[];
  metrics?: PlanFile['metrics'];
  experiments: ExperimentInput[];
  results: ResultSpec[];
  runs: RunSpec[];
  /** Every parameter name a run has. */
  paramNames: string[];
  coordinator?: CoordinatorSettings;
}

/** The plan files of the workspace (names). */
export function listPlans(root: string): string[] {
  const dir = join(root, EXPERIMENTS_DIR);
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.toml')).map((f) => f.slice(0, -5)).sort() : [];
}

/** `demo-sweep`, `configs/experiments/demo-sweep.toml` or a path: the file, relative to root when inside. */
export function resolvePlanFile(root: string, ref: string): string {
  if (/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(ref) && !ref.endsWith('.toml')) return `${EXPERIMENTS_DIR}/${ref}.toml`;
  const rel = isAbsolute(ref) ? relative(root, ref) : ref;
  return rel.startsWith('..') ? ref : rel;
}

function systemsOf(root: string): string[] {
  const dir = join(root, 'targets');
  return existsSync(dir) ? readdirSync(dir).filter((d) => existsSync(join(dir, d, 'system.toml'))).sort() : [];
}

/** Load and expand a plan. `ref`: a plan name or a file path. */
export function loadPlan(root: string, ref: string): Plan {
  const file = resolvePlanFile(root, ref);
  const path = isAbsolute(file) ? file : join(root, file);
  if (!existsSync(path)) {
    const known = listPlans(root);
    throw new ConfigError(file, '', 'file not found', {
      hint: known.length ? `Plans in ${EXPERIMENTS_DIR}/: ${known.join(', ')} (--plan=<name>).` : `Create ${EXPERIMENTS_DIR}/<name>.toml (see docs/experiments.md).`,
    });
  }
  const p = loadConfigFile<PlanFile>(path, schema, { displayPath: file });

  const systems = systemsOf(root);
  if (!systems.includes(p.system)) {
    throw new ConfigError(file, 'system', `unknown system "${p.system}"`, { hint: `Systems of this workspace (targets/<name>/system.toml): ${systems.join(', ') || 'none'}.` });
  }
  const platforms = listPlatforms(root);
  if (!platforms.includes(p.platform)) {
    throw new ConfigError(file, 'platform', `unknown platform "${p.platform}"`, { hint: `Platforms (configs/platforms/<name>/platform.toml): ${platforms.join(', ') || 'none'}.` });
  }
  if (p.experiments && (p.sweep || p.points)) {
    throw new ConfigError(file, p.sweep ? 'sweep' : 'points', 'a top-level sweep/points cannot be combined with [[experiments]]', {
      hint: 'Move it into an [[experiments]] entry (each experiment has its own sweep or points).',
    });
  }

  const global: Params = { ...p.settings };
  if (p.duration !== undefined) {
    const ms = parseDuration(p.duration);
    global['duration'] = p.duration;
    global['duration_s'] = Math.max(1, Math.round(ms / 1000));
  }
  const raw = p.experiments ?? [{ name: 'main', ...(p.sweep ? { sweep: p.sweep } : {}), ...(p.points ? { points: p.points } : {}) }];
  const seen = new Set<string>();
  const experiments: ExperimentInput[] = raw.map((e, i) => {
    const at = p.experiments ? `experiments[${i}]` : '';
    const field = (f: string) => (at ? `${at}.${f}` : f);
    if (seen.has(e.name)) throw new ConfigError(file, field('name'), `duplicate experiment name "${e.name}"`, { hint: 'Give each [[experiments]] entry its own name.' });
    seen.add(e.name);
    const settings: Params = { ...global, ...e.settings };
    // A swept or pointed field must be a setting: a typo would otherwise sweep nothing the task reads.
    const check = (key: string, where: string) => {
      if (!(key in settings)) {
        throw new ConfigError(file, where, `\`${key}\` is not a setting of this plan`, {
          hint: `Settings: ${Object.keys(settings).sort().join(', ') || 'none'}. Add \`${key}\` (with its default) to [settings]${at ? ` or to ${at}.settings` : ''}, or fix the name.`,
        });
      }
    };
    for (const key of Object.keys(e.sweep ?? {})) check(key, field(`sweep.${key}`));
    (e.points ?? []).forEach((pt, j) => Object.keys(pt).forEach((key) => check(key, field(`points[${j}].${key}`))));
    return { name: e.name, task: (e as { task?: string }).task ?? p.task, repeats: (e as { repeats?: number }).repeats ?? p.repeats, settings, ...(e.sweep ? { sweep: e.sweep } : {}), ...(e.points ? { points: e.points } : {}) };
  });

  const runs = expandRuns(p.system, experiments);
  const paramNames = [...new Set(runs.flatMap((r) => Object.keys(r.params)))].sort();
  const metricNames = Object.keys(p.metrics?.fields ?? {});
  (p.results ?? []).forEach((r, i) => {
    const field = (f: string) => `results[${i}].${f}`;
    const needParam = (name: string | undefined, f: string) => {
      if (name !== undefined && !paramNames.includes(name)) throw new ConfigError(file, field(f), `\`${name}\` is not a parameter of the runs`, { hint: `Parameters: ${paramNames.join(', ')}.` });
    };
    const needMetric = (name: string, f: string) => {
      if (!metricNames.includes(name)) throw new ConfigError(file, field(f), `\`${name}\` is not a metric`, { hint: `Metrics ([metrics.fields]): ${metricNames.join(', ') || 'none; add a [metrics] table'}.` });
    };
    needParam(r.x, 'x');
    needParam(r.series, 'series');
    for (const [j, y] of (Array.isArray(r.y) ? r.y : r.y ? [r.y] : []).entries()) needMetric(y, Array.isArray(r.y) ? `y[${j}]` : 'y');
    for (const [q, m] of Object.entries(r.percentiles ?? {})) {
      const at = `percentiles.${/^[A-Za-z0-9_-]+$/.test(q) ? q : JSON.stringify(q)}`; // TOML's spelling: `percentiles."0.5"`
      if (!(Number(q) > 0 && Number(q) <= 1)) throw new ConfigError(file, field(at), `"${q}" is not a quantile`, { hint: `Use quantiles in (0, 1], e.g. "0.5", "0.99", in ${field(at)} in ${file}.` });
      needMetric(m, at);
    }
    if ((r.kind === 'line' || r.kind === 'bar') && (!r.x || !r.y)) throw new ConfigError(file, field(r.x ? 'y' : 'x'), `a ${r.kind} plot needs x (a parameter) and y (metrics)`);
    if (r.kind === 'cdf' && !r.percentiles) throw new ConfigError(file, field('percentiles'), 'a cdf plot needs percentiles (quantile = metric)', { hint: 'e.g. percentiles = { "0.5" = "p50_us", "0.99" = "p99_us" }' });
    if (r.experiment !== undefined && !seen.has(r.experiment)) throw new ConfigError(file, field('experiment'), `unknown experiment "${r.experiment}"`, { hint: `Experiments: ${[...seen].join(', ')}.` });
  });

  return {
    name: basename(file).replace(/\.toml$/, ''),
    file,
    system: p.system,
    platform: p.platform,
    timeoutMs: parseDuration(p.timeout),
    collect: p.collect ?? [],
    ...(p.metrics ? { metrics: p.metrics } : {}),
    experiments,
    results: p.results ?? [],
    runs,
    paramNames,
    ...(p.coordinator !== undefined ? { coordinator: typeof p.coordinator === 'string' ? { host: p.coordinator } : p.coordinator } : {}),
  };
}

/** The `system` a plan file names, without validating it (for picking a system's plans). */
export function peekPlanSystem(root: string, name: string): string | undefined {
  try {
    return /^\s*system\s*=\s*["']([^"']+)["']/m.exec(readFileSync(join(root, EXPERIMENTS_DIR, `${name}.toml`), 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}
