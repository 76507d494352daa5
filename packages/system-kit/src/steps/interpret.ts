/** Plans → engine steps (and → text for --dry-run). */
import type { Connector, Host, Launcher, PlatformInstance, Remote, RunResult, Step, StepContext } from '@labrig/core';
import { BackgroundLauncher, CommandFailed, addSecrets, createRenderer, describeProbe, formatMs, parseFailurePolicy, quote, redactSecrets, runSteps, waitReady } from '@labrig/core';
import type { Action, Capture, PlannedStep, SkipWhen, StepOutputs } from './plan.js';
import { fetchArtifact } from './store.js';
import { copyFromBuildHost } from './host-copy.js';
import { describeChainAction, joinChain } from './distribute.js';

/** What running a plan needs to know about the system and where it runs. */
export interface PlanContext {
  /** The workspace root (runs are journaled under <root>/.labrig/runs). */
  root: string;
  /** The system's name (its project). */
  name: string;
  platform: PlatformInstance;
  inventory: Host[];
  /**
   * Secret values (redacted from logs, journal, output). Push onto it or call core's `addSecret`:
   * runPlanned and formatPlan register what is here in the process-wide registry.
   */
  secrets: string[];
}

export interface RunOverrides {
  output?: 'auto' | 'tty' | 'plain' | 'json';
  failurePolicy?: string;
  concurrency?: number;
  timeoutMs?: number;
}

/** What one host did in one step. */
export interface ActionsOutput {
  /** Bytes copied or fetched onto the host. */
  bytes: number;
  ran: number;
  skipped: number;
  started?: { name: string; pid?: number; readyMs: number };
  process?: { name: string; running: boolean; pid?: number; stamp?: string; logFile: string };
  stdout: string;
  /** Values captured from commands' output (run actions with `capture`). */
  captured?: Record<string, string>;
  /** Time spent in `wait` actions. */
  waitedMs?: number;
}

/** Captured values of earlier steps, from the engine's outputs. */
export function capturedOutputs(outputs: StepContext['outputs']): StepOutputs {
  return {
    get(step, host, name) {
      const v = (outputs[step]?.[host] as ActionsOutput | undefined)?.captured?.[name];
      if (v === undefined) {
        throw new Error(`step ${step} has no value "${name}" from ${host} (it did not run there, or ran in an earlier run: run the whole target again)`);
      }
      return v;
    },
  };
}

/** Dry-run placeholders: `<name from step on host>`. */
export const placeholderOutputs: StepOutputs = { get: (step, host, name) => `<${name} from ${step} on ${host}>` };

/** The value a capture keeps from a command's stdout; throws naming what was expected. */
export function captureValue(c: Capture, stdout: string, where: string): string {
  if (!c.pattern) return stdout.trim();
  const m = new RegExp(c.pattern, 'm').exec(stdout);
  if (!m) throw new Error(`${where}: expected output matching /${c.pattern}/ to capture "${c.name}", got: ${stdout.trim().split('\n').slice(-3).join(' | ').slice(0, 300) || '(nothing)'}`);
  return m[1] ?? m[0];
}

function launcherOf(ctx: PlanContext): Launcher {
  return ctx.platform.platform.launcher ?? new BackgroundLauncher();
}

async function skipHolds(ctx: PlanContext, remote: Remote, w: SkipWhen, signal: AbortSignal): Promise<boolean> {
  if (w.kind === 'file-equals') {
    const r = await remote.exec(['cat', w.path], { allowFailure: true, signal });
    return r.exitCode === 0 && r.stdout === w.content;
  }
  if (w.kind === 'files-match') {
    const r = await remote.exec(['sha256sum', '--', ...w.files.map((f) => f.path)], { allowFailure: true, signal });
    if (r.exitCode !== 0) return false;
    const got = new Map(r.stdout.trim().split('\n').map((l) => [l.slice(66), l.slice(0, 64)]));
    return w.files.every((f) => got.get(f.path) === f.sha256);
  }
  if (w.kind === 'command') {
    return (await remote.exec(w.argv, { allowFailure: true, signal })).exitCode === 0;
  }
  const st = await launcherOf(ctx).status(remote, w.name, signal);
  return st.running && st.stamp === w.stamp;
}

async function runActions(ctx: PlanContext, c: StepContext, actions: Action[]): Promise<ActionsOutput> {
  const out: ActionsOutput = { bytes: 0, ran: 0, skipped: 0, stdout: '' };
  const { remote, signal } = c;
  const launcher = launcherOf(ctx);
  for (const a of actions) {
    switch (a.kind) {
      case 'run': {
        if (a.check) {
          const chk = await remote.exec(a.check, { allowFailure: true, signal, env: a.env });
          if (chk.exitCode === 0) {
            out.skipped++;
            continue;
          }
        }
        const secret = a.capture?.secret === true || a.secretOutput === true;
        const r = await remote.exec(a.argv, { signal, env: a.env, ...(a.stdin !== undefined ? { stdin: a.stdin } : {}), ...(a.pty ? { pty: true } : {}), ...(secret ? { secretOutput: true } : {}) });
        // A secret capture's output is neither logged (secretOutput) nor printed with the host's output.
        if (!secret) out.stdout += r.stdout;
        out.ran++;
        if (a.capture) {
          const v = captureValue(a.capture, r.stdout, `${remote.host.name}: ${quote(a.argv)}`);
          if (a.capture.secret) c.addSecret?.(v);
          (out.captured ??= {})[a.capture.name] = v;
        }
        break;
      }
      case 'put': {
        const r = await remote.putFile(a.local, a.remote, { mode: a.mode, signal });
        if (r.sha256 !== a.sha256) throw new Error(`${a.local} changed since the build (sha256 ${r.sha256}, expected ${a.sha256}): run the build target again`);
        out.bytes += r.transferred ? r.bytes : 0;
        break;
      }
      case 'fetch': {
        out.bytes += await fetchArtifact(ctx, remote, a, signal);
        break;
      }
      case 'host-copy': {
        const connector = connectors.get(ctx);
        if (!connector) throw new Error('host-copy outside runPlanned');
        const from = await connector.connect(a.from, signal);
        const r = await copyFromBuildHost(a, remote, from, signal);
        const how = {
          present: 'already there',
          'build-host': `copied on ${a.from.name} from its build folder`,
          direct: `sent by ${a.from.name} straight to this host (deployment key)`,
          relay: `copied from ${a.from.name} through the controller (${r.bytes} bytes)${r.note ? `; the direct copy failed: ${r.note}` : ''}`,
          dist: `${a.from.name} no longer holds the built file: sent from dist/`,
        }[r.via];
        c.log(`${a.name}: ${how}`);
        out.bytes += r.bytes;
        break;
      }
      case 'chain': {
        const connector = connectors.get(ctx);
        if (!connector) throw new Error('chain outside runPlanned');
        const r = await joinChain({ root: ctx.root, deployment: ctx.platform.name, connector }, a, c);
        c.log(r.how);
        out.bytes += r.bytes;
        break;
      }
      case 'start': {
        const before = await launcher.status(remote, a.spec.name, signal);
        if (before.running) await launcher.stop(remote, a.spec.name, { signal });
        const st = await launcher.start(remote, a.spec, signal);
        let readyMs = 0;
        if (a.probe) {
          const r = await waitReady(remote, a.probe, {
            what: a.what,
            timeoutMs: a.timeoutMs,
            signal,
            // A process that exited will never be ready: fail with its exit status and last output.
            alive: async () => {
              const now = await launcher.status(remote, a.spec.name, signal);
              if (now.running) return true;
              const tail = await remote.exec(['tail', '-n', '5', now.logFile.replace(/^~\//, '')], { allowFailure: true, signal });
              throw new CommandFailed(remote.host.name, quote(a.spec.argv), { exitCode: now.exitCode ?? null, signal: null, stderr: tail.stdout }, {
                hint: `${a.what} exited before it was ready; its log on ${remote.host.name} is ${now.logFile}.`,
              });
            },
          });
          readyMs = r.waitedMs;
        }
        out.started = { name: a.spec.name, ...(st.pid !== undefined ? { pid: st.pid } : {}), readyMs };
        break;
      }
      case 'stop':
        await launcher.stop(remote, a.name, { signal });
        break;
      case 'process-status': {
        const st = await launcher.status(remote, a.name, signal);
        out.process = st;
        if (!st.running) throw new Error(`${a.name} is not running on ${remote.host.name} (log: ${st.logFile})`);
        break;
      }
      case 'write-file':
        // Written to a temporary file then renamed: a reader never sees half of it.
        await remote.exec(
          ['sh', '-c', 'mkdir -p "$(dirname "$1")" && umask 077 && printf %s "$2" > "$1.labrig-tmp" && chmod "$3" "$1.labrig-tmp" && mv -f "$1.labrig-tmp" "$1"', 'sh', a.path, a.content, (a.mode ?? 0o644).toString(8)],
          { signal },
        );
        break;
      case 'wait': {
        const r = await waitReady(remote, a.probe, { what: a.what, timeoutMs: a.timeoutMs, signal, ...(a.intervalMs ? { intervalMs: a.intervalMs } : {}) });
        out.waitedMs = (out.waitedMs ?? 0) + r.waitedMs;
        break;
      }
    }
  }
  return out;
}

/** Engine steps for a plan. */
export function toEngineSteps(ctx: PlanContext, planned: PlannedStep[]): Step[] {
  return planned.map(
    (p): Step<ActionsOutput> => ({
      name: p.name,
      title: p.title,
      hosts: (h: Host) => p.hosts.some((x) => x.name === h.name),
      ...(p.timeoutMs !== undefined ? { timeoutMs: p.timeoutMs } : {}),
      ...(p.skipWhen
        ? {
            check: async (c: StepContext) => {
              const w = p.skipWhen!(c.host);
              return (await skipHolds(ctx, c.remote, w, c.signal)) ? { done: true as const, output: { bytes: 0, ran: 0, skipped: 1, stdout: '' } } : false;
            },
          }
        : {}),
      run: (c) => runActions(ctx, c, p.actions(c.host, capturedOutputs(c.outputs))),
    }),
  );
}

/** The connector of the run a plan context is in (host-copy reaches the build host through it). */
const connectors = new WeakMap<PlanContext, Connector>();

/** Run a plan on its hosts through the engine with the platform's connector and defaults. */
export async function runPlanned(ctx: PlanContext, planned: PlannedStep[], title: string, o: RunOverrides = {}): Promise<RunResult> {
  const { platform, cfg, ctx: pctx } = ctx.platform;
  const defaults = platform.runDefaults?.(cfg) ?? {};
  const connector = platform.createConnector(cfg, pctx);
  connectors.set(ctx, connector);
  const hosts = ctx.inventory.filter((h) => planned.some((p) => p.hosts.some((x) => x.name === h.name)));
  addSecrets(ctx.secrets);
  try {
    return await runSteps(toEngineSteps(ctx, planned), {
      root: ctx.root,
      hosts,
      connector,
      title,
      platform: ctx.platform.name,
      ...(platform.recoverHost ? { recoverHost: (h: Host, why: string, signal: AbortSignal) => platform.recoverHost!(cfg, pctx, h, why, signal) } : {}),
      concurrency: o.concurrency ?? defaults.concurrency,
      timeoutMs: o.timeoutMs ?? defaults.timeoutMs,
      failurePolicy: parseFailurePolicy(o.failurePolicy ?? defaults.failurePolicy ?? 'fail-fast'),
      output: createRenderer(o.output ?? 'auto'),
      secrets: ctx.secrets,
    });
  } finally {
    connectors.delete(ctx);
    await connector.close();
  }
}

/** Print what each host's commands wrote to stdout, `[label] line` (label: the host by default), secrets redacted. */
export function printHostOutputs(run: RunResult, label: (host: string, step: string) => string = (h) => h): void {
  for (const r of run.results) {
    const out = r.output as ActionsOutput | undefined;
    if (out?.stdout) for (const l of redactSecrets(out.stdout).trimEnd().split('\n')) console.log(`[${label(r.host, r.step)}] ${l}`);
  }
}

function describeAction(a: Action): string {
  switch (a.kind) {
    case 'run':
      return `run ${quote(a.argv)}${a.stdin !== undefined ? ' (with input)' : ''}${a.pty ? ' (in a pty)' : ''}${a.secretOutput ? ' (output withheld: secret)' : ''}${a.check ? ` (skip when ${quote(a.check)} succeeds)` : ''}${a.env && Object.keys(a.env).length ? ` env ${Object.keys(a.env).sort().join(',')}` : ''}${
        a.capture ? `; keep ${a.capture.secret ? 'secret ' : ''}${a.capture.name}${a.capture.pattern ? ` from /${a.capture.pattern}/` : ''}` : ''
      }`;
    case 'put':
      return `copy ${a.name} -> ${a.remote} (sha256 ${a.sha256.slice(0, 12)}, mode ${a.mode.toString(8)})`;
    case 'host-copy':
      return `copy ${a.name} from ${a.from.name}:${a.fromPath} -> ${a.remote} (${a.direct ? `sent by ${a.from.name} with the deployment key` : 'through this machine'}; sha256 ${a.sha256.slice(0, 12)}, mode ${a.mode.toString(8)}; from dist/ if ${a.from.name} no longer has it)`;
    case 'chain':
      return describeChainAction(a);
    case 'fetch':
      return `fetch ${a.name} from the store -> ${a.remote} (sha256 ${a.sha256.slice(0, 12)})`;
    case 'start':
      return `start ${a.spec.name}: ${quote(a.spec.argv)}${a.probe ? `; ready when ${describeProbe(a.probe)} (timeout ${formatMs(a.timeoutMs)})` : ''}`;
    case 'stop':
      return `stop ${a.name}`;
    case 'process-status':
      return `status of ${a.name}`;
    case 'write-file':
      return `write ${a.path}${a.mode !== undefined ? ` (mode ${a.mode.toString(8)})` : ''}`;
    case 'wait':
      return `wait until ${describeProbe(a.probe)} (${a.what}, timeout ${formatMs(a.timeoutMs)})`;
  }
}

function describeSkip(w: SkipWhen): string {
  if (w.kind === 'file-equals') return `${w.path} holds this stamp`;
  if (w.kind === 'files-match') return `the host has ${w.files.length === 1 ? 'this file' : 'these files'} already`;
  if (w.kind === 'command') return `${w.what} (\`${quote(w.argv)}\` succeeds)`;
  return `${w.name} runs with this stamp`;
}

/** The exact plan, host by host, without touching a host. */
export function formatPlan(ctx: PlanContext, target: string, planned: PlannedStep[]): string {
  addSecrets(ctx.secrets);
  const lines = [`${target} plan for ${ctx.name} on ${ctx.platform.name} (dry run: nothing is done)`];
  for (const p of planned) {
    lines.push(`== ${p.name}: ${p.title}`);
    for (const h of p.hosts) {
      const skip = p.skipWhen ? ` [skipped when ${describeSkip(p.skipWhen(h))}]` : '';
      lines.push(`  ${h.name}${skip}`);
      for (const a of p.actions(h, placeholderOutputs)) lines.push(`    ${describeAction(a)}`);
    }
  }
  return redactSecrets(lines.join('\n'));
}
