/** extend: more hours for the CloudLab experiment labrig made; one waiting for an administrator is reported, not failed. */
import type { ExecutorContext } from '@nx/devkit';
import { OptionError, reportError } from '@labrig/core';
import { extendRecordedExperiment } from '../../portal/experiment.js';
import { openExperimentPlatform } from '../status/executor.js';

export interface ExtendOptions {
  platform?: string;
  hours?: number;
  reason?: string;
}

export function normalizeOptions(o: ExtendOptions): { hours: number; reason: string } {
  if (o.hours === undefined || !Number.isInteger(o.hours) || o.hours < 1) throw new OptionError('hours', o.hours, 'a whole number of hours, at least 1 (e.g. --hours=12)');
  return { hours: o.hours, reason: o.reason ?? 'experiments still running (labrig)' };
}

export default async function extendExecutor(o: ExtendOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  try {
    const { hours, reason } = normalizeOptions(o);
    const { p, cfg } = await openExperimentPlatform(context.root, o.platform, 'extend');
    const r = await extendRecordedExperiment(cfg, p.ctx, hours, reason);
    if (r.granted) console.log(`✔ experiment ${cfg.experiment.project}/${cfg.experiment.name} extended by ${hours} h${r.expiresAt ? `: expires ${r.expiresAt}` : ''}`);
    else console.log(`experiment ${cfg.experiment.project}/${cfg.experiment.name}: the extension by ${hours} h waits for an administrator (${r.message}); the current expiry stands until then`);
    return { success: true };
  } catch (err) {
    return reportError(err);
  }
}
