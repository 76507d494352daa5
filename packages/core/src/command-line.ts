/**
 * argv + cwd + env → the one shell command line a transport runs with `sh -c` (SSH sends it
 * as the exec request; the local runner passes it to `sh -c`), so both behave the same.
 */
import { quote, quoteArg } from './quote.js';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface CommandLineOptions {
  cwd?: string;
  env?: Record<string, string>;
}

/** `cd 'DIR' && env K='V' argv…` with every piece quoted. */
export function formatCommandLine(argv: readonly string[], opts: CommandLineOptions = {}): string {
  let cmd = quote(argv);
  const env = Object.entries(opts.env ?? {});
  if (env.length > 0) {
    for (const [k] of env) {
      if (!ENV_NAME.test(k)) throw new TypeError(`invalid environment variable name ${JSON.stringify(k)}`);
    }
    cmd = `env ${env.map(([k, v]) => `${k}=${quoteArg(v)}`).join(' ')} ${cmd}`;
  }
  if (opts.cwd !== undefined) cmd = `cd ${quoteArg(opts.cwd)} && ${cmd}`;
  return cmd;
}
