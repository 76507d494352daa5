import { describe, expect, it } from 'vitest';
import { Semaphore } from './semaphore.js';
import { buildCommandText } from './exec.js';

describe('Semaphore', () => {
  it('never exceeds its limit and serves waiters in order', async () => {
    const s = new Semaphore(3);
    let active = 0;
    let peak = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        s.use(async () => {
          active++;
          peak = Math.max(peak, active);
          order.push(i);
          await new Promise((r) => setTimeout(r, 2));
          active--;
        }),
      ),
    );
    expect(peak).toBe(3);
    expect(order).toEqual([...Array(20).keys()]);
    expect(s.inUse).toBe(0);
  });

  it('an aborted waiter takes no slot; double release is harmless', async () => {
    const s = new Semaphore(1);
    const r1 = await s.acquire();
    const ac = new AbortController();
    const waiting = s.acquire(ac.signal);
    ac.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    expect(s.waiting).toBe(0);
    r1();
    r1();
    expect(s.inUse).toBe(0);
    const r2 = await s.acquire();
    expect(s.inUse).toBe(1);
    r2();
  });
});

describe('command text', () => {
  it('quotes argv, cwd and env', () => {
    expect(buildCommandText(['echo', 'a b'])).toBe(`exec echo 'a b'`);
    expect(buildCommandText(['cd', '/x'])).toBe(`cd /x`);
    expect(buildCommandText(['ls'], { cwd: '/tmp/x y', env: { A: "it's", B: '1' } })).toBe(
      `cd '/tmp/x y' && exec env 'A=it'\\''s' B=1 ls`,
    );
    expect(() => buildCommandText(['ls'], { env: { 'A;B': '1' } })).toThrow(/invalid environment/);
  });
});
