/**
 * The platform file: the example in configs/ is valid (defaults filled in); a bad file is one
 * ConfigError naming the file and the field; keys cannot be put in it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '@labrig/core';
import { configSchema, type AwsPlatformConfig } from './config.js';

const FILE = 'configs/platforms/aws/platform.toml';
const example = readFileSync(join(import.meta.dirname, '../../../..', FILE), 'utf8');
const parse = (text: string) => parseConfig<AwsPlatformConfig>(text, FILE, configSchema);
const base = ['platform = "@labrig/platform-aws"', 'region = "eu-west-1"'];

function configError(text: string): ConfigError {
  try {
    parse(text);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('aws platform file', () => {
  it('accepts the example in configs/platforms/aws and fills in the defaults', () => {
    const cfg = parse(example);
    expect(cfg.instances).toMatchObject({ count: 4, namePrefix: 'sigma', imageId: 'ami-0123456789abcdef0' });
    expect(cfg.artifacts).toEqual({ bucket: 'sigmaos-tag', registryInsecure: false, distribute: 'auto' });
    const minimal = parse(base.join('\n'));
    expect(minimal.hosts).toEqual({ user: 'ubuntu', port: 22, address: 'public' });
    expect(minimal.inventory).toEqual({ by: 'tag' });
    expect(minimal.wait).toEqual({ running: '10m', ssh: '5m', terminated: '10m', interval: '5s' });
    expect(minimal.ssh.knownHosts).toBe('.labrig/known_hosts');
    expect(minimal.run.failurePolicy).toBe('fail-fast');
  });

  it('names the file and the field of a bad value', () => {
    const cases: [string[], string][] = [
      [['[instances]', 'count = 0', 'imageId = "ami-0123456789abcdef0"', 'instanceType = "t3.micro"'], 'instances.count'],
      [['[instances]', 'imageId = "ami-0123456789abcdef0"', 'instanceType = "t3.micro"', 'tags = { team = 3 }'], 'instances.tags.team'],
      [['[hosts]', 'address = "elastic"'], 'hosts.address'],
      [['[wait]', 'running = "soon"'], 'wait.running'],
    ];
    for (const [lines, field] of cases) {
      const e = configError([...base, ...lines].join('\n'));
      expect(e.file).toBe(FILE);
      expect(e.field).toBe(field);
      expect(e.message).toContain(`${FILE}: ${field}`);
    }
  });

  it('asks for what provision and inventory need, and has no place for keys', () => {
    expect(configError([...base, '[instances]', 'count = 2'].join('\n')).field).toBe('instances.imageId');
    expect(configError([...base, '[instances]', 'imageId = "ami-0123456789abcdef0"'].join('\n')).field).toBe('instances.instanceType');
    expect(configError([...base, '[instances]', 'launchTemplate = { version = "3" }'].join('\n')).field).toBe('instances.launchTemplate.name');
    expect(configError([...base, '[inventory]', 'by = "vpc"'].join('\n')).field).toBe('inventory.vpcId');
    const keys = configError([...base, 'aws_secret_access_key = "x"'].join('\n'));
    expect(keys.field).toBe('aws_secret_access_key');
    expect(parse([...base, '[instances]', 'launchTemplate = { name = "sigmaos" }'].join('\n')).instances?.launchTemplate).toEqual({ name: 'sigmaos', version: '$Default' });
  });
});
