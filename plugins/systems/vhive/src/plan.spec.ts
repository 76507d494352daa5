/**
 * Dry runs (no host is contacted): the deploy plan on a CloudLab platform of 4 nodes matches the
 * golden file; the system file's cross-field checks name the field (use-stargz with another
 * mode, -upf without -snapshots, vhive flags with stock-only); other layouts and modes plan the
 * commands the seed gives for them.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executorContext, runExecutor } from '@labrig/testkit';
import deployExecutor from './executors/deploy/executor.js';
import setupExecutor from './executors/setup/executor.js';
import teardownExecutor from './executors/teardown/executor.js';
import invokeExecutor from './executors/invoke/executor.js';
import functionsDeployExecutor from './executors/functions-deploy/executor.js';

const workspace = join(import.meta.dirname, '../../../..');
const golden = join(import.meta.dirname, '__golden__/vhive-deploy-cloudlab.plan.txt');
let root: string;
const ctx = () => executorContext(root, 'vhive');
const o = { platform: 'cloudlab', dryRun: true, output: 'plain' as const };

const capture = runExecutor;
/** The example system file with some keys set (`key = value` lines replaced) and new top-level lines. */
const systemFile = (set: Record<string, string>, add = ''): void => {
  let text = readFileSync(join(workspace, 'targets/vhive/system.toml'), 'utf8');
  for (const [k, v] of Object.entries(set)) {
    const re = new RegExp(`^${k} = .*$`, 'm');
    if (!re.test(text)) throw new Error(`no ${k} in the example`);
    text = text.replace(re, `${k} = ${v}`);
  }
  const i = text.indexOf('\n[');
  writeFileSync(join(root, 'targets/vhive/system.toml'), text.slice(0, i) + '\n' + add + text.slice(i));
};

beforeAll(() => {
  mkdirSync(join(workspace, 'tmp'), { recursive: true });
  root = mkdtempSync(join(workspace, 'tmp', 'vhive-plan-'));
  mkdirSync(join(root, 'configs/platforms/cloudlab'), { recursive: true });
  writeFileSync(join(root, 'configs/platforms/cloudlab/platform.toml'), ['platform = "@labrig/platform-cloudlab"', '[hosts]', 'serversFile = "servers.txt"', 'user = "alice"', ''].join('\n'));
  writeFileSync(join(root, 'configs/platforms/cloudlab/servers.txt'), ['node0 hp001.utah.cloudlab.us', 'node1 hp002.utah.cloudlab.us', 'node2 hp003.utah.cloudlab.us', 'node3 hp004.utah.cloudlab.us', ''].join('\n'));
  mkdirSync(join(root, 'targets/vhive'), { recursive: true });
  cpSync(join(workspace, 'targets/vhive/system.toml'), join(root, 'targets/vhive/system.toml'));
  cpSync(join(workspace, 'targets/vhive/functions.json'), join(root, 'targets/vhive/functions.json'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('deploy -c cloudlab --dryRun', () => {
  it('matches the golden plan (the seed defaults, 1 master + 3 workers)', async () => {
    cpSync(join(workspace, 'targets/vhive/system.toml'), join(root, 'targets/vhive/system.toml'));
    const r = await capture(() => deployExecutor(o, ctx()));
    expect(r.success, r.out).toBe(true);
    if (process.env['UPDATE_GOLDEN'] === '1') {
      mkdirSync(join(import.meta.dirname, '__golden__'), { recursive: true });
      writeFileSync(golden, r.out + '\n');
    }
    expect(r.out + '\n').toBe(readFileSync(golden, 'utf8'));
    // What the golden file must say, whatever it is regenerated from.
    expect(r.out).toContain('deploy plan for vhive on cloudlab');
    expect(r.out).toMatch(/== join: [^\n]*\n {2}node1 \[skipped when the worker has joined/);
    expect(r.out).toContain("sudo kubeadm join '<join from join-command on node0>'");
    expect(r.out).toContain('keep secret token from /--token (\\S+)/');
    expect(r.out.indexOf('== cluster:')).toBeLessThan(r.out.indexOf('== join-command:'));
    expect(r.out.indexOf('== join:')).toBeLessThan(r.out.indexOf('== answer:'));
  });

  it('setup and teardown plans name the seed scripts; the setup_tool layout uses the Go tool', async () => {
    cpSync(join(workspace, 'targets/vhive/system.toml'), join(root, 'targets/vhive/system.toml'));
    const setup = await capture(() => setupExecutor(o, ctx()));
    expect(setup.success, setup.out).toBe(true);
    expect(setup.out).toContain('./scripts/cloudlab/setup_node.sh');
    expect(setup.out).toContain('./scripts/setup_runtime.sh');
    expect(setup.out).toMatch(/== setup-worker: [^\n]*\n {2}node1/);
    expect(setup.out).toContain('git clone --depth=1 https://github.com/pixelsdb/vHive.git vhive');
    const down = await capture(() => teardownExecutor(o, ctx()));
    expect(down.out).toContain('./scripts/github_runner/clean_cri_runner.sh');
    systemFile({ layout: '"setup_tool"' });
    const tool = await capture(() => setupExecutor(o, ctx()));
    expect(tool.out).toContain('./setup_tool setup_node firecracker');
    expect(tool.out).toContain('./setup_tool setup_worker_kubelet firecracker');
    const dep = await capture(() => deployExecutor(o, ctx()));
    expect(dep.out).toContain('./setup_tool create_multinode_cluster firecracker');
  });

  it('stock-only with use-stargz: no firecracker or vhive, the scripts get stock-only use-stargz', async () => {
    systemFile({ mode: '"stock-only"', useStargz: 'true' });
    const setup = await capture(() => setupExecutor(o, ctx()));
    expect(setup.success, setup.out).toBe(true);
    expect(setup.out).toContain('./scripts/cloudlab/setup_node.sh stock-only use-stargz');
    expect(setup.out).toContain('./scripts/cluster/setup_worker_kubelet.sh stock-only');
    const dep = await capture(() => deployExecutor(o, ctx()));
    expect(dep.out).not.toContain('firecracker-containerd');
    expect(dep.out).not.toContain('== vhive');
    expect(dep.out).toContain('./scripts/cluster/create_multinode_cluster.sh stock-only');
  });

  it('functions and invoke plans: kn service apply per instance, the invoker with -rps/-time', async () => {
    cpSync(join(workspace, 'targets/vhive/system.toml'), join(root, 'targets/vhive/system.toml'));
    const fns = await capture(() => functionsDeployExecutor(o, ctx()));
    expect(fns.success, fns.out).toBe(true);
    expect(fns.out).toContain('kn service apply helloworld-0 -f configs/knative_workloads/helloworld.yaml --concurrency-target 1');
    expect(fns.out).toContain('kn service apply pyaes-0 -f');
    const inv = await capture(() => invokeExecutor({ ...o, rps: 5, duration: 30 }, ctx()));
    expect(inv.success, inv.out).toBe(true);
    expect(inv.out).toMatch(/vhive\/examples\/invoker\/invoker vhive\/endpoints.json -rps 5 -time 30 -latf lat.csv/);
  });
});

describe('system file checks', () => {
  it.each([
    [{ mode: '"firecracker"', useStargz: 'true' }, '', 'useStargz', /use-stargz works only with mode = "stock-only" \(mode is "firecracker"\)/],
    [{ mode: '"gvisor"', useStargz: 'true' }, '', 'useStargz', /use-stargz works only with mode = "stock-only" \(mode is "gvisor"\)/],
    [{ mode: '"stock-only"', snapshots: 'true' }, '', 'vhive.snapshots', /-snapshots is a flag of vhive/],
    [{ upf: 'true' }, '', 'vhive.upf', /-upf needs -snapshots/],
    [{}, 'stargz = true\n', 'stargz', /stargz/],
  ])('%j %s → a ConfigError naming %s', async (set, add, field, problem) => {
    systemFile(set, add);
    const r = await capture(() => deployExecutor(o, ctx()));
    expect(r.success).toBe(false);
    expect(r.out).toContain(`targets/vhive/system.toml: ${field}`);
    expect(r.out).toMatch(problem);
    expect(r.out).not.toContain('== containerd');
  });
});
