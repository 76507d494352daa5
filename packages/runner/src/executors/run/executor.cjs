// @ts-check
'use strict';
/**
 * The Nx executor of every inferred labrig target: runs a labrig executor from the runner's
 * cached bundle (../../../lib/launch.mjs), in the process Nx forked for the task.
 *
 * Options never pass through a shell. The options the user typed arrive as Nx received them
 * (`commandLine`, filled by Nx with the task's unparsed command-line arguments, byte for byte: no
 * number or boolean coercion, no quoting); the target's fixed options and its configuration's
 * come from the target definition in the project graph (so a typed option cannot replace them).
 * Later options win: fixed, then configuration, then command line.
 *
 * Plain JavaScript on purpose: Nx loads a TypeScript executor through a transpiler on every task.
 */
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');

/**
 * @typedef {object} RunOptions
 * @property {string} executor `<package>:<executor>` to run
 * @property {string} projectRoot the project's folder, relative to the workspace root
 * @property {string[]} [args] fixed options, `--name=value` each
 * @property {string[]} [commandLine] the task's command-line arguments, as typed
 */

/**
 * @typedef {object} NormalizedRunOptions
 * @property {string} root
 * @property {string} ref
 * @property {string} project
 * @property {string} projectRoot
 * @property {string[]} argv
 */

/**
 * Pure: what to launch, from the options Nx combined and the target definition.
 * @param {Partial<RunOptions>} options
 * @param {{ root: string, projectName?: string, configurationName?: string, target?: { options?: Partial<RunOptions>, configurations?: Record<string, Partial<RunOptions>> } }} context
 * @returns {NormalizedRunOptions}
 */
function normalizeOptions(options, context) {
  const fixed = context.target?.options ?? options;
  const configuration = context.configurationName ? (context.target?.configurations?.[context.configurationName] ?? {}) : {};
  const ref = fixed.executor;
  const projectRoot = fixed.projectRoot;
  if (typeof ref !== 'string' || !ref.includes(':')) throw new Error(`option "executor": expected <package>:<executor>, got ${JSON.stringify(ref)}`);
  if (typeof projectRoot !== 'string') throw new Error(`option "projectRoot": expected the project folder, got ${JSON.stringify(projectRoot)}`);
  const strings = (/** @type {string} */ name, /** @type {unknown} */ v) => {
    if (v === undefined) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new Error(`option "${name}": expected an array of strings, got ${JSON.stringify(v)}`);
    return /** @type {string[]} */ (v);
  };
  return {
    root: context.root,
    ref,
    project: context.projectName ?? '',
    projectRoot,
    argv: [...strings('args', fixed.args), ...strings('args', configuration.args), ...strings('commandLine', options.commandLine)],
  };
}

/**
 * @param {Partial<RunOptions>} options
 * @param {Parameters<typeof normalizeOptions>[1]} context
 * @returns {Promise<{ success: boolean }>}
 */
async function runExecutor(options, context) {
  const o = normalizeOptions(options, context);
  /** @type {typeof import('../../../lib/launch.mjs')} */
  const { launch } = await import(pathToFileURL(join(__dirname, '../../../lib/launch.mjs')).href);
  const code = await launch({ root: o.root, ref: o.ref, project: o.project, projectRoot: o.projectRoot, argv: o.argv });
  return { success: code === 0 };
}

module.exports = runExecutor;
module.exports.default = runExecutor;
module.exports.normalizeOptions = normalizeOptions;
