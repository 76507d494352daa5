/**
 * createNodesV2: each configs/platforms/<name>/platform.toml with platform = "@labrig/platform-cloudlab"
 * becomes project <name> with the kit's targets (hosts, exec, provision, teardown, prepare) and
 * this plugin's `link-test`. Reads files only.
 */
import type { TargetConfiguration } from '@nx/devkit';
import { platformNodes } from '@labrig/platform-kit/nx';
import { runnerTarget } from '@labrig/runner/target';

export const PLATFORM_MODULE = '@labrig/platform-cloudlab';

/** The targets this plugin adds to a CloudLab platform project. */
export function cloudlabTargets(project: string, projectRoot: string): Record<string, TargetConfiguration> {
  return {
    'link-test': {
      ...runnerTarget(`${PLATFORM_MODULE}:link-test`, project, projectRoot, { options: { platform: project } }),
      cache: false,
      metadata: { description: "Every host reaches every other host's cluster address (matrix; --method, --timeout, --hosts).", technologies: ['labrig'] },
    },
  };
}

export const createNodesV2 = platformNodes(PLATFORM_MODULE, ['type:platform', 'platform:cloudlab'], cloudlabTargets);
