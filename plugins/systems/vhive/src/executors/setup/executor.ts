/** setup: see executors.json. */
import { planExecutor, type CommonOptions } from '@labrig/system-kit';
import { vhiveSystem } from '../../config.js';
import { planSetup } from '../../plan.js';

export default planExecutor<import('../../config.js').VhiveConfig, CommonOptions>(vhiveSystem, 'setup', (sys) => planSetup(sys));
