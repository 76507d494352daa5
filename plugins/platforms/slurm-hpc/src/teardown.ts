/**
 * teardown: cancel every job labrig started for this deployment, and only those: the user's jobs
 * whose name has the deployment's job prefix, plus any job id recorded in `<stateDir>/jobs.json`
 * (a job whose record survived a prefix change). Waits until Slurm no longer lists them, then
 * clears the record. Running it again finds nothing and changes nothing.
 */
import type { Connector, PlatformContext } from '@labrig/core';
import type { SlurmHpcConfig } from './config.js';
import { readJobs, updateJobs } from './job-state.js';
import { loginHost } from './inventory.js';
import { SlurmLauncher } from './launcher.js';
import { JobQueue } from './queue.js';
import { launchSettingsOf } from './settings.js';
import type { QueueEntry } from './squeue.js';

/** How long cancelled jobs get to end on TERM before every step is KILLed. */
const GRACE_MS = 5000;

export interface TeardownResult {
  cancelled: QueueEntry[];
}

export async function teardownJobs(cfg: SlurmHpcConfig, ctx: PlatformContext, connector: Connector): Promise<TeardownResult> {
  const s = launchSettingsOf(cfg, ctx);
  const recorded = new Set(Object.values(await readJobs(ctx.stateDir)).map((j) => j.jobId));
  const remote = await connector.connect(loginHost(cfg, ctx), ctx.signal);
  const queue = new JobQueue();
  const ours = (await queue.listMine(remote, s, ctx.signal)).filter((e) => e.jobName.startsWith(s.jobPrefix) || recorded.has(e.jobId));
  await new SlurmLauncher({ settings: s, queue }).cancel(remote, s, ours, GRACE_MS, ctx.signal);
  await updateJobs(ctx.stateDir, (jobs) => (Object.keys(jobs).length > 0 ? {} : undefined));
  return { cancelled: ours };
}
