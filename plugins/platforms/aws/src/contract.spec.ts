/**
 * The aws platform passes the labrig Platform contract checks (@labrig/testkit): a workspace whose
 * platform file names @labrig/platform-aws, the real AWS SDK against the EC2 stand-in
 * (testing/ec2-fixture.ts), a real testbed sshd host (127.0.64.1:2364) behind the instances.
 *
 * The platform logs in to every instance as one user (`hosts.user`, as with one AMI), while each
 * testbed host only admits its own user: so both instances get the one testbed host as their
 * private address (`hosts.address = "private"`; public addresses are TEST-NET ones nothing
 * connects to). Two instances, both reached through the platform's connector.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { down, up, type TestbedState } from '@labrig/testbed';
import { checkPlatformContract } from '@labrig/testkit';
import { startEc2Fixture, type Ec2Fixture } from './testing/ec2-fixture.js';

const AMI = 'ami-0123456789abcdef0';
const KEY = { id: 'AKIDLABRIGCONTRACT00', secret: 'contract-secret-not-a-real-key' };

const workspace = join(import.meta.dirname, '../../../..');
mkdirSync(join(workspace, 'tmp'), { recursive: true });
const root = mkdtempSync(join(workspace, 'tmp', 'aws-contract-')); // inside the workspace: plugins resolve from its node_modules
const tbDir = mkdtempSync(join(tmpdir(), 'labrig-aws-contract-tb-'));
chmodSync(tbDir, 0o755);
let tb: TestbedState;
let fixture: Ec2Fixture | undefined;

beforeAll(async () => {
  tb = await up({ dir: tbDir, hosts: 1, addressBase: '127.0.64.0', port: 2364 });
  fixture = await startEc2Fixture({
    addresses: [0, 1].map((i) => ({ publicIp: `192.0.2.${64 + i}`, privateIp: tb.hosts[0]!.address })),
    images: [AMI],
    accessKeyId: KEY.id,
    runningAfterMs: 300,
  });
  vi.stubEnv('AWS_ACCESS_KEY_ID', KEY.id);
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', KEY.secret);
  vi.stubEnv('AWS_PROFILE', undefined);
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await fixture?.close();
  await down(tbDir).catch(() => undefined);
  rmSync(root, { recursive: true, force: true });
  rmSync(tbDir, { recursive: true, force: true });
});

it('passes the Platform contract: provision twice, inventory, every host answers, teardown twice', async () => {
  const f = fixture!;
  mkdirSync(join(root, 'configs/platforms/ec2'), { recursive: true });
  writeFileSync(
    join(root, 'configs/platforms/ec2/platform.toml'),
    [
      'platform = "@labrig/platform-aws"',
      'region = "us-east-1"',
      `endpoints = { ec2 = "${f.endpoint}" }`,
      '[instances]',
      'count = 2',
      'namePrefix = "contract"',
      `imageId = "${AMI}"`,
      'instanceType = "t3.micro"',
      '[hosts]',
      `user = "${tb.hosts[0]!.user}"`,
      `port = ${tb.hosts[0]!.port}`,
      'address = "private"',
      '[wait]',
      'interval = "100ms"',
      'running = "20s"',
      'ssh = "20s"',
      'terminated = "10s"',
      '[ssh]',
      `identityFiles = [${JSON.stringify(tb.identityFile)}]`,
    ].join('\n') + '\n',
  );

  const results = await checkPlatformContract({ root, platform: 'ec2' });
  expect(results.map((r) => r.name)).toEqual([
    'loads with the contract shape',
    'a config with an unknown field is a ConfigError naming file and field',
    'provision runs twice with the same hosts',
    'inventory: well-formed hosts, unchanged when asked twice',
    'every host answers a command through the connector',
    'a host that does not answer is a typed error (HostUnreachable)',
    'teardown runs twice',
  ]);
  expect(results.filter((r) => !r.ok)).toEqual([]);

  // It ran against the stand-in for real: two launches (the second provision launched nothing), both terminated once.
  expect(f.callsOf('RunInstances')).toHaveLength(2);
  expect(f.instances().map((i) => [i.tags['Name'], i.state]).sort()).toEqual([
    ['contract-0', 'terminated'],
    ['contract-1', 'terminated'],
  ]);
  expect(f.callsOf('TerminateInstances')).toHaveLength(1);
}, 120_000);
