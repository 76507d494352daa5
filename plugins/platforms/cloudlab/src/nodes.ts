/** createNodesV2: configs/platforms/<name>/platform.toml with platform = "@labrig/platform-cloudlab" -> project <name>. */
import { platformNodes } from '@labrig/platform-kit/nx';

export const PLATFORM_MODULE = '@labrig/platform-cloudlab';

export const createNodesV2 = platformNodes(PLATFORM_MODULE, ['type:platform', 'platform:cloudlab']);
