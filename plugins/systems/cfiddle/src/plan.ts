/**
 * cfiddle's plans: the whole CFiddle cluster on an SSH cluster (cluster-plan.ts) or the sandbox and
 * delegate-function configuration on an existing Slurm cluster (slurm-plan.ts); what both share is
 * in common.ts.
 */
export * from './common.js';
export * from './cluster-plan.js';
export * from './slurm-plan.js';
