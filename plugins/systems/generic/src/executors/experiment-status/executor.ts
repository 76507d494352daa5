/**
 * experiment-status: every run of the plan and its state. From the plan's local journal (no host
 * is touched), or, for a sweep handed to a coordinator, from the coordinator's journal over SSH
 * (its runs done / failed / in flight, an ETA, and whether the coordinator is alive).
 */
import type { ExecutorContext } from '@nx/devkit';
import { formatLongDuration, loadPlatform, reportError, stringifyRedacted, type PlatformInstance } from '@labrig/core';
import { coordinatorStatus, formatCoordinatorStatus, formatStatus, loadPlan, planRows } from '@labrig/experiments';
import { openSystem } from '../../context.js';
import { coordinatorOfPlan, findCoordinatorHost } from '../../coordinator.js';
import { projectRootOf } from '../shared.js';
import { planRefOf, type ExperimentOptions } from '../experiment/options.js';

/** When the platform's machines expire (a CloudLab experiment), from what labrig recorded: one line. */
async function printExpiry(p: PlatformInstance | undefined, output: string | undefined): Promise<void> {
  if (output === 'json') return;
  const e = p?.platform.expiry ? await p.platform.expiry(p.cfg, p.ctx).catch(() => undefined) : undefined;
  if (!e) return;
  const left = Date.parse(e.expiresAt) - Date.now();
  console.log(`${e.what} expires ${e.expiresAt} (${left > 0 ? `in ${formatLongDuration(left)}` : 'expired'})`);
}

export default async function experimentStatusExecutor(o: ExperimentOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  let close: (() => Promise<void>) | undefined;
  try {
    const projectRoot = projectRootOf(context);
    const plan = loadPlan(context.root, planRefOf(context.root, projectRoot, o.plan));
    const coordinator = await coordinatorOfPlan(context.root, plan, o.coordinator);
    if (coordinator === undefined) {
      await printExpiry(await loadPlatform(context.root, plan.platform).catch(() => undefined), o.output);
      const { rows } = await planRows(context.root, plan);
      if (o.output === 'json') console.log(stringifyRedacted({ plan: plan.name, runs: rows }));
      else console.log(formatStatus(plan, rows));
      return { success: true };
    }
    const ctx = await openSystem(context.root, projectRoot, plan.platform);
    const host = findCoordinatorHost(ctx, plan, coordinator);
    const connector = ctx.platform.platform.createConnector(ctx.platform.cfg, ctx.platform.ctx);
    close = () => connector.close();
    const s = await coordinatorStatus(context.root, plan, host, await connector.connect(host));
    // The coordinator's view of the expiry is newer than this machine's (it may have extended it).
    if (!s.expiry) await printExpiry(ctx.platform, o.output);
    if (o.output === 'json') console.log(stringifyRedacted({ plan: plan.name, ...s, runs: s.rows, rows: undefined }));
    else console.log(formatCoordinatorStatus(plan, s));
    return { success: s.coordinator !== 'dead' };
  } catch (err) {
    return reportError(err);
  } finally {
    await close?.();
  }
}
