/** link-test: every host of a CloudLab platform probes every other host's cluster address; prints the matrix. */
import type { ExecutorContext } from '@nx/devkit';
import { OptionError, parseDuration, reportError } from '@labrig/core';
import { filterHosts, inventoryOf, openPlatform } from '@labrig/platform-kit';
import { PLATFORM_MODULE, type CloudlabConfig } from '../../config.js';
import { formatMatrix, runLinkTest, type LinkMethod } from '../../link-test.js';

export interface LinkTestExecutorOptions {
  platform?: string;
  method?: LinkMethod;
  timeout?: string;
  hosts?: string;
  output?: 'auto' | 'tty' | 'plain' | 'json';
}

export default async function linkTestExecutor(o: LinkTestExecutorOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  try {
    if (o.method !== undefined && o.method !== 'tcp' && o.method !== 'ping') throw new OptionError('method', o.method, 'tcp or ping');
    const p = await openPlatform(context.root, o.platform);
    if (p.module !== PLATFORM_MODULE) throw new OptionError('platform', o.platform, `a platform folder whose platform.toml names ${PLATFORM_MODULE} (${p.name} names ${p.module})`);
    const cfg = p.cfg as CloudlabConfig;
    const all = await inventoryOf(p);
    const names = o.hosts?.split(',').map((s) => s.trim()).filter(Boolean);
    const hosts = filterHosts(all, names);
    if (hosts.length < 2) throw new OptionError('hosts', o.hosts, `at least two of: ${all.map((h) => h.name).join(', ')}`);
    const connector = p.platform.createConnector(p.cfg, p.ctx);
    try {
      const { matrix, run } = await runLinkTest({
        root: context.root,
        hosts,
        connector,
        options: { method: o.method ?? cfg.linkTest.method, timeoutMs: parseDuration(o.timeout ?? cfg.linkTest.timeout) },
        concurrency: cfg.run.concurrency,
        output: o.output ?? 'auto',
      });
      if (o.output === 'json') console.log(JSON.stringify({ type: 'link-matrix', ...matrix }));
      else console.log(`\n${formatMatrix(matrix)}\n\nrun ${run.id}: logs under ${run.dir}`);
      return { success: matrix.ok };
    } finally {
      await connector.close();
    }
  } catch (err) {
    return reportError(err);
  }
}
