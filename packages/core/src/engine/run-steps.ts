/**
 * The step engine: runs steps in order, each on its hosts with bounded concurrency, with
 * per-attempt timeouts, retries with backoff, a failure policy, a journal and per host logs.
 *
 * Retry rule: a failed attempt is retried (up to `step.retries` more) when its error is a
 * LabrigError marked `retryable` (HostUnreachable, StepTimeout). CommandFailed and unexpected
 * exceptions are not retried unless the step sets `retryOn: 'any'`. Aborts are never retried.
 *
 * Failure policy: `fail-fast` aborts the step's in-flight hosts (status `aborted`), leaves
 * hosts not yet started `not-run`, and runs no later step. `continue` drops failed hosts from
 * later steps (`not-run` there) and completes. `max-fail=N%` behaves like `continue` until the
 * failed hosts are more than N% of the run's hosts, then like `fail-fast`. A failed `local`
 * step always stops the run (there is no host to drop).
 */
import { setMaxListeners } from 'node:events';
import { Aborted, isLabrigError, CommandFailed, OptionError } from '../errors.js';
import type { Connector, Host, Remote, Step, StepContext } from '../contracts.js';
import {
  countStatuses,
  isJournaled,
  type ErrorInfo,
  type HostStepResult,
  type RunEvent,
  type RunResult,
} from '../events.js';
import { StepLog } from '../journal/host-logs.js';
import { Journal } from '../journal/journal.js';
import { createRunDir, markLatest } from '../journal/run-dir.js';
import { LOCAL_HOST, LocalConnector } from '../local/connector.js';
import { formatFailurePolicy, normalizeFailurePolicy, type FailurePolicy, type OutputMode } from '../options.js';
import { addSecrets, secretRedactor } from '../secrets.js';
import { withInterrupt } from '../interrupt.js';
import { createRenderer } from '../render/create.js';
import type { Renderer } from '../render/renderer.js';
import { startAttempt, type AttemptOutcome } from './attempt.js';
import { computeBackoffMs, normalizeBackoff, sleep, type BackoffOptions } from './backoff.js';
import { wrapRemote } from './logged-remote.js';
import { selectHosts } from './select.js';

export interface RunOptions {
  /** Workspace root: the run goes to `<root>/.labrig/runs/<id>/`. */
  root: string;
  hosts: Host[];
  connector: Connector;
  /** Default: a fresh sortable id. */
  runId?: string;
  title?: string;
  /** The platform the run acts on (recorded in the journal's run-start, shown by the dashboard). */
  platform?: string;
  /** Max hosts at once per step (a step's own `concurrency` wins). Default 32. */
  concurrency?: number;
  /** Per host and attempt (a step's own `timeoutMs` wins). Default 10 min. */
  timeoutMs?: number;
  /** Default fail-fast. Strings as on the command line (`max-fail=10%`). */
  failurePolicy?: FailurePolicy | string;
  backoff?: Partial<BackoffOptions>;
  /** Default `auto`. */
  output?: OutputMode | Renderer;
  /** Values to redact from logs, journal and output (added to the process-wide registry, ../secrets.ts). */
  secrets?: string[];
  /** Abort the run (Ctrl-C). */
  signal?: AbortSignal;
  /** Runs `local` steps. Default: a LocalConnector working in `root`. */
  localConnector?: Connector;
  /** After an abort or timeout, how long to wait for the abandoned work to wind down before returning. Default 3 s. */
  abortGraceMs?: number;
  /** Random source for backoff jitter (tests). */
  random?: () => number;
  /** Stream renderers created from an output mode write to. Default process.stdout. */
  stdout?: NodeJS.WritableStream & { isTTY?: boolean };
  /**
   * A host that became unreachable (HostUnreachable after its retries): the platform's way to
   * bring it back (a reboot through its API, then waiting for SSH). Tried once per host per run
   * (journaled as `host-recover`); when it says ok, the attempt is made once more.
   */
  recoverHost?: (host: Host, why: string, signal: AbortSignal) => Promise<{ ok: boolean; action: string; detail?: string } | undefined>;
}

export interface NormalizedRunOptions {
  root: string;
  hosts: Host[];
  concurrency: number;
  timeoutMs: number;
  failurePolicy: FailurePolicy;
  backoff: BackoffOptions;
  abortGraceMs: number;
  secrets: string[];
}

export const DEFAULT_CONCURRENCY = 32;
export const DEFAULT_STEP_TIMEOUT_MS = 10 * 60_000;

function positiveInt(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < 1) throw new OptionError(name, v, 'a whole number >= 1');
  return v;
}

/** Defaults and checks for RunOptions and the steps (pure; throws OptionError / Error). */
export function normalizeRunOptions(steps: readonly Step[], o: RunOptions): NormalizedRunOptions {
  const names = new Set<string>();
  for (const s of steps) {
    if (typeof s.name !== 'string' || s.name === '') throw new Error('every step needs a non-empty name');
    if (names.has(s.name)) throw new Error(`two steps are named ${JSON.stringify(s.name)}; step names must be unique`);
    names.add(s.name);
    if (s.retries !== undefined && !(Number.isInteger(s.retries) && s.retries >= 0)) {
      throw new Error(`step ${s.name}: retries must be a whole number >= 0, got ${s.retries}`);
    }
    positiveInt(`${s.name}.concurrency`, s.concurrency, 1);
    positiveInt(`${s.name}.timeoutMs`, s.timeoutMs, 1);
  }
  const hostNames = new Set<string>();
  for (const h of o.hosts) {
    if (hostNames.has(h.name)) throw new Error(`two hosts are named ${JSON.stringify(h.name)}; host names must be unique`);
    hostNames.add(h.name);
  }
  if (steps.some((s) => s.local) && hostNames.has(LOCAL_HOST.name)) {
    throw new Error(`a host is named "${LOCAL_HOST.name}", which is reserved for local steps`);
  }
  return {
    root: o.root,
    hosts: [...o.hosts],
    concurrency: positiveInt('concurrency', o.concurrency, DEFAULT_CONCURRENCY),
    timeoutMs: positiveInt('timeout', o.timeoutMs, DEFAULT_STEP_TIMEOUT_MS),
    failurePolicy: normalizeFailurePolicy(o.failurePolicy),
    backoff: normalizeBackoff(o.backoff),
    abortGraceMs: o.abortGraceMs ?? 3000,
    secrets: (o.secrets ?? []).filter((s) => typeof s === 'string' && s !== ''),
  };
}

/** An error as data for events and results. */
export function toErrorInfo(e: unknown, step: string): ErrorInfo {
  if (isLabrigError(e)) return { name: e.name, code: e.code, message: e.message, hint: e.hint };
  const err = e instanceof Error ? e : new Error(String(e));
  return {
    name: err.name,
    code: 'ERROR',
    message: err.message,
    hint: `Unexpected error in step ${step}; this may be a bug in the step. See its log file.`,
  };
}

/** Whether a failed attempt may be retried (see the module comment). */
export function shouldRetry(error: unknown, step: Pick<Step, 'retryOn'>): boolean {
  if (error instanceof Aborted) return false;
  if (step.retryOn === 'any') return true;
  return isLabrigError(error) && error.retryable;
}

/** Run bounded-concurrency workers over items. */
async function forEachLimit<T>(items: readonly T[], limit: number, f: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++]!;
      await f(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function nowIso(): string {
  return new Date().toISOString();
}

export async function runSteps(steps: Step[], options: RunOptions): Promise<RunResult> {
  const opts = normalizeRunOptions(steps, options);
  // One list for the journal, the logs, the renderer and everything the process prints: the
  // process-wide registry (a secret captured on one host is hidden from all output after).
  addSecrets(opts.secrets);
  const redactor = secretRedactor();
  const { id, dir } = await createRunDir(opts.root, options.runId);
  await markLatest(opts.root, id);
  const journal = await Journal.open(dir);
  const renderer: Renderer =
    typeof options.output === 'object'
      ? options.output
      : createRenderer(options.output ?? 'auto', { stream: options.stdout ?? process.stdout });
  const ownLocal = options.localConnector === undefined && steps.some((s) => s.local);
  const localConnector: Connector =
    options.localConnector ?? new LocalConnector({ homeFor: () => opts.root });
  const random = options.random ?? Math.random;

  const emit = (e: RunEvent): void => {
    const r = redactor.redactValue(e);
    if (isJournaled(r)) journal.append(r);
    try {
      renderer.onEvent(r);
    } catch {
      /* a renderer bug must not break the run */
    }
  };

  const runStart = performance.now();
  const runCtl = new AbortController();
  // Every in-flight attempt listens on the run's signal: many hosts are not a leak.
  setMaxListeners(0, runCtl.signal);
  let stopped: string | undefined;
  const stop = (reason: string): void => {
    stopped ??= reason;
    if (!runCtl.signal.aborted) runCtl.abort(new Aborted(reason));
  };
  // The caller's signal, or the command being stopped (Ctrl-C, SIGTERM: ../interrupt.ts).
  const outer = withInterrupt(options.signal);
  const onOuterAbort = (): void => {
    const r: unknown = outer.reason;
    stop(r instanceof Error && r.name !== 'AbortError' ? `interrupted (${r.message})` : 'interrupted');
  };
  if (outer.aborted) onOuterAbort();
  else outer.addEventListener('abort', onOuterAbort, { once: true });

  const outputs: Record<string, Record<string, unknown>> = {};
  const results: HostStepResult[] = [];
  const failed = new Set<string>();
  const lingering = new Set<Promise<void>>();
  const openLogs = new Set<StepLog>();
  const allHosts = opts.hosts;
  const runHostNames = allHosts.map((h) => h.name);
  if (steps.some((s) => s.local)) runHostNames.unshift(LOCAL_HOST.name);

  const targetsOf = (s: Step, from: readonly Host[]): Host[] => (s.local ? [LOCAL_HOST] : selectHosts(s, from));

  emit({
    type: 'run-start',
    time: nowIso(),
    runId: id,
    dir,
    ...(options.title !== undefined ? { title: options.title } : {}),
    ...(options.platform !== undefined ? { platform: options.platform } : {}),
    hosts: runHostNames,
    steps: steps.map((s) => ({
      name: s.name,
      ...(s.title !== undefined ? { title: s.title } : {}),
      hosts: targetsOf(s, allHosts).map((h) => h.name),
      ...(s.local ? { local: true } : {}),
    })),
    failurePolicy: formatFailurePolicy(opts.failurePolicy),
    concurrency: opts.concurrency,
  });

  const onHostFailed = (step: Step, host: string): void => {
    failed.add(host);
    const p = opts.failurePolicy;
    if (step.local) return stop(`local step ${step.name} failed`);
    if (p.kind === 'fail-fast') return stop(`fail-fast: ${host} failed step ${step.name}`);
    if (p.kind === 'max-fail') {
      const n = failed.size;
      if ((n * 100) / Math.max(1, allHosts.length) > p.percent) {
        stop(`max-fail=${p.percent}%: ${n} of ${allHosts.length} hosts failed`);
      }
    }
  };

  /** Hosts the platform was asked to bring back in this run (once each). */
  const recovered = new Set<string>();
  const runHost = async (step: Step, host: Host, connector: Connector, stepSignal: AbortSignal): Promise<HostStepResult> => {
    const log = new StepLog(dir, host.name, step.name, redactor);
    openLogs.add(log);
    const started = performance.now();
    const retries = step.retries ?? 0;
    const timeoutMs = step.timeoutMs ?? opts.timeoutMs;
    let attempt = 0;
    let outcome: AttemptOutcome | undefined;
    const pendingWork: Promise<void>[] = [];
    for (;;) {
      if (stepSignal.aborted) {
        outcome ??= { kind: 'aborted', error: stepSignal.reason };
        break;
      }
      attempt++;
      emit({ type: 'attempt-start', time: nowIso(), step: step.name, host: host.name, attempt });
      log.line(`# ${nowIso()} ${step.name} on ${host.name}: attempt ${attempt} of ${retries + 1}`);
      log.resetTail();
      const t0 = performance.now();
      const run = startAttempt({
        step,
        host,
        attempt,
        connector,
        timeoutMs,
        signal: stepSignal,
        wrap: (remote: Remote, signal: AbortSignal) => wrapRemote(remote, log, signal),
        context: (remote: Remote, signal: AbortSignal): StepContext => ({
          host,
          remote,
          outputs,
          hosts: allHosts,
          signal,
          attempt,
          log: (line: string) => {
            log.line(line);
            emit({ type: 'log', time: nowIso(), step: step.name, host: host.name, line });
          },
          progress: (text: string) => emit({ type: 'progress', time: nowIso(), step: step.name, host: host.name, text }),
          addSecret: (value: string) => redactor.add(value),
        }),
      });
      outcome = await run.outcome;
      pendingWork.push(run.settled);
      const durationMs = Math.round(performance.now() - t0);
      if (outcome.kind === 'ok' || outcome.kind === 'skipped') {
        log.line(`# ${outcome.kind === 'ok' ? 'done' : 'already done: skipped'} (${durationMs} ms)`);
        emit({ type: 'attempt-end', time: nowIso(), step: step.name, host: host.name, attempt, status: outcome.kind, durationMs });
        break;
      }
      const error = outcome.error;
      const info = toErrorInfo(error, step.name);
      const exitCode = error instanceof CommandFailed ? error.exitCode : undefined;
      const retry = outcome.kind === 'failed' && attempt <= retries && shouldRetry(error, step) && !stepSignal.aborted;
      const retryInMs = retry ? computeBackoffMs(attempt, opts.backoff, random) : undefined;
      log.line(`# attempt ${attempt} ${outcome.kind}: ${info.code}: ${info.message}${retry ? `; retrying in ${retryInMs} ms` : ''}`);
      emit({
        type: 'attempt-end',
        time: nowIso(),
        step: step.name,
        host: host.name,
        attempt,
        status: outcome.kind,
        durationMs,
        ...(exitCode !== undefined ? { exitCode } : {}),
        error: info,
        ...(retryInMs !== undefined ? { retryInMs } : {}),
      });
      if (!retry) {
        if (outcome.kind === 'failed' && info.code === 'UNREACHABLE' && options.recoverHost && !recovered.has(host.name) && !stepSignal.aborted) {
          recovered.add(host.name);
          const t0r = performance.now();
          const r = await options.recoverHost(host, info.message, stepSignal).catch((e: unknown) => ({ ok: false, action: 'recovery', detail: (e as Error).message.split('\n')[0] }));
          if (r === undefined) break; // the platform is not set to recover hosts
          const recoverMs = Math.round(performance.now() - t0r);
          log.line(`# ${host.name} was unreachable; ${r.action}: ${r.ok ? 'back' : 'failed'}${r.detail ? ` (${r.detail})` : ''} in ${recoverMs} ms`);
          emit({ type: 'host-recover', time: nowIso(), step: step.name, host: host.name, action: r.action, ok: r.ok, ...(r.detail ? { detail: r.detail } : {}), durationMs: recoverMs });
          if (r.ok && !stepSignal.aborted) continue;
        }
        break;
      }
      if (!(await sleep(retryInMs!, stepSignal))) {
        outcome = { kind: 'aborted', error: stepSignal.reason };
        break;
      }
    }
    const status = outcome.kind;
    const result: HostStepResult = {
      host: host.name,
      step: step.name,
      status,
      attempts: attempt,
      durationMs: Math.round(performance.now() - started),
    };
    if (status === 'ok' || status === 'skipped') {
      if (outcome.output !== undefined) {
        (outputs[step.name] ??= {})[host.name] = outcome.output;
        result.output = outcome.output;
      }
    } else {
      const error = outcome.error;
      result.error = toErrorInfo(error ?? new Aborted('cancelled'), step.name);
      if (error instanceof CommandFailed) result.exitCode = error.exitCode;
      const tail = error instanceof CommandFailed && error.stderrTail ? error.stderrTail : log.stderrTail(3);
      if (tail) result.stderrTail = tail;
    }
    const safe = redactor.redactValue({ ...result, output: undefined });
    emit({
      type: 'host-end',
      time: nowIso(),
      step: step.name,
      host: host.name,
      status,
      attempts: attempt,
      durationMs: result.durationMs,
      ...(safe.exitCode !== undefined ? { exitCode: safe.exitCode } : {}),
      ...(safe.error ? { error: safe.error } : {}),
      ...(safe.stderrTail ? { stderrTail: safe.stderrTail } : {}),
    });
    // Close the log once abandoned work (timed out, aborted) has wound down, or at run end.
    const all = Promise.all(pendingWork).then(() => log.close().then(() => void openLogs.delete(log)));
    lingering.add(all);
    void all.finally(() => lingering.delete(all));
    if (status === 'failed') onHostFailed(step, host.name);
    return { ...safe, ...(result.output !== undefined ? { output: result.output } : {}) };
  };

  for (const step of steps) {
    const selected = targetsOf(step, allHosts);
    const notRun = (h: Host): HostStepResult => ({ host: h.name, step: step.name, status: 'not-run', attempts: 0, durationMs: 0 });
    if (runCtl.signal.aborted) {
      for (const h of selected) results.push(notRun(h));
      continue;
    }
    const active = selected.filter((h) => !failed.has(h.name));
    const stepStart = performance.now();
    emit({
      type: 'step-start',
      time: nowIso(),
      step: step.name,
      ...(step.title !== undefined ? { title: step.title } : {}),
      hosts: active.map((h) => h.name),
    });
    const byHost = new Map<string, HostStepResult>();
    const connector = step.local ? localConnector : options.connector;
    const limit = step.local ? 1 : (step.concurrency ?? opts.concurrency);
    await forEachLimit(active, limit, async (h) => {
      if (runCtl.signal.aborted) {
        byHost.set(h.name, notRun(h));
        return;
      }
      byHost.set(h.name, await runHost(step, h, connector, runCtl.signal));
    });
    const stepResults = selected.map((h) => byHost.get(h.name) ?? notRun(h));
    results.push(...stepResults);
    emit({
      type: 'step-end',
      time: nowIso(),
      step: step.name,
      durationMs: Math.round(performance.now() - stepStart),
      counts: countStatuses(stepResults),
    });
  }

  outer.removeEventListener('abort', onOuterAbort);
  // Give abandoned work (timed out, aborted) a moment to wind down so its logs are complete.
  if (lingering.size > 0) {
    // The grace timer is cleared as soon as that work ended: nothing of the run outlives it (in the
    // labrig agent a pending timer would hold on to the command's scope, its environment included).
    const graceOver = new AbortController();
    await Promise.race([Promise.allSettled([...lingering]), sleep(opts.abortGraceMs, graceOver.signal)]);
    graceOver.abort();
  }
  await Promise.all([...openLogs].map((l) => l.close()));

  const counts = countStatuses(results);
  const ok = stopped === undefined && counts.failed === 0 && counts.aborted === 0;
  const durationMs = Math.round(performance.now() - runStart);
  const stepNames = steps.map((s) => s.name);
  emit({
    type: 'run-end',
    time: nowIso(),
    runId: id,
    dir,
    ok,
    durationMs,
    counts,
    ...(stopped !== undefined ? { stopped } : {}),
    results: results.map(({ output: _o, ...r }) => r),
    steps: stepNames,
    hosts: runHostNames,
  });
  try {
    await journal.close();
  } finally {
    await renderer.close();
    if (ownLocal) await localConnector.close();
  }
  return {
    id,
    dir,
    ok,
    durationMs,
    steps: stepNames,
    hosts: runHostNames,
    results,
    outputs,
    counts,
    ...(stopped !== undefined ? { stopped } : {}),
    journal: {
      file: journal.file,
      lines: journal.stats.lines,
      batches: journal.stats.batches,
      syncMs: Math.round(journal.stats.syncMs * 10) / 10,
    },
  };
}
