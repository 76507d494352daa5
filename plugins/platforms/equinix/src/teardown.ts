/**
 * teardown: delete exactly the devices the state file records (never one it does not: not a
 * device found by tag, not one of another workspace), wait until they are gone, forget their
 * host keys, clear the state. Idempotent: a device already gone (404) counts as deleted, and
 * with no state there is nothing to do. What could not be deleted stays recorded.
 */
import { parseDuration, type PlatformContext } from '@labrig/core';
import { resolveFromRoot } from '@labrig/platform-kit';
import type { EquinixConfig } from './config.js';
import { StateMismatch, TeardownIncomplete } from './errors.js';
import { forgetHostKeys } from './forget-host-keys.js';
import type { MetalClient } from './metal/client.js';
import { deploymentTag } from './naming.js';
import type { Report } from './progress.js';
import { settlePending } from './records.js';
import { clearState, readState, shownStatePath, writeState, type DeviceRecord } from './state.js';
import { waitUntilGone } from './wait-gone.js';

export interface TeardownDeps {
  client: MetalClient;
  report: Report;
}

/** Release the recorded devices; TeardownIncomplete (state kept for them) when some could not be deleted. */
export async function teardownDevices(cfg: EquinixConfig, ctx: PlatformContext, deps: TeardownDeps): Promise<void> {
  const { client, report } = deps;
  const stateFile = shownStatePath(ctx.root, ctx.stateDir);
  const state = readState(ctx.stateDir);
  if (!state || state.devices.length === 0) {
    clearState(ctx.stateDir);
    report(`nothing to release: no device recorded in ${stateFile}`);
    return;
  }
  if (state.apiUrl !== cfg.apiUrl) throw new StateMismatch(stateFile, `devices of the API at ${state.apiUrl}`, `the API at ${cfg.apiUrl}`);
  if (state.devices.some((r) => r.id === undefined)) {
    const tag = deploymentTag(state.deployment);
    const tagged = (await client.listProjectDevices(state.project, { tag })).filter((d) => d.tags?.includes(tag));
    settlePending(state, tagged);
    writeState(ctx.stateDir, state);
  }

  const problems: string[] = [];
  const failed: DeviceRecord[] = [];
  const deleting: DeviceRecord[] = [];
  const gone: DeviceRecord[] = [];
  let firstCause: unknown;
  for (const r of state.devices) {
    try {
      if ((await client.deleteDevice(r.id!)) === 'gone') {
        report(`${r.hostname}: already gone (${r.id})`);
        gone.push(r);
      } else {
        report(`${r.hostname}: deleting device ${r.id}`);
        deleting.push(r);
      }
    } catch (e) {
      problems.push(`${r.hostname} (${r.id}): ${(e as Error).message}`);
      failed.push(r);
      firstCause ??= e;
    }
  }
  const still = await waitUntilGone(
    client,
    deleting.map((r) => ({ id: r.id!, hostname: r.hostname })),
    {
      timeoutMs: parseDuration(cfg.wait.deleted),
      intervalMs: parseDuration(cfg.wait.pollInterval),
      report,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    },
  );
  for (const s of still) problems.push(`${s.hostname} (${s.id}) is still ${s.state} after ${cfg.wait.deleted}`);
  gone.push(...deleting.filter((r) => !still.some((s) => s.id === r.id)));
  forgetHostKeys(
    resolveFromRoot(ctx.root, cfg.ssh.knownHosts),
    gone.flatMap((r) => (r.address ? [{ address: r.address, port: r.port ?? 22 }] : [])),
  );

  const left = state.devices.filter((r) => failed.includes(r) || still.some((s) => s.id === r.id));
  if (left.length === 0) {
    clearState(ctx.stateDir);
    report(`released ${gone.length} device(s) of deployment ${state.deployment}`);
    return;
  }
  state.devices = left;
  writeState(ctx.stateDir, state);
  throw new TeardownIncomplete(problems, left.map((r) => r.hostname), { stateFile, cause: firstCause });
}
