/**
 * Prepare step `numa-offline`: the CPUs of one NUMA node (the second by default) taken offline,
 * so a benchmark runs on one node only (the Linux scheduler misbehaves across nodes). Reads
 * /sys/devices/system/node/node<N>/cpulist and writes 0 to /sys/devices/system/cpu/cpu<i>/online.
 * Not persistent: after a reboot the check finds them online and the step runs again. A host
 * without that node has nothing to do.
 */
import type { Step, StepContext } from '@labrig/core';
import { CommandFailed } from '@labrig/core';
import type { NumaConfig } from '../config.js';
import { runScript, runScriptOk, systemPath, type HostSystem } from '../host-system.js';

export const NUMA_OFFLINE = 'numa-offline';

/** `0-3,8,10-11` (the kernel's cpulist format) -> [0,1,2,3,8,10,11]. Throws TypeError on anything else. */
export function parseCpuList(text: string): number[] {
  const list = text.trim();
  if (list === '') return [];
  const cpus: number[] = [];
  for (const part of list.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new TypeError(`not a CPU list: ${JSON.stringify(text)}`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) throw new TypeError(`not a CPU list: ${JSON.stringify(text)}`);
    for (let c = from; c <= to; c++) cpus.push(c);
  }
  return cpus;
}

/** Prints each file's content (`-` when it is missing), one per line. */
const READ_SCRIPT = 'for f in "$@"; do cat "$f" 2>/dev/null || echo -; done';
/** As root: 0 into each online file. */
const OFFLINE_SCRIPT = 'for f in "$@"; do echo 0 > "$f" || { echo "cannot write $f" >&2; exit 4; }; done';

interface CpuState {
  cpu: number;
  file: string;
  /** '1', '0', or '-' when the CPU has no online switch. */
  online: string;
}

export interface NumaOutput {
  node: number;
  /** The node's CPUs, now offline ([] when the host has no such node). */
  cpus: number[];
  /** The CPUs this run took offline. */
  changed: number[];
}

/** The node's CPUs and their online state; undefined when the host has no such node. */
async function readNode(ctx: StepContext, sys: HostSystem, node: number): Promise<CpuState[] | undefined> {
  const listFile = systemPath(sys, `/sys/devices/system/node/node${node}/cpulist`);
  const list = (await runScriptOk(ctx.remote, sys, `read ${listFile}`, READ_SCRIPT, [listFile], { signal: ctx.signal })).stdout.trim();
  if (list === '-') return undefined;
  const cpus = parseCpuList(list);
  if (cpus.length === 0) return [];
  const files = cpus.map((c) => systemPath(sys, `/sys/devices/system/cpu/cpu${c}/online`));
  const states = (await runScriptOk(ctx.remote, sys, 'read cpu online files', READ_SCRIPT, files, { signal: ctx.signal })).stdout.split('\n');
  return cpus.map((cpu, i) => ({ cpu, file: files[i]!, online: (states[i] ?? '-').trim() }));
}

export function numaStep(n: NumaConfig, sys: HostSystem): Step<NumaOutput> {
  const node = n.offlineNode;
  return {
    name: NUMA_OFFLINE,
    title: `NUMA node ${node} CPUs offline`,
    async check(ctx) {
      const cpus = await readNode(ctx, sys, node);
      if (cpus === undefined) ctx.log(`no NUMA node ${node} on ${ctx.host.name}: nothing to take offline`);
      return cpus === undefined || cpus.every((c) => c.online === '0') ? { done: true, output: { node, cpus: cpus?.map((c) => c.cpu) ?? [], changed: [] } } : false;
    },
    async run(ctx) {
      const cpus = (await readNode(ctx, sys, node)) ?? [];
      const fixed = cpus.filter((c) => c.online === '-');
      if (fixed.length > 0) {
        throw new CommandFailed(ctx.host.name, `${NUMA_OFFLINE} node ${node}`, {
          exitCode: 1,
          signal: null,
          stderr: `cpu${fixed.map((c) => c.cpu).join(', cpu')} of node ${node} cannot be taken offline (no online file)`,
        });
      }
      const up = cpus.filter((c) => c.online !== '0');
      if (up.length > 0) {
        const r = await runScript(ctx.remote, sys, OFFLINE_SCRIPT, up.map((c) => c.file), { asRoot: true, signal: ctx.signal });
        if (r.exitCode !== 0) throw new CommandFailed(ctx.host.name, `${NUMA_OFFLINE} node ${node}`, r);
        ctx.log(`took cpu ${up.map((c) => c.cpu).join(',')} of node ${node} offline`);
      }
      const after = (await readNode(ctx, sys, node)) ?? [];
      const still = after.filter((c) => c.online !== '0');
      if (still.length > 0) {
        throw new CommandFailed(ctx.host.name, `${NUMA_OFFLINE} node ${node}`, { exitCode: 1, signal: null, stderr: `cpu${still.map((c) => c.cpu).join(', cpu')} still online after writing 0` });
      }
      return { node, cpus: cpus.map((c) => c.cpu), changed: up.map((c) => c.cpu) };
    },
  };
}
