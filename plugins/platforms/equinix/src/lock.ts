/**
 * One provision or teardown at a time per state directory: two at once would both create the
 * missing devices. The kit's state lock, with this plugin's typed error.
 */
import { withStateLock as withKitStateLock } from '@labrig/platform-kit';
import { StateLocked } from './errors.js';

/** Run `fn` holding the lock of `stateDir`; StateLocked when a live process holds it. */
export function withStateLock<T>(stateDir: string, fn: () => Promise<T>): Promise<T> {
  return withKitStateLock(stateDir, fn, (file, pid) => new StateLocked(file, pid));
}
