/** Local file copies with sha256 verification: what LocalRemote's putFile/putDir/getFile do. */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, lstat, mkdir, readlink, rename, rm, stat, symlink } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import type { TransferOptions, TransferResult } from '../contracts.js';
import { digestFile, digestTree, listTree } from '../digest.js';
import type { TreeEntry } from '../digest.js';

async function sha256IfFile(file: string): Promise<string | undefined> {
  try {
    const s = await stat(file);
    if (!s.isFile()) return undefined;
    return (await digestFile(file)).sha256;
  } catch {
    return undefined;
  }
}

function tempSuffix(): string {
  return `.labrig-${randomBytes(4).toString('hex')}.tmp`;
}

/** Copy `src` to `dest` (via a temp file + rename), verifying the sha256 of what landed. */
export async function copyFileVerified(src: string, dest: string, opts: TransferOptions = {}): Promise<TransferResult> {
  const s = await stat(src);
  if (!s.isFile()) throw new Error(`${src} is not a regular file`);
  const want = (await digestFile(src, opts.signal)).sha256;
  if ((await sha256IfFile(dest)) === want) {
    if (opts.mode !== undefined) await chmod(dest, opts.mode);
    return { transferred: false, bytes: s.size, sha256: want };
  }
  await mkdir(path.dirname(dest), { recursive: true });
  const tmp = `${dest}${tempSuffix()}`;
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
    const got = (await digestFile(tmp, opts.signal)).sha256;
    if (got !== want) throw new Error(`copy of ${src} to ${dest} is corrupt: sha256 ${got}, expected ${want}`);
    await chmod(tmp, opts.mode ?? s.mode & 0o7777);
    await rename(tmp, dest);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  return { transferred: true, bytes: s.size, sha256: want };
}

/**
 * True when `dir` is a directory holding exactly `entries` (the listing of `src`): same paths,
 * types, modes and link targets, nothing more, and file contents with the tree digest `sha256`.
 */
async function isMirror(src: string, entries: readonly TreeEntry[], sha256: string, dir: string, signal?: AbortSignal): Promise<boolean> {
  let have: TreeEntry[];
  try {
    if (!(await lstat(dir)).isDirectory()) return false;
    have = await listTree(dir);
  } catch {
    return false;
  }
  if (have.length !== entries.length) return false;
  for (const [i, e] of entries.entries()) {
    const h = have[i];
    if (!h || h.rel !== e.rel || h.type !== e.type || h.mode !== e.mode || h.size !== e.size) return false;
    if (e.type === 'symlink') {
      const rel = e.rel.split('/');
      if ((await readlink(path.join(dir, ...rel))) !== (await readlink(path.join(src, ...rel)))) return false;
    }
  }
  return (await digestTree(dir, signal, have)).sha256 === sha256;
}

/**
 * Mirror the tree `src` to `dest`, like the SSH putDir: copied into a temp directory beside it,
 * verified (tree digest, and the same entries, types, modes and link targets), then swapped in —
 * files not in `src` are gone afterwards. Skipped when `dest` already is such a mirror.
 * `sha256` is the tree digest (the same value the SSH Remote reports for the same tree).
 */
export async function copyTreeVerified(src: string, dest: string, opts: TransferOptions = {}): Promise<TransferResult> {
  const entries = await listTree(src);
  const want = await digestTree(src, opts.signal, entries);
  const result = { bytes: want.bytes, sha256: want.sha256 };
  if (await isMirror(src, entries, want.sha256, dest, opts.signal)) return { transferred: false, ...result };
  await mkdir(path.dirname(dest), { recursive: true });
  const tmp = `${dest}${tempSuffix()}`;
  const old = `${dest}${tempSuffix()}.old`;
  let moved = false;
  try {
    await mkdir(tmp);
    let done = 0;
    for (const e of entries) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      const from = path.join(src, ...e.rel.split('/'));
      const to = path.join(tmp, ...e.rel.split('/'));
      if (e.type === 'dir') {
        await mkdir(to);
      } else if (e.type === 'symlink') {
        await symlink(await readlink(from), to);
      } else {
        await copyFileVerified(from, to, { signal: opts.signal });
        done += e.size;
        opts.onProgress?.(done, want.bytes);
      }
    }
    // Directory modes last (deepest first), so a read-only directory is still filled in.
    for (const e of [...entries].reverse()) {
      if (e.type === 'dir') await chmod(path.join(tmp, ...e.rel.split('/')), e.mode);
    }
    await chmod(tmp, (await stat(src)).mode & 0o7777);
    if (!(await isMirror(src, entries, want.sha256, tmp, opts.signal))) {
      throw new Error(`copy of ${src} to ${dest} does not match its source (tree digest differs)`);
    }
    const existed = await lstat(dest).then(
      () => true,
      () => false,
    );
    if (existed) await rename(dest, old);
    moved = existed;
    await rename(tmp, dest);
    moved = false;
  } catch (e) {
    if (moved) await rename(old, dest).catch(() => undefined);
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw e;
  }
  await rm(old, { recursive: true, force: true });
  return { transferred: true, ...result };
}
