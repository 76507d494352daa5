/**
 * Dry runs (no host is contacted): the deploy plan on CloudLab matches the golden file; the other
 * targets' plans; the mode follows the platform (slurm-hpc → only sandbox + chain); system-file errors.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import deploy from './executors/deploy/executor.js';
import stop from './executors/stop/executor.js';
import teardown from './executors/teardown/executor.js';
import update from './executors/update/executor.js';
import { capture, copySystemFile, ctxFor, ok, tempWorkspace, writeIn } from './testing/workspace.js';

const golden = join(import.meta.dirname, '__golden__/cfiddle-deploy-cloudlab.plan.txt');
let root: string;

const cloudlab = ['platform = "@labrig/platform-cloudlab"', '[hosts]', 'serversFile = "servers.txt"', 'user = "alice"', '[store]', 'registry = "10.10.1.1:5000"'].join('\n');
const servers = ['# CloudLab experiment cfiddle (4 nodes)', 'node0 c220g5-110531.wisc.cloudlab.us', 'node1 c220g5-110532.wisc.cloudlab.us', 'node2 c220g5-110533.wisc.cloudlab.us', 'node3 c220g5-110534.wisc.cloudlab.us'].join('\n');
const slurmHpc = ['platform = "@labrig/platform-slurm-hpc"', '[login]', 'address = "login.hpc.example.org"', 'user = "alice"'].join('\n');

beforeAll(() => {
  root = tempWorkspace('cfiddle-plan-');
  writeIn(root, 'configs/platforms/cloudlab/platform.toml', cloudlab);
  writeIn(root, 'configs/platforms/cloudlab/servers.txt', `${servers}\n`);
  writeIn(root, 'configs/platforms/noreg/platform.toml', cloudlab.replace(/\[store\][^]*$/, ''));
  writeIn(root, 'configs/platforms/noreg/servers.txt', `${servers}\n`);
  writeIn(root, 'configs/platforms/hpc/platform.toml', slurmHpc);
  copySystemFile(root);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const o = (platform: string) => ({ platform, dryRun: true, output: 'plain' as const });

describe('dry runs', () => {
  it('deploy -c cloudlab matches the golden plan', async () => {
    const text = (await ok(() => deploy(o('cloudlab'), ctxFor(root)))).trimEnd();
    if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(golden, `${text}\n`);
    expect(text).toBe(readFileSync(golden, 'utf8').trimEnd());
  });

  it("deploy follows the seed's order, with the head's address, the token hand-off and the platform's registry", async () => {
    const text = await ok(() => deploy(o('cloudlab'), ctxFor(root)));
    const steps = [...text.matchAll(/^== ([\w-]+):/gm)].map((m) => m[1]);
    expect(steps).toEqual([
      'reachable',
      'docker',
      'swarm-init',
      'join-token',
      'swarm-join',
      'node-ids',
      'node-labels',
      'cfiddle-user',
      'test-users',
      'nfs-server',
      'nfs-exports',
      'sources',
      'images-build',
      'munge-key',
      'images-push',
      'images-pull',
      'jovyan-home',
      'stack-deploy',
      'health-services',
      'health-slurm',
    ]);
    expect(text).toContain('sudo -n docker swarm init --advertise-addr c220g5-110531.wisc.cloudlab.us');
    expect(text).toContain("sudo -n docker swarm join --token '<token from join-token on node0>' c220g5-110531.wisc.cloudlab.us:2377");
    expect(text).toContain('sudo -n docker push 10.10.1.1:5000/cfiddle-sandbox:latest');
    expect(text).toMatch(/docker stack deploy .* slurm-stack env HEAD_ADDR,JUPYTER_TOKEN/);
    // The Jupyter token is not known (nor made) in a dry run.
    expect(text).not.toMatch(/token=[0-9a-f]{48}/);
  });

  it('update, stop and teardown plans', async () => {
    const steps = async (fn: typeof deploy) => [...(await ok(() => fn(o('cloudlab'), ctxFor(root)))).matchAll(/^== ([\w-]+):/gm)].map((m) => m[1]);
    expect(await steps(update)).toEqual(['sources', 'images-build', 'images-push', 'images-pull', 'stack-rm', 'stack-deploy', 'health-services', 'health-slurm']);
    expect(await steps(stop)).toEqual(['stack-rm']);
    expect(await steps(teardown)).toEqual(['stack-rm', 'swarm-leave-workers', 'swarm-leave-head', 'nfs-unexport']);
  });

  it('on slurm-hpc (mode auto) only the sandbox image, the delegate-function chain and a test job', async () => {
    const missing = await capture(() => deploy(o('hpc'), ctxFor(root)));
    expect(missing.success).toBe(false);
    expect(missing.out).toMatch(/targets\/cfiddle\/system\.toml: slurm\.sandboxImage: is not set, and there is no registry/);
    writeIn(root, 'targets/hpc/system.toml', 'system = "@labrig/system-cfiddle"\n[slurm]\nsandboxImage = "ghcr.io/example/cfiddle-sandbox:latest"\n');
    const text = await ok(() => deploy(o('hpc'), ctxFor(root, 'hpc')));
    expect([...text.matchAll(/^== ([\w-]+):/gm)].map((m) => m[1])).toEqual(['slurm-check', 'sandbox-image', 'delegate-config', 'test-job']);
    expect(text).toContain('  login\n');
    expect(text).toContain("ghcr.io/example/cfiddle-sandbox:latest cfiddle-sandbox:latest");
    expect(text).not.toMatch(/swarm|exportfs|useradd/);
  });

  it('system-file errors name the file and the field', async () => {
    const bad = async (toml: string, platform = 'cloudlab') => {
      writeIn(root, 'targets/bad/system.toml', `system = "@labrig/system-cfiddle"\n${toml}\n`);
      const r = await capture(() => deploy(o(platform), ctxFor(root, 'bad')));
      expect(r.success).toBe(false);
      return r.out;
    };
    expect(await bad('[stack]\nnmae = "x"')).toMatch(/targets\/bad\/system\.toml: stack\.nmae/);
    expect(await bad('workers = 9')).toMatch(/targets\/bad\/system\.toml: workers: 9 workers asked, but the platform has 3 hosts besides the head node0/);
    expect(await bad('head = "node7"')).toMatch(/targets\/bad\/system\.toml: head: "node7" is not a host/);
    expect(await bad('[users]\ntest = ["cfiddle"]')).toMatch(/targets\/bad\/system\.toml: users\.test: names cfiddle/);
  });

  it('a platform without a registry and no images.registry/dockerhubUser: a ConfigError naming the field', async () => {
    const r = await capture(() => deploy(o('noreg'), ctxFor(root)));
    expect(r.success).toBe(false);
    expect(r.out).toMatch(/targets\/cfiddle\/system\.toml: images\.registry: the platform noreg has no registry/);
  });
});
