/** status: each worker's process alive AND its port listening (Slurm: the job runs and all numcores workers listen). */
import { planExecutor, type CommonOptions } from '@labrig/system-kit';
import type { DaphneConfig } from '../../config.js';
import { statusSteps } from '../../plan.js';
import { definition, reportWorkers } from '../shared.js';

export default planExecutor<DaphneConfig, CommonOptions>(definition, 'status', (sys) => statusSteps(sys), { printOutputs: true, after: (sys) => reportWorkers(sys) });
