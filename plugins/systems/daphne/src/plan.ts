/**
 * The plans of every platform target, in both modes.
 *
 * SSH mode (local, cloudlab, aws, equinix): workers `host:port`; the package goes to each worker
 * host once; each worker is a background process (pid + log files through the platform's
 * launcher), ready when its port listens; the coordinator runs on one host.
 *
 * Slurm mode (slurm-hpc): the package goes to the login node once (shared filesystem); the workers
 * are one Slurm job of numcores tasks (one worker per task on port + SLURM_LOCALID); the
 * coordinator runs as an srun job step from the login node.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Host } from '@labrig/core';
import { parseDuration } from '@labrig/core';
import type { Action, CodeSystemContext, PlannedStep } from '@labrig/system-kit';
import { planChainDistribution, platformDistribution, platformKnownHostsFile, sha256, usesChain } from '@labrig/system-kit';
import { modeOf, sshWorkers, uniqueHosts, type DaphneConfig, type Mode, type SshWorker } from './config.js';
import { CLEAN, FORGET, PORT_FREE, RUN, SLURM_READY, SLURM_WORKER, SSH_WORKER, STATUS, UNPACK } from './scripts.js';

export type Sys = CodeSystemContext<DaphneConfig>;

/** What the build target leaves in dist/<project>/. */
export const PACKAGE_FILE = 'daphne-package.tgz';
export const MANIFEST_FILE = 'daphne-package.json';
export const SIF_FILE = 'daphne.sif';

export interface PackageManifest {
  file: string;
  sha256: string;
  size: number;
  entries: string[];
}

/** The image folder: dist/<project>-image (not the build's cached output folder). */
export const imageDirOf = (root: string, projectRoot: string): string => join(root, 'dist', `${projectRoot}-image`);

export function mode(sys: Sys): Mode {
  return modeOf(sys.config, sys.inventory);
}

/** The folder on hosts as commands see it: relative to the home folder unless absolute. */
export function remoteDir(cfg: DaphneConfig): string {
  return cfg.path.replace(/^~\/+/, '').replace(/\/+$/, '');
}

function packageInfo(sys: Sys): { local: string; sha256: string } {
  const local = join(sys.outDir, PACKAGE_FILE);
  const m = join(sys.outDir, MANIFEST_FILE);
  if (!existsSync(m)) return { local, sha256: '(not built yet: the build target makes it)' };
  return { local, sha256: (JSON.parse(readFileSync(m, 'utf8')) as PackageManifest).sha256 };
}

function sifInfo(sys: Sys): { local: string; sha256: string } {
  const dir = imageDirOf(sys.root, sys.projectRoot);
  const stamp = join(dir, `${SIF_FILE}.json`);
  const sha = existsSync(stamp) ? (JSON.parse(readFileSync(stamp, 'utf8')) as { sha256: string }).sha256 : '(not built yet: the image target makes it)';
  return { local: join(dir, SIF_FILE), sha256: sha };
}

/** `singularity exec <args> daphne.sif` (cwd = the deployment folder), or nothing without a container. */
export function containerPrefix(cfg: DaphneConfig): string[] {
  if (!cfg.container.enabled) return [];
  const rt =
    cfg.container.runtime === 'auto'
      ? ['sh', '-c', 'rt=$(command -v singularity || command -v apptainer) || { echo "labrig: neither singularity nor apptainer is on PATH here (set container.runtime, or container.enabled = false)" >&2; exit 127; }; exec "$rt" "$@"', 'container']
      : [cfg.container.runtime];
  return [...rt, 'exec', ...cfg.container.singularityArgs, SIF_FILE];
}

const bin = (b: string) => `./${b.replace(/^\.\//, '')}`;

// ---------------------------------------------------------------------------------------------
// transfer: the package (and in Slurm mode the image) to each host once, unpacked.

export function transferSteps(sys: Sys): PlannedStep[] {
  const cfg = sys.config;
  const dir = remoteDir(cfg);
  const pkg = packageInfo(sys);
  const slurm = mode(sys) === 'slurm';
  const hosts = slurm ? sys.roles['login']! : sys.roles['workers']!;
  const withSif = slurm && cfg.container.enabled;
  const sif = withSif ? sifInfo(sys) : undefined;
  const stamp = `${pkg.sha256}${sif ? ` ${sif.sha256}` : ''}\n`;
  // SSH mode on several hosts: the package goes into the cluster once, host to host (the
  // platform's [artifacts] distribute); the transfer step's copy then finds it there.
  const chain =
    !slurm && usesChain(platformDistribution(sys.platform), hosts.length)
      ? planChainDistribution([{ name: PACKAGE_FILE, local: pkg.local, remote: `${dir}/${PACKAGE_FILE}`, sha256: pkg.sha256, size: existsSync(pkg.local) ? statSync(pkg.local).size : 0, mode: 0o644, hosts }], {
          knownHostsFile: platformKnownHostsFile(sys.root, sys.platform),
        })
      : undefined;
  return [
    ...(chain ? [chain] : []),
    {
      name: 'transfer',
      title: slurm ? 'Copy the package to the login node once and unpack it' : 'Copy the worker package to each worker host once and unpack it',
      hosts,
      skipWhen: () => ({ kind: 'file-equals', path: `${dir}/.labrig-package`, content: stamp }),
      actions: () => [
        { kind: 'run', argv: ['mkdir', '-p', dir] },
        { kind: 'put', name: PACKAGE_FILE, local: pkg.local, remote: `${dir}/${PACKAGE_FILE}`, sha256: pkg.sha256, mode: 0o644 },
        ...(sif ? [{ kind: 'put', name: SIF_FILE, local: sif.local, remote: `${dir}/${SIF_FILE}`, sha256: sif.sha256, mode: 0o644 } as Action] : []),
        { kind: 'run', argv: ['sh', '-c', UNPACK, 'unpack', dir, PACKAGE_FILE] },
        { kind: 'write-file', path: `${dir}/.labrig-package`, content: stamp },
      ],
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// workers: start them and wait until they listen.

/** SSH mode: one step per worker index on a host, so that a host's workers start in order and hosts in parallel. */
function byIndex(ws: SshWorker[]): SshWorker[][] {
  const groups: SshWorker[][] = [];
  const count = new Map<string, number>();
  for (const w of ws) {
    const i = count.get(w.host.name) ?? 0;
    count.set(w.host.name, i + 1);
    (groups[i] ??= []).push(w);
  }
  return groups;
}

const workerOn = (group: SshWorker[], h: Host): SshWorker => group.find((w) => w.host.name === h.name)!;

export function workerStamp(sys: Sys, peer: string): string {
  return sha256(JSON.stringify([packageInfo(sys).sha256, sys.config.workerBinary, peer, sys.config.env])).slice(0, 16);
}

/** Name of the Slurm workers job's process: the job is `<platform job prefix><system>-workers`. */
export const slurmProcessName = (sys: Sys): string => `${sys.name}-workers`;

export function workersSteps(sys: Sys): PlannedStep[] {
  const cfg = sys.config;
  const dir = remoteDir(cfg);
  if (mode(sys) === 'ssh') {
    const ws = sshWorkers(cfg, sys.inventory, sys.file);
    const timeoutMs = parseDuration(cfg.ssh.startTimeout, 'ssh.startTimeout');
    return byIndex(ws).map((group, i) => ({
      name: `worker:${i}`,
      title: `Start worker ${i + 1} of each host in the background (pid and log files) and wait until its port listens`,
      hosts: group.map((w) => w.host),
      skipWhen: (h) => {
        const w = workerOn(group, h);
        return { kind: 'running', name: w.name, stamp: workerStamp(sys, w.peer) };
      },
      actions: (h) => {
        const w = workerOn(group, h);
        return [
          { kind: 'stop', name: w.name },
          { kind: 'run', argv: ['bash', '-c', PORT_FREE, w.address, String(w.port)] },
          {
            kind: 'start',
            spec: { name: w.name, argv: ['sh', '-c', SSH_WORKER, 'daphne-worker', dir, w.peer, bin(cfg.workerBinary)], env: cfg.env, stamp: workerStamp(sys, w.peer) },
            probe: { port: w.port, address: w.address },
            timeoutMs,
            what: `DAPHNE worker ${w.peer}`,
          },
        ];
      },
    }));
  }
  const n = cfg.slurm.numcores;
  const name = slurmProcessName(sys);
  const stamp = sha256(JSON.stringify([packageInfo(sys).sha256, n, cfg.port, cfg.slurm, cfg.container, cfg.env])).slice(0, 16);
  const spec = {
    name,
    argv: ['sh', '-c', SLURM_WORKER, 'daphne-worker', dir, String(cfg.port), cfg.slurm.workerAddress, ...containerPrefix(cfg), bin(cfg.workerBinary)],
    env: cfg.env,
    stamp,
    slurm: {
      ntasks: n,
      ...(cfg.slurm.partition !== undefined ? { partition: cfg.slurm.partition } : {}),
      ...(cfg.slurm.time !== undefined ? { time: cfg.slurm.time } : {}),
      sbatchArgs: cfg.slurm.sbatchArgs,
      // One task failing (a taken port) ends the job instead of leaving it half up.
      srunArgs: ['--kill-on-bad-exit=1', ...cfg.slurm.srunArgs],
    },
  };
  return [
    {
      name: 'workers',
      title: `Start the workers as the Slurm job ${name} (${n} tasks, one worker per task on port ${cfg.port}+SLURM_LOCALID)`,
      hosts: sys.roles['login']!,
      skipWhen: () => ({ kind: 'running', name, stamp }),
      actions: () => [
        { kind: 'stop', name },
        { kind: 'run', argv: ['sh', '-c', FORGET, 'forget', dir] },
        {
          kind: 'start',
          spec,
          probe: { command: ['sh', '-c', SLURM_READY, 'ready', dir, String(n)] },
          timeoutMs: parseDuration(cfg.slurm.startTimeout, 'slurm.startTimeout'),
          what: `${n} DAPHNE workers (job ${name})`,
        },
        { kind: 'run', argv: ['sh', '-c', STATUS, 'status', dir, String(n), ''] },
      ],
    },
  ];
}

export function waitSteps(sys: Sys, timeout?: string): PlannedStep[] {
  const cfg = sys.config;
  if (mode(sys) === 'ssh') {
    const ws = sshWorkers(cfg, sys.inventory, sys.file);
    const timeoutMs = parseDuration(timeout ?? cfg.ssh.startTimeout, 'timeout');
    return [
      {
        name: 'wait',
        title: 'Wait until every worker port listens',
        hosts: uniqueHosts(ws),
        actions: (h) => ws.filter((w) => w.host.name === h.name).map((w): Action => ({ kind: 'wait', probe: { port: w.port, address: w.address }, timeoutMs, what: `DAPHNE worker ${w.peer}` })),
      },
    ];
  }
  const n = cfg.slurm.numcores;
  return [
    {
      name: 'wait',
      title: `Wait until all ${n} workers of the Slurm job listen`,
      hosts: sys.roles['login']!,
      actions: () => [
        {
          kind: 'wait',
          probe: { command: ['sh', '-c', SLURM_READY, 'ready', remoteDir(cfg), String(n)] },
          timeoutMs: parseDuration(timeout ?? cfg.slurm.startTimeout, 'timeout'),
          what: `${n} DAPHNE workers (job ${slurmProcessName(sys)})`,
        },
        { kind: 'run', argv: ['sh', '-c', STATUS, 'status', remoteDir(cfg), String(n), ''] },
      ],
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// status: each worker's process alive AND its port listening.

export function statusSteps(sys: Sys): PlannedStep[] {
  const cfg = sys.config;
  const dir = remoteDir(cfg);
  if (mode(sys) === 'ssh') {
    const ws = sshWorkers(cfg, sys.inventory, sys.file);
    const groups = byIndex(ws);
    return groups.map((group, i) => ({
      name: `status:${i}`,
      title: `Worker ${i + 1} of each host: process alive and port listening`,
      hosts: group.map((w) => w.host),
      actions: (h) => {
        const w = workerOn(group, h);
        return [
          { kind: 'process-status', name: w.name },
          { kind: 'wait', probe: { port: w.port, address: w.address }, timeoutMs: 3000, what: `DAPHNE worker ${w.peer} (its process runs)` },
          { kind: 'run', argv: ['echo', `worker ${w.peer}: running, listening`] },
        ];
      },
    }));
  }
  return [
    {
      name: 'status',
      title: `The Slurm job ${slurmProcessName(sys)} runs and all ${cfg.slurm.numcores} workers listen`,
      hosts: sys.roles['login']!,
      actions: () => [
        { kind: 'process-status', name: slurmProcessName(sys) },
        { kind: 'run', argv: ['sh', '-c', STATUS, 'status', dir, String(cfg.slurm.numcores), ''] },
      ],
    },
  ];
}

/** DISTRIBUTED_WORKERS of SSH mode (known from the configuration). */
export function sshDistributedWorkers(sys: Sys): string {
  return sshWorkers(sys.config, sys.inventory, sys.file)
    .map((w) => w.peer)
    .join(',');
}

// ---------------------------------------------------------------------------------------------
// run: one DaphneDSL script with DISTRIBUTED_WORKERS set.

export interface RunInput {
  /** The script's text and a name for messages. */
  text: string;
  label: string;
  args: string[];
}

export function runSteps(sys: Sys, input: RunInput): PlannedStep[] {
  const cfg = sys.config;
  const dir = remoteDir(cfg);
  const file = `scripts/labrig-run-${sha256(input.text).slice(0, 12)}.daphne`;
  const daphne = [bin(cfg.daphneBinary), ...cfg.daphneArgs, file, ...input.args];
  if (mode(sys) === 'ssh') {
    const ws = sshWorkers(cfg, sys.inventory, sys.file);
    return [
      {
        name: 'run',
        title: `Run ${input.label} with the coordinator, DISTRIBUTED_WORKERS = the ${ws.length} workers`,
        hosts: sys.roles['coordinator']!,
        actions: () => [
          { kind: 'write-file', path: `${dir}/${file}`, content: input.text },
          { kind: 'run', argv: ['sh', '-c', RUN, 'run', dir, String(ws.length), ws.map((w) => w.peer).join(' '), ...daphne], env: cfg.env },
        ],
      },
    ];
  }
  const srun = ['srun', '--ntasks=1', `--job-name=${sys.name}-run`, ...cfg.slurm.runSrunArgs, ...containerPrefix(cfg), ...daphne];
  return [
    {
      name: 'run',
      title: `Run ${input.label} through srun, DISTRIBUTED_WORKERS = the workers of ${slurmProcessName(sys)}`,
      hosts: sys.roles['login']!,
      actions: () => [
        { kind: 'write-file', path: `${dir}/${file}`, content: input.text },
        { kind: 'run', argv: ['sh', '-c', RUN, 'run', dir, String(cfg.slurm.numcores), '', ...srun], env: cfg.env },
      ],
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// stop and clean.

export function stopSteps(sys: Sys): PlannedStep[] {
  const cfg = sys.config;
  if (mode(sys) === 'ssh') {
    const ws = sshWorkers(cfg, sys.inventory, sys.file);
    return [
      {
        name: 'stop',
        title: 'Stop every worker process',
        hosts: uniqueHosts(ws),
        actions: (h) => ws.filter((w) => w.host.name === h.name).map((w): Action => ({ kind: 'stop', name: w.name })),
      },
    ];
  }
  return [
    {
      name: 'stop',
      title: `Cancel the Slurm job ${slurmProcessName(sys)} (scancel) and wait until Slurm no longer lists it`,
      hosts: sys.roles['login']!,
      actions: () => [
        { kind: 'stop', name: slurmProcessName(sys) },
        { kind: 'run', argv: ['sh', '-c', FORGET, 'forget', remoteDir(cfg)] },
      ],
    },
  ];
}

export function cleanSteps(sys: Sys): PlannedStep[] {
  const hosts = mode(sys) === 'slurm' ? sys.roles['login']! : sys.roles['workers']!;
  return [
    ...stopSteps(sys),
    {
      name: 'clean',
      title: `Delete ${sys.config.path} (package, scripts, logs)`,
      hosts,
      actions: () => [{ kind: 'run', argv: ['sh', '-c', CLEAN, 'clean', remoteDir(sys.config)] }],
    },
  ];
}
