import { describe, expect, it } from 'vitest';
import type { ResultSpec, RunRow } from '../types.js';
import { plotSpecs } from './plots.js';
import { renderSvg } from './render.js';

/** 12 done runs: clients [1,2,4] x value_size [64,1024] x 2 repeats, with uneven repeats. */
function makeSampleRows(): RunRow[] {
  const rows: RunRow[] = [];
  for (const clients of [1, 2, 4]) {
    for (const valueSize of [64, 1024]) {
      for (const repeat of [1, 2]) {
        rows.push({
          id: `c${clients}-v${valueSize}-r${repeat}`,
          experiments: ['scale'],
          repeat,
          status: 'done',
          attempt: 1,
          params: { clients, value_size: valueSize },
          metrics: {
            throughput: clients * 1000 - valueSize / 4 + repeat * 101,
            p50_us: 100 + valueSize / 16 + clients + repeat,
            p90_us: 200 + valueSize / 8 + clients * 10 + repeat * 3,
            p99_us: 400 + valueSize / 2 + clients * 40 + repeat * 7,
          },
        });
      }
    }
  }
  return rows;
}

/** The mean, min and max of a metric over the repeats of one (clients, value_size) point. */
function summarize(rows: RunRow[], clients: number, valueSize: number, metric: string): { mean: number; min: number; max: number } {
  const values = rows
    .filter((r) => r.params['clients'] === clients && r.params['value_size'] === valueSize)
    .map((r) => r.metrics[metric] ?? Number.NaN);
  return { mean: values.reduce((a, b) => a + b, 0) / values.length, min: Math.min(...values), max: Math.max(...values) };
}

/** The aria-labels of the SVG elements of one role, each parsed into its `key: value` pairs. */
function readMarks(svg: string, role: string): Record<string, string>[] {
  const marks: Record<string, string>[] = [];
  for (const match of svg.matchAll(/<[a-z]+ aria-label="([^"]*)" role="graphics-symbol" aria-roledescription="([^"]*)"/g)) {
    if (match[2] !== role) continue;
    marks.push(Object.fromEntries((match[1] ?? '').split('; ').map((pair) => pair.split(': ') as [string, string])));
  }
  return marks;
}

const LINE: ResultSpec = {
  kind: 'line',
  name: 'tput',
  x: 'clients',
  y: 'throughput',
  series: 'value_size',
  label: 'throughput (ops/s)',
};

async function renderOne(rows: RunRow[], result: ResultSpec): Promise<{ title: string; spec: object; svg: string }> {
  const [plot] = plotSpecs(rows, [result]);
  if (plot === undefined) throw new Error('no plot');
  return { ...plot, svg: await renderSvg(plot.spec) };
}

describe('plotSpecs', () => {
  it('line: one point per (x, series) at the mean across repeats, with min..max error bars', async () => {
    const rows = makeSampleRows();
    const { svg, title } = await renderOne(rows, LINE);
    expect(title).toBe('throughput vs clients, per value_size');
    expect(svg).toContain("Title text 'throughput vs clients, per value_size'");
    expect(svg).toContain("X-axis titled 'clients' for a linear scale");
    expect(svg).toContain("Y-axis titled 'throughput (ops/s)'");
    expect(svg).toContain("legend titled 'value_size'");
    expect(readMarks(svg, 'line mark')).toHaveLength(2);

    const points = readMarks(svg, 'point');
    expect(points).toHaveLength(6);
    expect(new Set(points.map((p) => `${p['clients']}/${p['value_size']}`))).toEqual(
      new Set(['1/64', '1/1024', '2/64', '2/1024', '4/64', '4/1024']),
    );
    const point = points.find((p) => p['clients'] === '2' && p['value_size'] === '1024');
    const expected = summarize(rows, 2, 1024, 'throughput');
    expect(expected.mean).toBe(1895.5);
    expect(Number(point?.['mean throughput'])).toBe(expected.mean);
    expect(Number(point?.['throughput (ops/s)'])).toBe(expected.mean);
    expect(Number(point?.['min throughput'])).toBe(expected.min);
    expect(Number(point?.['max throughput'])).toBe(expected.max);
    expect(point?.['repeats']).toBe('2');

    // Two ticks per error bar, at min and max of the repeats.
    const ticks = readMarks(svg, 'tick').filter((t) => t['clients'] === '2' && t['value_size'] === '1024');
    expect(ticks.map((t) => Number(t['throughput (ops/s)'])).sort((a, b) => a - b)).toEqual([expected.min, expected.max]);
    expect(readMarks(svg, 'tick')).toHaveLength(12);
  });

  it('line: several metrics give one panel each in one SVG; a string x is ordinal', async () => {
    const rows = makeSampleRows().map((r) => ({ ...r, params: { ...r.params, mode: r.params['clients'] === 1 ? 'one' : 'many' } }));
    const { svg } = await renderOne(rows, { kind: 'line', name: 'lat', x: 'mode', y: ['p50_us', 'p99_us'] });
    expect(svg.match(/<svg /g)).toHaveLength(1);
    expect(svg).toContain("Y-axis titled 'p50_us'");
    expect(svg).toContain("Y-axis titled 'p99_us'");
    expect(svg).toContain("X-axis titled 'mode' for a discrete scale with 2 values");
    expect(readMarks(svg, 'point')).toHaveLength(4);
    const many = readMarks(svg, 'point').find((p) => p['mode'] === 'many' && p['mean p99_us'] !== undefined);
    const manyRuns = rows.filter((r) => r.params['mode'] === 'many').map((r) => r.metrics['p99_us'] ?? 0);
    expect(Number(many?.['mean p99_us'])).toBeCloseTo(manyRuns.reduce((a, b) => a + b, 0) / manyRuns.length, 6);
  });

  it('bar: one bar per (x, series) at the mean, error bars beside each bar', async () => {
    const rows = makeSampleRows();
    const { svg } = await renderOne(rows, { ...LINE, kind: 'bar', name: 'bars', y: 'p99_us', label: 'p99 (us)' });
    expect(svg).toContain("X-axis titled 'clients' for a discrete scale with 3 values: 1, 2, 4");
    expect(svg).toContain("Y-axis titled 'p99 (us)'");
    const bars = readMarks(svg, 'bar');
    expect(bars).toHaveLength(6);
    const bar = bars.find((b) => b['clients'] === '4' && b['value_size'] === '64');
    expect(Number(bar?.['mean p99_us'])).toBe(summarize(rows, 4, 64, 'p99_us').mean);
    expect(readMarks(svg, 'tick')).toHaveLength(12);
  });

  it('cdf: mean latency per quantile and series value, on a log x axis', async () => {
    const rows = makeSampleRows();
    const { svg, title } = await renderOne(rows, {
      kind: 'cdf',
      name: 'cdf',
      series: 'value_size',
      percentiles: { '0.5': 'p50_us', '0.9': 'p90_us', '0.99': 'p99_us' },
      label: 'latency (us)',
    });
    expect(title).toBe('latency CDF, per value_size');
    expect(svg).toContain("X-axis titled 'latency (us)' for a log scale");
    expect(svg).toContain("Y-axis titled 'quantile'");
    expect(readMarks(svg, 'line mark')).toHaveLength(2);
    const points = readMarks(svg, 'point');
    expect(points).toHaveLength(6);
    const p90 = points.find((p) => p['quantile'] === '0.9' && p['value_size'] === '1024');
    const expected = rows.filter((r) => r.params['value_size'] === 1024).map((r) => r.metrics['p90_us'] ?? 0);
    expect(Number(p90?.['mean latency (us)'])).toBeCloseTo(expected.reduce((a, b) => a + b, 0) / expected.length, 6);
    expect(p90?.['runs']).toBe('6');
  });

  it('uses only done runs of the result experiment', async () => {
    const rows = makeSampleRows();
    const other = rows.map((r) => ({ ...r, id: `${r.id}-o`, experiments: ['other'], metrics: { throughput: 1e9 } }));
    const failed = rows.map((r) => ({ ...r, id: `${r.id}-f`, status: 'failed' as const, metrics: { throughput: -1e9 } }));
    const { svg } = await renderOne([...rows, ...other, ...failed], { ...LINE, experiment: 'scale' });
    const point = readMarks(svg, 'point').find((p) => p['clients'] === '1' && p['value_size'] === '64');
    expect(Number(point?.['mean throughput'])).toBe(summarize(rows, 1, 64, 'throughput').mean);
    expect(point?.['repeats']).toBe('2');
  });

  it('keeps parameter and metric names with dots, and metrics named like parameters', async () => {
    const rows = makeSampleRows().map((r) => ({
      ...r,
      params: { 'kv.clients': r.params['clients'] ?? 0 },
      metrics: { 'kv.clients': r.metrics['throughput'] ?? 0 },
    }));
    const { svg } = await renderOne(rows, { kind: 'line', name: 'dots', x: 'kv.clients', y: 'kv.clients' });
    expect(svg).toContain("X-axis titled 'kv.clients'");
    const points = readMarks(svg, 'point');
    expect(points).toHaveLength(3);
    const one = rows.filter((r) => r.params['kv.clients'] === 1).map((r) => r.metrics['kv.clients'] ?? 0);
    const point = points.find((p) => Number(p['mean kv.clients']) === one.reduce((a, b) => a + b, 0) / one.length);
    expect(point).toBeDefined();
  });

  it('throws naming the result and the field when a field is unknown', () => {
    const rows = makeSampleRows();
    const good: ResultSpec = { ...LINE, name: 'good' };
    expect(() => plotSpecs(rows, [good, { ...LINE, name: 'tput2', x: 'threads' }])).toThrow(
      'results[1] "tput2": x "threads" is not a parameter of any run',
    );
    expect(() => plotSpecs(rows, [{ ...LINE, y: ['throughput', 'latency'] }])).toThrow(
      'results[0] "tput": y "latency" is not a metric of any finished run',
    );
    expect(() => plotSpecs(rows, [{ ...LINE, series: 'size' }])).toThrow('results[0] "tput": series "size"');
    expect(() => plotSpecs(rows, [{ kind: 'cdf', name: 'c', percentiles: { '0.5': 'p50_us', '0.999': 'p999_us' } }])).toThrow(
      'results[0] "c": percentiles "0.999" "p999_us" is not a metric of any finished run',
    );
    expect(() => plotSpecs(rows, [{ kind: 'cdf', name: 'c', percentiles: { p50: 'p50_us' } }])).toThrow(
      'results[0] "c": percentiles key "p50" is not a quantile between 0 and 1',
    );
    expect(() => plotSpecs(rows, [{ kind: 'bar', name: 'b', y: 'throughput' }])).toThrow('results[0] "b": a bar plot needs "x"');
    expect(() => plotSpecs(rows, [{ ...LINE, experiment: 'scale', x: 'threads' }])).toThrow('of experiment "scale"');
  });

  it('renders a chart titled "no finished runs" when no run is done', async () => {
    const rows = makeSampleRows().map((r) => ({ ...r, status: 'pending' as const, attempt: 0, metrics: {} }));
    for (const result of [LINE, { kind: 'cdf' as const, name: 'c', percentiles: { '0.5': 'p50_us' } }]) {
      const { svg } = await renderOne(rows, result);
      expect(svg).toMatch(/Title text '[^']*\(no finished runs\)'/);
      expect(readMarks(svg, 'point')).toHaveLength(0);
    }
    const { svg } = await renderOne([], { ...LINE, title: 'Throughput' });
    expect(svg).toContain("Title text 'Throughput (no finished runs)'");
  });
});
