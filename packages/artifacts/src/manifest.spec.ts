import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError } from '@labrig/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson, manifestDigest, manifestPath, readManifest, writeManifest } from './manifest.js';
import type { ArtifactManifest } from './manifest.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'labrig-artifacts-manifest-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const m: ArtifactManifest = {
  system: 'demo',
  version: '1.2.0',
  files: [
    { name: 'server', path: 'dist/targets/demo/server', sha256: '1'.repeat(64), size: 10 },
    { name: 'client', path: 'dist/targets/demo/client', sha256: '2'.repeat(64), size: 20 },
  ],
  images: [{ name: 'demo/server', tag: 'v1', archive: 'dist/targets/demo/server.oci.tar', digest: `sha256:${'3'.repeat(64)}` }],
};

describe('artifact manifest', () => {
  it('writes and reads dist/<project>/artifacts.json', async () => {
    const file = manifestPath(path.join(dir, 'dist'), 'targets/demo');
    expect(file).toBe(path.join(dir, 'dist', 'targets', 'demo', 'artifacts.json'));
    await writeManifest(file, m);
    expect(await readManifest(file)).toEqual(m);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual(m);
    expect(await readManifest(path.join(dir, 'none.json'))).toBeUndefined();
  });

  it('names the bad field of an invalid manifest', async () => {
    const file = path.join(dir, 'bad.json');
    await writeFile(file, JSON.stringify({ ...m, files: [{ ...m.files[0], sha256: 'xyz' }] }));
    const err = await readManifest(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).field).toBe('files[0].sha256');
    await writeFile(file, '{ not json');
    await expect(readManifest(file)).rejects.toBeInstanceOf(ConfigError);
    await expect(writeManifest(file, { ...m, images: [{ ...m.images[0]!, digest: 'sha256:short' }] })).rejects.toThrow(/images\[0\]\.digest/);
  });

  it('digests the content: stable under reordering and moved paths, changed by any digest', () => {
    const d = manifestDigest(m);
    expect(d).toMatch(/^[0-9a-f]{64}$/);
    const reordered: ArtifactManifest = {
      images: m.images,
      files: [...m.files].reverse().map((f) => ({ size: f.size, sha256: f.sha256, path: `/elsewhere/${f.name}`, name: f.name })),
      version: m.version,
      system: m.system,
    };
    expect(manifestDigest(reordered)).toBe(d);
    expect(manifestDigest({ ...m, files: [{ ...m.files[0]!, sha256: '4'.repeat(64) }, m.files[1]!] })).not.toBe(d);
    expect(manifestDigest({ ...m, images: [{ ...m.images[0]!, digest: `sha256:${'5'.repeat(64)}` }] })).not.toBe(d);
    expect(manifestDigest({ ...m, version: '1.2.1' })).not.toBe(d);
  });

  it('canonical JSON sorts keys', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 'x', c: null }], e: undefined })).toBe('{"a":[{"c":null,"d":"x"}],"b":1}');
  });
});
