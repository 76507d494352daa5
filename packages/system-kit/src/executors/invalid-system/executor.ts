/**
 * The targets of a system project whose system file names no installed system plugin (missing,
 * unreadable, invalid TOML, no `system`, a misspelled or uninstalled module): each reports that
 * file's one ConfigError, so a bad system file fails only its own project's commands.
 */
import { ConfigError, installedPlugins, moduleError, parseToml, readConfigText, reportError } from '@labrig/core';
import { readSystemMeta } from '../../nodes.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';

export interface InvalidSystemOptions {
  /** The system file, relative to the workspace root (set by the target). */
  file: string;
}

/** Why `file` gives its project no plugin: the ConfigError a user should see. */
export function systemFileError(root: string, file: string): ConfigError {
  const example = 'e.g. system = "@labrig/system-generic" (targets/demo/system.toml is a complete example)';
  let data: Record<string, unknown>;
  try {
    const text = readConfigText(join(root, file), { displayPath: file });
    if (text.trim() === '') return new ConfigError(file, 'system', 'the file is empty', { hint: `Name the system plugin in ${file}, ${example}.` });
    data = parseToml(text, file);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  const module = data['system'];
  if (typeof module !== 'string' || module === '') {
    return new ConfigError(file, 'system', module === undefined ? 'missing required field `system` (the system plugin module)' : `expected the system plugin's module name, got ${JSON.stringify(module)}`, {
      hint: `Set it in ${file}, ${example}.`,
    });
  }
  try {
    createRequire(join(root, 'package.json')).resolve(`${module}/package.json`);
  } catch (cause) {
    // A package whose `exports` hide its package.json is still installed.
    if (!existsSync(join(root, 'node_modules', module, 'package.json'))) return moduleError(root, file, 'system', module, cause);
  }
  if (!readSystemMeta(root, module)) {
    const installed = installedPlugins(root, 'system');
    return new ConfigError(file, 'system', `"${module}" is installed but is not a labrig system plugin (its package.json has no "labrig": { "system": ... } section)`, {
      hint: `Use a system plugin${installed.length ? ` (installed: ${installed.join(', ')})` : ''}, or declare the plugin's targets in its package.json (docs/plugins.md).`,
    });
  }
  return new ConfigError(file, 'system', `the project's targets are out of date with "${module}"`, { hint: 'Run `npx nx reset` so Nx reads the project again.' });
}

export default async function invalidSystemExecutor(o: InvalidSystemOptions, context: { root: string }): Promise<{ success: boolean }> {
  return reportError(systemFileError(context.root, o.file));
}
