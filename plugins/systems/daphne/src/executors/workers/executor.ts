/** workers: start the DAPHNE workers (SSH: a process per host:port; Slurm: one job of numcores tasks) and wait until they listen. */
import { planExecutor, type CommonOptions } from '@labrig/system-kit';
import type { DaphneConfig } from '../../config.js';
import { workersSteps } from '../../plan.js';
import { definition, reportWorkers } from '../shared.js';

export default planExecutor<DaphneConfig, CommonOptions>(definition, 'workers', (sys) => workersSteps(sys), { printOutputs: true, after: (sys) => reportWorkers(sys) });
