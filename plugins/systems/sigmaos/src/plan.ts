/**
 * SigmaOS plans (steps × hosts × actions): what setup, deploy, stop, status and bench do on the
 * hosts, as data. `--dry-run` prints them; otherwise system-kit's engine runs them.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Host } from '@labrig/core';
import { ConfigError, parseDuration } from '@labrig/core';
import { sha256, type Action, type CodeSystemContext, type PlannedStep, type SkipWhen } from '@labrig/system-kit';
import { clusterAddress, inRepo, kernelId, localPath, withEnv, type SigmaosConfig } from './config.js';

type Sys = CodeSystemContext<SigmaosConfig>;

/** Options the host targets share. */
export interface ClusterOptions {
  n?: number;
  tag?: string;
  branch?: string;
}

export const STAMP_FILE = '.labrig/sigmaos/setup.stamp';
export const LIMITS_FILE = '/etc/security/limits.d/90-sigmaos.conf';
export const SWAP_FILE = '/etc/sysctl.d/90-sigmaos-swap.conf';
export const KERNEL_PROC = 'sigmaos-kernel';
export const SWARM_PORT = 2377;

/** The login user (`*`: every user, when the platform does not say). */
const userOf = (h: Host): string => h.user ?? '*';

const sh = (cfg: SigmaosConfig, script: string, ...args: string[]): string[] => withEnv(cfg, ['sh', '-c', script, 'sh', ...args]);

/** The tag and branch in force (CLI options override the system file). */
export function effective(cfg: SigmaosConfig, o: ClusterOptions): SigmaosConfig {
  return { ...cfg, tag: o.tag ?? cfg.tag, branch: o.branch ?? cfg.branch };
}

// --- setup ----------------------------------------------------------------------------------

export function limitsContent(cfg: SigmaosConfig, user: string): string {
  const users = [...new Set(['root', user])];
  return `# written by labrig (sigmaos setup)\n${users.flatMap((u) => [`${u} soft nofile ${cfg.nofile}`, `${u} hard nofile ${cfg.nofile}`]).join('\n')}\n`;
}
export const SWAP_CONTENT = '# written by labrig (sigmaos setup)\nvm.swappiness = 0\n';

interface Credential {
  remote: string;
  local: string;
  sha256: string;
}

/** Local credential files (their digests only: the content never enters a plan, log or cache). */
export function credentials(sys: Sys): Credential[] {
  return Object.entries(sys.config.credentials)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([remote, local]) => {
      const path = localPath(local, sys.root);
      if (!existsSync(path)) {
        throw new ConfigError(sys.file, `credentials."${remote}"`, `${local} does not exist on this machine`, {
          hint: "Install the AWS and Docker credentials first (SigmaOS's ./install-cred.sh), or point the entry at where they are.",
        });
      }
      return { remote, local: path, sha256: sha256(readFileSync(path)) };
    });
}

/** Write a root-owned file through sudo unless it already holds exactly this content (never appends). */
function sudoWrite(cfg: SigmaosConfig, path: string, content: string): Action {
  return {
    kind: 'run',
    argv: withEnv(cfg, ['sudo', 'tee', path]),
    stdin: content,
    check: sh(cfg, '[ "$(sudo cat "$1" 2>/dev/null)" = "$2" ]', path, content.replace(/\n$/, '')),
  };
}

export function setupPlan(sys: Sys, hosts: Host[], o: ClusterOptions): PlannedStep[] {
  const cfg = effective(sys.config, o);
  const creds = credentials(sys);
  const dirs = [...new Set(creds.map((c) => c.remote.split('/').slice(0, -1).join('/')).filter(Boolean))];
  const stampOf = (h: Host) =>
    sha256(JSON.stringify({ packages: cfg.packages, nofile: cfg.nofile, swap: cfg.swap, user: userOf(h), limits: limitsContent(cfg, userOf(h)), env: cfg.env }));
  const stamped = (h: Host): SkipWhen => ({ kind: 'file-equals', path: STAMP_FILE, content: stampOf(h) });
  const steps: PlannedStep[] = [
    {
      name: 'cloud-init',
      title: 'wait until cloud-init is done (where there is one)',
      hosts,
      skipWhen: stamped,
      actions: () => [{ kind: 'run', argv: sh(cfg, 'if command -v cloud-init >/dev/null 2>&1; then cloud-init status --wait; else echo "no cloud-init"; fi') }],
    },
    {
      name: 'packages',
      title: 'install packages; the login user joins the docker group',
      hosts,
      skipWhen: stamped,
      actions: () => [
        {
          kind: 'run',
          argv: sh(cfg, 'sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"', ...cfg.packages),
          check: sh(cfg, '[ "$(dpkg-query -W -f \'${Status}\\n\' "$@" 2>/dev/null | grep -c "install ok installed")" -eq "$#" ]', ...cfg.packages),
        },
        { kind: 'run', argv: sh(cfg, 'sudo usermod -aG docker "$(id -un)"'), check: sh(cfg, 'id -nG "$(id -un)" | tr " " "\\n" | grep -qx docker') },
      ],
    },
    {
      name: 'repo',
      title: `clone or update ${cfg.repo.dir} at ${cfg.branch}`,
      hosts,
      skipWhen: () => ({
        kind: 'command',
        what: `${cfg.repo.dir} is at the head of ${cfg.branch}`,
        argv: sh(
          cfg,
          'cd "$1" 2>/dev/null && [ "$(git rev-parse --abbrev-ref HEAD)" = "$2" ] && [ "$(git rev-parse HEAD)" = "$(git ls-remote origin "refs/heads/$2" | cut -f1)" ]',
          cfg.repo.dir,
          cfg.branch,
        ),
      }),
      actions: () => [
        {
          kind: 'run',
          argv: sh(
            cfg,
            'if [ -d "$2/.git" ]; then cd "$2" && git fetch -q origin && git checkout -q "$3" && git pull -q --ff-only origin "$3"; else git clone -q --branch "$3" "$1" "$2"; fi',
            cfg.repo.url,
            cfg.repo.dir,
            cfg.branch,
          ),
        },
      ],
    },
    {
      name: 'credentials',
      title: 'copy the AWS and Docker credentials (mode 0600)',
      hosts,
      skipWhen: () => ({ kind: 'files-match', files: creds.map((c) => ({ path: c.remote, sha256: c.sha256 })) }),
      actions: () => [
        ...(dirs.length ? [{ kind: 'run' as const, argv: withEnv(cfg, ['mkdir', '-p', '-m', '700', ...dirs]) }] : []),
        ...creds.map((c): Action => ({ kind: 'put', name: c.remote, local: c.local, remote: c.remote, sha256: c.sha256, mode: 0o600 })),
      ],
    },
    {
      name: 'limits',
      title: `open-file limit ${cfg.nofile}${cfg.swap === 'off' ? ', swap off' : ''} (files written once)`,
      hosts,
      skipWhen: stamped,
      actions: (h) => [
        sudoWrite(cfg, LIMITS_FILE, limitsContent(cfg, userOf(h))),
        ...(cfg.swap === 'off'
          ? [
              sudoWrite(cfg, SWAP_FILE, SWAP_CONTENT),
              { kind: 'run' as const, argv: withEnv(cfg, ['sudo', 'swapoff', '-a']), check: sh(cfg, '[ "$(wc -l < /proc/swaps)" -le 1 ]') },
            ]
          : []),
      ],
    },
    {
      name: 'stamp',
      title: 'record that setup is done',
      hosts,
      skipWhen: stamped,
      actions: (h) => [{ kind: 'write-file', path: STAMP_FILE, content: stampOf(h) }],
    },
  ];
  return steps;
}

// --- deploy ---------------------------------------------------------------------------------

/** Exits 0 when a container with exactly this name runs. */
const running = (cfg: SigmaosConfig, ...names: string[]): string[] =>
  sh(cfg, 'names=$(docker ps --format "{{.Names}}") || exit 1; for n in "$@"; do printf "%s\\n" "$names" | grep -qx "$n" || exit 1; done', ...names);

export function kernelArgs(cfg: SigmaosConfig, boot: 'realm' | 'node', leader: Host, h: Host): string[] {
  const ip = clusterAddress(leader);
  return [
    './start-kernel.sh',
    '--boot',
    boot,
    '--named',
    ip,
    '--pull',
    cfg.tag,
    ...(boot === 'realm' ? ['--reserveMcpu', String(cfg.kernel.reserveMcpu)] : []),
    '--dbip',
    `${ip}:4406`,
    '--mongoip',
    `${ip}:4407`,
    ...(cfg.kernel.overlays ? ['--overlays'] : []),
    ...(cfg.kernel.netproxy ? ['--usenetproxy'] : []),
    kernelId(h),
  ];
}

/** Start the kernel: cores, a clean ready file, start-kernel.sh detached, then wait for the ready file. */
function kernelActions(cfg: SigmaosConfig, boot: 'realm' | 'node', leader: Host, h: Host): Action[] {
  const id = kernelId(h);
  const ready = `${cfg.kernel.readyDir}/${id}`;
  const argv = kernelArgs(cfg, boot, leader, h);
  return [
    {
      kind: 'run',
      argv: inRepo(
        cfg,
        'n=$(nproc --all); last=$((n-1)); ./set-cores.sh --set 1 --start 1 --end "$last" >/dev/null && if [ "$1" -lt "$n" ]; then ./set-cores.sh --set 0 --start "$1" --end "$last" >/dev/null; fi',
        String(cfg.ncores),
      ),
    },
    { kind: 'run', argv: withEnv(cfg, ['sh', '-c', 'mkdir -p "$1" && rm -f "$1/$2"', 'sh', cfg.kernel.readyDir, id]) },
    { kind: 'start', spec: { name: KERNEL_PROC, argv, cwd: cfg.repo.dir, env: cfg.env, stamp: sha256(argv.join('\0')) }, timeoutMs: 60_000, what: `kernel ${id}` },
    {
      kind: 'wait',
      // start-kernel.sh deletes the ready file as soon as it sees it, then prints "booted:": either counts.
      probe: {
        command: [
          'sh',
          '-c',
          'test -e "$1" || awk \'/^=== .* start: /{b=0} /^booted:/{b=1} END{exit !b}\' "$HOME/.labrig/procs/$2/log" 2>/dev/null',
          'sh',
          ready,
          KERNEL_PROC,
        ],
      },
      timeoutMs: parseDuration(cfg.kernel.readyTimeout),
      what: `kernel ${id} (ready file ${ready})`,
    },
  ];
}

export function deployPlan(sys: Sys, hosts: Host[], o: ClusterOptions): PlannedStep[] {
  const cfg = effective(sys.config, o);
  const leader = hosts[0]!;
  const followers = hosts.slice(1);
  const ip = clusterAddress(leader);
  const kernelRuns = (h: Host): SkipWhen => ({ kind: 'command', what: `kernel ${kernelId(h)} runs`, argv: running(cfg, kernelId(h)) });
  const swarmState = (want: string) => sh(cfg, '[ "$(docker info --format "{{.Swarm.LocalNodeState}}")" = "$1" ]', want);
  const steps: PlannedStep[] = [
    {
      name: 'leader:db',
      title: 'databases on the leader (mariadb, mongo)',
      hosts: [leader],
      skipWhen: () => ({ kind: 'command', what: 'sigmadb and sigmamongo run', argv: running(cfg, 'sigmadb', 'sigmamongo') }),
      actions: () => [{ kind: 'run', argv: inRepo(cfg, './start-db.sh') }],
    },
    {
      name: 'leader:swarm',
      title: `docker swarm init on the leader (advertise ${ip})`,
      hosts: [leader],
      skipWhen: () => ({ kind: 'command', what: 'the leader is a swarm manager', argv: sh(cfg, '[ "$(docker info --format "{{.Swarm.ControlAvailable}}")" = true ]') }),
      actions: () => [{ kind: 'run', argv: withEnv(cfg, ['docker', 'swarm', 'init', '--advertise-addr', ip]), secretOutput: true }], // it prints the join token
    },
    {
      name: 'leader:network',
      title: `overlay network ${cfg.network}`,
      hosts: [leader],
      skipWhen: () => ({ kind: 'command', what: `network ${cfg.network} exists`, argv: withEnv(cfg, ['docker', 'network', 'inspect', cfg.network]) }),
      actions: () => [{ kind: 'run', argv: withEnv(cfg, ['docker', 'network', 'create', '--driver', 'overlay', '--attachable', cfg.network]) }],
    },
    {
      name: 'leader:etcd',
      title: 'etcd on the leader',
      hosts: [leader],
      skipWhen: () => ({ kind: 'command', what: 'etcd runs', argv: running(cfg, 'etcd-server') }),
      actions: () => [{ kind: 'run', argv: inRepo(cfg, './start-etcd.sh') }],
    },
    {
      name: 'leader:kernel',
      title: `kernel on the leader (--boot realm --named ${ip} --pull ${cfg.tag})`,
      hosts: [leader],
      skipWhen: kernelRuns,
      actions: (h) => kernelActions(cfg, 'realm', leader, h),
    },
  ];
  if (followers.length === 0) return steps;
  steps.push(
    {
      name: 'leader:join-token',
      title: 'the swarm join token of the leader',
      hosts: [leader],
      actions: () => [{ kind: 'run', argv: withEnv(cfg, ['docker', 'swarm', 'join-token', '-q', 'worker']), capture: { name: 'token', pattern: '(SWMTKN-\\S+)', secret: true } }],
    },
    {
      name: 'followers:join',
      title: `followers join the swarm at ${ip}:${SWARM_PORT}`,
      hosts: followers,
      skipWhen: () => ({ kind: 'command', what: 'the host is in a swarm', argv: swarmState('active') }),
      actions: (_h, out) => [{ kind: 'run', argv: withEnv(cfg, ['docker', 'swarm', 'join', '--token', out.get('leader:join-token', leader.name, 'token'), `${ip}:${SWARM_PORT}`]) }],
    },
    {
      name: 'followers:kernel',
      title: `kernels on the followers (--boot node --pull ${cfg.tag})`,
      hosts: followers,
      skipWhen: kernelRuns,
      actions: (h) => kernelActions(cfg, 'node', leader, h),
    },
  );
  return steps;
}

// --- stop, status ---------------------------------------------------------------------------

export function stopPlan(sys: Sys, hosts: Host[]): PlannedStep[] {
  const cfg = sys.config;
  return [
    {
      name: 'stop',
      title: 'stop the kernel and etcd; clean up',
      hosts,
      actions: () => [
        { kind: 'stop', name: KERNEL_PROC },
        { kind: 'run', argv: inRepo(cfg, 'if [ -x ./stop.sh ]; then ./stop.sh; fi; if [ -x ./stop-etcd.sh ]; then ./stop-etcd.sh; fi') },
        // As theirs: leftovers of another user's run (shared /tmp) do not fail the stop.
        { kind: 'run', argv: sh(cfg, 'rm -rf -- "$@" 2>/dev/null; exit 0', cfg.bench.perfDir, cfg.bench.output, benchTarball(cfg), '/tmp/start.out') },
        { kind: 'run', argv: withEnv(cfg, ['docker', 'system', 'prune', '-f']) },
        { kind: 'run', argv: withEnv(cfg, ['docker', 'volume', 'prune', '-f']) },
      ],
    },
    {
      name: 'swarm-leave',
      title: 'leave the swarm',
      hosts,
      skipWhen: () => ({ kind: 'command', what: 'the host is in no swarm', argv: sh(cfg, '[ "$(docker info --format "{{.Swarm.LocalNodeState}}")" = inactive ]') }),
      actions: () => [{ kind: 'run', argv: withEnv(cfg, ['docker', 'swarm', 'leave', '--force']) }],
    },
  ];
}

export function statusPlan(sys: Sys, hosts: Host[]): PlannedStep[] {
  const cfg = sys.config;
  return [
    {
      name: 'status',
      title: 'containers and swarm state per host',
      hosts,
      actions: () => [
        { kind: 'run', argv: sh(cfg, 'echo "swarm: $(docker info --format "{{.Swarm.LocalNodeState}}")"; docker ps --format "{{.Names}}\\t{{.Image}}\\t{{.Status}}"') },
      ],
    },
  ];
}

// --- bench ----------------------------------------------------------------------------------

export const benchTarball = (cfg: SigmaosConfig): string => `${cfg.bench.output}.perf.tar.gz`;

export function benchPlan(sys: Sys, host: Host, cmd: string): PlannedStep[] {
  const cfg = sys.config;
  return [
    {
      name: 'bench',
      title: `benchmark on ${host.name} (output ${cfg.bench.output})`,
      hosts: [host],
      actions: () => [
        { kind: 'run', argv: withEnv(cfg, ['rm', '-f', '--', cfg.bench.output, benchTarball(cfg)]) },
        { kind: 'run', argv: withEnv(cfg, ['bash', '-c', 'cd "$1" && { eval "$2"; } > "$3" 2>&1', 'bash', cfg.repo.dir, cmd, cfg.bench.output]) },
        { kind: 'run', argv: withEnv(cfg, ['sh', '-c', 'mkdir -p "$1" && tar -czf "$2" -C "$1" .', 'sh', cfg.bench.perfDir, benchTarball(cfg)]) },
      ],
    },
  ];
}
