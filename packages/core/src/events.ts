/**
 * What the step engine reports: typed events (to renderers and the journal) and the run result.
 * Everything here is plain JSON data, already redacted when it leaves the engine.
 */

export type HostStepStatus = 'ok' | 'skipped' | 'failed' | 'aborted' | 'not-run';
export type AttemptStatus = 'ok' | 'skipped' | 'failed' | 'aborted';

/** An error as data (LabrigError.toJSON shape); `code` is `ERROR` for unexpected exceptions. */
export interface ErrorInfo {
  name: string;
  code: string;
  message: string;
  hint: string;
}

export interface HostStepResult {
  host: string;
  step: string;
  status: HostStepStatus;
  /** Attempts made (0 when not run). */
  attempts: number;
  durationMs: number;
  exitCode?: number | null;
  error?: ErrorInfo;
  /** Last lines of stderr seen on this host during the step (redacted). */
  stderrTail?: string;
  /** The step's output for this host, when it returned one. */
  output?: unknown;
}

export type StatusCounts = Record<HostStepStatus, number>;

export interface RunResult {
  id: string;
  /** The run directory (`<root>/.labrig/runs/<id>`). */
  dir: string;
  ok: boolean;
  durationMs: number;
  /** Step names in order. */
  steps: string[];
  /** Host names of the run (plus `local` when a step ran on the coordinator). */
  hosts: string[];
  results: HostStepResult[];
  /** `outputs[step][host]`. */
  outputs: Record<string, Record<string, unknown>>;
  counts: StatusCounts;
  /** Why the run stopped early (`interrupted`, `fail-fast: …`), when it did. */
  stopped?: string;
  /** The journal file and what writing it cost (group commit: lines per batch, time in write+fdatasync). */
  journal?: { file: string; lines: number; batches: number; syncMs: number };
}

interface Base {
  /** ISO time the event happened. */
  time: string;
}

export interface RunStartEvent extends Base {
  type: 'run-start';
  runId: string;
  dir: string;
  title?: string;
  platform?: string;
  hosts: string[];
  steps: { name: string; title?: string; hosts: string[]; local?: boolean }[];
  failurePolicy: string;
  concurrency: number;
}
export interface StepStartEvent extends Base {
  type: 'step-start';
  step: string;
  title?: string;
  hosts: string[];
}
export interface AttemptStartEvent extends Base {
  type: 'attempt-start';
  step: string;
  host: string;
  attempt: number;
}
export interface AttemptEndEvent extends Base {
  type: 'attempt-end';
  step: string;
  host: string;
  attempt: number;
  status: AttemptStatus;
  durationMs: number;
  exitCode?: number | null;
  error?: ErrorInfo;
  /** Set when another attempt follows after this delay. */
  retryInMs?: number;
}
/** A host finished a step: its result, less the output (kept in the run result, not in events). */
export interface HostEndEvent extends Base, Omit<HostStepResult, 'output'> {
  type: 'host-end';
}
export interface StepEndEvent extends Base {
  type: 'step-end';
  step: string;
  durationMs: number;
  counts: StatusCounts;
}
/** A line a step wrote with `ctx.log` (not journaled: it is in the host's log file). */
export interface LogEvent extends Base {
  type: 'log';
  step: string;
  host: string;
  line: string;
}
/** A host that became unreachable, brought back by the platform (a reboot through its API) once per run. */
export interface HostRecoverEvent extends Base {
  type: 'host-recover';
  step: string;
  host: string;
  /** What the platform did (`rebooted through the CloudLab portal`). */
  action: string;
  ok: boolean;
  detail?: string;
  durationMs: number;
}
/** Where a long action is (bytes sent, hosts done): shown in place, not journaled, not in the host's log. */
export interface ProgressEvent extends Base {
  type: 'progress';
  step: string;
  host: string;
  text: string;
}
export interface RunEndEvent extends Base {
  type: 'run-end';
  runId: string;
  dir: string;
  ok: boolean;
  durationMs: number;
  counts: StatusCounts;
  stopped?: string;
  /** Every host × step result (outputs left out). */
  results: HostStepResult[];
  steps: string[];
  hosts: string[];
}

export type RunEvent =
  | RunStartEvent
  | StepStartEvent
  | AttemptStartEvent
  | AttemptEndEvent
  | HostEndEvent
  | StepEndEvent
  | LogEvent
  | ProgressEvent
  | HostRecoverEvent
  | RunEndEvent;

/** Events that go to the journal (everything but `log` and `progress`). */
export function isJournaled(e: RunEvent): boolean {
  return e.type !== 'log' && e.type !== 'progress';
}

export function emptyCounts(): StatusCounts {
  return { ok: 0, skipped: 0, failed: 0, aborted: 0, 'not-run': 0 };
}

export function countStatuses(results: readonly { status: HostStepStatus }[]): StatusCounts {
  const c = emptyCounts();
  for (const r of results) c[r.status]++;
  return c;
}
