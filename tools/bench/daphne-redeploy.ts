/**
 * tools/bench/daphne-redeploy: median wall time of `nx run daphne:deploy -c local` when everything
 * is already deployed (a code-defined system plugin's re-run: image nothing to do, build from Nx's
 * cache, the package on every host, every worker running and listening), next to
 * `nx run daphne:image` with no container configured (one labrig-run task that does nothing: the
 * floor of a platform target).
 *
 * It works in a temporary workspace (under tmp/) with targets/daphne (its fixture build: the
 * DistributedWorker fixture) on 8 testbed hosts (127.0.43.x:2343), so the user's own testbed is
 * untouched. A time is kept only when Nx exited 0 and the deploy run's journal shows the transfer
 * and worker steps `skipped` and the port probes `ok` on every host.
 *
 * Usage: tools/bench/daphne-redeploy [--repeats 7] [--keep]
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findLastRun, hostStatuses } from '@labrig/testkit';
import { machineLine, makeBenchWorkspace, median, parseBenchArgs, workspace, type BenchWorkspace } from './nx-workspace.js';

const HOSTS = 8;

function makeWorkspace(): BenchWorkspace {
  const ws = makeBenchWorkspace('bench-daphne', { hosts: HOSTS, addressBase: '127.0.43.0', port: 2343 });
  cpSync(join(workspace, 'targets/daphne'), join(ws.dir, 'targets/daphne'), { recursive: true });
  // The fixture build lives in the plugin: name it where it is (the copy has no plugins/ folder).
  const file = join(ws.dir, 'targets/daphne/system.toml');
  const sys = readFileSync(file, 'utf8').replaceAll('../../plugins/systems/daphne/', `${join(workspace, 'plugins/systems/daphne')}/`);
  if (!sys.includes(join(workspace, 'plugins/systems/daphne'))) throw new Error('targets/daphne/system.toml changed shape: update tools/bench/daphne-redeploy.ts');
  writeFileSync(file, sys);
  return ws;
}

/** The newest deploy run: transfer and worker steps skipped on every host, the port probes ok. */
async function checkRedeploy(dir: string): Promise<void> {
  const run = await findLastRun(dir, 'daphne:deploy');
  if (!run) throw new Error('no daphne:deploy run found');
  const steps = [...new Set(run.events.filter((e) => e['type'] === 'host-end').map((e) => String(e['step'])))];
  for (const step of steps) {
    const st = hostStatuses(run.events, step);
    const want = step === 'wait' ? 'ok' : 'skipped';
    const hosts = Object.keys(st);
    const bad = Object.entries(st).filter(([, s]) => s !== want);
    if (hosts.length !== HOSTS || bad.length) throw new Error(`deploy run ${run.id}, step ${step}: expected ${want} on ${HOSTS} hosts, got ${JSON.stringify(st)}`);
  }
  if (!steps.includes('wait') || steps.length < 3) throw new Error(`deploy run ${run.id}: unexpected steps ${steps.join(', ')}`);
}

async function main(): Promise<void> {
  const args = parseBenchArgs('daphne-redeploy', process.argv.slice(2));
  const ws = makeWorkspace();
  const { dir } = ws;
  try {
    console.log(`workspace copy: ${dir}; starting ${HOSTS} hosts ...`);
    await ws.nx(['run', 'local:up']);
    await ws.nx(['run', 'daphne:deploy', '-c', 'local', '--output=plain']); // first deploy: does everything (untimed)
    await ws.nx(['run', 'daphne:deploy', '-c', 'local', '--output=plain']); // warm-up of the re-run path
    await checkRedeploy(dir);
    const floor: number[] = [];
    const deploy: number[] = [];
    for (let i = 0; i < args.repeats; i++) {
      const f = await ws.nx(['run', 'daphne:image']);
      if (!/no image to build/.test(f.out)) throw new Error(`daphne:image did something: ${f.out.slice(-500)}`);
      floor.push(f.ms);
      const d = await ws.nx(['run', 'daphne:deploy', '-c', 'local', '--output=plain']);
      if (!/\[local cache\]|existing outputs match the cache/.test(d.out)) throw new Error('build was not a cache hit');
      await checkRedeploy(dir);
      deploy.push(d.ms);
    }
    const fm = median(floor);
    const dm = median(deploy);
    console.log(machineLine(HOSTS, args.repeats));
    console.log(`| target | median ms | runs (ms) |\n| --- | ---: | --- |`);
    console.log(`| daphne:image (one labrig-run task that does nothing) | ${fm.toFixed(0)} | ${floor.map((x) => x.toFixed(0)).join(', ')} |`);
    console.log(`| daphne:deploy -c local, everything deployed | ${dm.toFixed(0)} | ${deploy.map((x) => x.toFixed(0)).join(', ')} |`);
  } finally {
    if (!args.keep) {
      await ws.nx(['run', 'daphne:stop', '-c', 'local']).catch(() => undefined);
      await ws.nx(['run', 'local:down']).catch((e: unknown) => console.error(String(e)));
      ws.remove();
    }
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
