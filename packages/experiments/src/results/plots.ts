/**
 * Vega-Lite specs of a plan's `[[results]]`: line, bar and cdf plots of the finished runs.
 *
 * Every spec inlines its data as one datum per run (parameters and metrics flattened into one
 * object) and does the aggregation across repeats in Vega-Lite transforms, so the `.vl.json` written
 * beside each plot is a complete, self-contained chart that people can restyle in the Vega editor.
 *
 * Error bars span min..max across repeats. Vega-Lite's `errorbar` has no min-max extent (only ci,
 * stderr, stdev, iqr), so an `aggregate` transform computes mean, min and max per (x, series) group
 * and the bars are drawn from those fields: a `rule` from `y` = min to `y2` = max plus a
 * horizontal `tick` at each end. (The pre-aggregated `errorbar` mark draws the same, but its end
 * ticks ignore `xOffset` and so sit across the whole group in a grouped bar chart.)
 */
import type { ParamValue, ResultSpec, RunRow } from '../types.js';

/** One chart to render: the result's file stem, its title and its Vega-Lite spec. */
export interface PlotSpec {
  name: string;
  title: string;
  spec: object;
}

type Json = Record<string, unknown>;

const VEGA_LITE_SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const PANEL_WIDTH = 400;
const PANEL_HEIGHT = 240;
/** Up to this many distinct numeric x values, the axis ticks sit exactly on them. */
const MAX_SWEPT_TICKS = 12;
/** Width of the ticks at the ends of an error bar, in pixels. */
const ERROR_TICK_SIZE = 8;
/** Category labels up to this long are written horizontally. */
const MAX_FLAT_LABEL = 10;
/** Appended to the title of a chart drawn without data. */
export const NO_FINISHED_RUNS = 'no finished runs';

/**
 * One Vega-Lite spec per entry of `results`, drawn from the `done` rows (of `experiment` when set).
 * Throws when a result lacks a field its kind needs, or names a parameter (x, series) no row has or
 * a metric (y, percentiles) no finished row has, rather than silently drawing nothing. With no
 * finished rows the spec still renders: a chart titled "<title> (no finished runs)".
 */
export function plotSpecs(rows: RunRow[], results: ResultSpec[]): PlotSpec[] {
  return results.map((result, index) => buildPlotSpec(rows, result, index));
}

/** The spec of `results[index]`. */
function buildPlotSpec(rows: RunRow[], result: ResultSpec, index: number): PlotSpec {
  const where = `results[${index}] "${result.name}"`;
  const experiment = result.experiment;
  const candidates = experiment === undefined ? rows : rows.filter((r) => r.experiments.includes(experiment));
  const done = candidates.filter((r) => r.status === 'done');
  checkResultFields(where, result, candidates, done);

  const title = result.title ?? generateTitle(result);
  if (done.length === 0) return { name: result.name, title, spec: buildEmptyChart(title) };
  const table = flattenRuns(done);
  const body = result.kind === 'cdf' ? buildCdf(result, table) : buildSummaryChart(result, table);
  const spec: Json = {
    $schema: VEGA_LITE_SCHEMA,
    title: { text: title, anchor: 'middle' },
    data: { values: table.values },
    ...body,
  };
  return { name: result.name, title, spec };
}

/** The chart of a result without finished runs: its title saying so, and the same words inside. */
function buildEmptyChart(title: string): Json {
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: `${title} (${NO_FINISHED_RUNS})`,
    width: PANEL_WIDTH,
    height: PANEL_HEIGHT,
    data: { values: [{}] },
    mark: { type: 'text', fontSize: 14, color: 'gray' },
    encoding: { text: { value: NO_FINISHED_RUNS } },
  };
}

/** The y metrics of a line or bar result, as a list. */
function listYMetrics(result: ResultSpec): string[] {
  if (result.y === undefined) return [];
  return typeof result.y === 'string' ? [result.y] : result.y;
}

/**
 * Throws unless `result` has the fields its kind needs, each x/series naming a parameter of some
 * row of its experiment, each y/percentile metric a metric of some finished row. With no rows (or
 * no finished rows) there is nothing to check against, and the empty chart says so instead.
 */
function checkResultFields(where: string, result: ResultSpec, candidates: RunRow[], done: RunRow[]): void {
  const scope = result.experiment === undefined ? '' : ` of experiment "${result.experiment}"`;
  const checkParam = (field: string, name: string): void => {
    if (candidates.length > 0 && !candidates.some((r) => Object.hasOwn(r.params, name))) {
      throw new Error(`${where}: ${field} "${name}" is not a parameter of any run${scope}`);
    }
  };
  const checkMetric = (field: string, name: string): void => {
    if (done.length > 0 && !done.some((r) => Object.hasOwn(r.metrics, name))) {
      throw new Error(`${where}: ${field} "${name}" is not a metric of any finished run${scope}`);
    }
  };

  if (result.kind === 'cdf') {
    const entries = Object.entries(result.percentiles ?? {});
    if (entries.length === 0) throw new Error(`${where}: a cdf plot needs "percentiles" (quantile -> metric)`);
    const seen = new Map<string, string>();
    for (const [quantile, metric] of entries) {
      const q = Number(quantile);
      if (quantile.trim() === '' || !Number.isFinite(q) || q < 0 || q > 1) {
        throw new Error(`${where}: percentiles key "${quantile}" is not a quantile between 0 and 1`);
      }
      const other = seen.get(metric);
      if (other !== undefined) {
        throw new Error(`${where}: percentiles "${other}" and "${quantile}" both name metric "${metric}"`);
      }
      seen.set(metric, quantile);
      checkMetric(`percentiles "${quantile}"`, metric);
    }
  } else {
    if (result.x === undefined) throw new Error(`${where}: a ${result.kind} plot needs "x" (a parameter)`);
    const ys = listYMetrics(result);
    if (ys.length === 0) throw new Error(`${where}: a ${result.kind} plot needs "y" (one or more metrics)`);
    checkParam('x', result.x);
    for (const y of ys) checkMetric('y', y);
  }
  if (result.series !== undefined) checkParam('series', result.series);
}

/** A title for a result without one, e.g. "throughput vs clients, per value_size". */
function generateTitle(result: ResultSpec): string {
  const what = result.kind === 'cdf' ? 'latency CDF' : `${listYMetrics(result).join(', ')} vs ${result.x ?? ''}`;
  const per = result.series === undefined ? '' : `, per ${result.series}`;
  const scope = result.experiment === undefined ? '' : ` (${result.experiment})`;
  return `${what}${per}${scope}`;
}

/** The inline data of a chart and where each parameter and metric sits in a datum. */
interface RunTable {
  values: Record<string, ParamValue>[];
  paramKey: Map<string, string>;
  metricKey: Map<string, string>;
  /** Datum keys in use, so the transforms' output fields can avoid them. */
  taken: Set<string>;
}

/**
 * One datum per run: its parameters under their names, its metrics under theirs, or under
 * `metric_<name>` when a parameter has the same name.
 */
function flattenRuns(rows: RunRow[]): RunTable {
  const paramKey = new Map<string, string>();
  const metricKey = new Map<string, string>();
  const taken = new Set<string>();
  for (const row of rows) {
    for (const name of Object.keys(row.params)) {
      paramKey.set(name, name);
      taken.add(name);
    }
  }
  for (const row of rows) {
    for (const name of Object.keys(row.metrics)) {
      if (metricKey.has(name)) continue;
      let key = name;
      while (taken.has(key)) key = `metric_${key}`;
      metricKey.set(name, key);
      taken.add(key);
    }
  }
  const values = rows.map((row) => {
    const datum: Record<string, ParamValue> = {};
    for (const [name, value] of Object.entries(row.params)) datum[paramKey.get(name) ?? name] = value;
    for (const [name, value] of Object.entries(row.metrics)) datum[metricKey.get(name) ?? name] = value;
    return datum;
  });
  return { values, paramKey, metricKey, taken };
}

/** `base`, or `base_2`, `base_3`... whichever no datum key or earlier output field uses. */
function claimName(base: string, taken: Set<string>): string {
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base}_${i}`;
  taken.add(name);
  return name;
}

/** A datum key as a Vega-Lite field reference: `.`, `[`, `]` and `\` are escaped (no nesting). */
function fieldRef(key: string): string {
  return key.replace(/[.[\]\\]/g, '\\$&');
}

/** A datum key as a string literal inside a Vega expression. */
function datumRef(key: string): string {
  return `datum[${JSON.stringify(key)}]`;
}

/** `isValid && isFinite` of a datum field, for filters before aggregates and log scales. */
function isFiniteExpr(key: string): string {
  return `isValid(${datumRef(key)}) && isFinite(${datumRef(key)})`;
}

/**
 * A line or bar chart: per metric in `y`, a panel plotting the mean across repeats per (x, series)
 * with min..max error bars; several metrics are stacked vertically (`vconcat`) into one chart.
 */
function buildSummaryChart(result: ResultSpec, table: RunTable): Json {
  const ys = listYMetrics(result);
  const panels = ys.map((y) => buildSummaryPanel(result, table, y, ys.length > 1));
  const [only] = panels;
  return only !== undefined && panels.length === 1 ? only : { vconcat: panels };
}

/** One panel of a line or bar chart: metric `y` against the x parameter. */
function buildSummaryPanel(result: ResultSpec, table: RunTable, y: string, titled: boolean): Json {
  const x = result.x ?? '';
  const xKey = table.paramKey.get(x) ?? x;
  const yKey = table.metricKey.get(y) ?? y;
  const seriesKey = result.series === undefined ? undefined : (table.paramKey.get(result.series) ?? result.series);
  const taken = new Set(table.taken);
  const mean = claimName('mean', taken);
  const min = claimName('min', taken);
  const max = claimName('max', taken);
  const count = claimName('repeats', taken);
  const groupby = seriesKey === undefined ? [xKey] : [xKey, seriesKey];

  const xEncoding = buildXEncoding(result.kind === 'bar', table, xKey, x);
  const yTitle = result.label ?? y;
  const series: Json | undefined =
    seriesKey === undefined ? undefined : { field: fieldRef(seriesKey), type: 'nominal', title: result.series };
  const grouping: Json = series === undefined ? {} : result.kind === 'bar' ? { xOffset: series, color: series } : { color: series };
  const tooltip = [
    { field: fieldRef(xKey), title: x },
    ...(series === undefined ? [] : [series]),
    { field: mean, type: 'quantitative', title: `mean ${y}` },
    { field: min, type: 'quantitative', title: `min ${y}` },
    { field: max, type: 'quantitative', title: `max ${y}` },
    { field: count, type: 'quantitative', title: 'repeats' },
  ];

  const valueMark = result.kind === 'bar' ? { type: 'bar' } : { type: 'line', point: true };
  const errorGrouping: Json =
    series === undefined ? {} : result.kind === 'bar' ? { xOffset: series } : { color: series };
  return {
    ...(titled ? { title: y } : {}),
    width: PANEL_WIDTH,
    height: PANEL_HEIGHT,
    transform: [
      // Runs without the x parameter or a finite metric have no place on the panel.
      { filter: `isValid(${datumRef(xKey)}) && ${isFiniteExpr(yKey)}` },
      {
        aggregate: [
          { op: 'mean', field: fieldRef(yKey), as: mean },
          { op: 'min', field: fieldRef(yKey), as: min },
          { op: 'max', field: fieldRef(yKey), as: max },
          { op: 'count', as: count },
        ],
        groupby: groupby.map(fieldRef),
      },
    ],
    layer: [
      {
        mark: valueMark,
        encoding: { x: xEncoding, y: { field: mean, type: 'quantitative', title: yTitle }, ...grouping, tooltip },
      },
      ...buildErrorBarLayers(xEncoding, errorGrouping, min, max, yTitle),
    ],
  };
}

/**
 * The min..max error bars of a panel: a rule between the aggregated `min` and `max` fields and a
 * tick at each end, grouped like the values they belong to (`grouping`: color or xOffset). Bars of
 * a bar chart are black, lines' are in the line's color.
 */
function buildErrorBarLayers(xEncoding: Json, grouping: Json, min: string, max: string, yTitle: string): Json[] {
  const color = Object.hasOwn(grouping, 'color') ? {} : { color: 'black' };
  const x = { x: xEncoding, ...grouping };
  return [
    {
      mark: { type: 'rule', ...color },
      encoding: { ...x, y: { field: min, type: 'quantitative', title: yTitle }, y2: { field: max } },
    },
    ...[min, max].map((field) => ({
      mark: { type: 'tick', orient: 'horizontal', size: ERROR_TICK_SIZE, opacity: 1, ...color },
      encoding: { ...x, y: { field, type: 'quantitative', title: yTitle } },
    })),
  ];
}

/**
 * The x encoding of a line or bar panel. Bars: nominal. Lines: quantitative when every value is a
 * number, with a tick at each swept value when there are few; ordinal otherwise. Short category
 * labels stay horizontal (Vega-Lite turns discrete x labels sideways by default).
 */
function buildXEncoding(bar: boolean, table: RunTable, xKey: string, title: string): Json {
  const present = table.values.map((d) => d[xKey]).filter((v) => v !== undefined);
  const distinct = [...new Set(present)];
  if (!bar && present.every((v) => typeof v === 'number')) {
    const ticks = distinct.length <= MAX_SWEPT_TICKS ? { axis: { values: distinct.sort((a, b) => Number(a) - Number(b)) } } : {};
    return { field: fieldRef(xKey), type: 'quantitative', title, ...ticks };
  }
  const short = distinct.every((v) => String(v).length <= MAX_FLAT_LABEL);
  return { field: fieldRef(xKey), type: bar ? 'nominal' : 'ordinal', title, ...(short ? { axis: { labelAngle: 0 } } : {}) };
}

/**
 * A latency CDF: each run's percentile metrics become (quantile, latency) points (`fold`), the
 * latency is averaged across the runs of a series value per quantile, and each series value gets a
 * line with points. Latency is on a log scale, so non-positive latencies are left out.
 */
function buildCdf(result: ResultSpec, table: RunTable): Json {
  const percentiles = Object.entries(result.percentiles ?? {}).map(([quantile, metric]) => ({
    quantile: Number(quantile),
    key: table.metricKey.get(metric) ?? metric,
  }));
  const seriesKey = result.series === undefined ? undefined : (table.paramKey.get(result.series) ?? result.series);
  const taken = new Set(table.taken);
  const metricAs = claimName('metric', taken);
  const latencyAs = claimName('latency', taken);
  const quantileAs = claimName('quantile', taken);
  const meanAs = claimName('mean_latency', taken);
  const count = claimName('runs', taken);
  // fold writes the (unescaped) datum key of each folded field into `metricAs`.
  const quantileOf = percentiles.reduceRight(
    (otherwise, p) => `${datumRef(metricAs)} === ${JSON.stringify(p.key)} ? ${p.quantile} : ${otherwise}`,
    'null',
  );
  const series: Json | undefined =
    seriesKey === undefined ? undefined : { field: fieldRef(seriesKey), type: 'nominal', title: result.series };
  const latencyTitle = result.label ?? 'latency';

  return {
    width: PANEL_WIDTH,
    height: PANEL_HEIGHT,
    transform: [
      { fold: percentiles.map((p) => fieldRef(p.key)), as: [metricAs, latencyAs] },
      { calculate: quantileOf, as: quantileAs },
      { filter: `${isFiniteExpr(latencyAs)} && ${datumRef(latencyAs)} > 0` },
      {
        aggregate: [
          { op: 'mean', field: latencyAs, as: meanAs },
          { op: 'count', as: count },
        ],
        groupby: seriesKey === undefined ? [quantileAs] : [fieldRef(seriesKey), quantileAs],
      },
    ],
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: meanAs, type: 'quantitative', scale: { type: 'log' }, title: latencyTitle },
      y: { field: quantileAs, type: 'quantitative', scale: { domain: [0, 1] }, title: 'quantile' },
      order: { field: quantileAs, type: 'quantitative' },
      ...(series === undefined ? {} : { color: series }),
      tooltip: [
        ...(series === undefined ? [] : [series]),
        { field: quantileAs, type: 'quantitative', title: 'quantile' },
        { field: meanAs, type: 'quantitative', title: `mean ${latencyTitle}` },
        { field: count, type: 'quantitative', title: 'runs' },
      ],
    },
  };
}
