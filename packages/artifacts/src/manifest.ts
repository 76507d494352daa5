/**
 * The artifact manifest of a built project, `dist/<project>/artifacts.json`: what `build` made
 * (files and OCI images, by digest) and what `push` and `deploy` use.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, sha256Hex } from '@labrig/core';

export interface ArtifactFile {
  /** Name of the artifact (unique in the manifest), e.g. `server`. */
  name: string;
  /** Local path of the file, relative to the workspace root (or absolute). */
  path: string;
  sha256: string;
  size: number;
}

export interface ArtifactImage {
  name: string;
  tag: string;
  /** Local path of the OCI archive. */
  archive: string;
  /** Manifest digest, `sha256:…`. */
  digest: string;
}

export interface ArtifactManifest {
  system: string;
  version: string;
  files: ArtifactFile[];
  images: ArtifactImage[];
}

export const MANIFEST_FILE = 'artifacts.json';

/** `<distDir>/<project>/artifacts.json` (distDir: the workspace's `dist`). */
export function manifestPath(distDir: string, project: string): string {
  return path.join(distDir, project, MANIFEST_FILE);
}

/** Write the manifest (atomically: temp file, then rename). Validates it first. */
export async function writeManifest(file: string, m: ArtifactManifest): Promise<void> {
  validateManifest(m, file);
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(tmp, `${JSON.stringify(m, null, 2)}\n`);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** Read and validate a manifest; undefined when the file does not exist. */
export async function readManifest(file: string): Promise<ArtifactManifest | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(file, '', `not valid JSON: ${(e as Error).message}`, {
      hint: `Run the project's build target again: it rewrites ${path.basename(file)}.`,
      cause: e,
    });
  }
  return validateManifest(value, file);
}

/** Check the shape of a manifest; throws ConfigError naming the field. */
export function validateManifest(value: unknown, file = MANIFEST_FILE): ArtifactManifest {
  const hint = `Run the project's build target again: it rewrites ${path.basename(file)}.`;
  const fail = (field: string, problem: string): never => {
    throw new ConfigError(file, field, problem, { hint });
  };
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const str = (o: Record<string, unknown>, k: string, at: string, re?: RegExp): void => {
    const v = o[k];
    if (typeof v !== 'string' || v === '') fail(`${at}${k}`, `expected a non-empty string, got ${JSON.stringify(v)}`);
    else if (re && !re.test(v)) fail(`${at}${k}`, `${JSON.stringify(v)} does not match ${re}`);
  };
  if (!isObj(value)) return fail('', 'expected an object');
  str(value, 'system', '');
  str(value, 'version', '');
  if (!Array.isArray(value.files)) fail('files', 'expected an array');
  if (!Array.isArray(value.images)) fail('images', 'expected an array');
  const names = new Set<string>();
  (value.files as unknown[]).forEach((f, i) => {
    const at = `files[${i}].`;
    if (!isObj(f)) return fail(`files[${i}]`, 'expected an object');
    str(f, 'name', at);
    str(f, 'path', at);
    str(f, 'sha256', at, /^[0-9a-f]{64}$/);
    if (typeof f.size !== 'number' || !Number.isInteger(f.size) || f.size < 0) fail(`${at}size`, 'expected a byte count');
    if (names.has(f.name as string)) fail(`${at}name`, `duplicate file name ${JSON.stringify(f.name)}`);
    names.add(f.name as string);
  });
  (value.images as unknown[]).forEach((im, i) => {
    const at = `images[${i}].`;
    if (!isObj(im)) return fail(`images[${i}]`, 'expected an object');
    str(im, 'name', at);
    str(im, 'tag', at);
    str(im, 'archive', at);
    str(im, 'digest', at, /^sha256:[0-9a-f]{64}$/);
  });
  return value as unknown as ArtifactManifest;
}

/**
 * A stable sha256 of the manifest's content, for deploy stamps: system, version, each file's
 * name, sha256 and size, each image's name, tag and digest. Local locations (`path`, `archive`)
 * are left out, and files and images are sorted, so moving `dist/` or reordering changes nothing.
 */
export function manifestDigest(m: ArtifactManifest): string {
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const content = {
    system: m.system,
    version: m.version,
    files: m.files.map((f) => ({ name: f.name, sha256: f.sha256, size: f.size })).sort((a, b) => cmp(a.name, b.name) || cmp(a.sha256, b.sha256)),
    images: m.images
      .map((i) => ({ name: i.name, tag: i.tag, digest: i.digest }))
      .sort((a, b) => cmp(a.name, b.name) || cmp(a.tag, b.tag) || cmp(a.digest, b.digest)),
  };
  return sha256Hex(canonicalJson(content));
}

/** JSON with object keys sorted (byte order), no whitespace: one text per value. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}
