/**
 * The HTML report of a plan: one self-contained page (inline CSS and SVG, no scripts, nothing
 * fetched) that can be mailed, archived or opened from the results folder: the counts, every plot
 * with links to its files, a link to the CSV and a table of every run.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ParamValue, RunRow, RunStatus } from '../types.js';
import { collectSortedKeys } from './csv.js';

/** A rendered plot as the report shows it; its files sit beside the report as `<name>.*`. */
export interface ReportPlot {
  name: string;
  title: string;
  /** The SVG of the plot, from `renderSvg` (trusted: Vega escapes the text it draws). */
  svg: string;
}

export interface ReportInput {
  /** The plan's name. */
  plan: string;
  /** When the report was made, as shown (e.g. an ISO 8601 time). */
  generatedAt: string;
  /** Every run of the plan, in the order of the table. */
  rows: RunRow[];
  plots: ReportPlot[];
  /** The CSV, relative to the report's folder (`/`-separated). */
  csvFile: string;
  /** Further numbers shown under the counts, e.g. { attempts: 14, "collected MiB": 812 }. */
  summary?: Record<string, number>;
}

/** File name of the report in its folder. */
export const REPORT_FILE = 'report.html';

/** The look of the report page; the dashboard (@labrig/dashboard) uses it too. */
export const REPORT_STYLE = `
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em; color: #1d1d1f; }
h1 { margin: 0 0 .2em; font-size: 1.6em; }
h2 { font-size: 1.2em; margin: 1.5em 0 .5em; }
.counts { font-size: 1.1em; margin: .2em 0; }
.meta { color: #555; margin: .2em 0; }
dl.summary { display: grid; grid-template-columns: max-content max-content; gap: .1em 1em; margin: .5em 0; }
dl.summary dt { color: #555; }
dl.summary dd { margin: 0; font-variant-numeric: tabular-nums; }
figure { margin: 1em 0 2em; }
figure h3 { margin: 0 0 .3em; font-size: 1.05em; }
figure svg { max-width: 100%; height: auto; }
.files a { margin-right: 1em; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: .25em .5em; text-align: left; vertical-align: top; }
th { background: #f4f4f6; position: sticky; top: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.reason { white-space: pre-wrap; max-width: 40em; }
tr.failed td { background: #fdecec; }
tr.failed td.status { color: #b00020; font-weight: 600; }
tr.pending td.status, tr.running td.status { color: #8a6d00; }
`;

/** The report page of `input`: every text from runs, plans and hosts is HTML-escaped. */
export function formatReport(input: ReportInput): string {
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(input.plan)}: results</title>`,
    `<style>${REPORT_STYLE}</style>`,
    '</head>',
    '<body>',
    formatHeader(input),
    formatPlots(input.plots),
    formatRunTable(input.rows),
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** Writes `formatReport(input)` to `<dir>/report.html` (creating `dir`) and returns that path. */
export async function writeReport(dir: string, input: ReportInput): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, REPORT_FILE);
  await writeFile(file, formatReport(input), 'utf8');
  return file;
}

/** The escaped text of `value` for HTML text and double- or single-quoted attributes. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => HTML_ENTITIES[c] ?? c);
}

const HTML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** A relative `/`-separated path as an escaped href, each segment percent-encoded. */
function formatHref(relPath: string): string {
  return escapeHtml(relPath.split('/').map(encodeURIComponent).join('/'));
}

/** Plan name, run counts by status, time, CSV link and the optional summary numbers. */
function formatHeader(input: ReportInput): string {
  const count = (status: RunStatus): number => input.rows.filter((r) => r.status === status).length;
  const running = count('running');
  const counts =
    `${count('done')} done / ${count('failed')} failed / ${count('pending')} pending` +
    (running > 0 ? ` / ${running} running` : '') +
    ` of ${input.rows.length} runs`;
  const summary = Object.entries(input.summary ?? {});
  const lines = [
    '<header>',
    `<h1>${escapeHtml(input.plan)}</h1>`,
    `<p class="counts">${counts}</p>`,
    `<p class="meta">generated ${escapeHtml(input.generatedAt)} · data: ` +
      `<a href="${formatHref(input.csvFile)}">${escapeHtml(input.csvFile)}</a> (CSV, one row per run)</p>`,
  ];
  if (summary.length > 0) {
    lines.push('<dl class="summary">');
    for (const [key, value] of summary) lines.push(`<dt>${escapeHtml(key)}</dt><dd>${formatNumber(value)}</dd>`);
    lines.push('</dl>');
  }
  lines.push('</header>');
  return lines.join('\n');
}

/** Each plot inline, with links to its PNG, SVG and Vega-Lite files. */
function formatPlots(plots: ReportPlot[]): string {
  const lines = ['<section class="plots">', '<h2>Plots</h2>'];
  if (plots.length === 0) lines.push('<p>No plots: the plan has no <code>[[results]]</code>.</p>');
  plots.forEach((plot, index) => {
    const files = (['png', 'svg', 'vl.json'] as const)
      .map((ext) => `<a href="${formatHref(`${plot.name}.${ext}`)}">${ext === 'vl.json' ? 'Vega-Lite spec' : ext.toUpperCase()}</a>`)
      .join('');
    lines.push(
      `<figure id="plot-${escapeHtml(plot.name)}">`,
      `<h3>${escapeHtml(plot.title)}</h3>`,
      scopeSvgIds(plot.svg, `plot${index}-`),
      `<figcaption class="files">${files}</figcaption>`,
      '</figure>',
    );
  });
  lines.push('</section>');
  return lines.join('\n');
}

/**
 * `svg` with its element ids (and the `url(#…)` / `href="#…"` references to them) prefixed, so
 * several SVGs inlined in one page cannot pick up each other's clip paths or gradients.
 */
function scopeSvgIds(svg: string, prefix: string): string {
  return svg
    .replace(/(\sid=")([^"]*")/g, `$1${prefix}$2`)
    .replace(/url\(#/g, `url(#${prefix}`)
    .replace(/(href=")#/g, `$1#${prefix}`);
}

/** The table of every run: fixed columns, each parameter and metric (sorted, as in the CSV), duration and reason. */
function formatRunTable(rows: RunRow[]): string {
  const params = collectSortedKeys(rows.map((r) => r.params));
  const metrics = collectSortedKeys(rows.map((r) => r.metrics));
  const headers = ['run', 'experiments', 'repeat', 'status', 'attempt', ...params, ...metrics, 'duration', 'reason'];
  const lines = [
    '<section class="runs">',
    '<h2>Runs</h2>',
    '<table>',
    `<thead><tr>${headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>`,
    '<tbody>',
  ];
  for (const row of rows) {
    const id = row.dir === undefined ? escapeHtml(row.id) : `<a href="${formatHref(row.dir)}">${escapeHtml(row.id)}</a>`;
    const cells = [
      `<td class="id">${id}</td>`,
      `<td>${escapeHtml(row.experiments.join(', '))}</td>`,
      `<td class="num">${row.repeat}</td>`,
      `<td class="status">${escapeHtml(row.status)}</td>`,
      `<td class="num">${row.attempt}</td>`,
      ...params.map((name) => formatValueCell(row.params[name])),
      ...metrics.map((name) => formatValueCell(row.metrics[name])),
      `<td class="num">${row.durationMs === undefined ? '' : escapeHtml(formatDuration(row.durationMs))}</td>`,
      `<td class="reason">${escapeHtml(row.reason ?? '')}</td>`,
    ];
    lines.push(`<tr class="${escapeHtml(row.status)}">${cells.join('')}</tr>`);
  }
  lines.push('</tbody>', '</table>', '</section>');
  return lines.join('\n');
}

/** A parameter or metric cell: numbers right-aligned and shortened, missing values empty. */
function formatValueCell(value: ParamValue | undefined): string {
  if (value === undefined) return '<td></td>';
  if (typeof value === 'number') return `<td class="num">${escapeHtml(formatNumber(value))}</td>`;
  return `<td>${escapeHtml(String(value))}</td>`;
}

/** Integers as they are, other numbers to 6 significant digits (the CSV keeps full precision). */
function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
}

/** A duration for people: `850 ms`, `12.3 s`, `4 min 05 s`, `2 h 03 min`. */
function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, '0')} s`;
  const minutes = Math.round(seconds / 60);
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}
