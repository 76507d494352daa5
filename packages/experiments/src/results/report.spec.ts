import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunRow } from '../types.js';
import { escapeHtml, formatReport, writeReport, type ReportInput } from './report.js';

function makeRow(id: string, overrides: Partial<RunRow> = {}): RunRow {
  return {
    id,
    experiments: ['scale'],
    repeat: 1,
    status: 'done',
    attempt: 1,
    params: { clients: 1 },
    metrics: { throughput: 100.123456789 },
    durationMs: 65_000,
    dir: `runs/${id}/attempt-1`,
    ...overrides,
  };
}

const SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><defs><clipPath id="clip1"><rect/></clipPath></defs><g clip-path="url(#clip1)"/></svg>';

function makeInput(): ReportInput {
  return {
    plan: 'kv <sweep>',
    generatedAt: '2024-05-01T12:00:00Z',
    rows: [
      makeRow('a1'),
      makeRow('a2', { repeat: 2, params: { clients: 2, mode: "it's \"fast\"" } }),
      makeRow('b1', {
        status: 'failed',
        attempt: 2,
        metrics: {},
        reason: 'server said <script>alert("x")</script> & quit',
      }),
      makeRow('c1', { status: 'pending', attempt: 0, metrics: {}, durationMs: undefined, dir: undefined }),
      makeRow('c2', { status: 'pending', attempt: 0, metrics: {}, durationMs: undefined, dir: undefined }),
    ],
    plots: [
      { name: 'tput', title: 'Throughput & more', svg: SVG },
      { name: 'lat cdf', title: 'Latency', svg: SVG },
    ],
    csvFile: 'runs.csv',
    summary: { attempts: 6, 'collected MiB': 12.5 },
  };
}

/** The `<tr>` elements of the runs table body. */
function readBodyRows(html: string): string[] {
  const body = /<tbody>([\s\S]*)<\/tbody>/.exec(html)?.[1] ?? '';
  return body.match(/<tr[\s\S]*?<\/tr>/g) ?? [];
}

describe('formatReport', () => {
  it('escapes every text from runs and plans, and has no script', () => {
    const html = formatReport(makeInput());
    expect(html).not.toContain('<script');
    expect(html).toContain('server said &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; quit');
    expect(html).toContain('it&#39;s &quot;fast&quot;');
    expect(html).toContain('<h1>kv &lt;sweep&gt;</h1>');
    expect(html).toContain('<title>kv &lt;sweep&gt;: results</title>');
    expect(html).toContain('<h3>Throughput &amp; more</h3>');
    expect(escapeHtml(`<a href='x'>&"`)).toBe('&lt;a href=&#39;x&#39;&gt;&amp;&quot;');
  });

  it('has one table row per run, failed rows marked, params and metrics as columns', () => {
    const html = formatReport(makeInput());
    const rows = readBodyRows(html);
    expect(rows).toHaveLength(5);
    expect(rows.map((r) => /<tr class="([a-z]+)">/.exec(r)?.[1])).toEqual(['done', 'done', 'failed', 'pending', 'pending']);
    expect(html).toContain('tr.failed td {');
    expect(html).toMatch(/<thead><tr><th>run<\/th><th>experiments<\/th><th>repeat<\/th><th>status<\/th><th>attempt<\/th><th>clients<\/th><th>mode<\/th><th>throughput<\/th><th>duration<\/th><th>reason<\/th><\/tr><\/thead>/);
    expect(rows[0]).toContain('<a href="runs/a1/attempt-1">a1</a>');
    expect(rows[0]).toContain('<td class="num">100.123</td>');
    expect(rows[0]).toContain('<td class="num">1 min 05 s</td>');
    expect(rows[3]).toContain('<td class="id">c1</td>');
  });

  it('links the CSV and each plot PNG, SVG and spec, with every SVG inline', () => {
    const html = formatReport(makeInput());
    expect(html).toContain('<a href="runs.csv">runs.csv</a>');
    expect(html).toContain('<a href="tput.png">PNG</a>');
    expect(html).toContain('<a href="tput.svg">SVG</a>');
    expect(html).toContain('<a href="tput.vl.json">Vega-Lite spec</a>');
    expect(html).toContain('<a href="lat%20cdf.png">PNG</a>');
    expect(html.match(/<svg /g)).toHaveLength(2);
    // Each inline SVG keeps its own clip path.
    expect(html).toContain('id="plot0-clip1"');
    expect(html).toContain('clip-path="url(#plot1-clip1)"');
    expect(html).not.toMatch(/<link|src=|@import|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });

  it('shows the counts by status and the summary in the header', () => {
    const html = formatReport(makeInput());
    expect(html).toContain('<p class="counts">2 done / 1 failed / 2 pending of 5 runs</p>');
    expect(html).toContain('<dt>collected MiB</dt><dd>12.5</dd>');
    const running = formatReport({ ...makeInput(), rows: [makeRow('r', { status: 'running' })], summary: undefined });
    expect(running).toContain('0 done / 0 failed / 0 pending / 1 running of 1 runs');
    expect(running).not.toContain('<dl');
  });

  it('writeReport writes report.html into the folder', async () => {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'labrig-report-')), 'out');
    const file = await writeReport(dir, makeInput());
    expect(file).toBe(path.join(dir, 'report.html'));
    expect(readFileSync(file, 'utf8')).toBe(formatReport(makeInput()));
  });
});
