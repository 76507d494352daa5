import type { Host } from '@labrig/core';
import { parseDuration, parseFailurePolicy, type Renderer, type RunDefaults, type RunOptions } from '@labrig/core';
import type { SshPoolLike } from '@labrig/ssh';
import { createSshPool, runDefaultsOf as kitRunDefaults } from '@labrig/platform-kit';
import type { LocalPlatformConfig } from './config.js';

/** Per-invocation overrides of the config's `[run]` section (target options). */
export interface RunOverrides {
  concurrency?: number;
  timeout?: string;
  retries?: number;
  failurePolicy?: string;
  output?: 'auto' | 'tty' | 'plain' | 'json' | Renderer;
}

/** An SSH pool configured from the platform file's `[ssh]` section. */
export function createPool(root: string, cfg: LocalPlatformConfig): SshPoolLike {
  return createSshPool(root, cfg.ssh);
}

/** The platform file's `[run]` section as engine defaults (Platform.runDefaults). */
export function runDefaultsOf(cfg: LocalPlatformConfig): Required<RunDefaults> {
  return kitRunDefaults(cfg.run);
}

/** Engine options from the config's `[run]` section, with the target's overrides on top. */
export function runOptionsFrom(
  root: string,
  cfg: LocalPlatformConfig,
  hosts: Host[],
  connector: SshPoolLike,
  o: RunOverrides,
  title: string,
): RunOptions {
  const d = runDefaultsOf(cfg);
  return {
    root,
    hosts,
    connector,
    title,
    concurrency: o.concurrency ?? d.concurrency,
    timeoutMs: o.timeout !== undefined ? parseDuration(o.timeout) : d.timeoutMs,
    failurePolicy: parseFailurePolicy(o.failurePolicy ?? d.failurePolicy),
    output: o.output ?? 'auto',
  };
}
