/**
 * Putting artifacts onto hosts, two ways:
 *  - `store`: the file is in the S3 store; each host downloads it from a presigned URL with curl
 *    (or wget), checks its sha256 and moves it into place. Scales to many hosts: this machine
 *    uploads once.
 *  - `ssh`: the file goes over each host's SSH connection (`remote.putFile`, skipped when the
 *    digest matches).
 * Either way a host that already holds the right content is left alone. Every remote command is
 * an argv given to `remote.exec` (quoted by core's `quote`); no value is pasted into shell text.
 */
import { SHA256_RE } from './keys.js';
import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { CommandFailed, TransferVerifyFailed, digestFile, quote } from '@labrig/core';
import type { Remote } from '@labrig/core';
import { DigestMismatch, DistributeFailed, ToolMissing } from './errors.js';
import type { S3Store } from './s3-store.js';

export interface FetchFromStoreOptions {
  /** URL the host can GET (a presigned S3 URL, or any http(s) URL). */
  url: string;
  sha256: string;
  /** Absolute path on the host. */
  dest: string;
  /** Permission bits set on the file (e.g. 0o755). */
  mode?: number;
  signal?: AbortSignal;
}

export interface CopyToHostOptions {
  localPath: string;
  sha256: string;
  dest: string;
  mode?: number;
  signal?: AbortSignal;
}


/** The URL without its query string (a presigned URL's signature stays out of messages). */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : `${url.slice(0, q)}?…`;
}

function checkArgs(what: string, o: { sha256: string; dest: string; mode?: number }): void {
  if (!SHA256_RE.test(o.sha256)) throw new TypeError(`${what}: sha256 must be 64 lowercase hex digits, got ${JSON.stringify(o.sha256)}`);
  if (!path.posix.isAbsolute(o.dest) || o.dest.endsWith('/')) throw new TypeError(`${what}: dest must be an absolute file path, got ${JSON.stringify(o.dest)}`);
  if (o.mode !== undefined && (!Number.isInteger(o.mode) || o.mode < 0 || o.mode > 0o7777)) throw new TypeError(`${what}: mode must be permission bits (e.g. 0o755)`);
}

const withSignal = (signal?: AbortSignal) => (signal ? { signal } : {});

/** sha256 of a file on the host, or undefined when it does not exist (or is not readable). */
export async function remoteSha256(remote: Remote, file: string, signal?: AbortSignal): Promise<string | undefined> {
  const r = await remote.exec(['sha256sum', '--', file], { allowFailure: true, ...withSignal(signal) });
  if (r.exitCode === 0) return /^\\?([0-9a-f]{64})/.exec(r.stdout)?.[1];
  if (r.exitCode === 127) {
    throw new ToolMissing('sha256sum', `host ${remote.host.name}`, 'Install coreutils on the host (every Debian/Ubuntu image has it).');
  }
  return undefined;
}

type Downloader = 'curl' | 'wget';
const downloaders = new WeakMap<Remote, Promise<Downloader | undefined>>();

/** curl, else wget, on the host (asked once per Remote). */
function findDownloader(remote: Remote, signal?: AbortSignal): Promise<Downloader | undefined> {
  let p = downloaders.get(remote);
  if (!p) {
    p = remote.exec(['sh', '-c', 'command -v curl || command -v wget || true'], { allowFailure: true, ...withSignal(signal) }).then((r) => {
      const found = r.stdout.trim().split('\n')[0] ?? '';
      return found.endsWith('/curl') || found === 'curl' ? 'curl' : found.endsWith('/wget') || found === 'wget' ? 'wget' : undefined;
    });
    p.catch(() => downloaders.delete(remote));
    downloaders.set(remote, p);
  }
  return p;
}

/**
 * Download `url` onto the host at `dest` (via `dest` + a temp suffix, sha256-checked, then moved
 * into place); fetched:false when `dest` already has that sha256.
 */
export async function fetchFromStore(remote: Remote, opts: FetchFromStoreOptions): Promise<{ fetched: boolean }> {
  checkArgs('fetchFromStore', opts);
  if (!/^https?:\/\//.test(opts.url)) throw new TypeError(`fetchFromStore: url must be http(s), got ${JSON.stringify(redactUrl(opts.url))}`);
  const host = remote.host.name;
  const sig = withSignal(opts.signal);
  const chmod = async (file: string) => {
    if (opts.mode !== undefined) await remote.exec(['chmod', opts.mode.toString(8).padStart(4, '0'), '--', file], sig);
  };

  if ((await remoteSha256(remote, opts.dest, opts.signal)) === opts.sha256) {
    await chmod(opts.dest);
    return { fetched: false };
  }
  const tool = await findDownloader(remote, opts.signal);
  if (!tool) {
    throw new ToolMissing('curl (or wget)', `host ${host}`, `Install curl on ${host} (\`apt-get install -y curl\`), or distribute over SSH instead of from the store.`);
  }
  const tmp = `${opts.dest}.labrig-${randomBytes(4).toString('hex')}`;
  await remote.exec(['mkdir', '-p', '--', path.posix.dirname(opts.dest)], sig);
  try {
    // The URL goes in on stdin (curl's config syntax / wget's URL list), never on the command
    // line: a presigned URL's signature stays out of logs, the journal and the host's `ps`.
    const [argv, stdin] =
      tool === 'curl'
        ? [['curl', '-fsSL', '--retry', '3', '-o', tmp, '-K', '-'], `url = "${opts.url.replace(/[\\"]/g, (c) => `\\${c}`)}"\n`]
        : [['wget', '-q', '--tries=3', '-O', tmp, '-i', '-'], `${opts.url}\n`];
    const r = await remote.exec(argv, { allowFailure: true, stdin, ...sig });
    if (r.exitCode !== 0) {
      const shown = `${quote(argv)} <<< ${redactUrl(opts.url)}`;
      throw new CommandFailed(host, shown, r, {
        hint: `${host} could not download ${redactUrl(opts.url)} for ${opts.dest}: check that it reaches the store endpoint and that the URL has not expired.`,
      });
    }
    const got = await remoteSha256(remote, tmp, opts.signal);
    if (got !== opts.sha256) {
      throw new TransferVerifyFailed(host, `${opts.dest} (downloaded from ${redactUrl(opts.url)})`, opts.sha256, got ?? '');
    }
    await chmod(tmp);
    await remote.exec(['mv', '-f', '--', tmp, opts.dest], sig);
  } catch (e) {
    await remote.exec(['rm', '-f', '--', tmp], { allowFailure: true }).catch(() => undefined);
    throw e;
  }
  return { fetched: true };
}

const localDigests = new Map<string, { size: number; mtimeMs: number; sha256: string }>();

/** sha256 of a local file, remembered while its size and mtime stay the same. */
async function localSha256(file: string, signal?: AbortSignal): Promise<string> {
  const s = await stat(file);
  const key = path.resolve(file);
  const known = localDigests.get(key);
  if (known && known.size === s.size && known.mtimeMs === s.mtimeMs) return known.sha256;
  const { sha256 } = await digestFile(file, signal);
  localDigests.set(key, { size: s.size, mtimeMs: s.mtimeMs, sha256 });
  return sha256;
}

/** Copy a local file to the host over SSH (skipped when the digest matches); copied:false when skipped. */
export async function copyToHost(remote: Remote, opts: CopyToHostOptions): Promise<{ copied: boolean }> {
  checkArgs('copyToHost', opts);
  const host = remote.host.name;
  const local = await localSha256(opts.localPath, opts.signal);
  if (local !== opts.sha256) {
    throw new DigestMismatch(`${opts.localPath} (for ${opts.dest} on ${host})`, opts.sha256, local, {
      hint: 'The local file is not the artifact the manifest names: rebuild (the build target) so the manifest and the file agree.',
    });
  }
  const r = await remote.putFile(opts.localPath, opts.dest, {
    ...(opts.mode !== undefined ? { mode: opts.mode } : {}),
    ...withSignal(opts.signal),
  });
  if (r.sha256 !== opts.sha256) throw new TransferVerifyFailed(host, opts.dest, opts.sha256, r.sha256);
  return { copied: r.transferred };
}

// --- many hosts ------------------------------------------------------------------------------

export interface DistributeItem {
  /** Short name for results and messages (default: the base name of localPath). */
  name?: string;
  localPath: string;
  sha256: string;
  /** Absolute path on each host. */
  dest: string;
  mode?: number;
}

export interface HostDistribution {
  host: string;
  /** Items written on this host (by name). */
  moved: string[];
  /** Items the host already had. */
  unchanged: string[];
  /** Set when this host failed (items after the failing one were not tried). */
  error?: unknown;
}

export interface DistributeOptions {
  /** Hosts at once. Default 16. */
  concurrency?: number;
  /** Validity of the presigned URLs (store mode). Default 3600 s. */
  urlTtlSeconds?: number;
  /** Throw DistributeFailed when a host failed (default true); otherwise return the errors. */
  throwOnError?: boolean;
  signal?: AbortSignal;
}

/**
 * Put every item on every host: from the store (uploaded once, then a presigned URL per item) or
 * over SSH. Hosts run in parallel (bounded), items one after another per host.
 */
export async function distribute(
  remotes: readonly Remote[],
  items: readonly DistributeItem[],
  mode: 'store' | 'ssh',
  store?: S3Store,
  opts: DistributeOptions = {},
): Promise<HostDistribution[]> {
  const named = items.map((it) => ({ ...it, name: it.name ?? path.basename(it.localPath) }));
  let urls: string[] = [];
  if (mode === 'store') {
    if (!store) throw new TypeError("distribute: mode 'store' needs an S3Store");
    urls = [];
    for (const it of named) {
      const put = await store.putFile(it.localPath, { name: it.name, ...withSignal(opts.signal) });
      if (put.sha256 !== it.sha256) {
        throw new DigestMismatch(`${it.localPath} (${it.name})`, it.sha256, put.sha256, {
          hint: 'The local file is not the artifact the manifest names: rebuild so the manifest and the file agree.',
        });
      }
      urls.push(await store.presignGet(put.key, opts.urlTtlSeconds ?? 3600));
    }
  }

  const results: HostDistribution[] = remotes.map((r) => ({ host: r.host.name, moved: [], unchanged: [] }));
  const one = async (i: number): Promise<void> => {
    const remote = remotes[i] as Remote;
    const res = results[i] as HostDistribution;
    try {
      for (const [j, it] of named.entries()) {
        opts.signal?.throwIfAborted();
        const base = { sha256: it.sha256, dest: it.dest, ...(it.mode !== undefined ? { mode: it.mode } : {}), ...withSignal(opts.signal) };
        const moved =
          mode === 'store'
            ? (await fetchFromStore(remote, { ...base, url: urls[j] as string })).fetched
            : (await copyToHost(remote, { ...base, localPath: it.localPath })).copied;
        (moved ? res.moved : res.unchanged).push(it.name);
      }
    } catch (e) {
      res.error = e;
    }
  };
  let next = 0;
  const worker = async () => {
    while (next < remotes.length) await one(next++);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? 16, remotes.length)) }, worker));
  if ((opts.throwOnError ?? true) && results.some((r) => r.error !== undefined)) throw new DistributeFailed(results);
  return results;
}
