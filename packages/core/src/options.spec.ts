import { describe, expect, it } from 'vitest';
import { OptionError } from './errors.js';
import { normalizeFailurePolicy, parseDuration, parseFailurePolicy, parseOutputMode, resolveOutputMode } from './options.js';

describe('options', () => {
  it('parses failure policies', () => {
    expect(parseFailurePolicy('fail-fast')).toEqual({ kind: 'fail-fast' });
    expect(parseFailurePolicy('continue')).toEqual({ kind: 'continue' });
    expect(parseFailurePolicy('max-fail=10%')).toEqual({ kind: 'max-fail', percent: 10 });
    expect(parseFailurePolicy('max-fail=2.5')).toEqual({ kind: 'max-fail', percent: 2.5 });
    expect(normalizeFailurePolicy(undefined)).toEqual({ kind: 'fail-fast' });
  });

  it('rejects bad policies naming the option and the value', () => {
    for (const bad of ['max-fail=150%', 'failfast', 'max-fail=', '']) {
      let err: unknown;
      try {
        parseFailurePolicy(bad);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(OptionError);
      expect((err as Error).message).toContain('--failure-policy');
      expect((err as Error).message).toContain(JSON.stringify(bad));
    }
  });

  it('parses durations', () => {
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('1500ms')).toBe(1500);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration(250)).toBe(250);
    expect(parseDuration('250')).toBe(250);
    expect(() => parseDuration('5 minutes')).toThrow(/--timeout: got "5 minutes"/);
    expect(() => parseDuration('s')).toThrow(OptionError);
    expect(() => parseDuration(-1)).toThrow(OptionError);
  });

  it('parses and resolves output modes', () => {
    expect(parseOutputMode('json')).toBe('json');
    expect(() => parseOutputMode('fancy')).toThrow(/--output/);
    expect(resolveOutputMode('auto', { isTTY: true, ci: false })).toBe('tty');
    expect(resolveOutputMode('auto', { isTTY: true, ci: true })).toBe('plain');
    expect(resolveOutputMode('auto', { isTTY: false, ci: false })).toBe('plain');
    expect(resolveOutputMode('json', { isTTY: true, ci: false })).toBe('json');
  });
});
