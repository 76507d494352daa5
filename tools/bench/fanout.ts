/**
 * tools/bench/fanout: run `true` on 8, 32 and 64 testbed hosts with
 *   - labrig cold (a new connection pool per run: handshakes included),
 *   - labrig warm (one pool kept across runs: connections reused),
 *   - parallel OpenSSH (`ssh ... true &` per host, then `wait`; the testbed's sshd offers curve25519
 *     first and no sntrup761, so OpenSSH and labrig negotiate the same key exchange),
 *   - Ansible ad-hoc (`ansible all -m raw -a true -f N`), cold (no ControlPersist master) and with
 *     its default ssh args (ControlPersist: masters reused between runs),
 *   - a labrig command as a user types it, in a workspace whose `local` platform is this testbed:
 *     `labrig-run @labrig/platform-local:exec local configs/platforms/local --cmd=true` and
 *     `nx run local:exec --cmd=true`, each with the labrig agent off (LABRIG_AGENT=off: a cold
 *     command) and on (a later command: the agent, started and warmed by an untimed first
 *     command, keeps its connections),
 * on the same hosts, and print median wall times and ratios (a command against labrig warm: the
 * same hosts, a later step inside one run). A run only counts when every host really succeeded
 * (a failed login is fast): a command must exit 0 and write a new run journal with N host-end
 * events all `ok`, with the agent on the agent already running must have run it with exit 0, with
 * it off the agent must not have seen it; otherwise the benchmark stops with the failure.
 *
 * Usage: tools/bench/fanout [--sizes 8,32,64] [--repeats N] [--exec-repeats N] [--keep] [--json FILE]
 *   --repeats: runs of every tool (default 5; the commands and labrig warm: 7)
 *   --exec-repeats: runs of the commands (and of labrig warm, their reference; default 7, or --repeats when given)
 */
import { execa } from 'execa';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import type { Host, Renderer } from '@labrig/core';
import { parseFailurePolicy, runSteps } from '@labrig/core';
import { SshPool } from '@labrig/ssh';
import { down, toHost, up, type TestbedState } from '@labrig/testbed';
import { agentIdle, agentMark, agentRan, makeBenchWorkspace, stopAgent, type BenchWorkspace } from './nx-workspace.js';

interface Args { sizes: number[]; repeats: number; execRepeats: number; keep: boolean; json?: string }

function parseArgs(argv: string[]): Args {
  let repeats: number | undefined;
  let execRepeats: number | undefined;
  const a = { sizes: [8, 32, 64], keep: false, json: undefined as string | undefined };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[i + 1];
    if (k === '--sizes' && v) { a.sizes = v.split(',').map(Number); i++; }
    else if (k === '--repeats' && v) { repeats = Number(v); i++; }
    else if (k === '--exec-repeats' && v) { execRepeats = Number(v); i++; }
    else if (k === '--json' && v) { a.json = v; i++; }
    else if (k === '--keep') a.keep = true;
    else throw new Error(`tools/bench/fanout: unknown option ${JSON.stringify(k)} (known: --sizes 8,32,64 --repeats N --exec-repeats N --keep --json FILE)`);
  }
  if (a.sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 200)) throw new Error(`--sizes: expected whole numbers 1..200, got ${a.sizes.join(',')}`);
  for (const [k, n] of [['--repeats', repeats], ['--exec-repeats', execRepeats]] as const) {
    if (n !== undefined && (!Number.isInteger(n) || n < 1)) throw new Error(`${k}: expected a whole number >= 1, got ${n}`);
  }
  return { ...a, repeats: repeats ?? 5, execRepeats: execRepeats ?? repeats ?? 7 };
}

const root = resolve(import.meta.dirname, '../..');
const benchDir = join(root, '.labrig', 'bench');
const silent: Renderer = { onEvent() {}, close() {} };

function toHosts(state: TestbedState, n: number): Host[] {
  return state.hosts.slice(0, n).map((h) => toHost(h));
}

async function timeIt(fn: () => Promise<void>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

async function labrigRun(pool: SshPool, hosts: Host[]): Promise<void> {
  const result = await runSteps([{ name: 'true', run: ({ remote }) => remote.exec(['true']) }], {
    root: benchDir, hosts, connector: pool, output: silent, failurePolicy: parseFailurePolicy('continue'),
  });
  const ok = result.results.filter((r) => r.status === 'ok').length;
  if (ok !== hosts.length) {
    const bad = result.results.find((r) => r.status !== 'ok');
    throw new Error(`labrig: ${ok}/${hosts.length} hosts succeeded; first failure: ${bad?.host}: ${bad?.error?.message}`);
  }
}

function newPool(knownHosts: string, n: number): SshPool {
  return new SshPool({ knownHostsFile: knownHosts, maxHandshakes: Math.min(n, 16), sshConfigFile: false });
}

function sshScript(state: TestbedState, n: number, knownHosts: string): string {
  const lines = ['fail=0', 'pids=()'];
  for (const h of state.hosts.slice(0, n)) {
    const argv = ['ssh', '-F', '/dev/null', '-i', h.identityFile, '-p', String(h.port), '-o', 'BatchMode=yes',
      '-o', 'StrictHostKeyChecking=accept-new', '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'ControlMaster=no',
      `${h.user}@${h.address}`, 'true'];
    lines.push(`${argv.map((x) => `'${x}'`).join(' ')} & pids+=($!)`);
  }
  lines.push('for p in "${pids[@]}"; do wait "$p" || fail=$((fail+1)); done', 'echo "failed=$fail"', '[ "$fail" -eq 0 ]');
  return lines.join('\n');
}

async function opensshRun(script: string, n: number): Promise<void> {
  const r = await execa('bash', ['-c', script], { reject: false, env: { HOME: benchDir } });
  if (r.exitCode !== 0 || !r.stdout.includes('failed=0')) throw new Error(`openssh: not all ${n} hosts succeeded: ${r.stdout} ${r.stderr.slice(-500)}`);
}

function ansibleInventory(state: TestbedState, n: number): string {
  const file = join(benchDir, `inventory-${n}.ini`);
  writeFileSync(file, ['[all]', ...state.hosts.slice(0, n).map((h) =>
    `${h.name} ansible_host=${h.address} ansible_port=${h.port} ansible_user=${h.user} ansible_ssh_private_key_file=${h.identityFile}`)].join('\n') + '\n');
  return file;
}

async function ansibleRun(inv: string, n: number, controlDir: string, persist: boolean): Promise<void> {
  const r = await execa('ansible', ['all', '-i', inv, '-m', 'raw', '-a', 'true', '-f', String(n), '-o'], {
    reject: false,
    env: {
      HOME: benchDir,
      ANSIBLE_HOST_KEY_CHECKING: 'False',
      ANSIBLE_SSH_CONTROL_PATH_DIR: controlDir,
      ANSIBLE_SSH_ARGS: persist ? '-F /dev/null -o ControlMaster=auto -o ControlPersist=60s' : '-F /dev/null -o ControlMaster=no',
      ANSIBLE_LOCAL_TEMP: join(benchDir, 'ansible-tmp'),
    },
  });
  const okLines = r.stdout.split('\n').filter((l) => /\| (CHANGED|SUCCESS) \| rc=0/.test(l)).length;
  if (r.exitCode !== 0 || okLines !== n) throw new Error(`ansible: ${okLines}/${n} hosts succeeded (exit ${r.exitCode}): ${r.stdout.slice(-500)} ${r.stderr.slice(-500)}`);
}

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2; };

const labrigRunBin = join(root, 'packages/runner/bin/labrig-run.mjs');
/** labrig-run as installed: the native client (built with cc on first use), the Node client behind it. */
const labrigRunNative = join(root, 'packages/runner/bin/labrig-run');

/** The id of the newest run of `ws` (ids sort by start time), if any. */
function newestRun(ws: BenchWorkspace): string | undefined {
  try {
    return readdirSync(join(ws.dir, '.labrig/runs')).filter((d) => /^\d{8}-/.test(d)).sort().pop();
  } catch {
    return undefined;
  }
}

/**
 * The command just run wrote a new run (newer than `before`) that ended with all `n` hosts ok
 * (a failed login is fast: no time is kept without it).
 */
function checkRun(ws: BenchWorkspace, before: string | undefined, n: number, what: string): void {
  const id = newestRun(ws);
  if (!id || id === before) throw new Error(`${what}: exit 0 but no new run journal under ${join(ws.dir, '.labrig/runs')}`);
  const events = readFileSync(join(ws.dir, '.labrig/runs', id, 'journal.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; status?: string; host?: string });
  const ends = events.filter((e) => e.type === 'host-end');
  const ok = ends.filter((e) => e.status === 'ok').length;
  if (ends.length !== n || ok !== n) throw new Error(`${what}: run ${id}: ${ok}/${n} hosts ok, ${ends.length} host results (${ends.filter((e) => e.status !== 'ok').map((e) => `${e.host} ${e.status}`).join(', ') || 'missing hosts'})`);
}

type Agent = 'on' | 'off';
/** Whether the command is a warm-up: the first with the agent on starts it (not checked against the agent's journal). */
type Phase = 'warm-up' | 'timed';

/**
 * Time `command` (which throws on a non-zero exit), then check it: a new all-ok run journal of
 * `n` hosts, and with the agent on, that the agent already running ran `exec` with exit 0 (off:
 * that the agent saw nothing).
 */
async function timedCommand(ws: BenchWorkspace, n: number, agent: Agent, phase: Phase, what: string, command: () => Promise<void>): Promise<number> {
  const before = newestRun(ws);
  const mark = agentMark(ws.dir);
  const t = performance.now();
  await command();
  const ms = performance.now() - t;
  checkRun(ws, before, n, what);
  if (agent === 'off') agentIdle(ws.dir, mark, what);
  else if (phase === 'timed') await agentRan(ws.dir, mark, ['exec'], what);
  return ms;
}

const hostList = (n: number): string => Array.from({ length: n }, (_, i) => `tb-${i}`).join(',');

/** `labrig-run @labrig/platform-local:exec local configs/platforms/local --cmd=true` on the first `n` hosts, agent on or off; wall ms. */
function labrigRunExec(ws: BenchWorkspace, n: number, agent: Agent, phase: Phase = 'timed', client: 'node' | 'native' = 'node'): Promise<number> {
  const what = `labrig-run (${client} client) local:exec --cmd=true on ${n} hosts, agent ${agent}`;
  const [file, ...pre] = client === 'node' ? [process.execPath, labrigRunBin] : [labrigRunNative];
  return timedCommand(ws, n, agent, phase, what, async () => {
    const r = await execa(file!, [...pre, '@labrig/platform-local:exec', 'local', 'configs/platforms/local', '--cmd=true', `--hosts=${hostList(n)}`, '--output=json'], {
      cwd: ws.dir,
      env: { LABRIG_AGENT: agent },
      reject: false,
      all: true,
    });
    if (r.exitCode !== 0) throw new Error(`${what}: exit ${r.exitCode}\n${(r.all ?? '').slice(-1500)}`);
  });
}

/** The same through `nx run local:exec` (its exit status checked by ws.nx). */
function nxExec(ws: BenchWorkspace, n: number, agent: Agent, phase: Phase = 'timed'): Promise<number> {
  const what = `nx run local:exec --cmd=true on ${n} hosts, agent ${agent}`;
  return timedCommand(ws, n, agent, phase, what, async () => {
    await ws.nx(['run', 'local:exec', '--cmd=true', `--hosts=${hostList(n)}`, '--output=json'], { LABRIG_AGENT: agent });
  });
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  mkdirSync(benchDir, { recursive: true });
  const max = Math.max(...args.sizes);
  const tbDir = join(benchDir, 'testbed');
  console.log(`starting ${max} testbed hosts ...`);
  const state = await up({ dir: tbDir, hosts: max, addressBase: '127.0.40.0', port: 2340 });
  const knownHosts = join(benchDir, 'known_hosts');
  rmSync(knownHosts, { force: true });
  const rows: { n: number; tool: string; ms: number; runs: number[] }[] = [];
  // A workspace whose `local` platform is this testbed: labrig-run and nx run its exec target,
  // with the settings of labrig cold and warm (runSteps' default of 32 hosts at once, at most 16
  // handshakes in flight), so that a command compares with them.
  const ws = makeBenchWorkspace('bench-fanout', { hosts: max, addressBase: '127.0.40.0', port: 2340 });
  writeFileSync(
    join(ws.dir, 'configs/platforms/local/platform.toml'),
    ['platform = "@labrig/platform-local"', '[testbed]', `hosts = ${max}`, `dir = ${JSON.stringify(tbDir)}`, 'addressBase = "127.0.40.0"', 'port = 2340', '[run]', 'concurrency = 32', '[ssh]', 'maxHandshakes = 16'].join('\n') + '\n',
  );
  try {
    const bashMs = median(await Promise.all([1, 2, 3].map(() => timeIt(async () => { await execa('bash', ['-c', 'true']); }))));
    for (const n of args.sizes) {
      const hosts = toHosts(state, n);
      const inv = ansibleInventory(state, n);
      const t: Record<string, number[]> = {};
      const add = (k: string, ms: number) => (t[k] ??= []).push(ms);
      // Warm-ups (not timed): record host keys for every client, start Ansible's ControlPersist masters.
      const warmPool = newPool(knownHosts, n);
      await labrigRun(warmPool, hosts);
      await opensshRun(sshScript(state, n, knownHosts), n);
      const persistDir = join(benchDir, `cp-${n}`);
      mkdirSync(persistDir, { recursive: true });
      await ansibleRun(inv, n, persistDir, true);
      // The commands: each once in each mode (the first with the agent on starts it, or opens its
      // connections to the hosts of this size), then once more with the agent on, checked.
      await labrigRunExec(ws, n, 'off', 'warm-up');
      await labrigRunExec(ws, n, 'on', 'warm-up');
      await labrigRunExec(ws, n, 'on');
      await labrigRunExec(ws, n, 'on', 'timed', 'native'); // builds the native client when needed
      await nxExec(ws, n, 'off', 'warm-up');
      await nxExec(ws, n, 'on');
      // In turns, repeat after repeat; labrig warm (the reference of both groups) in every round.
      for (let i = 0; i < Math.max(args.repeats, args.execRepeats); i++) {
        const all = i < args.repeats;
        if (all) add('labrig cold', await timeIt(async () => { const p = newPool(knownHosts, n); try { await labrigRun(p, hosts); } finally { await p.close(); } }));
        add('labrig warm', await timeIt(() => labrigRun(warmPool, hosts)));
        if (all) {
          add('openssh', await timeIt(() => opensshRun(sshScript(state, n, knownHosts), n)));
          const coldDir = join(benchDir, `cc-${n}-${i}`);
          mkdirSync(coldDir, { recursive: true });
          add('ansible cold', await timeIt(() => ansibleRun(inv, n, coldDir, false)));
          add('ansible (ControlPersist warm)', await timeIt(() => ansibleRun(inv, n, persistDir, true)));
        }
        if (i < args.execRepeats) {
          add('labrig-run, agent off', await labrigRunExec(ws, n, 'off'));
          add('labrig-run, agent on (a later command)', await labrigRunExec(ws, n, 'on'));
          add('labrig-run native client, agent on', await labrigRunExec(ws, n, 'on', 'timed', 'native'));
          add('nx run local:exec, agent off', await nxExec(ws, n, 'off'));
          add('nx run local:exec, agent on', await nxExec(ws, n, 'on'));
        }
      }
      await warmPool.close();
      for (const [tool, runs] of Object.entries(t)) rows.push({ n, tool, ms: median(runs), runs });
      console.log(`  ${n} hosts done`);
    }
    const get = (n: number, tool: string) => rows.find((r) => r.n === n && r.tool === tool)!.ms;
    const lines = [
      `machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}; median of ${args.repeats} runs (labrig warm: ${Math.max(args.repeats, args.execRepeats)}, each command: ${args.execRepeats}); bash -c true = ${bashMs.toFixed(0)} ms`,
      '',
      `| hosts | tool | median ms | runs (ms) |`,
      `| ---: | --- | ---: | --- |`,
      ...rows.map((r) => `| ${r.n} | ${r.tool} | ${r.ms.toFixed(0)} | ${r.runs.map((x) => x.toFixed(0)).join(', ')} |`),
      '',
      `| hosts | cold labrig / openssh | cold labrig / ansible cold | warm labrig / openssh | warm labrig / ansible warm |`,
      `| ---: | ---: | ---: | ---: | ---: |`,
      ...args.sizes.map((n) => {
        const r = (a: string, b: string) => (get(n, a) / get(n, b)).toFixed(2);
        return `| ${n} | ${r('labrig cold', 'openssh')} | ${r('labrig cold', 'ansible cold')} | ${r('labrig warm', 'openssh')} | ${r('labrig warm', 'ansible (ControlPersist warm)')} |`;
      }),
      '',
      `A command of its own, as a user types it (labrig warm = the same hosts, a later step inside one run):`,
      '',
      `| hosts | labrig-run native client, agent on / labrig warm (aim ≤ 1.5) | labrig-run Node client, agent on / labrig warm | labrig-run agent off / labrig warm | nx agent on / labrig warm | nx agent off / labrig warm | nx agent on / nx agent off |`,
      `| ---: | ---: | ---: | ---: | ---: | ---: | ---: |`,
      ...args.sizes.map((n) => {
        const r = (a: string, b: string) => (get(n, a) / get(n, b)).toFixed(2);
        return `| ${n} | ${r('labrig-run native client, agent on', 'labrig warm')} | ${r('labrig-run, agent on (a later command)', 'labrig warm')} | ${r('labrig-run, agent off', 'labrig warm')} | ${r('nx run local:exec, agent on', 'labrig warm')} | ${r('nx run local:exec, agent off', 'labrig warm')} | ${r('nx run local:exec, agent on', 'nx run local:exec, agent off')} |`;
      }),
    ];
    console.log(lines.join('\n'));
    if (args.json) writeFileSync(args.json, JSON.stringify({ bashMs, rows }, null, 2));
  } finally {
    await stopAgent(ws.dir);
    if (!args.keep) {
      await down(tbDir);
      ws.remove();
    }
  }
}

main().catch((e: unknown) => { console.error(e instanceof Error ? e.message : e); process.exit(1); });
