/** A platform instance by its folder name (configs/platforms/<name>/platform.toml), for the kit's targets. */
import type { Host, PlatformInstance } from '@labrig/core';
import { OptionError, listPlatforms, loadPlatform } from '@labrig/core';

export async function openPlatform(root: string, name: string | undefined): Promise<PlatformInstance> {
  if (!name) {
    const known = listPlatforms(root);
    throw new OptionError('platform', name, `a platform folder under configs/platforms/: ${known.join(' | ') || '(none)'}`);
  }
  return loadPlatform(root, name);
}

export async function inventoryOf(p: PlatformInstance): Promise<Host[]> {
  return p.platform.inventory(p.cfg, p.ctx);
}
