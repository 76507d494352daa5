/** createNodesV2: configs/platforms/<name>/platform.toml with platform = "@labrig/platform-slurm-hpc" -> project <name>. */
import { platformNodes } from '@labrig/platform-kit/nx';

export const PLATFORM_MODULE = '@labrig/platform-slurm-hpc';

export const createNodesV2 = platformNodes(PLATFORM_MODULE, ['type:platform', 'platform:slurm-hpc']);
