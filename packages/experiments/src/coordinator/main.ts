/**
 * The coordinator program: runs one plan's sweep on a deployed host with the same engine as a
 * local sweep (runPlan: same run ids, attempt folders, checksummed collection and resume rules),
 * its result store under its own folder (`~/.labrig/coordinator/<plan>/results/<plan>/`).
 *
 *   node labrig-engine-<sha>.cjs coordinator <folder> --handoff=<id> --secrets=stdin   (the engine program: @labrig/engine)
 *
 * With --secrets=stdin its secrets (the system's, and a platform's extension token) come as one
 * JSON object on standard input; they stay in memory, never in its environment.
 *
 * The folder holds spec.json (what the laptop handed over), known_hosts (the laptop's host keys
 * for the run hosts: checked strictly), the lock, this program's journal (coordinator.jsonl) and
 * its log. It is started detached (setsid, output to coordinator.log), so nothing that happens to
 * the laptop reaches it. A `stop` file holding `after-run` makes it take no new run; `now` (or
 * SIGTERM) stops it at once: runs in flight on their hosts go on and are collected by the next
 * start, as after a Ctrl-C of a local sweep. Exit status: 0 done (or stopped), 1 error, 3 another
 * live coordinator holds the plan's lock.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Host } from '@labrig/core';
import { addSecrets, installOutputRedaction, redactSecrets } from '@labrig/core';
import { SshPool } from '@labrig/ssh';
import { runPlan, type ExperimentTarget } from '../engine/run-plan.js';
import { foldEvents, readPlanEvents } from '../store/run-store.js';
import { coordinatorExpiry } from './expiry.js';
import { acquireLock, readBootId, releaseLock } from './lock.js';
import { hostSetKey, RUN_DIR_TOKEN, SECRETS_ON_STDIN, SPEC_FORMAT, type CoordinatorEvent, type CoordinatorSpec } from './spec.js';

const now = () => new Date().toISOString();

function appendEvent(dir: string, e: CoordinatorEvent): void {
  const fd = openSync(join(dir, 'coordinator.jsonl'), 'a');
  try {
    writeSync(fd, `${JSON.stringify(e)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The experiment target of a spec: commands from the laptop's table, hosts over SSH with the deployment key. */
export function specTarget(spec: CoordinatorSpec, env: Record<string, string>, pool: SshPool): ExperimentTarget {
  const hosts = new Map(spec.hosts.map((h): [string, Host] => [h.name, { name: h.name, address: h.address, port: h.port, ...(h.user ? { user: h.user } : {}), roles: [], labels: {} }]));
  return {
    deploy: async () => true, // the laptop deployed before handing over
    taskHosts: (task) => (spec.tasks[task]?.hosts ?? []).map((n) => hosts.get(n)!),
    taskArgv(_task, host, hostsOfRun, _params, run) {
      const argv = spec.argv[run.id]?.[hostSetKey(hostsOfRun.map((h) => h.name))]?.[host.name];
      if (!argv) throw new Error(`the hand-off has no command for run ${run.id} on ${host.name} (hosts ${hostSetKey(hostsOfRun.map((h) => h.name))}): hand the plan over again`);
      return argv.map((a) => a.split(RUN_DIR_TOKEN).join(run.dir));
    },
    taskEnv: (task) => Object.fromEntries((spec.tasks[task]?.env ?? []).filter((k) => k in env).map((k) => [k, env[k]!])),
    connect: (host) => pool.connect(host),
    version: async () => spec.version,
  };
}

/**
 * The coordinator's end of the link (the engine program passes it: @labrig/engine src/program.ts):
 * a unix socket `engine.sock` in the folder answering `status` and `stop`, the same protocol as
 * the agent's, reached from the laptop over an SSH channel (`node <program> link <socket>`).
 */
export interface CoordinatorLink {
  serve(dir: string, handlers: { status(): Record<string, unknown>; stop(mode: 'after-run' | 'now'): void }): Promise<{ close(): Promise<void> }>;
}

export async function main(argv: readonly string[], link?: CoordinatorLink): Promise<number> {
  const dir = resolve(argv[0] ?? '.');
  const handoff = argv.find((a) => a.startsWith('--handoff='))?.slice('--handoff='.length) ?? 'manual';
  installOutputRedaction(); // flushed at exit by the engine program (@labrig/engine src/program.ts)
  const spec = JSON.parse(readFileSync(join(dir, 'spec.json'), 'utf8')) as CoordinatorSpec;
  if (spec.format !== SPEC_FORMAT) {
    console.error(`spec.json has format ${String(spec.format)}, this coordinator reads ${SPEC_FORMAT}: hand the plan over again`);
    return 1;
  }
  // Secrets: one JSON object on stdin (a hand-off of this labrig), else (an earlier labrig's
  // hand-off) the starting shell's environment, taken out of process.env at once. Memory only.
  let given: Record<string, string> = {};
  if (argv.includes(SECRETS_ON_STDIN)) {
    try {
      given = JSON.parse(readFileSync(0, 'utf8') || '{}') as Record<string, string>;
    } catch (e) {
      console.error(`the secrets on standard input are not one JSON object (${(e as Error).message}): hand the plan over again`);
      return 1;
    }
  }
  const secret = (k: string): string | undefined => {
    const v = given[k] ?? process.env[k];
    delete process.env[k];
    return v;
  };
  const env: Record<string, string> = {};
  for (const t of Object.values(spec.tasks))
    for (const k of t.env) {
      const v = secret(k);
      if (v !== undefined) env[k] = v;
    }
  // The expiry extension's secret headers (a token): the same way.
  const extendHeaders: Record<string, string> = {};
  for (const [header, k] of Object.entries(spec.expiry?.extend?.secretHeaders ?? {})) {
    const v = secret(k);
    if (v !== undefined) extendHeaders[header] = v;
  }
  given = {};
  addSecrets([...Object.values(env), ...Object.values(extendHeaders)]);

  const lockFile = join(dir, 'lock');
  const bootId = readBootId();
  const got = acquireLock(lockFile, { pid: process.pid, bootId, startedAt: now(), handoff });
  if (!got.ok) {
    console.error(`another coordinator runs this plan: pid ${got.holder.pid} (since ${got.holder.startedAt})`);
    return 3;
  }
  if (got.brokeStale) console.log(`took over from a dead coordinator (pid ${got.brokeStale.pid}, since ${got.brokeStale.startedAt})`);
  appendEvent(dir, { type: 'start', time: now(), pid: process.pid, bootId, handoff, node: process.version, spec: 'spec.json' });
  console.log(`coordinator ${process.pid} for plan ${spec.plan.name}: hand-off ${handoff}`);
  // The machines' expiry: watched after every run; extended only with every secret header at hand.
  const missing = Object.keys(spec.expiry?.extend?.secretHeaders ?? {}).filter((h) => !(h in extendHeaders));
  const watched = spec.expiry && missing.length ? { ...spec.expiry, extend: undefined } : spec.expiry;
  const expiry = watched ? coordinatorExpiry(watched, extendHeaders, (e) => appendEvent(dir, e), (l) => console.log(redactSecrets(l))) : undefined;
  if (watched && expiry) {
    const how = spec.expiry?.extend ? (missing.length ? `cannot extend it: ${missing.join(', ')} not handed over` : `extends it by itself, ${spec.expiry.extend.maxHours} h at most`) : 'warns only';
    appendEvent(dir, { type: 'expiry', time: now(), what: watched.what, expiresAt: watched.expiresAt, action: 'watching', detail: how });
    console.log(`watching: ${expiry.note()} (${how})`);
  }

  const stopNow = new AbortController();
  const drain = new AbortController();
  const stopFile = join(dir, 'stop');
  const readStop = () => {
    if (!existsSync(stopFile)) return;
    const mode = readFileSync(stopFile, 'utf8').trim() === 'now' ? 'now' : 'after-run';
    if (mode === 'now' && !stopNow.signal.aborted) {
      appendEvent(dir, { type: 'stop-requested', time: now(), mode });
      stopNow.abort(new Error('stopped (--now)'));
    } else if (!drain.signal.aborted) {
      appendEvent(dir, { type: 'stop-requested', time: now(), mode: 'after-run' });
      drain.abort();
    }
  };
  readStop();
  const timer = setInterval(readStop, 300);
  const requestStop = (mode: 'after-run' | 'now'): void => {
    if (mode === 'now') {
      if (!stopNow.signal.aborted) appendEvent(dir, { type: 'stop-requested', time: now(), mode: 'now' });
      stopNow.abort(new Error('stopped (--now)'));
    } else if (!drain.signal.aborted) {
      appendEvent(dir, { type: 'stop-requested', time: now(), mode: 'after-run' });
      drain.abort();
    }
  };
  let served: { close(): Promise<void> } | undefined;
  try {
    served = await link?.serve(dir, {
      status: () => ({ role: 'coordinator', pid: process.pid, plan: spec.plan.name, handoff, runs: spec.plan.runs.length, stopping: stopNow.signal.aborted ? 'now' : drain.signal.aborted ? 'after-run' : null }),
      stop: requestStop,
    });
  } catch (e) {
    console.error(`the link socket could not be opened (stop files still work): ${(e as Error).message}`);
  }
  const onSignal = () => {
    if (!stopNow.signal.aborted) appendEvent(dir, { type: 'stop-requested', time: now(), mode: 'now' });
    stopNow.abort(new Error('stopped (signal)'));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('SIGHUP', () => undefined); // a closed terminal is not a reason to stop

  const pool = new SshPool({
    knownHostsFile: join(dir, 'known_hosts'),
    hostKeyPolicy: 'strict',
    sshConfigFile: false,
    agent: false,
    defaultIdentityFiles: [resolve(process.env['HOME'] ?? dir, spec.identityFile)],
  });
  let code = 0;
  let stopped = false;
  let counts = { done: 0, failed: 0, pending: spec.plan.runs.length };
  try {
    const r = await runPlan({
      root: dir,
      plan: spec.plan,
      target: specTarget(spec, env, pool),
      ...(spec.only ? { only: spec.only } : {}),
      rerunFailed: spec.rerunFailed,
      skip: new Set(spec.doneHere ?? []),
      parallelRuns: spec.parallelRuns,
      output: 'plain',
      signal: stopNow.signal,
      drain: drain.signal,
      ...(spec.pollMs ? { pollMs: spec.pollMs } : {}),
      ...(expiry ? { expiry } : {}),
    });
    stopped = drain.signal.aborted && r.pending > 0;
  } catch (e) {
    if (stopNow.signal.aborted) stopped = true;
    else {
      code = 1;
      const message = redactSecrets((e as Error).stack ?? String(e));
      console.error(message);
      appendEvent(dir, { type: 'error', time: now(), message: redactSecrets((e as Error).message) });
    }
  } finally {
    clearInterval(timer);
    await served?.close().catch(() => undefined);
    await pool.close().catch(() => undefined);
    // Counted from the journal: also right when the run was stopped or failed half-way.
    try {
      const states = foldEvents(await readPlanEvents(dir, spec.plan.name));
      const n = (st: string) => spec.plan.runs.filter((r) => states.get(r.id)?.status === st).length;
      counts = { done: n('done'), failed: n('failed'), pending: spec.plan.runs.length - n('done') - n('failed') };
    } catch {
      /* no journal yet: nothing ran */
    }
    appendEvent(dir, { type: 'end', time: now(), ...counts, stopped });
    rmSync(stopFile, { force: true });
    releaseLock(lockFile);
    console.log(`coordinator ${process.pid}: ${counts.done} done, ${counts.failed} failed, ${counts.pending} pending${stopped ? ' (stopped)' : ''}`);
  }
  return code;
}

/** The coordinator mode of the labrig engine program (@labrig/engine src/program.ts). */
export const coordinatorMain = main;
