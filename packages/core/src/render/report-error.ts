/** How every labrig command prints a failure: the message, then the hint (a stack only for bugs). */
import { isLabrigError } from '../errors.js';
import { redactSecrets } from '../secrets.js';

/** Every line is redacted (the process-wide secret registry) before it is written. */
export function reportError(err: unknown, writeLine: (line: string) => void = (l) => console.error(l)): { success: false } {
  const write = (line: string): void => writeLine(redactSecrets(line));
  if (isLabrigError(err)) {
    write(`✖ ${err.message}`);
    write(`  hint: ${err.hint}`);
  } else {
    write(`✖ ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  }
  return { success: false };
}
