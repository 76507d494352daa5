/** Shared types of experiment plans, runs and results. */

export type ParamValue = string | number | boolean;
export type Params = Record<string, ParamValue>;

/** One `[[results]]` entry of a plan: what to plot. */
export interface ResultSpec {
  /** `line`: y (mean across repeats, error bars = min..max) against x, one line per series value.
   *  `bar`: y (mean, error bars) per x category, grouped by series.
   *  `cdf`: latency percentiles as a cumulative distribution, one curve per series value
   *  (`percentiles` maps a quantile, e.g. "0.99", to the metric holding it). */
  kind: 'line' | 'bar' | 'cdf';
  /** File name stem of the plot (`<name>.svg`, `<name>.png`). */
  name: string;
  title?: string;
  /** A parameter (line, bar). */
  x?: string;
  /** Metric(s) plotted (line, bar): several give one panel each. */
  y?: string | string[];
  /** A parameter whose values give one line / bar group / curve each. */
  series?: string;
  /** Only runs of this experiment of the plan. */
  experiment?: string;
  /** cdf: quantile -> metric, e.g. { "0.5" = "p50_us", "0.99" = "p99_us" }. */
  percentiles?: Record<string, string>;
  /** Axis label of the metric(s), e.g. "throughput (ops/s)". */
  label?: string;
}

export type RunStatus = 'done' | 'failed' | 'pending' | 'running';

/** One run (a point of a sweep x one repeat) as the results see it. */
export interface RunRow {
  /** Stable id derived from the parameters and the repeat index. */
  id: string;
  /** The plan's experiments this point belongs to. */
  experiments: string[];
  /** 1-based repeat index. */
  repeat: number;
  status: RunStatus;
  /** Attempt whose data the row shows (1-based); 0 when never attempted. */
  attempt: number;
  params: Params;
  /** Parsed metrics (numbers only). */
  metrics: Record<string, number>;
  startedAt?: string;
  endedAt?: string;
  durationMs?: number;
  /** Why a run failed. */
  reason?: string;
  /** The attempt folder, relative to the plan's results folder. */
  dir?: string;
}
