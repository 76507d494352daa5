/** cfiddle on an existing Slurm cluster (the slurm-hpc platform): the sandbox image on every node, the delegate-function configuration, a test job. */
import type { Host } from '@labrig/core';
import { ConfigError, parseDuration } from '@labrig/core';
import type { PlannedStep } from '@labrig/system-kit';
import type { CfiddleConfig } from './config.js';
import { helpers, imageRepo, type Sys } from './common.js';
/** The image the compute nodes pull (with the local name the delegate config uses). */
export async function sandboxImage(sys: Sys): Promise<{ ref: string; local: string }> {
  const local = `cfiddle-sandbox:${sys.config.images.tag}`;
  if (sys.config.slurm.sandboxImage) return { ref: sys.config.slurm.sandboxImage, local };
  try {
    return { ref: `${await imageRepo(sys)}/${local}`, local };
  } catch (e) {
    if (e instanceof ConfigError) {
      throw new ConfigError(sys.file, 'slurm.sandboxImage', 'is not set, and there is no registry to pull cfiddle-sandbox from', {
        hint: 'Set slurm.sandboxImage = "<registry>/cfiddle-sandbox:<tag>" (or images.registry / images.dockerhubUser).',
      });
    }
    throw e;
  }
}

/** The delegate-function chain (the seed's test_cfiddle.py form): a Slurm job that runs the sandbox container. */
export function delegateConfig(cfg: CfiddleConfig, home: string, image: string): string {
  const tmp = cfg.slurm.temporaryFileRoot.startsWith('/') ? cfg.slurm.temporaryFileRoot : `${home}/${cfg.slurm.temporaryFileRoot}`;
  return [
    '# Written by labrig (@labrig/system-cfiddle). Use it from CFiddle with:',
    '#   from cfiddle.ext.delegate_function import execution_method',
    '#   cfiddle_config(RunnerExecutionMethod_type=execution_method(open(PATH).read()))',
    'version: 0.1',
    'sequence:',
    '  - type: SlurmDelegate',
    `    temporary_file_root: ${tmp}`,
    `    delegate_executable_path: ${cfg.slurm.delegateExecutable}`,
    '  - type: DockerDelegate',
    `    docker_image: ${image}`,
    '    temporary_file_root: /cfiddle_scratch',
    `    delegate_executable_path: ${cfg.slurm.delegateExecutable}`,
    "    docker_cmd_line_args: ['--entrypoint', '/usr/bin/env']",
    '',
  ].join('\n');
}

/** Every node of the partition pulls the sandbox image in one Slurm job (one task per node). */
function sandboxSteps(sys: Sys, login: Host, img: { ref: string; local: string }): PlannedStep[] {
  const cfg = sys.config;
  const { run } = helpers(cfg);
  const part = cfg.slurm.partition ?? '';
  const minutes = String(Math.max(1, Math.ceil(parseDuration(cfg.slurm.jobTimeout) / 60_000)));
  return [
    {
      name: 'slurm-check',
      title: 'Slurm answers on the login node',
      hosts: [login],
      actions: () => [run(['sh', '-c', 'sinfo -h -o "%P %a %D %T" ${1:+-p "$1"} | grep -q " up " && sinfo -h -o "%P %a %D %T" ${1:+-p "$1"}', 'sh', part])],
    },
    {
      name: 'sandbox-image',
      title: `${img.ref} on every compute node (as ${img.local})`,
      hosts: [login],
      actions: () => [
        run([
          'sh',
          '-c',
          'n=$(sinfo -h -o %D ${1:+-p "$1"} | awk \'{ s += $1 } END { print s }\'); [ "${n:-0}" -gt 0 ] || { echo "no nodes in the partition" >&2; exit 1; }; ' +
            'exec srun --job-name=cfiddle-sandbox-pull ${1:+-p "$1"} -t "$2" -N "$n" --ntasks-per-node=1 sh -c \'docker pull "$0" && docker tag "$0" "$1"\' "$3" "$4"',
          'sh',
          part,
          minutes,
          img.ref,
          img.local,
        ]),
      ],
    },
  ];
}

export async function planSlurmDeploy(sys: Sys): Promise<PlannedStep[]> {
  const cfg = sys.config;
  const login = sys.roles['login']![0]!;
  const { run } = helpers(cfg);
  const img = await sandboxImage(sys);
  const tmp = cfg.slurm.temporaryFileRoot;
  return [
    ...sandboxSteps(sys, login, img),
    {
      name: 'delegate-config',
      title: `the delegate-function chain in ~/${cfg.slurm.delegateConfig}`,
      hosts: [login],
      actions: () => [
        run(['mkdir', '-p', tmp]),
        // The chain names absolute paths under the cluster user's home, which only the host knows.
        run(['sh', '-c', 'mkdir -p "$(dirname "$1")" && sed "s|@HOME@|$HOME|g" > "$1.labrig-tmp" && mv -f "$1.labrig-tmp" "$1" && cat "$1"', 'sh', cfg.slurm.delegateConfig], {
          stdin: delegateConfig(cfg, '@HOME@', img.local),
        }),
      ],
    },
    ...slurmTestSteps(sys, login, img.local),
  ];
}

/** A test job: through Slurm (srun), the sandbox image runs on a compute node. */
export function slurmTestSteps(sys: Sys, login: Host, local: string): PlannedStep[] {
  const cfg = sys.config;
  const { run } = helpers(cfg);
  const minutes = String(Math.max(1, Math.ceil(parseDuration(cfg.slurm.jobTimeout) / 60_000)));
  return [
    {
      name: 'test-job',
      title: 'a test job runs the sandbox through Slurm',
      hosts: [login],
      actions: () => [
        run(
          [
            'sh',
            '-c',
            'srun --job-name=cfiddle-test ${1:+-p "$1"} -t "$2" -N 1 -n 1 sh -c \'echo "job $SLURM_JOB_ID on $SLURMD_NODENAME"; docker run --rm --entrypoint /usr/bin/env "$0" echo cfiddle-sandbox-ok\' "$3"',
            'sh',
            cfg.slurm.partition ?? '',
            minutes,
            local,
          ],
          { capture: { name: 'job', pattern: '^job (\\d+) on' } },
        ),
        run(['sh', '-c', 'test -s "$1"', 'sh', cfg.slurm.delegateConfig]),
      ],
    },
  ];
}

export async function planSlurmUpdate(sys: Sys): Promise<PlannedStep[]> {
  const login = sys.roles['login']![0]!;
  const img = await sandboxImage(sys);
  return [...sandboxSteps(sys, login, img), ...slurmTestSteps(sys, login, img.local)];
}

export async function planSlurmStop(sys: Sys): Promise<PlannedStep[]> {
  const login = sys.roles['login']![0]!;
  const { run } = helpers(sys.config);
  return [
    {
      name: 'scancel',
      title: "labrig's CFiddle jobs (image pulls, tests) cancelled",
      hosts: [login],
      actions: () => [run(['sh', '-c', 'scancel --name=cfiddle-sandbox-pull --user="$(id -un)"; scancel --name=cfiddle-test --user="$(id -un)"'])],
    },
  ];
}

export async function planSlurmTeardown(sys: Sys): Promise<PlannedStep[]> {
  const login = sys.roles['login']![0]!;
  const { run } = helpers(sys.config);
  return [
    ...(await planSlurmStop(sys)),
    {
      name: 'delegate-config-rm',
      title: `~/${sys.config.slurm.delegateConfig} removed`,
      hosts: [login],
      actions: () => [run(['rm', '-f', sys.config.slurm.delegateConfig])],
    },
  ];
}

export async function planSlurmStatus(sys: Sys): Promise<PlannedStep[]> {
  const login = sys.roles['login']![0]!;
  const { run } = helpers(sys.config);
  return [
    {
      name: 'status',
      title: 'the partition and the delegate-function chain',
      hosts: [login],
      actions: () => [run(['sh', '-c', 'sinfo -h -o "partition %P %a %D %T"; if [ -s "$1" ]; then echo "config $1 present"; else echo "config $1 missing"; fi', 'sh', sys.config.slurm.delegateConfig])],
    },
  ];
}
