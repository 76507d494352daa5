/** SDK failures -> typed errors with a hint naming the file, field, region or profile to check. */
import { describe, expect, it } from 'vitest';
import { toAwsError } from './aws-errors.js';
import { AwsApiError, AwsAuthError, AwsLimitError, AwsNotFoundError, AwsUnreachableError } from './errors.js';

const site = { operation: 'RunInstances', file: 'configs/platforms/aws/platform.toml', region: 'eu-west-1' };
/** An error shaped as the SDK throws a service error. */
const service = (name: string, message: string, status = 400) => Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status, requestId: 'req-1' } });

describe('AWS errors', () => {
  it('maps auth, limits, unknown resources, network and the rest to typed errors keeping the cause', () => {
    const cause = service('AuthFailure', 'AWS was not able to validate the provided access credentials', 401);
    const auth = toAwsError(cause, { ...site, profile: 'research' });
    expect(auth).toBeInstanceOf(AwsAuthError);
    expect(auth.cause).toBe(cause);
    expect(auth.message).toBe('RunInstances: AWS was not able to validate the provided access credentials (AuthFailure, request req-1)');
    expect(auth.hint).toContain('aws sts get-caller-identity --profile research');
    expect(toAwsError(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }), site)).toBeInstanceOf(AwsAuthError);
    expect(toAwsError(service('UnauthorizedOperation', 'You are not authorized'), site).hint).toContain('ec2:RunInstances');

    const vcpu = toAwsError(service('VcpuLimitExceeded', 'You have requested more vCPU capacity than your current vCPU limit of 32 allows'), site);
    expect(vcpu).toBeInstanceOf(AwsLimitError);
    expect(vcpu.hint).toContain('Service Quotas');
    expect(toAwsError(service('InsufficientInstanceCapacity', 'no capacity', 500), site).hint).toContain('instances.subnetId');

    const ami = toAwsError(service('InvalidAMIID.NotFound', "The image id '[ami-0123456789abcdef0]' does not exist"), site);
    expect(ami).toBeInstanceOf(AwsNotFoundError);
    expect((ami as AwsNotFoundError).field).toBe('instances.imageId');
    expect(ami.hint).toBe('Check `instances.imageId` in configs/platforms/aws/platform.toml: the AMI must exist in region eu-west-1 (ids are per region) and be visible to this account.');

    const net = toAwsError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }), site);
    expect(net).toBeInstanceOf(AwsUnreachableError);
    expect(net.retryable).toBe(true);

    const other = toAwsError(service('InvalidParameterCombination', 'no'), site);
    expect(other.constructor).toBe(AwsApiError);
    expect(other.code).toBe('AWS_API');
    expect(other.awsCode).toBe('InvalidParameterCombination');
  });
});
