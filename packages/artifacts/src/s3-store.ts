/**
 * A content-addressed artifact store on S3 (or any S3 API server: MinIO, Ceph RGW, s3rver).
 *
 * Files live under `<prefix>/sha256/<hex>` (metadata `name`: the original file name), small JSON
 * manifests under `<prefix>/manifests/<name>.json`. An upload asks HeadObject first and skips what
 * is already there; a download is verified against the sha256 in its key. Credentials are given
 * explicitly or come from the standard AWS chain (env, profile, instance role); they are never
 * written anywhere by this module.
 */
import { SHA256_RE, contentKey, normalizePrefix, withPrefix } from './keys.js';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { HeadObjectCommandOutput, S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { addSecrets, digestFile } from '@labrig/core';
import { BucketMissing, DigestMismatch, StoreAccessDenied, StoreError, StoreUnreachable } from './errors.js';

/** Files larger than this go up in parts of this size. */
export const PART_SIZE = 8 * 1024 * 1024;
/** Parts uploaded at once (at most QUEUE_SIZE * PART_SIZE bytes buffered). */
export const QUEUE_SIZE = 4;
/** Longest validity of a presigned URL (SigV4 limit: 7 days). */
export const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

export interface S3StoreOptions {
  bucket: string;
  /** S3 API endpoint (e.g. `http://127.0.0.1:9000`); AWS S3 itself when omitted. */
  endpoint?: string;
  /** Default: AWS_REGION / the profile's region, else `us-east-1`. */
  region?: string;
  /** Key prefix (no leading or trailing `/` needed). */
  prefix?: string;
  /** Path-style URLs (`endpoint/bucket/key`). Default: true when `endpoint` is set. */
  forcePathStyle?: boolean;
  /** Explicit credentials; otherwise the standard AWS chain (env, profile, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /**
   * Ask the server to verify a SHA-256 checksum of every uploaded part. Default: on for AWS S3,
   * off for other endpoints (not every S3 API server supports flexible checksums). Integrity never
   * depends on it: keys are content digests and every download is verified.
   */
  checksum?: boolean;
  /** Attempts per request (SDK retry with backoff). Default 3. */
  maxAttempts?: number;
}

export interface PutFileOptions {
  /** Original name kept in the object's metadata. Default: the file's base name. */
  name?: string;
  onProgress?(sent: number, total: number): void;
  signal?: AbortSignal;
}

export interface PutFileResult {
  key: string;
  sha256: string;
  size: number;
  /** false when the store already had this content. */
  uploaded: boolean;
  bytesSent: number;
}

const KEY_SHA_RE = /(?:^|\/)sha256\/([0-9a-f]{64})$/;
const JSON_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*(?:\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/;

/** The sha256 a content-addressed key names, or undefined. */
export function sha256FromKey(key: string): string | undefined {
  return KEY_SHA_RE.exec(key)?.[1];
}

export class S3Store {
  readonly bucket: string;
  readonly prefix: string;
  readonly endpoint: string | undefined;
  private readonly config: S3ClientConfig;
  private loading: Promise<{ client: S3Client; s3: typeof import('@aws-sdk/client-s3') }> | undefined;
  private readonly checksum: boolean;
  private bucketChecked = false;

  constructor(opts: S3StoreOptions) {
    if (!opts.bucket) throw new StoreError('S3Store: a bucket name is required', { hint: 'Set the artifact store bucket in the platform config.' });
    this.bucket = opts.bucket;
    this.prefix = normalizePrefix(opts.prefix);
    this.endpoint = opts.endpoint;
    this.checksum = opts.checksum ?? opts.endpoint === undefined;
    const config: S3ClientConfig = {
      region: opts.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
      forcePathStyle: opts.forcePathStyle ?? opts.endpoint !== undefined,
      maxAttempts: opts.maxAttempts ?? 3,
      // Checksums only where the operation requires one, unless asked for: S3 API servers other
      // than AWS may not understand the aws-chunked trailers the SDK adds by default.
      requestChecksumCalculation: this.checksum ? 'WHEN_SUPPORTED' : 'WHEN_REQUIRED',
      responseChecksumValidation: this.checksum ? 'WHEN_SUPPORTED' : 'WHEN_REQUIRED',
      requestHandler: { connectionTimeout: 10_000 },
    };
    if (opts.endpoint !== undefined) config.endpoint = opts.endpoint;
    if (opts.credentials) config.credentials = { ...opts.credentials };
    // The secret parts of the credentials (given, or the standard chain's from the environment):
    // nothing the process prints shows them.
    addSecrets(opts.credentials ? [opts.credentials.secretAccessKey, opts.credentials.sessionToken] : [process.env.AWS_SECRET_ACCESS_KEY, process.env.AWS_SESSION_TOKEN]);
    this.config = config;
  }

  /**
   * The SDK client, created on first use: the AWS SDK takes a few hundred milliseconds to load,
   * which a command that finds nothing to move (or only prints its plan) should not pay.
   */
  private async sdk(): Promise<{ client: S3Client; s3: typeof import('@aws-sdk/client-s3') }> {
    this.loading ??= import('@aws-sdk/client-s3').then((s3) => ({ client: new s3.S3Client(this.config), s3 }));
    return this.loading;
  }

  /** `s3://bucket` (at endpoint), for messages. */
  toString(): string {
    return `s3://${this.bucket}${this.prefix ? `/${this.prefix}` : ''}${this.endpoint ? ` at ${this.endpoint}` : ''}`;
  }

  /** The key of a content digest: `<prefix>/sha256/<hex>`. */
  keyFor(sha256: string): string {
    if (!SHA256_RE.test(sha256)) throw new StoreError(`not a sha256 hex digest: ${JSON.stringify(sha256)}`, { hint: 'Pass the 64 lowercase hex digits of the content digest.' });
    return contentKey(this.prefix, sha256);
  }

  /** The key of a JSON manifest: `<prefix>/manifests/<name>.json`. */
  manifestKey(name: string): string {
    if (!JSON_NAME_RE.test(name) || name.split('/').some((p) => p === '..' || p === '.')) {
      throw new StoreError(`invalid manifest name ${JSON.stringify(name)}`, { hint: 'Use letters, digits, `.`, `_`, `-` and `/` between parts.' });
    }
    return this.withPrefix(`manifests/${name}.json`);
  }

  /** Whether the store holds the content with this digest. */
  async has(sha256: string, signal?: AbortSignal): Promise<boolean> {
    return (await this.head(this.keyFor(sha256), signal)) !== undefined;
  }

  /**
   * Upload a file under its content digest; skipped (uploaded:false) when it is already there.
   * Streams from disk (multipart above PART_SIZE) and checks the stored size afterwards.
   */
  /** Uploads in progress by key: the same content is uploaded once, however many callers ask. */
  private readonly uploading = new Map<string, Promise<PutFileResult>>();

  async putFile(localPath: string, opts: PutFileOptions = {}): Promise<PutFileResult> {
    const { sha256, size } = await digestFile(localPath, opts.signal);
    const key = this.keyFor(sha256);
    const inFlight = this.uploading.get(key);
    if (inFlight) {
      const first = await inFlight;
      return { ...first, uploaded: false, bytesSent: 0 };
    }
    const p = this.putNew(localPath, key, sha256, size, opts);
    this.uploading.set(key, p);
    try {
      return await p;
    } finally {
      this.uploading.delete(key);
    }
  }

  private async putNew(localPath: string, key: string, sha256: string, size: number, opts: PutFileOptions): Promise<PutFileResult> {
    const existing = await this.head(key, opts.signal);
    if (existing !== undefined) {
      if (existing.ContentLength !== undefined && existing.ContentLength !== size) {
        throw new StoreError(`s3://${this.bucket}/${key} holds ${existing.ContentLength} bytes, but the content with that digest has ${size}`, {
          hint: `The object is corrupt: delete it (\`aws s3 rm s3://${this.bucket}/${key}\`) and run again.`,
        });
      }
      return { key, sha256, size, uploaded: false, bytesSent: 0 };
    }

    return this.upload(localPath, key, sha256, size, opts);
  }

  /**
   * Upload a file under a name the reader knows (`bin/<proc>`), not under its digest: skipped when
   * the object there already has this content (its sha256 metadata and size). For systems that
   * read objects by name; content-addressed artifacts use putFile.
   */
  async putNamedFile(localPath: string, name: string, opts: PutFileOptions = {}): Promise<PutFileResult> {
    const { sha256, size } = await digestFile(localPath, opts.signal);
    const key = this.withPrefix(name);
    const existing = await this.head(key, opts.signal);
    if (existing?.Metadata?.['sha256'] === sha256 && existing.ContentLength === size) return { key, sha256, size, uploaded: false, bytesSent: 0 };
    return this.upload(localPath, key, sha256, size, { ...opts, name: opts.name ?? name });
  }

  /** Stream a file to `key` (multipart above PART_SIZE), then check the stored size. */
  private async upload(localPath: string, key: string, sha256: string, size: number, opts: PutFileOptions): Promise<PutFileResult> {
    const name = opts.name ?? path.basename(localPath);
    let sent = 0;
    const { client } = await this.sdk();
    const { Upload } = await import('@aws-sdk/lib-storage');
    const upload = new Upload({
      client,
      params: {
        Bucket: this.bucket,
        Key: key,
        Body: createReadStream(localPath, { highWaterMark: 1 << 20 }),
        ContentLength: size,
        ContentType: 'application/octet-stream',
        Metadata: { name: encodeURIComponent(name), sha256 },
        ...(this.checksum ? { ChecksumAlgorithm: 'SHA256' as const } : {}),
      },
      partSize: PART_SIZE,
      queueSize: QUEUE_SIZE,
      leavePartsOnError: false,
      ...(opts.signal ? { abortController: abortControllerFor(opts.signal) } : {}),
    });
    upload.on('httpUploadProgress', (p) => {
      if (p.loaded !== undefined) sent = p.loaded;
      opts.onProgress?.(sent, p.total ?? size);
    });
    try {
      await upload.done();
    } catch (e) {
      throw this.mapError(e, `upload of ${localPath} to ${key}`);
    }
    const after = await this.head(key, opts.signal);
    if (after === undefined || after.ContentLength !== size) {
      throw new StoreError(
        `after uploading ${localPath}: s3://${this.bucket}/${key} ${after === undefined ? 'is missing' : `has ${after.ContentLength} bytes, expected ${size}`}`,
        { hint: 'The server did not keep the upload; run again (the step can be retried).', retryable: true },
      );
    }
    return { key, sha256, size, uploaded: true, bytesSent: size };
  }

  /**
   * Download `key` to `localPath`: streamed to a temp file beside it, verified against the sha256
   * the key names (a content-addressed key) or the stored size, then renamed into place.
   */
  async getFile(key: string, localPath: string, signal?: AbortSignal): Promise<{ sha256: string; size: number }> {
    let res;
    try {
      const { client, s3 } = await this.sdk();
      res = await client.send(new s3.GetObjectCommand({ Bucket: this.bucket, Key: key }), signal ? { abortSignal: signal } : {});
    } catch (e) {
      throw this.mapError(e, `download of ${key}`);
    }
    const body = res.Body as Readable | undefined;
    if (!body) throw new StoreError(`download of s3://${this.bucket}/${key}: empty response`, { retryable: true });
    await mkdir(path.dirname(path.resolve(localPath)), { recursive: true });
    const tmp = `${localPath}.tmp-${randomBytes(6).toString('hex')}`;
    const hash = createHash('sha256');
    let size = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        size += chunk.length;
        cb(null, chunk);
      },
    });
    try {
      await pipeline(body, tap, createWriteStream(tmp, { mode: 0o644 }), signal ? { signal } : {});
      const got = hash.digest('hex');
      const expected = sha256FromKey(key);
      if (expected !== undefined && got !== expected) {
        throw new DigestMismatch(`s3://${this.bucket}/${key} downloaded to ${localPath}`, expected, got);
      }
      if (res.ContentLength !== undefined && size !== res.ContentLength) {
        throw new StoreError(`download of s3://${this.bucket}/${key}: got ${size} bytes, expected ${res.ContentLength}`, { retryable: true });
      }
      await rename(tmp, localPath);
      return { sha256: got, size };
    } catch (e) {
      await rm(tmp, { force: true });
      if (e instanceof DigestMismatch || e instanceof StoreError) throw e;
      throw this.mapError(e, `download of ${key}`);
    }
  }

  /** A GET URL for `key` that anyone holding it can fetch (e.g. `curl` on a host) for `ttlSeconds`. */
  async presignGet(key: string, ttlSeconds = 3600): Promise<string> {
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_PRESIGN_SECONDS) {
      throw new StoreError(`presignGet: ttlSeconds must be an integer from 1 to ${MAX_PRESIGN_SECONDS}, got ${ttlSeconds}`, {
        hint: 'SigV4 presigned URLs are valid for at most 7 days.',
      });
    }
    try {
      const { client, s3 } = await this.sdk();
      const { getSignedUrl } = await import('@aws-sdk/s3-request-presigner');
      return await getSignedUrl(client, new s3.GetObjectCommand({ Bucket: this.bucket, Key: key }), { expiresIn: ttlSeconds });
    } catch (e) {
      throw this.mapError(e, `presigning ${key}`);
    }
  }

  /** Store a small JSON document under `<prefix>/manifests/<name>.json`; returns its key. */
  async putJson(name: string, value: unknown): Promise<string> {
    const key = this.manifestKey(name);
    const body = `${JSON.stringify(value, null, 2)}\n`;
    try {
      const { client, s3 } = await this.sdk();
      await client.send(new s3.PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: 'application/json' }));
    } catch (e) {
      throw this.mapError(e, `writing ${key}`);
    }
    return key;
  }

  /** The JSON document stored under `name` (see putJson), or undefined when there is none. */
  async getJson<T = unknown>(name: string): Promise<T | undefined> {
    const key = this.manifestKey(name);
    let text: string;
    try {
      const { client, s3 } = await this.sdk();
      const res = await client.send(new s3.GetObjectCommand({ Bucket: this.bucket, Key: key }));
      text = (await res.Body?.transformToString('utf8')) ?? '';
    } catch (e) {
      if (errorName(e) === 'NoSuchKey') return undefined;
      throw this.mapError(e, `reading ${key}`);
    }
    try {
      return JSON.parse(text) as T;
    } catch (e) {
      throw new StoreError(`s3://${this.bucket}/${key} is not valid JSON: ${(e as Error).message}`, {
        hint: 'Write it again with putJson (the push target does), or delete it.',
        cause: e,
      });
    }
  }

  /** Release the client's sockets. */
  close(): void {
    void this.loading?.then(({ client }) => client.destroy(), () => undefined);
  }

  // --- internals -------------------------------------------------------------------------------

  private withPrefix(rest: string): string {
    return withPrefix(this.prefix, rest);
  }

  /** HeadObject, undefined when missing (a missing bucket is an error, not "missing"). */
  private async head(key: string, signal?: AbortSignal): Promise<HeadObjectCommandOutput | undefined> {
    try {
      const { client, s3 } = await this.sdk();
      return await client.send(new s3.HeadObjectCommand({ Bucket: this.bucket, Key: key }), signal ? { abortSignal: signal } : {});
    } catch (e) {
      if (statusOf(e) === 404 || errorName(e) === 'NotFound' || errorName(e) === 'NoSuchKey') {
        // HEAD has no body: a 404 is the same for a missing key and a missing bucket.
        await this.checkBucket(signal);
        return undefined;
      }
      throw this.mapError(e, `looking up ${key}`);
    }
  }

  private async checkBucket(signal?: AbortSignal): Promise<void> {
    if (this.bucketChecked) return;
    try {
      const { client, s3 } = await this.sdk();
      await client.send(new s3.HeadBucketCommand({ Bucket: this.bucket }), signal ? { abortSignal: signal } : {});
    } catch (e) {
      if (statusOf(e) === 404 || errorName(e) === 'NotFound') throw new BucketMissing(this.bucket, this.endpoint, { cause: e });
      throw this.mapError(e, 'looking up the bucket');
    }
    this.bucketChecked = true;
  }

  /** A typed error for an S3 or network failure of `what`. */
  private mapError(e: unknown, what: string): Error {
    return mapS3Error(e, { bucket: this.bucket, endpoint: this.endpoint, what });
  }
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);
const DENIED = new Set([
  'AccessDenied',
  'Forbidden',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidToken',
  'ExpiredToken',
  'TokenRefreshRequired',
  'AllAccessDisabled',
]);

function errorName(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'name' in e ? String((e as { name: unknown }).name) : undefined;
}

function statusOf(e: unknown): number | undefined {
  const m = (e as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata;
  return m?.httpStatusCode;
}

/** The network error code of `e` or of one of its causes / aggregated errors. */
function networkCode(e: unknown, depth = 0): string | undefined {
  if (typeof e !== 'object' || e === null || depth > 4) return undefined;
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
  if (errorName(e) === 'TimeoutError') return 'ETIMEDOUT';
  if (e instanceof AggregateError) for (const x of e.errors) {
    const c = networkCode(x, depth + 1);
    if (c) return c;
  }
  return networkCode((e as { cause?: unknown }).cause, depth + 1);
}

/** Map an SDK or network error to BucketMissing / StoreAccessDenied / StoreUnreachable / StoreError. */
export function mapS3Error(e: unknown, ctx: { bucket: string; endpoint: string | undefined; what: string }): Error {
  if (e instanceof StoreError || e instanceof BucketMissing || e instanceof StoreAccessDenied || e instanceof StoreUnreachable) return e;
  if (errorName(e) === 'AbortError') return e as Error;
  const name = errorName(e) ?? 'Error';
  const message = e instanceof Error ? e.message : String(e);
  const status = statusOf(e);
  if (name === 'NoSuchBucket') return new BucketMissing(ctx.bucket, ctx.endpoint, { cause: e });
  if (DENIED.has(name) || status === 403) return new StoreAccessDenied(ctx.bucket, ctx.endpoint, `${ctx.what}: ${name}${message && message !== name ? ` (${message})` : ''}`, { cause: e });
  if (name === 'CredentialsProviderError') return new StoreAccessDenied(ctx.bucket, ctx.endpoint, `no credentials found (${message})`, { cause: e });
  const net = networkCode(e);
  if (net) return new StoreUnreachable(ctx.endpoint ?? 'AWS S3', `${net} during ${ctx.what}`, { cause: e });
  return new StoreError(`${ctx.what} on s3://${ctx.bucket}${ctx.endpoint ? ` at ${ctx.endpoint}` : ''} failed: ${name}${status ? ` (HTTP ${status})` : ''}: ${message}`, {
    cause: e,
    retryable: status !== undefined && status >= 500,
  });
}

function abortControllerFor(signal: AbortSignal): AbortController {
  const ac = new AbortController();
  if (signal.aborted) ac.abort(signal.reason);
  else signal.addEventListener('abort', () => ac.abort(signal.reason), { once: true });
  return ac;
}
