/** Killed and frozen hosts (127.0.20.49-51:2320): typed errors, timeouts, abort, reconnection. */
import { HostUnreachable } from '@labrig/core';
import { freeze, kill, restart, thaw, toHost } from '@labrig/testbed';
import type { TestbedHost, TestbedState } from '@labrig/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SshPool } from './pool.js';
import { useTestbed } from './testing/testbed.js';

const tb = useTestbed('faults', { hosts: 3, addressBase: '127.0.20.48', port: 2320 });
let state: TestbedState;
let pool: SshPool;
const frozen = new Set<string>();

beforeAll(() => {
  state = tb.state;
  pool = tb.pool({ readyTimeoutMs: 1500 });
});

// Runs before the testbed's teardown (after hooks run in reverse order).
afterAll(async () => {
  for (const name of frozen) await thaw(state, name).catch(() => undefined);
});

describe('faults', () => {
  it('killed host -> HostUnreachable (retryable); after restart the same Remote works again', async () => {
    const h = state.hosts[0] as TestbedHost;
    const r = await pool.connect(toHost(h));
    await r.exec(['true']);
    await kill(state, h.name);
    const execErr = await r.exec(['true']).catch((e: unknown) => e);
    expect(execErr).toBeInstanceOf(HostUnreachable);
    const t0 = Date.now();
    const connErr = await pool.connect(toHost(h)).catch((e: unknown) => e);
    expect(connErr).toBeInstanceOf(HostUnreachable);
    expect((connErr as HostUnreachable).retryable).toBe(true);
    expect((connErr as Error).message).toContain('ECONNREFUSED');
    expect((connErr as Error).cause).toBeDefined();
    expect(Date.now() - t0).toBeLessThan(1000);
    await restart(state, h.name);
    const opened = pool.stats().connectionsOpened;
    expect((await r.exec(['echo', 'back'])).stdout).toBe('back\n');
    expect(pool.stats().connectionsOpened).toBe(opened + 1);
  });

  it('frozen host -> connect fails by readyTimeout as HostUnreachable', async () => {
    const h = state.hosts[1] as TestbedHost;
    await freeze(state, h.name);
    frozen.add(h.name);
    const t0 = Date.now();
    const err = await pool.connect(toHost(h)).catch((e: unknown) => e);
    const ms = Date.now() - t0;
    expect(err).toBeInstanceOf(HostUnreachable);
    expect((err as Error).message).toMatch(/handshake/);
    expect(ms).toBeGreaterThanOrEqual(1400);
    expect(ms).toBeLessThan(4000);
    console.log(`frozen host: connect failed after ${ms} ms (readyTimeout 1500)`);
    await thaw(state, h.name);
    frozen.delete(h.name);
    // the failed handshake is not cached: the next connect works
    await (await pool.connect(toHost(h))).exec(['true']);
  });

  it('an exec on a connection whose host is then frozen is aborted within ~1 s', async () => {
    const h = state.hosts[2] as TestbedHost;
    const r = await pool.connect(toHost(h));
    await r.exec(['true']);
    const ac = new AbortController();
    const p = r.exec(['sleep', '60'], { signal: ac.signal });
    await new Promise((res) => setTimeout(res, 200));
    await freeze(state, h.name);
    frozen.add(h.name);
    const t0 = Date.now();
    ac.abort(new Error('step timed out'));
    await expect(p).rejects.toThrow('step timed out');
    const ms = Date.now() - t0;
    expect(ms).toBeLessThan(1000);
    console.log(`frozen host: exec aborted after ${ms} ms`);
    // Other execs waiting for this frozen host also honour their signals.
    const p2 = r.exec(['true'], { signal: AbortSignal.timeout(300) });
    const t1 = Date.now();
    await expect(p2).rejects.toThrow();
    expect(Date.now() - t1).toBeLessThan(1000);
    await thaw(state, h.name);
    frozen.delete(h.name);
  });
});
