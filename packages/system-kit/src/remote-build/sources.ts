/**
 * The build's declared sources: files under the project folder matching its `sources` globs (the
 * same globs, with the same matcher, as the build target's Nx inputs; dot files too), each with
 * its sha256. `exclude`: globs never sent.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { minimatch } from 'minimatch';
import { ConfigError, digestFile } from '@labrig/core';

export interface SourceFile {
  /** Relative to the project folder, `/`-separated. */
  path: string;
  sha256: string;
  size: number;
}

/** Folders never synced (they are not sources, and can be huge). */
const SKIPPED = new Set(['node_modules', '.git', '.labrig', '.nx']);

function walk(dir: string, rel: string, out: string[]): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) {
      if (!SKIPPED.has(e.name)) walk(join(dir, e.name), p, out);
    } else if (e.isFile()) out.push(p);
  }
}

/**
 * The files of `projectDir` that `globs` match, sorted, with digests. `file`/`field` name where the
 * globs come from, for the error when they match nothing or a path cannot be sent.
 */
export async function listSources(projectDir: string, globs: readonly string[], where: { file: string; field: string }, exclude: readonly string[] = []): Promise<SourceFile[]> {
  const all: string[] = [];
  walk(projectDir, '', all);
  const matched = all.filter((p) => globs.some((g) => minimatch(p, g, { dot: true })) && !exclude.some((g) => minimatch(p, g, { dot: true }))).sort();
  if (matched.length === 0) {
    throw new ConfigError(where.file, where.field, `${JSON.stringify(globs)} match no file under ${projectDir}`, {
      hint: `List the build's source files in ${where.field} (globs relative to the system's folder, e.g. "src/**/*").`,
    });
  }
  const bad = matched.find((p) => /[\n\r\\]/.test(p));
  if (bad !== undefined) throw new ConfigError(where.file, where.field, `the source ${JSON.stringify(bad)} has a newline or backslash in its name, which the sync cannot send`, { hint: 'Rename the file.' });
  const out: SourceFile[] = [];
  for (const path of matched) {
    const d = await digestFile(join(projectDir, path));
    out.push({ path, sha256: d.sha256, size: d.size });
  }
  return out;
}
