import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError } from './errors.js';
import { REDACTED } from './redact.js';
import { reportError } from './render/report-error.js';
import { addSecret, addSecrets, redactSecrets, resetSecretsForTests, secretCount, secretForms, secretRedactor, stringifyRedacted } from './secrets.js';

afterEach(() => resetSecretsForTests());

describe('the secret registry', () => {
  it('starts empty (identity) and ignores empty values', () => {
    addSecrets(['', undefined, null]);
    expect(secretCount()).toBe(0);
    expect(secretRedactor().active).toBe(false);
    expect(redactSecrets('nothing to hide')).toBe('nothing to hide');
  });

  it('hides every registered secret from text, values and streams, for every reader at once', () => {
    const r = secretRedactor();
    const before = r.stream();
    addSecret('tok-123');
    addSecret('tok-123'); // once is enough
    expect(secretCount()).toBe(1);
    expect(redactSecrets('a tok-123 b')).toBe(`a ${REDACTED} b`);
    expect(r.redactValue({ x: ['tok-123'], n: 1 })).toEqual({ x: [REDACTED], n: 1 });
    // A stream opened before the secret was registered follows the registry.
    expect(before.write('x tok-') + before.write('123 y') + before.end()).toBe(`x ${REDACTED} y`);
    r.add('other-secret');
    expect(redactSecrets('other-secret')).toBe(REDACTED);
  });

  it('registers the forms a secret takes in JSON and in single-quoted shell text', () => {
    const s = `a"b\\c'd`;
    const once = `a"b\\c'\\''d`;
    const twice = `a"b\\c'\\''\\'\\'''\\''d`;
    expect(secretForms(s)).toEqual([s, once, twice, `a\\"b\\\\c'd`, JSON.stringify(once).slice(1, -1), JSON.stringify(twice).slice(1, -1)]);
    expect(secretForms('plain')).toEqual(['plain']);
    addSecret(s);
    expect(redactSecrets(JSON.stringify({ t: s }))).toBe(`{"t":"${REDACTED}"}`);
    expect(redactSecrets(`echo 'a"b\\c'\\''d'`)).toBe(`echo '${REDACTED}'`);
    // Quoted twice: `sh -c 'exec env '\''K=…'\'' cmd'`.
    expect(redactSecrets(`sh -c 'env '\\''K=${twice}'\\'' x'`)).toBe(`sh -c 'env '\\''K=${REDACTED}'\\'' x'`);
  });

  it('stringifyRedacted redacts before serialising, classes and Maps included via their JSON form', () => {
    const s = 'p"w\\1';
    addSecret(s);
    class Box {
      constructor(readonly v: string) {}
    }
    const text = stringifyRedacted({ out: new Box(`x${s}y`), list: [s], m: Object.fromEntries(new Map([['k', s]])) });
    expect(text).not.toContain('p"w');
    expect(text).not.toContain(JSON.stringify(s).slice(1, -1));
    expect(JSON.parse(text)).toEqual({ out: { v: `x${REDACTED}y` }, list: [REDACTED], m: { k: REDACTED } });
    expect(stringifyRedacted(undefined)).toBe('null');
    expect(stringifyRedacted({ a: 1 }, 2)).toBe('{\n  "a": 1\n}');
  });

  it('is shared by every copy of the module in the process (it lives on globalThis)', async () => {
    addSecret('shared-secret');
    // A second copy of the module (as a bundle and a plugin loaded beside it would have).
    vi.resetModules();
    const copy = await import('./secrets.js');
    expect(copy.addSecret).not.toBe(addSecret);
    expect(copy.redactSecrets('shared-secret')).toBe(REDACTED);
    copy.addSecret('from-the-copy');
    expect(redactSecrets('from-the-copy')).toBe(REDACTED);
  });

  it('reportError redacts the message and hint it prints', () => {
    addSecret('pw-77');
    const lines: string[] = [];
    reportError(new ConfigError('f.toml', 'a', 'bad value pw-77', { hint: 'unset pw-77' }), (l) => lines.push(l));
    reportError(new Error('boom pw-77'), (l) => lines.push(l));
    expect(lines.join('\n')).not.toContain('pw-77');
    expect(lines[0]).toContain(`bad value ${REDACTED}`);
  });

  it('unicode secrets are matched whole', () => {
    addSecret('пароль-🔑-密码');
    expect(redactSecrets('[h] пароль-🔑-密码!')).toBe(`[h] ${REDACTED}!`);
  });
});
