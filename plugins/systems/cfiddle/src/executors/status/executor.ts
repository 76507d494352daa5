/** status: swarm nodes and stack services; slurm-hpc: the partition and the delegate-function chain. */
import { planClusterStatus, planSlurmStatus } from '../../plan.js';
import { cfiddleExecutor } from '../shared.js';

export default cfiddleExecutor('status', (sys) => planClusterStatus(sys), (sys) => planSlurmStatus(sys), undefined, true);
