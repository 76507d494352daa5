/**
 * What the Nx-level benchmarks (noop-deploy, daphne-redeploy) share: their options, a temporary
 * workspace under tmp/ using this workspace's node_modules with a local platform on its own
 * testbed, `nx` runs timed in it (Nx's cache and workspace data kept inside it), the median, and
 * the labrig agent of such a workspace (what its journal shows; stopping it).
 */
import { execa } from 'execa';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const workspace = resolve(import.meta.dirname, '../..');

export interface BenchArgs {
  repeats: number;
  keep: boolean;
}

export function parseBenchArgs(name: string, argv: string[]): BenchArgs {
  const a = { repeats: 7, keep: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--repeats' && argv[i + 1]) a.repeats = Number(argv[++i]);
    else if (argv[i] === '--keep') a.keep = true;
    else throw new Error(`tools/bench/${name}: unknown option ${JSON.stringify(argv[i])} (known: --repeats N --keep)`);
  }
  if (!Number.isInteger(a.repeats) || a.repeats < 1) throw new Error(`--repeats: expected a whole number >= 1, got ${a.repeats}`);
  return a;
}

export interface BenchWorkspace {
  /** The temporary workspace root. */
  dir: string;
  /** Its testbed's folder. */
  tb: string;
  /** Run nx there (`more`: environment added); its wall time and output. A non-zero exit throws with the end of the output. */
  nx(args: string[], more?: Record<string, string>): Promise<{ ms: number; out: string }>;
  /** Remove both folders. */
  remove(): void;
}

/**
 * A workspace `tmp/<prefix>XXXXXX` with nx.json, package.json, tsconfig.base.json and
 * node_modules of this one, and configs/platforms/local on a testbed of `hosts` hosts at
 * `addressBase`:`port` (plus `testbed` lines, e.g. `s3 = true`).
 */
export function makeBenchWorkspace(prefix: string, o: { hosts: number; addressBase: string; port: number; testbed?: string[] }): BenchWorkspace {
  mkdirSync(join(workspace, 'tmp'), { recursive: true });
  const dir = mkdtempSync(join(workspace, 'tmp', `${prefix}-`));
  const tb = mkdtempSync(join(tmpdir(), `labrig-${prefix}-`));
  chmodSync(tb, 0o755);
  for (const f of ['nx.json', 'package.json', 'tsconfig.base.json']) cpSync(join(workspace, f), join(dir, f));
  symlinkSync(join(workspace, 'node_modules'), join(dir, 'node_modules'));
  mkdirSync(join(dir, 'configs/platforms/local'), { recursive: true });
  writeFileSync(
    join(dir, 'configs/platforms/local/platform.toml'),
    ['platform = "@labrig/platform-local"', '[testbed]', `hosts = ${o.hosts}`, `dir = ${JSON.stringify(tb)}`, `addressBase = "${o.addressBase}"`, `port = ${o.port}`, ...(o.testbed ?? [])].join('\n') + '\n',
  );
  // Nx's cache and workspace data inside the copy (not ~/.nx), and Nx's usual settings for CI.
  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NX_'))),
    NX_DAEMON: 'false',
    NX_NO_CLOUD: 'true',
    NX_TUI: 'false',
    CI: 'true', // so the labrig agent is off unless a bench turns it on (LABRIG_AGENT=on)
    NX_CACHE_DIRECTORY: join(dir, '.nx/cache'),
    NX_WORKSPACE_DATA_DIRECTORY: join(dir, '.nx/workspace-data'),
  };
  return {
    dir,
    tb,
    async nx(args, more = {}) {
      const t = performance.now();
      const r = await execa('node', [join(workspace, 'node_modules/nx/dist/bin/nx.js'), ...args], { cwd: dir, env: { ...env, ...more }, extendEnv: false, reject: false, all: true });
      const ms = performance.now() - t;
      if (r.exitCode !== 0) throw new Error(`nx ${args.join(' ')} failed (exit ${r.exitCode}):\n${(r.all ?? '').slice(-3000)}`);
      return { ms, out: r.all ?? '' };
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
      rmSync(tb, { recursive: true, force: true });
    },
  };
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** The machine line every benchmark prints above its table. */
export const machineLine = (hosts: number, repeats: number): string =>
  `machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}; ${hosts} hosts; median of ${repeats}`;

/** Whether `pid` is a live labrig engine (the agent's program), not a reused pid. */
function isAgent(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('labrig-engine');
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Stop the labrig agent of a workspace, if one runs: SIGTERM to the pid in
 * `.labrig/agent/agent.pid`, then wait (up to 10 s) until it is gone; a warning if it is not.
 */
export async function stopAgent(dir: string): Promise<void> {
  let pid: number;
  try {
    pid = Number((JSON.parse(readFileSync(join(dir, '.labrig/agent/agent.pid'), 'utf8')) as { pid: number }).pid);
  } catch {
    return; // none runs
  }
  if (!pid || !isAgent(pid)) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && isAgent(pid); i++) await sleep(100);
  if (isAgent(pid)) console.error(`warning: the labrig agent of ${dir} (pid ${pid}) did not exit 10 s after SIGTERM`);
}

/** One line of a workspace's agent journal (`.labrig/agent/agent.jsonl`). */
export interface AgentEvent {
  event: string;
  ref?: string;
  code?: number;
  ms?: number;
  pid?: number;
  reason?: string;
}

/** The events of a workspace's agent journal (none when no agent ever ran). */
export function agentJournal(dir: string): AgentEvent[] {
  const file = join(dir, '.labrig/agent/agent.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as AgentEvent);
}

/** Where the agent journal is now: pass to agentRan/agentIdle after a command. */
export const agentMark = (dir: string): number => agentJournal(dir).length;

const describe = (es: AgentEvent[]): string => es.map((e) => `${e.event}${e.ref ? ` ${e.ref}` : ''}${e.code !== undefined ? ` code ${e.code}` : ''}${e.reason ? ` (${e.reason})` : ''}`).join(', ') || 'nothing';

/**
 * The agent that was already running ran exactly `executors` (by executor name: `push` for
 * `@labrig/platform-local:push`, in any order) since `mark`, each with exit 0; their agent-side
 * ms by name. Throws, naming what the journal shows, otherwise: a command that failed, one that
 * ran outside the agent, or a new agent (the warm one exited: a cold command, not the one measured).
 */
export async function agentRan(dir: string, mark: number, executors: string[], what: string): Promise<Record<string, number>> {
  const want = [...executors].sort().join(',');
  const name = (e: AgentEvent) => (e.ref ?? '').split(':').pop()!;
  let since: AgentEvent[] = [];
  // The agent answers the client just before it writes `command-end`: allow it a moment.
  for (let i = 0; i < 20; i++) {
    since = agentJournal(dir).slice(mark);
    if (since.filter((e) => e.event === 'command-end').map(name).sort().join(',') === want) break;
    await sleep(50);
  }
  const ends = since.filter((e) => e.event === 'command-end');
  const bad = ends.filter((e) => e.code !== 0);
  if (since.some((e) => e.event === 'start')) throw new Error(`${what}: a new labrig agent started (the warm one was gone); the agent's journal: ${describe(since)}`);
  if (ends.map(name).sort().join(',') !== want || bad.length) {
    throw new Error(`${what}: expected the agent to run ${executors.join(', ')} with exit 0; its journal shows: ${describe(since)}`);
  }
  return Object.fromEntries(ends.map((e) => [name(e), e.ms ?? NaN]));
}

/** No command reached the agent since `mark` (LABRIG_AGENT=off ran the command in its own process). */
export function agentIdle(dir: string, mark: number, what: string): void {
  const since = agentJournal(dir).slice(mark).filter((e) => e.event.startsWith('command-') || e.event === 'start');
  if (since.length) throw new Error(`${what}: LABRIG_AGENT=off, yet the agent's journal shows: ${describe(since)}`);
}
