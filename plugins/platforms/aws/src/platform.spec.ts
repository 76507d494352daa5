/**
 * The aws platform end to end, with the real AWS SDK against the EC2 stand-in
 * (testing/ec2-fixture.ts) whose instances carry the addresses of real testbed sshd hosts
 * (127.0.61.x:2361), so waiting for "running and SSH answers" is real; the artifact store against
 * the testbed's real S3 API server. Fake static credentials reach the SDK through its standard
 * chain (environment), as real ones would. Nothing leaves loopback.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PlatformContext } from '@labrig/core';
import { validateConfig } from '@labrig/core';
import { S3Store } from '@labrig/artifacts';
import { down, up, type TestbedState } from '@labrig/testbed';
import { configSchema, type AwsPlatformConfig } from './config.js';
import { AwsAuthError, AwsLimitError, AwsNotFoundError, AwsWaitTimeout } from './errors.js';
import { createAwsPlatform } from './platform.js';
import { readState, statePath } from './state.js';
import { startEc2Fixture, type Ec2Fixture, type Ec2FixtureOptions } from './testing/ec2-fixture.js';

const FILE = 'configs/platforms/aws/platform.toml';
const AMI = 'ami-0123456789abcdef0';
const SUBNET = 'subnet-0a1b2c3d4e5f60718';
const VPC = 'vpc-0a1b2c3d4e5f60718';
const KEY = { id: 'AKIDLABRIGFIXTURE000', secret: 'fixture-secret-not-a-real-key' };

let tb: TestbedState;
let tbDir: string;
let root: string;
let ctx: PlatformContext;
let fixture: Ec2Fixture | undefined;
let lines: string[];
const platform = createAwsPlatform({ progress: (l) => lines.push(l) });

/** Fixture instances get the testbed hosts' addresses (public) and made-up private ones. */
async function startFixture(o: Partial<Ec2FixtureOptions> = {}): Promise<Ec2Fixture> {
  fixture = await startEc2Fixture({
    addresses: tb.hosts.map((h, i) => ({ publicIp: h.address, privateIp: `10.61.0.${10 + i}` })),
    subnets: { [SUBNET]: VPC },
    images: [AMI],
    accessKeyId: KEY.id,
    runningAfterMs: 400,
    ...o,
  });
  return fixture;
}

type Data = Record<string, unknown>;

/** A validated platform file (defaults filled in) talking to the fixture and the testbed; `over` replaces keys (tables merged one level). */
function configOf(f: Ec2Fixture, over: Data = {}): AwsPlatformConfig {
  const data: Data = {
    platform: '@labrig/platform-aws',
    region: 'us-east-1',
    endpoints: { ec2: f.endpoint, s3: tb.s3!.endpoint },
    hosts: { user: tb.hosts[0]!.user, port: tb.hosts[0]!.port },
    wait: { interval: '100ms', running: '20s', ssh: '20s' },
    ssh: { identityFiles: [tb.identityFile] },
    artifacts: { bucket: 'sigmaos-tag' },
  };
  for (const [k, v] of Object.entries(over)) {
    const old = data[k];
    data[k] = old && typeof old === 'object' && v && typeof v === 'object' && !Array.isArray(v) ? { ...(old as Data), ...(v as Data) } : v;
  }
  return validateConfig<AwsPlatformConfig>(structuredClone(data), FILE, configSchema);
}

/** `[instances]` with `count` of the stand-in's AMI in its subnet. */
const instances = (count: number, more: Data = {}): Data => ({
  instances: { count, namePrefix: 'sigma', imageId: AMI, instanceType: 'c5.xlarge', subnetId: SUBNET, tags: { project: 'labrig-test' }, ...more },
});

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

/** Instance ids of the fixture's TerminateInstances calls, in order. */
const terminated = (f: Ec2Fixture) => f.callsOf('TerminateInstances').flatMap((c) => Object.entries(c.params).filter(([k]) => k.startsWith('InstanceId.')).map(([, v]) => v));

beforeAll(async () => {
  tbDir = mkdtempSync(join(tmpdir(), 'labrig-aws-tb-'));
  chmodSync(tbDir, 0o755);
  tb = await up({ dir: tbDir, hosts: 3, addressBase: '127.0.61.0', port: 2361, s3: true, s3Buckets: ['sigmaos-tag'] });
});

afterAll(async () => {
  if (tbDir && existsSync(join(tbDir, 'state.json'))) await down(tbDir);
  if (tbDir) rmSync(tbDir, { recursive: true, force: true });
});

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'labrig-aws-ws-'));
  ctx = { root, stateDir: join(root, '.labrig', 'state', 'aws') };
  lines = [];
  vi.stubEnv('AWS_ACCESS_KEY_ID', KEY.id);
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', KEY.secret);
  vi.stubEnv('AWS_PROFILE', undefined);
});

afterEach(async () => {
  vi.unstubAllEnvs();
  await fixture?.close();
  fixture = undefined;
  rmSync(root, { recursive: true, force: true });
});

describe('aws platform on the EC2 stand-in and testbed hosts', () => {
  it('provisions N instances, waits until running and SSH answers, lists them by Name index; a second provision launches nothing; teardown terminates exactly them, twice is fine', async () => {
    const f = await startFixture({
      seed: [{ tags: { Name: 'web-0', team: 'other' }, vpcId: VPC, publicIp: '192.0.2.10', privateIp: '10.61.0.99' }],
    });
    const cfg = configOf(f, instances(3));

    const hosts = await platform.provision!(cfg, ctx);
    expect(hosts.map((h) => [h.name, h.address, h.port, h.privateAddress, h.roles[0]])).toEqual([
      ['sigma-0', tb.hosts[0]!.address, 2361, '10.61.0.10', 'leader'],
      ['sigma-1', tb.hosts[1]!.address, 2361, '10.61.0.11', 'worker'],
      ['sigma-2', tb.hosts[2]!.address, 2361, '10.61.0.12', 'worker'],
    ]);
    const runs = f.callsOf('RunInstances');
    expect(runs).toHaveLength(3);
    expect(runs[0]!.params).toMatchObject({ ImageId: AMI, InstanceType: 'c5.xlarge', SubnetId: SUBNET, MinCount: '1', MaxCount: '1', 'TagSpecification.1.ResourceType': 'instance' });
    expect(runs.every((c) => c.accessKeyId === KEY.id && c.region === 'us-east-1')).toBe(true);
    const mine = f.instances().filter((i) => i.launched);
    const deployment = readState(ctx.stateDir)!.deployment;
    expect(deployment).toMatch(/^aws-[0-9a-f]{8}$/);
    expect(mine.map((i) => i.tags)).toEqual([0, 1, 2].map((n) => ({ project: 'labrig-test', Name: `sigma-${n}`, 'labrig:deployment': deployment, 'labrig:index': String(n) })));
    expect(readState(ctx.stateDir)!.launches.map((l) => [l.name, l.instanceId])).toEqual(mine.map((i) => [i.tags['Name'], i.id]));
    // It waited for real: instances were seen pending, then sshd answered on every host.
    expect(lines.some((l) => /0\/3 running .*pending/.test(l))).toBe(true);
    expect(lines).toContainEqual(expect.stringMatching(/^SSH answers on 3\/3 after/));

    // The connector logs in (user and key from the platform file); prepare's cloud-init check passes on hosts without it.
    const connector = platform.createConnector(cfg, ctx);
    try {
      const remote = await connector.connect(hosts[0]!);
      expect((await remote.exec(['id', '-un'])).stdout.trim()).toBe(tb.hosts[0]!.user);
      const [cloudInit] = platform.prepare!(cfg, ctx);
      expect(await cloudInit!.check!({ host: hosts[0]!, remote, outputs: {}, hosts, signal: new AbortController().signal, log: () => undefined, attempt: 1 })).toBe(true);
    } finally {
      await connector.close();
    }

    // Again: nothing launched; inventory calls DescribeInstances only.
    lines = [];
    expect((await platform.provision!(cfg, ctx)).map((h) => h.name)).toEqual(['sigma-0', 'sigma-1', 'sigma-2']);
    expect(f.callsOf('RunInstances')).toHaveLength(3);
    expect(lines[0]).toBe(`deployment ${deployment} in us-east-1: 3 wanted, 3 present; nothing to launch`);
    const before = f.calls.length;
    expect((await platform.inventory(cfg, ctx)).map((h) => h.name)).toEqual(['sigma-0', 'sigma-1', 'sigma-2']);
    expect(f.calls.slice(before).map((c) => c.action)).toEqual(['DescribeInstances']);
    // By VPC, the seed's instances show up as well (as SigmaOS's scripts list a VPC).
    const byVpc = await platform.inventory(configOf(f, { inventory: { by: 'vpc', vpcId: VPC } }), ctx);
    expect(byVpc.map((h) => h.name)).toEqual(['sigma-0', 'web-0', 'sigma-1', 'sigma-2']);

    // A state that also lists an instance labrig did not create (hand-edited): that one is refused.
    const seeded = f.instances().find((i) => !i.launched)!;
    const state = readState(ctx.stateDir)!;
    state.launches.push({ index: 9, name: 'web-0', clientToken: 'hand-edited', instanceId: seeded.id, at: new Date().toISOString() });
    writeFileSync(statePath(ctx.stateDir), JSON.stringify(state));

    lines = [];
    await platform.teardown!(cfg, ctx);
    expect(terminated(f).sort()).toEqual(mine.map((i) => i.id).sort());
    expect(f.instances().filter((i) => i.launched).map((i) => i.state)).toEqual(['terminated', 'terminated', 'terminated']);
    expect(f.instances().find((i) => i.id === seeded.id)!.state).toBe('running');
    expect(lines).toContainEqual(`not terminating web-0 (${seeded.id}): it does not carry labrig:deployment = ${deployment}`);
    expect(existsSync(statePath(ctx.stateDir))).toBe(false);

    lines = [];
    const calls = f.calls.length;
    await platform.teardown!(cfg, ctx);
    expect(lines).toEqual([`nothing to tear down: no instances recorded in ${ctx.stateDir}`]);
    expect(f.calls.length).toBe(calls);
  });

  it('with a shared deployment, launches only the missing indices and tears down only what it launched', async () => {
    const f = await startFixture({
      addresses: [tb.hosts[0]!, tb.hosts[2]!].map((h, i) => ({ publicIp: h.address, privateIp: `10.61.0.${20 + i}` })),
      seed: [{ tags: { Name: 'sigma-1', 'labrig:deployment': 'team-bench' }, vpcId: VPC, publicIp: tb.hosts[1]!.address, privateIp: '10.61.0.30' }],
    });
    const cfg = configOf(f, { deployment: 'team-bench', ...instances(3) });
    expect((await platform.provision!(cfg, ctx)).map((h) => h.name)).toEqual(['sigma-0', 'sigma-1', 'sigma-2']);
    expect(f.callsOf('RunInstances').map((c) => c.params['TagSpecification.1.Tag.2.Value'])).toEqual(['sigma-0', 'sigma-2']);
    await platform.teardown!(cfg, ctx);
    expect(f.instances().map((i) => [i.tags['Name'], i.state])).toEqual([
      ['sigma-1', 'running'],
      ['sigma-0', 'terminated'],
      ['sigma-2', 'terminated'],
    ]);
  });

  it('a RunInstances failing part-way leaves the state of what was launched; teardown terminates exactly that', async () => {
    const f = await startFixture({ failRunInstances: { call: 2, code: 'VcpuLimitExceeded', message: 'You have requested more vCPU capacity than your current vCPU limit of 8 allows' } });
    const cfg = configOf(f, instances(3));
    const err = await rejection(platform.provision!(cfg, ctx));
    expect(err).toBeInstanceOf(AwsLimitError);
    expect((err as AwsLimitError).hint).toContain('instances.count');
    const first = f.instances().filter((i) => i.launched);
    expect(first).toHaveLength(1);
    expect(readState(ctx.stateDir)!.launches.map((l) => l.instanceId)).toEqual([first[0]!.id]);

    await platform.teardown!(cfg, ctx);
    expect(terminated(f)).toEqual([first[0]!.id]);
    expect(readState(ctx.stateDir)).toBeUndefined();
  });

  it('instances that never run time out with their ids already in the state; teardown terminates them, a second teardown does nothing', async () => {
    const f = await startFixture({ runningAfterMs: Number.POSITIVE_INFINITY });
    const cfg = configOf(f, { ...instances(2), wait: { running: '1s' } });
    const err = await rejection(platform.provision!(cfg, ctx));
    expect(err).toBeInstanceOf(AwsWaitTimeout);
    expect(err.message).toMatch(/^instances not running within 1 s: sigma-0 \(i-[0-9a-f]+\): pending, sigma-1 \(i-[0-9a-f]+\): pending$/);
    const ids = f.instances().map((i) => i.id);
    expect(readState(ctx.stateDir)!.launches.map((l) => l.instanceId)).toEqual(ids);

    await platform.teardown!(cfg, ctx);
    expect(terminated(f)).toEqual(ids);
    lines = [];
    await platform.teardown!(cfg, ctx);
    expect(lines).toEqual([`nothing to tear down: no instances recorded in ${ctx.stateDir}`]);
    expect(f.callsOf('TerminateInstances')).toHaveLength(1);
  });

  it('turns wrong credentials and an unknown AMI into typed errors with hints, launching nothing', async () => {
    const f = await startFixture();
    const cfg = configOf(f, instances(1));
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDSOMEONEELSE00000');
    const auth = await rejection(platform.inventory(configOf(f, { deployment: 'x-1' }), ctx));
    expect(auth).toBeInstanceOf(AwsAuthError);
    expect((auth as AwsAuthError).awsCode).toBe('AuthFailure');
    expect((auth as AwsAuthError).hint).toContain('aws sts get-caller-identity');

    vi.stubEnv('AWS_ACCESS_KEY_ID', KEY.id);
    const ami = await rejection(platform.provision!(configOf(f, instances(1, { imageId: 'ami-0fffffffffffffff0' })), ctx));
    expect(ami).toBeInstanceOf(AwsNotFoundError);
    expect((ami as AwsNotFoundError).field).toBe('instances.imageId');
    expect((ami as AwsNotFoundError).hint).toContain(`\`instances.imageId\` in ${FILE}`);
    expect(f.instances()).toEqual([]);
    expect(readState(ctx.stateDir)!.launches).toEqual([]); // refused: nothing to release
    await platform.teardown!(cfg, ctx);
    expect(f.callsOf('TerminateInstances')).toEqual([]);
  });

  it('stores artifacts in the configured bucket with credentials from the standard chain only', async () => {
    const f = await startFixture();
    const cfg = configOf(f);
    const store = await platform.artifactStore!(cfg, ctx);
    expect(store).toEqual({ s3: { bucket: 'sigmaos-tag', region: 'us-east-1', endpoint: tb.s3!.endpoint, forcePathStyle: true } });
    vi.stubEnv('AWS_ACCESS_KEY_ID', tb.s3!.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', tb.s3!.secretAccessKey);
    const s3 = new S3Store({ ...store!.s3!, prefix: 'labrig/aws-spec' });
    const file = join(root, 'bin.tar');
    writeFileSync(file, `proc binaries ${Date.now()}\n`);
    const put = await s3.putFile(file);
    expect(put.uploaded).toBe(true);
    expect(await s3.has(put.sha256)).toBe(true);
    expect((await s3.putFile(file)).uploaded).toBe(false);
    expect(readFileSync(file, 'utf8')).toContain('proc binaries');
  });
});

describe('the platform kit\'s targets with the aws platform (labrig-run, as Nx runs them)', () => {
  it('provision, hosts, exec and teardown (twice) in a workspace whose platform file names @labrig/platform-aws', async () => {
    const f = await startFixture();
    const workspace = join(import.meta.dirname, '../../../..');
    mkdirSync(join(workspace, 'tmp'), { recursive: true });
    const ws = mkdtempSync(join(workspace, 'tmp', 'aws-run-')); // inside the workspace: packages resolve from its node_modules
    try {
      writeFileSync(join(ws, 'nx.json'), '{}\n');
      mkdirSync(join(ws, 'configs/platforms/ec2'), { recursive: true });
      writeFileSync(
        join(ws, 'configs/platforms/ec2/platform.toml'),
        [
          'platform = "@labrig/platform-aws"',
          'region = "eu-central-1"',
          `endpoints = { ec2 = "${f.endpoint}" }`,
          '[instances]',
          'count = 2',
          'namePrefix = "bench"',
          `imageId = "${AMI}"`,
          'instanceType = "m5.large"',
          `[hosts]\nuser = "${tb.hosts[0]!.user}"\nport = ${tb.hosts[0]!.port}`,
          '[wait]\ninterval = "100ms"\nrunning = "20s"\nssh = "20s"',
          `[ssh]\nidentityFiles = ["${tb.identityFile}"]`,
        ].join('\n'),
      );
      const run = async (executor: string, ...args: string[]) => {
        const r = await execa(process.execPath, [join(workspace, 'packages/runner/bin/labrig-run.mjs'), `@labrig/platform-kit:${executor}`, 'ec2', 'configs/platforms/ec2', '--platform=ec2', ...args], {
          cwd: ws,
          reject: false,
          env: { NO_COLOR: '1', AWS_ACCESS_KEY_ID: KEY.id, AWS_SECRET_ACCESS_KEY: KEY.secret },
        });
        return { code: r.exitCode, out: r.stdout, err: r.stderr };
      };

      const prov = await run('provision');
      expect(prov.code, prov.err).toBe(0);
      expect(prov.out).toMatch(/^bench-0\s+127\.0\.61\.1\s+2361\s+\S+\s+leader\s+10\.61\.0\.10$/m);
      expect(prov.out).toContain('✔ ec2: 2 host(s) ready');
      expect(prov.err).toMatch(/^ec2: deployment ec2-[0-9a-f]{8} in eu-central-1: 2 wanted, 0 present; launching bench-0, bench-1$/m);
      expect(f.callsOf('RunInstances').map((c) => c.region)).toEqual(['eu-central-1', 'eu-central-1']);

      const hosts = await run('hosts', '--json');
      expect(hosts.code, hosts.err).toBe(0);
      expect((JSON.parse(hosts.out) as { name: string; roles: string[] }[]).map((h) => [h.name, h.roles])).toEqual([
        ['bench-0', ['leader']],
        ['bench-1', ['worker']],
      ]);

      const exec = await run('exec', '--cmd=id -un', '--roles=leader', '--output=plain');
      expect(exec.code, exec.err).toBe(0);
      expect(exec.out).toContain(`[bench-0] ${tb.hosts[0]!.user}`);

      const down1 = await run('teardown');
      expect(down1.code, down1.err).toBe(0);
      expect(f.instances().map((i) => i.state)).toEqual(['terminated', 'terminated']);
      const down2 = await run('teardown');
      expect(down2.code, down2.err).toBe(0);
      expect(down2.err).toContain('ec2: nothing to tear down');
      expect(f.callsOf('TerminateInstances')).toHaveLength(1);
    } finally {
      rmSync(ws, { recursive: true, force: true });
    }
  }, 180_000);
});
