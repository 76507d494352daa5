/** status: the CloudLab experiment labrig made, from the Portal API: state, expiry, node states. */
import type { ExecutorContext } from '@nx/devkit';
import { ConfigError, OptionError, formatLongDuration, reportError, stringifyRedacted } from '@labrig/core';
import { openPlatform } from '@labrig/platform-kit';
import { PLATFORM_MODULE, type CloudlabConfig } from '../../config.js';
import { nodesOf } from '../../portal/client.js';
import { experimentStatus, type ExperimentConfig } from '../../portal/experiment.js';
import { platformFilesOf } from '../../paths.js';


export interface StatusOptions {
  platform?: string;
  output?: 'auto' | 'tty' | 'plain' | 'json';
}

/** The platform and its `[experiment]`; a ConfigError when the file has none. */
export async function openExperimentPlatform(root: string, platform: string | undefined, what: string) {
  const p = await openPlatform(root, platform);
  if (p.module !== PLATFORM_MODULE) throw new OptionError('platform', platform, `a platform folder whose platform.toml names ${PLATFORM_MODULE} (${p.name} names ${p.module})`);
  const cfg = p.cfg as CloudlabConfig;
  if (!cfg.experiment) {
    throw new ConfigError(platformFilesOf(p.ctx).file, 'experiment', `has no [experiment]: labrig did not make this experiment, so it cannot ${what} it`, {
      hint: 'Use the portal for an experiment made by hand, or add [experiment] (docs/platforms/cloudlab.md) and run provision.',
    });
  }
  return { p, cfg: cfg as CloudlabConfig & { experiment: ExperimentConfig } };
}

export default async function statusExecutor(o: StatusOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  try {
    const { p, cfg } = await openExperimentPlatform(context.root, o.platform, 'show');
    const { experiment: e, expiresInMs } = await experimentStatus(cfg, p.ctx);
    if (o.output === 'json') {
      console.log(stringifyRedacted({ id: e.id, project: e.project, name: e.name, status: e.status, expiresAt: e.expires_at, expiresInMs, nodes: nodesOf(e) }));
    } else {
      console.log(`experiment ${cfg.experiment.project}/${cfg.experiment.name} (${e.id}): ${e.status}`);
      console.log(`  expires ${e.expires_at ?? 'unknown'}${expiresInMs !== undefined ? (expiresInMs > 0 ? ` (in ${formatLongDuration(expiresInMs)})` : ' (expired)') : ''}`);
      for (const n of nodesOf(e)) console.log(`  ${n.client_id}  ${n.hostname ?? ''}  ${n.status ?? ''}${n.state ? ` (${n.state})` : ''}`);
      if (e.url) console.log(`  ${e.url}`);
    }
    return { success: e.status !== 'failed' };
  } catch (err) {
    return reportError(err);
  }
}
