/**
 * Content digests, the one definition shared by the local and the SSH transfers: sha256 of a file
 * (streamed), the listing of a directory tree, and the tree digest.
 *
 * Tree digest = sha256 over the sorted (byte order) lines `<sha256 of file>  ./<relpath>\n` of every
 * regular file (GNU coreutils escaping of odd names), exactly what `LC_ALL=C find . -type f | sort |
 * xargs sha256sum | sha256sum` prints — so a local tree can be compared with a remote one by running
 * REMOTE_TREE_DIGEST_SCRIPT over there.
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

export interface TreeEntry {
  /** Path relative to the tree root, `/`-separated. */
  rel: string;
  type: 'file' | 'dir' | 'symlink';
  /** Permission bits (0 for symlinks). */
  mode: number;
  /** Size of a regular file (0 for the others). */
  size: number;
}

/**
 * Every directory, regular file and symlink under `dir` (symlinks are listed, never followed;
 * other file types are left out). Sorted by `rel` in byte order, so a directory comes before its contents.
 */
export async function listTree(dir: string): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  const walk = async (rel: string): Promise<void> => {
    const names = await readdir(path.join(dir, rel));
    await Promise.all(
      names.map(async (name) => {
        const r = rel === '' ? name : `${rel}/${name}`;
        const s = await lstat(path.join(dir, r));
        if (s.isDirectory()) {
          out.push({ rel: r, type: 'dir', mode: s.mode & 0o7777, size: 0 });
          await walk(r);
        } else if (s.isSymbolicLink()) {
          out.push({ rel: r, type: 'symlink', mode: 0, size: 0 });
        } else if (s.isFile()) {
          out.push({ rel: r, type: 'file', mode: s.mode & 0o7777, size: s.size });
        }
      }),
    );
  };
  await walk('');
  return out.sort((a, b) => Buffer.compare(Buffer.from(a.rel), Buffer.from(b.rel)));
}

export interface TreeDigest {
  sha256: string;
  /** Number of regular files, and their total size. */
  files: number;
  bytes: number;
}

/** The tree digest of a local directory (regular files only: `find -type f`), from its listing when given. */
export async function digestTree(dir: string, signal?: AbortSignal, entries?: readonly TreeEntry[]): Promise<TreeDigest> {
  const files = (entries ?? (await listTree(dir))).filter((e) => e.type === 'file');
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
 * POSIX sh pipeline printing the tree digest of the current directory: the remote half of
 * digestTree (the spec beside this module checks both agree, odd names included).
 */
export const TREE_DIGEST_PIPELINE =
  'LC_ALL=C find . -type f -print0 | LC_ALL=C sort -z | LC_ALL=C xargs -0 -r sha256sum -- | sha256sum | cut -c1-64';

/**
 * POSIX sh script printing the tree digest of directory "$1" (or `missing`). Constant text:
 * the directory arrives as a positional parameter, never inside the script.
 */
export const REMOTE_TREE_DIGEST_SCRIPT = `cd "$1" 2>/dev/null || { echo missing; exit 0; }; ${TREE_DIGEST_PIPELINE}`;
