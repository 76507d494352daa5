/** status: the containers (and swarm state) of every host, printed `[host] line`. */
import { planExecutor, type CommonOptions } from '@labrig/system-kit';
import { clusterHosts, sigmaos, type SigmaosConfig } from '../../config.js';
import { statusPlan, type ClusterOptions } from '../../plan.js';

export default planExecutor<SigmaosConfig, CommonOptions & ClusterOptions>(sigmaos, 'status', (sys, o) => statusPlan(sys, clusterHosts(sys.config, sys.inventory, sys.file, o.n)), {
  printOutputs: true,
});
