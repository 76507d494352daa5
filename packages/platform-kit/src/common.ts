/**
 * The sections every SSH platform file shares (`[roles]`, `[ssh]`, `[run]`, `[build]`, `[artifacts]`), the SSH pool they
 * configure, and the engine defaults they give.
 */
import { homedir } from 'node:os';
import { basename, isAbsolute, join } from 'node:path';
import type { Host, PlatformContext, RunDefaults } from '@labrig/core';
import { ConfigError, didYouMean, listNames, parseDuration, platformFileOf } from '@labrig/core';
import { acquireSshPool, type SshPoolLike } from '@labrig/ssh';
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

/** Where systems' builds run for this platform (system-kit's remote-build/placement.ts reads it). */
export interface BuildSection {
  host?: string;
  arch?: string;
}

/** How artifacts reach this platform's hosts (system-kit's steps/distribute.ts). */
export interface ArtifactsSection {
  distribute: 'auto' | 'chain' | 'ssh';
}

/** What a platform config has when it uses the common sections. */
export interface CommonSections {
  roles: Record<string, string[]>;
  ssh: SshSection;
  run: RunSection;
  build: BuildSection;
  artifacts: ArtifactsSection;
}

/** A platform's JSON Schema with the common `roles`, `ssh`, `run`, `build` and `artifacts` properties added. */
export function withCommonSections<T extends { properties?: Record<string, unknown> }>(schema: T): T {
  const { $comment: _c, ...props } = sections as Record<string, { properties?: Record<string, unknown> }>;
  const own = (schema.properties ?? {}) as Record<string, { properties?: Record<string, unknown> }>;
  // A platform's own section of a common name (aws's [artifacts]: its S3 store) gets the common fields too.
  const merged = Object.fromEntries(
    Object.entries(own).map(([k, v]) => [k, props[k]?.properties && v.properties ? { ...v, default: {}, properties: { ...props[k].properties, ...v.properties } } : v]),
  );
  return { ...schema, properties: { ...props, ...merged } };
}

/** A path from a config, relative to the workspace root unless absolute (`~/` is the user's home). */
export function resolveFromRoot(root: string, p: string): string {
  if (p.startsWith('~/')) return join(process.env['HOME'] ?? '', p.slice(2));
  return isAbsolute(p) ? p : join(root, p);
}

/**
 * The SSH pool a platform file's `[ssh]` section describes: a new one, or inside the labrig agent a
 * lease on the agent's pool for the same settings (its close() gives it back, connections stay).
 */
export function createSshPool(root: string, ssh: SshSection): SshPoolLike {
  return acquireSshPool({
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

/** The platform file a context belongs to (core keeps its state under `.labrig/state/<folder>`), for messages. */
export function platformFileOfContext(ctx: PlatformContext): string {
  return platformFileOf(basename(ctx.stateDir));
}

export interface CheckRolesOptions {
  /** Names that are not hosts now but may become ones (e.g. Slurm compute nodes): not errors. */
  mayAppear?: (name: string) => boolean;
  /** Whose hosts, in messages: `this platform` by default (`this experiment` on CloudLab). */
  of?: string;
}

/**
 * The one rule every platform applies to `[roles]`: each name a role lists is a host of the
 * platform. The first role naming an unknown host is a ConfigError on `roles.<role>` naming the
 * unknown name(s), a did-you-mean when a known host name is close, and the known hosts.
 */
export function checkRoles(roles: Record<string, readonly string[]>, known: readonly string[], file: string, opts: CheckRolesOptions = {}): void {
  const knownSet = new Set(known);
  for (const [role, listed] of Object.entries(roles)) {
    const unknown = [...new Set(listed.filter((n) => !knownSet.has(n) && !opts.mayAppear?.(n)))];
    if (unknown.length === 0) continue;
    const field = `roles.${/^[A-Za-z0-9_-]+$/.test(role) ? role : JSON.stringify(role)}`;
    const guesses = unknown.map((n) => [n, didYouMean(n, known)] as const);
    const named = guesses.map(([n, g]) => `"${n}"${g ? ` (did you mean "${g}"?)` : ''}`).join(', ');
    const of = opts.of ?? 'this platform';
    const problem = `names ${named}, ${unknown.length === 1 ? 'not a host' : 'not hosts'} of ${of}; known hosts: ${listNames(known)}`;
    const hint = guesses.every(([, g]) => g !== undefined)
      ? `Replace ${guesses.map(([n, g]) => `"${n}" with "${g}"`).join(', ')} in ${field} in ${file}.`
      : `Name only hosts of ${of} in ${field} in ${file}, or remove ${unknown.length === 1 ? `"${unknown[0]}"` : 'the unknown names'}.`;
    throw new ConfigError(file, field, problem, { hint });
  }
}

/**
 * Roles of each host of `names` (in order): the roles `[roles]` names it in, else
 * `fallback(name, index)`. Checks `[roles]` first (checkRoles) against `names` and `alsoKnown`
 * (hosts of the platform not in this list now, e.g. devices without an address yet).
 */
export function assignRoles(
  names: readonly string[],
  roles: Record<string, string[]>,
  file: string,
  fallback: (name: string, index: number) => string[],
  opts: CheckRolesOptions & { alsoKnown?: readonly string[] } = {},
): string[][] {
  checkRoles(roles, [...new Set([...names, ...(opts.alsoKnown ?? [])])], file, opts);
  return names.map((name, i) => rolesFor(name, roles, fallback(name, i)));
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
