/** stop: every host (the first --n), safe to run again. */
import { planExecutor, type CommonOptions } from '@labrig/system-kit';
import { clusterHosts, sigmaos, type SigmaosConfig } from '../../config.js';
import { stopPlan, type ClusterOptions } from '../../plan.js';

export default planExecutor<SigmaosConfig, CommonOptions & ClusterOptions>(sigmaos, 'stop', (sys, o) => stopPlan(sys, clusterHosts(sys.config, sys.inventory, sys.file, o.n)));
