/**
 * tools/bench/noop-deploy: median wall time of `nx run demo:deploy -c local` when nothing
 * changed (build from Nx's cache, push finds everything, setup and deploy skip every host),
 * next to `nx run demo:noop` (a target that does nothing: Nx's own floor), in one run.
 *
 * It works in a temporary copy of the workspace (under tmp/) whose demo spans 8 testbed hosts
 * (servers on 0-3, clients on 4-7; 127.0.42.x:2342), so the user's own testbed is untouched.
 * A deploy time is kept only when Nx exited 0 and the deploy run's journal shows every host of
 * every step `skipped` (a failed login is fast: fast failures make false numbers).
 *
 * Usage: tools/bench/noop-deploy [--repeats 7] [--keep]
 */
import { cpSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findLastRun } from '@labrig/testkit';
import { machineLine, makeBenchWorkspace, median, parseBenchArgs, workspace, type BenchWorkspace } from './nx-workspace.js';

const HOSTS = 8;

function makeWorkspace(): BenchWorkspace {
  const ws = makeBenchWorkspace('bench-noop', { hosts: HOSTS, addressBase: '127.0.42.0', port: 2342, testbed: ['s3 = true', 'registry = true'] });
  mkdirSync(join(ws.dir, 'targets/demo/src'), { recursive: true });
  for (const f of readdirSync(join(workspace, 'targets/demo/src')).filter((f) => /\.(c|h)$|^Makefile$/.test(f))) {
    cpSync(join(workspace, 'targets/demo/src', f), join(ws.dir, 'targets/demo/src', f));
  }
  const sys = readFileSync(join(workspace, 'targets/demo/system.toml'), 'utf8')
    .replace('hosts = { indexes = [0, 1] }', 'hosts = { indexes = [0, 1, 2, 3] }')
    .replace('hosts = { indexes = [2, 3] }', 'hosts = { indexes = [4, 5, 6, 7] }');
  if (!sys.includes('[4, 5, 6, 7]')) throw new Error('targets/demo/system.toml changed shape: update tools/bench/noop-deploy.ts');
  writeFileSync(join(ws.dir, 'targets/demo/system.toml'), sys);
  return ws;
}

/** The newest deploy run: every host of every step skipped. */
async function checkAllSkipped(dir: string): Promise<void> {
  const newest = await findLastRun(dir, 'demo:deploy');
  if (!newest) throw new Error('no deploy run found');
  const ends = newest.events.filter((e) => e['type'] === 'host-end');
  const bad = ends.filter((e) => e['status'] !== 'skipped');
  // install:server + start:server on the 4 servers, install:client on the 4 clients.
  if (ends.length !== 12) throw new Error(`deploy run ${newest.id}: ${ends.length} host results, expected 12`);
  if (bad.length) throw new Error(`deploy run ${newest.id}: not a no-op: ${bad.map((e) => `${e['host']} ${e['step']} ${e['status']}`).join(', ')}`);
}

async function main(): Promise<void> {
  const args = parseBenchArgs('noop-deploy', process.argv.slice(2));
  const ws = makeWorkspace();
  try {
    console.log(`workspace copy: ${ws.dir}; starting ${HOSTS} hosts ...`);
    await ws.nx(['run', 'local:up']);
    await ws.nx(['run', 'demo:deploy', '-c', 'local', '--output=plain']); // first deploy: does everything (untimed)
    await ws.nx(['run', 'demo:deploy', '-c', 'local', '--output=plain']); // warm-up of the no-op path
    await checkAllSkipped(ws.dir);
    const noop: number[] = [];
    const deploy: number[] = [];
    for (let i = 0; i < args.repeats; i++) {
      noop.push((await ws.nx(['run', 'demo:noop'])).ms);
      const d = await ws.nx(['run', 'demo:deploy', '-c', 'local', '--output=plain']);
      if (!/\[local cache\]|existing outputs match the cache/.test(d.out)) throw new Error('build was not a cache hit');
      await checkAllSkipped(ws.dir);
      deploy.push(d.ms);
    }
    const n = median(noop);
    const d = median(deploy);
    console.log(machineLine(HOSTS, args.repeats));
    console.log(`| target | median ms | runs (ms) |\n| --- | ---: | --- |`);
    console.log(`| demo:noop (Nx floor) | ${n.toFixed(0)} | ${noop.map((x) => x.toFixed(0)).join(', ')} |`);
    console.log(`| demo:deploy -c local, nothing changed | ${d.toFixed(0)} | ${deploy.map((x) => x.toFixed(0)).join(', ')} |`);
    console.log(`labrig overhead above Nx's floor: ${(d - n).toFixed(0)} ms (aim: under 1000 ms)`);
  } finally {
    if (!args.keep) {
      await ws.nx(['run', 'demo:stop', '-c', 'local']).catch(() => undefined);
      await ws.nx(['run', 'local:down']).catch((e: unknown) => console.error(String(e)));
      ws.remove();
    }
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
