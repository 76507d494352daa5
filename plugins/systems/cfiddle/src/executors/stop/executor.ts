/** stop: stack rm, then wait until its networks are gone (their stop_cluster.sh, with a timeout). */
import { planClusterStop, planSlurmStop } from '../../plan.js';
import { cfiddleExecutor } from '../shared.js';

export default cfiddleExecutor('stop', (sys) => planClusterStop(sys), (sys) => planSlurmStop(sys));
