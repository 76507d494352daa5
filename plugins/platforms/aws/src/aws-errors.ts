/**
 * AWS SDK errors -> the platform's typed errors. The SDK names a service error by AWS's code
 * (`err.name`), with `$metadata` (HTTP status, request id); client-side failures (no credentials,
 * refused connection, timeout) have other names or Node error codes. Hints name the config field
 * to check where one is involved.
 */
import { AwsApiError, AwsAuthError, AwsLimitError, AwsNotFoundError, AwsUnreachableError, type AwsErrorDetails } from './errors.js';

/** Where a call was made, for hints. */
export interface CallSite {
  operation: string;
  /** The platform file (relative to the workspace). */
  file: string;
  region: string;
  profile?: string;
}

interface SdkErrorShape {
  name?: string;
  message?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number; requestId?: string };
  $retryable?: unknown;
}

const AUTH = new Set([
  'AuthFailure',
  'UnauthorizedOperation',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'RequestExpired',
  'AccessDenied',
  'OptInRequired',
  'CredentialsProviderError',
  'TokenProviderError',
]);

const LIMITS: Record<string, string> = {
  InstanceLimitExceeded: 'the account is at its instance limit in this region',
  VcpuLimitExceeded: 'the account is at its vCPU limit for this instance family in this region',
  InsufficientInstanceCapacity: 'AWS has no capacity for this instance type in this availability zone right now',
  RequestLimitExceeded: 'the API request rate limit was hit',
  MaxSpotInstanceCountExceeded: 'the account is at its Spot instance limit',
};

/** Not-found codes and the config field naming the missing thing. */
const NOT_FOUND: Record<string, { what: string; field: string }> = {
  'InvalidAMIID.NotFound': { what: 'AMI', field: 'instances.imageId' },
  'InvalidAMIID.Malformed': { what: 'AMI', field: 'instances.imageId' },
  'InvalidAMIID.Unavailable': { what: 'AMI', field: 'instances.imageId' },
  'InvalidSubnetID.NotFound': { what: 'subnet', field: 'instances.subnetId' },
  'InvalidGroup.NotFound': { what: 'security group', field: 'instances.securityGroupIds' },
  'InvalidGroupId.Malformed': { what: 'security group', field: 'instances.securityGroupIds' },
  'InvalidKeyPair.NotFound': { what: 'key pair', field: 'instances.keyName' },
  'InvalidLaunchTemplateName.NotFoundException': { what: 'launch template', field: 'instances.launchTemplate' },
  'InvalidLaunchTemplateId.NotFound': { what: 'launch template', field: 'instances.launchTemplate' },
  'InvalidLaunchTemplateId.VersionNotFound': { what: 'launch template version', field: 'instances.launchTemplate.version' },
  'InvalidVpcID.NotFound': { what: 'VPC', field: 'inventory.vpcId' },
};

const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'TimeoutError', 'RequestTimeout']);

/** The typed error for an SDK failure of `site.operation`. */
export function toAwsError(err: unknown, site: CallSite): AwsApiError {
  const e = (err ?? {}) as SdkErrorShape;
  const awsCode = e.name && e.name !== 'Error' ? e.name : (e.code ?? 'Error');
  const message = (e.message ?? String(err)).split('\n')[0] ?? '';
  const d = (hint: string, retryable = false): AwsErrorDetails => ({
    operation: site.operation,
    awsCode,
    ...(e.$metadata?.requestId ? { requestId: e.$metadata.requestId } : {}),
    hint,
    cause: err,
    retryable,
  });
  const who = site.profile ? `profile "${site.profile}" (set in ${site.file})` : 'the standard chain (AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, SSO, instance role)';

  if (AUTH.has(awsCode)) {
    const hint =
      awsCode === 'UnauthorizedOperation' || awsCode === 'AccessDenied'
        ? `The credentials work but may not call ${site.operation}: the IAM policy needs ec2:RunInstances, ec2:DescribeInstances, ec2:TerminateInstances and ec2:CreateTags (with RunInstances' tags).`
        : awsCode === 'OptInRequired'
          ? `Region ${site.region} is not enabled for this account (enable it in the account settings, or change \`region\` in ${site.file}).`
          : `Check the AWS credentials labrig finds through ${who}: run \`aws sts get-caller-identity${site.profile ? ` --profile ${site.profile}` : ''}\`; SSO sessions expire (aws sso login).`;
    return new AwsAuthError(message, d(hint));
  }
  const limit = LIMITS[awsCode];
  if (limit) {
    const hint =
      awsCode === 'InsufficientInstanceCapacity'
        ? `Try again later, another subnet (availability zone) via \`instances.subnetId\`, or another \`instances.instanceType\` in ${site.file}.`
        : awsCode === 'RequestLimitExceeded'
          ? 'Run again in a minute: what was created is in the state, and provision only creates what is missing.'
          : `Ask for a higher quota (Service Quotas console, region ${site.region}) or lower \`instances.count\` in ${site.file}; what was created so far is kept in the state (teardown releases it).`;
    return new AwsLimitError(`${limit}: ${message}`, d(hint, awsCode === 'RequestLimitExceeded'));
  }
  const nf = NOT_FOUND[awsCode];
  if (nf) {
    return new AwsNotFoundError(message, {
      ...d(`Check \`${nf.field}\` in ${site.file}: the ${nf.what} must exist in region ${site.region} (ids are per region) and be visible to this account.`),
      field: nf.field,
    });
  }
  if (NETWORK.has(awsCode) || NETWORK.has(e.code ?? '')) {
    return new AwsUnreachableError(
      `the EC2 API could not be reached: ${message}`,
      d(`Check the network to the EC2 endpoint of ${site.region}${site.file ? ` (or \`endpoints.ec2\` in ${site.file})` : ''}; run again: what was created is in the state.`, true),
    );
  }
  return new AwsApiError(
    message,
    d(`AWS refused ${site.operation}; see the message and AWS's documentation of ${awsCode}. Fix ${site.file} if a value in it is the cause.`, e.$retryable !== undefined),
  );
}
