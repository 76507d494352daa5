/** Small text helpers shared by the renderers and the summary. */
import path from 'node:path';
import type { ErrorInfo, HostStepStatus } from '../events.js';

/** `350 ms`, `1.2 s`, `42 s`, `2m05s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/** `512 B`, `3.2 KiB`, `64.0 MiB`, `1.25 GiB`: sizes in progress and summaries. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** A span of minutes to days, for expiries and estimates: `40 s`, `45 min`, `3 h 10 min`, `2 d 4 h`. */
export function formatLongDuration(ms: number): string {
  if (ms < 59_500) return `${Math.max(0, Math.round(ms / 1000))} s`;
  const min = Math.round(ms / 60_000);
  const h = Math.floor(min / 60);
  if (h >= 48) return `${Math.floor(h / 24)} d${h % 24 ? ` ${h % 24} h` : ''}`;
  return h ? `${h} h${min % 60 ? ` ${min % 60} min` : ''}` : `${min} min`;
}

/** What a host × step cell says: `ok`, `skipped`, `FAILED (exit 7)`, `TIMEOUT`, `UNREACHABLE`, `aborted`, `-`. */
export function statusLabel(r: {
  status: HostStepStatus;
  exitCode?: number | null;
  error?: Pick<ErrorInfo, 'code' | 'message'>;
  attempts?: number;
}): string {
  switch (r.status) {
    case 'ok':
      return r.attempts !== undefined && r.attempts > 1 ? `ok (${r.attempts} tries)` : 'ok';
    case 'skipped':
      return 'skipped';
    case 'aborted':
      return 'aborted';
    case 'not-run':
      return '-';
    case 'failed':
      break;
  }
  const code = r.error?.code;
  if (code === 'TIMEOUT') return 'TIMEOUT';
  if (code === 'UNREACHABLE') return 'UNREACHABLE';
  if (code === 'AUTH_FAILED') return 'AUTH FAILED';
  if (code === 'HOST_KEY_MISMATCH') return 'HOST KEY CHANGED';
  if (code === 'COMMAND_FAILED') {
    if (typeof r.exitCode === 'number') return `FAILED (exit ${r.exitCode})`;
    const sig = /killed by (\S+)/.exec(r.error?.message ?? '')?.[1];
    return sig ? `FAILED (${sig.replace(/:$/, '')})` : 'FAILED';
  }
  return 'FAILED';
}

/** The last non-empty line of a text. */
export function lastLine(text: string | undefined): string {
  if (!text) return '';
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  return lines[lines.length - 1]?.trim() ?? '';
}

/** A run directory as shown to users: relative to the current directory when inside it. */
export function displayDir(dir: string): string {
  const rel = path.relative(process.cwd(), dir);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : dir;
}

const ANSI = /\x1b\[[0-9;]*m/g;

export function visibleLength(s: string): number {
  return s.replace(ANSI, '').length;
}

export function padEndVisible(s: string, width: number): string {
  return s + ' '.repeat(Math.max(0, width - visibleLength(s)));
}

export const colors = {
  red: (s: string) => `\x1b[31m${s}\x1b[39m`,
  green: (s: string) => `\x1b[32m${s}\x1b[39m`,
  yellow: (s: string) => `\x1b[33m${s}\x1b[39m`,
  dim: (s: string) => `\x1b[2m${s}\x1b[22m`,
  bold: (s: string) => `\x1b[1m${s}\x1b[22m`,
};
