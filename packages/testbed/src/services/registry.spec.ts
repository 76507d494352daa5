import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestbedRegistry } from '../types.js';
import { pidAlive, readPidFile, which } from './common.js';
import { serviceStatus, startRegistry, stopServices } from './index.js';

const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';
const CONFIG_TYPE = 'application/vnd.oci.image.config.v1+json';
const LAYER_TYPE = 'application/vnd.oci.image.layer.v1.tar';

const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A tiny image: one uncompressed layer (a tar of one file), a config, a manifest. */
async function tinyImage(work: string) {
  const src = path.join(work, 'rootfs');
  await mkdir(src, { recursive: true });
  await writeFile(path.join(src, 'hello.txt'), 'hello from labrig\n');
  const layerFile = path.join(work, 'layer.tar');
  await execa('tar', ['-cf', layerFile, '-C', src, 'hello.txt']);
  const layer = await readFile(layerFile);
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['/hello.txt'] },
      rootfs: { type: 'layers', diff_ids: [sha256(layer)] },
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST_TYPE,
      config: { mediaType: CONFIG_TYPE, digest: sha256(config), size: config.length },
      layers: [{ mediaType: LAYER_TYPE, digest: sha256(layer), size: layer.length }],
    }),
  );
  return { layer, config, manifest };
}

/** Write the image as an OCI image layout directory (for skopeo's `oci:` transport). */
async function writeOciLayout(layout: string, img: Awaited<ReturnType<typeof tinyImage>>, tag: string) {
  const blobs = path.join(layout, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  for (const b of [img.layer, img.config, img.manifest]) {
    await writeFile(path.join(blobs, sha256(b).slice('sha256:'.length)), b);
  }
  await writeFile(path.join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    path.join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: MANIFEST_TYPE,
          digest: sha256(img.manifest),
          size: img.manifest.length,
          annotations: { 'org.opencontainers.image.ref.name': tag },
        },
      ],
    }),
  );
}

describe('startRegistry (docker-registry)', () => {
  let dir: string;
  let reg: TestbedRegistry;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'labrig-registry-'));
    const t = Date.now();
    reg = await startRegistry(dir);
    console.log(`docker-registry ready in ${Date.now() - t} ms at ${reg.url}`);
  });

  afterAll(async () => {
    await stopServices(dir);
    await rm(dir, { recursive: true, force: true });
  });

  it('GET /v2/ is 200', async () => {
    expect(reg.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(reg.url).toBe(`http://${reg.address}`);
    expect((await fetch(`${reg.url}/v2/`)).status).toBe(200);
  });

  it('is idempotent: a second start returns the same registry (same pid)', async () => {
    const pidFile = path.join(dir, 'services', 'registry', 'registry.pid');
    const pid = await readPidFile(pidFile);
    const t = Date.now();
    expect(await startRegistry(dir)).toEqual(reg);
    console.log(`registry second start (already running) in ${Date.now() - t} ms`);
    expect(await readPidFile(pidFile)).toBe(pid);
    expect((await serviceStatus(dir)).registry).toMatchObject({ running: true, endpoint: reg.url });
  });

  it('takes a push through the HTTP API (blob upload + manifest), serves it, deletes it', async () => {
    const work = await mkdtemp(path.join(os.tmpdir(), 'labrig-img-'));
    try {
      const img = await tinyImage(work);
      for (const blob of [img.layer, img.config]) {
        const start = await fetch(`${reg.url}/v2/api/blobs/uploads/`, { method: 'POST' });
        expect(start.status).toBe(202);
        const loc = new URL(start.headers.get('location') ?? '', reg.url);
        loc.searchParams.set('digest', sha256(blob));
        const put = await fetch(loc, {
          method: 'PUT',
          body: blob,
          headers: { 'content-type': 'application/octet-stream' },
        });
        expect(put.status).toBe(201);
      }
      const putManifest = await fetch(`${reg.url}/v2/api/manifests/v1`, {
        method: 'PUT',
        body: img.manifest,
        headers: { 'content-type': MANIFEST_TYPE },
      });
      expect(putManifest.status).toBe(201);
      const digest = sha256(img.manifest);
      expect(putManifest.headers.get('docker-content-digest')).toBe(digest);

      const get = await fetch(`${reg.url}/v2/api/manifests/v1`, { headers: { accept: MANIFEST_TYPE } });
      expect(get.status).toBe(200);
      expect(Buffer.from(await get.arrayBuffer()).equals(img.manifest)).toBe(true);
      const blob = await fetch(`${reg.url}/v2/api/blobs/${sha256(img.layer)}`);
      expect(blob.status).toBe(200);
      expect(Buffer.from(await blob.arrayBuffer()).equals(img.layer)).toBe(true);

      // delete is enabled
      expect((await fetch(`${reg.url}/v2/api/manifests/${digest}`, { method: 'DELETE' })).status).toBe(202);
      expect((await fetch(`${reg.url}/v2/api/manifests/v1`, { headers: { accept: MANIFEST_TYPE } })).status).toBe(404);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });

  it('takes a real push with skopeo from a hand-built OCI layout (when skopeo is installed)', async (ctx) => {
    const skopeo = await which('skopeo');
    if (!skopeo) {
      ctx.skip(); // apt-get install -y skopeo
      return;
    }
    const work = await mkdtemp(path.join(os.tmpdir(), 'labrig-oci-'));
    try {
      const img = await tinyImage(work);
      const layout = path.join(work, 'layout');
      await writeOciLayout(layout, img, 'tag1');
      const t = Date.now();
      await execa(skopeo, [
        '--insecure-policy',
        'copy',
        '--dest-tls-verify=false',
        `oci:${layout}:tag1`,
        `docker://${reg.address}/x:tag1`,
      ]);
      console.log(`skopeo push in ${Date.now() - t} ms`);
      const res = await fetch(`${reg.url}/v2/x/manifests/tag1`, { headers: { accept: MANIFEST_TYPE } });
      expect(res.status).toBe(200);
      // skopeo may recompress the layer (new manifest digest); the config blob is kept as is.
      const pushed = (await res.json()) as { config: { digest: string }; layers: unknown[] };
      expect(pushed.config.digest).toBe(sha256(img.config));
      expect(pushed.layers).toHaveLength(1);
      const tags = (await (await fetch(`${reg.url}/v2/x/tags/list`)).json()) as { tags: string[] };
      expect(tags.tags).toContain('tag1');
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });

  it('stops by pid file, safe twice', async () => {
    const pid = await readPidFile(path.join(dir, 'services', 'registry', 'registry.pid'));
    expect(pid).toBeDefined();
    await stopServices(dir);
    await stopServices(dir);
    expect(pidAlive(pid as number)).toBe(false);
    expect((await serviceStatus(dir)).registry.running).toBe(false);
    expect((await fetch(`${reg.url}/v2/`).catch(() => undefined))?.status).toBeUndefined();
  });
});
