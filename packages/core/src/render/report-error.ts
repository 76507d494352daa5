/** How every labrig command prints a failure: the message, then the hint (a stack only for bugs). */
import { isLabrigError } from '../errors.js';

export function reportError(err: unknown, write: (line: string) => void = (l) => console.error(l)): { success: false } {
  if (isLabrigError(err)) {
    write(`✖ ${err.message}`);
    write(`  hint: ${err.hint}`);
  } else {
    write(`✖ ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  }
  return { success: false };
}
