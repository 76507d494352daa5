import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { CreateNodesContextV2, CreateNodesV2, TargetConfiguration } from '@nx/devkit';
import { parse } from 'smol-toml';
import { runnerTarget } from '@labrig/runner/target';

export const PLATFORM_MODULE = '@labrig/platform-local';
const PLATFORM_FILES = 'configs/platforms/*/platform.toml';

/** Does this platform file name our module? Reads the file only (no process spawning). */
function isLocalPlatformFile(path: string): boolean {
  try {
    const doc = parse(readFileSync(path, 'utf8')) as { platform?: unknown };
    return doc.platform === PLATFORM_MODULE;
  } catch {
    // An invalid file still becomes a project: its targets report the config error clearly.
    return /^\s*platform\s*=\s*["']@labrig\/platform-local["']/m.test(readFileSync(path, 'utf8'));
  }
}

export function platformTargets(project: string, projectRoot: string, configFile: string): Record<string, TargetConfiguration> {
  const target = (executor: string, description: string): TargetConfiguration => ({
    ...runnerTarget(`${PLATFORM_MODULE}:${executor}`, project, projectRoot, { options: { config: configFile } }),
    cache: false,
    metadata: { description, technologies: ['labrig'] },
  });
  return {
    up: target('up', 'Start the testbed hosts (idempotent).'),
    down: target('down', 'Stop the testbed: exactly the processes it started.'),
    hosts: target('hosts', 'Print the inventory.'),
    exec: target('exec', 'Run --cmd on every host (filters: --hosts, --roles).'),
  };
}

export const createNodesV2: CreateNodesV2 = [
  PLATFORM_FILES,
  async (files: readonly string[], _options: unknown, context: CreateNodesContextV2) =>
    files
      .filter((f) => isLocalPlatformFile(join(context.workspaceRoot, f)))
      .map((f) => {
        const root = dirname(f);
        return [
          f,
          {
            projects: {
              [root]: {
                name: basename(root),
                root,
                projectType: 'application',
                tags: ['type:platform', 'platform:local'],
                targets: platformTargets(basename(root), root, f),
              },
            },
          },
        ] as const;
      }),
];
