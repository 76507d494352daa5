/** putFile / putDir / getFile against a real sshd host (127.0.20.81:2320). */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { REMOTE_TREE_DIGEST_SCRIPT, digestFile, digestTree } from '@labrig/core';
import type { Host, Remote } from '@labrig/core';
import type { TestbedHost } from '@labrig/testbed';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestbed } from './testing/testbed.js';

const MiB = 1024 * 1024;
const tb = useTestbed('transfer', { hosts: 1, addressBase: '127.0.20.80', port: 2320 });
let dir: string;
let r: Remote;
let big: string;
let bigSha: string;
let home: string;

beforeAll(async () => {
  dir = tb.dir;
  home = (tb.state.hosts[0] as TestbedHost).home;
  r = await tb.pool().connect(tb.hosts[0] as Host);
  // 256 MiB of random data.
  big = path.join(dir, 'local', 'big.bin');
  mkdirSync(path.dirname(big), { recursive: true });
  const fd = openSync(big, 'w');
  const hash = createHash('sha256');
  for (let i = 0; i < 256; i++) {
    const chunk = randomBytes(MiB);
    hash.update(chunk);
    writeSync(fd, chunk);
  }
  closeSync(fd);
  bigSha = hash.digest('hex');
}, 180_000);

const remoteSha = async (p: string): Promise<string> => (await r.exec(['sha256sum', p])).stdout.slice(0, 64);

describe('putFile', () => {
  it('256 MiB via sftp: verified; a second put is skipped and fast', async () => {
    const dest = `${home}/data/big.bin`;
    let lastProgress: [number, number] = [0, 0];
    const t0 = Date.now();
    const res = await r.putFile(big, dest, { onProgress: (b, t) => (lastProgress = [b, t]) });
    const ms = Date.now() - t0;
    expect(res).toEqual({ transferred: true, bytes: 256 * MiB, sha256: bigSha });
    expect(lastProgress).toEqual([256 * MiB, 256 * MiB]);
    expect(await remoteSha(dest)).toBe(bigSha);
    // no temp file left behind
    expect((await r.exec(['ls', '-A', `${home}/data`])).stdout).toBe('big.bin\n');
    const t1 = Date.now();
    const again = await r.putFile(big, dest);
    const ms2 = Date.now() - t1;
    expect(again).toEqual({ transferred: false, bytes: 0, sha256: bigSha });
    expect(ms2).toBeLessThan(ms);
    console.log(`256 MiB sftp putFile: ${ms} ms (${((256 / ms) * 1000).toFixed(0)} MiB/s); skipped re-put: ${ms2} ms`);
  });

  it('256 MiB via exec (cat > tmp; mv)', async () => {
    const dest = `${home}/data/big-exec.bin`;
    const t0 = Date.now();
    let progressCalls = 0;
    const res = await r.putFile(big, dest, { method: 'exec', onProgress: () => progressCalls++ });
    const ms = Date.now() - t0;
    expect(res.transferred).toBe(true);
    expect(progressCalls).toBeGreaterThan(10);
    expect(await remoteSha(dest)).toBe(bigSha);
    expect((await r.putFile(big, dest, { method: 'exec' })).transferred).toBe(false);
    console.log(`256 MiB exec putFile: ${ms} ms (${((256 / ms) * 1000).toFixed(0)} MiB/s)`);
  });

  it('wrong remote content is re-transferred; mode is applied', async () => {
    const small = path.join(dir, 'local', 'small.txt');
    writeFileSync(small, 'hello labrig\n');
    const dest = `${home}/small dir/it's small.txt`;
    expect((await r.putFile(small, dest, { mode: 0o640 })).transferred).toBe(true);
    expect((await r.exec(['stat', '-c', '%a', dest])).stdout.trim()).toBe('640');
    await r.exec(['sh', '-c', 'printf corrupted > "$1"', 'sh', dest]);
    const res = await r.putFile(small, dest, { method: 'exec', mode: 0o600 });
    expect(res.transferred).toBe(true);
    expect((await r.exec(['cat', dest])).stdout).toBe('hello labrig\n');
    expect((await r.exec(['stat', '-c', '%a', dest])).stdout.trim()).toBe('600');
  });
});

describe('getFile', () => {
  it('gets the big file back, verified (sftp), skipped when equal; exec method too', async () => {
    const back = path.join(dir, 'back', 'big.bin');
    const t0 = Date.now();
    const res = await r.getFile(`${home}/data/big.bin`, back);
    const ms = Date.now() - t0;
    expect(res).toEqual({ transferred: true, bytes: 256 * MiB, sha256: bigSha });
    expect((await digestFile(back)).sha256).toBe(bigSha);
    expect((await r.getFile(`${home}/data/big.bin`, back)).transferred).toBe(false);
    const viaExec = path.join(dir, 'back', 'small.txt');
    expect((await r.getFile(`${home}/small dir/it's small.txt`, viaExec, { method: 'exec' })).transferred).toBe(true);
    expect(readFileSync(viaExec, 'utf8')).toBe('hello labrig\n');
    console.log(`256 MiB sftp getFile: ${ms} ms`);
    rmSync(back);
  });
});

describe('putDir', () => {
  it('a tree of 2000 small files in nested dirs; a second putDir sends nothing; changes re-sync', async () => {
    const tree = path.join(dir, 'local', 'tree');
    let n = 0;
    for (let a = 0; a < 10; a++) {
      for (let b = 0; b < 10; b++) {
        const d = path.join(tree, `dir ${a}`, `sub-${b}`);
        mkdirSync(d, { recursive: true });
        for (let c = 0; c < 20; c++) writeFileSync(path.join(d, `f${c}.txt`), `${a}/${b}/${c} ${randomBytes(16).toString('hex')}\n`);
        n += 20;
      }
    }
    expect(n).toBe(2000);
    const local = await digestTree(tree);
    const dest = `${home}/tree`;
    const t0 = Date.now();
    const res = await r.putDir(tree, dest);
    const ms = Date.now() - t0;
    expect(res.transferred).toBe(true);
    expect(res.sha256).toBe(local.sha256);
    expect(res.bytes).toBeGreaterThan(0);
    const remote = (await r.exec(['sh', '-c', REMOTE_TREE_DIGEST_SCRIPT, 'sh', dest])).stdout.trim();
    expect(remote).toBe(local.sha256);
    expect((await r.exec(['sh', '-c', 'find "$1" -type f | wc -l', 'sh', dest])).stdout.trim()).toBe('2000');

    const t1 = Date.now();
    const again = await r.putDir(tree, dest);
    const ms2 = Date.now() - t1;
    expect(again).toEqual({ transferred: false, bytes: 0, sha256: local.sha256 });

    // a changed file and an extra remote file: re-synced to an exact mirror
    writeFileSync(path.join(tree, 'dir 3', 'sub-4', 'f7.txt'), 'changed\n');
    await r.exec(['touch', `${dest}/extra-remote-file`]);
    const third = await r.putDir(tree, dest);
    expect(third.transferred).toBe(true);
    expect((await r.exec(['cat', `${dest}/dir 3/sub-4/f7.txt`])).stdout).toBe('changed\n');
    expect((await r.exec(['ls', '-A', home])).stdout).not.toContain('labrig-tmp');
    expect((await r.exec(['test', '-e', `${dest}/extra-remote-file`], { allowFailure: true })).exitCode).toBe(1);
    console.log(`putDir 2000 files: ${ms} ms; skipped re-put: ${ms2} ms`);
  });
});
