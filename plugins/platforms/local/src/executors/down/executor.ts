import type { ExecutorContext } from '@nx/devkit';
import { DEFAULT_CONFIG_FILE, loadLocalConfig } from '../../config.js';
import { localPlatform, platformContext } from '../../platform.js';
import { reportError } from '@labrig/core';
import type { DownExecutorOptions } from './schema.js';

export default async function downExecutor(o: DownExecutorOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  try {
    const cfg = loadLocalConfig(context.root, o.config ?? DEFAULT_CONFIG_FILE);
    await localPlatform.teardown!(cfg, platformContext(context.root));
    console.log('✔ testbed down');
    return { success: true };
  } catch (err) {
    return reportError(err);
  }
}
