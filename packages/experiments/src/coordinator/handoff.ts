/**
 * The laptop's side of a coordinator: check the host (a host of the platform, disk, Node), deploy,
 * hand the plan over (program, spec, host keys, deployment key), start it detached, wait for its
 * acknowledgement, then follow it until it ends (Ctrl-C detaches: nothing on the host notices).
 * A coordinator already running the plan is attached to, never started twice.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExpiryHandOff, Host, Remote } from '@labrig/core';
import { Aborted, ConfigError, LabrigError, OptionError, didYouMean, listNames, quoteArg } from '@labrig/core';
import { authorizeDeployKey, ensureDeployKey, knownHostsFor, placeDeployKey, remoteDeployKeyFile } from '@labrig/ssh';

export { knownHostsFor } from '@labrig/ssh';
import { hostSets, selectRuns, type ExperimentTarget } from '../engine/run-plan.js';
import { createProgress } from '../engine/progress.js';
import type { CoordinatorSettings, Plan } from '../plan/load.js';
import { foldEvents, openPlanJournal, readPlanEvents, type PlanEvent } from '../store/run-store.js';
import { buildProgram } from '@labrig/runner/program';
import { requestCoordinator } from './link-client.js';
import { expiryLine, expiryNote, specExpiryOf } from './expiry.js';
import { ensureNode } from './node-install.js';
import { lastStart, probeCoordinator, type CoordinatorProbe } from './remote-state.js';
import { coordinatorDir, hostSetKey, RUN_DIR_TOKEN, SECRETS_ON_STDIN, SPEC_FORMAT, type CoordinatorSpec } from './spec.js';

/** A coordinator that cannot be started, reached or followed. */
export class CoordinatorError extends LabrigError {
  readonly code = 'COORDINATOR';
  constructor(message: string, hint: string, cause?: unknown) {
    super(message, { hint, ...(cause !== undefined ? { cause } : {}) });
  }
}

export interface CoordinatorContext {
  root: string;
  plan: Plan;
  target: ExperimentTarget;
  /** Every host of the platform. */
  inventory: Host[];
  /** The system's roles and their hosts (`coordinator = "<role>"`: its first host). */
  roles: Record<string, Host[]>;
  /** The laptop's known_hosts file (host keys handed to the coordinator). */
  knownHostsFile?: string;
  /** The deployment's name (the platform): names the deployment key. */
  deployment: string;
  /** `--coordinator=<host>` (wins) or the plan's `coordinator`. */
  option?: string;
  output: 'auto' | 'tty' | 'plain' | 'json';
  signal?: AbortSignal;
  log: (line: string) => void;
}

export interface HandOffOptions {
  only?: string;
  rerunFailed?: boolean;
  parallelRuns?: number;
  pollMs?: number;
  /** Return once acknowledged (do not follow). */
  detach?: boolean;
  /** The machines' expiry, for the coordinator to watch (Platform.expiryHandOff). */
  expiry?: ExpiryHandOff;
}

const DEFAULT_MIN_FREE = '512MiB';

export function parseSize(text: string): number {
  const m = /^([0-9]+)(KiB|MiB|GiB|TiB)$/.exec(text);
  if (!m) throw new Error(`not a size: ${text}`);
  return Number(m[1]) * { KiB: 1, MiB: 1024, GiB: 1024 ** 2, TiB: 1024 ** 3 }[m[2] as 'KiB'];
}
const fmtKiB = (k: number) => (k >= 1024 ** 2 ? `${(k / 1024 ** 2).toFixed(1)} GiB` : `${(k / 1024).toFixed(0)} MiB`);

/** The coordinator's settings: the option's host wins over the plan's. Undefined: no coordinator. */
export function coordinatorSettings(plan: Plan, option?: string): (CoordinatorSettings & { from: 'option' | 'plan' }) | undefined {
  if (option !== undefined) return { ...plan.coordinator, host: option, from: 'option' };
  return plan.coordinator ? { ...plan.coordinator, from: 'plan' } : undefined;
}

/** The coordinator host: a host of the platform by name, or the first host of a role of the system. */
export function resolveCoordinatorHost(ctx: Pick<CoordinatorContext, 'plan' | 'inventory' | 'roles' | 'option'>): Host {
  const s = coordinatorSettings(ctx.plan, ctx.option);
  if (!s) throw new OptionError('coordinator', undefined, 'a host of the platform');
  const byName = ctx.inventory.find((h) => h.name === s.host);
  if (byName) return byName;
  const role = ctx.roles[s.host];
  if (role?.[0]) return role[0];
  const names = ctx.inventory.map((h) => h.name);
  const guess = didYouMean(s.host, [...names, ...Object.keys(ctx.roles)]);
  const expected = `a host of platform ${ctx.plan.platform} (${listNames(names)}) or a role of ${ctx.plan.system} (${listNames(Object.keys(ctx.roles))})${guess ? `; did you mean ${guess}?` : ''}`;
  if (s.from === 'option') throw new OptionError('coordinator', s.host, expected);
  throw new ConfigError(ctx.plan.file, 'coordinator', `"${s.host}" is not a host of platform ${ctx.plan.platform} or a role of ${ctx.plan.system}`, {
    hint: `Use ${expected.replace(/^a host/, 'one host')}.`,
  });
}

/** Every host's command for every run, from the system's own target (RUN_DIR_TOKEN for the attempt's folder). */
export function buildSpec(ctx: CoordinatorContext, o: HandOffOptions, identityFile: string, version: Record<string, unknown>, doneHere: readonly string[] = []): CoordinatorSpec {
  const { plan, target } = ctx;
  const parallel = o.parallelRuns ?? 1;
  const tasks: CoordinatorSpec['tasks'] = {};
  const argv: CoordinatorSpec['argv'] = {};
  const used = new Map<string, Host>();
  for (const task of new Set(plan.runs.map((r) => r.task))) {
    const hosts = target.taskHosts(task);
    hosts.forEach((h) => used.set(h.name, h));
    tasks[task] = { hosts: hosts.map((h) => h.name), env: Object.keys(target.taskEnv(task)) };
  }
  const setsOf = new Map(Object.keys(tasks).map((task) => [task, hostSets(target.taskHosts(task), parallel)]));
  const skip = new Set(doneHere);
  for (const r of plan.runs) {
    if (skip.has(r.id)) continue; // the coordinator does not run it
    const byset: Record<string, Record<string, string[]>> = {};
    for (const set of setsOf.get(r.task)!) {
      const key = hostSetKey(set.map((h) => h.name));
      byset[key] = Object.fromEntries(set.map((h) => [h.name, target.taskArgv(r.task, h, set, r.params, { id: r.id, dir: RUN_DIR_TOKEN })]));
    }
    argv[r.id] = byset;
  }
  return {
    format: SPEC_FORMAT,
    plan,
    ...(o.only ? { only: o.only } : {}),
    rerunFailed: !!o.rerunFailed,
    parallelRuns: parallel,
    ...(o.pollMs ? { pollMs: o.pollMs } : {}),
    hosts: [...used.values()].map((h) => ({ name: h.name, address: h.privateAddress ?? h.address, port: h.port ?? 22, ...(h.user ? { user: h.user } : {}) })),
    tasks,
    argv,
    identityFile,
    doneHere: [...doneHere],
    version,
    ...(o.expiry ? { expiry: specExpiryOf(o.expiry).spec } : {}),
  };
}

/** Checks before anything is deployed: disk space and a Node to run the coordinator with. */
export async function preflight(ctx: CoordinatorContext, host: Host, remote: Remote, probe: CoordinatorProbe): Promise<{ node: string }> {
  const s = coordinatorSettings(ctx.plan, ctx.option)!;
  const need = parseSize(s.minFree ?? DEFAULT_MIN_FREE);
  if (probe.freeKiB !== undefined && probe.freeKiB < need) {
    throw new ConfigError(ctx.plan.file, 'coordinator.minFree', `the coordinator host ${host.name} has ${fmtKiB(probe.freeKiB)} free in its home, the plan needs ${fmtKiB(need)}${s.minFree ? '' : ' (the default)'}`, {
      hint: `Free space on ${host.name}, pick another host (--coordinator=<host>), or set coordinator = { host = "${s.host}", minFree = "<size>" } in ${ctx.plan.file} if the results need less.`,
    });
  }
  const node = await ensureNode(remote, { ...(s.node ? { node: s.node } : {}), ...(s.nodeDist !== undefined ? { dist: s.nodeDist } : {}), file: ctx.plan.file, ...(ctx.signal ? { signal: ctx.signal } : {}), log: ctx.log });
  return { node: node.path };
}

/** Follow a live coordinator: its plan journal as progress, until it ends, dies, or Ctrl-C (detach). */
export async function followCoordinator(ctx: CoordinatorContext, remote: Remote, host: Host, o: { pollMs?: number; parallelRuns?: number; doneHere?: ReadonlySet<string> } = {}): Promise<'ended' | 'died' | 'detached'> {
  const { plan } = ctx;
  const first = await probeCoordinator(remote, plan.name, ctx.signal ? { signal: ctx.signal } : {});
  const states = foldEvents(first.planEvents);
  const session = [...first.planEvents].reverse().find((e): e is Extract<PlanEvent, { type: 'session-start' }> => e.type === 'session-start');
  const parallel = Number(session?.options['parallelRuns'] ?? o.parallelRuns ?? 1);
  const done = () => plan.runs.filter((r) => states.get(r.id)?.status === 'done' || o.doneHere?.has(r.id)).length;
  // The machines' expiry as the coordinator watches it: in the progress lines, and what it did.
  let expiry = lastStart(first.events).expiry;
  let seenEvents = first.events.length;
  const progress = createProgress({ mode: ctx.output, total: plan.runs.length, doneBefore: done(), log: ctx.log, slots: parallel, note: () => (expiry ? expiryNote(expiry) : undefined) });
  const runById = new Map(plan.runs.map((r) => [r.id, r]));
  const slotOf = (names: readonly string[], task: string) => {
    try {
      const i = hostSets(ctx.target.taskHosts(task), parallel).findIndex((s) => hostSetKey(s.map((h) => h.name)) === hostSetKey(names));
      return Math.max(0, i);
    } catch {
      return 0;
    }
  };
  const hostsOf = (names: readonly string[]) => names.map((n) => ctx.inventory.find((h) => h.name === n) ?? { name: n, address: '', roles: [], labels: {} });
  const startedAt = new Map<string, number>();
  const hostsOfRun = new Map<string, string[]>();
  const running = plan.runs.filter((r) => states.get(r.id)?.status === 'running');
  ctx.log(`following the coordinator on ${host.name} (pid ${first.pid ?? '?'}): ${done()}/${plan.runs.length} done${running.length ? `, in flight: ${running.map((r) => r.id).join(', ')}` : ''} — Ctrl-C detaches, the sweep goes on`);
  if (expiry) ctx.log(`the coordinator watches the expiry: ${expiryNote(expiry)}${expiry.action === 'watching' && expiry.detail ? ` (${expiry.detail})` : expiry.action !== 'watching' ? ` (last: ${expiryLine(expiry)})` : ''}`);
  for (const r of running) {
    const s = states.get(r.id)!;
    startedAt.set(r.id, s.startedAt ? Date.parse(s.startedAt) : Date.now());
    hostsOfRun.set(r.id, s.hosts ?? []);
    progress.runStart(slotOf(s.hosts ?? [], r.task), r, hostsOf(s.hosts ?? []));
  }
  let offset = first.offset;
  let probe = first;
  try {
    for (;;) {
      if (!probe.alive) {
        const last = lastStart(probe.events);
        return last.end && (first.pid === undefined || last.start?.pid === probe.pid || last.start?.pid === first.pid) ? 'ended' : 'died';
      }
      await new Promise((r) => setTimeout(r, o.pollMs ?? 500));
      ctx.signal?.throwIfAborted();
      probe = await probeCoordinator(remote, plan.name, { offset, ...(ctx.signal ? { signal: ctx.signal } : {}) });
      offset = probe.offset;
      for (const e of probe.events.slice(seenEvents)) {
        if (e.type !== 'expiry') continue;
        expiry = e;
        if (e.action !== 'watching') ctx.log(`${e.action === 'extended' || e.action === 'moved' ? '' : '! '}coordinator: ${expiryLine(e)}`);
      }
      seenEvents = probe.events.length;
      for (const e of probe.planEvents) {
        const r = 'run' in e ? runById.get(e.run) : undefined;
        if (e.type === 'run-start' && r) {
          startedAt.set(r.id, Date.parse(e.time));
          hostsOfRun.set(r.id, e.hosts);
          progress.runStart(slotOf(e.hosts, r.task), r, hostsOf(e.hosts));
        } else if ((e.type === 'run-done' || e.type === 'run-failed') && r) {
          progress.runEnd(slotOf(hostsOfRun.get(r.id) ?? [], r.task), r, e.type === 'run-done' ? 'done' : 'failed', Date.parse(e.time) - (startedAt.get(r.id) ?? Date.parse(e.time)));
          if (e.type === 'run-failed') ctx.log(`✖ ${r.id} attempt ${e.attempt} failed: ${e.reason}`);
        }
      }
    }
  } catch (e) {
    if (e instanceof Aborted || ctx.signal?.aborted) return 'detached';
    throw e;
  } finally {
    progress.close();
  }
}

export interface HandOffResult {
  host: Host;
  pid?: number;
  /** Started now, or attached to one that runs. */
  started: boolean;
  outcome: 'ended' | 'died' | 'detached' | 'acknowledged' | 'nothing';
  /** Milliseconds from the end of the deploy to the acknowledgement (started), or to attaching. */
  handoffMs: number;
}

/**
 * `experiment --coordinator`: attach to the plan's live coordinator, or check the host, deploy,
 * hand over, start and (unless `detach`) follow.
 */
export async function handOff(ctx: CoordinatorContext, o: HandOffOptions = {}): Promise<HandOffResult> {
  const t0 = Date.now();
  const { plan, target } = ctx;
  const host = resolveCoordinatorHost(ctx);
  const remote = await target.connect(host);
  const dir = coordinatorDir(plan.name);
  const probe = await probeCoordinator(remote, plan.name, ctx.signal ? { signal: ctx.signal } : {});
  // Runs done in this machine's store are not handed over (the same resume rules as a local sweep).
  const local = foldEvents(await readPlanEvents(ctx.root, plan.name));
  const doneHere = new Set(plan.runs.filter((r) => local.get(r.id)?.status === 'done').map((r) => r.id));
  let tHandoff = t0;
  const follow = async (started: boolean, pid: number | undefined): Promise<HandOffResult> => {
    const handoffMs = Date.now() - tHandoff;
    if (o.detach) return { host, ...(pid ? { pid } : {}), started, outcome: 'acknowledged', handoffMs };
    const outcome = await followCoordinator(ctx, remote, host, { ...o, doneHere });
    return { host, ...(pid ? { pid } : {}), started, outcome, handoffMs };
  };
  if (probe.alive) {
    ctx.log(`a coordinator already runs plan ${plan.name} on ${host.name} (pid ${probe.pid}): attaching (its options stay as handed over)`);
    return follow(false, probe.pid);
  }
  if (selectRuns(plan, local, o).length === 0) {
    ctx.log(`plan ${plan.name}: all ${plan.runs.length} runs are done here (results/${plan.name}/): nothing to hand over`);
    return { host, started: false, outcome: 'nothing', handoffMs: 0 };
  }
  if (probe.pid !== undefined) ctx.log(`the coordinator on ${host.name} (pid ${probe.pid}) is gone without finishing: starting it again (it resumes from its journal)`);

  const { node } = await preflight(ctx, host, remote, probe);
  // Option errors (host sets) before the deploy.
  const version = await target.version();
  const key = ensureDeployKey(ctx.root, ctx.deployment);
  const spec = buildSpec(ctx, o, remoteDeployKeyFile(ctx.deployment), version, [...doneHere]);
  const specHosts = spec.hosts.map((h) => ctx.inventory.find((i) => i.name === h.name)).filter((h): h is Host => !!h);

  const journal = await openPlanJournal(ctx.root, plan.name);
  try {
    journal.append({ type: 'deploy-start', time: new Date().toISOString() });
    await journal.flush();
    ctx.log(`deploy ${plan.system} on ${plan.platform} (then the sweep runs on ${host.name})`);
    const ok = await target.deploy();
    journal.append({ type: 'deploy-end', time: new Date().toISOString(), ok });
    await journal.flush();
    if (!ok) throw new CoordinatorError(`deploy of ${plan.system} on ${plan.platform} failed: nothing was handed to ${host.name}`, 'Fix what the deploy reported above and run the same command again.');
    tHandoff = Date.now();

    // The deployment key: its public half on every run host, its private half on the coordinator.
    const added = await Promise.all(specHosts.map(async (h) => authorizeDeployKey(await target.connect(h), key, ctx.signal)));
    await placeDeployKey(remote, key, ctx.signal);
    const known = knownHostsFor(specHosts, ctx.knownHostsFile);
    if (known.missing.length) {
      throw new CoordinatorError(`no host key recorded for ${known.missing.join(', ')} in ${ctx.knownHostsFile ?? '(no known_hosts file)'}`, 'The coordinator checks host keys strictly against what this machine accepted; connect to those hosts once (e.g. nx run <platform>:exec --cmd=true) and hand over again.');
    }

    // The program, the spec and the host keys; the program and spec are content-addressed.
    const bundle = await buildProgram(ctx.root);
    const tmp = mkdtempSync(join(tmpdir(), 'labrig-handoff-'));
    try {
      writeFileSync(join(tmp, 'spec.json'), `${JSON.stringify(spec)}\n`);
      writeFileSync(join(tmp, 'known_hosts'), known.text);
      await remote.shell(`umask 077 && mkdir -p ${quoteArg(dir)}`);
      const sent = [
        await remote.putFile(bundle.file, `${dir}/${bundle.name}`, { mode: 0o644, ...(ctx.signal ? { signal: ctx.signal } : {}) }),
        await remote.putFile(join(tmp, 'spec.json'), `${dir}/spec.json`, { mode: 0o600, ...(ctx.signal ? { signal: ctx.signal } : {}) }),
        await remote.putFile(join(tmp, 'known_hosts'), `${dir}/known_hosts`, { mode: 0o600, ...(ctx.signal ? { signal: ctx.signal } : {}) }),
      ];
      const bytes = sent.reduce((a, s) => a + (s.transferred ? s.bytes : 0), 0);
      ctx.log(`handed to ${host.name}: ${dir}/ (${bytes ? `${bytes} bytes sent` : 'unchanged, nothing sent'}; deployment key on ${added.filter(Boolean).length ? `${added.filter(Boolean).length} new` : 'no new'} host(s))`);
      // Older programs of this plan are removed (no coordinator runs: the lock is not alive).
      await remote.shell(`cd ${quoteArg(dir)} && for f in labrig-coordinator-*.cjs labrig-engine-*.cjs; do [ "$f" = ${quoteArg(bundle.name)} ] || rm -f -- "$f"; done`);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }

    // Start detached. Secrets go to the program on its standard input, from the shell's printf
    // builtin (the script itself comes on stdin): never in an argv, a file, a log, or its
    // environment (which /proc/<pid>/environ and `ps e` show for the process's whole life).
    const handoff = `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
    const env: Record<string, string> = {};
    for (const t of Object.keys(spec.tasks)) Object.assign(env, target.taskEnv(t));
    if (o.expiry) Object.assign(env, specExpiryOf(o.expiry).env);
    const script = [
      `cd ${quoteArg(dir)} || exit 3`,
      'rm -f stop',
      `secrets=${quoteArg(JSON.stringify(env))}`,
      `printf '%s' "$secrets" | setsid ${quoteArg(node)} ${quoteArg(bundle.name)} coordinator "$PWD" ${quoteArg(`--handoff=${handoff}`)} ${SECRETS_ON_STDIN} >> coordinator.log 2>&1 &`,
      'echo "pid $!"',
    ].join('\n');
    await remote.exec(['sh', '-s'], { stdin: `${script}\n`, ...(ctx.signal ? { signal: ctx.signal } : {}) });

    // Acknowledged: its journal has this hand-off's start (it holds the lock by then).
    const deadline = Date.now() + 30_000;
    for (;;) {
      const p = await probeCoordinator(remote, plan.name);
      const last = lastStart(p.events);
      if (last.start?.handoff === handoff) {
        journal.append({ type: 'coordinator-handoff', time: new Date().toISOString(), host: host.name, pid: last.start.pid, handoff, dir });
        await journal.flush();
        ctx.log(`✔ coordinator started on ${host.name} (pid ${last.start.pid}, ${node}; hand-off ${Date.now() - tHandoff} ms after the deploy): the sweep no longer needs this machine`);
        return await follow(true, last.start.pid);
      }
      const tail = (await remote.shell(`tail -n 15 ${quoteArg(`${dir}/coordinator.log`)} 2>/dev/null`, { allowFailure: true })).stdout;
      if (/another coordinator runs this plan/.test(tail.split('\n').slice(-3).join('\n')) && p.alive) {
        ctx.log(`another labrig started the coordinator on ${host.name} meanwhile: attaching`);
        return await follow(false, p.pid);
      }
      if (Date.now() > deadline) {
        throw new CoordinatorError(`the coordinator on ${host.name} did not acknowledge the hand-off within 30 s`, `Its log (${dir}/coordinator.log on ${host.name}) ends with:\n${tail.trim() || '(empty)'}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await journal.close().catch(() => undefined);
  }
}

/** `experiment --coordinator --stop [--now]`: ask the live coordinator to stop, and wait until it has. */
export async function stopCoordinator(ctx: CoordinatorContext, now: boolean): Promise<{ host: Host; wasRunning: boolean }> {
  const host = resolveCoordinatorHost(ctx);
  const remote = await ctx.target.connect(host);
  const dir = coordinatorDir(ctx.plan.name);
  const probe = await probeCoordinator(remote, ctx.plan.name);
  if (!probe.alive) {
    ctx.log(`no coordinator runs plan ${ctx.plan.name} on ${host.name}: nothing to stop`);
    return { host, wasRunning: false };
  }
  // Over the coordinator's link (the engine protocol); a coordinator without one gets the stop file.
  const answer = await requestCoordinator(remote, dir, probe, { t: 'stop', mode: now ? 'now' : 'after-run' }, ctx.signal).catch(() => undefined);
  const how = answer?.t === 'stopping' ? 'asked over its link' : 'asked with a stop file';
  if (answer?.t !== 'stopping') {
    await remote.shell(`cd ${quoteArg(dir)} && printf '%s\\n' ${now ? 'now' : 'after-run'} > stop.tmp && mv stop.tmp stop${now ? ` && kill -TERM ${probe.pid}` : ''}`);
  }
  ctx.log(
    now
      ? `stopping the coordinator on ${host.name} (pid ${probe.pid}, ${how}) now: runs in flight go on on their hosts and are collected by its next start`
      : `the coordinator on ${host.name} (pid ${probe.pid}, ${how}) stops after the run(s) in flight`,
  );
  for (;;) {
    await new Promise((r) => setTimeout(r, 300));
    ctx.signal?.throwIfAborted();
    const p = await probeCoordinator(remote, ctx.plan.name);
    if (!p.alive) {
      const end = lastStart(p.events).end;
      ctx.log(`✔ coordinator stopped${end ? `: ${end.done} done, ${end.failed} failed, ${end.pending} pending` : ''}`);
      return { host, wasRunning: true };
    }
  }
}
