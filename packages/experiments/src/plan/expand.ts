/**
 * Sweeps to runs: the cross product of a sweep's lists (or its explicit points), merged over the
 * plan's and the experiment's settings, times the repeats. A run's id derives from what it runs
 * (system, task, every parameter) and its repeat index, never from names or order in the file:
 * renaming the plan or an experiment, or reordering keys and lists, keeps every id; changing a
 * parameter changes the ids of exactly the runs that use it.
 */
import { createHash } from 'node:crypto';
import type { ParamValue, Params } from '../types.js';

export interface RunSpec {
  /** `<point>-r<repeat>`: stable (see above). */
  id: string;
  /** Digest of (system, task, params): shared by the repeats of a point. */
  point: string;
  /** 1-based. */
  repeat: number;
  task: string;
  params: Params;
  /** The plan's experiments that contain this run (a point in two experiments runs once). */
  experiments: string[];
}

/** JSON with object keys sorted at every level: equal values give equal text. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

export function pointId(system: string, task: string, params: Params): string {
  return createHash('sha256').update(canonicalJson({ system, task, params })).digest('hex').slice(0, 10);
}

/** The cross product of the lists, in key order then list order (order affects only run order). */
export function crossProduct(sweep: Record<string, readonly ParamValue[]>): Params[] {
  let points: Params[] = [{}];
  for (const [key, values] of Object.entries(sweep)) {
    points = points.flatMap((p) => values.map((v) => ({ ...p, [key]: v })));
  }
  return points;
}

export interface ExperimentInput {
  name: string;
  task: string;
  repeats: number;
  settings: Params;
  sweep?: Record<string, ParamValue[]>;
  points?: Params[];
}

/** Every run of the experiments, deduplicated by id, in plan order. */
export function expandRuns(system: string, experiments: readonly ExperimentInput[]): RunSpec[] {
  const byId = new Map<string, RunSpec>();
  for (const e of experiments) {
    const sweepPoints = e.sweep && Object.keys(e.sweep).length ? crossProduct(e.sweep) : [];
    const explicit = e.points ?? [];
    const points = sweepPoints.length || explicit.length ? [...sweepPoints, ...explicit] : [{}];
    for (const p of points) {
      const params = { ...e.settings, ...p };
      const point = pointId(system, e.task, params);
      for (let repeat = 1; repeat <= e.repeats; repeat++) {
        const id = `${point}-r${repeat}`;
        const known = byId.get(id);
        if (known) {
          if (!known.experiments.includes(e.name)) known.experiments.push(e.name);
        } else {
          byId.set(id, { id, point, repeat, task: e.task, params, experiments: [e.name] });
        }
      }
    }
  }
  return [...byId.values()];
}
