/** The login user of a connected host (what owns what the steps give to the user). */
import type { Remote } from '@labrig/core';
import { CommandFailed } from '@labrig/core';

export async function loginUserOf(remote: Remote, signal?: AbortSignal): Promise<string> {
  const r = await remote.exec(['id', '-un'], { allowFailure: true, ...(signal ? { signal } : {}) });
  const user = r.stdout.trim();
  if (r.exitCode !== 0 || user === '') throw new CommandFailed(remote.host.name, 'id -un', r);
  return user;
}
