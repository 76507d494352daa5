/** teardown: see executors.json. */
import { planExecutor, type CommonOptions } from '@labrig/system-kit';
import { vhiveSystem } from '../../config.js';
import { planTeardown } from '../../plan.js';

export default planExecutor<import('../../config.js').VhiveConfig, CommonOptions>(vhiveSystem, 'teardown', (sys) => planTeardown(sys));
