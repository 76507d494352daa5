/**
 * teardown: terminate exactly the instances the state records (never one found any other way),
 * in the region they were launched in, wait until they are gone, then clear the state. An
 * instance whose deployment tag does not match the state is left alone (a hand-edited or foreign
 * state must not terminate someone else's machine). Safe to run again: with no state it says so.
 */
import type { PlatformContext } from '@labrig/core';
import { parseDuration } from '@labrig/core';
import { configFileOf, type AwsPlatformConfig } from './config.js';
import { ec2For } from './ec2.js';
import { resolveLostLaunches } from './lost-launches.js';
import { DEPLOYMENT_TAG } from './naming.js';
import type { Progress } from './progress.js';
import { readState, recordedIds, removeState } from './state.js';
import { withStateLock } from './state-lock.js';
import { waitUntilTerminated } from './wait-states.js';

export async function teardown(cfg: AwsPlatformConfig, ctx: PlatformContext, progress: Progress): Promise<void> {
  await withStateLock(ctx.stateDir, async () => {
    const state = readState(ctx.stateDir);
    if (!state || state.launches.length === 0) {
      progress(`nothing to tear down: no instances recorded in ${ctx.stateDir}`);
      removeState(ctx.stateDir);
      return;
    }
    const ec2 = await ec2For(cfg, ctx, state.region);
    try {
      await resolveLostLaunches(ec2, state, ctx.stateDir);
      const ids = recordedIds(state);
      const found = (ids.length ? await ec2.describeInstances([{ name: 'instance-id', values: ids }]) : []).sort((a, b) => ids.indexOf(a.id) - ids.indexOf(b.id));
      const ours = found.filter((i) => i.tags[DEPLOYMENT_TAG] === state.deployment);
      for (const i of found.filter((f) => !ours.includes(f))) {
        progress(`not terminating ${i.name ?? i.id} (${i.id}): it does not carry ${DEPLOYMENT_TAG} = ${state.deployment}`);
      }
      const alive = ours.filter((i) => i.state !== 'terminated' && i.state !== 'shutting-down');
      if (alive.length > 0) {
        progress(`terminating ${alive.map((i) => `${i.name ?? i.id} (${i.id})`).join(', ')}`);
        await ec2.terminateInstances(alive.map((i) => i.id));
      } else {
        progress(`nothing to terminate: the ${ids.length} recorded instance(s) are already terminated or terminating`);
      }
      await waitUntilTerminated(
        ec2,
        ours.filter((i) => i.state !== 'terminated').map((i) => i.id),
        {
          timeoutMs: parseDuration(cfg.wait.terminated, 'wait.terminated'),
          intervalMs: parseDuration(cfg.wait.interval, 'wait.interval'),
          progress,
          file: configFileOf(ctx),
          stateDir: ctx.stateDir,
          ...(ctx.signal ? { signal: ctx.signal } : {}),
        },
      );
      removeState(ctx.stateDir);
      progress(`released ${alive.length} instance(s) of deployment ${state.deployment}; state cleared`);
    } finally {
      ec2.close();
    }
  });
}
