/**
 * Rendering of Vega-Lite specs to SVG (vega-lite -> vega, headless) and of SVG to PNG (resvg), and
 * the files of each plot. vega, vega-lite and resvg are loaded on first use only, so importing the
 * package does not pay for them.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import type { PlotSpec } from './plots.js';

type ResvgModule = typeof import('@resvg/resvg-js');

let resvgModule: ResvgModule | undefined;

/** resvg, required on first use (a native CommonJS addon: `require` keeps `renderPng` synchronous). */
function loadResvg(): ResvgModule {
  resvgModule ??= createRequire(import.meta.url)('@resvg/resvg-js') as ResvgModule;
  return resvgModule;
}

/**
 * The SVG of a Vega-Lite spec: compiled to Vega and rendered by a headless View. The spec is
 * copied first, as Vega tags the objects of inline data it ingests.
 */
export async function renderSvg(vegaLiteSpec: object): Promise<string> {
  const [vegaLite, vega] = await Promise.all([import('vega-lite'), import('vega')]);
  const { spec } = vegaLite.compile(structuredClone(vegaLiteSpec) as TopLevelSpec);
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** The PNG of an SVG on a white background, `scale` times its size (2 = sharp on HiDPI screens). */
export function renderPng(svg: string, scale = 2): Buffer {
  const { Resvg } = loadResvg();
  const resvg = new Resvg(svg, {
    font: { loadSystemFonts: true },
    background: 'white',
    fitTo: { mode: 'zoom', value: scale },
  });
  return resvg.render().asPng();
}

/**
 * Writes `<name>.svg`, `<name>.png` and `<name>.vl.json` (the Vega-Lite spec, to restyle) of each
 * plot into `dir` (created if needed) and returns the written paths, in that order per plot.
 * Throws on a name that is not a plain file stem or that two plots share, before writing anything.
 */
export async function renderPlots(dir: string, specs: PlotSpec[]): Promise<string[]> {
  const names = new Set<string>();
  for (const { name } of specs) {
    if (name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name)) {
      throw new Error(`plot name "${name}" is not a plain file name`);
    }
    if (names.has(name)) throw new Error(`two plots are named "${name}"`);
    names.add(name);
  }
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const { name, spec } of specs) {
    const svg = await renderSvg(spec);
    const files: [string, string | Buffer][] = [
      [`${name}.svg`, svg],
      [`${name}.png`, renderPng(svg)],
      [`${name}.vl.json`, `${JSON.stringify(spec, null, 2)}\n`],
    ];
    for (const [file, content] of files) {
      const target = path.join(dir, file);
      await writeFile(target, content);
      written.push(target);
    }
  }
  return written;
}
