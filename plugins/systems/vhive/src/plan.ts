/**
 * What each vHive target does, as data (steps x hosts x actions), from the seed's procedure:
 * setup (clone, node setup + runtime scripts, worker kubelet), deploy (daemons in named detached
 * sessions, the cluster script with its stdin held open, the kubeadm join hand-off, the answer,
 * pods), teardown (the clean script), and the functions (deploy, invoke, delete).
 */
import type { Host, ReadinessProbe } from '@labrig/core';
import { parseDuration } from '@labrig/core';
import type { Action, CodeSystemContext, PlannedStep, SkipWhen, StepOutputs } from '@labrig/system-kit';
import { sha256 } from '@labrig/system-kit';
import { MASTER, WORKER, type VhiveConfig } from './config.js';

export type Sys = CodeSystemContext<VhiveConfig>;

/** Process names (the seed's screen session names, prefixed). */
export const PROC = { containerd: 'vhive-containerd', firecracker: 'vhive-firecracker', gvisor: 'vhive-gvisor', vhive: 'vhive-vhive', cluster: 'vhive-cluster' } as const;

/**
 * (Log paths that are not absolute are relative to the home, like every path in the system file.)
 * A script run in the checkout with its output tee'd (appended) to <logDir>/<name>.stdout|.stderr,
 * as the seed does: $1 folder, $2 log base, then the command. Waits for the tees before exiting.
 */
const LOGGED = 'l=$2; case $l in /*) ;; *) l=$HOME/$l ;; esac; cd "$1" || exit 1; shift 2; mkdir -p "${l%/*}"; "$@" > >(tee -a "$l.stdout") 2> >(tee -a "$l.stderr" >&2); s=$?; wait; exit $s';

/**
 * A daemon: like LOGGED, and also into <log>.run (this start only, what readiness reads); exec
 * keeps the pid (the session's process is the daemon); run with sudo keeping PATH, like the seed's
 * `sudo PATH=$PATH screen -dmS …`. $1 log base, then the command.
 */
const DAEMON = 'l=$1; case $l in /*) ;; *) l=$HOME/$l ;; esac; shift; mkdir -p "${l%/*}"; : > "$l.run"; exec sudo env "PATH=$PATH" "$@" > >(tee -a "$l.stdout" "$l.run") 2> >(tee -a "$l.stderr" "$l.run" >&2)';

/**
 * The multi-node cluster script, its stdin held open by `tail -f` on an answer file (a later step
 * appends `y`); tail ends with this shell. Exit status into <log>.exit.
 * $1 checkout, $2 log base, $3 answer file, then the command.
 */
const CLUSTER = `l=$2; ans=$3; case $l in /*) ;; *) l=$HOME/$l; ans=$HOME/$ans ;; esac; cd "$1" || exit 1; shift 3; mkdir -p "\${l%/*}"; rm -f "$l.exit"; : > "$ans"; : > "$l.run"
"$@" < <(tail -f --pid=$$ "$ans") > >(tee -a "$l.stdout" "$l.run") 2> >(tee -a "$l.stderr" "$l.run" >&2)
s=$?; echo "$s" > "$l.exit"; exit $s`;

/** The join command from the cluster script's output (two lines joined), normalized to one line. */
const JOIN_LINE = `grep -A1 -F 'kubeadm join' "$1" | tr '\\n\\t' '  ' | tr -d '\\\\' | grep -oE 'kubeadm join [^ ]+ +--token +[^ ]+ +--discovery-token-ca-cert-hash +sha256:[0-9a-f]+' | tail -n 1 | tr -s ' '`;
export const JOIN_PATTERN = '^(kubeadm join \\S+ --token \\S+ --discovery-token-ca-cert-hash sha256:[0-9a-f]+)$';

/** Exit 0 when `kubectl get nodes` lists at least $1 nodes (else say how many on stderr). */
const NODES_AT_LEAST = 'out=$(kubectl get nodes --no-headers 2>&1) || { echo "kubectl: $(printf %s "$out" | tail -n 1)" >&2; exit 1; }; n=$(printf "%s\\n" "$out" | grep -c .); [ "$n" -ge "$1" ] || { echo "$n of $1 nodes listed: $(printf "%s\\n" "$out" | awk \'{printf "%s ", $1}\')" >&2; exit 1; }';

/** Exit 0 when every pod is Running or Completed; else name those that are not (stderr, one line). */
const PODS_READY = 'out=$(kubectl get pods --all-namespaces --no-headers 2>&1) || { echo "kubectl: $(printf %s "$out" | tail -n 1)" >&2; exit 1; }; [ -n "$out" ] || { echo "no pods yet" >&2; exit 1; }; bad=$(printf "%s\\n" "$out" | awk \'NF && $4 != "Running" && $4 != "Completed" {printf "%s/%s (%s) ", $1, $2, $4}\'); [ -z "$bad" ] || { echo "not Running/Completed: $bad" >&2; exit 1; }';

const ms = (d: string): number => parseDuration(d);
const master = (sys: Sys): Host => sys.roles[MASTER]![0]!;
const workers = (sys: Sys): Host[] => sys.roles[WORKER] ?? [];
const allNodes = (sys: Sys): Host[] => [...workers(sys), master(sys)];
const multi = (sys: Sys): boolean => sys.config.cluster === 'multi-node';

/** Environment for every command (config `env`), and a command wrapped with it (probes, skip checks). */
function withEnv(sys: Sys, argv: string[]): string[] {
  const env = Object.entries(sys.config.env);
  return env.length ? ['env', ...env.map(([k, v]) => `${k}=${v}`), ...argv] : argv;
}
function run(sys: Sys, argv: string[], extra: Partial<Extract<Action, { kind: 'run' }>> = {}): Action {
  return { kind: 'run', argv, ...(Object.keys(sys.config.env).length ? { env: sys.config.env } : {}), ...extra };
}
const logBase = (sys: Sys, name: string): string => `${sys.config.logDir}/${name}`;
/** A command run in the checkout, logged like the seed (`> >(tee -a …stdout) 2> >(tee -a …stderr >&2)`). */
function logged(sys: Sys, log: string, argv: string[], extra: Partial<Extract<Action, { kind: 'run' }>> = {}): Action {
  return run(sys, ['bash', '-c', LOGGED, 'bash', sys.config.repo.dir, logBase(sys, log), ...argv], extra);
}
const stampPath = (name: string): string => `.labrig/vhive/${name}.stamp`;
const stamp = (x: unknown): string => sha256(JSON.stringify(x)).slice(0, 16);

/** The mode argument of the seed's bash scripts (none for Firecracker, its default). */
function scriptModeArgs(cfg: VhiveConfig): string[] {
  return cfg.mode === 'firecracker' ? [] : [cfg.mode];
}

/** The node setup command for the layout. */
export function setupNodeArgv(cfg: VhiveConfig): string[] {
  const stargz = cfg.useStargz ? ['use-stargz'] : [];
  return cfg.layout === 'setup_tool' ? ['./setup_tool', 'setup_node', cfg.mode, ...stargz] : ['./scripts/cloudlab/setup_node.sh', ...scriptModeArgs(cfg), ...stargz];
}
export function workerKubeletArgv(cfg: VhiveConfig): string[] {
  return cfg.layout === 'setup_tool' ? ['./setup_tool', 'setup_worker_kubelet', cfg.mode] : ['./scripts/cluster/setup_worker_kubelet.sh', ...scriptModeArgs(cfg)];
}
export function clusterArgv(cfg: VhiveConfig): string[] {
  const what = cfg.cluster === 'multi-node' ? 'create_multinode_cluster' : 'create_one_node_cluster';
  return cfg.layout === 'setup_tool' ? ['./setup_tool', what, cfg.mode] : [`./scripts/cluster/${what}.sh`, ...scriptModeArgs(cfg)];
}
export function vhiveArgs(cfg: VhiveConfig): string[] {
  return [...(cfg.mode === 'gvisor' ? ['-sandbox', 'gvisor'] : []), ...(cfg.vhive.dbg ? ['-dbg'] : []), ...(cfg.vhive.snapshots ? ['-snapshots'] : []), ...(cfg.vhive.upf ? ['-upf'] : []), ...cfg.vhive.extraFlags];
}
/** Go builds: /etc/profile puts Go on PATH (install_go.sh); the PATH labrig was given stays first. */
const goBuild = (args: string[] = []): string[] => ['bash', '-c', 'p=$PATH; . /etc/profile; PATH=$p:$PATH; exec go build "$@"', 'bash', ...args];

// ---------------------------------------------------------------------------------------------
// setup

export function planSetup(sys: Sys): PlannedStep[] {
  const cfg = sys.config;
  const timeoutMs = ms(cfg.timeouts.setup);
  const nodeStamp = stamp({ mode: cfg.mode, stargz: cfg.useStargz, layout: cfg.layout, repo: cfg.repo });
  const steps: PlannedStep[] = [
    {
      name: 'clone',
      title: `clone ${cfg.repo.url}${cfg.repo.branch ? ` (${cfg.repo.branch})` : ''} into ~/${cfg.repo.dir}`,
      hosts: allNodes(sys),
      skipWhen: () => ({ kind: 'command', argv: ['test', '-d', `${cfg.repo.dir}/.git`], what: `~/${cfg.repo.dir} is a checkout` }),
      actions: () => [
        run(sys, ['git', 'clone', ...(cfg.repo.depth > 0 ? [`--depth=${cfg.repo.depth}`] : []), ...(cfg.repo.branch ? ['--branch', cfg.repo.branch] : []), cfg.repo.url, cfg.repo.dir]),
      ],
      timeoutMs,
    },
    {
      name: 'setup-node',
      title: `node setup${cfg.layout === 'scripts' ? ' and runtime scripts' : ' (setup_tool)'} (${cfg.mode}${cfg.useStargz ? ', use-stargz' : ''})`,
      hosts: allNodes(sys),
      skipWhen: () => ({ kind: 'file-equals', path: stampPath('setup-node'), content: nodeStamp }),
      actions: () => [
        run(sys, ['mkdir', '-p', cfg.logDir]),
        ...(cfg.layout === 'setup_tool'
          ? [
              logged(sys, 'install_go', ['./scripts/install_go.sh'], { check: ['test', '-x', `${cfg.repo.dir}/setup_tool`] }),
              logged(sys, 'build_setup_tool', ['bash', '-c', 'cd scripts && p=$PATH; . /etc/profile; PATH=$p:$PATH; go build -o ../setup_tool'], { check: ['test', '-x', `${cfg.repo.dir}/setup_tool`] }),
            ]
          : []),
        logged(sys, 'setup_node', setupNodeArgv(cfg)),
        ...(cfg.layout === 'scripts' ? [logged(sys, 'setup_runtime', ['./scripts/setup_runtime.sh'])] : []),
        { kind: 'write-file', path: stampPath('setup-node'), content: nodeStamp },
      ],
      timeoutMs,
    },
  ];
  if (multi(sys)) {
    const kubeletStamp = stamp({ mode: cfg.mode, layout: cfg.layout, repo: cfg.repo });
    steps.push({
      name: 'setup-worker',
      title: 'worker kubelet setup',
      hosts: workers(sys),
      skipWhen: () => ({ kind: 'file-equals', path: stampPath('setup-worker'), content: kubeletStamp }),
      actions: () => [logged(sys, 'setup_worker_kubelet', workerKubeletArgv(cfg)), { kind: 'write-file', path: stampPath('setup-worker'), content: kubeletStamp }],
      timeoutMs,
    });
  }
  return steps;
}

// ---------------------------------------------------------------------------------------------
// deploy

interface Daemon {
  step: string;
  proc: string;
  log: string;
  argv: string[];
  cwd?: string;
  ready: string;
  what: string;
}

function daemonStep(sys: Sys, d: Daemon, hosts: Host[], title: string): PlannedStep {
  const cfg = sys.config;
  const argv = ['bash', '-c', DAEMON, 'bash', logBase(sys, d.log), ...d.argv];
  const st = stamp({ argv, cwd: d.cwd });
  const probe: ReadinessProbe = { log: d.ready, file: `${logBase(sys, d.log)}.run` };
  return {
    name: d.step,
    title,
    hosts,
    skipWhen: () => ({ kind: 'running', name: d.proc, stamp: st }),
    actions: () => [
      {
        kind: 'start',
        spec: { name: d.proc, argv, ...(d.cwd ? { cwd: d.cwd } : {}), ...(Object.keys(cfg.env).length ? { env: cfg.env } : {}), stamp: st },
        probe,
        timeoutMs: ms(cfg.timeouts.daemon),
        what: d.what,
      },
      { kind: 'process-status', name: d.proc },
    ],
  };
}

/** The daemons every worker runs (the master runs containerd only), in the seed's order. */
function workerDaemons(sys: Sys): PlannedStep[] {
  const cfg = sys.config;
  const nodes = multi(sys) ? workers(sys) : [master(sys)];
  const steps: PlannedStep[] = [
    daemonStep(sys, { step: 'containerd', proc: PROC.containerd, log: 'containerd', argv: cfg.daemons.containerd, ready: cfg.daemons.ready, what: 'containerd' }, allNodes(sys), 'start containerd on every node (session vhive-containerd)'),
  ];
  if (cfg.mode === 'stock-only') return steps;
  const sandbox = cfg.mode === 'firecracker' ? { step: 'firecracker', proc: PROC.firecracker, log: 'firecracker', argv: cfg.daemons.firecracker } : { step: 'gvisor', proc: PROC.gvisor, log: 'gvisor', argv: cfg.daemons.gvisor };
  steps.push(daemonStep(sys, { ...sandbox, ready: cfg.daemons.ready, what: sandbox.argv[0]!.split('/').pop()! }, nodes, `start ${sandbox.argv[0]!.split('/').pop()} (session ${sandbox.proc})`));
  steps.push({
    name: 'vhive-build',
    title: 'build the vhive host orchestrator (go build)',
    hosts: nodes,
    skipWhen: () => ({ kind: 'command', argv: ['test', '-x', `${cfg.repo.dir}/vhive`], what: 'the vhive binary is built' }),
    actions: () => [logged(sys, 'vhive_build', goBuild())],
    timeoutMs: ms(cfg.timeouts.setup),
  });
  steps.push(daemonStep(sys, { step: 'vhive', proc: PROC.vhive, log: 'vhive', argv: ['./vhive', ...vhiveArgs(cfg)], cwd: cfg.repo.dir, ready: cfg.vhive.ready, what: 'vhive' }, nodes, `start vhive ${vhiveArgs(cfg).join(' ')}`.trim() + ` (session ${PROC.vhive})`));
  return steps;
}

const clusterExists = (sys: Sys): SkipWhen => ({ kind: 'command', argv: withEnv(sys, ['kubectl', 'get', 'nodes']), what: 'a cluster answers `kubectl get nodes`' });

/** The kubeadm join argv from the captured line (a dry run shows the placeholder). */
export function joinArgv(line: string): string[] {
  const m = /^kubeadm join (\S+) --token (\S+) --discovery-token-ca-cert-hash (sha256:[0-9a-f]+)$/.exec(line);
  return m ? ['sudo', 'kubeadm', 'join', m[1]!, '--token', m[2]!, '--discovery-token-ca-cert-hash', m[3]!] : ['sudo', 'kubeadm', 'join', line];
}

/** Workers whose `joined` check passed in this run (all of them in a dry run). */
function joinedWorkers(sys: Sys, outputs: StepOutputs): Host[] {
  return workers(sys).filter((w) => {
    try {
      outputs.get('joined', w.name, 'joined');
      return true;
    } catch {
      return false;
    }
  });
}

function podsStep(sys: Sys): PlannedStep {
  const argv = withEnv(sys, ['sh', '-c', PODS_READY, 'sh']);
  return {
    name: 'pods',
    title: 'wait until every pod is Running or Completed',
    hosts: [master(sys)],
    skipWhen: () => ({ kind: 'command', argv, what: 'every pod is Running or Completed' }),
    actions: () => [{ kind: 'wait', probe: { command: argv }, timeoutMs: ms(sys.config.timeouts.pods), what: 'all pods Running/Completed (kubectl get pods --all-namespaces)', intervalMs: 1000 }],
  };
}

export function planDeploy(sys: Sys): PlannedStep[] {
  const cfg = sys.config;
  const m = master(sys);
  const steps = workerDaemons(sys);
  if (!multi(sys)) {
    steps.push({
      name: 'cluster',
      title: `create the one-node cluster (${clusterArgv(cfg).join(' ')})`,
      hosts: [m],
      skipWhen: () => clusterExists(sys),
      actions: () => [logged(sys, 'create_one_node_cluster', clusterArgv(cfg))],
      timeoutMs: ms(cfg.timeouts.script),
    });
    steps.push(podsStep(sys));
    return steps;
  }
  const log = logBase(sys, 'create_multinode_cluster');
  const answer = `${log}.answer`;
  const nodes = 1 + workers(sys).length;
  steps.push({
    name: 'cluster',
    title: `start ${clusterArgv(cfg).join(' ')} (stdin held open; session ${PROC.cluster}); ready when it prints the join command`,
    hosts: [m],
    skipWhen: () => clusterExists(sys),
    actions: () => [
      {
        kind: 'start',
        spec: {
          name: PROC.cluster,
          argv: ['bash', '-c', CLUSTER, 'bash', cfg.repo.dir, log, answer, ...clusterArgv(cfg)],
          ...(Object.keys(cfg.env).length ? { env: cfg.env } : {}),
          stamp: stamp({ cluster: clusterArgv(cfg) }),
        },
        probe: { command: ['grep', '-qE', 'discovery-token-ca-cert-hash +sha256:[0-9a-f]{64}', `${log}.run`] },
        timeoutMs: ms(cfg.timeouts.joinCommand),
        what: 'the cluster script (kubeadm join command)',
      },
    ],
  });
  steps.push({
    name: 'join-command',
    title: 'capture the kubeadm join command from the cluster script',
    hosts: [m],
    skipWhen: () => ({ kind: 'command', argv: withEnv(sys, ['sh', '-c', NODES_AT_LEAST, 'sh', String(nodes)]), what: `kubectl get nodes lists all ${nodes} nodes` }),
    actions: () => [
      run(sys, ['sh', '-c', JOIN_LINE, 'sh', `${log}.run`], { capture: { name: 'token', pattern: '--token (\\S+)', secret: true } }),
      run(sys, ['sh', '-c', JOIN_LINE, 'sh', `${log}.run`], { capture: { name: 'join', pattern: JOIN_PATTERN } }),
    ],
  });
  steps.push({
    name: 'join',
    title: 'join each worker (sudo kubeadm join …)',
    hosts: workers(sys),
    skipWhen: () => ({ kind: 'command', argv: withEnv(sys, ['sudo', 'test', '-f', cfg.kubeletConf]), what: `the worker has joined (${cfg.kubeletConf} exists)` }),
    actions: (_h, out) => [logged(sys, 'kubeadm_join', joinArgv(out.get('join-command', m.name, 'join')), { capture: { name: 'joined', pattern: '(This node has joined the cluster)' } })],
  });
  steps.push({
    name: 'joined',
    title: 'check each worker has joined',
    hosts: workers(sys),
    actions: () => [
      run(sys, ['sh', '-c', 'sudo test -f "$1" && echo joined || { echo "not joined: $1 is missing" >&2; exit 1; }', 'sh', cfg.kubeletConf], { capture: { name: 'joined' } }),
    ],
  });
  const finished: SkipWhen = { kind: 'command', argv: ['grep', '-qx', '0', `${log}.exit`], what: 'the cluster script has finished successfully' };
  steps.push({
    name: 'nodes',
    title: 'wait until kubectl get nodes lists the master and every joined worker',
    hosts: [m],
    skipWhen: () => finished,
    actions: (_h, out) => {
      const n = 1 + joinedWorkers(sys, out).length;
      return [{ kind: 'wait', probe: { command: withEnv(sys, ['sh', '-c', NODES_AT_LEAST, 'sh', String(n)]) }, timeoutMs: ms(cfg.timeouts.nodes), what: `${n} nodes in kubectl get nodes`, intervalMs: 500 }];
    },
  });
  steps.push({
    name: 'answer',
    title: 'answer y to the cluster script and wait until it finishes',
    hosts: [m],
    skipWhen: () => finished,
    actions: () => [
      run(sys, ['sh', '-c', 'printf "y\\n" >> "$1"', 'sh', answer]),
      { kind: 'wait', probe: { file: `${log}.exit` }, timeoutMs: ms(cfg.timeouts.script), what: 'the cluster script to finish' },
      run(sys, ['sh', '-c', 's=$(cat "$1.exit"); [ "$s" = 0 ] && exit 0; echo "the cluster script exited with $s; its last output:" >&2; tail -n 20 "$1.run" >&2; exit 1', 'sh', log]),
    ],
    timeoutMs: ms(cfg.timeouts.script) + 60_000,
  });
  steps.push(podsStep(sys));
  return steps;
}

// ---------------------------------------------------------------------------------------------
// status, stop, teardown

export function planStatus(sys: Sys): PlannedStep[] {
  const procs = (h: Host): string[] => {
    const isWorker = !multi(sys) || h.name !== master(sys).name;
    const sandbox = sys.config.mode === 'firecracker' ? [PROC.firecracker, PROC.vhive] : sys.config.mode === 'gvisor' ? [PROC.gvisor, PROC.vhive] : [];
    return [PROC.containerd, ...(isWorker ? sandbox : [])];
  };
  return [
    { name: 'processes', title: 'the daemons are running', hosts: allNodes(sys), actions: (h) => procs(h).map((name): Action => ({ kind: 'process-status', name })) },
    { name: 'nodes', title: 'kubectl get nodes', hosts: [master(sys)], actions: () => [run(sys, ['kubectl', 'get', 'nodes', '-o', 'wide'])] },
  ];
}

/** stop: the cluster script and the daemons (in reverse start order) on every node; stopping what is not running is a no-op, so a re-run is safe. */
export function planStop(sys: Sys): PlannedStep[] {
  return [
    {
      name: 'stop',
      title: 'stop the cluster script and the daemons',
      hosts: [master(sys), ...workers(sys)],
      actions: () => [PROC.cluster, PROC.vhive, PROC.firecracker, PROC.gvisor, PROC.containerd].map((name): Action => ({ kind: 'stop', name })),
    },
  ];
}

export function planTeardown(sys: Sys): PlannedStep[] {
  const cfg = sys.config;
  const log = logBase(sys, 'create_multinode_cluster');
  return [
    ...planStop(sys),
    {
      name: 'clean',
      title: 'run the clean script on every node',
      hosts: [master(sys), ...workers(sys)],
      actions: () => [logged(sys, 'clean_cri_runner', ['./scripts/github_runner/clean_cri_runner.sh']), run(sys, ['rm', '-f', `${log}.answer`, `${log}.exit`, `${log}.run`])],
      timeoutMs: ms(cfg.timeouts.setup),
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// functions

export interface FunctionSpec {
  name: string;
  file: string;
  count?: number;
  eventing?: boolean;
}

/** Service names the deployer makes: <name>-<i> for each of count (eventing functions cannot be deployed by it). */
export function serviceNames(fns: FunctionSpec[]): { name: string; file: string }[] {
  return fns.filter((f) => !f.eventing).flatMap((f) => Array.from({ length: f.count ?? 1 }, (_, i) => ({ name: `${f.name}-${i}`, file: f.file })));
}

const ENDPOINTS = `out=$1; shift; { printf '['; sep=''; for n in "$@"; do u=$(kn service describe "$n" -o url) || exit 1; h=\${u#*://}; printf '%s{"hostname": "%s", "eventing": false, "matchers": {}}' "$sep" "$h"; sep=', '; done; printf ']\\n'; } > "$out.tmp" && mv "$out.tmp" "$out" && cat "$out"`;

export function planFunctionsDeploy(sys: Sys, fns: FunctionSpec[]): PlannedStep[] {
  const cfg = sys.config;
  const services = serviceNames(fns);
  return [
    {
      name: 'functions',
      title: `deploy ${services.length} function instance${services.length === 1 ? '' : 's'} (kn service apply)`,
      hosts: [master(sys)],
      actions: () => [
        ...services.map((s) => logged(sys, 'deployer', ['kn', 'service', 'apply', s.name, '-f', s.file, '--concurrency-target', '1'])),
        logged(sys, 'deployer', ['sh', '-c', ENDPOINTS, 'sh', cfg.functions.endpoints, ...services.map((s) => s.name)]),
      ],
    },
  ];
}

export function planFunctionsDelete(sys: Sys): PlannedStep[] {
  return [{ name: 'functions-delete', title: 'delete all deployed functions (kn service delete --all)', hosts: [master(sys)], actions: () => [run(sys, ['kn', 'service', 'delete', '--all'])] }];
}

/** The remote run folder of an invocation (relative to the home). */
/** $1 run folder, $2 invoker, $3 endpoints file (relative paths: to the home), then its flags; runs in the run folder. */
const INVOKE = 'd=$1; inv=$2; ep=$3; shift 3; case $inv in /*) ;; *) inv=$HOME/$inv ;; esac; case $ep in /*) ;; *) ep=$HOME/$ep ;; esac; cd "$d" && exec "$inv" -endpointsFile "$ep" "$@"';

export const remoteRunDir = (runId: string): string => `.labrig/vhive/runs/${runId}`;

export function planInvoke(sys: Sys, o: { rps: number; duration: number; runId: string }): PlannedStep[] {
  const cfg = sys.config;
  const dir = remoteRunDir(o.runId);
  const invoker = `${cfg.functions.invoker}/${cfg.functions.invoker.split('/').pop()}`;
  const endpoints = cfg.repo.dir.startsWith('/') || cfg.functions.endpoints.startsWith('/') ? cfg.functions.endpoints : `${cfg.repo.dir}/${cfg.functions.endpoints}`;
  return [
    {
      name: 'invoker-build',
      title: 'build the invoker (go build)',
      hosts: [master(sys)],
      skipWhen: () => ({ kind: 'command', argv: ['test', '-x', `${cfg.repo.dir}/${invoker}`], what: 'the invoker is built' }),
      actions: () => [logged(sys, 'invoker_build', ['bash', '-c', 'cd "$0" && p=$PATH; . /etc/profile; PATH=$p:$PATH; exec go build', cfg.functions.invoker])],
    },
    {
      name: 'invoke',
      title: `invoke the functions at ${o.rps} RPS for ${o.duration} s`,
      hosts: [master(sys)],
      actions: () => [
        run(sys, ['mkdir', '-p', dir]),
        run(sys, ['sh', '-c', INVOKE, 'sh', dir, `${cfg.repo.dir}/${invoker}`, endpoints, '-rps', String(o.rps), '-time', String(o.duration), '-latf', 'lat.csv']),
        run(sys, ['sh', '-c', 'cd "$1" && ls -1 -- *lat.csv', 'sh', dir], { capture: { name: 'files' } }),
      ],
      timeoutMs: (o.duration + 300) * 1000,
    },
  ];
}

