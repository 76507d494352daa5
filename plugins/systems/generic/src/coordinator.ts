/**
 * The generic system's side of a coordinator (packages/experiments/src/coordinator): the context
 * a hand-off needs from the system and its platform, and which coordinator a plan's later
 * commands (experiment-status, collect) talk to.
 */
import type { Host } from '@labrig/core';
import { OptionError } from '@labrig/core';
import { readPlanEvents, resolveCoordinatorHost, type CoordinatorContext, type ExperimentTarget, type Plan } from '@labrig/experiments';
import { knownHostsFileOf, type SystemContext } from './context.js';

export { knownHostsFileOf } from './context.js';


export function coordinatorContextOf(ctx: SystemContext, plan: Plan, target: ExperimentTarget, o: { coordinator?: string; output: CoordinatorContext['output']; signal?: AbortSignal }): CoordinatorContext {
  return {
    root: ctx.root,
    plan,
    target,
    inventory: ctx.inventory,
    roles: ctx.roles,
    knownHostsFile: knownHostsFileOf(ctx),
    deployment: plan.platform,
    ...(o.coordinator !== undefined ? { option: o.coordinator } : {}),
    output: o.output,
    ...(o.signal ? { signal: o.signal } : {}),
    log: (l) => console.log(l),
  };
}

/** The host of the newest hand-off recorded in the local plan journal. */
export async function handedTo(root: string, plan: Plan): Promise<string | undefined> {
  const events = await readPlanEvents(root, plan.name);
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i]!;
    if (e.type === 'coordinator-handoff') return e.host;
  }
  return undefined;
}

/**
 * Which coordinator experiment-status and collect read: `--coordinator`, else the host the plan
 * was last handed to (recorded locally). Undefined: the sweep ran here.
 */
export async function coordinatorOfPlan(root: string, plan: Plan, option: string | undefined): Promise<string | undefined> {
  if (option !== undefined) {
    if (!option) throw new OptionError('coordinator', option, 'a host of the platform');
    return option;
  }
  return handedTo(root, plan);
}

export function findCoordinatorHost(ctx: SystemContext, plan: Plan, name: string): Host {
  return resolveCoordinatorHost({ plan, inventory: ctx.inventory, roles: ctx.roles, option: name });
}
