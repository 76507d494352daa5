/**
 * The one shell-quoting function: argv -> POSIX shell text. Every remote command goes through it.
 * Each argument becomes a single-quoted word ('...'), with embedded single quotes written as '\''.
 * Arguments that are plainly safe are left bare so logs stay readable.
 */
const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

export function quoteArg(arg: string): string {
  if (typeof arg !== 'string') {
    throw new TypeError(`quoteArg: argument must be a string, got ${typeof arg}`);
  }
  if (arg.includes('\0')) {
    throw new TypeError('quoteArg: a shell argument cannot contain a NUL byte');
  }
  if (arg !== '' && SAFE.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** argv -> one shell command line. */
export function quote(argv: readonly string[]): string {
  if (!Array.isArray(argv) || argv.length === 0) {
    throw new TypeError('quote: argv must be a non-empty array of strings');
  }
  return argv.map(quoteArg).join(' ');
}

/**
 * The argv that runs shell text with `sh -c`. `--` ends sh's options, so a script that starts with
 * `-` or `+` (a user's `--cmd='-x ...'`) is the script, not options of sh.
 */
export function shellArgv(script: string): string[] {
  return ['sh', '-c', '--', script];
}
