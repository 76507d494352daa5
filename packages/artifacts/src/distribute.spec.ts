/**
 * Distribution onto 3 real testbed hosts: from the S3 store (presigned URL, curl on the host) and
 * over SSH; the second round moves nothing; a wrong digest fails naming the host and the file,
 * and leaves no temp file behind.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CommandFailed, TransferVerifyFailed, digestFile } from '@labrig/core';
import type { ExecOptions, Remote } from '@labrig/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyToHost, distribute, fetchFromStore } from './distribute.js';
import { DigestMismatch, DistributeFailed, ToolMissing } from './errors.js';
import { S3Store } from './s3-store.js';
import { TEST_BUCKET, useTestbed } from './testing/testbed.js';

const tb = useTestbed('dist', { hosts: 3, addressBase: '127.0.50.0', s3: true });

let work: string;
let file: string;
let sha: string;
let store: S3Store;
let remotes: Remote[];

const home = (i: number) => tb.state.hosts[i]?.home ?? '/nonexistent';

async function onHost(r: Remote, argv: string[]): Promise<string> {
  return (await r.exec(argv)).stdout.trim();
}

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'labrig-artifacts-dist-'));
  file = path.join(work, 'tool.bin');
  await writeFile(file, randomBytes(3 * 1024 * 1024 + 17));
  sha = (await digestFile(file)).sha256;
  store = new S3Store({
    bucket: TEST_BUCKET,
    endpoint: tb.s3.endpoint,
    region: tb.s3.region,
    prefix: 'dist',
    credentials: { accessKeyId: tb.s3.accessKeyId, secretAccessKey: tb.s3.secretAccessKey },
  });
  remotes = await tb.remotes();
});
afterAll(async () => {
  store?.close();
  await rm(work, { recursive: true, force: true });
});

describe('fetchFromStore', () => {
  it('puts the file on 3 hosts with the right sha256 and mode, then skips it', async () => {
    const put = await store.putFile(file);
    const url = await store.presignGet(put.key, 600);
    const t0 = performance.now();
    const first = await Promise.all(remotes.map((r, i) => fetchFromStore(r, { url, sha256: sha, dest: `${home(i)}/opt/bin/tool`, mode: 0o755 })));
    console.log(`fetchFromStore 3 MiB onto 3 hosts: ${(performance.now() - t0).toFixed(0)} ms`);
    expect(first).toEqual([{ fetched: true }, { fetched: true }, { fetched: true }]);
    for (const [i, r] of remotes.entries()) {
      expect(await onHost(r, ['sha256sum', '--', `${home(i)}/opt/bin/tool`])).toBe(`${sha}  ${home(i)}/opt/bin/tool`);
      expect(await onHost(r, ['stat', '-c', '%a', `${home(i)}/opt/bin/tool`])).toBe('755');
      expect(await onHost(r, ['ls', '-A', `${home(i)}/opt/bin`])).toBe('tool');
    }
    const again = await Promise.all(remotes.map((r, i) => fetchFromStore(r, { url, sha256: sha, dest: `${home(i)}/opt/bin/tool`, mode: 0o755 })));
    expect(again).toEqual([{ fetched: false }, { fetched: false }, { fetched: false }]);
  });

  it('fails on a wrong sha256, naming the host and the file, and leaves nothing behind', async () => {
    const url = await store.presignGet(store.keyFor(sha), 600);
    const r = remotes[1] as Remote;
    const wrong = 'a'.repeat(64);
    const err = await fetchFromStore(r, { url, sha256: wrong, dest: `${home(1)}/wrong/tool` }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransferVerifyFailed);
    const msg = (err as Error).message;
    expect(msg).toContain(r.host.name);
    expect(msg).toContain(`${home(1)}/wrong/tool`);
    expect(msg).toContain(wrong);
    expect(msg).not.toContain('X-Amz-Signature');
    expect(await onHost(r, ['ls', '-A', `${home(1)}/wrong`])).toBe('');
  });

  it('says so when a host has neither curl nor wget', async () => {
    const real = remotes[0] as Remote;
    // A stand-in for a bare host: the `command -v` probe finds nothing; every other command is real.
    const bare: Remote = Object.create(real) as Remote;
    bare.exec = (argv: readonly string[], o?: ExecOptions) =>
      argv[0] === 'sh' ? Promise.resolve({ exitCode: 0, signal: null, stdout: '', stderr: '', durationMs: 0 }) : real.exec(argv, o);
    const url = await store.presignGet(store.keyFor(sha), 600);
    const err = await fetchFromStore(bare, { url, sha256: sha, dest: `${home(0)}/bare/tool` }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolMissing);
    expect((err as Error).message).toContain(real.host.name);
  });
  it('uses wget when the host has no curl', async () => {
    const real = remotes[2] as Remote;
    const noCurl: Remote = Object.create(real) as Remote;
    noCurl.exec = (argv: readonly string[], o?: ExecOptions) =>
      argv[0] === 'sh' ? Promise.resolve({ exitCode: 0, signal: null, stdout: '/usr/bin/wget\n', stderr: '', durationMs: 0 }) : real.exec(argv, o);
    const seen: string[] = [];
    const spy: Remote = Object.create(noCurl) as Remote;
    spy.exec = (argv: readonly string[], o?: ExecOptions) => {
      seen.push(argv[0] ?? '');
      return noCurl.exec(argv, o);
    };
    const url = await store.presignGet(store.keyFor(sha), 600);
    expect(await fetchFromStore(spy, { url, sha256: sha, dest: `${home(2)}/wget/tool` })).toEqual({ fetched: true });
    expect(seen).toContain('wget');
    expect(seen).not.toContain('curl');
    expect(await onHost(real, ['sha256sum', '--', `${home(2)}/wget/tool`])).toBe(`${sha}  ${home(2)}/wget/tool`);
  });

  it('reports a refused download without printing the signature', async () => {
    // (s3rver does not check presigned signatures: a URL of a missing object gets the 404.)
    const url = await store.presignGet(store.keyFor('c'.repeat(64)), 600);
    const r = remotes[0] as Remote;
    const err = await fetchFromStore(r, { url, sha256: sha, dest: `${home(0)}/refused/tool` }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandFailed);
    expect((err as Error).message).toContain(r.host.name);
    expect((err as Error).message).not.toContain('X-Amz');
    expect(await onHost(r, ['ls', '-A', `${home(0)}/refused`])).toBe('');
  });
});

describe('copyToHost', () => {
  it('copies over SSH to 3 hosts, then skips', async () => {
    const first = await Promise.all(remotes.map((r, i) => copyToHost(r, { localPath: file, sha256: sha, dest: `${home(i)}/ssh/tool`, mode: 0o700 })));
    expect(first).toEqual([{ copied: true }, { copied: true }, { copied: true }]);
    for (const [i, r] of remotes.entries()) {
      expect(await onHost(r, ['sha256sum', '--', `${home(i)}/ssh/tool`])).toBe(`${sha}  ${home(i)}/ssh/tool`);
      expect(await onHost(r, ['stat', '-c', '%a', `${home(i)}/ssh/tool`])).toBe('700');
    }
    const again = await Promise.all(remotes.map((r, i) => copyToHost(r, { localPath: file, sha256: sha, dest: `${home(i)}/ssh/tool` })));
    expect(again).toEqual([{ copied: false }, { copied: false }, { copied: false }]);
  });

  it('refuses a file whose sha256 is not the expected one, naming the host and the file', async () => {
    const r = remotes[2] as Remote;
    const wrong = 'b'.repeat(64);
    const err = await copyToHost(r, { localPath: file, sha256: wrong, dest: `${home(2)}/ssh-wrong/tool` }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DigestMismatch);
    const msg = (err as Error).message;
    expect(msg).toContain(r.host.name);
    expect(msg).toContain(file);
    expect(msg).toContain(`${home(2)}/ssh-wrong/tool`);
    expect((await r.exec(['test', '-e', `${home(2)}/ssh-wrong/tool`], { allowFailure: true })).exitCode).toBe(1);
  });
});

describe('distribute', () => {
  it('moves each item once per host, in store and ssh mode', async () => {
    const other = path.join(work, 'config.toml');
    await writeFile(other, 'x = 1\n');
    const otherSha = (await digestFile(other)).sha256;
    // The testbed hosts share this machine's filesystem, one user (and home) each: one call per
    // host, each with paths under that host's home.
    const itemsFor = (i: number, mode: string) => [
      { name: 'tool', localPath: file, sha256: sha, dest: `${home(i)}/d-${mode}/bin/tool`, mode: 0o755 },
      { name: 'config', localPath: other, sha256: otherSha, dest: `${home(i)}/d-${mode}/etc/config.toml` },
    ];
    for (const mode of ['store', 'ssh'] as const) {
      const run = () => Promise.all(remotes.map((r, i) => distribute([r], itemsFor(i, mode), mode, store)));
      expect((await run()).map((p) => p[0])).toEqual(remotes.map((r) => ({ host: r.host.name, moved: ['tool', 'config'], unchanged: [] })));
      expect((await run()).map((p) => p[0])).toEqual(remotes.map((r) => ({ host: r.host.name, moved: [], unchanged: ['tool', 'config'] })));
      for (const [i, r] of remotes.entries()) {
        expect(await onHost(r, ['cat', `${home(i)}/d-${mode}/etc/config.toml`])).toBe('x = 1');
      }
    }
  });

  it('reports per host which ones failed', async () => {
    // One path in tb-0's home, private to its user: only tb-0 may write (or read) it.
    const dest = `${home(0)}/shared/tool`;
    const items = [{ name: 'tool', localPath: file, sha256: sha, dest, mode: 0o700 }];
    const err = await distribute(remotes, items, 'store', store, { concurrency: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DistributeFailed);
    const results = (err as DistributeFailed).results;
    expect(results.map((r) => [r.host, r.error === undefined])).toEqual([
      [remotes[0]?.host.name, true],
      [remotes[1]?.host.name, false],
      [remotes[2]?.host.name, false],
    ]);
    expect((err as Error).message).toContain(remotes[1]?.host.name);
    const got = await distribute(remotes, items, 'store', store, { throwOnError: false });
    expect(got[0]).toEqual({ host: remotes[0]?.host.name, moved: [], unchanged: ['tool'] });
    expect(got[1]?.error).toBeDefined();
  });
});
