/** A Connector whose hosts are this machine: for `local` steps and for tests with many synthetic hosts. */
import { Aborted } from '../errors.js';
import type { Connector, Host, Remote } from '../contracts.js';
import { LocalRemote } from './remote.js';
import type { LocalRemoteOptions } from './remote.js';

export interface LocalConnectorOptions extends Omit<LocalRemoteOptions, 'home'> {
  /** Per host "home" directory (to keep synthetic hosts apart). Default: the current directory. */
  homeFor?: (host: Host) => string | undefined;
}

export class LocalConnector implements Connector {
  private readonly remotes = new Map<string, LocalRemote>();

  constructor(private readonly opts: LocalConnectorOptions = {}) {}

  async connect(host: Host, signal?: AbortSignal): Promise<Remote> {
    if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Aborted('cancelled');
    let r = this.remotes.get(host.name);
    if (!r || r.host !== host) {
      const { homeFor, ...rest } = this.opts;
      const home = homeFor?.(host);
      r = new LocalRemote(host, home === undefined ? rest : { ...rest, home });
      this.remotes.set(host.name, r);
    }
    return r;
  }

  async close(): Promise<void> {
    this.remotes.clear();
  }
}

/** The coordinator as a host: where `local` steps run. */
export const LOCAL_HOST: Host = Object.freeze({
  name: 'local',
  address: '127.0.0.1',
  roles: [],
  labels: {},
}) as Host;
