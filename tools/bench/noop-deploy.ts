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
import { execa } from 'execa';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readJournal, runsDir } from '@labrig/core';

const workspace = resolve(import.meta.dirname, '../..');
const HOSTS = 8;

function parseArgs(argv: string[]): { repeats: number; keep: boolean } {
  const a = { repeats: 7, keep: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--repeats' && argv[i + 1]) a.repeats = Number(argv[++i]);
    else if (argv[i] === '--keep') a.keep = true;
    else throw new Error(`tools/bench/noop-deploy: unknown option ${JSON.stringify(argv[i])} (known: --repeats N --keep)`);
  }
  if (!Number.isInteger(a.repeats) || a.repeats < 1) throw new Error(`--repeats: expected a whole number >= 1, got ${a.repeats}`);
  return a;
}

function makeWorkspace(): { dir: string; tb: string } {
  mkdirSync(join(workspace, 'tmp'), { recursive: true });
  const dir = mkdtempSync(join(workspace, 'tmp', 'bench-noop-'));
  const tb = mkdtempSync(join(tmpdir(), 'labrig-bench-noop-'));
  chmodSync(tb, 0o755);
  for (const f of ['nx.json', 'package.json', 'tsconfig.base.json']) cpSync(join(workspace, f), join(dir, f));
  symlinkSync(join(workspace, 'node_modules'), join(dir, 'node_modules'));
  mkdirSync(join(dir, 'targets/demo/src'), { recursive: true });
  for (const f of readdirSync(join(workspace, 'targets/demo/src')).filter((f) => /\.(c|h)$|^Makefile$/.test(f))) {
    cpSync(join(workspace, 'targets/demo/src', f), join(dir, 'targets/demo/src', f));
  }
  const sys = readFileSync(join(workspace, 'targets/demo/system.toml'), 'utf8')
    .replace('hosts = { indexes = [0, 1] }', 'hosts = { indexes = [0, 1, 2, 3] }')
    .replace('hosts = { indexes = [2, 3] }', 'hosts = { indexes = [4, 5, 6, 7] }');
  if (!sys.includes('[4, 5, 6, 7]')) throw new Error('targets/demo/system.toml changed shape: update tools/bench/noop-deploy.ts');
  writeFileSync(join(dir, 'targets/demo/system.toml'), sys);
  mkdirSync(join(dir, 'configs/platforms/local'), { recursive: true });
  writeFileSync(
    join(dir, 'configs/platforms/local/platform.toml'),
    ['platform = "@labrig/platform-local"', '[testbed]', `hosts = ${HOSTS}`, `dir = ${JSON.stringify(tb)}`, 'addressBase = "127.0.42.0"', 'port = 2342', 's3 = true', 'registry = true'].join('\n') + '\n',
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

/** The newest deploy run (by start time: ids share a second): every host of every step skipped. */
async function checkAllSkipped(dir: string): Promise<void> {
  const base = runsDir(dir);
  let newest: { id: string; time: string; events: Record<string, unknown>[] } | undefined;
  for (const id of readdirSync(base).filter((d) => /^\d{8}-/.test(d))) {
    const events = await readJournal(join(base, id));
    if (events[0]?.['title'] !== 'demo:deploy') continue;
    const time = String(events[0]['time']);
    if (!newest || time > newest.time) newest = { id, time, events };
  }
  if (!newest) throw new Error('no deploy run found');
  const ends = newest.events.filter((e) => e['type'] === 'host-end');
  const bad = ends.filter((e) => e['status'] !== 'skipped');
  // install:server + start:server on the 4 servers, install:client on the 4 clients.
  if (ends.length !== 12) throw new Error(`deploy run ${newest.id}: ${ends.length} host results, expected 12`);
  if (bad.length) throw new Error(`deploy run ${newest.id}: not a no-op: ${bad.map((e) => `${e['host']} ${e['step']} ${e['status']}`).join(', ')}`);
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2; };

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const { dir, tb } = makeWorkspace();
  // Nx's cache and workspace data inside the copy (not ~/.nx), and Nx's usual settings for CI.
  env = { ...baseEnv, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', CI: 'true', NX_CACHE_DIRECTORY: join(dir, '.nx/cache'), NX_WORKSPACE_DATA_DIRECTORY: join(dir, '.nx/workspace-data') };
  try {
    console.log(`workspace copy: ${dir}; starting ${HOSTS} hosts ...`);
    await nx(dir, ['run', 'local:up']);
    await nx(dir, ['run', 'demo:deploy', '-c', 'local', '--output=plain']); // first deploy: does everything (untimed)
    await nx(dir, ['run', 'demo:deploy', '-c', 'local', '--output=plain']); // warm-up of the no-op path
    await checkAllSkipped(dir);
    const noop: number[] = [];
    const deploy: number[] = [];
    for (let i = 0; i < args.repeats; i++) {
      noop.push((await nx(dir, ['run', 'demo:noop'])).ms);
      const d = await nx(dir, ['run', 'demo:deploy', '-c', 'local', '--output=plain']);
      if (!/\[local cache\]|existing outputs match the cache/.test(d.out)) throw new Error('build was not a cache hit');
      await checkAllSkipped(dir);
      deploy.push(d.ms);
    }
    const n = median(noop);
    const d = median(deploy);
    console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}; ${HOSTS} hosts; median of ${args.repeats}`);
    console.log(`| target | median ms | runs (ms) |\n| --- | ---: | --- |`);
    console.log(`| demo:noop (Nx floor) | ${n.toFixed(0)} | ${noop.map((x) => x.toFixed(0)).join(', ')} |`);
    console.log(`| demo:deploy -c local, nothing changed | ${d.toFixed(0)} | ${deploy.map((x) => x.toFixed(0)).join(', ')} |`);
    console.log(`labrig overhead above Nx's floor: ${(d - n).toFixed(0)} ms (aim: under 1000 ms)`);
  } finally {
    if (!args.keep) {
      await nx(dir, ['run', 'demo:stop', '-c', 'local']).catch(() => undefined);
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
