/**
 * One line per event, prefixed by the host (for CI logs and pipes):
 *   [tb-3] setup: ok (1.2 s)
 *   [tb-3] setup: FAILED exit 7: <last stderr line>
 * The summary table is printed at the end of the run.
 */
import type { HostEndEvent, RunEvent } from '../events.js';
import { displayDir, formatDuration, lastLine } from './format.js';
import type { Renderer } from './renderer.js';
import { formatSummary } from './summary.js';

export interface PlainRendererOptions {
  stream?: NodeJS.WritableStream;
  /** Print the summary table at run end. Default true. */
  summary?: boolean;
  /** Print `ctx.log` lines. Default true. */
  logs?: boolean;
}

export function describeHostEnd(e: Pick<HostEndEvent, 'status' | 'durationMs' | 'exitCode' | 'error' | 'stderrTail' | 'attempts'>): string {
  const tries = e.attempts > 1 ? `, ${e.attempts} attempts` : '';
  switch (e.status) {
    case 'ok':
      return `ok (${formatDuration(e.durationMs)}${tries})`;
    case 'skipped':
      return `skipped, already done (${formatDuration(e.durationMs)})`;
    case 'aborted':
      return `aborted${e.error ? ` (${firstLine(e.error.message).replace(/^aborted: /, '')})` : ''}`;
    case 'not-run':
      return 'not run';
    case 'failed':
      break;
  }
  const err = e.error;
  const tail = lastLine(e.stderrTail);
  if (err?.code === 'COMMAND_FAILED' && typeof e.exitCode === 'number') {
    return `FAILED exit ${e.exitCode}${tail ? `: ${tail}` : ''}${tries}`;
  }
  if (err?.code === 'TIMEOUT') return `TIMEOUT: ${firstLine(err.message)}${tries}`;
  if (err?.code === 'UNREACHABLE') return `UNREACHABLE: ${firstLine(err.message)}${tries}`;
  return `FAILED: ${err ? `${err.code}: ${firstLine(err.message)}` : 'unknown error'}${tries}`;
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? '';
}

export function formatPlainEvent(e: RunEvent, logs = true): string | undefined {
  switch (e.type) {
    case 'run-start': {
      const n = e.steps.some((s) => s.local) ? e.hosts.length - 1 : e.hosts.length;
      return `labrig run ${e.runId}${e.title ? ` (${e.title})` : ''}: ${n} host${n === 1 ? '' : 's'}, ${e.steps.length} step${e.steps.length === 1 ? '' : 's'}, failure policy ${e.failurePolicy}; logs in ${displayDir(e.dir)}`;
    }
    case 'step-start':
      return `== ${e.step}${e.title ? ` (${e.title})` : ''} on ${e.hosts.length} host${e.hosts.length === 1 ? '' : 's'}`;
    case 'attempt-start':
      return e.attempt > 1 ? `[${e.host}] ${e.step}: attempt ${e.attempt}` : undefined;
    case 'attempt-end':
      if (e.retryInMs === undefined) return undefined;
      return `[${e.host}] ${e.step}: attempt ${e.attempt} failed (${e.error?.code ?? 'error'}: ${firstLine(e.error?.message ?? '')}); retrying in ${formatDuration(e.retryInMs)}`;
    case 'host-end':
      return `[${e.host}] ${e.step}: ${describeHostEnd(e)}`;
    case 'log':
      return logs ? e.line.split('\n').map((l) => `[${e.host}] ${e.step}: ${l}`).join('\n') : undefined;
    case 'progress':
      return `[${e.host}] ${e.step}: ${e.text}`;
    case 'host-recover':
      return `[${e.host}] ${e.step}: unreachable; ${e.action}: ${e.ok ? 'back' : 'FAILED'}${e.detail ? ` (${e.detail})` : ''} in ${formatDuration(e.durationMs)}${e.ok ? ', trying again' : ''}`;
    case 'step-end': {
      const c = e.counts;
      const parts = (['ok', 'skipped', 'failed', 'aborted', 'not-run'] as const)
        .filter((k) => c[k] > 0)
        .map((k) => `${c[k]} ${k === 'not-run' ? 'not run' : k}`);
      return `== ${e.step}: ${parts.join(', ') || 'no hosts'} (${formatDuration(e.durationMs)})`;
    }
    case 'run-end':
      return undefined;
  }
}

export function createPlainRenderer(opts: PlainRendererOptions = {}): Renderer {
  const stream = opts.stream ?? process.stdout;
  return {
    onEvent(e) {
      const line = formatPlainEvent(e, opts.logs ?? true);
      if (line !== undefined) stream.write(`${line}\n`);
      if (e.type === 'run-end' && (opts.summary ?? true)) stream.write(`\n${formatSummary(e)}\n`);
    },
    close: () => undefined,
  };
}
