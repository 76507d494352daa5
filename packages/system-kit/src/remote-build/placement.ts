/**
 * Where a system's build runs on a platform, from the files alone (no host is contacted): the
 * system file's `[build] on` / `arch`, else the platform file's `[build] host` / `arch`. Read while
 * Nx builds the graph (each platform where the build is remote gets a `build` configuration whose
 * options carry the host and the architecture, so both are part of the build's Nx hash) and again
 * by the build executor for its messages. Light on purpose: node:fs and smol-toml only.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'smol-toml';
import { platformFileOf } from '@labrig/core/platform-list';
import { normalizeArch } from './arch.js';

export interface BuildPlacement {
  platform: string;
  /** Host name or role to build on. */
  on: string;
  /** Where `on` is declared. */
  onFrom: { file: string; field: string };
  /** The declared architecture (`uname -m` spelling), when declared. */
  arch?: string;
  /** Where `arch` is declared, or where it should be. */
  archFrom: { file: string; field: string };
}

/** The `[build]` table of a TOML file, or {} (an unreadable or invalid file is reported by whoever loads it). */
function buildTableOf(path: string): { on?: unknown; host?: unknown; arch?: unknown } {
  try {
    const doc = parse(readFileSync(path, 'utf8')) as { build?: unknown };
    return doc.build && typeof doc.build === 'object' ? (doc.build as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/**
 * The build's placement on `platform`, or undefined when it runs on the controller.
 * `systemBuild` is the system file's `[build]` table as parsed (graph) or loaded (executor).
 */
export function readBuildPlacement(root: string, systemFile: string, systemBuild: { on?: unknown; arch?: unknown } | undefined, platform: string): BuildPlacement | undefined {
  const platformFile = platformFileOf(platform);
  const p = buildTableOf(join(root, platformFile));
  const sysOn = typeof systemBuild?.on === 'string' && systemBuild.on !== '' ? systemBuild.on : undefined;
  const platOn = typeof p.host === 'string' && p.host !== '' ? p.host : undefined;
  const on = sysOn ?? platOn;
  if (on === undefined) return undefined;
  const sysArch = typeof systemBuild?.arch === 'string' && systemBuild.arch !== '' ? systemBuild.arch : undefined;
  const platArch = typeof p.arch === 'string' && p.arch !== '' ? p.arch : undefined;
  const arch = sysArch ?? platArch;
  return {
    platform,
    on,
    onFrom: sysOn !== undefined ? { file: systemFile, field: 'build.on' } : { file: platformFile, field: 'build.host' },
    ...(arch !== undefined ? { arch: normalizeArch(arch) } : {}),
    archFrom: sysArch !== undefined ? { file: systemFile, field: 'build.arch' } : { file: platformFile, field: 'build.arch' },
  };
}

/**
 * The `build` target's Nx configurations: one per platform where the build is remote, its options
 * the platform, the host and the architecture (Nx hashes a task's configuration, so two arches of
 * the same sources are two cache entries). Platforms that build on the controller get none: their
 * builds share one cache entry, as before.
 */
export function buildTargetConfigurations(root: string, systemFile: string, systemBuild: { on?: unknown; arch?: unknown } | undefined, platforms: readonly string[]): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const platform of platforms) {
    const p = readBuildPlacement(root, systemFile, systemBuild, platform);
    if (p) out[platform] = { platform, buildOn: p.on, ...(p.arch !== undefined ? { arch: p.arch } : {}) };
  }
  return out;
}
