/** Instances -> hosts: order by the Name index (numeric), leader first, addresses per config. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '@labrig/core';
import { configSchema, type AwsPlatformConfig } from './config.js';
import { toEc2Instance, type Ec2Instance } from './ec2.js';
import { AwsConflict } from './errors.js';
import { toHosts } from './inventory.js';

const FILE = 'configs/platforms/aws/platform.toml';
const cfgOf = (...lines: string[]) => parseConfig<AwsPlatformConfig>(['platform = "@labrig/platform-aws"', 'region = "us-east-1"', ...lines].join('\n'), FILE, configSchema);

/** An instance as DescribeInstances would give it, through the same conversion. */
const inst = (id: string, name: string | undefined, n: number): Ec2Instance =>
  toEc2Instance({
    InstanceId: id,
    State: { Name: 'running' },
    PublicIpAddress: `198.51.100.${n}`,
    PrivateIpAddress: `10.0.0.${n}`,
    InstanceType: 'c5.xlarge',
    Tags: name === undefined ? [] : [{ Key: 'Name', Value: name }],
  });

describe('inventory', () => {
  it('sorts by the number at the end of the Name tag, leader first, unnumbered names last', () => {
    const found = [inst('i-a', 'sigma10', 1), inst('i-b', 'sigma9', 2), inst('i-c', 'build-box', 3), inst('i-d', 'sigma0', 4), inst('i-e', undefined, 5), inst('i-f', 'sigma-2', 6)];
    const hosts = toHosts(found, cfgOf('[roles]', 'bench = ["sigma9"]'), FILE);
    expect(hosts.map((h) => h.name)).toEqual(['sigma0', 'sigma-2', 'sigma9', 'sigma10', 'build-box', 'i-e']);
    expect(hosts.map((h) => h.roles)).toEqual([['leader'], ['worker'], ['bench'], ['worker'], ['worker'], ['worker']]);
    expect(hosts[0]).toEqual({
      name: 'sigma0',
      address: '198.51.100.4',
      port: 22,
      user: 'ubuntu',
      roles: ['leader'],
      labels: { platform: 'aws', instanceId: 'i-d', instanceType: 'c5.xlarge', index: '0' },
      privateAddress: '10.0.0.4',
    });
  });

  it('connects to private addresses when asked; refuses duplicate names and missing addresses', () => {
    const priv = toHosts([inst('i-a', 'n-0', 1)], cfgOf('[hosts]', 'address = "private"', 'user = "ec2-user"', 'port = 2200'), FILE);
    expect(priv[0]).toMatchObject({ address: '10.0.0.1', privateAddress: '10.0.0.1', user: 'ec2-user', port: 2200 });
    expect(() => toHosts([inst('i-a', 'n-0', 1), inst('i-b', 'n-0', 2)], cfgOf(), FILE)).toThrow(/two running instances are named n-0: i-a and i-b/);
    const noPublic = { ...inst('i-a', 'n-0', 1) };
    delete noPublic.publicIp;
    const err = (() => {
      try {
        toHosts([noPublic], cfgOf(), FILE);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(AwsConflict);
    expect((err as AwsConflict).hint).toContain('hosts.address = "private"');
  });

  it('a role naming a host that is neither running nor one provision names is a ConfigError on roles.<role>', () => {
    const found = [inst('i-a', 'sigma-0', 1), inst('i-b', 'sigma-1', 2)];
    const cfg = cfgOf('[instances]', 'count = 3', 'namePrefix = "sigma"', 'imageId = "ami-12345678"', 'instanceType = "c5.large"', '[roles]', 'bench = ["sigma-1", "simga-1"]');
    let err: unknown;
    try {
      toHosts(found, cfg, FILE);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ file: FILE, field: 'roles.bench', problem: 'names "simga-1" (did you mean "sigma-1"?), not a host of this platform; known hosts: sigma-0, sigma-1, sigma-2' });
    // sigma-2 is not running (yet): provision names it, so the file is right.
    const ok = toHosts(found, cfgOf('[instances]', 'count = 3', 'namePrefix = "sigma"', 'imageId = "ami-12345678"', 'instanceType = "c5.large"', '[roles]', 'bench = ["sigma-2"]'), FILE);
    expect(ok.map((h) => h.roles)).toEqual([['leader'], ['worker']]);
  });
});
