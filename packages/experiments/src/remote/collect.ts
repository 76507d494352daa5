/**
 * Collection of one host's run folder: the host's SHA256SUMS (written when the run ended) lists
 * stdout, stderr and every collected file; each is fetched and its sha256 compared with that list.
 * A file missing on the host, or whose content changed after the run ended (truncated, rewritten),
 * fails the collection with the file and the reason.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Remote } from '@labrig/core';
import { digestFile } from '@labrig/core';

export interface CollectedFile {
  host: string;
  /** Relative to the run folder. */
  path: string;
  sha256: string;
  size: number;
}

export class CollectionFailed extends Error {
  constructor(
    readonly host: string,
    readonly reasons: string[],
  ) {
    super(`${host}: ${reasons.join('; ')}`);
    this.name = 'CollectionFailed';
  }
}

/** Parse `sha256sum` output (and `MISSING <name>` lines). */
export function parseSums(text: string): { files: Map<string, string>; missing: string[] } {
  const files = new Map<string, string>();
  const missing: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (m) files.set(m[2]!, m[1]!);
    else if (line.startsWith('MISSING ')) missing.push(line.slice(8));
  }
  return { files, missing };
}

/** Fetch one host's run folder into `localDir` (created), verifying every file. */
export async function collectHost(remote: Remote, remoteDir: string, localDir: string, signal?: AbortSignal): Promise<CollectedFile[]> {
  const host = remote.host.name;
  const sums = await remote.exec(['cat', `${remoteDir}/SHA256SUMS`], { allowFailure: true, ...(signal ? { signal } : {}) });
  if (sums.exitCode !== 0) throw new CollectionFailed(host, [`no SHA256SUMS in ${remoteDir} (the run did not finish on this host)`]);
  const { files, missing } = parseSums(sums.stdout);
  const reasons = missing.map((f) => `${f}: missing on the host (nothing matched)`);
  await mkdir(localDir, { recursive: true });
  const out: CollectedFile[] = [];
  for (const [path, expected] of [...files.entries()].sort()) {
    const local = join(localDir, path);
    await mkdir(join(local, '..'), { recursive: true });
    try {
      await remote.getFile(`${remoteDir}/${path}`, local, signal ? { signal } : {});
    } catch (e) {
      reasons.push(`${path}: cannot be fetched (${(e as Error).message.split('\n')[0]})`);
      continue;
    }
    const d = await digestFile(local, signal);
    if (d.sha256 !== expected) {
      reasons.push(`${path}: sha256 ${d.sha256.slice(0, 12)} (${d.size} bytes) differs from the ${expected.slice(0, 12)} the host recorded when the run ended (truncated or changed since)`);
      continue;
    }
    out.push({ host, path, sha256: d.sha256, size: d.size });
  }
  if (reasons.length) throw new CollectionFailed(host, reasons);
  await writeFile(join(localDir, 'SHA256SUMS'), sums.stdout, { flag: 'wx' }); // the host's own record, kept beside the files
  return out;
}

/**
 * Check an already collected host folder (a collection sealed just before labrig was killed)
 * against the host's SHA256SUMS, without fetching again.
 */
export async function verifyCollected(remote: Remote, remoteDir: string, localDir: string, signal?: AbortSignal): Promise<CollectedFile[]> {
  const host = remote.host.name;
  const sums = await remote.exec(['cat', `${remoteDir}/SHA256SUMS`], { allowFailure: true, ...(signal ? { signal } : {}) });
  if (sums.exitCode !== 0) throw new CollectionFailed(host, [`no SHA256SUMS in ${remoteDir}`]);
  const { files, missing } = parseSums(sums.stdout);
  const reasons = missing.map((f) => `${f}: missing on the host (nothing matched)`);
  const out: CollectedFile[] = [];
  for (const [path, expected] of [...files.entries()].sort()) {
    try {
      const d = await digestFile(join(localDir, path), signal);
      if (d.sha256 === expected) out.push({ host, path, sha256: d.sha256, size: d.size });
      else reasons.push(`${path}: the collected copy's sha256 differs from the host's record`);
    } catch {
      reasons.push(`${path}: not in the collected folder`);
    }
  }
  if (reasons.length) throw new CollectionFailed(host, reasons);
  return out;
}
