/**
 * For the specs here: a temporary workspace (under the repository's tmp/, node_modules linked to
 * the repository's) where the real `nx` CLI runs labrig's inferred targets, Nx's cache and data
 * kept inside it, and a testbed of real sshd hosts for its platform files.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createGeneratorWorkspace, type GeneratorWorkspace } from '../../packages/core/src/generators/generator-workspace.js';

export type { CommandResult } from '../../packages/core/src/generators/generator-workspace.js';

export interface E2eWorkspace extends GeneratorWorkspace {
  /** Write a file (folders made), relative to the workspace. */
  write(rel: string, text: string | Buffer): void;
}

export function createE2eWorkspace(prefix: string): E2eWorkspace {
  const ws = createGeneratorWorkspace(prefix);
  return {
    ...ws,
    write(rel, text) {
      mkdirSync(dirname(join(ws.dir, rel)), { recursive: true });
      writeFileSync(join(ws.dir, rel), text);
    },
  };
}

/** A fresh testbed folder outside the workspace (world-readable: the hosts' users read their keys there). */
export function testbedDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), `labrig-e2e-${prefix}-`));
  chmodSync(d, 0o755);
  return d;
}

/** A `local` platform file for a testbed of `hosts` sshd hosts at `addressBase`:`port`. */
export function localPlatformFile(o: { dir: string; hosts: number; addressBase: string; port: number; extra?: string[] }): string {
  return [
    'platform = "@labrig/platform-local"',
    '[testbed]',
    `hosts = ${o.hosts}`,
    `dir = ${JSON.stringify(o.dir)}`,
    `addressBase = "${o.addressBase}"`,
    `port = ${o.port}`,
    ...(o.extra ?? []),
    '',
  ].join('\n');
}

/** Stop the labrig agent a spec started in its workspace (SIGTERM to the pid in `.labrig/agent/agent.pid`). */
export function stopAgent(dir: string | undefined): void {
  const pidFile = dir && join(dir, '.labrig/agent/agent.pid');
  if (!pidFile || !existsSync(pidFile)) return;
  try {
    process.kill(Number((JSON.parse(readFileSync(pidFile, 'utf8')) as { pid: number }).pid), 'SIGTERM');
  } catch {
    /* already gone */
  }
}
