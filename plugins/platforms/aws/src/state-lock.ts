/**
 * One provision or teardown at a time per platform folder: two provisions racing would both see
 * an index missing and launch it twice (paid instances). The kit's state lock, with this
 * plugin's typed error.
 */
import { withStateLock as withKitStateLock } from '@labrig/platform-kit';
import { AwsStateLocked } from './errors.js';

/** Run `fn` holding `<stateDir>/lock`; AwsStateLocked when a live process holds it. */
export function withStateLock<T>(stateDir: string, fn: () => Promise<T>): Promise<T> {
  return withKitStateLock(stateDir, fn, (file, pid) => new AwsStateLocked(file, pid));
}
