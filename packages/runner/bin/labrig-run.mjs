#!/usr/bin/env node
// @ts-check
/**
 * labrig-run <package>:<executor> <project> <projectRoot> [--option[=value] ...]
 *
 * A labrig executor as a plain command, outside Nx (scripts, specs, debugging): the same as the
 * Nx executor `@labrig/runner:run` that every inferred labrig target uses. Each argument after
 * the project root is one option, taken byte for byte (see ../lib/launch.mjs).
 */
import { findRoot, launch } from '../lib/launch.mjs';

const [ref, project, projectRoot, ...argv] = process.argv.slice(2);
if (!ref || !project || projectRoot === undefined) {
  process.stderr.write('✖ labrig-run: missing arguments\n  hint: labrig-run <package>:<executor> <project> <projectRoot> [--option[=value] ...]\n');
  process.exit(2);
}
const code = await launch({ root: findRoot(process.cwd()), ref, project, projectRoot, argv });
// Exit now, as Nx does when an executor returns: idle keep-alive sockets (the S3 client's HTTP
// agent) must not hold the command open. Journals are already fsynced; stdout/stderr writes to
// pipes and files are synchronous on Linux.
process.exit(code);
