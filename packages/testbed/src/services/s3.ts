/**
 * A real S3 API server on loopback: s3rver (Node), started detached from its CLI.
 *
 * Layout under `<dir>/services/s3/`: s3rver.pid, s3rver.log, service.json, data/ (objects).
 * Credentials are s3rver's defaults (`S3RVER` / `S3RVER`); s3rver also accepts
 * unsigned (anonymous) requests, which the readiness probe and bucket creation use.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import type { TestbedS3 } from '../types.js';
import {
  ServiceError,
  choosePort,
  ensureDir,
  httpStatus,
  processServicePaths,
  saveServiceInfo,
  processServiceStatus,
  serviceState,
  startProcess,
  stopProcessService,
} from './common.js';

const SERVICE = 's3';

export interface StartS3Options {
  /** Port on 127.0.0.1; a free one when not given. */
  port?: number;
  /** Buckets to create at start (and, when already running, created if missing). */
  buckets?: string[];
  /** Readiness timeout. Default 30 s. */
  timeoutMs?: number;
}

const s3Paths = (dir: string) => processServicePaths(dir, SERVICE, 's3rver');

function s3rverCli(): string {
  const require = createRequire(import.meta.url);
  try {
    return path.join(path.dirname(require.resolve('s3rver/package.json')), 'bin', 's3rver.js');
  } catch {
    throw new ServiceError(
      's3: the s3rver package is not installed',
      SERVICE,
      'It is a dependency of @labrig/testbed: run npm install at the workspace root.',
    );
  }
}

const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Create a bucket with an unsigned PUT (s3rver allows anonymous requests). Idempotent. */
async function ensureBucket(endpoint: string, bucket: string): Promise<void> {
  const head = await httpStatus(`${endpoint}/${bucket}`, 'HEAD');
  if (head === 200) return;
  const res = await fetch(`${endpoint}/${bucket}`, { method: 'PUT', signal: AbortSignal.timeout(5000) });
  const body = await res.text();
  if (res.status !== 200 && !/BucketAlreadyOwnedByYou|BucketAlreadyExists/.test(body)) {
    throw new ServiceError(`s3: creating bucket '${bucket}' failed: HTTP ${res.status} ${body.slice(0, 300)}`, SERVICE);
  }
}

export async function startS3(dir: string, opts: StartS3Options = {}): Promise<TestbedS3> {
  const buckets = opts.buckets ?? [];
  for (const b of buckets) {
    if (!BUCKET_RE.test(b)) {
      throw new ServiceError(
        `s3: invalid bucket name '${b}'`,
        SERVICE,
        'A bucket name has 3 to 63 lowercase letters, digits, dots and dashes, and starts and ends with a letter or digit.',
      );
    }
  }
  const p = s3Paths(dir);
  await ensureDir(p.data);

  const { saved, pid } = await serviceState<TestbedS3>(p);
  if (saved && pid) {
    // Already running: same server; make sure the requested buckets exist too.
    const missing = buckets.filter((b) => !saved.buckets.includes(b));
    for (const b of missing) await ensureBucket(saved.endpoint, b);
    if (missing.length === 0) return saved;
    return saveServiceInfo(p.state, { ...saved, buckets: [...saved.buckets, ...missing] });
  }

  const port = await choosePort(SERVICE, opts.port);
  const endpoint = `http://127.0.0.1:${port}`;
  // Buckets of an earlier run live on in data/; keep listing them.
  const allBuckets = [...new Set([...(saved?.buckets ?? []), ...buckets])];
  const args = [s3rverCli(), '-d', p.data, '-a', '127.0.0.1', '-p', String(port), '--no-vhost-buckets'];
  for (const b of allBuckets) args.push('--configure-bucket', b);

  await startProcess({
    service: SERVICE,
    name: 's3rver',
    bin: process.execPath,
    args,
    logFile: p.log,
    pidFile: p.pid,
    env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' },
    ready: {
      what: `s3rver to answer HTTP on ${endpoint}`,
      timeoutMs: opts.timeoutMs ?? 30_000,
      // Any HTTP answer (ListBuckets, anonymous) means the server is up.
      probe: async () => (await httpStatus(`${endpoint}/`)) !== undefined,
    },
  });
  for (const b of allBuckets) await ensureBucket(endpoint, b);

  return saveServiceInfo<TestbedS3>(p.state, {
    endpoint,
    region: 'us-east-1',
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    buckets: allBuckets,
  });
}

export function stopS3(dir: string): Promise<void> {
  return stopProcessService(s3Paths(dir));
}

export function s3Status(dir: string): Promise<{ running: boolean; endpoint?: string; pid?: number }> {
  return processServiceStatus<TestbedS3>(s3Paths(dir), (s) => s.endpoint);
}
