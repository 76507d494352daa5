/**
 * Run a shell command line on this machine in its own process group, so aborting kills
 * everything it started (TERM to the group, KILL after a grace period).
 */
import { spawn } from 'node:child_process';
import { Aborted, CommandFailed } from '../errors.js';
import type { ExecOptions, ExecResult, RunningCommand } from '../contracts.js';

/** Process groups alive right now; killed if the coordinator exits. */
const live = new Set<number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const pgid of live) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  });
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    /* gone */
  }
}

/** The abort reason as an Error (what a step sees when its command is cancelled). */
export function abortError(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new Aborted(typeof r === 'string' ? r : 'cancelled');
}

export interface ShellSpawnOptions extends Omit<ExecOptions, 'cwd' | 'env' | 'pty'> {
  /** Host name for errors. */
  host: string;
  /** What to show as the command in errors. */
  display: string;
  /** Shell used for `-c`. */
  shell: string;
  /** Keep stdin open for write()/end() (spawn) instead of closing it after `stdin` (exec). */
  keepStdinOpen?: boolean;
  /** Time between TERM and KILL when aborted. */
  killGraceMs?: number;
}

export function spawnShell(commandLine: string, opts: ShellSpawnOptions): RunningCommand {
  installExitHook();
  const started = performance.now();
  const child = spawn(opts.shell, ['-c', commandLine], {
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  if (pid !== undefined) live.add(pid);

  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => {
    out.push(c);
    opts.onStdout?.(c);
  });
  child.stderr.on('data', (c: Buffer) => {
    err.push(c);
    opts.onStderr?.(c);
  });
  child.stdin.on('error', () => undefined); // EPIPE when the command does not read its stdin

  if (opts.stdin !== undefined) child.stdin.write(opts.stdin);
  if (!opts.keepStdinOpen) child.stdin.end();

  let killTimer: NodeJS.Timeout | undefined;
  const kill = (sig: NodeJS.Signals = 'SIGTERM'): void => {
    if (pid === undefined || !live.has(pid)) return;
    killGroup(pid, sig);
    if (sig !== 'SIGKILL' && !killTimer) {
      killTimer = setTimeout(() => killGroup(pid, 'SIGKILL'), opts.killGraceMs ?? 2000);
      killTimer.unref();
    }
  };
  const onAbort = (): void => kill('SIGTERM');
  if (opts.signal) {
    if (opts.signal.aborted) queueMicrotask(onAbort);
    else opts.signal.addEventListener('abort', onAbort, { once: true });
  }

  const result = new Promise<ExecResult>((resolve, reject) => {
    child.once('error', (e) => {
      if (pid !== undefined) live.delete(pid);
      reject(e);
    });
    child.once('close', (code, sig) => {
      if (pid !== undefined) live.delete(pid);
      if (killTimer) clearTimeout(killTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      const res: ExecResult = {
        exitCode: code,
        signal: sig,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        durationMs: Math.round(performance.now() - started),
      };
      if (opts.signal?.aborted) return reject(abortError(opts.signal));
      if ((code !== 0 || sig !== null) && !opts.allowFailure) {
        return reject(new CommandFailed(opts.host, opts.display, res));
      }
      resolve(res);
    });
  });

  return {
    write: (data) => {
      child.stdin.write(data);
    },
    drain: () =>
      child.stdin.writableNeedDrain && !child.stdin.destroyed
        ? new Promise<void>((res) => {
            const done = (): void => {
              child.stdin.off('drain', done);
              child.stdin.off('close', done);
              res();
            };
            child.stdin.on('drain', done);
            child.stdin.on('close', done);
          })
        : Promise.resolve(),
    end: () => {
      child.stdin.end();
    },
    kill: (sig) => kill(normalizeSignal(sig)),
    result,
  };
}

function normalizeSignal(sig: string | undefined): NodeJS.Signals {
  if (!sig) return 'SIGTERM';
  const s = sig.toUpperCase();
  return (s.startsWith('SIG') ? s : `SIG${s}`) as NodeJS.Signals;
}
