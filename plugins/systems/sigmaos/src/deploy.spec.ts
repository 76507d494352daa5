/**
 * SigmaOS end to end on the local platform: 4 real sshd testbed hosts (127.0.70.1-4:2370, one unix
 * user each), the testbed's S3 server and OCI registry. What cannot run here (docker, sudo,
 * cloud-init, SigmaOS's own scripts) are fixtures (src/testing/fixtures) that record every call in
 * one log; git is real (the hosts clone a fixture repository). Assertions come from that log,
 * the runs' journals, and files on the hosts.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Store } from '@labrig/artifacts';
import { down, up, type TestbedState } from '@labrig/testbed';
import benchExecutor from './executors/bench/executor.js';
import buildExecutor from './executors/build/executor.js';
import deployExecutor from './executors/deploy/executor.js';
import pushExecutor from './executors/push/executor.js';
import setupExecutor from './executors/setup/executor.js';
import statusExecutor from './executors/status/executor.js';
import stopExecutor from './executors/stop/executor.js';
import { FIXTURES, ctxFor, hostError, installFixtures, lastRun, ok, run, statuses } from './testing/harness.js';

const workspace = join(import.meta.dirname, '../../../..');
const TAG = 'labrig-e2e';
const SECRET = `aws_secret_access_key = e2e-${process.pid}-${Date.now()}`;
let root: string;
let tbDir: string;
let fxDir: string;
let fx: { bin: string; shared: string; ready: string };
let tb: TestbedState;
const o = { platform: 'e2e', output: 'plain' as const };
const ctx = () => ctxFor(root);
const HOSTS = ['tb-0', 'tb-1', 'tb-2', 'tb-3'];

/** calls.log lines as [host, command] (unix user -> testbed host name). */
function calls(from = 0): { host: string; cmd: string }[] {
  const byUser = new Map(tb.hosts.map((h) => [h.user, h.name]));
  return readFileSync(join(fx.shared, 'calls.log'), 'utf8')
    .split('\n')
    .slice(from)
    .filter(Boolean)
    .map((l) => {
      const i = l.indexOf(' ');
      return { host: byUser.get(l.slice(0, i)) ?? l.slice(0, i), cmd: l.slice(i + 1) };
    });
}
const mark = () => readFileSync(join(fx.shared, 'calls.log'), 'utf8').split('\n').filter(Boolean).length;
const indexOf = (cs: { host: string; cmd: string }[], host: string, re: RegExp) => cs.findIndex((c) => c.host === host && re.test(c.cmd));
const flag = (host: string, name: string) => join(fx.shared, 'flags', `${tb.hosts.find((h) => h.name === host)!.user}.${name}`);
const home = (host: string) => tb.hosts.find((h) => h.name === host)!.home;

function systemToml(extra: { readyTimeout?: string } = {}): string {
  const env = {
    PATH: `${fx.bin}:/usr/local/bin:/usr/bin:/bin`,
    FIXTURE_DIR: fx.shared,
    SIGMAOS_READY_DIR: fx.ready,
    FIXTURE_READY_DELAY: '1',
    // The fixture repository belongs to another user than the hosts' (safe.directory is read from global config only).
    GIT_CONFIG_GLOBAL: join(fxDir, 'gitconfig'),
  };
  return [
    'system = "@labrig/system-sigmaos"',
    `tag = "${TAG}"`,
    'source = "checkout"',
    'buildTarget = "remote"',
    'ncores = 2',
    `imageExport = ["sh", ${JSON.stringify(join(FIXTURES, 'export-image.sh'))}, "{image}", "{archive}"]`,
    'packages = ["docker.io", "jq"]',
    '[repo]',
    `url = ${JSON.stringify(join(fxDir, 'repo'))}`,
    '[credentials]',
    `".aws/credentials" = ${JSON.stringify(join(root, 'creds/credentials'))}`,
    `".docker/config.json" = ${JSON.stringify(join(root, 'creds/config.json'))}`,
    '[kernel]',
    `readyDir = ${JSON.stringify(fx.ready)}`,
    `readyTimeout = "${extra.readyTimeout ?? '30s'}"`,
    '[bench]',
    `output = ${JSON.stringify(join(fx.shared, 'bench.out'))}`,
    `perfDir = ${JSON.stringify(join(fx.shared, 'perf'))}`,
    '[env]',
    ...Object.entries(env).map(([k, v]) => `${k} = ${JSON.stringify(v)}`),
  ].join('\n');
}

function allText(dir: string): string {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((d) => d.isFile())
    .map((d) => readFileSync(join(d.parentPath, d.name), 'utf8'))
    .join('\n');
}

beforeAll(async () => {
  mkdirSync(join(workspace, 'tmp'), { recursive: true });
  root = mkdtempSync(join(workspace, 'tmp', 'e2e-sigmaos-'));
  tbDir = mkdtempSync(join(tmpdir(), 'labrig-sigmaos-tb-'));
  fxDir = mkdtempSync(join(tmpdir(), 'labrig-sigmaos-fx-'));
  fx = installFixtures(fxDir);
  // The repository the hosts clone: the fixture checkout, committed on master.
  const repo = join(fxDir, 'repo');
  cpSync(join(FIXTURES, 'checkout'), repo, { recursive: true });
  const git = (...a: string[]) => execFileSync('git', a, { cwd: repo, env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } });
  git('init', '-q', '-b', 'master');
  git('add', '-A');
  git('commit', '-q', '-m', 'fixture checkout');
  execFileSync('chmod', ['-R', 'a+rX', repo]);
  writeFileSync(join(fxDir, 'gitconfig'), '[safe]\n\tdirectory = *\n', { mode: 0o644 });
  // The local checkout build.sh runs in, and the user's credentials.
  cpSync(join(FIXTURES, 'checkout'), join(root, 'checkout'), { recursive: true });
  mkdirSync(join(root, 'creds'));
  writeFileSync(join(root, 'creds/credentials'), `[sigmaos]\naws_access_key_id = AKIAE2E\n${SECRET}\n`);
  writeFileSync(join(root, 'creds/config.json'), '{"auths":{}}\n');
  mkdirSync(join(root, 'configs/platforms/e2e'), { recursive: true });
  writeFileSync(
    join(root, 'configs/platforms/e2e/platform.toml'),
    ['platform = "@labrig/platform-local"', '[testbed]', 'hosts = 4', `dir = ${JSON.stringify(tbDir)}`, 'addressBase = "127.0.70.0"', 'port = 2370', 's3 = true', 'registry = true', '[run]', 'timeout = "2m"'].join('\n'),
  );
  mkdirSync(join(root, 'targets/sigmaos'), { recursive: true });
  writeFileSync(join(root, 'targets/sigmaos/system.toml'), systemToml());
  tb = await up({ dir: tbDir, hosts: 4, addressBase: '127.0.70.0', port: 2370, s3: true, registry: true, s3Buckets: ['labrig-artifacts', TAG] });
}, 180_000);

afterAll(async () => {
  if (root && tb) await run(() => stopExecutor(o, ctx()));
  if (tbDir) await down(tbDir);
  for (const d of [root, tbDir, fxDir]) if (d) rmSync(d, { recursive: true, force: true });
}, 120_000);

describe('build and push', () => {
  it('build.sh runs in a pty; its exit status and "BUILD ERROR" fail the build', async () => {
    writeFileSync(join(root, 'checkout/.fixture-fail'), 'exit');
    const exit = await run(() => buildExecutor({}, ctx()));
    expect(exit.success).toBe(false);
    expect(exit.out).toMatch(/build\.sh exited with 2; full log: dist\/targets\/sigmaos\/build\.log/);
    expect(exit.out).toContain('go: compile error');
    writeFileSync(join(root, 'checkout/.fixture-fail'), 'builderror');
    const berr = await run(() => buildExecutor({}, ctx()));
    expect(berr.success).toBe(false);
    expect(berr.out).toMatch(/printed BUILD ERROR \(exit status 0\)/);
    rmSync(join(root, 'checkout/.fixture-fail'));

    await ok(() => buildExecutor({}, ctx()));
    const dist = join(root, 'dist/targets/sigmaos');
    // The fixture refuses to run without a terminal on stdin, as `docker exec -it` does.
    expect(readFileSync(join(dist, 'build.log'), 'utf8')).toContain('Building SigmaOS (target remote)');
    const m = JSON.parse(readFileSync(join(dist, 'sigmaos-build.json'), 'utf8'));
    expect(m.files.map((f: { path: string }) => f.path).sort()).toEqual(['bin/named', 'bin/sleeper', 'bin/spawn-latency', 'wasm/boot.wasm']);
    expect(m.images.map((i: { local: string }) => i.local)).toEqual(['sigmaos-remote', 'sigmauser-remote']);
    const named = m.files.find((f: { name: string }) => f.name === 'named');
    expect(named.sha256).toBe(createHash('sha256').update(readFileSync(join(dist, 'bin/named'))).digest('hex'));
  });

  it('builds on tb-0 instead ([build] on): the checkout synced, build.sh in a pty and the image exports there, the same dist/ fetched back', async () => {
    const dist = join(root, 'dist/targets/sigmaos');
    const local = JSON.parse(readFileSync(join(dist, 'sigmaos-build.json'), 'utf8'));
    // The image export runs on tb-0: its script must be readable there.
    const exportScript = join(fxDir, 'export-image.sh');
    cpSync(join(FIXTURES, 'export-image.sh'), exportScript);
    const file = join(root, 'targets/sigmaos/system.toml');
    const before = readFileSync(file, 'utf8');
    writeFileSync(file, before.replace(/^imageExport = .*$/m, `imageExport = ["sh", ${JSON.stringify(exportScript)}, "{image}", "{archive}"]`));
    try {
      const out = await ok(() => buildExecutor({ platform: 'e2e', buildOn: 'tb-0', arch: 'x86_64' }, ctx()));
      expect(out).toMatch(/sync +\d+ of \d+ source files sent/);
      expect(out).toContain('Building SigmaOS (target remote)'); // build.sh's own output, streamed from tb-0
      // build.sh ran on tb-0 (in its pty: the fixture refuses to run without one), in the synced checkout.
      const there = join(home('tb-0'), '.labrig/build/sigmaos');
      expect(existsSync(join(there, 'src/build.sh'))).toBe(true);
      expect(existsSync(join(there, 'src/bin/user/named'))).toBe(true);
      expect(readFileSync(join(there, 'out/build.log'), 'utf8')).toContain('Building SigmaOS (target remote)');
      const m = JSON.parse(readFileSync(join(dist, 'sigmaos-build.json'), 'utf8'));
      // The same binaries (the fixture writes the same bytes), and reproducible image archives.
      expect(m.files).toEqual(local.files);
      expect(m.images).toEqual(local.images);
      for (const f of m.files as { path: string; sha256: string }[]) {
        expect(createHash('sha256').update(readFileSync(join(there, 'out', f.path))).digest('hex'), f.path).toBe(f.sha256);
      }
      // A build.sh failure there fails the build with its status and the end of the log there.
      writeFileSync(join(root, 'checkout/.fixture-fail'), 'exit');
      const failed = await run(() => buildExecutor({ platform: 'e2e', buildOn: 'tb-0', arch: 'x86_64' }, ctx()));
      expect(failed.success).toBe(false);
      expect(failed.out).toContain('the build on tb-0 exited with status 2');
      expect(failed.out).toContain('go: compile error');
      expect(existsSync(dist)).toBe(false);
    } finally {
      rmSync(join(root, 'checkout/.fixture-fail'), { force: true });
      writeFileSync(file, before);
      await ok(() => buildExecutor({}, ctx())); // dist/ as the tests below expect it
    }
  });

  it('push: binaries to s3://TAG/bin and /wasm, images tagged TAG; a second push sends nothing', async () => {
    const first = await ok(() => pushExecutor(o, ctx()));
    expect(first).toMatch(new RegExp(`s3://${TAG}/bin/named: uploaded`));
    expect(first).toMatch(new RegExp(`s3://${TAG}/wasm/boot.wasm: uploaded`));
    expect(first).toMatch(new RegExp(`image 127\\.0\\.0\\.1:\\d+/sigmaos:${TAG}: pushed`));
    // The objects are there under their names, with the built content.
    const s3 = tb.s3!;
    const store = new S3Store({ bucket: TAG, endpoint: s3.endpoint, region: s3.region, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
    const got = join(root, 'got-named');
    await store.getFile('bin/named', got);
    expect(readFileSync(got)).toEqual(readFileSync(join(root, 'dist/targets/sigmaos/bin/named')));
    store.close();
    for (const img of ['sigmaos', 'sigmauser']) {
      const tags = (await (await fetch(`${tb.registry!.url}/v2/${img}/tags/list`)).json()) as { tags: string[] };
      expect(tags.tags).toContain(TAG);
    }
    const again = await ok(() => pushExecutor(o, ctx()));
    expect(again).not.toMatch(/uploaded|: pushed/);
    expect(again.match(/already there/g)).toHaveLength(6);
  });
});

describe('setup, deploy, re-run', () => {
  it('setup: every host; credentials 0600 and never logged; limits written once', async () => {
    const from = mark();
    await ok(() => setupExecutor(o, ctx()));
    const { dir, events } = await lastRun(root, 'sigmaos:setup');
    for (const step of ['cloud-init', 'packages', 'repo', 'credentials', 'limits', 'stamp']) {
      expect(statuses(events, step), step).toEqual(Object.fromEntries(HOSTS.map((h) => [h, 'ok'])));
    }
    const cs = calls(from);
    for (const h of HOSTS) {
      expect(indexOf(cs, h, /^cloud-init status --wait$/)).toBeGreaterThanOrEqual(0);
      expect(indexOf(cs, h, /^sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker\.io jq$/)).toBeGreaterThanOrEqual(0);
      expect(indexOf(cs, h, /^sudo tee \/etc\/security\/limits\.d\/90-sigmaos\.conf$/)).toBeGreaterThanOrEqual(0);
      const cred = join(home(h), '.aws/credentials');
      expect(readFileSync(cred, 'utf8')).toContain(SECRET);
      expect(statSync(cred).mode & 0o777).toBe(0o600);
      expect(statSync(join(home(h), '.docker/config.json')).mode & 0o777).toBe(0o600);
      expect(existsSync(join(home(h), 'sigmaos/start-kernel.sh'))).toBe(true);
      const limits = readFileSync(join(home(h), '.fixture-root/etc/security/limits.d/90-sigmaos.conf'), 'utf8');
      expect(limits.split('\n').filter((l) => l.includes('nofile 100000'))).toHaveLength(4);
    }
    expect(allText(dir)).not.toContain(SECRET);
  });

  it('deploy on 4 hosts: leader first, the join token handed to the followers, then their kernels', async () => {
    const from = mark();
    await ok(() => deployExecutor(o, ctx()));
    const { dir, events } = await lastRun(root, 'sigmaos:deploy');
    for (const step of ['leader:db', 'leader:swarm', 'leader:network', 'leader:etcd', 'leader:kernel', 'leader:join-token']) expect(statuses(events, step), step).toEqual({ 'tb-0': 'ok' });
    expect(statuses(events, 'followers:join')).toEqual({ 'tb-1': 'ok', 'tb-2': 'ok', 'tb-3': 'ok' });
    expect(statuses(events, 'followers:kernel')).toEqual({ 'tb-1': 'ok', 'tb-2': 'ok', 'tb-3': 'ok' });

    const cs = calls(from);
    const leaderIp = '127.0.70.1';
    const order = [
      indexOf(cs, 'tb-0', /^docker run -d --name sigmadb /),
      indexOf(cs, 'tb-0', new RegExp(`^docker swarm init --advertise-addr ${leaderIp}$`)),
      indexOf(cs, 'tb-0', /^docker network create --driver overlay --attachable sigmanet-testuser$/),
      indexOf(cs, 'tb-0', /^docker run -d --name etcd-server /),
      indexOf(cs, 'tb-0', new RegExp(`^docker run -dit .*--name sigma-tb-0 .*-e named=${leaderIp} -e boot=realm .*-e buildtag=${TAG} sigmaos$`)),
      indexOf(cs, 'tb-0', /^docker swarm join-token -q worker$/),
    ];
    expect(order.every((i) => i >= 0), JSON.stringify(order)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    const token = readFileSync(join(fx.shared, 'swarm', `${leaderIp}:2377`), 'utf8');
    for (const f of ['tb-1', 'tb-2', 'tb-3']) {
      const join_ = indexOf(cs, f, new RegExp(`^docker swarm join --token ${token} ${leaderIp}:2377$`));
      const kernel = indexOf(cs, f, new RegExp(`^docker run -dit .*--name sigma-${f} .*-e named=${leaderIp} -e boot=node `));
      expect(join_).toBeGreaterThan(order[5]!);
      expect(kernel).toBeGreaterThan(join_);
      expect(indexOf(cs, f, /^set-cores\.sh --set 1 --start 1 --end \d+$/)).toBeGreaterThanOrEqual(0);
    }
    // The followers did nothing before the leader's kernel was ready.
    expect(Math.min(...cs.map((c, i) => (c.host !== 'tb-0' ? i : Infinity)))).toBeGreaterThan(order[4]!);
    // The token is a secret: in no journal or log of the run (the leader's join-token step log
    // records that the command's output was withheld).
    expect(readFileSync(join(dir, 'journal.jsonl'), 'utf8')).not.toContain(token);
    for (const f of ['tb-0', 'tb-1', 'tb-2', 'tb-3']) expect(allText(join(dir, 'logs', f))).not.toContain(token);
    expect(allText(join(dir, 'logs', 'tb-0'))).toContain('# stdout withheld: it holds a secret');
    expect(readFileSync(join(dir, 'logs/tb-1/followers_join.log'), 'utf8')).toMatch(/docker swarm join --token \S*\*\*\*/);

    const status = await ok(() => statusExecutor(o, ctx()));
    expect(status).toMatch(/\[tb-0\] swarm: active/);
    for (const c of ['sigmadb', 'sigmamongo', 'etcd-server', 'sigma-tb-0']) expect(status).toContain(`[tb-0] ${c}`);
    for (const f of ['tb-1', 'tb-2', 'tb-3']) expect(status).toContain(`[${f}] sigma-${f}`);
  });

  it('a re-run changes nothing: setup skipped everywhere, everything already runs', async () => {
    const from = mark();
    await ok(() => setupExecutor(o, ctx()));
    const setup = (await lastRun(root, 'sigmaos:setup')).events;
    for (const step of ['cloud-init', 'packages', 'repo', 'credentials', 'limits', 'stamp']) {
      expect(statuses(setup, step), step).toEqual(Object.fromEntries(HOSTS.map((h) => [h, 'skipped'])));
    }
    await ok(() => deployExecutor(o, ctx()));
    const deploy = (await lastRun(root, 'sigmaos:deploy')).events;
    for (const step of ['leader:db', 'leader:swarm', 'leader:network', 'leader:etcd', 'leader:kernel']) expect(statuses(deploy, step), step).toEqual({ 'tb-0': 'skipped' });
    expect(statuses(deploy, 'followers:join')).toEqual({ 'tb-1': 'skipped', 'tb-2': 'skipped', 'tb-3': 'skipped' });
    expect(statuses(deploy, 'followers:kernel')).toEqual({ 'tb-1': 'skipped', 'tb-2': 'skipped', 'tb-3': 'skipped' });
    // Only reads: no sudo, no swarm change, no container started, no file written twice.
    const changed = calls(from).filter((c) => /^(sudo|cloud-init|set-cores|docker (run|swarm (init|join |leave)|network create|stop|rm))/.test(c.cmd));
    expect(changed).toEqual([]);
    for (const h of HOSTS) {
      const limits = readFileSync(join(home(h), '.fixture-root/etc/security/limits.d/90-sigmaos.conf'), 'utf8');
      expect(limits.split('\n').filter((l) => l.includes('nofile'))).toHaveLength(4);
    }
  });

  it('bench: runs on host i, collects bench.out and the perf folder with sha256 sums', async () => {
    const out = await ok(() => benchExecutor({ ...o, cmd: 'echo "ops/s 4242"; mkdir -p "$PERF" && echo perf-line > "$PERF/spawn.perf"'.replace('$PERF', join(fx.shared, 'perf')).replace('$PERF', join(fx.shared, 'perf')), host: 1, name: 'e2e-bench' }, ctx()));
    expect(out).toMatch(/collected 2 files from tb-1 into results\/sigmaos\/e2e-bench/);
    const dir = join(root, 'results/sigmaos/e2e-bench');
    expect(readFileSync(join(dir, 'bench.out'), 'utf8')).toContain('ops/s 4242');
    const tarList = execFileSync('tar', ['tzf', join(dir, 'sigmaos-perf.tar.gz')], { encoding: 'utf8' });
    expect(tarList).toContain('./spawn.perf');
    for (const line of readFileSync(join(dir, 'SHA256SUMS'), 'utf8').trim().split('\n')) {
      const [sum, file] = line.split('  ');
      expect(createHash('sha256').update(readFileSync(join(dir, file!))).digest('hex')).toBe(sum);
    }
    expect(JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')).host).toBe('tb-1');
  });
});

describe('failures', () => {
  it('stop is safe to run twice', async () => {
    await ok(() => stopExecutor(o, ctx()));
    const from = mark();
    await ok(() => stopExecutor(o, ctx()));
    expect(statuses((await lastRun(root, 'sigmaos:stop')).events, 'swarm-leave')).toEqual(Object.fromEntries(HOSTS.map((h) => [h, 'skipped'])));
    expect(calls(from).filter((c) => /^docker (swarm leave|stop)/.test(c.cmd))).toEqual([]);
  });

  it('a follower whose join fails is reported with its stderr; --failurePolicy continue finishes the others', async () => {
    writeFileSync(flag('tb-2', 'swarm-join'), '');
    try {
      const r = await run(() => deployExecutor({ ...o, failurePolicy: 'continue' }, ctx()));
      expect(r.success).toBe(false);
      const events = (await lastRun(root, 'sigmaos:deploy')).events;
      expect(statuses(events, 'followers:join')).toEqual({ 'tb-1': 'ok', 'tb-2': 'failed', 'tb-3': 'ok' });
      expect(hostError(events, 'followers:join', 'tb-2')?.message).toContain('Timeout was reached before node joined');
      expect(statuses(events, 'followers:kernel')['tb-1']).toBe('ok');
      expect(statuses(events, 'followers:kernel')['tb-3']).toBe('ok');
      expect(statuses(events, 'followers:kernel')['tb-2']).not.toBe('ok');
      expect(r.out).toMatch(/tb-2/);
      expect(r.out).toContain('Timeout was reached before node joined');
    } finally {
      rmSync(flag('tb-2', 'swarm-join'));
    }
    await ok(() => stopExecutor(o, ctx()));
  });

  it('a kernel whose ready file never appears: a StepTimeout naming the host and the file', async () => {
    writeFileSync(join(root, 'targets/sigmaos/system.toml'), systemToml({ readyTimeout: '3s' }));
    writeFileSync(flag('tb-0', 'no-ready'), '');
    try {
      const r = await run(() => deployExecutor({ ...o, n: 2 }, ctx()));
      expect(r.success).toBe(false);
      const events = (await lastRun(root, 'sigmaos:deploy')).events;
      expect(statuses(events, 'leader:kernel')).toEqual({ 'tb-0': 'failed' });
      const err = hostError(events, 'leader:kernel', 'tb-0');
      expect(err?.code).toBe('TIMEOUT');
      expect(err?.message).toContain(`kernel sigma-tb-0 (ready file ${fx.ready}/sigma-tb-0) on tb-0 was not ready within 3`);
      expect(statuses(events, 'followers:join')['tb-1']).not.toBe('ok');
    } finally {
      rmSync(flag('tb-0', 'no-ready'));
      writeFileSync(join(root, 'targets/sigmaos/system.toml'), systemToml());
    }
  });
});
