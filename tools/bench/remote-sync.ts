/**
 * tools/bench/remote-sync: how long the source sync of a build on a platform host takes
 * (system-kit's syncSources, what `[build] on` runs before the build command), for a tree of
 * 2000 files of 4 KiB (8 MiB, in 40 folders) to one testbed host (127.0.149.1:2540):
 *   - first sync (nothing there: every file in one tar stream, then every digest checked there),
 *   - unchanged (one command lists the digests there; nothing is sent),
 *   - one file changed (that file only),
 *   - file by file (Remote.putFile per file, 4 at once: each checks, sends and verifies), the
 *     way the sync worked before it sent one tar stream, for comparison.
 * A time is kept only when the sync's own report says what it should (files sent, unchanged) and
 * the host's copy of every file has the local digest.
 *
 * Usage: tools/bench/remote-sync [--repeats 5] [--keep]
 */
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { appendFileSync, chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Remote } from '@labrig/core';
import { SshPool } from '@labrig/ssh';
import { listSources, syncSources, type SourceFile } from '@labrig/system-kit';
import { down, toHost, up } from '@labrig/testbed';
import { machineLine, median, parseBenchArgs } from './nx-workspace.js';

const FILES = 2000;
const SIZE = 4096;
const where = { file: 'tools/bench/remote-sync.ts', field: 'sources' };

async function remoteDigests(remote: Remote, dir: string): Promise<Map<string, string>> {
  const r = await remote.exec(['sh', '-c', 'cd -- "$1" && find . -type f -exec sha256sum -- {} +', 'sh', dir]);
  const m = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    const x = /^([0-9a-f]{64}) [ *]\.\/(.+)$/.exec(line);
    if (x) m.set(x[2]!, x[1]!);
  }
  return m;
}

/** Every local file is on the host with its digest. */
async function check(remote: Remote, dir: string, files: SourceFile[], what: string): Promise<void> {
  const there = await remoteDigests(remote, dir);
  const bad = files.filter((f) => there.get(f.path) !== f.sha256);
  if (bad.length) throw new Error(`${what}: ${bad.length} file(s) differ on the host, first ${bad[0]!.path}`);
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

async function main(): Promise<void> {
  const args = parseBenchArgs('remote-sync', process.argv.slice(2));
  const work = mkdtempSync(join(tmpdir(), 'labrig-bench-sync-'));
  chmodSync(work, 0o755); // the host's user reaches its home under it
  const tree = join(work, 'tree');
  for (let i = 0; i < FILES; i++) {
    const d = join(tree, `pkg${i % 40}`);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, `f${i}.c`), randomBytes(SIZE));
  }
  const tbDir = join(work, 'testbed');
  mkdirSync(tbDir, { recursive: true });
  console.log(`a tree of ${FILES} files (${((FILES * SIZE) / 1024 / 1024).toFixed(1)} MiB); starting 1 testbed host ...`);
  const state = await up({ dir: tbDir, hosts: 1, addressBase: '127.0.149.0', port: 2540 });
  const pool = new SshPool({ knownHostsFile: join(work, 'known_hosts'), sshConfigFile: false });
  try {
    const remote = await pool.connect(toHost(state.hosts[0]!));
    const home = (await remote.exec(['sh', '-c', 'printf %s "$HOME"'])).stdout;
    const base = `${home}/.labrig/build/bench-sync`;
    const t = { first: [] as number[], unchanged: [] as number[], one: [] as number[], perFile: [] as number[] };
    const signal = new AbortController().signal;
    setMaxListeners(0, signal); // every command of a sync listens to it
    for (let i = 0; i <= args.repeats; i++) {
      const timedRound = i > 0; // round 0 warms up (connection, page cache)
      let files = await listSources(tree, ['**/*'], where);
      await remote.exec(['rm', '-rf', '--', base, `${home}/bench-perfile`]);
      const first = await timed(() => syncSources(remote, base, tree, files, signal));
      if (first.value.sent !== FILES) throw new Error(`first sync sent ${first.value.sent}, expected ${FILES}`);
      await check(remote, `${base}/src`, files, 'first sync');
      const same = await timed(() => syncSources(remote, base, tree, files, signal));
      if (same.value.sent !== 0 || same.value.unchanged !== FILES) throw new Error(`unchanged sync: ${JSON.stringify(same.value)}`);
      appendFileSync(join(tree, 'pkg7', 'f7.c'), `/* round ${i} */\n`);
      files = await listSources(tree, ['**/*'], where);
      const one = await timed(() => syncSources(remote, base, tree, files, signal));
      if (one.value.sent !== 1 || one.value.sentPaths[0] !== 'pkg7/f7.c') throw new Error(`one-file sync: ${JSON.stringify({ ...one.value, sentPaths: one.value.sentPaths.slice(0, 3) })}`);
      await check(remote, `${base}/src`, files, 'one-file sync');
      const perFile = await timed(async () => {
        let next = 0;
        await Promise.all(
          Array.from({ length: 4 }, async () => {
            while (next < files.length) {
              const f = files[next++]!;
              const r = await remote.putFile(join(tree, f.path), `${home}/bench-perfile/${f.path}`, { signal });
              if (!r.transferred || r.sha256 !== f.sha256) throw new Error(`putFile ${f.path}: ${JSON.stringify(r)}`);
            }
          }),
        );
      });
      await check(remote, `${home}/bench-perfile`, files, 'file by file');
      if (timedRound) {
        t.first.push(first.ms);
        t.unchanged.push(same.ms);
        t.one.push(one.ms);
        t.perFile.push(perFile.ms);
      }
    }
    console.log(machineLine(1, args.repeats));
    console.log(`| ${FILES} files, ${((FILES * SIZE) / 1024 / 1024).toFixed(1)} MiB, loopback | median ms | runs (ms) |\n| --- | ---: | --- |`);
    const row = (what: string, xs: number[]) => console.log(`| ${what} | ${median(xs).toFixed(0)} | ${xs.map((x) => x.toFixed(0)).join(', ')} |`);
    row('first sync (one tar stream, digests checked there)', t.first);
    row('unchanged (digests listed there, nothing sent)', t.unchanged);
    row('one file changed', t.one);
    row('file by file (putFile, 4 at once)', t.perFile);
  } finally {
    await pool.close();
    await down(tbDir);
    if (!args.keep) rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
