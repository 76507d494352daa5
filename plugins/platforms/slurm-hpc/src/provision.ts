/**
 * provision: nothing to create on a cluster someone else runs; it checks that the login node
 * answers over SSH and that Slurm answers there (`sinfo`), that the partitions the platform file
 * names exist, and reports the partitions: as the login host's `slurm.partitions` label and in
 * `<stateDir>/cluster.json`.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Connector, Host, PlatformContext } from '@labrig/core';
import { platformFileOf } from '@labrig/core';
import type { SlurmHpcConfig } from './config.js';
import { PartitionNotFound, SlurmUnavailable } from './errors.js';
import { inventoryOf, loginHost } from './inventory.js';
import { runQuery } from './queue.js';
import { describePartitions, parseSinfo, buildSinfoArgv, type Partition } from './sinfo.js';

export const CLUSTER_FILE = 'cluster.json';

export interface ClusterReport {
  checkedAt: string;
  login: string;
  partitions: Partition[];
}

/** Partitions the platform file names, with the field that names each. */
function namedPartitions(cfg: SlurmHpcConfig): { field: string; partition: string }[] {
  return [
    ...(cfg.slurm.partition !== undefined ? [{ field: 'slurm.partition', partition: cfg.slurm.partition }] : []),
    ...Object.entries(cfg.slurm.jobs).flatMap(([name, j]) => (j.partition !== undefined ? [{ field: `slurm.jobs.${name}.partition`, partition: j.partition }] : [])),
  ];
}

async function saveReport(stateDir: string, report: ClusterReport): Promise<void> {
  await mkdir(stateDir, { recursive: true });
  const file = join(stateDir, CLUSTER_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(report, null, 2)}\n`);
  await rename(tmp, file);
}

/** Check the login node and Slurm; the inventory with the partitions reported on the login host. */
export async function provisionCluster(cfg: SlurmHpcConfig, ctx: PlatformContext, connector: Connector): Promise<Host[]> {
  const login = loginHost(cfg, ctx);
  const remote = await connector.connect(login, ctx.signal);
  const argv = buildSinfoArgv(cfg.slurm);
  const partitions = parseSinfo(await runQuery(remote, argv, ctx.signal));
  if (partitions.length === 0) throw new SlurmUnavailable(login.name, argv.join(' '), 'sinfo lists no partition');
  const known = partitions.map((p) => p.name);
  for (const { field, partition } of namedPartitions(cfg)) {
    if (!known.includes(partition)) throw new PartitionNotFound(platformFileOf(basename(ctx.stateDir)), field, partition, known);
  }
  await saveReport(ctx.stateDir, { checkedAt: new Date().toISOString(), login: login.name, partitions });
  return inventoryOf(cfg, ctx, { 'slurm.partitions': describePartitions(partitions) });
}
