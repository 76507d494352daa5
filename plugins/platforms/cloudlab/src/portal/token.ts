/**
 * The Portal API token: from an environment variable or a file, never from the platform file
 * itself, never written and never logged (registered as a secret when read). A token file must
 * not be readable by other users: labrig refuses one that is, naming the file and the fix.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolveFromRoot } from '@labrig/platform-kit';
import { ConfigError, addSecret } from '@labrig/core';
import type { TokenSource } from './client.js';

export interface TokenConfig {
  /** Environment variable holding the token. */
  tokenEnv?: string;
  /** File holding the token (relative to the workspace root, or absolute; `~/` is the home). */
  tokenFile?: string;
}

/** The token and where it came from; a ConfigError naming the field when there is none or the file is unsafe. */
export function readPortalToken(root: string, c: TokenConfig, file: string): { token: string; source: TokenSource } {
  if (c.tokenEnv) {
    const v = process.env[c.tokenEnv]?.trim();
    if (v) {
      addSecret(v);
      return { token: v, source: { env: c.tokenEnv } };
    }
    if (!c.tokenFile) throw new ConfigError(file, 'experiment.tokenEnv', `$${c.tokenEnv} is not set (or empty)`, { hint: `Export the Portal API token from the portal as ${c.tokenEnv}, or set experiment.tokenFile to a file holding it (mode 600).` });
  }
  if (!c.tokenFile) throw new ConfigError(file, 'experiment', 'no token source: set tokenEnv or tokenFile', { hint: 'Portal API tokens are downloaded from the CloudLab portal; name the environment variable (tokenEnv) or the file (tokenFile) that holds yours.' });
  const path = resolveFromRoot(root, c.tokenFile);
  if (!existsSync(path)) throw new ConfigError(file, 'experiment.tokenFile', `${c.tokenFile} does not exist`, { hint: 'Save the token downloaded from the portal there (chmod 600), or point tokenFile at it.' });
  const mode = statSync(path).mode & 0o777;
  if (mode & 0o077) throw new ConfigError(file, 'experiment.tokenFile', `${c.tokenFile} is readable by others (mode ${mode.toString(8).padStart(3, '0')})`, { hint: `chmod 600 ${c.tokenFile}: the token acts as you on the portal.` });
  const token = readFileSync(path, 'utf8').trim();
  if (!token) throw new ConfigError(file, 'experiment.tokenFile', `${c.tokenFile} is empty`, { hint: 'Save the token downloaded from the portal in it.' });
  addSecret(token);
  return { token, source: { file: c.tokenFile } };
}
