import { describe, expect, it } from 'vitest';
import { createRedactor } from './redact.js';

describe('createRedactor', () => {
  it('replaces every secret, longest first', () => {
    const r = createRedactor(['hunter2', 'hunter22', '', undefined]);
    expect(r.redact('pw=hunter22 and hunter2.')).toBe('pw=*** and ***.');
    expect(r.redactValue({ a: ['x hunter2'], b: { c: 'hunter2' }, n: 3 })).toEqual({ a: ['x ***'], b: { c: '***' }, n: 3 });
  });

  it('is the identity without secrets', () => {
    const r = createRedactor([]);
    expect(r.active).toBe(false);
    expect(r.redact('abc')).toBe('abc');
  });

  it('catches a secret split across chunks, for every split point', () => {
    const secret = 's3cr3t-T0KEN';
    const text = `before ${secret} middle ${secret}${secret} after s3cr3t`;
    const r = createRedactor([secret, 'T0KEN-x']);
    const expected = r.redact(text);
    expect(expected).not.toContain('s3cr3t-');
    for (let i = 0; i <= text.length; i++) {
      for (let j = i; j <= text.length; j += 3) {
        const s = r.stream();
        const out = s.write(text.slice(0, i)) + s.write(text.slice(i, j)) + s.write(text.slice(j)) + s.end();
        expect(out).toBe(expected);
      }
    }
  });

  it('streams byte chunks, including multi-byte characters split between chunks', () => {
    const r = createRedactor(['pässwörd']);
    const buf = Buffer.from('x pässwörd y ü');
    const s = r.stream();
    let out = '';
    for (const b of buf) out += s.write(Buffer.from([b]));
    out += s.end();
    expect(out).toBe('x *** y ü');
  });

  it('emits text as soon as it cannot be part of a secret', () => {
    const s = createRedactor(['abcdef']).stream();
    expect(s.write('hello world abc')).toBe('hello worl'); // holds back 5 chars
    expect(s.write('def!')).toBe('d ***');
    expect(s.end()).toBe('!');
  });
});
