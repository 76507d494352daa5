/** Local file copies with sha256 verification: what LocalRemote's putFile/putDir/getFile do. */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, lstat, mkdir, readdir, readlink, rename, rm, stat, symlink } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import type { TransferOptions, TransferResult } from '../contracts.js';

export async function sha256File(file: string, signal?: AbortSignal): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(file), h, { signal });
  return h.digest('hex');
}

async function sha256IfFile(file: string): Promise<string | undefined> {
  try {
    const s = await stat(file);
    if (!s.isFile()) return undefined;
    return await sha256File(file);
  } catch {
    return undefined;
  }
}

/** Copy `src` to `dest` (via a temp file + rename), verifying the sha256 of what landed. */
export async function copyFileVerified(src: string, dest: string, opts: TransferOptions = {}): Promise<TransferResult> {
  const s = await stat(src);
  if (!s.isFile()) throw new Error(`${src} is not a regular file`);
  const want = await sha256File(src, opts.signal);
  if ((await sha256IfFile(dest)) === want) {
    if (opts.mode !== undefined) await chmod(dest, opts.mode);
    return { transferred: false, bytes: s.size, sha256: want };
  }
  await mkdir(path.dirname(dest), { recursive: true });
  const tmp = `${dest}.labrig-${randomBytes(4).toString('hex')}.tmp`;
  let done = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      done += chunk.length;
      opts.onProgress?.(done, s.size);
      cb(null, chunk);
    },
  });
  try {
    await pipeline(createReadStream(src), counter, createWriteStream(tmp), { signal: opts.signal });
    const got = await sha256File(tmp, opts.signal);
    if (got !== want) throw new Error(`copy of ${src} to ${dest} is corrupt: sha256 ${got}, expected ${want}`);
    await chmod(tmp, opts.mode ?? s.mode & 0o7777);
    await rename(tmp, dest);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  return { transferred: true, bytes: s.size, sha256: want };
}

export interface TreeEntry {
  /** Relative path with `/` separators. */
  rel: string;
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  size: number;
}

/** Every entry under `root`, sorted, directories before their contents. */
export async function listTree(root: string): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  const walk = async (dir: string, relDir: string): Promise<void> => {
    const names = (await readdir(dir)).sort();
    for (const name of names) {
      const abs = path.join(dir, name);
      const rel = relDir ? `${relDir}/${name}` : name;
      const s = await lstat(abs);
      if (s.isDirectory()) {
        out.push({ rel, type: 'dir', mode: s.mode & 0o7777, size: 0 });
        await walk(abs, rel);
      } else if (s.isSymbolicLink()) {
        out.push({ rel, type: 'symlink', mode: 0, size: 0 });
      } else if (s.isFile()) {
        out.push({ rel, type: 'file', mode: s.mode & 0o7777, size: s.size });
      }
    }
  };
  await walk(root, '');
  return out;
}

/**
 * Digest of a tree restricted to `entries` (paths, types, modes, file contents, link targets),
 * read under `root`; undefined when an entry is missing or of another type there.
 */
export async function treeDigest(root: string, entries: readonly TreeEntry[]): Promise<string | undefined> {
  const h = createHash('sha256');
  for (const e of entries) {
    const abs = path.join(root, ...e.rel.split('/'));
    let s;
    try {
      s = await lstat(abs);
    } catch {
      return undefined;
    }
    if (e.type === 'dir' && !s.isDirectory()) return undefined;
    if (e.type === 'file' && !s.isFile()) return undefined;
    if (e.type === 'symlink' && !s.isSymbolicLink()) return undefined;
    h.update(`${e.type}\0${e.rel}\0${e.type === 'symlink' ? 0 : (s.mode & 0o7777).toString(8)}\0`);
    if (e.type === 'file') h.update(await sha256File(abs));
    if (e.type === 'symlink') h.update(await readlink(abs));
    h.update('\n');
  }
  return h.digest('hex');
}

/**
 * Copy the tree `src` into `dest` (merging, like extracting a tar over it). Skipped when every
 * entry of `src` is already in `dest` with the same digest; verified after the copy.
 */
export async function copyTreeVerified(src: string, dest: string, opts: TransferOptions = {}): Promise<TransferResult> {
  const entries = await listTree(src);
  const want = (await treeDigest(src, entries))!;
  const bytes = entries.reduce((n, e) => n + e.size, 0);
  if ((await treeDigest(dest, entries)) === want) return { transferred: false, bytes, sha256: want };
  await mkdir(dest, { recursive: true });
  let done = 0;
  for (const e of entries) {
    if (opts.signal?.aborted) throw opts.signal.reason;
    const from = path.join(src, ...e.rel.split('/'));
    const to = path.join(dest, ...e.rel.split('/'));
    if (e.type === 'dir') {
      await mkdir(to, { recursive: true });
      await chmod(to, e.mode);
    } else if (e.type === 'symlink') {
      await rm(to, { force: true, recursive: true });
      await symlink(await readlink(from), to);
    } else {
      await copyFileVerified(from, to, { signal: opts.signal });
      done += e.size;
      opts.onProgress?.(done, bytes);
    }
  }
  const got = await treeDigest(dest, entries);
  if (got !== want) throw new Error(`copy of ${src} to ${dest} does not match its source (tree digest differs)`);
  return { transferred: true, bytes, sha256: want };
}
