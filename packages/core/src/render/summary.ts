/**
 * The end-of-run summary: a host × step table, the failures with their last stderr lines and
 * hints, and a totals line. Columns are aligned; colour only when asked. With many hosts,
 * hosts whose rows are identical are merged into one row (`tb-[0-40,42-63] (63)`).
 */
import path from 'node:path';
import type { HostStepResult, RunResult } from '../events.js';
import { safeFileName } from '../journal/host-logs.js';
import { colors, displayDir, formatDuration, padEndVisible, statusLabel, visibleLength } from './format.js';

export type SummaryInput = Pick<RunResult, 'ok' | 'durationMs' | 'steps' | 'hosts' | 'results' | 'counts'> &
  Partial<Pick<RunResult, 'id' | 'dir' | 'stopped'>> & { runId?: string };

export interface SummaryOptions {
  /** ANSI colours (only for a terminal). Default false. */
  color?: boolean;
  /** stderr lines shown per failure. Default 3. */
  stderrLines?: number;
  /** Merge identical rows when there are more hosts than this. Default 16. */
  groupAbove?: number;
}

/** `tb-0, tb-1, tb-2, tb-7, db` → `db, tb-[0-2,7]`. */
export function compressHostNames(names: readonly string[], maxLength = 60): string {
  const byPrefix = new Map<string, number[]>();
  const plain: string[] = [];
  const widths = new Map<string, number>();
  for (const n of names) {
    const m = /^(.*?)(\d+)$/.exec(n);
    if (!m || (m[2]!.length > 1 && m[2]!.startsWith('0'))) {
      plain.push(n);
      continue;
    }
    const list = byPrefix.get(m[1]!) ?? [];
    list.push(Number(m[2]));
    byPrefix.set(m[1]!, list);
    widths.set(m[1]!, m[2]!.length);
  }
  const parts = [...plain];
  for (const [prefix, nums] of byPrefix) {
    if (nums.length === 1) {
      parts.push(`${prefix}${nums[0]}`);
      continue;
    }
    nums.sort((a, b) => a - b);
    const ranges: string[] = [];
    let start = nums[0]!;
    let prev = start;
    for (const n of [...nums.slice(1), Infinity]) {
      if (n === prev + 1) {
        prev = n;
        continue;
      }
      ranges.push(start === prev ? `${start}` : `${start}-${prev}`);
      start = n;
      prev = n;
    }
    parts.push(`${prefix}[${ranges.join(',')}]`);
  }
  const s = parts.join(', ');
  return s.length <= maxLength ? s : `${s.slice(0, maxLength - 1)}…`;
}

function colorFor(label: string, on: boolean): string {
  if (!on) return label;
  if (label.startsWith('ok')) return colors.green(label);
  if (label === 'skipped') return colors.dim(label);
  if (label === '-' || label === '') return colors.dim(label);
  if (label === 'aborted') return colors.yellow(label);
  return colors.red(label);
}

function formatTable(rows: string[][], gap = 2): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, visibleLength(c))));
  return rows.map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : padEndVisible(c, widths[i]! + gap)))
      .join('')
      .trimEnd(),
  );
}

export function formatSummary(result: SummaryInput, opts: SummaryOptions = {}): string {
  const color = opts.color ?? false;
  const nLines = opts.stderrLines ?? 3;
  const groupAbove = opts.groupAbove ?? 16;
  const index = new Map<string, HostStepResult>();
  for (const r of result.results) index.set(`${r.host}\0${r.step}`, r);
  const hosts = result.hosts.filter((h) => result.results.some((r) => r.host === h));

  // Rows: one per host, or per group of identical hosts when there are many.
  const cellsOf = (h: string): string[] =>
    result.steps.map((s) => {
      const r = index.get(`${h}\0${s}`);
      return r ? statusLabel(r) : '';
    });
  let rows: { label: string; cells: string[] }[];
  if (hosts.length > groupAbove) {
    const groups = new Map<string, { names: string[]; cells: string[] }>();
    for (const h of hosts) {
      const cells = cellsOf(h);
      const key = cells.join('\0');
      const g = groups.get(key) ?? { names: [], cells };
      g.names.push(h);
      groups.set(key, g);
    }
    rows = [...groups.values()].map((g) => ({
      label: g.names.length === 1 ? g.names[0]! : `${compressHostNames(g.names)} (${g.names.length})`,
      cells: g.cells,
    }));
  } else {
    rows = hosts.map((h) => ({ label: h, cells: cellsOf(h) }));
  }
  const header = ['host', ...result.steps];
  const table = formatTable([header, ...rows.map((r) => [r.label, ...r.cells])]);
  const out: string[] = [];
  table.forEach((line, i) => {
    if (i === 0) return out.push(color ? colors.bold(line) : line);
    if (!color) return out.push(line);
    // Re-colour the status cells without breaking the alignment: pad first, colour after.
    const row = rows[i - 1]!;
    const widths = header.map((_, c) =>
      Math.max(visibleLength(header[c]!), ...rows.map((r) => visibleLength(c === 0 ? r.label : (r.cells[c - 1] ?? '')))),
    );
    const parts = [row.label, ...row.cells].map((c, ci) => {
      const padded = ci === header.length - 1 ? c : padEndVisible(c, widths[ci]! + 2);
      return ci === 0 || c === '' ? padded : padded.replace(c, colorFor(c, true));
    });
    out.push(parts.join('').replace(/ +$/, ''));
  });

  // Failures, grouped when several hosts failed the same way.
  const failures = result.results.filter((r) => r.status === 'failed');
  if (failures.length > 0) {
    out.push('', color ? colors.bold('Failures:') : 'Failures:');
    const groups = new Map<string, HostStepResult[]>();
    for (const f of failures) {
      const tail = (f.stderrTail ?? '').split('\n').filter((l) => l.trim() !== '').slice(-nLines).join('\n');
      const msg = (f.error?.message ?? '').split(f.host).join('<host>');
      const key = [f.step, statusLabel(f), tail, f.error?.hint ?? '', hosts.length > groupAbove ? msg : f.host].join('\0');
      const list = groups.get(key) ?? [];
      list.push(f);
      groups.set(key, list);
    }
    for (const list of groups.values()) {
      const f = list[0]!;
      const who = list.length === 1 ? f.host : `${compressHostNames(list.map((x) => x.host))} (${list.length} hosts)`;
      const label = statusLabel(f);
      out.push(`  ${who} · ${f.step}: ${colorFor(label, color)}`);
      const first = (f.error?.message ?? '').split('\n')[0];
      if (first) out.push(`    ${first}`);
      const tail = (f.stderrTail ?? '').split('\n').filter((l) => l.trim() !== '').slice(-nLines);
      for (const l of tail) out.push(`    | ${l}`);
      if (f.error?.hint) out.push(`    hint: ${f.error.hint}`);
      if (result.dir) {
        const log = path.join(displayDir(result.dir), 'logs', safeFileName(f.host), `${safeFileName(f.step)}.log`);
        out.push(`    log: ${log}`);
      }
    }
  }

  const c = result.counts;
  // `local` (the coordinator, for local steps) is not one of the run's hosts.
  const realHosts = result.hosts.filter((h) => h !== 'local').length;
  const totals = [
    `${realHosts} host${realHosts === 1 ? '' : 's'} × ${result.steps.length} step${result.steps.length === 1 ? '' : 's'}:`,
    `${c.ok} ok, ${c.skipped} skipped, ${c.failed} failed, ${c.aborted} aborted, ${c['not-run']} not run`,
    `in ${formatDuration(result.durationMs)}`,
  ].join(' ');
  const id = result.id ?? result.runId;
  const verdict = result.ok ? 'OK' : 'FAILED';
  out.push(
    '',
    `${totals}${id ? ` — run ${id}` : ''} ${color ? (result.ok ? colors.green(verdict) : colors.red(verdict)) : verdict}`,
  );
  if (result.stopped) out.push(`stopped: ${result.stopped}`);
  return out.join('\n');
}
