export { runExecutor, executorContext, type Executor, type RunExecutorArgs } from './run.js';
export { parseOptions, type OptionsSchema } from './options.js';
export { runnerTarget, type RunnerTargetOptions } from './target.js';
