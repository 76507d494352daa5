/**
 * Running a plan: deploy (when there is work), then every run not yet done, on host sets of the
 * task's hosts (`parallelRuns` sets run independent runs at once), each run started detached on
 * its hosts, waited for, collected and verified. The plan's journal is written before each step
 * acts (run-start is durable before a host is touched; run-done only after the collection is
 * sealed), so a labrig killed at any moment resumes exactly: done runs are never repeated, an
 * attempt in flight is collected when its hosts finished it (or waited for while they run it),
 * and run again (next attempt) only when its process is gone without an exit status.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Host, Remote } from '@labrig/core';
import { Aborted, OptionError } from '@labrig/core';
import type { Plan } from '../plan/load.js';
import type { RunSpec } from '../plan/expand.js';
import { collectHost, CollectionFailed, verifyCollected, type CollectedFile } from '../remote/collect.js';
import { remoteRunDir, remoteRunState, startRemoteRun, waitRemoteRun } from '../remote/run-remote.js';
import {
  attemptDir,
  createAttempt,
  foldEvents,
  openPlanJournal,
  readPlanEvents,
  sealCollection,
  storeId,
  writeOnce,
  type PlanEvent,
  type RunState,
} from '../store/run-store.js';
import type { Params } from '../types.js';
import { createProgress, type Progress } from './progress.js';
import { matchesFilter, parseFilter } from './filter.js';

/** What a system plugin gives the experiment engine. */
export interface ExperimentTarget {
  /** Deploy where needed (idempotent: skips what already runs). False: it failed (it reported why). */
  deploy(): Promise<boolean>;
  /** The hosts a run of `task` uses, in order. */
  taskHosts(task: string): Host[];
  /** One host's command for a run: parameters and the run folder expanded. */
  taskArgv(task: string, host: Host, hostsOfRun: Host[], params: Params, run: { id: string; dir: string }): string[];
  /** Environment of the task's command (secrets included: never written anywhere). */
  taskEnv(task: string): Record<string, string>;
  connect(host: Host): Promise<Remote>;
  /** The system version recorded in every run.json. */
  version(): Promise<Record<string, unknown>>;
}

export interface RunPlanOptions {
  root: string;
  plan: Plan;
  target: ExperimentTarget;
  /** `--only`: run ids (prefix), experiment names, or key=value parameters (comma = and). */
  only?: string;
  rerunFailed?: boolean;
  parallelRuns?: number;
  /** Only collect what finished on hosts; start nothing, deploy nothing (`collect` target). */
  collectOnly?: boolean;
  output?: 'auto' | 'tty' | 'plain' | 'json';
  signal?: AbortSignal;
  /** Runs done elsewhere (a coordinator: done in the laptop's store before the hand-off): never run here. */
  skip?: ReadonlySet<string>;
  /** When aborted, no new run is started; runs in flight finish and are collected (`--stop`). */
  drain?: AbortSignal;
  /** Poll interval while a run is in progress on its hosts. */
  pollMs?: number;
  /** The machines' expiry (a CloudLab experiment): in the progress lines, and checked after every run. */
  expiry?: SweepExpiry;
  log?: (line: string) => void;
}

/**
 * The expiry of the machines a sweep runs on, while it runs: `note` goes into the progress lines
 * (`CloudLab experiment p/x expires in 3 h 10 min`); `check` is called after every run with the
 * time the runs left should take, and may warn or extend them. It must not throw.
 */
export interface SweepExpiry {
  note(): string | undefined;
  check(left: { ms: number | undefined; runs: number }): Promise<void>;
}

export interface RunPlanResult {
  total: number;
  done: number;
  failed: number;
  pending: number;
  /** Runs this call finished (done or failed). */
  ranNow: string[];
  deployOk: boolean;
}

const now = () => new Date().toISOString();

/** Split `hosts` into `n` contiguous sets of near-equal size. */
export function hostSets(hosts: readonly Host[], n: number): Host[][] {
  if (!Number.isInteger(n) || n < 1) throw new OptionError('parallel-runs', n, 'a whole number >= 1');
  if (n > hosts.length) throw new OptionError('parallel-runs', n, `at most ${hosts.length} (the task's hosts: ${hosts.map((h) => h.name).join(', ')})`);
  const sets: Host[][] = [];
  let start = 0;
  for (let i = 0; i < n; i++) {
    const size = Math.floor(hosts.length / n) + (i < hosts.length % n ? 1 : 0);
    sets.push(hosts.slice(start, start + size));
    start += size;
  }
  return sets;
}

/** Which runs this call works on, with their state. */
export function selectRuns(plan: Plan, states: Map<string, RunState>, o: { only?: string; rerunFailed?: boolean; collectOnly?: boolean }): RunSpec[] {
  const filter = o.only ? parseFilter(o.only, plan) : undefined;
  return plan.runs.filter((r) => {
    if (filter && !matchesFilter(filter, r)) return false;
    const s = states.get(r.id);
    if (o.collectOnly) return s?.status === 'running';
    if (!s || s.status === 'pending' || s.status === 'running') return true;
    return s.status === 'failed' && !!o.rerunFailed;
  });
}

export async function runPlan(o: RunPlanOptions): Promise<RunPlanResult> {
  const { root, plan, target } = o;
  const log = o.log ?? ((l: string) => console.log(l));
  const states = foldEvents(await readPlanEvents(root, plan.name));
  const work = selectRuns(plan, states, o).filter((r) => !o.skip?.has(r.id));
  const journal = await openPlanJournal(root, plan.name);
  const owner = await storeId(root, plan.name);
  const append = async (e: PlanEvent, durable = true) => {
    journal.append(e);
    if (durable) await journal.flush();
  };
  const countStatus = (st: string) => plan.runs.filter((r) => states.get(r.id)?.status === st).length;
  const result: RunPlanResult = { total: plan.runs.length, done: 0, failed: 0, pending: 0, ranNow: [], deployOk: true };
  const progress: Progress = createProgress({ mode: o.output ?? 'auto', total: plan.runs.length, doneBefore: countStatus('done') + plan.runs.filter((r) => o.skip?.has(r.id) && states.get(r.id)?.status !== 'done').length, log, slots: o.parallelRuns ?? 1, ...(o.expiry ? { note: () => o.expiry!.note() } : {}) });

  try {
    await append({
      type: 'session-start',
      time: now(),
      pid: process.pid,
      runs: plan.runs.length,
      pending: work.length,
      options: { only: o.only ?? null, rerunFailed: !!o.rerunFailed, parallelRuns: o.parallelRuns ?? 1, collectOnly: !!o.collectOnly },
    });
    log(`plan ${plan.name}: ${plan.runs.length} runs, ${countStatus('done')} done, ${work.length} to ${o.collectOnly ? 'collect' : 'run'} — results/${plan.name}/`);
    // One queue, `parallelRuns` workers; each worker owns one host set of the run's task.
    const queue = [...work];
    const parallel = o.parallelRuns ?? 1;
    const setsByTask = new Map<string, Host[][]>();
    const setsOf = (task: string) => {
      let s = setsByTask.get(task);
      if (!s) setsByTask.set(task, (s = hostSets(target.taskHosts(task), parallel)));
      return s;
    };
    for (const r of work) setsOf(r.task); // option errors before anything runs
    if (work.length > 0 && !o.collectOnly) {
      await append({ type: 'deploy-start', time: now() });
      progress.phase(`deploy ${plan.system} on ${plan.platform}`);
      result.deployOk = await target.deploy();
      await append({ type: 'deploy-end', time: now(), ok: result.deployOk });
      if (!result.deployOk) throw new Error(`deploy of ${plan.system} on ${plan.platform} failed: no run was started`);
    }
    const version = work.length ? await target.version() : {};

    const worker = async (slot: number) => {
      for (let r = o.drain?.aborted ? undefined : queue.shift(); r; r = o.drain?.aborted ? undefined : queue.shift()) {
        o.signal?.throwIfAborted();
        const hosts = setsOf(r.task)[slot]!;
        const t0 = Date.now();
        progress.runStart(slot, r, hosts);
        const status = await runOne(r, hosts, states.get(r.id), version);
        states.set(r.id, { ...(states.get(r.id) ?? { attempt: 0 }), status });
        result.ranNow.push(r.id);
        progress.runEnd(slot, r, status, Date.now() - t0);
        if (o.expiry && queue.length > 0) await o.expiry.check(progress.left()).catch(() => undefined);
      }
    };

    const runOne = async (r: RunSpec, hosts: Host[], s: RunState | undefined, ver: Record<string, unknown>): Promise<'done' | 'failed' | 'pending'> => {
      // Resume an attempt in flight: collect it when its hosts finished it, wait while they run it.
      if (s?.status === 'running' && s.attempt > 0) {
        const runHosts = (s.hosts ?? hosts.map((h) => h.name)).map((name) => target.taskHosts(r.task).find((h) => h.name === name) ?? hosts.find((h) => h.name === name));
        if (runHosts.every((h): h is Host => !!h)) {
          // Stopped before it started on any host (run-start is journaled first): start that attempt now.
          if (!o.collectOnly && s.phase === 'run-start') {
            const rdir = remoteRunDir(plan.name, r.id, s.attempt);
            const st = await Promise.all(runHosts.map(async (h) => (await remoteRunState(await target.connect(h), rdir, o.signal, owner)).state));
            if (st.every((x) => x === 'missing')) {
              await startOn(r, s.attempt, runHosts);
              const verdict = await finishAttempt(r, s.attempt, runHosts, false);
              return verdict === 'gone' ? 'failed' : verdict;
            }
          }
          const verdict = await finishAttempt(r, s.attempt, runHosts, true);
          if (verdict !== 'gone') return verdict;
          await append({ type: 'run-failed', time: now(), run: r.id, attempt: s.attempt, reason: 'interrupted: the run is gone from its hosts (no exit status); running it again' });
        } else {
          await append({ type: 'run-failed', time: now(), run: r.id, attempt: s.attempt, reason: `interrupted: its hosts (${s.hosts?.join(', ')}) are no longer in the inventory` });
        }
        if (o.collectOnly) return 'failed';
      }
      if (o.collectOnly) return 'pending';
      const { attempt, dir } = await createAttempt(root, plan.name, r.id, s?.attempt ?? 0);
      const startedAt = now();
      await writeOnce(
        join(dir, 'run.json'),
        `${JSON.stringify(
          {
            plan: plan.name,
            planFile: plan.file,
            run: r.id,
            attempt,
            experiments: r.experiments,
            repeat: r.repeat,
            system: plan.system,
            platform: plan.platform,
            task: r.task,
            params: r.params,
            version: ver,
            hosts: hosts.map((h) => ({ name: h.name, address: h.address, port: h.port, user: h.user })),
            remoteDir: remoteRunDir(plan.name, r.id, attempt),
            startedAt,
            pid: process.pid,
          },
          null,
          2,
        )}\n`,
      );
      await append({ type: 'run-start', time: startedAt, run: r.id, attempt, hosts: hosts.map((h) => h.name) });
      await startOn(r, attempt, hosts);
      const verdict = await finishAttempt(r, attempt, hosts, false);
      return verdict === 'gone' ? 'failed' : verdict;
    };

    /** Start the attempt on each of its hosts (a host that has it started already is left alone). */
    const startOn = async (r: RunSpec, attempt: number, hosts: Host[]): Promise<void> => {
      const rdir = remoteRunDir(plan.name, r.id, attempt);
      const env = target.taskEnv(r.task);
      await Promise.all(
        hosts.map(async (h) => {
          const remote = await target.connect(h);
          const argv = target.taskArgv(r.task, h, hosts, r.params, { id: r.id, dir: rdir });
          await startRemoteRun(remote, { dir: rdir, argv, env, collect: plan.collect, owner, ...(o.signal ? { signal: o.signal } : {}) });
        }),
      );
    };

    /** Wait for an attempt on its hosts, then collect and verify it; journal the outcome. */
    const finishAttempt = async (r: RunSpec, attempt: number, hosts: Host[], resuming: boolean): Promise<'done' | 'failed' | 'gone'> => {
      const rdir = remoteRunDir(plan.name, r.id, attempt);
      const adir = attemptDir(root, plan.name, r.id, attempt);
      const t0 = Date.now();
      const exits: Record<string, number | null> = {};
      const problems: string[] = [];
      let gone = false;
      await Promise.all(
        hosts.map(async (h) => {
          const remote = await target.connect(h);
          const st = o.collectOnly
            ? await remoteRunState(remote, rdir, o.signal, owner)
            : await waitRemoteRun(remote, rdir, { timeoutMs: plan.timeoutMs, owner, ...(o.pollMs ? { pollMs: o.pollMs } : {}), ...(o.signal ? { signal: o.signal } : {}) });
          if (st.state === 'exited') {
            exits[h.name] = st.exitCode;
            if (st.exitCode !== 0) problems.push(`${h.name}: the task exited with status ${st.exitCode}`);
          } else {
            exits[h.name] = null;
            if (st.state === 'timeout') problems.push(`${h.name}: still running after the plan's timeout (${plan.timeoutMs / 1000} s): killed`);
            else if (st.state === 'running') problems.push(`${h.name}: still running (collect it later)`);
            else gone = true;
          }
        }),
      );
      if (gone && resuming) return 'gone';
      if (gone) problems.push('the run is gone from a host without an exit status');
      if (o.collectOnly && Object.values(exits).some((x) => x === null)) return 'failed';
      await append({ type: 'run-executed', time: now(), run: r.id, attempt, exit: exits });
      await append({ type: 'collect-start', time: now(), run: r.id, attempt });
      progress.phase(`collect ${r.id}`);
      const partial = join(adir, `hosts.partial-${process.pid}-${Date.now().toString(36)}`);
      // Sealed before a kill (run-done not yet journaled): verify it in place, fetch nothing.
      const alreadySealed = existsSync(join(adir, 'hosts'));
      const files: CollectedFile[] = [];
      await Promise.all(
        hosts.map(async (h) => {
          if (exits[h.name] === null) return;
          try {
            const remote = await target.connect(h);
            files.push(
              ...(alreadySealed
                ? await verifyCollected(remote, rdir, join(adir, 'hosts', h.name), o.signal)
                : await collectHost(remote, rdir, join(partial, h.name), o.signal)),
            );
          } catch (e) {
            // Stopped (Ctrl-C): not a failed collection. The run stays in flight; the next start collects it.
            if (e instanceof Aborted || o.signal?.aborted) throw o.signal?.aborted ? new Aborted(`stopped while collecting ${r.id}`) : e;
            if (e instanceof CollectionFailed) problems.push(e.message);
            else problems.push(`${h.name}: collection failed: ${(e as Error).message.split('\n')[0]}`);
          }
        }),
      );
      o.signal?.throwIfAborted();
      let sealed = alreadySealed;
      if (files.length && !alreadySealed) {
        await sealCollection(adir, partial).then(
          () => (sealed = true),
          (e: unknown) => problems.push(`collection not sealed: ${(e as Error).message}`),
        );
      }
      // A task that failed: the end of its stderr says why.
      for (const [i, p] of problems.entries()) {
        const m = /^(\S+): the task exited with status/.exec(p);
        const file = m && join(adir, sealed ? 'hosts' : partial.slice(adir.length + 1), m[1]!, 'stderr');
        if (file && existsSync(file)) {
          const tail = readFileSync(file, 'utf8').trim().split('\n').slice(-3).join(' | ').slice(0, 400);
          if (tail) problems[i] = `${p} (stderr: ${tail})`;
        }
      }
      const endedAt = now();
      const status = problems.length ? 'failed' : 'done';
      const reason = problems.join('; ');
      files.sort((a, b) => (a.host + a.path).localeCompare(b.host + b.path));
      await writeOnce(
        join(adir, `result.json`),
        `${JSON.stringify({ run: r.id, attempt, status, ...(reason ? { reason } : {}), endedAt, exit: exits, collectedInto: sealed ? 'hosts' : null, files }, null, 2)}\n`,
      ).catch(async (e: unknown) => {
        // A result from an earlier (interrupted) finish of this attempt: keep it, write this one beside it.
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        await writeOnce(join(adir, `result.${Date.now().toString(36)}.json`), `${JSON.stringify({ run: r.id, attempt, status, reason, endedAt, exit: exits, files }, null, 2)}\n`);
      });
      if (status === 'done') {
        await append({ type: 'run-done', time: endedAt, run: r.id, attempt, files: files.length, durationMs: Date.now() - t0 });
        return 'done';
      }
      await append({ type: 'run-failed', time: endedAt, run: r.id, attempt, reason });
      log(`✖ ${r.id} attempt ${attempt} failed: ${reason}`);
      return 'failed';
    };

    await Promise.all(Array.from({ length: Math.min(parallel, Math.max(1, work.length)) }, (_, i) => worker(i)));
  } finally {
    result.done = countStatus('done');
    result.failed = countStatus('failed');
    result.pending = plan.runs.length - result.done - result.failed;
    journal.append({ type: 'session-end', time: now(), done: result.done, failed: result.failed, pending: result.pending });
    await journal.close().catch(() => undefined);
    progress.close();
  }
  return result;
}
