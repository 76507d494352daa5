import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Aborted, CommandFailed, Unsupported } from '../errors.js';
import { quote } from '../quote.js';
import { digestTree } from '../digest.js';
import type { Host } from '../contracts.js';
import { LocalConnector } from './connector.js';

const host: Host = { name: 'tb-0', address: '127.0.0.1', roles: [], labels: {} };

function randomArg(): string {
  // Printable ASCII, shell metacharacters, quotes, newlines, tabs, UTF-8, control bytes (no NUL).
  const alphabet = `abcXYZ019 \t\n'"\\$\`!*?[]{}()<>|&;#~%^=,.-_/:@\u00e9\u4e16\u{1F600}\x01\x7f`;
  const chars = [...alphabet];
  const n = Math.floor(Math.random() * 12);
  let s = '';
  for (let i = 0; i < n; i++) s += chars[Math.floor(Math.random() * chars.length)];
  return s;
}

/** Running (a zombie waiting for a reaper counts as dead). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return true;
  }
}

describe('LocalRemote', () => {
  it('quote() round-trips random strings through a real sh -c (printf %s\\0)', async () => {
    const remote = await new LocalConnector().connect(host);
    for (let round = 0; round < 60; round++) {
      const args = Array.from({ length: 1 + Math.floor(Math.random() * 5) }, randomArg);
      const r = await remote.exec(['printf', '%s\\0', ...args]);
      const got = r.stdout.split('\0').slice(0, -1);
      expect(got, `argv ${JSON.stringify(args)} as ${quote(args)}`).toEqual(args);
    }
  });

  it('shell() runs a script that starts with - or + as the script, not as options of sh', async () => {
    const remote = await new LocalConnector().connect(host);
    for (const lead of ['--cmd=x', '-x', '+x', '-']) {
      const r = await remote.shell(`${lead} 2>/dev/null; echo ran`, { allowFailure: true });
      expect({ lead, stdout: r.stdout, exitCode: r.exitCode }).toEqual({ lead, stdout: 'ran\n', exitCode: 0 });
    }
  });

  it('runs with cwd, env and stdin; non-zero exit is CommandFailed', async () => {
    const home = mkdtempSync(path.join(tmpdir(), 'labrig-local-'));
    mkdirSync(path.join(home, 'sub dir'));
    const remote = await new LocalConnector({ homeFor: () => home }).connect(host);
    expect((await remote.exec(['pwd'])).stdout.trim()).toBe(home);
    expect((await remote.exec(['pwd'], { cwd: 'sub dir' })).stdout.trim()).toBe(path.join(home, 'sub dir'));
    expect((await remote.exec(['sh', '-c', 'echo "$A"'], { env: { A: "it's $HOME" } })).stdout).toBe("it's $HOME\n");
    expect((await remote.exec(['cat'], { stdin: 'in put' })).stdout).toBe('in put');
    const err = await remote.exec(['sh', '-c', 'echo oops >&2; exit 7']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandFailed);
    expect((err as CommandFailed).exitCode).toBe(7);
    expect((err as CommandFailed).stderrTail).toBe('oops');
    const soft = await remote.exec(['sh', '-c', 'exit 3'], { allowFailure: true });
    expect(soft.exitCode).toBe(3);
    await expect(remote.exec(['true'], { pty: true })).rejects.toBeInstanceOf(Unsupported);
  });

  it('spawn keeps stdin open for write/end', async () => {
    const remote = await new LocalConnector().connect(host);
    const cmd = remote.spawn(['sh', '-c', 'read a; read b; echo "$b $a"']);
    cmd.write('one\n');
    cmd.write('two\n');
    cmd.end();
    expect((await cmd.result).stdout).toBe('two one\n');
  });

  it('spawn: drain() waits while the command does not read its input', async () => {
    const remote = await new LocalConnector().connect(host);
    const cmd = remote.spawn(['sh', '-c', 'sleep 1; wc -c']);
    cmd.write(Buffer.alloc(4 * 1024 * 1024, 1));
    const t0 = performance.now();
    await cmd.drain();
    const waited = performance.now() - t0;
    cmd.end();
    expect((await cmd.result).stdout.trim()).toBe(String(4 * 1024 * 1024));
    expect(waited).toBeGreaterThan(500);
  });

  it('abort kills the whole process group', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'labrig-kill-'));
    const remote = await new LocalConnector().connect(host);
    const ctl = new AbortController();
    const pidFile = path.join(dir, 'child.pid');
    const p = remote.exec(['sh', '-c', `sleep 30 & echo $! > ${quote([pidFile])}; wait`], { signal: ctl.signal });
    for (let i = 0; i < 100 && !existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 20));
    const t0 = Date.now();
    ctl.abort(new Aborted('test'));
    await expect(p).rejects.toBeInstanceOf(Aborted);
    expect(Date.now() - t0).toBeLessThan(3000);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    await new Promise((r) => setTimeout(r, 50));
    expect(isAlive(pid)).toBe(false); // the grandchild is gone too
  });

  it('putFile / putDir / getFile copy with sha256 and skip when unchanged', async () => {
    const src = mkdtempSync(path.join(tmpdir(), 'labrig-src-'));
    const home = mkdtempSync(path.join(tmpdir(), 'labrig-home-'));
    const remote = await new LocalConnector({ homeFor: () => home }).connect(host);
    const f = path.join(src, 'a.bin');
    writeFileSync(f, randomBytes(100_000));
    const first = await remote.putFile(f, 'dest/a.bin', { mode: 0o640 });
    expect(first.transferred).toBe(true);
    expect(first.bytes).toBe(100_000);
    expect(statSync(path.join(home, 'dest/a.bin')).mode & 0o777).toBe(0o640);
    expect((await remote.putFile(f, 'dest/a.bin')).transferred).toBe(false);

    mkdirSync(path.join(src, 'tree/sub'), { recursive: true });
    writeFileSync(path.join(src, 'tree/x.txt'), 'x');
    writeFileSync(path.join(src, 'tree/sub/y.txt'), 'y');
    expect((await remote.putDir(path.join(src, 'tree'), 'tree')).transferred).toBe(true);
    expect(readFileSync(path.join(home, 'tree/sub/y.txt'), 'utf8')).toBe('y');
    expect((await remote.putDir(path.join(src, 'tree'), 'tree')).transferred).toBe(false);
    writeFileSync(path.join(src, 'tree/sub/y.txt'), 'y2');
    expect((await remote.putDir(path.join(src, 'tree'), 'tree')).transferred).toBe(true);

    const back = path.join(src, 'back.bin');
    const got = await remote.getFile('dest/a.bin', back);
    expect(got.sha256).toBe(first.sha256);
    expect(readFileSync(back).equals(readFileSync(f))).toBe(true);
  });

  it('putDir mirrors like the SSH putDir: remote-only files go, modes and links follow, sha256 is the tree digest', async () => {
    const src = mkdtempSync(path.join(tmpdir(), 'labrig-src-'));
    const home = mkdtempSync(path.join(tmpdir(), 'labrig-home-'));
    const remote = await new LocalConnector({ homeFor: () => home }).connect(host);
    const tree = path.join(src, 'tree');
    mkdirSync(path.join(tree, 'sub'), { recursive: true });
    writeFileSync(path.join(tree, 'a.txt'), 'a');
    writeFileSync(path.join(tree, 'sub/run.sh'), '#!/bin/sh\n');
    chmodSync(path.join(tree, 'sub/run.sh'), 0o755);
    symlinkSync('a.txt', path.join(tree, 'link'));
    const dest = path.join(home, 'tree');

    const first = await remote.putDir(tree, 'tree');
    expect(first).toEqual({ transferred: true, bytes: 11, sha256: (await digestTree(tree)).sha256 });
    expect(statSync(path.join(dest, 'sub/run.sh')).mode & 0o777).toBe(0o755);
    expect(readlinkSync(path.join(dest, 'link'))).toBe('a.txt');
    expect(await remote.putDir(tree, 'tree')).toEqual({ ...first, transferred: false });

    // Files and dirs only on the destination are removed; nothing is left beside it.
    writeFileSync(path.join(dest, 'extra'), 'x');
    mkdirSync(path.join(dest, 'extra-dir'));
    expect((await remote.putDir(tree, 'tree')).transferred).toBe(true);
    expect(existsSync(path.join(dest, 'extra'))).toBe(false);
    expect(existsSync(path.join(dest, 'extra-dir'))).toBe(false);
    expect(readdirSync(home)).toEqual(['tree']);

    // A mode, a link target or a file type that differs is re-synced too.
    chmodSync(path.join(dest, 'sub/run.sh'), 0o644);
    expect((await remote.putDir(tree, 'tree')).transferred).toBe(true);
    expect(statSync(path.join(dest, 'sub/run.sh')).mode & 0o777).toBe(0o755);
    rmSync(path.join(dest, 'link'));
    symlinkSync('sub', path.join(dest, 'link'));
    expect((await remote.putDir(tree, 'tree')).transferred).toBe(true);
    expect(readlinkSync(path.join(dest, 'link'))).toBe('a.txt');
    rmSync(path.join(dest, 'a.txt'));
    mkdirSync(path.join(dest, 'a.txt'));
    expect((await remote.putDir(tree, 'tree')).transferred).toBe(true);
    expect(lstatSync(path.join(dest, 'a.txt')).isFile()).toBe(true);
    expect(await remote.putDir(tree, 'tree')).toEqual({ ...first, transferred: false });

    // A file where the directory goes is replaced by the directory.
    rmSync(dest, { recursive: true });
    writeFileSync(dest, 'not a dir');
    expect((await remote.putDir(tree, 'tree')).transferred).toBe(true);
    expect(readFileSync(path.join(dest, 'a.txt'), 'utf8')).toBe('a');
    expect(readdirSync(home)).toEqual(['tree']);
  });
});
