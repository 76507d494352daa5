/**
 * provision: launch the instances of `[instances]` that the deployment lacks (one RunInstances per
 * index, tags and client token with the request), record each in the state before and right after
 * the call, wait until they run and their sshd answers, and return the inventory. A second run
 * finds the instances by their deployment tag and launches nothing; a run that failed part-way
 * resumes (a launch whose answer was lost is found again by its client token).
 */
import { randomUUID } from 'node:crypto';
import type { Host, PlatformContext } from '@labrig/core';
import { ConfigError, parseDuration } from '@labrig/core';
import { configFileOf, folderOf, type AwsPlatformConfig, type InstancesSection } from './config.js';
import { ec2For, type Ec2Api, type Ec2Instance } from './ec2.js';
import { AwsApiError, AwsConflict, AwsUnreachableError } from './errors.js';
import { listHosts } from './inventory.js';
import { resolveLostLaunches } from './lost-launches.js';
import { runInstancesInput } from './launch-request.js';
import { DEPLOYMENT_TAG, INDEX_TAG, instanceName, newDeploymentId } from './naming.js';
import type { Progress } from './progress.js';
import { waitForSsh } from './ssh-ready.js';
import { readState, recordedIds, writeState, type AwsState, type LaunchRecord } from './state.js';
import { withStateLock } from './state-lock.js';
import { waitUntilRunning } from './wait-states.js';

/** The index of an instance in its deployment: the labrig:index tag, else the Name's numeric suffix. */
function indexOf(i: Ec2Instance): number | undefined {
  const tagged = i.tags[INDEX_TAG];
  return tagged !== undefined && /^\d+$/.test(tagged) ? Number(tagged) : i.index;
}

/** The state to work with: the recorded one (checked against the config) or a new one, saved at once. */
function openState(cfg: AwsPlatformConfig, ctx: PlatformContext): AwsState {
  const file = configFileOf(ctx);
  const recorded = readState(ctx.stateDir);
  const live = recorded ? recorded.launches.length > 0 : false;
  if (recorded && live && cfg.deployment && cfg.deployment !== recorded.deployment) {
    throw new AwsConflict(
      `${ctx.stateDir} records deployment ${recorded.deployment}, but ${file} sets deployment = "${cfg.deployment}"`,
      `Run the teardown target first (it releases ${recorded.deployment}), or set deployment = "${recorded.deployment}" in ${file}.`,
    );
  }
  if (recorded && live && recorded.region !== cfg.region) {
    throw new AwsConflict(
      `${ctx.stateDir} records instances in ${recorded.region}, but ${file} sets region = "${cfg.region}"`,
      `Run the teardown target first (it uses the recorded region ${recorded.region}), then provision in ${cfg.region}.`,
    );
  }
  const state: AwsState = recorded && live ? recorded : { version: 1, deployment: cfg.deployment ?? recorded?.deployment ?? newDeploymentId(folderOf(ctx)), region: cfg.region, launches: [] };
  if (state !== recorded) writeState(ctx.stateDir, state);
  return state;
}

/** Did AWS answer "no" (nothing was launched), rather than the answer being lost? */
function isRefusal(err: unknown): boolean {
  if (!(err instanceof AwsApiError) || err instanceof AwsUnreachableError) return false;
  const status = (err.cause as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  return status !== undefined && status >= 400 && status < 500;
}

/**
 * Launch instance `index`: recorded (with its client token) before the call, its id recorded as
 * soon as the call returns. A refused launch is forgotten (nothing exists); a launch whose answer
 * was lost keeps its record, so teardown and the next provision find it by token.
 */
async function launch(ec2: Ec2Api, instances: InstancesSection, state: AwsState, index: number, stateDir: string): Promise<Ec2Instance> {
  let record = state.launches.find((l) => l.index === index && !l.instanceId);
  if (!record) {
    record = { index, name: instanceName(instances.namePrefix, index), clientToken: randomUUID(), at: new Date().toISOString() };
    state.launches.push(record);
    writeState(stateDir, state);
  }
  const r: LaunchRecord = record;
  try {
    const i = await ec2.runInstance(runInstancesInput(instances, { index, deployment: state.deployment, clientToken: r.clientToken }));
    r.instanceId = i.id;
    return i;
  } catch (err) {
    if (isRefusal(err)) state.launches.splice(state.launches.indexOf(r), 1);
    throw err;
  } finally {
    writeState(stateDir, state);
  }
}

export async function provision(cfg: AwsPlatformConfig, ctx: PlatformContext, progress: Progress): Promise<Host[]> {
  const file = configFileOf(ctx);
  const instances = cfg.instances;
  if (!instances) {
    throw new ConfigError(file, 'instances', 'missing: provision needs an [instances] section (count, namePrefix, imageId and instanceType, or launchTemplate)');
  }
  const waitOpts = {
    intervalMs: parseDuration(cfg.wait.interval, 'wait.interval'),
    progress,
    file,
    stateDir: ctx.stateDir,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  };
  return withStateLock(ctx.stateDir, async () => {
    const state = openState(cfg, ctx);
    const ec2 = await ec2For(cfg, ctx, state.region);
    try {
      await resolveLostLaunches(ec2, state, ctx.stateDir);
      const existing = await ec2.describeInstances([
        { name: `tag:${DEPLOYMENT_TAG}`, values: [state.deployment] },
        { name: 'instance-state-name', values: ['pending', 'running', 'stopping', 'stopped'] },
      ]);
      const stopped = existing.filter((i) => i.state === 'stopping' || i.state === 'stopped');
      if (stopped.length > 0) {
        throw new AwsConflict(
          `instances of deployment ${state.deployment} are stopped: ${stopped.map((i) => `${i.name ?? i.id} (${i.id})`).join(', ')}`,
          `Start them (aws ec2 start-instances --instance-ids ${stopped.map((i) => i.id).join(' ')}) or run the teardown target, then provision again.`,
        );
      }
      const present = new Map(existing.flatMap((i) => (indexOf(i) !== undefined ? [[indexOf(i)!, i] as const] : [])));
      const missing = Array.from({ length: instances.count }, (_, i) => i).filter((i) => !present.has(i));
      progress(
        `deployment ${state.deployment} in ${state.region}: ${instances.count} wanted, ${instances.count - missing.length} present` +
          (missing.length ? `; launching ${missing.map((i) => instanceName(instances.namePrefix, i)).join(', ')}` : '; nothing to launch'),
      );
      for (const [index, i] of present) {
        if (index >= instances.count) progress(`${i.name ?? i.id} (${i.id}) is beyond instances.count = ${instances.count}: left running (teardown releases what provision created)`);
      }
      const launched: Ec2Instance[] = [];
      for (const index of missing) {
        const i = await launch(ec2, instances, state, index, ctx.stateDir);
        progress(`launched ${i.name ?? instanceName(instances.namePrefix, index)} (${i.id})`);
        launched.push(i);
      }
      const starting = [...existing.filter((i) => i.state === 'pending'), ...launched].map((i) => i.id);
      await waitUntilRunning(ec2, starting, { ...waitOpts, timeoutMs: parseDuration(cfg.wait.running, 'wait.running') });
      const hosts = await listHosts(ec2, cfg, ctx);
      await waitForSsh(hosts, { ...waitOpts, timeoutMs: parseDuration(cfg.wait.ssh, 'wait.ssh') });
      progress(`${hosts.length} host(s) ready; ${recordedIds(state).length} instance(s) recorded in ${ctx.stateDir}`);
      return hosts;
    } finally {
      ec2.close();
    }
  });
}
