/**
 * argv + cwd + env → the one shell command line a transport runs (SSH sends it as the exec
 * request; the local runner passes it to `sh -c`), so both behave the same.
 */
import { quote, quoteArg } from './quote.js';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Shell builtins that cannot be `exec`ed (they only exist inside a shell). */
const SHELL_BUILTINS = new Set([
  'cd', 'export', '.', 'source', 'set', 'unset', 'ulimit', 'umask', 'alias', 'eval', 'exit', 'return', 'trap', 'wait',
  'shift', 'read', 'readonly', 'exec', 'command', 'type', 'hash', 'times', 'jobs', 'fg', 'bg', 'getopts', 'local',
]);

export interface CommandLineOptions {
  cwd?: string;
  env?: Record<string, string>;
}

/**
 * `cd DIR && exec env K=V ... argv`, every value quoted. `exec` makes the command replace the
 * shell, so signals sent to it and the exit signal it reports concern the command itself
 * (a login shell such as dash would otherwise report 137 instead of SIGKILL).
 */
export function formatCommandLine(argv: readonly string[], opts: CommandLineOptions = {}): string {
  const env = Object.entries(opts.env ?? {});
  for (const [k] of env) {
    if (!ENV_NAME.test(k)) throw new TypeError(`invalid environment variable name ${JSON.stringify(k)}`);
  }
  const words = env.length > 0 ? ['env', ...env.map(([k, v]) => `${k}=${v}`), ...argv] : [...argv];
  const first = words[0];
  const cmd = first !== undefined && !SHELL_BUILTINS.has(first) && !first.includes('=') ? `exec ${quote(words)}` : quote(words);
  return opts.cwd !== undefined ? `cd ${quoteArg(opts.cwd)} && ${cmd}` : cmd;
}
