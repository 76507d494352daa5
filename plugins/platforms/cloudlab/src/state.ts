/**
 * The cluster addresses the prepare step found, kept in `<stateDir>/cluster-addresses.json`:
 * written by the coordinator (never on a host), read by the inventory. A record counts only for
 * the machine it was made on (same SSH address) and the same subnet: a new experiment with the
 * same node names does not inherit the old one's addresses.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PlatformStateError } from './errors.js';

export const CLUSTER_ADDRESSES_FILE = 'cluster-addresses.json';

export interface ClusterAddressRecord {
  /** The host's SSH address when it was recorded (ties the record to that machine). */
  address: string;
  clusterAddress: string;
  interface: string;
  subnet: string;
  recordedAt: string;
}

interface StateFile {
  version: 1;
  hosts: Record<string, ClusterAddressRecord>;
}

export function clusterAddressesFile(stateDir: string): string {
  return join(stateDir, CLUSTER_ADDRESSES_FILE);
}

/** Every record, by host name; none when the file does not exist. */
export async function readClusterAddresses(stateDir: string): Promise<Record<string, ClusterAddressRecord>> {
  const file = clusterAddressesFile(stateDir);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new PlatformStateError(file, `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new PlatformStateError(file, 'is not valid JSON', { cause: e });
  }
  const hosts = (data as Partial<StateFile> | null)?.hosts;
  if ((data as Partial<StateFile> | null)?.version !== 1 || hosts === null || typeof hosts !== 'object') {
    throw new PlatformStateError(file, 'is not a cluster address record (version 1 with `hosts`)');
  }
  return hosts;
}

/** The record of `name` when it belongs to that machine and subnet. */
export function currentRecord(
  records: Record<string, ClusterAddressRecord>,
  host: { name: string; address: string },
  subnet: string,
): ClusterAddressRecord | undefined {
  const r = records[host.name];
  return r && r.address === host.address && r.subnet === subnet ? r : undefined;
}

/** Writes to one state file, one at a time (hosts finish their step concurrently in this process). */
const queues = new Map<string, Promise<unknown>>();

/** Add or replace the record of `name` (read-modify-write under a per-file queue, atomic rename). */
export async function recordClusterAddress(stateDir: string, name: string, record: ClusterAddressRecord): Promise<void> {
  const file = clusterAddressesFile(stateDir);
  const write = async (): Promise<void> => {
    const hosts = await readClusterAddresses(stateDir);
    hosts[name] = record;
    const state: StateFile = { version: 1, hosts };
    await mkdir(stateDir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`);
    await rename(tmp, file);
  };
  const next = (queues.get(file) ?? Promise.resolve()).then(write, write);
  queues.set(file, next.catch(() => undefined));
  await next;
}
