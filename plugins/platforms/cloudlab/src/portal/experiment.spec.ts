/**
 * `[experiment]`: the platform makes its CloudLab experiment through the Portal API stand-in
 * (testing/portal-api.ts: loopback HTTP with the published shapes), whose nodes are real testbed
 * sshd hosts (127.0.155.x:2600) listed in the real-shaped manifest it serves: as on CloudLab, every
 * node offers a login for several project members under the same names, and the hosts all log in
 * as one user (the testbed's `sharedUser`, each host with its own home), which the platform file
 * names as hosts.user.
 * Provision from nothing, again (adopted), a lost create answer, an instantiation failure,
 * teardown (refused without --yes; twice), extend (granted, or waiting for an administrator), the
 * Platform contract with [experiment] set, and a token canary in no file and no output.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadPlatform, readJournal, runSteps, type LongRun, type PlatformInstance, type RunEvent } from '@labrig/core';
import { down, kill, restart, up, type TestbedState } from '@labrig/testbed';
import { checkPlatformContract } from '@labrig/testkit';
import type { CloudlabConfig } from '../config.js';
import { startPortalApi, type PortalApi } from '../testing/portal-api.js';
import { OTHER_MEMBERS, renderManifest } from '../testing/testbed-manifest.js';
import { parseManifest } from '../manifest.js';
import { loadXmlLibrary } from '../xml.js';
import { writePlatformFiles } from '../testing/workspace.js';
import { ExperimentFailed, extendRecordedExperiment, readExperimentState, type ExperimentConfig } from './experiment.js';
import type { ExecutorContext } from '@nx/devkit';
import statusExecutor from '../executors/status/executor.js';
import extendExecutor from '../executors/extend/executor.js';

const TOKEN = 'portal-token-canary-5f2e9b71c0';
const ENV = 'LABRIG_SPEC_CLOUDLAB_TOKEN';
const workspace = join(import.meta.dirname, '../../../../..');
mkdirSync(join(workspace, 'tmp'), { recursive: true });
let root: string;
let tbDir: string;
let tb: TestbedState;
let api: PortalApi;
const output: string[] = [];
/** Whether the stand-in's reboot action brings the testbed host back (restarts its sshd). */
let rebootRestarts = true;

/** A platform folder `name` whose [experiment] is `exp` on the stand-in. */
function platformFolder(name: string, exp: string, extra: string[] = []): void {
  writePlatformFiles(root, name, {
    'platform.toml': [
      'platform = "@labrig/platform-cloudlab"',
      '[hosts]',
      'manifest = "manifest.xml"',
      // The testbed's shared user: one of the several members' logins on every node.
      `user = ${JSON.stringify(tb.hosts[0]!.user)}`,
      '[ssh]',
      `identityFiles = [${JSON.stringify(tb.identityFile)}]`,
      'connectTimeout = "5s"',
      '[experiment]',
      'project = "labrig-test"',
      'profile = "emulab-ops/small-lan"',
      `name = "${exp}"`,
      'bindings = { nodeCount = 2, phystype = "xl170" }',
      'duration = 4',
      `apiUrl = "${api.url}"`,
      `tokenEnv = "${ENV}"`,
      'pollInterval = "100ms"',
      'readyTimeout = "30s"',
      ...extra,
      '',
    ].join('\n'),
  });
}

async function open(name: string): Promise<PlatformInstance & { cfg: CloudlabConfig }> {
  return (await loadPlatform(root, name)) as PlatformInstance & { cfg: CloudlabConfig };
}

/** Run `f` with console.log captured into `output`. */
async function captured<T>(f: () => Promise<T>): Promise<T> {
  const log = console.log;
  console.log = (...a: unknown[]) => void output.push(a.map(String).join(' '));
  try {
    return await f();
  } finally {
    console.log = log;
  }
}

const posts = () => api.requests.filter((r) => r.method === 'POST' && r.path === '/experiments').length;

beforeAll(async () => {
  root = mkdtempSync(join(workspace, 'tmp', 'cloudlab-portal-'));
  tbDir = mkdtempSync(join(tmpdir(), 'labrig-cloudlab-portal-tb-'));
  chmodSync(tbDir, 0o755);
  tb = await up({ dir: tbDir, hosts: 2, addressBase: '127.0.155.0', port: 2600, sharedUser: true });
  process.env[ENV] = TOKEN;
  api = await startPortalApi({
    token: TOKEN,
    projects: ['labrig-test'],
    nodes: tb.hosts.map((h) => ({ client_id: h.name, hostname: h.address, ipv4: h.address })),
    manifest: () =>
      renderManifest(
        tb.hosts.map((h) => ({ name: h.name, hostname: h.address, port: h.port, user: h.user, clusterAddress: h.address })),
        { otherMembers: OTHER_MEMBERS },
      ),
    readyAfterPolls: 3,
    onNodeAction: async (a) => {
      if (a.action === 'reboot' && rebootRestarts) await restart(tb, a.client_id);
    },
  });
}, 120_000);

afterAll(async () => {
  delete process.env[ENV];
  await api?.close();
  if (tbDir) await down(tbDir).catch(() => undefined);
  if (root) rmSync(root, { recursive: true, force: true });
  if (tbDir) rmSync(tbDir, { recursive: true, force: true });
}, 60_000);

describe('a CloudLab experiment made by labrig', { timeout: 120_000 }, () => {
  it('provision from nothing: created, ready after a few polls, manifest saved, every node answers; again: adopted', async () => {
    platformFolder('cl', 'exp-a');
    const p = await open('cl');
    const hosts = await captured(() => p.platform.provision!(p.cfg, p.ctx));
    expect(hosts.map((h) => `${h.name} ${h.user}@${h.address}:${h.port}`)).toEqual(tb.hosts.map((h) => `${h.name} ${h.user}@${h.address}:${h.port}`));
    expect(posts()).toBe(1);
    const text = output.join('\n');
    expect(text).toContain('creating experiment labrig-test/exp-a (profile emulab-ops/small-lan, 4 h, bindings {"nodeCount":2,"phystype":"xl170"})');
    expect(text).toMatch(/provisioning: tb-0 booting, tb-1 booting/);
    expect(text).toMatch(/ready: tb-0 ready, tb-1 ready/);
    expect(text).toContain('experiment labrig-test/exp-a ready (2 nodes');
    expect(readFileSync(join(root, 'configs/platforms/cl/manifest.xml'), 'utf8')).toContain('type="manifest"');
    const made = [...api.experiments.values()].find((e) => e.name === 'exp-a')!;
    expect(made).toMatchObject({ project: 'labrig-test', profile_name: 'small-lan', profile_project: 'emulab-ops', bindings: { nodeCount: 2, phystype: 'xl170' } });
    expect(readExperimentState(p.ctx)).toMatchObject({ id: made.id, phase: 'ready', createdBy: 'labrig' });
    // The saved manifest offers several members' logins on every node (the same names everywhere);
    // the inventory logs in to every host as the configured user, one of them.
    const user = tb.hosts[0]!.user;
    const nodes = parseManifest(readFileSync(join(root, 'configs/platforms/cl/manifest.xml'), 'utf8'), 'manifest.xml', loadXmlLibrary(root));
    expect(nodes).toHaveLength(2);
    for (const n of nodes) {
      expect(n.logins.length).toBeGreaterThan(1);
      expect(n.logins.map((l) => l.username).sort()).toEqual([...OTHER_MEMBERS, user].sort());
    }
    const inventory = await p.platform.inventory(p.cfg, p.ctx);
    expect(inventory.map((h) => h.user)).toEqual([user, user]);
    expect(new Set(tb.hosts.map((h) => h.user))).toEqual(new Set([user]));

    output.length = 0;
    const again = await captured(() => p.platform.provision!(p.cfg, p.ctx));
    expect(again).toHaveLength(2);
    expect(posts()).toBe(1);
    expect(output.join('\n')).toContain('experiment labrig-test/exp-a exists (ready): adopted');
  });

  it('a create whose answer is lost is found and adopted, not made twice', async () => {
    platformFolder('lost', 'exp-lost');
    const p = await open('lost');
    api.knobs.loseCreateAnswer = true;
    const before = posts();
    output.length = 0;
    await captured(() => p.platform.provision!(p.cfg, p.ctx));
    expect(posts() - before).toBe(1);
    expect([...api.experiments.values()].filter((e) => e.name === 'exp-lost')).toHaveLength(1);
    expect(output.join('\n')).toContain('the answer to the create was lost; the experiment exists: adopted');
    expect(readExperimentState(p.ctx)).toMatchObject({ phase: 'ready', createdBy: 'labrig' });
  });

  it("an experiment that fails to instantiate reports the portal's reason", async () => {
    platformFolder('bad', 'exp-bad');
    const p = await open('bad');
    api.knobs.failNext = 'No free xl170 nodes at Utah';
    try {
      const err = await captured(() => p.platform.provision!(p.cfg, p.ctx)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ExperimentFailed);
      expect((err as Error).message).toBe('the CloudLab experiment labrig-test/exp-bad failed to instantiate: No free xl170 nodes at Utah');
    } finally {
      delete api.knobs.failNext;
    }
  });

  it('extend: a short extension is granted and recorded; a long one waits for an administrator', async () => {
    const p = await open('cl');
    const cfg = p.cfg as CloudlabConfig & { experiment: ExperimentConfig };
    const before = Date.parse(readExperimentState(p.ctx)!.expiresAt!);
    const short = await extendRecordedExperiment(cfg, p.ctx, 6, 'the sweep needs longer');
    expect(short.granted).toBe(true);
    expect(Date.parse(readExperimentState(p.ctx)!.expiresAt!) - before).toBe(6 * 3600_000);
    const long = await extendRecordedExperiment(cfg, p.ctx, 96, 'the sweep needs longer');
    expect(long).toMatchObject({ granted: false, pending: true });
  });

  it('the status and extend targets: expiry and node states; an extension granted, then one waiting (not a failure)', async () => {
    const ctx = { root, cwd: root, isVerbose: false } as unknown as ExecutorContext;
    output.length = 0;
    expect(await captured(() => statusExecutor({ platform: 'lost' }, ctx))).toEqual({ success: true });
    expect(output[0]).toMatch(/^experiment labrig-test\/exp-lost \([0-9a-f-]{36}\): ready$/);
    expect(output[1]).toMatch(/^  expires 20\d\d-.*\(in /);
    expect(output.slice(2, 4)).toEqual([expect.stringMatching(/^  tb-0  127\.0\.155\.1  ready/), expect.stringMatching(/^  tb-1  127\.0\.155\.2  ready/)]);
    output.length = 0;
    expect(await captured(() => extendExecutor({ platform: 'lost', hours: 2 }, ctx))).toEqual({ success: true });
    expect(await captured(() => extendExecutor({ platform: 'lost', hours: 100 }, ctx))).toEqual({ success: true });
    expect(output[0]).toMatch(/^✔ experiment labrig-test\/exp-lost extended by 2 h: expires /);
    expect(output[1]).toContain('the extension by 100 h waits for an administrator');
    // The expiry as recorded (for experiment-status and the dashboard): the extended one, no portal call.
    const p = await open('lost');
    const calls = api.requests.length;
    const exp = await p.platform.expiry!(p.cfg, p.ctx);
    expect(exp).toEqual({ what: 'CloudLab experiment labrig-test/exp-lost', expiresAt: [...api.experiments.values()].find((e) => e.name === 'exp-lost')!.expires_at });
    expect(api.requests.length).toBe(calls);
    // Bad options and a platform without [experiment]: errors naming them, nothing asked of the portal.
    const before = api.requests.length;
    const errors: string[] = [];
    const err = console.error;
    console.error = (...a: unknown[]) => void errors.push(a.map(String).join(' '));
    try {
      expect(await extendExecutor({ platform: 'lost', hours: 0 }, ctx)).toEqual({ success: false });
    } finally {
      console.error = err;
    }
    expect(errors.join('\n')).toContain('--hours');
    expect(api.requests.length).toBe(before);
  });

  it('before a sweep: fine, a warning naming the command, or (autoExtend) an extension bounded by maxExtendHours', async () => {
    const lines: string[] = [];
    const run = (estimatedMs: number) => ({ what: 'plan sweep (12 run(s) to go)', estimatedMs, upperBound: false, log: (l: string) => void lines.push(l) });
    const p = await open('lost');
    await p.platform.beforeLongRun!(p.cfg, p.ctx, run(3600_000));
    expect(lines.pop()).toMatch(/^experiment labrig-test\/exp-lost expires .*; plan sweep \(12 run\(s\) to go\) should end in about 1 h.*: fine$/);
    const expiry = () => Date.parse([...api.experiments.values()].find((e) => e.name === 'exp-lost')!.expires_at);
    const before = expiry();
    const left = before - Date.now();
    await p.platform.beforeLongRun!(p.cfg, p.ctx, run(left + 5 * 3600_000));
    expect(lines.pop()).toMatch(/^! experiment labrig-test\/exp-lost expires .*, before plan sweep .* may end .*: extend it \(nx run lost:extend --hours=6\) or set \[experiment\] autoExtend = true$/);
    expect(expiry()).toBe(before);

    platformFolder('lost', 'exp-lost', ['autoExtend = true', 'maxExtendHours = 4']);
    const q = await open('lost');
    await q.platform.beforeLongRun!(q.cfg, q.ctx, run(left + 5 * 3600_000));
    expect(lines.pop()).toMatch(/^experiment labrig-test\/exp-lost extended by 4 h \(expires .*\) for plan sweep .*; ! still 2 h short \(maxExtendHours = 4\)$/);
    expect(expiry() - before).toBe(4 * 3600_000);
    // A portal that does not answer is a warning, never a failed sweep.
    api.knobs.busy = 100;
    try {
      const r = await Promise.race([q.platform.beforeLongRun!(q.cfg, q.ctx, run(1000)).then(() => 'returned'), new Promise((res) => setTimeout(() => res('hung'), 60_000))]);
      expect(r).toBe('returned');
    } finally {
      api.knobs.busy = 0;
    }
    expect(lines.pop()).toMatch(/^! the expiry of experiment labrig-test\/exp-lost could not be read/);
  });

  it('during a sweep: maxExtendHours spans its checks; the hand-off to a coordinator carries the token only with autoExtend', async () => {
    const lines: string[] = [];
    const expiry = () => Date.parse([...api.experiments.values()].find((e) => e.name === 'exp-lost')!.expires_at);
    platformFolder('lost', 'exp-lost', ['autoExtend = true', 'maxExtendHours = 3', 'watchInterval = "2m"']);
    const q = await open('lost');
    const sweep: LongRun = { what: 'plan sweep (12 run(s) to go)', estimatedMs: 0, upperBound: false, log: (l) => void lines.push(l), extendedHours: { value: 0 } };
    const short = () => expiry() - Date.now() + 80 * 60_000; // ends 80 min after the expiry (+30 min margin): 2 h missing
    const before = expiry();
    await q.platform.beforeLongRun!(q.cfg, q.ctx, { ...sweep, estimatedMs: short() });
    expect(expiry() - before).toBe(2 * 3600_000);
    expect(sweep.extendedHours!.value).toBe(2);
    // Checked again later in the same sweep: only the 1 h left of the 3 h.
    await q.platform.beforeLongRun!(q.cfg, q.ctx, { ...sweep, estimatedMs: short(), during: true });
    expect(expiry() - before).toBe(3 * 3600_000);
    expect(lines.pop()).toMatch(/extended by 1 h .*; ! still 1 h short \(maxExtendHours = 3\)$/);
    await q.platform.beforeLongRun!(q.cfg, q.ctx, { ...sweep, estimatedMs: short(), during: true });
    expect(expiry() - before).toBe(3 * 3600_000);
    expect(lines.pop()).toMatch(/^! experiment labrig-test\/exp-lost expires .*; 3 h were added for it already, maxExtendHours = 3: extend it by hand \(nx run lost:extend --hours=2\)$/);
    // Fine during a sweep: nothing said.
    const n = lines.length;
    await q.platform.beforeLongRun!(q.cfg, q.ctx, { ...sweep, estimatedMs: 60_000, during: true });
    expect(lines.length).toBe(n);

    // The hand-off: the portal's expiry now, the extension request (token as a secret header),
    // within what is left of this sweep's hours; sent as the coordinator would, it extends.
    const fresh: LongRun = { ...sweep, extendedHours: { value: 1 } };
    const h = (await q.platform.expiryHandOff!(q.cfg, q.ctx, fresh))!;
    const id = [...api.experiments.values()].find((e) => e.name === 'exp-lost')!.id;
    expect(h).toMatchObject({ what: 'CloudLab experiment labrig-test/exp-lost', expiresAt: new Date(expiry()).toISOString(), marginMs: 30 * 60_000, refreshMs: 120_000, extendCommand: 'nx run lost:extend --hours=N' });
    expect(h.extend).toMatchObject({ method: 'PUT', url: `${api.url}/experiments/${id}`, statusUrl: `${api.url}/experiments/${id}`, secretHeaders: { 'X-Api-Token': TOKEN }, expiresAtField: 'expires_at', maxHours: 2 });
    const put = await fetch(h.extend!.url, { method: 'PUT', headers: { ...h.extend!.headers, ...h.extend!.secretHeaders }, body: h.extend!.body!.replace('{{hours}}', '1') });
    expect(put.status).toBe(200);
    expect(expiry() - before).toBe(4 * 3600_000);
    // Without autoExtend the coordinator only warns: no request, no token handed over.
    platformFolder('lost', 'exp-lost');
    const r = await open('lost');
    const plain = (await r.platform.expiryHandOff!(r.cfg, r.ctx, sweep))!;
    expect(plain.extend).toBeUndefined();
    expect(JSON.stringify(plain)).not.toContain(TOKEN);
  });

  it('recover = "reboot": a node that stops answering is rebooted through the API once per run and the step goes on; one that stays down fails saying why', async () => {
    platformFolder('rec', 'exp-rec', ['recover = "reboot"', 'recoverTimeout = "5s"']);
    const p = await open('rec');
    await captured(() => p.platform.provision!(p.cfg, p.ctx));
    const hosts = await p.platform.inventory(p.cfg, p.ctx);
    const probe = async () => {
      const connector = p.platform.createConnector(p.cfg, p.ctx);
      try {
        return await runSteps([{ name: 'probe', run: async (c) => void (await c.remote.exec(['true'])) }], {
          root,
          hosts,
          connector,
          title: 'rec:probe',
          output: 'json',
          stdout: { write: () => true } as unknown as NodeJS.WritableStream,
          recoverHost: (h, why, signal) => p.platform.recoverHost!(p.cfg, p.ctx, h, why, signal),
        });
      } finally {
        await connector.close();
      }
    };
    const reboots = () => api.nodeActions.filter((a) => a.experiment === [...api.experiments.values()].find((e) => e.name === 'exp-rec')!.id);
    await kill(tb, 'tb-1');
    const back = await probe();
    expect(back.ok, JSON.stringify(back.results)).toBe(true);
    expect(reboots()).toEqual([{ experiment: expect.any(String), client_id: 'tb-1', action: 'reboot' }]);
    const journal = await readJournal<RunEvent>(back.dir);
    const rec = journal.filter((e) => e.type === 'host-recover');
    expect(rec).toEqual([expect.objectContaining({ host: 'tb-1', step: 'probe', ok: true, action: 'rebooted through the CloudLab portal' })]);

    rebootRestarts = false;
    await kill(tb, 'tb-1');
    try {
      const down1 = await probe();
      expect(down1.ok).toBe(false);
      expect(down1.results.find((r) => r.host === 'tb-1')).toMatchObject({ status: 'failed', error: { code: 'UNREACHABLE' } });
      expect(down1.results.find((r) => r.host === 'tb-0')?.status).toBe('ok');
      // Once per node per run: one more reboot for this run, then it failed, saying why.
      expect(reboots()).toHaveLength(2);
      const j = (await readJournal<RunEvent>(down1.dir)).filter((e) => e.type === 'host-recover');
      expect(j).toEqual([expect.objectContaining({ host: 'tb-1', ok: false, detail: expect.stringMatching(/^not answering over SSH within 5 s/) })]);
    } finally {
      rebootRestarts = true;
      await restart(tb, 'tb-1');
    }
    // Without recover (the default), an unreachable node is not touched: no reboot, nothing journaled.
    const q = await open('lost');
    expect(await q.platform.recoverHost!(q.cfg, q.ctx, hosts[1]!, 'x', new AbortController().signal)).toBeUndefined();
  });

  it('teardown terminates exactly the recorded experiment, only with --yes; twice is fine', async () => {
    const p = await open('cl');
    const err = await captured(() => p.platform.teardown!(p.cfg, p.ctx)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toContain('teardown would terminate the CloudLab experiment labrig-test/exp-a');
    expect((err as ConfigError).hint).toContain('--yes');
    expect([...api.experiments.values()].find((e) => e.name === 'exp-a')!.terminated).toBe(false);
    p.ctx.confirmed = true;
    output.length = 0;
    await captured(() => p.platform.teardown!(p.cfg, p.ctx));
    await captured(() => p.platform.teardown!(p.cfg, p.ctx));
    expect(output).toEqual(['experiment labrig-test/exp-a terminated', expect.stringMatching(/^no experiment recorded for this platform \(labrig-test\/exp-a was terminated /)]);
    const mine = [...api.experiments.values()].filter((e) => e.terminated).map((e) => e.name);
    expect(mine).toEqual(['exp-a']);
    expect(api.requests.filter((r) => r.method === 'DELETE')).toHaveLength(1);
  });

  it('passes the Platform contract with [experiment] set', async () => {
    platformFolder('contract', 'exp-contract');
    const results = await captured(() => checkPlatformContract({ root, platform: 'contract' }));
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(results.map((r) => r.name)).toContain('provision runs twice with the same hosts');
    const made = [...api.experiments.values()].filter((e) => e.name === 'exp-contract');
    expect(made).toHaveLength(1);
    // Its teardown (confirmed, as --yes) terminated it.
    expect(made[0]!.terminated).toBe(true);
  });

  it('the token is in no file labrig wrote and in no output', () => {
    const files = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((f) => join(dir, f)).filter((f) => statSync(f).isFile()) : []);
    const all = [...files(join(root, '.labrig')), ...files(join(root, 'configs'))];
    expect(all.length).toBeGreaterThan(3);
    for (const f of all) expect(readFileSync(f, 'utf8').includes(TOKEN), f).toBe(false);
    expect(output.join('\n')).not.toContain(TOKEN);
  });
});
