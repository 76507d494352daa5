/**
 * Builds on a platform host (`[build] on`), through the real `nx` CLI: the demo built on tb-0,
 * fetched into dist/ and cached by Nx (a cache hit opens no SSH connection), a one-line change
 * sends one file, a failing build leaves nothing in dist/, a wrong arch is refused before anything
 * is sent, a frozen host and a build over its time limit fail in bounded time, and two declared
 * arches are two Nx cache entries.
 *
 * Real sshd hosts on 127.0.148.x:2530. One stand-in: a `uname` on the system's PATH that makes tb-1
 * answer `aarch64` (no ARM machine runs here); every other host runs the real uname.
 */
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDeployKey } from '@labrig/ssh';
import { acceptedConnections, down, freeze, loadState, thaw, type TestbedState } from '@labrig/testbed';
import { createE2eWorkspace, localPlatformFile, testbedDir, type CommandResult, type E2eWorkspace } from './workspace.js';

const repository = join(import.meta.dirname, '../..');
let ws: E2eWorkspace;
let tbDir: string;
let tb: TestbedState;

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const dist = (rel = '') => join(ws.dir, 'dist/targets/demo', rel);
const home = (host: string) => tb.hosts.find((h) => h.name === host)!.home;
const remoteOut = (host: string, rel: string) => join(home(host), '.labrig/build/demo/out', rel);
const tb0User = () => tb.hosts.find((h) => h.name === 'tb-0')!.user;
const build = (platform: string, ...more: string[]) => ws.nx(['run', `demo:build`, '-c', platform, ...more]);

function expectOk(r: CommandResult, what: string): void {
  expect(r.exitCode, `${what} failed:\n${r.all}`).toBe(0);
}

/** The demo's system file with `[build]` extended by `build` and `[deploy]` replaced by `deploy`. */
function systemFile(o: { build?: string[]; deploy?: string[]; env?: string[] } = {}): string {
  const demo = readFileSync(join(repository, 'targets/demo/system.toml'), 'utf8');
  return demo
    .replace('[build]\n', `[build]\n${(o.build ?? []).join('\n')}\n`)
    .replace(/\[deploy\]\n[^[]*/, `[deploy]\n${(o.deploy ?? ['distribution = "ssh"', 'from = "build-host"']).join('\n')}\n\n${o.env ? `[env]\n${o.env.join('\n')}\n\n` : ''}`);
}

function platformFile(build: string[]): string {
  return localPlatformFile({ dir: tbDir, hosts: 4, addressBase: '127.0.148.0', port: 2530, extra: ['s3 = false', 'registry = false', '[ssh]', 'connectTimeout = "3s"', '[run]', 'timeout = "1m"', '[build]', ...build] });
}

/** Every file under a folder. */
function filesIn(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((f) => join(dir, f)).filter((f) => statSync(f).isFile());
}

/** Task hashes in Nx's local cache. */
function cacheEntries(): string[] {
  const dir = join(ws.dir, '.nx/cache');
  return existsSync(dir) ? readdirSync(dir).filter((e) => /^\d+$/.test(e)) : [];
}

beforeAll(async () => {
  ws = createE2eWorkspace('e2e-rbuild-');
  tbDir = testbedDir('rbuild');
  ws.write('configs/platforms/rb/platform.toml', platformFile(['arch = "x86_64"']));
  ws.write('configs/platforms/rbarm/platform.toml', platformFile(['arch = "aarch64"']));
  for (const f of readdirSync(join(repository, 'targets/demo/src'))) ws.write(`targets/demo/src/${f}`, readFileSync(join(repository, 'targets/demo/src', f)));
  ws.write('targets/demo/src/notes.h', '/* declared by src/*.h, used by nothing: deleted later */\n');
  ws.write('targets/demo/system.toml', systemFile({ build: ['on = "tb-0"'] }));
  const up = await ws.nx(['run', 'rb:up']);
  if (up.exitCode !== 0) throw new Error(`nx run rb:up failed:\n${up.all}`);
  tb = await loadState(tbDir);
}, 300_000);

afterAll(async () => {
  if (tb?.hosts) for (const h of tb.hosts) await thaw(tb, h.name).catch(() => undefined);
  if (ws) await ws.nx(['run', 'demo:stop', '-c', 'rb']).catch(() => undefined);
  if (tbDir && existsSync(join(tbDir, 'state.json'))) await down(tbDir);
  if (tbDir) rmSync(tbDir, { recursive: true, force: true });
  if (ws && !process.env['KEEP']) ws.remove();
}, 120_000);

describe('a build on a platform host', { timeout: 240_000 }, () => {
  it('refuses a declared arch the build host does not have, before anything is sent', async () => {
    const r = await build('rbarm');
    expect(r.exitCode, r.all).not.toBe(0);
    expect(r.all).toContain('configs/platforms/rbarm/platform.toml: build.arch');
    expect(r.all).toContain('the build host tb-0 is x86_64');
    expect(r.all).toContain('but aarch64 is declared');
    expect(existsSync(join(home('tb-0'), '.labrig/build')), 'something was sent to tb-0').toBe(false);
    expect(existsSync(dist())).toBe(false);
  });

  it('builds the demo on tb-0 into dist/, a second build is a cache hit with no connection, and the deploy copies from tb-0', async () => {
    const before = await acceptedConnections(tb, 'tb-0');
    const first = await build('rb');
    expectOk(first, 'build on tb-0');
    expect(first.all).toMatch(/sync +6 of 6 source files sent/);
    const manifest = JSON.parse(readFileSync(dist('artifacts.json'), 'utf8')) as { builtOn: { host: string; arch: string }; files: { path: string; sha256: string }[] };
    expect(manifest.builtOn).toMatchObject({ host: 'tb-0', arch: 'x86_64' });
    for (const f of ['bin/kvserver', 'bin/kvload']) {
      expect(sha(dist(f)), f).toBe(sha(remoteOut('tb-0', f)));
      expect(manifest.files.find((m) => m.path === f)?.sha256).toBe(sha(dist(f)));
    }
    const afterBuild = await acceptedConnections(tb, 'tb-0');
    expect(afterBuild).toBeGreaterThan(before);

    const again = await build('rb');
    expectOk(again, 'second build');
    expect(again.all).toMatch(/local cache|existing outputs match the cache/);
    expect(await acceptedConnections(tb, 'tb-0'), 'a cache hit connected to tb-0').toBe(afterBuild);

    // The dry run shows the check, the sync, the remote command and the fetch, and contacts nothing.
    const dry = await build('rb', '--dry-run');
    expectOk(dry, 'dry run');
    expect(dry.all).toContain('check  uname -m on tb-0 = x86_64');
    expect(dry.all).toMatch(/sync +targets\/demo\/\{src\/\*\.c,src\/\*\.h,src\/Makefile\} -> tb-0:~\/\.labrig\/build\/demo\/src\//);
    expect(dry.all).toContain("run    make --no-print-directory -C src 'OUT=~/.labrig/build/demo/out/bin'");
    expect(dry.all).toContain('fetch  tb-0:~/.labrig/build/demo/out/bin/kvserver -> dist/targets/demo/bin/kvserver');
    expect(await acceptedConnections(tb, 'tb-0'), 'the dry run connected to tb-0').toBe(afterBuild);

    const deploy = await ws.nx(['run', 'demo:deploy', '-c', 'rb', '--output=plain']);
    expectOk(deploy, 'deploy');
    // Servers on tb-0 (its own build folder) and tb-1 (relayed), clients on tb-2 and tb-3.
    for (const [host, f] of [['tb-0', 'bin/kvserver'], ['tb-1', 'bin/kvserver'], ['tb-2', 'bin/kvload'], ['tb-3', 'bin/kvload']] as const) {
      expect(sha(join(home(host), '.labrig/systems/demo', f)), `${f} on ${host}`).toBe(sha(dist(f)));
    }
    // How each got there, from the hosts' step logs: tb-0 copied from its own build folder, the others through the controller.
    const logs = filesIn(join(ws.dir, '.labrig/runs')).map((f) => readFileSync(f, 'utf8')).join('\n');
    expect(logs).toContain('kvserver: copied on tb-0 from its build folder');
    expect(logs).toMatch(/kvserver: copied from tb-0 through the controller \(\d+ bytes\)/);
    expect(logs).toMatch(/kvload: copied from tb-0 through the controller \(\d+ bytes\)/);
    expect(logs).not.toContain('no longer holds the built file');
    const load = await ws.nx(['run', 'demo:load', '-c', 'rb', '--output=plain']);
    expectOk(load, 'load');
    expect(load.all).toMatch(/\[tb-2\].*ops/);

    // With a deployment key (as a coordinator hand-off makes it), tb-0 sends straight to the others.
    ensureDeployKey(ws.dir, 'rb');
    rmSync(join(home('tb-1'), '.labrig/systems/demo/bin/kvserver'));
    rmSync(join(home('tb-2'), '.labrig/systems/demo/bin/kvload'));
    const before2 = filesIn(join(ws.dir, '.labrig/runs')).length;
    const direct = await ws.nx(['run', 'demo:deploy', '-c', 'rb', '--output=plain']);
    expectOk(direct, 'deploy with a deployment key');
    expect(filesIn(join(ws.dir, '.labrig/runs')).length).toBeGreaterThan(before2);
    const logs2 = filesIn(join(ws.dir, '.labrig/runs')).map((f) => readFileSync(f, 'utf8')).join('\n');
    expect(logs2).toContain('kvserver: sent by tb-0 straight to this host (deployment key)');
    expect(logs2).toContain('kvload: sent by tb-0 straight to this host (deployment key)');
    expect(sha(join(home('tb-1'), '.labrig/systems/demo/bin/kvserver'))).toBe(sha(dist('bin/kvserver')));
    expect(sha(join(home('tb-2'), '.labrig/systems/demo/bin/kvload'))).toBe(sha(dist('bin/kvload')));
    expect(readFileSync(join(home('tb-2'), '.ssh/authorized_keys'), 'utf8')).toContain('labrig-deploy-key:rb');
    expect(existsSync(join(home('tb-0'), '.labrig/keys/rb.known_hosts'))).toBe(true);
  });

  it('sends only the changed file after a one-line change, deletes an undeclared one, and the outputs change', async () => {
    const oldLoad = sha(dist('bin/kvload'));
    const oldServer = sha(dist('bin/kvserver'));
    const file = join(ws.dir, 'targets/demo/src/kvload.c');
    writeFileSync(file, `${readFileSync(file, 'utf8')}const char kvload_build_note[] = "changed for the remote-build spec";\n`);
    rmSync(join(ws.dir, 'targets/demo/src/notes.h'));
    const r = await build('rb');
    expectOk(r, 'build after a change');
    expect(r.all).toMatch(/sync +1 of 5 source files sent \([0-9.]+ KiB\), 4 unchanged, 1 deleted: src\/kvload\.c/);
    expect(existsSync(join(home('tb-0'), '.labrig/build/demo/src/src/notes.h'))).toBe(false);
    expect(sha(dist('bin/kvload'))).not.toBe(oldLoad);
    expect(sha(dist('bin/kvserver'))).toBe(oldServer);
    expect(sha(dist('bin/kvload'))).toBe(sha(remoteOut('tb-0', 'bin/kvload')));
  });

  it('a failing build reports its exit status and the end of the remote log, keeps nothing in dist/, and the fixed build succeeds', async () => {
    const file = join(ws.dir, 'targets/demo/src/kvload.c');
    const good = readFileSync(file, 'utf8');
    writeFileSync(file, `${good}int broken_for_the_spec(void) { return missing_symbol_xyz; }\n`);
    const r = await build('rb');
    expect(r.exitCode, r.all).not.toBe(0);
    expect(r.all).toContain('the build on tb-0 exited with status 2');
    expect(r.all).toContain('last lines of ~/.labrig/build/demo/build.log there:');
    expect(r.all).toMatch(/missing_symbol_xyz/);
    expect(existsSync(dist()), 'dist/ kept output of a failed build').toBe(false);
    expect(existsSync(`${dist()}.partial`)).toBe(false);

    writeFileSync(file, good);
    const fixed = await build('rb');
    expectOk(fixed, 'fixed build');
    expect(existsSync(dist('bin/kvload'))).toBe(true);
  });

  it('a frozen build host fails as unreachable within its connect timeout, and a build over its time limit is killed', async () => {
    await freeze(tb, 'tb-0');
    let r: CommandResult;
    const t0 = Date.now();
    try {
      r = await build('rb', '--skip-nx-cache');
    } finally {
      await thaw(tb, 'tb-0');
    }
    expect(r.exitCode, r.all).not.toBe(0);
    expect(r.all).toMatch(/tb-0.*(unreachable|did not answer|timed out)/i);
    expect(Date.now() - t0, 'the frozen host made the build hang').toBeLessThan(60_000);

    ws.write('targets/demo/system.toml', systemFile({ build: ['on = "tb-0"', 'timeout = "3s"'] }).replace(/command = \["make"[^\n]*/, 'command = ["sh", "-c", "echo started; exec sleep 45"]'));
    const slow = await build('rb');
    expect(slow.exitCode, slow.all).not.toBe(0);
    expect(slow.all).toMatch(/build \(build command\) on tb-0 did not finish within 3(\.0)? ?s/);
    const left = await execa('pgrep', ['-u', tb0User(), '-f', 'sleep 45'], { reject: false });
    expect(left.stdout.trim(), 'the build kept running on tb-0').toBe('');
    expect(existsSync(dist())).toBe(false);

    // Ctrl-C while it runs there: stopped on tb-0 as well.
    const bin = join(ws.dir, 'node_modules/@labrig/runner/bin/labrig-run.mjs');
    const child = execa(process.execPath, [bin, '@labrig/system-generic:build', 'demo', 'targets/demo', '--platform=rb'], { cwd: ws.dir, all: true, reject: false });
    const sleeping = async () => (await execa('pgrep', ['-u', tb0User(), '-f', 'exec sleep 45'], { reject: false })).stdout.trim() !== '';
    for (let i = 0; i < 100 && !(await sleeping()); i++) await new Promise((r) => setTimeout(r, 200));
    expect(await sleeping(), 'the build never started on tb-0').toBe(true);
    child.kill('SIGINT');
    const stopped = await child;
    expect(stopped.exitCode, stopped.all).not.toBe(0);
    expect(stopped.all).toContain('interrupted during the build command; the build on tb-0 was stopped there');
    expect(await sleeping(), 'Ctrl-C left the build running on tb-0').toBe(false);
  });

  it('two declared arches of the same sources are two Nx cache entries, each a hit the second time', async () => {
    // Builds on the platform's [build] host: tb-0 (x86_64) for rb, tb-1 (the aarch64 stand-in) for rbarm.
    const fx = join(tbDir, 'fx');
    mkdirSync(fx, { recursive: true });
    chmodSync(tbDir, 0o755);
    const tb1User = tb.hosts.find((h) => h.name === 'tb-1')!.user;
    writeFileSync(join(fx, 'uname'), `#!/bin/sh\n# stand-in: tb-1 is an aarch64 host\nif [ "$(id -un)" = "${tb1User}" ] && [ "$1" = "-m" ]; then echo aarch64; else exec /usr/bin/uname "$@"; fi\n`);
    chmodSync(fx, 0o755);
    chmodSync(join(fx, 'uname'), 0o755);
    ws.write('targets/demo/system.toml', systemFile({ deploy: ['distribution = "ssh"'], env: [`PATH = "${fx}:/usr/local/bin:/usr/bin:/bin"`] }));
    ws.write('configs/platforms/rb/platform.toml', platformFile(['host = "tb-0"', 'arch = "x86_64"']));
    ws.write('configs/platforms/rbarm/platform.toml', platformFile(['host = "tb-1"', 'arch = "aarch64"']));

    const before = cacheEntries();
    const x86 = await build('rb');
    expectOk(x86, 'x86_64 build');
    expect(JSON.parse(readFileSync(dist('artifacts.json'), 'utf8')).builtOn).toMatchObject({ host: 'tb-0', arch: 'x86_64' });
    const arm = await build('rbarm');
    expectOk(arm, 'aarch64 build');
    expect(JSON.parse(readFileSync(dist('artifacts.json'), 'utf8')).builtOn).toMatchObject({ host: 'tb-1', arch: 'aarch64' });
    const added = cacheEntries().filter((e) => !before.includes(e));
    expect(added.length, `new cache entries: ${added.join(', ')}`).toBe(2);

    const n0 = await acceptedConnections(tb, 'tb-0');
    const n1 = await acceptedConnections(tb, 'tb-1');
    for (const [p, host] of [['rb', 'tb-0'], ['rbarm', 'tb-1']] as const) {
      const again = await build(p);
      expectOk(again, `${p} again`);
      expect(again.all).toMatch(/local cache|existing outputs match the cache/);
      expect(JSON.parse(readFileSync(dist('artifacts.json'), 'utf8')).builtOn.host).toBe(host);
    }
    expect(await acceptedConnections(tb, 'tb-0')).toBe(n0);
    expect(await acceptedConnections(tb, 'tb-1')).toBe(n1);
  });
});
