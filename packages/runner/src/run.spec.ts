import { afterEach, describe, expect, it } from 'vitest';
import { addSecret, installOutputRedaction, resetSecretsForTests } from '@labrig/core';
import { runExecutor, type Executor } from './run.js';

type Write = typeof process.stdout.write;

afterEach(() => resetSecretsForTests());

// (The executor's thrown error goes to console.error, which the test runner captures apart: core's
// reportError redacts it itself, see packages/core/src/render.)
describe('runExecutor', () => {
  it('redacts what the executor prints (stdout and stderr) with the process-wide secret registry', async () => {
    const seen: string[] = [];
    const [out, err] = [process.stdout.write, process.stderr.write];
    process.stdout.write = ((c: unknown) => (seen.push(`out:${String(c)}`), true)) as Write;
    process.stderr.write = ((c: unknown) => (seen.push(`err:${String(c)}`), true)) as Write;
    try {
      const executor: Executor = async () => {
        addSecret('s3cr"t-from-env');
        process.stdout.write('[tb-1] TOKEN=s3cr"t-');
        process.stdout.write('from-env\n');
        process.stderr.write(`${JSON.stringify({ t: 's3cr"t-from-env' })}\n`);
        throw new Error('failed with s3cr"t-from-env');
      };
      const code = await runExecutor({ root: '.', ref: 'x:y', project: 'p', projectRoot: 'p', argv: [], executor, schema: { properties: {} }, modules: {} });
      expect(code).toBe(1);
      installOutputRedaction().uninstall();
    } finally {
      process.stdout.write = out;
      process.stderr.write = err;
    }
    const text = seen.join('');
    expect(text).not.toContain('s3cr"t');
    expect(text).not.toContain('s3cr\\"t');
    expect(seen.slice(0, 3)).toEqual(['out:[tb-1] TOKEN=', 'out:***\n', 'err:{"t":"***"}\n']);
  });
});
