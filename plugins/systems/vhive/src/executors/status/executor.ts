/** status: the daemons on each node, and kubectl get nodes on the master. */
import { planExecutor, type CommonOptions } from '@labrig/system-kit';
import { vhiveSystem, type VhiveConfig } from '../../config.js';
import { planStatus } from '../../plan.js';

export default planExecutor<VhiveConfig, CommonOptions>(vhiveSystem, 'status', (sys) => planStatus(sys), { printOutputs: true });
