/** Where the workspace is, and how to name files in messages (relative to it when possible). */
import { existsSync } from 'node:fs';
import path from 'node:path';

/** The nearest directory at or above `from` holding `nx.json`, or undefined. */
export function findWorkspaceRoot(from: string): string | undefined {
  let dir = path.resolve(from);
  for (;;) {
    if (existsSync(path.join(dir, 'nx.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * A path for messages: relative to the workspace root holding the file (or to `root`),
 * falling back to the path as given when the file is outside it.
 */
export function toDisplayPath(file: string, root?: string): string {
  const abs = path.resolve(file);
  const base = root ?? findWorkspaceRoot(path.dirname(abs)) ?? process.cwd();
  const rel = path.relative(base, abs);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return file;
  return rel.split(path.sep).join('/');
}
