/**
 * The CFiddle cluster's procedure on an SSH cluster (seeds/cfiddle-cluster.md, NVSL/cfiddle-cluster's
 * build_cluster.sh) as idempotent steps. Their script cannot run twice (swarm init, useradd and the
 * exports lines fail or duplicate): here every step that changes a host is skipped where its work is
 * done (a swarm manager already, a member already, a user that exists, an exports line that is
 * there, a munge key that is there, images and a stack that are current).
 */
import type { Host } from '@labrig/core';
import { parseDuration } from '@labrig/core';
import { sha256, type Action, type PlannedStep, type SkipWhen } from '@labrig/system-kit';
import { IMAGES, type CfiddleConfig } from './config.js';
import { EXPORTS_MARK, OVERRIDE_FILE, headAddress, helpers, imageRepo, jupyterToken, labelsStamp, overrideCompose, stackStamp, type Sys } from './common.js';
interface ClusterPlanInput {
  head: Host;
  workers: Host[];
  repo: string;
  token: string;
}

async function clusterInput(sys: Sys, dryRun: boolean | undefined, needRegistry: boolean, needToken: boolean): Promise<ClusterPlanInput> {
  const head = sys.roles['head']![0]!;
  const workers = sys.roles['worker'] ?? [];
  return { head, workers, repo: needRegistry ? await imageRepo(sys) : '', token: needToken ? jupyterToken(sys, dryRun) : '' };
}

function dockerSteps(sys: Sys, { head, workers }: ClusterPlanInput): PlannedStep[] {
  const cfg = sys.config;
  const { priv, run, skipCmd } = helpers(cfg);
  const all = [head, ...workers];
  return [
    {
      name: 'reachable',
      title: 'every node answers over SSH',
      hosts: all,
      actions: () => [run(['uname', '-n'])],
    },
    {
      name: 'docker',
      title: 'docker installed on every node',
      hosts: all,
      skipWhen: () => skipCmd(priv(['docker', 'info', '--format', '{{.ServerVersion}}']), 'docker answers'),
      actions: () => [run(priv(cfg.dockerInstall)), run(priv(['docker', 'info', '--format', '{{.ServerVersion}}']))],
    },
  ];
}

function swarmSteps(sys: Sys, { head, workers }: ClusterPlanInput): PlannedStep[] {
  const cfg = sys.config;
  const { priv, privSh, run, skipCmd } = helpers(cfg);
  const addr = headAddress(cfg, head);
  const swarmState = (want: string) => privSh('[ "$(docker info --format "{{.Swarm.$1}}")" = "$2" ]', ...want.split(' '));
  const labels = [
    { host: head.name, key: 'slurm_role', value: 'head_node' },
    ...workers.flatMap((w, i) => [
      { host: w.name, key: 'slurm_role', value: 'worker' },
      { host: w.name, key: 'cfiddle_worker', value: `c${i + 1}` },
    ]),
  ];
  return [
    {
      name: 'swarm-init',
      title: `swarm made on the head node, advertising ${addr}`,
      hosts: [head],
      skipWhen: () => skipCmd(swarmState('ControlAvailable true'), 'the head node is a swarm manager already'),
      actions: () => [run(priv(['docker', 'swarm', 'init', '--advertise-addr', addr]), { secretOutput: true })], // it prints the join token
    },
    {
      name: 'join-token',
      title: 'the swarm join token (kept secret)',
      hosts: [head],
      actions: () => [run(priv(['docker', 'swarm', 'join-token', 'worker', '-q']), { capture: { name: 'token', pattern: '(SWMTKN-\\S+)', secret: true } })],
    },
    {
      name: 'swarm-join',
      title: 'workers joined to the swarm',
      hosts: workers,
      skipWhen: () => skipCmd(swarmState('LocalNodeState active'), 'the node is a swarm member already'),
      actions: (_h, out) => [run(priv(['docker', 'swarm', 'join', '--token', out.get('join-token', head.name, 'token'), `${addr}:2377`]))],
    },
    {
      name: 'node-ids',
      title: "each node's swarm node ID",
      hosts: [head, ...workers],
      actions: () => [run(priv(['docker', 'info', '--format', '{{.Swarm.NodeID}}']), { capture: { name: 'id', pattern: '^(\\w+)\\s*$' } })],
    },
    {
      name: 'node-labels',
      title: 'nodes labelled slurm_role=head_node|worker (and cfiddle_worker=c<i>)',
      hosts: [head],
      // Skipped when the stamp names, for every host and label, a node that is ready in the swarm
      // and has that label now (a node that left or was re-made has another ID: labelled again).
      skipWhen: () =>
        skipCmd(
          privSh(
            'f=$1; shift; [ -r "$f" ] || exit 1; while [ $# -ge 3 ]; do ' +
              'id=$(awk -v h="$1" -v k="$2" -v v="$3" \'$1 == h && $3 == k && $4 == v { print $2; exit }\' "$f"); ' +
              '[ -n "$id" ] && [ "$(docker node inspect --format "{{.Status.State}}" "$id")" = ready ] && ' +
              '[ "$(docker node inspect --format "{{ index .Spec.Labels \\"$2\\" }}" "$id")" = "$3" ] || exit 1; shift 3; done',
            labelsStamp(cfg),
            ...labels.flatMap((l) => [l.host, l.key, l.value]),
          ),
          'every node has its labels (stamp and docker node inspect)',
        ),
      actions: (_h, out) => {
        const label = (id: string, key: string, value: string): Action =>
          run(priv(['docker', 'node', 'update', '--label-add', `${key}=${value}`, id]), {
            check: privSh('[ "$(docker node inspect --format "{{ index .Spec.Labels \\"$2\\" }}" "$1")" = "$3" ]', id, key, value),
          });
        const withIds = labels.map((l) => ({ ...l, id: out.get('node-ids', l.host, 'id') }));
        return [
          ...withIds.map((l) => label(l.id, l.key, l.value)),
          { kind: 'write-file', path: labelsStamp(cfg), content: withIds.map((l) => `${l.host} ${l.id} ${l.key} ${l.value}\n`).join(''), mode: 0o644 },
        ];
      },
    },
  ];
}

function userSteps(sys: Sys, { head, workers }: ClusterPlanInput): PlannedStep[] {
  const cfg = sys.config;
  const u = cfg.users;
  const { priv, run, skipCmd } = helpers(cfg);
  const exists = (name: string) => ['id', '-u', name];
  const users = [...u.test, ...(u.jovyan ? ['jovyan'] : [])];
  return [
    {
      name: 'cfiddle-user',
      title: `the ${u.cfiddle} account (uid ${u.cfiddleUid}, docker group) on the workers`,
      hosts: workers,
      skipWhen: () => skipCmd(exists(u.cfiddle), `the ${u.cfiddle} account exists`),
      actions: () => [run(priv(['useradd', '-r', '-s', '/usr/sbin/nologin', '-u', String(u.cfiddleUid), '-G', 'docker', u.cfiddle]), { check: exists(u.cfiddle) })],
    },
    {
      name: 'test-users',
      title: 'test users on the head node',
      hosts: users.length ? [head] : [],
      skipWhen: () => skipCmd(['sh', '-c', 'for u; do id -u "$u" >/dev/null 2>&1 || exit 1; done', 'sh', ...users], 'every test user exists'),
      actions: () => [
        ...u.test.map((n) => run(priv(['useradd', '-m', '-b', cfg.nfs.home, n]), { check: exists(n) })),
        ...(u.jovyan ? [run(priv(['useradd', '-m', '-b', cfg.nfs.home, '-g', '100', '-u', '1000', 'jovyan']), { check: exists('jovyan') })] : []),
      ],
    },
  ];
}

/** The lines labrig owns in the exports file. */
export function exportLines(cfg: CfiddleConfig): string[] {
  return [`${cfg.nfs.home} *(rw,no_subtree_check) ${EXPORTS_MARK}`, `${cfg.nfs.munge} *(rw,no_subtree_check,no_root_squash) ${EXPORTS_MARK}`];
}

function nfsSteps(sys: Sys, { head }: ClusterPlanInput): PlannedStep[] {
  const cfg = sys.config;
  const { priv, privSh, run, skipCmd } = helpers(cfg);
  return [
    {
      name: 'nfs-server',
      title: 'NFS server on the head node',
      hosts: [head],
      skipWhen: () => skipCmd(['sh', '-c', 'command -v exportfs'], 'exportfs is installed'),
      actions: () => [run(priv(['modprobe', 'nfs'])), run(priv(['modprobe', 'nfsd'])), run(priv(cfg.nfs.install))],
    },
    {
      name: 'nfs-exports',
      title: `${cfg.nfs.home} and ${cfg.nfs.munge} exported (each line written once)`,
      hosts: [head],
      // Done when both lines are in the file and exportfs lists both paths as exported.
      skipWhen: () =>
        skipCmd(
          privSh(
            'f=$1; [ -d "$2" ] || exit 1; shift 2; for l; do grep -qxF -- "$l" "$f" || exit 1; ' +
              'exportfs | awk -v p="${l%% *}" \'$1 == p { found = 1 } END { exit !found }\' || exit 1; done',
            cfg.nfs.exportsFile,
            cfg.nfs.munge,
            ...exportLines(cfg),
          ),
          'both lines are in the exports file and exported',
        ),
      actions: () => [
        run(priv(['mkdir', '-p', cfg.nfs.munge])),
        ...exportLines(cfg).map((line) =>
          run(privSh('printf "%s\\n" "$2" >> "$1"', cfg.nfs.exportsFile, line), { check: privSh('grep -qxF -- "$2" "$1"', cfg.nfs.exportsFile, line) }),
        ),
        run(priv(['exportfs', '-ra'])),
      ],
    },
  ];
}

function sourceStep(sys: Sys, { head }: ClusterPlanInput): PlannedStep {
  const r = sys.config.repo;
  const { run, skipCmd } = helpers(sys.config);
  const clone = (url: string, ref: string, dir: string): Action => run(['git', 'clone', '-b', ref, url, dir], { check: ['test', '-d', `${dir}/.git`] });
  return {
    name: 'sources',
    title: 'cfiddle-cluster, cfiddle and delegate-function checked out on the head node',
    hosts: [head],
    skipWhen: () => skipCmd(['sh', '-c', 'for d; do [ -d "$d/.git" ] || exit 1; done', 'sh', r.dir, `${r.dir}/cfiddle`, `${r.dir}/delegate-function`], 'the three checkouts are there'),
    actions: () => [clone(r.url, r.ref, r.dir), clone(r.cfiddleUrl, r.cfiddleRef, `${r.dir}/cfiddle`), clone(r.delegateFunctionUrl, r.delegateFunctionRef, `${r.dir}/delegate-function`)],
  };
}

/**
 * The images' steps. deploy (`converge`) skips what is there: the build when the head has the three
 * images, the push when the head's images are the ones it pushed, the pull when a worker has the
 * images from the registry. update rebuilds and redistributes them every time.
 */
function imageSteps(sys: Sys, { head, workers, repo }: ClusterPlanInput, converge: boolean): PlannedStep[] {
  const cfg = sys.config;
  const { priv, privSh, run, skipCmd } = helpers(cfg);
  const dir = cfg.repo.dir;
  const tag = cfg.images.tag;
  const m = cfg.nfs.munge;
  const keep = 'labrig-extract-munge';
  // <i>:<tag> is the image <repo>/<i>:<tag>, which has a digest from <repo> (docker push and
  // docker pull record one; a rebuilt image has another ID and none).
  const fromRegistry = privSh(
    'r=$1; t=$2; shift 2; for i; do a=$(docker image inspect --format "{{.Id}}" "$i:$t") && ' +
      'b=$(docker image inspect --format "{{.Id}} {{range .RepoDigests}}{{.}} {{end}}" "$r/$i:$t") || exit 1; ' +
      'case " $b " in " $a "*) ;; *) exit 1 ;; esac; case " $b " in *" $r/$i@sha256:"*) ;; *) exit 1 ;; esac; done',
    repo,
    tag,
    ...IMAGES,
  );
  const onlyIf = (w: () => SkipWhen) => (converge ? { skipWhen: w } : {});
  return [
    {
      name: 'images-build',
      title: `${IMAGES.join(', ')} built on the head node`,
      hosts: [head],
      ...onlyIf(() => skipCmd(privSh('docker image inspect --format "{{.Id}}" "$@" >/dev/null', ...IMAGES.map((i) => `${i}:${tag}`)), 'the head node has the images (update rebuilds them)')),
      actions: () => [
        run(priv(['docker', 'compose', '--project-directory', dir, '-f', `${dir}/${cfg.stack.composeFile}`, 'build', '--progress=plain'])),
        ...(tag === 'latest' ? [] : IMAGES.map((i) => run(priv(['docker', 'tag', `${i}:latest`, `${i}:${tag}`])))),
      ],
    },
    {
      name: 'munge-key',
      title: `the cluster's munge key kept in ${m} (exported)`,
      hosts: [head],
      skipWhen: () => skipCmd(priv(['test', '-s', `${m}/munge.key`]), 'the munge key is there'),
      actions: () => [
        run(
          privSh(
            'docker rm -f "$1" >/dev/null 2>&1; docker create --name "$1" "$2" >/dev/null && docker cp "$1:/etc/munge/munge.key" "$3/munge.key"; rc=$?; docker rm "$1" >/dev/null; exit $rc',
            keep,
            `cfiddle-cluster:${tag}`,
            m,
          ),
        ),
        run(priv(['chown', '-R', `${cfg.users.mungeUid}:${cfg.users.mungeGid}`, m])),
        run(priv(['chmod', '-R', 'go-rwx', m])),
        run(priv(['exportfs', '-ra'])),
      ],
    },
    {
      name: 'images-push',
      title: `images pushed to ${repo}`,
      hosts: [head],
      ...onlyIf(() => skipCmd(fromRegistry, `the images were pushed to ${repo}`)),
      actions: () => IMAGES.flatMap((i) => [run(priv(['docker', 'tag', `${i}:${tag}`, `${repo}/${i}:${tag}`])), run(priv(['docker', 'push', `${repo}/${i}:${tag}`]))]),
    },
    {
      name: 'images-pull',
      title: 'images pulled on the workers',
      hosts: workers,
      ...onlyIf(() => skipCmd(fromRegistry, `the node has the images from ${repo} (update pulls them again)`)),
      actions: () => IMAGES.flatMap((i) => [run(priv(['docker', 'pull', `${repo}/${i}:${tag}`])), run(priv(['docker', 'tag', `${repo}/${i}:${tag}`, `${i}:${tag}`]))]),
    },
  ];
}

function jovyanStep(sys: Sys, { head }: ClusterPlanInput): PlannedStep[] {
  const cfg = sys.config;
  if (!cfg.users.jovyan) return [];
  const { privSh, run, skipCmd, priv } = helpers(cfg);
  const home = `${cfg.nfs.home}/jovyan`;
  const stamp = `${home}/.labrig-populated`;
  return [
    {
      name: 'jovyan-home',
      title: `jovyan's home filled from the cfiddle-user image`,
      hosts: [head],
      skipWhen: () => skipCmd(priv(['test', '-e', stamp]), 'it was filled before'),
      actions: () => [
        run(
          privSh(
            'docker rm -f "$1" >/dev/null 2>&1; docker create --name "$1" "$2" >/dev/null && docker cp "$1:/home/jovyan" "$3/"; rc=$?; docker rm "$1" >/dev/null; [ $rc = 0 ] && chown -R jovyan "$4" && touch "$5"',
            'labrig-extract-jovyan',
            `cfiddle-user:${cfg.images.tag}`,
            cfg.nfs.home,
            home,
            stamp,
          ),
        ),
      ],
    },
  ];
}

function stackSteps(sys: Sys, { head, workers, token }: ClusterPlanInput): PlannedStep[] {
  const cfg = sys.config;
  const { priv, privSh, run, skipCmd } = helpers(cfg);
  const dir = cfg.repo.dir;
  const override = overrideCompose(cfg, workers.length);
  // What the running stack was deployed with (the token only as its hash).
  const stamp = [
    `stack=${cfg.stack.name}`,
    `compose=${dir}/${cfg.stack.composeFile}`,
    `override=sha256:${sha256(override)}`,
    `HEAD_ADDR=${headAddress(cfg, head)}`,
    `JUPYTER_TOKEN=sha256:${sha256(token)}`,
  ].join(' ');
  return [
    {
      name: 'stack-deploy',
      title: `the ${cfg.stack.name} stack deployed`,
      hosts: [head],
      skipWhen: () =>
        skipCmd(
          privSh('docker stack ls --format "{{.Name}}" | grep -qxF -- "$1" && [ "$(cat "$2" 2>/dev/null)" = "$3" ]', cfg.stack.name, stackStamp(cfg), stamp),
          'the stack runs, deployed with this configuration (stamp)',
        ),
      actions: () => [
        { kind: 'write-file', path: `${dir}/${OVERRIDE_FILE}`, content: override, mode: 0o644 },
        run(priv(['docker', 'stack', 'deploy', '-c', `${dir}/${cfg.stack.composeFile}`, '-c', `${dir}/${OVERRIDE_FILE}`, cfg.stack.name], ['HEAD_ADDR', 'JUPYTER_TOKEN']), {
          env: { HEAD_ADDR: headAddress(cfg, head), JUPYTER_TOKEN: token },
        }),
        { kind: 'write-file', path: stackStamp(cfg), content: `${stamp}\n`, mode: 0o644 },
      ],
    },
    ...healthSteps(sys, head),
  ];
}

/** Every service of the stack n/n, then sinfo answers in the userhost and a test job runs. */
export function healthSteps(sys: Sys, head: Host): PlannedStep[] {
  const cfg = sys.config;
  const { withEnv, privSh, run } = helpers(cfg);
  const stack = cfg.stack.name;
  const allUp = privSh(
    'out=$(docker service ls --filter "label=com.docker.stack.namespace=$1" --format "{{.Name}} {{.Replicas}}") || exit 1; [ -n "$out" ] || exit 1; printf "%s\\n" "$out" | awk \'{ split($2, r, "/"); if (r[1] != r[2]) bad = 1 } END { exit bad }\'',
    stack,
  );
  const inUserhost = (cmd: string) => privSh(`c=$(docker ps -q --filter "name=$1_userhost-srv" | head -n 1); [ -n "$c" ] || exit 1; docker exec "$c" ${cmd}`, stack);
  return [
    {
      name: 'health-services',
      title: `every service of ${stack} n/n`,
      hosts: [head],
      actions: () => [
        { kind: 'wait', probe: { command: withEnv(allUp) }, timeoutMs: parseDuration(cfg.stack.healthTimeout), what: `the services of ${stack}`, intervalMs: 2000 },
        run(privSh('docker service ls --filter "label=com.docker.stack.namespace=$1" --format "{{.Name}} {{.Replicas}}"', stack)),
      ],
    },
    {
      name: 'health-slurm',
      title: 'sinfo answers in the userhost and a test job runs (salloc srun hostname)',
      hosts: [head],
      actions: () => [
        { kind: 'wait', probe: { command: withEnv(inUserhost('sinfo')) }, timeoutMs: parseDuration(cfg.stack.slurmTimeout), what: 'Slurm in the userhost', intervalMs: 2000 },
        run(inUserhost('sinfo')),
        run(inUserhost('salloc srun hostname')),
      ],
    },
  ];
}

function stopSteps(sys: Sys, head: Host): PlannedStep[] {
  const cfg = sys.config;
  const { withEnv, priv, privSh, run } = helpers(cfg);
  const stack = cfg.stack.name;
  return [
    {
      name: 'stack-rm',
      title: `the ${stack} stack removed`,
      hosts: [head],
      actions: () => [
        run(priv(['docker', 'stack', 'rm', stack]), { check: privSh('! docker stack ls --format "{{.Name}}" | grep -qxF -- "$1"', stack) }),
        {
          kind: 'wait',
          probe: { command: withEnv(privSh('[ -z "$(docker network ls -q --filter "name=$1_")" ]', stack)) },
          timeoutMs: parseDuration(cfg.stack.stopTimeout),
          what: `the networks of ${stack} to go`,
          intervalMs: 1000,
        },
      ],
    },
  ];
}

/** deploy on an SSH cluster: the seed's order. */
export async function planClusterDeploy(sys: Sys, dryRun?: boolean): Promise<PlannedStep[]> {
  const inp = await clusterInput(sys, dryRun, true, true);
  return [
    ...dockerSteps(sys, inp),
    ...swarmSteps(sys, inp),
    ...userSteps(sys, inp),
    ...nfsSteps(sys, inp),
    sourceStep(sys, inp),
    ...imageSteps(sys, inp, true),
    ...jovyanStep(sys, inp),
    ...stackSteps(sys, inp),
  ];
}

/** update: rebuild, redistribute, restart the stack (their update_cluster.sh), then the health checks. */
export async function planClusterUpdate(sys: Sys, dryRun?: boolean): Promise<PlannedStep[]> {
  const inp = await clusterInput(sys, dryRun, true, true);
  const images = imageSteps(sys, inp, false).filter((s) => s.name !== 'munge-key');
  return [sourceStep(sys, inp), ...images, ...stopSteps(sys, inp.head), ...stackSteps(sys, inp)];
}

export async function planClusterStop(sys: Sys): Promise<PlannedStep[]> {
  return stopSteps(sys, sys.roles['head']![0]!);
}

/** teardown: the stack, the swarm (workers, then the head), the exports lines labrig added. */
export async function planClusterTeardown(sys: Sys): Promise<PlannedStep[]> {
  const cfg = sys.config;
  const head = sys.roles['head']![0]!;
  const workers = sys.roles['worker'] ?? [];
  const { priv, privSh, run, skipCmd } = helpers(cfg);
  const notMember = privSh('[ "$(docker info --format "{{.Swarm.LocalNodeState}}")" != active ]');
  const leave = (who: string): PlannedStep => ({
    name: `swarm-leave-${who}`,
    title: `the ${who === 'head' ? 'head node leaves' : 'workers leave'} the swarm`,
    hosts: who === 'head' ? [head] : workers,
    skipWhen: () => skipCmd(notMember, 'the node is in no swarm'),
    actions: () => [run(priv(['docker', 'swarm', 'leave', '--force']))],
  });
  return [
    ...stopSteps(sys, head),
    leave('workers'),
    leave('head'),
    {
      name: 'nfs-unexport',
      title: `labrig's lines removed from ${cfg.nfs.exportsFile}`,
      hosts: [head],
      skipWhen: () => skipCmd(privSh('! grep -qF -- "$2" "$1"', cfg.nfs.exportsFile, EXPORTS_MARK), 'the exports file has no line of labrig'),
      actions: () => [run(privSh('grep -vF -- "$2" "$1" > "$1.labrig-tmp"; cat "$1.labrig-tmp" > "$1" && rm -f "$1.labrig-tmp"', cfg.nfs.exportsFile, EXPORTS_MARK)), run(priv(['exportfs', '-ra']))],
    },
  ];
}

export async function planClusterStatus(sys: Sys): Promise<PlannedStep[]> {
  const cfg = sys.config;
  const head = sys.roles['head']![0]!;
  const { privSh, run } = helpers(cfg);
  return [
    {
      name: 'status',
      title: `swarm nodes and the services of ${cfg.stack.name}`,
      hosts: [head],
      actions: () => [
        run(privSh('docker node ls --format "node {{.Hostname}} {{.Status}} {{.ManagerStatus}}"; docker service ls --filter "label=com.docker.stack.namespace=$1" --format "service {{.Name}} {{.Replicas}}"', cfg.stack.name)),
      ],
    },
  ];
}
