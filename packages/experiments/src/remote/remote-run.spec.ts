/**
 * Detached runs and their collection, for real, on this machine through core's LocalConnector
 * (the same shell scripts an SSH host runs; the SSH path is covered by the generic plugin's e2e).
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalConnector, type Remote } from '@labrig/core';
import { collectHost, CollectionFailed, parseSums, verifyCollected } from './collect.js';
import { remoteRunDir, remoteRunState, startRemoteRun, waitRemoteRun } from './run-remote.js';

let home: string;
let local: string;
let remote: Remote;
const connector = new LocalConnector({ homeFor: () => home });

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'labrig-rr-home-'));
  local = mkdtempSync(join(tmpdir(), 'labrig-rr-local-'));
  remote = await connector.connect({ name: 'h1', address: '127.0.0.1', port: 22, user: 'x', roles: [], labels: {} });
});
afterAll(async () => {
  await connector.close();
  rmSync(home, { recursive: true, force: true });
  rmSync(local, { recursive: true, force: true });
});

describe('a run detached on its host', () => {
  it('runs from the login folder with its env, survives its starter, records SHA256SUMS then exit', async () => {
    const dir = remoteRunDir('plan', 'run1', 1);
    writeFileSync(join(home, 'input.txt'), 'hello\n');
    const argv = ['sh', '-c', 'cat input.txt; echo "token=$TOKEN"; echo err >&2; echo data > "$0/out.json"', join(home, dir)];
    expect(await startRemoteRun(remote, { dir, argv, env: { TOKEN: 'sekret' }, collect: ['*.json', 'missing-*.log'] })).toBe(true);
    // A second start of the same attempt does nothing.
    expect(await startRemoteRun(remote, { dir, argv, collect: [] })).toBe(false);
    const end = await waitRemoteRun(remote, dir, { timeoutMs: 10_000, pollMs: 50 });
    expect(end).toEqual({ state: 'exited', exitCode: 0 });
    expect(readFileSync(join(home, dir, 'stdout'), 'utf8')).toBe('hello\ntoken=sekret\n');
    const sums = parseSums(readFileSync(join(home, dir, 'SHA256SUMS'), 'utf8'));
    expect([...sums.files.keys()].sort()).toEqual(['out.json', 'stderr', 'stdout']);
    expect(sums.missing).toEqual(['missing-*.log']);
    // No file in the run folder holds the secret's value except the command's own output.
    expect(readFileSync(join(home, dir, 'SHA256SUMS'), 'utf8')).not.toContain('sekret');
  });

  it('a folder another result store started is not this run: it reads as missing, and a start moves it aside', async () => {
    const dir = remoteRunDir('plan', 'owned', 1);
    const argv = (word: string) => ['sh', '-c', `echo ${word}`];
    expect(await startRemoteRun(remote, { dir, argv: argv('first'), collect: [], owner: 'store-a' })).toBe(true);
    expect(await waitRemoteRun(remote, dir, { timeoutMs: 10_000, pollMs: 50, owner: 'store-a' })).toEqual({ state: 'exited', exitCode: 0 });
    expect(await remoteRunState(remote, dir, undefined, 'store-b')).toEqual({ state: 'missing' });
    expect(await startRemoteRun(remote, { dir, argv: argv('first'), collect: [], owner: 'store-a' })).toBe(false); // its own: already started
    expect(await startRemoteRun(remote, { dir, argv: argv('second'), collect: [], owner: 'store-b' })).toBe(true);
    expect(await waitRemoteRun(remote, dir, { timeoutMs: 10_000, pollMs: 50, owner: 'store-b' })).toEqual({ state: 'exited', exitCode: 0 });
    expect(readFileSync(join(home, dir, 'stdout'), 'utf8')).toBe('second\n');
    const aside = readdirSync(join(home, dir, '..')).filter((d) => d.startsWith('attempt-1.other-'));
    expect(aside).toHaveLength(1);
    expect(readFileSync(join(home, dir, '..', aside[0]!, 'stdout'), 'utf8')).toBe('first\n');
  });

  it('collection fails naming a pattern that matched nothing', async () => {
    const dir = remoteRunDir('plan', 'run1', 1);
    const err = await collectHost(remote, dir, join(local, 'c1')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CollectionFailed);
    expect((err as Error).message).toContain('missing-*.log: missing on the host');
  });

  it('collects and verifies every file; a file truncated on the host after the run ended fails with the reason', async () => {
    const dir = remoteRunDir('plan', 'run2', 1);
    await startRemoteRun(remote, { dir, argv: ['sh', '-c', 'seq 1 20000 > "$0/big.txt"; echo ok', join(home, dir)], collect: ['big.txt'] });
    expect(await waitRemoteRun(remote, dir, { timeoutMs: 10_000, pollMs: 50 })).toEqual({ state: 'exited', exitCode: 0 });
    const files = await collectHost(remote, dir, join(local, 'c2'));
    expect(files.map((f) => f.path)).toEqual(['big.txt', 'stderr', 'stdout']);
    expect(existsSync(join(local, 'c2', 'SHA256SUMS'))).toBe(true);
    expect(await verifyCollected(remote, dir, join(local, 'c2'))).toHaveLength(3);

    truncateSync(join(home, dir, 'big.txt'), 1000);
    const err = await collectHost(remote, dir, join(local, 'c3')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CollectionFailed);
    expect((err as Error).message).toMatch(/big\.txt: sha256 \w+ \(1000 bytes\) differs from the \w+ the host recorded when the run ended \(truncated or changed since\)/);
  });

  it('states: running while it runs, died when its process is gone without an exit status, timeout kills it', async () => {
    const dir = remoteRunDir('plan', 'run3', 1);
    await startRemoteRun(remote, { dir, argv: ['sleep', '30'], collect: [] });
    const s = await remoteRunState(remote, dir);
    expect(s.state).toBe('running');
    process.kill(-(s as { pid: number }).pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    expect(await remoteRunState(remote, dir)).toEqual({ state: 'died' });
    expect(await remoteRunState(remote, remoteRunDir('plan', 'never', 1))).toEqual({ state: 'missing' });

    const dir4 = remoteRunDir('plan', 'run4', 1);
    await startRemoteRun(remote, { dir: dir4, argv: ['sleep', '30'], collect: [] });
    const t0 = Date.now();
    expect(await waitRemoteRun(remote, dir4, { timeoutMs: 500, pollMs: 50 })).toEqual({ state: 'timeout' });
    expect(Date.now() - t0).toBeLessThan(5000);
    await new Promise((r) => setTimeout(r, 300));
    const after = await remoteRunState(remote, dir4);
    expect(['died', 'exited']).toContain(after.state); // killed: gone, or its shell wrote the signal's status
  });
});
