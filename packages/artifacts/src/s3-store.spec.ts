/**
 * S3Store against the testbed's real S3 API server (s3rver): multipart upload of a 40 MiB file,
 * skip when present, byte-exact download, a presigned URL fetched by a testbed host with curl,
 * JSON manifests, and the typed errors (missing bucket, bad credentials, endpoint down).
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { digestFile } from '@labrig/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BucketMissing, DigestMismatch, StoreAccessDenied, StoreUnreachable } from './errors.js';
import { PART_SIZE, S3Store } from './s3-store.js';
import { TEST_BUCKET, useTestbed } from './testing/testbed.js';

const tb = useTestbed('s3', { hosts: 1, addressBase: '127.0.50.10', s3: true });

let work: string;
let big: string;
let bigSha: string;
const MiB = 1024 * 1024;

function store(extra: Partial<ConstructorParameters<typeof S3Store>[0]> = {}): S3Store {
  return new S3Store({
    bucket: TEST_BUCKET,
    endpoint: tb.s3.endpoint,
    region: tb.s3.region,
    prefix: 'spec',
    credentials: { accessKeyId: tb.s3.accessKeyId, secretAccessKey: tb.s3.secretAccessKey },
    ...extra,
  });
}

async function writeRandom(file: string, bytes: number): Promise<void> {
  const out = createWriteStream(file);
  for (let left = bytes; left > 0; left -= MiB) {
    if (!out.write(randomBytes(Math.min(MiB, left)))) await once(out, 'drain');
  }
  out.end();
  await once(out, 'close');
}

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'labrig-artifacts-s3-work-'));
  big = path.join(work, 'big.bin');
  await writeRandom(big, 40 * MiB);
  bigSha = (await digestFile(big)).sha256;
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('S3Store', () => {
  it('uploads a 40 MiB file in parts under its content digest, then skips it', async () => {
    const s = store();
    const progress: number[] = [];
    const t0 = performance.now();
    const r = await s.putFile(big, { name: 'big file.bin', onProgress: (sent) => progress.push(sent) });
    const secs = (performance.now() - t0) / 1000;
    console.log(`upload 40 MiB: ${secs.toFixed(2)} s, ${(40 / secs).toFixed(1)} MiB/s`);
    expect(r).toEqual({ key: `spec/sha256/${bigSha}`, sha256: bigSha, size: 40 * MiB, uploaded: true, bytesSent: 40 * MiB });
    expect(progress.length).toBeGreaterThanOrEqual(40 / (PART_SIZE / MiB));
    expect(progress.at(-1)).toBe(40 * MiB);

    // Multipart on the server: s3rver's request log shows 5 UploadPart responses for the key.
    const log = await readFile(path.join(tb.dir, 'services', 's3', 's3rver.log'), 'utf8');
    const parts = log.split('\n').filter((l) => l.includes(`${r.key}?partNumber=`) && / 200 /.test(l));
    expect(parts.length, log.slice(-2000)).toBe(5);
    const raw = new S3Client({ endpoint: tb.s3.endpoint, region: tb.s3.region, forcePathStyle: true, credentials: { accessKeyId: tb.s3.accessKeyId, secretAccessKey: tb.s3.secretAccessKey } });
    const head = await raw.send(new HeadObjectCommand({ Bucket: TEST_BUCKET, Key: r.key }));
    raw.destroy();
    expect(head.ContentLength).toBe(40 * MiB);
    expect(decodeURIComponent(head.Metadata?.name ?? '')).toBe('big file.bin');

    const again = await s.putFile(big);
    expect(again).toEqual({ key: r.key, sha256: bigSha, size: 40 * MiB, uploaded: false, bytesSent: 0 });
    expect(await s.has(bigSha)).toBe(true);
    expect(await s.has('0'.repeat(64))).toBe(false);
    s.close();
  });

  it('uploads a small file in one request', async () => {
    const s = store();
    const f = path.join(work, 'small.txt');
    await writeFile(f, 'hello artifacts\n');
    const r = await s.putFile(f);
    expect(r.uploaded).toBe(true);
    expect(r.key).toBe(s.keyFor(r.sha256));
    expect((await s.putFile(f)).uploaded).toBe(false);
    s.close();
  });

  it('keeps a file under a name: skipped while the content is the same, replaced when it changes', async () => {
    const s = store();
    const f = path.join(work, 'proc');
    await writeFile(f, 'version 1\n');
    const first = await s.putNamedFile(f, 'bin/proc');
    expect(first).toMatchObject({ key: 'spec/bin/proc', uploaded: true });
    expect((await s.putNamedFile(f, 'bin/proc')).uploaded).toBe(false);
    await writeFile(f, 'version 2, longer\n');
    const second = await s.putNamedFile(f, 'bin/proc');
    expect(second.uploaded).toBe(true);
    expect(second.sha256).not.toBe(first.sha256);
    const back = path.join(work, 'proc.back');
    await s.getFile('spec/bin/proc', back);
    expect(await readFile(back, 'utf8')).toBe('version 2, longer\n');
    s.close();
  });

  it('uploads the same content once when several callers push it at the same time', async () => {
    const s = store({ prefix: 'spec-concurrent' });
    const f = path.join(work, 'concurrent.txt');
    await writeFile(f, `same content ${Date.now()}\n`);
    const results = await Promise.all([1, 2, 3, 4].map(() => s.putFile(f)));
    expect(results.filter((r) => r.uploaded)).toHaveLength(1);
    expect(new Set(results.map((r) => r.key)).size).toBe(1);
    const back = path.join(work, 'concurrent.back');
    await s.getFile(results[0]!.key, back);
    expect(await readFile(back, 'utf8')).toBe(await readFile(f, 'utf8'));
    s.close();
  });

  it('downloads byte-exact, verified, into place', async () => {
    const s = store();
    const out = path.join(work, 'down', 'big.copy');
    const r = await s.getFile(s.keyFor(bigSha), out);
    expect(r).toEqual({ sha256: bigSha, size: 40 * MiB });
    expect(Buffer.compare(await readFile(out), await readFile(big))).toBe(0);
    expect((await readdir(path.dirname(out))).filter((n) => n.includes('.tmp-'))).toEqual([]);
    s.close();
  });

  it('refuses a download whose content does not match its key, leaving nothing behind', async () => {
    const s = store();
    const fakeSha = 'f'.repeat(64);
    const raw = new S3Client({ endpoint: tb.s3.endpoint, region: tb.s3.region, forcePathStyle: true, credentials: { accessKeyId: tb.s3.accessKeyId, secretAccessKey: tb.s3.secretAccessKey } });
    await raw.send(new PutObjectCommand({ Bucket: TEST_BUCKET, Key: s.keyFor(fakeSha), Body: 'not what the key says' }));
    raw.destroy();
    const out = path.join(work, 'bad', 'x');
    const err = await s.getFile(s.keyFor(fakeSha), out).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DigestMismatch);
    expect((err as Error).message).toContain(fakeSha);
    expect(await readdir(path.dirname(out))).toEqual([]);
    s.close();
  });

  it('gives a presigned URL that a testbed host fetches with curl', async () => {
    const s = store();
    const url = await s.presignGet(s.keyFor(bigSha), 600);
    expect(url).toMatch(/X-Amz-Signature=/);
    const [remote] = await tb.remotes();
    if (!remote) throw new Error('no host');
    const home = tb.state.hosts[0]?.home ?? '';
    const dest = `${home}/big.bin`;
    const which = await remote.exec(['sh', '-c', 'command -v curl'], { allowFailure: true });
    expect(which.exitCode, 'curl must be installed on the testbed hosts').toBe(0);
    await remote.exec(['curl', '-fsSL', '-o', dest, url]);
    const sum = await remote.exec(['sha256sum', '--', dest]);
    expect(sum.stdout.slice(0, 64)).toBe(bigSha);
    s.close();
  });

  it('keeps small JSON manifests', async () => {
    const s = store();
    expect(await s.getJson('demo/none')).toBeUndefined();
    const key = await s.putJson('demo/v1', { system: 'demo', files: [1, 2] });
    expect(key).toBe('spec/manifests/demo/v1.json');
    expect(await s.getJson('demo/v1')).toEqual({ system: 'demo', files: [1, 2] });
    expect(() => s.manifestKey('../escape')).toThrow(/invalid manifest name/);
    s.close();
  });

  it('names the bucket when it does not exist', async () => {
    const s = store({ bucket: 'no-such-bucket-labrig' });
    const err = await s.putFile(big).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BucketMissing);
    expect((err as BucketMissing).message).toContain("'no-such-bucket-labrig'");
    expect((err as BucketMissing).hint).toContain('mb s3://no-such-bucket-labrig');
    await expect(s.has(bigSha)).rejects.toBeInstanceOf(BucketMissing);
    s.close();
  });

  it('reports refused credentials as access denied, with a hint about credentials', async () => {
    const s = store({ credentials: { accessKeyId: 'WRONG', secretAccessKey: 'WRONG' } });
    const err = await s.has(bigSha).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreAccessDenied);
    expect((err as StoreAccessDenied).hint).toMatch(/AWS_ACCESS_KEY_ID/);
    s.close();
  });

  it('reports an endpoint that does not answer as unreachable', async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    await new Promise<void>((r) => srv.close(() => r()));
    const s = store({ endpoint: `http://127.0.0.1:${port}`, maxAttempts: 1 });
    const err = await s.has(bigSha).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnreachable);
    expect((err as Error).message).toContain(`127.0.0.1:${port}`);
    expect((err as StoreUnreachable).retryable).toBe(true);
    s.close();
  });
});
