/**
 * Typed errors of @labrig/artifacts. Each has a `code`, a `hint` (what to do) and keeps `cause`.
 */
import { LabrigError } from '@labrig/core';

/** Where an S3 store lives, for messages: `s3://bucket` (at endpoint). */
export function describeBucket(bucket: string, endpoint?: string): string {
  return `s3://${bucket}${endpoint ? ` at ${endpoint}` : ''}`;
}

function awsCli(endpoint: string | undefined): string {
  return endpoint ? `aws --endpoint-url ${endpoint} s3` : 'aws s3';
}

/** The bucket does not exist. */
export class BucketMissing extends LabrigError {
  readonly code = 'S3_NO_BUCKET';
  readonly bucket: string;
  constructor(bucket: string, endpoint: string | undefined, opts: { cause?: unknown } = {}) {
    super(`S3 bucket '${bucket}' does not exist (${describeBucket(bucket, endpoint)})`, {
      hint: `Create it (\`${awsCli(endpoint)} mb s3://${bucket}\`, or in the provider's console), or set the artifact store's bucket to one that exists.`,
      cause: opts.cause,
    });
    this.bucket = bucket;
  }
}

/** The credentials were refused (unknown key, bad signature, or no permission on the bucket). */
export class StoreAccessDenied extends LabrigError {
  readonly code = 'S3_ACCESS_DENIED';
  readonly bucket: string;
  constructor(bucket: string, endpoint: string | undefined, what: string, opts: { cause?: unknown } = {}) {
    super(`access to ${describeBucket(bucket, endpoint)} denied: ${what}`, {
      hint:
        'Check the credentials the store uses: explicit ones in the platform config, else the standard AWS chain ' +
        '(AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE and ~/.aws/credentials, the instance role), ' +
        `and that they may read and write the bucket (\`${awsCli(endpoint)} ls s3://${bucket}\`).`,
      cause: opts.cause,
    });
    this.bucket = bucket;
  }
}

/** The S3 endpoint does not answer. */
export class StoreUnreachable extends LabrigError {
  readonly code = 'S3_UNREACHABLE';
  readonly endpoint: string;
  constructor(endpoint: string, reason: string, opts: { cause?: unknown } = {}) {
    super(`S3 endpoint ${endpoint} is unreachable: ${reason}`, {
      hint: 'Check the endpoint URL and that the server is up (for the testbed: `tools/testbed status`); a proxy or firewall may be in the way.',
      cause: opts.cause,
      retryable: true,
    });
    this.endpoint = endpoint;
  }
}

/** Any other S3 failure (the server's error code is in the message). */
export class StoreError extends LabrigError {
  readonly code = 'S3_ERROR';
  constructor(message: string, opts: { hint?: string; cause?: unknown; retryable?: boolean } = {}) {
    super(message, {
      hint: opts.hint ?? 'See the cause for the server answer; run again once it is fixed.',
      cause: opts.cause,
      retryable: opts.retryable ?? false,
    });
  }
}

/** Downloaded or built content does not have the sha256 it should have. */
export class DigestMismatch extends LabrigError {
  readonly code = 'DIGEST_MISMATCH';
  readonly what: string;
  readonly expected: string;
  readonly got: string;
  constructor(what: string, expected: string, got: string, opts: { hint?: string } = {}) {
    super(`${what}: sha256 is ${got || '(none)'}, expected ${expected}`, {
      hint: opts.hint ?? 'The content changed or was corrupted on the way; rebuild or re-upload it and run again.',
      retryable: true,
    });
    this.what = what;
    this.expected = expected;
    this.got = got;
  }
}

/** A program labrig needs is not installed (on this machine or on a host). */
export class ToolMissing extends LabrigError {
  readonly code = 'TOOL_MISSING';
  readonly tool: string;
  readonly where: string;
  constructor(tool: string, where: string, hint: string, opts: { cause?: unknown } = {}) {
    super(`${tool} is not installed on ${where}`, { hint, cause: opts.cause });
    this.tool = tool;
    this.where = where;
  }
}

/** buildah failed while building an image. */
export class ImageBuildFailed extends LabrigError {
  readonly code = 'IMAGE_BUILD';
  readonly image: string;
  constructor(image: string, problem: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(`building image ${image} failed: ${problem}`, {
      hint: opts.hint ?? 'See the buildah output above; check that every file to copy exists and is readable.',
      cause: opts.cause,
    });
    this.image = image;
  }
}

/** An OCI archive is not readable as one (truncated, not a tar, no index.json, missing blob, bad digest). */
export class ImageArchiveInvalid extends LabrigError {
  readonly code = 'IMAGE_ARCHIVE';
  readonly archive: string;
  constructor(archive: string, problem: string, opts: { cause?: unknown } = {}) {
    super(`${archive} is not a valid OCI archive: ${problem}`, {
      hint: 'Rebuild the image (the build target writes the archive again); do not edit archives by hand.',
      cause: opts.cause,
    });
    this.archive = archive;
  }
}

/** The OCI registry refused, failed or could not be reached. */
export class RegistryError extends LabrigError {
  readonly code = 'REGISTRY';
  readonly registry: string;
  constructor(registry: string, problem: string, opts: { hint?: string; cause?: unknown; retryable?: boolean } = {}) {
    super(`registry ${registry}: ${problem}`, {
      hint:
        opts.hint ??
        `Check that the registry answers (\`curl -I http://${registry}/v2/\`; https unless on loopback or tlsVerify is false) and, if it needs a login, that skopeo is logged in (\`skopeo login ${registry}\`).`,
      cause: opts.cause,
      retryable: opts.retryable ?? false,
    });
    this.registry = registry;
  }
}

/** Some hosts did not get their artifacts (see `results`). */
export class DistributeFailed extends LabrigError {
  readonly code = 'DISTRIBUTE_FAILED';
  readonly results: readonly { host: string; error?: unknown }[];
  constructor(results: readonly { host: string; error?: unknown }[]) {
    const failed = results.filter((r) => r.error !== undefined);
    const lines = failed.map((r) => `  ${r.host}: ${r.error instanceof Error ? r.error.message : String(r.error)}`);
    super(`distributing artifacts failed on ${failed.length} of ${results.length} host(s):\n${lines.join('\n')}`, {
      hint: 'Fix the first error shown and run again: hosts that already hold an item are skipped.',
      cause: failed[0]?.error,
    });
    this.results = results;
  }
}
