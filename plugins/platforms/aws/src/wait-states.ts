/**
 * Waiting for instances to reach a state (running after launch, terminated after teardown) by
 * polling DescribeInstances, with a timeout, progress lines when something changes, and an early
 * failure when a launched instance ends instead of starting.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Ec2Api, Ec2Instance } from './ec2.js';
import { AwsInstanceFailed, AwsWaitTimeout } from './errors.js';
import { formatElapsed, type Progress } from './progress.js';

export interface WaitOptions {
  timeoutMs: number;
  intervalMs: number;
  progress: Progress;
  /** The platform file (for hints) and state folder (for messages). */
  file: string;
  stateDir: string;
  signal?: AbortSignal;
}

const ENDED = new Set(['shutting-down', 'terminated', 'stopping', 'stopped']);

/** Current view of the instances `ids`; an id the answer lacks is `missing` (not yet visible, or long gone). */
async function look(ec2: Ec2Api, ids: string[]): Promise<Map<string, Ec2Instance | undefined>> {
  const found = await ec2.describeInstances([{ name: 'instance-id', values: ids }]);
  const byId = new Map(found.map((i) => [i.id, i]));
  return new Map(ids.map((id) => [id, byId.get(id)]));
}

const label = (id: string, i: Ec2Instance | undefined) => `${i?.name ?? id} (${id}): ${i?.state ?? 'not visible yet'}`;

/**
 * Poll until `done` holds for every instance; `check` may throw to stop early. Returns the last view.
 * `what` names the target state in progress lines and the timeout error.
 */
async function pollUntil(
  ec2: Ec2Api,
  ids: string[],
  what: string,
  o: WaitOptions & { done: (i: Ec2Instance | undefined) => boolean; check?: (id: string, i: Ec2Instance | undefined) => void; hint: string },
): Promise<Map<string, Ec2Instance | undefined>> {
  const started = Date.now();
  let last = '';
  for (;;) {
    o.signal?.throwIfAborted();
    const view = await look(ec2, ids);
    for (const [id, i] of view) o.check?.(id, i);
    const waiting = [...view].filter(([, i]) => !o.done(i));
    const line = `${ids.length - waiting.length}/${ids.length} ${what}${waiting.length ? ` (waiting for ${waiting.map(([id, i]) => label(id, i)).join(', ')})` : ''}`;
    if (line !== last) o.progress(`${line} after ${formatElapsed(Date.now() - started)}`);
    last = line;
    if (waiting.length === 0) return view;
    if (Date.now() - started >= o.timeoutMs) throw new AwsWaitTimeout(what, o.timeoutMs, waiting.map(([id, i]) => label(id, i)), o.hint);
    await sleep(Math.min(o.intervalMs, Math.max(0, o.timeoutMs - (Date.now() - started))), undefined, o.signal ? { signal: o.signal } : {});
  }
}

/** Until every instance runs; an instance that ends instead fails at once (AwsInstanceFailed). */
export async function waitUntilRunning(ec2: Ec2Api, ids: string[], o: WaitOptions): Promise<Ec2Instance[]> {
  if (ids.length === 0) return [];
  const view = await pollUntil(ec2, ids, 'running', {
    ...o,
    done: (i) => i?.state === 'running',
    check: (id, i) => {
      if (i && ENDED.has(i.state)) throw new AwsInstanceFailed(i.name ?? id, id, i.state, i.stateReason, o.stateDir);
    },
    hint: `Instances can take minutes to start: raise wait.running in ${o.file}. What was launched is recorded in ${o.stateDir}: the teardown target releases it, provision again resumes.`,
  });
  return [...view.values()].filter((i): i is Ec2Instance => i !== undefined);
}

/** Until every instance is terminated (or no longer listed at all). */
export async function waitUntilTerminated(ec2: Ec2Api, ids: string[], o: WaitOptions): Promise<void> {
  if (ids.length === 0) return;
  await pollUntil(ec2, ids, 'terminated', {
    ...o,
    done: (i) => i === undefined || i.state === 'terminated',
    hint: `Termination was requested; raise wait.terminated in ${o.file} or check the instances in the EC2 console, then run teardown again (it only waits for what is left).`,
  });
}
