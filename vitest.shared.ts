import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type ViteUserConfig } from 'vitest/config';

const workspaceRoot = dirname(fileURLToPath(import.meta.url));

/**
 * One vitest config for every project: specs beside the code, forked workers (tests start real
 * processes), and a JSON report under dist/test-results/ that tools/test sums into one line.
 */
export function projectTestConfig(projectDir: string, overrides: ViteUserConfig['test'] = {}): ViteUserConfig {
  // Nx names the running project; outside Nx, the folder name stands in.
  const name = process.env.NX_TASK_TARGET_PROJECT ?? basename(projectDir);
  return defineConfig({
    test: {
      include: ['src/**/*.spec.ts'],
      pool: 'forks',
      testTimeout: 60_000,
      hookTimeout: 180_000,
      reporters: ['default', 'json'],
      // Commands started by specs run in their own process unless a spec asks for the labrig agent
      // (packages/engine/src/agent/agent.spec.ts): a spec's temporary workspace leaves no agent behind.
      env: { LABRIG_AGENT: process.env['LABRIG_AGENT'] ?? 'off' },
      outputFile: { json: join(workspaceRoot, 'dist', 'test-results', `${name}.json`) },
      ...overrides,
    },
  });
}
