import { isLabrigError } from '@labrig/core';

/** Print an error the way every labrig executor does: message, then the hint. Returns Nx's failure. */
export function reportError(err: unknown): { success: false } {
  if (isLabrigError(err)) {
    console.error(`✖ ${err.message}`);
    console.error(`  hint: ${err.hint}`);
  } else {
    console.error(`✖ ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  }
  return { success: false };
}
