/**
 * The cache server over a real S3 API server (the testbed's s3rver, 127.0.0.1): tokens, 404, 409,
 * 413 (declared and streamed), round trip of an entry larger than a multipart part.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { down, up } from '@labrig/testbed';
import { readConfig, type CacheServerConfig } from './config.js';
import { createCacheServer } from './server.js';
import { createS3Storage, type EntryStorage } from './storage.js';

const READ = 'r'.repeat(20);
const WRITE = 'w'.repeat(20);
let tb: string;
let base: string;
let cfg: CacheServerConfig;
let storage: EntryStorage;
let close: () => Promise<void>;
const logs: string[] = [];

beforeAll(async () => {
  tb = mkdtempSync(join(tmpdir(), 'labrig-cache-tb-'));
  chmodSync(tb, 0o755);
  const state = await up({ dir: tb, hosts: 1, addressBase: '127.0.56.0', port: 2356, s3: true, s3Buckets: ['nx-cache'] });
  cfg = readConfig({
    LABRIG_CACHE_BUCKET: 'nx-cache',
    LABRIG_CACHE_S3_ENDPOINT: state.s3!.endpoint,
    LABRIG_CACHE_PORT: '0',
    LABRIG_CACHE_READ_TOKENS: READ,
    LABRIG_CACHE_WRITE_TOKENS: WRITE,
    LABRIG_CACHE_MAX_SIZE: '24m',
  });
  storage = createS3Storage(cfg, { accessKeyId: state.s3!.accessKeyId, secretAccessKey: state.s3!.secretAccessKey });
  const server = createCacheServer(cfg, storage, (l) => logs.push(l));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/cache`;
  close = () => new Promise((r) => server.close(() => r()));
}, 120_000);

afterAll(async () => {
  await close?.();
  storage?.close();
  if (tb) await down(tb);
  if (tb) rmSync(tb, { recursive: true, force: true });
});

const auth = (t: string) => ({ authorization: `Bearer ${t}` });

describe('the Nx remote cache API', { timeout: 60_000 }, () => {
  it('refuses requests without a known token (401), answers 404 for an absent entry', async () => {
    expect((await fetch(`${base}/123`)).status).toBe(401);
    expect((await fetch(`${base}/123`, { headers: auth('x'.repeat(20)) })).status).toBe(401);
    expect((await fetch(`${base}/123`, { headers: auth(READ) })).status).toBe(404);
    expect((await fetch(`${base.replace('/v1/cache', '/v2/x')}`, { headers: auth(READ) })).status).toBe(404);
  });

  it('stores an entry with a read-write token, streams it back, never overwrites it; read-only tokens cannot write', async () => {
    const body = randomBytes(20 * 1024 * 1024 + 123); // more than two multipart parts
    expect((await fetch(`${base}/4242`, { method: 'PUT', headers: auth(READ), body })).status).toBe(403);
    const put = await fetch(`${base}/4242`, { method: 'PUT', headers: { ...auth(WRITE), 'content-type': 'application/octet-stream' }, body });
    expect(put.status).toBe(200);
    const got = await fetch(`${base}/4242`, { headers: auth(READ) });
    expect(got.status).toBe(200);
    const back = Buffer.from(await got.arrayBuffer());
    expect(createHash('sha256').update(back).digest('hex')).toBe(createHash('sha256').update(body).digest('hex'));
    const again = await fetch(`${base}/4242`, { method: 'PUT', headers: auth(WRITE), body: Buffer.from('other') });
    expect(again.status).toBe(409);
    const still = Buffer.from(await (await fetch(`${base}/4242`, { headers: auth(WRITE) })).arrayBuffer());
    expect(still.length).toBe(body.length);
  });

  it('refuses an entry above the limit, declared or streamed without a length, and keeps nothing of it', async () => {
    const big = randomBytes(25 * 1024 * 1024);
    expect((await fetch(`${base}/777`, { method: 'PUT', headers: auth(WRITE), body: big })).status).toBe(413);
    const chunks = Readable.from((function* () {
      for (let i = 0; i < 26; i++) yield randomBytes(1024 * 1024);
    })());
    const streamed = await fetch(`${base}/778`, { method: 'PUT', headers: auth(WRITE), body: Readable.toWeb(chunks) as ReadableStream, duplex: 'half' } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(await storage.has('777')).toBe(false);
    expect(await storage.has('778')).toBe(false);
  });

  it('logs one line per request naming the token by id, never its value', () => {
    expect(logs.some((l) => /^PUT 4242 200 \d+B \d+ms token=write-1$/.test(l))).toBe(true);
    expect(logs.some((l) => /^GET 123 401 .* token=-$/.test(l))).toBe(true);
    expect(logs.join('\n')).not.toContain(WRITE);
    expect(logs.join('\n')).not.toContain(READ);
  });

  it('config errors name the variable', () => {
    expect(() => readConfig({})).toThrow(/LABRIG_CACHE_BUCKET: not set, expected an S3 bucket name/);
    expect(() => readConfig({ LABRIG_CACHE_BUCKET: 'b-1', LABRIG_CACHE_WRITE_TOKENS: 'short' })).toThrow(/LABRIG_CACHE_WRITE_TOKENS.*at least 16 characters/);
    expect(() => readConfig({ LABRIG_CACHE_BUCKET: 'b-1', LABRIG_CACHE_READ_TOKENS: READ })).toThrow(/at least one read-write token/);
    expect(() => readConfig({ LABRIG_CACHE_BUCKET: 'b-1', LABRIG_CACHE_WRITE_TOKENS: WRITE, LABRIG_CACHE_MAX_SIZE: 'lots' })).toThrow(/LABRIG_CACHE_MAX_SIZE/);
  });
});
