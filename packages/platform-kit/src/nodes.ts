/**
 * createNodesV2 for SSH platform plugins: each `configs/platforms/<name>/platform.toml` whose
 * `platform` names the plugin's module becomes the Nx project <name> with the targets hosts, exec,
 * provision, teardown and prepare (run by labrig-run), plus the plugin's own. Reads files only.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { CreateNodesContextV2, CreateNodesV2, TargetConfiguration } from '@nx/devkit';
import { parse } from 'smol-toml';
import { runnerTarget } from '@labrig/runner/target';

export const PLATFORM_FILES = 'configs/platforms/*/platform.toml';
export const KIT = '@labrig/platform-kit';

/** Does this platform file name `module`? (An invalid file still becomes a project: its targets report the error.) */
export function namesModule(path: string, module: string): boolean {
  const text = readFileSync(path, 'utf8');
  try {
    return (parse(text) as { platform?: unknown }).platform === module;
  } catch {
    return new RegExp(`^\\s*platform\\s*=\\s*["']${module.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}["']`, 'm').test(text);
  }
}

/** The targets every platform project gets. */
export function kitTargets(project: string, projectRoot: string): Record<string, TargetConfiguration> {
  const t = (executor: string, description: string): TargetConfiguration => ({
    ...runnerTarget(`${KIT}:${executor}`, project, projectRoot, { options: { platform: project } }),
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

export function platformNodes(
  module: string,
  tags: string[],
  extra?: (project: string, projectRoot: string) => Record<string, TargetConfiguration>,
): CreateNodesV2 {
  return [
    PLATFORM_FILES,
    async (files: readonly string[], _options: unknown, context: CreateNodesContextV2) =>
      files
        .filter((f) => namesModule(join(context.workspaceRoot, f), module))
        .map((f) => {
          const root = dirname(f);
          const name = basename(root);
          return [
            f,
            { projects: { [root]: { name, root, projectType: 'application' as const, tags, targets: { ...kitTargets(name, root), ...extra?.(name, root) } } } },
          ] as const;
        }),
  ];
}
