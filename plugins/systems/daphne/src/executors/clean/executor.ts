/** clean: stop the workers, then delete the deployment folder on the hosts. */
import { planExecutor, type CommonOptions } from '@labrig/system-kit';
import type { DaphneConfig } from '../../config.js';
import { cleanSteps } from '../../plan.js';
import { definition } from '../shared.js';

export default planExecutor<DaphneConfig, CommonOptions>(definition, 'clean', (sys) => cleanSteps(sys));
