/**
 * tools/bench/coordinator-sweep: the demo sweep (12 runs of 1 s) run two ways on 4 testbed hosts
 * (127.0.44.x:2344) in a temporary workspace: from this machine (`nx run demo:experiment`), and
 * handed to a coordinator on tb-0 (`--coordinator=tb-0 --detach`, then waiting for it to end).
 * For each: the sweep's wall time from the first run's start to the last run's end (from the
 * plan journal that ran it: local, or the coordinator's) and the overhead per run beyond the run's
 * own duration (that span / 12 - 1 s). Also the hand-off: from the end of the deploy to the
 * coordinator's acknowledgement with nothing to copy, as labrig reports it, and the whole
 * `--detach` command under Nx. A time is kept only when the journal shows 12 runs done, none
 * failed. Before each repeat both result stores are emptied (the program and spec stay on tb-0).
 *
 * Usage: tools/bench/coordinator-sweep [--repeats 3] [--keep]
 */
import { cpSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseJsonLines } from '@labrig/experiments';
import { machineLine, makeBenchWorkspace, median, parseBenchArgs, workspace } from './nx-workspace.js';

interface Ev {
  type: string;
  time: string;
  run?: string;
}
const readEvents = (file: string): Ev[] => (existsSync(file) ? parseJsonLines<Ev>(readFileSync(file, 'utf8')) : []);

/** Span from the first run-start to the last run-done; throws unless 12 runs are done and none failed. */
function sweepSpan(events: Ev[], where: string): number {
  const done = events.filter((e) => e.type === 'run-done');
  const failed = events.filter((e) => e.type === 'run-failed');
  if (new Set(done.map((e) => e.run)).size !== 12 || failed.length) throw new Error(`${where}: ${done.length} runs done, ${failed.length} failed (expected 12 done, none failed)`);
  const starts = events.filter((e) => e.type === 'run-start').map((e) => Date.parse(e.time));
  return Math.max(...done.map((e) => Date.parse(e.time))) - Math.min(...starts);
}

async function main(): Promise<void> {
  const args = parseBenchArgs('coordinator-sweep', process.argv.slice(2));
  const ws = makeBenchWorkspace('bench-coordinator', { hosts: 4, addressBase: '127.0.44.0', port: 2344, testbed: ['s3 = true', 'registry = true'] });
  const { dir } = ws;
  cpSync(join(workspace, 'targets/demo'), join(dir, 'targets/demo'), { recursive: true });
  cpSync(join(workspace, 'configs/experiments/demo-sweep.toml'), join(dir, 'configs/experiments/demo-sweep.toml'));
  const homeOf = (host: string) => (JSON.parse(readFileSync(join(ws.tb, 'state.json'), 'utf8')) as { hosts: { name: string; home: string }[] }).hosts.find((h) => h.name === host)!.home;
  const local = join(dir, 'results/demo-sweep');
  try {
    console.log(`workspace copy: ${dir}; starting 4 hosts ...`);
    await ws.nx(['run', 'local:up']);
    await ws.nx(['run', 'demo:deploy', '-c', 'local', '--output=plain']);
    const coord = () => join(homeOf('tb-0'), '.labrig/coordinator/demo-sweep');
    const reset = () => {
      rmSync(local, { recursive: true, force: true });
      if (existsSync(coord())) for (const f of ['results', 'coordinator.jsonl', 'coordinator.log']) rmSync(join(coord(), f), { recursive: true, force: true });
    };
    // Warm-up of the coordinator path: copies the program and spec once (untimed).
    reset();
    await ws.nx(['run', 'demo:experiment', '--plan=demo-sweep', '--coordinator=tb-0', '--output=plain']);
    const localSpan: number[] = [];
    const coordSpan: number[] = [];
    const handoff: number[] = [];
    const command: number[] = [];
    for (let i = 0; i < args.repeats; i++) {
      reset();
      await ws.nx(['run', 'demo:experiment', '--plan=demo-sweep', '--output=plain']);
      localSpan.push(sweepSpan(readEvents(join(local, 'journal.jsonl')), 'local sweep'));
      reset();
      const h = await ws.nx(['run', 'demo:experiment', '--plan=demo-sweep', '--coordinator=tb-0', '--detach', '--output=plain']);
      const m = /hand-off (\d+) ms after the deploy/.exec(h.out);
      if (!m || !/unchanged, nothing sent/.test(h.out)) throw new Error(`hand-off not acknowledged, or something was copied:\n${h.out.slice(-2000)}`);
      handoff.push(Number(m[1]));
      command.push(h.ms);
      const file = join(coord(), 'results/demo-sweep/journal.jsonl');
      const t0 = Date.now();
      while (!readEvents(join(coord(), 'coordinator.jsonl')).some((e) => e.type === 'end')) {
        if (Date.now() - t0 > 300_000) throw new Error('the coordinator did not end within 5 min');
        await new Promise((r) => setTimeout(r, 200));
      }
      coordSpan.push(sweepSpan(readEvents(file), 'coordinator sweep'));
      console.log(`repeat ${i + 1}: local ${localSpan.at(-1)} ms, coordinator ${coordSpan.at(-1)} ms, hand-off ${handoff.at(-1)} ms (command ${Math.round(h.ms)} ms)`);
    }
    const per = (span: number) => Math.round(span / 12 - 1000);
    console.log(`\n${machineLine(4, args.repeats)}`);
    console.log('| sweep (12 runs of 1 s) | median span ms | overhead per run ms | spans (ms) |');
    console.log('| --- | ---: | ---: | --- |');
    console.log(`| from this machine | ${median(localSpan)} | ${per(median(localSpan))} | ${localSpan.join(', ')} |`);
    console.log(`| coordinator on tb-0 | ${median(coordSpan)} | ${per(median(coordSpan))} | ${coordSpan.join(', ')} |`);
    console.log(`\nhand-off (deploy end -> acknowledged, nothing to copy): median ${median(handoff)} ms (${handoff.join(', ')}); whole --detach command under Nx: median ${Math.round(median(command))} ms`);
  } finally {
    await ws.nx(['run', 'demo:stop', '-c', 'local']).catch(() => undefined);
    await ws.nx(['run', 'local:down']).catch(() => undefined);
    if (!args.keep) ws.remove();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
