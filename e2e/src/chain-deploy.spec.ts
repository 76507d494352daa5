/**
 * Chain distribution in a real deploy, through the real `nx` CLI: a 64 MiB artifact to 8 hosts that
 * sit behind a login host, in a network namespace whose link from this machine is rate-limited by
 * tc (the testbed's uplink; a laptop's link into a cluster). The bytes through that link are read
 * from the veth's counters (`ip -s link`).
 * - The first deploy: every host holds the file, verified, with its mode; the uplink carried it once.
 * - A second deploy sends nothing.
 * - A host's installed copy damaged: the next deploy re-feeds it from a neighbour in its first step,
 *   before anything starts.
 * - A host killed mid-chain: the others finish verified, the dead one is reported; a rerun
 *   completes only it.
 * Real sshd hosts on 127.0.152.x:2570.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { down, kill, loadState, restart, uplinkBytes, type TestbedState } from '@labrig/testbed';
import { createE2eWorkspace, localPlatformFile, testbedDir, type CommandResult, type E2eWorkspace } from './workspace.js';

const SIZE = 64 * 1024 * 1024;
const HOSTS = 8;
const DEST = '.labrig/systems/blob/blob.bin';
let ws: E2eWorkspace;
let tbDir: string;
let tb: TestbedState;

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const home = (host: string) => tb.hosts.find((h) => h.name === host)!.home;
const names = () => tb.hosts.map((h) => h.name);
const built = () => join(ws.dir, 'dist/targets/blob/blob.bin');
const deploy = () => ws.nx(['run', 'blob:deploy', '-c', 'cb', '--output=plain']);

function expectOk(r: CommandResult, what: string): void {
  expect(r.exitCode, `${what} failed:\n${r.all}`).toBe(0);
}

/** `[host] step: ok|skipped…` lines of a plain run's output, for one step. */
function stepResults(out: string, step: string): Record<string, string> {
  const r: Record<string, string> = {};
  for (const m of out.matchAll(new RegExp(`^\\[(tb-\\d+)\\] ${step}: (ok|skipped|FAILED|UNREACHABLE|TIMEOUT|aborted)`, 'gm'))) r[m[1]!] = m[2]!;
  return r;
}

beforeAll(async () => {
  ws = createE2eWorkspace('e2e-chain-');
  tbDir = testbedDir('chain');
  ws.write(
    'configs/platforms/cb/platform.toml',
    localPlatformFile({
      dir: tbDir,
      hosts: HOSTS,
      addressBase: '127.0.152.0',
      port: 2570,
      extra: ['login = true', `hostsBehindLogin = ${HOSTS}`, 'uplink = "80mbit"', '[ssh]', 'connectTimeout = "5s"', '[run]', 'timeout = "3m"'],
    }),
  );
  ws.write('targets/blob/seed.txt', 'one\n');
  ws.write(
    'targets/blob/system.toml',
    [
      'system = "@labrig/system-generic"',
      'version = "1"',
      'description = "A 64 MiB payload every host needs"',
      'sources = ["seed.txt"]',
      '',
      '[build]',
      `command = ["sh", "-c", "mkdir -p {out} && head -c ${SIZE} /dev/urandom > {out}/blob.bin"]`,
      'outputs = ["blob.bin"]',
      '',
      '[[artifacts]]',
      'name = "blob"',
      'path = "blob.bin"',
      'mode = "0640"',
      '',
      '[roles.node]',
      `hosts = { indexes = [${[...Array(HOSTS).keys()].join(', ')}] }`,
      '',
    ].join('\n'),
  );
  const up = await ws.nx(['run', 'cb:up']);
  if (up.exitCode !== 0) throw new Error(`nx run cb:up failed:\n${up.all}`);
  tb = await loadState(tbDir);
}, 300_000);

afterAll(async () => {
  if (tbDir && existsSync(join(tbDir, 'state.json'))) await down(tbDir);
  if (tbDir) rmSync(tbDir, { recursive: true, force: true });
  if (ws && !process.env['KEEP']) ws.remove();
}, 120_000);

describe('chain distribution in a deploy behind a thin uplink', { timeout: 300_000 }, () => {
  it('64 MiB to 8 hosts: every host holds it verified with its mode; the uplink carried it once; progress shows bytes and hosts', async () => {
    expect(names()).toHaveLength(HOSTS);
    const before = await uplinkBytes(tb.netns!);
    const r = await deploy();
    expectOk(r, 'deploy');
    const through = (await uplinkBytes(tb.netns!)) - before;
    const digest = sha(built());
    for (const h of names()) {
      const p = join(home(h), DEST);
      expect(sha(p), h).toBe(digest);
      expect(statSync(p).mode & 0o777, h).toBe(0o640);
    }
    expect(stepResults(r.all, 'distribute')).toEqual(Object.fromEntries(names().map((h) => [h, 'ok'])));
    // The install step found the file everywhere.
    expect(stepResults(r.all, 'install:node')).toEqual(Object.fromEntries(names().map((h) => [h, 'skipped'])));
    // Eight copies arrived; the uplink carried one (plus SSH framing, the jump's second layer, ACKs, commands).
    expect(through, `${through} bytes crossed the uplink for ${SIZE}`).toBeLessThanOrEqual(1.1 * SIZE);
    expect(through).toBeGreaterThanOrEqual(SIZE);
    // One progress bar for the artifact, in the row of the host that started the chain.
    expect(r.all).toMatch(/distribute: blob \[#{20}\] 64\.0 MiB\/64\.0 MiB up, 8\/8 hosts/);
    expect(r.all).toMatch(/distribute: blob \[[#.]{20}\] [0-9.]+ (KiB|MiB|B)\/64\.0 MiB up, [0-7]\/8 hosts/);
  });

  it('a second deploy sends nothing', async () => {
    const before = await uplinkBytes(tb.netns!);
    const r = await deploy();
    expectOk(r, 'second deploy');
    expect(stepResults(r.all, 'distribute')).toEqual(Object.fromEntries(names().map((h) => [h, 'skipped'])));
    expect((await uplinkBytes(tb.netns!)) - before).toBeLessThan(0.02 * SIZE);
  });

  it("a damaged copy on one host is re-fed by a neighbour in the deploy's first step", async () => {
    const victim = join(home('tb-5'), DEST);
    const bytes = readFileSync(victim);
    bytes[12345] = bytes[12345]! ^ 0xff;
    writeFileSync(victim, bytes);
    const before = await uplinkBytes(tb.netns!);
    const r = await deploy();
    expectOk(r, 'deploy after damage');
    expect(sha(victim)).toBe(sha(built()));
    const dist = stepResults(r.all, 'distribute');
    expect(dist['tb-5']).toBe('ok');
    expect(Object.entries(dist).filter(([h]) => h !== 'tb-5').every(([, s]) => s === 'skipped'), JSON.stringify(dist)).toBe(true);
    // distribute is the plan's first step: nothing else ran before the copy was whole again.
    expect(r.all.indexOf('== distribute')).toBeGreaterThanOrEqual(0);
    expect(r.all.indexOf('== distribute')).toBeLessThan(r.all.indexOf('== install:node'));
    // Fed by a host that holds it, not through this machine's uplink.
    expect((await uplinkBytes(tb.netns!)) - before).toBeLessThan(0.05 * SIZE);
  });

  it('a host killed mid-chain: the others finish verified, it is reported; a rerun completes only it', async () => {
    // A new payload (a new build) so the chain runs again.
    ws.write('targets/blob/seed.txt', 'two\n');
    const build = await ws.nx(['run', 'blob:build']);
    expectOk(build, 'build');
    const digest = sha(built());
    const dir = join(home('tb-3'), '.labrig/systems/blob');
    const partial = () => (existsSync(dir) ? (readdirSync(dir).filter((f) => f.startsWith('blob.bin.labrig-chain-')).map((f) => statSync(join(dir, f)).size)[0] ?? 0) : 0);
    const running = deploy();
    for (let i = 0; i < 1200 && partial() < 8 * 1024 * 1024; i++) await new Promise((res) => setTimeout(res, 50));
    expect(partial(), 'tb-3 never received 8 MiB').toBeGreaterThanOrEqual(8 * 1024 * 1024);
    await kill(tb, 'tb-3');
    const r = await running;
    expect(r.exitCode, r.all).not.toBe(0);
    const dist = stepResults(r.all, 'distribute');
    expect(dist['tb-3'], r.all).toMatch(/FAILED|UNREACHABLE/);
    expect(r.all).toMatch(/\[tb-3\] distribute: .*(did not reach tb-3|tb-3)/);
    for (const h of names().filter((n) => n !== 'tb-3')) {
      expect(dist[h], `${h}\n${r.all}`).toBe('ok');
      expect(sha(join(home(h), DEST)), h).toBe(digest);
    }
    expect(existsSync(join(home('tb-3'), DEST)) && sha(join(home('tb-3'), DEST)) === digest).toBe(false);

    await restart(tb, 'tb-3');
    const before = await uplinkBytes(tb.netns!);
    const again = await deploy();
    expectOk(again, 'rerun');
    const second = stepResults(again.all, 'distribute');
    expect(second).toEqual(Object.fromEntries(names().map((h) => [h, h === 'tb-3' ? 'ok' : 'skipped'])));
    expect(sha(join(home('tb-3'), DEST))).toBe(digest);
    expect((await uplinkBytes(tb.netns!)) - before).toBeLessThan(0.05 * SIZE);
  });

  it('the deployment key the chain made is marked on the hosts and removed by teardown', async () => {
    const authorized = (h: string) => (existsSync(join(home(h), '.ssh/authorized_keys')) ? readFileSync(join(home(h), '.ssh/authorized_keys'), 'utf8') : '');
    expect(existsSync(join(ws.dir, '.labrig/deploy-keys/cb/id_ed25519'))).toBe(true);
    // Every host but the chain's head logs in a peer with it.
    for (const h of names().filter((n) => n !== 'tb-0')) expect(authorized(h), h).toContain('labrig-deploy-key:cb');
    const r = await ws.nx(['run', 'blob:teardown', '-c', 'cb', '--output=plain']);
    expectOk(r, 'teardown');
    expect(r.all).toMatch(/deployment key of cb removed from 8 host\(s\)/);
    for (const h of names()) {
      expect(authorized(h), h).not.toContain('labrig-deploy-key:cb');
      expect(existsSync(join(home(h), '.labrig/keys')) ? readdirSync(join(home(h), '.labrig/keys')).filter((f) => f.startsWith('cb')) : [], h).toEqual([]);
    }
    expect(existsSync(join(ws.dir, '.labrig/deploy-keys/cb'))).toBe(false);
  });
});
