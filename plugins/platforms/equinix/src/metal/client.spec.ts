/**
 * The API client against the Metal stand-in (no SSH needed): rate limits wait for Retry-After,
 * 5xx and dropped connections back off and retry a bounded number of times, other 4xx are typed
 * errors with the API's message and are not retried, the token never shows in an error, every
 * page of a list is read.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MetalApiError, MetalUnavailable } from '../errors.js';
import { MetalApiFixture } from '../testing/metal-fixture.js';
import { MetalClient, type RetryNotice } from './client.js';

const TOKEN = 'metal-client-spec-token-5b1e0c';
const PROJECT = 'proj-client-spec';
let fixture: MetalApiFixture;
let notices: RetryNotice[];

const client = (o: { token?: string; attempts?: number } = {}) =>
  new MetalClient({
    apiUrl: fixture.url,
    token: o.token ?? TOKEN,
    tokenEnv: 'METAL_AUTH_TOKEN',
    attempts: o.attempts ?? 4,
    backoff: { baseMs: 100, maxMs: 1000, factor: 2, jitter: 0.5 },
    requestTimeoutMs: 5000,
    onRetry: (n) => void notices.push(n),
  });
const LIST = /^\/projects\/[^/]+\/devices$/;

beforeAll(async () => {
  fixture = await MetalApiFixture.start({ token: TOKEN, projectId: PROJECT, publicAddresses: [], maxPerPage: 2 });
  for (let i = 0; i < 5; i++) fixture.seed({ hostname: `other-${i}`, tags: i % 2 ? ['odd'] : [] });
});
afterAll(() => fixture?.close());
beforeEach(() => {
  fixture.clearFaults();
  fixture.requests.length = 0;
  notices = [];
});

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a failure');
}

describe('MetalClient', () => {
  it('reads every page of a list (the stand-in serves 2 devices a page), with the tag filter', async () => {
    const all = await client().listProjectDevices(PROJECT);
    expect(all.map((d) => d.hostname).sort()).toEqual(['other-0', 'other-1', 'other-2', 'other-3', 'other-4']);
    expect(fixture.requestsTo('GET', LIST).map((r) => r.query['page'])).toEqual(['1', '2', '3']);
    expect((await client().listProjectDevices(PROJECT, { tag: 'odd' })).map((d) => d.hostname).sort()).toEqual(['other-1', 'other-3']);
  });

  it('a 429 waits at least Retry-After, then succeeds', async () => {
    fixture.inject({ method: 'GET', path: LIST, status: 429, retryAfter: '1', message: 'Too many requests' });
    const all = await client().listProjectDevices(PROJECT, { tag: 'odd' });
    expect(all).toHaveLength(2);
    const [first, second] = fixture.requestsTo('GET', LIST);
    expect([first?.status, second?.status]).toEqual([429, 200]);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(1000);
    expect(notices).toMatchObject([{ method: 'GET', attempt: 1, attempts: 4, reason: '429 Too many requests' }]);
    expect(notices[0]!.delayMs).toBeGreaterThanOrEqual(1000);
  });

  it('503s and a dropped connection are retried with growing, jittered backoff', async () => {
    fixture.inject({ method: 'GET', path: /^\/devices\//, status: 503, times: 2, message: 'Service Unavailable' });
    fixture.inject({ method: 'GET', path: /^\/devices\//, drop: true, skip: 2 });
    const id = fixture.devices()[0]!.id;
    expect((await client().getDevice(id))?.id).toBe(id);
    const reqs = fixture.requestsTo('GET', /^\/devices\//);
    expect(reqs.map((r) => r.status)).toEqual([503, 503, 0, 200]);
    // Backoff after attempt n is in [base·2^(n-1)/2, base·2^(n-1)]: 50-100, 100-200, 200-400 ms.
    const gaps = reqs.slice(1).map((r, i) => r.at - reqs[i]!.at);
    expect(gaps[0]).toBeGreaterThanOrEqual(45);
    expect(gaps[1]).toBeGreaterThanOrEqual(95);
    expect(gaps[2]).toBeGreaterThanOrEqual(195);
    expect(notices.map((n) => n.reason)).toEqual(['503 Service Unavailable', '503 Service Unavailable', expect.stringMatching(/^network error/)]);
  });

  it('gives up after the allowed attempts with MetalUnavailable', async () => {
    fixture.inject({ method: 'GET', path: /^\/devices\//, status: 502, times: 10, message: 'Bad Gateway' });
    const err = await failure(client({ attempts: 3 }).getDevice('abc'));
    expect(err).toBeInstanceOf(MetalUnavailable);
    expect(err.message).toBe('Equinix Metal API GET /devices/abc still failed after 3 attempt(s): 502 Bad Gateway');
    expect(fixture.requestsTo('GET', /^\/devices\//)).toHaveLength(3);
  });

  it('a 422 is a MetalApiError with the API message, not retried', async () => {
    const err = await failure(client().createDevice(PROJECT, { hostname: 'x-0', plan: '', metro: 'da', operating_system: 'ubuntu_22_04', billing_cycle: 'hourly', tags: [] }));
    expect(err).toBeInstanceOf(MetalApiError);
    expect(err).toMatchObject({ status: 422, method: 'POST', apiMessage: 'plan is required' });
    expect(err.message).toBe(`creating x-0: Equinix Metal API POST /projects/${PROJECT}/devices answered 422: plan is required`);
    expect(fixture.requestsTo('POST', LIST)).toHaveLength(1);
  });

  it('a wrong token is a 401 MetalApiError whose message and hint never hold a token', async () => {
    const wrong = 'wrong-token-7f3a99';
    const err = await failure(client({ token: wrong }).listProjectDevices(PROJECT));
    expect(err).toMatchObject({ status: 401, apiMessage: 'Invalid authentication token' });
    expect((err as MetalApiError).hint).toContain('METAL_AUTH_TOKEN');
    const text = JSON.stringify({ m: err.message, h: (err as MetalApiError).hint, s: err.stack });
    expect(text).not.toContain(wrong);
    expect(text).not.toContain(TOKEN);
    expect(fixture.requests.every((r) => !r.authorized)).toBe(true);
  });
});
