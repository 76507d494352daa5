/**
 * createNodesV2: each targets/<name>/system.toml whose `system` is "@labrig/system-generic"
 * becomes the Nx project <name> with build, push, setup, deploy, stop, status, logs, exec,
 * teardown, one target per [tasks.<name>], and one Nx configuration per platform folder under
 * configs/platforms/. Reads files only: no process is spawned while the graph is built.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { CreateDependencies, CreateNodesContextV2, CreateNodesV2, RawProjectGraphDependency, TargetConfiguration } from '@nx/devkit';
import { parse } from 'smol-toml';
import { listPlatforms, platformFileOf } from '@labrig/core/platform-list';
import { runnerTarget } from '@labrig/runner/target';

export const SYSTEM_MODULE = '@labrig/system-generic';

interface Peek {
  system?: unknown;
  sources?: unknown;
  tasks?: Record<string, { description?: string }>;
}

function peek(path: string): Peek | undefined {
  const text = readFileSync(path, 'utf8');
  try {
    return parse(text) as Peek;
  } catch {
    // Invalid TOML still becomes a project: its targets then report the error with line and column.
    return /^\s*system\s*=\s*["']@labrig\/system-generic["']/m.test(text) ? { system: SYSTEM_MODULE } : undefined;
  }
}

export function systemTargets(project: string, projectRoot: string, platforms: string[], doc: Peek): Record<string, TargetConfiguration> {
  const configurations = Object.fromEntries(platforms.map((p) => [p, { platform: p }]));
  const defaultConfiguration = platforms.includes('local') ? 'local' : undefined;
  // Every target but build runs its executor through labrig-run (an `nx:run-commands` target):
  // one plain Node process from a cached bundle instead of an Nx task fork that transpiles the
  // workspace's TypeScript (see packages/runner).
  const onPlatform = (executor: string, description: string, extra: Partial<TargetConfiguration> = {}, options: Record<string, string> = {}): TargetConfiguration => ({
    ...runnerTarget(`${SYSTEM_MODULE}:${executor}`, project, projectRoot, { options, configurations, ...(defaultConfiguration ? { defaultConfiguration } : {}) }),
    cache: false,
    metadata: { description, technologies: ['labrig'] },
    ...extra,
  });
  const sources = Array.isArray(doc.sources) ? (doc.sources as string[]) : ['src/**/*'];
  const targets: Record<string, TargetConfiguration> = {
    // An Nx executor, not labrig-run: a build is worth a task process, it is skipped when cached,
    // and an executor target does not take on a workspace's targetDefaults for `build` commands.
    build: {
      executor: `${SYSTEM_MODULE}:build`,
      options: {},
      cache: true,
      inputs: [...sources.map((g) => `{projectRoot}/${g}`), '{projectRoot}/system.toml'],
      outputs: ['{workspaceRoot}/dist/{projectRoot}'],
      metadata: { description: 'Build binaries and images into dist/ (Nx-cached).', technologies: ['labrig'] },
    },
    push: onPlatform('push', "Upload artifacts to the platform's store and images to its registry (by content).", { dependsOn: ['build'] }),
    setup: onPlatform('setup', 'Prepare every host (skipped where the setup stamp matches).'),
    deploy: onPlatform('deploy', 'Install artifacts and start each role, waiting until it is ready.', {
      // --dry-run (and the other run options) reach push and setup; build never touches a host.
      dependsOn: ['build', { target: 'push', params: 'forward' }, { target: 'setup', params: 'forward' }],
    }),
    stop: onPlatform('stop', "Stop every role's processes."),
    status: onPlatform('status', "Each role's processes and the status command."),
    logs: onPlatform('logs', "Print the end of each role's process log."),
    exec: onPlatform('exec', "Run --cmd on the system's hosts (--roles to pick)."),
    teardown: onPlatform('teardown', 'Stop the system, then release what the platform provisioned.'),
    // Experiments (configs/experiments/*.toml): the platform comes from the plan, not a configuration.
    experiment: {
      ...runnerTarget(`${SYSTEM_MODULE}:experiment`, project, projectRoot),
      dependsOn: ['build'],
      cache: false,
      metadata: { description: 'Run an experiment plan (--plan): deploy as needed, every run not yet done, collect, plot.', technologies: ['labrig'] },
    },
    'experiment-status': {
      ...runnerTarget(`${SYSTEM_MODULE}:experiment-status`, project, projectRoot),
      cache: false,
      metadata: { description: "Each run of a plan and its state (from the plan's journal).", technologies: ['labrig'] },
    },
    results: {
      ...runnerTarget(`${SYSTEM_MODULE}:results`, project, projectRoot),
      cache: false,
      metadata: { description: 'CSV, plots and HTML report of a plan from the stored runs.', technologies: ['labrig'] },
    },
    collect: {
      ...runnerTarget(`${SYSTEM_MODULE}:collect`, project, projectRoot),
      cache: false,
      metadata: { description: 'Fetch and verify runs that finished on their hosts but were not collected.', technologies: ['labrig'] },
    },
    noop: { executor: 'nx:noop', cache: false, metadata: { description: "Does nothing: Nx's own floor, for benchmarks." } },
  };
  for (const [name, t] of Object.entries(doc.tasks ?? {})) {
    if (targets[name]) continue; // reported by the executors' validation
    targets[name] = onPlatform('task', t.description ?? `Task ${name}`, {}, { task: name });
  }
  return targets;
}

export const createNodesV2: CreateNodesV2 = [
  'targets/*/system.toml',
  async (files: readonly string[], _options: unknown, context: CreateNodesContextV2) => {
    const platforms = listPlatforms(context.workspaceRoot);
    return files.flatMap((f) => {
      const doc = peek(join(context.workspaceRoot, f));
      if (!doc || doc.system !== SYSTEM_MODULE) return [];
      const root = dirname(f);
      return [
        [
          f,
          {
            projects: {
              [root]: {
                name: basename(root),
                root,
                projectType: 'application' as const,
                tags: ['type:system', 'system:generic'],
                targets: systemTargets(basename(root), root, platforms, doc),
              },
            },
          },
        ] as const,
      ];
    });
  },
];

/** Workspace package name -> Nx project, from each project root's package.json. */
function packageProjects(root: string, projects: Record<string, { root: string }>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, p] of Object.entries(projects)) {
    try {
      const pkg = JSON.parse(readFileSync(join(root, p.root, 'package.json'), 'utf8')) as { name?: unknown };
      if (typeof pkg.name === 'string') out.set(pkg.name, name);
    } catch {
      /* a project without a package.json is no plugin */
    }
  }
  return out;
}

/**
 * Graph edges from each system project to the plugins it runs with: its system plugin and the
 * plugin of every configured platform (any of them can be its --configuration). So a change to a
 * plugin marks exactly the systems that use it affected (`nx affected -t build push`), and a
 * change to a package those plugins import reaches every system through them. Reads files only.
 */
export function pluginDependencies(systemModule: string, tag: string): CreateDependencies {
  return (_options, ctx) => {
    const byPackage = packageProjects(ctx.workspaceRoot, ctx.projects);
    const platformModules = listPlatforms(ctx.workspaceRoot).flatMap((name) => {
      try {
        const m = /^\s*platform\s*=\s*["']([^"']+)["']/m.exec(readFileSync(join(ctx.workspaceRoot, platformFileOf(name)), 'utf8'));
        return m?.[1] ? [m[1]] : [];
      } catch {
        return [];
      }
    });
    const deps: RawProjectGraphDependency[] = [];
    for (const [name, p] of Object.entries(ctx.projects)) {
      if (!p.tags?.includes(tag)) continue;
      for (const module of new Set([systemModule, ...platformModules])) {
        const target = byPackage.get(module);
        if (target && target !== name) deps.push({ source: name, target, type: 'implicit' } as RawProjectGraphDependency);
      }
    }
    return deps;
  };
}

export const createDependencies: CreateDependencies = pluginDependencies(SYSTEM_MODULE, 'system:generic');
