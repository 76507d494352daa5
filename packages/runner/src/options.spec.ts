import { describe, expect, it } from 'vitest';
import { OptionError } from '@labrig/core';
import { parseOptions, type OptionsSchema } from './options.js';

const schema: OptionsSchema = {
  properties: {
    platform: { type: 'string' },
    dryRun: { type: 'boolean', default: false },
    output: { type: 'string', enum: ['auto', 'tty', 'plain', 'json'], default: 'auto' },
    concurrency: { type: 'integer', minimum: 1 },
    timeout: { type: 'string', pattern: '^0*[1-9][0-9]*(ms|s|m|h)$' },
    cmd: { type: 'string' },
  },
};

function optionError(argv: string[], s: OptionsSchema = schema): OptionError {
  try {
    parseOptions(argv, s);
  } catch (e) {
    expect(e).toBeInstanceOf(OptionError);
    return e as OptionError;
  }
  throw new Error(`parseOptions(${JSON.stringify(argv)}) did not throw`);
}

describe('parseOptions', () => {
  it('reads kebab and camel names, = and separate values, booleans, and fills defaults', () => {
    expect(parseOptions(['--platform=local', '--dry-run', '--concurrency', '4', '--cmd', 'uptime -p'], schema)).toEqual({
      platform: 'local',
      dryRun: true,
      concurrency: 4,
      cmd: 'uptime -p',
      output: 'auto',
    });
    expect(parseOptions(['--dryRun=false', '--output=json'], schema)).toEqual({ dryRun: false, output: 'json' });
    expect(parseOptions(['--no-dry-run'], schema)).toEqual({ dryRun: false, output: 'auto' });
  });

  it('keeps a value that contains = and spaces', () => {
    expect(parseOptions(['--cmd=echo a=b  c'], schema)['cmd']).toBe('echo a=b  c');
  });

  it('names an unknown option and lists the known ones', () => {
    const e = optionError(['--dryrun']);
    expect(e.option).toBe('dryrun');
    expect(e.message).toContain('--dry-run');
    expect(e.message).toContain('--concurrency');
  });

  it('rejects a bad enum value, a non-integer, a value below the minimum and a pattern mismatch', () => {
    expect(optionError(['--output=fancy']).message).toMatch(/--output: got "fancy", expected one of auto \| tty \| plain \| json/);
    expect(optionError(['--concurrency=2.5']).option).toBe('concurrency');
    expect(optionError(['--concurrency=0']).message).toContain('>= 1');
    expect(optionError(['--timeout=10 minutes']).message).toBe('option --timeout: got "10 minutes", expected a duration above zero (a whole number and ms, s, m or h, e.g. 500ms, 30s, 5m, 1h)');
    expect(optionError(['--timeout=0s']).message).toContain('expected a duration above zero');
    expect(optionError(['--dry-run=maybe']).option).toBe('dry-run');
  });

  it('wants a value for a non-boolean option and reports a positional argument', () => {
    expect(optionError(['--cmd']).option).toBe('cmd');
    expect(optionError(['--cmd', '--dry-run']).option).toBe('cmd');
    expect(optionError(['uptime']).message).toContain('"uptime"');
  });

  it('reports a missing required option', () => {
    const e = optionError([], { properties: { task: { type: 'string' } }, required: ['task'] });
    expect(e.option).toBe('task');
    expect(e.message).toContain('required');
  });
});
