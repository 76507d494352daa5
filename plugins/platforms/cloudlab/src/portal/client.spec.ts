/**
 * The Portal API client against the Portal API stand-in (testing/portal-api.ts, loopback HTTP with
 * the published shapes): create and poll until ready, manifests, retries on 429 and on a network
 * error, the token's errors naming its source (never the token), the portal's own messages,
 * extensions granted or waiting for an administrator, terminate twice, node actions; the token file's checks.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@labrig/core';
import { startPortalApi, type PortalApi } from '../testing/portal-api.js';
import { portalManifest } from '../testing/portal-manifest.js';
import { PortalAuthRefused, PortalClient, PortalRequestFailed, PortalUnavailable, nodesOf } from './client.js';
import { readPortalToken } from './token.js';

const TOKEN = 'tok-8c1d3e9a-portal-canary';
let api: PortalApi;
let dir: string;
const client = (o: Partial<ConstructorParameters<typeof PortalClient>[0]> = {}) =>
  new PortalClient({ apiUrl: api.url, token: TOKEN, tokenSource: { env: 'CLOUDLAB_TOKEN' }, backoffMs: 10, maxBackoffMs: 50, ...o });
const create = (name: string) => ({ name, project: 'labrig-test', profile_name: 'small-lan', profile_project: 'emulab-ops', duration: 4, bindings: { nodeCount: 2 } });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'labrig-portal-'));
  api = await startPortalApi({
    token: TOKEN,
    projects: ['labrig-test'],
    nodes: [
      { client_id: 'node-0', hostname: 'pc400.utah.cloudlab.us', ipv4: '127.0.0.1' },
      { client_id: 'node-1', hostname: 'pc401.utah.cloudlab.us', ipv4: '127.0.0.2' },
    ],
    manifest: (n) => portalManifest({ nodes: n.length }),
    readyAfterPolls: 3,
  });
});

afterAll(async () => {
  await api?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('Portal API client', () => {
  it('creates an experiment, sees it provisioning then ready with its nodes, and fetches its manifest', async () => {
    const c = client();
    const made = await c.createExperiment(create('exp-a'));
    expect(made.status).toBe('created');
    expect(made.id).toMatch(/^[0-9a-f-]{36}$/);
    const seen: string[] = [];
    let e = made;
    for (let i = 0; i < 10 && e.status !== 'ready'; i++) {
      e = await c.getExperiment(PortalClient.experimentId('labrig-test', 'exp-a'));
      seen.push(e.status!);
    }
    expect(seen).toEqual(['provisioning', 'provisioning', 'ready']);
    expect(nodesOf(e).map((n) => [n.client_id, n.hostname, n.status])).toEqual([
      ['node-0', 'pc400.utah.cloudlab.us', 'ready'],
      ['node-1', 'pc401.utah.cloudlab.us', 'ready'],
    ]);
    const manifests = await c.getManifests(e.id);
    const [urn, xml] = Object.entries(manifests)[0]!;
    expect(urn).toMatch(/^urn:publicid:IDN\+utah\.cloudlab\.us\+authority\+cm$/);
    expect(xml).toContain('<rspec');
    // The same experiment by UUID.
    expect((await c.getExperiment(e.id)).name).toBe('exp-a');
  });

  it('retries 429 (Retry-After honoured) and gives up with PortalUnavailable after its attempts', async () => {
    const before = api.requests.length;
    api.knobs.busy = 2;
    const e = await client().getExperiment('labrig-test,exp-a');
    expect(e.name).toBe('exp-a');
    expect(api.requests.slice(before).map((r) => r.status)).toEqual([429, 429, 200]);
    api.knobs.busy = 10;
    const err = await client({ attempts: 3 }).getExperiment('labrig-test,exp-a').catch((x: unknown) => x);
    api.knobs.busy = 0;
    expect(err).toBeInstanceOf(PortalUnavailable);
    expect((err as Error).message).toMatch(/after 3 attempt\(s\) \(last: HTTP 429: Too many requests/);
  });

  it('a network error is retried, then reported as unavailable', async () => {
    // A port nothing listens on (taken, then released).
    const port = await new Promise<number>((r) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => r(p));
      });
    });
    const err = await client({ apiUrl: `http://127.0.0.1:${port}`, attempts: 2 }).getExperiment('x,y').catch((x: unknown) => x);
    expect(err).toBeInstanceOf(PortalUnavailable);
    expect((err as Error).message).toMatch(/ECONNREFUSED|fetch failed/);
  });

  it('a refused token names where it came from, never the token; a project the user is not in is 403', async () => {
    const bad = new PortalClient({ apiUrl: api.url, token: 'expired-token', tokenSource: { file: '~/.cloudlab/token' }, backoffMs: 10 });
    const e401 = await bad.getExperiment('labrig-test,exp-a').catch((x: unknown) => x);
    expect(e401).toBeInstanceOf(PortalAuthRefused);
    expect((e401 as PortalAuthRefused).message).toContain('the file ~/.cloudlab/token');
    expect((e401 as PortalAuthRefused).message).toContain('Invalid or expired token');
    expect((e401 as PortalAuthRefused).hint).toMatch(/expired/);
    expect(JSON.stringify(e401) + String((e401 as Error).stack)).not.toContain('expired-token');
    const e403 = await client().createExperiment({ ...create('exp-b'), project: 'other-project' }).catch((x: unknown) => x);
    expect(e403).toBeInstanceOf(PortalAuthRefused);
    expect((e403 as PortalAuthRefused).hint).toMatch(/member of the project/);
    expect(String((e403 as Error).message)).not.toContain(TOKEN);
  });

  it("other 4xx answers carry the portal's own message", async () => {
    const dup = await client().createExperiment(create('exp-a')).catch((x: unknown) => x);
    expect(dup).toBeInstanceOf(PortalRequestFailed);
    expect((dup as Error).message).toContain('HTTP 400: Experiment exp-a already exists in project labrig-test');
    const bad = await client().extendExperiment('labrig-test,exp-a', { extend_by: 0, reason: 'x' }).catch((x: unknown) => x);
    expect((bad as Error).message).toContain('Nothing to extend; extend_by must be a positive number of hours');
  });

  it('a short extension is granted at once; a long one waits for an administrator (not a failure)', async () => {
    const c = client();
    const before = (await c.getExperiment('labrig-test,exp-a')).expires_at!;
    const short = await c.extendExperiment('labrig-test,exp-a', { extend_by: 6, reason: 'sweep needs longer' });
    expect(short.granted).toBe(true);
    expect(short.granted && Date.parse(short.expiresAt!) - Date.parse(before)).toBe(6 * 3600_000);
    const long = await c.extendExperiment('labrig-test,exp-a', { extend_by: 72, reason: 'sweep needs longer' });
    expect(long).toEqual({ granted: false, pending: true, message: 'Your request for 72 hours has been submitted for administrator approval' });
  });

  it('node actions, and terminate twice: gone is done', async () => {
    const c = client();
    await c.nodeAction('labrig-test,exp-a', 'node-1', 'reboot');
    expect(api.nodeActions).toEqual([{ experiment: expect.any(String), client_id: 'node-1', action: 'reboot' }]);
    expect(await c.terminateExperiment('labrig-test,exp-a')).toBe(true);
    expect(await c.terminateExperiment('labrig-test,exp-a')).toBe(false);
  });
});

describe('Portal API token', () => {
  const FILE = 'configs/platforms/cl/platform.toml';
  it('from the environment or a file only readable by its owner; each problem names the field and the fix', () => {
    process.env['LABRIG_SPEC_TOKEN'] = ` ${TOKEN}\n`;
    expect(readPortalToken(dir, { tokenEnv: 'LABRIG_SPEC_TOKEN' }, FILE)).toEqual({ token: TOKEN, source: { env: 'LABRIG_SPEC_TOKEN' } });
    delete process.env['LABRIG_SPEC_TOKEN'];
    const missing = (() => {
      try {
        readPortalToken(dir, { tokenEnv: 'LABRIG_SPEC_TOKEN' }, FILE);
      } catch (e) {
        return e;
      }
    })();
    expect(missing).toBeInstanceOf(ConfigError);
    expect((missing as ConfigError).field).toBe('experiment.tokenEnv');

    writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
    chmodSync(join(dir, 'token'), 0o644);
    const open = (() => {
      try {
        readPortalToken(dir, { tokenFile: 'token' }, FILE);
      } catch (e) {
        return e;
      }
    })() as ConfigError;
    expect(open).toBeInstanceOf(ConfigError);
    expect(open.field).toBe('experiment.tokenFile');
    expect(open.message).toContain('readable by others (mode 644)');
    expect(open.hint).toContain('chmod 600 token');
    expect(open.message + open.hint).not.toContain(TOKEN);
    chmodSync(join(dir, 'token'), 0o600);
    expect(readPortalToken(dir, { tokenFile: 'token' }, FILE)).toEqual({ token: TOKEN, source: { file: 'token' } });
  });
});
