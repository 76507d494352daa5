/**
 * A sweep handed to a coordinator on a CloudLab experiment that labrig made, through the real nx
 * CLI: the experiment comes from the Portal API stand-in (plugins/platforms/cloudlab/src/testing/
 * portal-api.ts: loopback HTTP with the published shapes), its nodes are real sshd hosts
 * (127.0.157.x:2620). While the coordinator runs the sweep without the laptop, the experiment's
 * expiry comes near (the stand-in's clock is moved, as time would): the coordinator extends it by
 * itself through the Portal API (autoExtend, its token in memory only), within maxExtendHours,
 * then warns once the hours are used; experiment-status, the dashboard's reader and the laptop
 * following the sweep show it, and the progress lines carry the expiry. The token is in no file
 * of the workspace or the hosts, and in no output.
 */
import { existsSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoordinatorReader, readExperiment } from '@labrig/dashboard';
import { down, up, type TestbedState } from '@labrig/testbed';
import { startPortalApi, type PortalApi } from '../../plugins/platforms/cloudlab/src/testing/portal-api.js';
import { renderManifest } from '../../plugins/platforms/cloudlab/src/testing/testbed-manifest.js';
import { createE2eWorkspace, stopAgent, testbedDir, type CommandResult, type E2eWorkspace } from './workspace.js';

const repository = join(import.meta.dirname, '../..');
const TOKEN = 'portal-token-canary-2b7c94e1d0-expiry';
const ENV = 'LABRIG_E2E_CLOUDLAB_TOKEN';
const PLAN = 'cx-sweep';
let ws: E2eWorkspace;
let tbDir: string;
let tb: TestbedState;
let api: PortalApi;
const outputs: string[] = [];

async function nx(args: string[]): Promise<CommandResult> {
  const r = await ws.nx(args, { [ENV]: TOKEN, NO_COLOR: '1' });
  outputs.push(r.all);
  return r;
}

function platformFile(autoExtend: boolean): string {
  return [
    'platform = "@labrig/platform-cloudlab"',
    '[hosts]',
    'manifest = "manifest.xml"',
    '[ssh]',
    `identityFiles = [${JSON.stringify(tb.identityFile)}]`,
    'connectTimeout = "5s"',
    '[run]',
    'timeout = "1m"',
    '[experiment]',
    'project = "labrig-test"',
    'profile = "emulab-ops/small-lan"',
    'name = "cx"',
    'bindings = { nodeCount = 4 }',
    'duration = 4',
    `apiUrl = "${api.url}"`,
    `tokenEnv = "${ENV}"`,
    'pollInterval = "100ms"',
    'readyTimeout = "30s"',
    `autoExtend = ${autoExtend}`,
    'maxExtendHours = 1',
    'watchInterval = "1s"',
    '',
  ].join('\n');
}

type ExpiryEvent = { type: 'expiry'; time: string; what: string; expiresAt: string; action: string; hours?: number; detail?: string };
const coordDir = () => join(tb.hosts[0]!.home, '.labrig/coordinator', PLAN);
function coordinatorEvents(): { type: string; [k: string]: unknown }[] {
  const f = join(coordDir(), 'coordinator.jsonl');
  if (!existsSync(f)) return [];
  return readFileSync(f, 'utf8')
    .split('\n')
    .filter(Boolean)
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as { type: string }];
      } catch {
        return [];
      }
    });
}
const expiryEvents = () => coordinatorEvents().filter((e): e is ExpiryEvent => e.type === 'expiry');

async function waitFor(what: string, cond: () => boolean, ms = 120_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}; coordinator journal:\n${JSON.stringify(coordinatorEvents(), null, 1)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The stand-in's experiment, as the portal keeps it. */
const experiment = () => [...api.experiments.values()].find((e) => e.name === 'cx' && !e.terminated)!;
/** Time passes: the experiment now expires `min` minutes from now. */
function expiresIn(min: number): string {
  experiment().expires_at = new Date(Date.now() + min * 60_000).toISOString().replace(/\.\d+Z$/, 'Z');
  return experiment().expires_at;
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name))
    .filter((f) => statSync(f).size < 64 * 1024 * 1024);
}

beforeAll(async () => {
  ws = createE2eWorkspace('e2e-clx-');
  tbDir = testbedDir('clx');
  tb = await up({ dir: tbDir, hosts: 4, addressBase: '127.0.157.0', port: 2620 });
  api = await startPortalApi({
    token: TOKEN,
    projects: ['labrig-test'],
    nodes: tb.hosts.map((h) => ({ client_id: h.name, hostname: h.address, ipv4: h.address })),
    manifest: () => renderManifest(tb.hosts.map((h) => ({ name: h.name, hostname: h.address, port: h.port, user: h.user, clusterAddress: h.address }))),
    readyAfterPolls: 2,
  });
  ws.write('configs/platforms/cl/platform.toml', platformFile(true));
  for (const f of readdirSync(join(repository, 'targets/demo/src'))) ws.write(`targets/demo/src/${f}`, readFileSync(join(repository, 'targets/demo/src', f)));
  ws.write('targets/demo/system.toml', readFileSync(join(repository, 'targets/demo/system.toml'), 'utf8').replace(/distribution = "store".*\n/, ''));
  // 24 runs of about 4 s: long enough to move the expiry twice while the coordinator runs it.
  ws.write(
    `configs/experiments/${PLAN}.toml`,
    readFileSync(join(repository, 'configs/experiments/demo-sweep.toml'), 'utf8').replace('platform = "local"', 'platform = "cl"').replace('repeats = 2', 'repeats = 4').replace('duration = "1s"', 'duration = "3s"'),
  );
}, 180_000);

afterAll(async () => {
  if (ws) {
    await ws.nx(['run', `demo:experiment`, `--plan=${PLAN}`, '--coordinator=tb-0', '--stop', '--now'], { [ENV]: TOKEN }).catch(() => undefined);
    await ws.nx(['run', 'demo:stop', '-c', 'cl'], { [ENV]: TOKEN }).catch(() => undefined);
    stopAgent(ws.dir);
  }
  await api?.close();
  if (tbDir && existsSync(join(tbDir, 'state.json'))) await down(tbDir);
  if (tbDir) rmSync(tbDir, { recursive: true, force: true });
  if (ws && !process.env['KEEP']) ws.remove();
}, 120_000);

describe('a CloudLab experiment outlived by its sweep', { timeout: 600_000 }, () => {
  it('the coordinator extends the experiment through the Portal API while the laptop is away, within maxExtendHours, then warns; all of it shown', async () => {
    const prov = await nx(['run', 'cl:provision']);
    expect(prov.exitCode, prov.all).toBe(0);
    expect(prov.all).toContain('experiment labrig-test/cx ready (4 nodes');

    // Hand the sweep over and leave. 4 h left: the laptop's check before the hand-off is fine.
    const handed = await nx(['run', 'demo:experiment', `--plan=${PLAN}`, '--coordinator=tb-0', '--detach', '--output=plain']);
    expect(handed.exitCode, handed.all).toBe(0);
    expect(handed.all).toMatch(/experiment labrig-test\/cx expires \S+; plan cx-sweep \(24 run\(s\) to go\) should end in at most .*: fine/);
    expect(handed.all).toContain('handed over: the sweep goes on on tb-0');
    const watching = expiryEvents()[0];
    expect(watching).toMatchObject({ action: 'watching', what: 'CloudLab experiment labrig-test/cx', expiresAt: new Date(Date.parse(experiment().expires_at)).toISOString(), detail: 'extends it by itself, 1 h at most' });

    // Hours pass: 10 min left (the stand-in's expiry moves, as the clock would). The coordinator
    // reads the expiry (watchInterval), finds the sweep would outlive it and asks for the hour it misses.
    const soon = expiresIn(10);
    const putsBefore = api.requests.filter((r) => r.method === 'PUT').length;
    await waitFor('the coordinator to extend the experiment', () => expiryEvents().some((e) => e.action === 'extended'));
    const extended = expiryEvents().find((e) => e.action === 'extended')!;
    expect(extended.hours).toBe(1);
    expect(Date.parse(extended.expiresAt) - Date.parse(soon)).toBe(3600_000);
    expect(Date.parse(experiment().expires_at)).toBe(Date.parse(extended.expiresAt));
    // The coordinator holds the token in memory only: not in its environment or argv.
    const pid = Number(coordinatorEvents().find((e) => e.type === 'start')!['pid']);
    expect(readFileSync(`/proc/${pid}/environ`, 'utf8')).not.toContain(TOKEN);
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).not.toContain(TOKEN);
    // The portal took the token (a wrong one is a 401): the PUT succeeded.
    const puts = api.requests.filter((r) => r.method === 'PUT').slice(putsBefore);
    expect(puts.map((r) => `${r.path} ${r.status}`)).toEqual([`/experiments/${experiment().id} 200`]);

    // More hours pass; the one hour allowed is used: one warning naming the command, no second PUT.
    expiresIn(10);
    await waitFor('the coordinator to warn', () => expiryEvents().some((e) => e.action === 'warned'));
    const warned = expiryEvents().find((e) => e.action === 'warned')!;
    expect(warned.detail).toContain('extend it (nx run cl:extend --hours=N); 1 h of the 1 h allowed here were asked for');
    expect(api.requests.filter((r) => r.method === 'PUT').length).toBe(putsBefore + 1);

    // Seen from here without following: experiment-status and the dashboard's reader.
    const status = await nx(['run', 'demo:experiment-status', `--plan=${PLAN}`]);
    expect(status.all).toMatch(/^CloudLab experiment labrig-test\/cx expires in \d+ min — coordinator: CloudLab experiment labrig-test\/cx expires \S+: the sweep should end in about .* \(\d+ run\(s\) left\), less than 30 min before it expires: extend it/m);
    const reader = new CoordinatorReader(ws.dir);
    try {
      const seen = await readExperiment(ws.dir, PLAN, { coordinator: reader });
      expect(seen!.expiry).toMatchObject({ what: 'CloudLab experiment labrig-test/cx', expiresAt: warned.expiresAt });
      expect(seen!.expiry!.last).toContain('1 h of the 1 h allowed');
    } finally {
      await reader.close();
    }

    // The laptop comes back and follows (autoExtend off here now: it only warns before attaching).
    ws.write('configs/platforms/cl/platform.toml', platformFile(false));
    const follow = await nx(['run', 'demo:experiment', `--plan=${PLAN}`, '--coordinator=tb-0', '--output=plain']);
    expect(follow.exitCode, follow.all).toBe(0);
    expect(follow.all).toMatch(/! experiment labrig-test\/cx expires \S+, before plan cx-sweep \(\d+ run\(s\) to go\) may end/);
    expect(follow.all).toMatch(/the coordinator watches the expiry: CloudLab experiment labrig-test\/cx expires in \d+ min \(last: CloudLab experiment labrig-test\/cx expires \S+: the sweep should end/);
    expect(follow.all).toMatch(/^\[\d+\/24\] \S+ done in .* — runs \d+\/24 done.*; CloudLab experiment labrig-test\/cx expires in \d+ min$/m);
    expect(follow.all).toContain('collected');
    expect(expiryEvents().map((e) => e.action)).toEqual(['watching', 'moved', 'extended', 'moved', 'warned']);

    // The token: in no file here or on the hosts, in no output.
    const files = [...filesUnder(join(ws.dir, '.labrig')), ...filesUnder(join(ws.dir, 'configs')), ...filesUnder(join(ws.dir, 'results')), ...tb.hosts.flatMap((h) => filesUnder(h.home))];
    expect(files.length).toBeGreaterThan(20);
    expect(files.some((f) => f.endsWith('/spec.json'))).toBe(true);
    const holding = files.filter((f) => readFileSync(f).includes(TOKEN));
    expect(holding).toEqual([]);
    expect(outputs.filter((o) => o.includes(TOKEN))).toEqual([]);
  });
});
