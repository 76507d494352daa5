/**
 * Images for real: buildah builds FROM scratch around a static binary (twice: same digest),
 * skopeo pushes to the testbed's OCI registry (once: pushed; again: skipped; a new tag: only
 * tagged), `skopeo inspect` sees the digest, and broken inputs fail with clear errors.
 */
import { mkdtemp, readFile, rm, truncate, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageArchiveInvalid, ImageBuildFailed, RegistryError, ToolMissing } from './errors.js';
import { buildImage, isLoopbackRegistry, pushImage } from './image.js';
import type { BuildImageOptions } from './image.js';
import { readOciArchive } from './oci-archive.js';
import { useTestbed } from './testing/testbed.js';

const tb = useTestbed('image', { hosts: 1, addressBase: '127.0.50.20', registry: true });

let work: string;
let binary: string;
let archive: string;
let digest: string;

const spec = (out: string, extra: Partial<BuildImageOptions> = {}): BuildImageOptions => ({
  name: 'labrig/hello',
  tag: 'v1',
  files: [
    { src: binary, dest: '/bin/hello', mode: 0o755 },
    { src: path.join(work, 'hello.conf'), dest: '/etc/hello.conf' },
  ],
  entrypoint: ['/bin/hello'],
  env: { Z_LAST: 'z', GREETING: 'hi there' },
  workdir: '/',
  outArchive: out,
  ...extra,
});

function registry(): string {
  const r = tb.state.registry;
  if (!r) throw new Error('no registry');
  return r.address;
}

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'labrig-artifacts-image-'));
  await writeFile(path.join(work, 'hello.c'), '#include <stdio.h>\nint main(void){puts("hello from labrig");return 0;}\n');
  binary = path.join(work, 'hello');
  await execa('gcc', ['-static', '-O2', '-o', binary, path.join(work, 'hello.c')]);
  await writeFile(path.join(work, 'hello.conf'), 'greeting = "hi"\n', { mode: 0o640 });
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('buildImage', () => {
  it('builds the same digest twice from the same inputs (reproducible)', async () => {
    const t0 = performance.now();
    const a = await buildImage(spec(path.join(work, 'dist', 'a', 'hello.oci.tar')));
    const t1 = performance.now();
    // Touch the inputs (new mtimes), other storage, other output path: nothing of that may matter.
    await copyFile(binary, `${binary}.tmp`);
    await rm(binary);
    await copyFile(`${binary}.tmp`, binary);
    const b = await buildImage(spec(path.join(work, 'dist', 'b', 'hello.oci.tar'), { storageDir: path.join(work, 'storage-b') }));
    console.log(`image build: ${(t1 - t0).toFixed(0)} ms (first), ${(performance.now() - t1).toFixed(0)} ms (second)`);
    expect(a.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(b.digest).toBe(a.digest);
    expect(b.configDigest).toBe(a.configDigest);

    // The digest is the sha256 of the raw manifest skopeo reads from the archive.
    const raw = await execa('skopeo', ['inspect', '--raw', `oci-archive:${a.archive}`], { encoding: 'buffer' });
    expect(`sha256:${createHash('sha256').update(raw.stdout).digest('hex')}`).toBe(a.digest);
    const cfg = JSON.parse((await execa('skopeo', ['inspect', '--config', `oci-archive:${a.archive}`])).stdout) as {
      created: string;
      config: { Entrypoint: string[]; Env: string[]; WorkingDir: string };
      history?: unknown[];
    };
    expect(cfg.created).toBe('1970-01-01T00:00:00Z');
    expect(cfg.config.Entrypoint).toEqual(['/bin/hello']);
    expect(cfg.config.Env).toEqual(['GREETING=hi there', 'Z_LAST=z']);
    expect(cfg.history ?? []).toEqual([]);
    archive = a.archive;
    digest = a.digest;

    // The layer holds the files owned by root, with the asked modes and the fixed mtime.
    const info = await readOciArchive(archive);
    expect(info.layers).toHaveLength(1);
    const layerHex = info.layers[0]?.digest.slice('sha256:'.length) ?? '';
    const x = path.join(work, 'x');
    await execa('mkdir', ['-p', x]);
    await execa('tar', ['-xf', archive, '-C', x]);
    const listing = (await execa('tar', ['-tvf', path.join(x, 'blobs', 'sha256', layerHex)])).stdout;
    expect(listing).toMatch(/-rwxr-xr-x 0\/0 +\d+ 1970-01-01 00:00 bin\/hello/);
    expect(listing).toMatch(/-rw-r----- 0\/0 +\d+ 1970-01-01 00:00 etc\/hello.conf/);
  });

  it('changes the digest when an input changes', async () => {
    const c = await buildImage(spec(path.join(work, 'dist', 'c', 'hello.oci.tar'), { env: { GREETING: 'other' } }));
    expect(c.digest).not.toBe(digest);
  });

  it('names a missing input file', async () => {
    const err = await buildImage(
      spec(path.join(work, 'dist', 'd.tar'), { files: [{ src: path.join(work, 'nope'), dest: '/bin/nope' }] }),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageBuildFailed);
    expect((err as Error).message).toContain(path.join(work, 'nope'));
  });

  it('says which package to install when buildah is missing', async () => {
    const saved = process.env.PATH;
    process.env.PATH = path.join(work, 'empty-bin');
    try {
      const err = await buildImage(spec(path.join(work, 'dist', 'e.tar'))).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ToolMissing);
      expect((err as ToolMissing).hint).toContain('apt-get install -y buildah');
    } finally {
      process.env.PATH = saved;
    }
  });
});

describe('pushImage', () => {
  it('pushes, then skips, and the registry serves the digest', async () => {
    const reg = registry();
    expect(isLoopbackRegistry(reg)).toBe(true);
    const t0 = performance.now();
    // tlsVerify true as a caller may pass it: a loopback registry is plain http all the same.
    const first = await pushImage({ archive, registry: reg, repository: 'labrig/hello', tag: 'v1', tlsVerify: true });
    console.log(`image push: ${(performance.now() - t0).toFixed(0)} ms`);
    expect(first).toEqual({ reference: `${reg}/labrig/hello@${digest}`, digest, pushed: true, tagged: true });

    const t1 = performance.now();
    const again = await pushImage({ archive, registry: reg, repository: 'labrig/hello', tag: 'v1' });
    console.log(`image push (already there): ${(performance.now() - t1).toFixed(0)} ms`);
    expect(again).toMatchObject({ digest, pushed: false, tagged: false });

    const inspect = JSON.parse((await execa('skopeo', ['inspect', '--tls-verify=false', `docker://${reg}/labrig/hello:v1`])).stdout) as { Digest: string };
    expect(inspect.Digest).toBe(digest);
  });

  it('only points a new tag at a digest the registry already has', async () => {
    const reg = registry();
    const r = await pushImage({ archive, registry: reg, repository: 'labrig/hello', tag: 'latest' });
    expect(r).toMatchObject({ digest, pushed: false, tagged: true });
    const res = await fetch(`http://${reg}/v2/labrig/hello/manifests/latest`, {
      method: 'HEAD',
      headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    expect(res.headers.get('docker-content-digest')).toBe(digest);
  });

  it('refuses a corrupt archive with a clear error', async () => {
    const bad = path.join(work, 'bad.tar');
    await writeFile(bad, 'this is not a tar file'.repeat(100));
    const err = await pushImage({ archive: bad, registry: registry(), repository: 'labrig/bad', tag: 'v1' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageArchiveInvalid);
    expect((err as Error).message).toContain(bad);

    const cut = path.join(work, 'cut.tar');
    await copyFile(archive, cut);
    const size = (await readFile(cut)).length;
    await truncate(cut, Math.floor(size / 2));
    await expect(readOciArchive(cut)).rejects.toBeInstanceOf(ImageArchiveInvalid);
  });

  it('reports a registry that does not answer', async () => {
    const err = await pushImage({ archive, registry: '127.0.0.1:1', repository: 'labrig/hello', tag: 'v1' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as Error).message).toMatch(/unreachable/);
  });
});
