/** targets/<name>/system.toml: types, loading (validated against system.schema.json). */
import { join } from 'node:path';
import { ConfigError, didYouMean, loadConfigFile } from '@labrig/core';
import schema from './system.schema.json' with { type: 'json' };

export type EnvValue = string | { secret: string };

export interface Probe {
  port?: number;
  address?: string;
  file?: string;
  command?: string[];
  log?: string;
  timeout: string;
}

export interface RoleSpec {
  hosts: { names?: string[]; indexes?: number[]; platformRoles?: string[]; labels?: Record<string, string> };
  start?: string[];
  ready?: Probe;
  env?: Record<string, EnvValue>;
}

export interface SystemFile {
  system: '@labrig/system-generic';
  version: string;
  description?: string;
  sources: string[];
  build: { command: string[]; outputs: string[]; on?: string; arch?: string; pty: boolean; timeout: string };
  artifacts: { name: string; path: string; roles?: string[]; mode: string }[];
  images: { name: string; files: { src: string; dest: string }[]; entrypoint: string[] }[];
  /** `distribution` unset: the platform's `[artifacts] distribute` decides (plan.ts distributionOf). */
  deploy: { distribution?: 'ssh' | 'store' | 'chain'; dir: string; from: 'controller' | 'build-host' };
  env: Record<string, EnvValue>;
  setup: { name: string; roles?: string[]; command: string[]; check?: string[] }[];
  roles: Record<string, RoleSpec>;
  tasks: Record<string, { role: string; command: string[]; description?: string; timeout: string; params: Record<string, string | number | boolean> }>;
  status?: { command?: string[]; roles?: string[] };
}

export const systemSchema: object = schema;
export const SYSTEM_FILE = 'system.toml';

/** Load targets/<name>/system.toml and check what the schema cannot (role references). */
export function loadSystemFile(root: string, projectRoot: string): SystemFile {
  const file = `${projectRoot}/${SYSTEM_FILE}`;
  const sys = loadConfigFile<SystemFile>(join(root, file), schema, { displayPath: file });
  const roles = Object.keys(sys.roles);
  const unknownRole = (field: string, r: string) => {
    const guess = didYouMean(r, roles);
    return new ConfigError(file, field, `unknown role \`${r}\`${guess ? ` (did you mean \`${guess}\`?)` : ''}; the roles are: ${roles.join(', ')}`, {
      hint: guess ? `Replace \`${r}\` with \`${guess}\` in ${field} in ${file}.` : `Name one of the roles of [roles] (${roles.join(', ')}) in ${field} in ${file}, or add a role \`${r}\`.`,
    });
  };
  const checkRoles = (field: string, names: string[] | undefined) => {
    for (const [i, r] of (names ?? []).entries()) {
      if (!roles.includes(r)) throw unknownRole(`${field}[${i}]`, r);
    }
  };
  sys.artifacts.forEach((a, i) => checkRoles(`artifacts[${i}].roles`, a.roles));
  sys.setup.forEach((s, i) => checkRoles(`setup[${i}].roles`, s.roles));
  checkRoles('status.roles', sys.status?.roles);
  for (const [name, t] of Object.entries(sys.tasks)) {
    if (!roles.includes(t.role)) throw unknownRole(`tasks.${name}.role`, t.role);
  }
  const reserved = ['build', 'push', 'setup', 'deploy', 'stop', 'status', 'logs', 'exec', 'teardown', 'experiment', 'experiment-status', 'results', 'collect', 'noop'];
  for (const name of Object.keys(sys.tasks)) {
    if (reserved.includes(name)) throw new ConfigError(file, `tasks.${name}`, `\`${name}\` is a built-in target; name the task differently`);
  }
  return sys;
}

/** The system's name: its target folder's name. */
export function systemName(projectRoot: string): string {
  return projectRoot.split('/').pop() ?? projectRoot;
}
