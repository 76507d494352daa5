/** teardown: stop, leave the swarm, remove the exports lines labrig added (slurm-hpc: cancel jobs, remove the chain). */
import { planClusterTeardown, planSlurmTeardown } from '../../plan.js';
import { cfiddleExecutor } from '../shared.js';

export default cfiddleExecutor('teardown', (sys) => planClusterTeardown(sys), (sys) => planSlurmTeardown(sys));
