/**
 * experiment: deploy as needed, run every run of the plan not yet done (resuming whatever an
 * interrupted labrig left), collect and verify, then write the CSV, plots and HTML report.
 * With a coordinator (`--coordinator=<host>` or the plan's `coordinator`): deploy, hand the sweep
 * to that host and follow it (Ctrl-C detaches; `--detach` returns at once); when it ends here,
 * its runs are collected and plotted as after a local sweep. `--stop [--now]` stops it.
 */
import type { ExecutorContext } from '@nx/devkit';
import { OptionError, interruptSignal, parseDuration, parseFailurePolicy, reportError, type LongRun } from '@labrig/core';
import { CoordinatorError, coordinatorSettings, handOff, loadPlan, planRows, probeCoordinator, pullRuns, runPlan, stopCoordinator, writeResults, type Plan, type RunRow } from '@labrig/experiments';
import { openSystem, type SystemContext } from '../../context.js';
import { coordinatorContextOf, findCoordinatorHost, handedTo } from '../../coordinator.js';
import { checkPlanAgainstSystem, experimentTarget } from '../../experiment.js';
import { localSweepExpiry } from '../../sweep-expiry.js';
import { projectRootOf } from '../shared.js';
import { planRefOf, type ExperimentOptions } from './options.js';

function printWritten(plan: Plan, w: Awaited<ReturnType<typeof writeResults>>, counts: { done: number; total: number; failed: number; pending: number }): void {
  console.log(`plan ${plan.name}: ${counts.done}/${counts.total} runs done, ${counts.failed} failed, ${counts.pending} pending`);
  for (const p of w.problems.slice(0, 10)) console.log(`  ! ${p}`);
  console.log(`report: ${w.report}`);
  console.log(`csv:    ${w.csv}`);
}

export default async function experimentExecutor(o: ExperimentOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  let closeConnector: (() => Promise<void>) | undefined;
  try {
    if (o.failurePolicy !== undefined) parseFailurePolicy(o.failurePolicy);
    const projectRoot = projectRootOf(context);
    const plan = loadPlan(context.root, planRefOf(context.root, projectRoot, o.plan));
    const settings = coordinatorSettings(plan, o.coordinator);
    if (o.coordinator === '') throw new OptionError('coordinator', o.coordinator, 'a host of the platform or a role of the system');
    if ((o.stop || o.now || o.detach) && !settings) {
      const opt = o.stop ? 'stop' : o.now ? 'now' : 'detach';
      throw new OptionError(opt, true, `together with --coordinator=<host> (or coordinator = "<host>" in ${plan.file}): --${opt} is about a coordinator`);
    }
    if (o.now && !o.stop) throw new OptionError('now', true, 'together with --stop (stop the coordinator now, not after the run in flight)');
    const ctx = await openSystem(context.root, projectRoot, plan.platform, { requireSecrets: !o.stop });
    checkPlanAgainstSystem(ctx, plan);
    if (settings) findCoordinatorHost(ctx, plan, settings.host); // a wrong host: before any connection
    const connector = ctx.platform.platform.createConnector(ctx.platform.cfg, ctx.platform.ctx);
    closeConnector = () => connector.close();
    const output = o.output ?? 'auto';
    const overrides = {
      output: output === 'auto' ? ('plain' as const) : output,
      ...(o.failurePolicy ? { failurePolicy: o.failurePolicy } : {}),
      ...(o.timeout ? { timeoutMs: parseDuration(o.timeout) } : {}),
    };
    const target = experimentTarget(ctx, connector, { overrides, output: overrides.output });
    // A platform whose machines expire looks at the sweep's length first (warns, or extends them).
    // One LongRun for the whole sweep: the platform's bound on extensions spans all its checks.
    const pl = ctx.platform.platform;
    const expires = !o.stop && !!(pl.beforeLongRun || pl.expiry || pl.expiryHandOff);
    const estimate = expires ? estimateSweep((await planRows(context.root, plan)).rows, plan, o.parallelRuns ?? 1) : { runs: 0, ms: 0, upperBound: true };
    const longRun = { what: `plan ${plan.name} (${estimate.runs} run(s) to go)`, plan: plan.name, estimatedMs: estimate.ms, upperBound: estimate.upperBound, log: (l: string) => console.log(l), extendedHours: { value: 0 } };
    if (expires && pl.beforeLongRun && estimate.runs > 0) await pl.beforeLongRun(ctx.platform.cfg, ctx.platform.ctx, longRun);
    if (settings) return await withCoordinator(ctx, plan, target, o, output, longRun);

    // A sweep handed to a coordinator that still runs it must not also run here.
    const handed = await handedTo(context.root, plan);
    if (handed) {
      const host = ctx.inventory.find((h) => h.name === handed);
      const live = host ? (await probeCoordinator(await connector.connect(host), plan.name)).alive : false;
      if (live) {
        throw new CoordinatorError(`plan ${plan.name} runs on a coordinator on ${handed}: running it here as well would run its runs twice`, `Follow it with --coordinator=${handed}, stop it with --coordinator=${handed} --stop, or see it with experiment-status.`);
      }
    }
    // While it runs: the expiry in the progress lines, checked again as the estimate moves.
    const expiry = expires ? await localSweepExpiry(ctx.platform, longRun) : undefined;
    const r = await runPlan({
      root: context.root,
      plan,
      ...(expiry ? { expiry } : {}),
      signal: interruptSignal(), // Ctrl-C: stop between runs; runs in flight are collected next time
      target,
      ...(o.only ? { only: o.only } : {}),
      rerunFailed: !!o.rerunFailed,
      parallelRuns: o.parallelRuns ?? 1,
      output,
    });
    const written = await writeResults(context.root, plan);
    printWritten(plan, written, r);
    return { success: r.failed === 0 && r.pending === 0 };
  } catch (err) {
    return reportError(err);
  } finally {
    await closeConnector?.();
  }
}

/**
 * How long the runs not done yet should take: their number × the mean duration of the runs done so
 * far (an upper bound when none is done: the plan's timeout per run), over the parallel runs.
 */
export function estimateSweep(rows: RunRow[], plan: Plan, parallelRuns: number): { runs: number; ms: number; upperBound: boolean } {
  const left = rows.filter((r) => r.status !== 'done').length;
  const done = rows.filter((r) => r.status === 'done' && r.durationMs !== undefined).map((r) => r.durationMs!);
  const per = done.length ? done.reduce((a, b) => a + b, 0) / done.length : plan.timeoutMs;
  return { runs: left, ms: Math.round((left * per) / Math.max(1, parallelRuns)), upperBound: done.length === 0 };
}

async function withCoordinator(ctx: SystemContext, plan: Plan, target: ReturnType<typeof experimentTarget>, o: ExperimentOptions, output: 'auto' | 'tty' | 'plain' | 'json', longRun: LongRun): Promise<{ success: boolean }> {
  const cctx = coordinatorContextOf(ctx, plan, target, { ...(o.coordinator !== undefined ? { coordinator: o.coordinator } : {}), output, signal: interruptSignal() });
  if (o.stop) {
    await stopCoordinator(cctx, !!o.now);
    return { success: true };
  }
  // The coordinator watches the machines' expiry itself (and extends them, when the platform says how).
  const p = ctx.platform;
  const expiry = p.platform.expiryHandOff ? await p.platform.expiryHandOff(p.cfg, p.ctx, longRun) : undefined;
  const r = await handOff(cctx, {
    ...(expiry ? { expiry } : {}),
    ...(o.only ? { only: o.only } : {}),
    rerunFailed: !!o.rerunFailed,
    parallelRuns: o.parallelRuns ?? 1,
    ...(o.detach ? { detach: true } : {}),
  });
  const again = `nx run ${ctx.name}:experiment --plan=${plan.name} --coordinator=${r.host.name}`;
  const status = `nx run ${ctx.name}:experiment-status --plan=${plan.name}`;
  const collect = `nx run ${ctx.name}:collect --plan=${plan.name}`;
  if (r.outcome === 'acknowledged' || r.outcome === 'detached') {
    console.log(`${r.outcome === 'detached' ? 'detached' : 'handed over'}: the sweep goes on on ${r.host.name} (pid ${r.pid ?? '?'}) without this machine.`);
    console.log(`  follow:  ${again}\n  status:  ${status}\n  collect: ${collect}   (fetches finished runs, verified)\n  stop:    ${again} --stop [--now]`);
    return { success: true };
  }
  if (r.outcome === 'died') {
    throw new CoordinatorError(`the coordinator on ${r.host.name} (pid ${r.pid ?? '?'}) is gone without finishing the sweep`, `Run ${again} to start it again (it resumes: done runs are kept), and look at ~/.labrig/coordinator/${plan.name}/coordinator.log on ${r.host.name}.`);
  }
  // Ended (or nothing was left to run): bring its runs here and plot, as after a local sweep.
  let refused = 0;
  if (r.outcome === 'ended') {
    const pulled = await pullRuns({ root: ctx.root, plan, remote: await target.connect(r.host), signal: interruptSignal(), log: (l) => console.log(l) });
    console.log(`collected ${pulled.runs.length} run(s) from ${r.host.name} (${pulled.files} files, ${pulled.bytes} bytes, every sha256 verified; ${pulled.already} were here already)`);
    for (const x of pulled.refused) console.log(`✖ ${x.run}${x.file ? ` ${x.file}` : ''}: ${x.reason}`);
    refused = pulled.refused.length;
  }
  const written = await writeResults(ctx.root, plan);
  const counts = { done: written.done, failed: written.failed, total: written.rows, pending: written.rows - written.done - written.failed };
  printWritten(plan, written, counts);
  if (counts.done < counts.total && r.outcome === 'ended') console.log(`  not done here: see ${status}`);
  return { success: refused === 0 && counts.done === counts.total };
}
