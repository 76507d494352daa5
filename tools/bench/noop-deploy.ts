/**
 * tools/bench/noop-deploy: median wall time of `nx run demo:deploy -c local` when nothing
 * changed (build from Nx's cache, push finds everything, setup and deploy skip every host),
 * next to `nx run demo:noop` (a target that does nothing: Nx's own floor), in one run, with the
 * labrig agent off and on (LABRIG_AGENT; the agent-side time of push, setup and deploy read from
 * its journal, each checked to have exited 0).
 *
 * It works in a temporary copy of the workspace (under tmp/) whose demo spans 8 testbed hosts
 * (servers on 0-3, clients on 4-7; 127.0.42.x:2342), so the user's own testbed is untouched.
 * A deploy time is kept only when Nx exited 0, the build was a cache hit and the deploy run's
 * journal shows every host of every step `skipped` (a failed login is fast: fast failures make
 * false numbers); with the agent off, no command may have reached the agent; with it on, the agent
 * already running (started and warmed by untimed runs) must have run push, setup and deploy, each
 * with exit 0. The agent is stopped (SIGTERM) at the end.
 *
 * Usage: tools/bench/noop-deploy [--repeats 7] [--keep]
 */
import { cpSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findLastRun } from '@labrig/testkit';
import { agentIdle, agentMark, agentRan, machineLine, makeBenchWorkspace, median, parseBenchArgs, stopAgent, workspace, type BenchWorkspace } from './nx-workspace.js';

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

async function main(): Promise<void> {
  const args = parseBenchArgs('noop-deploy', process.argv.slice(2));
  const ws = makeWorkspace();
  const deployArgs = ['run', 'demo:deploy', '-c', 'local', '--output=plain'];
  /** One no-op deploy, checked (cache hit, all skipped; in the agent or not, as asked); its wall ms and, with the agent, its agent-side ms. */
  const deploy = async (env: typeof OFF | typeof ON): Promise<{ ms: number; side?: Record<string, number> }> => {
    const mode = `deploy, agent ${env.LABRIG_AGENT}`;
    const mark = agentMark(ws.dir);
    const d = await ws.nx(deployArgs, env);
    if (!/\[local cache\]|existing outputs match the cache/.test(d.out)) throw new Error(`${mode}: the build was not a cache hit`);
    await checkAllSkipped(ws.dir);
    if (env.LABRIG_AGENT === 'off') {
      agentIdle(ws.dir, mark, mode);
      return { ms: d.ms };
    }
    return { ms: d.ms, side: await agentRan(ws.dir, mark, ['push', 'setup', 'deploy'], mode) };
  };
  try {
    console.log(`workspace copy: ${ws.dir}; starting ${HOSTS} hosts ...`);
    await ws.nx(['run', 'local:up'], OFF);
    await ws.nx(deployArgs, OFF); // first deploy: does everything (untimed)
    // Warm-ups of the no-op path in both modes (untimed): the agent starts, loads the executors and
    // opens its connections on the first command that asks for it.
    await deploy(OFF);
    await ws.nx(deployArgs, ON);
    await checkAllSkipped(ws.dir);
    await deploy(ON);
    const noop: number[] = [];
    const off: number[] = [];
    const on: number[] = [];
    const side: Record<string, number[]> = { push: [], setup: [], deploy: [] };
    for (let i = 0; i < args.repeats; i++) {
      noop.push((await ws.nx(['run', 'demo:noop'], OFF)).ms);
      off.push((await deploy(OFF)).ms);
      const d = await deploy(ON);
      on.push(d.ms);
      for (const [t, ms] of Object.entries(d.side!)) side[t]!.push(ms);
    }
    const n = median(noop);
    const row = (name: string, xs: number[]) => `| ${name} | ${median(xs).toFixed(0)} | ${(median(xs) - n).toFixed(0)} | ${xs.map((x) => x.toFixed(0)).join(', ')} |`;
    const ms = (xs: number[]) => median(xs).toFixed(0);
    console.log(machineLine(HOSTS, args.repeats));
    console.log('');
    console.log(`| target | median ms | above Nx's floor | runs (ms) |\n| --- | ---: | ---: | --- |`);
    console.log(row('demo:noop (Nx floor)', noop));
    console.log(row('demo:deploy -c local, nothing changed, agent off', off));
    console.log(row('demo:deploy -c local, nothing changed, agent on', on));
    console.log('');
    console.log(`labrig overhead above Nx's floor: agent off ${(median(off) - n).toFixed(0)} ms, agent on ${(median(on) - n).toFixed(0)} ms (aim with the agent: at most 500 ms)`);
    console.log(`in the agent (median ms): push ${ms(side.push!)}, setup ${ms(side.setup!)} (push and setup run at once), deploy ${ms(side.deploy!)}`);
  } finally {
    await stopAgent(ws.dir);
    if (!args.keep) {
      await ws.nx(['run', 'demo:stop', '-c', 'local'], OFF).catch(() => undefined);
      await ws.nx(['run', 'local:down'], OFF).catch((e: unknown) => console.error(String(e)));
      ws.remove();
    }
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
