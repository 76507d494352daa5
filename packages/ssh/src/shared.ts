/**
 * SSH pools that outlive one command, for the labrig agent (packages/runner/src/agent/): the agent
 * enables sharing once, and from then on `acquireSshPool` hands each command a lease on the pool
 * for its exact options instead of a new pool. Closing a lease gives the pool back; its
 * connections stay open for the next command until the agent ends (or evicts idle pools).
 *
 * A pool is shared only between identical options (known_hosts file, host key policy, identity
 * files, ssh config file, ssh-agent socket, handshake and channel limits, timeouts, home) and
 * identical code: the key includes a digest of the pool's own source text, so a command whose
 * bundle was rebuilt from changed ssh code never reuses connections made by the old code.
 * Inside one pool a connection is per resolved host (address, port, user, identities, jump chain).
 * Every lease re-checks known_hosts first (SshPool.revalidateHostKeys).
 *
 * Without the agent (`acquireSshPool` before `enableSharedPools`) a lease is a pool of its own,
 * closed by its close(): the behaviour of a command run on its own.
 *
 * The registry lives on globalThis (Symbol.for key): every executor bundle carries its own copy
 * of this module, and push and setup (two bundles) must share one pool.
 */
import { createHash } from 'node:crypto';
import type { Host, Remote } from '@labrig/core';
import type { Connection } from './connection.js';
import { openClient } from './connect.js';
import { SshPool, type SshPoolEvent, type SshPoolOptions, type SshPoolStats } from './pool.js';
import type { ResolvedHost } from './resolve-host.js';

/** What a command uses of a pool: a whole pool, or a lease on a shared one. */
export interface SshPoolLike {
  connect(host: Host, signal?: AbortSignal): Promise<Remote>;
  resolve(host: Host): ResolvedHost;
  getConnection(target: ResolvedHost, signal?: AbortSignal): Promise<Connection>;
  stats(): SshPoolStats;
  close(): Promise<void>;
}

export interface SharedPoolInfo {
  key: string;
  knownHostsFile?: string;
  leases: number;
  idleSince?: number;
  stats: SshPoolStats;
}

interface Entry {
  pool: SshPool;
  leases: number;
  idleSince: number | undefined;
  knownHostsFile: string | undefined;
}

interface Registry {
  entries: Map<string, Entry>;
  onEvent: ((e: SshPoolEvent & { pool: string }) => void) | undefined;
}

const KEY = Symbol.for('@labrig/ssh:shared-pools');

function registry(): Registry | undefined {
  return (globalThis as { [KEY]?: Registry })[KEY];
}

declare const __LABRIG_SSH_CODE__: string | undefined;

let codeDigest: string | undefined;
/**
 * A digest of the code that makes and uses connections (changes when that code changes): the one
 * labrig-run's bundler computed from @labrig/ssh's sources (the same in every executor bundle
 * built from them), else one of the pool's own source text.
 */
function sshCodeDigest(): string {
  if (typeof __LABRIG_SSH_CODE__ === 'string') return __LABRIG_SSH_CODE__;
  codeDigest ??= createHash('sha256')
    .update(SshPool.toString())
    .update(openClient.toString())
    .digest('hex')
    .slice(0, 16);
  return codeDigest;
}

/** The sharing key of a pool: its options as the pool resolves them, and the code. */
function poolKey(opts: SshPoolOptions): string {
  return JSON.stringify({
    code: sshCodeDigest(),
    knownHostsFile: opts.knownHostsFile ?? null,
    hostKeyPolicy: opts.hostKeyPolicy ?? 'accept-new',
    sshConfigFile: opts.sshConfigFile ?? null,
    agent: opts.agent === false ? false : (opts.agent ?? process.env['SSH_AUTH_SOCK'] ?? null),
    defaultIdentityFiles: opts.defaultIdentityFiles ?? null,
    maxHandshakes: opts.maxHandshakes ?? null,
    maxChannelsPerHost: opts.maxChannelsPerHost ?? null,
    readyTimeoutMs: opts.readyTimeoutMs ?? null,
    keepaliveInterval: opts.keepaliveInterval ?? null,
    keepaliveCountMax: opts.keepaliveCountMax ?? null,
    homeDir: opts.homeDir ?? process.env['HOME'] ?? null,
  });
}

class SshPoolLease implements SshPoolLike {
  private released = false;
  constructor(
    private readonly entry: Entry,
    private readonly onRelease: () => void,
  ) {}
  private check(): void {
    if (this.released) throw new Error('this SSH pool lease was closed');
  }
  connect(host: Host, signal?: AbortSignal): Promise<Remote> {
    this.check();
    return this.entry.pool.connect(host, signal);
  }
  resolve(host: Host): ResolvedHost {
    return this.entry.pool.resolve(host);
  }
  getConnection(target: ResolvedHost, signal?: AbortSignal): Promise<Connection> {
    this.check();
    return this.entry.pool.getConnection(target, signal);
  }
  stats(): SshPoolStats {
    return this.entry.pool.stats();
  }
  /** Give the pool back: its connections stay open for the next command. */
  async close(): Promise<void> {
    if (this.released) return;
    this.released = true;
    this.onRelease();
  }
}

/**
 * A pool for one command: a lease on the shared pool for `opts` when the agent enabled sharing,
 * else a new pool (closed by the lease's close()).
 */
export function acquireSshPool(opts: SshPoolOptions): SshPoolLike {
  const reg = registry();
  if (!reg) return new SshPool(opts);
  const key = poolKey(opts);
  let entry = reg.entries.get(key);
  if (!entry) {
    const pool = new SshPool(opts);
    const label = opts.knownHostsFile ?? key;
    pool.onEvent = (e) => reg.onEvent?.({ ...e, pool: label });
    entry = { pool, leases: 0, idleSince: undefined, knownHostsFile: opts.knownHostsFile };
    reg.entries.set(key, entry);
  }
  entry.pool.revalidateHostKeys();
  entry.leases++;
  entry.idleSince = undefined;
  const e = entry;
  return new SshPoolLease(e, () => {
    e.leases--;
    if (e.leases === 0) e.idleSince = Date.now();
  });
}

export interface SharedPools {
  /** Every shared pool, its leases and its counters. */
  list(): SharedPoolInfo[];
  /** Close pools nobody has leased for `idleMs`; returns how many. */
  closeIdle(idleMs: number): Promise<number>;
  /** Close every pool (the agent ending). */
  closeAll(): Promise<void>;
}

/** Turn sharing on for this process (the agent, once); `onEvent` hears lost and dropped connections. */
export function enableSharedPools(onEvent?: (e: SshPoolEvent & { pool: string }) => void): SharedPools {
  const g = globalThis as { [KEY]?: Registry };
  const reg = (g[KEY] ??= { entries: new Map(), onEvent: undefined });
  reg.onEvent = onEvent;
  const close = async (pick: (e: Entry) => boolean): Promise<number> => {
    const gone = [...reg.entries].filter(([, e]) => pick(e));
    for (const [k] of gone) reg.entries.delete(k);
    await Promise.all(gone.map(([, e]) => e.pool.close()));
    return gone.length;
  };
  return {
    list: () =>
      [...reg.entries].map(([key, e]) => ({
        key,
        ...(e.knownHostsFile ? { knownHostsFile: e.knownHostsFile } : {}),
        leases: e.leases,
        ...(e.idleSince !== undefined ? { idleSince: e.idleSince } : {}),
        stats: e.pool.stats(),
      })),
    closeIdle: (idleMs) => close((e) => e.leases === 0 && e.idleSince !== undefined && Date.now() - e.idleSince >= idleMs),
    closeAll: async () => {
      await close(() => true);
    },
  };
}
