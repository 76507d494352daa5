/**
 * tools/bench/noop-deploy: median wall time of `nx run demo:deploy -c local` when nothing
 * changed (build from Nx's cache, push finds everything, setup and deploy skip every host),
 * next to `nx run demo:noop` (a target that does nothing: Nx's own floor), in one run, with the
 * labrig agent off and on (LABRIG_AGENT; the agent-side time of push, setup and deploy read from
 * its journal, each checked to have exited 0).
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
import { agentCommandEnds, machineLine, makeBenchWorkspace, median, parseBenchArgs, stopAgent, workspace, type BenchWorkspace } from './nx-workspace.js';

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

const OFF = { LABRIG_AGENT: 'off' };
const ON = { LABRIG_AGENT: 'on' };

/** push, setup and deploy of the last deploy ran in the agent, each exit 0; their agent-side ms. */
function agentSide(dir: string, seen: number): Record<string, number> {
  const ends = agentCommandEnds(dir).slice(seen);
  const by: Record<string, number> = {};
  for (const e of ends) by[e.ref.split(':').pop()!] = e.ms;
  const bad = ends.filter((e) => e.code !== 0);
  if (ends.length !== 3 || bad.length || !['push', 'setup', 'deploy'].every((t) => t in by)) {
    throw new Error(`the agent's journal: expected push, setup and deploy with exit 0, got ${JSON.stringify(ends)}`);
  }
  return by;
}

async function main(): Promise<void> {
  const args = parseBenchArgs('noop-deploy', process.argv.slice(2));
  const ws = makeWorkspace();
  try {
    console.log(`workspace copy: ${ws.dir}; starting ${HOSTS} hosts ...`);
    await ws.nx(['run', 'local:up']);
    await ws.nx(['run', 'demo:deploy', '-c', 'local', '--output=plain'], OFF); // first deploy: does everything (untimed)
    // Warm-ups of the no-op path in both modes (the agent's start and first connections untimed).
    await ws.nx(['run', 'demo:deploy', '-c', 'local', '--output=plain'], OFF);
    await ws.nx(['run', 'demo:deploy', '-c', 'local', '--output=plain'], ON);
    await checkAllSkipped(ws.dir);
    const noop: number[] = [];
    const off: number[] = [];
    const on: number[] = [];
    const side: Record<string, number[]> = { push: [], setup: [], deploy: [] };
    const deploy = async (env: Record<string, string>): Promise<number> => {
      const d = await ws.nx(['run', 'demo:deploy', '-c', 'local', '--output=plain'], env);
      if (!/\[local cache\]|existing outputs match the cache/.test(d.out)) throw new Error('build was not a cache hit');
      await checkAllSkipped(ws.dir);
      return d.ms;
    };
    for (let i = 0; i < args.repeats; i++) {
      noop.push((await ws.nx(['run', 'demo:noop'])).ms);
      off.push(await deploy(OFF));
      const seen = agentCommandEnds(ws.dir).length;
      on.push(await deploy(ON));
      for (const [t, ms] of Object.entries(agentSide(ws.dir, seen))) side[t]!.push(ms);
    }
    const n = median(noop);
    const f = median(off);
    const o = median(on);
    const row = (name: string, xs: number[]) => `| ${name} | ${median(xs).toFixed(0)} | ${xs.map((x) => x.toFixed(0)).join(', ')} |`;
    console.log(machineLine(HOSTS, args.repeats));
    console.log(`| target | median ms | runs (ms) |\n| --- | ---: | --- |`);
    console.log(row('demo:noop (Nx floor)', noop));
    console.log(row('demo:deploy -c local, nothing changed, agent off', off));
    console.log(row('demo:deploy -c local, nothing changed, agent on', on));
    console.log(`labrig overhead above Nx's floor: agent off ${(f - n).toFixed(0)} ms, agent on ${(o - n).toFixed(0)} ms (aim with the agent: at most 500 ms)`);
    console.log(`in the agent (median ms): push ${median(side.push!).toFixed(0)}, setup ${median(side.setup!).toFixed(0)} (push and setup run at once), deploy ${median(side.deploy!).toFixed(0)}`);
  } finally {
    stopAgent(ws.dir);
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
