/**
 * @labrig/artifacts: the content-addressed S3 store, reproducible OCI images (buildah) and their
 * push to a registry (skopeo), distribution of files onto hosts, and the artifact manifest.
 */
export * from './errors.js';
export {
  S3Store,
  mapS3Error,
  sha256FromKey,
  PART_SIZE,
  QUEUE_SIZE,
  MAX_PRESIGN_SECONDS,
  type S3StoreOptions,
  type PutFileOptions,
  type PutFileResult,
} from './s3-store.js';
export {
  buildImage,
  pushImage,
  isLoopbackRegistry,
  type BuildImageOptions,
  type BuildImageResult,
  type ImageFile,
  type PushImageOptions,
  type PushImageResult,
} from './image.js';
export { readOciArchive, OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST, type OciArchiveInfo } from './oci-archive.js';
export {
  fetchFromStore,
  copyToHost,
  distribute,
  remoteSha256,
  redactUrl,
  type FetchFromStoreOptions,
  type CopyToHostOptions,
  type DistributeItem,
  type DistributeOptions,
  type HostDistribution,
} from './distribute.js';
export {
  manifestPath,
  readManifest,
  writeManifest,
  validateManifest,
  manifestDigest,
  canonicalJson,
  MANIFEST_FILE,
  type ArtifactManifest,
  type ArtifactFile,
  type ArtifactImage,
} from './manifest.js';
