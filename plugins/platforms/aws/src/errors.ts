/**
 * Typed errors of the aws platform. An AWS API failure becomes one of the AwsApiError kinds (each
 * with the operation, AWS's error code and request id, a hint saying what to do, and the SDK error
 * as `cause`); waiting that runs out of time and state that does not fit the config have their own.
 */
import { LabrigError, formatMs } from '@labrig/core';

/** What an AWS API error carries besides its message. */
export interface AwsErrorDetails {
  /** The API operation, e.g. `RunInstances`. */
  operation: string;
  /** AWS's error code (`InvalidAMIID.NotFound`), or the client-side error name. */
  awsCode: string;
  requestId?: string;
  hint: string;
  cause: unknown;
  retryable?: boolean;
}

/** An AWS API call failed. Subclasses name the kind; this class itself is "anything else". */
export class AwsApiError extends LabrigError {
  readonly code: string = 'AWS_API';
  readonly operation: string;
  readonly awsCode: string;
  readonly requestId: string | undefined;
  constructor(message: string, d: AwsErrorDetails) {
    super(`${d.operation}: ${message}${d.awsCode ? ` (${d.awsCode}${d.requestId ? `, request ${d.requestId}` : ''})` : ''}`, {
      hint: d.hint,
      cause: d.cause,
      retryable: d.retryable ?? false,
    });
    this.operation = d.operation;
    this.awsCode = d.awsCode;
    this.requestId = d.requestId;
  }
}

/** No credentials, wrong or expired ones, or an identity not allowed to do this. */
export class AwsAuthError extends AwsApiError {
  override readonly code = 'AWS_AUTH';
}

/** An account limit (vCPUs, instances, request rate) or no capacity for the instance type. */
export class AwsLimitError extends AwsApiError {
  override readonly code = 'AWS_LIMIT';
}

/** A resource the config names does not exist in the region (AMI, subnet, security group, key pair, launch template). */
export class AwsNotFoundError extends AwsApiError {
  override readonly code = 'AWS_NOT_FOUND';
  /** The config field that names it, when known (`instances.imageId`). */
  readonly field: string | undefined;
  constructor(message: string, d: AwsErrorDetails & { field?: string }) {
    super(message, d);
    this.field = d.field;
  }
}

/** The API endpoint could not be reached (network, DNS, timeout). */
export class AwsUnreachableError extends AwsApiError {
  override readonly code = 'AWS_UNREACHABLE';
}

/** Instances did not reach a state in time (running, SSH answering, terminated). */
export class AwsWaitTimeout extends LabrigError {
  readonly code = 'AWS_WAIT_TIMEOUT';
  /** What was waited for, e.g. `running`. */
  readonly waitedFor: string;
  /** `name (instance id): last seen state` of each instance that was not there yet. */
  readonly pending: string[];
  constructor(waitedFor: string, timeoutMs: number, pending: string[], hint: string) {
    super(`instances not ${waitedFor} within ${formatMs(timeoutMs)}: ${pending.join(', ')}`, { hint });
    this.waitedFor = waitedFor;
    this.pending = pending;
  }
}

/** An instance this platform launched ended (terminated or stopped) while it was being waited for. */
export class AwsInstanceFailed extends LabrigError {
  readonly code = 'AWS_INSTANCE_FAILED';
  readonly instanceId: string;
  constructor(name: string, instanceId: string, state: string, reason: string | undefined, stateDir: string) {
    super(`${name} (${instanceId}) is ${state}${reason ? `: ${reason}` : ''}`, {
      hint: `Look at the instance in the EC2 console (state reason, system log); run teardown to release what was created (state in ${stateDir}), then provision again.`,
    });
    this.instanceId = instanceId;
  }
}

/** The recorded state, the config and the instances found disagree in a way labrig will not resolve alone. */
export class AwsConflict extends LabrigError {
  readonly code = 'AWS_CONFLICT';
  constructor(message: string, hint: string) {
    super(message, { hint });
  }
}

/** Inventory by tag before anything was provisioned, with no deployment id in the config. */
export class AwsNotProvisioned extends LabrigError {
  readonly code = 'AWS_NOT_PROVISIONED';
  constructor(file: string, stateDir: string) {
    super(`no deployment to list: ${file} sets no \`deployment\` and ${stateDir} holds no provisioned state`, {
      hint: `Run the provision target first, set \`deployment\` in ${file} to an existing deployment's id, or use [inventory] by = "vpc".`,
    });
  }
}

/** Another provision or teardown of the same platform folder is running. */
export class AwsStateLocked extends LabrigError {
  readonly code = 'AWS_STATE_LOCKED';
  constructor(lockFile: string, pid: number) {
    super(`another provision or teardown (pid ${pid}) holds ${lockFile}`, {
      hint: `Wait for it to finish; if process ${pid} is gone, remove ${lockFile}.`,
    });
  }
}
