/**
 * Content digests: sha256 of a file (streamed) and of a directory tree.
 * Tree digest = sha256 over the sorted (byte order) lines `<sha256 of file>  ./<relpath>\n` of every
 * regular file, exactly what `LC_ALL=C find . -type f | sort | xargs sha256sum | sha256sum` prints.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';

export interface FileDigest {
  sha256: string;
  size: number;
}

export async function digestFile(file: string, signal?: AbortSignal): Promise<FileDigest> {
  const hash = createHash('sha256');
  let size = 0;
  const stream = createReadStream(file, { highWaterMark: 1 << 20, ...(signal ? { signal } : {}) });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest('hex'), size };
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** One `sha256sum` output line, with GNU coreutils' escaping of `\`, newline and CR in names. */
export function formatSha256sumLine(sha256: string, name: string): string {
  if (/[\\\n\r]/.test(name)) {
    const esc = name.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
    return `\\${sha256}  ${esc}\n`;
  }
  return `${sha256}  ${name}\n`;
}

export interface TreeFile {
  /** Path relative to the tree root, `/`-separated. */
  rel: string;
  size: number;
}

/** Regular files under `dir` (symlinks are not followed and not listed, like `find -type f`). */
export async function listTreeFiles(dir: string): Promise<TreeFile[]> {
  const out: TreeFile[] = [];
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(path.join(dir, rel), { withFileTypes: true });
    await Promise.all(
      entries.map(async (e) => {
        const r = rel === '' ? e.name : `${rel}/${e.name}`;
        if (e.isDirectory()) await walk(r);
        else if (e.isFile()) out.push({ rel: r, size: (await lstat(path.join(dir, r))).size });
      }),
    );
  };
  await walk('');
  return out;
}

export interface TreeDigest {
  sha256: string;
  files: number;
  bytes: number;
}

/** The tree digest of a local directory. */
export async function digestTree(dir: string, signal?: AbortSignal): Promise<TreeDigest> {
  const files = await listTreeFiles(dir);
  const named = files.map((f) => ({ ...f, name: `./${f.rel}`, key: Buffer.from(`./${f.rel}`) }));
  named.sort((a, b) => Buffer.compare(a.key, b.key));
  const sums: string[] = new Array<string>(named.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < named.length) {
      const i = next++;
      const f = named[i] as (typeof named)[number];
      sums[i] = (await digestFile(path.join(dir, f.rel), signal)).sha256;
    }
  };
  await Promise.all(Array.from({ length: Math.min(16, named.length) }, worker));
  const hash = createHash('sha256');
  let bytes = 0;
  named.forEach((f, i) => {
    hash.update(formatSha256sumLine(sums[i] as string, f.name));
    bytes += f.size;
  });
  return { sha256: hash.digest('hex'), files: named.length, bytes };
}

/**
 * POSIX sh script printing the tree digest of directory "$1" (or `missing`). Constant text:
 * the directory arrives as a positional parameter, never inside the script.
 */
export const REMOTE_TREE_DIGEST_SCRIPT =
  'cd "$1" 2>/dev/null || { echo missing; exit 0; }; ' +
  'LC_ALL=C find . -type f -print0 | LC_ALL=C sort -z | LC_ALL=C xargs -0 -r sha256sum -- | sha256sum | cut -c1-64';
