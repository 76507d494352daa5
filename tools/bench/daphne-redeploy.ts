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
import { execa } from 'execa';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { findLastRun, hostStatuses } from '@labrig/testkit';

const workspace = resolve(import.meta.dirname, '../..');
const HOSTS = 8;

function parseArgs(argv: string[]): { repeats: number; keep: boolean } {
  const a = { repeats: 7, keep: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--repeats' && argv[i + 1]) a.repeats = Number(argv[++i]);
    else if (argv[i] === '--keep') a.keep = true;
    else throw new Error(`tools/bench/daphne-redeploy: unknown option ${JSON.stringify(argv[i])} (known: --repeats N --keep)`);
  }
  if (!Number.isInteger(a.repeats) || a.repeats < 1) throw new Error(`--repeats: expected a whole number >= 1, got ${a.repeats}`);
  return a;
}

function makeWorkspace(): { dir: string; tb: string } {
  mkdirSync(join(workspace, 'tmp'), { recursive: true });
  const dir = mkdtempSync(join(workspace, 'tmp', 'bench-daphne-'));
  const tb = mkdtempSync(join(tmpdir(), 'labrig-bench-daphne-'));
  chmodSync(tb, 0o755);
  for (const f of ['nx.json', 'package.json', 'tsconfig.base.json']) cpSync(join(workspace, f), join(dir, f));
  symlinkSync(join(workspace, 'node_modules'), join(dir, 'node_modules'));
  cpSync(join(workspace, 'targets/daphne'), join(dir, 'targets/daphne'), { recursive: true });
  // The fixture build lives in the plugin: name it where it is (the copy has no plugins/ folder).
  const file = join(dir, 'targets/daphne/system.toml');
  const sys = readFileSync(file, 'utf8').replaceAll('../../plugins/systems/daphne/', `${join(workspace, 'plugins/systems/daphne')}/`);
  if (!sys.includes(join(workspace, 'plugins/systems/daphne'))) throw new Error('targets/daphne/system.toml changed shape: update tools/bench/daphne-redeploy.ts');
  writeFileSync(file, sys);
  mkdirSync(join(dir, 'configs/platforms/local'), { recursive: true });
  writeFileSync(
    join(dir, 'configs/platforms/local/platform.toml'),
    ['platform = "@labrig/platform-local"', '[testbed]', `hosts = ${HOSTS}`, `dir = ${JSON.stringify(tb)}`, 'addressBase = "127.0.43.0"', 'port = 2343'].join('\n') + '\n',
  );
  return { dir, tb };
}

const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NX_')));
let env: NodeJS.ProcessEnv = baseEnv;
async function nx(dir: string, args: string[]): Promise<{ ms: number; out: string }> {
  const t = performance.now();
  const r = await execa('node', [join(workspace, 'node_modules/nx/dist/bin/nx.js'), ...args], { cwd: dir, env, reject: false, all: true });
  const ms = performance.now() - t;
  if (r.exitCode !== 0) throw new Error(`nx ${args.join(' ')} failed (exit ${r.exitCode}):\n${(r.all ?? '').slice(-3000)}`);
  return { ms, out: r.all ?? '' };
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

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2; };

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const { dir, tb } = makeWorkspace();
  env = { ...baseEnv, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', CI: 'true', NX_CACHE_DIRECTORY: join(dir, '.nx/cache'), NX_WORKSPACE_DATA_DIRECTORY: join(dir, '.nx/workspace-data') };
  try {
    console.log(`workspace copy: ${dir}; starting ${HOSTS} hosts ...`);
    await nx(dir, ['run', 'local:up']);
    await nx(dir, ['run', 'daphne:deploy', '-c', 'local', '--output=plain']); // first deploy: does everything (untimed)
    await nx(dir, ['run', 'daphne:deploy', '-c', 'local', '--output=plain']); // warm-up of the re-run path
    await checkRedeploy(dir);
    const floor: number[] = [];
    const deploy: number[] = [];
    for (let i = 0; i < args.repeats; i++) {
      const f = await nx(dir, ['run', 'daphne:image']);
      if (!/no image to build/.test(f.out)) throw new Error(`daphne:image did something: ${f.out.slice(-500)}`);
      floor.push(f.ms);
      const d = await nx(dir, ['run', 'daphne:deploy', '-c', 'local', '--output=plain']);
      if (!/\[local cache\]|existing outputs match the cache/.test(d.out)) throw new Error('build was not a cache hit');
      await checkRedeploy(dir);
      deploy.push(d.ms);
    }
    const fm = median(floor);
    const dm = median(deploy);
    console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}; ${HOSTS} hosts; median of ${args.repeats}`);
    console.log(`| target | median ms | runs (ms) |\n| --- | ---: | --- |`);
    console.log(`| daphne:image (one labrig-run task that does nothing) | ${fm.toFixed(0)} | ${floor.map((x) => x.toFixed(0)).join(', ')} |`);
    console.log(`| daphne:deploy -c local, everything deployed | ${dm.toFixed(0)} | ${deploy.map((x) => x.toFixed(0)).join(', ')} |`);
  } finally {
    if (!args.keep) {
      await nx(dir, ['run', 'daphne:stop', '-c', 'local']).catch(() => undefined);
      await nx(dir, ['run', 'local:down']).catch((e: unknown) => console.error(String(e)));
      rmSync(dir, { recursive: true, force: true });
      rmSync(tb, { recursive: true, force: true });
    }
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
