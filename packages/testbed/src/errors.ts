/** Errors of the testbed: LabrigErrors with a code to branch on, a hint that says what to do, the cause kept. */
import { LabrigError } from '@labrig/core';

export type TestbedErrorCode =
  | 'NOT_UP'
  | 'BAD_OPTION'
  | 'BAD_STATE'
  | 'UNKNOWN_HOST'
  | 'USER'
  | 'KEYGEN'
  | 'SSHD_START'
  | 'SSHD_STOP'
  | 'NETNS'
  | 'TIMEOUT'
  | 'PERMISSION';

/** What to do about each kind of failure, unless the place that throws knows better. */
const DEFAULT_HINTS: Record<TestbedErrorCode, string> = {
  NOT_UP: 'Start it with `npx nx run local:up` or `tools/testbed up`.',
  BAD_OPTION: 'Fix the option and run again; `tools/testbed --help` lists the options.',
  BAD_STATE: 'Tear the testbed down with `tools/testbed down` (add `--dir DIR` for another testbed) and start it again.',
  UNKNOWN_HOST: '`tools/testbed status` lists the hosts of the testbed.',
  USER: 'The testbed adds and removes unix users: run it as root, with the passwd package installed (`apt-get install -y passwd`).',
  KEYGEN: 'ssh-keygen comes with the Debian package openssh-client: `apt-get install -y openssh-client`.',
  SSHD_START:
    'sshd comes with the Debian package openssh-server (`apt-get install -y openssh-server`); check that nothing else listens on the address and port.',
  SSHD_STOP: 'Stop it by its pid (pid file in the testbed dir), then run `tools/testbed down` again.',
  NETNS: 'Network namespaces need root and the Debian package iproute2: `apt-get install -y iproute2`.',
  TIMEOUT: 'Run again; if it keeps timing out, look at the logs in the testbed dir.',
  PERMISSION: 'Make every directory above the testbed dir searchable by other users (`chmod o+x DIR`), or choose another --dir.',
};

export class TestbedError extends LabrigError {
  readonly code: TestbedErrorCode;
  constructor(code: TestbedErrorCode, message: string, options: { hint?: string; cause?: unknown; retryable?: boolean } = {}) {
    super(message, { ...options, hint: options.hint ?? DEFAULT_HINTS[code] });
    this.code = code;
  }
}

/** Short text of an unknown thrown value (stderr of a failed command when there is one). */
export function describeError(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { stderr?: unknown; shortMessage?: unknown; message?: unknown };
    const stderr = typeof e.stderr === 'string' ? e.stderr.trim() : '';
    const msg = typeof e.shortMessage === 'string' ? e.shortMessage : typeof e.message === 'string' ? e.message : String(err);
    return stderr ? `${msg}: ${stderr}` : msg;
  }
  return String(err);
}
