/** Errors of the testbed: a code to branch on, a message that says what to do, the cause kept. */
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

export class TestbedError extends Error {
  override readonly name = 'TestbedError';
  readonly code: TestbedErrorCode;
  constructor(code: TestbedErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
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
