/**
 * The coordinator's watch over the machines' expiry, against a loopback HTTP server standing in
 * for a platform's extension API (a fixture: it extends an expiry by the hours in the request,
 * or answers 202 / 401 as told): fine means no request; short means one request within the
 * hours allowed, journaled; the bound holds across checks; a waiting or failed extension is not
 * asked again at once; without a way to extend, one warning per expiry; the token never in the spec.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExpiryHandOff } from '@labrig/core';
import { coordinatorExpiry, RETRY_FAILED_MS, RETRY_PENDING_MS, specExpiryOf } from './expiry.js';
import type { CoordinatorEvent } from './spec.js';

const TOKEN = 'extend-token-canary-61d0a4';
const H = 3600_000;
let server: Server;
let url: string;
/** What the fixture answers next: `extend` moves the expiry by the hours asked. */
let mode: 'extend' | 'wait' | 'refuse' = 'extend';
let expiresAt = '';
const requests: { method: string; path: string; token: string | undefined; body: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', path: req.url ?? '', token: req.headers['x-api-token'] as string | undefined, body });
      const send = (status: number, v: unknown) => (res.writeHead(status, { 'Content-Type': 'application/json' }), res.end(JSON.stringify(v)));
      if (req.headers['x-api-token'] !== TOKEN || mode === 'refuse') return send(401, { error: 'Invalid or expired token', errors: [], code: 401 });
      if (req.method === 'GET') return send(200, { id: 'x', expires_at: expiresAt });
      if (mode === 'wait') return send(202, { message: 'extension request sent to the testbed administrators' });
      const hours = (JSON.parse(body) as { extend_by: number }).extend_by;
      expiresAt = new Date(Date.parse(expiresAt) + hours * H).toISOString();
      send(200, { id: 'x', expires_at: expiresAt });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

/** A watch at clock `t` (ms), expiring `inMs` after T0, extending by itself up to `maxHours` (none: warns only). */
function watch(inMs: number, maxHours?: number, o: { statusUrl?: boolean; refreshMs?: number } = {}) {
  const T0 = Date.parse('2026-12-04T12:00:00Z');
  let t = T0;
  expiresAt = new Date(T0 + inMs).toISOString();
  requests.length = 0;
  const x: ExpiryHandOff = {
    what: 'CloudLab experiment p/x',
    expiresAt,
    marginMs: 30 * 60_000,
    extendCommand: 'nx run cl:extend --hours=N',
    ...(o.refreshMs ? { refreshMs: o.refreshMs } : {}),
    ...(maxHours !== undefined
      ? { extend: { method: 'PUT', url: `${url}/experiments/p%2Cx`, headers: { 'Content-Type': 'application/json' }, body: '{"extend_by":{{hours}},"reason":"labrig"}', secretHeaders: { 'X-Api-Token': TOKEN }, expiresAtField: 'expires_at', maxHours, ...(o.statusUrl ? { statusUrl: `${url}/experiments/p%2Cx` } : {}) } }
      : {}),
  };
  const { spec, env } = specExpiryOf(x);
  const secrets = Object.fromEntries(Object.entries(spec.extend?.secretHeaders ?? {}).map(([h, k]) => [h, env[k]!]));
  const events: Extract<CoordinatorEvent, { type: 'expiry' }>[] = [];
  const lines: string[] = [];
  const w = coordinatorExpiry(spec, secrets, (e) => events.push(e), (l) => lines.push(l), () => t);
  return { w, events, lines, spec, env, at: (ms: number) => (t = T0 + ms) };
}

describe('the coordinator watches the expiry', () => {
  it('fine: no request, no event; the note says when', async () => {
    const { w, events } = watch(5 * H, 4);
    await w.check({ ms: 2 * H, runs: 10 });
    expect(requests).toEqual([]);
    expect(events).toEqual([]);
    expect(w.note()).toBe('CloudLab experiment p/x expires in 5 h');
  });

  it('short: one request for the hours missing, with the token; journaled; the note moves; then fine', async () => {
    mode = 'extend';
    const { w, events, lines } = watch(1 * H, 4);
    await w.check({ ms: 2 * H, runs: 8 }); // ends at 2 h + 30 min margin: 1.5 h short -> 2 h
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({ method: 'PUT', path: '/experiments/p%2Cx', token: TOKEN, body: '{"extend_by":2,"reason":"labrig"}' });
    expect(events).toEqual([expect.objectContaining({ type: 'expiry', action: 'extended', hours: 2, expiresAt: '2026-12-04T15:00:00.000Z' })]);
    expect(events[0]!.detail).toBeUndefined();
    expect(w.note()).toBe('CloudLab experiment p/x expires in 3 h');
    expect(lines.join('\n')).toContain('extended by 2 h: expires 2026-12-04T15:00:00.000Z');
    await w.check({ ms: 2 * H, runs: 7 });
    expect(requests).toHaveLength(1);
  });

  it('maxHours bounds all requests together: 2 of 5 h asked, said to be short, then one warning and no more requests', async () => {
    mode = 'extend';
    const { w, events } = watch(1 * H, 2);
    await w.check({ ms: 5 * H, runs: 20 });
    expect(requests).toHaveLength(1);
    expect(JSON.parse(requests[0]!.body)).toMatchObject({ extend_by: 2 });
    expect(events[0]).toMatchObject({ action: 'extended', hours: 2 });
    expect(events[0]!.detail).toContain('still short');
    await w.check({ ms: 5 * H, runs: 19 });
    await w.check({ ms: 5 * H, runs: 18 });
    expect(requests).toHaveLength(1);
    expect(events.map((e) => e.action)).toEqual(['extended', 'warned']);
    expect(events[1]!.detail).toContain('nx run cl:extend --hours=N');
    expect(events[1]!.detail).toContain('2 h of the 2 h allowed');
  });

  it('an extension that waits (202) is pending, counted, and not asked again within an hour', async () => {
    mode = 'wait';
    const { w, events, at } = watch(1 * H, 8);
    await w.check({ ms: 2 * H, runs: 8 });
    expect(events).toEqual([expect.objectContaining({ action: 'pending', hours: 2, detail: 'extension request sent to the testbed administrators' })]);
    at(RETRY_PENDING_MS - 60_000);
    await w.check({ ms: 2 * H, runs: 7 });
    expect(requests).toHaveLength(1);
    at(RETRY_PENDING_MS + 1);
    await w.check({ ms: 2 * H, runs: 6 });
    expect(requests).toHaveLength(2);
    expect(events.map((e) => e.action)).toEqual(['pending', 'pending']);
  });

  it('a refused request (401) is failed with the API message, tried again after 10 min; the token in no event or line', async () => {
    mode = 'refuse';
    const { w, events, lines, at } = watch(1 * H, 4);
    await w.check({ ms: 2 * H, runs: 8 });
    expect(events).toEqual([expect.objectContaining({ action: 'failed', detail: 'HTTP 401: Invalid or expired token' })]);
    at(RETRY_FAILED_MS - 1000);
    await w.check({ ms: 2 * H, runs: 7 });
    expect(requests).toHaveLength(1);
    mode = 'extend';
    at(RETRY_FAILED_MS + 1);
    await w.check({ ms: 2 * H, runs: 6 });
    expect(events.map((e) => e.action)).toEqual(['failed', 'extended']);
    expect(JSON.stringify(events) + lines.join('\n')).not.toContain(TOKEN);
  });

  it('an expiry moved elsewhere is read before extending: moved, no extension; read at most once a minute', async () => {
    mode = 'extend';
    const { w, events, at } = watch(1 * H, 4, { statusUrl: true });
    expiresAt = '2026-12-04T18:00:00.000Z'; // extended by hand meanwhile
    await w.check({ ms: 2 * H, runs: 8 });
    expect(requests.map((r) => `${r.method} ${r.token === TOKEN}`)).toEqual(['GET true']);
    expect(events).toEqual([expect.objectContaining({ action: 'moved', expiresAt: '2026-12-04T18:00:00.000Z' })]);
    expect(w.note()).toBe('CloudLab experiment p/x expires in 6 h');
    // Short again (a longer estimate) half a minute later: no second read, an extension.
    at(30_000);
    await w.check({ ms: 7 * H, runs: 30 });
    expect(requests.map((r) => r.method)).toEqual(['GET', 'PUT']);
    expect(events.map((e) => e.action)).toEqual(['moved', 'extended']);
  });

  it('read every refreshMs while fine: an expiry made earlier on the portal is seen, then extended', async () => {
    mode = 'extend';
    const { w, events, at } = watch(5 * H, 4, { statusUrl: true, refreshMs: 5 * 60_000 });
    await w.check({ ms: 1 * H, runs: 8 });
    at(60_000);
    await w.check({ ms: 1 * H, runs: 7 });
    expect(requests.map((r) => r.method)).toEqual(['GET']);
    expect(events).toEqual([]);
    expiresAt = '2026-12-04T12:40:00.000Z'; // an administrator shortened it
    at(6 * 60_000);
    await w.check({ ms: 1 * H, runs: 6 });
    expect(requests.map((r) => r.method)).toEqual(['GET', 'GET', 'PUT']);
    expect(events.map((e) => `${e.action} ${e.expiresAt}`)).toEqual(['moved 2026-12-04T12:40:00.000Z', 'extended 2026-12-04T13:40:00.000Z']);
    expect(events[0]!.detail).toBe('made earlier on the portal');
  });

  it('without a way to extend: one warning per expiry, no request', async () => {
    const { w, events } = watch(1 * H);
    await w.check({ ms: 2 * H, runs: 8 });
    await w.check({ ms: 2 * H, runs: 7 });
    expect(requests).toEqual([]);
    expect(events).toEqual([expect.objectContaining({ action: 'warned', expiresAt: '2026-12-04T13:00:00.000Z' })]);
    expect(events[0]!.detail).toContain('8 run(s) left');
  });

  it('the spec names the token by an environment variable; only the environment holds its value', () => {
    const { spec, env } = watch(1 * H, 4);
    expect(JSON.stringify(spec)).not.toContain(TOKEN);
    expect(spec.extend?.secretHeaders).toEqual({ 'X-Api-Token': 'LABRIG_EXTEND_HEADER_0' });
    expect(env).toEqual({ LABRIG_EXTEND_HEADER_0: TOKEN });
  });
});
