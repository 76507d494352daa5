/**
 * A local command whose output streams live to this process's stdout and stderr, through their
 * `write` (so the output redaction of ../output.ts sees it), instead of inheriting the file
 * descriptors (which would pass secrets straight to the terminal and to Nx). The child's stdout
 * and stderr are pipes, not a TTY: a program that colours or draws progress only on a terminal
 * prints plainly.
 */
import { spawn } from 'node:child_process';

export interface RunStreamedOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** The child's stdin. Default `inherit`. */
  stdin?: 'inherit' | 'ignore';
  /** Where the child's stdout goes. Default process.stdout. */
  stdout?: NodeJS.WritableStream;
  /** Where the child's stderr goes. Default process.stderr. */
  stderr?: NodeJS.WritableStream;
}

export interface RunStreamedResult {
  /** null when killed by a signal or when it could not start. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Why it could not start (ENOENT, EACCES). */
  error?: Error;
}

/** Run `file args` and resolve when it exited and its output was written; never rejects. */
export function runStreamed(file: string, args: readonly string[], o: RunStreamedOptions = {}): Promise<RunStreamedResult> {
  const out = o.stdout ?? process.stdout;
  const err = o.stderr ?? process.stderr;
  return new Promise((resolve) => {
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(file, [...args], { cwd: o.cwd, env: o.env ?? process.env, stdio: [o.stdin ?? 'inherit', 'pipe', 'pipe'] });
    } catch (e) {
      resolve({ exitCode: null, signal: null, error: e instanceof Error ? e : new Error(String(e)) });
      return;
    }
    const forward = (from: NodeJS.ReadableStream | null, to: NodeJS.WritableStream): void => {
      from?.on('data', (chunk: Buffer) => {
        if (!to.write(chunk)) {
          // Keep memory bounded when the terminal is slower than the child.
          from.pause();
          to.once('drain', () => from.resume());
        }
      });
    };
    forward(child.stdout, out);
    forward(child.stderr, err);
    let error: Error | undefined;
    child.on('error', (e) => {
      error = e;
    });
    // 'close' (also after a failed start): the process exited and both pipes are drained, so every byte was written.
    child.on('close', (code, signal) => resolve(error ? { exitCode: null, signal: null, error } : { exitCode: code, signal }));
  });
}

/** How a result reads in a message: `exited with 2`, `was killed by SIGTERM`, `could not start (spawn x ENOENT)`. */
export function describeExit(r: RunStreamedResult): string {
  if (r.error && r.exitCode === null && r.signal === null) return `could not start (${r.error.message})`;
  if (r.signal) return `was killed by ${r.signal}`;
  return `exited with ${r.exitCode}`;
}
