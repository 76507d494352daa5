import { LabrigError } from '@labrig/core';
import { describe, expect, it } from 'vitest';
import { TestbedError } from './errors.js';
import { ServiceError, requireBin } from './services/common.js';

describe('testbed errors are LabrigErrors', () => {
  it('TestbedError keeps its code and has a hint (the default of its code, or the given one)', () => {
    const e = new TestbedError('NOT_UP', 'no testbed at /x (no state.json)');
    expect(e).toBeInstanceOf(LabrigError);
    expect(e).toMatchObject({ name: 'TestbedError', code: 'NOT_UP', message: 'no testbed at /x (no state.json)', retryable: false });
    expect(e.hint).toBe('Start it with `npx nx run local:up` or `tools/testbed up`.');
    const cause = new Error('boom');
    const p = new TestbedError('PERMISSION', '/a is not traversable', { hint: 'Run `chmod o+x /a`.', cause });
    expect(p.hint).toBe('Run `chmod o+x /a`.');
    expect(p.cause).toBe(cause);
    expect(p.toJSON()).toEqual({ name: 'TestbedError', code: 'PERMISSION', message: '/a is not traversable', hint: 'Run `chmod o+x /a`.' });
  });

  it('ServiceError: the hint is its own field, not part of the message', () => {
    const e = new ServiceError('s3: port 127.0.0.1:1 is already in use', 's3', 'Pass another port.');
    expect(e).toBeInstanceOf(LabrigError);
    expect(e).toMatchObject({ name: 'ServiceError', code: 'SERVICE', service: 's3', hint: 'Pass another port.' });
    expect(e.message).toBe('s3: port 127.0.0.1:1 is already in use');
    expect(new ServiceError('registry: down', 'registry').hint).toMatch(/services\/registry\//);
  });

  it('a missing binary names the Debian package to install', async () => {
    const err = await requireBin('demo', 'labrig-no-such-binary', 'labrig-demo').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServiceError);
    expect(err).toMatchObject({
      message: "demo: 'labrig-no-such-binary' not found in PATH",
      hint: 'Install the Debian package: apt-get install -y labrig-demo',
    });
  });
});
