/** createNodesV2: configs/platforms/<name>/platform.toml with platform = "@labrig/platform-equinix" -> project <name>. */
import { platformNodes } from '@labrig/platform-kit/nx';

export const PLATFORM_MODULE = '@labrig/platform-equinix';

export const createNodesV2 = platformNodes(PLATFORM_MODULE, ['type:platform', 'platform:equinix']);
