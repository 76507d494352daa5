/**
 * Experiments end to end on real sshd hosts, S3 and registry (127.0.36.x:2336): the demo's
 * 12-run sweep through `labrig-run ... experiment`, killed with SIGKILL at three moments (during
 * the deploy, during a run, during a collection) and run again until done; a file truncated on a
 * host after its run ended; `--rerun-failed`; the results; plans that are wrong.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labrigRun, readJsonLines, startDemoWorkspace, type DemoWorkspace } from './testing/demo-workspace.js';
import type { PlanEvent } from '@labrig/experiments';

const bin = labrigRun;
let root: string;

const PLAN = (name: string, sweep: string, extra = '') => `
system = "demo"
platform = "e2e"
task = "bench"
repeats = 2
duration = "1s"
timeout = "1m"
${extra}
[settings]
clients = 8
value_size = 128
[sweep]
${sweep}
[metrics]
file = "stdout"
[metrics.fields]
throughput = { path = "throughput_ops_s", combine = "sum" }
p50_us = { path = "latency_us.p50", combine = "mean" }
p90_us = { path = "latency_us.p90", combine = "mean" }
p99_us = { path = "latency_us.p99", combine = "mean" }
[[results]]
kind = "line"
name = "throughput"
x = "clients"
y = "throughput"
series = "value_size"
[[results]]
kind = "line"
name = "latency"
x = "clients"
y = ["p50_us", "p99_us"]
series = "value_size"
[[results]]
kind = "cdf"
name = "cdf"
series = "clients"
percentiles = { "0.5" = "p50_us", "0.9" = "p90_us", "0.99" = "p99_us" }
[[results]]
kind = "bar"
name = "bars"
x = "value_size"
y = "throughput"
series = "clients"
`.replace(/^\n/, '') + (name ? '' : '');

const eventsOf = (plan: string): PlanEvent[] => readJsonLines<PlanEvent>(join(root, 'results', plan, 'journal.jsonl'));
/** Events of the newest session only. */
function sessionEvents(plan: string): PlanEvent[] {
  const all = eventsOf(plan);
  const i = all.map((e) => e.type).lastIndexOf('session-start');
  return i < 0 ? [] : all.slice(i);
}
const runOf = (e: PlanEvent) => ('run' in e ? e.run : undefined);

interface Session {
  exitCode: number | undefined;
  killed: boolean;
  out: string;
}

/**
 * One `labrig-run ... experiment` process. With `kill`, SIGKILL it `delayMs` after the newest
 * session's journal first satisfies `when` (the journal is polled every 5 ms).
 */
async function session(plan: string, args: string[] = [], kill?: { when: (ev: PlanEvent[]) => boolean; delayMs?: number; signal?: 'SIGKILL' | 'SIGINT' }): Promise<Session> {
  const child: ResultPromise = execa(process.execPath, [bin, '@labrig/system-generic:experiment', 'demo', 'targets/demo', `--plan=${plan}`, '--output=plain', ...args], {
    cwd: root,
    all: true,
    reject: false,
    env: { NO_COLOR: '1' },
  });
  let killed = false;
  if (kill) {
    const started = Date.now();
    void (async () => {
      // The previous session's events must not trigger: wait for this session's start first.
      const before = eventsOf(plan).filter((e) => e.type === 'session-start').length;
      while (child.exitCode === null && Date.now() - started < 120_000) {
        const all = eventsOf(plan);
        if (all.filter((e) => e.type === 'session-start').length > before && kill.when(sessionEvents(plan))) {
          if (kill.delayMs) await new Promise((r) => setTimeout(r, kill.delayMs));
          killed = child.kill(kill.signal ?? 'SIGKILL');
          return;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
  }
  const r = await child;
  return { exitCode: r.exitCode, killed: killed || r.signal === 'SIGKILL' || r.signal === 'SIGINT', out: String(r.all ?? '') };
}

/** Every stored file of the plan (run folders only) -> sha256. */
function snapshot(plan: string): Map<string, string> {
  const base = join(root, 'results', plan);
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (dir === base && e.name === 'report') continue;
        walk(p);
      } else if (e.name !== 'journal.jsonl') out.set(relative(base, p), createHash('sha256').update(readFileSync(p)).digest('hex'));
    }
  };
  if (existsSync(base)) walk(base);
  return out;
}
function expectKept(before: Map<string, string>, after: Map<string, string>): void {
  for (const [file, sha] of before) expect({ file, sha: after.get(file) }).toEqual({ file, sha });
}

const homes = () => ws.homes();

let ws: DemoWorkspace;
beforeAll(async () => {
  ws = await startDemoWorkspace({ prefix: 'experiment', addressBase: '127.0.36.0', port: 2336 });
  ({ root } = ws);
  writeFileSync(join(root, 'configs/experiments/sweep.toml'), PLAN('sweep', 'clients = [1, 4, 16]\nvalue_size = [64, 4096]'));
}, 240_000);

afterAll(async () => {
  await ws?.close();
});

describe('an experiment plan on the demo', { timeout: 240_000 }, () => {
  it('a plan that is wrong fails before anything is deployed', async () => {
    writeFileSync(join(root, 'configs/experiments/bad-system.toml'), PLAN('', 'clients = [1]').replace('system = "demo"', 'system = "dmeo"'));
    writeFileSync(join(root, 'configs/experiments/bad-sweep.toml'), PLAN('', 'clientz = [1, 2]'));
    writeFileSync(join(root, 'configs/experiments/bad-empty.toml'), PLAN('', 'clients = []'));
    writeFileSync(join(root, 'configs/experiments/bad-task.toml'), PLAN('', 'clients = [1]').replace('task = "bench"', 'task = "bnech"'));
    const expected: Record<string, RegExp> = {
      'bad-system': /bad-system\.toml.*system.*unknown system "dmeo"[\s\S]*hint: .*demo/,
      'bad-sweep': /bad-sweep\.toml.*sweep\.clientz.*not a setting[\s\S]*hint: Settings: clients/,
      'bad-empty': /bad-empty\.toml.*sweep\.clients/,
      'bad-task': /bad-task\.toml.*task.*the system demo has no task "bnech"[\s\S]*hint: Tasks of targets\/demo\/system\.toml: load, bench/,
    };
    for (const [plan, re] of Object.entries(expected)) {
      const s = await session(plan);
      expect({ plan, exitCode: s.exitCode }).toEqual({ plan, exitCode: 1 });
      expect(s.out).toMatch(re);
      expect(existsSync(join(root, 'results', plan))).toBe(false);
    }
    expect(existsSync(join(root, '.labrig/runs'))).toBe(false); // no deploy, no run of any kind
  });

  it('killed during the deploy, during a run and during a collection, every run still ends done exactly once', async () => {
    // 1. Killed during the deploy (the first: it uploads, sets up and starts the servers).
    const s1 = await session('sweep', [], { when: (ev) => ev.some((e) => e.type === 'deploy-start'), delayMs: 300 });
    expect(s1.killed).toBe(true);
    expect(sessionEvents('sweep').map((e) => e.type)).toEqual(['session-start', 'deploy-start']);
    const snap1 = snapshot('sweep');

    // 2. Killed while the second run of the session runs on its hosts (it goes on without labrig).
    let inFlight: string | undefined;
    const s2 = await session('sweep', [], {
      when: (ev) => {
        const starts = ev.filter((e) => e.type === 'run-start');
        inFlight = starts[1] ? runOf(starts[1]) : undefined;
        return starts.length >= 2;
      },
      delayMs: 300,
    });
    expect(s2.killed).toBe(true);
    expect(inFlight).toBeDefined();
    const ev2 = sessionEvents('sweep');
    expect(ev2.filter((e) => e.type === 'run-done').length).toBe(1);
    expect(ev2.some((e) => e.type === 'run-done' && e.run === inFlight)).toBe(false);
    const snap2 = snapshot('sweep');
    expectKept(snap1, snap2);

    // 3. Killed during a collection (the third of the session).
    let collecting: string | undefined;
    const s3 = await session('sweep', [], {
      when: (ev) => {
        const c = ev.filter((e) => e.type === 'collect-start');
        collecting = c[2] ? runOf(c[2]) : undefined;
        return c.length >= 3;
      },
    });
    expect(s3.killed).toBe(true);
    const ev3 = sessionEvents('sweep');
    // The run killed mid-run was collected, not run again: it was still attempt 1.
    expect(ev3.some((e) => e.type === 'run-done' && e.run === inFlight && e.attempt === 1)).toBe(true);
    expect(ev3.some((e) => e.type === 'run-done' && e.run === collecting)).toBe(false);
    const snap3 = snapshot('sweep');
    expectKept(snap2, snap3);

    // 4. To the end.
    const s4 = await session('sweep');
    expect(s4.exitCode, s4.out.slice(-3000)).toBe(0);
    expect(s4.out).toContain('12/12 runs done');
    expect(s4.out).toMatch(/report: results\/sweep\/report\/report\.html/);
    const snap4 = snapshot('sweep');
    expectKept(snap3, snap4);

    const all = eventsOf('sweep');
    const done = all.filter((e): e is Extract<PlanEvent, { type: 'run-done' }> => e.type === 'run-done');
    const ids = [...new Set(all.flatMap((e) => (e.type === 'run-start' ? [e.run] : [])))];
    expect(ids).toHaveLength(12);
    for (const id of ids) expect({ id, done: done.filter((d) => d.run === id).length }).toEqual({ id, done: 1 });
    // The run killed during its collection was collected again (same attempt) or run again.
    expect(done.find((d) => d.run === collecting)).toBeDefined();
    // Checksums: each done attempt's files are those result.json lists, byte for byte.
    for (const d of done) {
      const dir = join(root, 'results/sweep', d.run, `attempt-${d.attempt}`);
      const result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as { status: string; files: { host: string; path: string; sha256: string; size: number }[] };
      expect(result.status).toBe('done');
      expect(result.files.length).toBe(4); // stdout + stderr of both client hosts
      for (const f of result.files) {
        const data = readFileSync(join(dir, 'hosts', f.host, f.path));
        expect({ f: `${d.run}/${f.host}/${f.path}`, sha: createHash('sha256').update(data).digest('hex'), size: data.length }).toEqual({ f: `${d.run}/${f.host}/${f.path}`, sha: f.sha256, size: f.size });
      }
      const run = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as { params: Record<string, unknown>; version: { artifacts: Record<string, string> }; hosts: { name: string }[] };
      expect(run.version.artifacts['kvload']).toMatch(/^[0-9a-f]{64}$/);
      expect(run.hosts.map((h) => h.name)).toEqual(['tb-2', 'tb-3']);
    }

    // A fifth session finds nothing to do and deploys nothing.
    const s5 = await session('sweep');
    expect(s5.exitCode).toBe(0);
    expect(sessionEvents('sweep').map((e) => e.type)).toEqual(['session-start', 'session-end']);
  });

  it('Ctrl-C during a run and during a collection: the session stops (exit 130), no run is marked failed, the next session finishes each run once', async () => {
    writeFileSync(join(root, 'configs/experiments/sweep-int.toml'), PLAN('sweep-int', 'clients = [1, 4]\nvalue_size = [64]'));
    // 1. Ctrl-C while the first run runs on its hosts.
    const s1 = await session('sweep-int', [], { when: (ev) => ev.some((e) => e.type === 'run-start'), delayMs: 200, signal: 'SIGINT' });
    expect(s1.exitCode, s1.out.slice(-2000)).toBe(130);
    // 2. Ctrl-C during collections, at moments spread over the fetch (each session collects what the one before left in flight).
    for (const delayMs of [0, 10, 25, 50]) {
      const s2 = await session('sweep-int', [], { when: (ev) => ev.some((e) => e.type === 'collect-start'), delayMs, signal: 'SIGINT' });
      if (s2.exitCode === 0) break; // the sweep ended before the signal
      expect(s2.exitCode, s2.out.slice(-2000)).toBe(130);
    }
    const all = eventsOf('sweep-int');
    expect(all.filter((e) => e.type === 'run-failed'), 'a stop is not a failure').toEqual([]);
    // 3. To the end: every run done exactly once, attempt 1 (nothing was run again).
    const s3 = await session('sweep-int');
    expect(s3.exitCode, s3.out.slice(-3000)).toBe(0);
    const done = eventsOf('sweep-int').filter((e): e is Extract<PlanEvent, { type: 'run-done' }> => e.type === 'run-done');
    expect(done.map((d) => `${d.run}@${d.attempt}`).sort()).toEqual([...new Set(done.map((d) => `${d.run}@1`))].sort());
    expect(new Set(done.map((d) => d.run)).size).toBe(4);
    expect(eventsOf('sweep-int').filter((e) => e.type === 'run-failed')).toEqual([]);
  });

  it('results: one CSV row per run with parameters and metrics, SVG and PNG plots, the HTML report', async () => {
    const r = await execa(process.execPath, [bin, '@labrig/system-generic:results', 'demo', 'targets/demo', '--plan=sweep'], { cwd: root, all: true, reject: false });
    expect(r.exitCode, r.all).toBe(0);
    const dir = join(root, 'results/sweep/report');
    const [header, ...lines] = readFileSync(join(dir, 'runs.csv'), 'utf8').trimEnd().split('\n');
    const cols = header!.split(',');
    for (const c of ['run', 'status', 'clients', 'value_size', 'throughput', 'p50_us', 'p99_us']) expect(cols).toContain(c);
    expect(lines).toHaveLength(12);
    const at = (line: string, col: string) => line.split(',')[cols.indexOf(col)]!;
    for (const l of lines) {
      expect(at(l, 'status')).toBe('done');
      expect(Number(at(l, 'throughput'))).toBeGreaterThan(0);
      expect(Number(at(l, 'p99_us'))).toBeGreaterThanOrEqual(Number(at(l, 'p50_us')));
    }
    expect(new Set(lines.map((l) => `${at(l, 'clients')}/${at(l, 'value_size')}`)).size).toBe(6);
    for (const p of ['throughput', 'latency', 'cdf', 'bars']) {
      expect(readFileSync(join(dir, `${p}.svg`), 'utf8')).toMatch(/^<svg/);
      expect(readFileSync(join(dir, `${p}.png`)).subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    }
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    for (const l of lines) expect(html).toContain(at(l, 'run'));
    expect(html).toContain('runs.csv');
    expect(html).toContain('throughput.png');
  });

  it('a file truncated on a host after its run ended fails that run; --rerun-failed repeats only it', async () => {
    writeFileSync(join(root, 'configs/experiments/trunc.toml'), PLAN('trunc', 'clients = [2]\nvalue_size = [64]'));
    // Kill labrig while the first run runs; let the hosts finish it; then truncate its stdout on one host.
    let first: string | undefined;
    const a = await session('trunc', [], { when: (ev) => ((first = ev.find((e) => e.type === 'run-start') && runOf(ev.find((e) => e.type === 'run-start')!)), !!first), delayMs: 200 });
    expect(a.killed).toBe(true);
    const remoteDir = (host: string) => join(homes()[host]!, '.labrig/experiments/trunc', first!, 'attempt-1');
    for (let i = 0; i < 200 && !['tb-2', 'tb-3'].every((h) => existsSync(join(remoteDir(h), 'exit'))); i++) await new Promise((r) => setTimeout(r, 50));
    const victim = join(remoteDir('tb-3'), 'stdout');
    const size = statSync(victim).size;
    expect(size).toBeGreaterThan(20);
    truncateSync(victim, Math.floor(size / 2));

    const b = await session('trunc');
    expect(b.exitCode).toBe(1);
    const statesB = sessionEvents('trunc');
    const failed = statesB.find((e) => e.type === 'run-failed');
    expect(failed && runOf(failed)).toBe(first);
    expect(failed && 'reason' in failed ? failed.reason : '').toMatch(/tb-3: stdout: sha256 \w+ \(\d+ bytes\) differs .*truncated/);
    const second = statesB.find((e) => e.type === 'run-done');
    expect(second && runOf(second)).not.toBe(first);
    const status = await execa(process.execPath, [bin, '@labrig/system-generic:experiment-status', 'demo', 'targets/demo', '--plan=trunc'], { cwd: root, all: true });
    expect(status.all).toMatch(/2 runs: 1 done, 1 failed/);

    const before = snapshot('trunc');
    const c = await session('trunc', ['--rerun-failed']);
    expect(c.exitCode, c.out.slice(-2000)).toBe(0);
    const starts = sessionEvents('trunc').filter((e) => e.type === 'run-start');
    expect(starts.map((e) => `${runOf(e)}#${'attempt' in e ? e.attempt : ''}`)).toEqual([`${first}#2`]);
    expectKept(before, snapshot('trunc'));
    const failedResult = JSON.parse(readFileSync(join(root, 'results/trunc', first!, 'attempt-1/result.json'), 'utf8')) as { status: string };
    expect(failedResult.status).toBe('failed');
  });

  it('--parallel-runs 2: independent runs at once, each on its own set of the task hosts', async () => {
    writeFileSync(join(root, 'configs/experiments/par.toml'), PLAN('par', 'clients = [3]\nvalue_size = [100, 200]'));
    const s = await session('par', ['--parallel-runs=2']);
    expect(s.exitCode, s.out.slice(-2000)).toBe(0);
    const ev = sessionEvents('par');
    const starts = ev.filter((e): e is Extract<PlanEvent, { type: 'run-start' }> => e.type === 'run-start');
    expect(starts).toHaveLength(4);
    expect(new Set(starts.map((e) => e.hosts.join(',')))).toEqual(new Set(['tb-2', 'tb-3']));
    // The second run started before the first one ended.
    const firstDone = ev.findIndex((e) => e.type === 'run-done');
    expect(ev.indexOf(starts[1]!)).toBeLessThan(firstDone);
    const bad = await session('par', ['--parallel-runs=3', '--rerun-failed']);
    expect(bad.exitCode).toBe(0); // nothing to do: every run is done, so no host sets are needed
    writeFileSync(join(root, 'configs/experiments/par3.toml'), PLAN('par3', 'clients = [5]'));
    const three = await session('par3', ['--parallel-runs=3']);
    expect(three.exitCode).toBe(1);
    expect(three.out).toMatch(/option --parallel-runs: got 3, expected at most 2 \(the task's hosts: tb-2, tb-3\)/);
  });

  it('collect fetches a run that finished on its hosts while labrig was not running, and starts nothing', async () => {
    writeFileSync(join(root, 'configs/experiments/late.toml'), PLAN('late', 'clients = [6]\nvalue_size = [32]').replace('repeats = 2', 'repeats = 1'));
    let run: string | undefined;
    const a = await session('late', [], { when: (ev) => ((run = ev.find((e) => e.type === 'run-start') && runOf(ev.find((e) => e.type === 'run-start')!)), !!run), delayMs: 200 });
    expect(a.killed).toBe(true);
    const exitFile = (h: string) => join(homes()[h]!, '.labrig/experiments/late', run!, 'attempt-1/exit');
    for (let i = 0; i < 200 && !['tb-2', 'tb-3'].every((h) => existsSync(exitFile(h))); i++) await new Promise((r) => setTimeout(r, 50));
    const c = await execa(process.execPath, [bin, '@labrig/system-generic:collect', 'demo', 'targets/demo', '--plan=late', '--output=plain'], { cwd: root, all: true, reject: false });
    expect(c.exitCode, c.all).toBe(0);
    expect(c.all).toContain('collected 1 run(s); 1/1 done');
    const ev = sessionEvents('late');
    expect(ev.filter((e) => e.type === 'run-start')).toHaveLength(0);
    expect(ev.filter((e) => e.type === 'deploy-start')).toHaveLength(0);
    expect(ev.find((e) => e.type === 'run-done')).toMatchObject({ run, attempt: 1 });
  });
});
