/** functions-deploy: kn service apply each instance of a functions.json on the master, then the endpoints file. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, OptionError } from '@labrig/core';
import { planExecutor, type CommonOptions } from '@labrig/system-kit';
import { vhiveSystem, type VhiveConfig } from '../../config.js';
import { planFunctionsDeploy, type FunctionSpec, type Sys } from '../../plan.js';

export interface FunctionsDeployOptions extends CommonOptions {
  functions?: string;
}

/** The deployer's functions.json: {functions: [{name, file, count?, eventing?}]}. */
export function readFunctions(sys: Sys, option: string | undefined): FunctionSpec[] {
  const shown = option ?? `${sys.projectRoot}/${sys.config.functions.file}`;
  const path = option ? join(sys.root, option) : join(sys.root, sys.projectRoot, sys.config.functions.file);
  const bad = (problem: string): Error => (option ? new OptionError('functions', option, problem) : new ConfigError(sys.file, 'functions.file', `${shown}: ${problem}`));
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw bad(`a readable functions.json (${(err as Error).message})`);
  }
  const fns = (doc as { functions?: unknown }).functions;
  if (!Array.isArray(fns) || fns.length === 0) throw bad('{"functions": [{"name": …, "file": …, "count": N}]} with at least one function');
  fns.forEach((f: Record<string, unknown>, i) => {
    if (typeof f?.['name'] !== 'string' || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(f['name'])) throw bad(`functions[${i}].name: a Knative service name (lower-case letters, digits, -)`);
    if (typeof f['file'] !== 'string' || f['file'] === '') throw bad(`functions[${i}].file: the service YAML (relative to the checkout)`);
    if (f['count'] !== undefined && (!Number.isInteger(f['count']) || (f['count'] as number) < 1)) throw bad(`functions[${i}].count: a whole number >= 1`);
  });
  return fns as FunctionSpec[];
}

export default planExecutor<VhiveConfig, FunctionsDeployOptions>(vhiveSystem, 'functions-deploy', (sys, o) => planFunctionsDeploy(sys, readFunctions(sys, o.functions)), { printOutputs: true });
