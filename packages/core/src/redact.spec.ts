import { describe, expect, it } from 'vitest';
import { createGrowingRedactor, createRedactor } from './redact.js';

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
    expect(s.write('hello world abc')).toBe('hello world '); // holds back only what may start the secret
    expect(s.holding).toBe(true);
    expect(s.write('def!')).toBe('***!');
    expect(s.holding).toBe(false);
    expect(s.write('line ends here\n')).toBe('line ends here\n');
    expect(s.end()).toBe('');
  });

  it('holds back the longest possible start of any secret, even across several chunks', () => {
    const s = createRedactor(['aab', 'abc']).stream();
    expect(s.write('xa')).toBe('x');
    expect(s.write('a')).toBe(''); // "aa": start of aab
    expect(s.write('c')).toBe('aac'); // neither
    expect(s.write('aa')).toBe('');
    expect(s.write('bc')).toBe('***c'); // aab wins at its position
    expect(s.end()).toBe('');
  });

  it('flush() lets held text go and masks the rest of the secret when it comes', () => {
    const s = createRedactor(['s3cr3t-T0KEN']).stream();
    expect(s.write('x s3cr')).toBe('x ');
    expect(s.flush()).toBe('s3cr');
    expect(s.holding).toBe(false);
    expect(s.write('3t-T0KEN y')).toBe('*** y'); // never the whole secret in one piece
    expect(s.write(' s3cr')).toBe(' ');
    expect(s.flush()).toBe('s3cr');
    expect(s.write('ibble')).toBe('ibble'); // not the secret after all: nothing lost
    expect(s.end()).toBe('');
  });

  it('a full secret inside held text is never flushed in clear', () => {
    const s = createRedactor(['abcdef', 'cd']).stream();
    expect(s.write('1abcd')).toBe('1');
    expect(s.flush()).toBe('ab***');
    expect(s.write('ef2')).toBe('***2');
  });
});

describe('createGrowingRedactor', () => {
  it('a live stream picks up secrets added while it is open; a plain stream keeps its own', () => {
    const g = createGrowingRedactor(['zzzzzzzz']);
    const fixed = g.stream();
    const live = g.liveStream();
    const a = fixed.write('tok=');
    const b = live.write('tok=');
    g.add('hunter2');
    expect(a + fixed.write('hunt') + fixed.write('er2 ') + fixed.end()).toBe('tok=hunter2 ');
    expect(b + live.write('hunt') + live.write('er2 ') + live.end()).toBe('tok=*** ');
    expect(g.secrets).toEqual(['zzzzzzzz', 'hunter2']);
  });
});
