/**
 * vHive end to end on 4 real sshd testbed hosts (127.0.72.x:2372; 1 master, 3 workers) whose PATH
 * starts with the fixtures of src/testing/fixtures (sudo, git, go, kubeadm, kubectl, kn, the
 * containerd daemons, vHive's scripts in a fixture checkout): each records its calls in one
 * shared calls.log, so the order of calls across hosts, their arguments and the join token
 * hand-off are read back from it, and the runs' statuses from their journals.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runsDir } from '@labrig/core';
import { executorContext, expectSuccess, hostStatuses as statuses, lastRun as lastRunOf, runExecutor, type JournalEvent } from '@labrig/testkit';
import { down, loadState, up } from '@labrig/testbed';
import deployExecutor from './executors/deploy/executor.js';
import functionsDeleteExecutor from './executors/functions-delete/executor.js';
import functionsDeployExecutor from './executors/functions-deploy/executor.js';
import invokeExecutor from './executors/invoke/executor.js';
import setupExecutor from './executors/setup/executor.js';
import teardownExecutor from './executors/teardown/executor.js';
import { installFixtures } from './testing/install.js';

const workspace = join(import.meta.dirname, '../../../..');
const ADDRESS_BASE = '127.0.72.0';
const PORT = 2372;
let root: string;
let tbDir: string;
let fx: string; // fixtures installed for the testbed users
let state: string; // the fixtures' shared state (calls.log, cluster, fail flags)
const userHost = new Map<string, string>();
const hostUser = new Map<string, string>();
const o = { platform: 'e2e', output: 'plain' as const };
const ctx = () => executorContext(root, 'vhive');

type Ev = JournalEvent;
const lastRun = async (title: string): Promise<Ev[]> => (await lastRunOf(root, title)).events;
const hostEnd = (events: Ev[], step: string, host: string) =>
  events.find((e) => e['type'] === 'host-end' && e['step'] === step && e['host'] === host) as { status: string; error?: { code: string; message: string } } | undefined;

interface Call {
  host: string;
  cmd: string;
}
function calls(): Call[] {
  const text = existsSync(join(state, 'calls.log')) ? readFileSync(join(state, 'calls.log'), 'utf8') : '';
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [user, cmd] = l.split('\t') as [string, string];
      return { host: userHost.get(user) ?? user, cmd };
    });
}
const idx = (cs: Call[], host: string, re: RegExp): number => cs.findIndex((c) => c.host === host && re.test(c.cmd));
const hostsOf = (cs: Call[], re: RegExp): string[] => [...new Set(cs.filter((c) => re.test(c.cmd)).map((c) => c.host))].sort();

const run = runExecutor;
const ok = expectSuccess;

function systemToml(timeouts: Record<string, string> = {}): void {
  const t = { daemon: '30s', joinCommand: '30s', nodes: '30s', script: '30s', pods: '30s', ...timeouts };
  writeFileSync(
    join(root, 'targets/vhive/system.toml'),
    [
      'system = "@labrig/system-vhive"',
      'mode = "firecracker"',
      'logDir = "vhive-logs"',
      'kubeletConf = ".vhive-fixture/etc/kubernetes/kubelet.conf"',
      '[repo]',
      'url = "https://github.com/vhive-serverless/vhive.git"',
      'branch = "main"',
      '[vhive]',
      'snapshots = true',
      '[daemons]', // the fixture daemon is on PATH (the seed's absolute path is not on this machine)
      'firecracker = ["firecracker-containerd", "--config", "/etc/firecracker-containerd/config.toml"]',
      '[env]',
      `PATH = ${JSON.stringify(`${fx}/bin:/usr/local/bin:/usr/bin:/bin`)}`,
      `VHIVE_FIXTURE_STATE = ${JSON.stringify(state)}`,
      '[timeouts]',
      ...Object.entries(t).map(([k, v]) => `${k} = "${v}"`),
      '',
    ].join('\n'),
  );
}

function fail(key: string, host: string | undefined, stderr: string): () => void {
  const f = join(state, 'fail', host ? `${key}@${hostUser.get(host)}` : key);
  writeFileSync(f, stderr);
  chmodSync(f, 0o644);
  return () => unlinkSync(f);
}

beforeAll(async () => {
  mkdirSync(join(workspace, 'tmp'), { recursive: true });
  root = mkdtempSync(join(workspace, 'tmp', 'e2e-vhive-'));
  tbDir = mkdtempSync(join(tmpdir(), 'labrig-vhive-tb-'));
  chmodSync(tbDir, 0o755);
  ({ fx, state } = installFixtures('labrig-vhive'));
  mkdirSync(join(root, 'configs/platforms/e2e'), { recursive: true });
  writeFileSync(
    join(root, 'configs/platforms/e2e/platform.toml'),
    ['platform = "@labrig/platform-local"', '[testbed]', 'hosts = 4', `dir = ${JSON.stringify(tbDir)}`, `addressBase = "${ADDRESS_BASE}"`, `port = ${PORT}`, 's3 = false', 'registry = false', '[run]', 'timeout = "2m"'].join('\n'),
  );
  mkdirSync(join(root, 'targets/vhive'), { recursive: true });
  writeFileSync(join(root, 'targets/vhive/functions.json'), JSON.stringify({ functions: [{ name: 'helloworld', file: 'configs/knative_workloads/helloworld.yaml', count: 2 }, { name: 'pyaes', file: 'configs/knative_workloads/pyaes.yaml', count: 1, eventing: false }] }));
  systemToml();
  await up({ dir: tbDir, hosts: 4, addressBase: ADDRESS_BASE, port: PORT });
  for (const h of (await loadState(tbDir)).hosts) {
    userHost.set(h.user, h.name);
    hostUser.set(h.name, h.user);
  }
}, 180_000);

afterAll(async () => {
  if (root && tbDir) await run(() => teardownExecutor(o, ctx()));
  if (tbDir) await down(tbDir);
  for (const d of [root, tbDir, fx, state]) if (d) rmSync(d, { recursive: true, force: true });
}, 120_000);

const WORKERS = ['tb-1', 'tb-2', 'tb-3'];
const ALL = ['tb-0', ...WORKERS];

describe('vhive on 4 testbed hosts (fixtures)', () => {
  it('setup, then deploy in the seed order with the kubeadm join hand-off', async () => {
    await ok(() => setupExecutor(o, ctx()));
    const setup = await lastRun('vhive:setup');
    expect(statuses(setup, 'setup-node')).toEqual({ 'tb-0': 'ok', 'tb-1': 'ok', 'tb-2': 'ok', 'tb-3': 'ok' });
    expect(statuses(setup, 'setup-worker')).toEqual({ 'tb-1': 'ok', 'tb-2': 'ok', 'tb-3': 'ok' });
    let cs = calls();
    expect(cs.filter((c) => c.cmd.startsWith('git clone')).map((c) => c.cmd)).toEqual(Array(4).fill('git clone --depth=1 --branch main https://github.com/vhive-serverless/vhive.git vhive'));
    expect(hostsOf(cs, /^scripts\/cloudlab\/setup_node\.sh$/)).toEqual(ALL);
    expect(hostsOf(cs, /^scripts\/setup_runtime\.sh$/)).toEqual(ALL);
    expect(hostsOf(cs, /^scripts\/cluster\/setup_worker_kubelet\.sh$/)).toEqual(WORKERS);
    for (const h of ALL) expect(idx(cs, h, /^scripts\/cloudlab\/setup_node/)).toBeLessThan(idx(cs, h, /^scripts\/setup_runtime/));

    const before = cs.length;
    await ok(() => deployExecutor(o, ctx()));
    const dep = await lastRun('vhive:deploy');
    for (const step of ['containerd']) expect(statuses(dep, step)).toEqual({ 'tb-0': 'ok', 'tb-1': 'ok', 'tb-2': 'ok', 'tb-3': 'ok' });
    for (const step of ['firecracker', 'vhive-build', 'vhive', 'join', 'joined']) expect(statuses(dep, step)).toEqual({ 'tb-1': 'ok', 'tb-2': 'ok', 'tb-3': 'ok' });
    for (const step of ['cluster', 'join-command', 'nodes', 'answer', 'pods']) expect(statuses(dep, step)).toEqual({ 'tb-0': 'ok' });

    cs = calls().slice(before);
    // Daemons: containerd everywhere; firecracker-containerd and vhive (with its flag) on workers only, after containerd.
    expect(hostsOf(cs, /^containerd$/)).toEqual(ALL);
    expect(hostsOf(cs, /^firecracker-containerd --config \/etc\/firecracker-containerd\/config\.toml$/)).toEqual(WORKERS);
    expect(hostsOf(cs, /^vhive -snapshots$/)).toEqual(WORKERS);
    expect(hostsOf(cs, /^sudo env PATH=\S+ \.\/vhive -snapshots$/)).toEqual(WORKERS);
    for (const w of WORKERS) {
      expect(idx(cs, w, /^containerd$/)).toBeLessThan(idx(cs, w, /^firecracker-containerd/));
      expect(idx(cs, w, /^go build/)).toBeLessThan(idx(cs, w, /^vhive /));
    }
    // Master: containerd, then the cluster script (kubeadm init under sudo).
    const init = idx(cs, 'tb-0', /^kubeadm init/);
    expect(idx(cs, 'tb-0', /^containerd$/)).toBeLessThan(idx(cs, 'tb-0', /^scripts\/cluster\/create_multinode_cluster\.sh$/));
    expect(idx(cs, 'tb-0', /^scripts\/cluster\/create_multinode_cluster\.sh$/)).toBeLessThan(init);
    // The join hand-off: each worker ran `sudo kubeadm join` with the token and hash init made, after init.
    const token = readFileSync(join(state, 'cluster/token'), 'utf8').trim();
    const hash = readFileSync(join(state, 'cluster/hash'), 'utf8').trim();
    for (const w of WORKERS) {
      const j = idx(cs, w, /^kubeadm join /);
      expect(j).toBeGreaterThan(init);
      expect(cs[j]!.cmd).toBe(`kubeadm join ${ADDRESS_BASE.replace(/0$/, '1')}:6443 --token ${token} --discovery-token-ca-cert-hash ${hash}`);
      const sudo = idx(cs, w, /^sudo kubeadm join /);
      expect(sudo).toBeGreaterThan(-1);
      expect(sudo).toBeLessThan(j);
      expect(cs[sudo]!.cmd).toBe(`sudo ${cs[j]!.cmd}`);
      expect(idx(cs, w, /^containerd$/)).toBeLessThan(j);
    }
    // The answer comes after every join, then the pods are polled.
    const answer = idx(cs, 'tb-0', /^<stdin> y$/);
    for (const w of WORKERS) expect(idx(cs, w, /^kubeadm join /)).toBeLessThan(answer);
    expect(cs.findIndex((c, i) => i > answer && c.host === 'tb-0' && /^kubectl get pods/.test(c.cmd))).toBeGreaterThan(answer);
    expect(readFileSync(join(state, 'cluster/nodes'), 'utf8').trim().split('\n').map((u) => userHost.get(u)).sort()).toEqual(ALL);
    // The token is a secret: no journal line shows it.
    const journals = readdirSync(runsDir(root)).map((id) => (existsSync(join(runsDir(root), id, 'journal.jsonl')) ? readFileSync(join(runsDir(root), id, 'journal.jsonl'), 'utf8') : '')).join('\n');
    expect(journals).not.toContain(token);
    // ... and no step log either (the master's capture step records that its output was withheld).
    const logs = readdirSync(runsDir(root), { recursive: true, withFileTypes: true })
      .filter((d) => d.isFile() && d.name.endsWith('.log'))
      .map((d) => readFileSync(join(d.parentPath, d.name), 'utf8'))
      .join('\n');
    expect(logs).toContain('kubeadm join');
    expect(logs).not.toContain(token);
  }, 240_000);

  it('a re-run changes nothing on any host: setup skipped, daemons already running, cluster formed', async () => {
    const before = calls().length;
    await ok(() => setupExecutor(o, ctx()));
    const setup = await lastRun('vhive:setup');
    for (const step of ['clone', 'setup-node']) expect(statuses(setup, step)).toEqual({ 'tb-0': 'skipped', 'tb-1': 'skipped', 'tb-2': 'skipped', 'tb-3': 'skipped' });
    expect(statuses(setup, 'setup-worker')).toEqual({ 'tb-1': 'skipped', 'tb-2': 'skipped', 'tb-3': 'skipped' });
    await ok(() => deployExecutor(o, ctx()));
    const dep = await lastRun('vhive:deploy');
    expect(statuses(dep, 'containerd')).toEqual({ 'tb-0': 'skipped', 'tb-1': 'skipped', 'tb-2': 'skipped', 'tb-3': 'skipped' });
    for (const step of ['firecracker', 'vhive-build', 'vhive', 'join']) expect(statuses(dep, step)).toEqual({ 'tb-1': 'skipped', 'tb-2': 'skipped', 'tb-3': 'skipped' });
    for (const step of ['cluster', 'join-command', 'nodes', 'answer', 'pods']) expect(statuses(dep, step)).toEqual({ 'tb-0': 'skipped' });
    // Only read-only look-ups ran: no script, daemon, build, clone, kubeadm or answer.
    const since = calls().slice(before);
    expect(since.length).toBeGreaterThan(0);
    expect(since.filter((c) => !/^(kubectl get (nodes|pods)\b|sudo test -f |test -f )/.test(c.cmd))).toEqual([]);
  }, 240_000);

  it('a worker whose join fails is reported with kubeadm\'s stderr; --failurePolicy continue finishes the others', async () => {
    await ok(() => teardownExecutor(o, ctx()));
    expect(hostsOf(calls(), /^scripts\/github_runner\/clean_cri_runner\.sh$/)).toEqual(ALL);
    const stderr = '[kubelet-check] The HTTP call equal to \'curl -sSL http://localhost:10248/healthz\' failed with error: dial tcp 127.0.0.1:10248: connect: connection refused.\nerror execution phase kubelet-start: timed out waiting for the condition\n';
    const clear = fail('kubeadm-join', 'tb-2', stderr);
    try {
      const before = calls().length;
      const r = await run(() => deployExecutor({ ...o, failurePolicy: 'continue' }, ctx()));
      expect(r.success).toBe(false);
      const dep = await lastRun('vhive:deploy');
      expect(statuses(dep, 'join')).toEqual({ 'tb-1': 'ok', 'tb-2': 'failed', 'tb-3': 'ok' });
      const end = hostEnd(dep, 'join', 'tb-2')!;
      expect(end.error?.message).toContain('tb-2');
      expect(end.error?.message).toContain('error execution phase kubelet-start: timed out waiting for the condition');
      expect(end.error?.message).toMatch(/exited with 1/);
      expect(r.out).toMatch(/tb-2/);
      // The others finish: the failed worker is dropped, the master waits for 3 nodes, answers, pods come up.
      expect(statuses(dep, 'joined')).toEqual({ 'tb-1': 'ok', 'tb-3': 'ok' });
      for (const step of ['nodes', 'answer', 'pods']) expect(statuses(dep, step)).toEqual({ 'tb-0': 'ok' });
      const cs = calls().slice(before);
      expect(hostsOf(cs, /^kubeadm join /)).toEqual(WORKERS);
      expect(idx(cs, 'tb-0', /^<stdin> y$/)).toBeGreaterThan(idx(cs, 'tb-3', /^kubeadm join /));
    } finally {
      clear();
    }
  }, 240_000);

  it('a readiness wait that never passes is a StepTimeout naming the host and what it waited for', async () => {
    await ok(() => teardownExecutor(o, ctx()));
    const clear = fail('pods-pending', undefined, '');
    systemToml({ pods: '3s' });
    try {
      const r = await run(() => deployExecutor(o, ctx()));
      expect(r.success).toBe(false);
      const dep = await lastRun('vhive:deploy');
      expect(statuses(dep, 'answer')).toEqual({ 'tb-0': 'ok' });
      const end = hostEnd(dep, 'pods', 'tb-0')!;
      expect(end.status).toBe('failed');
      expect(end.error?.code).toBe('TIMEOUT');
      expect(end.error?.message).toMatch(/all pods Running\/Completed \(kubectl get pods --all-namespaces\) on tb-0 was not ready within 3 s/);
      expect(end.error?.message).toContain('not Running/Completed: knative-serving/activator-6d9f95b7f8-abcde (Pending)');
    } finally {
      clear();
      systemToml();
    }
  }, 240_000);

  it('functions: deploy from functions.json, invoke into results/ with sha256, delete all', async () => {
    await ok(() => deployExecutor(o, ctx())); // the pods are up now
    const before = calls().length;
    await ok(() => functionsDeployExecutor(o, ctx()));
    let cs = calls().slice(before);
    expect(cs.filter((c) => c.cmd.startsWith('kn service apply')).map((c) => `${c.host} ${c.cmd}`)).toEqual([
      'tb-0 kn service apply helloworld-0 -f configs/knative_workloads/helloworld.yaml --concurrency-target 1',
      'tb-0 kn service apply helloworld-1 -f configs/knative_workloads/helloworld.yaml --concurrency-target 1',
      'tb-0 kn service apply pyaes-0 -f configs/knative_workloads/pyaes.yaml --concurrency-target 1',
    ]);
    const out = await ok(() => invokeExecutor({ ...o, rps: 2, duration: 3 }, ctx()));
    cs = calls().slice(before);
    expect(cs.find((c) => c.cmd.startsWith('invoker'))?.cmd).toMatch(/^invoker -endpointsFile \S+\/vhive\/endpoints\.json -rps 2 -time 3 -latf lat\.csv$/);
    const m = /results\/vhive\/(\S+)\/(rps2\.00_lat\.csv) +(\d+) bytes +sha256 ([0-9a-f]{64})/.exec(out);
    expect(m, out).not.toBeNull();
    const dir = join(root, 'results/vhive', m![1]!);
    const csv = readFileSync(join(dir, m![2]!));
    expect(csv.toString().trim().split('\n')).toHaveLength(6);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { rps: number; duration: number; files: { name: string; sha256: string }[] };
    expect(manifest).toMatchObject({ rps: 2, duration: 3, files: [{ name: 'rps2.00_lat.csv', sha256: createHash('sha256').update(csv).digest('hex') }] });
    await ok(() => functionsDeleteExecutor(o, ctx()));
    expect(calls().slice(before).some((c) => c.host === 'tb-0' && c.cmd === 'kn service delete --all')).toBe(true);
    expect(readdirSync(join(state, 'kn'))).toEqual([]);
  }, 240_000);
});
