/**
 * The network namespace for the login host and the hosts behind it.
 *
 *   root namespace  ── veth (a 10.x /30) ──  namespace labrig-tb-<id>
 *   (this machine)     rootAddress              nsAddress: the login host's sshd
 *                                               127.x on the namespace's own lo: hosts behind the login host
 *
 * From the root namespace only the login host answers; the hosts behind it listen on the
 * namespace's loopback, which the root namespace cannot reach (a connection there is refused).
 * `uplink` puts a tc token bucket on the root side of the veth: what this machine sends into the
 * namespace is slow, what the hosts inside send each other is not (a laptop's uplink → a cluster).
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

/** Bits per second of a tc rate (`500kbit`, `20mbit`, `1.5gbit`), or undefined when it is none of those. */
export function parseRate(rate: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(kbit|mbit|gbit)$/.exec(rate.trim().toLowerCase());
  if (!m) return undefined;
  const bits = Number(m[1]) * { kbit: 1e3, mbit: 1e6, gbit: 1e9 }[m[2] as 'kbit' | 'mbit' | 'gbit'];
  return bits > 0 ? bits : undefined;
}

async function tc(args: string[], allowFailure = false): Promise<void> {
  try {
    await execa('tc', args, { stdin: 'ignore' });
  } catch (err) {
    if (!allowFailure) throw new TestbedError('NETNS', `tc ${args.join(' ')} failed: ${describeError(err)}`, { cause: err });
  }
}

/**
 * Set (or remove, for '') the uplink rate limit: a token bucket on vethRoot's egress. Its burst is
 * 10 ms of the rate (at least 16 KiB) and its queue about 200 ms, so a TCP stream runs at the rate
 * instead of bursting past it. Returns the record with `uplink` set or cleared.
 */
export async function applyUplink(ns: TestbedNetns, rate: string): Promise<TestbedNetns> {
  const { uplink: _old, ...rest } = ns;
  if (!rate) {
    if (_old) await tc(['qdisc', 'del', 'dev', ns.vethRoot, 'root'], true);
    return rest;
  }
  const bits = parseRate(rate);
  if (bits === undefined) throw new TestbedError('BAD_OPTION', `--uplink: "${rate}" is not a rate like 500kbit, 20mbit or 1gbit`);
  const bytes = bits / 8;
  const burst = Math.max(16 * 1024, Math.round(bytes / 100));
  const limit = burst + Math.round(bytes / 5);
  await tc(['qdisc', 'replace', 'dev', ns.vethRoot, 'root', 'tbf', 'rate', `${bits}bit`, 'burst', String(burst), 'limit', String(limit)]);
  return { ...rest, uplink: rate };
}

/** Bytes this machine has sent into the namespace over the veth so far (`ip -s link`'s TX counter of its root end). */
export async function uplinkBytes(ns: TestbedNetns): Promise<number> {
  const out = await ip(['-s', '-j', 'link', 'show', 'dev', ns.vethRoot]);
  const bytes = (JSON.parse(out) as { stats64?: { tx?: { bytes?: number } } }[])[0]?.stats64?.tx?.bytes;
  if (typeof bytes !== 'number') throw new TestbedError('NETNS', `ip -s -j link show dev ${ns.vethRoot}: no TX byte counter in ${out.slice(0, 200)}`);
  return bytes;
}
