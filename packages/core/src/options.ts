/**
 * Parsing of run options given as strings (command line, target options). Pure functions;
 * a bad value is an OptionError naming the option and the value.
 */
import { OptionError } from './errors.js';

/** What happens when a host fails a step. */
export type FailurePolicy =
  | { kind: 'fail-fast' }
  | { kind: 'continue' }
  /** Like `continue` until more than `percent` % of the run's hosts have failed, then like `fail-fast`. */
  | { kind: 'max-fail'; percent: number };

export type OutputMode = 'auto' | 'tty' | 'plain' | 'json';

const POLICY_EXPECTED = '`fail-fast`, `continue` or `max-fail=N%` (0 <= N <= 100)';

/** `fail-fast | continue | max-fail=N%` (the `%` is optional). */
export function parseFailurePolicy(value: string, option = 'failure-policy'): FailurePolicy {
  const v = typeof value === 'string' ? value.trim() : value;
  if (v === 'fail-fast') return { kind: 'fail-fast' };
  if (v === 'continue') return { kind: 'continue' };
  const m = typeof v === 'string' ? /^max-fail=(\d+(?:\.\d+)?)%?$/.exec(v) : null;
  if (m) {
    const percent = Number(m[1]);
    if (percent >= 0 && percent <= 100) return { kind: 'max-fail', percent };
  }
  throw new OptionError(option, value, POLICY_EXPECTED);
}

/** Accepts a parsed policy or its string form; undefined → fail-fast. */
export function normalizeFailurePolicy(value: FailurePolicy | string | undefined): FailurePolicy {
  if (value === undefined) return { kind: 'fail-fast' };
  if (typeof value === 'string') return parseFailurePolicy(value);
  if (value.kind === 'max-fail') {
    if (!(value.percent >= 0 && value.percent <= 100)) throw new OptionError('failure-policy', value, POLICY_EXPECTED);
    return { kind: 'max-fail', percent: value.percent };
  }
  if (value.kind === 'fail-fast' || value.kind === 'continue') return { kind: value.kind };
  throw new OptionError('failure-policy', value, POLICY_EXPECTED);
}

export function formatFailurePolicy(p: FailurePolicy): string {
  return p.kind === 'max-fail' ? `max-fail=${p.percent}%` : p.kind;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * A duration → milliseconds. Numbers are milliseconds. Strings need a unit:
 * `1500ms`, `30s`, `1.5s`, `5m`, `2h`, or a sequence like `1m30s`.
 */
export function parseDuration(value: string | number, option = 'timeout'): number {
  const expected = 'a duration like `1500ms`, `30s`, `5m`, `1h` or `1m30s` (a bare number means milliseconds)';
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return Math.round(value);
    throw new OptionError(option, value, expected);
  }
  if (typeof value !== 'string') throw new OptionError(option, value, expected);
  const s = value.trim();
  if (/^\d+$/.test(s)) return Number(s);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    total += Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? NaN);
    matched = re.lastIndex;
  }
  if (s === '' || matched !== s.length || !Number.isFinite(total)) throw new OptionError(option, value, expected);
  return Math.round(total);
}

export function parseOutputMode(value: string, option = 'output'): OutputMode {
  if (value === 'auto' || value === 'tty' || value === 'plain' || value === 'json') return value;
  throw new OptionError(option, value, '`auto`, `tty`, `plain` or `json`');
}

/**
 * `auto` → `tty` when the stream is a terminal and not in CI, else `plain`.
 * Pure: the caller passes what it knows about the terminal and the environment.
 */
export function resolveOutputMode(
  mode: OutputMode,
  env: { isTTY: boolean; ci: boolean },
): Exclude<OutputMode, 'auto'> {
  if (mode !== 'auto') return mode;
  return env.isTTY && !env.ci ? 'tty' : 'plain';
}

/** Whether the environment looks like CI (the `CI` variable set to anything but `false`/`0`/empty). */
export function isCI(env: NodeJS.ProcessEnv): boolean {
  const v = env['CI'];
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}
