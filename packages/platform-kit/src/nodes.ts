/**
 * The one Nx plugin entry for every labrig platform (`@labrig/platform-kit/nx` in nx.json): each
 * `configs/platforms/<name>/platform.toml` becomes the Nx project <name> with the targets hosts,
 * exec, provision, teardown and prepare (run by labrig-run), plus the targets its platform plugin
 * declares in its package.json (`"labrig": { "platform": { "tags", "targets" } }`). One entry,
 * not one per plugin: Nx loads each listed plugin in its own worker (about 0.45 s per plugin on
 * every command). Reads files only; no plugin code is loaded while the graph is built.
 */
import { basename, dirname, join } from 'node:path';
import type { CreateNodesContextV2, CreateNodesV2, TargetConfiguration } from '@nx/devkit';
import { platformModuleOf, readLabrigSection } from '@labrig/core/platform-list';
import { runnerTarget } from '@labrig/runner/target';

export const PLATFORM_FILES = 'configs/platforms/*/platform.toml';
export const KIT = '@labrig/platform-kit';

/** The targets every platform project gets. */
export function kitTargets(project: string, projectRoot: string): Record<string, TargetConfiguration> {
  const t = (executor: string, description: string): TargetConfiguration => ({
    ...runnerTarget(`${KIT}:${executor}`, projectRoot, { options: { platform: project } }),
    cache: false,
    metadata: { description, technologies: ['labrig'] },
  });
  return {
    hosts: t('hosts', 'Print the inventory.'),
    exec: t('exec', 'Run --cmd on every host (filters: --hosts, --roles).'),
    provision: t('provision', 'Create the machines (cloud) or check the hosts answer.'),
    teardown: t('teardown', 'Release exactly what provision created (idempotent).'),
    prepare: t('prepare', "Apply the platform's prepare steps (--only, --hosts, --dry-run)."),
  };
}

/** A target a platform plugin declares in its package.json. */
export interface DeclaredTarget {
  /** An executor of the plugin's executors.json. */
  executor: string;
  description?: string;
  /** Fixed options; `{platform}` is the folder name, `{platformFile}` the platform file. */
  options?: Record<string, string | number | boolean>;
}

interface PlatformMeta {
  tags?: string[];
  targets?: Record<string, DeclaredTarget>;
}

/** `labrig.platform` of the module's package.json (undefined when it cannot be read). */
function readPlatformMeta(root: string, module: string): PlatformMeta | undefined {
  const section = readLabrigSection(root, module);
  return section && ((section['platform'] as PlatformMeta | undefined) ?? {});
}

/** The kit's targets plus the declared ones (which win on a name clash). */
export function platformProjectTargets(module: string, meta: PlatformMeta, project: string, projectRoot: string, file: string): Record<string, TargetConfiguration> {
  const fill = (v: string | number | boolean) => (typeof v === 'string' ? v.replaceAll('{platformFile}', file).replaceAll('{platform}', project) : v);
  const declared = Object.fromEntries(
    Object.entries(meta.targets ?? {}).map(([name, t]): [string, TargetConfiguration] => [
      name,
      {
        ...runnerTarget(`${module}:${t.executor}`, projectRoot, { options: Object.fromEntries(Object.entries(t.options ?? {}).map(([k, v]) => [k, fill(v)])) }),
        cache: false,
        metadata: { description: t.description ?? name, technologies: ['labrig'] },
      },
    ]),
  );
  return { ...kitTargets(project, projectRoot), ...declared };
}

export const createNodesV2: CreateNodesV2 = [
  PLATFORM_FILES,
  async (files: readonly string[], _options: unknown, context: CreateNodesContextV2) =>
    files.flatMap((f) => {
      // A file that names no module (empty, unreadable, invalid) or a module that is not installed
      // still becomes its project, with the kit's targets: they report the file's ConfigError, and
      // no other project is affected.
      const module = platformModuleOf(join(context.workspaceRoot, f));
      const meta = (module && readPlatformMeta(context.workspaceRoot, module)) || {};
      const root = dirname(f);
      const name = basename(root);
      const tags = ['type:platform', ...(meta.tags ?? [])];
      return [[f, { projects: { [root]: { name, root, projectType: 'application' as const, tags, targets: module ? platformProjectTargets(module, meta, name, root, f) : kitTargets(name, root) } } }] as const];
    }),
];
