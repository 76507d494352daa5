/**
 * `collect` from a coordinator: the runs it finished that are not in the local store yet, each
 * fetched into a staging folder, every file checked against the sha256 its result.json recorded
 * (which the coordinator checked against the run hosts' own SHA256SUMS), then moved into place as
 * `results/<plan>/<run>/attempt-<n>/` and journaled locally (run-start, run-done). A run with a
 * file that does not verify is refused whole, with the file and the reason; the others land.
 * Incremental: a run already done locally is never fetched again.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Remote } from '@labrig/core';
import { digestFile, isProcessAlive, quoteArg } from '@labrig/core';
import type { Plan } from '../plan/load.js';
import { attemptDir, attemptFolders, foldEvents, openPlanJournal, planDir, readPlanEvents } from '../store/run-store.js';
import { parseSums, type CollectedFile } from '../remote/collect.js';
import { probeCoordinator } from './remote-state.js';
import { coordinatorDir } from './spec.js';

export interface PullRefusal {
  run: string;
  file?: string;
  reason: string;
}

export interface PullResult {
  /** Runs fetched now. */
  runs: string[];
  files: number;
  bytes: number;
  /** Runs done on the coordinator that were here already. */
  already: number;
  /** Runs done on the coordinator, failed there, and still pending or running there. */
  remote: { done: number; failed: number; other: number };
  refused: PullRefusal[];
}

const SEP = '@@labrig-pull@@';

export async function pullRuns(o: { root: string; plan: Plan; remote: Remote; signal?: AbortSignal; log?: (l: string) => void }): Promise<PullResult> {
  const { root, plan, remote } = o;
  const log = o.log ?? (() => undefined);
  const probe = await probeCoordinator(remote, plan.name, o.signal ? { signal: o.signal } : {});
  const remoteStates = foldEvents(probe.planEvents);
  const localStates = foldEvents(await readPlanEvents(root, plan.name));
  const result: PullResult = { runs: [], files: 0, bytes: 0, already: 0, remote: { done: 0, failed: 0, other: 0 }, refused: [] };
  const todo: { run: string; attempt: number }[] = [];
  for (const r of plan.runs) {
    const s = remoteStates.get(r.id);
    if (s?.status === 'done') result.remote.done++;
    else if (s?.status === 'failed') result.remote.failed++;
    else result.remote.other++;
    if (s?.status !== 'done' || !s.doneAttempt) continue;
    if (localStates.get(r.id)?.status === 'done') result.already++;
    else todo.push({ run: r.id, attempt: s.doneAttempt });
  }
  if (!todo.length) return result;

  const base = `${coordinatorDir(plan.name)}/results/${plan.name}`;
  const journal = await openPlanJournal(root, plan.name);
  try {
    for (const { run, attempt } of todo) {
      o.signal?.throwIfAborted();
      const rdir = `${base}/${run}/attempt-${attempt}`;
      const meta = await remote.shell(`cd ${quoteArg(rdir)} && cat run.json && echo ${SEP} && cat result.json`, { allowFailure: true, ...(o.signal ? { signal: o.signal } : {}) });
      const [runText = '', resultText = ''] = meta.stdout.split(`${SEP}\n`);
      let runJson: { hosts?: { name: string }[]; startedAt?: string };
      let resultJson: { status?: string; files?: CollectedFile[]; endedAt?: string; collectedInto?: string | null };
      try {
        runJson = JSON.parse(runText) as typeof runJson;
        resultJson = JSON.parse(resultText) as typeof resultJson;
      } catch {
        result.refused.push({ run, reason: `run.json or result.json of ${rdir} on the coordinator is missing or not JSON (${meta.stderr.trim().split('\n')[0] ?? ''})` });
        continue;
      }
      if (resultJson.status !== 'done' || resultJson.collectedInto !== 'hosts' || !Array.isArray(resultJson.files)) {
        result.refused.push({ run, reason: `result.json of attempt ${attempt} does not say done with a sealed collection` });
        continue;
      }
      removeStages(root, plan.name, run); // of a collect that was killed
      const stage = join(planDir(root, plan.name), run, `.pull-${process.pid}-${Date.now().toString(36)}`);
      mkdirSync(stage, { recursive: true });
      let bytes = 0;
      let fetched = 0;
      let refused: PullRefusal | undefined;
      try {
        const hosts = [...new Set(resultJson.files.map((f) => f.host))];
        const wanted: CollectedFile[] = [...resultJson.files, ...hosts.map((h) => ({ host: h, path: 'SHA256SUMS', sha256: '', size: 0 }))];
        for (const f of wanted) {
          o.signal?.throwIfAborted();
          if (f.path.split('/').some((p) => p === '..' || p === '') || f.host.includes('/') || f.host === '..') {
            refused = { run, file: `hosts/${f.host}/${f.path}`, reason: 'not a path inside the run folder' };
            break;
          }
          const rel = `hosts/${f.host}/${f.path}`;
          const local = join(stage, rel);
          mkdirSync(join(local, '..'), { recursive: true });
          try {
            await remote.getFile(`${rdir}/${rel}`, local, o.signal ? { signal: o.signal } : {});
          } catch (e) {
            refused = { run, file: rel, reason: `cannot be fetched: ${(e as Error).message.split('\n')[0]}` };
            break;
          }
          const d = await digestFile(local, o.signal);
          bytes += d.size;
          if (f.sha256 && d.sha256 !== f.sha256) {
            refused = { run, file: rel, reason: `sha256 ${d.sha256.slice(0, 12)} (${d.size} bytes) differs from the ${f.sha256.slice(0, 12)} (${f.size} bytes) its result.json recorded: changed in the coordinator's store after collection` };
            break;
          }
          fetched++;
        }
        // Each host's own record (SHA256SUMS, written when the run ended there) must agree with result.json.
        for (const h of hosts) {
          if (refused) break;
          const sums = parseSums(readFileSync(join(stage, 'hosts', h, 'SHA256SUMS'), 'utf8')).files;
          const bad = resultJson.files.find((f) => f.host === h && sums.get(f.path) !== f.sha256);
          if (bad) refused = { run, file: `hosts/${h}/SHA256SUMS`, reason: `the host's record of ${bad.path} disagrees with result.json` };
        }
      } catch (e) {
        rmSync(stage, { recursive: true, force: true });
        throw e;
      }
      if (refused) {
        rmSync(stage, { recursive: true, force: true });
        result.refused.push(refused);
        continue;
      }
      writeFileSync(join(stage, 'run.json'), runText);
      writeFileSync(join(stage, 'result.json'), resultText);
      // The coordinator's attempt number, unless a local attempt already has it (a local sweep tried the run before).
      let n = attempt;
      const taken = new Set(attemptFolders(root, plan.name, run));
      if (taken.has(n)) n = Math.max(...taken, attempt) + 1;
      try {
        renameSync(stage, attemptDir(root, plan.name, run, n));
      } catch (e) {
        // Another collect (a second terminal following the same sweep) stored it meanwhile.
        if (!['EEXIST', 'ENOTEMPTY'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
        rmSync(stage, { recursive: true, force: true });
        result.already++;
        continue;
      }
      if (n !== attempt) log(`${run}: stored as attempt-${n} (attempt-${attempt} here is a local attempt)`);
      const startedAt = runJson.startedAt ?? new Date().toISOString();
      const endedAt = resultJson.endedAt ?? new Date().toISOString();
      journal.append({ type: 'run-start', time: startedAt, run, attempt: n, hosts: (runJson.hosts ?? []).map((h) => h.name) });
      journal.append({ type: 'run-done', time: endedAt, run, attempt: n, files: resultJson.files.length, durationMs: Math.max(0, Date.parse(endedAt) - Date.parse(startedAt)) });
      await journal.flush();
      result.runs.push(run);
      result.bytes += bytes;
      result.files += fetched;
    }
    journal.append({ type: 'coordinator-collect', time: new Date().toISOString(), host: remote.host.name, runs: result.runs.length, files: result.files, bytes: result.bytes });
    await journal.flush();
  } finally {
    await journal.close().catch(() => undefined);
  }
  return result;
}

function removeStages(root: string, plan: string, run: string): void {
  const dir = join(planDir(root, plan), run);
  if (!existsSync(dir)) return;
  for (const d of readdirSync(dir)) {
    const pid = Number(/^\.pull-(\d+)-/.exec(d)?.[1]);
    if (!pid || pid === process.pid || isProcessAlive(pid)) continue; // another collect still at work
    rmSync(join(dir, d), { recursive: true, force: true });
  }
}
