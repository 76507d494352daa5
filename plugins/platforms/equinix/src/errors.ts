/**
 * What goes wrong with Equinix Metal, as typed labrig errors: each says what happened, names the
 * request or device, gives a hint, and keeps its `cause`. None ever holds the API token.
 */
import { LabrigError, formatMs } from '@labrig/core';

/** The API token's environment variable is not set (or empty). */
export class MetalTokenMissing extends LabrigError {
  readonly code = 'METAL_TOKEN_MISSING';
  readonly variable: string;
  constructor(variable: string, configFile?: string) {
    super(`the Equinix Metal API token is missing: environment variable ${variable} is not set`, {
      hint: `Export ${variable} with an API token of the project (console: Personal API keys)${configFile ? `, or name another variable with \`tokenEnv\` in ${configFile}` : ''}.`,
    });
    this.variable = variable;
  }
}

/** The API answered a request with an error status that retrying cannot fix (4xx other than 429). */
export class MetalApiError extends LabrigError {
  readonly code = 'METAL_API';
  readonly status: number;
  readonly method: string;
  readonly path: string;
  /** The API's own message (its `errors` / `error` field), or the status text. */
  readonly apiMessage: string;
  constructor(method: string, path: string, status: number, apiMessage: string, opts: { tokenEnv: string; what?: string; cause?: unknown }) {
    super(`${opts.what ? `${opts.what}: ` : ''}Equinix Metal API ${method} ${path} answered ${status}: ${apiMessage}`, {
      hint: hintFor(status, opts.tokenEnv),
      cause: opts.cause,
    });
    this.status = status;
    this.method = method;
    this.path = path;
    this.apiMessage = apiMessage;
  }
}

function hintFor(status: number, tokenEnv: string): string {
  if (status === 401) return `The API did not accept the token in ${tokenEnv}: check that it is a valid, unexpired API key.`;
  if (status === 403) return `The token in ${tokenEnv} has no access to this: use a key of a member of the project (read/write for provision and teardown).`;
  if (status === 404) return 'Check `project` (the project id) and `apiUrl` in the platform file.';
  if (status === 422) return 'The API rejected the request: check plan, metro and operatingSystem in [devices] (the plan may be out of stock in that metro).';
  return 'See the API message above.';
}

/** A request still failed (rate limited, 5xx or network error) after every allowed attempt. */
export class MetalUnavailable extends LabrigError {
  readonly code = 'METAL_UNAVAILABLE';
  readonly method: string;
  readonly path: string;
  readonly attempts: number;
  constructor(method: string, path: string, attempts: number, last: string, opts: { cause?: unknown } = {}) {
    super(`Equinix Metal API ${method} ${path} still failed after ${attempts} attempt(s): ${last}`, {
      hint: 'The API is overloaded or unreachable; run the same command again later (what was done is kept), or raise [retry] attempts.',
      cause: opts.cause,
      retryable: true,
    });
    this.method = method;
    this.path = path;
    this.attempts = attempts;
  }
}

/** Devices did not reach `active` (or lost it) in time, or ended in state `failed`. */
export class DevicesNotActive extends LabrigError {
  readonly code = 'METAL_DEVICES_NOT_ACTIVE';
  /** hostname -> last state seen. */
  readonly states: Record<string, string>;
  constructor(reason: string, states: Record<string, string>, opts: { timeoutMs?: number; stateFile: string }) {
    const list = Object.entries(states)
      .map(([h, s]) => `${h} (${s})`)
      .join(', ');
    super(`${reason}${opts.timeoutMs !== undefined ? ` within ${formatMs(opts.timeoutMs)}` : ''}: ${list}`, {
      hint: `The devices created so far are recorded in ${opts.stateFile}: run provision again to keep waiting (nothing is created twice), or teardown to delete them. Raise [wait] active if the plan is just slow.`,
    });
    this.states = states;
  }
}

/** SSH did not answer on active devices in time. */
export class SshNotReady extends LabrigError {
  readonly code = 'METAL_SSH_NOT_READY';
  readonly hosts: string[];
  constructor(failures: Record<string, string>, timeoutMs: number, opts: { cause?: unknown } = {}) {
    super(
      `SSH did not answer within ${formatMs(timeoutMs)} on ${Object.entries(failures)
        .map(([h, why]) => `${h} (${why})`)
        .join(', ')}`,
      {
        hint: 'Check the SSH keys of the project (they are installed at provisioning), the login user and port in [login], and that this machine reaches the addresses; raise [wait] ssh when the OS is slow to boot.',
        cause: opts.cause,
        retryable: true,
      },
    );
    this.hosts = Object.keys(failures);
  }
}

/** Teardown could not delete some devices (they stay in the state file for the next try). */
export class TeardownIncomplete extends LabrigError {
  readonly code = 'METAL_TEARDOWN_INCOMPLETE';
  readonly remaining: string[];
  constructor(problems: string[], remaining: string[], opts: { stateFile: string; cause?: unknown }) {
    super(`teardown left ${remaining.length} device(s): ${problems.join('; ')}`, {
      hint: `They stay recorded in ${opts.stateFile}: fix the cause and run teardown again (devices already deleted are skipped).`,
      cause: opts.cause,
    });
    this.remaining = remaining;
  }
}

/** The state directory holds devices of another project or deployment than the platform file names. */
export class StateMismatch extends LabrigError {
  readonly code = 'METAL_STATE_MISMATCH';
  constructor(stateFile: string, recorded: string, configured: string) {
    super(`${stateFile} records devices of ${recorded}, but the platform file names ${configured}`, {
      hint: 'Run teardown with the platform file that created them first (or put the old values back), then provision again.',
    });
  }
}

/** Two live devices of the deployment share a hostname: the inventory would be ambiguous. */
export class DuplicateHostname extends LabrigError {
  readonly code = 'METAL_DUPLICATE_HOSTNAME';
  constructor(hostname: string, ids: string[], deployment: string) {
    super(`deployment ${deployment} has ${ids.length} devices named ${hostname} (ids ${ids.join(', ')})`, {
      hint: `Delete the extra device in the Metal console (or remove the deployment tag from it), then run again.`,
    });
  }
}

/** The state file exists but cannot be read as labrig's device list. */
export class StateUnreadable extends LabrigError {
  readonly code = 'METAL_STATE_UNREADABLE';
  constructor(stateFile: string, reason: string, opts: { cause?: unknown } = {}) {
    super(`${stateFile} cannot be read: ${reason}`, {
      hint: `It lists the devices provision created (ids, hostnames): repair it from the Metal console, or move it away if those devices are already deleted.`,
      cause: opts.cause,
    });
  }
}

/** Another provision or teardown of this platform runs in this workspace (it holds the lock). */
export class StateLocked extends LabrigError {
  readonly code = 'METAL_STATE_LOCKED';
  constructor(lockFile: string, pid: number) {
    super(`another provision or teardown (pid ${pid}) is working on this deployment (${lockFile})`, {
      hint: `Wait for it to finish; if no such process runs, remove ${lockFile}.`,
    });
  }
}
