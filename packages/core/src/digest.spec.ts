import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REMOTE_TREE_DIGEST_SCRIPT, digestFile, digestTree, formatSha256sumLine, listTree, sha256Hex } from './digest.js';

describe('tree digest', () => {
  it('equals `find | sort | xargs sha256sum | sha256sum` (the remote script), odd names included', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'labrig-tree-'));
    const names = ['a', 'B', 'a.b', 'a-b', 'dir/x', 'dir/sub/y', 'dir.z', 'sp ace', 'ünï', 'back\\slash', 'new\nline', 'cr\rx', '-dash', '.hidden'];
    names.forEach((n, i) => {
      mkdirSync(path.join(dir, path.dirname(n)), { recursive: true });
      writeFileSync(path.join(dir, n), `content ${i}\n`.repeat(i));
    });
    mkdirSync(path.join(dir, 'empty-dir'));
    symlinkSync('a', path.join(dir, 'link-to-a'));
    const local = await digestTree(dir);
    const shell = execFileSync('sh', ['-c', REMOTE_TREE_DIGEST_SCRIPT, 'sh', dir], { encoding: 'utf8' }).trim();
    expect(local.sha256).toBe(shell);
    expect(local.files).toBe(names.length);
    writeFileSync(path.join(dir, 'a'), 'changed');
    expect((await digestTree(dir)).sha256).not.toBe(local.sha256);
  });

  it('the remote script says `missing` for a missing dir, and empty trees agree', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'labrig-tree-'));
    expect(execFileSync('sh', ['-c', REMOTE_TREE_DIGEST_SCRIPT, 'sh', path.join(dir, 'nope')], { encoding: 'utf8' }).trim()).toBe('missing');
    const shell = execFileSync('sh', ['-c', REMOTE_TREE_DIGEST_SCRIPT, 'sh', dir], { encoding: 'utf8' }).trim();
    expect((await digestTree(dir)).sha256).toBe(shell);
  });

  it('file digest and sha256sum line format', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'labrig-tree-'));
    const f = path.join(dir, 'f');
    writeFileSync(f, 'abc');
    expect(await digestFile(f)).toEqual({ sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', size: 3 });
    expect(formatSha256sumLine('00', './a\\b')).toBe('\\00  ./a\\\\b\n');
  });

  it('sha256Hex of a string and of a buffer', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex(Buffer.from('abc'))).toBe(sha256Hex('abc'));
  });

  it('listTree: dirs, files and symlinks (not followed) with modes and sizes, parents first, byte order', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'labrig-tree-'));
    mkdirSync(path.join(dir, 'd/sub'), { recursive: true });
    writeFileSync(path.join(dir, 'd/sub/f'), 'hello');
    writeFileSync(path.join(dir, 'd.txt'), 'x');
    writeFileSync(path.join(dir, 'B'), '');
    chmodSync(path.join(dir, 'd/sub/f'), 0o640);
    chmodSync(path.join(dir, 'd'), 0o750);
    symlinkSync('d', path.join(dir, 'link'));
    expect(await listTree(dir)).toEqual([
      { rel: 'B', type: 'file', mode: 0o644 & ~process.umask(), size: 0 },
      { rel: 'd', type: 'dir', mode: 0o750, size: 0 },
      { rel: 'd.txt', type: 'file', mode: 0o644 & ~process.umask(), size: 1 },
      { rel: 'd/sub', type: 'dir', mode: 0o777 & ~process.umask(), size: 0 },
      { rel: 'd/sub/f', type: 'file', mode: 0o640, size: 5 },
      { rel: 'link', type: 'symlink', mode: 0, size: 0 },
    ]);
    // The tree digest counts regular files only, from a given listing too.
    const entries = await listTree(dir);
    expect(await digestTree(dir, undefined, entries)).toEqual(await digestTree(dir));
    expect((await digestTree(dir)).files).toBe(3);
    expect((await digestTree(dir)).bytes).toBe(6);
  });
});
