/**
 * The link-test target on real testbed hosts: real TCP connects from every host to every other
 * host's cluster address; after one host is killed, the matrix shows the failing pairs and its
 * unknown row, and the target fails.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ExecutorContext } from '@nx/devkit';
import { registerModules } from '@labrig/core';
import { down, kill, type TestbedState } from '@labrig/testbed';
import linkTestExecutor from './executors/link-test/executor.js';
import type { LinkMatrix } from './link-test.js';
import { formatMatrix } from './link-test.js';
import { startTestbed, writeTestbedPlatform } from './testing/testbed.js';
import { makeWorkspace } from './testing/workspace.js';

let root: string;
let state: TestbedState;

/** Run the executor and capture what it printed. */
async function capture(fn: () => Promise<{ success: boolean }>): Promise<{ success: boolean; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (out.push(String(chunk)), true));
  try {
    const r = await fn();
    return { success: r.success, out: out.join('\n'), err: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
    write.mockRestore();
  }
}

const matrixOf = (out: string): LinkMatrix => {
  const line = out.split('\n').find((l) => l.includes('"type":"link-matrix"'));
  if (!line) throw new Error(`no matrix in output:\n${out}`);
  return JSON.parse(line) as LinkMatrix;
};

beforeAll(async () => {
  // A temp workspace cannot resolve the plugin by name: register it as labrig-run does.
  registerModules({ '@labrig/platform-cloudlab': () => import('./index.js') });
  root = makeWorkspace('cl-link');
  state = await startTestbed(root, 3);
  writeTestbedPlatform(root, 'cl', state, '[network]\nsubnet = "127.0.60.0/24"\n[linkTest]\ntimeout = "2s"');
});

afterAll(async () => {
  if (state) await down(state.dir);
  rmSync(root, { recursive: true, force: true });
});

describe('link-test target', () => {
  it('every host reaches every other host: a full matrix of TCP connects', async () => {
    const r = await capture(() => linkTestExecutor({ platform: 'cl', output: 'json' }, { root } as ExecutorContext));
    expect(r.err).toBe('');
    expect(r.success).toBe(true);
    const m = matrixOf(r.out);
    expect(m.targets).toEqual({ 'tb-0': '127.0.60.1:2360', 'tb-1': '127.0.60.2:2360', 'tb-2': '127.0.60.3:2360' });
    expect(m.probes.map((p) => `${p.from}->${p.to} ${p.ok}`).sort()).toEqual(
      ['tb-0->tb-1', 'tb-0->tb-2', 'tb-1->tb-0', 'tb-1->tb-2', 'tb-2->tb-0', 'tb-2->tb-1'].map((x) => `${x} true`),
    );
  });

  it('after a host dies: the pairs to it fail, its own row is unknown, and the target fails', async () => {
    await kill(state, 'tb-2');
    const r = await capture(() => linkTestExecutor({ platform: 'cl', output: 'json' }, { root } as ExecutorContext));
    expect(r.success).toBe(false);
    const m = matrixOf(r.out);
    const result = Object.fromEntries(m.probes.map((p) => [`${p.from}->${p.to}`, p.ok]));
    expect(result).toEqual({ 'tb-0->tb-1': true, 'tb-1->tb-0': true, 'tb-0->tb-2': false, 'tb-1->tb-2': false });
    expect(m.probes.find((p) => p.to === 'tb-2')!.detail).toMatch(/refused/i);
    expect(Object.keys(m.unreachable)).toEqual(['tb-2']);
    const text = formatMatrix(m).split('\n');
    expect(text[0]).toBe('link test (TCP connect to the SSH port of each cluster address): 2 of 4 probes ok');
    expect(text.slice(1, 5)).toEqual(['from \\ to  tb-0  tb-1  tb-2', 'tb-0       -     ok    FAIL', 'tb-1       ok    -     FAIL', 'tb-2       ?     ?     -']);
    expect(text).toContain('FAIL tb-0 -> tb-2 (127.0.60.3:2360): ' + m.probes.find((p) => p.from === 'tb-0' && p.to === 'tb-2')!.detail);
  });

  it('bad options are named', async () => {
    const r = await capture(() => linkTestExecutor({ platform: 'cl', hosts: 'tb-0' }, { root } as ExecutorContext));
    expect(r.success).toBe(false);
    expect(r.err).toMatch(/--hosts.*at least two of: tb-0, tb-1, tb-2/);
  });
});
