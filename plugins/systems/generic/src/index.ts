/**
 * @labrig/system-generic — any system described in its targets/<name>/system.toml.
 * Its targets (build, push, setup, deploy, stop, status, logs, exec, teardown, experiments, one per
 * task; one configuration per platform) are declared in its package.json (labrig.system) and made
 * by @labrig/system-kit/nx.
 */
export { loadSystemFile, systemSchema, type SystemFile } from './system-file.js';
export { openSystem, type SystemContext } from './context.js';
export { planSetup, planDeploy, planStop, planStatus, planTask, type PlannedStep, type Action } from './plan.js';
export { formatPlan, runPlanned, toEngineSteps } from '@labrig/system-kit';
