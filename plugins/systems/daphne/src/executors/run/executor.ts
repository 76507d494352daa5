/** run: one DaphneDSL script (a file, or standard input) by the coordinator with DISTRIBUTED_WORKERS set. */
import { planExecutor } from '@labrig/system-kit';
import type { DaphneConfig } from '../../config.js';
import { runSteps } from '../../plan.js';
import { definition, readScript, type ScriptOptions } from '../shared.js';

export default planExecutor<DaphneConfig, ScriptOptions>(definition, 'run', async (sys, o) => runSteps(sys, await readScript(sys, o)), { printOutputs: true });
