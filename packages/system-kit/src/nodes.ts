/**
 * The one Nx plugin entry for every labrig system (`@labrig/system-kit/nx` in nx.json): each
 * `targets/<name>/system.toml` whose `system = "<module>"` names a package that declares
 * `"labrig": { "system": { ... } }` in its package.json becomes the Nx project <name> with the
 * targets that declaration lists, one Nx configuration per platform folder under
 * configs/platforms/ for the targets that run on a platform, and graph edges to the plugins it
 * runs with. One entry for all system plugins: Nx loads each plugin listed in nx.json in its own
 * worker on every command. Reads files only; no plugin code is loaded while the graph is built.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { CreateDependencies, CreateNodesContextV2, CreateNodesV2, RawProjectGraphDependency, TargetConfiguration, TargetDependencyConfig } from '@nx/devkit';
import { parse } from 'smol-toml';
import { listPlatforms, platformFileOf, platformModuleOf, readLabrigSection } from '@labrig/core/platform-list';
import { runnerTarget } from '@labrig/runner/target';
import { buildTargetConfigurations } from './remote-build/placement.js';

export const SYSTEM_FILES = 'targets/*/system.toml';
/** The executor of every system's `dashboard` target (@labrig/dashboard). */
export const DASHBOARD_EXECUTOR = '@labrig/dashboard:serve';

/** A target a system plugin declares. */
export interface DeclaredSystemTarget {
  /** An executor of the plugin's executors.json (none for `kind: "noop"`). */
  executor?: string;
  description?: string;
  /**
   * `run` (default): run by labrig-run; `build`: an Nx executor target, cached, inputs = the
   * system's sources and system file, outputs under dist/ (a build is worth its own process, is
   * skipped entirely when cached, and takes on no `targetDefaults` of a `build` command);
   * `noop`: Nx's own nx:noop (a floor for benchmarks).
   */
  kind?: 'run' | 'build' | 'noop';
  /** Runs on a platform: one configuration per platform folder (`--platform=<name>`). */
  platform?: boolean;
  dependsOn?: (string | TargetDependencyConfig)[];
}

export interface SystemMeta {
  tags?: string[];
  targets?: Record<string, DeclaredSystemTarget>;
  /** Each `[tasks.<name>]` of the system file becomes a target running this executor with `--task=<name>`. */
  tasks?: { executor: string };
}

interface Peek {
  system?: unknown;
  sources?: unknown;
  build?: { on?: unknown; arch?: unknown };
  tasks?: Record<string, { description?: string }>;
}

/** The system file as far as the graph needs it; an invalid file still names its module when it can. */
export function peekSystemFile(path: string): Peek | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return parse(text) as Peek;
  } catch {
    // Invalid TOML still becomes a project: its targets report the error with line and column.
    const m = /^\s*system\s*=\s*["']([^"']+)["']/m.exec(text);
    return m ? { system: m[1] } : undefined;
  }
}


/** The `labrig.system` declaration of a module (undefined: not a labrig system plugin, or not installed). */
export function readSystemMeta(root: string, module: string): SystemMeta | undefined {
  return readLabrigSection(root, module)?.['system'] as SystemMeta | undefined;
}

/**
 * The project's targets from its plugin's declaration. `buildConfigurations`: the `build` target's
 * configurations, one per platform where the build runs on a platform host (remote-build/placement.ts).
 */
export function systemTargets(
  module: string,
  meta: SystemMeta,
  project: string,
  projectRoot: string,
  platforms: string[],
  doc: Peek,
  buildConfigurations: Record<string, Record<string, string>> = {},
): Record<string, TargetConfiguration> {
  // One configuration per platform and no default one: Nx runs an unknown `-c` as the default
  // configuration, so a typo (`-c cloudlb`) would silently deploy somewhere else. Without a
  // default, it reaches the executor without a platform, which says so and names the platforms.
  const configurations = Object.fromEntries(platforms.map((p) => [p, { platform: p }]));
  const sources = Array.isArray(doc.sources) ? (doc.sources as string[]) : ['src/**/*'];
  const make = (name: string, t: DeclaredSystemTarget, options: Record<string, string> = {}): TargetConfiguration => {
    const metadata = { description: t.description ?? name, technologies: ['labrig'] };
    const dependsOn = t.dependsOn ? { dependsOn: t.dependsOn } : {};
    if (t.kind === 'noop') return { executor: 'nx:noop', cache: false, metadata };
    if (t.kind === 'build') {
      return {
        executor: `${module}:${t.executor ?? name}`,
        options: {},
        cache: true,
        inputs: [...sources.map((g) => `{projectRoot}/${g}`), '{projectRoot}/system.toml'],
        outputs: ['{workspaceRoot}/dist/{projectRoot}'],
        ...(Object.keys(buildConfigurations).length > 0 ? { configurations: buildConfigurations } : {}),
        ...dependsOn,
        metadata,
      };
    }
    return {
      ...runnerTarget(`${module}:${t.executor ?? name}`, projectRoot, {
        options,
        ...(t.platform ? { configurations } : {}),
      }),
      cache: false,
      ...dependsOn,
      metadata,
    };
  };
  const targets: Record<string, TargetConfiguration> = {};
  for (const [name, t] of Object.entries(meta.targets ?? {})) targets[name] = make(name, t);
  if (meta.tasks) {
    for (const [name, t] of Object.entries(doc.tasks ?? {})) {
      if (targets[name]) continue; // reported by the plugin's own validation
      targets[name] = make(name, { executor: meta.tasks.executor, description: t.description ?? `Task ${name}`, platform: true }, { task: name });
    }
  }
  // Every system gets the dashboard (the workspace's runs and experiments in a browser), unless its plugin has its own.
  targets['dashboard'] ??= {
    ...runnerTarget(DASHBOARD_EXECUTOR, projectRoot),
    cache: false,
    // A server that runs until stopped: Nx streams its output (the URL) instead of holding it.
    continuous: true,
    metadata: { description: "Watch runs (hosts x steps, live) and experiments (runs, files, plots) in a browser: a local page on 127.0.0.1 with a one-time token.", technologies: ['labrig'] },
  };
  return targets;
}

/** Targets a user may run on a system project, for a system file that has no plugin. */
export const INVALID_SYSTEM_TARGETS = ['build', 'push', 'setup', 'deploy', 'stop', 'status', 'exec', 'logs', 'teardown', 'experiment', 'experiment-status', 'collect', 'results'];

/** Each reports why `file` gives its project no system plugin (system-kit's invalid-system executor). */
export function invalidSystemTargets(projectRoot: string, file: string, platforms: string[]): Record<string, TargetConfiguration> {
  const configurations = Object.fromEntries(platforms.map((p) => [p, { platform: p }]));
  return Object.fromEntries(
    INVALID_SYSTEM_TARGETS.map((t) => [
      t,
      {
        ...runnerTarget('@labrig/system-kit:invalid-system', projectRoot, { options: { file }, configurations }),
        cache: false,
        metadata: { description: `Reports the error in ${file}.`, technologies: ['labrig'] },
      },
    ]),
  );
}

export const createNodesV2: CreateNodesV2 = [
  SYSTEM_FILES,
  async (files: readonly string[], _options: unknown, context: CreateNodesContextV2) => {
    const platforms = listPlatforms(context.workspaceRoot);
    const metas = new Map<string, SystemMeta | undefined>();
    return files.flatMap((f) => {
      const doc = peekSystemFile(join(context.workspaceRoot, f));
      const module = typeof doc?.system === 'string' ? doc.system : undefined;
      if (module !== undefined && !metas.has(module)) metas.set(module, readSystemMeta(context.workspaceRoot, module));
      const meta = module === undefined ? undefined : metas.get(module);
      const root = dirname(f);
      const name = basename(root);
      if (!meta || module === undefined) {
        // No installed system plugin for this file: the project still exists, and each of its
        // targets reports the file's error. Nothing else in the workspace is affected.
        return [[f, { projects: { [root]: { name, root, projectType: 'application' as const, tags: ['type:system'], targets: invalidSystemTargets(root, f, platforms) } } }] as const];
      }
      return [
        [
          f,
          {
            projects: {
              [root]: {
                name,
                root,
                projectType: 'application' as const,
                tags: ['type:system', ...(meta.tags ?? [])],
                targets: systemTargets(module, meta, name, root, platforms, doc ?? {}, buildTargetConfigurations(context.workspaceRoot, f, doc?.build, platforms)),
              },
            },
          },
        ] as const,
      ];
    });
  },
];

/**
 * Graph edges from each system project to the plugins it runs with: its system plugin and the
 * plugin of every configured platform (any of them can be its --configuration). A change to a
 * plugin marks exactly the systems that use it affected (`nx affected -t build push`), and a change
 * to a package those plugins import reaches every system through them. Reads files only.
 */
export const createDependencies: CreateDependencies = (_options, ctx) => {
  const byPackage = new Map<string, string>();
  for (const [name, p] of Object.entries(ctx.projects)) {
    try {
      const pkg = JSON.parse(readFileSync(join(ctx.workspaceRoot, p.root, 'package.json'), 'utf8')) as { name?: unknown };
      if (typeof pkg.name === 'string') byPackage.set(pkg.name, name);
    } catch {
      /* a project without a package.json is no plugin */
    }
  }
  const platformModules = listPlatforms(ctx.workspaceRoot).flatMap((name) => platformModuleOf(join(ctx.workspaceRoot, platformFileOf(name))) ?? []);
  const deps: RawProjectGraphDependency[] = [];
  for (const [name, p] of Object.entries(ctx.projects)) {
    if (!p.tags?.includes('type:system')) continue;
    const module = peekSystemFile(join(ctx.workspaceRoot, p.root, 'system.toml'))?.system;
    if (typeof module !== 'string') continue;
    for (const m of new Set([module, ...platformModules])) {
      const target = byPackage.get(m);
      if (target && target !== name) deps.push({ source: name, target, type: 'implicit' } as RawProjectGraphDependency);
    }
  }
  return deps;
};
