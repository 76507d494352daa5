/**
 * Wraps the Remote given to a step so that every command's output also streams (redacted)
 * into the host's step log, under a `$ command line` header and above an exit footer.
 */
import { formatCommandLine } from '../command-line.js';
import { shellArgv } from '../quote.js';
import { formatMs, isLabrigError } from '../errors.js';
import type {
  ExecOptions,
  ExecResult,
  Remote,
  RunningCommand,
  TransferOptions,
  TransferResult,
} from '../contracts.js';
import type { CommandLog, StepLog } from '../journal/host-logs.js';

function footer(r: ExecResult): string {
  const how = r.signal ? `killed by ${r.signal}` : `exit ${r.exitCode}`;
  return `# ${how} (${formatMs(r.durationMs)})`;
}

function failureFooter(e: unknown): string {
  if (isLabrigError(e)) return `# ${e.code}: ${e.message.split('\n')[0]}`;
  return `# error: ${(e as Error)?.message ?? String(e)}`;
}

/** The step's own signal, if any, combined with the attempt's (so a timeout or abort stops the command). */
function withSignal<T extends { signal?: AbortSignal }>(opts: T, signal: AbortSignal | undefined): T {
  if (!signal) return opts;
  return { ...opts, signal: opts.signal ? AbortSignal.any([opts.signal, signal]) : signal };
}

function teeOptions(opts: ExecOptions, cl: CommandLog, signal: AbortSignal | undefined): ExecOptions {
  return {
    ...withSignal(opts, signal),
    onStdout: (c) => {
      if (!opts.secretOutput) cl.stdout(c);
      opts.onStdout?.(c);
    },
    onStderr: (c) => {
      cl.stderr(c);
      opts.onStderr?.(c);
    },
  };
}

function settle<T extends ExecResult>(p: Promise<T>, cl: CommandLog, secretOutput?: boolean): Promise<T> {
  return p.then(
    (r) => {
      cl.end(secretOutput ? `# stdout withheld: it holds a secret (${r.stdout.length} bytes)\n${footer(r)}` : footer(r));
      return r;
    },
    (e: unknown) => {
      cl.end(failureFooter(e));
      throw e;
    },
  );
}

function header(argv: readonly string[], opts: ExecOptions): string {
  try {
    return formatCommandLine(argv, { cwd: opts.cwd, env: opts.env });
  } catch {
    return argv.join(' ');
  }
}

/**
 * `signal` (the attempt's) is passed to every command and transfer that does not bring its own,
 * and combined with one that does: a timed-out or aborted attempt stops its commands.
 */
export function wrapRemote(remote: Remote, log: StepLog, signal?: AbortSignal): Remote {
  const transfer = async (
    what: string,
    f: () => Promise<TransferResult>,
  ): Promise<TransferResult> => {
    log.line(`# ${what}`);
    try {
      const r = await f();
      log.line(r.transferred ? `#   copied ${r.bytes} bytes (sha256 ${r.sha256})` : `#   unchanged (sha256 ${r.sha256})`);
      return r;
    } catch (e) {
      log.line(failureFooter(e));
      throw e;
    }
  };
  const host = remote.host.name;
  return {
    host: remote.host,
    exec(argv, opts = {}) {
      const cl = log.command(header(argv, opts));
      return settle(remote.exec(argv, teeOptions(opts, cl, signal)), cl, opts.secretOutput);
    },
    spawn(argv, opts = {}): RunningCommand {
      const cl = log.command(header(argv, opts));
      const rc = remote.spawn(argv, teeOptions(opts, cl, signal));
      return {
        write: (d) => rc.write(d),
        drain: () => rc.drain(),
        end: () => rc.end(),
        kill: (s) => rc.kill(s),
        result: settle(rc.result, cl),
      };
    },
    shell(script, opts = {}) {
      const cl = log.command(header(shellArgv(script), opts));
      return settle(remote.shell(script, teeOptions(opts, cl, signal)), cl, opts.secretOutput);
    },
    putFile: (l: string, r: string, o?: TransferOptions) =>
      transfer(`put ${l} -> ${host}:${r}`, () => remote.putFile(l, r, withSignal(o ?? {}, signal))),
    putDir: (l: string, r: string, o?: TransferOptions) =>
      transfer(`put dir ${l} -> ${host}:${r}`, () => remote.putDir(l, r, withSignal(o ?? {}, signal))),
    getFile: (r: string, l: string, o?: TransferOptions) =>
      transfer(`get ${host}:${r} -> ${l}`, () => remote.getFile(r, l, withSignal(o ?? {}, signal))),
  };
}
