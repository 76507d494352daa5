/**
 * Where a platform instance's files are. The platform context names the instance only through its
 * state folder (`.labrig/state/<name>`, as core's loadPlatform makes it); the platform file is
 * `configs/platforms/<name>/platform.toml` and the files it names are relative to that folder.
 */
import { basename, isAbsolute, join } from 'node:path';
import type { PlatformContext } from '@labrig/core';
import { PLATFORMS_DIR, platformFileOf, toDisplayPath } from '@labrig/core';

export interface PlatformFiles {
  /** The instance (folder) name. */
  name: string;
  /** Absolute platform folder. */
  dir: string;
  /** The platform file, relative to the workspace root (for messages). */
  file: string;
}

/** The platform folder and file of the instance `ctx` belongs to. */
export function platformFilesOf(ctx: PlatformContext): PlatformFiles {
  const name = basename(ctx.stateDir);
  return { name, dir: join(ctx.root, PLATFORMS_DIR, name), file: platformFileOf(name) };
}

/** A path from the platform file: absolute as is, `~/` from the user's home, else from the platform folder. */
export function resolveFromPlatformDir(files: PlatformFiles, p: string): string {
  if (p.startsWith('~/')) return join(process.env['HOME'] ?? '', p.slice(2));
  return isAbsolute(p) ? p : join(files.dir, p);
}

/** How a file is named in messages: relative to the workspace root when inside it. */
export function displayPathOf(ctx: PlatformContext, absolute: string): string {
  return toDisplayPath(absolute, ctx.root);
}
