/**
 * A value captured from one host's output and handed to later steps on other hosts (a join
 * token), through the real engine on this machine (core's LocalConnector, one folder per host):
 * the followers get it, no log or journal holds it (the leader's own output is withheld from its log), a dry run
 * shows where it will come from, and output that does not match fails with what was expected.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalConnector, runSteps, type Host } from '@labrig/core';
import type { PlanContext } from './interpret.js';
import { formatPlan, toEngineSteps, type ActionsOutput } from './interpret.js';
import type { PlannedStep } from './plan.js';

let root: string;
const host = (name: string): Host => ({ name, address: '127.0.0.1', port: 22, user: 'u', roles: [], labels: {} });
const leader = host('leader');
const workers = [host('w1'), host('w2')];
const ctx = { name: 'sys', platform: { name: 'local', platform: {} } } as unknown as PlanContext;
const TOKEN = 'S3CRET-token-4711';

const plan = (pattern: string): PlannedStep[] => [
  {
    name: 'init',
    title: 'init the cluster',
    hosts: [leader],
    // The command makes the token (here: reverses its argument), as `docker swarm join-token` does:
    // the command line itself never holds it.
    actions: () => [{ kind: 'run', argv: ['sh', '-c', 'echo "To join, use token=$(echo "$1" | rev) within 24h"', 'sh', [...TOKEN].reverse().join('')], capture: { name: 'token', pattern, secret: true } }],
  },
  {
    name: 'join',
    title: 'join the workers',
    hosts: workers,
    actions: (_h, out) => [{ kind: 'run', argv: ['sh', '-c', 'echo "joined with $1"', 'sh', out.get('init', 'leader', 'token')] }],
  },
];

function allWritten(dir: string): string {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((d) => d.isFile())
    .map((d) => readFileSync(join(d.parentPath, d.name), 'utf8'))
    .join('\n');
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'labrig-capture-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('captured outputs', () => {
  it('reach the later steps on other hosts, and are redacted from everything logged after the capture', async () => {
    const connector = new LocalConnector({ homeFor: (h) => join(root, 'homes', h.name) });
    const run = await runSteps(toEngineSteps(ctx, plan('token=(\\S+)')), { root, hosts: [leader, ...workers], connector, output: 'plain', stdout: { write: () => true } as never });
    expect(run.ok).toBe(true);
    const joined = run.results.filter((r) => r.step === 'join').map((r) => (r.output as ActionsOutput).stdout.trim());
    expect(joined).toEqual([`joined with ${TOKEN}`, `joined with ${TOKEN}`]);
    expect((run.results.find((r) => r.step === 'init')!.output as ActionsOutput).captured).toEqual({ token: TOKEN });
    // No journal or log shows it: not the followers' (redacted), not the leader's own step log,
    // which records that the command's output was withheld (it printed the token before it was known).
    const runDir = join(root, '.labrig/runs', run.id);
    expect(readFileSync(join(runDir, 'journal.jsonl'), 'utf8')).not.toContain(TOKEN);
    for (const w of [leader, ...workers]) expect(allWritten(join(runDir, 'logs', w.name))).not.toContain(TOKEN);
    expect(allWritten(join(runDir, 'logs', leader.name))).toMatch(/# stdout withheld: it holds a secret \(\d+ bytes\)\n# exit 0/);
    expect((run.results.find((r) => r.step === 'init')!.output as ActionsOutput).stdout).toBe('');
    await connector.close();
  });

  it('a dry run shows where the value will come from', () => {
    const text = formatPlan(ctx, 'deploy', plan('token=(\\S+)'));
    expect(text).toContain("keep secret token from /token=(\\S+)/");
    expect(text).toContain("run sh -c 'echo \"joined with $1\"' sh '<token from init on leader>'");
  });

  it('output that does not match fails the step with what was expected', async () => {
    const connector = new LocalConnector({ homeFor: (h) => join(root, 'homes2', h.name) });
    const run = await runSteps(toEngineSteps(ctx, plan('join-token: (\\S+)')), { root, hosts: [leader, ...workers], connector, output: 'plain', stdout: { write: () => true } as never });
    expect(run.ok).toBe(false);
    const init = run.results.find((r) => r.step === 'init')!;
    expect(init.status).toBe('failed');
    expect(String(init.error?.message ?? init.error)).toMatch(/expected output matching \/join-token: \(\\S\+\)\/ to capture "token"/);
    expect(run.results.filter((r) => r.step === 'join' && r.status === 'ok')).toHaveLength(0);
    await connector.close();
  });
});
