/** prepare: the platform's prepare steps on its hosts (each step checks first and skips what is done). */
import type { ExecutorContext } from '@nx/devkit';
import type { Host } from '@labrig/core';
import { OptionError, createRenderer, parseFailurePolicy, reportError, runSteps } from '@labrig/core';
import { filterHosts } from '../../common.js';
import { inventoryOf, openPlatform } from '../../open.js';

export interface PrepareOptions {
  platform?: string;
  only?: string;
  hosts?: string;
  dryRun?: boolean;
  output?: 'auto' | 'tty' | 'plain' | 'json';
}

export default async function prepareExecutor(o: PrepareOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  try {
    const p = await openPlatform(context.root, o.platform);
    const all = p.platform.prepare?.(p.cfg, p.ctx) ?? [];
    const only = o.only?.split(',').map((s) => s.trim()).filter(Boolean);
    for (const name of only ?? []) {
      if (!all.some((s) => s.name === name)) throw new OptionError('only', o.only, `prepare steps of ${p.name}: ${all.map((s) => s.name).join(', ') || 'none enabled in its platform file'}`);
    }
    const steps = only ? all.filter((s) => only.includes(s.name)) : all;
    const hosts = filterHosts(await inventoryOf(p), o.hosts?.split(',').map((s) => s.trim()).filter(Boolean));
    if (o.dryRun || steps.length === 0) {
      console.log(steps.length ? `prepare ${p.name} (dry run): ${steps.map((s) => s.name).join(', ')} on ${hosts.map((h) => h.name).join(', ')}` : `${p.name}: no prepare step is enabled in ${p.file}`);
      return { success: true };
    }
    const d = p.platform.runDefaults?.(p.cfg) ?? {};
    const connector = p.platform.createConnector(p.cfg, p.ctx);
    try {
      const run = await runSteps(steps, {
        root: context.root,
        hosts,
        connector,
        title: `${p.name}:prepare`,
        platform: p.name,
        ...(p.platform.recoverHost ? { recoverHost: (h: Host, why: string, signal: AbortSignal) => p.platform.recoverHost!(p.cfg, p.ctx, h, why, signal) } : {}),
        ...(d.concurrency ? { concurrency: d.concurrency } : {}),
        ...(d.timeoutMs ? { timeoutMs: d.timeoutMs } : {}),
        failurePolicy: parseFailurePolicy(d.failurePolicy ?? 'fail-fast'),
        output: createRenderer(o.output ?? 'auto'),
      });
      return { success: run.ok };
    } finally {
      await connector.close();
    }
  } catch (err) {
    return reportError(err);
  }
}
