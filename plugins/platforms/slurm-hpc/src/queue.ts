/**
 * The job queue as the launcher reads it: lookups by job name, batched so that each poll is ONE
 * squeue call for every name asked for meanwhile (status of many processes on many hosts costs
 * one query, never one per job or task), plus at most one sacct call for names with no job left
 * in the queue, while the cluster keeps accounting.
 *
 * Batching: the first lookup for a login node opens a batch that is sent after a short window
 * (default 25 ms) or, when a poll of that node is in flight, right after it; lookups arriving
 * meanwhile join the open batch.
 */
import type { Host, Remote } from '@labrig/core';
import { lastLines, quote } from '@labrig/core';
import { SlurmUnavailable } from './errors.js';
import { parseSacct, buildSacctArgv, saysAccountingDisabled } from './sacct.js';
import type { LaunchSettings } from './settings.js';
import { isTerminal, parseSqueue, buildSqueueArgv, type QueueEntry } from './squeue.js';

/** The settings a query depends on. */
export type QuerySettings = Pick<LaunchSettings, 'binDir' | 'accounting'>;

export interface LookupOptions {
  /** Also ask sacct for the exit status of names with no job left in the queue. Default true. */
  exitCodes?: boolean;
  signal?: AbortSignal;
}

interface Batch {
  names: Set<string>;
  exitCodes: boolean;
  result: Promise<QueueEntry[]>;
}

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Settle with `p`, or reject as soon as `signal` aborts. */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function hostKey(h: Host, s: QuerySettings): string {
  return `${h.user ?? ''}@${h.address}:${h.port ?? 22}|${s.binDir ?? ''}|${s.accounting}`;
}

/** Run a Slurm query; a failure to answer is SlurmUnavailable (with the command's own words). */
export async function runQuery(remote: Remote, argv: string[], signal?: AbortSignal): Promise<string> {
  let r;
  try {
    r = await remote.exec(argv, { allowFailure: true, ...(signal ? { signal } : {}) });
  } catch (cause) {
    throw new SlurmUnavailable(remote.host.name, quote(argv), (cause as Error).message, { cause });
  }
  if (r.exitCode !== 0) {
    throw new SlurmUnavailable(remote.host.name, quote(argv), lastLines(r.stderr || r.stdout, 3) || `exit ${r.exitCode}`);
  }
  return r.stdout;
}

/** Entries of squeue completed with what sacct knows: exit codes, and jobs squeue no longer lists. */
function mergeAccounting(queued: QueueEntry[], accounted: QueueEntry[]): QueueEntry[] {
  const byId = new Map(queued.map((e) => [e.jobId, e]));
  const out = [...queued];
  for (const a of accounted) {
    const q = byId.get(a.jobId);
    if (!q) out.push(a);
    else if (a.exitCode !== undefined) q.exitCode = a.exitCode;
  }
  return out;
}

export class JobQueue {
  /** squeue calls made so far (metrics, specs). */
  squeueCalls = 0;
  /** sacct calls made so far. */
  sacctCalls = 0;
  private readonly open = new Map<string, Batch>();
  private readonly inFlight = new Map<string, Promise<unknown>>();
  /** Login nodes whose sacct said accounting is disabled: not asked again. */
  private readonly noAccounting = new Set<string>();
  private readonly windowMs: number;

  constructor(opts: { windowMs?: number } = {}) {
    this.windowMs = opts.windowMs ?? 25;
  }

  /** Jobs of these names (every state Slurm still knows), from the next batched poll of `remote`'s login node. */
  lookup(remote: Remote, s: QuerySettings, names: readonly string[], o: LookupOptions = {}): Promise<QueueEntry[]> {
    const key = hostKey(remote.host, s);
    let batch = this.open.get(key);
    if (!batch) {
      const b: Batch = { names: new Set(), exitCodes: false, result: Promise.resolve([]) };
      const before = this.inFlight.get(key);
      b.result = (before ? before.then(noop, noop) : delay(this.windowMs)).then(() => {
        this.open.delete(key);
        const run = this.poll(remote, s, key, [...b.names], b.exitCodes);
        this.inFlight.set(key, run);
        void run.then(noop, noop).finally(() => {
          if (this.inFlight.get(key) === run) this.inFlight.delete(key);
        });
        return run;
      });
      this.open.set(key, b);
      batch = b;
    }
    for (const n of names) batch.names.add(n);
    if (o.exitCodes !== false) batch.exitCodes = true;
    const wanted = new Set(names);
    return raceAbort(
      batch.result.then((all) => all.filter((e) => wanted.has(e.jobName))),
      o.signal,
    );
  }

  /** Every job of the user still in the queue (pending, running, ending): one squeue call, not batched. */
  async listMine(remote: Remote, s: QuerySettings, signal?: AbortSignal): Promise<QueueEntry[]> {
    this.squeueCalls++;
    return parseSqueue(await runQuery(remote, buildSqueueArgv(s, undefined, { allStates: false }), signal));
  }

  private async poll(remote: Remote, s: QuerySettings, key: string, names: string[], exitCodes: boolean): Promise<QueueEntry[]> {
    if (names.length === 0) return [];
    this.squeueCalls++;
    const entries = parseSqueue(await runQuery(remote, buildSqueueArgv(s, names)));
    if (!exitCodes || s.accounting === 'off' || this.noAccounting.has(key)) return entries;
    const ended = names.filter((n) => !entries.some((e) => e.jobName === n && !isTerminal(e.state)));
    if (ended.length === 0) return entries;
    this.sacctCalls++;
    const r = await remote.exec(buildSacctArgv(s, ended), { allowFailure: true });
    if (r.exitCode !== 0) {
      // No accounting on this cluster: squeue alone from now on. Any other failure: no exit codes this time.
      if (saysAccountingDisabled(`${r.stderr}\n${r.stdout}`)) this.noAccounting.add(key);
      return entries;
    }
    return mergeAccounting(entries, parseSacct(r.stdout));
  }
}

function noop(): void {}
