/**
 * The tidy CSV of a plan's runs: one row per run, one column per parameter and per metric, so the
 * results load straight into pandas, R or a spreadsheet without knowing labrig's store layout.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ParamValue, RunRow } from '../types.js';

/** Columns every CSV starts with, before the parameters. */
const LEADING_COLUMNS = ['run', 'experiments', 'repeat', 'status', 'attempt'] as const;
/** Columns every CSV ends with, after the metrics. */
const TRAILING_COLUMNS = ['started', 'ended', 'duration_ms', 'reason'] as const;

/** One CSV column: its header and how a row fills it. */
interface Column {
  header: string;
  value: (row: RunRow) => ParamValue | undefined;
}

/**
 * The CSV text of `rows`, in the order given: header `run,experiments,repeat,status,attempt`,
 * then each parameter name (union over the rows, sorted), then each metric name (union, sorted),
 * then `started,ended,duration_ms,reason`. A metric named like a parameter or a fixed column is
 * written as `metric_<name>` (and a parameter named like a fixed column as `param_<name>`), so
 * every header is unique. Missing values are empty; numbers are written with `String(n)`;
 * fields are quoted per RFC 4180. Lines end with LF (not the RFC's CRLF): every CSV reader takes
 * it, and line tools (cut, awk) do not see a stray CR in the last column.
 */
export function formatCsv(rows: RunRow[]): string {
  const columns = listColumns(rows);
  const lines = [columns.map((c) => quoteCsvField(c.header))];
  for (const row of rows) {
    lines.push(columns.map((c) => quoteCsvField(formatCsvValue(c.value(row)))));
  }
  return lines.map((fields) => `${fields.join(',')}\n`).join('');
}

/** Writes `formatCsv(rows)` to `file`, creating its parent folder. */
export async function writeCsv(file: string, rows: RunRow[]): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, formatCsv(rows), 'utf8');
}

/** The columns of `rows` in CSV order, with collision-free headers. */
function listColumns(rows: RunRow[]): Column[] {
  const paramNames = collectSortedKeys(rows.map((r) => r.params));
  const metricNames = collectSortedKeys(rows.map((r) => r.metrics));
  const fixed = new Set<string>([...LEADING_COLUMNS, ...TRAILING_COLUMNS]);
  const taken = new Set<string>(fixed);

  const paramColumns = paramNames.map((name): Column => {
    const header = prefixUntilFree(name, 'param_', taken, fixed.has(name));
    return { header, value: (row) => row.params[name] };
  });
  const metricColumns = metricNames.map((name): Column => {
    const header = prefixUntilFree(name, 'metric_', taken, taken.has(name));
    return { header, value: (row) => row.metrics[name] };
  });

  const leading: Column[] = [
    { header: 'run', value: (row) => row.id },
    { header: 'experiments', value: (row) => row.experiments.join(';') },
    { header: 'repeat', value: (row) => row.repeat },
    { header: 'status', value: (row) => row.status },
    { header: 'attempt', value: (row) => row.attempt },
  ];
  const trailing: Column[] = [
    { header: 'started', value: (row) => row.startedAt },
    { header: 'ended', value: (row) => row.endedAt },
    { header: 'duration_ms', value: (row) => row.durationMs },
    { header: 'reason', value: (row) => row.reason },
  ];
  return [...leading, ...paramColumns, ...metricColumns, ...trailing];
}

/**
 * `name`, or `prefix + name` when `collides` (repeating the prefix while that is taken too), and
 * records the result in `taken`.
 */
function prefixUntilFree(name: string, prefix: string, taken: Set<string>, collides: boolean): string {
  let header = name;
  if (collides) {
    header = prefix + name;
    while (taken.has(header)) header = prefix + header;
  }
  taken.add(header);
  return header;
}

/** The union of the keys of `records`, sorted (code-unit order, the same on every machine). */
export function collectSortedKeys(records: Record<string, unknown>[]): string[] {
  const keys = new Set<string>();
  for (const record of records) for (const key of Object.keys(record)) keys.add(key);
  return [...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** A cell's text: empty when missing, `String(v)` otherwise. */
function formatCsvValue(value: ParamValue | undefined): string {
  return value === undefined ? '' : String(value);
}

/** RFC 4180: a field with a comma, a double quote, CR or LF is quoted, inner quotes doubled. */
function quoteCsvField(field: string): string {
  return /[",\r\n]/.test(field) ? `"${field.replace(/"/g, '""')}"` : field;
}
