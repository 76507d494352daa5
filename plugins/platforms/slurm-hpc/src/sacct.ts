/**
 * sacct, when the cluster keeps accounting: the exit status of jobs that ended (squeue has none)
 * and of jobs that already left squeue (MinJobAge). Many clusters run without accounting
 * (`AccountingStorageType=accounting_storage/none`, as the testbed does): sacct then says
 * "Slurm accounting storage is disabled" and the caller stops asking.
 */
import { expandHostlist } from './hostlist.js';
import type { QueueEntry } from './squeue.js';
import { slurmBin, type LaunchSettings } from './settings.js';

/** How far back sacct looks for jobs of a name (its default is only since midnight). */
const LOOKBACK = 'now-7days';

export function buildSacctArgv(s: Pick<LaunchSettings, 'binDir'>, names: readonly string[]): string[] {
  return [
    slurmBin(s, 'sacct'),
    '--noheader',
    '--parsable2',
    '--allocations',
    `--starttime=${LOOKBACK}`,
    `--name=${names.join(',')}`,
    '--format=JobIDRaw,JobName,State,ExitCode,NodeList',
  ];
}

/** Does sacct's failure say that this cluster keeps no accounting? */
export function saysAccountingDisabled(output: string): boolean {
  return /accounting storage is disabled/i.test(output);
}

/** `2:0` → 2; `0:15` (killed by signal 15) → 143, as a shell reports it. */
export function parseExitCode(text: string): number | undefined {
  const m = /^(\d+):(\d+)$/.exec(text.trim());
  if (!m) return undefined;
  const sig = Number(m[2]);
  return sig > 0 ? 128 + sig : Number(m[1]);
}

/** sacct's lines → entries (state words such as `CANCELLED by 1005` keep their first word). */
export function parseSacct(stdout: string): QueueEntry[] {
  const out: QueueEntry[] = [];
  for (const line of stdout.split('\n')) {
    const [jobId = '', jobName = '', state = '', exit = '', nodes = ''] = line.split('|');
    if (!/^\d+/.test(jobId.trim())) continue;
    const exitCode = parseExitCode(exit);
    out.push({
      jobId: jobId.trim(),
      jobName,
      state: state.trim().split(/\s+/)[0] ?? '',
      reason: 'None',
      nodes: expandHostlist(nodes),
      ...(exitCode !== undefined ? { exitCode } : {}),
    });
  }
  return out;
}
