/**
 * Plans: what a system target does, as data (steps × hosts × actions), before anything runs.
 * `--dry-run` prints a plan (formatPlan); otherwise interpret.ts turns it into engine steps.
 * The generic system builds its plans from system.toml; code-defined system plugins (sigmaos,
 * vhive, cfiddle, daphne) build theirs in TypeScript. Both run through the same interpreter.
 */
import { createHash } from 'node:crypto';
import type { HostCopy } from './host-copy.js';
import type { ChainAction } from './distribute.js';
import type { Host, ProcessSpec, ReadinessProbe } from '@labrig/core';

export type Action =
  /**
   * Run argv; with `check`, skip it when the check exits 0. With `capture`, keep a value from its
   * stdout (the first group of `pattern`, or the whole trimmed stdout) for later steps to use
   * (`outputs.get(step, host, name)`); a `secret` capture is redacted from everything after.
   * `stdin` is written to the command's standard input (then closed). `secretOutput`: its stdout
   * holds a secret (`docker swarm init` prints the join token) and is kept out of logs and output.
   */
  | { kind: 'run'; argv: string[]; env?: Record<string, string>; check?: string[]; capture?: Capture; stdin?: string; pty?: boolean; secretOutput?: boolean }
  /** Copy a local file to the host (ssh distribution); `secret`: its content is never shown. */
  | { kind: 'put'; name: string; local: string; remote: string; sha256: string; mode: number }
  /** Copy an artifact from the build host's build folder (`from = "build-host"`): steps/host-copy.ts. */
  | ({ kind: 'host-copy' } & HostCopy)
  /** This host's part in sending a file once into many hosts, host to host (chain distribution): steps/distribute.ts. */
  | ChainAction
  /** The host fetches an artifact from the store (store distribution). */
  | { kind: 'fetch'; name: string; key: string; remote: string; sha256: string; mode: number }
  /** (Re)start a long-running process and wait until its probe passes. */
  | { kind: 'start'; spec: ProcessSpec; probe?: ReadinessProbe; timeoutMs: number; what: string }
  | { kind: 'stop'; name: string }
  | { kind: 'process-status'; name: string }
  | { kind: 'write-file'; path: string; content: string; mode?: number }
  /**
   * Poll until the probe passes on the host (a file appears, a command succeeds, a port listens,
   * a line appears in a log); a NotReady (a StepTimeout) naming the host and what it waited for
   * when it does not within `timeoutMs`.
   */
  | { kind: 'wait'; probe: ReadinessProbe; timeoutMs: number; what: string; intervalMs?: number };

export interface Capture {
  name: string;
  /** A regular expression; its first group (or the whole match) is the value. */
  pattern?: string;
  secret?: boolean;
}

/**
 * Values earlier steps captured, for actions computed when their step runs (a join token from
 * the leader, used by the followers). In a dry run they are placeholders naming where they come from.
 */
export interface StepOutputs {
  get(step: string, host: string, name: string): string;
}

/** Skip the step on a host when this holds there (checked first, without side effects). */
export type SkipWhen =
  | { kind: 'file-equals'; path: string; content: string }
  | { kind: 'running'; name: string; stamp: string }
  | { kind: 'files-match'; files: { path: string; sha256: string }[] }
  /** A command that exits 0 when the step's work is already done (e.g. `docker info` shows the swarm). */
  | { kind: 'command'; argv: string[]; what: string };

export interface PlannedStep {
  name: string;
  title: string;
  hosts: Host[];
  skipWhen?: (host: Host) => SkipWhen;
  /** The host's actions; `outputs` holds what earlier steps captured (placeholders in a dry run). */
  actions: (host: Host, outputs: StepOutputs) => Action[];
  timeoutMs?: number;
}

export const sha256 = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');
