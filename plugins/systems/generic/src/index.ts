/**
 * @labrig/system-generic — any system described in its targets/<name>/system.toml.
 * As an Nx plugin it turns each such file into a project with build, push, setup, deploy, stop,
 * status, logs, exec, teardown and one target per task; one configuration per platform.
 */
export { createNodesV2 } from './nodes.js';
export { loadSystemFile, systemSchema, type SystemFile } from './system-file.js';
export { openSystem, type SystemContext } from './context.js';
export { planSetup, planDeploy, planStop, planStatus, planTask, type PlannedStep, type Action } from './plan.js';
export { formatPlan, runPlanned, toEngineSteps } from './interpret.js';
