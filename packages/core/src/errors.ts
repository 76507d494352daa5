/**
 * Typed errors. Each has a `code`, a `hint` (what the user should do) and keeps `cause`.
 * Known failures become one of these; anything else is wrapped as-is by the engine.
 */
export abstract class LabrigError extends Error {
  abstract readonly code: string;
  readonly hint: string;
  /** Whether the engine may retry the failed step. */
  readonly retryable: boolean;

  constructor(message: string, opts: { hint: string; cause?: unknown; retryable?: boolean }) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.hint = opts.hint;
    this.retryable = opts.retryable ?? false;
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, hint: this.hint };
  }
}

/** A config file is invalid. Names the file, the field path and what is expected. */
export class ConfigError extends LabrigError {
  readonly code = 'CONFIG';
  readonly file: string;
  readonly field: string;
  /** What is wrong, without the file and field. */
  readonly problem: string;
  /** 1-based position in the file, when known (TOML syntax errors). */
  readonly line?: number;
  readonly column?: number;
  constructor(
    file: string,
    field: string,
    problem: string,
    opts: { hint?: string; cause?: unknown; line?: number; column?: number; detail?: string } = {},
  ) {
    const where =
      opts.line !== undefined
        ? `${file}:${opts.line}${opts.column !== undefined ? `:${opts.column}` : ''}${field === '' ? '' : `: ${field}`}`
        : `${file}: ${field === '' ? '(top level)' : field}`;
    super(`${where}: ${problem}${opts.detail ? `\n${opts.detail}` : ''}`, {
      hint: opts.hint ?? `Fix ${field === '' ? 'the file' : `\`${field}\``} in ${file} and run again.`,
      cause: opts.cause,
    });
    this.file = file;
    this.field = field;
    this.problem = problem;
    if (opts.line !== undefined) this.line = opts.line;
    if (opts.column !== undefined) this.column = opts.column;
  }
}

/** An option given on the command line (or in a target's options) is invalid. */
export class OptionError extends LabrigError {
  readonly code = 'OPTION';
  readonly option: string;
  constructor(option: string, value: unknown, expected: string) {
    super(`option --${option}: ${value === undefined ? 'not given' : `got ${JSON.stringify(value)}`}, expected ${expected}`, {
      hint: `Pass --${option} as ${expected}.`,
    });
    this.option = option;
  }
}

export class HostUnreachable extends LabrigError {
  readonly code = 'UNREACHABLE';
  readonly host: string;
  constructor(host: string, address: string, reason: string, opts: { cause?: unknown } = {}) {
    super(`${host} (${address}) is unreachable: ${reason}`, {
      hint: `Check that ${address} is up and its SSH port answers (ssh -v ${address}); for testbed hosts run \`tools/testbed status\`.`,
      cause: opts.cause,
      retryable: true,
    });
    this.host = host;
  }
}

export class HostKeyMismatch extends LabrigError {
  readonly code = 'HOST_KEY_MISMATCH';
  readonly host: string;
  readonly knownHostsFile: string;
  constructor(host: string, hostKeyName: string, knownHostsFile: string, expected: string, got: string) {
    super(`host key of ${host} (${hostKeyName}) changed: expected ${expected}, got ${got}`, {
      hint: `If the host was reinstalled on purpose, remove the line for ${hostKeyName} from ${knownHostsFile}; otherwise someone may be intercepting the connection.`,
    });
    this.host = host;
    this.knownHostsFile = knownHostsFile;
  }
}

/** Under the `strict` host key policy, a host whose key is not in known_hosts. */
export class HostKeyUnknown extends LabrigError {
  readonly code = 'HOST_KEY_UNKNOWN';
  readonly host: string;
  readonly knownHostsFile: string;
  constructor(host: string, hostKeyName: string, knownHostsFile: string, got: string) {
    super(`host key of ${host} (${hostKeyName}) is not known (${got}) and the host key policy is strict`, {
      hint: `Add the host's key to ${knownHostsFile} (e.g. ssh-keyscan), or use the accept-new policy.`,
    });
    this.host = host;
    this.knownHostsFile = knownHostsFile;
  }
}

export class AuthFailed extends LabrigError {
  readonly code = 'AUTH_FAILED';
  readonly host: string;
  constructor(host: string, user: string, tried: string[], opts: { cause?: unknown } = {}) {
    super(`authentication as ${user} on ${host} failed (tried: ${tried.length ? tried.join(', ') : 'nothing'})`, {
      hint: `Check the user and identity file for ${host} (inventory, ~/.ssh/config) and that the public key is in ~${user}/.ssh/authorized_keys; an ssh-agent is used when SSH_AUTH_SOCK is set.`,
      cause: opts.cause,
    });
    this.host = host;
  }
}

export class CommandFailed extends LabrigError {
  readonly code = 'COMMAND_FAILED';
  readonly host: string;
  readonly command: string;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stderrTail: string;
  constructor(
    host: string,
    command: string,
    result: { exitCode: number | null; signal: string | null; stderr: string },
    opts: { hint?: string } = {},
  ) {
    const how = result.signal ? `was killed by ${result.signal}` : `exited with ${result.exitCode}`;
    const tail = lastLines(result.stderr, 5);
    super(`on ${host}: \`${truncate(command, 200)}\` ${how}${tail ? `: ${tail}` : ''}`, {
      hint: opts.hint ?? `See the host's log file for the full output; run the command by hand on ${host} to investigate.`,
    });
    this.host = host;
    this.command = command;
    this.exitCode = result.exitCode;
    this.signal = result.signal;
    this.stderrTail = tail;
  }
}

/** A copied file or tree does not have the digest it should have after the transfer. */
export class TransferVerifyFailed extends LabrigError {
  readonly code = 'TRANSFER_VERIFY';
  readonly host: string;
  constructor(host: string, what: string, expected: string, got: string) {
    super(`on ${host}: ${what}: sha256 after transfer is ${got || '(none)'}, expected ${expected}`, {
      hint: 'The copy was corrupted or changed while being written; the step can be retried.',
      retryable: true,
    });
    this.host = host;
  }
}

export class StepTimeout extends LabrigError {
  readonly code = 'TIMEOUT';
  readonly host: string;
  readonly step: string;
  readonly timeoutMs: number;
  constructor(host: string, step: string, timeoutMs: number, opts: { message?: string; hint?: string; retryable?: boolean } = {}) {
    super(opts.message ?? `step ${step} on ${host} did not finish within ${formatMs(timeoutMs)}`, {
      hint: opts.hint ?? `The host may be hung or slow; raise the step's timeout if the work is legitimately long.`,
      retryable: opts.retryable ?? true,
    });
    this.host = host;
    this.step = step;
    this.timeoutMs = timeoutMs;
  }
}

/** A feature the transport cannot provide (e.g. a pty on the local runner). */
export class Unsupported extends LabrigError {
  readonly code = 'UNSUPPORTED';
  constructor(what: string, where: string, hint: string) {
    super(`${what} is not supported by ${where}`, { hint });
  }
}

/** Run stopped by the user (Ctrl-C) or by fail-fast. */
export class Aborted extends LabrigError {
  readonly code = 'ABORTED';
  constructor(reason: string) {
    super(`aborted: ${reason}`, { hint: 'Run the same command again: steps already done are skipped.' });
  }
}

export function isLabrigError(e: unknown): e is LabrigError {
  return e instanceof LabrigError;
}

export function lastLines(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}

function truncate(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}

export function formatMs(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} s`;
}
