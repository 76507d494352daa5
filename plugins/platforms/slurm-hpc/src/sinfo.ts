/** sinfo: the cluster's partitions and their nodes, as provision reports them. */
import { expandHostlist } from './hostlist.js';
import { slurmBin, type LaunchSettings } from './settings.js';

export interface Partition {
  name: string;
  /** The partition jobs go to when they name none (`*` in sinfo). */
  isDefault: boolean;
  /** `up`, `down`, `drain`, `inact`. */
  available: string;
  timeLimit: string;
  nodes: string[];
  /** Node count per state (`idle`, `mixed`, `allocated`, `down*`, ...). */
  states: Record<string, number>;
}

export function buildSinfoArgv(s: Pick<LaunchSettings, 'binDir'>): string[] {
  return [slurmBin(s, 'sinfo'), '--noheader', '--format=%P|%a|%l|%D|%T|%N'];
}

/** sinfo's lines (one per partition and node state) → partitions, in sinfo's order. */
export function parseSinfo(stdout: string): Partition[] {
  const parts = new Map<string, Partition>();
  for (const line of stdout.split('\n')) {
    const [rawName = '', available = '', timeLimit = '', count = '', state = '', nodes = ''] = line.trim().split('|');
    if (rawName === '') continue;
    const name = rawName.replace(/\*$/, '');
    const p = parts.get(name) ?? { name, isDefault: rawName.endsWith('*'), available, timeLimit, nodes: [], states: {} };
    p.nodes.push(...expandHostlist(nodes));
    if (state !== '') p.states[state] = (p.states[state] ?? 0) + (Number(count) || 0);
    parts.set(name, p);
  }
  return [...parts.values()];
}

/** `debug*(up, 2 nodes: 1 idle, 1 mixed)` per partition, for labels and messages. */
export function describePartitions(ps: readonly Partition[]): string {
  return ps
    .map((p) => {
      const states = Object.entries(p.states).map(([st, n]) => `${n} ${st}`).join(', ');
      return `${p.name}${p.isDefault ? '*' : ''}(${p.available}, ${p.nodes.length} node${p.nodes.length === 1 ? '' : 's'}${states ? `: ${states}` : ''})`;
    })
    .join(' ');
}
