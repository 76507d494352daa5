/** Run one command on an SSH connection: stream, collect, pty, stdin, signals, abort. */
import type { Readable, Writable } from 'node:stream';
import type { ClientChannel } from 'ssh2';
import { CommandFailed, HostUnreachable, formatCommandLine } from '@labrig/core';
import type { ExecOptions, ExecResult, RunningCommand } from '@labrig/core';
import type { Connection } from './connection.js';
import { mapConnectError } from './errors-map.js';

/** The command text sent in the exec request: core's one command-line builder. */
export function buildCommandText(argv: readonly string[], opts: Pick<ExecOptions, 'cwd' | 'env'> = {}): string {
  return formatCommandLine(argv, { cwd: opts.cwd, env: opts.env });
}

/** Internal extras used by transfers. */
export interface CommandExtras {
  /** Stream piped into stdin (then EOF). */
  stdinStream?: Readable;
  /** stdout is piped here instead of being collected. */
  stdoutSink?: Writable;
  /** Keep stdin open until `end()` (spawn). */
  keepStdinOpen?: boolean;
}

export interface CommandTarget {
  hostName: string;
  address: string;
  getConnection(signal?: AbortSignal): Promise<Connection>;
}

/** Grace after kill()/abort before giving up on a remote that does not answer. */
const KILL_GRACE_MS = 1000;

function stripSig(s: string): string {
  return s.startsWith('SIG') ? s.slice(3) : s;
}

/**
 * ssh2's `channel.signal()` stays silent once our side sent EOF (stdin closed), which is the normal
 * state of an exec. The request is still valid then (RFC 4254 6.9): send it through the protocol.
 */
function sendSignal(ch: ClientChannel, name: string): void {
  const c = ch as unknown as {
    outgoing?: { state?: string; id?: number };
    _client?: { _protocol?: { signal?: (id: number, name: string) => void } };
  };
  const proto = c._client?._protocol;
  const id = c.outgoing?.id;
  if ((c.outgoing?.state === 'open' || c.outgoing?.state === 'eof') && proto?.signal && id !== undefined) {
    proto.signal(id, name);
  } else ch.signal(name);
}

export function startCommand(
  target: CommandTarget,
  argv: readonly string[],
  opts: ExecOptions = {},
  extras: CommandExtras = {},
): RunningCommand {
  const command = buildCommandText(argv, opts);
  const signal = opts.signal;
  let channel: ClientChannel | undefined;
  const pendingWrites: Array<string | Buffer> = [];
  let pendingEnd = !extras.keepStdinOpen && !extras.stdinStream && opts.stdin === undefined;
  let killRequested: string | undefined;
  let settled = false;
  /** drain() calls made before the channel opened; resolved when it opens or the command ends. */
  const drainWaiters: Array<() => void> = [];
  const wakeDrainers = (): void => {
    for (const w of drainWaiters.splice(0)) w();
  };
  let finish: (err: unknown, res?: ExecResult) => void = () => {};
  let armKill: (sig: string) => void = () => {};

  const sendKill = (sig: string): void => {
    if (!channel) return;
    try {
      sendSignal(channel, stripSig(sig));
    } catch {
      /* channel gone */
    }
    try {
      channel.close();
    } catch {
      /* already closed */
    }
  };

  const result = new Promise<ExecResult>((resolve, reject) => {
    const started = Date.now();
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let exitCode: number | null = null;
    let exitSignal: string | null = null;
    let gotExit = false;
    let release: (() => void) | undefined;
    let cleanup: Array<() => void> = [];
    let graceTimer: NodeJS.Timeout | undefined;

    const snapshot = (): ExecResult => ({
      exitCode,
      signal: exitSignal,
      stdout: Buffer.concat(out).toString('utf8'),
      stderr: Buffer.concat(err).toString('utf8'),
      durationMs: Date.now() - started,
    });

    finish = (e, res) => {
      if (settled) return;
      settled = true;
      wakeDrainers();
      if (graceTimer) clearTimeout(graceTimer);
      for (const c of cleanup) c();
      cleanup = [];
      release?.();
      if (e !== undefined) return reject(e);
      const r = res as ExecResult;
      if (!opts.allowFailure && (r.exitCode !== 0 || r.signal !== null)) {
        const tail = r.stderr !== '' ? r.stderr : opts.pty ? r.stdout : '';
        return reject(new CommandFailed(target.hostName, command, { exitCode: r.exitCode, signal: r.signal, stderr: tail }));
      }
      resolve(r);
    };

    const onAbort = (): void => {
      sendKill('TERM');
      finish(signal?.reason ?? new Error('aborted'));
    };
    if (signal) {
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      cleanup.push(() => signal.removeEventListener('abort', onAbort));
    }

    void (async () => {
      const conn = await target.getConnection(signal);
      if (settled) return;
      const rel = await conn.channels.acquire(signal);
      if (settled) return rel();
      release = rel;
      conn.noteChannelOpened();
      cleanup.push(() => conn.noteChannelClosed());
      const onClientClose = (): void =>
        finish(new HostUnreachable(target.hostName, target.address, 'connection lost while the command was running'));
      conn.client.on('close', onClientClose);
      cleanup.push(() => conn.client.removeListener('close', onClientClose));
      if (conn.closed) return onClientClose();
      await conn.openChannel<ClientChannel>(
        (cb) =>
          opts.pty ? conn.client.exec(command, { pty: { term: 'xterm', rows: 24, cols: 200 } }, cb) : conn.client.exec(command, cb),
        (ch) => {
          if (settled) {
            ch.on('error', () => {});
            ch.close();
            return;
          }
          channel = ch;
          wireChannel(ch);
        },
        signal,
      );
    })().catch((e: unknown) =>
      finish(mapConnectError(e, { host: target.hostName, address: target.address, user: '', tried: [] })),
    );

    function wireChannel(ch: ClientChannel): void {
      ch.on('error', (e: Error) => finish(mapConnectError(e, { host: target.hostName, address: target.address, user: '', tried: [] })));
      if (extras.stdoutSink) ch.pipe(extras.stdoutSink, { end: false });
      else
        ch.on('data', (d: Buffer) => {
          out.push(d);
          opts.onStdout?.(d);
        });
      ch.stderr.on('data', (d: Buffer) => {
        err.push(d);
        opts.onStderr?.(d);
      });
      ch.on('exit', (code: number | null, sig?: string) => {
        gotExit = true;
        exitCode = typeof code === 'number' ? code : null;
        exitSignal = typeof sig === 'string' ? sig : null;
      });
      ch.on('close', () => {
        if (!gotExit && killRequested !== undefined) {
          exitSignal = `SIG${stripSig(killRequested)}`;
          gotExit = true;
        }
        if (!gotExit) {
          return finish(new HostUnreachable(target.hostName, target.address, 'channel closed without an exit status'));
        }
        finish(undefined, snapshot());
      });
      if (killRequested !== undefined) return sendKill(killRequested);
      // stdin
      if (extras.stdinStream) {
        extras.stdinStream.on('error', (e) => finish(e));
        extras.stdinStream.pipe(ch);
        return;
      }
      for (const w of pendingWrites) ch.write(w);
      pendingWrites.length = 0;
      if (opts.stdin !== undefined) {
        ch.write(opts.stdin);
        if (!extras.keepStdinOpen) pendingEnd = true;
      }
      if (pendingEnd) ch.end();
      wakeDrainers();
    }


    // kill(): signal, close, and settle even if the remote never answers.
    armKill = (sig: string) => {
      killRequested = sig;
      sendKill(sig);
      graceTimer = setTimeout(() => {
        exitSignal = `SIG${stripSig(sig)}`;
        finish(undefined, snapshot());
      }, KILL_GRACE_MS);
      graceTimer.unref();
    };
  });

  return {
    write(data: string | Buffer): void {
      if (settled) return;
      if (channel) channel.write(data);
      else pendingWrites.push(data);
    },
    drain(): Promise<void> {
      if (settled) return Promise.resolve();
      const ch = channel;
      if (!ch) return new Promise((res) => drainWaiters.push(res));
      if (!ch.writableNeedDrain) return Promise.resolve();
      return new Promise((res) => {
        const done = (): void => {
          ch.off('drain', done);
          ch.off('close', done);
          res();
        };
        ch.on('drain', done);
        ch.on('close', done);
      });
    },
    end(): void {
      if (settled) return;
      if (channel) channel.end();
      else pendingEnd = true;
    },
    kill(sig = 'TERM'): void {
      if (settled) return;
      armKill(sig);
    },
    result,
  };
}
