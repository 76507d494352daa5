/**
 * Nx itself against the server: two clones of a workspace, each with its own empty local cache,
 * pointed at one server and bucket. The first builds the demo and uploads; the second restores the
 * build from the server without compiling; a clone with a wrong token is refused (401) and Nx
 * still completes the build locally. Real Nx CLI, real S3 API server, real compiler (wrapped to
 * count its calls).
 */
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { down, up } from '@labrig/testbed';
import { readConfig } from './config.js';
import { createCacheServer } from './server.js';
import { createS3Storage, type EntryStorage } from './storage.js';

const workspace = join(import.meta.dirname, '../../..');
const nxBin = join(workspace, 'node_modules/nx/dist/bin/nx.js');
const WRITE = 'labrig-test-write-token-0123456789';
let tb: string;
let work: string;
let server: { url: string; close: () => Promise<void>; storage: EntryStorage; logs: string[] };

async function git(cwd: string, ...args: string[]): Promise<void> {
  await execa('git', args, { cwd });
}

/** The demo as its own small workspace (a git repo), like a user's checkout. */
async function makeOrigin(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  for (const f of ['nx.json', 'package.json', 'tsconfig.base.json', 'targets/demo/system.toml', 'configs/platforms/local/platform.toml']) {
    mkdirSync(join(dir, f, '..'), { recursive: true });
    cpSync(join(workspace, f), join(dir, f));
  }
  cpSync(join(workspace, 'targets/demo/src'), join(dir, 'targets/demo/src'), { recursive: true });
  writeFileSync(join(dir, '.gitignore'), 'node_modules\ndist\n.nx\n.bin\n');
  await git(dir, 'init', '-q');
  await git(dir, '-c', 'user.name=t', '-c', 'user.email=t@labrig.invalid', 'add', '-A');
  await git(dir, '-c', 'user.name=t', '-c', 'user.email=t@labrig.invalid', 'commit', '-qm', 'demo');
}

/** A clone with node_modules linked, a cc that logs its calls, its own empty Nx cache. */
async function makeClone(origin: string, dir: string): Promise<{ dir: string; compiles: () => string[] }> {
  await execa('git', ['clone', '-q', origin, dir]);
  symlinkSync(join(workspace, 'node_modules'), join(dir, 'node_modules'));
  const realCc = (await execa('sh', ['-c', 'command -v cc'])).stdout.trim();
  mkdirSync(join(dir, '.bin'));
  writeFileSync(join(dir, '.bin/cc'), `#!/bin/sh\necho "$*" >> '${join(dir, '.bin/cc.log')}'\nexec '${realCc}' "$@"\n`);
  chmodSync(join(dir, '.bin/cc'), 0o755);
  return { dir, compiles: () => (existsSync(join(dir, '.bin/cc.log')) ? readFileSync(join(dir, '.bin/cc.log'), 'utf8').split('\n').filter(Boolean) : []) };
}

async function build(clone: { dir: string }, token: string): Promise<{ code: number; out: string }> {
  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => !e[0].startsWith('NX_') && e[1] !== undefined)),
    PATH: `${join(clone.dir, '.bin')}:${process.env['PATH'] ?? ''}`,
    NX_DAEMON: 'false',
    NX_NO_CLOUD: 'true',
    NX_TUI: 'false',
    NX_CACHE_DIRECTORY: join(clone.dir, '.nx/cache'),
    NX_WORKSPACE_DATA_DIRECTORY: join(clone.dir, '.nx/workspace-data'),
    NX_SELF_HOSTED_REMOTE_CACHE_SERVER: server.url,
    NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: token,
  };
  const r = await execa('node', [nxBin, 'run', 'demo:build', '--output-style=stream'], { cwd: clone.dir, env, extendEnv: false, all: true, reject: false });
  return { code: r.exitCode ?? -1, out: stripVTControlCharacters(r.all ?? '') };
}

beforeAll(async () => {
  tb = mkdtempSync(join(tmpdir(), 'labrig-nxcache-tb-'));
  chmodSync(tb, 0o755);
  const state = await up({ dir: tb, hosts: 1, addressBase: '127.0.57.0', port: 2357, s3: true, s3Buckets: ['nx-shared'] });
  const cfg = readConfig({
    LABRIG_CACHE_BUCKET: 'nx-shared',
    LABRIG_CACHE_S3_ENDPOINT: state.s3!.endpoint,
    LABRIG_CACHE_PORT: '0',
    LABRIG_CACHE_READ_TOKENS: 'labrig-test-read-token-0123456789',
    LABRIG_CACHE_WRITE_TOKENS: WRITE,
  });
  const storage = createS3Storage(cfg, { accessKeyId: state.s3!.accessKeyId, secretAccessKey: state.s3!.secretAccessKey });
  const logs: string[] = [];
  const s = createCacheServer(cfg, storage, (l) => logs.push(l));
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  server = { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, close: () => new Promise((r) => s.close(() => r())), storage, logs };
  mkdirSync(join(workspace, 'tmp'), { recursive: true });
  work = mkdtempSync(join(workspace, 'tmp', 'nx-remote-'));
  await makeOrigin(join(work, 'origin'));
}, 120_000);

afterAll(async () => {
  await server?.close();
  server?.storage.close();
  if (tb) await down(tb);
  if (tb) rmSync(tb, { recursive: true, force: true });
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('Nx with the shared cache', { timeout: 180_000 }, () => {
  it('the first clone builds and uploads; the second restores from the server without compiling', async () => {
    const a = await makeClone(join(work, 'origin'), join(work, 'a'));
    const b = await makeClone(join(work, 'origin'), join(work, 'b'));
    const first = await build(a, WRITE);
    expect(first.code, first.out.slice(-3000)).toBe(0);
    expect(a.compiles().length).toBeGreaterThan(0);
    const puts = server.logs.filter((l) => /^PUT \d+ 200 /.test(l));
    expect(puts).toHaveLength(1);

    const second = await build(b, WRITE);
    expect(second.code, second.out.slice(-3000)).toBe(0);
    expect(second.out).toMatch(/remote cache/);
    expect(b.compiles()).toEqual([]);
    expect(server.logs.some((l) => /^GET \d+ 200 /.test(l))).toBe(true);
    for (const bin of ['kvserver', 'kvload']) {
      expect(readFileSync(join(b.dir, 'dist/targets/demo/bin', bin))).toEqual(readFileSync(join(a.dir, 'dist/targets/demo/bin', bin)));
    }
    expect(readdirSync(join(b.dir, 'dist/targets/demo')).sort()).toEqual(readdirSync(join(a.dir, 'dist/targets/demo')).sort());
  });

  it('a token that may not write is refused (403) on upload and Nx still completes the build locally', async () => {
    const c = await makeClone(join(work, 'origin'), join(work, 'c'));
    // A source change: a hash the server does not have, so the read-only clone builds and tries to upload.
    writeFileSync(join(c.dir, 'targets/demo/src/common.h'), `${readFileSync(join(c.dir, 'targets/demo/src/common.h'), 'utf8')}\n/* c */\n`);
    const before = server.logs.length;
    const r = await build(c, 'labrig-test-read-token-0123456789');
    expect(r.code, r.out.slice(-3000)).toBe(0);
    expect(c.compiles().length).toBeGreaterThan(0);
    expect(existsSync(join(c.dir, 'dist/targets/demo/bin/kvserver'))).toBe(true);
    expect(server.logs.slice(before).some((l) => /^PUT \d+ 403 /.test(l))).toBe(true);
  });

  it('an unknown token is refused (401): Nx reports it and runs nothing from the cache', async () => {
    const d = await makeClone(join(work, 'origin'), join(work, 'd'));
    const before = server.logs.length;
    const r = await build(d, 'not-the-token-at-all-0123456789');
    expect(server.logs.slice(before).some((l) => / 401 /.test(l))).toBe(true);
    expect(r.out).toContain('Unauthorized: missing or unknown bearer token');
    expect(server.logs.slice(before).some((l) => /^PUT \d+ 200 /.test(l))).toBe(false);
  });
});
