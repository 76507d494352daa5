/** One live SSH connection in the pool: the ssh2 Client and its channel limit. */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Client } from 'ssh2';
import { currentScope } from '@labrig/core';
import { Semaphore } from './semaphore.js';
import type { ResolvedHost } from './resolve-host.js';

/** Retries of a refused channel open (10 ms .. 640 ms apart, 1.3 s in all). */
export const CHANNEL_OPEN_RETRIES = 7;

export class Connection {
  readonly channels: Semaphore;
  closed = false;
  /** Dropped by the pool (known_hosts changed): not counted as lost. */
  dropped = false;
  private openChannels = 0;
  /** Highest number of channels open at once on this connection. */
  peakChannels = 0;

  constructor(
    readonly target: ResolvedHost,
    readonly client: Client,
    maxChannels: number,
    onClosed: (c: Connection) => void,
  ) {
    this.channels = new Semaphore(maxChannels);
    client.setMaxListeners(0);
    const closed = (): void => {
      if (this.closed) return;
      this.closed = true;
      onClosed(this);
    };
    client.on('close', closed);
    client.on('end', closed);
    // Errors after the handshake (keepalive timeout, reset): the connection is evicted on close.
    client.on('error', () => closed());
  }

  noteChannelOpened(): void {
    this.openChannels++;
    if (this.openChannels > this.peakChannels) this.peakChannels = this.openChannels;
  }

  noteChannelClosed(): void {
    this.openChannels--;
  }

  get channelsOpen(): number {
    return this.openChannels;
  }

  /**
   * Open a channel (`open` is one ssh2 call: exec, sftp, ...). sshd frees a session slot a moment
   * after the client has seen the channel close, so a channel opened right then can be refused
   * ("Channel open failure") although the pool stays below MaxSessions: such refusals are retried
   * with a short backoff (10 ms, doubling, CHANNEL_OPEN_RETRIES times); any other error is thrown.
   * `onOpen` runs synchronously inside ssh2's callback: a fast command's output and exit status
   * can be emitted right after it, before any promise continuation could attach listeners.
   */
  async openChannel<T>(
    open: (cb: (err: Error | undefined, channel: T) => void) => void,
    onOpen: (channel: T) => void,
    signal?: AbortSignal,
  ): Promise<T> {
    // Inside the labrig agent the connection outlives commands and its socket runs in no command's
    // scope: the channel's events (output, exit, SFTP replies) are brought back into the scope of
    // the command that opened it, for its redaction, its output and its interrupt signal.
    const inCaller = currentScope() ? AsyncLocalStorage.snapshot() : undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        return await new Promise<T>((resolve, reject) => {
          try {
            open((err, ch) => {
              if (err) return reject(err);
              try {
                if (inCaller) bindToCaller(ch, inCaller);
                onOpen(ch);
                resolve(ch);
              } catch (e) {
                reject(e);
              }
            });
          } catch (e) {
            reject(e);
          }
        });
      } catch (e) {
        const refused = e instanceof Error && e.message.includes('Channel open failure');
        if (!refused || attempt >= CHANNEL_OPEN_RETRIES || signal?.aborted || this.closed) throw e;
        await new Promise((r) => setTimeout(r, 10 * 2 ** attempt));
      }
    }
  }

  /** End politely; destroy if the remote does not answer within `graceMs`. */
  end(graceMs = 1000): Promise<void> {
    return new Promise((resolve) => {
      const client = this.client;
      const t = setTimeout(() => {
        client.destroy();
        resolve();
      }, graceMs);
      t.unref();
      client.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      if (this.closed) {
        clearTimeout(t);
        client.destroy();
        return resolve();
      }
      client.end();
    });
  }
}

/**
 * Run everything that feeds `ch` (data pushed into it, events emitted from it; the same for its
 * stderr) in `ctx`: whatever it calls synchronously, and what that schedules, is in that context.
 */
function bindToCaller(ch: unknown, ctx: <R>(fn: () => R) => R): void {
  for (const obj of [ch, (ch as { stderr?: unknown } | undefined)?.stderr]) {
    if (!obj || typeof obj !== 'object') continue;
    const o = obj as Record<string, unknown>;
    for (const m of ['push', 'emit']) {
      const f = o[m];
      if (typeof f !== 'function') continue;
      o[m] = function (this: unknown, ...args: unknown[]): unknown {
        return ctx(() => (f as (...a: unknown[]) => unknown).apply(this, args));
      };
    }
  }
}
