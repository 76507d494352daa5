/** The local (no platform) side: the system file alone, the container runtime, templates. */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { ExecutorContext } from '@nx/devkit';
import { ConfigError, LabrigError, loadConfigFile } from '@labrig/core';
import { projectRootOf } from '@labrig/system-kit';
import { configSchema, validate, type DaphneConfig } from '../config.js';

export interface LocalSystem {
  root: string;
  projectRoot: string;
  name: string;
  file: string;
  config: DaphneConfig;
  /** dist/<projectRoot>: the build's (cached) output folder. */
  outDir: string;
}

export function openLocal(context: ExecutorContext): LocalSystem {
  const projectRoot = projectRootOf(context);
  const file = `${projectRoot}/system.toml`;
  const config = loadConfigFile<DaphneConfig>(join(context.root, file), configSchema, { displayPath: file });
  validate(config, file);
  return { root: context.root, projectRoot, name: projectRoot.split('/').pop()!, file, config, outDir: join(context.root, 'dist', projectRoot) };
}

/** No Singularity/Apptainer where a container is asked for. */
export class ContainerRuntimeMissing extends LabrigError {
  readonly code = 'CONTAINER_RUNTIME_MISSING';
  constructor(file: string, what: string) {
    super(`${what} needs a container runtime, but neither singularity nor apptainer is on PATH here (${file}: container.enabled = true, container.runtime = "auto")`, {
      hint: 'Install Apptainer (https://apptainer.org) or SingularityCE, or set container.runtime to its path, or set container.enabled = false in the system file to build without a container.',
    });
  }
}

function onPath(cmd: string): string | undefined {
  const dirs = cmd.includes('/') ? [''] : (process.env['PATH'] ?? '').split(delimiter);
  for (const d of dirs) {
    const p = d ? join(d, cmd) : cmd;
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** The container runtime to use here: `auto` = singularity, else apptainer. */
export function localRuntime(sys: LocalSystem, what: string): string {
  const rt = sys.config.container.runtime;
  if (rt === 'auto') {
    const found = onPath('singularity') ?? onPath('apptainer');
    if (!found) throw new ContainerRuntimeMissing(sys.file, what);
    return found;
  }
  const found = onPath(rt);
  if (!found) throw new ConfigError(sys.file, 'container.runtime', `${JSON.stringify(rt)} is not an executable on PATH here`, { hint: 'Give the path of singularity or apptainer, or "auto".' });
  return found;
}

/** `{out}` in build.command and package.dir. */
export const expand = (s: string, out: string): string => s.replaceAll('{out}', out);
