/**
 * The labrig engine program: one file (bundled by @labrig/runner's lib/program.mjs as
 * `labrig-engine-<sha>.cjs`), three modes.
 *
 *   node labrig-engine-<sha>.cjs agent <workspace root> [--idle=<ms>]
 *       the labrig agent on this machine (./agent/agent.ts)
 *   node labrig-engine-<sha>.cjs coordinator <folder> [--handoff=<id>] [--secrets=stdin]
 *       the coordinator of a sweep on a deployed host (@labrig/experiments coordinator/main.ts)
 *   node labrig-engine-<sha>.cjs link <socket>
 *       copies bytes between stdin/stdout and an engine's unix socket: how a client on another
 *       machine speaks the link protocol to a coordinator, over one SSH channel
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { flushOutput } from '@labrig/core';
import { coordinatorMain } from '@labrig/experiments/coordinator';
import { runAgent } from './agent/agent.js';
import { bridgeLink } from './link-bridge.js';
import { coordinatorLink } from './coordinator-link.js';

const USAGE = 'usage: labrig-engine agent <workspace root> [--idle=<ms>] | coordinator <folder> [--handoff=<id>] [--secrets=stdin] | link <socket>';

/** The sha256 of this program file (its name carries the first 12 hex; the agent states it whole). */
function programDigest(): string {
  return createHash('sha256').update(readFileSync(process.argv[1]!)).digest('hex');
}

async function main(argv: string[]): Promise<number> {
  const [mode, target, ...rest] = argv;
  if (mode === 'agent' && target) {
    const idle = rest.find((a) => a.startsWith('--idle='))?.slice('--idle='.length);
    const idleMs = idle !== undefined && /^\d+$/.test(idle) ? Number(idle) : 10 * 60_000;
    return runAgent({ root: target, idleMs, program: programDigest() });
  }
  if (mode === 'coordinator' && target) return coordinatorMain([target, ...rest], coordinatorLink(programDigest()));
  if (mode === 'link' && target) return bridgeLink(target);
  console.error(USAGE);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    flushOutput();
    process.exit(code);
  },
  (e: unknown) => {
    console.error((e as Error).stack ?? String(e));
    flushOutput();
    process.exit(1);
  },
);
