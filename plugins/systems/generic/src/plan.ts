/**
 * Plans: what each target does, as data (steps × hosts × actions), before anything runs.
 * `--dry-run` prints a plan; otherwise interpret.ts turns it into engine steps.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Host, ProcessSpec, ReadinessProbe } from '@labrig/core';
import { DEPLOY_KEYS_DIR, ensureDeployKey, knownHostsFor, type DeployKey } from '@labrig/ssh';
import { ConfigError, addSecret, copyTargets, parseDuration } from '@labrig/core';
import type { Action, ChainFile, DistributeMode, PlannedStep } from '@labrig/system-kit';
import { planChainDistribution, platformDistribution, sha256, usesChain } from '@labrig/system-kit';
import { knownHostsFileOf, type SystemContext } from './context.js';
import { hostsOfRoles } from './roles.js';
import { expandArgv } from './template.js';
import type { Probe } from './system-file.js';

export type { Action, Capture, PlannedStep, SkipWhen, StepOutputs } from '@labrig/system-kit';
export { sha256 } from '@labrig/system-kit';

/** Artifacts as built: name → sha256 (from dist/<project>/artifacts.json). */
export interface BuiltArtifact {
  name: string;
  path: string;
  sha256: string;
  size: number;
  /** Set by push when the platform has an S3 store. */
  key?: string;
}

/** The probe for one host; a `log` probe reads the role's process log. */
function toProbe(p: Probe, host: Host, logFile: string): ReadinessProbe {
  if (p.port !== undefined) return { port: p.port, address: p.address ?? host.address };
  if (p.command) return { command: p.command };
  if (p.log !== undefined) return { log: p.log, file: logFile };
  return { file: p.file! };
}

export function processName(ctx: SystemContext, role: string): string {
  return `${ctx.name}-${role}`;
}

/** setup: one step per host; skipped when the host's setup stamp matches. */
export function planSetup(ctx: SystemContext): PlannedStep[] {
  const { sys, file } = ctx;
  const stampPath = `${ctx.dir}/.setup-stamp`;
  const hosts = hostsOfRoles(ctx.roles, undefined, ctx.inventory);
  const stampFor = (host: Host): string =>
    sha256(JSON.stringify({ system: ctx.name, version: sys.version, setup: sys.setup, dir: ctx.dir, roles: rolesOf(ctx, host), env: envFingerprint(ctx) }));
  return [
    {
      name: 'setup',
      title: `set up ${ctx.name} (${sys.setup.length} command${sys.setup.length === 1 ? '' : 's'})`,
      hosts,
      skipWhen: (host) => ({ kind: 'file-equals', path: stampPath, content: stampFor(host) }),
      actions: (host) => [
        { kind: 'run', argv: ['mkdir', '-p', ctx.dir] },
        ...sys.setup
          .filter((s) => !s.roles || s.roles.some((r) => rolesOf(ctx, host).includes(r)))
          .map((s, i): Action => ({
            kind: 'run',
            argv: expandArgv(s.command, tplFor(ctx, host), { file, field: `setup[${i}].command` }),
            env: ctx.env,
            ...(s.check ? { check: expandArgv(s.check, tplFor(ctx, host), { file, field: `setup[${i}].check` }) } : {}),
          })),
        { kind: 'write-file', path: stampPath, content: stampFor(host) },
      ],
    },
  ];
}

/** Where a build on a platform host left its outputs (artifacts.json `builtOn`). */
export interface BuiltOn {
  platform: string;
  host: string;
  arch: string;
  /** The build folder on that host (absolute); outputs are in its `out/`. */
  dir: string;
}

/** The build host for `from = "build-host"`: the build must have run on a host of this platform. */
function buildHostOf(ctx: SystemContext, builtOn: BuiltOn | undefined): Host | undefined {
  if (ctx.sys.deploy.from !== 'build-host') return undefined;
  const hint = `Build on one of ${ctx.platform.name}'s hosts ([build] on in ${ctx.file}, then nx run ${ctx.name}:build -c ${ctx.platform.name}), or set deploy.from = "controller".`;
  if (!builtOn) throw new ConfigError(ctx.file, 'deploy.from', '"build-host" needs a build that ran on a platform host, but the build in dist/ ran here', { hint });
  const host = builtOn.platform === ctx.platform.name ? ctx.inventory.find((h) => h.name === builtOn.host) : undefined;
  if (!host) throw new ConfigError(ctx.file, 'deploy.from', `"build-host": the build in dist/ ran on ${builtOn.host} of ${builtOn.platform}, which is not a host of ${ctx.platform.name}`, { hint });
  return host;
}

/**
 * For `from = "build-host"`: when the deployment has a deployment key (a coordinator made it), the
 * build host sends artifacts straight to the other hosts with it; the hosts' keys go with it, as
 * this machine accepted them. Without one, copies are relayed through this machine.
 */
function directCopyOf(ctx: SystemContext): { key: DeployKey; knownHosts: string } | undefined {
  if (!existsSync(join(ctx.root, DEPLOY_KEYS_DIR, ctx.platform.name, 'id_ed25519'))) return undefined;
  const known = knownHostsFor(ctx.inventory, knownHostsFileOf(ctx));
  return { key: ensureDeployKey(ctx.root, ctx.platform.name), knownHosts: known.text };
}

/**
 * How artifacts leave this machine: the system file's `[deploy] distribution` when set, else the
 * platform file's `[artifacts] distribute` (default `auto`: a chain when more than one host needs a file).
 */
export function distributionOf(ctx: SystemContext): 'store' | DistributeMode {
  return ctx.sys.deploy.distribution ?? platformDistribution(ctx.platform);
}

/**
 * With chain distribution, a `distribute` step first: every file that more than one host needs goes
 * into the cluster once, and the install steps find it there (their files-match check).
 */
function planChainStep(ctx: SystemContext, built: BuiltArtifact[]): PlannedStep | undefined {
  const mode = distributionOf(ctx);
  if (mode === 'store') return undefined;
  const files: ChainFile[] = [];
  for (const a of ctx.sys.artifacts) {
    const b = built.find((x) => x.name === a.name);
    if (!b) continue;
    const hosts: Host[] = [];
    for (const [role, hs] of Object.entries(ctx.roles)) {
      if (!ctx.sys.roles[role] || (a.roles && !a.roles.includes(role))) continue;
      for (const h of copyTargets(hs)) if (!hosts.some((x) => x.name === h.name)) hosts.push(h);
    }
    if (usesChain(mode, hosts.length)) files.push({ name: a.name, local: `${ctx.outDir}/${a.path}`, remote: `${ctx.dir}/${a.path}`, sha256: b.sha256, size: b.size, mode: parseInt(a.mode, 8), hosts });
  }
  return planChainDistribution(files, { knownHostsFile: knownHostsFileOf(ctx) });
}

/** deploy: per role in order, install its artifacts, then (re)start its process and wait until ready. */
export function planDeploy(ctx: SystemContext, built: BuiltArtifact[], builtOn?: BuiltOn): PlannedStep[] {
  const { sys, file } = ctx;
  const steps: PlannedStep[] = [];
  const buildHost = buildHostOf(ctx, builtOn);
  const direct = buildHost ? directCopyOf(ctx) : undefined;
  const chain = buildHost ? undefined : planChainStep(ctx, built);
  if (chain) steps.push(chain);
  for (const [role, spec] of Object.entries(sys.roles)) {
    const hosts = ctx.roles[role]!;
    const arts = sys.artifacts.filter((a) => !a.roles || a.roles.includes(role));
    const files = arts.map((a) => {
      const b = built.find((x) => x.name === a.name);
      if (!b) throw new Error(`artifact ${a.name} is not in the build's artifacts.json: run the build target`);
      return { a, b };
    });
    if (files.length > 0) {
      steps.push({
        name: `install:${role}`,
        title: `install ${files.map((f) => f.a.name).join(', ')} on ${role}`,
        // Hosts sharing a filesystem (a Slurm cluster's nodes) get the files once.
        hosts: copyTargets(hosts),
        skipWhen: () => ({ kind: 'files-match', files: files.map(({ a, b }) => ({ path: `${ctx.dir}/${a.path}`, sha256: b.sha256 })) }),
        actions: () =>
          files.map(({ a, b }): Action =>
            buildHost && builtOn
              ? { kind: 'host-copy', name: a.name, from: buildHost, fromPath: `${builtOn.dir}/out/${a.path}`, remote: `${ctx.dir}/${a.path}`, sha256: b.sha256, mode: parseInt(a.mode, 8), local: `${ctx.outDir}/${a.path}`, ...(direct ? { direct } : {}) }
              : sys.deploy.distribution === 'store' && b.key
              ? { kind: 'fetch', name: a.name, key: b.key, remote: `${ctx.dir}/${a.path}`, sha256: b.sha256, mode: parseInt(a.mode, 8) }
              : { kind: 'put', name: a.name, local: `${ctx.outDir}/${a.path}`, remote: `${ctx.dir}/${a.path}`, sha256: b.sha256, mode: parseInt(a.mode, 8) },
          ),
      });
    }
    if (spec.start) {
      const name = processName(ctx, role);
      const timeoutMs = parseDuration(spec.ready?.timeout ?? '30s');
      const specFor = (host: Host): ProcessSpec => {
        const argv = expandArgv(spec.start!, tplFor(ctx, host), { file, field: `roles.${role}.start` });
        const env = { ...ctx.env, ...resolveEnv(ctx, spec.env ?? {}, `roles.${role}.env`) };
        const stamp = sha256(JSON.stringify({ version: sys.version, argv, env: Object.keys(env).sort(), envHash: sha256(JSON.stringify(env)), artifacts: files.map((f) => f.b.sha256) }));
        return { name, argv, cwd: undefined, env, stamp };
      };
      steps.push({
        name: `start:${role}`,
        title: `start ${role}`,
        hosts,
        timeoutMs: timeoutMs + 30_000,
        skipWhen: (host) => ({ kind: 'running', name, stamp: specFor(host).stamp! }),
        actions: (host) => {
          const probe = spec.ready ? toProbe(spec.ready, host, `.labrig/procs/${name}/log`) : undefined;
          return [{ kind: 'start', spec: specFor(host), ...(probe ? { probe } : {}), timeoutMs, what: `role ${role}` }];
        },
      });
    }
  }
  return steps;
}

/** stop: every role's process, in reverse start order. */
export function planStop(ctx: SystemContext): PlannedStep[] {
  return Object.entries(ctx.sys.roles)
    .filter(([, spec]) => spec.start)
    .reverse()
    .map(([role]) => ({
      name: `stop:${role}`,
      title: `stop ${role}`,
      hosts: ctx.roles[role]!,
      actions: (): Action[] => [{ kind: 'stop', name: processName(ctx, role) }],
    }));
}

/** status: each role's process, plus the system's status command. */
export function planStatus(ctx: SystemContext): PlannedStep[] {
  const steps: PlannedStep[] = Object.entries(ctx.sys.roles)
    .filter(([, spec]) => spec.start)
    .map(([role]) => ({
      name: `status:${role}`,
      title: `${role} process`,
      hosts: ctx.roles[role]!,
      actions: (): Action[] => [{ kind: 'process-status', name: processName(ctx, role) }],
    }));
  const cmd = ctx.sys.status?.command;
  if (cmd) {
    steps.push({
      name: 'status',
      title: 'status command',
      hosts: hostsOfRoles(ctx.roles, ctx.sys.status?.roles, ctx.inventory),
      actions: (host) => [{ kind: 'run', argv: expandArgv(cmd, tplFor(ctx, host), { file: ctx.file, field: 'status.command' }), env: ctx.env }],
    });
  }
  return steps;
}

/** A named task from [tasks.<name>]. */
export function planTask(ctx: SystemContext, name: string): PlannedStep[] {
  const t = ctx.sys.tasks[name]!;
  return [
    {
      name,
      title: t.description ?? name,
      hosts: ctx.roles[t.role]!,
      timeoutMs: parseDuration(t.timeout),
      actions: (host) => [{ kind: 'run', argv: expandArgv(t.command, { ...tplFor(ctx, host), params: t.params }, { file: ctx.file, field: `tasks.${name}.command` }), env: ctx.env }],
    },
  ];
}

export function rolesOf(ctx: SystemContext, host: Host): string[] {
  return Object.entries(ctx.roles)
    .filter(([, hs]) => hs.some((h) => h.name === host.name))
    .map(([r]) => r);
}

export function tplFor(ctx: SystemContext, host: Host) {
  const role = rolesOf(ctx, host)[0];
  const index = role ? ctx.roles[role]!.findIndex((h) => h.name === host.name) : undefined;
  return { system: ctx.name, dir: ctx.dir, host, ...(index !== undefined ? { index } : {}), roles: ctx.roles };
}

/** Resolve {secret = NAME} values from labrig's environment (registered for redaction: core's addSecret). */
export function resolveEnv(ctx: SystemContext, env: Record<string, string | { secret: string }>, field: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (typeof v === 'string') out[k] = v;
    else {
      const val = process.env[v.secret];
      if (val === undefined || val === '') ctx.missingSecrets.push(`${field}.${k} (from $${v.secret})`);
      else {
        ctx.secrets.push(val);
        addSecret(val);
      }
      out[k] = val ?? '';
    }
  }
  return out;
}

/** What the environment looks like without revealing secrets (for stamps). */
function envFingerprint(ctx: SystemContext): string {
  return sha256(JSON.stringify(Object.entries(ctx.env).sort()));
}
