/**
 * Resuming an attempt that was journaled but never reached its hosts (labrig stopped between
 * run-start and the start on the hosts): it starts now, as the same attempt, and is not a failure.
 * One whose process died on a host without an exit status is failed and run again. Real detached
 * runs through core's LocalConnector.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalConnector, type Host } from '@labrig/core';
import type { Plan } from '../plan/load.js';
import { expandRuns } from '../plan/expand.js';
import { remoteRunDir } from '../remote/run-remote.js';
import { attemptDir, readPlanEvents, storeId, type PlanEvent } from '../store/run-store.js';
import { runPlan, type ExperimentTarget } from './run-plan.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tmp = (p: string) => {
  const d = mkdtempSync(join(tmpdir(), p));
  dirs.push(d);
  return d;
};

function setup(): { root: string; home: string; plan: Plan; target: ExperimentTarget; connector: LocalConnector } {
  const root = tmp('labrig-resume-root-');
  const home = tmp('labrig-resume-home-');
  const experiments = [{ name: 'main', task: 'echo', repeats: 1, settings: { n: 1 } }];
  const plan = { name: 'p', file: 'configs/experiments/p.toml', system: 's', platform: 'x', timeoutMs: 20_000, collect: [], experiments, results: [], paramNames: ['n'], runs: expandRuns('s', experiments) } as unknown as Plan;
  const h: Host = { name: 'h1', address: '127.0.0.1', port: 22, user: 'u', roles: [], labels: {} };
  const connector = new LocalConnector({ homeFor: () => home });
  const target: ExperimentTarget = {
    deploy: async () => true,
    taskHosts: () => [h],
    taskArgv: () => ['sh', '-c', 'echo ran'],
    taskEnv: () => ({}),
    connect: (x) => connector.connect(x),
    version: async () => ({}),
  };
  return { root, home, plan, target, connector };
}

/** The journal and folder of a labrig stopped right after run-start of attempt 1. */
async function stoppedAfterRunStart(root: string, plan: Plan): Promise<string> {
  const run = plan.runs[0]!.id;
  mkdirSync(attemptDir(root, plan.name, run, 1), { recursive: true });
  writeFileSync(join(attemptDir(root, plan.name, run, 1), 'run.json'), '{}\n');
  const e: PlanEvent = { type: 'run-start', time: new Date().toISOString(), run, attempt: 1, hosts: ['h1'] };
  writeFileSync(join(root, 'results', plan.name, 'journal.jsonl'), `${JSON.stringify(e)}\n`);
  return run;
}

describe('resume of an attempt in flight', () => {
  it('never started on its hosts: started now as the same attempt, not failed', async () => {
    const { root, plan, target, connector } = setup();
    mkdirSync(join(root, 'results', plan.name), { recursive: true });
    const run = await stoppedAfterRunStart(root, plan);
    const r = await runPlan({ root, plan, target, output: 'plain', pollMs: 50, log: () => undefined });
    await connector.close();
    expect(r).toMatchObject({ done: 1, failed: 0 });
    const ev = await readPlanEvents(root, plan.name);
    expect(ev.filter((e) => e.type === 'run-failed')).toEqual([]);
    expect(ev.filter((e) => e.type === 'run-done')).toMatchObject([{ run, attempt: 1 }]);
  });

  it('died on a host without an exit status: failed, then run again as the next attempt', async () => {
    const { root, home, plan, target, connector } = setup();
    mkdirSync(join(root, 'results', plan.name), { recursive: true });
    const run = await stoppedAfterRunStart(root, plan);
    // Started once (owner and pid), its process gone: a pid that cannot exist.
    const dir = join(home, remoteRunDir(plan.name, run, 1));
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'owner'), `${await storeId(root, plan.name)}\n`);
    writeFileSync(join(dir, 'pid'), '999999999\n');
    const r = await runPlan({ root, plan, target, output: 'plain', pollMs: 50, log: () => undefined });
    await connector.close();
    expect(r).toMatchObject({ done: 1, failed: 0 });
    const ev = await readPlanEvents(root, plan.name);
    expect(ev.filter((e) => e.type === 'run-failed')).toMatchObject([{ run, attempt: 1, reason: expect.stringMatching(/gone from its hosts/) }]);
    expect(ev.filter((e) => e.type === 'run-done')).toMatchObject([{ run, attempt: 2 }]);
  });
});
