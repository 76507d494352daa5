/**
 * Read an OCI archive (`oci-archive:` transport: a tar of an OCI image layout) without unpacking
 * it: the tar headers are walked with positioned reads, then index.json, the manifest and the
 * config are read and checked against their digests. Layer blobs are checked for presence and
 * size only (they can be large; skopeo verifies them when it copies).
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { ImageArchiveInvalid } from './errors.js';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';

export interface OciArchiveInfo {
  /** Digest of the manifest (`sha256:…`): what a registry serves it under. */
  digest: string;
  mediaType: string;
  /** The manifest exactly as stored (its sha256 is `digest`). */
  manifest: Buffer;
  configDigest: string;
  layers: { digest: string; size: number; mediaType: string }[];
  /** `org.opencontainers.image.ref.name` of the manifest in index.json (e.g. `demo:1`), when set. */
  refName?: string;
}

interface TarEntry {
  offset: number;
  size: number;
}

const BLOCK = 512;
const MAX_SMALL = 4 * 1024 * 1024;
const DIGEST_RE = /^sha256:([0-9a-f]{64})$/;

/** Read and check an OCI archive's index, manifest and config. Throws ImageArchiveInvalid. */
export async function readOciArchive(archive: string, opts: { refName?: string } = {}): Promise<OciArchiveInfo> {
  let fh: FileHandle;
  try {
    fh = await open(archive, 'r');
  } catch (e) {
    throw new ImageArchiveInvalid(archive, `cannot open it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
  }
  try {
    const entries = await listTar(fh, archive);
    const readSmall = async (name: string, what: string): Promise<Buffer> => {
      const ent = entries.get(name);
      if (!ent) throw new ImageArchiveInvalid(archive, `${what} (${name}) is missing`);
      if (ent.size > MAX_SMALL) throw new ImageArchiveInvalid(archive, `${what} (${name}) is ${ent.size} bytes, too large`);
      const buf = Buffer.alloc(ent.size);
      const { bytesRead } = await fh.read(buf, 0, ent.size, ent.offset);
      if (bytesRead !== ent.size) throw new ImageArchiveInvalid(archive, `${what} (${name}) is truncated`);
      return buf;
    };
    const readBlob = async (digest: string, size: number | undefined, what: string): Promise<Buffer> => {
      const hex = DIGEST_RE.exec(digest)?.[1];
      if (!hex) throw new ImageArchiveInvalid(archive, `${what} has an unsupported digest ${JSON.stringify(digest)}`);
      const buf = await readSmall(`blobs/sha256/${hex}`, what);
      const got = createHash('sha256').update(buf).digest('hex');
      if (got !== hex) throw new ImageArchiveInvalid(archive, `${what} blob has sha256 ${got}, expected ${hex}`);
      if (size !== undefined && size !== buf.length) throw new ImageArchiveInvalid(archive, `${what} is ${buf.length} bytes, the index says ${size}`);
      return buf;
    };

    const index = parseJson(await readSmall('index.json', 'index.json'), archive, 'index.json') as {
      manifests?: { mediaType?: string; digest?: string; size?: number; annotations?: Record<string, string> }[];
    };
    const manifests = Array.isArray(index.manifests) ? index.manifests : [];
    if (manifests.length === 0) throw new ImageArchiveInvalid(archive, 'index.json lists no manifest');
    let desc = manifests[0];
    if (opts.refName !== undefined) {
      desc = manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === opts.refName);
      if (!desc) throw new ImageArchiveInvalid(archive, `no image named ${opts.refName} in it`);
    } else if (manifests.length > 1) {
      throw new ImageArchiveInvalid(archive, `it holds ${manifests.length} images; name the one to use`);
    }
    if (!desc?.digest) throw new ImageArchiveInvalid(archive, 'index.json: the manifest entry has no digest');
    const manifest = await readBlob(desc.digest, desc.size, 'the manifest');
    const m = parseJson(manifest, archive, 'the manifest') as {
      mediaType?: string;
      config?: { digest?: string; size?: number };
      layers?: { digest?: string; size?: number; mediaType?: string }[];
    };
    const mediaType = desc.mediaType ?? m.mediaType ?? OCI_MANIFEST;
    if (mediaType !== OCI_MANIFEST && mediaType !== DOCKER_MANIFEST) {
      throw new ImageArchiveInvalid(archive, `the manifest has media type ${mediaType}; only single-platform image manifests are supported`);
    }
    if (!m.config?.digest) throw new ImageArchiveInvalid(archive, 'the manifest names no config');
    await readBlob(m.config.digest, m.config.size, 'the image config');
    const layers: OciArchiveInfo['layers'] = [];
    for (const [i, l] of (m.layers ?? []).entries()) {
      const hex = DIGEST_RE.exec(l.digest ?? '')?.[1];
      if (!hex || typeof l.size !== 'number') throw new ImageArchiveInvalid(archive, `layer ${i} has no valid digest or size`);
      const ent = entries.get(`blobs/sha256/${hex}`);
      if (!ent) throw new ImageArchiveInvalid(archive, `layer ${i} (${l.digest}) is missing`);
      if (ent.size !== l.size) throw new ImageArchiveInvalid(archive, `layer ${i} (${l.digest}) is ${ent.size} bytes, the manifest says ${l.size}`);
      layers.push({ digest: l.digest as string, size: l.size, mediaType: l.mediaType ?? '' });
    }
    const refName = desc.annotations?.['org.opencontainers.image.ref.name'];
    return {
      digest: desc.digest,
      mediaType,
      manifest,
      configDigest: m.config.digest,
      layers,
      ...(refName !== undefined ? { refName } : {}),
    };
  } finally {
    await fh.close();
  }
}

function parseJson(buf: Buffer, archive: string, what: string): unknown {
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch (e) {
    throw new ImageArchiveInvalid(archive, `${what} is not valid JSON`, { cause: e });
  }
}

/** Regular files of a tar (ustar, pax and GNU long names), by normalized path. */
async function listTar(fh: FileHandle, archive: string): Promise<Map<string, TarEntry>> {
  const { size: fileSize } = await fh.stat();
  const out = new Map<string, TarEntry>();
  const header = Buffer.alloc(BLOCK);
  let pos = 0;
  let longName: string | undefined;
  let paxPath: string | undefined;
  let sawEnd = false;
  while (pos + BLOCK <= fileSize) {
    const { bytesRead } = await fh.read(header, 0, BLOCK, pos);
    if (bytesRead !== BLOCK) break;
    if (header.every((b) => b === 0)) {
      sawEnd = true;
      break;
    }
    if (!checksumOk(header)) throw new ImageArchiveInvalid(archive, `bad tar header at byte ${pos} (not a tar, or corrupt)`);
    const size = parseOctal(header.subarray(124, 136));
    const type = String.fromCharCode(header[156] ?? 0);
    const dataOffset = pos + BLOCK;
    if (dataOffset + size > fileSize) throw new ImageArchiveInvalid(archive, `truncated: an entry at byte ${pos} runs past the end of the file`);
    const readData = async (): Promise<string> => {
      const b = Buffer.alloc(size);
      await fh.read(b, 0, size, dataOffset);
      return b.toString('utf8');
    };
    if (type === 'L') {
      longName = (await readData()).replace(/\0.*$/s, '');
    } else if (type === 'x') {
      paxPath = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(await readData())?.[1];
    } else {
      const name = longName ?? paxPath ?? ustarName(header);
      longName = undefined;
      paxPath = undefined;
      if (type === '0' || type === '\0' || type === '7') out.set(name.replace(/^(\.\/)+/, ''), { offset: dataOffset, size });
    }
    pos = dataOffset + Math.ceil(size / BLOCK) * BLOCK;
  }
  if (!sawEnd && out.size === 0) throw new ImageArchiveInvalid(archive, fileSize === 0 ? 'the file is empty' : 'no tar entries found');
  return out;
}

function ustarName(h: Buffer): string {
  const str = (a: number, b: number) => h.subarray(a, b).toString('utf8').replace(/\0.*$/s, '');
  const name = str(0, 100);
  const magic = h.subarray(257, 262).toString('latin1');
  const prefix = magic === 'ustar' ? str(345, 500) : '';
  return prefix ? `${prefix}/${name}` : name;
}

function parseOctal(b: Buffer): number {
  if ((b[0] ?? 0) & 0x80) {
    // base-256 (GNU) for big sizes
    let n = 0;
    for (let i = 1; i < b.length; i++) n = n * 256 + (b[i] ?? 0);
    return n;
  }
  const s = b.toString('latin1').replace(/\0.*$/s, '').trim();
  return s === '' ? 0 : Number.parseInt(s, 8);
}

function checksumOk(h: Buffer): boolean {
  const stored = parseOctal(h.subarray(148, 156));
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : (h[i] ?? 0);
  return sum === stored;
}
