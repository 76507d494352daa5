/**
 * Stopping a command (Ctrl-C from the terminal, SIGTERM from Nx ending its task, SIGHUP when the
 * terminal closes): once handlers are installed (by the runner, for every labrig command), the
 * first such signal aborts what is running instead of killing the process. The engine aborts every
 * attempt in flight (remote commands are signalled, not orphaned), journals the run's end and
 * prints its summary; an experiment stops between runs and leaves runs in flight to be collected
 * on the next start. A second SIGINT or SIGTERM (a second later), or `graceMs` after the first signal, exits at
 * once (status 128 + the first signal's number), so a command that does not watch the signal
 * still ends.
 */
import { constants } from 'node:os';
import { currentScope } from './scope.js';

const KEY = Symbol.for('labrig.interrupt');
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export interface InterruptState {
  ctl: AbortController;
  installed: boolean;
  /** The signal received first, if any, and when. */
  received?: NodeJS.Signals;
  at?: number;
}

/**
 * One state per process, shared by every copy of core loaded in it; inside the labrig agent, the
 * current command's (its client's Ctrl-C aborts that command only: ./scope.ts).
 */
function state(): InterruptState {
  const scope = currentScope();
  if (scope) return scope.interrupt;
  const g = globalThis as { [KEY]?: InterruptState };
  return (g[KEY] ??= { ctl: new AbortController(), installed: false });
}

/** Aborted when the command is asked to stop (never, unless handlers are installed). */
export function interruptSignal(): AbortSignal {
  return state().ctl.signal;
}

/** The exit status of a command stopped by a signal (130 for SIGINT), or undefined if none came. */
export function interruptExitCode(): number | undefined {
  const s = state().received;
  return s === undefined ? undefined : 128 + (constants.signals[s] ?? 2);
}

/** `signal` and the process's interrupt signal as one (either aborts it). */
export function withInterrupt(signal: AbortSignal | undefined): AbortSignal {
  return signal ? AbortSignal.any([signal, interruptSignal()]) : interruptSignal();
}

export interface InterruptOptions {
  /** After the first signal, exit at once when the command has not ended within this. Default 10 s. */
  graceMs?: number;
  /** Where the notice goes. Default stderr. */
  write?: (text: string) => void;
  /** How the process ends on a second signal or after the grace period. Default process.exit. */
  exit?: (code: number) => void;
}

/**
 * A stop signal for the command whose interrupt state is `s`: the first aborts it (with a notice)
 * and arms the grace timer; a second SIGINT or SIGTERM more than a second later ends it at once.
 * Not SIGHUP, which is what the terminal going away sends (Nx closes the task's pseudo-terminal
 * when it stops it), and not a signal within a second of the first: Nx stopping a task sends
 * SIGINT and SIGTERM together. The process's handlers use it, and the labrig agent for the
 * command whose client was signalled. Returns the grace timer when one was armed.
 */
export function receiveInterrupt(s: InterruptState, sig: NodeJS.Signals, o: Required<Pick<InterruptOptions, 'write' | 'exit'>> & Pick<InterruptOptions, 'graceMs'>): NodeJS.Timeout | undefined {
  const code = (): number => 128 + (constants.signals[s.received ?? sig] ?? 2);
  if (s.ctl.signal.aborted) {
    if (sig !== 'SIGHUP' && Date.now() - s.at! > 1000) o.exit(code());
    return undefined;
  }
  s.received = sig;
  s.at = Date.now();
  try {
    o.write(`\n✖ ${sig}: stopping; commands on the hosts are being stopped (${sig === 'SIGINT' ? 'Ctrl-C' : 'the signal'} again exits at once)\n`);
  } catch {
    /* the terminal is gone (SIGHUP) */
  }
  s.ctl.abort(new Error(sig));
  const grace = setTimeout(() => o.exit(code()), o.graceMs ?? 10_000);
  grace.unref();
  return grace;
}

/** Install the handlers (once per process; later calls do nothing). */
export function installInterruptHandlers(o: InterruptOptions = {}): void {
  const s = state();
  if (s.installed) return;
  s.installed = true;
  const write = o.write ?? ((t: string) => void process.stderr.write(t));
  const exit = o.exit ?? ((code: number) => process.exit(code));
  const on = (sig: NodeJS.Signals): void => {
    // The terminal may be gone (or go while stopping): a failed write must not end the process
    // before the journal has the run's end.
    if (!s.ctl.signal.aborted) for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
    receiveInterrupt(s, sig, { write, exit, ...(o.graceMs !== undefined ? { graceMs: o.graceMs } : {}) });
  };
  for (const sig of SIGNALS) process.on(sig, () => on(sig));
}
