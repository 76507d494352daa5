/**
 * tools/bench/fanout: run `true` on 8, 32 and 64 testbed hosts with
 *   - labrig cold (a new connection pool per run: handshakes included),
 *   - labrig warm (one pool kept across runs: connections reused),
 *   - parallel OpenSSH (`ssh ... true &` per host, then `wait`; the testbed's sshd offers curve25519
 *     first and no sntrup761, so OpenSSH and labrig negotiate the same key exchange),
 *   - Ansible ad-hoc (`ansible all -m raw -a true -f N`), cold (no ControlPersist master) and with
 *     its default ssh args (ControlPersist: masters reused between runs),
 *   - a labrig command as a user types it: `labrig-run local:exec --cmd=true` and
 *     `nx run local:exec --cmd=true`, each with the labrig agent off (a cold command) and on (a
 *     later command: the agent's connections are warm),
 * on the same hosts, and print median wall times and ratios. A run only counts when every host
 * really succeeded (a failed login is fast); otherwise the benchmark stops with the failure.
 *
 * Usage: tools/bench/fanout [--sizes 8,32,64] [--repeats 5] [--keep] [--json FILE]
 */
import { execa } from 'execa';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import type { Host, Renderer } from '@labrig/core';
import { parseFailurePolicy, runSteps } from '@labrig/core';
import { SshPool } from '@labrig/ssh';
import { down, toHost, up, type TestbedState } from '@labrig/testbed';
import { makeBenchWorkspace, stopAgent, type BenchWorkspace } from './nx-workspace.js';

interface Args { sizes: number[]; repeats: number; keep: boolean; json?: string }

function parseArgs(argv: string[]): Args {
  const a: Args = { sizes: [8, 32, 64], repeats: 5, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[i + 1];
    if (k === '--sizes' && v) { a.sizes = v.split(',').map(Number); i++; }
    else if (k === '--repeats' && v) { a.repeats = Number(v); i++; }
    else if (k === '--json' && v) { a.json = v; i++; }
    else if (k === '--keep') a.keep = true;
    else throw new Error(`tools/bench/fanout: unknown option ${JSON.stringify(k)} (known: --sizes 8,32,64 --repeats N --keep --json FILE)`);
  }
  if (a.sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 200)) throw new Error(`--sizes: expected whole numbers 1..200, got ${a.sizes.join(',')}`);
  if (!Number.isInteger(a.repeats) || a.repeats < 1) throw new Error(`--repeats: expected a whole number >= 1, got ${a.repeats}`);
  return a;
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

/** The newest run of `ws` ended with all `n` hosts ok (a failed login is fast: no time kept without it). */
function checkRun(ws: BenchWorkspace, n: number, what: string): void {
  const events = readFileSync(join(ws.dir, '.labrig/runs/latest/journal.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; status?: string; host?: string });
  const ends = events.filter((e) => e.type === 'host-end');
  const ok = ends.filter((e) => e.status === 'ok').length;
  if (ends.length !== n || ok !== n) throw new Error(`${what}: ${ok}/${n} hosts ok in its run journal (${ends.filter((e) => e.status !== 'ok').map((e) => `${e.host} ${e.status}`).join(', ')})`);
}

/** `labrig-run local:exec --cmd=true` on the first `n` hosts, in the workspace, agent on or off; wall ms. */
async function labrigRunExec(ws: BenchWorkspace, n: number, agent: 'on' | 'off'): Promise<number> {
  const names = Array.from({ length: n }, (_, i) => `tb-${i}`).join(',');
  const t = performance.now();
  const r = await execa(process.execPath, [labrigRunBin, '@labrig/platform-local:exec', 'local', 'configs/platforms/local', '--cmd=true', `--hosts=${names}`, '--output=plain'], {
    cwd: ws.dir,
    env: { LABRIG_AGENT: agent },
    reject: false,
    all: true,
  });
  const ms = performance.now() - t;
  if (r.exitCode !== 0) throw new Error(`labrig-run (agent ${agent}) on ${n} hosts: exit ${r.exitCode}\n${(r.all ?? '').slice(-1500)}`);
  checkRun(ws, n, `labrig-run (agent ${agent})`);
  return ms;
}

/** The same through `nx run local:exec`. */
async function nxExec(ws: BenchWorkspace, n: number, agent: 'on' | 'off'): Promise<number> {
  const names = Array.from({ length: n }, (_, i) => `tb-${i}`).join(',');
  const { ms } = await ws.nx(['run', 'local:exec', '--cmd=true', `--hosts=${names}`, '--output=plain'], { LABRIG_AGENT: agent });
  checkRun(ws, n, `nx run local:exec (agent ${agent})`);
  return ms;
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
  // A workspace whose `local` platform is this testbed: labrig-run and nx run its exec target.
  const ws = makeBenchWorkspace('bench-fanout', { hosts: max, addressBase: '127.0.40.0', port: 2340 });
  writeFileSync(join(ws.dir, 'configs/platforms/local/platform.toml'), ['platform = "@labrig/platform-local"', '[testbed]', `hosts = ${max}`, `dir = ${JSON.stringify(tbDir)}`, 'addressBase = "127.0.40.0"', 'port = 2340', '[run]', 'concurrency = 64'].join('\n') + '\n');
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
      await labrigRunExec(ws, n, 'off');
      await labrigRunExec(ws, n, 'on'); // starts the agent, opens its connections: the first command is not timed
      await nxExec(ws, n, 'off');
      await nxExec(ws, n, 'on');
      for (let i = 0; i < args.repeats; i++) {
        add('labrig cold', await timeIt(async () => { const p = newPool(knownHosts, n); try { await labrigRun(p, hosts); } finally { await p.close(); } }));
        add('labrig warm', await timeIt(() => labrigRun(warmPool, hosts)));
        add('openssh', await timeIt(() => opensshRun(sshScript(state, n, knownHosts), n)));
        const coldDir = join(benchDir, `cc-${n}-${i}`);
        mkdirSync(coldDir, { recursive: true });
        add('ansible cold', await timeIt(() => ansibleRun(inv, n, coldDir, false)));
        add('ansible (ControlPersist warm)', await timeIt(() => ansibleRun(inv, n, persistDir, true)));
        add('labrig-run, agent off', await labrigRunExec(ws, n, 'off'));
        add('labrig-run, agent on (a later command)', await labrigRunExec(ws, n, 'on'));
        add('nx run local:exec, agent off', await nxExec(ws, n, 'off'));
        add('nx run local:exec, agent on', await nxExec(ws, n, 'on'));
      }
      await warmPool.close();
      for (const [tool, runs] of Object.entries(t)) rows.push({ n, tool, ms: median(runs), runs });
      console.log(`  ${n} hosts done`);
    }
    const get = (n: number, tool: string) => rows.find((r) => r.n === n && r.tool === tool)!.ms;
    const lines = [
      `machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}; median of ${args.repeats} runs; bash -c true = ${bashMs.toFixed(0)} ms`,
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
      `| hosts | labrig-run agent on / labrig warm (aim 1.5) | labrig-run agent off / labrig warm | nx agent on / nx agent off |`,
      `| ---: | ---: | ---: | ---: |`,
      ...args.sizes.map((n) => {
        const r = (a: string, b: string) => (get(n, a) / get(n, b)).toFixed(2);
        return `| ${n} | ${r('labrig-run, agent on (a later command)', 'labrig warm')} | ${r('labrig-run, agent off', 'labrig warm')} | ${r('nx run local:exec, agent on', 'nx run local:exec, agent off')} |`;
      }),
    ];
    console.log(lines.join('\n'));
    if (args.json) writeFileSync(args.json, JSON.stringify({ bashMs, rows }, null, 2));
  } finally {
    stopAgent(ws.dir);
    if (!args.keep) {
      await down(tbDir);
      ws.remove();
    }
  }
}

main().catch((e: unknown) => { console.error(e instanceof Error ? e.message : e); process.exit(1); });
