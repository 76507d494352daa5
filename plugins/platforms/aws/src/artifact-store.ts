/**
 * The artifact store of an aws platform file: the `[artifacts]` S3 bucket (SigmaOS: the TAG bucket)
 * in its region, and the registry images go to. No credentials are returned: the S3 client finds
 * them through the standard AWS chain (environment, AWS_PROFILE, SSO, instance role), and labrig
 * writes them nowhere.
 */
import type { ArtifactStoreConfig } from '@labrig/core';
import type { AwsPlatformConfig } from './config.js';

export function artifactStoreOf(cfg: AwsPlatformConfig): ArtifactStoreConfig | undefined {
  const a = cfg.artifacts;
  if (!a?.bucket) return undefined;
  const endpoint = cfg.endpoints.s3;
  return {
    s3: {
      bucket: a.bucket,
      region: a.region ?? cfg.region,
      ...(a.prefix !== undefined ? { prefix: a.prefix } : {}),
      // A compatible S3 API server (or a test server) is addressed path-style; AWS S3 virtual-hosted.
      ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    },
    ...(a.registry ? { registry: { address: a.registry, ...(a.registryInsecure ? { insecure: true } : {}) } } : {}),
  };
}
