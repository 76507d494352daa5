/**
 * deploy: transfer => workers => wait, then (with --script) run, then (with --clean) stop and
 * clean: the seed's `deploy` sweep (its singularity => build => package steps are the image and
 * build targets this one depends on).
 */
import { planExecutor } from '@labrig/system-kit';
import type { DaphneConfig } from '../../config.js';
import { cleanSteps, runSteps, transferSteps, waitSteps, workersSteps } from '../../plan.js';
import { definition, readScript, reportWorkers, type ScriptOptions } from '../shared.js';

interface DeployOptions extends ScriptOptions {
  clean?: boolean;
}

export default planExecutor<DaphneConfig, DeployOptions>(
  definition,
  'deploy',
  async (sys, o) => [
    ...transferSteps(sys),
    ...workersSteps(sys),
    ...waitSteps(sys),
    ...(o.script !== undefined ? runSteps(sys, await readScript(sys, o)) : []),
    ...(o.clean ? cleanSteps(sys) : []),
  ],
  { printOutputs: true, after: (sys, _run, o) => (o.clean ? true : reportWorkers(sys)) },
);
