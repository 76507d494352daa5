/** SshPool: one connection per host (and jump chain), shared handshakes, bounded parallelism. */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import type { Client } from 'ssh2';
import { HostUnreachable, outsideScope } from '@labrig/core';
import type { Connector, Host, Remote } from '@labrig/core';
import { openClient } from './connect.js';
import { Connection } from './connection.js';
import { checkHostKey, hostKeyName, parseKnownHosts } from './known-hosts.js';
import type { HostKeyPolicy } from './known-hosts.js';
import { resolveHost } from './resolve-host.js';
import type { ResolvedHost } from './resolve-host.js';
import { Semaphore } from './semaphore.js';
import { loadSshConfig } from './ssh-config.js';
import type { SshConfig } from './ssh-config.js';
import { SshRemote } from './remote.js';

export interface SshPoolOptions {
  /** known_hosts file (the caller passes `<root>/.labrig/known_hosts`). Without it host keys are not checked. */
  knownHostsFile?: string;
  /** Default `accept-new`. */
  hostKeyPolicy?: HostKeyPolicy;
  /** ssh client config; default `~/.ssh/config`; `false` disables. */
  sshConfigFile?: string | false;
  /** ssh-agent socket; default `$SSH_AUTH_SOCK`; `false` disables. */
  agent?: string | false;
  /** Keys tried last when present. Default `~/.ssh/id_ed25519`, `id_rsa`, `id_ecdsa`. */
  defaultIdentityFiles?: string[];
  /** Handshakes in flight at once. Default 8. */
  maxHandshakes?: number;
  /** Channels open at once per connection. Default 8 (OpenSSH MaxSessions is 10). */
  maxChannelsPerHost?: number;
  /** Handshake timeout. Default 20 s. */
  readyTimeoutMs?: number;
  /** SSH keepalive interval in ms. Default 15 s (0 disables). */
  keepaliveInterval?: number;
  /** Unanswered keepalives before the connection is dropped. Default 4. */
  keepaliveCountMax?: number;
  /** Home directory for `~` (default the process's). */
  homeDir?: string;
}

export interface SshPoolStats {
  /** Connections successfully opened since the pool was created. */
  connectionsOpened: number;
  handshakesInFlight: number;
  /** Connections currently open. */
  open: number;
  /** Highest number of channels seen open at once on one connection. */
  peakChannelsPerConnection: number;
  /** Connections that ended on their own (host gone, reset, keepalive timeout), not by close(). */
  connectionsLost: number;
  /** Connections dropped because known_hosts changed (revalidateHostKeys). */
  connectionsDropped: number;
}

/** What a pool reports about its connections (the labrig agent journals it). */
export type SshPoolEvent =
  | { type: 'connection-lost'; host: string; address: string }
  | { type: 'connections-dropped'; reason: string; hosts: string[] };

export class SshPool implements Connector {
  private readonly conns = new Map<string, Promise<Connection>>();
  private readonly live = new Set<Connection>();
  private readonly handshakes: Semaphore;
  private readonly opts: Required<Omit<SshPoolOptions, 'knownHostsFile' | 'sshConfigFile' | 'agent'>> & {
    knownHostsFile?: string;
    agent?: string;
  };
  private sshConfig: SshConfig | undefined;
  private readonly sshConfigFile: string | false;
  private opened = 0;
  private inFlight = 0;
  private peakChannels = 0;
  private closing = false;
  private lost = 0;
  private dropped = 0;
  /** known_hosts lines as last checked (revalidateHostKeys). */
  private knownLines: Set<string> | undefined;
  /** Told about lost and dropped connections (the agent's journal); set by whoever owns the pool. */
  onEvent: ((e: SshPoolEvent) => void) | undefined;

  constructor(opts: SshPoolOptions = {}) {
    const home = opts.homeDir ?? homedir();
    const agent = opts.agent === false ? undefined : (opts.agent ?? process.env['SSH_AUTH_SOCK']);
    this.opts = {
      hostKeyPolicy: opts.hostKeyPolicy ?? 'accept-new',
      defaultIdentityFiles:
        opts.defaultIdentityFiles ?? ['id_ed25519', 'id_rsa', 'id_ecdsa'].map((f) => path.join(home, '.ssh', f)),
      maxHandshakes: opts.maxHandshakes ?? 8,
      maxChannelsPerHost: opts.maxChannelsPerHost ?? 8,
      readyTimeoutMs: opts.readyTimeoutMs ?? 20_000,
      keepaliveInterval: opts.keepaliveInterval ?? 15_000,
      keepaliveCountMax: opts.keepaliveCountMax ?? 4,
      homeDir: home,
    };
    if (opts.knownHostsFile !== undefined) this.opts.knownHostsFile = opts.knownHostsFile;
    if (agent) this.opts.agent = agent;
    this.sshConfigFile = opts.sshConfigFile === undefined ? path.join(home, '.ssh', 'config') : opts.sshConfigFile;
    this.handshakes = new Semaphore(this.opts.maxHandshakes);
  }

  /** Where `host` leads after ssh config: address, port, user, keys, jump chain, pool key. */
  resolve(host: Host): ResolvedHost {
    if (this.sshConfig === undefined && this.sshConfigFile !== false && existsSync(this.sshConfigFile)) {
      this.sshConfig = loadSshConfig(this.sshConfigFile, { homeDir: this.opts.homeDir });
    }
    return resolveHost(host, { ...(this.sshConfig ? { config: this.sshConfig } : {}), homeDir: this.opts.homeDir });
  }

  async connect(host: Host, signal?: AbortSignal): Promise<Remote> {
    const target = this.resolve(host);
    await this.getConnection(target, signal);
    return new SshRemote(host, target, (s) => this.getConnection(target, s));
  }

  /** The live connection for `target`, opening it (once, shared by concurrent callers) when needed. */
  getConnection(target: ResolvedHost, signal?: AbortSignal): Promise<Connection> {
    if (this.closing) return Promise.reject(new Error('SshPool is closed'));
    let p = this.conns.get(target.key);
    if (!p) {
      // Opened outside the command's scope: the connection outlives the command in the labrig agent
      // and must not keep its scope (environment, secrets) alive through its sockets and timers.
      p = outsideScope(() => this.open(target));
      this.conns.set(target.key, p);
      const mine = p;
      p.catch(() => {
        if (this.conns.get(target.key) === mine) this.conns.delete(target.key);
      });
    }
    return raceAbort(p, signal);
  }

  private async open(target: ResolvedHost): Promise<Connection> {
    let sock: Duplex | undefined;
    if (target.jump) {
      const jump = await this.getConnection(target.jump);
      sock = await forward(jump.client, target);
    }
    const release = await this.handshakes.acquire();
    this.inFlight++;
    let client: Client;
    try {
      client = await openClient({
        target,
        ...(sock ? { sock } : {}),
        readyTimeoutMs: this.opts.readyTimeoutMs,
        keepaliveInterval: this.opts.keepaliveInterval,
        keepaliveCountMax: this.opts.keepaliveCountMax,
        ...(this.opts.knownHostsFile ? { knownHostsFile: this.opts.knownHostsFile } : {}),
        hostKeyPolicy: this.opts.hostKeyPolicy,
        ...(this.opts.agent ? { agent: this.opts.agent } : {}),
        defaultIdentityFiles: this.opts.defaultIdentityFiles,
      });
    } catch (e) {
      sock?.destroy();
      throw e;
    } finally {
      this.inFlight--;
      release();
    }
    if (this.closing) {
      client.destroy();
      throw new Error('SshPool is closed');
    }
    this.opened++;
    const conn: Connection = new Connection(target, client, this.opts.maxChannelsPerHost, (c) => {
      if (!this.closing && this.live.has(c) && !c.dropped) {
        this.lost++;
        this.onEvent?.({ type: 'connection-lost', host: target.name, address: `${target.address}:${target.port}` });
      }
      this.live.delete(c);
      this.peakChannels = Math.max(this.peakChannels, c.peakChannels);
      void this.conns.get(target.key)?.then((cur) => {
        if (cur === c) this.conns.delete(target.key);
      });
    });
    this.live.add(conn);
    return conn;
  }

  stats(): SshPoolStats {
    let peak = this.peakChannels;
    for (const c of this.live) peak = Math.max(peak, c.peakChannels);
    return {
      connectionsOpened: this.opened,
      handshakesInFlight: this.inFlight,
      open: this.live.size,
      peakChannelsPerConnection: peak,
      connectionsLost: this.lost,
      connectionsDropped: this.dropped,
    };
  }

  /**
   * Before open connections are trusted for another command (the labrig agent calls this when a
   * command leases the pool): when lines of the known_hosts file were removed or changed since the
   * last check, every open connection is dropped, so the next use makes a new handshake checked
   * against the file as it is now (a key rotated on a host then fails HostKeyMismatch as it would
   * without the agent). When lines were only added (this pool's own accept-new appends, or a
   * `@revoked` line), each connection's key is checked against the file and those that no longer
   * match are dropped. Returns the number dropped.
   */
  revalidateHostKeys(): number {
    const file = this.opts.knownHostsFile;
    if (!file || this.opts.hostKeyPolicy === 'off') return 0;
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      /* no file: every line was removed */
    }
    const lines = new Set(text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#')));
    const before = this.knownLines;
    this.knownLines = lines;
    if (before === undefined) return 0; // the first lease: connections (none yet) are checked as they open
    const removed = [...before].some((l) => !lines.has(l));
    const added = [...lines].some((l) => !before.has(l));
    if (!removed && !added) return 0;
    const parsed = removed ? [] : parseKnownHosts(text);
    const stale = [...this.live].filter((c) => {
      if (removed) return true;
      const key = (c.client as { labrigHostKey?: Buffer }).labrigHostKey;
      return !key || checkHostKey(parsed, hostKeyName(c.target.address, c.target.port), key).status !== 'match';
    });
    if (!stale.length) return 0;
    for (const c of stale) {
      c.dropped = true;
      this.live.delete(c);
      this.conns.delete(c.target.key);
      void c.end();
    }
    this.dropped += stale.length;
    this.onEvent?.({ type: 'connections-dropped', reason: removed ? `${file} changed` : `a key in ${file} no longer matches`, hosts: stale.map((c) => c.target.name) });
    return stale.length;
  }

  /** End every connection (hosts behind jumps first). */
  async close(): Promise<void> {
    this.closing = true;
    const conns = [...this.live].sort((a, b) => depth(b.target) - depth(a.target));
    const byDepth = new Map<number, Connection[]>();
    for (const c of conns) byDepth.set(depth(c.target), [...(byDepth.get(depth(c.target)) ?? []), c]);
    for (const d of [...byDepth.keys()].sort((a, b) => b - a)) {
      await Promise.all((byDepth.get(d) ?? []).map((c) => c.end()));
    }
    this.live.clear();
    this.conns.clear();
  }
}

function depth(t: ResolvedHost): number {
  return t.jump ? 1 + depth(t.jump) : 0;
}

function forward(client: Client, target: ResolvedHost): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const fail = (e: unknown): void =>
      reject(
        new HostUnreachable(
          target.name,
          `${target.address}:${target.port} via ${target.jump?.address ?? '?'}`,
          `the jump host could not reach it: ${(e as Error)?.message ?? String(e)}`,
          { cause: e },
        ),
      );
    try {
      client.forwardOut('127.0.0.1', 0, target.address, target.port, (err, stream) => {
        if (err) return fail(err);
        resolve(stream);
      });
    } catch (e) {
      fail(e);
    }
  });
}

function raceAbort<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
