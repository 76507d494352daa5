/** transfer: the package (and the image in Slurm mode) to each worker host / the login node once, unpacked. */
import { planExecutor, type CommonOptions } from '@labrig/system-kit';
import { transferSteps } from '../../plan.js';
import { definition } from '../shared.js';

export default planExecutor<import('../../config.js').DaphneConfig, CommonOptions>(definition, 'transfer', (sys) => transferSteps(sys));
