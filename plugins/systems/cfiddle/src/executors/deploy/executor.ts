/** deploy: the whole CFiddle cluster (SSH cluster) or the sandbox + delegate-function chain (slurm-hpc). */
import { planClusterDeploy, planSlurmDeploy } from '../../plan.js';
import { cfiddleExecutor, printJupyter, printSlurm } from '../shared.js';

export default cfiddleExecutor('deploy', (sys, o) => planClusterDeploy(sys, o.dryRun), (sys) => planSlurmDeploy(sys), { cluster: printJupyter, slurm: printSlurm });
