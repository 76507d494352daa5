/** Combine a Host with ~/.ssh/config: where to connect, as whom, with which keys, through which jumps. */
import { userInfo } from 'node:os';
import type { Host } from '@labrig/core';
import { ConfigError } from '@labrig/core';
import { expandIdentityFile, matchSshConfig, parseProxyJump } from './ssh-config.js';
import type { JumpSpec, SshConfig } from './ssh-config.js';

export interface ResolvedHost {
  /** Inventory name (for messages). */
  name: string;
  address: string;
  port: number;
  user: string;
  /** Explicit identity files: the Host's, then ssh config's (expanded). */
  identityFiles: string[];
  jump?: ResolvedHost;
  /** Pool key: `user@address:port`, plus ` via <jump key>`. */
  key: string;
}

export interface ResolveContext {
  config?: SshConfig;
  homeDir?: string;
  localUser?: string;
}

const MAX_JUMP_DEPTH = 8;

function defaultUser(ctx: ResolveContext): string {
  if (ctx.localUser) return ctx.localUser;
  try {
    return userInfo().username;
  } catch {
    return process.env['USER'] ?? 'root';
  }
}

/**
 * `visited`: aliases already on this jump chain; a ProxyJump leading back to one of them is ignored
 * (so `Host *` + `ProxyJump bastion` does not loop on the bastion itself).
 */
export function resolveHost(host: Host, ctx: ResolveContext = {}, depth = 0, visited: readonly string[] = []): ResolvedHost {
  if (depth > MAX_JUMP_DEPTH) {
    throw new ConfigError(ctx.config?.file ?? 'inventory', `${host.name}.jump`, 'ProxyJump chain too long (a loop?)');
  }
  const m = ctx.config ? matchSshConfig(ctx.config, host.address) : { identityFiles: [] as string[] };
  const address = m.hostName ?? host.address;
  const port = host.port ?? m.port ?? 22;
  const user = host.user ?? m.user ?? defaultUser(ctx);
  const tokens = { host: address, user, ...(ctx.homeDir ? { homeDir: ctx.homeDir } : {}), ...(ctx.localUser ? { localUser: ctx.localUser } : {}) };
  const identityFiles = [
    ...(host.identityFiles ?? []).map((f) => expandIdentityFile(f, tokens)),
    ...m.identityFiles.map((f) => expandIdentityFile(f, tokens)),
  ].filter((f, i, all) => all.indexOf(f) === i);

  let jump: ResolvedHost | undefined;
  const seen = [...visited, host.address];
  if (host.jump) jump = resolveHost(host.jump, ctx, depth + 1, seen);
  else if (m.proxyJump && !parseProxyJumpSafe(m.proxyJump).some((j) => seen.includes(j.host))) {
    let specs: JumpSpec[];
    try {
      specs = parseProxyJump(m.proxyJump);
    } catch (e) {
      throw new ConfigError(ctx.config?.file ?? 'ssh config', 'ProxyJump', (e as Error).message);
    }
    for (const spec of specs) {
      const jh: Host = { name: spec.host, address: spec.host, roles: [], labels: {} };
      if (spec.port !== undefined) jh.port = spec.port;
      if (spec.user !== undefined) jh.user = spec.user;
      // The first hop uses its own config (including its ProxyJump); later hops go through the previous one.
      const r = resolveHost(jh, ctx, depth + 1, [...seen, ...specs.map((x) => x.host)]);
      if (jump) {
        delete r.jump;
        r.jump = jump;
        r.key = poolKey(r.user, r.address, r.port, jump);
      }
      jump = r;
    }
  }
  const r: ResolvedHost = { name: host.name, address, port, user, identityFiles, key: poolKey(user, address, port, jump) };
  if (jump) r.jump = jump;
  return r;
}

function poolKey(user: string, address: string, port: number, jump: ResolvedHost | undefined): string {
  return `${user}@${address}:${port}${jump ? ` via ${jump.key}` : ''}`;
}

function parseProxyJumpSafe(spec: string): JumpSpec[] {
  try {
    return parseProxyJump(spec);
  } catch {
    return [];
  }
}
