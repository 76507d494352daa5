/**
 * Cache entries in S3 under `<prefix>/<hash>`: streamed both ways (multipart upload through
 * lib-storage, the GetObject body piped out), never held whole in memory.
 */
import type { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { CacheServerConfig } from './config.js';

export interface EntryStorage {
  has(hash: string): Promise<boolean>;
  /** The entry's bytes, or undefined when absent. */
  get(hash: string): Promise<{ body: Readable; length?: number } | undefined>;
  put(hash: string, body: Readable): Promise<void>;
  close(): void;
}

const statusOf = (e: unknown) => (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

export function createS3Storage(cfg: CacheServerConfig, credentials?: { accessKeyId: string; secretAccessKey: string }): EntryStorage {
  const client = new S3Client({
    region: cfg.region,
    forcePathStyle: cfg.forcePathStyle,
    ...(cfg.endpoint ? { endpoint: cfg.endpoint } : {}),
    ...(credentials ? { credentials } : {}),
    requestChecksumCalculation: cfg.endpoint ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED',
    responseChecksumValidation: cfg.endpoint ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED',
  });
  const key = (hash: string) => (cfg.prefix ? `${cfg.prefix}/${hash}` : hash);
  return {
    async has(hash) {
      try {
        await client.send(new HeadObjectCommand({ Bucket: cfg.bucket, Key: key(hash) }));
        return true;
      } catch (e) {
        if (statusOf(e) === 404) return false;
        throw e;
      }
    },
    async get(hash) {
      try {
        const r = await client.send(new GetObjectCommand({ Bucket: cfg.bucket, Key: key(hash) }));
        return { body: r.Body as Readable, ...(r.ContentLength !== undefined ? { length: r.ContentLength } : {}) };
      } catch (e) {
        if (statusOf(e) === 404 || (e as Error).name === 'NoSuchKey') return undefined;
        throw e;
      }
    },
    async put(hash, body) {
      await new Upload({ client, params: { Bucket: cfg.bucket, Key: key(hash), Body: body, ContentType: 'application/octet-stream' }, queueSize: 2, partSize: 8 * 1024 * 1024 }).done();
    },
    close: () => client.destroy(),
  };
}
