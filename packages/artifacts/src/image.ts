/**
 * OCI images without a container engine: buildah builds FROM scratch into an `oci-archive`
 * (vfs storage in a private directory, chroot isolation, reproducible: fixed timestamps, owners
 * and no history, so the same inputs give the same manifest digest), and pushImage sends an
 * archive to a registry with skopeo, skipped when the registry already serves that digest.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { ImageBuildFailed, RegistryError } from './errors.js';
import { runTool, tail } from './local-tool.js';
import { DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST, readOciArchive } from './oci-archive.js';

export interface ImageFile {
  /** Local file (or directory, copied with its contents). */
  src: string;
  /** Absolute path inside the image. */
  dest: string;
  /** Permission bits in the image (default: the source file's). */
  mode?: number;
}

export interface BuildImageOptions {
  name: string;
  tag: string;
  files: ImageFile[];
  entrypoint: string[];
  env?: Record<string, string>;
  workdir?: string;
  /** The image config's architecture, OCI spelling (amd64, arm64). Default: buildah's, this machine's. */
  arch?: string;
  /** Where the archive is written (under dist/). Written to a temp name, then renamed. */
  outArchive: string;
  /** buildah storage (root and runroot). Default: a temp dir removed afterwards. */
  storageDir?: string;
  signal?: AbortSignal;
}

export interface BuildImageResult {
  archive: string;
  /** Manifest digest, `sha256:…`. */
  digest: string;
  configDigest: string;
}

const NAME_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const ENV_KEY_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Build a reproducible image FROM scratch with buildah and write it as an OCI archive. */
export async function buildImage(opts: BuildImageOptions): Promise<BuildImageResult> {
  const image = `${opts.name}:${opts.tag}`;
  validateBuild(opts, image);
  const modes: (number | undefined)[] = [];
  for (const f of opts.files) {
    let s;
    try {
      s = await stat(f.src);
    } catch (e) {
      throw new ImageBuildFailed(image, `file to copy ${f.src} (to ${f.dest}) is missing or unreadable`, { cause: e, hint: 'Build the file first (the build target) or fix its path in the system config.' });
    }
    modes.push(f.mode ?? (s.isFile() ? s.mode & 0o7777 : undefined));
  }

  const ownStorage = opts.storageDir === undefined;
  const storage = opts.storageDir ?? (await mkdtemp(path.join(tmpdir(), 'labrig-buildah-')));
  const global = ['--storage-driver', 'vfs', '--root', path.join(storage, 'root'), '--runroot', path.join(storage, 'run')];
  const env = { BUILDAH_ISOLATION: 'chroot' };
  const container = `labrig-${randomBytes(6).toString('hex')}`;
  const outArchive = path.resolve(opts.outArchive);
  const tmpArchive = path.join(path.dirname(outArchive), `.${path.basename(outArchive)}.tmp-${randomBytes(4).toString('hex')}`);

  const buildah = async (what: string, args: string[]): Promise<string> => {
    const r = await runTool('buildah', [...global, ...args], { env, ...(opts.signal ? { signal: opts.signal } : {}) });
    if (r.exitCode !== 0) throw new ImageBuildFailed(image, `buildah ${what} exited with ${r.exitCode}: ${tail(r.stderr) || tail(r.stdout)}`);
    return r.stdout.trim();
  };

  let created = false;
  try {
    await mkdir(path.dirname(outArchive), { recursive: true });
    await buildah('from', ['from', '--quiet', '--isolation', 'chroot', '--name', container, 'scratch']);
    created = true;
    for (const [i, f] of opts.files.entries()) {
      const mode = modes[i];
      await buildah(`copy ${f.src}`, ['copy', '--quiet', '--chown', '0:0', ...(mode !== undefined ? ['--chmod', mode.toString(8).padStart(4, '0')] : []), container, f.src, f.dest]);
    }
    const config = ['config', '--entrypoint', JSON.stringify(opts.entrypoint), '--os', 'linux'];
    for (const k of Object.keys(opts.env ?? {}).sort()) config.push('--env', `${k}=${(opts.env ?? {})[k] ?? ''}`);
    if (opts.workdir !== undefined) config.push('--workingdir', opts.workdir);
    if (opts.arch !== undefined) config.push('--arch', opts.arch);
    await buildah('config', [...config, container]);
    await buildah('commit', [
      'commit',
      '--quiet',
      '--format',
      'oci',
      '--timestamp',
      '0',
      '--omit-history',
      '--identity-label=false',
      '--rm',
      container,
      `oci-archive:${tmpArchive}:${image}`,
    ]);
    created = false;
    const info = await readOciArchive(tmpArchive);
    await rename(tmpArchive, outArchive);
    return { archive: outArchive, digest: info.digest, configDigest: info.configDigest };
  } finally {
    if (created) await runTool('buildah', [...global, 'rm', container], { env }).catch(() => undefined);
    await rm(tmpArchive, { force: true });
    if (ownStorage) await rm(storage, { recursive: true, force: true }).catch(() => undefined);
  }
}

function validateBuild(opts: BuildImageOptions, image: string): void {
  const bad = (problem: string, hint: string) => new ImageBuildFailed(image, problem, { hint });
  if (!NAME_RE.test(opts.name)) throw bad(`invalid image name ${JSON.stringify(opts.name)}`, 'Image names are lowercase letters and digits, separated by `.`, `_`, `-` or `/`.');
  if (!TAG_RE.test(opts.tag)) throw bad(`invalid tag ${JSON.stringify(opts.tag)}`, 'A tag has up to 128 letters, digits, `_`, `.` and `-`, and does not start with `.` or `-`.');
  if (opts.entrypoint.length === 0) throw bad('the entrypoint is empty', 'Give the program to run as the first element, e.g. ["/bin/server"].');
  if (opts.files.length === 0) throw bad('no files to copy', 'An image FROM scratch needs at least its program.');
  for (const f of opts.files) {
    if (!path.posix.isAbsolute(f.dest)) throw bad(`destination ${JSON.stringify(f.dest)} is not absolute`, 'Give paths inside the image starting with `/`.');
    if (f.mode !== undefined && (!Number.isInteger(f.mode) || f.mode < 0 || f.mode > 0o7777)) throw bad(`mode of ${f.dest} is not a permission value`, 'Use e.g. 0o755.');
  }
  for (const k of Object.keys(opts.env ?? {})) {
    if (!ENV_KEY_RE.test(k)) throw bad(`invalid environment variable name ${JSON.stringify(k)}`, 'Use letters, digits and `_`.');
  }
  if (path.resolve(opts.outArchive).includes(':')) {
    throw bad(`the archive path ${opts.outArchive} contains ':'`, 'The oci-archive transport splits on `:`; choose a path without one.');
  }
}

// --- push ------------------------------------------------------------------------------------

export interface PushImageOptions {
  archive: string;
  /** `host:port` of the registry. */
  registry: string;
  repository: string;
  tag: string;
  /** Verify TLS (https). Default true; a loopback registry (127.x, localhost, ::1) is always plain http. */
  tlsVerify?: boolean;
  signal?: AbortSignal;
}

export interface PushImageResult {
  /** `registry/repository@sha256:…`: the pinned reference to deploy. */
  reference: string;
  digest: string;
  /** false when the registry already served the digest (nothing uploaded). */
  pushed: boolean;
  /** true when only the tag had to be (re)pointed at the digest. */
  tagged: boolean;
}

const MANIFEST_ACCEPT = [OCI_MANIFEST, DOCKER_MANIFEST, OCI_INDEX, DOCKER_LIST].join(', ');
const REPO_RE = NAME_RE;

export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.replace(/^\[([^\]]+)\](?::\d+)?$/, '$1').replace(/:\d+$/, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Push an OCI archive to `registry/repository:tag`, unless the registry already has its digest. */
export async function pushImage(opts: PushImageOptions): Promise<PushImageResult> {
  if (!/^[A-Za-z0-9.-]+(?::\d+)?$|^\[[0-9a-fA-F:]+\](?::\d+)?$/.test(opts.registry)) {
    throw new RegistryError(opts.registry, 'not a registry address', { hint: 'Give host:port, without a scheme (e.g. 127.0.0.1:5000).' });
  }
  if (!REPO_RE.test(opts.repository)) throw new RegistryError(opts.registry, `invalid repository name ${JSON.stringify(opts.repository)}`, { hint: 'Repository names are lowercase letters and digits, separated by `.`, `_`, `-` or `/`.' });
  if (!TAG_RE.test(opts.tag)) throw new RegistryError(opts.registry, `invalid tag ${JSON.stringify(opts.tag)}`, { hint: 'A tag has up to 128 letters, digits, `_`, `.` and `-`.' });
  const info = await readOciArchive(opts.archive);
  const plainHttp = opts.tlsVerify === false || isLoopbackRegistry(opts.registry);
  const tlsVerify = !plainHttp;
  const reg = new RegistryClient(opts.registry, plainHttp ? 'http' : 'https', opts.signal);
  const reference = `${opts.registry}/${opts.repository}@${info.digest}`;

  const byDigest = await reg.headManifest(opts.repository, info.digest);
  if (byDigest.status === 200) {
    const byTag = await reg.headManifest(opts.repository, opts.tag);
    if (byTag.status === 200 && byTag.digest === info.digest) return { reference, digest: info.digest, pushed: false, tagged: false };
    // The content is there; only the tag is missing or points elsewhere: PUT the manifest under it.
    const put = await reg.putManifest(opts.repository, opts.tag, info.manifest, info.mediaType);
    if (put.ok) {
      await confirm(reg, opts, info.digest);
      return { reference, digest: info.digest, pushed: false, tagged: true };
    }
    // Refused (e.g. needs a login skopeo has): fall through to a full copy.
  }

  const r = await runTool(
    'skopeo',
    [
      ...(await policyArgs()),
      'copy',
      '--quiet',
      '--preserve-digests',
      `--dest-tls-verify=${tlsVerify}`,
      `oci-archive:${path.resolve(opts.archive)}`,
      `docker://${opts.registry}/${opts.repository}:${opts.tag}`,
    ],
    opts.signal ? { signal: opts.signal } : {},
  );
  if (r.exitCode !== 0) {
    const msg = tail(r.stderr) || tail(r.stdout);
    throw new RegistryError(opts.registry, `skopeo copy to ${opts.repository}:${opts.tag} exited with ${r.exitCode}: ${msg}`, {
      retryable: /connection refused|timeout|i\/o timeout|EOF|503|502/i.test(msg),
    });
  }
  await confirm(reg, opts, info.digest);
  return { reference, digest: info.digest, pushed: true, tagged: true };
}

/** After a push: the registry must serve the digest, and the tag must point at it. */
async function confirm(reg: RegistryClient, opts: PushImageOptions, digest: string): Promise<void> {
  const byDigest = await reg.headManifest(opts.repository, digest);
  if (byDigest.status === 401 || byDigest.status === 403) return; // cannot look without a login; skopeo reported success
  if (byDigest.status !== 200) {
    throw new RegistryError(reg.registry, `after the push, ${opts.repository}@${digest} is not served (HTTP ${byDigest.status})`, { retryable: true });
  }
  const byTag = await reg.headManifest(opts.repository, opts.tag);
  if (byTag.status === 200 && byTag.digest !== undefined && byTag.digest !== digest) {
    throw new RegistryError(reg.registry, `after the push, ${opts.repository}:${opts.tag} points at ${byTag.digest}, expected ${digest}`, {
      hint: 'Another push to the same tag may have raced this one; run again.',
      retryable: true,
    });
  }
}

/** skopeo needs a signature policy; supply an accept-anything one only when the machine has none. */
async function policyArgs(): Promise<string[]> {
  const candidates = [path.join(homedir(), '.config', 'containers', 'policy.json'), '/etc/containers/policy.json'];
  if (candidates.some((p) => existsSync(p))) return [];
  const file = path.join(tmpdir(), `labrig-skopeo-policy-${process.pid}.json`);
  await writeFile(file, '{"default":[{"type":"insecureAcceptAnything"}]}\n');
  return ['--policy', file];
}

/** The few registry API v2 calls pushImage needs (anonymous; skopeo handles logins). */
class RegistryClient {
  constructor(
    readonly registry: string,
    private readonly scheme: 'http' | 'https',
    private readonly signal: AbortSignal | undefined,
  ) {}

  async headManifest(repo: string, ref: string): Promise<{ status: number; digest?: string }> {
    const res = await this.request('HEAD', `/v2/${repo}/manifests/${ref}`, { Accept: MANIFEST_ACCEPT });
    const digest = res.headers.get('docker-content-digest') ?? undefined;
    if (res.status !== 200 && res.status !== 404 && res.status !== 401 && res.status !== 403) {
      throw new RegistryError(this.registry, `HEAD /v2/${repo}/manifests/${ref} answered HTTP ${res.status}`, { retryable: res.status >= 500 });
    }
    return digest !== undefined ? { status: res.status, digest } : { status: res.status };
  }

  async putManifest(repo: string, ref: string, body: Buffer, mediaType: string): Promise<{ ok: boolean }> {
    const res = await this.request('PUT', `/v2/${repo}/manifests/${ref}`, { 'Content-Type': mediaType }, body);
    return { ok: res.status === 201 || res.status === 200 };
  }

  private async request(method: string, p: string, headers: Record<string, string>, body?: Buffer): Promise<Response> {
    const url = `${this.scheme}://${this.registry}${p}`;
    const timeout = AbortSignal.timeout(15_000);
    try {
      const res = await fetch(url, {
        method,
        headers,
        ...(body ? { body } : {}),
        signal: this.signal ? AbortSignal.any([this.signal, timeout]) : timeout,
      });
      await res.arrayBuffer().catch(() => undefined);
      return res;
    } catch (e) {
      if (this.signal?.aborted) throw e;
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (e as Error).message;
      throw new RegistryError(this.registry, `unreachable (${method} ${url}: ${why})`, { cause: e, retryable: true });
    }
  }
}

