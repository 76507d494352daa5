/** deploy: see executors.json. */
import { planExecutor, type CommonOptions } from '@labrig/system-kit';
import { vhiveSystem } from '../../config.js';
import { planDeploy } from '../../plan.js';

export default planExecutor<import('../../config.js').VhiveConfig, CommonOptions>(vhiveSystem, 'deploy', (sys) => planDeploy(sys));
