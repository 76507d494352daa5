/** One live SSH connection in the pool: the ssh2 Client and its channel limit. */
import type { Client } from 'ssh2';
import { Semaphore } from './semaphore.js';
import type { ResolvedHost } from './resolve-host.js';

export class Connection {
  readonly channels: Semaphore;
  closed = false;
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
