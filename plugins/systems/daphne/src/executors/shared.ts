/** What the DAPHNE executors share: the system definition, reading a script, printing the worker list. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { OptionError } from '@labrig/core';
import type { CommonOptions } from '@labrig/system-kit';
import { mode, sshDistributedWorkers, type RunInput, type Sys } from '../plan.js';

export { definition } from '../config.js';

export interface ScriptOptions extends CommonOptions {
  /** A DaphneDSL script file (relative to the workspace root), or `-` for standard input. */
  script?: string;
  /** Script arguments: comma-separated (the seed's --args) or a list. */
  args?: string | string[];
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new OptionError('script', '-', 'a DaphneDSL script file, or a script piped on standard input (stdin is a terminal)');
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(String(c)));
  return Buffer.concat(chunks).toString('utf8');
}

export function scriptArgs(a: string | string[] | undefined): string[] {
  if (a === undefined) return [];
  return Array.isArray(a) ? a : a.split(',').filter((x) => x !== '');
}

/** The script to run: a file, or standard input (not read in a dry run). */
export async function readScript(sys: Sys, o: ScriptOptions): Promise<RunInput> {
  const args = scriptArgs(o.args);
  const s = o.script ?? '-';
  if (s === '-') {
    if (o.dryRun) return { text: '', label: 'the script on standard input', args };
    const text = await readStdin();
    if (text.trim() === '') throw new OptionError('script', '-', 'a DaphneDSL script (standard input was empty)');
    return { text, label: 'the script from standard input', args };
  }
  const file = resolve(sys.root, s);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new OptionError('script', s, `a readable DaphneDSL script file (looked at ${file})`);
  }
  return { text, label: s, args };
}

/** SSH mode: print DISTRIBUTED_WORKERS and keep it in .labrig/daphne/<system>.<platform>.env for a coordinator started by hand. */
export function reportWorkers(sys: Sys): boolean {
  if (mode(sys) !== 'ssh') return true;
  const list = sshDistributedWorkers(sys);
  const dir = join(sys.root, '.labrig', 'daphne');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${sys.name}.${sys.platform.name}.env`);
  writeFileSync(file, `DISTRIBUTED_WORKERS=${list}\n`);
  console.log(`DISTRIBUTED_WORKERS=${list}`);
  console.log(`(also in ${file.slice(sys.root.length + 1)})`);
  return true;
}
