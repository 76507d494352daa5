/** update: rebuild, redistribute, restart (their update_cluster.sh); slurm-hpc: pull the sandbox again, test. */
import { planClusterUpdate, planSlurmUpdate } from '../../plan.js';
import { cfiddleExecutor, printJupyter, printSlurm } from '../shared.js';

export default cfiddleExecutor('update', (sys, o) => planClusterUpdate(sys, o.dryRun), (sys) => planSlurmUpdate(sys), { cluster: printJupyter, slurm: printSlurm });
