/**
 * The sections every SSH platform file shares (`[roles]`, `[ssh]`, `[run]`), the SSH pool they
 * configure, and the engine defaults they give.
 */
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import type { Host, RunDefaults } from '@labrig/core';
import { parseDuration } from '@labrig/core';
import { SshPool } from '@labrig/ssh';
import sections from './common.schema.json' with { type: 'json' };

export interface SshSection {
  knownHosts: string;
  hostKeyPolicy: 'accept-new' | 'strict' | 'off';
  maxHandshakes: number;
  maxChannelsPerHost: number;
  connectTimeout: string;
  identityFiles?: string[];
}

export interface RunSection {
  concurrency: number;
  timeout: string;
  retries: number;
  failurePolicy: string;
}

/** What a platform config has when it uses the common sections. */
export interface CommonSections {
  roles: Record<string, string[]>;
  ssh: SshSection;
  run: RunSection;
}

/** A platform's JSON Schema with the common `roles`, `ssh` and `run` properties added. */
export function withCommonSections<T extends { properties?: Record<string, unknown> }>(schema: T): T {
  const { $comment: _c, ...props } = sections as Record<string, unknown>;
  return { ...schema, properties: { ...props, ...schema.properties } };
}

/** A path from a config, relative to the workspace root unless absolute (`~/` is the user's home). */
export function resolveFromRoot(root: string, p: string): string {
  if (p.startsWith('~/')) return join(process.env['HOME'] ?? '', p.slice(2));
  return isAbsolute(p) ? p : join(root, p);
}

/** The SSH pool a platform file's `[ssh]` section describes. */
export function createSshPool(root: string, ssh: SshSection): SshPool {
  return new SshPool({
    knownHostsFile: resolveFromRoot(root, ssh.knownHosts),
    hostKeyPolicy: ssh.hostKeyPolicy,
    maxHandshakes: ssh.maxHandshakes,
    maxChannelsPerHost: ssh.maxChannelsPerHost,
    readyTimeoutMs: parseDuration(ssh.connectTimeout),
    // The configured keys first, then OpenSSH's usual ones (the pool also reads ~/.ssh/config and the agent).
    ...(ssh.identityFiles
      ? { defaultIdentityFiles: [...ssh.identityFiles.map((f) => resolveFromRoot(root, f)), ...['id_ed25519', 'id_rsa', 'id_ecdsa'].map((f) => join(homedir(), '.ssh', f))] }
      : {}),
  });
}

/** The `[run]` section as engine defaults (Platform.runDefaults). */
export function runDefaultsOf(run: RunSection): Required<RunDefaults> {
  return { concurrency: run.concurrency, timeoutMs: parseDuration(run.timeout), failurePolicy: run.failurePolicy, retries: run.retries };
}

/** Roles of a host from `[roles]` (role = [names]); `fallback` when no role names it. */
export function rolesFor(name: string, roles: Record<string, string[]>, fallback: string[]): string[] {
  const named = Object.entries(roles)
    .filter(([, names]) => names.includes(name))
    .map(([role]) => role);
  return named.length ? named : fallback;
}

/** Keep hosts whose name matches one of `names` (globs with `*`, `?`) and that have one of `roles`. */
export function filterHosts(hosts: Host[], names?: string[], roles?: string[]): Host[] {
  const patterns = (names ?? []).map((glob) => new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`));
  return hosts.filter(
    (h) => (patterns.length === 0 || patterns.some((re) => re.test(h.name))) && (!roles || roles.length === 0 || h.roles.some((r) => roles.includes(r))),
  );
}

/** The inventory as a table. */
export function formatInventory(hosts: Host[]): string {
  const rows = [
    ['NAME', 'ADDRESS', 'PORT', 'USER', 'ROLES', 'PRIVATE', 'JUMP'],
    ...hosts.map((h) => [h.name, h.address, String(h.port ?? 22), h.user ?? '', h.roles.join(','), h.privateAddress ?? '', h.jump?.name ?? '']),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}
