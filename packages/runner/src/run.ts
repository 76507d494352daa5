/**
 * The runner's side inside the bundle: parse the command-line options against the executor's
 * schema (as Nx would), build the executor context, register the bundled platform modules with
 * core's module loader, run the executor, turn its result into an exit status.
 *
 * It installs core's interrupt handlers (a stop signal aborts the run in flight: ../../core/src/interrupt.ts).
 * First of all it installs core's output redaction (once per process): everything the executor,
 * the platform modules and Nx print from here on goes through the process-wide secret registry,
 * the same list the step logs and the journal are redacted with (docs/architecture.md, Secrets).
 */
import type { ExecutorContext } from '@nx/devkit';
import { flushOutput, installInterruptHandlers, installOutputRedaction, interruptExitCode, registerModules, reportError } from '@labrig/core';
import { parseOptions, type OptionsSchema } from './options.js';

export type Executor = (options: Record<string, unknown>, context: ExecutorContext) => Promise<{ success: boolean }>;

export interface RunExecutorArgs {
  root: string;
  /** `<package>:<executor>`, for messages. */
  ref: string;
  project: string;
  projectRoot: string;
  /** Options as given on the command line (`--dry-run`, `--output=plain`, `--platform=local`). */
  argv: string[];
  executor: Executor;
  schema: OptionsSchema;
  modules: Record<string, () => Promise<unknown>>;
}

/** The executor context labrig's executors read (root, project name and root, configuration). */
export function executorContext(a: { root: string; project: string; projectRoot: string; configuration?: string }): ExecutorContext {
  return {
    root: a.root,
    cwd: process.cwd(),
    isVerbose: false,
    projectName: a.project,
    ...(a.configuration ? { configurationName: a.configuration } : {}),
    projectsConfigurations: { version: 2, projects: { [a.project]: { root: a.projectRoot } } },
    nxJsonConfiguration: {},
    projectGraph: { nodes: {}, dependencies: {} },
  } as ExecutorContext;
}

/** Run one executor; resolves to the process exit status (0 success, 1 failure, 2 bad options). */
export async function runExecutor(a: RunExecutorArgs): Promise<number> {
  installOutputRedaction();
  // Ctrl-C (SIGINT), Nx ending the task (SIGTERM) or the terminal closing (SIGHUP) stop what runs
  // on the hosts and journal it, instead of killing this process and orphaning remote commands.
  installInterruptHandlers();
  try {
    const code = await runRedacted(a);
    return code === 0 ? 0 : (interruptExitCode() ?? code);
  } finally {
    flushOutput(); // nothing held back is left when the caller exits (process.exit, or Nx ending the task)
  }
}

async function runRedacted(a: RunExecutorArgs): Promise<number> {
  let options: Record<string, unknown>;
  try {
    options = parseOptions(a.argv, a.schema);
  } catch (err) {
    reportError(err);
    return 2;
  }
  registerModules(a.modules);
  const platform = typeof options['platform'] === 'string' ? options['platform'] : undefined;
  const context = executorContext({ root: a.root, project: a.project, projectRoot: a.projectRoot, ...(platform ? { configuration: platform } : {}) });
  try {
    const result = await a.executor(options, context);
    return result.success ? 0 : 1;
  } catch (err) {
    reportError(err);
    return 1;
  }
}
