import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PlotSpec } from './plots.js';
import { renderPlots, renderPng, renderSvg } from './render.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const BAR_SPEC = {
  title: 'two bars',
  width: 120,
  height: 80,
  data: { values: [{ k: 'a', v: 1 }, { k: 'b', v: 3 }] },
  mark: 'bar',
  encoding: { x: { field: 'k', type: 'nominal' }, y: { field: 'v', type: 'quantitative' } },
};

/** The width attribute of the root `<svg>` element. */
function readSvgWidth(svg: string): number {
  const width = /^<svg[^>]* width="(\d+(?:\.\d+)?)"/.exec(svg)?.[1];
  if (width === undefined) throw new Error('no width on <svg>');
  return Number(width);
}

describe('render', () => {
  it('renders a Vega-Lite spec to SVG', async () => {
    const svg = await renderSvg(BAR_SPEC);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain("Title text 'two bars'");
    expect(svg.match(/aria-roledescription="bar"/g)).toHaveLength(2);
  });

  it('renders the SVG to a PNG scaled 2x by default, or by the given scale', async () => {
    const svg = await renderSvg(BAR_SPEC);
    const width = readSvgWidth(svg);
    expect(width).toBeGreaterThan(120);
    const png = renderPng(svg);
    expect(png.subarray(0, 8)).toEqual(PNG_SIGNATURE);
    expect(png.toString('latin1', 12, 16)).toBe('IHDR');
    expect(png.readUInt32BE(16)).toBe(2 * width);
    expect(renderPng(svg, 1).readUInt32BE(16)).toBe(width);
  });

  it('writes the SVG, PNG and Vega-Lite spec of each plot and lists them', async () => {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'labrig-plots-')), 'plots');
    const specs: PlotSpec[] = [
      { name: 'first', title: 'first', spec: BAR_SPEC },
      { name: 'second', title: 'second', spec: { ...BAR_SPEC, title: 'other' } },
    ];
    const files = await renderPlots(dir, specs);
    const expected = ['first', 'second'].flatMap((n) => ['svg', 'png', 'vl.json'].map((ext) => path.join(dir, `${n}.${ext}`)));
    expect(files).toEqual(expected);
    expect(readFileSync(path.join(dir, 'second.svg'), 'utf8')).toContain("Title text 'other'");
    expect(readFileSync(path.join(dir, 'first.png')).subarray(0, 8)).toEqual(PNG_SIGNATURE);
    expect(JSON.parse(readFileSync(path.join(dir, 'first.vl.json'), 'utf8'))).toEqual(BAR_SPEC);
  });

  it('refuses plot names that are paths or used twice, before writing anything', async () => {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'labrig-plots-')), 'plots');
    await expect(renderPlots(dir, [{ name: '../escape', title: '', spec: BAR_SPEC }])).rejects.toThrow(
      'plot name "../escape" is not a plain file name',
    );
    const twice = [
      { name: 'same', title: '', spec: BAR_SPEC },
      { name: 'same', title: '', spec: BAR_SPEC },
    ];
    await expect(renderPlots(dir, twice)).rejects.toThrow('two plots are named "same"');
    expect(existsSync(dir)).toBe(false);
  });
});
