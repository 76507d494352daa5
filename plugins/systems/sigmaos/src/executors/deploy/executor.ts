/** deploy: leader first (databases, swarm, network, etcd, kernel), then the followers join and boot. */
import { planExecutor, type CommonOptions } from '@labrig/system-kit';
import { clusterHosts, sigmaos, type SigmaosConfig } from '../../config.js';
import { deployPlan, type ClusterOptions } from '../../plan.js';

export default planExecutor<SigmaosConfig, CommonOptions & ClusterOptions>(sigmaos, 'deploy', (sys, o) =>
  deployPlan(sys, clusterHosts(sys.config, sys.inventory, sys.file, o.n), o),
);
