import type { Host } from '@labrig/core';
import { createRenderer, parseDuration, parseFailurePolicy, type Renderer, type RunOptions } from '@labrig/core';
import { SshPool } from '@labrig/ssh';
import { resolveFromRoot, type LocalPlatformConfig } from './config.js';

/** Per-invocation overrides of the config's `[run]` section (target options). */
export interface RunOverrides {
  concurrency?: number;
  timeout?: string;
  retries?: number;
  failurePolicy?: string;
  output?: 'auto' | 'tty' | 'plain' | 'json' | Renderer;
}

/** An SSH pool configured from the platform file's `[ssh]` section. */
export function createPool(root: string, cfg: LocalPlatformConfig): SshPool {
  return new SshPool({
    knownHostsFile: resolveFromRoot(root, cfg.ssh.knownHosts),
    hostKeyPolicy: cfg.ssh.hostKeyPolicy,
    maxHandshakes: cfg.ssh.maxHandshakes,
    maxChannelsPerHost: cfg.ssh.maxChannelsPerHost,
    readyTimeoutMs: parseDuration(cfg.ssh.connectTimeout),
  });
}

/** Engine options from the config's `[run]` section, with the target's overrides on top. */
export function runOptionsFrom(
  root: string,
  cfg: LocalPlatformConfig,
  hosts: Host[],
  connector: SshPool,
  o: RunOverrides,
  title: string,
): RunOptions {
  return {
    root,
    hosts,
    connector,
    title,
    concurrency: o.concurrency ?? cfg.run.concurrency,
    timeoutMs: parseDuration(o.timeout ?? cfg.run.timeout),
    failurePolicy: parseFailurePolicy(o.failurePolicy ?? cfg.run.failurePolicy),
    output: o.output ?? 'auto',
  };
}
