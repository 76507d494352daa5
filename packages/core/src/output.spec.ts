import { afterEach, describe, expect, it } from 'vitest';
import { sleep } from './engine/backoff.js';
import { installOutputRedaction, redactWrites, type PatchableStream } from './output.js';
import { createRedactor, REDACTED } from './redact.js';
import { addSecret, resetSecretsForTests } from './secrets.js';

afterEach(() => resetSecretsForTests());

/** A stream that records what reaches it, in order, tagged with its name (a shared log keeps the order across streams). */
function sink(name: string, log: string[]) {
  const s: PatchableStream & { text: () => string } = {
    write(chunk: unknown, enc?: unknown, cb?: unknown) {
      if (typeof enc === 'function') cb = enc;
      log.push(`${name}:${Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk)}`);
      if (typeof cb === 'function') process.nextTick(cb as () => void);
      return true;
    },
    end(cb?: unknown) {
      log.push(`${name}:<end>`);
      if (typeof cb === 'function') process.nextTick(cb as () => void);
    },
    text: () =>
      log
        .filter((l) => l.startsWith(`${name}:`) && l !== `${name}:<end>`)
        .map((l) => l.slice(name.length + 1))
        .join(''),
  };
  return s;
}

describe('redactWrites', () => {
  it('passes writes through untouched while no secret is registered', () => {
    const log: string[] = [];
    const out = sink('out', log);
    const r = redactWrites([out]);
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x41]);
    out.write(bytes);
    out.write('hello\n');
    r.uninstall();
    expect(log).toEqual([`out:${bytes.toString('utf8')}`, 'out:hello\n']);
  });

  it('redacts a secret written whole, split over writes at every point, and many secrets at once', () => {
    const secrets = ['tok-A1b2C3d4', 'pw"quoted\\slash', 'zz'];
    const text = `a=tok-A1b2C3d4 b=pw"quoted\\slash c=zz tok-A1 zz${'tok-A1b2C3d4'}\n`;
    const expected = createRedactor(secrets).redact(text);
    expect(expected).toBe(`a=${REDACTED} b=${REDACTED} c=${REDACTED} tok-A1 ${REDACTED}${REDACTED}\n`);
    for (let i = 0; i <= text.length; i++) {
      const log: string[] = [];
      const out = sink('out', log);
      const r = redactWrites([out], { redactor: createRedactor(secrets), flushMs: 10_000 });
      out.write(text.slice(0, i));
      out.write(Buffer.from(text.slice(i)));
      r.flush();
      r.uninstall();
      expect(out.text()).toBe(expected);
    }
  });

  it('follows the process-wide registry, with unicode secrets split inside a multi-byte character', () => {
    const log: string[] = [];
    const out = sink('out', log);
    const r = redactWrites([out], { flushMs: 10_000 });
    out.write('before\n');
    addSecret('ключ-🔑-鍵');
    const bytes = Buffer.from('x ключ-🔑-鍵 y\n');
    for (let i = 0; i < bytes.length; i += 3) out.write(bytes.subarray(i, i + 3));
    r.uninstall();
    expect(out.text()).toBe(`before\nx ${REDACTED} y\n`);
  });

  it('keeps the order of writes across stdout and stderr, and calls every callback', async () => {
    const log: string[] = [];
    const out = sink('out', log);
    const err = sink('err', log);
    const r = redactWrites([out, err], { redactor: createRedactor(['SECRET-VALUE']), flushMs: 10_000 });
    const called: number[] = [];
    out.write('1 SECR', () => called.push(1)); // "SECR" held back
    err.write('2 err\n', () => called.push(2)); // the held text goes out first
    out.write('ET-VALUE 3\n', () => called.push(3)); // the rest is masked
    r.flush();
    await sleep(5);
    r.uninstall();
    expect(log).toEqual(['out:1 ', 'out:SECR', 'err:2 err\n', `out:${REDACTED} 3\n`]);
    expect(log.join('')).not.toContain('SECRET-VALUE');
    expect(called.sort()).toEqual([1, 2, 3]);
  });

  it('writes held text out after a short timer, and at end()', async () => {
    const log: string[] = [];
    const out = sink('out', log);
    const r = redactWrites([out], { redactor: createRedactor(['PASSWORD']), flushMs: 20 });
    out.write('Enter PASS');
    expect(out.text()).toBe('Enter ');
    await sleep(60);
    expect(out.text()).toBe('Enter PASS'); // not the secret: it had to go out some time
    out.write('WORD!\n'); // ...but its rest never completes it
    expect(out.text()).toBe(`Enter PASS${REDACTED}!\n`);
    out.write('tail PASSW');
    out.end!('ORD', () => undefined);
    expect(out.text()).toBe(`Enter PASS${REDACTED}!\ntail ${REDACTED}`);
    expect(log.at(-1)).toBe('out:<end>');
    r.uninstall();
  });

  it('handles many writes of many secrets without losing or reordering a byte', () => {
    const secrets = Array.from({ length: 50 }, (_, i) => `secret-${i}-${'x'.repeat(i % 7)}!`);
    const redactor = createRedactor(secrets);
    let text = '';
    for (let i = 0; i < 400; i++) text += i % 3 === 0 ? secrets[i % secrets.length]! : `line ${i} ✓ é\n`;
    const log: string[] = [];
    const out = sink('out', log);
    const r = redactWrites([out], { redactor, flushMs: 10_000 });
    let seed = 7;
    for (let i = 0; i < text.length; ) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const n = 1 + (seed % 17);
      out.write(text.slice(i, i + n));
      i += n;
    }
    r.flush();
    r.uninstall();
    expect(out.text()).toBe(redactor.redact(text));
  });
});

describe('installOutputRedaction', () => {
  it('patches process.stdout and process.stderr once', () => {
    const log: string[] = [];
    const stdout = process.stdout as unknown as PatchableStream;
    const stderr = process.stderr as unknown as PatchableStream;
    const [ow, ew] = [stdout.write, stderr.write];
    stdout.write = sink('out', log).write;
    stderr.write = sink('err', log).write;
    try {
      const a = installOutputRedaction();
      expect(installOutputRedaction()).toBe(a);
      addSecret('canary-5f"3\\');
      process.stdout.write(`[tb-1] CANARY=canary-5f"3\\\n`);
      process.stderr.write(`${JSON.stringify({ t: 'canary-5f"3\\' })}\n`);
      process.stdout.write('done\n');
      a.uninstall();
      expect(log).toEqual([`out:[tb-1] CANARY=${REDACTED}\n`, `err:{"t":"${REDACTED}"}\n`, 'out:done\n']);
    } finally {
      stdout.write = ow;
      stderr.write = ew;
    }
  });
});
