import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestbedS3 } from '../types.js';
import { pidAlive, readPidFile } from './common.js';
import { serviceStatus, startS3, stopServices } from './index.js';

/** Minimal AWS SigV4 header signing (path-style, UNSIGNED-PAYLOAD), to prove the credentials work. */
function sigv4(s3: TestbedS3, method: string, url: URL): Record<string, string> {
  const now = new Date();
  const amzDate = now.toISOString().replace(/[:-]|\.\d{3}/g, '');
  const day = amzDate.slice(0, 8);
  const headers: Record<string, string> = {
    host: url.host,
    'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
    'x-amz-date': amzDate,
  };
  const signed = Object.keys(headers).sort();
  const canonical = [
    method,
    url.pathname,
    '',
    ...signed.map((h) => `${h}:${headers[h]}`),
    '',
    signed.join(';'),
    'UNSIGNED-PAYLOAD',
  ].join('\n');
  const scope = `${day}/${s3.region}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonical).digest('hex')].join('\n');
  const h = (k: Buffer | string, d: string) => createHmac('sha256', k).update(d).digest();
  const key = h(h(h(h(`AWS4${s3.secretAccessKey}`, day), s3.region), 's3'), 'aws4_request');
  const sig = createHmac('sha256', key).update(toSign).digest('hex');
  return {
    ...headers,
    authorization: `AWS4-HMAC-SHA256 Credential=${s3.accessKeyId}/${scope}, SignedHeaders=${signed.join(';')}, Signature=${sig}`,
  };
}

describe('startS3 (s3rver)', () => {
  let dir: string;
  let s3: TestbedS3;
  let startMs = 0;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'labrig-s3-'));
    const t = Date.now();
    s3 = await startS3(dir, { buckets: ['artifacts', 'logs'] });
    startMs = Date.now() - t;
    console.log(`s3rver ready in ${startMs} ms at ${s3.endpoint}`);
  });

  afterAll(async () => {
    await stopServices(dir);
    await rm(dir, { recursive: true, force: true });
  });

  it('answers on loopback with the fixed test credentials and the buckets', async () => {
    expect(s3.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(s3.accessKeyId).toBe('S3RVER');
    expect(s3.secretAccessKey).toBe('S3RVER');
    expect(s3.buckets).toEqual(['artifacts', 'logs']);
    for (const b of s3.buckets) expect((await fetch(`${s3.endpoint}/${b}`, { method: 'HEAD' })).status).toBe(200);
  });

  it('puts an object and gets it back byte-exact; HEAD of a missing key is 404', async () => {
    const body = randomBytes(256 * 1024 + 7);
    const put = await fetch(`${s3.endpoint}/artifacts/dir/blob.bin`, { method: 'PUT', body });
    expect(put.status).toBe(200);
    const get = await fetch(`${s3.endpoint}/artifacts/dir/blob.bin`);
    expect(get.status).toBe(200);
    expect(Buffer.from(await get.arrayBuffer()).equals(body)).toBe(true);
    const head = await fetch(`${s3.endpoint}/artifacts/dir/missing.bin`, { method: 'HEAD' });
    expect(head.status).toBe(404);
  });

  // s3rver 3.7 checks the access key id of SigV4 requests but does not verify V4 signatures
  // ("V4 signatures have incomplete support"), so a wrong *key id* is what it rejects.
  it('accepts SigV4-signed requests with the test credentials and rejects an unknown key id', async () => {
    const url = new URL(`${s3.endpoint}/artifacts/dir/blob.bin`);
    const ok = await fetch(url, { method: 'HEAD', headers: sigv4(s3, 'HEAD', url) });
    expect(ok.status).toBe(200);
    const bad = await fetch(url, { method: 'GET', headers: sigv4({ ...s3, accessKeyId: 'NOPE' }, 'GET', url) });
    expect(bad.status).toBe(403);
    expect(await bad.text()).toContain('InvalidAccessKeyId');
  });

  it('is idempotent: a second start returns the same server and adds missing buckets', async () => {
    const pidFile = path.join(dir, 'services', 's3', 's3rver.pid');
    const pid = await readPidFile(pidFile);
    const t = Date.now();
    const again = await startS3(dir, { buckets: ['logs', 'extra'] });
    console.log(`s3 second start (already running) in ${Date.now() - t} ms`);
    expect(again.endpoint).toBe(s3.endpoint);
    expect(again.buckets).toEqual(['artifacts', 'logs', 'extra']);
    expect(await readPidFile(pidFile)).toBe(pid);
    expect((await fetch(`${s3.endpoint}/extra`, { method: 'HEAD' })).status).toBe(200);
    const st = await serviceStatus(dir);
    expect(st.s3).toMatchObject({ running: true, endpoint: s3.endpoint });
  });

  it('stops by pid file (safe twice) and restarts with the data kept', async () => {
    const pid = await readPidFile(path.join(dir, 'services', 's3', 's3rver.pid'));
    expect(pid).toBeDefined();
    await stopServices(dir);
    await stopServices(dir);
    expect(pidAlive(pid as number)).toBe(false);
    expect((await serviceStatus(dir)).s3.running).toBe(false);

    const t = Date.now();
    s3 = await startS3(dir);
    console.log(`s3 restart in ${Date.now() - t} ms`);
    expect(s3.buckets).toEqual(['artifacts', 'logs', 'extra']);
    const get = await fetch(`${s3.endpoint}/artifacts/dir/blob.bin`);
    expect(get.status).toBe(200);
    expect((await get.arrayBuffer()).byteLength).toBe(256 * 1024 + 7);
  });
});
