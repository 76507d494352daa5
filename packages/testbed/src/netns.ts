/**
 * The network namespace for the login host and the hosts behind it.
 *
 *   root namespace  ── veth (a 10.x /30) ──  namespace labrig-tb-<id>
 *   (this machine)     rootAddress              nsAddress: the login host's sshd
 *                                               127.x on the namespace's own lo: hosts behind the login host
 *
 * From the root namespace only the login host answers; the hosts behind it listen on the
 * namespace's loopback, which the root namespace cannot reach (a connection there is refused).
 */
import { execa } from 'execa';
import { TestbedError, describeError } from './errors.js';
import { netnsName, vethNames, vethSubnet } from './naming.js';
import type { TestbedNetns } from './types.js';

async function ip(args: string[]): Promise<string> {
  try {
    const { stdout } = await execa('ip', args, { stdin: 'ignore' });
    return stdout;
  } catch (err) {
    throw new TestbedError('NETNS', `ip ${args.join(' ')} failed: ${describeError(err)}`, { cause: err });
  }
}

export async function netnsExists(name: string): Promise<boolean> {
  const out = await ip(['netns', 'list']);
  return out.split('\n').some((l) => l.split(' ')[0] === name);
}

async function linkExists(name: string): Promise<boolean> {
  const r = await execa('ip', ['link', 'show', 'dev', name], { reject: false, stdin: 'ignore' });
  return r.exitCode === 0;
}

async function addressInUse(address: string): Promise<boolean> {
  const out = await ip(['-o', '-4', 'addr', 'show']);
  const prefix = address.split('.').slice(0, 3).join('.') + '.';
  return out.split('\n').some((l) => l.includes(` ${prefix}`));
}

/** Makes the namespace and veth pair unless present; returns what to record in state. */
export async function ensureNetns(id: string, existing?: TestbedNetns): Promise<TestbedNetns> {
  const name = netnsName(id);
  const { vethRoot, vethNs } = vethNames(id);
  if (existing && (await netnsExists(existing.name)) && (await linkExists(existing.vethRoot))) return existing;
  let subnet = vethSubnet(id);
  for (let attempt = 1; attempt < 20 && (await addressInUse(subnet.rootAddress)); attempt++) {
    subnet = vethSubnet(id, attempt);
  }
  if (!(await netnsExists(name))) await ip(['netns', 'add', name]);
  if (await linkExists(vethRoot)) await ip(['link', 'del', vethRoot]);
  await ip(['link', 'add', vethRoot, 'type', 'veth', 'peer', 'name', vethNs]);
  await ip(['link', 'set', vethNs, 'netns', name]);
  await ip(['addr', 'add', `${subnet.rootAddress}/${subnet.prefixLength}`, 'dev', vethRoot]);
  await ip(['link', 'set', vethRoot, 'up']);
  await ip(['-n', name, 'addr', 'add', `${subnet.nsAddress}/${subnet.prefixLength}`, 'dev', vethNs]);
  await ip(['-n', name, 'link', 'set', vethNs, 'up']);
  await ip(['-n', name, 'link', 'set', 'lo', 'up']);
  return { name, vethRoot, vethNs, ...subnet };
}

/** Removes the veth pair and the namespace; nothing when absent. */
export async function removeNetns(ns: TestbedNetns): Promise<void> {
  if (await linkExists(ns.vethRoot)) await ip(['link', 'del', ns.vethRoot]);
  if (await netnsExists(ns.name)) await ip(['netns', 'del', ns.name]);
}
