/**
 * Readiness probes, checked on the host itself (so they work behind jump hosts): a TCP port
 * accepts connections, a file exists, a command succeeds, a line appears in a log. Polled until
 * it passes or the timeout fires; never a fixed sleep.
 */
import type { Remote } from '../contracts.js';
import { StepTimeout, formatMs } from '../errors.js';

export type ReadinessProbe =
  | { port: number; address?: string }
  | { file: string }
  | { command: string[] }
  | { log: string; file: string };

export function describeProbe(p: ReadinessProbe): string {
  if ('port' in p) return `port ${p.address ?? '127.0.0.1'}:${p.port} accepts connections`;
  if ('command' in p) return `command \`${p.command.join(' ')}\` succeeds`;
  if ('log' in p) return `"${p.log}" appears in ${p.file}`;
  return `file ${p.file} exists`;
}

/** The probe as one argv run on the host (exit 0 = ready). */
export function probeArgv(p: ReadinessProbe): string[] {
  if ('port' in p) {
    // bash's /dev/tcp; nothing is interpolated: address and port are arguments.
    return ['bash', '-c', 'exec 3<>"/dev/tcp/$0/$1"', p.address ?? '127.0.0.1', String(p.port)];
  }
  if ('command' in p) return p.command;
  if ('log' in p) return ['grep', '-qF', '--', p.log, p.file];
  return ['test', '-e', p.file];
}

/** A probe did not pass in time: a StepTimeout naming what waited, for what, and how long. */
export class NotReady extends StepTimeout {
  constructor(host: string, what: string, probe: ReadinessProbe, timeoutMs: number, last: string) {
    super(host, what, timeoutMs, {
      message: `${what} on ${host} was not ready within ${formatMs(timeoutMs)}: waited for ${describeProbe(probe)}${last ? ` (last: ${last})` : ''}`,
      hint: `Look at the process log on ${host} (the system's logs target); raise the readiness timeout if it is just slow.`,
      retryable: false,
    });
  }
}

export interface WaitReadyOptions {
  /** What is waited for, for messages (e.g. `role server`). */
  what: string;
  timeoutMs: number;
  intervalMs?: number;
  signal?: AbortSignal;
  /** Checked between polls: a process that died will never become ready. */
  alive?: () => Promise<boolean>;
}

export async function waitReady(remote: Remote, probe: ReadinessProbe, opts: WaitReadyOptions): Promise<{ waitedMs: number }> {
  const argv = probeArgv(probe);
  const started = Date.now();
  let last = '';
  for (;;) {
    opts.signal?.throwIfAborted();
    const r = await remote.exec(argv, { allowFailure: true, signal: opts.signal });
    if (r.exitCode === 0) return { waitedMs: Date.now() - started };
    last = (r.stderr.trim().split('\n').pop() ?? '').slice(0, 200);
    if (opts.alive && !(await opts.alive())) {
      throw new NotReady(remote.host.name, opts.what, probe, Date.now() - started, 'the process exited');
    }
    if (Date.now() - started >= opts.timeoutMs) throw new NotReady(remote.host.name, opts.what, probe, opts.timeoutMs, last);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 200));
  }
}
