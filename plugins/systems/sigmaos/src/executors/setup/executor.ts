/** setup: prepare every host (cloud-init, packages, clone, credentials, limits); skipped where done. */
import { planExecutor, type CommonOptions } from '@labrig/system-kit';
import { clusterHosts, sigmaos, type SigmaosConfig } from '../../config.js';
import { setupPlan, type ClusterOptions } from '../../plan.js';

export default planExecutor<SigmaosConfig, CommonOptions & ClusterOptions>(sigmaos, 'setup', (sys, o) =>
  setupPlan(sys, clusterHosts(sys.config, sys.inventory, sys.file, o.n), o),
);
