/**
 * Experiments as the dashboard shows them: each plan of configs/experiments/ with its runs (state,
 * attempt, parameters, metrics) from the run store in results/<plan>/, every collected file with
 * the sha256 its result.json recorded, and the plan's plots drawn from the runs done so far.
 */
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import type { Connector, Host, PlatformInstance } from '@labrig/core';
import { loadPlatform } from '@labrig/core';
import { coordinatorStatus, expiryLine, listPlans, loadPlan, planDir, planRows, plotSpecs, readPlanEvents, renderSvg, type CoordinatorStatus, type Plan, type RunRow } from '@labrig/experiments';

export interface ExperimentSummary {
  plan: string;
  system: string;
  platform: string;
  runs: number;
  done: number;
  failed: number;
  running: number;
  /** Why the plan could not be read (a broken plan file): shown, not hidden. */
  error?: string;
}

export interface ExperimentRun extends RunRow {
  /** Files of the attempt shown (run.json, result.json, collected files): path in the plan folder, sha256 when recorded. */
  files: { path: string; sha256?: string; size?: number }[];
}

export interface ExperimentDetail extends ExperimentSummary {
  description?: string;
  params: string[];
  metrics: string[];
  plots: { name: string; title: string }[];
  rows: ExperimentRun[];
  /**
   * The sweep was handed to a coordinator (the newest hand-off the local journal records): its
   * runs' states come from the coordinator's own journal over SSH (`state`), or `error` says why not.
   */
  coordinator?: { host: string; time: string; state?: CoordinatorStatus['coordinator']; etaMs?: number; error?: string };
  /** When the platform's machines expire (a CloudLab experiment), as labrig last recorded it. */
  expiry?: { what: string; expiresAt: string; /** What the coordinator last did about it (it watches it while it runs the sweep). */ last?: string };
}

/**
 * Reads a coordinator's state over SSH for the dashboard: one platform connection per plan's
 * platform, kept while the dashboard runs (closed by `close`).
 */
export class CoordinatorReader {
  private readonly links = new Map<string, Promise<{ p: PlatformInstance; inventory: Host[]; connector: Connector }>>();
  constructor(private readonly root: string) {}

  async status(plan: Plan, hostName: string): Promise<CoordinatorStatus> {
    let link = this.links.get(plan.platform);
    if (!link) {
      link = (async () => {
        const p = await loadPlatform(this.root, plan.platform);
        const inventory = await p.platform.inventory(p.cfg, p.ctx);
        return { p, inventory, connector: p.platform.createConnector(p.cfg, p.ctx) };
      })();
      link.catch(() => this.links.delete(plan.platform));
      this.links.set(plan.platform, link);
    }
    const { inventory, connector } = await link;
    const host = inventory.find((h) => h.name === hostName);
    if (!host) throw new Error(`the coordinator ${hostName} is not a host of ${plan.platform} any more`);
    return coordinatorStatus(this.root, plan, host, await connector.connect(host, AbortSignal.timeout(20_000)), AbortSignal.timeout(30_000));
  }

  async close(): Promise<void> {
    const links = [...this.links.values()];
    this.links.clear();
    await Promise.all(links.map(async (l) => (await l.catch(() => undefined))?.connector.close()));
  }
}

/** A plan name as plan files are named. */
export const PLAN_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export async function listExperiments(root: string, o: { coordinator?: CoordinatorReader } = {}): Promise<ExperimentSummary[]> {
  return Promise.all(
    listPlans(root).map(async (name): Promise<ExperimentSummary> => {
      try {
        const d = await readExperiment(root, name, { files: false, ...o });
        const { description: _d, params: _p, metrics: _m, plots: _pl, rows: _r, coordinator: _c, ...s } = d!;
        return s;
      } catch (e) {
        return { plan: name, system: '', platform: '', runs: 0, done: 0, failed: 0, running: 0, error: (e as Error).message.split('\n')[0]! };
      }
    }),
  );
}

/** The platform's recorded expiry (Platform.expiry: local state, no remote call). */
async function expiryOf(root: string, platform: string): Promise<{ what: string; expiresAt: string } | undefined> {
  try {
    const p = await loadPlatform(root, platform);
    return p.platform.expiry ? await p.platform.expiry(p.cfg, p.ctx) : undefined;
  } catch {
    return undefined;
  }
}

export async function readExperiment(root: string, name: string, o: { files?: boolean; coordinator?: CoordinatorReader } = {}): Promise<ExperimentDetail | undefined> {
  if (!PLAN_NAME.test(name) || !listPlans(root).includes(name)) return undefined;
  const plan = loadPlan(root, name);
  const events = await readPlanEvents(root, plan.name);
  let { rows } = await planRows(root, plan, events);
  const handoff = [...events].reverse().find((e) => e.type === 'coordinator-handoff');
  let remote: { state?: CoordinatorStatus['coordinator']; etaMs?: number; error?: string } = {};
  let expiry: ExperimentDetail['expiry'];
  if (handoff && handoff.type === 'coordinator-handoff' && o.coordinator) {
    try {
      const st = await o.coordinator.status(plan, handoff.host);
      rows = st.rows;
      remote = { state: st.coordinator, ...(st.etaMs !== undefined ? { etaMs: st.etaMs } : {}) };
      // The coordinator's view of the expiry is newer than this machine's (it may have extended it).
      if (st.expiry) expiry = { what: st.expiry.what, expiresAt: st.expiry.expiresAt, ...(st.expiry.action !== 'watching' ? { last: expiryLine(st.expiry) } : {}) };
    } catch (e) {
      remote = { error: `the coordinator's state could not be read (${(e as Error).message.split('\n')[0]}): showing this machine's store` };
    }
  }
  expiry ??= await expiryOf(root, plan.platform);
  const params = [...new Set(plan.runs.flatMap((r) => Object.keys(r.params)))];
  const metrics = [...new Set(rows.flatMap((r) => Object.keys(r.metrics)))].sort();
  return {
    plan: plan.name,
    system: plan.system,
    platform: plan.platform,
    runs: rows.length,
    done: rows.filter((r) => r.status === 'done').length,
    failed: rows.filter((r) => r.status === 'failed').length,
    running: rows.filter((r) => r.status === 'running').length,
    ...(planDescription(plan) ? { description: planDescription(plan)! } : {}),
    params,
    metrics,
    plots: plan.results.map((r) => ({ name: r.name, title: r.title ?? r.name })),
    rows: rows.map((r) => ({ ...r, files: o.files === false ? [] : filesOf(root, plan.name, r) })),
    ...(handoff && handoff.type === 'coordinator-handoff' ? { coordinator: { host: handoff.host, time: handoff.time, ...remote } } : {}),
    ...(expiry ? { expiry } : {}),
  };
}

function planDescription(plan: Plan): string | undefined {
  return (plan as Plan & { description?: string }).description;
}

/** run.json, result.json and every file result.json lists, with its recorded sha256. */
function filesOf(root: string, plan: string, r: RunRow): ExperimentRun['files'] {
  if (!r.dir) return [];
  const base = join(planDir(root, plan), r.dir);
  const files: ExperimentRun['files'] = [];
  for (const f of ['run.json', 'result.json']) if (existsSync(join(base, f))) files.push({ path: `${r.dir}/${f}`, size: statSync(join(base, f)).size });
  const result = join(base, 'result.json');
  if (existsSync(result)) {
    try {
      const j = JSON.parse(readFileSync(result, 'utf8')) as { collectedInto?: string; files?: { host: string; path: string; sha256: string; size: number }[] };
      for (const f of j.files ?? []) files.push({ path: `${r.dir}/${j.collectedInto ?? 'hosts'}/${f.host}/${f.path}`, sha256: f.sha256, size: f.size });
    } catch {
      /* a result.json being written: its files show on the next refresh */
    }
  }
  return files;
}

/** A plot of the plan drawn now, as SVG (undefined: no such plot). */
export async function plotSvg(root: string, name: string, plot: string): Promise<string | undefined> {
  if (!PLAN_NAME.test(name) || !listPlans(root).includes(name)) return undefined;
  const plan = loadPlan(root, name);
  const i = plan.results.findIndex((r) => r.name === plot);
  if (i < 0) return undefined;
  const { rows } = await planRows(root, plan);
  const spec = plotSpecs(rows, [plan.results[i]!])[0]!;
  return renderSvg(spec.spec);
}

/**
 * A file of a plan's results folder, or undefined when `rel` leaves it (`..`, an absolute path,
 * a symlink out) or is not a file.
 */
export function resultFile(root: string, name: string, rel: string): string | undefined {
  if (!PLAN_NAME.test(name)) return undefined;
  const base = resolve(planDir(root, name));
  if (rel.split('/').some((p) => p === '..' || p === '' || p === '.') || rel.includes('\0') || rel.includes('\\')) return undefined;
  const file = resolve(base, rel);
  if (!file.startsWith(base + sep) || relative(base, file).startsWith('..')) return undefined;
  if (!existsSync(file) || !statSync(file).isFile()) return undefined;
  // A symlink inside pointing out is refused too.
  if (!realpathSync(file).startsWith(realpathSync(base) + sep)) return undefined;
  return file;
}
