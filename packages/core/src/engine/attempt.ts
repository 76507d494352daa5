/**
 * One attempt of one step on one host: connect, check, run — bounded by a timeout and
 * cancelled by the step's signal. The outcome is decided the moment the timeout fires or the
 * step aborts; the attempt's work is then told to stop (its AbortSignal) and left to settle on
 * its own (`lingering`), its rejection handled so nothing leaks.
 */
import { Aborted, StepTimeout } from '../errors.js';
import type { Connector, Host, Remote, Step, StepContext } from '../contracts.js';

export type AttemptOutcome =
  | { kind: 'ok'; output: unknown }
  | { kind: 'skipped'; output: unknown }
  | { kind: 'failed'; error: unknown }
  | { kind: 'aborted'; error: unknown };

export interface AttemptSpec {
  step: Step;
  host: Host;
  attempt: number;
  connector: Connector;
  timeoutMs: number;
  /** The step's signal (fail-fast, interrupt). */
  signal: AbortSignal;
  /** Wrap the connected Remote (logging; the attempt's signal for every command). */
  wrap: (remote: Remote, signal: AbortSignal) => Remote;
  /** Build the step context for this attempt. */
  context: (remote: Remote, signal: AbortSignal) => StepContext;
}

export interface AttemptRun {
  outcome: Promise<AttemptOutcome>;
  /** Settles when the attempt's own work does (maybe after the outcome). Never rejects. */
  settled: Promise<void>;
}

function isDone(c: unknown): { done: boolean; output: unknown } {
  if (c === true) return { done: true, output: undefined };
  if (c !== null && typeof c === 'object' && (c as { done?: unknown }).done === true) {
    return { done: true, output: (c as { output?: unknown }).output };
  }
  return { done: false, output: undefined };
}

export function startAttempt(spec: AttemptSpec): AttemptRun {
  const ctl = new AbortController();
  const { signal } = ctl;

  const work = (async (): Promise<AttemptOutcome> => {
    const remote = spec.wrap(await spec.connector.connect(spec.host, signal), signal);
    const ctx = spec.context(remote, signal);
    if (spec.step.check) {
      const c = isDone(await spec.step.check(ctx));
      if (c.done) return { kind: 'skipped', output: c.output };
    }
    const output = await spec.step.run(ctx);
    return { kind: 'ok', output };
  })();
  const settled = work.then(
    () => undefined,
    () => undefined,
  );

  let timer: NodeJS.Timeout | undefined;
  let onStepAbort: (() => void) | undefined;
  const outcome = new Promise<AttemptOutcome>((resolve) => {
    work.then(resolve, (error: unknown) => {
      // The work gave up because we aborted it: the abort decided the outcome already.
      if (signal.aborted) {
        const reason: unknown = signal.reason;
        resolve(reason instanceof StepTimeout ? { kind: 'failed', error: reason } : { kind: 'aborted', error: reason });
      } else {
        resolve({ kind: 'failed', error });
      }
    });
    timer = setTimeout(() => {
      const err = new StepTimeout(spec.host.name, spec.step.name, spec.timeoutMs);
      ctl.abort(err);
      resolve({ kind: 'failed', error: err });
    }, spec.timeoutMs);
    onStepAbort = () => {
      const reason: unknown = spec.signal.reason ?? new Aborted('cancelled');
      ctl.abort(reason);
      resolve({ kind: 'aborted', error: reason });
    };
    if (spec.signal.aborted) onStepAbort();
    else spec.signal.addEventListener('abort', onStepAbort, { once: true });
  }).finally(() => {
    clearTimeout(timer);
    if (onStepAbort) spec.signal.removeEventListener('abort', onStepAbort);
  });

  return { outcome, settled };
}
