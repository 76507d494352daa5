/** Pool behaviour against real sshd hosts: reuse, shared handshakes, channel limit, parallel connects. */
import { acceptedConnections, toHost } from '@labrig/testbed';
import type { TestbedHost } from '@labrig/testbed';
import { describe, expect, it } from 'vitest';
import { useTestbed } from './testing/testbed.js';

describe('pool on 2 hosts', () => {
  const tb = useTestbed('pool', { hosts: 2, addressBase: '127.0.20.16', port: 2320 });

  it('two execs (and 5 concurrent connects) on one host use ONE connection', async () => {
    const pool = tb.pool();
    try {
      const h = tb.state.hosts[0] as TestbedHost;
      const before = await acceptedConnections(tb.state, h.name);
      const remotes = await Promise.all(Array.from({ length: 5 }, () => pool.connect(toHost(h))));
      await remotes[0]!.exec(['true']);
      await remotes[4]!.exec(['echo', 'again']);
      const again = await pool.connect(toHost(h));
      await again.exec(['true']);
      expect(pool.stats()).toMatchObject({ connectionsOpened: 1, open: 1, handshakesInFlight: 0 });
      expect((await acceptedConnections(tb.state, h.name)) - before).toBe(1);
    } finally {
      await pool.close();
    }
    expect(pool.stats().open).toBe(0);
  });

  it('40 execs at once stay within maxChannelsPerHost (8) and all succeed', async () => {
    const pool = tb.pool();
    try {
      const r = await pool.connect(toHost(tb.state.hosts[1] as TestbedHost));
      const marker = `/tmp/labrig-ssh-pool-markers-${process.pid}`;
      await r.exec(['rm', '-rf', marker]);
      await r.exec(['mkdir', '-p', marker]);
      // Each command: add a marker, count the markers (= commands running now), wait, remove it.
      const script = 'touch "$1/$$"; ls "$1" | wc -l; sleep 0.3; rm -f "$1/$$"';
      const t0 = Date.now();
      const results = await Promise.all(Array.from({ length: 40 }, () => r.exec(['sh', '-c', script, 'sh', marker])));
      const elapsed = Date.now() - t0;
      const counts = results.map((x) => Number(x.stdout.trim()));
      const maxRemote = Math.max(...counts);
      expect(results.every((x) => x.exitCode === 0)).toBe(true);
      expect(maxRemote).toBeLessThanOrEqual(8);
      expect(maxRemote).toBeGreaterThanOrEqual(4);
      expect(pool.stats().peakChannelsPerConnection).toBe(8);
      expect(pool.stats().connectionsOpened).toBe(1);
      // 40 x 0.3 s in waves of 8: at least 5 waves.
      expect(elapsed).toBeGreaterThanOrEqual(1400);
      console.log(`40 execs: max ${maxRemote} running remotely at once, ${elapsed} ms`);
      await r.exec(['rm', '-rf', marker]);
    } finally {
      await pool.close();
    }
  });
});

describe('pool on 32 hosts', () => {
  const tb = useTestbed('pool32', { hosts: 32, addressBase: '127.0.20.100', port: 2320 });

  it('connects 32 hosts in parallel with at most maxHandshakes in flight', async () => {
    const pool = tb.pool({ maxHandshakes: 8 });
    let maxInFlight = 0;
    const timer = setInterval(() => (maxInFlight = Math.max(maxInFlight, pool.stats().handshakesInFlight)), 2);
    try {
      const t0 = Date.now();
      const remotes = await Promise.all(tb.state.hosts.map((h) => pool.connect(toHost(h))));
      const connectMs = Date.now() - t0;
      const t1 = Date.now();
      const outs = await Promise.all(remotes.map((r) => r.exec(['id', '-un'])));
      const execMs = Date.now() - t1;
      expect(outs.map((o) => o.stdout.trim())).toEqual(tb.state.hosts.map((h) => h.user));
      expect(pool.stats()).toMatchObject({ connectionsOpened: 32, open: 32 });
      expect(maxInFlight).toBeLessThanOrEqual(8);
      expect(maxInFlight).toBeGreaterThanOrEqual(2);
      console.log(`32 hosts: connect ${connectMs} ms (max ${maxInFlight} handshakes in flight), one exec on all ${execMs} ms`);
    } finally {
      clearInterval(timer);
      await pool.close();
    }
  });
});
