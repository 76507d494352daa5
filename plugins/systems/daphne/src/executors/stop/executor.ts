/** stop: every worker process (SSH) / scancel of the workers job (Slurm); safe to run again. */
import { planExecutor, type CommonOptions } from '@labrig/system-kit';
import type { DaphneConfig } from '../../config.js';
import { stopSteps } from '../../plan.js';
import { definition } from '../shared.js';

export default planExecutor<DaphneConfig, CommonOptions>(definition, 'stop', (sys) => stopSteps(sys));
