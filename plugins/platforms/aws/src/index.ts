/**
 * @labrig/platform-aws — the `aws` platform: EC2 instances provisioned with the AWS SDK (tagged
 * with their deployment, named `<prefix>-<index>`), found by tag or VPC, reached over SSH; an S3
 * bucket as the artifact store. Its default export is the Platform object core loads for
 * `platform = "@labrig/platform-aws"`; as an Nx plugin (`@labrig/platform-aws/nx`) each such
 * platform file becomes a project with the kit's targets (hosts, exec, provision, teardown, prepare).
 */
export { awsPlatform, createAwsPlatform, type AwsPlatformOptions } from './platform.js';
export { configSchema, type AwsPlatformConfig, type InstancesSection } from './config.js';
export {
  AwsApiError,
  AwsAuthError,
  AwsConflict,
  AwsInstanceFailed,
  AwsLimitError,
  AwsNotFoundError,
  AwsNotProvisioned,
  AwsStateLocked,
  AwsUnreachableError,
  AwsWaitTimeout,
} from './errors.js';
export { DEPLOYMENT_TAG, INDEX_TAG } from './naming.js';
export { awsPlatform as default } from './platform.js';
