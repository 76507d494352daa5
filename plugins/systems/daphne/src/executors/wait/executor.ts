/** wait: until every worker listens (Slurm: all numcores of the job), with a timeout. */
import { planExecutor, type CommonOptions } from '@labrig/system-kit';
import type { DaphneConfig } from '../../config.js';
import { waitSteps } from '../../plan.js';
import { definition, reportWorkers } from '../shared.js';

interface WaitOptions extends CommonOptions {
  waitTimeout?: string;
}

export default planExecutor<DaphneConfig, WaitOptions>(definition, 'wait', (sys, o) => waitSteps(sys, o.waitTimeout), { printOutputs: true, after: (sys) => reportWorkers(sys) });
