/**
 * A CloudLab experiment made, watched, extended and ended by labrig (`[experiment]` in the platform
 * file), through the Portal API (./client.ts).
 *
 * provision: the state (`<stateDir>/experiment.json`) is written *before* the create request, so
 * an answer lost on the way (a dropped connection, a timeout) is recovered: the next look finds the
 * experiment by `project,name` and adopts it. An existing experiment of that name is adopted, never
 * made twice. Then it polls until the portal says `ready` (or `failed`, with the portal's reason)
 * within `readyTimeout`, printing the node states as they change, and saves the manifest where
 * `hosts.manifest` says, for the inventory to read as if a user had saved it.
 * teardown: terminates exactly the experiment the state records; gone already counts as done.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ExpiryHandOff, Host, LongRun, PlatformContext } from '@labrig/core';
import { createSshPool } from '@labrig/platform-kit';
import { ConfigError, LabrigError, formatLongDuration, formatMs, parseDuration } from '@labrig/core';
import type { CloudlabConfig } from '../config.js';
import { platformFilesOf, resolveFromPlatformDir } from '../paths.js';
import { FINAL_STATES, PortalClient, PortalNotFound, PortalUnavailable, nodesOf, type ExtensionOutcome, type PortalExperiment } from './client.js';
import { readPortalToken } from './token.js';

export const EXPERIMENT_STATE = 'experiment.json';

/** `[experiment]` of a cloudlab platform file. */
export interface ExperimentConfig {
  project: string;
  /** `project/name` of the profile. */
  profile: string;
  name: string;
  bindings?: Record<string, unknown>;
  /** Hours. */
  duration: number;
  apiUrl: string;
  tokenEnv?: string;
  tokenFile?: string;
  readyTimeout: string;
  pollInterval: string;
  autoExtend: boolean;
  maxExtendHours: number;
  watchInterval: string;
  recover: 'none' | 'reboot' | 'powercycle';
  recoverTimeout: string;
}

export interface ExperimentState {
  version: 1;
  project: string;
  name: string;
  /** The portal's UUID once known. */
  id?: string;
  /** creating: asked (the answer may be lost); ready; terminated. */
  phase: 'creating' | 'created' | 'ready' | 'terminated';
  createdBy: 'labrig' | 'adopted';
  at: string;
  expiresAt?: string;
}

export class ExperimentFailed extends LabrigError {
  readonly code = 'EXPERIMENT_FAILED';
  constructor(id: string, reason: string) {
    super(`the CloudLab experiment ${id} failed to instantiate: ${reason}`, {
      hint: 'The reason is the portal\'s. Often the cluster lacks free nodes of the hardware type: change [experiment] bindings or try later; `nx run <platform>:teardown --yes` removes the failed experiment.',
    });
  }
}

export class ExperimentNotReady extends LabrigError {
  readonly code = 'EXPERIMENT_NOT_READY';
  constructor(id: string, timeoutMs: number, last: string) {
    super(`the CloudLab experiment ${id} was not ready within ${formatMs(timeoutMs)} (last: ${last})`, {
      hint: 'It is still there: run provision again to keep waiting (it is adopted, not made again), or raise [experiment] readyTimeout.',
      retryable: true,
    });
  }
}

export function experimentStateFile(ctx: PlatformContext): string {
  return join(ctx.stateDir, EXPERIMENT_STATE);
}

export function readExperimentState(ctx: PlatformContext): ExperimentState | undefined {
  const f = experimentStateFile(ctx);
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as ExperimentState) : undefined;
}

function writeState(ctx: PlatformContext, s: ExperimentState): void {
  mkdirSync(ctx.stateDir, { recursive: true });
  const f = experimentStateFile(ctx);
  writeFileSync(`${f}.tmp`, `${JSON.stringify(s, null, 2)}\n`);
  renameSync(`${f}.tmp`, f);
}

/** The Portal API client for a platform file's `[experiment]`. */
export function portalClientOf(cfg: CloudlabConfig & { experiment: ExperimentConfig }, ctx: PlatformContext, o: { backoffMs?: number } = {}): PortalClient {
  const files = platformFilesOf(ctx);
  const { token, source } = readPortalToken(ctx.root, cfg.experiment, files.file);
  return new PortalClient({ apiUrl: cfg.experiment.apiUrl, token, tokenSource: source, ...(ctx.signal ? { signal: ctx.signal } : {}), ...(o.backoffMs !== undefined ? { backoffMs: o.backoffMs } : {}) });
}

/** What the node states are, in one line: `node-0 ready, node-1 booting`. */
function describeNodes(e: PortalExperiment): string {
  const nodes = nodesOf(e);
  return nodes.length ? nodes.map((n) => `${n.client_id} ${n.status ?? n.state ?? '?'}`).join(', ') : 'no nodes yet';
}

/** Why an experiment failed, from the fields the portal may use. */
export function failureReason(e: PortalExperiment): string {
  for (const k of ['failure_message', 'failure_reason', 'error', 'message', 'status_message']) {
    const v = e[k];
    if (typeof v === 'string' && v) return v;
  }
  return 'the portal gave no reason (see the experiment page)';
}

/**
 * Make (or adopt) the experiment, wait until it is ready, save its manifest. Returns the
 * experiment; the caller then checks that every node answers over SSH.
 */
export async function provisionExperiment(cfg: CloudlabConfig & { experiment: ExperimentConfig }, ctx: PlatformContext, o: { log: (line: string) => void; client?: PortalClient }): Promise<PortalExperiment> {
  const files = platformFilesOf(ctx);
  const x = cfg.experiment;
  if (!cfg.hosts.manifest) {
    throw new ConfigError(files.file, 'hosts.manifest', 'is needed with [experiment]: labrig saves the experiment\'s manifest there', { hint: `Set hosts.manifest = "manifest.xml" in ${files.file} (relative to the platform folder).` });
  }
  const [profileProject, profileName] = x.profile.split('/') as [string, string];
  const client = o.client ?? portalClientOf(cfg, ctx);
  const id = PortalClient.experimentId(x.project, x.name);
  const prev = readExperimentState(ctx);
  const find = () =>
    client.getExperiment(id).catch((e: unknown) => {
      if (e instanceof PortalNotFound) return undefined;
      throw e;
    });
  let exp = await find();
  if (exp) {
    o.log(`experiment ${x.project}/${x.name} exists (${exp.status}): adopted${prev?.phase === 'creating' ? ' (the answer to the last create was lost)' : ''}`);
    writeState(ctx, { version: 1, project: x.project, name: x.name, id: exp.id, phase: 'created', createdBy: prev?.createdBy === 'labrig' ? 'labrig' : 'adopted', at: new Date().toISOString(), ...(exp.expires_at ? { expiresAt: exp.expires_at } : {}) });
  } else {
    // Recorded before asking: a lost answer is found by name next time.
    writeState(ctx, { version: 1, project: x.project, name: x.name, phase: 'creating', createdBy: 'labrig', at: new Date().toISOString() });
    o.log(`creating experiment ${x.project}/${x.name} (profile ${x.profile}, ${x.duration} h${x.bindings ? `, bindings ${JSON.stringify(x.bindings)}` : ''})`);
    try {
      exp = await client.createExperiment({ name: x.name, project: x.project, profile_name: profileName, profile_project: profileProject, duration: x.duration, ...(x.bindings ? { bindings: x.bindings } : {}) });
    } catch (e) {
      if (!(e instanceof PortalUnavailable)) throw e;
      // The answer was lost: the portal may have made it anyway.
      exp = await find();
      if (!exp) throw e;
      o.log(`the answer to the create was lost; the experiment exists: adopted`);
    }
    writeState(ctx, { version: 1, project: x.project, name: x.name, id: exp.id, phase: 'created', createdBy: 'labrig', at: new Date().toISOString(), ...(exp.expires_at ? { expiresAt: exp.expires_at } : {}) });
  }
  // Wait until ready.
  const timeoutMs = parseDuration(x.readyTimeout);
  const every = parseDuration(x.pollInterval);
  const t0 = Date.now();
  let last = '';
  while (!(FINAL_STATES as readonly string[]).includes(exp.status ?? '')) {
    if (Date.now() - t0 > timeoutMs) throw new ExperimentNotReady(id, timeoutMs, `${exp.status}: ${describeNodes(exp)}`);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(resolve, every);
      ctx.signal?.addEventListener('abort', () => (clearTimeout(t), reject(ctx.signal!.reason)), { once: true });
    });
    exp = await client.getExperiment(exp.id);
    const now = `${exp.status}: ${describeNodes(exp)}`;
    if (now !== last) o.log(`  ${formatMs(Date.now() - t0)}  ${now}`);
    last = now;
  }
  if (exp.status === 'failed') throw new ExperimentFailed(`${x.project}/${x.name}`, failureReason(exp));
  // The manifest, where the inventory reads it.
  const manifests = await client.getManifests(exp.id);
  const entries = Object.entries(manifests);
  if (entries.length === 0) throw new ExperimentNotReady(id, timeoutMs, 'ready, but the portal has no manifest yet');
  if (entries.length > 1) o.log(`the experiment spans ${entries.length} clusters; saving the manifest of ${entries[0]![0]} (labrig reads one manifest)`);
  const path = resolveFromPlatformDir(files, cfg.hosts.manifest);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(`${path}.tmp`, entries[0]![1]);
  renameSync(`${path}.tmp`, path);
  writeState(ctx, { version: 1, project: x.project, name: x.name, id: exp.id, phase: 'ready', createdBy: readExperimentState(ctx)?.createdBy ?? 'labrig', at: new Date().toISOString(), ...(exp.expires_at ? { expiresAt: exp.expires_at } : {}) });
  o.log(`experiment ${x.project}/${x.name} ready (${nodesOf(exp).length} nodes, expires ${exp.expires_at ?? 'unknown'}); manifest saved to ${cfg.hosts.manifest}`);
  return exp;
}

/**
 * Terminate the experiment the state records (`yes` given). Returns what happened; a recorded
 * experiment the portal no longer has counts as done.
 */
export async function terminateRecordedExperiment(cfg: CloudlabConfig & { experiment: ExperimentConfig }, ctx: PlatformContext, o: { yes: boolean; log: (line: string) => void; client?: PortalClient }): Promise<'terminated' | 'gone' | 'nothing'> {
  const s = readExperimentState(ctx);
  if (!s || s.phase === 'terminated') {
    o.log(`no experiment recorded for this platform${s ? ` (${s.project}/${s.name} was terminated ${s.at})` : ''}: nothing to terminate`);
    return 'nothing';
  }
  const id = s.id ?? PortalClient.experimentId(s.project, s.name);
  if (!o.yes) {
    throw new ConfigError(platformFilesOf(ctx).file, 'experiment', `teardown would terminate the CloudLab experiment ${s.project}/${s.name} (${id}): every node and its disks are released`, {
      hint: 'Run teardown again with --yes to terminate it.',
    });
  }
  const client = o.client ?? portalClientOf(cfg, ctx);
  const done = await client.terminateExperiment(id);
  writeState(ctx, { ...s, phase: 'terminated', at: new Date().toISOString() });
  o.log(done ? `experiment ${s.project}/${s.name} terminated` : `experiment ${s.project}/${s.name} was already gone`);
  return done ? 'terminated' : 'gone';
}

export async function experimentStatus(cfg: CloudlabConfig & { experiment: ExperimentConfig }, ctx: PlatformContext, client = portalClientOf(cfg, ctx)): Promise<{ experiment: PortalExperiment; expiresInMs?: number }> {
  const s = readExperimentState(ctx);
  const e = await client.getExperiment(s?.id ?? PortalClient.experimentId(cfg.experiment.project, cfg.experiment.name));
  // Keep the recorded expiry current (an extension on the portal, or by a coordinator): expiry() reads it.
  if (s && e.expires_at && e.expires_at !== s.expiresAt && s.phase !== 'terminated') writeState(ctx, { ...s, expiresAt: e.expires_at });
  return { experiment: e, ...(e.expires_at ? { expiresInMs: Date.parse(e.expires_at) - Date.now() } : {}) };
}

export async function extendRecordedExperiment(cfg: CloudlabConfig & { experiment: ExperimentConfig }, ctx: PlatformContext, hours: number, reason: string, client = portalClientOf(cfg, ctx)): Promise<ExtensionOutcome> {
  const s = readExperimentState(ctx);
  const id = s?.id ?? PortalClient.experimentId(cfg.experiment.project, cfg.experiment.name);
  const r = await client.extendExperiment(id, { extend_by: hours, reason });
  if (r.granted && r.expiresAt && s) writeState(ctx, { ...s, expiresAt: r.expiresAt });
  return r;
}

/** How much time a run is given after its estimate before the experiment should expire. */
export const EXPIRY_MARGIN_MS = 30 * 60_000;

/**
 * Before a sweep: its estimated end against the experiment's expiry. Fine: one line. Too late:
 * with autoExtend, extend by what is missing (whole hours, at most maxExtendHours), else warn with
 * the command that extends it. Never fails the sweep: a portal that does not answer is a warning.
 */
export async function checkExpiryBefore(cfg: CloudlabConfig & { experiment: ExperimentConfig }, ctx: PlatformContext, run: LongRun, client?: PortalClient): Promise<'fine' | 'warned' | 'extended' | 'pending' | 'unknown'> {
  const x = cfg.experiment;
  const name = `${x.project}/${x.name}`;
  let expires: number;
  try {
    const st = await experimentStatus(cfg, ctx, client ?? portalClientOf(cfg, ctx));
    if (!st.experiment.expires_at) throw new Error('the portal gave no expiry');
    expires = Date.parse(st.experiment.expires_at);
  } catch (e) {
    run.log(`! the expiry of experiment ${name} could not be read (${(e as Error).message.split('\n')[0]}): make sure it outlives ${run.what}`);
    return 'unknown';
  }
  const end = Date.now() + run.estimatedMs;
  const est = `${run.upperBound ? 'at most ' : 'about '}${formatLongDuration(run.estimatedMs)}`;
  if (end + EXPIRY_MARGIN_MS <= expires) {
    if (!run.during) run.log(`experiment ${name} expires ${new Date(expires).toISOString()}; ${run.what} should end in ${est}: fine`);
    return 'fine';
  }
  const hours = Math.ceil((end + EXPIRY_MARGIN_MS - expires) / 3600_000);
  if (!x.autoExtend) {
    run.log(`! experiment ${name} expires ${new Date(expires).toISOString()}, before ${run.what} may end (in ${est}): extend it (nx run ${platformFilesOf(ctx).name}:extend --hours=${hours}) or set [experiment] autoExtend = true`);
    return 'warned';
  }
  // maxExtendHours bounds what one run (a sweep) adds in all, however often it is checked.
  const used = run.extendedHours?.value ?? 0;
  const ask = Math.min(hours, x.maxExtendHours - used);
  if (ask <= 0) {
    run.log(`! experiment ${name} expires ${new Date(expires).toISOString()}, before ${run.what} may end (in ${est}); ${used} h were added for it already, maxExtendHours = ${x.maxExtendHours}: extend it by hand (nx run ${platformFilesOf(ctx).name}:extend --hours=${hours})`);
    return 'warned';
  }
  const r = await extendRecordedExperiment(cfg, ctx, ask, `labrig: ${run.what} needs about ${hours} h more`, client ?? portalClientOf(cfg, ctx)).catch((e: unknown) => e as Error);
  if (r instanceof Error) {
    run.log(`! experiment ${name} expires before ${run.what} may end, and extending it failed: ${r.message.split('\n')[0]}`);
    return 'warned';
  }
  if (run.extendedHours) run.extendedHours.value += ask;
  if (!r.granted) {
    run.log(`! experiment ${name}: asked for ${ask} h more (it expires before ${run.what} may end); the extension waits for an administrator (${r.message})`);
    return 'pending';
  }
  run.log(`experiment ${name} extended by ${ask} h${r.expiresAt ? ` (expires ${r.expiresAt})` : ''} for ${run.what}${ask < hours ? `; ! still ${hours - ask} h short (maxExtendHours = ${x.maxExtendHours})` : ''}`);
  return 'extended';
}

/**
 * The experiment's expiry for a sweep's coordinator (Platform.expiryHandOff): read from the portal
 * now (the recorded one when it does not answer). With autoExtend, the extension request the
 * coordinator sends by itself (PUT /experiments/{id} with extend_by), within what is left of
 * maxExtendHours for this sweep; the token goes with it as a secret header (in the coordinator's
 * memory, never in a file), so only when autoExtend is set.
 */
export async function expiryHandOffOf(cfg: CloudlabConfig & { experiment: ExperimentConfig }, ctx: PlatformContext, run: LongRun, client?: PortalClient): Promise<ExpiryHandOff | undefined> {
  const x = cfg.experiment;
  const s = readExperimentState(ctx);
  if (s?.phase === 'terminated') return undefined;
  const c = client ?? portalClientOf(cfg, ctx);
  const expiresAt = await experimentStatus(cfg, ctx, c).then(
    (r) => r.experiment.expires_at ?? s?.expiresAt,
    () => s?.expiresAt,
  );
  if (!expiresAt) return undefined;
  const left = x.maxExtendHours - (run.extendedHours?.value ?? 0);
  const { token } = readPortalToken(ctx.root, x, platformFilesOf(ctx).file);
  const id = s?.id ?? PortalClient.experimentId(x.project, x.name);
  return {
    what: `CloudLab experiment ${x.project}/${x.name}`,
    expiresAt: new Date(Date.parse(expiresAt)).toISOString(),
    marginMs: EXPIRY_MARGIN_MS,
    refreshMs: parseDuration(x.watchInterval),
    extendCommand: `nx run ${platformFilesOf(ctx).name}:extend --hours=N`,
    ...(x.autoExtend && left > 0
      ? {
          extend: {
            method: 'PUT' as const,
            url: `${c.apiUrl}/experiments/${encodeURIComponent(id)}`,
            headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
            body: `{"extend_by":{{hours}},"reason":${JSON.stringify(`labrig: ${run.what} (run by its coordinator) needs more time`)}}`,
            secretHeaders: { 'X-Api-Token': token },
            expiresAtField: 'expires_at',
            statusUrl: `${c.apiUrl}/experiments/${encodeURIComponent(id)}`,
            maxHours: left,
          },
        }
      : {}),
  };
}

/**
 * Bring back a node that stopped answering: reboot (or power-cycle) it through the Portal API, then
 * wait until it answers over SSH again (a new connection each try) within recoverTimeout.
 */
export async function recoverNode(
  cfg: CloudlabConfig & { experiment: ExperimentConfig },
  ctx: PlatformContext,
  host: Host,
  signal: AbortSignal,
  client?: PortalClient,
): Promise<{ ok: boolean; action: string; detail?: string }> {
  const x = cfg.experiment;
  const how = x.recover === 'powercycle' ? 'powercycle' : 'reboot';
  const action = `${how === 'reboot' ? 'rebooted' : 'power-cycled'} through the CloudLab portal`;
  const s = readExperimentState(ctx);
  const id = s?.id ?? PortalClient.experimentId(x.project, x.name);
  try {
    await (client ?? portalClientOf(cfg, ctx)).nodeAction(id, host.name, how);
  } catch (e) {
    return { ok: false, action, detail: `the portal refused: ${(e as Error).message.split('\n')[0]}` };
  }
  const timeoutMs = parseDuration(x.recoverTimeout);
  const t0 = Date.now();
  let last = '';
  while (Date.now() - t0 < timeoutMs && !signal.aborted) {
    const pool = createSshPool(ctx.root, cfg.ssh);
    try {
      const r = await pool.connect(host, AbortSignal.any([signal, AbortSignal.timeout(15_000)]));
      if ((await r.exec(['true'], { allowFailure: true, signal: AbortSignal.any([signal, AbortSignal.timeout(15_000)]) })).exitCode === 0) return { ok: true, action, detail: `answering again after ${formatLongDuration(Date.now() - t0)}` };
    } catch (e) {
      last = (e as Error).message.split('\n')[0]!;
    } finally {
      await pool.close();
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  return { ok: false, action, detail: `not answering over SSH within ${formatLongDuration(timeoutMs)}${last ? ` (last: ${last})` : ''}` };
}

/** Forget the state (tests). */
export function removeExperimentState(ctx: PlatformContext): void {
  rmSync(experimentStateFile(ctx), { force: true });
}
