/**
 * Launches recorded without an instance id: RunInstances was sent but its answer never arrived
 * (network, crash, kill). The client token recorded before the call finds the instance, if one
 * was launched, so neither teardown nor the next provision misses or duplicates it.
 */
import type { Ec2Api } from './ec2.js';
import { writeState, type AwsState } from './state.js';

/** Fill in the instance ids of lost launches (DescribeInstances by client token); saves the state. */
export async function resolveLostLaunches(ec2: Ec2Api, state: AwsState, stateDir: string): Promise<void> {
  const lost = state.launches.filter((l) => !l.instanceId);
  if (lost.length === 0) return;
  const found = await ec2.describeInstances([{ name: 'client-token', values: lost.map((l) => l.clientToken) }]);
  for (const l of lost) {
    const i = found.find((f) => f.clientToken === l.clientToken);
    if (i) l.instanceId = i.id;
  }
  writeState(stateDir, state);
}
