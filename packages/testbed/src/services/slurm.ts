/**
 * A real Slurm cluster on this machine: munged (own key + socket), slurmctld, and one slurmd
 * per compute node name (`slurmd -N <name>`, distinct ports, all NodeAddr=127.0.0.1 — or the
 * `address` option, see StartSlurmOptions). Client commands find it through SLURM_CONF.
 *
 * Layout under `<dir>/services/slurm/`:
 *   slurm.conf, cgroup.conf, service.json
 *   munge/                 (0755) munge.key (0400), munged.log, seed; munge/run/ (0755) munge.sock
 *   munged.pid, slurmctld.pid, slurmd-<node>.pid   (+ matching .log files)
 *   state/ (StateSaveLocation), spool/<node>/ (SlurmdSpoolDir)
 *
 * Notes from bringing this up inside a container (gVisor, Debian 12, slurm-wlm 22.05.8,
 * munge 0.5.15, no systemd), what failed and how it was fixed:
 *  - munged: "Socket is inaccessible: execute permissions for all required on <dir>" — every
 *    directory on the socket's path must be o+x (clients of other users connect to it). A
 *    0700 munge dir fails; the munge dir and its run/ dir are 0755, the key is 0400 root.
 *    munged also refuses group/world-writable ancestors without the sticky bit; we create our
 *    dirs 0755 and leave a real problem to its error message (which we show) rather than
 *    hide it with --force.
 *  - munged forks by default; we run it with --foreground so the pid we spawn is the daemon
 *    and our pid file is exact.
 *  - Unix socket paths are limited to 108 bytes: when `<dir>/…/munge.sock` is longer, the
 *    socket goes to a short folder under os.tmpdir() named by a hash of the dir.
 *  - cgroup.conf `CgroupPlugin=disabled` does NOT exist in 22.05 (added in 23.x): slurmd died
 *    with "cannot find cgroup plugin for disabled … slurmd initialization failed". 22.05's
 *    slurmd always initialises a cgroup plugin; with `autodetect` it picks cgroup/v1 here and
 *    runs fine (gVisor exposes v1 controllers). We write `CgroupPlugin=autodetect` plus
 *    `IgnoreSystemd=yes` (cgroup/v2 would otherwise ask systemd over D-Bus for a scope, which a
 *    container without systemd has not) and use no cgroup-based plugins:
 *    ProctrackType=proctrack/linuxproc, TaskPlugin=task/none, JobAcctGatherType=jobacct_gather/none.
 *    On a 23.02+ Slurm, `CgroupPlugin=disabled` is written instead (version checked).
 *  - "Node configuration differs from hardware" drains a node claiming more CPUs than the
 *    machine has; `SlurmdParameters=config_overrides` makes slurm.conf authoritative, so
 *    several node names (and any `cpus`) work on one small machine.
 *  - "Configured MailProg is invalid": harmless, silenced with MailProg=<`true` from PATH>.
 *  - "mpi/pmix_v4: can not load PMIx library" is logged at start even with MpiDefault=none:
 *    harmless (the plugin is only probed).
 *  - Non-root users can run srun/sbatch/sinfo with SLURM_CONF pointing here (checked with
 *    `runuser -u nobody -- srun id`): the conf is 0644 and the munge socket reachable. That
 *    needs every directory above `<dir>/services/slurm` to be o+x: checked up front.
 *  - Several slurmd on one machine: Debian's build accepts `slurmd -N <name>` with a distinct
 *    `Port=` per NodeName (no --enable-multiple-slurmd rebuild needed); `srun -N2` spans both.
 *  - Slurm has no bind-address setting: slurmctld and slurmd listen on all addresses of this
 *    machine (ports chosen free); the config only ever names 127.0.0.1 (or `address`).
 *  - Jobs still running at stop have slurmstepd processes that slurmd does not take down
 *    with it: stopSlurm cancels every job (by id, scancel) before stopping the daemons.
 *  - PID 1 of this container reaps orphans slowly: a stopped daemon may linger as a zombie
 *    for a moment; liveness checks treat zombies (state Z in /proc/<pid>/stat) as dead.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { waitForPort } from '../probe.js';
import { isAlive, readPidFile } from '../proc.js';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import type { TestbedHost, TestbedSlurm } from '../types.js';
import {
  ServiceError,
  ensureDir,
  exitedMessage,
  freePort,
  livePid,
  readJson,
  requireBin,
  saveServiceInfo,
  serviceDir,
  spawnDetached,
  startProcess,
  stopPidFile,
  waitFor,
  which,
  writeFileAtomic,
} from './common.js';
import type { DetachedProcess } from './common.js';

const SERVICE = 'slurm';

export interface StartSlurmOptions {
  /** The testbed host acting as login node; its user submits jobs (must be a real unix user). */
  loginHost: TestbedHost;
  /** Number of compute node names (one slurmd each). Default 1. */
  nodes?: number;
  /** CPUs per node as declared in slurm.conf (config_overrides: may exceed the hardware). Default 2. */
  cpus?: number;
  /** Readiness timeout (all nodes idle). Default 60 s. */
  timeoutMs?: number;
  /**
   * Address clients and daemons use for slurmctld and the nodes (SlurmctldHost=<hostname>(ADDR),
   * NodeAddr=ADDR). Default 127.0.0.1 — except when the login host lives in a network namespace
   * (`loginHost.netns`): its 127.0.0.1 is the namespace's own loopback, so the root side of the
   * namespace's veth pair is used instead (found with `ip -n <netns>`), or pass it here
   * (`state.netns.rootAddress`).
   */
  address?: string;
}

/** What service.json keeps, so a second start reuses exactly the same config. */
interface SlurmState {
  info: TestbedSlurm;
  hostname: string;
  address: string;
  ctldPort: number;
  nodePorts: Record<string, number>;
  cpus: number;
  mungeSocket: string;
}

export interface SlurmPaths {
  root: string;
  conf: string;
  cgroupConf: string;
  stateFile: string;
  mungeDir: string;
  mungeKey: string;
  mungeLog: string;
  mungePid: string;
  mungeSeed: string;
  ctldPid: string;
  ctldLog: string;
  stateSave: string;
  spool: string;
}

export function slurmPaths(dir: string): SlurmPaths {
  const root = path.resolve(serviceDir(dir, SERVICE));
  const mungeDir = path.join(root, 'munge');
  return {
    root,
    conf: path.join(root, 'slurm.conf'),
    cgroupConf: path.join(root, 'cgroup.conf'),
    stateFile: path.join(root, 'service.json'),
    mungeDir,
    mungeKey: path.join(mungeDir, 'munge.key'),
    mungeLog: path.join(root, 'munged.log'),
    mungePid: path.join(root, 'munged.pid'),
    mungeSeed: path.join(mungeDir, 'munged.seed'),
    ctldPid: path.join(root, 'slurmctld.pid'),
    ctldLog: path.join(root, 'slurmctld.log'),
    stateSave: path.join(root, 'state'),
    spool: path.join(root, 'spool'),
  };
}

const slurmdPid = (p: SlurmPaths, node: string) => path.join(p.root, `slurmd-${node}.pid`);
const slurmdLog = (p: SlurmPaths, node: string) => path.join(p.root, `slurmd-${node}.log`);

function mungeSocketPath(p: SlurmPaths): string {
  const inDir = path.join(p.mungeDir, 'run', 'munge.sock');
  // sun_path is 108 bytes; keep a margin.
  if (Buffer.byteLength(inDir) <= 100) return inDir;
  const h = createHash('sha256').update(p.root).digest('hex').slice(0, 12);
  return path.join(os.tmpdir(), `labrig-munge-${h}`, 'munge.sock');
}

async function slurmVersion(slurmctld: string): Promise<[number, number]> {
  const r = await execa(slurmctld, ['-V'], { reject: false });
  const m = /(\d+)\.(\d+)/.exec(`${r.stdout} ${r.stderr}`);
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

function quoteConfValue(v: string): string {
  // slurm.conf values with spaces must be quoted; our paths normally have none.
  return /\s/.test(v) ? `"${v}"` : v;
}

function renderSlurmConf(s: SlurmState, p: SlurmPaths, mailProg: string | undefined): string {
  const q = quoteConfValue;
  const nodes = s.info.nodes;
  const lines = [
    '# Generated by @labrig/testbed (services/slurm.ts). Do not edit: rewritten on start.',
    `ClusterName=${s.info.clusterName}`,
    `SlurmctldHost=${s.hostname}(${s.address})`,
    'SlurmUser=root',
    'SlurmdUser=root',
    'AuthType=auth/munge',
    'CredType=cred/munge',
    `AuthInfo=socket=${q(s.mungeSocket)}`,
    `SlurmctldPort=${s.ctldPort}`,
    // Each node has its own Port below; SlurmdPort is the default for the first one.
    `SlurmdPort=${s.nodePorts[nodes[0] ?? ''] ?? 0}`,
    `StateSaveLocation=${q(p.stateSave)}`,
    `SlurmdSpoolDir=${q(path.join(p.spool, '%n'))}`,
    `SlurmctldPidFile=${q(p.ctldPid)}`,
    `SlurmdPidFile=${q(path.join(p.root, 'slurmd-%n.pid'))}`,
    `SlurmctldLogFile=${q(p.ctldLog)}`,
    `SlurmdLogFile=${q(path.join(p.root, 'slurmd-%n.log'))}`,
    'SlurmctldDebug=info',
    'SlurmdDebug=info',
    'ProctrackType=proctrack/linuxproc',
    'TaskPlugin=task/none',
    'JobAcctGatherType=jobacct_gather/none',
    'AccountingStorageType=accounting_storage/none',
    'JobCompType=jobcomp/none',
    'SelectType=select/cons_tres',
    'SelectTypeParameters=CR_Core',
    'SlurmdParameters=config_overrides',
    'ReturnToService=2',
    'MpiDefault=none',
    'SwitchType=switch/none',
    'KillWait=5',
    'MinJobAge=300',
    'InactiveLimit=0',
    ...(mailProg ? [`MailProg=${q(mailProg)}`] : []),
    ...nodes.map(
      (n) =>
        `NodeName=${n} NodeHostname=${s.hostname} NodeAddr=${s.address} Port=${s.nodePorts[n]} ` +
        `CPUs=${s.cpus} RealMemory=1024 State=UNKNOWN`,
    ),
    `PartitionName=${s.info.partition} Nodes=${nodes.join(',')} Default=YES MaxTime=INFINITE State=UP`,
    '',
  ];
  return lines.join('\n');
}

function renderCgroupConf(version: [number, number]): string {
  const [maj, min] = version;
  const hasDisabled = maj > 23 || (maj === 23 && min >= 2);
  return hasDisabled
    ? '# Generated by @labrig/testbed: no cgroups in the testbed.\nCgroupPlugin=disabled\n'
    : '# Generated by @labrig/testbed. Slurm < 23.02 has no CgroupPlugin=disabled (see slurm.ts).\n' +
        'CgroupPlugin=autodetect\nIgnoreSystemd=yes\n';
}

/**
 * 127.0.0.1, or — for a login host inside a network namespace — the root-namespace end of the
 * namespace's veth /30 (the other usable address of the subnet the namespace side is on).
 */
async function defaultAddress(loginHost: TestbedHost): Promise<string> {
  if (!loginHost.netns) return '127.0.0.1';
  const fail = (why: string) =>
    new ServiceError(
      `slurm: login host ${loginHost.name} lives in network namespace ${loginHost.netns}, where 127.0.0.1 ` +
        `is not this machine's loopback; ${why}`,
      SERVICE,
      'Pass startSlurm(dir, { address: state.netns.rootAddress, ... }).',
    );
  const r = await execa('ip', ['-n', loginHost.netns, '-o', '-4', 'addr', 'show'], { reject: false });
  if (r.exitCode !== 0) throw fail(`'ip -n ${loginHost.netns} addr show' failed: ${r.stderr.trim()}`);
  const toInt = (a: string) => a.split('.').reduce((n, x) => n * 256 + Number(x), 0);
  const toStr = (n: number) => [24, 16, 8, 0].map((sh) => Math.floor(n / 2 ** sh) % 256).join('.');
  for (const m of r.stdout.matchAll(/inet (\d+\.\d+\.\d+\.\d+)\/30/g)) {
    const ns = toInt(m[1] ?? '');
    const net = ns - (ns % 4);
    const peer = toStr(ns === net + 1 ? net + 2 : net + 1);
    const root = await execa('ip', ['-o', '-4', 'addr', 'show'], { reject: false });
    if (root.stdout.includes(`inet ${peer}/`)) return peer;
  }
  throw fail('found no veth /30 whose other end is on this machine');
}

/** Every directory above `p` must be o+x, or other users (job submitters) cannot reach the files. */
async function checkTraversable(p: string): Promise<void> {
  for (let d = path.dirname(p); ; d = path.dirname(d)) {
    const st = await stat(d).catch(() => undefined);
    if (st && (st.mode & 0o001) === 0) {
      throw new ServiceError(
        `slurm: directory ${d} is not searchable by other users (mode ${(st.mode & 0o777).toString(8)}): ` +
          'munged refuses such a socket path and job users could not read slurm.conf',
        SERVICE,
        `Run \`chmod o+x ${d}\` (or use a testbed dir below a world-searchable path).`,
      );
    }
    if (path.dirname(d) === d) return;
  }
}

async function ensureUser(user: string): Promise<void> {
  const r = await execa('id', ['-u', user], { reject: false });
  if (r.exitCode !== 0) {
    throw new ServiceError(
      `slurm: login user '${user}' is not a unix user on this machine (Slurm runs jobs as that user)`,
      SERVICE,
      'Create the testbed hosts (their users) before starting Slurm.',
    );
  }
}

/** A live pid for each daemon of this cluster (undefined entries when not running). */
async function livePids(p: SlurmPaths, nodes: string[]) {
  return {
    munged: await livePid(p.mungePid, p.mungeKey),
    slurmctld: await livePid(p.ctldPid, p.conf),
    slurmd: Object.fromEntries(
      await Promise.all(nodes.map(async (n) => [n, await livePid(slurmdPid(p, n), p.conf)] as const)),
    ) as Record<string, number | undefined>,
  };
}

/** `sinfo` node states (`name → state`), or undefined when the controller does not answer. */
export async function nodeStates(confFile: string): Promise<Record<string, string> | undefined> {
  const r = await execa('sinfo', ['-h', '-N', '-o', '%N|%T'], {
    reject: false,
    env: { SLURM_CONF: confFile },
    timeout: 10_000,
  });
  if (r.exitCode !== 0) return undefined;
  const out: Record<string, string> = {};
  for (const line of r.stdout.split('\n')) {
    const [n, st] = line.trim().split('|');
    if (n && st) out[n] = st;
  }
  return out;
}

async function writeLoginSshdConf(dir: string, loginHost: TestbedHost, confFile: string): Promise<void> {
  const hostDir = path.join(dir, 'hosts', loginHost.name);
  await mkdir(hostDir, { recursive: true });
  const value = `SLURM_CONF=${confFile}`;
  const line = /[\s"]/.test(value) ? `SetEnv "${value.replace(/"/g, '\\"')}"` : `SetEnv ${value}`;
  const file = path.join(hostDir, 'sshd_slurm.conf');
  const text = `# Written by @labrig/testbed services/slurm.ts: the login host's sessions see the testbed Slurm.\n${line}\n`;
  const before = await readFile(file, 'utf8').catch(() => undefined);
  await writeFileAtomic(file, text);
  if (before !== text) await reloadSshd(loginHost);
}

/**
 * Make a running sshd read its config again (SIGHUP: it re-executes itself), so that the include
 * just written applies to new sessions; then wait until it accepts connections again. A host
 * whose sshd does not run (yet) reads the include when it starts.
 */
async function reloadSshd(host: TestbedHost): Promise<void> {
  const pid = await readPidFile(host.pidFile);
  if (!pid || !isAlive(pid)) return;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (!cmdline.includes('sshd')) return; // a stale pid file naming another process
  process.kill(pid, 'SIGHUP');
  await new Promise((r) => setTimeout(r, 100));
  if (!(await waitForPort(host.address, host.port, host.netns, 10_000))) {
    throw new ServiceError(`sshd of ${host.name} did not accept connections again after reloading its config`, SERVICE, `See ${host.logFile}.`);
  }
}

export async function startSlurm(dir: string, opts: StartSlurmOptions): Promise<TestbedSlurm> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const munged = await requireBin(SERVICE, 'munged', 'munge');
  const slurmctld = await requireBin(SERVICE, 'slurmctld', 'slurmctld (or slurm-wlm)');
  const slurmd = await requireBin(SERVICE, 'slurmd', 'slurmd (or slurm-wlm)');
  await requireBin(SERVICE, 'sinfo', 'slurm-client (or slurm-wlm)');
  await ensureUser(opts.loginHost.user);

  const absDir = path.resolve(dir);
  const p = slurmPaths(absDir);
  await ensureDir(p.root);
  await chmod(p.root, 0o755);
  await checkTraversable(p.root);

  const saved = await readJson<SlurmState>(p.stateFile);
  let state: SlurmState;
  if (saved) {
    const pids = await livePids(p, saved.info.nodes);
    const allUp = pids.munged && pids.slurmctld && saved.info.nodes.every((n) => pids.slurmd[n]);
    if (allUp) {
      // Already running: same info (the login host may differ: record the requested one).
      const info = { ...saved.info, loginHost: opts.loginHost.name };
      await writeLoginSshdConf(absDir, opts.loginHost, info.confFile);
      if (info.loginHost !== saved.info.loginHost) {
        await saveServiceInfo(p.stateFile, { ...saved, info });
      }
      return info;
    }
  }
  const anyUp =
    saved &&
    (await (async () => {
      const pids = await livePids(p, saved.info.nodes);
      return !!(pids.munged || pids.slurmctld || Object.values(pids.slurmd).some(Boolean));
    })());

  const nodeCount = opts.nodes ?? 1;
  const cpus = opts.cpus ?? 2;
  if (saved && anyUp) {
    // Partly running: keep its config (ports, nodes) and start what is missing.
    state = { ...saved, info: { ...saved.info, loginHost: opts.loginHost.name } };
  } else {
    const nodes = Array.from({ length: nodeCount }, (_, i) => `node${i + 1}`);
    const ctldPort = await freePort();
    const nodePorts: Record<string, number> = {};
    for (const n of nodes) {
      let port = await freePort();
      while (port === ctldPort || Object.values(nodePorts).includes(port)) port = await freePort();
      nodePorts[n] = port;
    }
    state = {
      info: {
        loginHost: opts.loginHost.name,
        clusterName: 'labrig',
        partition: 'debug',
        nodes,
        confFile: p.conf,
      },
      hostname: os.hostname(),
      address: opts.address ?? (await defaultAddress(opts.loginHost)),
      ctldPort,
      nodePorts,
      cpus,
      mungeSocket: mungeSocketPath(p),
    };
    // A different node set than the saved state's: start from clean controller state.
    if (saved && saved.info.nodes.join(',') !== nodes.join(',')) {
      await rm(p.stateSave, { recursive: true, force: true });
    }
  }

  // --- files ---------------------------------------------------------------------------
  await ensureDir(p.mungeDir);
  await chmod(p.mungeDir, 0o755);
  const sockDir = path.dirname(state.mungeSocket);
  await ensureDir(sockDir);
  await chmod(sockDir, 0o755);
  await checkTraversable(sockDir);
  const keyExists = await stat(p.mungeKey).then(
    () => true,
    () => false,
  );
  if (!keyExists) await writeFile(p.mungeKey, randomBytes(1024), { mode: 0o400 });
  await chmod(p.mungeKey, 0o400);
  await ensureDir(p.stateSave, 0o700);
  for (const n of state.info.nodes) await ensureDir(path.join(p.spool, n), 0o755);
  const mailProg = await which('true');
  await writeFileAtomic(p.conf, renderSlurmConf(state, p, mailProg), 0o644);
  await writeFileAtomic(p.cgroupConf, renderCgroupConf(await slurmVersion(slurmctld)), 0o644);
  await saveServiceInfo(p.stateFile, state);
  await writeLoginSshdConf(absDir, opts.loginHost, p.conf);

  const env = { ...process.env, SLURM_CONF: p.conf };
  const pids = await livePids(p, state.info.nodes);

  // --- munged ----------------------------------------------------------------------------
  if (!pids.munged) {
    await rm(state.mungeSocket, { force: true });
    await rm(`${state.mungeSocket}.lock`, { force: true });
    const munge = await which('munge');
    await startProcess({
      service: SERVICE,
      name: 'munged',
      bin: munged,
      args: [
        '--foreground',
        `--socket=${state.mungeSocket}`,
        `--key-file=${p.mungeKey}`,
        `--pid-file=${path.join(p.mungeDir, 'munged.self.pid')}`,
        `--log-file=${p.mungeLog}`,
        `--seed-file=${p.mungeSeed}`,
      ],
      logFile: p.mungeLog,
      pidFile: p.mungePid,
      env,
      ready: {
        what: 'munged to answer on its socket',
        timeoutMs: 15_000,
        probe: async () => {
          if (!munge) return stat(state.mungeSocket).then(() => true, () => false);
          const r = await execa(munge, ['-n', '-S', state.mungeSocket], { reject: false, timeout: 5000 });
          return r.exitCode === 0;
        },
      },
    });
  }

  // --- slurmctld -------------------------------------------------------------------------
  if (!pids.slurmctld) {
    await startProcess({
      service: SERVICE,
      name: 'slurmctld',
      bin: slurmctld,
      args: ['-D', '-f', p.conf],
      logFile: path.join(p.root, 'slurmctld.out'),
      pidFile: p.ctldPid,
      env,
      ready: {
        what: 'slurmctld to answer (sinfo)',
        timeoutMs,
        logFile: p.ctldLog,
        probe: async () => (await nodeStates(p.conf)) !== undefined,
      },
    });
  }

  // --- slurmd, one per node name -----------------------------------------------------------
  const procs: { n: string; proc: DetachedProcess }[] = [];
  for (const n of state.info.nodes) {
    if (pids.slurmd[n]) continue;
    const proc = await spawnDetached({
      bin: slurmd,
      args: ['-D', '-N', n, '-f', p.conf],
      logFile: path.join(p.root, `slurmd-${n}.out`),
      pidFile: slurmdPid(p, n),
      env,
    });
    procs.push({ n, proc });
  }

  // --- readiness: every node idle ---------------------------------------------------------
  let last: Record<string, string> | undefined;
  await waitFor({
    service: SERVICE,
    what: `nodes ${state.info.nodes.join(',')} idle in sinfo`,
    timeoutMs,
    intervalMs: 200,
    logFile: procs[0] ? slurmdLog(p, procs[0].n) : p.ctldLog,
    abort: () => {
      for (const { n, proc } of procs) {
        const m = exitedMessage(`slurmd -N ${n}`, proc);
        if (m) return m;
      }
      return undefined;
    },
    probe: async () => {
      last = await nodeStates(p.conf);
      if (!last) return false;
      const states = last;
      return state.info.nodes.every((n) => (states[n] ?? '').startsWith('idle'));
    },
  }).catch((e: unknown) => {
    if (e instanceof ServiceError && last) {
      throw new ServiceError(`${e.message}\nlast sinfo: ${JSON.stringify(last)}`, SERVICE, e.hint, { cause: e });
    }
    throw e;
  });

  return state.info;
}

async function cancelAllJobs(confFile: string): Promise<void> {
  const env = { SLURM_CONF: confFile };
  const list = async () => {
    const r = await execa('squeue', ['-h', '-o', '%i'], { env, reject: false, timeout: 10_000 });
    return r.exitCode === 0 ? r.stdout.split('\n').map((l) => l.trim()).filter(Boolean) : [];
  };
  const ids = await list();
  if (ids.length === 0) return;
  await execa('scancel', ids, { env, reject: false, timeout: 10_000 });
  await waitFor({
    service: SERVICE,
    what: `jobs ${ids.join(',')} to end after scancel`,
    timeoutMs: 15_000,
    intervalMs: 200,
    // squeue keeps COMPLETING jobs listed until their slurmstepd is gone.
    probe: async () => (await list()).length === 0,
  }).catch(() => undefined); // best effort: the daemons are stopped anyway
}

/** Stop slurmd(s), slurmctld, munged (in that order), by pid file. Safe when not running. */
export async function stopSlurm(dir: string): Promise<void> {
  const p = slurmPaths(path.resolve(dir));
  const saved = await readJson<SlurmState>(p.stateFile);
  const nodes = saved?.info.nodes ?? [];
  // Jobs still running have slurmstepd processes (daemonized by slurmd, not in its process
  // group) that would outlive slurmd: cancel every job by id first and wait for them to go.
  if ((await livePid(p.ctldPid, p.conf)) !== undefined) await cancelAllJobs(p.conf);
  await Promise.all(nodes.map((n) => stopPidFile(slurmdPid(p, n), p.conf)));
  await stopPidFile(p.ctldPid, p.conf);
  await stopPidFile(p.mungePid, p.mungeKey);
}

export async function slurmStatus(
  dir: string,
): Promise<{ running: boolean; endpoint?: string; pids: Record<string, number | undefined> }> {
  const p = slurmPaths(path.resolve(dir));
  const saved = await readJson<SlurmState>(p.stateFile);
  if (!saved) return { running: false, pids: {} };
  const live = await livePids(p, saved.info.nodes);
  const pids: Record<string, number | undefined> = { munged: live.munged, slurmctld: live.slurmctld };
  for (const [n, pid] of Object.entries(live.slurmd)) pids[`slurmd-${n}`] = pid;
  const running = Object.values(pids).every((x) => x !== undefined);
  return {
    running,
    endpoint: `${saved.address}:${saved.ctldPort} (SLURM_CONF=${saved.info.confFile})`,
    pids,
  };
}
