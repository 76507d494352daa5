/**
 * File and tree transfer over one SSH connection: into a temp name, verified by sha256, then renamed;
 * skipped when the destination already has the same digest.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, mkdir, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { SFTPWrapper } from 'ssh2';
import { CommandFailed, REMOTE_TREE_DIGEST_SCRIPT, TREE_DIGEST_PIPELINE, TransferVerifyFailed, digestFile, digestTree } from '@labrig/core';
import type { ExecOptions, ExecResult, TransferOptions, TransferResult } from '@labrig/core';
import type { Connection } from './connection.js';
import type { CommandExtras } from './exec.js';

/** The content that arrived differs from what was sent. */

export interface TransferTarget {
  hostName: string;
  run(argv: readonly string[], opts?: ExecOptions, extras?: CommandExtras): Promise<ExecResult>;
  getConnection(signal?: AbortSignal): Promise<Connection>;
}

const HEX64 = /^[0-9a-f]{64}/;

function tempSuffix(): string {
  return `.labrig-tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** A path safe to put after an option-taking command (no leading `-`). */
function safePath(p: string): string {
  return p.startsWith('-') ? `./${p}` : p;
}

function counter(total: number, onProgress?: (bytes: number, total: number) => void): Transform & { bytes: number } {
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      t.bytes += chunk.length;
      onProgress?.(t.bytes, total);
      cb(null, chunk);
    },
  }) as Transform & { bytes: number };
  t.bytes = 0;
  return t;
}

function withSignal(o: TransferOptions): ExecOptions {
  return o.signal ? { signal: o.signal } : {};
}

/** Open an SFTP session holding one channel slot, run `fn`, end it. Aborting ends the session. */
async function withSftp<T>(t: TransferTarget, signal: AbortSignal | undefined, fn: (s: SFTPWrapper) => Promise<T>): Promise<T> {
  const conn = await t.getConnection(signal);
  const release = await conn.channels.acquire(signal);
  conn.noteChannelOpened();
  let sftp: SFTPWrapper | undefined;
  try {
    sftp = await conn.openChannel<SFTPWrapper>((cb) => conn.client.sftp(cb), () => {}, signal);
    const s = sftp;
    return await new Promise<T>((resolve, reject) => {
      const onAbort = (): void => {
        s.end();
        reject(signal?.reason);
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      fn(s).then(
        (v) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(v);
        },
        (e: unknown) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      );
    });
  } finally {
    sftp?.end();
    conn.noteChannelClosed();
    release();
  }
}

/** Remote sha256 of a file, or undefined when it does not exist. Also creates the parent directory. */
async function remoteFileSha256(t: TransferTarget, remotePath: string, o: TransferOptions, mkParent: boolean): Promise<string | undefined> {
  const script =
    (mkParent ? 'mkdir -p -- "$(dirname -- "$1")" && ' : '') +
    '{ if [ -f "$1" ]; then sha256sum < "$1" | cut -c1-64; else echo missing; fi; }';
  const r = await t.run(['sh', '-c', script, 'sh', safePath(remotePath)], withSignal(o));
  const m = HEX64.exec(r.stdout.trim());
  return m ? m[0] : undefined;
}

/**
 * Move the temp file "$1" to "$2" if its sha256 is "$3" (else remove it, print `mismatch:<sha>` on
 * stderr, exit 3), setting mode "$4" first when given. Shared with copies made by other means
 * (system-kit's host-copy).
 */
export const FINALIZE_FILE_SCRIPT =
  'h=$(sha256sum < "$1" | cut -c1-64); ' +
  'if [ "$h" != "$3" ]; then rm -f -- "$1"; echo "mismatch:$h" >&2; exit 3; fi; ' +
  'if [ -n "$4" ]; then chmod "$4" -- "$1" || exit 1; fi; ' +
  'mv -f -- "$1" "$2"';

export async function putFile(t: TransferTarget, localPath: string, remotePath: string, o: TransferOptions = {}): Promise<TransferResult> {
  // Local and remote digests in parallel.
  const [local, remoteSha] = await Promise.all([digestFile(localPath, o.signal), remoteFileSha256(t, remotePath, o, true)]);
  const mode = o.mode !== undefined ? (o.mode & 0o7777).toString(8) : '';
  if (remoteSha === local.sha256) {
    if (mode) await t.run(['chmod', mode, '--', safePath(remotePath)], withSignal(o));
    return { transferred: false, bytes: 0, sha256: local.sha256 };
  }
  const tmp = path.posix.join(path.posix.dirname(remotePath), `.${path.posix.basename(remotePath)}${tempSuffix()}`);
  try {
    if ((o.method ?? 'sftp') === 'sftp') {
      await withSftp(t, o.signal, (s) =>
        new Promise<void>((resolve, reject) => {
          s.fastPut(
            localPath,
            tmp,
            {
              concurrency: 64,
              chunkSize: 255 * 1024,
              step: (done: number, _chunk: number, total: number) => o.onProgress?.(done, total),
              ...(o.mode !== undefined ? { mode: o.mode & 0o7777 } : {}),
            },
            (err) => (err ? reject(err) : resolve()),
          );
        }),
      );
    } else {
      const src = createReadStream(localPath, { highWaterMark: 1 << 20 });
      const c = counter(local.size, o.onProgress);
      await t.run(['sh', '-c', 'cat > "$1"', 'sh', safePath(tmp)], withSignal(o), { stdinStream: src.pipe(c) });
    }
    const fin = await t.run(['sh', '-c', FINALIZE_FILE_SCRIPT, 'sh', safePath(tmp), safePath(remotePath), local.sha256, mode], {
      ...withSignal(o),
      allowFailure: true,
    });
    if (fin.exitCode === 3) {
      throw new TransferVerifyFailed(t.hostName, remotePath, local.sha256, /mismatch:([0-9a-f]*)/.exec(fin.stderr)?.[1] ?? '');
    }
    if (fin.exitCode !== 0) {
      throw new CommandFailed(t.hostName, `finalize ${remotePath}`, fin);
    }
  } catch (e) {
    await t.run(['rm', '-f', '--', safePath(tmp)], { allowFailure: true }).catch(() => undefined);
    throw e;
  }
  return { transferred: true, bytes: local.size, sha256: local.sha256 };
}

export async function getFile(t: TransferTarget, remotePath: string, localPath: string, o: TransferOptions = {}): Promise<TransferResult> {
  const info = await t.run(['sh', '-c', 'sha256sum < "$1" | cut -c1-64 && wc -c < "$1"', 'sh', safePath(remotePath)], withSignal(o));
  const [shaLine, sizeLine] = info.stdout.trim().split('\n');
  const remoteSha = HEX64.exec(shaLine ?? '')?.[0];
  const size = Number(sizeLine?.trim());
  if (!remoteSha || !Number.isFinite(size)) throw new Error(`on ${t.hostName}: cannot read sha256 of ${remotePath}: ${info.stdout}`);
  const existing = await digestFile(localPath).catch(() => undefined);
  if (existing?.sha256 === remoteSha) {
    if (o.mode !== undefined) await chmod(localPath, o.mode & 0o7777);
    return { transferred: false, bytes: 0, sha256: remoteSha };
  }
  await mkdir(path.dirname(localPath), { recursive: true });
  const tmp = path.join(path.dirname(localPath), `.${path.basename(localPath)}${tempSuffix()}`);
  try {
    if ((o.method ?? 'sftp') === 'sftp') {
      await withSftp(t, o.signal, (s) =>
        new Promise<void>((resolve, reject) => {
          s.fastGet(
            remotePath,
            tmp,
            {
              concurrency: 64,
              chunkSize: 255 * 1024,
              step: (done: number, _chunk: number, total: number) => o.onProgress?.(done, total),
            },
            (err) => (err ? reject(err) : resolve()),
          );
        }),
      );
    } else {
      const c = counter(size, o.onProgress);
      const sink = createWriteStream(tmp);
      c.pipe(sink);
      await t.run(['cat', '--', safePath(remotePath)], withSignal(o), { stdoutSink: c });
      c.end();
      await finished(sink);
    }
    const got = await digestFile(tmp);
    if (got.sha256 !== remoteSha) throw new TransferVerifyFailed(t.hostName, `${remotePath} -> ${localPath}`, remoteSha, got.sha256);
    if (o.mode !== undefined) await chmod(tmp, o.mode & 0o7777);
    await rename(tmp, localPath);
    return { transferred: true, bytes: got.size, sha256: remoteSha };
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}

async function remoteTreeDigest(t: TransferTarget, dir: string, o: TransferOptions): Promise<string | undefined> {
  const r = await t.run(['sh', '-c', REMOTE_TREE_DIGEST_SCRIPT, 'sh', safePath(dir)], withSignal(o));
  return HEX64.exec(r.stdout.trim())?.[0];
}

/** Verify "$1" (the extracted temp tree) against "$3", then swap it into place at "$2". */
const FINALIZE_TREE_SCRIPT =
  `h=$(cd "$1" && ${TREE_DIGEST_PIPELINE}); ` +
  'if [ "$h" != "$3" ]; then rm -rf -- "$1"; echo "mismatch:$h" >&2; exit 3; fi; ' +
  'if [ -e "$2" ] || [ -L "$2" ]; then rm -rf -- "$2.labrig-old" && mv -- "$2" "$2.labrig-old" || exit 1; fi; ' +
  'mv -- "$1" "$2" && rm -rf -- "$2.labrig-old"';

/**
 * Mirror a local directory to `remoteDir` with a tar stream: extracted into a temp directory beside it,
 * verified by tree digest, then swapped in (files not in the local tree are gone afterwards).
 */
export async function putDir(t: TransferTarget, localDir: string, remoteDir: string, o: TransferOptions = {}): Promise<TransferResult> {
  const dir = remoteDir.length > 1 ? remoteDir.replace(/\/+$/, '') : remoteDir;
  const [local, remote] = await Promise.all([digestTree(localDir, o.signal), remoteTreeDigest(t, dir, o)]);
  if (remote === local.sha256) return { transferred: false, bytes: 0, sha256: local.sha256 };
  const tmp = `${dir}${tempSuffix()}`;
  const { execa } = await import('execa'); // loaded only when a directory moves (execa is slow to load)
  const tar = execa('tar', ['-c', '-f', '-', '-C', localDir, '.'], {
    buffer: false,
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    ...(o.signal ? { cancelSignal: o.signal } : {}),
  });
  const tarDone = tar.catch((e: unknown) => e);
  try {
    const c = counter(local.bytes, o.onProgress);
    await t.run(['sh', '-c', 'mkdir -p -- "$1" && exec tar -x -f - -C "$1"', 'sh', safePath(tmp)], withSignal(o), {
      stdinStream: (tar.stdout as Readable).pipe(c),
    });
    const tarResult = await tarDone;
    if (tarResult instanceof Error) throw tarResult;
    const fin = await t.run(['sh', '-c', FINALIZE_TREE_SCRIPT, 'sh', safePath(tmp), safePath(dir), local.sha256], {
      ...withSignal(o),
      allowFailure: true,
    });
    if (fin.exitCode === 3) {
      throw new TransferVerifyFailed(t.hostName, `${localDir} -> ${remoteDir}`, local.sha256, /mismatch:([0-9a-f]*)/.exec(fin.stderr)?.[1] ?? '');
    }
    if (fin.exitCode !== 0) throw new CommandFailed(t.hostName, `move ${tmp} to ${dir}`, fin);
    return { transferred: true, bytes: c.bytes, sha256: local.sha256 };
  } catch (e) {
    tar.kill();
    await t.run(['rm', '-rf', '--', safePath(tmp)], { allowFailure: true }).catch(() => undefined);
    throw e;
  }
}
