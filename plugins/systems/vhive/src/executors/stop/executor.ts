/** stop: the cluster script and the daemons on every node (the cluster state and checkouts stay; teardown also cleans). */
import { planExecutor, type CommonOptions } from '@labrig/system-kit';
import { vhiveSystem, type VhiveConfig } from '../../config.js';
import { planStop } from '../../plan.js';

export default planExecutor<VhiveConfig, CommonOptions>(vhiveSystem, 'stop', (sys) => planStop(sys));
