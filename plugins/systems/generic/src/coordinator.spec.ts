/**
 * A sweep run by a coordinator host (real sshd hosts, S3 and registry; 127.0.141.x:2490): the
 * demo's 12-run sweep handed to tb-0, the laptop's labrig SIGKILLed 1 s after the hand-off; the
 * sweep ends anyway (seen through experiment-status only), collect brings every run home verified,
 * results plots them. The coordinator SIGKILLed during a run and during a collection, restarted by
 * the next hand-off; a second hand-off attaches; collect twice; a corrupted store file; secrets;
 * the deployment key; bad coordinators.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa, execaSync } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labrigRun, readJsonLines, startDemoWorkspace, type DemoWorkspace } from './testing/demo-workspace.js';
import type { PlanEvent } from '@labrig/experiments';
import { CoordinatorReader, readExperiment } from '@labrig/dashboard';

const bin = labrigRun;
const CANARY = `canary-${createHash('sha256').update(String(process.pid)).digest('hex').slice(0, 16)}`;
let root: string;
let tbDir: string;

const PLAN = (sweep: string, extra = '') =>
  [
    'system = "demo"',
    'platform = "e2e"',
    'task = "bench"',
    'repeats = 2',
    'duration = "1s"',
    'timeout = "1m"',
    extra,
    '[settings]',
    'clients = 8',
    'value_size = 128',
    '[sweep]',
    sweep,
    '[metrics]',
    'file = "stdout"',
    '[metrics.fields]',
    'throughput = { path = "throughput_ops_s", combine = "sum" }',
    'p50_us = { path = "latency_us.p50", combine = "mean" }',
    'p99_us = { path = "latency_us.p99", combine = "mean" }',
    '[[results]]',
    'kind = "line"',
    'name = "throughput"',
    'x = "clients"',
    'y = "throughput"',
    'series = "value_size"',
    '',
  ].join('\n');

const homes = (): Record<string, string> => ws.homes();
const coordDir = (plan: string) => join(homes()['tb-0']!, '.labrig/coordinator', plan);

const lines = readJsonLines;
const remoteEvents = (plan: string) => lines<PlanEvent>(join(coordDir(plan), 'results', plan, 'journal.jsonl'));
const localEvents = (plan: string) => lines<PlanEvent>(join(root, 'results', plan, 'journal.jsonl'));

/** Live coordinator processes (any plan): node running a coordinator program (not a shell that names one). */
function coordinators(): number[] {
  const out: number[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (/(^|\/)node$/.test(argv[0] ?? '') && /labrig-engine-[0-9a-f]{12}\.cjs$/.test(argv[1] ?? '') && argv[2] === 'coordinator') out.push(Number(pid));
    } catch {
      /* gone */
    }
  }
  return out;
}

function run(target: string, args: string[], env: Record<string, string> = {}) {
  return execa(process.execPath, [bin, `@labrig/system-generic:${target}`, 'demo', 'targets/demo', '--output=plain', ...args], {
    cwd: root,
    all: true,
    reject: false,
    env: { NO_COLOR: '1', KV_TOKEN: CANARY, ...env },
  });
}

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms = 120_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let ws: DemoWorkspace;
beforeAll(async () => {
  // The demo with a secret in its environment (the canary): it must reach the runs and nothing else.
  ws = await startDemoWorkspace({ prefix: 'coordinator', addressBase: '127.0.141.0', port: 2490, system: (sys) => `${sys}\n[env]\nKV_TOKEN = { secret = "KV_TOKEN" }\n` });
  ({ root, tbDir } = ws);
  writeFileSync(join(root, 'configs/experiments/sweep.toml'), PLAN('clients = [1, 4, 16]\nvalue_size = [64, 4096]'));
}, 240_000);

afterAll(async () => {
  for (const pid of coordinators()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  await ws?.close();
});

describe('a sweep handed to a coordinator host', { timeout: 300_000 }, () => {
  it('the laptop killed 1 s after the hand-off: the sweep ends on tb-0, collect brings all 12 runs home verified, results plots them', async () => {
    const laptop = run('experiment', ['--plan=sweep', '--coordinator=tb-0']);
    let exited = false;
    void laptop.finally(() => (exited = true));
    await waitFor('the hand-off', () => exited || localEvents('sweep').some((e) => e.type === 'coordinator-handoff'));
    if (exited) throw new Error(`the laptop's labrig ended before the hand-off:\n${String((await laptop).all).split("\n").slice(-25).join("\n")}`);
    await new Promise((r) => setTimeout(r, 1000));
    expect(laptop.kill('SIGKILL')).toBe(true);
    const out = String((await laptop).all ?? '');
    expect(out).toMatch(/coordinator started on tb-0 \(pid \d+/);
    expect(coordinators().length).toBe(1);
    // The secret reached it on its standard input: not in its environment (which /proc shows
    // for its whole life) nor its argv.
    for (const pid of coordinators()) {
      expect(readFileSync(`/proc/${pid}/environ`, 'utf8')).not.toContain(CANARY);
      expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).not.toContain(CANARY);
    }

    // Seen only through experiment-status.
    let status = '';
    await waitFor(
      '12 runs done on the coordinator',
      async () => {
        const s = await run('experiment-status', ['--plan=sweep']);
        status = String(s.all);
        return /12 runs: 12 done/.test(status) && /coordinator on tb-0: not running/.test(status);
      },
      240_000,
    );
    expect(status).toMatch(/12 runs: 12 done, 0 failed, 0 in flight, 0 pending/);

    // The dashboard shows the sweep from the coordinator's state, before anything is collected here.
    const reader = new CoordinatorReader(root);
    try {
      const local = await readExperiment(root, 'sweep');
      expect(local!.done).toBe(0);
      const seen = await readExperiment(root, 'sweep', { coordinator: reader });
      expect(seen!.coordinator).toMatchObject({ host: 'tb-0', state: 'ended' });
      expect(seen!.done).toBe(12);
      expect(seen!.rows.every((r) => r.status === 'done')).toBe(true);
    } finally {
      await reader.close();
    }

    const c = await run('collect', ['--plan=sweep']);
    expect(c.exitCode, c.all).toBe(0);
    expect(c.all).toMatch(/collected 12 run\(s\) from the coordinator on tb-0 \(\d+ files, \d+ bytes, every sha256 verified\); 0 were here already/);
    const done = localEvents('sweep').filter((e): e is Extract<PlanEvent, { type: 'run-done' }> => e.type === 'run-done');
    expect(new Set(done.map((d) => d.run)).size).toBe(12);
    for (const d of done) {
      const dir = join(root, 'results/sweep', d.run, `attempt-${d.attempt}`);
      const result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as { status: string; files: { host: string; path: string; sha256: string }[] };
      expect(result.status).toBe('done');
      expect(result.files.length).toBe(4);
      for (const f of result.files) expect(createHash('sha256').update(readFileSync(join(dir, 'hosts', f.host, f.path))).digest('hex')).toBe(f.sha256);
    }
    const r = await run('results', ['--plan=sweep']);
    expect(r.exitCode, r.all).toBe(0);
    const csv = readFileSync(join(root, 'results/sweep/report/runs.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(13);
    expect(readFileSync(join(root, 'results/sweep/report/throughput.svg'), 'utf8')).toMatch(/^<svg/);

    // collect again: nothing to fetch.
    const c2 = await run('collect', ['--plan=sweep']);
    expect(c2.exitCode, c2.all).toBe(0);
    expect(c2.all).toMatch(/collected 0 run\(s\) .*\(0 files, 0 bytes.*12 were here already/);
  });

  it('runs done in the local store are not handed over: some done here, the coordinator runs the rest; all done, nothing is handed over', async () => {
    writeFileSync(join(root, 'configs/experiments/mixed.toml'), PLAN('clients = [1, 2]\nvalue_size = [64]'));
    const here = await run('experiment', ['--plan=mixed', '--only=clients=1']);
    expect(here.exitCode).toBe(1); // 2 of 4 runs pending
    const doneHere = localEvents('mixed').filter((e) => e.type === 'run-done').map((e) => ('run' in e ? e.run : ''));
    expect(doneHere).toHaveLength(2);
    const c = await run('experiment', ['--plan=mixed', '--coordinator=tb-0']);
    expect(c.exitCode, c.all).toBe(0);
    expect(c.all).toContain('4/4 runs done');
    const started = remoteEvents('mixed').filter((e) => e.type === 'run-start').map((e) => ('run' in e ? e.run : ''));
    expect(started).toHaveLength(2);
    for (const id of doneHere) expect(started).not.toContain(id);
    const again = await run('experiment', ['--plan=mixed', '--coordinator=tb-1']);
    expect(again.exitCode, again.all).toBe(0);
    expect(again.all).toMatch(/all 4 runs are done here \(results\/mixed\/\): nothing to hand over/);
    expect(existsSync(join(homes()['tb-1']!, '.labrig/coordinator/mixed'))).toBe(false);
    expect(coordinators()).toEqual([]);
  });

  it('the coordinator SIGKILLed during a run and during a collection: the next hand-off restarts it, a second one attaches, every run ends done once', async () => {
    writeFileSync(join(root, 'configs/experiments/kill.toml'), PLAN('clients = [1, 4]\nvalue_size = [64]'));
    const pidOf = () => (JSON.parse(readFileSync(join(coordDir('kill'), 'lock'), 'utf8')) as { pid: number }).pid;
    const a = await run('experiment', ['--plan=kill', '--coordinator=tb-0', '--detach']);
    expect(a.exitCode, a.all).toBe(0);
    expect(a.all).toMatch(/handed over: the sweep goes on on tb-0/);
    // The secret reached the coordinator on its standard input: not in its environment.
    expect(readFileSync(`/proc/${pidOf()}/environ`, 'utf8')).not.toContain(CANARY);

    // 1. During a run.
    await waitFor('a run in flight', () => remoteEvents('kill').filter((e) => e.type === 'run-start').length >= 2);
    await new Promise((r) => setTimeout(r, 500)); // started on its hosts (run-start is journaled before)
    // ... and the coordinator gave it to the runs' commands, whose environment is the system's.
    const runWithSecret = () =>
      readdirSync('/proc')
        .filter((d) => /^\d+$/.test(d))
        .some((d) => {
          try {
            return readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('kvload') && readFileSync(`/proc/${d}/environ`, 'utf8').includes(`KV_TOKEN=${CANARY}`);
          } catch {
            return false;
          }
        });
    await waitFor('a run command holding the secret', runWithSecret, 20_000);
    const first = pidOf();
    process.kill(first, 'SIGKILL');
    await waitFor('the coordinator gone', () => !coordinators().includes(first));
    const st = await run('experiment-status', ['--plan=kill']);
    expect(st.all).toMatch(/coordinator on tb-0: DEAD \(pid \d+ is gone without finishing\)/);
    expect(st.exitCode).toBe(1);

    // 2. Restarted; killed during a collection.
    const collects = remoteEvents('kill').filter((e) => e.type === 'collect-start').length;
    const b = await run('experiment', ['--plan=kill', '--coordinator=tb-0', '--detach']);
    expect(b.exitCode, b.all).toBe(0);
    expect(b.all).toMatch(/is gone without finishing: starting it again/);
    await waitFor('a collection', () => remoteEvents('kill').filter((e) => e.type === 'collect-start').length > collects, 60_000);
    process.kill(pidOf(), 'SIGKILL');

    // 3. Restarted and followed; a second command attaches (Ctrl-C detaches it), one coordinator only.
    const c = run('experiment', ['--plan=kill', '--coordinator=tb-0']);
    let cOut = '';
    c.all?.on('data', (d: Buffer) => (cOut += d.toString()));
    await waitFor('the restart', () => /following the coordinator on tb-0/.test(cOut));
    const d = run('experiment', ['--plan=kill', '--coordinator=tb-0']);
    let dOut = '';
    d.all?.on('data', (x: Buffer) => (dOut += x.toString()));
    await waitFor('the attach', () => /following the coordinator/.test(dOut) || d.exitCode !== null);
    expect(dOut).toMatch(/a coordinator already runs plan kill on tb-0 \(pid \d+\): attaching/);
    expect(coordinators()).toHaveLength(1);
    d.kill('SIGINT');
    const dr = await d;
    expect(dr.all).toMatch(/detached: the sweep goes on on tb-0/);
    expect(coordinators()).toHaveLength(1);
    const cr = await c;
    expect(cr.exitCode, cr.all).toBe(0);
    expect(cr.all).toMatch(/collected 4 run\(s\) from tb-0/);
    expect(cr.all).toContain('4/4 runs done');

    const ev = remoteEvents('kill');
    const done = ev.filter((e): e is Extract<PlanEvent, { type: 'run-done' }> => e.type === 'run-done');
    const ids = [...new Set(ev.flatMap((e) => (e.type === 'run-start' ? [e.run] : [])))];
    expect(ids).toHaveLength(4);
    for (const id of ids) expect({ id, done: done.filter((x) => x.run === id).length }).toEqual({ id, done: 1 });
    expect(ev.filter((e) => e.type === 'run-failed')).toEqual([]);
  });

  it('collect refuses a run whose file changed in the coordinator store (run, file, reason) and stores the others; fixed, it fetches just that run', async () => {
    writeFileSync(join(root, 'configs/experiments/bad-store.toml'), PLAN('clients = [2]\nvalue_size = [64]'));
    const a = await run('experiment', ['--plan=bad-store', '--coordinator=tb-0', '--detach']);
    expect(a.exitCode, a.all).toBe(0);
    await waitFor('2 runs done', () => remoteEvents('bad-store').filter((e) => e.type === 'run-done').length === 2 && coordinators().length === 0, 60_000);
    const victimRun = remoteEvents('bad-store').find((e) => e.type === 'run-done') as Extract<PlanEvent, { type: 'run-done' }>;
    const victim = join(coordDir('bad-store'), 'results/bad-store', victimRun.run, `attempt-${victimRun.attempt}`, 'hosts/tb-3/stdout');
    const original = readFileSync(victim);
    writeFileSync(victim, Buffer.concat([original, Buffer.from('tampered\n')]));
    const c = await run('collect', ['--plan=bad-store']);
    expect(c.exitCode, c.all).toBe(1);
    expect(c.all).toContain(`refused ${victimRun.run}: hosts/tb-3/stdout: sha256`);
    expect(c.all).toMatch(/differs from the \w+ \(\d+ bytes\) its result.json recorded/);
    expect(c.all).toMatch(/collected 1 run\(s\)/);
    expect(existsSync(join(root, 'results/bad-store', victimRun.run))).toBe(true);
    expect(readdirSync(join(root, 'results/bad-store', victimRun.run)).filter((d) => d.startsWith('attempt-'))).toEqual([]);
    writeFileSync(victim, original);
    const c2 = await run('collect', ['--plan=bad-store']);
    expect(c2.exitCode, c2.all).toBe(0);
    expect(c2.all).toMatch(/collected 1 run\(s\) .*; 1 were here already/);
  });

  it('--stop lets the run in flight finish and starts no other; --stop --now stops at once and nothing is marked failed', async () => {
    writeFileSync(join(root, 'configs/experiments/stopme.toml'), PLAN('clients = [1, 2, 3]\nvalue_size = [64]'));
    const a = await run('experiment', ['--plan=stopme', '--coordinator=tb-0', '--detach']);
    expect(a.exitCode, a.all).toBe(0);
    await waitFor('a run in flight', () => remoteEvents('stopme').some((e) => e.type === 'run-start'));
    const s = await run('experiment', ['--plan=stopme', '--coordinator=tb-0', '--stop']);
    expect(s.exitCode, s.all).toBe(0);
    expect(s.all).toMatch(/asked over its link\) stops after the run\(s\) in flight/);
    expect(s.all).toMatch(/coordinator stopped: 1 done, 0 failed, 5 pending/);
    expect(coordinators()).toEqual([]);
    const ev = remoteEvents('stopme');
    expect(ev.filter((e) => e.type === 'run-start')).toHaveLength(1);
    expect(ev.filter((e) => e.type === 'run-done')).toHaveLength(1);

    const n = await run('experiment', ['--plan=stopme', '--coordinator=tb-0', '--stop', '--now']);
    expect(n.exitCode, n.all).toBe(0);
    expect(n.all).toMatch(/no coordinator runs plan stopme on tb-0: nothing to stop/);

    const b = await run('experiment', ['--plan=stopme', '--coordinator=tb-0', '--detach']);
    expect(b.exitCode, b.all).toBe(0);
    const starts = ev.filter((e) => e.type === 'run-start').length;
    await waitFor('the next run in flight', () => remoteEvents('stopme').filter((e) => e.type === 'run-start').length > starts);
    const now = await run('experiment', ['--plan=stopme', '--coordinator=tb-0', '--stop', '--now']);
    expect(now.exitCode, now.all).toBe(0);
    expect(now.all).toMatch(/stopping the coordinator on tb-0 \(pid \d+, asked over its link\) now/);
    expect(coordinators()).toEqual([]);
    const ends = lines<{ type: string; stopped?: boolean }>(join(coordDir('stopme'), 'coordinator.jsonl')).filter((e) => e.type === 'end');
    expect(ends.at(-1)).toMatchObject({ stopped: true });
    expect(remoteEvents('stopme').filter((e) => e.type === 'run-failed')).toEqual([]);
    // To the end: the run stopped in flight is collected, not run again.
    const c = await run('experiment', ['--plan=stopme', '--coordinator=tb-0']);
    expect(c.exitCode, c.all).toBe(0);
    const done = remoteEvents('stopme').filter((e): e is Extract<PlanEvent, { type: 'run-done' }> => e.type === 'run-done');
    expect(done).toHaveLength(6);
    expect(done.every((d) => d.attempt === 1)).toBe(true);
  });

  it('bad coordinators fail before anything is deployed: not a host, too little disk, an old Node and no way to install one', async () => {
    writeFileSync(join(root, 'configs/experiments/bad-host.toml'), PLAN('clients = [1]'));
    writeFileSync(join(root, 'configs/experiments/bad-disk.toml'), PLAN('clients = [1]', 'coordinator = { host = "tb-1", minFree = "100TiB" }'));
    writeFileSync(join(root, 'configs/experiments/bad-node.toml'), PLAN('clients = [1]', 'coordinator = { host = "tb-1", node = "old/node", nodeDist = "" }'));
    mkdirSync(join(homes()['tb-1']!, 'old'), { recursive: true });
    writeFileSync(join(homes()['tb-1']!, 'old/node'), '#!/bin/sh\necho v18.19.0\n', { mode: 0o755 });
    const runsBefore = existsSync(join(root, '.labrig/runs')) ? readdirSync(join(root, '.labrig/runs')).length : 0;
    const cases: [string, string[], RegExp][] = [
      ['bad-host', ['--coordinator=tb-9'], /option --coordinator: got "tb-9", expected a host of platform e2e \(tb-0, tb-1, tb-2, tb-3\) or a role of demo \(.*\); did you mean tb-0\?/],
      ['bad-disk', [], /bad-disk\.toml.*coordinator\.minFree.*tb-1 has [\d.]+ GiB free in its home, the plan needs 107374182\.4 GiB|bad-disk\.toml.*coordinator\.minFree/],
      ['bad-node', [], /tb-1[\s\S]*v18\.19\.0[\s\S]*coordinator\.node/],
    ];
    for (const [plan, args, re] of cases) {
      const r = await run('experiment', [`--plan=${plan}`, ...args]);
      expect({ plan, exitCode: r.exitCode }).toEqual({ plan, exitCode: 1 });
      expect(r.all).toMatch(re);
      expect(localEvents(plan).filter((e) => e.type === 'deploy-start')).toEqual([]);
    }
    expect(existsSync(join(root, '.labrig/runs')) ? readdirSync(join(root, '.labrig/runs')).length : 0).toBe(runsBefore);
  });

  it('no secret in any file or log of the coordinator or the hosts, no copy of the user key on any host; teardown removes the deployment key', async () => {
    const grep = (dir: string, needle: string): string[] => {
      const r = execaSync('grep', ['-rlF', '--', needle, dir], { reject: false });
      return r.stdout.split('\n').filter(Boolean);
    };
    for (const [name, home] of Object.entries(homes())) expect({ name, files: grep(home, CANARY) }).toEqual({ name, files: [] });
    expect(grep(join(root, '.labrig'), CANARY)).toEqual([]);
    expect(grep(join(root, 'results'), CANARY)).toEqual([]);
    // The user's key (the testbed's client key) is on no host; the deployment key is only where it belongs.
    const userKeys = readdirSync(tbDir, { recursive: true, encoding: 'utf8' }).filter((f) => /id_ed25519$/.test(f) && readFileSync(join(tbDir, f), 'utf8').includes('PRIVATE KEY'));
    expect(userKeys.length).toBeGreaterThan(0);
    for (const k of userKeys) {
      const body = readFileSync(join(tbDir, k), 'utf8').split('\n')[1]!;
      for (const [name, home] of Object.entries(homes())) expect({ name, files: grep(home, body) }).toEqual({ name, files: [] });
    }
    const deployKey = readFileSync(join(root, '.labrig/deploy-keys/e2e/id_ed25519'), 'utf8').split('\n')[1]!;
    expect(Object.entries(homes()).filter(([, home]) => grep(home, deployKey).length > 0).map(([n]) => n)).toEqual(['tb-0']);
    expect(statSync(join(homes()['tb-0']!, '.labrig/keys/e2e')).mode & 0o777).toBe(0o600);
    const marked = Object.entries(homes()).filter(([, h]) => existsSync(join(h, '.ssh/authorized_keys')) && readFileSync(join(h, '.ssh/authorized_keys'), 'utf8').includes('labrig-deploy-key:e2e'));
    expect(marked.map(([n]) => n)).toEqual(['tb-2', 'tb-3']);

    const t = await execa(process.execPath, [bin, '@labrig/system-generic:teardown', 'demo', 'targets/demo', '--platform=e2e', '--output=plain'], { cwd: root, all: true, reject: false });
    expect(t.exitCode, t.all).toBe(0);
    expect(t.all).toMatch(/deployment key of e2e removed from 4 host\(s\) \(2 authorized_keys line\(s\)\)/);
    expect(existsSync(join(root, '.labrig/deploy-keys/e2e'))).toBe(false);
  });
});
